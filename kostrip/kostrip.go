// Package kostrip removes from a kernel module (an ELF relocatable object)
// what the kernel's loader does not need, the way GNU strip(1) does for
// ET_REL files, and keeps everything the loader and kmod need: the symbol
// table, .modinfo, __versions, .gnu.linkonce.this_module, the export tables,
// .BTF and every relocation of a kept section.
//
// [Strip] rewrites the image: removed sections are dropped, the remaining
// ones renumbered, sh_link/sh_info, symbol st_shndx and relocation symbol
// indexes rewritten, and .symtab, .strtab and .shstrtab rebuilt (strings
// deduplicated and suffix-merged, as binutils does, so the table sizes match
// those of `strip --strip-debug`). Every ELF class, byte order and machine
// that package elfx reads is handled, MIPS64's split r_info included.
//
// What GNU strip removes, learnt from binutils 2.40 (bfd/elf.c
// _bfd_elf_make_section_from_shdr, binutils/objcopy.c is_strip_section and
// filter_symbols) and checked against it by this package's tests:
//
//   - --strip-debug: non-SHF_ALLOC sections named .debug*, .zdebug*,
//     .gnu.debuglto_.debug_*, .gnu.linkonce.wi.*, .line*, .stab* and
//     .gdb_index, the relocation sections that apply to them; symbols of type
//     STT_FILE and STT_SECTION unless a kept relocation refers to them, and
//     symbols defined in a removed section.
//   - --strip-unneeded: the same sections, and every symbol a kept
//     relocation does not refer to, except defined global, weak and common
//     symbols. kostrip keeps, in addition, the local symbols kmod and
//     kmodscope read: __crc_* (modprobe --show-exports, depmod's CRCs),
//     __ksymtab_*, __kstrtab_* and __kstrtabns_* (export namespaces).
//
// The appended module signature is not part of the ELF image; Strip drops
// anything after the section contents, so a caller must re-sign or warn.
package kostrip

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// Mode selects what Strip removes.
type Mode int

const (
	// StripDebug mirrors `strip --strip-debug`.
	StripDebug Mode = iota
	// StripUnneeded mirrors `strip --strip-unneeded`, keeping the module
	// symbols kmod reads (see the package documentation).
	StripUnneeded
)

func (m Mode) String() string {
	switch m {
	case StripDebug:
		return "strip-debug"
	case StripUnneeded:
		return "strip-unneeded"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Options tune Strip. The zero value strips debugging information.
type Options struct {
	Mode Mode
	// Remove names further sections to remove (strip -R), as exact names
	// or path.Match patterns. Sections the loader needs are refused.
	Remove []string
}

// Result describes what Strip did.
type Result struct {
	// Image is the new ELF image. It carries no appended signature.
	Image []byte
	// RemovedSections lists the names of the removed sections, in input order.
	RemovedSections []string
	// RemovedSymbols is the number of symbol table entries removed.
	RemovedSymbols int
	// Symbols is the number of symbol table entries kept (with the null one).
	Symbols int
}

// RefusedError reports a strip that would make the module unloadable (or
// lose what kmod needs); nothing is written. It wraps ErrRefused.
type RefusedError struct {
	Section string
	Reason  string
}

func (e *RefusedError) Error() string {
	if e.Section == "" {
		return "refused: " + e.Reason
	}
	return fmt.Sprintf("refused to remove section %s: %s", e.Section, e.Reason)
}
func (e *RefusedError) Unwrap() error { return ErrRefused }

// ErrRefused is wrapped by every *RefusedError.
var ErrRefused = errors.New("refused")

// IsDebugSection reports whether binutils treats a section as debugging
// information (SEC_DEBUGGING): by name, and only when not SHF_ALLOC.
func IsDebugSection(name string, flags elf.SectionFlag) bool {
	if flags&elf.SHF_ALLOC != 0 || !strings.HasPrefix(name, ".") {
		return false
	}
	for _, p := range []string{".debug", ".gnu.debuglto_.debug_", ".gnu.linkonce.wi.", ".zdebug", ".line", ".stab"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return name == ".gdb_index"
}

// protected gives, for sections the loader or kmod needs, why they stay.
var protected = map[string]string{
	".gnu.linkonce.this_module": "it holds struct module; without it the kernel refuses the module (\"No module found in object\")",
	".modinfo":                  "it holds vermagic, license and aliases; without vermagic the kernel refuses the module (\"bad vermagic\")",
	"__versions":                "it holds the CRCs of the imported symbols; the kernel refuses a modversions module without it",
	"__version_ext_crcs":        "it holds the CRCs of the imported symbols (extended modversions)",
	"__version_ext_names":       "it holds the names of the imported symbols (extended modversions)",
	".BTF":                      "it describes the module's types for BPF and the kernel keeps it (CONFIG_DEBUG_INFO_BTF_MODULES)",
	".shstrtab":                 "it holds the section names",
}

func protectedReason(f *elfx.File, s *elfx.Section, symtab *elfx.Section) string {
	if r, ok := protected[s.Name]; ok {
		return r
	}
	switch {
	case s.Index == f.Shstrndx:
		return protected[".shstrtab"]
	case s.Type == elf.SHT_SYMTAB:
		return "the kernel refuses a module without symbols (\"module has no symbols (stripped?)\")"
	case symtab != nil && s.Index == int(symtab.Link):
		return "it holds the symbol names the kernel resolves"
	case strings.HasPrefix(s.Name, "__ksymtab") || strings.HasPrefix(s.Name, "__kcrctab"):
		return "it lists the module's exports"
	case s.Flags&elf.SHF_ALLOC != 0:
		return "the kernel loads it (SHF_ALLOC): removing it changes the module's code or data"
	case elfx.IsReloc(s):
		if t := f.SectionByIndex(int(s.Info)); t != nil && t.Flags&elf.SHF_ALLOC != 0 {
			return fmt.Sprintf("it relocates %s, which the kernel loads", t.Name)
		}
	}
	return ""
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if p == name {
			return true
		}
		if ok, err := path.Match(p, name); err == nil && ok {
			return true
		}
	}
	return false
}

// Strip removes from image what opt asks for and returns the rewritten
// image. image is an uncompressed module; trailing data after the ELF
// contents (an appended signature) is not carried over. The input is not
// modified. Malformed input yields an *elfx.FormatError (or another error
// naming what is wrong), a strip that would break the module a
// *RefusedError.
func Strip(image []byte, opt Options) (*Result, error) {
	f, err := elfx.New(image)
	if err != nil {
		return nil, err
	}
	if f.Type != elf.ET_REL {
		return nil, &elfx.FormatError{Off: 16, Msg: fmt.Sprintf("e_type is %s, not ET_REL: not a kernel module", f.Type)}
	}
	for _, p := range opt.Remove {
		if _, err := path.Match(p, ""); err != nil {
			return nil, fmt.Errorf("bad section pattern %q: %w", p, err)
		}
	}
	st := newStripper(f, opt)
	if err := st.plan(); err != nil {
		return nil, err
	}
	out, err := st.write()
	if err != nil {
		return nil, err
	}
	// The output must read back.
	g, err := elfx.New(out)
	if err != nil {
		return nil, fmt.Errorf("internal error: the stripped image does not parse: %w", err)
	}
	if _, err := g.Symbols(); err != nil {
		return nil, fmt.Errorf("internal error: the stripped symbol table does not parse: %w", err)
	}
	if err := Verify(image, out, opt.Mode); err != nil {
		return nil, err
	}
	res := &Result{Image: out, RemovedSymbols: st.removedSyms, Symbols: st.nsyms}
	for i := range f.Sections {
		if i > 0 && st.newIdx[i] < 0 {
			res.RemovedSections = append(res.RemovedSections, f.Sections[i].Name)
		}
	}
	return res, nil
}

type stripper struct {
	f      *elfx.File
	opt    Options
	symtab *elfx.Section
	syms   []elfx.Symbol
	remove []bool
	newIdx []int // old section index -> new, -1 if removed
	// symbol maps
	newSym      []int32 // old symbol index -> new, -1 if removed
	nsyms       int
	nlocals     int
	removedSyms int
}

func newStripper(f *elfx.File, opt Options) *stripper {
	return &stripper{f: f, opt: opt, remove: make([]bool, len(f.Sections)), newIdx: make([]int, len(f.Sections))}
}

// plan decides which sections and symbols go.
func (st *stripper) plan() error {
	f := st.f
	st.symtab = f.SymtabSection()
	for i := range f.Sections {
		if f.Sections[i].Type == elf.SHT_SYMTAB && &f.Sections[i] != st.symtab {
			return &elfx.FormatError{Section: f.Sections[i].Name, Off: f.Sections[i].HdrOff, Msg: "a second SHT_SYMTAB section (a module has one symbol table)"}
		}
	}
	if st.symtab == nil {
		return &RefusedError{Reason: "the module has no symbol table (.symtab): the kernel refuses it already (\"module has no symbols (stripped?)\"); nothing to strip safely"}
	}
	var err error
	if st.syms, err = f.Symbols(); err != nil {
		return err
	}
	// Requested removals, and the debugging sections.
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		explicit := matchAny(st.opt.Remove, s.Name)
		if explicit {
			if r := protectedReason(f, s, st.symtab); r != "" {
				return &RefusedError{Section: s.Name, Reason: r}
			}
			st.remove[i] = true
		}
		if IsDebugSection(s.Name, s.Flags) {
			st.remove[i] = true
		}
	}
	// Relocation sections (and SHT_SYMTAB_SHNDX) follow their target.
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if elfx.IsReloc(s) && s.Flags&elf.SHF_ALLOC == 0 {
			t := int(s.Info)
			if t <= 0 || t >= len(f.Sections) {
				return &elfx.FormatError{Section: s.Name, Off: s.HdrOff, Msg: fmt.Sprintf("relocation section applies to section %d, which does not exist", s.Info)}
			}
			if st.remove[t] {
				st.remove[i] = true
			}
		}
		if s.Type == elf.SHT_SYMTAB_SHNDX {
			st.remove[i] = true // rebuilt only if still needed (refused below)
		}
	}
	// Groups: drop removed members; a group left empty goes.
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Type != elf.SHT_GROUP || st.remove[i] {
			continue
		}
		members, err := st.groupMembers(s)
		if err != nil {
			return err
		}
		left := 0
		for _, m := range members {
			if !st.remove[m] {
				left++
			}
		}
		if len(members) > 0 && left == 0 {
			st.remove[i] = true
		}
	}
	// Nothing we keep may depend on what we remove.
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if st.remove[i] {
			if r := protectedReason(f, s, st.symtab); r != "" && !IsDebugSection(s.Name, s.Flags) && s.Type != elf.SHT_SYMTAB_SHNDX {
				return &RefusedError{Section: s.Name, Reason: r}
			}
			if s.Flags&elf.SHF_ALLOC != 0 {
				return &RefusedError{Section: s.Name, Reason: protectedReason(f, s, st.symtab)}
			}
			continue
		}
		if s.Flags&elf.SHF_LINK_ORDER != 0 && s.Link != 0 && int(s.Link) < len(st.remove) && st.remove[s.Link] && s.Flags&elf.SHF_ALLOC != 0 {
			return &RefusedError{Section: f.Sections[s.Link].Name, Reason: fmt.Sprintf("%s, which the kernel loads, is ordered after it (SHF_LINK_ORDER)", s.Name)}
		}
	}
	n := 0
	for i := range f.Sections {
		if i > 0 && st.remove[i] {
			st.newIdx[i] = -1
			continue
		}
		st.newIdx[i] = n
		n++
	}
	if n >= int(elf.SHN_LORESERVE) {
		return &elfx.FormatError{Off: -1, Msg: fmt.Sprintf("%d sections remain: extended section numbering is not supported", n)}
	}
	return st.planSymbols()
}

func (st *stripper) groupMembers(s *elfx.Section) ([]int, error) {
	b, err := st.f.SectionData(s)
	if err != nil {
		return nil, err
	}
	if len(b)%4 != 0 || len(b) < 4 {
		return nil, &elfx.FormatError{Section: s.Name, Off: int64(s.Offset), Msg: fmt.Sprintf("SHT_GROUP size %d is not a flag word followed by 4-byte entries", len(b))}
	}
	var out []int
	for off := 4; off < len(b); off += 4 {
		m := int(st.f.ByteOrder.Uint32(b[off:]))
		if m <= 0 || m >= len(st.f.Sections) {
			return nil, &elfx.FormatError{Section: s.Name, Off: int64(s.Offset) + int64(off), Msg: fmt.Sprintf("group member %d is not a section", m)}
		}
		out = append(out, m)
	}
	return out, nil
}

// moduleKeeper reports the local symbols kmod and kmodscope read, kept by
// StripUnneeded although no relocation refers to them.
func moduleKeeper(name string) bool {
	for _, p := range []string{"__crc_", "__ksymtab_", "__kstrtab_", "__kstrtabns_"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

func (st *stripper) planSymbols() error {
	f, syms := st.f, st.syms
	used := make([]bool, len(syms))
	usedBy := make([]string, len(syms))
	for i := range f.Sections {
		s := &f.Sections[i]
		if st.remove[i] {
			continue
		}
		switch {
		case elfx.IsReloc(s) && int(s.Link) == st.symtab.Index:
			rs, err := f.Relocs(s)
			if err != nil {
				return err
			}
			for _, r := range rs {
				if int(r.Sym) >= len(syms) {
					return &elfx.FormatError{Section: s.Name, Off: int64(s.Offset), Msg: fmt.Sprintf("relocation refers to symbol %d; the symbol table has %d", r.Sym, len(syms))}
				}
				if !used[r.Sym] {
					used[r.Sym], usedBy[r.Sym] = true, s.Name
				}
			}
		case s.Type == elf.SHT_GROUP && int(s.Link) == st.symtab.Index:
			if int(s.Info) < len(syms) {
				used[s.Info], usedBy[s.Info] = true, s.Name
			}
		}
	}
	st.newSym = make([]int32, len(syms))
	keep := make([]bool, len(syms))
	for i := range syms {
		sym := &syms[i]
		keep[i] = i == 0 || st.keepSymbol(sym, used[i])
		if i > 0 && sym.Shndx > 0 && sym.Shndx < uint32(elf.SHN_LORESERVE) {
			if int(sym.Shndx) >= len(f.Sections) {
				return &elfx.FormatError{Section: st.symtab.Name, Off: int64(st.symtab.Offset), Msg: fmt.Sprintf("symbol %d (%s) is defined in section %d, which does not exist", i, sym.Name, sym.Shndx)}
			}
			if st.remove[sym.Shndx] {
				if used[i] {
					return &RefusedError{Section: f.Sections[sym.Shndx].Name, Reason: fmt.Sprintf("it defines symbol %q, which relocations in %s use", symName(sym, f), usedBy[i])}
				}
				keep[i] = false
			}
		}
		if !keep[i] {
			st.newSym[i] = -1
			st.removedSyms++
		}
	}
	// Local symbols first (the ELF rule; real modules already follow it,
	// so their order is unchanged), then the others, each in input order.
	if len(syms) > 0 {
		st.newSym[0], st.nsyms, st.nlocals = 0, 1, 1 // the null symbol
	}
	for pass := 0; pass < 2; pass++ {
		for i := 1; i < len(syms); i++ {
			if !keep[i] || (syms[i].Bind() == elf.STB_LOCAL) != (pass == 0) {
				continue
			}
			st.newSym[i] = int32(st.nsyms)
			st.nsyms++
			if pass == 0 {
				st.nlocals++
			}
		}
	}
	return nil
}

func symName(s *elfx.Symbol, f *elfx.File) string {
	if s.Name == "" && s.Type() == elf.STT_SECTION {
		if sec := f.SectionByIndex(int(s.Shndx)); sec != nil {
			return sec.Name
		}
	}
	return s.Name
}

func (st *stripper) keepSymbol(s *elfx.Symbol, used bool) bool {
	if used {
		return true
	}
	switch s.Type() {
	case elf.STT_SECTION, elf.STT_FILE:
		return false // BSF_DEBUGGING in BFD
	}
	if st.opt.Mode == StripDebug {
		return true
	}
	if s.Shndx == uint32(elf.SHN_COMMON) {
		return true
	}
	if s.Bind() != elf.STB_LOCAL {
		// Defined global and weak symbols stay in a relocatable file; an
		// undefined global nobody refers to goes, an undefined weak stays.
		return s.Shndx != uint32(elf.SHN_UNDEF) || s.Bind() == elf.STB_WEAK
	}
	return moduleKeeper(s.Name)
}

// strtabBuilder builds a string table the way binutils does: every string
// once, and a string that is the tail of another shares its bytes.
type strtabBuilder struct {
	strs []string
	off  map[string]uint32
}

func (b *strtabBuilder) add(s string) {
	if b.off == nil {
		b.off = map[string]uint32{}
	}
	if _, ok := b.off[s]; !ok && s != "" {
		b.off[s] = 0
		b.strs = append(b.strs, s)
	}
}

func reverse(s string) string {
	r := []byte(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}

// finish lays the strings out and returns the table; offsets are then
// available through offset.
func (b *strtabBuilder) finish() []byte {
	type ent struct{ s, rev string }
	ents := make([]ent, len(b.strs))
	for i, s := range b.strs {
		ents[i] = ent{s, reverse(s)}
	}
	// Reversed strings sorted: a string that is the suffix of another
	// comes right before some string it is a suffix of.
	sort.Slice(ents, func(i, j int) bool { return ents[i].rev < ents[j].rev })
	out := []byte{0}
	for i := len(ents) - 1; i >= 0; i-- {
		e := ents[i]
		if i+1 < len(ents) && strings.HasPrefix(ents[i+1].rev, e.rev) {
			// The longer string was placed already; point into its tail.
			longer := ents[i+1].s
			b.off[e.s] = b.off[longer] + uint32(len(longer)-len(e.s))
			continue
		}
		b.off[e.s] = uint32(len(out))
		out = append(out, e.s...)
		out = append(out, 0)
	}
	// Keep the input order of strings that were placed: deterministic
	// output independent of map order (the layout above already is).
	return out
}

func (b *strtabBuilder) offset(s string) uint32 {
	if s == "" {
		return 0
	}
	return b.off[s]
}

// maxFileAlign caps the file offset alignment of a section.
const maxFileAlign = 4096

// write lays out and serialises the new image.
func (st *stripper) write() ([]byte, error) {
	f := st.f
	bo := f.ByteOrder
	is64 := f.Is64()
	ehsize, shentsize := 52, 40
	if is64 {
		ehsize, shentsize = 64, 64
	}
	// New contents of the rewritten sections.
	contents := make(map[int][]byte)
	// .shstrtab
	var shs strtabBuilder
	for i := 1; i < len(f.Sections); i++ {
		if st.newIdx[i] >= 0 {
			shs.add(f.Sections[i].Name)
		}
	}
	shsData := shs.finish()
	contents[f.Shstrndx] = shsData
	// .symtab and its .strtab
	strIdx := int(st.symtab.Link)
	if st.remove[strIdx] {
		return nil, &RefusedError{Section: f.Sections[strIdx].Name, Reason: "it holds the symbol names the kernel resolves"}
	}
	var strs strtabBuilder
	for i := 1; i < len(st.syms); i++ {
		if st.newSym[i] >= 0 {
			strs.add(st.syms[i].Name)
		}
	}
	strData := strs.finish()
	if strIdx == f.Shstrndx {
		return nil, &elfx.FormatError{Section: st.symtab.Name, Off: st.symtab.HdrOff, Msg: "the symbol table shares its string table with the section names; not supported"}
	}
	contents[strIdx] = strData
	entsize := 16
	if is64 {
		entsize = 24
	}
	raw, err := f.SectionData(st.symtab)
	if err != nil {
		return nil, err
	}
	symData := make([]byte, st.nsyms*entsize)
	for i := range st.syms {
		if st.newSym[i] < 0 || i == 0 {
			continue // entry 0 is written as the all-zero null symbol
		}
		e := symData[int(st.newSym[i])*entsize : int(st.newSym[i]+1)*entsize]
		copy(e, raw[i*entsize:(i+1)*entsize])
		s := &st.syms[i]
		shndx := s.Shndx
		if shndx > 0 && shndx < uint32(elf.SHN_LORESERVE) {
			shndx = uint32(st.newIdx[shndx])
		} else if shndx > 0xffff {
			return nil, &elfx.FormatError{Section: st.symtab.Name, Off: int64(st.symtab.Offset) + int64(i*entsize), Msg: fmt.Sprintf("symbol %d: section index %d does not fit", i, shndx)}
		}
		bo.PutUint32(e[0:], strs.offset(s.Name))
		if is64 {
			bo.PutUint16(e[6:], uint16(shndx))
		} else {
			bo.PutUint16(e[14:], uint16(shndx))
		}
	}
	contents[st.symtab.Index] = symData
	// Relocations and groups.
	for i := range f.Sections {
		s := &f.Sections[i]
		if st.newIdx[i] < 0 {
			continue
		}
		switch {
		case elfx.IsReloc(s) && int(s.Link) == st.symtab.Index:
			b, err := st.rewriteRelocs(s)
			if err != nil {
				return nil, err
			}
			contents[i] = b
		case s.Type == elf.SHT_GROUP:
			b, err := f.SectionData(s)
			if err != nil {
				return nil, err
			}
			members, err := st.groupMembers(s)
			if err != nil {
				return nil, err
			}
			nb := append([]byte(nil), b[:4]...)
			for _, m := range members {
				if st.newIdx[m] >= 0 {
					nb = bo.(binary.AppendByteOrder).AppendUint32(nb, uint32(st.newIdx[m]))
				}
			}
			contents[i] = nb
		}
	}
	// Layout: header, sections in order, section header table.
	out := make([]byte, ehsize, len(f.Sections)*shentsize+int(f.Size()))
	type placed struct {
		off, size uint64
	}
	pos := make([]placed, len(f.Sections))
	// Sections of a sane file do not overlap, so the output is at most the
	// input plus alignment padding; a hostile file whose section headers
	// all point at the same bytes must not make us allocate gigabytes.
	limit := 2*f.Size() + 16<<20
	for i := 1; i < len(f.Sections); i++ {
		if st.newIdx[i] < 0 {
			continue
		}
		s := &f.Sections[i]
		data, ok := contents[i]
		if !ok {
			if data, err = f.SectionData(s); err != nil {
				return nil, err
			}
		}
		align := s.Addralign
		if align == 0 {
			align = 1
		}
		if align > maxFileAlign {
			align = maxFileAlign // the loader aligns in memory, not in the file
		}
		if pad := (align - uint64(len(out))%align) % align; pad > 0 {
			out = append(out, make([]byte, pad)...)
		}
		if int64(len(out))+int64(len(data)) > limit {
			return nil, &elfx.FormatError{Section: s.Name, Off: s.HdrOff, Msg: fmt.Sprintf("the sections overlap or are padded beyond reason: the output would exceed %d bytes for a %d-byte input", limit, f.Size())}
		}
		size := s.Size
		if s.Type != elf.SHT_NOBITS {
			size = uint64(len(data))
			pos[i] = placed{uint64(len(out)), size}
			out = append(out, data...)
		} else {
			pos[i] = placed{uint64(len(out)), size}
		}
	}
	shalign := 4
	if is64 {
		shalign = 8
	}
	for len(out)%shalign != 0 {
		out = append(out, 0)
	}
	shoff := uint64(len(out))
	nsec := 0
	for i := range f.Sections {
		if st.newIdx[i] < 0 {
			continue
		}
		nsec++
		s := f.Sections[i]
		name := uint32(0)
		if i > 0 {
			name = shs.offset(s.Name)
		}
		link, info := s.Link, s.Info
		switch {
		case i == 0:
			// Section 0 is all zero (no extended numbering on output).
			out = append(out, make([]byte, shentsize)...)
			continue
		case s.Type == elf.SHT_SYMTAB:
			link = uint32(st.newIdx[link])
			info = uint32(st.nlocals)
		case elfx.IsReloc(&s):
			link = st.mapLink(link)
			if info != 0 {
				if int(info) >= len(f.Sections) || st.newIdx[info] < 0 {
					return nil, &elfx.FormatError{Section: s.Name, Off: s.HdrOff, Msg: fmt.Sprintf("relocation section applies to section %d, which is removed or does not exist", info)}
				}
				info = uint32(st.newIdx[info])
			}
		case s.Type == elf.SHT_GROUP:
			link = st.mapLink(link)
			if int(info) < len(st.newSym) && st.newSym[info] >= 0 {
				info = uint32(st.newSym[info])
			}
		default:
			link = st.mapLink(link)
			if s.Flags&elf.SHF_INFO_LINK != 0 && info != 0 {
				if int(info) < len(st.newIdx) && st.newIdx[info] >= 0 {
					info = uint32(st.newIdx[info])
				} else {
					info = 0
				}
			}
		}
		p := pos[i]
		size := s.Size
		if s.Type != elf.SHT_NOBITS {
			size = p.size
		}
		out = appendShdr(out, bo.(binary.AppendByteOrder), is64, name, s, p.off, size, link, info)
	}
	// ELF header: identification and fields copied, offsets new.
	hdr, err := f.ReadAt(0, int64(ehsize))
	if err != nil {
		return nil, err
	}
	copy(out, hdr)
	if is64 {
		bo.PutUint64(out[32:], 0) // e_phoff
		bo.PutUint64(out[40:], shoff)
		bo.PutUint16(out[52:], uint16(ehsize))
		bo.PutUint16(out[54:], 0) // e_phentsize
		bo.PutUint16(out[56:], 0) // e_phnum
		bo.PutUint16(out[58:], uint16(shentsize))
		bo.PutUint16(out[60:], uint16(nsec))
		bo.PutUint16(out[62:], uint16(st.newIdx[f.Shstrndx]))
	} else {
		bo.PutUint32(out[28:], 0)
		bo.PutUint32(out[32:], uint32(shoff))
		bo.PutUint16(out[40:], uint16(ehsize))
		bo.PutUint16(out[42:], 0)
		bo.PutUint16(out[44:], 0)
		bo.PutUint16(out[46:], uint16(shentsize))
		bo.PutUint16(out[48:], uint16(nsec))
		bo.PutUint16(out[50:], uint16(st.newIdx[f.Shstrndx]))
		if uint64(len(out)) > 1<<32-1 {
			return nil, &elfx.FormatError{Off: -1, Msg: "the output does not fit in a 32-bit ELF file"}
		}
	}
	return out, nil
}

// mapLink renumbers a sh_link that names a section; one naming a removed
// section becomes 0.
func (st *stripper) mapLink(link uint32) uint32 {
	if link == 0 || int(link) >= len(st.newIdx) || st.newIdx[link] < 0 {
		return 0
	}
	return uint32(st.newIdx[link])
}

func (st *stripper) rewriteRelocs(s *elfx.Section) ([]byte, error) {
	f := st.f
	raw, err := f.SectionData(s)
	if err != nil {
		return nil, err
	}
	rs, err := f.Relocs(s) // validates the size
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return raw, nil
	}
	b := bytes.Clone(raw)
	ent := len(raw) / len(rs)
	bo := f.ByteOrder
	mips64 := f.Is64() && f.Machine == elf.EM_MIPS
	for i, r := range rs {
		ns := st.newSym[r.Sym]
		if ns < 0 {
			return nil, fmt.Errorf("internal error: %s refers to removed symbol %d", s.Name, r.Sym)
		}
		e := b[i*ent:]
		switch {
		case mips64:
			bo.PutUint32(e[8:], uint32(ns))
		case f.Is64():
			info := bo.Uint64(e[8:])
			bo.PutUint64(e[8:], uint64(ns)<<32|info&0xffffffff)
		default:
			info := bo.Uint32(e[4:])
			if ns >= 1<<24 {
				return nil, &elfx.FormatError{Section: s.Name, Off: int64(s.Offset), Msg: "symbol index does not fit ELF32 r_info"}
			}
			bo.PutUint32(e[4:], uint32(ns)<<8|info&0xff)
		}
	}
	return b, nil
}

func appendShdr(out []byte, bo binary.AppendByteOrder, is64 bool, name uint32, s elfx.Section, off, size uint64, link, info uint32) []byte {
	if is64 {
		out = bo.AppendUint32(out, name)
		out = bo.AppendUint32(out, uint32(s.Type))
		out = bo.AppendUint64(out, uint64(s.Flags))
		out = bo.AppendUint64(out, s.Addr)
		out = bo.AppendUint64(out, off)
		out = bo.AppendUint64(out, size)
		out = bo.AppendUint32(out, link)
		out = bo.AppendUint32(out, info)
		out = bo.AppendUint64(out, s.Addralign)
		out = bo.AppendUint64(out, s.Entsize)
		return out
	}
	out = bo.AppendUint32(out, name)
	out = bo.AppendUint32(out, uint32(s.Type))
	out = bo.AppendUint32(out, uint32(s.Flags))
	out = bo.AppendUint32(out, uint32(s.Addr))
	out = bo.AppendUint32(out, uint32(off))
	out = bo.AppendUint32(out, uint32(size))
	out = bo.AppendUint32(out, link)
	out = bo.AppendUint32(out, info)
	out = bo.AppendUint32(out, uint32(s.Addralign))
	out = bo.AppendUint32(out, uint32(s.Entsize))
	return out
}
