package disasm

import (
	"debug/elf"
	"sort"

	"github.com/kmodscope/kmodscope/elfx"
)

// Patch-site tables: the kernel rewrites the code these entries point at
// when it loads the module (apply_alternatives, jump labels, static calls,
// retpoline/return-thunk/call-depth rewriting, IBT sealing). Every entry is
// a relative or absolute reference to code, emitted as a relocation against
// the code section (or a symbol in it), so the patched offset is the
// relocation's symbol value plus its addend.
//
// fields is the number of relocated fields per entry and which of them
// (by position) point at the patched instruction.
type siteTable struct {
	section string
	mark    []string // mark per field position; "" = not a site
}

var siteTables = []siteTable{
	// struct alt_instr { s32 instr_offset; s32 repl_offset; ... }
	{".altinstructions", []string{"alternative", "alternative-replacement"}},
	// struct jump_entry { code; target; key }
	{"__jump_table", []string{"jump_label", "jump_label-target", ""}},
	// struct static_call_site { s32 addr; s32 key; }
	{".static_call_sites", []string{"static_call", ""}},
	{".retpoline_sites", []string{"retpoline"}},
	{".return_sites", []string{"return_thunk"}},
	{".call_sites", []string{"call_depth"}},
	{".ibt_endbr_seal", []string{"endbr_seal"}},
	// struct exception_table_entry { int insn, fixup, data; } (x86 relocates insn and fixup)
}

// SiteKinds lists the marks Insn.Sites may carry.
var SiteKinds = []string{"alternative", "alternative-replacement", "jump_label", "jump_label-target", "static_call", "retpoline", "return_thunk", "call_depth", "endbr_seal"}

// findSites maps code section index -> offset -> marks.
func findSites(f *elfx.File) (map[int]map[uint64][]string, error) {
	var out map[int]map[uint64][]string
	syms, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	for _, t := range siteTables {
		tab := f.Section(t.section)
		if tab == nil {
			continue
		}
		var rels []elfx.Reloc
		for _, rs := range f.RelocSections(tab.Index) {
			rr, err := f.Relocs(rs)
			if err != nil {
				return nil, err
			}
			rels = append(rels, rr...)
		}
		sort.SliceStable(rels, func(i, j int) bool { return rels[i].Offset < rels[j].Offset })
		var content []byte
		for i, r := range rels {
			mark := t.mark[i%len(t.mark)]
			if mark == "" || int(r.Sym) >= len(syms) || r.Sym == 0 {
				continue
			}
			s := &syms[r.Sym]
			sec := f.SectionByIndex(int(s.Shndx))
			if s.Shndx == 0 || sec == nil || sec.Flags&elf.SHF_EXECINSTR == 0 {
				continue
			}
			add := r.Addend
			if !r.HasAddend {
				// REL: the addend is in place (a 32-bit field in every table).
				if content == nil {
					if content, err = f.SectionData(tab); err != nil {
						return nil, err
					}
				}
				v, ok := f.Uint(content, r.Offset, 4)
				if !ok {
					continue
				}
				add = int64(int32(v))
			}
			off := s.Value + uint64(add)
			if off >= sec.Size {
				continue
			}
			if out == nil {
				out = map[int]map[uint64][]string{}
			}
			m := out[sec.Index]
			if m == nil {
				m = map[uint64][]string{}
				out[sec.Index] = m
			}
			if !contains(m[off], mark) {
				m[off] = append(m[off], mark)
			}
		}
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
