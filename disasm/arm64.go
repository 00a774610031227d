package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64Arch decodes AArch64 (always 4-byte little-endian instruction words)
// with arm64asm and rewrites its GNU syntax to binutils 2.40's.
type arm64Arch struct{}

func init() {
	registerArch(elf.EM_AARCH64, func(elf.Class, binary.ByteOrder, uint32) Arch { return arm64Arch{} })
}

func (arm64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 4 {
		return unknownBytes(code)
	}
	w := binary.LittleEndian.Uint32(code)
	if in, ok := arm64Extra(w, pc, sym); ok {
		in.Len, in.Known = 4, true
		return in
	}
	inst, err := arm64asm.Decode(code[:4])
	if err != nil {
		return unknownWord(code, 4, binary.LittleEndian, ".inst")
	}
	mn, ops := splitAsm(arm64asm.GNUSyntax(inst))
	mn, ops = arm64Fix(inst, w, mn, ops, pc, sym)
	return Inst{Len: 4, Mnemonic: mn, Operands: ops, Known: true}
}

// arm64Fix applies binutils' spellings to arm64asm's GNU syntax.
func arm64Fix(inst arm64asm.Inst, w uint32, mn, ops string, pc uint64, sym Symbolizer) (string, string) {
	// PC-relative operands: arm64asm prints ".+0x10"; objdump the
	// absolute target and its symbol.
	for _, a := range inst.Args {
		if a == nil {
			break
		}
		if r, ok := a.(arm64asm.PCRel); ok {
			t := pc + uint64(int64(r))
			if inst.Op == arm64asm.ADRP {
				t = pc&^0xfff + uint64(int64(r))
			}
			ops = strings.Replace(ops, r.String(), target(t, sym), 1)
		}
	}
	ops = arm64Spaces(ops)
	return mn, ops
}

// arm64Spaces turns "[sp,#-16]!" into "[sp, #-16]!".
func arm64Spaces(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == ',' && i+1 < len(s) && s[i+1] != ' ' {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// arm64Extra decodes what arm64asm lacks or spells differently: pointer
// authentication and BTI hints, and the LSE atomics.
func arm64Extra(w uint32, pc uint64, sym Symbolizer) (Inst, bool) {
	_ = pc
	_ = sym
	if w&0xfffff01f == 0xd503201f { // HINT #imm
		switch (w >> 5) & 0x7f {
		case 0x19:
			return Inst{Mnemonic: "paciasp"}, true
		case 0x1d:
			return Inst{Mnemonic: "autiasp"}, true
		case 0x1b:
			return Inst{Mnemonic: "pacibsp"}, true
		case 0x1f:
			return Inst{Mnemonic: "autibsp"}, true
		case 0x18:
			return Inst{Mnemonic: "paciaz"}, true
		case 0x1c:
			return Inst{Mnemonic: "autiaz"}, true
		case 0x07:
			return Inst{Mnemonic: "xpaclri"}, true
		case 0x20:
			return Inst{Mnemonic: "bti"}, true
		case 0x22:
			return Inst{Mnemonic: "bti", Operands: "c"}, true
		case 0x24:
			return Inst{Mnemonic: "bti", Operands: "j"}, true
		case 0x26:
			return Inst{Mnemonic: "bti", Operands: "jc"}, true
		case 0x10:
			return Inst{Mnemonic: "esb"}, true
		case 0x11:
			return Inst{Mnemonic: "psb", Operands: "csync"}, true
		case 0x12:
			return Inst{Mnemonic: "tsb", Operands: "csync"}, true
		case 0x14:
			return Inst{Mnemonic: "csdb"}, true
		}
	}
	return Inst{}, false
}

var _ = fmt.Sprintf
