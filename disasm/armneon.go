package disasm

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// ARM-mode Advanced SIMD (NEON) and the VFP register-list instructions
// that golang.org/x/arch/arm/armasm does not decode, spelled as GNU
// objdump 2.40 spells them (arm-dis.c's neon_opcodes and coprocessor
// tables). The classes covered are those Debian's armhf modules use
// (raid6 and xor NEON, the NEON crypto glue): three registers of the same
// length, two registers and a shift, one register and a modified
// immediate, two registers miscellaneous (part), VEXT, VTBL/VTBX, VDUP
// (scalar), element and structure loads/stores, VMOV/VDUP between core
// and NEON registers, and VPUSH/VPOP/VLDM/VSTM. Anything else comes back
// unknown (".word"). The encodings follow the Arm ARM, section A7.

// armNeon decodes word w, or reports false.
func armNeon(w uint32) (Inst, bool) {
	switch {
	case w>>25 == 0x79: // 1111 001x: data processing
		return neonData(w)
	case w>>24 == 0xf4 && w>>20&1 == 0: // 1111 0100 xxx0: element/structure load/store
		return neonLoadStore(w)
	}
	if w>>28 != 15 {
		if in, ok := vfpRegList(w); ok {
			return in, true
		}
		if in, ok := neonCoreTransfer(w); ok {
			return in, true
		}
		if in, ok := vmovCore64(w); ok {
			return in, true
		}
		if in, ok := armCRC32(w); ok {
			return in, true
		}
	}
	return Inst{}, false
}

// neonReg formats a D (q=false) or Q register from its 5-bit number.
func neonReg(n uint32, q bool) string {
	if q {
		return fmt.Sprintf("q%d", n>>1)
	}
	return fmt.Sprintf("d%d", n)
}

// Register numbers: D:Vd, N:Vn, M:Vm.
func neonD(w uint32) uint32 { return w>>18&16 | w>>12&15 }
func neonN(w uint32) uint32 { return w>>3&16 | w>>16&15 }
func neonM(w uint32) uint32 { return w>>1&16 | w&15 }

func neonData(w uint32) (Inst, bool) {
	u := w >> 24 & 1
	switch {
	case w>>23&1 == 0:
		return neon3Same(w)
	case w&0x00b80090 == 0x00800010: // 1 reg + modified immediate: bits 21:19 = 000, bit 7 = 0, bit 4 = 1
		return neonModImm(w)
	case w>>4&1 == 1 && (w>>7&1 == 1 || w>>19&7 != 0):
		return neonShift(w)
	case w>>20&3 != 3 && w>>4&1 == 0 && w>>6&1 == 0:
		return neon3Diff(w)
	case w>>20&3 != 3 && w>>4&1 == 0 && w>>6&1 == 1:
		return neonScalar(w)
	case u == 0 && w>>20&3 == 3 && w>>4&1 == 0: // VEXT
		q := w>>6&1 == 1
		d, n, m := neonD(w), neonN(w), neonM(w)
		imm := w >> 8 & 15
		if q && (d|n|m)&1 == 1 || !q && imm > 7 {
			return Inst{}, false
		}
		return Inst{Mnemonic: "vext.8", Operands: fmt.Sprintf("%s, %s, %s, #%d", neonReg(d, q), neonReg(n, q), neonReg(m, q), imm)}, true
	case u == 1 && w>>20&3 == 3 && w>>11&1 == 0 && w>>4&1 == 0:
		return neon2Misc(w)
	case u == 1 && w>>20&3 == 3 && w>>10&3 == 2 && w>>4&1 == 0: // VTBL, VTBX
		mn := "vtbl.8"
		if w>>6&1 == 1 {
			mn = "vtbx.8"
		}
		n, l := neonN(w), w>>8&3+1
		if n+l > 32 {
			return Inst{}, false
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, %s, %s", neonReg(neonD(w), false), neonList(n, l, 1), neonReg(neonM(w), false))}, true
	case u == 1 && w>>20&3 == 3 && w>>7&31 == 24 && w>>4&1 == 0: // VDUP (scalar)
		imm4 := w >> 16 & 15
		var size, idx uint32
		switch {
		case imm4&1 == 1:
			size, idx = 8, imm4>>1
		case imm4&3 == 2:
			size, idx = 16, imm4>>2
		case imm4&7 == 4:
			size, idx = 32, imm4>>3
		default:
			return Inst{}, false
		}
		q := w>>6&1 == 1
		d := neonD(w)
		if q && d&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: fmt.Sprintf("vdup.%d", size), Operands: fmt.Sprintf("%s, %s[%d]", neonReg(d, q), neonReg(neonM(w), false), idx)}, true
	}
	return Inst{}, false
}

// neonList formats a register list of n registers from d, step apart:
// "{d22-d23}" for consecutive registers, "{d0, d2}" otherwise.
func neonList(d, n, step uint32) string {
	if n == 1 {
		return fmt.Sprintf("{d%d}", d)
	}
	if step == 1 {
		return fmt.Sprintf("{d%d-d%d}", d, d+n-1)
	}
	var b strings.Builder
	b.WriteByte('{')
	for i := uint32(0); i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "d%d", d+i*step)
	}
	b.WriteByte('}')
	return b.String()
}

var neonSU = [2]string{"s", "u"}

// neon3Same decodes "three registers of the same length" (A7.4.1).
func neon3Same(w uint32) (Inst, bool) {
	a, b, u, c := w>>8&15, w>>4&1, w>>24&1, w>>20&3
	q := w>>6&1 == 1
	d, n, m := neonD(w), neonN(w), neonM(w)
	if q && (d|n|m)&1 == 1 {
		return Inst{}, false
	}
	size := 8 << c
	var mn string
	swap := false // VSHL-style register shifts print Vd, Vm, Vn
	su := neonSU[u]
	switch a<<1 | b {
	case 0:
		mn = fmt.Sprintf("vhadd.%s%d", su, size)
	case 1:
		mn = fmt.Sprintf("vqadd.%s%d", su, size)
	case 2:
		mn = fmt.Sprintf("vrhadd.%s%d", su, size)
	case 3:
		mn = [2][4]string{{"vand", "vbic", "vorr", "vorn"}, {"veor", "vbsl", "vbit", "vbif"}}[u][c]
	case 4:
		mn = fmt.Sprintf("vhsub.%s%d", su, size)
	case 5:
		mn = fmt.Sprintf("vqsub.%s%d", su, size)
	case 6:
		mn = fmt.Sprintf("vcgt.%s%d", su, size)
	case 7:
		mn = fmt.Sprintf("vcge.%s%d", su, size)
	case 8:
		mn, swap = fmt.Sprintf("vshl.%s%d", su, size), true
	case 9:
		mn, swap = fmt.Sprintf("vqshl.%s%d", su, size), true
	case 10:
		mn, swap = fmt.Sprintf("vrshl.%s%d", su, size), true
	case 11:
		mn, swap = fmt.Sprintf("vqrshl.%s%d", su, size), true
	case 12:
		mn = fmt.Sprintf("vmax.%s%d", su, size)
	case 13:
		mn = fmt.Sprintf("vmin.%s%d", su, size)
	case 14:
		mn = fmt.Sprintf("vabd.%s%d", su, size)
	case 15:
		mn = fmt.Sprintf("vaba.%s%d", su, size)
	case 16:
		mn = fmt.Sprintf("%s.i%d", [2]string{"vadd", "vsub"}[u], size)
	case 17:
		if u == 0 {
			mn = fmt.Sprintf("vtst.%d", size)
		} else {
			mn = fmt.Sprintf("vceq.i%d", size)
		}
	case 18:
		mn = fmt.Sprintf("%s.i%d", [2]string{"vmla", "vmls"}[u], size)
	case 19:
		if u == 1 {
			if c != 0 {
				return Inst{}, false
			}
			mn = "vmul.p8"
		} else {
			mn = fmt.Sprintf("vmul.i%d", size)
		}
	case 20, 21:
		if q {
			return Inst{}, false
		}
		mn = fmt.Sprintf("%s.%s%d", [2]string{"vpmax", "vpmin"}[b], su, size)
	case 22:
		if c == 0 || c == 3 {
			return Inst{}, false
		}
		mn = fmt.Sprintf("%s.s%d", [2]string{"vqdmulh", "vqrdmulh"}[u], size)
	case 23:
		if u == 1 || q {
			return Inst{}, false
		}
		mn = fmt.Sprintf("vpadd.i%d", size)
	case 26, 27, 28, 29, 30, 31: // single-precision floating point
		if c>>1 == 0 && c&1 == 1 || c == 3 {
			return Inst{}, false // half precision
		}
		hi := c >> 1 // 0: first of the pair, 1: second
		switch a<<2 | b<<1 | u {
		case 13<<2 | 0<<1 | 0:
			mn = [2]string{"vadd.f32", "vsub.f32"}[hi]
		case 13<<2 | 0<<1 | 1:
			mn = [2]string{"vpadd.f32", "vabd.f32"}[hi]
			if hi == 0 && q {
				return Inst{}, false
			}
		case 13<<2 | 1<<1 | 0:
			mn = [2]string{"vmla.f32", "vmls.f32"}[hi]
		case 13<<2 | 1<<1 | 1:
			if hi == 1 {
				return Inst{}, false
			}
			mn = "vmul.f32"
		case 14<<2 | 0<<1 | 0:
			if hi == 1 {
				return Inst{}, false
			}
			mn = "vceq.f32"
		case 14<<2 | 0<<1 | 1:
			mn = [2]string{"vcge.f32", "vcgt.f32"}[hi]
		case 14<<2 | 1<<1 | 1:
			mn = [2]string{"vacge.f32", "vacgt.f32"}[hi]
		case 15<<2 | 0<<1 | 0:
			mn = [2]string{"vmax.f32", "vmin.f32"}[hi]
		case 15<<2 | 0<<1 | 1:
			if q {
				return Inst{}, false
			}
			mn = [2]string{"vpmax.f32", "vpmin.f32"}[hi]
		case 15<<2 | 1<<1 | 0:
			mn = [2]string{"vrecps.f32", "vrsqrts.f32"}[hi]
		default:
			return Inst{}, false
		}
	case 24: // SHA-1 / SHA-256 (ARMv8 crypto)
		if !q {
			return Inst{}, false
		}
		mn = [2][4]string{{"sha1c.32", "sha1p.32", "sha1m.32", "sha1su0.32"}, {"sha256h.32", "sha256h2.32", "sha256su1.32", ""}}[u][c]
		if mn == "" {
			return Inst{}, false
		}
	default:
		return Inst{}, false
	}
	if size == 64 && a != 0 && a != 2 && a != 4 && a != 5 && a != 8 && !(a == 1 && b == 1) && !(a == 12) {
		return Inst{}, false
	}
	if size == 64 && (a == 8 && b == 1 || a == 0 && b == 0 || a == 2 && b == 0) {
		return Inst{}, false
	}
	ops := neonReg(d, q) + ", " + neonReg(n, q) + ", " + neonReg(m, q)
	if swap {
		ops = neonReg(d, q) + ", " + neonReg(m, q) + ", " + neonReg(n, q)
	}
	return Inst{Mnemonic: mn, Operands: ops}, true
}

// neonShift decodes "two registers and a shift amount" (A7.4.4).
func neonShift(w uint32) (Inst, bool) {
	a, u, l := w>>8&15, w>>24&1, w>>7&1
	q := w>>6&1 == 1
	imm6 := w >> 16 & 63
	var esize uint32
	switch {
	case l == 1:
		esize = 64
	case imm6>>5 == 1:
		esize = 32
	case imm6>>4 == 1:
		esize = 16
	case imm6>>3 == 1:
		esize = 8
	default:
		return Inst{}, false
	}
	right := 2*esize - imm6 // right shifts: 1..esize
	if esize == 64 {
		right = 64 - imm6
	}
	left := imm6 - esize // left shifts: 0..esize-1
	if esize == 64 {
		left = imm6
	}
	d, m := neonD(w), neonM(w)
	su := neonSU[u]
	// objdump comments a left shift's amount above 32 (value_in_comment),
	// not a right shift's.
	two := func(mn string, shift uint32) (Inst, bool) {
		if q && (d|m)&1 == 1 {
			return Inst{}, false
		}
		c := ""
		if a >= 5 && a <= 7 {
			c = neonImmComment(shift)
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, %s, #%d", neonReg(d, q), neonReg(m, q), shift) + c}, true
	}
	switch a {
	case 0:
		return two(fmt.Sprintf("vshr.%s%d", su, esize), right)
	case 1:
		return two(fmt.Sprintf("vsra.%s%d", su, esize), right)
	case 2:
		return two(fmt.Sprintf("vrshr.%s%d", su, esize), right)
	case 3:
		return two(fmt.Sprintf("vrsra.%s%d", su, esize), right)
	case 4:
		if u == 0 {
			return Inst{}, false
		}
		return two(fmt.Sprintf("vsri.%d", esize), right)
	case 5:
		if u == 0 {
			return two(fmt.Sprintf("vshl.s%d", esize), left)
		}
		return two(fmt.Sprintf("vsli.%d", esize), left)
	case 6:
		if u == 0 {
			return Inst{}, false
		}
		return two(fmt.Sprintf("vqshlu.s%d", esize), left)
	case 7:
		return two(fmt.Sprintf("vqshl.%s%d", su, esize), left)
	case 8, 9: // narrowing shifts: Dd, Qm
		if l == 1 || m&1 == 1 {
			return Inst{}, false
		}
		var mn string
		switch {
		case u == 0 && a == 8:
			mn = [2]string{"vshrn", "vrshrn"}[w>>6&1] + fmt.Sprintf(".i%d", esize*2)
		case u == 1 && a == 8:
			mn = [2]string{"vqshrun", "vqrshrun"}[w>>6&1] + fmt.Sprintf(".s%d", esize*2)
		default:
			mn = [2]string{"vqshrn", "vqrshrn"}[w>>6&1] + fmt.Sprintf(".%s%d", su, esize*2)
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, %s, #%d", neonReg(d, false), neonReg(m, true), esize-left)}, true
	case 10: // VSHLL / VMOVL: Qd, Dm
		if l == 1 || q || d&1 == 1 {
			return Inst{}, false
		}
		if left == 0 {
			return Inst{Mnemonic: fmt.Sprintf("vmovl.%s%d", su, esize), Operands: neonReg(d, true) + ", " + neonReg(m, false)}, true
		}
		return Inst{Mnemonic: fmt.Sprintf("vshll.%s%d", su, esize), Operands: fmt.Sprintf("%s, %s, #%d", neonReg(d, true), neonReg(m, false), left)}, true
	}
	return Inst{}, false
}

// neonImmComment is objdump's value_in_comment for a shift amount: the
// hex value after "@" when it is above 32.
func neonImmComment(v uint32) string {
	if v > 32 {
		return fmt.Sprintf("\t@ 0x%x", v)
	}
	return ""
}

// neonModImm decodes "one register and a modified immediate" (A7.4.6).
func neonModImm(w uint32) (Inst, bool) {
	op, cmode := w>>5&1, w>>8&15
	q := w>>6&1 == 1
	d := neonD(w)
	if q && d&1 == 1 {
		return Inst{}, false
	}
	imm8 := w>>17&0x80 | w>>12&0x70 | w&15
	var mn, imm string
	switch {
	case cmode < 8: // 32-bit, shifted by 0, 8, 16, 24
		v := imm8 << (8 * (cmode >> 1))
		mn = [2][2]string{{"vmov", "vorr"}, {"vmvn", "vbic"}}[op][cmode&1] + ".i32"
		imm = fmt.Sprintf("#%d\t@ 0x%08x", int32(v), v)
	case cmode < 12: // 16-bit, shifted by 0 or 8
		v := imm8 << (8 * (cmode >> 1 & 1))
		mn = [2][2]string{{"vmov", "vorr"}, {"vmvn", "vbic"}}[op][cmode&1] + ".i16"
		imm = fmt.Sprintf("#%d\t@ 0x%04x", v, v)
	case cmode < 14: // 32-bit, ones shifted in
		v := imm8<<8 | 0xff
		if cmode == 13 {
			v = v<<8 | 0xff
		}
		mn = [2]string{"vmov", "vmvn"}[op] + ".i32"
		imm = fmt.Sprintf("#%d\t@ 0x%08x", int32(v), v)
	case cmode == 14 && op == 0:
		mn = "vmov.i8"
		imm = fmt.Sprintf("#%d\t@ 0x%02x", imm8, imm8)
	case cmode == 14: // VMOV.I64: each bit of imm8 is a byte
		var v uint64
		for i := 0; i < 8; i++ {
			if imm8>>i&1 == 1 {
				v |= 0xff << (8 * i)
			}
		}
		mn = "vmov.i64"
		imm = fmt.Sprintf("#0x%016x", v)
	case cmode == 15 && op == 0: // VMOV.F32
		b := imm8 >> 6 & 1
		v := imm8>>7<<31 | (b^1)<<30 | imm8>>4&3<<23 | imm8&15<<19
		if b == 1 {
			v |= 0x3e000000
		}
		mn = "vmov.f32"
		imm = "#" + strconv.FormatFloat(float64(math.Float32frombits(v)), 'g', -1, 32) + fmt.Sprintf("\t@ 0x%08x", v)
	default:
		return Inst{}, false
	}
	return Inst{Mnemonic: mn, Operands: neonReg(d, q) + ", " + imm}, true
}

// neon3Diff decodes "three registers of different lengths" (A7.4.2):
// long (Qd, Dn, Dm), wide (Qd, Qn, Dm) and narrow (Dd, Qn, Qm) forms.
func neon3Diff(w uint32) (Inst, bool) {
	a, u, c := w>>8&15, w>>24&1, w>>20&3
	d, n, m := neonD(w), neonN(w), neonM(w)
	size := 8 << c
	su := neonSU[u]
	long := func(mn string) (Inst, bool) {
		if d&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: mn, Operands: neonReg(d, true) + ", " + neonReg(n, false) + ", " + neonReg(m, false)}, true
	}
	switch a {
	case 0, 2:
		return long(fmt.Sprintf("%s.%s%d", [3]string{"vaddl", "", "vsubl"}[a], su, size))
	case 1, 3: // VADDW, VSUBW
		if (d|n)&1 == 1 {
			return Inst{}, false
		}
		mn := fmt.Sprintf("%s.%s%d", [4]string{"", "vaddw", "", "vsubw"}[a], su, size)
		return Inst{Mnemonic: mn, Operands: neonReg(d, true) + ", " + neonReg(n, true) + ", " + neonReg(m, false)}, true
	case 4, 6: // VADDHN, VRADDHN, VSUBHN, VRSUBHN
		if (n|m)&1 == 1 {
			return Inst{}, false
		}
		mn := [2][2]string{{"vaddhn", "vraddhn"}, {"vsubhn", "vrsubhn"}}[a>>1&1][u]
		mn = fmt.Sprintf("%s.i%d", mn, size*2)
		return Inst{Mnemonic: mn, Operands: neonReg(d, false) + ", " + neonReg(n, true) + ", " + neonReg(m, true)}, true
	case 5:
		return long(fmt.Sprintf("vabal.%s%d", su, size))
	case 7:
		return long(fmt.Sprintf("vabdl.%s%d", su, size))
	case 8:
		return long(fmt.Sprintf("vmlal.%s%d", su, size))
	case 10:
		return long(fmt.Sprintf("vmlsl.%s%d", su, size))
	case 12:
		return long(fmt.Sprintf("vmull.%s%d", su, size))
	case 9, 11, 13: // VQDMLAL, VQDMLSL, VQDMULL
		if u == 1 || c == 0 {
			return Inst{}, false
		}
		mn := map[uint32]string{9: "vqdmlal", 11: "vqdmlsl", 13: "vqdmull"}[a]
		return long(fmt.Sprintf("%s.s%d", mn, size))
	case 14: // VMULL polynomial (objdump ignores U)
		switch c {
		case 0:
			return long("vmull.p8")
		case 2:
			return long("vmull.p64")
		}
	}
	return Inst{}, false
}

// neonScalar decodes "two registers and a scalar" (A7.4.3): the
// multiplies by one element of a D register ("vmla.i32 q0, q14, d5[1]").
func neonScalar(w uint32) (Inst, bool) {
	a, u, c := w>>8&15, w>>24&1, w>>20&3
	d, n := neonD(w), neonN(w)
	var scalar string
	switch c {
	case 1:
		scalar = fmt.Sprintf("d%d[%d]", w&7, w>>4&2|w>>3&1)
	case 2:
		scalar = fmt.Sprintf("d%d[%d]", w&15, w>>5&1)
	default:
		return Inst{}, false
	}
	size := 8 << c
	q := u == 1
	var mn string
	long := false
	switch a {
	case 0, 4, 8: // VMLA, VMLS, VMUL (integer)
		mn = fmt.Sprintf("%s.i%d", map[uint32]string{0: "vmla", 4: "vmls", 8: "vmul"}[a], size)
	case 1, 5, 9: // float
		if c != 2 {
			return Inst{}, false
		}
		mn = map[uint32]string{1: "vmla", 5: "vmls", 9: "vmul"}[a] + ".f32"
	case 2, 6, 10: // VMLAL, VMLSL, VMULL
		mn, long = fmt.Sprintf("%s.%s%d", map[uint32]string{2: "vmlal", 6: "vmlsl", 10: "vmull"}[a], neonSU[u], size), true
	case 3, 7, 11: // VQDMLAL, VQDMLSL, VQDMULL
		if u == 1 {
			return Inst{}, false
		}
		mn, long = fmt.Sprintf("%s.s%d", map[uint32]string{3: "vqdmlal", 7: "vqdmlsl", 11: "vqdmull"}[a], size), true
	case 12, 13: // VQDMULH, VQRDMULH
		mn = fmt.Sprintf("%s.s%d", [2]string{"vqdmulh", "vqrdmulh"}[a&1], size)
	default:
		return Inst{}, false
	}
	if long {
		if d&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: mn, Operands: neonReg(d, true) + ", " + neonReg(n, false) + ", " + scalar}, true
	}
	if q && (d|n)&1 == 1 {
		return Inst{}, false
	}
	return Inst{Mnemonic: mn, Operands: neonReg(d, q) + ", " + neonReg(n, q) + ", " + scalar}, true
}

// neon2Misc decodes "two registers, miscellaneous" (A7.4.5), the
// half-precision conversions aside.
func neon2Misc(w uint32) (Inst, bool) {
	a, b, size := w>>16&3, w>>6&31, w>>18&3
	q := w>>6&1 == 1
	d, m := neonD(w), neonM(w)
	two := func(mn string) (Inst, bool) {
		if q && (d|m)&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: mn, Operands: neonReg(d, q) + ", " + neonReg(m, q)}, true
	}
	zero := func(mn string) (Inst, bool) {
		in, ok := two(mn)
		in.Operands += ", #0"
		return in, ok
	}
	qq := func(mn string) (Inst, bool) { // the crypto forms: always Q registers
		if (d|m)&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: mn, Operands: neonReg(d, true) + ", " + neonReg(m, true)}, true
	}
	bits := 8 << size
	su := neonSU[w>>7&1]
	switch a {
	case 0:
		switch {
		case b>>1 == 0 && size != 3:
			return two(fmt.Sprintf("vrev64.%d", bits))
		case b>>1 == 1 && size < 2:
			return two(fmt.Sprintf("vrev32.%d", bits))
		case b>>1 == 2 && size == 0:
			return two("vrev16.8")
		case b>>2 == 2 && size != 3:
			return two(fmt.Sprintf("vpaddl.%s%d", su, bits))
		case b>>2 == 3 && size == 0:
			return qq([4]string{"aese.8", "aesd.8", "aesmc.8", "aesimc.8"}[b&3])
		case b>>1 == 8 && size != 3:
			return two(fmt.Sprintf("vcls.s%d", bits))
		case b>>1 == 9 && size != 3:
			return two(fmt.Sprintf("vclz.i%d", bits))
		case b>>1 == 10 && size == 0:
			return two("vcnt.8")
		case b>>1 == 11 && size == 0:
			return two("vmvn")
		case b>>2 == 6 && size != 3:
			return two(fmt.Sprintf("vpadal.%s%d", su, bits))
		case b>>1 == 14 && size != 3:
			return two(fmt.Sprintf("vqabs.s%d", bits))
		case b>>1 == 15 && size != 3:
			return two(fmt.Sprintf("vqneg.s%d", bits))
		}
	case 1:
		if b == 11 && size == 2 {
			return qq("sha1h.32")
		}
		f := b>>4&1 == 1 // bit 10: floating point
		if size == 3 || f && size != 2 {
			return Inst{}, false
		}
		typ := fmt.Sprintf(".s%d", bits)
		if f {
			typ = ".f32"
		}
		switch b >> 1 & 7 {
		case 0:
			return zero("vcgt" + typ)
		case 1:
			return zero("vcge" + typ)
		case 2:
			if !f {
				typ = fmt.Sprintf(".i%d", bits)
			}
			return zero("vceq" + typ)
		case 3:
			return zero("vcle" + typ)
		case 4:
			return zero("vclt" + typ)
		case 6:
			return two("vabs" + typ)
		case 7:
			return two("vneg" + typ)
		}
	case 2:
		switch {
		case b>>1 == 0 && size == 0:
			return two("vswp")
		case b>>1 == 1 && size != 3:
			return two(fmt.Sprintf("vtrn.%d", bits))
		case b>>1 == 2 && size != 3 && (q || size != 2):
			return two(fmt.Sprintf("vuzp.%d", bits))
		case b>>1 == 3 && size != 3 && (q || size != 2):
			return two(fmt.Sprintf("vzip.%d", bits))
		case b>>2 == 2 && size != 3: // VMOVN, VQMOVUN, VQMOVN: Dd, Qm
			if m&1 == 1 {
				return Inst{}, false
			}
			mn := [4]string{"vmovn.i", "vqmovun.s", "vqmovn.s", "vqmovn.u"}[b&3]
			return Inst{Mnemonic: fmt.Sprintf("%s%d", mn, bits*2), Operands: neonReg(d, false) + ", " + neonReg(m, true)}, true
		case b == 12 && size != 3: // VSHLL (maximum shift): Qd, Dm
			if d&1 == 1 {
				return Inst{}, false
			}
			return Inst{Mnemonic: fmt.Sprintf("vshll.i%d", bits), Operands: fmt.Sprintf("%s, %s, #%d", neonReg(d, true), neonReg(m, false), bits)}, true
		case b == 14 && size == 2:
			return qq("sha1su1.32")
		case b == 15 && size == 2:
			return qq("sha256su0.32")
		}
	case 3:
		switch {
		case b>>2 == 4 && size == 2: // VRECPE, VRSQRTE
			mn := [2]string{"vrecpe", "vrsqrte"}[b>>1&1]
			return two(mn + [2]string{".u32", ".f32"}[b>>1&2>>1])
		case b>>3 == 3 && size == 2: // VCVT between f32 and integers
			return two("vcvt" + [4]string{".f32.s32", ".f32.u32", ".s32.f32", ".u32.f32"}[b>>1&3])
		}
	}
	return Inst{}, false
}

// vmovCore64 decodes VMOV between two core registers and a doubleword
// register or two single-precision registers ("vmov d16, r2, r3").
func vmovCore64(w uint32) (Inst, bool) {
	if w&0x0fe00ed0 != 0x0c400a10 || w>>28 == 15 {
		return Inst{}, false
	}
	rt, rt2 := w>>12&15, w>>16&15
	if rt == 15 || rt2 == 15 || w>>20&1 == 1 && rt == rt2 {
		return Inst{}, false
	}
	c := armCond[w>>28]
	var reg string
	if w>>8&1 == 1 {
		reg = neonReg(neonM(w), false)
	} else {
		n := w&15<<1 | w>>5&1
		if n == 31 {
			return Inst{}, false
		}
		reg = fmt.Sprintf("s%d, s%d", n, n+1)
	}
	if w>>20&1 == 1 {
		return Inst{Mnemonic: "vmov" + c, Operands: armRegs[rt] + ", " + armRegs[rt2] + ", " + reg}, true
	}
	return Inst{Mnemonic: "vmov" + c, Operands: reg + ", " + armRegs[rt] + ", " + armRegs[rt2]}, true
}

// armCRC32 decodes the ARMv8 CRC32 instructions ("crc32b r0, r1, r2").
func armCRC32(w uint32) (Inst, bool) {
	if w&0x0f900ff0 != 0x01000040 || w>>28 == 15 || w>>21&3 == 3 {
		return Inst{}, false
	}
	if w>>28 != 14 || w>>12&15 == 15 || w>>16&15 == 15 || w&15 == 15 {
		return Inst{}, false // conditional or pc: UNPREDICTABLE
	}
	mn := "crc32" + [2]string{"", "c"}[w>>9&1] + [3]string{"b", "h", "w"}[w>>21&3]
	return Inst{Mnemonic: mn, Operands: armRegs[w>>12&15] + ", " + armRegs[w>>16&15] + ", " + armRegs[w&15]}, true
}

// neonLoadStore decodes the element and structure loads and stores
// (A7.7): VLD1-VLD4 and VST1-VST4, multiple elements and single lanes,
// and VLD1 to all lanes.
func neonLoadStore(w uint32) (Inst, bool) {
	l := w >> 21 & 1
	mnb := [2]string{"vst", "vld"}[l]
	rn, rm := w>>16&15, w&15
	if rn == 15 {
		return Inst{}, false
	}
	d := neonD(w)
	size := w >> 6 & 3
	addr := func(align uint32) string {
		s := "[" + armRegs[rn]
		if align != 0 {
			s += fmt.Sprintf(" :%d", align)
		}
		s += "]"
		switch rm {
		case 15:
		case 13:
			s += "!"
		default:
			s += ", " + armRegs[rm]
		}
		return s
	}
	if w>>23&1 == 0 { // multiple elements
		typ := w >> 8 & 15
		var n, regs, step uint32
		switch typ {
		case 7:
			n, regs, step = 1, 1, 1
		case 10:
			n, regs, step = 1, 2, 1
		case 6:
			n, regs, step = 1, 3, 1
		case 2:
			n, regs, step = 1, 4, 1
		case 8:
			n, regs, step = 2, 2, 1
		case 9:
			n, regs, step = 2, 2, 2
		case 3:
			n, regs, step = 2, 4, 1
		case 4:
			n, regs, step = 3, 3, 1
		case 5:
			n, regs, step = 3, 3, 2
		case 0:
			n, regs, step = 4, 4, 1
		case 1:
			n, regs, step = 4, 4, 2
		default:
			return Inst{}, false
		}
		alignBits := w >> 4 & 3
		if n > 1 && size == 3 || d+(regs-1)*step > 31 {
			return Inst{}, false
		}
		if n == 1 && (regs == 1 && alignBits>>1 == 1 || regs == 3 && alignBits>>1 == 1) {
			return Inst{}, false
		}
		if (n == 2 && regs == 2 || n == 3) && alignBits == 3 {
			return Inst{}, false
		}
		var align uint32
		if alignBits != 0 {
			align = 32 << alignBits
		}
		list := neonList(d, regs, step)
		if n == 2 && typ == 3 {
			list = neonList(d, 4, 1)
		}
		return Inst{Mnemonic: fmt.Sprintf("%s%d.%d", mnb, n, 8<<size), Operands: list + ", " + addr(align)}, true
	}
	// Single element: to one lane, or (VLD only, bits 11:10 = 11) to
	// all lanes.
	n := w>>8&3 + 1
	if w>>10&3 == 3 {
		sz, t, a := w>>6&3, w>>5&1, w>>4&1
		if l == 0 || n != 1 || sz == 3 || sz == 0 && a == 1 {
			return Inst{}, false
		}
		var align uint32
		if a == 1 {
			align = 8 << sz
		}
		list := fmt.Sprintf("{d%d[]}", d)
		if t == 1 {
			if d == 31 {
				return Inst{}, false
			}
			list = fmt.Sprintf("{d%d[]-d%d[]}", d, d+1)
		}
		return Inst{Mnemonic: fmt.Sprintf("vld1.%d", 8<<sz), Operands: list + ", " + addr(align)}, true
	}
	if n != 1 {
		return Inst{}, false
	}
	sz := w >> 10 & 3
	ia := w >> 4 & 15
	var idx, align uint32
	switch sz {
	case 0:
		if ia&1 != 0 {
			return Inst{}, false
		}
		idx = ia >> 1
	case 1:
		if ia&2 != 0 {
			return Inst{}, false
		}
		idx = ia >> 2
		if ia&1 == 1 {
			align = 16
		}
	case 2:
		if ia&4 != 0 || ia&3 == 1 || ia&3 == 2 {
			return Inst{}, false
		}
		idx = ia >> 3
		if ia&3 == 3 {
			align = 32
		}
	}
	return Inst{Mnemonic: fmt.Sprintf("%s1.%d", mnb, 8<<sz), Operands: fmt.Sprintf("{d%d[%d]}, %s", d, idx, addr(align))}, true
}

// vfpRegList decodes VPUSH, VPOP, VLDM and VSTM (A7.6, extension
// register load/store multiple).
func vfpRegList(w uint32) (Inst, bool) {
	if w&0x0e000e00 != 0x0c000a00 {
		return Inst{}, false
	}
	p, u, wb, l := w>>24&1, w>>23&1, w>>21&1, w>>20&1
	rn := w >> 16 & 15
	imm8 := w & 0xff
	dbl := w>>8&1 == 1
	c := armCond[w>>28]
	if p == u || p == 1 && wb == 0 { // VLDR/VSTR, or 64-bit transfers
		return Inst{}, false
	}
	var first, count uint32
	var reg string
	if dbl {
		if imm8&1 == 1 || imm8 == 0 || imm8 > 32 {
			return Inst{}, false // FLDMX/FSTMX, or too many
		}
		first, count, reg = neonD(w), imm8/2, "d"
		if first+count > 32 {
			return Inst{}, false
		}
	} else {
		if imm8 == 0 {
			return Inst{}, false
		}
		first, count, reg = w>>11&0x1e|w>>22&1, imm8, "s"
		if first+count > 32 {
			return Inst{}, false
		}
	}
	list := fmt.Sprintf("{%s%d}", reg, first)
	if count > 1 {
		list = fmt.Sprintf("{%s%d-%s%d}", reg, first, reg, first+count-1)
	}
	if rn == 13 && wb == 1 {
		if p == 1 && l == 0 {
			return Inst{Mnemonic: "vpush" + c, Operands: list}, true
		}
		if p == 0 && l == 1 {
			return Inst{Mnemonic: "vpop" + c, Operands: list}, true
		}
	}
	mn := [2]string{"vstm", "vldm"}[l] + [2]string{"db", "ia"}[u] + c
	base := armRegs[rn]
	if wb == 1 {
		base += "!"
	}
	return Inst{Mnemonic: mn, Operands: base + ", " + list}, true
}

// neonCoreTransfer decodes VMOV between a core register and a NEON scalar
// and VDUP from a core register (A7.8).
func neonCoreTransfer(w uint32) (Inst, bool) {
	if w&0x0f000f10 != 0x0e000b10 {
		return Inst{}, false
	}
	c := armCond[w>>28]
	rt := armRegs[w>>12&15]
	if w>>12&15 == 15 {
		return Inst{}, false
	}
	opc1, opc2 := w>>21&3, w>>5&3
	n := w>>3&16 | w>>16&15
	l := w >> 20 & 1
	if w>>23&1 == 1 && l == 0 { // VDUP (core register)
		be := w>>21&2 | w>>5&1
		q := w>>21&1 == 1
		if q && n&1 == 1 || w>>6&1 == 1 {
			return Inst{}, false
		}
		size := [4]int{32, 16, 8, 0}[be]
		if size == 0 {
			return Inst{}, false
		}
		return Inst{Mnemonic: fmt.Sprintf("vdup%s.%d", c, size), Operands: neonReg(n, q) + ", " + rt}, true
	}
	var typ string
	var idx uint32
	switch {
	case opc1&2 == 2:
		typ, idx = "8", (opc1&1)<<2|opc2
	case opc2&1 == 1:
		typ, idx = "16", (opc1&1)<<1|opc2>>1
	case opc2 == 0 && opc1&2 == 0:
		typ, idx = "32", opc1&1
	default:
		return Inst{}, false
	}
	scalar := fmt.Sprintf("d%d[%d]", n, idx)
	if l == 0 {
		if w>>23&1 == 1 {
			return Inst{}, false
		}
		return Inst{Mnemonic: "vmov" + c + "." + typ, Operands: scalar + ", " + rt}, true
	}
	if typ != "32" {
		typ = neonSU[w>>23&1] + typ
	} else if w>>23&1 == 1 {
		return Inst{}, false
	}
	return Inst{Mnemonic: "vmov" + c + "." + typ, Operands: rt + ", " + scalar}, true
}
