package depmod_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
)

// FuzzDiff: arbitrary index files never make Diff panic; a set compared
// with itself is equal, or unreadable on both sides alike.
func FuzzDiff(f *testing.F) {
	root := f.TempDir()
	fixtureTree(f, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel}); err != nil {
		f.Fatal(err)
	}
	for _, n := range []string{"modules.dep", "modules.alias.bin", "modules.symbols"} {
		data, _ := os.ReadFile(filepath.Join(dir, n))
		f.Add(n, data)
	}
	f.Add("modules.dep", []byte("no colon\n"))
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		var file string
		for _, n := range depmod.DiffFiles {
			if n == name {
				file = n
			}
		}
		if file == "" {
			file = depmod.DiffFiles[len(data)%len(depmod.DiffFiles)]
		}
		a, b := t.TempDir(), t.TempDir()
		os.WriteFile(filepath.Join(a, file), data, 0o644)
		os.WriteFile(filepath.Join(b, file), data, 0o644)
		diffs, err := depmod.Diff(a, b)
		if err != nil {
			return
		}
		for _, d := range diffs {
			if d.Status != "same" {
				t.Fatalf("%s differs from itself: %+v", d.File, d)
			}
		}
	})
}
