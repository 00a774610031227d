package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/riscv64/riscv64asm"
)

// riscv64Arch decodes RV64GC (compressed instructions included) with
// riscv64asm and rewrites its GNU syntax to binutils 2.40's.
type riscv64Arch struct{}

func init() {
	registerArch(elf.EM_RISCV, func(elf.Class, binary.ByteOrder, uint32) Arch { return riscv64Arch{} })
}

func (riscv64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	n := 2
	if code[0]&3 == 3 {
		n = 4
	}
	if len(code) < n {
		return unknownBytes(code)
	}
	inst, err := riscv64asm.Decode(code[:n])
	if err != nil || inst.Len != n {
		return unknownWord(code, n, binary.LittleEndian, ".insn")
	}
	mn, ops := splitAsm(riscv64asm.GNUSyntax(inst))
	_ = strings.Replace
	_ = fmt.Sprint
	_ = sym
	return Inst{Len: n, Mnemonic: mn, Operands: ops, Known: true}
}
