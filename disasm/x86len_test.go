package disasm

import (
	"debug/elf"
	"path/filepath"
	"testing"

	"golang.org/x/arch/x86/x86asm"

	"github.com/kmodscope/kmodscope/ko"
)

// x86FixtureCode returns the code sections of the committed amd64 and
// i386 fixtures with their decoding mode.
func x86FixtureCode(t testing.TB) (code [][]byte, modes []int) {
	for _, dir := range []string{"amd64", "amd64-6.12", "i386"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "modules", dir, "*.ko*"))
		for _, p := range files {
			m, err := ko.Open(p, nil)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			mode := 64
			if m.ELF.Machine == elf.EM_386 {
				mode = 32
			}
			for _, s := range CodeSections(m.ELF) {
				data, err := m.ELF.SectionData(s)
				if err != nil {
					t.Fatal(err)
				}
				code = append(code, append([]byte(nil), data...))
				modes = append(modes, mode)
			}
			m.Close()
		}
	}
	if len(code) == 0 {
		t.Fatal("no x86 fixture code")
	}
	return
}

// TestX86Length: the length predictor the caches are keyed with agrees
// with x86asm on every instruction of a linear sweep of the x86 fixtures,
// and knows nearly all of them (0 = unknown is allowed, but costs a
// decode each time).
func TestX86Length(t *testing.T) {
	code, modes := x86FixtureCode(t)
	total, unknown, wrong := 0, 0, 0
	for i, c := range code {
		x := &x86{mode: modes[i]}
		for off := 0; off < len(c); {
			// Decode handles these before the caches.
			if in, ok := x.special(c[off:], uint64(off), testSym); ok {
				off += in.Len
				continue
			}
			inst, err := x86asm.Decode(c[off:], modes[i])
			if err != nil || inst.Len == 0 {
				off++
				continue
			}
			total++
			switch n := x86Length(c[off:], modes[i]); {
			case n == 0:
				unknown++
			case n != inst.Len:
				wrong++
				if wrong <= 5 {
					t.Errorf("mode %d: % x: predicted length %d, x86asm %d (%v)", modes[i], c[off:off+inst.Len], n, inst.Len, inst)
				}
			}
			off += inst.Len
		}
	}
	t.Logf("%d instructions: %d unknown, %d wrong", total, unknown, wrong)
	if total < 10000 {
		t.Fatalf("only %d instructions swept", total)
	}
	if unknown*1000 > total {
		t.Errorf("%d of %d lengths unknown", unknown, total)
	}
}

// FuzzX86Length: the predictor never panics and never claims more bytes
// than there are or than an instruction can have.
func FuzzX86Length(f *testing.F) {
	code, modes := x86FixtureCode(f)
	for i, c := range code {
		for off := 0; off+16 <= len(c) && off < 4096; off += 97 {
			f.Add(c[off:off+16], modes[i] == 64)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, long bool) {
		mode := 32
		if long {
			mode = 64
		}
		if n := x86Length(b, mode); n < 0 || n > len(b) || n > 15 {
			t.Fatalf("% x: length %d", b, n)
		}
	})
}

// TestX86CachesAgree: every instruction of the x86 fixtures, decoded
// through the caches (exact entries, branch opcodes, displacement
// templates; twice, at two addresses, so that the second pass hits), is
// what x86asm plus the corrections print for it decoded afresh.
func TestX86CachesAgree(t *testing.T) {
	code, modes := x86FixtureCode(t)
	n, templated := 0, 0
	for pass := 0; pass < 2; pass++ {
		for i, c := range code {
			x := &x86{mode: modes[i]}
			base := uint64(pass) * 0x1230
			for off := 0; off < len(c); {
				pc := base + uint64(off)
				got := x.Decode(c[off:], pc, testSym)
				if got.Len < 1 {
					t.Fatalf("% x: Len %d", c[off:], got.Len)
				}
				want, ok := x.special(c[off:], pc, testSym)
				if !ok {
					inst, err := x86asm.Decode(c[off:], modes[i])
					if err != nil || inst.Len == 0 {
						want = badX86(c[off:])
					} else {
						mn, ops := splitX86(x86asm.GNUSyntax(inst, pc, nil))
						mn, ops = x.fix(&inst, c[off:], pc, testSym, mn, ops)
						want = Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}
					}
				}
				if got != want {
					t.Errorf("mode %d pc %#x: % x: cached %+v, decoded %+v", modes[i], pc, c[off:off+want.Len], got, want)
					if t.Failed() && n > 20 {
						return
					}
				}
				if _, _, ds := x86Layout(c[off:], modes[i]); ds > 0 {
					templated++
				}
				n++
				off += got.Len
			}
			x.release()
		}
	}
	t.Logf("%d instructions compared, %d with a displacement", n, templated)
}
