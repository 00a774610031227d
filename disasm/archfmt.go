package disasm

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// Helpers shared by the non-x86 decoders (arm64.go, arm.go, ppc64.go,
// s390x.go, riscv64.go, loong64.go).

// splitAsm splits "mnemonic operands" text as a GNUSyntax formatter
// returns it into objdump's two columns.
func splitAsm(s string) (mn, ops string) {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, " \t"); i >= 0 {
		return s[:i], strings.TrimSpace(s[i+1:])
	}
	return s, ""
}

// unknownWord returns the undecodable unit of n bytes (2 or 4) the way
// objdump prints it for data or unknown encodings: mnemonic mn
// (".inst", ".word", ".short", ".long") and the value in hex.
func unknownWord(code []byte, n int, order binary.ByteOrder, mn string) Inst {
	if len(code) < n {
		return unknownBytes(code)
	}
	var v uint64
	switch n {
	case 2:
		v = uint64(order.Uint16(code))
	case 4:
		v = uint64(order.Uint32(code))
	default:
		return unknownBytes(code[:1])
	}
	return Inst{Len: n, Mnemonic: mn, Operands: fmt.Sprintf("0x%0*x", n*2, v)}
}

// unknownBytes returns the trailing bytes that make up no whole
// instruction unit (always at least one byte is consumed).
func unknownBytes(code []byte) Inst {
	if len(code) == 0 {
		return Inst{Len: 1, Mnemonic: ".byte", Operands: "0x00"}
	}
	parts := make([]string, len(code))
	for i, b := range code {
		parts[i] = fmt.Sprintf("0x%02x", b)
	}
	return Inst{Len: len(code), Mnemonic: ".byte", Operands: strings.Join(parts, ", ")}
}

// target formats a branch target as objdump does: the address in hex
// without 0x, then " <sym+0x..>" when the Symbolizer names it.
func target(addr uint64, sym Symbolizer) string {
	s := fmt.Sprintf("%x", addr)
	if sym != nil {
		if n := sym(addr); n != "" {
			s += " " + n
		}
	}
	return s
}

// RelocDecoder is implemented by the ARM and AArch64 decoders. binutils'
// disassemblers for those two (INSN_HAS_RELOC) decode an instruction that
// a relocation patches at its address (r_offset equal to the instruction's
// address) as if it sat at address 0, and objdump then prints a
// pc-relative target plus the value of the relocation's symbol:
// "bl 0 <memset>" for an undefined symbol, "bl 1200 <foo>" for a local
// function at 0x1200. The engine calls DecodeReloc instead of Decode for
// such instructions, with the symbol's st_value (0 when undefined), and a
// Symbolizer that names the resulting address by the relocation's symbol
// when that is undefined ("<memset>", "<memset+0x8>") and otherwise by the
// symbol of the section being disassembled that covers the address.
type RelocDecoder interface {
	DecodeReloc(code []byte, symValue uint64, sym Symbolizer) Inst
}
