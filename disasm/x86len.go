package disasm

// x86Length predicts the length of the instruction at code without
// decoding it, for the decode caches: they are keyed by the exact
// encoding, so a short instruction is found whatever bytes follow it.
// It returns 0 when it does not know (3DNow!, XOP, far pointers, 16-bit
// addressing, truncated input); a wrong guess only costs a cache miss,
// because an entry is only found for bytes some earlier decode consumed
// as exactly one instruction.
func x86Length(code []byte, mode int) int {
	n, _, _ := x86Layout(code, mode)
	return n
}

// x86Layout is x86Length, plus where the ModRM displacement of a legacy
// (not VEX) encoding with mod 1 or 2 is: offset and size (1 or 4), or 0, 0.
func x86Layout(code []byte, mode int) (n, dispOff, dispSize int) {
	i := 0
	opsize16, addr67 := false, false
prefixes:
	for i < len(code) {
		switch code[i] {
		case 0x66:
			opsize16 = true
		case 0x67:
			addr67 = true
		case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0xf0, 0xf2, 0xf3:
		default:
			break prefixes
		}
		i++
		if i > 14 {
			return 0, 0, 0
		}
	}
	if addr67 && mode == 32 {
		return 0, 0, 0 // 16-bit addressing
	}
	rexW := false
	if mode == 64 && i < len(code) && code[i]&0xf0 == 0x40 {
		rexW = code[i]&8 != 0
		i++
	}
	if i >= len(code) {
		return 0, 0, 0
	}
	z := 4 // the size of an immediate "z" (word or dword)
	if opsize16 {
		z = 2
	}
	op := code[i]
	i++
	modrm, imm := false, 0
	switch op {
	case 0x0f:
		if i >= len(code) {
			return 0, 0, 0
		}
		op2 := code[i]
		i++
		switch {
		case op2 == 0x38:
			i++
			modrm = true
		case op2 == 0x3a:
			i++
			modrm, imm = true, 1
		case op2 == 0x0f || op2 >= 0xa6 && op2 <= 0xa7:
			return 0, 0, 0 // 3DNow!, VIA padlock
		case op2 >= 0x80 && op2 <= 0x8f:
			if opsize16 {
				return 0, 0, 0
			}
			imm = 4
		default:
			modrm = x86TwoByteModRM[op2>>5]&(1<<(op2&31)) != 0
			switch op2 {
			case 0x70, 0x71, 0x72, 0x73, 0xa4, 0xac, 0xba, 0xc2, 0xc4, 0xc5, 0xc6:
				imm = 1
			}
		}
	case 0xc4, 0xc5, 0x62:
		if mode != 64 {
			return 0, 0, 0
		}
		return x86VEXLength(code, i-1), 0, 0
	case 0x8f, 0x9a, 0xea, 0xd4, 0xd5, 0x82, 0xce, 0x60, 0x61, 0x27, 0x2f, 0x37, 0x3f:
		if op == 0x8f && i < len(code) && code[i]&0x38 == 0 {
			modrm = true // pop r/m (not XOP)
			break
		}
		return 0, 0, 0
	default:
		modrm = x86OneByteModRM[op>>5]&(1<<(op&31)) != 0
		switch {
		case op < 0x40 && op&7 == 4, op >= 0x70 && op <= 0x7f, op >= 0xb0 && op <= 0xb7,
			op == 0x6a, op == 0x6b, op == 0x80, op == 0x83, op == 0xa8, op == 0xc0, op == 0xc1,
			op == 0xc6, op == 0xcd, op >= 0xe0 && op <= 0xe7, op == 0xeb:
			imm = 1
		case op < 0x40 && op&7 == 5, op == 0x68, op == 0x69, op == 0x81, op == 0xa9, op == 0xc7:
			imm = z
		case op >= 0xb8 && op <= 0xbf:
			imm = z
			if rexW {
				imm = 8
			}
		case op == 0xe8 || op == 0xe9:
			imm = 4
			if mode != 64 && opsize16 {
				imm = 2
			}
		case op == 0xc2 || op == 0xca:
			imm = 2
		case op == 0xc8:
			imm = 3
		case op >= 0xa0 && op <= 0xa3:
			imm = mode / 8
			if addr67 {
				imm /= 2
			}
		case op == 0xf6 || op == 0xf7:
			if i < len(code) && code[i]&0x30 == 0 { // test: /0 and /1
				imm = 1
				if op == 0xf7 {
					imm = z
				}
			}
		}
	}
	if modrm {
		m, ok := x86ModRMLength(code, i)
		if !ok {
			return 0, 0, 0
		}
		switch code[i] >> 6 {
		case 1:
			dispOff, dispSize = i+m-1, 1
		case 2:
			dispOff, dispSize = i+m-4, 4
		}
		i += m
	}
	i += imm
	if i > 15 || i > len(code) {
		return 0, 0, 0
	}
	return i, dispOff, dispSize
}

// x86ModRMLength is the size of the ModRM byte at code[i] with its SIB and
// displacement (32- and 64-bit addressing).
func x86ModRMLength(code []byte, i int) (int, bool) {
	if i >= len(code) {
		return 0, false
	}
	m := code[i]
	mod, rm := m>>6, m&7
	n := 1
	if mod == 3 {
		return n, true
	}
	if rm == 4 {
		if i+1 >= len(code) {
			return 0, false
		}
		n++
		if mod == 0 && code[i+1]&7 == 5 {
			n += 4
		}
	}
	switch {
	case mod == 0 && rm == 5:
		n += 4
	case mod == 1:
		n++
	case mod == 2:
		n += 4
	}
	return n, true
}

// x86VEXLength is the length of a VEX (c4, c5) or EVEX (62) instruction
// starting at code[i], 0 when unknown.
func x86VEXLength(code []byte, i int) int {
	if i+1 >= len(code) {
		return 0
	}
	var mmap byte
	switch code[i] {
	case 0xc5:
		mmap = 1
		i += 2
	case 0xc4:
		mmap = code[i+1] & 0x1f
		i += 3
	case 0x62:
		mmap = code[i+1] & 7
		i += 4
	}
	if i >= len(code) {
		return 0
	}
	op := code[i]
	i++
	imm := 0
	switch mmap {
	case 1:
		if op == 0x77 {
			return 0 // vzeroupper/vzeroall: handled before the caches
		}
		switch op {
		case 0x70, 0x71, 0x72, 0x73, 0xc2, 0xc4, 0xc5, 0xc6:
			imm = 1
		}
	case 2:
	case 3:
		imm = 1
	default:
		return 0
	}
	n, ok := x86ModRMLength(code, i)
	if !ok {
		return 0
	}
	i += n + imm
	if i > 15 || i > len(code) {
		return 0
	}
	return i
}

// x86OneByteModRM and x86TwoByteModRM are bitmaps (32 opcodes a word) of
// the one-byte and 0f opcodes that take a ModRM byte.
var x86OneByteModRM, x86TwoByteModRM = func() (one, two [8]uint32) {
	set := func(t *[8]uint32, from, to int) {
		for o := from; o <= to; o++ {
			t[o>>5] |= 1 << (o & 31)
		}
	}
	for r := 0; r < 0x40; r += 8 {
		set(&one, r, r+3)
	}
	set(&one, 0x62, 0x63)
	set(&one, 0x69, 0x69)
	set(&one, 0x6b, 0x6b)
	set(&one, 0x80, 0x8f)
	set(&one, 0xc0, 0xc1)
	set(&one, 0xc4, 0xc7)
	set(&one, 0xd0, 0xd3)
	set(&one, 0xd8, 0xdf)
	set(&one, 0xf6, 0xf7)
	set(&one, 0xfe, 0xff)

	set(&two, 0x00, 0x03)
	set(&two, 0x0d, 0x0d)
	set(&two, 0x10, 0x2f)
	set(&two, 0x40, 0x7f)
	two[0x77>>5] &^= 1 << (0x77 & 31)
	set(&two, 0x90, 0x9f)
	set(&two, 0xa3, 0xa5)
	set(&two, 0xab, 0xaf)
	set(&two, 0xb0, 0xc7)
	set(&two, 0xd0, 0xff)
	return
}()
