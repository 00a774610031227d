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

// archTarget formats a branch target as objdump does: the address in hex
// without 0x, then " <sym+0x..>" when the Symbolizer names it.
func archTarget(addr uint64, sym Symbolizer) string {
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

// Raw-bytes layout and mnemonic padding as objdump prints them, for the
// engine's optional ByteLayout and TextFormatter interfaces (declared with
// the engine): bytes per line, bytes per chunk, chunks read big-endian.

// ByteLayout: one 4-byte little-endian word ("12001c00").
func (arm64Arch) ByteLayout(*Inst) (int, int, bool) { return 4, 4, false }

// ByteLayout: ARM words ("e3520000"), Thumb halfwords ("b580", "f7ff fffe").
// The mode is the decoder's current one (SetThumb).
func (a *armArch) ByteLayout(in *Inst) (int, int, bool) {
	if a.data && in != nil && in.Len <= 4 { // a $d unit is one chunk, in Thumb code too
		return 4, in.Len, a.order == binary.BigEndian
	}
	if a.thumb {
		return 4, 2, a.order == binary.BigEndian
	}
	return 4, 4, a.order == binary.BigEndian
}

// ByteLayout: single bytes, four per line ("f8 ff 4c e8").
func (ppc64Arch) ByteLayout(*Inst) (int, int, bool) { return 4, 1, false }

// InstText pads the mnemonic to seven columns and a space, as ppc-dis.c
// does ("ld      r2,-8(r12)").
func (ppc64Arch) InstText(mn, ops string) string {
	if ops == "" {
		return mn
	}
	if len(mn) >= 7 {
		return mn + " " + ops
	}
	return mn + "        "[:8-len(mn)] + ops
}

// ByteLayout: single bytes, six per line ("ec 48 00 13 00 7c").
func (s390xArch) ByteLayout(*Inst) (int, int, bool) { return 6, 1, false }

// ByteLayout: the instruction as one 2- or 4-byte number, eight bytes per
// line ("1141                ", "00000697          ").
func (*riscv64Arch) ByteLayout(in *Inst) (int, int, bool) {
	if in != nil && in.Len == 4 {
		return 8, 4, false
	}
	return 8, 2, false
}

// ByteLayout: one 4-byte little-endian word, as on AArch64 (not checked
// against objdump: binutils 2.40 multiarch has no LoongArch).
func (loong64Arch) ByteLayout(*Inst) (int, int, bool) { return 4, 4, false }

// decodeCache memoizes a decoder's pc-independent work per encoding (key:
// the instruction bits and length); kernel code repeats encodings so much
// that this halves or better the time of the slower x/arch decoders. It is
// bounded: it starts over after 1<<16 entries.
type decodeCache[T any] struct{ m map[uint64]T }

func (c *decodeCache[T]) get(k uint64) (T, bool) {
	v, ok := c.m[k]
	return v, ok
}

func (c *decodeCache[T]) put(k uint64, v T) {
	if c.m == nil || len(c.m) >= 1<<16 {
		c.m = make(map[uint64]T, 1024)
	}
	c.m[k] = v
}
