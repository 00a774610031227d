package modlayout_test

import (
	"debug/elf"
	"encoding/binary"

	"github.com/kmodscope/kmodscope/internal/kotest"
)

// synthetic builds a small x86-64 module with one section of every kind the
// loader treats specially (indices in the comments).
func synthetic() []byte {
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64) // 1 .text 16@16, 2 .modinfo, 3 __versions, 4 this_module @64
	it := b.AddSection(kotest.Section{Name: ".init.text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 0x30), Addralign: 16})
	b.AddSection(kotest.Section{Name: ".rodata", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: make([]byte, 0x100), Addralign: 32})
	ro := b.AddSection(kotest.Section{Name: ".data..ro_after_init", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 0x40), Addralign: 8})
	b.AddSection(kotest.Section{Name: "__jump_table", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 0x20), Addralign: 8})
	pc := b.AddSection(kotest.Section{Name: ".data..percpu", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 0x10), Addralign: 8})
	b.AddSection(kotest.Section{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Size: 0x200, Addralign: 32})
	b.AddSection(kotest.Section{Name: ".init.data", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE, Data: make([]byte, 0x18), Addralign: 8})
	b.AddSection(kotest.Section{Name: ".exit.text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 0x8), Addralign: 16})
	b.AddSection(kotest.Section{Name: ".comment", Type: elf.SHT_PROGBITS, Flags: elf.SHF_MERGE | elf.SHF_STRINGS, Data: []byte("GCC\x00"), Addralign: 1, Entsize: 1})
	b.AddSymbol(kotest.Symbol{Name: "init_fn", Bind: elf.STB_LOCAL, Type: elf.STT_FUNC, Section: it, Size: 0x30})
	b.AddSymbol(kotest.Symbol{Name: "pcpu_var", Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT, Section: pc, Size: 0x10})
	b.AddSymbol(kotest.Symbol{Name: "ro_var", Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT, Section: ro, Size: 0x40})
	return b.Bytes()
}
