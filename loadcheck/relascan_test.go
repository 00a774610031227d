package loadcheck

import (
	"debug/elf"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
)

// TestFirstUnknownRela compares the in-place scan of checkRelocations with
// a walk over elfx's decoded relocations, on every committed module of
// every architecture, for the architectures' sets, an empty set (the first
// entry is reported) and sets missing each type the section uses.
func TestFirstUnknownRela(t *testing.T) {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) < 10 {
		t.Fatalf("only %d module fixtures", len(files))
	}
	sections := 0
	for _, p := range files {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if f := compression.Sniff(data); f != compression.None {
			if data, err = compression.Decompress(f, data, 0); err != nil {
				t.Fatal(err)
			}
		}
		m, err := ko.New(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		f := m.ELF
		for i := range f.Sections {
			s := &f.Sections[i]
			if s.Type != elf.SHT_RELA {
				continue
			}
			rs, err := f.Relocs(s)
			if err != nil {
				t.Fatalf("%s %s: %v", p, s.Name, err)
			}
			sections++
			sets := []relocSet{x86Relocs, arm64Relocs, s390Relocs, {}}
			used := relocSet{}
			for _, r := range rs {
				used[r.Type] = true
			}
			for typ := range used {
				without := relocSet{}
				for u := range used {
					if u != typ {
						without[u] = true
					}
				}
				sets = append(sets, without)
			}
			for _, known := range sets {
				want, wantBad := uint32(0), false
				for _, r := range rs {
					if !known[r.Type] {
						want, wantBad = r.Type, true
						break
					}
				}
				got, bad, err := firstUnknownRela(f, s, known)
				if err != nil || got != want || bad != wantBad {
					t.Fatalf("%s %s (%d entries): firstUnknownRela = %d, %v, %v; decoded relocations say %d, %v", p, s.Name, len(rs), got, bad, err, want, wantBad)
				}
			}
		}
	}
	if sections < 50 {
		t.Fatalf("only %d RELA sections checked", sections)
	}
	t.Logf("%d files, %d RELA sections", len(files), sections)
}
