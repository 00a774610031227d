package disasm

import (
	"debug/elf"
	"encoding/binary"
)

// Symbolizer names an address within the section being disassembled the way
// objdump does after a branch target: it returns "<name+0x10>" (or "<name>"),
// or "" when no symbol covers addr. Decoders append it to branch and call
// operands: "call 9 <foo+0x9>" is written as operands "9 <foo+0x9>".
type Symbolizer func(addr uint64) string

// Inst is one decoded instruction (or one undecodable unit).
type Inst struct {
	Len      int    // bytes consumed, always >= 1
	Mnemonic string // as GNU objdump spells it ("call", "ldr", ".byte" / ".inst" / ".word" when unknown)
	Operands string // GNU objdump's operand text (AT&T for x86), "" when none
	Known    bool   // false when the decoder did not recognise the bytes
}

// Arch decodes one architecture's instructions.
type Arch interface {
	// Decode decodes the instruction at code[0:], which sits at address pc
	// (the offset within its section, as objdump -d shows an ET_REL file).
	// It never fails: bytes it does not know come back with Known=false,
	// Len = the architecture's smallest instruction unit (1 for x86, 2 for
	// RVC/Thumb/s390x, 4 otherwise) or fewer when code is shorter, and
	// Mnemonic ".byte"/".short"/".word"/".inst" as objdump would print them.
	Decode(code []byte, pc uint64, sym Symbolizer) Inst
}

// archFactories maps an ELF machine to its decoder constructor. Each
// architecture's file registers itself in init.
var archFactories = map[elf.Machine]func(class elf.Class, order binary.ByteOrder, flags uint32) Arch{}

func registerArch(m elf.Machine, f func(class elf.Class, order binary.ByteOrder, flags uint32) Arch) {
	archFactories[m] = f
}

// ArchFor returns the decoder for an ELF machine, class, byte order and
// e_flags, or nil when there is none (MIPS, SPARC, m68k...).
func ArchFor(m elf.Machine, class elf.Class, order binary.ByteOrder, flags uint32) Arch {
	f := archFactories[m]
	if f == nil {
		return nil
	}
	return f(class, order, flags)
}

// ByteLayout is implemented by an Arch whose objdump prints the raw bytes
// column differently from the default of 4 bytes per line, one byte per
// chunk: objdump's bytes_per_line (x86: 7) and bytes_per_chunk (AArch64
// and ARM print one 4-byte word, RISC-V 2- or 4-byte words). A chunk is
// printed as one little- or big-endian number per BigEndianChunks.
type ByteLayout interface {
	ByteLayout(in *Inst) (perLine, perChunk int, bigEndianChunks bool)
}

// TextFormatter is implemented by an Arch whose objdump separates mnemonic
// and operands by something other than one tab (x86 pads the mnemonic to
// six columns and a space). The result is the text after the bytes column.
type TextFormatter interface {
	InstText(mnemonic, operands string) string
}
