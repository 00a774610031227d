package gnuview_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/gnuview"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/modlayout"
)

func fixtures(t testing.TB) [][]byte {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no committed modules")
	}
	var out [][]byte
	for _, p := range files {
		data, _, err := compression.ReadFile(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, data)
	}
	return out
}

// views runs every printer and both layout models on one image; whatever
// the input they must not panic, and for a parsable image the readelf view
// has one line per section.
func views(t *testing.T, data []byte) {
	f, err := elfx.New(data)
	if err != nil {
		return
	}
	var b bytes.Buffer
	gnuview.ReadelfSections(&b, f, "x.ko", true)
	if n := strings.Count(b.String(), "\n  ["); n != len(f.Sections)+1 {
		t.Fatalf("readelf view has %d section lines for %d sections", n-1, len(f.Sections))
	}
	secs := gnuview.BFDSections(f)
	gnuview.SysV(io.Discard, secs, gnuview.Hex, "x.ko")
	z := gnuview.Sum(secs, false)
	if g := gnuview.Sum(secs, true); g.Total() != z.Total() {
		t.Fatalf("GNU total %d != Berkeley total %d", g.Total(), z.Total())
	}
	gnuview.SizeLine(z, gnuview.Octal, false, "x.ko")
	if d := gnuview.FileDescription(f); !strings.HasPrefix(d, "ELF ") {
		t.Fatalf("file description %q", d)
	}
	for _, v := range []modlayout.Version{{Major: 6, Minor: 1}, {Major: 6, Minor: 12}} {
		l, err := modlayout.Compute(f, modlayout.DefaultConfig(f.Machine, v))
		if err == nil && len(l.Sections) != len(f.Sections) {
			t.Fatalf("layout has %d sections for %d", len(l.Sections), len(f.Sections))
		}
	}
}

func FuzzViews(f *testing.F) {
	for _, d := range fixtures(f) {
		f.Add(d)
	}
	f.Add(kotest.Minimal(elf.ELFCLASS32, binary.LittleEndian, elf.EM_386).Bytes())
	f.Fuzz(views)
}

// TestMalformed runs the views over the kotest mutations of a minimal module
// and of real fixtures: truncated, bogus links, absurd sizes.
func TestMalformed(t *testing.T) {
	for _, base := range append(fixtures(t)[:3], kotest.Minimal(elf.ELFCLASS64, binary.BigEndian, elf.EM_S390).Bytes()) {
		n := kotest.Ehdr(base, kotest.EShnum)
		for idx := 1; idx < int(n); idx++ {
			for _, fld := range []kotest.ShdrField{kotest.ShLink, kotest.ShInfo, kotest.ShSize, kotest.ShAddralign, kotest.ShType, kotest.ShFlags, kotest.ShName} {
				for _, v := range []uint64{0, 1, 0xffff, 0xffffffff, 1 << 62} {
					d := bytes.Clone(base)
					kotest.SetShdr(d, idx, fld, v)
					views(t, d)
				}
			}
		}
		for cut := 0; cut < len(base); cut += max(1, len(base)/50) {
			views(t, base[:cut])
		}
	}
}
