package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/ppc64/ppc64asm"
)

// ppc64Arch decodes 64-bit Power (ppc64el and big-endian ppc64) with
// ppc64asm and rewrites its GNU syntax to binutils 2.40's.
type ppc64Arch struct{ order binary.ByteOrder }

func init() {
	registerArch(elf.EM_PPC64, func(_ elf.Class, order binary.ByteOrder, _ uint32) Arch {
		if order == nil {
			order = binary.LittleEndian
		}
		return ppc64Arch{order}
	})
}

func (a ppc64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 4 {
		return unknownBytes(code)
	}
	inst, err := ppc64asm.Decode(code, a.order)
	if err != nil || inst.Op == 0 || inst.Len < 4 {
		return unknownWord(code, 4, a.order, ".long")
	}
	mn, ops := splitAsm(ppc64asm.GNUSyntax(inst, pc))
	for _, arg := range inst.Args {
		if arg == nil {
			break
		}
		switch r := arg.(type) {
		case ppc64asm.PCRel:
			old := fmt.Sprintf("%#x", pc+uint64(int64(r)))
			if r == 0 {
				old = ".+0x0"
			}
			ops = strings.Replace(ops, old, target(pc+uint64(int64(r)), sym), 1)
		case ppc64asm.Label:
			ops = strings.Replace(ops, fmt.Sprintf("%#x", uint32(r)), target(uint64(uint32(r)), sym), 1)
		}
	}
	return Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}
}
