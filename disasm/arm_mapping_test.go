package disasm

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
)

// TestARMMappingUnits: inside a $d range the ARM decoder prints data as
// arm-dis.c's print_insn_data does: a word up to the next 4-byte
// boundary, cut at the next symbol of the section (mapping or not), a
// 3-byte rest printed as .short, or .byte at an odd address; $t switches
// to Thumb and $a back to ARM.
func TestARMMappingUnits(t *testing.T) {
	a := testArch(t, "armhf").(*armArch)
	sec := &elfx.Section{Name: ".text", Index: 1, Size: 0x20}
	syms := []symbol{
		{name: "$a", value: 0, shndx: 1, sec: ".text"},
		{name: "f", value: 0, shndx: 1, sec: ".text", flags: fFunction},
		{name: "$d", value: 4, shndx: 1, sec: ".text"},
		{name: "x", value: 0xd, shndx: 1, sec: ".text"},
		{name: "$t", value: 0x10, shndx: 1, sec: ".text"},
		{name: "$a", value: 0x14, shndx: 1, sec: ".text"},
		{name: "other", value: 0x6, shndx: 2, sec: ".data"}, // another section: no effect
	}
	a.beginSection(syms, sec)
	code, _ := hex.DecodeString("0000a0e1" + "11223344" + "55667788" + "99aabbcc" + "00bf00bf" + "1eff2fe1")
	want := []struct {
		off            uint64
		mnemonic, ops  string
		perChunk, size int
	}{
		{0x0, "mov", "r0, r0", 4, 4},
		{0x4, ".word", "0x44332211", 4, 4},
		{0x8, ".word", "0x88776655", 4, 4},
		{0xc, ".byte", "0x99", 1, 1},    // x at 0xd cuts the word
		{0xd, ".byte", "0xaa", 1, 1},    // 3 bytes to the boundary at an odd address
		{0xe, ".short", "0xccbb", 2, 2}, // 2 bytes to $t
		{0x10, "nop", "", 2, 2},
		{0x12, "nop", "", 2, 2},
		{0x14, "bx", "lr", 4, 4},
	}
	for _, w := range want {
		a.at(w.off)
		in := a.Decode(code[w.off:], w.off, nil)
		_, chunk, _ := a.ByteLayout(&in)
		if in.Mnemonic != w.mnemonic || in.Operands != w.ops || in.Len != w.size || chunk != w.perChunk || !in.Known {
			t.Errorf("%#x: %q %q len %d chunk %d known %v, want %q %q len %d chunk %d", w.off, in.Mnemonic, in.Operands, in.Len, chunk, in.Known, w.mnemonic, w.ops, w.size, w.perChunk)
		}
	}
	if a.SymbolIsValid("$d", 0) || a.SymbolIsValid("$a.1", 0) || a.SymbolIsValid("__tagsym$$x", 0) || !a.SymbolIsValid("f", 0) {
		t.Error("SymbolIsValid: mapping symbols must be invalid, others valid")
	}
}

// TestARMMappingFixture disassembles the committed armhf ums-realtek.ko:
// no block heading or target is named after a mapping symbol, every $d
// address in .text starts a .word line, and lines objdump -d -r printed
// for it (copied from its output) appear verbatim.
func TestARMMappingFixture(t *testing.T) {
	p := filepath.Join("..", "testdata", "modules", "armhf", "ums-realtek.ko")
	mod, err := ko.Open(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer mod.Close()
	d, err := New(mod.ELF)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := d.WriteText(&out, p, nil, TextOptions{Objdump: true}); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	if regexp.MustCompile(`<\$[adt]`).MatchString(text) {
		t.Errorf("a mapping symbol names a block or target:\n%s", regexp.MustCompile(`.*<\$[adt].*`).FindString(text))
	}
	for _, l := range []string{
		"      c4:\t0000008c \t.word\t0x0000008c\n\t\t\tc4: R_ARM_ABS32\t.data\n\n000000c8 <realtek_cr_destructor>:\n",
		"    1290:\t979ff103 \tldrls\tpc, [pc, r3, lsl #2]\n    1294:\tea000003 \tb\t12a8 <rts51x_suspend_timer_fn+0x34>\n    1298:\t000012e0 \t.word\t0x000012e0\n",
	} {
		if !strings.Contains(text, l) {
			t.Errorf("objdump's lines missing:\n%s", l)
		}
	}
	syms, err := mod.ELF.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range syms {
		sec := mod.ELF.SectionByIndex(int(s.Shndx))
		if s.Name != "$d" || sec == nil || sec.Name != ".text" {
			continue
		}
		line := regexp.MustCompile(`(?m)^ *` + strings.TrimLeft(hexString(s.Value), "0") + `:\t[0-9a-f]{8} \t\.word\t0x`)
		if !line.MatchString(text) {
			t.Errorf("$d at %#x: no .word line", s.Value)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no $d symbol in .text of the fixture")
	}
}

func hexString(v uint64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return hex.EncodeToString(b[:])
}

// FuzzARMMapping: with mapping symbols taken from the input (every fourth
// byte picks $a, $t, $d or a plain symbol at an arbitrary offset), the
// ARM decoder's sweep never panics, every unit is 1 to the remaining bytes,
// and data units never cross the next symbol. Seeds: the ARM objdump
// cases and fixture code.
func FuzzARMMapping(f *testing.F) {
	for _, c := range objdumpCases {
		if c.arch == "armhf" {
			b, _ := hex.DecodeString(c.hex)
			f.Add(b, []byte{0, 2, 4, 6})
		}
	}
	for i, b := range fixtureCode(f) {
		if i%8 == 0 {
			f.Add(b, []byte{byte(i), 5, 9, 3, 17, 12, 40, 1})
		}
	}
	f.Fuzz(func(t *testing.T, code, marks []byte) {
		if len(marks) > 64 {
			marks = marks[:64]
		}
		sec := &elfx.Section{Name: ".text", Index: 1, Size: uint64(len(code))}
		var syms []symbol
		for i := 0; i+1 < len(marks); i += 2 {
			name := [4]string{"$a", "$t", "$d", "s"}[marks[i]&3]
			syms = append(syms, symbol{name: name, value: uint64(marks[i+1]), shndx: 1, sec: ".text"})
		}
		sortSymbols(syms)
		a := testArch(t, "armhf").(*armArch)
		a.beginSection(syms, sec)
		for off := 0; off < len(code); {
			a.at(uint64(off))
			in := a.DecodeReloc(code[off:], 0, testSym)
			if in.Len < 1 || in.Len > len(code)-off || in.Mnemonic == "" {
				t.Fatalf("% x at %d: Len %d %q", code, off, in.Len, in.Mnemonic)
			}
			if a.data {
				for _, s := range syms {
					if s.value > uint64(off) && s.value < uint64(off+in.Len) {
						t.Fatalf("% x at %d: data unit of %d bytes crosses symbol at %#x", code, off, in.Len, s.value)
					}
				}
			}
			a.ByteLayout(&in)
			off += in.Len
		}
	})
}

func sortSymbols(s []symbol) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j].value < s[j-1].value; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
