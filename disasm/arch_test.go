package disasm

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"testing"
)

func testArch(t testing.TB, name string) Arch {
	var a Arch
	switch name {
	case "arm64":
		a = ArchFor(elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian, 0)
	case "armhf":
		a = ArchFor(elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian, 0x5000400)
	case "thumb":
		a = ThumbArch()
	case "ppc64el":
		a = ArchFor(elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian, 2)
	case "ppc64":
		a = ArchFor(elf.EM_PPC64, elf.ELFCLASS64, binary.BigEndian, 1)
	case "s390x":
		a = ArchFor(elf.EM_S390, elf.ELFCLASS64, binary.BigEndian, 0)
	case "riscv64":
		a = ArchFor(elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian, 5)
	case "loong64":
		a = ArchFor(elf.EM_LOONGARCH, elf.ELFCLASS64, binary.LittleEndian, 0x43)
	}
	if a == nil {
		t.Fatalf("no decoder for %s", name)
	}
	return a
}

// knownGaps are objdumpCases the decoders do not decode (yet): they must
// come back Known=false with objdump's length.
var knownGaps = map[string]bool{}

func TestObjdumpCases(t *testing.T) {
	n := map[string]int{}
	for _, c := range objdumpCases {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		a := testArch(t, c.arch)
		got := a.Decode(b, c.pc, nil)
		if got.Len != len(b) {
			t.Errorf("%s % x: Len %d, objdump %d (%s %s)", c.arch, b, got.Len, len(b), c.mnemonic, c.operands)
			continue
		}
		if knownGaps[c.arch+" "+c.hex] {
			if got.Known {
				t.Errorf("%s % x: known gap decoded as %q %q (objdump %q %q): update knownGaps", c.arch, b, got.Mnemonic, got.Operands, c.mnemonic, c.operands)
			}
			continue
		}
		if got.Mnemonic != c.mnemonic || got.Operands != c.operands || !got.Known {
			t.Errorf("%s % x at %#x: got %q %q (known %v), objdump %q %q", c.arch, b, c.pc, got.Mnemonic, got.Operands, got.Known, c.mnemonic, c.operands)
		}
		n[c.arch]++
	}
	t.Logf("identical to objdump: %v", n)
}

func testSym(addr uint64) string { return fmt.Sprintf("<f+%#x>", addr) }

// symbolCases are branch and pc-relative instructions from objdump -d
// output (symbols replaced by this test's Symbolizer, "<f+0x..>"), the
// ARM/AArch64 relocation forms (objdump prints "bl 0 <memset>" for a call
// with a relocation to an undefined symbol), Thumb from objdump -D -b binary
// -marm -Mforce-thumb, and LoongArch from golang.org/x/arch's GNU cases
// (binutils 2.40 multiarch has no LoongArch disassembler to check against).
var symbolCases = []struct {
	arch, hex string
	pc        uint64
	reloc     bool // DecodeReloc with symbol value pc
	mnemonic  string
	operands  string
}{
	{"arm64", "81ffff54", 0x28, false, "b.ne", "18 <f+0x18>  // b.any"},
	{"arm64", "04000090", 0xc, false, "adrp", "x4, 0 <f+0x0>"},
	{"arm64", "00000094", 0, true, "bl", "0 <f+0x0>"},
	{"arm64", "00000094", 0x1200, true, "bl", "1200 <f+0x1200>"},
	{"arm64", "13000090", 0x38, true, "adrp", "x19, 38 <f+0x38>"},
	{"armhf", "faffff1a", 0x24, false, "bne", "14 <f+0x14>"},
	{"armhf", "74c09fe5", 0x48, false, "ldr", "ip, [pc, #116]\t@ c4 <f+0xc4>"},
	{"armhf", "04e02de5", 0x4, false, "push", "{lr}\t\t@ (str lr, [sp, #-4]!)"},
	{"armhf", "feffffeb", 0, true, "bl", "0 <f+0x0>"},
	{"ppc64el", "44008240", 0x2c, false, "bne", "70 <f+0x70>"},
	{"ppc64el", "14000048", 0x3c, false, "b", "50 <f+0x50>"},
	{"s390x", "ec480013007c", 0, false, "cgije", "%r4,0,26 <f+0x26>"},
	{"s390x", "c45800000000", 6, false, "lgrl", "%r5,6 <f+0x6>"},
	{"s390x", "a747fff5", 0x22, false, "brctg", "%r4,c <f+0xc>"},
	{"s390x", "a7c40090", 0x6a0, false, "jle", "7c0 <f+0x7c0>"},
	{"riscv64", "05ca", 8, false, "beqz", "a2,38 <f+0x38>"},
	{"riscv64", "e390c5fe", 0x34, false, "bne", "a1,a2,14 <f+0x14>"},
	{"thumb", "80b5", 0, false, "push", "{r7, lr}"},
	{"thumb", "80bd", 2, false, "pop", "{r7, pc}"},
	{"thumb", "7047", 4, false, "bx", "lr"},
	{"thumb", "4368", 0xc, false, "ldr", "r3, [r0, #4]"},
	{"thumb", "fed0", 0x10, false, "beq.n", "10 <f+0x10>"},
	{"thumb", "fee7", 0x12, false, "b.n", "12 <f+0x12>"},
	{"thumb", "fff7feff", 0x14, false, "bl", "14 <f+0x14>"},
	{"thumb", "00f000b8", 0x2c, false, "b.w", "30 <f+0x30>"},
	{"thumb", "aff30080", 0x28, false, "nop.w", ""},
	{"thumb", "6846", 0x20, false, "mov", "r0, sp"},
	{"loong64", "ac391000", 0, false, "add.w", "$t0, $t1, $t2"},
	{"loong64", "ac41c002", 0, false, "addi.d", "$t0, $t1, 16"},
	{"loong64", "2000004c", 0, false, "ret", ""},
	{"loong64", "0c020014", 0, false, "lu12i.w", "$t0, 16"},
	{"loong64", "00100054", 0x20, false, "bl", "16\t# 30 <f+0x30>"},
}

func TestSymbolCases(t *testing.T) {
	for _, c := range symbolCases {
		b, err := hex.DecodeString(c.hex)
		if err != nil {
			t.Fatal(err)
		}
		a := testArch(t, c.arch)
		var got Inst
		if c.reloc {
			got = a.(RelocDecoder).DecodeReloc(b, c.pc, testSym)
		} else {
			got = a.Decode(b, c.pc, testSym)
		}
		if got.Len != len(b) || got.Mnemonic != c.mnemonic || got.Operands != c.operands || !got.Known {
			t.Errorf("%s % x at %#x: got %d %q %q (known %v), want %d %q %q", c.arch, b, c.pc, got.Len, got.Mnemonic, got.Operands, got.Known, len(b), c.mnemonic, c.operands)
		}
	}
}

// TestThumbITBlock checks the IT state objdump applies to the following
// instructions (objdump -D -b binary -marm -Mforce-thumb on 08bf 0020 18bf
// 0130 00bf).
func TestThumbITBlock(t *testing.T) {
	code, _ := hex.DecodeString("08bf002018bf013000bf")
	want := []string{"it eq", "moveq r0, #0", "it ne", "addne r0, #1", "nop "}
	a := testArch(t, "thumb")
	for pc, i := 0, 0; pc < len(code); i++ {
		in := a.Decode(code[pc:], uint64(pc), nil)
		if got := in.Mnemonic + " " + in.Operands; got != want[i] {
			t.Errorf("%#x: %q, objdump %q", pc, got, want[i])
		}
		pc += in.Len
	}
	// SetThumb resets the IT state and switches to ARM mode.
	a.(interface{ SetThumb(bool) }).SetThumb(false)
	if in := a.Decode([]byte{0x1e, 0xff, 0x2f, 0xe1}, 0, nil); in.Mnemonic != "bx" || in.Len != 4 {
		t.Errorf("ARM bx lr after SetThumb(false): %+v", in)
	}
}

// TestUnknownUnits checks what undecodable bytes come back as.
func TestUnknownUnits(t *testing.T) {
	for _, c := range []struct {
		arch, hex string
		n         int
		mnemonic  string
	}{
		{"arm64", "00000000", 4, ".inst"},
		{"armhf", "50afbaf3", 4, ".word"}, // vcvt.u32.f32 q5, q0, #6: NEON conversion, not decoded
		{"ppc64el", "00000000", 4, ".long"},
		{"riscv64", "ffff", 2, ".2byte"},
		{"arm64", "0000", 2, ".byte"},
		{"s390x", "c4", 1, ".byte"},
		{"thumb", "ff", 1, ".byte"},
	} {
		b, _ := hex.DecodeString(c.hex)
		got := testArch(t, c.arch).Decode(b, 0, nil)
		if got.Len != c.n || got.Mnemonic != c.mnemonic || got.Known {
			t.Errorf("%s % x: %+v, want Len %d %s unknown", c.arch, b, got, c.n, c.mnemonic)
		}
	}
}

func TestLayout(t *testing.T) {
	p := testArch(t, "ppc64el").(interface{ InstText(string, string) string })
	for _, c := range [][3]string{{"ld", "r2,-8(r12)", "ld      r2,-8(r12)"}, {"popcntd", "r10,r10", "popcntd r10,r10"}, {"beqlr", "", "beqlr"}} {
		if got := p.InstText(c[0], c[1]); got != c[2] {
			t.Errorf("ppc InstText(%q, %q) = %q, objdump %q", c[0], c[1], got, c[2])
		}
	}
	type layout interface {
		ByteLayout(*Inst) (int, int, bool)
	}
	a := testArch(t, "armhf")
	if l, c, _ := a.(layout).ByteLayout(&Inst{Len: 4}); l != 4 || c != 4 {
		t.Errorf("ARM layout %d %d", l, c)
	}
	a.(interface{ SetThumb(bool) }).SetThumb(true)
	if l, c, _ := a.(layout).ByteLayout(&Inst{Len: 4}); l != 4 || c != 2 {
		t.Errorf("Thumb layout %d %d", l, c)
	}
	if l, c, _ := testArch(t, "riscv64").(layout).ByteLayout(&Inst{Len: 2}); l != 8 || c != 2 {
		t.Errorf("RISC-V layout %d %d", l, c)
	}
}
