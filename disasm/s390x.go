package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/arch/s390x/s390xasm"
)

// s390xArch decodes z/Architecture with s390xasm and rewrites its GNU
// syntax to binutils 2.40's.
type s390xArch struct {
	cache *decodeCache[s390xDecoded]
}

type s390xDecoded struct {
	inst s390xasm.Inst
	ok   bool
}

func init() {
	registerArch(elf.EM_S390, func(elf.Class, binary.ByteOrder, uint32) Arch {
		return s390xArch{cache: &decodeCache[s390xDecoded]{}}
	})
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

func (a s390xArch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	n := s390xLen(code[0])
	if len(code) < n {
		return unknownBytes(code)
	}
	var key uint64
	for _, b := range code[:n] {
		key = key<<8 | uint64(b)
	}
	key |= uint64(n) << 56
	var d s390xDecoded
	hit := false
	if a.cache != nil {
		d, hit = a.cache.get(key)
	}
	if !hit {
		inst, err := s390xasm.Decode(code[:n])
		d = s390xDecoded{inst, err == nil && inst.Op != 0 && inst.Len == n}
		if a.cache != nil {
			a.cache.put(key, d)
		}
	}
	inst := d.inst
	if !d.ok {
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
			t, _ = s390xHex(s)
			ops = strings.Replace(ops, s, archTarget(t, sym), 1)
		}
	}
	mn, ops = s390xFix(code[:n], mn, ops)
	return Inst{Len: n, Mnemonic: mn, Operands: ops, Known: true}
}

// s390xCond names branch condition masks as objdump's extended
// mnemonics do (j<cond>, jg<cond>, b<cond>r, b<cond>).
var s390xCond = [16]string{1: "o", 2: "h", 3: "nle", 4: "l", 5: "nhe", 6: "lh", 7: "ne",
	8: "e", 9: "nlh", 10: "he", 11: "nl", 12: "le", 13: "nh", 14: "no"}

// s390xUnsigned gives the width of the last (unsigned in objdump)
// immediate operand of the logical-immediate instructions.
var s390xUnsigned = map[string]int{
	"llill": 16, "llilh": 16, "llihl": 16, "llihh": 16,
	"nill": 16, "nilh": 16, "nihl": 16, "nihh": 16,
	"oill": 16, "oilh": 16, "oihl": 16, "oihh": 16,
	"iill": 16, "iilh": 16, "iihl": 16, "iihh": 16,
	"tmll": 16, "tmlh": 16, "tmhl": 16, "tmhh": 16, "tml": 16, "tmh": 16,
	"llilf": 32, "llihf": 32, "nilf": 32, "nihf": 32, "oilf": 32, "oihf": 32,
	"xilf": 32, "xihf": 32, "iilf": 32, "iihf": 32, "clfi": 32, "clgfi": 32, "alfi": 32, "algfi": 32,
	"slfi": 32, "slgfi": 32,
	"ni": 8, "oi": 8, "xi": 8, "niy": 8, "oiy": 8, "xiy": 8, "tm": 8, "tmy": 8,
	"cli": 8, "cliy": 8, "mvi": 8, "mviy": 8,
}

// s390xSigned16 lists instructions whose last immediate is signed 16-bit
// (objdump) but printed unsigned by s390xasm.
var s390xSigned16 = map[string]bool{"mvhi": true, "mvhhi": true, "mvghi": true}

func s390xFix(code []byte, mn, ops string) (string, string) {
	f := strings.Split(ops, ",")
	last := len(f) - 1
	switch {
	case (mn == "risbg" || mn == "risbgn") && len(f) == 5:
		if v, err := strconv.Atoi(f[3]); err == nil && v&0x80 != 0 {
			f[3] = strconv.Itoa(v & 0x7f)
			return mn + "z", strings.Join(f, ",")
		}
	case mn == "nopr" && code[0] == 0x47:
		return "nop", ops
	case mn == "brc" || mn == "brcl" || mn == "bcr" || mn == "bc":
		if m, err := strconv.Atoi(f[0]); err == nil && m > 0 && m < 15 && len(f) == 2 {
			switch mn {
			case "brc":
				return "j" + s390xCond[m], f[1]
			case "brcl":
				return "jg" + s390xCond[m], f[1]
			case "bcr":
				return "b" + s390xCond[m] + "r", f[1]
			default:
				return "b" + s390xCond[m], f[1]
			}
		}
	}
	if bits, ok := s390xUnsigned[mn]; ok {
		if v, err := strconv.ParseInt(f[last], 10, 64); err == nil && v < 0 {
			f[last] = strconv.FormatInt(v+1<<bits, 10)
			return mn, strings.Join(f, ",")
		}
	}
	if s390xSigned16[mn] {
		if v, err := strconv.ParseInt(f[last], 10, 64); err == nil && v >= 1<<15 && v < 1<<16 {
			f[last] = strconv.FormatInt(v-1<<16, 10)
			return mn, strings.Join(f, ",")
		}
	}
	return mn, ops
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

func s390xHex(s string) (uint64, bool) {
	var v uint64
	_, err := fmt.Sscanf(s, "0x%x", &v)
	return v, err == nil
}
