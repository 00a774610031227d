package disasm

import (
	"debug/elf"
	"encoding/binary"

	"golang.org/x/arch/arm/armasm"
)

// armArch decodes 32-bit ARM. It starts in ARM (A32) mode; the engine
// switches it to Thumb (T32) with SetThumb(true) inside $t mapping-symbol
// ranges and functions whose symbol value has the low bit set, and back
// with SetThumb(false) at $a:
//
//	if ts, ok := a.(interface{ SetThumb(bool) }); ok { ts.SetThumb(thumb) }
//
// ThumbArch returns a decoder that starts in Thumb mode.
type armArch struct {
	order binary.ByteOrder
	thumb bool
}

func init() {
	registerArch(elf.EM_ARM, func(_ elf.Class, order binary.ByteOrder, _ uint32) Arch {
		if order == nil {
			order = binary.LittleEndian
		}
		return &armArch{order: order}
	})
}

// SetThumb selects Thumb (true) or ARM (false) decoding.
func (a *armArch) SetThumb(on bool) { a.thumb = on }

// ThumbArch returns a 32-bit ARM decoder in Thumb mode (little-endian).
func ThumbArch() Arch { return &armArch{order: binary.LittleEndian, thumb: true} }

func (a *armArch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if a.thumb {
		return a.decodeThumb(code, pc, sym)
	}
	if len(code) < 4 {
		return unknownBytes(code)
	}
	inst, err := armasm.Decode(code[:4], armasm.ModeARM)
	if err != nil {
		return unknownWord(code, 4, a.order, ".word")
	}
	mn, ops := splitAsm(armasm.GNUSyntax(inst))
	return Inst{Len: 4, Mnemonic: mn, Operands: ops, Known: true}
}

func (a *armArch) decodeThumb(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	h := a.order.Uint16(code)
	if h>>11 >= 0x1d { // 0b11101, 0b11110, 0b11111: 32-bit
		if len(code) < 4 {
			return unknownBytes(code)
		}
		return Inst{Len: 4, Mnemonic: ".word", Operands: ""}
	}
	return Inst{Len: 2, Mnemonic: ".short"}
}
