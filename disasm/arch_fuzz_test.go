package disasm

import (
	"encoding/hex"
	"math/rand"
	"testing"
)

// fuzzArches are the decoders FuzzArchDecode drives.
var fuzzArches = []string{"arm64", "armhf", "thumb", "ppc64el", "ppc64", "s390x", "riscv64", "loong64"}

// FuzzArchDecode: for every non-x86 decoder, Decode (and DecodeReloc where
// implemented) never panics and always consumes between 1 byte and what
// remains, sweeping the whole input at every start offset parity. Seeds:
// the objdump cases of every architecture.
func FuzzArchDecode(f *testing.F) {
	for _, c := range objdumpCases {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	for _, c := range symbolCases {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, code []byte) {
		for _, name := range fuzzArches {
			a := testArch(t, name)
			for start := 0; start < 2 && start <= len(code); start++ {
				for off := start; off < len(code); {
					in := a.Decode(code[off:], uint64(off), testSym)
					if in.Len < 1 || in.Len > len(code)-off {
						t.Fatalf("%s % x at %d: Len %d", name, code, off, in.Len)
					}
					if in.Mnemonic == "" {
						t.Fatalf("%s % x at %d: empty mnemonic", name, code, off)
					}
					if r, ok := a.(RelocDecoder); ok {
						if rin := r.DecodeReloc(code[off:], 0x1000, testSym); rin.Len != in.Len {
							t.Fatalf("%s % x at %d: DecodeReloc Len %d, Decode %d", name, code, off, rin.Len, in.Len)
						}
					}
					off += in.Len
				}
			}
			// Empty input: one unit, never a panic.
			if in := a.Decode(nil, 0, nil); in.Len < 1 {
				t.Fatalf("%s: empty input gives Len %d", name, in.Len)
			}
		}
	})
}

// TestRandomSweep runs every decoder over 256 KiB of pseudo-random bytes
// (fixed seed) without -fuzz: no panic, every unit at least one byte.
func TestRandomSweep(t *testing.T) {
	code := make([]byte, 256<<10)
	rand.New(rand.NewSource(1)).Read(code)
	for _, name := range fuzzArches {
		a := testArch(t, name)
		units, unknown := 0, 0
		for off := 0; off < len(code); {
			in := a.Decode(code[off:], uint64(off), testSym)
			if in.Len < 1 || in.Len > len(code)-off {
				t.Fatalf("%s at %d: Len %d", name, off, in.Len)
			}
			units++
			if !in.Known {
				unknown++
			}
			off += in.Len
		}
		t.Logf("%s: %d units, %d unknown", name, units, unknown)
	}
}
