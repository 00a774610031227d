package kotest

import (
	"debug/elf"
	"encoding/binary"
)

// Modinfo returns .modinfo contents: each pair ("key=value") followed by a
// NUL, in order. Pairs are written as given, so "novalue" or embedded NULs
// make malformed entries.
func Modinfo(pairs ...string) []byte {
	var b []byte
	for _, p := range pairs {
		b = append(b, p...)
		b = append(b, 0)
	}
	return b
}

// Version is one modversions entry.
type Version struct {
	CRC  uint64
	Name string
}

// VersionEntrySize is sizeof(struct modversion_info) on both classes.
const VersionEntrySize = 64

// Versions returns __versions contents: one struct modversion_info
// { unsigned long crc; char name[64 - sizeof(unsigned long)]; } per entry,
// 64 bytes each. crc is 8 bytes on ELF64 and 4 on ELF32 (truncated), in
// order. A name that does not fit is truncated without a terminating NUL,
// which gives a malformed entry.
func Versions(class elf.Class, order binary.ByteOrder, entries ...Version) []byte {
	crcSize := 4
	if class == elf.ELFCLASS64 {
		crcSize = 8
	}
	b := make([]byte, 0, VersionEntrySize*len(entries))
	for _, e := range entries {
		var ent [VersionEntrySize]byte
		if crcSize == 8 {
			order.PutUint64(ent[:], e.CRC)
		} else {
			order.PutUint32(ent[:], uint32(e.CRC))
		}
		copy(ent[crcSize:], e.Name)
		b = append(b, ent[:]...)
	}
	return b
}

// ExtVersions returns the contents of the extended modversions sections
// (kernel 6.14+): __version_ext_crcs, a u32 CRC per entry in order, and
// __version_ext_names, the names in the same order, each followed by a NUL.
func ExtVersions(order binary.ByteOrder, entries ...Version) (crcs, names []byte) {
	crcs = make([]byte, 0, 4*len(entries))
	for _, e := range entries {
		crcs = appendU32(order, crcs, uint32(e.CRC))
		names = append(names, e.Name...)
		names = append(names, 0)
	}
	return crcs, names
}

// Key identifier types of struct module_signature.id_type.
const (
	IDPGP   = 0 // PKEY_ID_PGP
	IDX509  = 1 // PKEY_ID_X509
	IDPKCS7 = 2 // PKEY_ID_PKCS7, the only one kernels since 4.x accept
)

// SignatureMagic is MODULE_SIG_STRING, the last bytes of a signed module.
const SignatureMagic = "~Module signature appended~\n"

// SignatureInfoSize is sizeof(struct module_signature).
const SignatureInfoSize = 12

// AppendSignature returns content followed by sig, a 12-byte struct
// module_signature { u8 algo, hash, id_type, signer_len, key_id_len;
// u8 pad[3]; __be32 sig_len } with id_type = idType, sig_len = len(sig) and
// every other field 0 (as sign-file writes for PKCS#7), and SignatureMagic.
// content is not modified.
func AppendSignature(content, sig []byte, idType uint8) []byte {
	out := make([]byte, 0, len(content)+len(sig)+SignatureInfoSize+len(SignatureMagic))
	out = append(out, content...)
	out = append(out, sig...)
	out = append(out, 0, 0, idType, 0, 0, 0, 0, 0)
	out = binary.BigEndian.AppendUint32(out, uint32(len(sig)))
	return append(out, SignatureMagic...)
}

// AbsReloc returns the relocation type a module uses for a pointer-sized
// absolute address (for example init in struct module), and whether the
// architecture's modules use SHT_RELA (true) or SHT_REL. ok is false for
// machines this package does not know; then typ is 0 and rela is true.
func AbsReloc(class elf.Class, machine elf.Machine) (typ uint32, rela, ok bool) {
	is64 := class == elf.ELFCLASS64
	pick := func(t64, t32 uint32) uint32 {
		if is64 {
			return t64
		}
		return t32
	}
	switch machine {
	case elf.EM_X86_64:
		return pick(uint32(elf.R_X86_64_64), uint32(elf.R_X86_64_32)), true, true
	case elf.EM_386:
		return uint32(elf.R_386_32), false, true
	case elf.EM_AARCH64:
		return pick(uint32(elf.R_AARCH64_ABS64), uint32(elf.R_AARCH64_P32_ABS32)), true, true
	case elf.EM_ARM:
		return uint32(elf.R_ARM_ABS32), false, true
	case elf.EM_PPC64:
		return uint32(elf.R_PPC64_ADDR64), true, true
	case elf.EM_PPC:
		return uint32(elf.R_PPC_ADDR32), true, true
	case elf.EM_S390:
		return pick(uint32(elf.R_390_64), uint32(elf.R_390_32)), true, true
	case elf.EM_MIPS:
		return pick(uint32(elf.R_MIPS_64), uint32(elf.R_MIPS_32)), is64, true
	case elf.EM_RISCV:
		return pick(uint32(elf.R_RISCV_64), uint32(elf.R_RISCV_32)), true, true
	case elf.EM_LOONGARCH:
		return pick(uint32(elf.R_LARCH_64), uint32(elf.R_LARCH_32)), true, true
	}
	return 0, true, false
}

// Layout of struct module in .gnu.linkonce.this_module, as in Debian's
// 6.1 x86-64 (ELF64) and i386 (ELF32) builds.
const (
	ThisModuleSize64    = 0x380
	ThisModuleNameOff64 = 24 // after list_head (16) and enum module_state (4) + padding
	ThisModuleInitOff64 = 0x138
	ThisModuleExitOff64 = 0x350

	ThisModuleSize32    = 0x240
	ThisModuleNameOff32 = 12 // after list_head (8) and enum module_state (4)
	ThisModuleInitOff32 = 0xcc
	ThisModuleExitOff32 = 0x20c
)

// MinimalModinfo and MinimalVersions are the contents Minimal writes.
var (
	MinimalModinfo = []string{
		"license=GPL",
		"name=kotest",
		"vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions ",
	}
	MinimalVersions = []Version{
		{CRC: 0x9060323f, Name: "module_layout"},
		{CRC: 0x92997ed8, Name: "_printk"},
	}
)

// ThisModule returns .gnu.linkonce.this_module contents: a zeroed struct
// module of the 6.1 x86-64/i386 size with name at its offset (truncated to
// 55 or 59 bytes so that it stays NUL-terminated).
func ThisModule(class elf.Class, name string) []byte {
	size, off := ThisModuleSize32, ThisModuleNameOff32
	if class == elf.ELFCLASS64 {
		size, off = ThisModuleSize64, ThisModuleNameOff64
	}
	nameLen := 64 - 4
	if class == elf.ELFCLASS64 {
		nameLen = 64 - 8
	}
	b := make([]byte, size)
	copy(b[off:off+nameLen-1], name)
	return b
}

// Minimal returns a builder holding a small but realistic module named
// "kotest", shaped like a Debian 6.1 x86-64 (ELF64) or i386 (ELF32) module:
//
//	[1] .text                             AX, 16 bytes, align 16
//	[2] .modinfo                          A, MinimalModinfo
//	[3] __versions                        A, MinimalVersions, align 32
//	[4] .gnu.linkonce.this_module         WA, ThisModule(class, "kotest"), align 64
//	[5] .rela.gnu.linkonce.this_module    (or .rel... where AbsReloc says REL):
//	                                      init and exit pointers -> init_module, cleanup_module
//	[6] .symtab, [7] .strtab, [8] .shstrtab
//
// Symbols: 1 .text (STT_SECTION, local), 2 __this_module, 3 init_module
// (.text+0), 4 cleanup_module (.text+8), 5 _printk (undefined). More
// sections and symbols can be added before Bytes; the .symtab index then
// moves (see SymtabIndex).
func Minimal(class elf.Class, order binary.ByteOrder, machine elf.Machine) *Builder {
	b := New(class, order, machine)
	text := b.AddSection(Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR,
		Data: make([]byte, 16), Addralign: 16})
	b.AddSection(Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC,
		Data: Modinfo(MinimalModinfo...), Addralign: 1})
	b.AddSection(Section{Name: "__versions", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC,
		Data: Versions(class, order, MinimalVersions...), Addralign: 32})
	this := b.AddSection(Section{Name: ".gnu.linkonce.this_module", Type: elf.SHT_PROGBITS,
		Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: ThisModule(class, "kotest"), Addralign: 64})

	b.AddSymbol(Symbol{Bind: elf.STB_LOCAL, Type: elf.STT_SECTION, Section: text})
	b.AddSymbol(Symbol{Name: "__this_module", Size: uint64(len(b.Section(this).Data)),
		Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT, Section: this})
	initSym := b.AddSymbol(Symbol{Name: "init_module", Size: 8, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC, Section: text})
	exitSym := b.AddSymbol(Symbol{Name: "cleanup_module", Value: 8, Size: 8, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC, Section: text})
	b.AddSymbol(Symbol{Name: "_printk", Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE, Section: int(elf.SHN_UNDEF)})

	initOff, exitOff := uint64(ThisModuleInitOff32), uint64(ThisModuleExitOff32)
	if class == elf.ELFCLASS64 {
		initOff, exitOff = ThisModuleInitOff64, ThisModuleExitOff64
	}
	typ, rela, _ := AbsReloc(class, machine)
	relocs := []Rela{
		{Offset: initOff, Sym: uint32(initSym), Type: typ},
		{Offset: exitOff, Sym: uint32(exitSym), Type: typ},
	}
	if rela {
		b.AddRela(this, relocs)
	} else {
		b.AddRel(this, relocs)
	}
	return b
}
