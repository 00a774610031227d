package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/s390x/s390xasm"
)

// s390xArch decodes z/Architecture with s390xasm and rewrites its GNU
// syntax to binutils 2.40's.
type s390xArch struct{}

func init() {
	registerArch(elf.EM_S390, func(elf.Class, binary.ByteOrder, uint32) Arch { return s390xArch{} })
}

// s390xLen is the instruction length given by the two top bits of the
// first byte: 00 -> 2, 01/10 -> 4, 11 -> 6.
func s390xLen(b byte) int {
	switch b >> 6 {
	case 0:
		return 2
	case 3:
		return 6
	}
	return 4
}

func (s390xArch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	n := s390xLen(code[0])
	if len(code) < n {
		return unknownBytes(code)
	}
	inst, err := s390xasm.Decode(code[:n])
	if err != nil || inst.Op == 0 || inst.Len != n {
		return s390xUnknown(code[:n])
	}
	mn, ops := splitAsm(s390xasm.GNUSyntax(inst, pc))
	for _, arg := range inst.Args {
		if arg == nil {
			break
		}
		var t uint64
		switch r := arg.(type) {
		case s390xasm.RegIm12, s390xasm.RegIm16, s390xasm.RegIm24, s390xasm.RegIm32:
			s := r.String(pc)
			t, _ = parseHex(s)
			ops = strings.Replace(ops, s, target(t, sym), 1)
		}
	}
	return Inst{Len: n, Mnemonic: mn, Operands: ops, Known: true}
}

// s390xUnknown prints an unknown instruction as objdump does: ".long"
// for four bytes, ".short" for two, ".long" plus ".short" for six.
func s390xUnknown(code []byte) Inst {
	n := len(code)
	switch n {
	case 2:
		return Inst{Len: 2, Mnemonic: ".short", Operands: fmt.Sprintf("0x%04x", binary.BigEndian.Uint16(code))}
	case 4:
		return Inst{Len: 4, Mnemonic: ".long", Operands: fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(code))}
	}
	return Inst{Len: n, Mnemonic: ".long", Operands: fmt.Sprintf("0x%08x", binary.BigEndian.Uint32(code))}
}

func parseHex(s string) (uint64, bool) {
	var v uint64
	_, err := fmt.Sscanf(s, "0x%x", &v)
	return v, err == nil
}
