package ko

import (
	"debug/elf"
	"errors"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// Export is a symbol the module exports.
type Export struct {
	Name string `json:"name"`
	// CRC is the symbol's version CRC; HasCRC is false when the module was
	// built without modversions.
	CRC    uint64 `json:"crc"`
	HasCRC bool   `json:"has_crc"`
	// GPLOnly is true for EXPORT_SYMBOL_GPL (section __ksymtab_gpl).
	GPLOnly bool `json:"gpl_only"`
	// Namespace is the EXPORT_SYMBOL_NS namespace, "" for none.
	Namespace string `json:"namespace"`
	// Kind is the ksymtab section the export lives in ("__ksymtab",
	// "__ksymtab_gpl", ...), "" when only known from __ksymtab_strings.
	Kind string `json:"kind"`
	// Offset is the entry's offset in its ksymtab section (the kernel
	// searches each table in this order, sorted by name).
	Offset uint64 `json:"offset"`
}

// KmodSymbol is an export the way kmod's kmod_module_get_symbols sees it.
type KmodSymbol struct {
	Name string
	CRC  uint64
	Bind elf.SymBind
}

// KmodExports returns the exports exactly as kmod 30 lists them for
// `modprobe --show-exports` and depmod (libkmod-elf.c kmod_elf_get_symbols):
// every .symtab symbol named __crc_NAME, in symbol table order, its CRC being
// st_value for SHN_ABS/SHN_UNDEF and otherwise the u32 at st_value inside
// section st_shndx (the modern __kcrctab; an out-of-range offset gives
// 0xffffffffffffffff as in kmod). Without any __crc_ symbol (or without a
// usable .symtab/.strtab) kmod falls back to splitting __ksymtab_strings on
// NULs with CRC 0 — which, trap, also lists namespace strings as exports.
func (m *Module) KmodExports() ([]KmodSymbol, error) {
	syms, err := m.ELF.Symbols()
	if err != nil || m.ELF.Section(".strtab") == nil {
		return m.ksymtabStrings()
	}
	var out []KmodSymbol
	for i := 1; i < len(syms); i++ {
		s := &syms[i]
		name, ok := strings.CutPrefix(s.Name, "__crc_")
		if !ok {
			continue
		}
		out = append(out, KmodSymbol{Name: name, CRC: m.resolveCRC(s), Bind: s.Bind()})
	}
	if len(out) == 0 {
		return m.ksymtabStrings()
	}
	return out, nil
}

func (m *Module) resolveCRC(s *elfx.Symbol) uint64 {
	if s.Shndx == uint32(elf.SHN_ABS) || s.Shndx == uint32(elf.SHN_UNDEF) {
		return s.Value
	}
	sec := m.ELF.SectionByIndex(int(s.Shndx))
	if sec == nil {
		return ^uint64(0)
	}
	data, err := m.ELF.SectionData(sec)
	v, ok := m.ELF.Uint(data, s.Value, 4)
	if err != nil || !ok {
		return ^uint64(0)
	}
	return v
}

func (m *Module) ksymtabStrings() ([]KmodSymbol, error) {
	b, sec, err := m.sectionData("__ksymtab_strings")
	if err != nil {
		return nil, err
	}
	if sec == nil {
		return nil, ErrNoExports
	}
	var out []KmodSymbol
	SplitStrings(b, func(s []byte) {
		out = append(out, KmodSymbol{Name: string(s), Bind: elf.STB_GLOBAL})
	})
	return out, nil
}

// ErrNoExports reports a module with neither __crc_* symbols nor a
// __ksymtab_strings section (kmod fails such modules with ENOENT).
var ErrNoExports = errors.New("exports nothing: no __crc_* symbols and no __ksymtab_strings section")

// ksymtabKinds are the sections EXPORT_SYMBOL* entries live in; the GPL
// flag follows the section (kernel/module/main.c find_module_sections).
var ksymtabKinds = []struct {
	name string
	gpl  bool
}{
	{"__ksymtab", false},
	{"__ksymtab_gpl", true},
	{"__ksymtab_unused", false},
	{"__ksymtab_unused_gpl", true},
	{"__ksymtab_gpl_future", false},
}

// Exports returns the exported symbols with CRC, GPL-only flag and
// namespace, in symbol table order of their __ksymtab_NAME symbols.
//
// A ksymtab entry is struct kernel_symbol: with
// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS three s32 offsets (value, name,
// namespace; 12 bytes), otherwise three pointers. In a .ko these fields are
// only filled in by relocations, so the namespace is found by following the
// relocation at the entry's namespace field into __ksymtab_strings; failing
// that, through the __kstrtabns_NAME symbol (6.1).
func (m *Module) Exports() ([]Export, error) {
	syms, err := m.ELF.Symbols()
	if err != nil {
		return nil, err
	}
	crcs := map[string]*elfx.Symbol{}
	nsSyms := map[string]*elfx.Symbol{}
	kindOf := map[uint32]int{}
	for k, kind := range ksymtabKinds {
		if s := m.ELF.Section(kind.name); s != nil {
			kindOf[uint32(s.Index)] = k
		}
	}
	counts := map[uint32]int{}
	for i := 1; i < len(syms); i++ {
		s := &syms[i]
		switch {
		case strings.HasPrefix(s.Name, "__crc_"):
			crcs[s.Name[len("__crc_"):]] = s
		case strings.HasPrefix(s.Name, "__kstrtabns_"):
			nsSyms[s.Name[len("__kstrtabns_"):]] = s
		case strings.HasPrefix(s.Name, "__ksymtab_"):
			if _, ok := kindOf[s.Shndx]; ok {
				counts[s.Shndx]++
			}
		}
	}
	// Relocations of each ksymtab section, by offset.
	relocs := map[uint32]map[uint64]elfx.Reloc{}
	for shndx := range kindOf {
		rm := map[uint64]elfx.Reloc{}
		for _, rs := range m.ELF.RelocSections(int(shndx)) {
			rr, err := m.ELF.Relocs(rs)
			if err != nil {
				return nil, err
			}
			for _, r := range rr {
				rm[r.Offset] = r
			}
		}
		relocs[shndx] = rm
	}
	var out []Export
	for i := 1; i < len(syms); i++ {
		s := &syms[i]
		k, ok := kindOf[s.Shndx]
		if !ok || !strings.HasPrefix(s.Name, "__ksymtab_") {
			continue
		}
		name := s.Name[len("__ksymtab_"):]
		e := Export{Name: name, GPLOnly: ksymtabKinds[k].gpl, Kind: ksymtabKinds[k].name, Offset: s.Value}
		if c, ok := crcs[name]; ok {
			e.CRC, e.HasCRC = m.resolveCRC(c), true
		}
		sec := m.ELF.SectionByIndex(int(s.Shndx))
		entsize := sec.Size / uint64(max(counts[s.Shndx], 1))
		nsField := uint64(8) // PREL32 layout, and the 32-bit pointer layout
		if entsize == uint64(3*m.ELF.WordSize()) {
			nsField = uint64(2 * m.ELF.WordSize())
		}
		if r, ok := relocs[s.Shndx][s.Value+nsField]; ok {
			e.Namespace = m.relocString(syms, sec, r)
		} else if ns, ok := nsSyms[name]; ok {
			if nsec := m.ELF.SectionByIndex(int(ns.Shndx)); nsec != nil {
				nd, _ := m.ELF.SectionData(nsec)
				if str, ok := elfx.CString(nd, ns.Value); ok {
					e.Namespace = string(str)
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// relocString returns the NUL-terminated string a relocation at place (in
// section sec) points to: symbol value plus addend (explicit for RELA, the
// 32-bit value in place for REL).
func (m *Module) relocString(syms []elfx.Symbol, sec *elfx.Section, r elfx.Reloc) string {
	if int(r.Sym) >= len(syms) {
		return ""
	}
	target := &syms[r.Sym]
	addend := r.Addend
	if !r.HasAddend {
		sd, _ := m.ELF.SectionData(sec)
		v, ok := m.ELF.Uint(sd, r.Offset, 4)
		if !ok {
			return ""
		}
		addend = int64(int32(uint32(v)))
	}
	tsec := m.ELF.SectionByIndex(int(target.Shndx))
	if tsec == nil {
		return ""
	}
	td, _ := m.ELF.SectionData(tsec)
	str, ok := elfx.CString(td, target.Value+uint64(addend))
	if !ok {
		return ""
	}
	return string(str)
}

// Import is a symbol the module needs from the kernel or other modules.
type Import struct {
	Name string `json:"name"`
	// CRC is the version CRC from __versions (or the extended tables);
	// HasCRC is false when the module carries no version for it.
	CRC    uint64 `json:"crc"`
	HasCRC bool   `json:"has_crc"`
	Weak   bool   `json:"weak"`
	// InSymtab is false for __versions entries no symbol refers to
	// (module_layout, or symbols only used via symbol_get).
	InSymtab bool `json:"in_symtab"`
}

// Imports returns the undefined symbols in symbol table order, each with its
// CRC from the module's versions, then the version entries no undefined
// symbol refers to (kmod's kmod_elf_get_dependency_symbols order).
func (m *Module) Imports() ([]Import, error) {
	syms, err := m.ELF.Symbols()
	if err != nil {
		return nil, err
	}
	vers, err := m.Versions()
	if err != nil && !errors.Is(err, ErrNoVersions) {
		return nil, err
	}
	byName := make(map[string]int, len(vers))
	for i := len(vers) - 1; i >= 0; i-- {
		byName[vers[i].Name] = i
	}
	used := make([]bool, len(vers))
	var out []Import
	for i := 1; i < len(syms); i++ {
		s := &syms[i]
		if !s.IsUndef() || s.Name == "" {
			continue
		}
		if m.ELF.Machine == elf.EM_SPARCV9 && s.Type() == stSparcRegister {
			continue
		}
		im := Import{Name: s.Name, Weak: s.Bind() == elf.STB_WEAK, InSymtab: true}
		if j, ok := byName[s.Name]; ok {
			im.CRC, im.HasCRC = vers[j].CRC, true
			used[j] = true
		}
		out = append(out, im)
	}
	for j, v := range vers {
		if !used[j] {
			out = append(out, Import{Name: v.Name, CRC: v.CRC, HasCRC: true})
		}
	}
	return out, nil
}

// stSparcRegister is STT_SPARC_REGISTER (13), which kmod skips on SPARC.
const stSparcRegister = elf.SymType(13)
