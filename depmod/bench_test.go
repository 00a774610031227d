package depmod_test

import (
	"os"
	"path/filepath"
	"testing"

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
		name  string
		cache bool
	}{{"cold", false}, {"warm", true}} {
		b.Run(c.name, func(b *testing.B) {
			o := depmod.Options{BaseDir: tree, OutDir: out, Release: rel, Cache: c.cache}
			if c.cache {
				depmod.Run(&o)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := depmod.Run(&o); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
