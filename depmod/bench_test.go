package depmod_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/depmod"
)

// BenchmarkTree indexes a complete tree (KMODSCOPE_BENCH_TREE, default
// /var/cache/kmodscope/deb-6.1-amd64) into a temporary directory: cold
// (no cache) and warm (every module's facts cached).
//
//	go test ./depmod -run XXX -bench Tree -cpuprofile cpu.out
func BenchmarkTree(b *testing.B) {
	tree := os.Getenv("KMODSCOPE_BENCH_TREE")
	if tree == "" {
		tree = "/var/cache/kmodscope/deb-6.1-amd64"
	}
	rels, _ := filepath.Glob(filepath.Join(tree, "lib", "modules", "*"))
	if len(rels) == 0 {
		b.Skip("no tree at " + tree)
	}
	rel := filepath.Base(rels[0])
	out := b.TempDir()
	for _, c := range []struct {
		name         string
		cache, touch bool
	}{{"cold", false, false}, {"warm", true, false}, {"touch", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			o := depmod.Options{BaseDir: tree, OutDir: out, Release: rel, Cache: c.cache}
			touched := ""
			if c.touch {
				// A symlink farm of the tree with one module copied, to touch.
				root := b.TempDir()
				src := filepath.Join(tree, "lib", "modules", rel)
				filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
					if err != nil {
						return nil
					}
					r, _ := filepath.Rel(src, p)
					dst := filepath.Join(root, "lib", "modules", rel, r)
					if d.IsDir() {
						return os.MkdirAll(dst, 0o755)
					}
					if touched == "" && strings.HasSuffix(p, ".ko") {
						data, _ := os.ReadFile(p)
						touched = dst
						return os.WriteFile(dst, data, 0o644)
					}
					return os.Symlink(p, dst)
				})
				o.BaseDir = root
			}
			if c.cache {
				depmod.Run(&o)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if touched != "" {
					now := time.Now()
					os.Chtimes(touched, now, now)
				}
				if _, err := depmod.Run(&o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
