package modindex

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// These tests compare the package with the real kmod 30 tools installed
// on the machine (depmod, modinfo, modprobe). Index files are created at
// test time by running the real depmod on a private copy of a module tree.

type realTree struct {
	name string
	root string // copy root (depmod -b)
	rel  string
	dir  string // root/lib/modules/rel
}

var (
	treesOnce sync.Once
	trees     []*realTree
	treesErr  error
	treesTmp  string
)

func TestMain(m *testing.M) {
	code := m.Run()
	if treesTmp != "" {
		os.RemoveAll(treesTmp)
	}
	os.Exit(code)
}

func needTools(t testing.TB) {
	t.Helper()
	for _, tool := range []string{"depmod", "modinfo", "modprobe"} {
		if _, err := exec.LookPath(tool); err != nil {
			if _, err := os.Stat("/usr/sbin/" + tool); err != nil {
				t.Skipf("%s not available", tool)
			}
		}
	}
}

func tool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	return "/usr/sbin/" + name
}

// copyModuleDir copies src (a lib/modules/REL directory) to dst. Module
// files are hard-linked when possible, otherwise copied.
func copyModuleDir(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(target, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			l, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(l, target)
		case strings.HasSuffix(d.Name(), ".bin") || d.Name() == "modules.dep" || d.Name() == "modules.alias" ||
			d.Name() == "modules.symbols" || d.Name() == "modules.devname" || d.Name() == "modules.softdep":
			return nil // never take depmod output from the source
		}
		if strings.Contains(d.Name(), ".ko") {
			if os.Link(p, target) == nil {
				return nil
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
}

func setupTrees(t testing.TB) []*realTree {
	t.Helper()
	needTools(t)
	treesOnce.Do(func() {
		tmp, err := os.MkdirTemp("", "modindex-test-")
		if err != nil {
			treesErr = err
			return
		}
		treesTmp = tmp
		type src struct{ name, root string }
		srcs := []src{
			{"amd64", "/work/shared/corpus/debian/amd64"},
			{"arm64", "/work/shared/corpus/debian/arm64"},
			{"s390x", "/work/shared/corpus/debian/s390x"},
		}
		if m, _ := filepath.Glob("/var/cache/kmodscope/deb-6.1-amd64/.complete-*"); len(m) > 0 && !testing.Short() {
			srcs = append(srcs, src{"deb-6.1-amd64-full", "/var/cache/kmodscope/deb-6.1-amd64"})
		}
		for _, s := range srcs {
			rels, _ := os.ReadDir(filepath.Join(s.root, "lib/modules"))
			if len(rels) == 0 {
				continue
			}
			rel := rels[0].Name()
			root := filepath.Join(tmp, s.name)
			dir := filepath.Join(root, "lib/modules", rel)
			if err := copyModuleDir(filepath.Join(s.root, "lib/modules", rel), dir); err != nil {
				treesErr = fmt.Errorf("copy %s: %v", s.name, err)
				return
			}
			out, err := exec.Command(tool("depmod"), "-b", root, rel).CombinedOutput()
			if err != nil {
				treesErr = fmt.Errorf("depmod %s: %v\n%s", s.name, err, out)
				return
			}
			trees = append(trees, &realTree{name: s.name, root: root, rel: rel, dir: dir})
		}
	})
	if treesErr != nil {
		t.Fatal(treesErr)
	}
	if len(trees) == 0 {
		t.Skip("no module trees available")
	}
	return trees
}

// modprobeIndexDump returns the part of `modprobe -c` after the
// configuration (the host's /etc/modprobe.d is also read, so only the
// index part is comparable).
func modprobeIndexDump(t *testing.T, tr *realTree) string {
	out, err := exec.Command(tool("modprobe"), "-d", tr.root, "-S", tr.rel, "-c").Output()
	if err != nil {
		t.Fatalf("modprobe -c: %v", err)
	}
	const marker = "# End of configuration files. Dumping indexes now:\n\n"
	i := bytes.Index(out, []byte(marker))
	if i < 0 {
		t.Fatalf("modprobe -c output has no index marker")
	}
	return string(out[i+len(marker):])
}

func TestDumpMatchesModprobe(t *testing.T) {
	for _, tr := range setupTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			want := modprobeIndexDump(t, tr)
			var got bytes.Buffer
			for _, f := range []string{AliasBin, SymbolsBin} {
				ix, err := OpenIndex(filepath.Join(tr.dir, f))
				if err != nil {
					t.Fatal(err)
				}
				if err := ix.Dump(&got, DumpPrefix[f]); err != nil {
					t.Fatal(err)
				}
			}
			if got.String() != want {
				t.Errorf("dump differs from modprobe -c (%d vs %d bytes)\n%s", got.Len(), len(want), firstDiff(got.String(), want))
			}
		})
	}
}

func firstDiff(a, b string) string {
	al, bl := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := 0; i < len(al) && i < len(bl); i++ {
		if al[i] != bl[i] {
			return fmt.Sprintf("line %d: got %q want %q", i+1, al[i], bl[i])
		}
	}
	return fmt.Sprintf("lengths %d vs %d lines", len(al), len(bl))
}

// concretize turns an alias pattern into a string it matches: '*' becomes
// "X", '?' becomes "Z", a bracket expression its first member.
func concretize(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		switch p[i] {
		case '*':
			b.WriteString("X")
		case '?':
			b.WriteByte('Z')
		case '[':
			j := strings.IndexByte(p[i:], ']')
			if j < 2 {
				b.WriteByte('[')
				continue
			}
			b.WriteByte(p[i+1])
			i += j
		default:
			b.WriteByte(p[i])
		}
	}
	return b.String()
}

func readLines(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

// lookupArgs builds the argument list for a tree: module names (also with
// '-' for '_'), alias strings and patterns, symbols, builtin names,
// builtin aliases, and names that are not found or invalid.
func lookupArgs(tr *realTree, limit int) []string {
	seen := map[string]bool{}
	var args []string
	add := func(s string) {
		if s != "" && !seen[s] && !strings.ContainsAny(s, "\x00") {
			seen[s] = true
			args = append(args, s)
		}
	}
	var names, aliases, aliasPats, symbols, builtins, baliases []string
	for _, l := range readLines(filepath.Join(tr.dir, "modules.dep")) {
		if i := strings.IndexByte(l, ':'); i > 0 {
			names = append(names, ModnameNormalize(filepath.Base(l[:i])))
		}
	}
	for _, l := range readLines(filepath.Join(tr.dir, "modules.alias")) {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "alias" {
			aliasPats = append(aliasPats, f[1])
			aliases = append(aliases, concretize(f[1]))
		}
	}
	for _, l := range readLines(filepath.Join(tr.dir, "modules.symbols")) {
		f := strings.Fields(l)
		if len(f) == 3 && f[0] == "alias" {
			symbols = append(symbols, f[1])
		}
	}
	for _, l := range readLines(filepath.Join(tr.dir, "modules.builtin")) {
		builtins = append(builtins, ModnameNormalize(filepath.Base(l)))
	}
	if data, err := os.ReadFile(filepath.Join(tr.dir, BuiltinModinfoFile)); err == nil {
		for _, s := range strings.Split(string(data), "\x00") {
			if i := strings.Index(s, ".alias="); i > 0 {
				baliases = append(baliases, concretize(s[i+len(".alias="):]))
			}
		}
	}
	pick := func(list []string, n int, f func(string)) {
		if len(list) == 0 {
			return
		}
		step := len(list)/n + 1
		for i := 0; i < len(list); i += step {
			f(list[i])
		}
	}
	per := limit / 8
	pick(names, per, func(s string) { add(s); add(strings.ReplaceAll(s, "_", "-")) })
	pick(aliases, per, add)
	pick(aliasPats, per/2, add)
	pick(symbols, per, add)
	pick(builtins, per, func(s string) { add(s); add(strings.ReplaceAll(s, "_", "-")) })
	pick(baliases, per, add)
	for _, s := range []string{
		"no_such_module", "no-such-module", "ext4:x", "pci:v00008086d000010D3sv00001234sd00005678bc02sc00i00",
		"symbol:jbd2_journal_start", "symbol:crc16", "symbol:no_such_symbol", "symbol:*", "symbol:jbd2_*",
		"foo]", "a[b", "a[b-c]d", "char-major-10-237", "char-major-116-1", "fs-ext4", "crc32c", "crypto-crc32c",
		"*", "?", "[a-z]*", "ext4.ko", "ext4.ko.gz", "/no/such/x.ko", "ext[34]", "devname:fuse", "fs-*",
		"zswap", "mmiotrace", "virtio", "kernel", "mod:x", "usb:v*", "pci:*", "acpi*:PNP0C0A:*", "netdev-dummy0",
	} {
		add(s)
	}
	return args
}

type toolResult struct {
	stdout, stderr string
	code           int
}

func runTool(t *testing.T, name string, args ...string) toolResult {
	cmd := exec.Command(tool(name), args...)
	var so, se bytes.Buffer
	cmd.Stdout, cmd.Stderr = &so, &se
	err := cmd.Run()
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("%s: %v", name, err)
		}
		code = ee.ExitCode()
	}
	return toolResult{so.String(), se.String(), code}
}

// expectFromLookup renders what modinfo -F filename prints for a Lookup.
func expectFromLookup(res []Result, err error) toolResult {
	if err != nil {
		var le *LookupError
		if errors.As(err, &le) {
			return toolResult{"", "modinfo: ERROR: " + le.ModinfoMessage() + "\n", 1}
		}
		return toolResult{"", "error: " + err.Error(), -1}
	}
	var b strings.Builder
	for _, r := range res {
		if r.Path == "" {
			b.WriteString("(builtin)\n")
		} else {
			b.WriteString(r.Path + "\n")
		}
	}
	return toolResult{b.String(), "", 0}
}

func compareLookups(t *testing.T, root, rel, dir string, args []string) {
	t.Helper()
	n := 0
	for _, arg := range args {
		for _, nameOnly := range []bool{false, true} {
			targs := []string{"-b", root, "-k", rel, "-F", "filename"}
			if nameOnly {
				targs = append(targs, "-m")
			}
			targs = append(targs, "--", arg)
			want := runTool(t, "modinfo", targs...)
			res, err := Lookup(dir, arg, nameOnly)
			got := expectFromLookup(res, err)
			if got != want {
				t.Errorf("Lookup(%q, nameOnly=%v):\n got  %q %q %d\n want %q %q %d", arg, nameOnly,
					got.stdout, got.stderr, got.code, want.stdout, want.stderr, want.code)
			}
			n++
		}
	}
	t.Logf("%d lookups compared with modinfo", n)
}

func TestLookupMatchesModinfo(t *testing.T) {
	for _, tr := range setupTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			limit := 400
			if testing.Short() {
				limit = 80
			}
			args := lookupArgs(tr, limit)
			compareLookups(t, tr.root, tr.rel, tr.dir, args)
		})
	}
}

// TestLookupDamagedIndexes compares Lookup with modinfo when index files
// are missing or empty.
func TestLookupDamagedIndexes(t *testing.T) {
	tr := setupTrees(t)[0]
	args := lookupArgs(tr, 40)
	variants := []struct {
		name   string
		change map[string]string // file -> "missing" | "empty" | "short" | "badmagic"
	}{
		{"no-dep", map[string]string{DepBin: "missing"}},
		{"empty-dep", map[string]string{DepBin: "empty"}},
		{"empty-alias", map[string]string{AliasBin: "empty"}},
		{"short-symbols", map[string]string{SymbolsBin: "short"}},
		{"empty-builtin", map[string]string{BuiltinBin: "empty"}},
		{"badmagic-builtin-alias", map[string]string{BuiltinAliasBin: "badmagic"}},
		{"no-builtin-alias-no-alias", map[string]string{BuiltinAliasBin: "missing", AliasBin: "missing"}},
		{"all-empty", map[string]string{DepBin: "empty", AliasBin: "empty", SymbolsBin: "empty", BuiltinBin: "empty", BuiltinAliasBin: "empty"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "lib/modules", tr.rel)
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			// Dependencies must exist, or libkmod logs errors while
			// parsing modules.dep lines.
			if err := os.Symlink(filepath.Join(tr.dir, "kernel"), filepath.Join(dir, "kernel")); err != nil {
				t.Fatal(err)
			}
			for _, f := range []string{DepBin, AliasBin, SymbolsBin, BuiltinBin, BuiltinAliasBin} {
				data, err := os.ReadFile(filepath.Join(tr.dir, f))
				if err != nil {
					t.Fatal(err)
				}
				switch v.change[f] {
				case "missing":
					continue
				case "empty":
					data = nil
				case "short":
					data = data[:8]
				case "badmagic":
					data = append([]byte{0xB0, 0x07, 0xFA, 0x57}, data[4:]...)
				}
				if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			compareLookups(t, root, tr.rel, dir, args)
		})
	}
}

// TestBuiltinModinfoMatchesModinfo compares Lookup on
// modules.builtin.modinfo with `modinfo -0` for builtin modules.
func TestBuiltinModinfoMatchesModinfo(t *testing.T) {
	for _, tr := range setupTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			bm, err := OpenBuiltinModinfo(filepath.Join(tr.dir, BuiltinModinfoFile))
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, l := range readLines(filepath.Join(tr.dir, "modules.builtin")) {
				names = append(names, ModnameNormalize(filepath.Base(l)))
			}
			step := 1
			if len(names) > 150 {
				step = len(names) / 150
			}
			n := 0
			for i := 0; i < len(names); i += step {
				name := names[i]
				want := runTool(t, "modinfo", "-0", "-m", "-b", tr.root, "-k", tr.rel, name)
				kv, err := bm.Lookup(name)
				if errors.Is(err, ErrBuiltinNotFound) {
					wantErr := "modinfo: ERROR: could not get modinfo from '" + name + "': Function not implemented\n"
					if want.code != 1 || want.stderr != wantErr {
						t.Errorf("%s: Lookup says not found, modinfo: %q %d", name, want.stderr, want.code)
					}
					n++
					continue
				}
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if want.code != 0 {
					t.Errorf("%s: modinfo failed: %q", name, want.stderr)
					continue
				}
				fields := strings.Split(strings.TrimSuffix(want.stdout, "\x00"), "\x00")
				// name: and filename: come first; parm: lines last.
				var gotNonParm []string
				nParm := 0
				for _, e := range kv {
					if e.Key == "parm" || e.Key == "parmtype" {
						nParm++
						continue
					}
					gotNonParm = append(gotNonParm, e.Key+"="+e.Value)
				}
				if len(fields) < 2 || !strings.HasPrefix(fields[0], "name:") || !strings.HasSuffix(fields[1], "(builtin)") {
					t.Errorf("%s: unexpected modinfo header %q", name, fields)
					continue
				}
				var wantNonParm []string
				for _, f := range fields[2:] {
					if !strings.HasPrefix(f, "parm:") {
						wantNonParm = append(wantNonParm, f)
					}
				}
				if strings.Join(gotNonParm, "\n") != strings.Join(wantNonParm, "\n") {
					t.Errorf("%s:\n got  %q\n want %q", name, gotNonParm, wantNonParm)
				}
				n++
			}
			t.Logf("%d builtin modules compared", n)
		})
	}
}

// TestRealIndexesParse checks every real index parses, that exact Search
// agrees with the text files depmod wrote next to them, and the
// post-order layout against the test writer.
func TestRealIndexesParse(t *testing.T) {
	for _, tr := range setupTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			for _, f := range []string{DepBin, AliasBin, SymbolsBin, BuiltinBin, BuiltinAliasBin} {
				data, err := os.ReadFile(filepath.Join(tr.dir, f))
				if err != nil {
					t.Fatal(err)
				}
				ix, err := ParseIndex(data)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				// Rewriting in both layouts and re-reading gives the same dump.
				entries := collectEntries(t, ix)
				post := writeIndex(entries, false)
				if !bytes.Equal(post, data) {
					t.Errorf("%s: test writer does not reproduce depmod's bytes", f)
				}
				pre, err := ParseIndex(writeIndex(entries, true))
				if err != nil {
					t.Fatalf("%s pre-order: %v", f, err)
				}
				var a, b bytes.Buffer
				ix.Dump(&a, "")
				pre.Dump(&b, "")
				if a.String() != b.String() {
					t.Errorf("%s: pre-order dump differs", f)
				}
			}
			dep, _ := OpenIndex(filepath.Join(tr.dir, DepBin))
			for _, l := range readLines(filepath.Join(tr.dir, "modules.dep")) {
				i := strings.IndexByte(l, ':')
				name := ModnameNormalize(filepath.Base(l[:i]))
				got, ok := dep.Search(name)
				if !ok || got != l {
					t.Errorf("dep Search(%q) = %q, %v; want %q", name, got, ok, l)
				}
			}
		})
	}
}

// collectEntries lists (key, value, priority) in dump order.
func collectEntries(t testing.TB, ix *Index) []testEntry {
	var out []testEntry
	var walk func(n *node, key string)
	walk = func(n *node, key string) {
		key += n.prefix
		for _, v := range n.values {
			out = append(out, testEntry{key, v.Value, v.Priority})
		}
		for ch := n.first; ch <= n.last; ch++ {
			if c := n.children[ch-n.first]; c != nil {
				walk(c, key+string(rune(ch)))
			}
		}
	}
	if ix.root != nil {
		walk(ix.root, "")
	}
	return out
}

func BenchmarkLookup(b *testing.B) {
	trs := setupTrees(b)
	tr := trs[len(trs)-1]
	args := lookupArgs(tr, 80)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, a := range args {
			Lookup(tr.dir, a, false)
		}
	}
	b.ReportMetric(float64(len(args)), "args/op")
}
