// Package reloc names and prints the relocations of a kernel module: the
// type name for the machine (as GNU readelf spells it), the symbol, the
// addend, for REL and RELA sections of every architecture Debian ships,
// MIPS64's split r_info (three types per entry) included. WriteReadelf
// prints exactly what `readelf -rW` prints.
package reloc

import (
	"debug/elf"
	"fmt"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// TypeName returns the name GNU readelf gives relocation type t on machine
// m, and false when readelf does not know it (it prints "unrecognized").
//
// The names come from readelf, not debug/elf, whose String methods differ
// in places (for example debug/elf's R_ARM_THM_PC22 is readelf's
// R_ARM_THM_CALL, and debug/elf has no name for many newer types).
func TypeName(m elf.Machine, t uint32) (string, bool) {
	n, ok := readelfNames[m][t]
	return n, ok
}

// Name returns TypeName or, for a type readelf 2.40 does not know, the
// name debug/elf gives it (newer types such as R_LARCH_64_PCREL, which
// Debian's loong64 modules use), or "unrecognized: <hex>".
func Name(m elf.Machine, t uint32) string {
	if n, ok := TypeName(m, t); ok {
		return n
	}
	if n, ok := goName(m, t); ok {
		return n
	}
	return "unrecognized: " + strconv.FormatUint(uint64(t), 16)
}

// goName is debug/elf's name for t, when it has one.
func goName(m elf.Machine, t uint32) (string, bool) {
	var s string
	switch m {
	case elf.EM_X86_64:
		s = elf.R_X86_64(t).String()
	case elf.EM_386:
		s = elf.R_386(t).String()
	case elf.EM_AARCH64:
		s = elf.R_AARCH64(t).String()
	case elf.EM_ARM:
		s = elf.R_ARM(t).String()
	case elf.EM_PPC64:
		s = elf.R_PPC64(t).String()
	case elf.EM_S390:
		s = elf.R_390(t).String()
	case elf.EM_MIPS:
		s = elf.R_MIPS(t).String()
	case elf.EM_RISCV:
		s = elf.R_RISCV(t).String()
	case elf.EM_LOONGARCH:
		s = elf.R_LARCH(t).String()
	default:
		return "", false
	}
	if !strings.HasPrefix(s, "R_") || strings.Contains(s, "+") {
		return "", false
	}
	return s, true
}

// Entry is one relocation with its symbol resolved.
type Entry struct {
	Section  string `json:"section"` // the REL/RELA section
	Target   string `json:"target"`  // the section it patches (sh_info)
	Offset   uint64 `json:"offset"`
	Info     uint64 `json:"info"` // r_info as readelf shows it (MIPS64: sym<<32|ssym<<24|type3<<16|type2<<8|type)
	Type     uint32 `json:"type"`
	TypeName string `json:"type_name"`
	// Type2, Type3 and Ssym are MIPS64's extra r_info fields.
	Type2     *uint8 `json:"type2,omitempty"`
	Type3     *uint8 `json:"type3,omitempty"`
	Type2Name string `json:"type2_name,omitempty"`
	Type3Name string `json:"type3_name,omitempty"`
	SymIndex  uint32 `json:"sym_index"`
	Symbol    string `json:"symbol"` // symbol name, or the section name for a section symbol
	SymValue  uint64 `json:"sym_value"`
	Addend    int64  `json:"addend"`
	HasAddend bool   `json:"rela"`
	SymType   string `json:"sym_type,omitempty"`

	ifunc   bool
	nameOff uint32
}

// Info returns r_info the way readelf shows it.
func Info(f *elfx.File, r *elfx.Reloc) uint64 {
	if f.Is64() {
		if f.Machine == elf.EM_MIPS {
			return uint64(r.Sym)<<32 | uint64(r.Ssym)<<24 | uint64(r.Type3)<<16 | uint64(r.Type2)<<8 | uint64(r.Type)
		}
		return uint64(r.Sym)<<32 | uint64(r.Type)
	}
	return uint64(r.Sym)<<8 | uint64(r.Type&0xff)
}

// SymbolName returns the name readelf shows for symbol s: its own name, or
// for an unnamed section symbol the section's name.
func SymbolName(f *elfx.File, s *elfx.Symbol) string {
	if s.NameOff != 0 {
		return s.Name
	}
	if s.Type() != elf.STT_SECTION {
		return "<null>"
	}
	if sec := f.SectionByIndex(int(s.Shndx)); sec != nil && s.Shndx < uint32(len(f.Sections)) {
		return sec.Name
	}
	switch elf.SectionIndex(s.Shndx) {
	case elf.SHN_ABS:
		return "ABS"
	case elf.SHN_COMMON:
		return "COMMON"
	}
	return fmt.Sprintf("<section 0x%x>", s.Shndx)
}

// Entries decodes section s (REL or RELA) with its symbols resolved.
func Entries(f *elfx.File, s *elfx.Section) ([]Entry, error) {
	rs, err := f.Relocs(s)
	if err != nil {
		return nil, err
	}
	syms, err := symbolsFor(f, s)
	if err != nil {
		return nil, err
	}
	target := ""
	if t := f.SectionByIndex(int(s.Info)); t != nil && s.Info != 0 {
		target = t.Name
	}
	mips64 := f.Is64() && f.Machine == elf.EM_MIPS
	out := make([]Entry, len(rs))
	for i := range rs {
		r := &rs[i]
		e := &out[i]
		e.Section, e.Target = s.Name, target
		e.Offset, e.Info, e.Type = r.Offset, Info(f, r), r.Type
		e.TypeName = Name(f.Machine, r.Type)
		if mips64 {
			t2, t3 := r.Type2, r.Type3
			e.Type2, e.Type3 = &t2, &t3
			e.Type2Name, e.Type3Name = Name(f.Machine, uint32(t2)), Name(f.Machine, uint32(t3))
		}
		e.SymIndex, e.Addend, e.HasAddend = r.Sym, r.Addend, r.HasAddend
		if r.Sym != 0 {
			if int(r.Sym) >= len(syms) {
				return nil, &elfx.FormatError{Section: s.Name, Off: int64(s.Offset), Msg: fmt.Sprintf("relocation %d: symbol index %d is beyond the symbol table (%d entries)", i, r.Sym, len(syms))}
			}
			sym := &syms[r.Sym]
			e.Symbol, e.SymValue = SymbolName(f, sym), sym.Value
			e.ifunc, e.nameOff = sym.Type() == elf.STT_GNU_IFUNC, sym.NameOff
			if e.ifunc {
				e.SymType = "IFUNC"
			}
		}
	}
	return out, nil
}

// symbolsFor returns the symbol table a relocation section links to (the
// module's .symtab; readelf uses sh_link).
func symbolsFor(f *elfx.File, s *elfx.Section) ([]elfx.Symbol, error) {
	link := f.SectionByIndex(int(s.Link))
	if s.Link == 0 || link == nil || link.Type != elf.SHT_SYMTAB {
		return nil, nil
	}
	if st := f.SymtabSection(); st == nil || st.Index != link.Index {
		return nil, &elfx.FormatError{Section: s.Name, Off: s.HdrOff, Msg: fmt.Sprintf("sh_link %d names a second symbol table", s.Link)}
	}
	return f.Symbols()
}
