package depmod

import (
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
)

func cpuTime() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkReadFiles reads every module of a tree (KMODSCOPE_BENCH_TREE,
// default the 6.1 amd64 tree) with the module readers, nothing else.
func BenchmarkReadFiles(b *testing.B) {
	tree := os.Getenv("KMODSCOPE_BENCH_TREE")
	if tree == "" {
		tree = "/var/cache/kmodscope/deb-6.1-amd64"
	}
	if v, err := strconv.Atoi(os.Getenv("LEAN_SMALL")); err == nil {
		smallFile = int64(v)
	}
	var mods []*mod
	filepath.WalkDir(filepath.Join(tree, "lib", "modules"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && hasKmodExt(d.Name()) {
			mods = append(mods, &mod{path: p})
		}
		return nil
	})
	if len(mods) == 0 {
		b.Skip("no tree at " + tree)
	}
	r := &run{opt: &Options{}}
	if v, err := strconv.Atoi(os.Getenv("LEAN_JOBS")); err == nil {
		r.opt.Jobs = v
	}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		r.readFiles(mods)
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
}

// BenchmarkRunCold is `kmodscope depmod` without a cache file: Run with
// Options.Cache, the cache removed before each run.
func BenchmarkRunCold(b *testing.B) {
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
	o := Options{BaseDir: tree, OutDir: out, Release: rel, Cache: true}
	b.ResetTimer()
	c0 := cpuTime()
	for i := 0; i < b.N; i++ {
		os.Remove(filepath.Join(out, "lib", "modules", rel, CacheName))
		if _, err := Run(&o); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(cpuTime()-c0)/float64(b.N)/1e6, "cpu-ms/op")
}
