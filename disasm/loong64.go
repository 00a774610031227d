package disasm

import (
	"debug/elf"
	"encoding/binary"

	"golang.org/x/arch/loong64/loong64asm"
)

// loong64Arch decodes LoongArch64 with loong64asm's GNU syntax. binutils
// 2.40's binutils-multiarch cannot disassemble LoongArch, so this output
// is not compared with objdump here (see docs/disasm-arches.md). Branches
// keep the relative offset in the operands, as LoongArch objdump does, and
// get the absolute target as objdump's trailing comment: "beqz $a0, 28\t#
// 38 <foo+0x38>".
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
	switch inst.Op {
	case loong64asm.B, loong64asm.BL, loong64asm.BEQ, loong64asm.BNE, loong64asm.BLT, loong64asm.BGE,
		loong64asm.BLTU, loong64asm.BGEU, loong64asm.BEQZ, loong64asm.BNEZ, loong64asm.BCEQZ, loong64asm.BCNEZ:
		for i := len(inst.Args) - 1; i >= 0; i-- {
			if o, ok := inst.Args[i].(loong64asm.OffsetSimm); ok {
				ops += "\t# " + archTarget(pc+uint64(int64(o.Imm)), sym)
				break
			}
		}
	}
	return Inst{Len: 4, Mnemonic: mn, Operands: ops, Known: true}
}
