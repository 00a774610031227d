package conformance_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/modindex"
)

// TestResolveCacheTrees: after `kmodscope depmod` (which keeps its cache
// next to the indexes), `resolve --why` and `--graph json --all` print the
// same bytes with the cache as with --no-cache (which TestResolveGraphTrees
// checks against kmod's modules.dep): with the cache fresh, and stale after
// modules were replaced, one of them by another module's file (new facts,
// which must be read, not taken from the cache). The complete tree used is
// 6.1 amd64 (plain .ko); times with and without the cache are logged.
func TestResolveCacheTrees(t *testing.T) {
	for _, tr := range depmodTrees(t) {
		if tr.full && !strings.Contains(tr.name, "6.1-amd64") {
			continue
		}
		tr := tr
		t.Run(tr.name, func(t *testing.T) {
			start := time.Now()
			root := t.TempDir()
			farm(t, tr.root, root, tr.rel)
			var out, errb bytes.Buffer
			if code := cliMain([]string{"depmod", "-b", root, tr.rel}, &out, &errb); code != 0 {
				t.Fatalf("kmodscope depmod: exit %d\n%s", code, errb.String())
			}
			dir := filepath.Join(root, "lib", "modules", tr.rel)
			if _, err := os.Stat(filepath.Join(dir, depmod.CacheName)); err != nil {
				t.Fatal(err)
			}
			// --why pairs: modules with a modules.dep line, and the
			// last module of it; the first dependency is the one the
			// stale step replaces.
			dep, _ := os.ReadFile(filepath.Join(dir, "modules.dep"))
			var pairs [][2]string
			var victim, victimPath, other string
			for _, line := range strings.Split(string(dep), "\n") {
				p, rest, ok := strings.Cut(line, ":")
				f := strings.Fields(rest)
				if !ok {
					continue
				}
				if len(f) == 0 {
					if other == "" && victimPath != "" && p != victimPath {
						other = p
					}
					continue
				}
				n := modindex.ModnameNormalize(filepath.Base(p))
				if victim == "" {
					victimPath = f[0]
					victim = modindex.ModnameNormalize(filepath.Base(f[0]))
					pairs = append(pairs, [2]string{n, victim})
				}
				if len(pairs) < 3 {
					pairs = append(pairs, [2]string{n, modindex.ModnameNormalize(filepath.Base(f[len(f)-1]))})
				}
			}
			if victim == "" || other == "" {
				t.Fatalf("no module with dependencies in %s", dir)
			}
			base := []string{"resolve", "-b", root, "-k", tr.rel, "-C", "/dev/null", "--kcmdline", ""}
			var cachedTime, coldTime time.Duration
			calls := 0
			compare := func(step string) map[string]string {
				got := map[string]string{}
				queries := [][]string{{"--graph", "json", "--all"}}
				for _, p := range pairs {
					queries = append(queries, []string{"--json", "--why", p[0], p[1]})
				}
				for _, q := range queries {
					var res [2]toolRun
					for i, extra := range [][]string{nil, {"--no-cache"}} {
						var out, errb bytes.Buffer
						t0 := time.Now()
						code := cliMain(append(append(append([]string{}, base...), extra...), q...), &out, &errb)
						if i == 0 {
							cachedTime += time.Since(t0)
						} else {
							coldTime += time.Since(t0)
						}
						res[i] = toolRun{out.String(), errb.String(), code}
					}
					calls++
					if res[0] != res[1] {
						t.Errorf("%s: %q with the cache: exit %d %s; without: exit %d %s; stdout: %s", step, q, res[0].code, res[0].stderr, res[1].code, res[1].stderr, firstDiff([]byte(res[0].stdout), []byte(res[1].stdout)))
					}
					if q[0] == "--graph" && (res[0].code != 0 || !strings.Contains(res[0].stdout, `"kind": "hard"`)) {
						t.Errorf("%s: --graph --all: exit %d %s", step, res[0].code, res[0].stderr)
					}
					got[strings.Join(q, " ")] = res[0].stdout
				}
				return got
			}
			fresh := compare("fresh cache")
			// Stale: a few modules rewritten (new inodes, same facts),
			// and the victim replaced by another module's file.
			for _, p := range pairs {
				for _, n := range p {
					repl := filepath.Join(dir, modulePath(t, dir, n))
					data, err := os.ReadFile(repl)
					if err != nil {
						t.Fatal(err)
					}
					os.Remove(repl)
					if err := os.WriteFile(repl, data, 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			vp := victimPath
			if !filepath.IsAbs(vp) {
				vp = filepath.Join(dir, vp)
			}
			op := other
			if !filepath.IsAbs(op) {
				op = filepath.Join(dir, op)
			}
			data, err := os.ReadFile(op)
			if err != nil {
				t.Fatal(err)
			}
			os.Remove(vp)
			if err := os.WriteFile(vp, data, 0o644); err != nil {
				t.Fatal(err)
			}
			stale := compare("stale cache")
			q := "--json --why " + pairs[0][0] + " " + pairs[0][1]
			if stale[q] == fresh[q] {
				t.Errorf("replacing %s by %s changed nothing in --why %s %s", victimPath, other, pairs[0][0], pairs[0][1])
			}
			t.Logf("%s: %d queries x 2 cache states identical with and without the cache; with it %v, without %v (%s replaced by %s) in %v",
				tr.name, calls/2, (cachedTime / time.Duration(calls)).Round(time.Millisecond), (coldTime / time.Duration(calls)).Round(time.Millisecond), victim, filepath.Base(other), time.Since(start).Round(time.Millisecond))
		})
	}
}

// modulePath returns the modules.dep path of module name in dir.
func modulePath(t *testing.T, dir, name string) string {
	t.Helper()
	ix, err := modindex.OpenIndex(filepath.Join(dir, modindex.DepBin))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	ix.Dump(&b, "")
	for _, line := range strings.Split(b.String(), "\n") {
		if k, v, ok := strings.Cut(line, " "); ok && k == name {
			p, _, _ := strings.Cut(v, ":")
			return p
		}
	}
	t.Fatalf("%s not in %s", name, modindex.DepBin)
	return ""
}
