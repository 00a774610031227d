package kotest

import (
	"debug/elf"
	"encoding/binary"
)

// SymbolZoo returns a relocatable object holding one symbol of every kind
// nm and readelf tell apart: every binding (local, global, weak, GNU unique,
// an unknown one) and type (notype, object, func, section, file, common,
// TLS, ifunc), undefined, weak undefined (plain and object), common and
// absolute symbols, symbols in sections of every flag combination
// (code, read-only and writable data, NOBITS, non-allocated read-only,
// writable and debugging sections, notes, an MSVC-named section, a
// section with sh_addr set), symbols in the symbol table itself and beyond
// the section count, empty, duplicate, non-ASCII and local-label names,
// and ARM/AArch64/RISC-V mapping symbols. On EM_ARM it adds Thumb
// functions (value bit 0 set, and STT_ARM_TFUNC). Every symbol is the
// target of one relocation, so readelf -r shows them all too.
func SymbolZoo(class elf.Class, order binary.ByteOrder, machine elf.Machine) []byte {
	b := New(class, order, machine)
	sec := func(name string, typ elf.SectionType, flags elf.SectionFlag, size int) int {
		s := Section{Name: name, Type: typ, Flags: flags, Addralign: 8}
		if typ == elf.SHT_NOBITS {
			s.Size = uint64(size)
		} else {
			s.Data = make([]byte, size)
		}
		return b.AddSection(s)
	}
	text := sec(".text", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_EXECINSTR, 256)
	rodata := sec(".rodata", elf.SHT_PROGBITS, elf.SHF_ALLOC, 64)
	data := sec(".data", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 64)
	bss := sec(".bss", elf.SHT_NOBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 64)
	modinfo := sec(".modinfo", elf.SHT_PROGBITS, elf.SHF_ALLOC, 16)
	comment := sec(".comment", elf.SHT_PROGBITS, elf.SHF_MERGE|elf.SHF_STRINGS, 16)
	debug := sec(".debug_info", elf.SHT_PROGBITS, 0, 16)
	stack := sec(".note.GNU-stack", elf.SHT_PROGBITS, 0, 0)
	roAfter := sec(".data..ro_after_init", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 16)
	weird := sec(".weird", elf.SHT_PROGBITS, elf.SHF_WRITE, 16)
	initText := sec(".init.text", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_EXECINSTR, 32)
	note := sec(".note.Linux", elf.SHT_NOTE, elf.SHF_ALLOC, 24)
	tbss := sec(".tbss", elf.SHT_NOBITS, elf.SHF_ALLOC|elf.SHF_WRITE|elf.SHF_TLS, 16)
	this := sec(".gnu.linkonce.this_module", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 64)
	idata := sec(".idata$2", elf.SHT_PROGBITS, elf.SHF_ALLOC, 16)
	junk := sec(".junk", elf.SHT_NOBITS, 0, 16)
	ksym := sec("__ksymtab", elf.SHT_PROGBITS, elf.SHF_ALLOC, 24)
	line := sec(".stab", elf.SHT_PROGBITS, 0, 12)
	addr := sec(".data.addr", elf.SHT_PROGBITS, elf.SHF_ALLOC|elf.SHF_WRITE, 16)
	b.Section(addr).Addr = 0x1000
	symtabIdx := addr + 2 // .symtab comes after the relocation section added below

	local := func(name string, typ elf.SymType, s int, v, size uint64) int {
		return b.AddSymbol(Symbol{Name: name, Value: v, Size: size, Bind: elf.STB_LOCAL, Type: typ, Section: s})
	}
	local("zoo.c", elf.STT_FILE, int(elf.SHN_ABS), 0, 0)
	for _, s := range []int{text, rodata, data, bss, modinfo, comment, debug, stack, roAfter, weird, initText, note, tbss, this, idata, junk, ksym, line, addr} {
		local("", elf.STT_SECTION, s, 0, 0)
	}
	local("local_func", elf.STT_FUNC, text, 0x10, 0x20)
	local("local_obj", elf.STT_OBJECT, bss, 8, 8)
	local("ro_obj", elf.STT_OBJECT, rodata, 4, 4)
	local("__UNIQUE_ID_license1", elf.STT_OBJECT, modinfo, 0, 12)
	local("in_comment", elf.STT_NOTYPE, comment, 1, 0)
	local("in_debug", elf.STT_NOTYPE, debug, 2, 0)
	local("in_stack", elf.STT_NOTYPE, stack, 0, 0)
	local("ro_after", elf.STT_OBJECT, roAfter, 0, 8)
	local("in_weird", elf.STT_NOTYPE, weird, 3, 0)
	local("init_local", elf.STT_FUNC, initText, 0, 16)
	local("_note_7", elf.STT_OBJECT, note, 0, 24)
	local("tls_var", elf.STT_TLS, tbss, 4, 4)
	local("in_junk", elf.STT_NOTYPE, junk, 0, 0)
	local("__ksymtab_zoo", elf.STT_NOTYPE, ksym, 0, 0)
	local("in_stab", elf.STT_NOTYPE, line, 0, 0)
	local("at_addr", elf.STT_OBJECT, addr, 8, 8)
	local("", elf.STT_NOTYPE, text, 0x30, 0)
	local(".Llabel", elf.STT_NOTYPE, text, 0x40, 0)
	local("..dots", elf.STT_NOTYPE, text, 0x44, 0)
	local("_.L_under", elf.STT_NOTYPE, text, 0x48, 0)
	local("$Lmips", elf.STT_NOTYPE, text, 0x4c, 0)
	local("L1\x01fake", elf.STT_NOTYPE, text, 0x4e, 0)
	local("L12", elf.STT_NOTYPE, text, 0x4f, 0)
	local("$x", elf.STT_NOTYPE, text, 0, 0)
	local("$d", elf.STT_NOTYPE, rodata, 0, 0)
	local("$a.1", elf.STT_NOTYPE, text, 0, 0)
	local("$t", elf.STT_NOTYPE, text, 0, 0)
	local("$xrv64i2p1", elf.STT_NOTYPE, text, 0, 0)
	local("dup", elf.STT_NOTYPE, data, 0x20, 0)
	local("dup", elf.STT_NOTYPE, data, 0x08, 0)
	local("caf\xc3\xa9", elf.STT_OBJECT, data, 0x10, 4)
	local("Zeta", elf.STT_OBJECT, data, 0x10, 4)
	local("_under", elf.STT_OBJECT, data, 0x10, 4)
	local("abs_local", elf.STT_NOTYPE, int(elf.SHN_ABS), 0x1234, 0)
	local("in_symtab", elf.STT_NOTYPE, symtabIdx, 0, 0)
	local("beyond", elf.STT_NOTYPE, 0xfe00, 0x40, 0)
	if machine == elf.EM_ARM {
		local("thumb_local", elf.STT_FUNC, text, 0x51, 8)
		local("arm_tfunc", elf.STT_NOTYPE|13, text, 0x61, 8)
	}

	global := func(name string, bind elf.SymBind, typ elf.SymType, s int, v, size uint64) int {
		return b.AddSymbol(Symbol{Name: name, Value: v, Size: size, Bind: bind, Type: typ, Section: s})
	}
	global("init_module", elf.STB_GLOBAL, elf.STT_FUNC, initText, 0, 16)
	global("global_func", elf.STB_GLOBAL, elf.STT_FUNC, text, 0x80, 0x40)
	global("weak_func", elf.STB_WEAK, elf.STT_FUNC, text, 0xc0, 0x10)
	global("weak_obj", elf.STB_WEAK, elf.STT_OBJECT, data, 0x28, 8)
	global("global_ro", elf.STB_GLOBAL, elf.STT_OBJECT, rodata, 0x10, 0x10)
	global("global_bss", elf.STB_GLOBAL, elf.STT_OBJECT, bss, 0x10, 0x10)
	global("__this_module", elf.STB_GLOBAL, elf.STT_OBJECT, this, 0, 64)
	global("printk", elf.STB_GLOBAL, elf.STT_NOTYPE, int(elf.SHN_UNDEF), 0, 0)
	global("weak_undef", elf.STB_WEAK, elf.STT_NOTYPE, int(elf.SHN_UNDEF), 0, 0)
	global("weak_undef_obj", elf.STB_WEAK, elf.STT_OBJECT, int(elf.SHN_UNDEF), 0, 0)
	global("common_obj", elf.STB_GLOBAL, elf.STT_OBJECT, int(elf.SHN_COMMON), 8, 24)
	global("abs_global", elf.STB_GLOBAL, elf.STT_NOTYPE, int(elf.SHN_ABS), 0xdead, 0)
	global("ifunc_sym", elf.STB_GLOBAL, elf.STT_GNU_IFUNC, text, 0xd0, 8)
	global("unique_obj", elf.SymBind(10), elf.STT_OBJECT, data, 0x30, 8)
	global("odd_bind", elf.SymBind(12), elf.STT_OBJECT, data, 0x38, 8)
	global("global_ro_after", elf.STB_GLOBAL, elf.STT_OBJECT, roAfter, 8, 8)
	global("global_idata", elf.STB_GLOBAL, elf.STT_NOTYPE, idata, 0, 0)
	global("global_at_addr", elf.STB_GLOBAL, elf.STT_OBJECT, addr, 0, 8)
	global("global_in_comment", elf.STB_GLOBAL, elf.STT_NOTYPE, comment, 4, 0)
	if machine == elf.EM_ARM {
		global("thumb_global", elf.STB_GLOBAL, elf.STT_FUNC, text, 0x71, 8)
	}

	var rs []Rela
	for i := 1; i <= len(b.symbols); i++ {
		rs = append(rs, Rela{Offset: uint64(i), Sym: uint32(i), Type: 1, Addend: int64(i%3) - 1})
	}
	rs = append(rs, Rela{Offset: 0x99, Sym: 0, Type: 0, Addend: -8})
	if class == elf.ELFCLASS32 && machine != elf.EM_RISCV {
		b.AddRel(text, rs)
	} else {
		b.AddRela(text, rs)
	}
	return b.Bytes()
}
