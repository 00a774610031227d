package btfexplain

import (
	"bytes"
	"compress/gzip"
	"os"

	"path/filepath"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// FuzzLoad feeds arbitrary bytes to the image and raw BTF loaders and, when
// they load, to Explain: errors are fine, panics and hangs are not. Seeds:
// the synthetic kernels (raw and as a gzip'd image) and the split BTF of
// the committed module fixtures.
func FuzzLoad(f *testing.F) {
	for v := 0; v < 2; v++ {
		raw := kernelBTF(f, v)
		f.Add(raw)
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(append(bytes.Repeat([]byte{0x90}, 64), raw...))
		w.Close()
		f.Add(gz.Bytes())
	}
	toys, _ := filepath.Glob("../../testdata/kabi/*.img.gz")
	for _, p := range toys {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	mods, _ := filepath.Glob("../../testdata/modules/amd64/*.ko")
	for _, p := range mods {
		m, err := ko.Open(p, nil)
		if err != nil {
			continue
		}
		if sec := m.ELF.Section(".BTF"); sec != nil {
			if b, err := m.ELF.SectionData(sec); err == nil {
				f.Add(bytes.Clone(b))
			}
		}
		m.Close()
	}
	if len(mods) == 0 {
		f.Fatal("no module fixtures")
	}
	ref, err := LoadRaw(kernelBTF(f, 0))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, load := range []func([]byte) (*Spec, error){LoadRaw, LoadImage} {
			s, err := load(data)
			if (s == nil) == (err == nil) {
				t.Fatalf("spec %v, error %v", s, err)
			}
			if s == nil {
				continue
			}
			var syms []string
			for name := range s.index().funcs {
				syms = append(syms, name)
				if len(syms) == 20 {
					break
				}
			}
			Explain(ref, s, syms)
			ExplainOpts(s, s, syms, &Options{CoreMin: 2})
		}
	})
}
