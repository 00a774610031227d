package disasm

import (
	"debug/elf"
	"encoding/hex"
	"math/rand"
	"path/filepath"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// fuzzArches are the decoders FuzzArchDecode drives.
var fuzzArches = []string{"arm64", "armhf", "thumb", "ppc64el", "ppc64", "s390x", "riscv64", "loong64"}

// FuzzArchDecode: for every non-x86 decoder, Decode (and DecodeReloc where
// implemented) never panics and always consumes between 1 byte and what
// remains, sweeping the whole input at every start offset parity. Seeds:
// the objdump cases of every architecture and 256-byte windows of the code
// sections of the committed fixtures (testdata/modules).
func FuzzArchDecode(f *testing.F) {
	for _, c := range objdumpCases {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	for _, c := range symbolCases {
		b, _ := hex.DecodeString(c.hex)
		f.Add(b)
	}
	for _, b := range fixtureCode(f) {
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

// fixtureCode returns up to eight 256-byte windows of executable code from
// each non-x86 committed fixture module.
func fixtureCode(t testing.TB) [][]byte {
	var out [][]byte
	for _, dir := range []string{"arm64", "armhf", "ppc64el", "s390x", "riscv64", "loong64"} {
		files, _ := filepath.Glob(filepath.Join("..", "testdata", "modules", dir, "*.ko*"))
		for _, p := range files {
			m, err := ko.Open(p, nil)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			for i := range m.ELF.Sections {
				s := &m.ELF.Sections[i]
				if s.Flags&elf.SHF_EXECINSTR == 0 || s.Type != elf.SHT_PROGBITS {
					continue
				}
				data, err := m.ELF.SectionData(s)
				if err != nil {
					t.Fatal(err)
				}
				for off := 0; off+256 <= len(data) && off < 8*4096; off += 4096 {
					out = append(out, append([]byte(nil), data[off:off+256]...))
				}
			}
			m.Close()
		}
	}
	if len(out) == 0 {
		t.Fatal("no fixture code found under testdata/modules")
	}
	return out
}
