// Package gnuview prints an elfx.File the way GNU binutils and file(1) do:
// readelf -SW (binutils 2.40, binutils/readelf.c process_section_headers),
// size in Berkeley, SysV and GNU formats (binutils/size.c over BFD's view of
// the sections), and the ELF part of file(1)'s description (file 5.44,
// magic/Magdir/elf and src/readelf.c). Tests compare every output byte for
// byte with the real tools run on the same files.
package gnuview

import (
	"debug/elf"
	"fmt"
	"io"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// ReadelfSections writes what `readelf -SW FILE` prints. With showName,
// the "\nFile: NAME\n" header readelf prints when given several files
// comes first.
func ReadelfSections(w io.Writer, f *elfx.File, name string, showName bool) {
	var b strings.Builder
	if showName {
		fmt.Fprintf(&b, "\nFile: %s\n", name)
	}
	n := len(f.Sections)
	if n == 1 {
		fmt.Fprintf(&b, "There is %d section header, starting at offset %#x:\n", n, f.Shoff)
	} else {
		fmt.Fprintf(&b, "There are %d section headers, starting at offset %#x:\n", n, f.Shoff)
	}
	if n > 1 {
		b.WriteString("\nSection Headers:\n")
	} else {
		b.WriteString("\nSection Header:\n")
	}
	is32 := !f.Is64()
	if is32 {
		b.WriteString("  [Nr] Name              Type            Addr     Off    Size   ES Flg Lk Inf Al\n")
	} else {
		b.WriteString("  [Nr] Name              Type            Address          Off    Size   ES Flg Lk Inf Al\n")
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		fmt.Fprintf(&b, "  [%2d] ", i)
		nm := printableName(s.Name)
		b.WriteString(nm)
		for k := runeLen(nm); k < 17; k++ {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, " %-15s ", SectionTypeName(f, s.Type))
		if is32 {
			fmt.Fprintf(&b, "%08x %06x %06x %02x", uint32(s.Addr), uint32(s.Offset), uint32(s.Size), uint32(s.Entsize))
			fmt.Fprintf(&b, " %3s ", SectionFlags(f, uint64(s.Flags)))
			fmt.Fprintf(&b, "%2d %3d %2d\n", s.Link, s.Info, uint32(s.Addralign))
		} else {
			fmt.Fprintf(&b, "%016x %06x %06x %02x", s.Addr, s.Offset, s.Size, s.Entsize)
			fmt.Fprintf(&b, " %3s ", SectionFlags(f, uint64(s.Flags)))
			fmt.Fprintf(&b, "%2d %3d %2d\n", s.Link, s.Info, s.Addralign)
		}
	}
	b.WriteString("Key to Flags:\n" +
		"  W (write), A (alloc), X (execute), M (merge), S (strings), I (info),\n" +
		"  L (link order), O (extra OS processing required), G (group), T (TLS),\n" +
		"  C (compressed), x (unknown), o (OS specific), E (exclude),\n  ")
	switch f.OSABI {
	case elf.ELFOSABI_LINUX, elf.ELFOSABI_FREEBSD:
		b.WriteString("R (retain), ")
		b.WriteString("D (mbind), ")
	case elf.ELFOSABI_NONE:
		b.WriteString("D (mbind), ")
	}
	switch f.Machine {
	case elf.EM_X86_64, emL1OM, emK1OM:
		b.WriteString("l (large), ")
	case elf.EM_ARM:
		b.WriteString("y (purecode), ")
	case elf.EM_PPC:
		b.WriteString("v (VLE), ")
	}
	b.WriteString("p (processor specific)\n")
	io.WriteString(w, b.String())
}

func runeLen(s string) int { return len([]rune(s)) }

// printableName is readelf's printable_section_name: control characters
// shown as ^X.
func printableName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			b.WriteByte('^')
			b.WriteByte(c ^ 0x40)
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// SectionFlags is readelf's get_elf_section_flags() without
// --section-details: one letter per flag bit, lowest bit first.
func SectionFlags(f *elfx.File, flags uint64) string {
	var b strings.Builder
	for flags != 0 {
		flag := flags & -flags
		flags &^= flag
		switch elf.SectionFlag(flag) {
		case elf.SHF_WRITE:
			b.WriteByte('W')
		case elf.SHF_ALLOC:
			b.WriteByte('A')
		case elf.SHF_EXECINSTR:
			b.WriteByte('X')
		case elf.SHF_MERGE:
			b.WriteByte('M')
		case elf.SHF_STRINGS:
			b.WriteByte('S')
		case elf.SHF_INFO_LINK:
			b.WriteByte('I')
		case elf.SHF_LINK_ORDER:
			b.WriteByte('L')
		case elf.SHF_OS_NONCONFORMING:
			b.WriteByte('O')
		case elf.SHF_GROUP:
			b.WriteByte('G')
		case elf.SHF_TLS:
			b.WriteByte('T')
		case 0x80000000: // SHF_EXCLUDE
			b.WriteByte('E')
		case elf.SHF_COMPRESSED:
			b.WriteByte('C')
		default:
			switch {
			case (f.Machine == elf.EM_X86_64 || f.Machine == emL1OM || f.Machine == emK1OM) && flag == 0x10000000: // SHF_X86_64_LARGE
				b.WriteByte('l')
			case f.Machine == elf.EM_ARM && flag == 0x20000000: // SHF_ARM_PURECODE
				b.WriteByte('y')
			case f.Machine == elf.EM_PPC && flag == 0x10000000: // SHF_PPC_VLE
				b.WriteByte('v')
			case flag&0x0ff00000 != 0: // SHF_MASKOS
				switch {
				case (f.OSABI == elf.ELFOSABI_LINUX || f.OSABI == elf.ELFOSABI_FREEBSD) && flag == 0x00200000: // SHF_GNU_RETAIN
					b.WriteByte('R')
				case (f.OSABI == elf.ELFOSABI_LINUX || f.OSABI == elf.ELFOSABI_FREEBSD || f.OSABI == elf.ELFOSABI_NONE) && flag == 0x01000000: // SHF_GNU_MBIND
					b.WriteByte('D')
				default:
					b.WriteByte('o')
					flags &^= 0x0ff00000
				}
			case flag&0xf0000000 != 0: // SHF_MASKPROC
				b.WriteByte('p')
				flags &^= 0xf0000000
			default:
				b.WriteByte('x')
			}
		}
	}
	return b.String()
}

// SectionTypeName is readelf's get_section_type_name().
func SectionTypeName(f *elfx.File, t elf.SectionType) string {
	switch t {
	case elf.SHT_NULL:
		return "NULL"
	case elf.SHT_PROGBITS:
		return "PROGBITS"
	case elf.SHT_SYMTAB:
		return "SYMTAB"
	case elf.SHT_STRTAB:
		return "STRTAB"
	case elf.SHT_RELA:
		return "RELA"
	case 19: // SHT_RELR
		return "RELR"
	case elf.SHT_HASH:
		return "HASH"
	case elf.SHT_DYNAMIC:
		return "DYNAMIC"
	case elf.SHT_NOTE:
		return "NOTE"
	case elf.SHT_NOBITS:
		return "NOBITS"
	case elf.SHT_REL:
		return "REL"
	case elf.SHT_SHLIB:
		return "SHLIB"
	case elf.SHT_DYNSYM:
		return "DYNSYM"
	case elf.SHT_INIT_ARRAY:
		return "INIT_ARRAY"
	case elf.SHT_FINI_ARRAY:
		return "FINI_ARRAY"
	case elf.SHT_PREINIT_ARRAY:
		return "PREINIT_ARRAY"
	case elf.SHT_GNU_HASH:
		return "GNU_HASH"
	case elf.SHT_GROUP:
		return "GROUP"
	case elf.SHT_SYMTAB_SHNDX:
		return "SYMTAB SECTION INDICES"
	case elf.SHT_GNU_VERDEF:
		return "VERDEF"
	case elf.SHT_GNU_VERNEED:
		return "VERNEED"
	case elf.SHT_GNU_VERSYM:
		return "VERSYM"
	case 0x6ffffff0:
		return "VERSYM"
	case 0x6ffffffc:
		return "VERDEF"
	case 0x7ffffffd:
		return "AUXILIARY"
	case 0x7fffffff:
		return "FILTER"
	case elf.SHT_GNU_LIBLIST:
		return "GNU_LIBLIST"
	}
	u := uint32(t)
	switch {
	case u >= uint32(elf.SHT_LOPROC) && u <= uint32(elf.SHT_HIPROC):
		if n := procSectionType(f.Machine, u); n != "" {
			return n
		}
		return fmt.Sprintf("LOPROC+%#x", u-uint32(elf.SHT_LOPROC))
	case u >= uint32(elf.SHT_LOOS) && u <= uint32(elf.SHT_HIOS):
		switch u {
		case 0x6ffffff5:
			return "GNU_ATTRIBUTES"
		case 0x6ffffff6:
			return "GNU_HASH"
		case 0x6fff4c00:
			return "LLVM_ODRTAB"
		case 0x6fff4c01:
			return "LLVM_LINKER_OPTIONS"
		case 0x6fff4c02:
			return "LLVM_CALL_GRAPH_PROFILE"
		case 0x6fff4c03:
			return "LLVM_ADDRSIG"
		case 0x6fff4c04:
			return "LLVM_DEPENDENT_LIBRARIES"
		case 0x6fff4c05:
			return "LLVM_SYMPART"
		case 0x6fff4c06:
			return "LLVM_PART_EHDR"
		case 0x6fff4c07:
			return "LLVM_PART_PHDR"
		case 0x6fff4c08:
			return "LLVM_BB_ADDR_MAP_V0"
		case 0x6fff4c09:
			return "LLVM_CALL_GRAPH_PROFILE"
		case 0x6fff4c0a:
			return "LLVM_BB_ADDR_MAP"
		case 0x6fff4c0c:
			return "LLVM_LTO"
		}
		return fmt.Sprintf("LOOS+%#x", u-uint32(elf.SHT_LOOS))
	case u >= uint32(elf.SHT_LOUSER) && u <= uint32(elf.SHT_HIUSER):
		return fmt.Sprintf("LOUSER+%#x", u-uint32(elf.SHT_LOUSER))
	}
	return fmt.Sprintf("<unknown>: %x", u)
}

func procSectionType(m elf.Machine, t uint32) string {
	switch m {
	case elf.EM_ARM:
		switch t {
		case 0x70000001:
			return "ARM_EXIDX"
		case 0x70000002:
			return "ARM_PREEMPTMAP"
		case 0x70000003:
			return "ARM_ATTRIBUTES"
		case 0x70000004:
			return "ARM_DEBUGOVERLAY"
		case 0x70000005:
			return "ARM_OVERLAYSECTION"
		}
	case elf.EM_AARCH64:
		switch t {
		case 0x70000003:
			return "AARCH64_ATTRIBUTES"
		case 0x70000004:
			return "AARCH64_AUTH_RELR"
		case 0x70000005:
			return "AARCH64_MEMTAG_GLOBALS_STATIC"
		case 0x70000006:
			return "AARCH64_MEMTAG_GLOBALS_DYNAMIC"
		}
	case elf.EM_X86_64, emL1OM, emK1OM:
		if t == 0x70000001 {
			return "X86_64_UNWIND"
		}
	case elf.EM_RISCV:
		if t == 0x70000003 {
			return "RISCV_ATTRIBUTES"
		}
	case elf.EM_MSP430:
		if t == 0x70000003 {
			return "MSP430_ATTRIBUTES"
		}
	case elf.EM_MIPS, elf.EM_MIPS_RS3_LE:
		return mipsSectionTypes[t]
	}
	return ""
}

var mipsSectionTypes = map[uint32]string{
	0x70000000: "MIPS_LIBLIST", 0x70000001: "MIPS_MSYM", 0x70000002: "MIPS_CONFLICT", 0x70000003: "MIPS_GPTAB",
	0x70000004: "MIPS_UCODE", 0x70000005: "MIPS_DEBUG", 0x70000006: "MIPS_REGINFO", 0x70000007: "MIPS_PACKAGE",
	0x70000008: "MIPS_PACKSYM", 0x70000009: "MIPS_RELD", 0x7000000b: "MIPS_IFACE", 0x7000000c: "MIPS_CONTENT",
	0x7000000d: "MIPS_OPTIONS", 0x70000010: "MIPS_SHDR", 0x70000011: "MIPS_FDESC", 0x70000012: "MIPS_EXTSYM",
	0x70000013: "MIPS_DENSE", 0x70000014: "MIPS_PDESC", 0x70000015: "MIPS_LOCSYM", 0x70000016: "MIPS_AUXSYM",
	0x70000017: "MIPS_OPTSYM", 0x70000018: "MIPS_LOCSTR", 0x70000019: "MIPS_LINE", 0x7000001a: "MIPS_RFDESC",
	0x7000001b: "MIPS_DELTASYM", 0x7000001c: "MIPS_DELTAINST", 0x7000001d: "MIPS_DELTACLASS", 0x7000001e: "MIPS_DWARF",
	0x7000001f: "MIPS_DELTADECL", 0x70000020: "MIPS_SYMBOL_LIB", 0x70000021: "MIPS_EVENTS", 0x70000022: "MIPS_TRANSLATE",
	0x70000023: "MIPS_PIXIE", 0x70000024: "MIPS_XLATE", 0x70000025: "MIPS_XLATE_DEBUG", 0x70000026: "MIPS_WHIRL",
	0x70000027: "MIPS_EH_REGION", 0x70000028: "MIPS_XLATE_OLD", 0x70000029: "MIPS_PDR_EXCEPTION", 0x7000002a: "MIPS_ABIFLAGS",
	0x7000002b: "MIPS_XHASH",
}

// Intel L1OM and K1OM, which readelf treats like x86-64.
const (
	emL1OM elf.Machine = 180
	emK1OM elf.Machine = 181
)
