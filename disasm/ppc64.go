package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/arch/ppc64/ppc64asm"
)

// ppc64Arch decodes 64-bit Power (ppc64el and big-endian ppc64) with
// ppc64asm and rewrites its GNU syntax to binutils 2.40's: the extended
// mnemonics objdump prefers (mr, not, rotate-and-mask shifts, trap
// conditions, mtamr), "0" for a zero RA in indexed forms, absolute branch
// targets.
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
	w := a.order.Uint32(code)
	if w == 0x00000200 {
		return Inst{Len: 4, Mnemonic: "attn", Known: true}
	}
	inst, err := ppc64asm.Decode(code, a.order)
	if err != nil || inst.Op == 0 || inst.Len < 4 || ppcReservedSet(w) {
		return Inst{Len: 4, Mnemonic: ".long", Operands: fmt.Sprintf("%#x", w)}
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
			ops = strings.Replace(ops, old, archTarget(pc+uint64(int64(r)), sym), 1)
		case ppc64asm.Label:
			ops = strings.Replace(ops, fmt.Sprintf("%#x", uint32(r)), archTarget(uint64(uint32(r)), sym), 1)
		}
	}
	mn, ops = ppcExtended(mn, ops)
	return Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}
}

// ppcReservedSet reports a floating-point instruction whose unused FRA (and,
// for A-forms, FRC) field is non-zero: objdump rejects it (".long"),
// ppc64asm decodes it.
func ppcReservedSet(w uint32) bool {
	op := w >> 26
	if op != 63 && op != 59 {
		return false
	}
	ra, rc := w>>16&31, w>>6&31
	switch w >> 1 & 31 { // A-form XO
	case 22, 24, 26: // fsqrt, fre, frsqrte: FRA and FRC unused
		return ra != 0 || rc != 0
	}
	switch w >> 1 & 1023 { // X-form XO, FRA unused
	case 12, 14, 15, 40, 72, 136, 264, 814, 815, 846, 942, 943, 974, 142, 143, 392, 424, 456, 488:
		return ra != 0
	}
	return false
}

// ppcTrapTO names the TO field values objdump folds into tw/td.
var ppcTrapTO = map[int]string{16: "lt", 20: "le", 4: "eq", 12: "ge", 8: "gt", 24: "ne",
	2: "llt", 6: "lle", 5: "lge", 1: "lgt", 31: "u"}

// ppcZeroRA lists the indexed forms in which objdump prints a zero RA
// as "0" and ppc64asm as "r0".
var ppcZeroRA = map[string]bool{
	"stdcx.": true, "stwcx.": true, "sthcx.": true, "stbcx.": true,
	"ldarx": true, "lwarx": true, "lharx": true, "lbarx": true,
	"ldbrx": true, "stdbrx": true, "lwbrx": true, "stwbrx": true, "lhbrx": true, "sthbrx": true,
	"lvx": true, "stvx": true, "lvxl": true, "stvxl": true, "lvsl": true, "lvsr": true,
	"lxvd2x": true, "stxvd2x": true, "lxvw4x": true, "stxvw4x": true, "lxvb16x": true, "stxvb16x": true,
	"lxvx": true, "stxvx": true, "lxsdx": true, "stxsdx": true,
	"dcbz": true, "dcbf": true, "dcbst": true, "icbi": true, "dcbi": true, "dcbt": true, "dcbtst": true,
}

func ppcExtended(mn, ops string) (string, string) {
	f := strings.Split(ops, ",")
	num := func(i int) int {
		if i >= len(f) {
			return -1
		}
		n, err := strconv.Atoi(f[i])
		if err != nil {
			return -1
		}
		return n
	}
	dot := ""
	base := mn
	if strings.HasSuffix(mn, ".") && mn != "stdcx." && mn != "stwcx." {
		base, dot = mn[:len(mn)-1], "."
	}
	j := func(args ...string) string { return strings.Join(args, ",") }
	switch base {
	case "or":
		if len(f) == 3 && f[1] == f[2] {
			return "mr" + dot, j(f[0], f[1])
		}
	case "nor":
		if len(f) == 3 && f[1] == f[2] {
			return "not" + dot, j(f[0], f[1])
		}
	case "rlwinm":
		sh, mb, me := num(2), num(3), num(4)
		switch {
		case mb == 0 && me == 31:
			return "rotlwi" + dot, j(f[0], f[1], f[2])
		case sh == 0 && me == 31:
			return "clrlwi" + dot, j(f[0], f[1], f[3])
		case mb == 0 && sh > 0 && me == 31-sh:
			return "slwi" + dot, j(f[0], f[1], f[2])
		case me == 31 && mb > 0 && sh == 32-mb:
			return "srwi" + dot, j(f[0], f[1], f[3])
		case sh == 0 && mb == 0:
			return "clrrwi" + dot, j(f[0], f[1], strconv.Itoa(31-me))
		}
	case "rlwnm":
		if num(3) == 0 && num(4) == 31 {
			return "rotlw" + dot, j(f[0], f[1], f[2])
		}
	case "rldicl":
		sh, mb := num(2), num(3)
		switch {
		case mb == 0:
			return "rotldi" + dot, j(f[0], f[1], f[2])
		case sh == 0:
			return "clrldi" + dot, j(f[0], f[1], f[3])
		case sh == 64-mb:
			return "srdi" + dot, j(f[0], f[1], f[3])
		}
	case "rldicr":
		sh, me := num(2), num(3)
		switch {
		case sh == 0 && me >= 0:
			return "clrrdi" + dot, j(f[0], f[1], strconv.Itoa(63-me))
		case me == 63-sh:
			return "sldi" + dot, j(f[0], f[1], f[2])
		}
	case "twi", "tdi", "tw", "td":
		if to, ok := ppcTrapTO[num(0)]; ok && len(f) == 3 {
			sfx := ""
			if base == "twi" || base == "tdi" {
				sfx = "i"
			}
			return base[:2] + to + sfx, j(f[1], f[2])
		}
	case "mtspr":
		if len(f) == 2 && f[0] == "29" {
			return "mtamr", f[1]
		}
	case "mfspr":
		if len(f) == 2 && f[1] == "29" {
			return "mfamr", f[0]
		}
	case "dcbt", "dcbtst":
		// dcbt RA,RB,TH with TH=0: objdump's table matches the server
		// "dcbtct RA,RB" form first.
		if len(f) == 3 && f[2] == "0" {
			if f[0] == "r0" {
				f[0] = "0"
			}
			return base + "ct", j(f[0], f[1])
		}
	case "vor":
		if len(f) == 3 && f[1] == f[2] {
			return "vmr", j(f[0], f[1])
		}
	case "rldcl":
		if num(3) == 0 {
			return "rotld" + dot, j(f[0], f[1], f[2])
		}
	}
	if ppcZeroRA[mn] && len(f) >= 2 {
		i := len(f) - 2
		if f[i] == "r0" {
			f[i] = "0"
		}
		return mn, j(f...)
	}
	return mn, ops
}
