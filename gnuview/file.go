package gnuview

import (
	"bytes"
	"debug/elf"
	"fmt"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// fileMachines are magic/Magdir/elf's e_machine strings (file 5.44), each
// with the comma file prints after it.
var fileMachines = map[elf.Machine]string{
	elf.EM_NONE: "no machine,", elf.EM_M32: "AT&T WE32100,", elf.EM_SPARC: "SPARC,", elf.EM_386: "Intel 80386,",
	elf.EM_68K: "Motorola m68k,", elf.EM_88K: "Motorola m88k,", elf.EM_860: "Intel 80860,",
	elf.EM_PARISC: "PA-RISC,", elf.EM_SPARC32PLUS: "SPARC32PLUS,", elf.EM_PPC: "PowerPC or cisco 4500,",
	elf.EM_PPC64: "64-bit PowerPC or cisco 7500,", elf.EM_S390: "IBM S/390,", elf.EM_ARM: "ARM,",
	elf.EM_SH: "Renesas SH,", elf.EM_SPARCV9: "SPARC V9,", elf.EM_IA_64: "IA-64,", elf.EM_X86_64: "x86-64,",
	elf.EM_AARCH64: "ARM aarch64,", elf.EM_RISCV: "UCB RISC-V,", elf.EM_LOONGARCH: "LoongArch,",
	elf.EM_ALPHA: "Alpha (unofficial),", elf.EM_MIPS: "MIPS,", elf.EM_MIPS_RS3_LE: "MIPS (deprecated),",
}

var fileOSABI = map[elf.OSABI]string{
	elf.ELFOSABI_NONE: "(SYSV)", elf.ELFOSABI_HPUX: "(HP-UX)", elf.ELFOSABI_NETBSD: "(NetBSD)",
	elf.ELFOSABI_LINUX: "(GNU/Linux)", elf.ELFOSABI_SOLARIS: "(Solaris)", elf.ELFOSABI_FREEBSD: "(FreeBSD)",
	elf.ELFOSABI_OPENBSD: "(OpenBSD)", elf.ELFOSABI_ARM: "(ARM)", elf.ELFOSABI_STANDALONE: "(embedded)",
}

// FileDescription is the text file(1) prints after "NAME: " for an ELF
// relocatable object such as an uncompressed module, e.g. "ELF 64-bit LSB
// relocatable, x86-64, version 1 (SYSV), BuildID[sha1]=..., not stripped".
// version is e_ident[EI_VERSION]/e_version as file reads it (1 for every
// valid file).
func FileDescription(f *elfx.File) string {
	var parts []string
	w := func(s string) { parts = append(parts, s) }
	w("ELF")
	switch f.Class {
	case elf.ELFCLASS32:
		w("32-bit")
	case elf.ELFCLASS64:
		w("64-bit")
	}
	if f.Data == elf.ELFDATA2LSB {
		w("LSB")
	} else {
		w("MSB")
	}
	switch f.Type {
	case elf.ET_NONE:
		w("no file type,")
	case elf.ET_REL:
		w("relocatable,")
	case elf.ET_EXEC:
		w("executable,")
	case elf.ET_DYN:
		w("shared object,")
	case elf.ET_CORE:
		w("core file,")
	default:
		w(fmt.Sprintf("processor-specific,"))
	}
	if m, ok := fileMachines[f.Machine]; ok {
		w(m)
	} else {
		w(fmt.Sprintf("*unknown arch %#x*", uint16(f.Machine)))
	}
	fl := f.Flags
	switch f.Machine {
	case elf.EM_ARM:
		if v := fl & 0xff000000; v >= 0x01000000 && v <= 0x05000000 {
			w(fmt.Sprintf("EABI%d", v>>24))
		}
	case elf.EM_PPC64:
		switch fl & 3 {
		case 0:
			w("Unspecified or Power ELF V1 ABI,")
		case 1:
			w("Power ELF V1 ABI,")
		case 2:
			w("OpenPOWER ELF V2 ABI,")
		}
	case elf.EM_MIPS:
		if f.Class == elf.ELFCLASS32 && fl&0x20 != 0 {
			w("N32")
		}
		w([]string{"MIPS-I", "MIPS-II", "MIPS-III", "MIPS-IV", "MIPS-V", "MIPS32", "MIPS64", "MIPS32 rel2",
			"MIPS64 rel2", "MIPS32 rel6", "MIPS64 rel6", "", "", "", "", ""}[fl>>28])
	case elf.EM_RISCV:
		if fl&1 != 0 {
			w("RVC,")
		}
		if fl&8 != 0 {
			w("RVE,")
		}
		switch fl & 6 {
		case 0:
			w("soft-float ABI,")
		case 2:
			w("single-float ABI,")
		case 4:
			w("double-float ABI,")
		case 6:
			w("quad-float ABI,")
		}
	}
	w("version 1")
	if o, ok := fileOSABI[f.OSABI]; ok {
		w(o)
	}
	s := strings.Join(parts, " ")
	s = strings.Replace(s, "  ", " ", -1)
	stripped := true
	debug := false
	bid := ""
	for i := 1; i < len(f.Sections); i++ {
		sec := &f.Sections[i]
		switch sec.Type {
		case elf.SHT_SYMTAB:
			stripped = false
		case elf.SHT_NOTE:
			if bid == "" {
				if d, err := f.SectionData(sec); err == nil {
					bid = buildIDNote(f, d)
				}
			}
		}
		if sec.Name == ".debug_info" {
			debug = true
		}
	}
	s += bid
	if debug {
		s += ", with debug_info"
	}
	if stripped {
		s += ", stripped"
	} else {
		s += ", not stripped"
	}
	return s
}

// buildIDNote returns ", BuildID[sha1]=..." for the first GNU build-id note
// in d (file's do_bid_note), or "".
func buildIDNote(f *elfx.File, d []byte) string {
	for off := uint64(0); off+12 <= uint64(len(d)); {
		namesz, _ := f.Uint(d, off, 4)
		descsz, _ := f.Uint(d, off+4, 4)
		typ, _ := f.Uint(d, off+8, 4)
		noff := off + 12
		doff := noff + (namesz+3)&^3
		if namesz > uint64(len(d)) || descsz > uint64(len(d)) || doff+descsz > uint64(len(d)) {
			return ""
		}
		name := d[noff : noff+namesz]
		if namesz == 4 && bytes.Equal(name, []byte("GNU\x00")) && typ == 3 && descsz >= 4 && descsz <= 20 {
			kind := "unknown"
			switch descsz {
			case 8:
				kind = "xxHash"
			case 16:
				kind = "md5/uuid"
			case 20:
				kind = "sha1"
			}
			return fmt.Sprintf(", BuildID[%s]=%x", kind, d[doff:doff+descsz])
		}
		off = doff + (descsz+3)&^3
	}
	return ""
}
