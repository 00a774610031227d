package disasm

import (
	"debug/elf"
	"encoding/binary"

	"golang.org/x/arch/loong64/loong64asm"
)

// loong64Arch decodes LoongArch64 with loong64asm.
type loong64Arch struct{}

func init() {
	registerArch(elf.EM_LOONGARCH, func(elf.Class, binary.ByteOrder, uint32) Arch { return loong64Arch{} })
}

func (loong64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 4 {
		return unknownBytes(code)
	}
	inst, err := loong64asm.Decode(code[:4])
	if err != nil {
		return unknownWord(code, 4, binary.LittleEndian, ".word")
	}
	mn, ops := splitAsm(loong64asm.GNUSyntax(inst))
	_ = sym
	return Inst{Len: 4, Mnemonic: mn, Operands: ops, Known: true}
}
