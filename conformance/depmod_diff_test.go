package conformance_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/modindex"
)

// Tests of `kmodscope depmod --diff`, of the incremental cache next to
// kmod's tools and of `--compat 34`, against kmod's depmod and modprobe run
// on the same trees.

// indexTree makes a symlink-farm copy of tr and indexes it with kmod's
// depmod (kmod == true) or kmodscope (args); it returns the module
// directory.
func indexTree(t *testing.T, tr depmodTree, kmod bool, prepare func(dir string), args ...string) string {
	t.Helper()
	root := t.TempDir()
	farm(t, tr.root, root, tr.rel)
	dir := filepath.Join(root, "lib", "modules", tr.rel)
	if prepare != nil {
		prepare(dir)
	}
	a := append(append([]string{}, args...), "-b", root, tr.rel)
	if kmod {
		if out, err := exec.Command(need(t, "depmod"), a...).CombinedOutput(); err != nil {
			t.Fatalf("depmod %v: %v\n%s", a, err, out)
		}
	} else {
		var o, e bytes.Buffer
		if code := cliMain(append([]string{"depmod"}, a...), &o, &e); code != 0 {
			t.Fatalf("kmodscope depmod %v: exit %d\n%s", a, code, e.String())
		}
	}
	return dir
}

// diffTrees are the trees the --diff tests use: the fixtures, the corpus
// and the complete plain 6.1 tree (the .ko.xz trees are left to
// TestDepmodTrees: each run there takes many seconds).
func diffTrees(t *testing.T) []depmodTree {
	var out []depmodTree
	for _, tr := range depmodTrees(t) {
		if tr.full && !strings.HasPrefix(tr.name, "deb-6.1-") {
			continue
		}
		out = append(out, tr)
	}
	return out
}

func diffSummary(diffs []depmod.FileDiff) string {
	var b bytes.Buffer
	depmod.FormatDiff(&b, diffs, "A", "B")
	s := b.String()
	if len(s) > 2000 {
		s = s[:2000] + "..."
	}
	return s
}

// TestDepmodDiff: kmod's and kmodscope's index sets of the same tree are
// equal for --diff (and so is kmodscope's kmod-34 layout, but for the
// added modules.weakdep); after removing one module, the differences
// against kmod's full set are exactly that module's lines and keys, as
// kmod's own text files list them.
func TestDepmodDiff(t *testing.T) {
	for _, tr := range diffTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			a := indexTree(t, tr, true, nil)
			b := indexTree(t, tr, false, nil)
			diffs, err := depmod.Diff(a, b)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				if d.Status != "same" {
					t.Errorf("kmod vs kmodscope: %s", diffSummary(diffs))
					break
				}
			}
			if len(diffs) != len(depmod.Files) {
				t.Errorf("compared %d files, want the %d kmod 30 writes", len(diffs), len(depmod.Files))
			}
			var o, e bytes.Buffer
			if code := cliMain([]string{"depmod", "--diff", a, b}, &o, &e); code != 0 || o.Len() != 0 {
				t.Errorf("depmod --diff on equal sets: exit %d, stdout %q, stderr %q", code, o.String(), e.String())
			}
			c := indexTree(t, tr, false, nil, "--compat", "34")
			diffs, err = depmod.Diff(a, c)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range diffs {
				if want := map[bool]string{true: "only_in_b", false: "same"}[d.File == "modules.weakdep"]; d.Status != want {
					t.Errorf("kmod 30 vs kmodscope --compat 34: %s is %s, want %s", d.File, d.Status, want)
				}
			}
			removeOne(t, tr, a)
		})
	}
}

// removeOne removes a module nothing depends on from a copy of tr, indexes
// the copy with kmod's depmod and checks --diff against kmod's full set a.
func removeOne(t *testing.T, tr depmodTree, a string) {
	read := func(f string) []string {
		data, _ := os.ReadFile(filepath.Join(a, f))
		return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	}
	depLines := read("modules.dep")
	used := map[string]bool{}
	for _, l := range depLines {
		_, deps, _ := strings.Cut(l, ":")
		for _, d := range strings.Fields(deps) {
			used[d] = true
		}
	}
	aliases := map[string][]string{} // module -> alias patterns
	aliasOwners := map[string]int{}  // normalized alias -> modules
	for _, l := range read("modules.alias") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "alias" {
			aliases[f[2]] = append(aliases[f[2]], f[1])
			if n, err := modindex.AliasNormalize(f[1]); err == nil {
				aliasOwners[n]++
			}
		}
	}
	syms := map[string][]string{}
	for _, l := range read("modules.symbols") {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "alias" {
			syms[f[2]] = append(syms[f[2]], f[1])
		}
	}
	// Module names present more than once (another copy would take over).
	copies := map[string]int{}
	filepath.WalkDir(filepath.Join(tr.root, "lib", "modules", tr.rel), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.Contains(d.Name(), ".ko") {
			copies[modindex.ModnameNormalize(d.Name())]++
		}
		return nil
	})
	// A module no other module depends on, with aliases that are its own,
	// exporting symbols if possible.
	var victim, victimLine string
	best := -1
	for _, l := range depLines {
		path, _, _ := strings.Cut(l, ":")
		name := modindex.ModnameNormalize(filepath.Base(path))
		if used[path] || strings.HasPrefix(path, "/") || len(aliases[name]) == 0 || copies[name] != 1 {
			continue
		}
		own := true
		for _, p := range aliases[name] {
			if n, _ := modindex.AliasNormalize(p); aliasOwners[n] != 1 {
				own = false
			}
		}
		if score := len(syms[name]); own && score > best {
			victim, victimLine, best = path, l, score
		}
	}
	if victim == "" {
		t.Logf("no module without users and with aliases of its own: removal not checked")
		return
	}
	name := modindex.ModnameNormalize(filepath.Base(victim))
	e := indexTree(t, tr, true, func(dir string) {
		if err := os.Remove(filepath.Join(dir, victim)); err != nil {
			t.Fatal(err)
		}
	})
	diffs, err := depmod.Diff(a, e)
	if err != nil {
		t.Fatal(err)
	}
	// Expected: "FILE -KEY" per removed key, from kmod's text files.
	var want []string
	add := func(file, key string) { want = append(want, file+" -"+key) }
	add("modules.dep", victim)
	add("modules.dep.bin", name)
	for _, p := range aliases[name] {
		add("modules.alias", "alias "+p+" "+name)
		n, _ := modindex.AliasNormalize(p)
		add("modules.alias.bin", n)
	}
	for _, s := range syms[name] {
		add("modules.symbols", "alias "+s+" "+name)
		add("modules.symbols.bin", s)
	}
	for _, f := range []string{"modules.softdep", "modules.devname"} {
		for _, l := range read(f) {
			if strings.HasPrefix(l, "softdep "+name+" ") || strings.HasPrefix(l, name+" ") {
				add(f, l)
			}
		}
	}
	var got []string
	for _, d := range diffs {
		for _, r := range d.Removed {
			got = append(got, d.File+" -"+r.Key)
			if d.File == "modules.dep.bin" && (len(r.Values) != 1 || r.Values[0] != victimLine) {
				t.Errorf("removed modules.dep.bin %s: values %q, want [%q]", r.Key, r.Values, victimLine)
			}
		}
		for _, r := range d.Added {
			got = append(got, d.File+" +"+r.Key)
		}
		for _, c := range d.Changed {
			got = append(got, d.File+" ~"+c.Key)
		}
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("removing %s: --diff found\n%s\nwant\n%s", victim, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var o, errb bytes.Buffer
	code := cliMain([]string{"depmod", "--diff", "--json", a, e}, &o, &errb)
	var doc struct {
		Schema string `json:"schema"`
		Equal  bool   `json:"equal"`
		Files  []struct {
			File    string `json:"file"`
			Removed []struct {
				Key string `json:"key"`
			} `json:"removed"`
		} `json:"files"`
	}
	if err := json.Unmarshal(o.Bytes(), &doc); err != nil || code != 3 || doc.Equal || doc.Schema != "kmodscope.depmod-diff/v1" {
		t.Errorf("depmod --diff --json after a removal: exit %d, %v, %s", code, err, o.String())
	}
	t.Logf("removed %s: %d differences, as expected", victim, len(got))
}

// TestDepmodCacheHarmless: kmod's depmod and modprobe work on a module
// directory holding kmodscope's cache: depmod rewrites the same indexes and
// leaves the cache alone, and modprobe answers as without it.
func TestDepmodCacheHarmless(t *testing.T) {
	trees := depmodTrees(t)
	if len(trees) > 2 {
		trees = trees[:2] // the fixtures and one corpus tree
	}
	modprobe := need(t, "modprobe")
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			a := indexTree(t, tr, true, nil)
			b := indexTree(t, tr, false, nil)
			cache, err := os.ReadFile(filepath.Join(b, depmod.CacheName))
			if err != nil {
				t.Fatalf("kmodscope depmod wrote no cache: %v", err)
			}
			journal, err := os.ReadFile(filepath.Join(b, depmod.JournalName))
			if err != nil {
				t.Fatalf("kmodscope depmod wrote no cache journal: %v", err)
			}
			rootB := filepath.Dir(filepath.Dir(filepath.Dir(b)))
			rootA := filepath.Dir(filepath.Dir(filepath.Dir(a)))
			for _, args := range [][]string{nil, {"-A"}, {"-a"}} {
				out, err := exec.Command(need(t, "depmod"), append(args, "-b", rootB, tr.rel)...).CombinedOutput()
				want, _ := exec.Command(need(t, "depmod"), append(args, "-b", rootA, tr.rel)...).CombinedOutput()
				if err != nil || string(bytes.ReplaceAll(out, []byte(rootB), []byte("R"))) != string(bytes.ReplaceAll(want, []byte(rootA), []byte("R"))) {
					t.Errorf("kmod depmod %v next to the cache: %v\n%s", args, err, out)
				}
			}
			ka, kb := collectDir(t, a), collectDir(t, b)
			for _, f := range depmod.Files {
				if !bytes.Equal(ka[f], kb[f]) {
					t.Errorf("kmod depmod next to the cache: %s differs", f)
				}
			}
			if !bytes.Equal(kb[depmod.CacheName], cache) || !bytes.Equal(kb[depmod.JournalName], journal) {
				t.Errorf("kmod depmod changed %s or %s", depmod.CacheName, depmod.JournalName)
			}
			var names []string
			for _, l := range strings.Split(string(ka["modules.dep"]), "\n") {
				if p, _, ok := strings.Cut(l, ":"); ok {
					names = append(names, modindex.ModnameNormalize(filepath.Base(p)))
				}
			}
			if len(names) > 40 {
				names = names[:40]
			}
			for _, n := range names {
				for _, mode := range []string{"--show-depends", "-R"} {
					ra, _ := exec.Command(modprobe, "-d", rootA, "-S", tr.rel, mode, n).CombinedOutput()
					rb, _ := exec.Command(modprobe, "-d", rootB, "-S", tr.rel, mode, n).CombinedOutput()
					if string(bytes.ReplaceAll(ra, []byte(rootA), []byte("R"))) != string(bytes.ReplaceAll(rb, []byte(rootB), []byte("R"))) {
						t.Errorf("modprobe %s %s: %q without the cache, %q with it", mode, n, ra, rb)
					}
				}
			}
			t.Logf("%d modules: kmod's depmod (plain, -A, -a) and modprobe (--show-depends, -R) unaffected by the cache", len(names))
		})
	}
}
