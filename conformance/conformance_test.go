// Package conformance compares kmodscope's output with the reference tools
// (kmod's modinfo and modprobe) run on the same modules at test time, and
// requires identical bytes.
//
// Module sets, each used when present:
//   - testdata/modules (committed, always present);
//   - the shared corpus: $KMODSCOPE_CORPUS, default ../../shared/corpus/debian
//     next to the repository;
//   - complete Debian trees: every directory in $KMODSCOPE_TREES
//     (colon-separated), default /var/cache/kmodscope/deb-*, as unpacked by
//     scripts/fetch-debian-kernel.sh. With KMODSCOPE_REQUIRE_TREES=1 (CI)
//     a missing tree fails the test instead of skipping it.
package conformance_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kmodscope/kmodscope/internal/cli"
)

func repoRoot(t testing.TB) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// moduleSet is a named list of module files (absolute paths).
type moduleSet struct {
	name  string
	files []string
}

// kmodExt reports whether Debian's kmod 30 (built without zlib) treats p as
// a module file name.
func kmodExt(p string) bool {
	return strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".ko.xz") || strings.HasSuffix(p, ".ko.zst")
}

func findModules(t testing.TB, root string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.Type().IsRegular() && kmodExt(p) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

func moduleSets(t *testing.T) []moduleSet {
	root := repoRoot(t)
	var sets []moduleSet
	if f := findModules(t, filepath.Join(root, "testdata", "modules")); len(f) > 0 {
		sets = append(sets, moduleSet{"testdata", f})
	} else {
		t.Fatalf("no modules under testdata/modules")
	}
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(root, "..", "shared", "corpus", "debian")
	}
	if f := findModules(t, corpus); len(f) > 0 {
		sets = append(sets, moduleSet{"corpus", f})
	} else {
		t.Logf("shared corpus not found at %s: skipped", corpus)
	}
	var trees []string
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		trees = strings.Split(env, ":")
	} else {
		trees, _ = filepath.Glob("/var/cache/kmodscope/deb-*")
	}
	if testing.Short() {
		t.Logf("-short: complete trees skipped")
		trees = nil
	}
	for _, tr := range trees {
		f := findModules(t, filepath.Join(tr, "lib", "modules"))
		if len(f) == 0 {
			if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
				t.Fatalf("complete tree %s has no modules (run scripts/fetch-debian-kernel.sh)", tr)
			}
			t.Logf("tree %s has no modules: skipped", tr)
			continue
		}
		sets = append(sets, moduleSet{filepath.Base(tr), f})
	}
	if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" && !testing.Short() && len(trees) < 2 {
		t.Fatalf("KMODSCOPE_REQUIRE_TREES=1 but only %d complete trees found (%v)", len(trees), trees)
	}
	return sets
}

func need(t *testing.T, tool string) string {
	p, err := exec.LookPath(tool)
	if err != nil {
		for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
			if _, err := os.Stat(filepath.Join(d, tool)); err == nil {
				return filepath.Join(d, tool)
			}
		}
		t.Fatalf("reference tool %s not installed (apt-get install kmod)", tool)
	}
	return p
}

type result struct {
	stdout []byte
	code   int
}

func runReal(t *testing.T, tool string, args ...string) result {
	cmd := exec.Command(tool, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &bytes.Buffer{}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return result{out.Bytes(), code}
}

func runOurs(args ...string) (result, string) {
	var out, errb bytes.Buffer
	code := cli.Main(args, nil, &out, &errb)
	return result{out.Bytes(), code}, errb.String()
}

// firstDiff describes where two outputs first differ.
func firstDiff(a, b []byte) string {
	al := strings.SplitAfter(string(a), "\n")
	bl := strings.SplitAfter(string(b), "\n")
	for i := 0; i < len(al) || i < len(bl); i++ {
		var x, y string
		if i < len(al) {
			x = al[i]
		}
		if i < len(bl) {
			y = bl[i]
		}
		if x != y {
			ctx := ""
			for j := max(0, i-3); j < i; j++ {
				ctx += "    " + al[j]
			}
			return fmt.Sprintf("line %d:\ncontext:\n%s  kmod:      %q\n  kmodscope: %q", i+1, ctx, x, y)
		}
	}
	return "identical"
}

// chunks splits files into argument lists that stay well below ARG_MAX.
func chunks(files []string) [][]string {
	var out [][]string
	for len(files) > 0 {
		n := min(len(files), 1000)
		out = append(out, files[:n])
		files = files[n:]
	}
	return out
}

func compressed(files []string) bool {
	n := 0
	for _, f := range files {
		if !strings.HasSuffix(f, ".ko") {
			n++
		}
	}
	return n > len(files)/2
}

var modinfoVariants = [][]string{
	{},
	{"-0"},
	{"-p"},
	{"-F", "signer"},
	{"-F", "sig_key"},
	{"-F", "signature"},
	{"-F", "alias"},
	{"-F", "depends"},
	{"-F", "vermagic", "-0"},
	{"-n"},
	{"-a", "-d"},
	{"-l"},
	{"-F", "parmtype"},
	{"-F", "name"},
}

func TestConformanceModinfo(t *testing.T) {
	modinfo := need(t, "modinfo")
	total := 0
	for _, set := range moduleSets(t) {
		set := set
		variants := modinfoVariants
		if compressed(set.files) {
			// Decoding dominates and is the same for every variant: the
			// formatting variants are covered by the plain sets.
			variants = [][]string{{}, {"-0"}, {"-p"}, {"-F", "signature"}, {"-n"}}
		}
		t.Run(set.name, func(t *testing.T) {
			for _, v := range variants {
				for _, files := range chunks(set.files) {
					args := append(append([]string(nil), v...), files...)
					want := runReal(t, modinfo, args...)
					got, stderr := runOurs(append([]string{"info"}, args...)...)
					if want.code != got.code {
						t.Errorf("modinfo %v over %d files: exit %d, kmodscope %d; kmodscope stderr:\n%s", v, len(files), want.code, got.code, stderr)
					}
					if !bytes.Equal(want.stdout, got.stdout) {
						t.Fatalf("modinfo %v over %d %s files: output differs at %s", v, len(files), set.name, firstDiff(want.stdout, got.stdout))
					}
				}
			}
			t.Logf("modinfo: %d %s modules identical in %d option variants", len(set.files), set.name, len(variants))
		})
		total += len(set.files)
	}
	t.Logf("modinfo conformance: compared %d modules", total)
}

// TestConformanceModprobe compares `kmodscope versions` and `kmodscope
// exports` with `modprobe --dump-modversions` and `--show-exports`, one
// module at a time (modprobe takes one).
func TestConformanceModprobe(t *testing.T) {
	modprobe := need(t, "modprobe")
	total := 0
	for _, set := range moduleSets(t) {
		set := set
		t.Run(set.name, func(t *testing.T) {
			var mu sync.Mutex
			var fails []string
			work := make(chan string)
			var wg sync.WaitGroup
			for w := 0; w < 2; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for f := range work {
						for _, c := range [][2]string{{"--dump-modversions", "versions"}, {"--show-exports", "exports"}} {
							want := runReal(t, modprobe, c[0], f)
							got, stderr := runOurs(c[1], f)
							if want.code != got.code || !bytes.Equal(want.stdout, got.stdout) {
								mu.Lock()
								fails = append(fails, fmt.Sprintf("%s %s: exit %d vs %d, %s; stderr %s", c[0], f, want.code, got.code, firstDiff(want.stdout, got.stdout), stderr))
								mu.Unlock()
							}
						}
					}
				}()
			}
			for _, f := range set.files {
				work <- f
			}
			close(work)
			wg.Wait()
			for i, f := range fails {
				if i == 10 {
					t.Errorf("... and %d more", len(fails)-10)
					break
				}
				t.Error(f)
			}
			t.Logf("modprobe: %d %s modules, %d differences", len(set.files), set.name, len(fails))
		})
		total += len(set.files)
	}
	t.Logf("modprobe conformance: compared %d modules", total)
}

// indexedCopy makes a root where lib/modules/REL links to the tree's
// modules and holds indexes made by the real depmod.
func indexedCopy(t *testing.T, root string) (string, string) {
	rels, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if len(rels) == 0 {
		t.Fatalf("no lib/modules/REL in %s", root)
	}
	rel := filepath.Base(rels[0])
	tmp := t.TempDir()
	dst := filepath.Join(tmp, "lib", "modules", rel)
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(rels[0])
	for _, e := range ents {
		src := filepath.Join(rels[0], e.Name())
		switch {
		case e.Name() == "kernel" || e.Name() == "updates" || e.Name() == "extra":
			os.Symlink(src, filepath.Join(dst, e.Name()))
		case e.Type().IsRegular() && strings.HasPrefix(e.Name(), "modules.") && !strings.HasSuffix(e.Name(), ".bin"):
			data, err := os.ReadFile(src)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644)
		}
	}
	out, err := exec.Command(need(t, "depmod"), "-b", tmp, rel).CombinedOutput()
	if err != nil {
		t.Fatalf("depmod: %v\n%s", err, out)
	}
	return tmp, rel
}

// TestConformanceLookup compares module name, alias, symbol and builtin
// lookups (modinfo -b/-k, with and without -m) on trees indexed by depmod.
func TestConformanceLookup(t *testing.T) {
	modinfo := need(t, "modinfo")
	var roots []string
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(repoRoot(t), "..", "shared", "corpus", "debian")
	}
	if d, _ := filepath.Glob(filepath.Join(corpus, "*")); len(d) > 0 {
		roots = append(roots, d...)
	}
	if testing.Short() {
		// the corpus only
	} else if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		roots = append(roots, strings.Split(env, ":")...)
	} else {
		d, _ := filepath.Glob("/var/cache/kmodscope/deb-*")
		roots = append(roots, d...)
	}
	if len(roots) == 0 {
		t.Skip("no module tree (corpus or complete tree) available")
	}
	total := 0
	for _, root := range roots {
		tmp, rel := indexedCopy(t, root)
		dir := filepath.Join(tmp, "lib", "modules", rel)
		var args []string
		files := findModules(t, filepath.Join(root, "lib", "modules"))
		for i, f := range files {
			if i%(40+len(files)/40) != 0 {
				continue
			}
			name := filepath.Base(f)
			name = name[:strings.IndexByte(name, '.')]
			args = append(args, name, strings.ReplaceAll(name, "_", "-"))
			if out, err := exec.Command(modinfo, "-F", "alias", f).Output(); err == nil {
				if a, _, _ := strings.Cut(string(out), "\n"); a != "" {
					args = append(args, a)
				}
			}
		}
		if b, err := os.ReadFile(filepath.Join(dir, "modules.builtin")); err == nil {
			for i, l := range strings.Split(string(b), "\n") {
				if l != "" && i%25 == 0 {
					base := filepath.Base(l)
					args = append(args, base[:strings.IndexByte(base, '.')])
				}
			}
		}
		args = append(args, "no-such-module", "symbol:no_such_symbol", "crc32", "a:b:c")
		for _, mflag := range [][]string{nil, {"-m"}, {"-F", "filename"}} {
			for _, a := range args {
				cmd := append(append([]string{"-b", tmp, "-k", rel}, mflag...), a)
				want := runReal(t, modinfo, cmd...)
				got, stderr := runOurs(append([]string{"info"}, cmd...)...)
				if want.code != got.code || !bytes.Equal(want.stdout, got.stdout) {
					t.Errorf("%s: modinfo %v: exit %d vs %d, %s\nstderr: %s", filepath.Base(root), cmd, want.code, got.code, firstDiff(want.stdout, got.stdout), stderr)
				}
			}
		}
		total += len(args)
		t.Logf("lookup: %s: %d arguments identical with modinfo, -m and -F filename", filepath.Base(root), len(args))
	}
	t.Logf("lookup conformance: compared %d arguments", total)
}
