// Package nm lists the symbols of an ELF relocatable object (a kernel
// module) the way GNU nm (binutils 2.40) does: the same symbol letters, the
// same filtering, the same sort orders and the same output bytes.
//
// nm sees an ELF file through BFD, so its rules are BFD's:
//
//   - the letter comes from bfd_decode_symclass: 'U' undefined, 'w'/'v' weak
//     undefined (plain/object), 'C' common, 'i' STT_GNU_IFUNC, 'W'/'V' weak
//     defined, 'u' STB_GNU_UNIQUE, 'a'/'A' absolute, else the letter of the
//     symbol's section, upper case for STB_GLOBAL; a binding BFD does not
//     know gives '?';
//   - the section letter (decode_section_type) follows BFD's section flags,
//     which come from sh_type and sh_flags: 't' SHF_EXECINSTR, 'r' allocated
//     read-only data (.rodata*, .modinfo, __ksymtab*, __versions, allocated
//     notes), 'd' allocated writable data (.data..ro_after_init too), 'b'
//     SHT_NOBITS, 'N' debugging (.debug*, .zdebug*, .stab*, .line,
//     .gdb_index when not allocated), 'n' other non-allocated read-only
//     sections (.comment, .BTF, .note.GNU-stack), '?' the rest;
//   - symbols in sections BFD does not make (the symbol and string tables,
//     relocation sections) count as absolute;
//   - without -a, section and file symbols (BSF_DEBUGGING) are hidden, and
//     so are the target's "special" symbols: ARM mapping symbols ($a, $t,
//     $d...), AArch64's ($x, $d...), RISC-V's ($x, $d, $xrv..., local .L
//     labels and empty names), MIPS's local labels (.L..., ..., _.L_...);
//   - on ARM a Thumb function's value has bit 0 cleared;
//   - the default order is by name with strcoll in the C/C.UTF-8 locale
//     (byte order), an empty name first, ties in symbol table order (glibc's
//     qsort is a stable merge sort); -n sorts undefined symbols first, then
//     by value, then by name; -r reverses the comparison; -p keeps table
//     order;
//   - values are 8 hex digits for ELFCLASS32 and 16 for ELFCLASS64.
package nm

import (
	"debug/elf"
	"slices"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// Options select nm's variants.
type Options struct {
	Debug       bool // -a: section and file symbols too
	Undefined   bool // -u
	Extern      bool // -g
	DefinedOnly bool // --defined-only
	Numeric     bool // -n
	NoSort      bool // -p
	Reverse     bool // -r
	Size        bool // -S
	Dynamic     bool // -D: an ET_REL module has no dynamic symbols
	Special     bool // --special-syms
	SizeSort    bool // --size-sort
}

// Symbol is one symbol as nm sees it.
type Symbol struct {
	Index  int    // index in .symtab
	Name   string // for an unnamed section symbol, the section's name
	Letter byte   // nm's type letter
	Value  uint64 // as nm prints it (section address added, Thumb bit cleared, size for commons)
	Size   uint64 // st_size (0 for section symbols)
	Undef  bool
	// External is what nm -g keeps: global, weak, unique, undefined or common.
	External bool
	Debug    bool // section or file symbol (hidden without -a)
	Special  bool // target-special symbol (hidden without --special-syms)
	Abs      bool // absolute (SHN_ABS or a section BFD makes none for)
	// Section is the symbol's section index (-1 when absolute, undefined
	// or common); SecAddr and SecSize are that section's address and size.
	Section          int
	SecAddr, SecSize uint64
	File             bool // STT_FILE
	SectionSym       bool // STT_SECTION
}

// bfd section flags, as _bfd_elf_make_section_from_shdr sets them.
const (
	secHasContents = 1 << iota
	secAlloc
	secLoad
	secReadonly
	secCode
	secData
	secDebugging
	secNone // BFD makes no section for it: symbols there are absolute
)

func sectionFlags(f *elfx.File, s *elfx.Section, symtab *elfx.Section) int {
	switch s.Type {
	case elf.SHT_NULL, elf.SHT_SYMTAB, elf.SHT_SYMTAB_SHNDX, elf.SHT_REL, elf.SHT_RELA:
		return secNone
	case elf.SHT_STRTAB:
		if s.Index == f.Shstrndx || (symtab != nil && int(symtab.Link) == s.Index) {
			return secNone
		}
	}
	fl := 0
	if s.Type != elf.SHT_NOBITS {
		fl |= secHasContents
	}
	if s.Flags&elf.SHF_ALLOC != 0 {
		fl |= secAlloc
		if s.Type != elf.SHT_NOBITS {
			fl |= secLoad
		}
	}
	if s.Flags&elf.SHF_WRITE == 0 {
		fl |= secReadonly
	}
	if s.Flags&elf.SHF_EXECINSTR != 0 {
		fl |= secCode
	} else if fl&secLoad != 0 {
		fl |= secData
	}
	if fl&secAlloc == 0 && strings.HasPrefix(s.Name, ".") {
		n := s.Name
		if strings.HasPrefix(n, ".debug") || strings.HasPrefix(n, ".gnu.debuglto_.debug_") ||
			strings.HasPrefix(n, ".gnu.linkonce.wi.") || strings.HasPrefix(n, ".zdebug") ||
			strings.HasPrefix(n, ".line") || strings.HasPrefix(n, ".stab") || n == ".gdb_index" {
			fl |= secDebugging
		}
	}
	return fl
}

// sectionLetter is decode_section_type (coff_section_type's MSVC names
// never occur in modules).
func sectionLetter(name string, fl int) byte {
	if c := coffSectionType(name); c != '?' {
		return c
	}
	switch {
	case fl&secCode != 0:
		return 't'
	case fl&secData != 0:
		if fl&secReadonly != 0 {
			return 'r'
		}
		return 'd'
	case fl&secHasContents == 0:
		return 'b'
	case fl&secDebugging != 0:
		return 'N'
	case fl&secReadonly != 0:
		return 'n'
	}
	return '?'
}

// coffSectionType is BFD's table of MSVC section names, matched when
// followed by NUL, '.', '$' or a digit.
func coffSectionType(s string) byte {
	for _, t := range [...]struct {
		name string
		c    byte
	}{{".drectve", 'i'}, {".edata", 'e'}, {".idata", 'i'}, {".pdata", 'p'}} {
		if strings.HasPrefix(s, t.name) {
			if len(s) == len(t.name) || strings.IndexByte(".$0123456789", s[len(t.name)]) >= 0 {
				return t.c
			}
		}
	}
	return '?'
}

// Symbols returns every symbol of f (entry 0 excluded) as nm sees it, in
// symbol table order. A module without a symbol table yields nil.
func Symbols(f *elfx.File) ([]Symbol, error) {
	raw, err := f.Symbols()
	if err != nil || len(raw) <= 1 {
		return nil, err
	}
	symtab := f.SymtabSection()
	// Per-section letter (lower case) and flags, computed once.
	letters := make([]byte, len(f.Sections))
	flags := make([]int, len(f.Sections))
	for i := range f.Sections {
		flags[i] = sectionFlags(f, &f.Sections[i], symtab)
		letters[i] = sectionLetter(f.Sections[i].Name, flags[i])
	}
	arm := f.Machine == elf.EM_ARM
	out := make([]Symbol, len(raw)-1)
	for i := 1; i < len(raw); i++ {
		r := &raw[i]
		s := &out[i-1]
		s.Index = i
		s.Name = r.Name
		typ, bind := r.Type(), r.Bind()
		if r.NameOff == 0 && typ == elf.STT_SECTION && r.Shndx < uint32(len(f.Sections)) {
			s.Name = f.Sections[r.Shndx].Name
		}
		value := r.Value
		if arm && (typ == elf.STT_FUNC || typ == elf.STT_GNU_IFUNC) {
			value &^= 1
		}
		if arm && typ == 13 { // STT_ARM_TFUNC
			typ = elf.STT_FUNC
		}
		s.Size = r.Size
		s.Debug = typ == elf.STT_SECTION || typ == elf.STT_FILE
		if typ == elf.STT_SECTION {
			s.Size = 0
		}
		// BFD symbol flags.
		local := bind == elf.STB_LOCAL
		global := bind == elf.STB_GLOBAL && r.Shndx != uint32(elf.SHN_UNDEF) && r.Shndx != uint32(elf.SHN_COMMON)
		weak := bind == elf.STB_WEAK
		unique := bind == 10 // STB_GNU_UNIQUE
		object := typ == elf.STT_OBJECT || typ == elf.STT_COMMON
		ifunc := typ == elf.STT_GNU_IFUNC
		sec := -1
		if r.Shndx != uint32(elf.SHN_ABS) && r.Shndx < uint32(len(f.Sections)) && flags[r.Shndx] != secNone {
			sec = int(r.Shndx)
		}
		s.External = global || weak || unique
		s.Section = sec
		if sec >= 0 {
			s.SecAddr, s.SecSize = f.Sections[sec].Addr, f.Sections[sec].Size
		}
		s.File, s.SectionSym = typ == elf.STT_FILE, typ == elf.STT_SECTION
		s.Abs = sec < 0 && r.Shndx != uint32(elf.SHN_UNDEF) && r.Shndx != uint32(elf.SHN_COMMON)
		var c byte
		switch {
		case r.Shndx == uint32(elf.SHN_COMMON):
			c = 'C'
			value = r.Size
			s.External = true
		case r.Shndx == uint32(elf.SHN_UNDEF):
			s.Undef = true
			s.External = true
			switch {
			case weak && object:
				c = 'v'
			case weak:
				c = 'w'
			default:
				c = 'U'
			}
			value = 0
		default:
			if sec >= 0 {
				value += f.Sections[sec].Addr
			}
			switch {
			case ifunc:
				c = 'i'
			case weak && object:
				c = 'V'
			case weak:
				c = 'W'
			case unique:
				c = 'u'
			case !global && !local:
				c = '?'
			default:
				if sec < 0 {
					c = 'a'
				} else {
					c = letters[sec]
				}
				if global && c >= 'a' && c <= 'z' {
					c -= 'a' - 'A'
				}
			}
		}
		s.Letter = c
		s.Value = value
		s.Special = isSpecial(f.Machine, s.Name)
	}
	return out, nil
}

// isSpecial is bfd_is_target_special_symbol for the machines Debian ships.
func isSpecial(m elf.Machine, name string) bool {
	switch m {
	case elf.EM_ARM:
		if len(name) < 2 || name[0] != '$' || name[1] < 'a' || name[1] > 'z' {
			return false
		}
		return len(name) == 2 || name[2] == '.'
	case elf.EM_AARCH64:
		if len(name) < 2 || name[0] != '$' || strings.IndexByte("xdmfp", name[1]) < 0 {
			return false
		}
		return len(name) == 2 || name[2] == '.'
	case elf.EM_MIPS:
		return isLocalLabel(name)
	case elf.EM_RISCV:
		return name == "" || isLocalLabel(name) || name == "$d" || name == "$x" || strings.HasPrefix(name, "$xrv")
	}
	return false
}

// isLocalLabel is _bfd_elf_is_local_label_name.
func isLocalLabel(n string) bool {
	if strings.HasPrefix(n, ".L") || strings.HasPrefix(n, "..") || strings.HasPrefix(n, "_.L_") {
		return true
	}
	if len(n) >= 2 && n[0] == 'L' && n[1] >= '0' && n[1] <= '9' {
		i := 1
		for i < len(n) && n[i] >= '0' && n[i] <= '9' {
			i++
		}
		if i < len(n) && (n[i] == 1 || n[i] == 2) {
			return true
		}
	}
	return false
}

// Select filters and sorts syms (in place) the way nm does for opt.
func Select(syms []Symbol, opt *Options) []Symbol {
	if opt.Dynamic {
		return syms[:0] // an ET_REL object has no dynamic symbol table
	}
	out := syms[:0]
	for i := range syms {
		s := &syms[i]
		var keep bool
		switch {
		case opt.Undefined:
			keep = s.Undef
		case opt.Extern:
			keep = s.External
		default:
			keep = true
		}
		if keep && !opt.Debug && s.Debug {
			keep = false
		}
		if keep && opt.DefinedOnly && s.Undef {
			keep = false
		}
		if keep && !opt.Special && s.Special {
			keep = false
		}
		if keep && opt.SizeSort && (s.Abs || s.Undef) {
			keep = false
		}
		if keep {
			out = append(out, *s)
		}
	}
	if opt.NoSort {
		return out
	}
	if opt.SizeSort {
		return sortBySize(out, opt.Reverse)
	}
	numeric := opt.Numeric
	sign := 1
	if opt.Reverse {
		sign = -1
	}
	// glibc's qsort is a stable merge sort: ties keep symbol table order,
	// in both directions. An unstable sort with the index as the last key
	// gives the same order, faster.
	slices.SortFunc(out, func(a, b Symbol) int {
		var c int
		if numeric {
			c = compareNumeric(&a, &b)
		} else {
			c = compareName(&a, &b)
		}
		if c != 0 {
			return sign * c
		}
		return a.Index - b.Index
	})
	return out
}

func compareName(a, b *Symbol) int {
	if b.Name == "" {
		if a.Name != "" {
			return 1
		}
		return 0
	}
	if a.Name == "" {
		return -1
	}
	return strings.Compare(a.Name, b.Name)
}

func compareNumeric(a, b *Symbol) int {
	if a.Undef {
		if !b.Undef {
			return -1
		}
	} else if b.Undef {
		return 1
	} else if a.Value != b.Value {
		if a.Value < b.Value {
			return -1
		}
		return 1
	}
	return compareName(a, b)
}

// sortBySize is nm's sort_symbols_by_size: order by value (then section
// address, compiler markers and file symbols first, name), give each symbol
// its ELF size (section symbols: the distance to the next symbol of the same
// section or to the section's end), drop those of size 0, and order by size
// then name. Size then replaces the symbol's printed value (see Append).
func sortBySize(syms []Symbol, reverse bool) []Symbol {
	slices.SortFunc(syms, func(a, b Symbol) int {
		if c := sizeForward1(&a, &b); c != 0 {
			return c
		}
		return a.Index - b.Index
	})
	out := syms[:0]
	for i := range syms {
		s := syms[i]
		sz := s.Size
		if s.SectionSym {
			if i+1 < len(syms) && syms[i+1].Section == s.Section {
				sz = syms[i+1].Value - s.Value
			} else {
				sz = s.SecAddr + s.SecSize - s.Value
			}
		}
		if sz != 0 {
			s.Size = sz
			out = append(out, s)
		}
	}
	slices.SortStableFunc(out, func(a, b Symbol) int {
		if a.Size != b.Size {
			if (a.Size < b.Size) != reverse {
				return -1
			}
			return 1
		}
		c := compareName(&a, &b)
		if reverse {
			return -c
		}
		return c
	})
	return out
}

func sizeForward1(a, b *Symbol) int {
	if a.Value != b.Value {
		if a.Value < b.Value {
			return -1
		}
		return 1
	}
	if a.SecAddr != b.SecAddr {
		if a.SecAddr < b.SecAddr {
			return -1
		}
		return 1
	}
	af := strings.Contains(a.Name, "gnu_compiled") || strings.Contains(a.Name, "gcc2_compiled")
	bf := strings.Contains(b.Name, "gnu_compiled") || strings.Contains(b.Name, "gcc2_compiled")
	if af != bf {
		if af {
			return -1
		}
		return 1
	}
	af, bf = fileSymbol(a), fileSymbol(b)
	if af != bf {
		if af {
			return -1
		}
		return 1
	}
	return compareName(a, b)
}

func fileSymbol(s *Symbol) bool {
	n := s.Name
	return s.File || len(n) > 2 && n[len(n)-2] == '.' && (n[len(n)-1] == 'o' || n[len(n)-1] == 'a')
}

// Append appends nm's lines for syms (already selected) to dst; is64
// selects 16-digit values.
func Append(dst []byte, syms []Symbol, is64 bool, opt *Options) []byte {
	w := 8
	if is64 {
		w = 16
	}
	for i := range syms {
		s := &syms[i]
		if s.Letter == 'U' || s.Letter == 'w' || s.Letter == 'v' {
			dst = append(dst, "                "[:w]...)
		} else {
			if opt.SizeSort && !opt.Size {
				dst = appendHex(dst, s.Size, w)
			} else {
				dst = appendHex(dst, s.Value, w)
			}
			if opt.Size && s.Size != 0 {
				dst = append(dst, ' ')
				dst = appendHex(dst, s.Size, w)
			}
		}
		dst = append(dst, ' ', s.Letter, ' ')
		dst = append(dst, s.Name...)
		dst = append(dst, '\n')
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendHex is printf("%0*lx").
func appendHex(dst []byte, v uint64, w int) []byte {
	var b [16]byte
	n := 16
	for v != 0 {
		n--
		b[n] = hexDigits[v&0xf]
		v >>= 4
	}
	for 16-n < w {
		n--
		b[n] = '0'
	}
	return append(dst, b[n:]...)
}
