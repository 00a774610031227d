package depmod_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/modindex"
)

// These tests need no kmod: the conformance package compares the output
// with kmod's depmod byte for byte. Here: the write protocol (temporary
// files renamed into place, a killed run), -o, -A, and parsing of odd
// configuration and metadata files.

const rel = "6.1.0-unit"

// fixtureTree copies the committed fixtures into root/lib/modules/rel,
// copies times under distinct names (n*57 modules).
func fixtureTree(t testing.TB, root string, copies int) {
	wd, _ := os.Getwd()
	src := filepath.Join(filepath.Dir(wd), "testdata", "modules")
	files, _ := filepath.Glob(filepath.Join(src, "*", "*.ko*"))
	if len(files) == 0 {
		t.Fatal("no committed fixtures under testdata/modules")
	}
	for c := 0; c < copies; c++ {
		for _, f := range files {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			arch := filepath.Base(filepath.Dir(f))
			base := filepath.Base(f)
			i := strings.IndexByte(base, '.')
			name := fmt.Sprintf("%s-%s-%d%s", base[:i], arch, c, base[i:])
			dst := filepath.Join(root, "lib", "modules", rel, "kernel", arch, name)
			os.MkdirAll(filepath.Dir(dst), 0o755)
			if err := os.WriteFile(dst, data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func run(t testing.TB, o depmod.Options) (*depmod.Result, string) {
	var errb bytes.Buffer
	o.Stderr = &errb
	res, err := depmod.Run(&o)
	if err != nil {
		t.Fatalf("Run: %v\n%s", err, errb.String())
	}
	return res, errb.String()
}

func readAll(t testing.TB, dir string) map[string][]byte {
	out := map[string][]byte{}
	for _, f := range depmod.Files {
		data, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out[f] = data
	}
	return out
}

func TestIndexesParse(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 1)
	res, _ := run(t, depmod.Options{BaseDir: root, Release: rel})
	if res.Modules == 0 || len(res.Written) != len(depmod.Files) {
		t.Fatalf("indexed %d modules, wrote %v", res.Modules, res.Written)
	}
	dir := filepath.Join(root, "lib", "modules", rel)
	files := readAll(t, dir)
	lines := strings.Split(strings.TrimSuffix(string(files["modules.dep"]), "\n"), "\n")
	if len(lines) != res.Modules {
		t.Errorf("modules.dep has %d lines for %d modules", len(lines), res.Modules)
	}
	dep, err := modindex.ParseIndex(files["modules.dep.bin"])
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines {
		name := modindex.ModnameNormalize(filepath.Base(l[:strings.IndexByte(l, ':')]))
		if got, ok := dep.Search(name); !ok || got != l {
			t.Errorf("modules.dep.bin[%s] = %q, want %q", name, got, l)
		}
	}
	for _, f := range []string{"modules.alias.bin", "modules.symbols.bin"} {
		if _, err := modindex.ParseIndex(files[f]); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	// No modules.builtin: a 0-byte index, as kmod writes.
	if len(files["modules.builtin.bin"]) != 0 {
		t.Errorf("modules.builtin.bin is %d bytes without modules.builtin", len(files["modules.builtin.bin"]))
	}
	// Dry run: the text files, concatenated, on stdout.
	var out bytes.Buffer
	o := depmod.Options{BaseDir: root, Release: rel, DryRun: true, Stdout: &out}
	if _, err := depmod.Run(&o); err != nil {
		t.Fatal(err)
	}
	want := string(files["modules.dep"]) + string(files["modules.alias"]) + string(files["modules.softdep"]) + string(files["modules.symbols"]) + string(files["modules.devname"])
	if out.String() != want {
		t.Errorf("-n output differs from the files written")
	}
	// Preorder layout: same content.
	pre := t.TempDir()
	run(t, depmod.Options{BaseDir: root, OutDir: pre, Release: rel, Preorder: true})
	a, _ := modindex.OpenIndex(filepath.Join(dir, "modules.alias.bin"))
	b, err := modindex.OpenIndex(filepath.Join(pre, "lib", "modules", rel, "modules.alias.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var da, db bytes.Buffer
	a.Dump(&da, "")
	b.Dump(&db, "")
	if da.String() != db.String() || da.Len() == 0 {
		t.Errorf("pre-order alias index dumps differently")
	}
}

func TestOutdir(t *testing.T) {
	root, out := t.TempDir(), filepath.Join(t.TempDir(), "new")
	fixtureTree(t, root, 1)
	run(t, depmod.Options{BaseDir: root, Release: rel})
	res, _ := run(t, depmod.Options{BaseDir: root, OutDir: out, Release: rel})
	if res.Dirname != filepath.Join(root, "lib", "modules", rel) {
		t.Errorf("Dirname %s", res.Dirname)
	}
	a := readAll(t, filepath.Join(root, "lib", "modules", rel))
	b := readAll(t, filepath.Join(out, "lib", "modules", rel))
	for _, f := range depmod.Files {
		if !bytes.Equal(a[f], b[f]) {
			t.Errorf("-o: %s differs", f)
		}
	}
}

func TestQuick(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	// No modules.dep yet: kmod's error, then a full run.
	res, msg := run(t, depmod.Options{BaseDir: root, Release: rel, Quick: true})
	if res.UpToDate || len(res.Written) == 0 || !strings.Contains(msg, "could not fstatat(") {
		t.Fatalf("first -A run: %+v %q", res, msg)
	}
	past := time.Now().Add(-time.Hour)
	mods, _ := filepath.Glob(filepath.Join(dir, "kernel", "*", "*"))
	for _, m := range mods {
		os.Chtimes(m, past, past)
	}
	if res, _ := run(t, depmod.Options{BaseDir: root, Release: rel, Quick: true}); !res.UpToDate || res.Written != nil {
		t.Errorf("-A on an up-to-date tree: %+v", res)
	}
	future := time.Now().Add(time.Hour)
	os.Chtimes(mods[len(mods)/2], future, future)
	if res, _ := run(t, depmod.Options{BaseDir: root, Release: rel, Quick: true}); res.UpToDate || len(res.Written) != len(depmod.Files) {
		t.Errorf("-A after touching a module: %+v", res)
	}
}

// TestKilledRun kills a depmod child at random moments while it rewrites a
// tree's indexes: every index file must then hold either the previous
// complete content or the new one, never a mix or a truncated file.
func TestKilledRun(t *testing.T) {
	if os.Getenv("DEPMOD_CHILD_ROOT") != "" {
		_, err := depmod.Run(&depmod.Options{BaseDir: os.Getenv("DEPMOD_CHILD_ROOT"), Release: rel})
		if err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	copies := 8
	if testing.Short() {
		copies = 2
	}
	root := t.TempDir()
	fixtureTree(t, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	run(t, depmod.Options{BaseDir: root, Release: rel})
	old := readAll(t, dir)
	// The new tree has more modules, so every index changes.
	full := t.TempDir()
	fixtureTree(t, full, copies)
	run(t, depmod.Options{BaseDir: full, Release: rel})
	next := readAll(t, filepath.Join(full, "lib", "modules", rel))
	os.RemoveAll(filepath.Join(dir, "kernel"))
	if err := os.Rename(filepath.Join(full, "lib", "modules", rel, "kernel"), filepath.Join(dir, "kernel")); err != nil {
		t.Fatal(err)
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestKilledRun$")
		cmd.Env = append(os.Environ(), "DEPMOD_CHILD_ROOT="+root)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// One complete child run gives the time window to kill in.
	start := time.Now()
	if err := child().Wait(); err != nil {
		t.Fatal(err)
	}
	window := time.Since(start)
	if got := readAll(t, dir); !bytes.Equal(got["modules.dep"], next["modules.dep"]) {
		t.Fatal("child run did not write the new modules.dep")
	}
	for f, data := range old {
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	rng := rand.New(rand.NewSource(1))
	sawOld, sawNew := 0, 0
	rounds := 16
	if testing.Short() {
		rounds = 4
	}
	for i := 0; i < rounds; i++ {
		cmd := child()
		// Most of the window is start-up and reading; aim at its end.
		time.Sleep(window/2 + time.Duration(rng.Int63n(int64(window)*7/10)))
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, f := range depmod.Files {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("after kill %d: %s: %v", i, f, err)
			}
			switch {
			case bytes.Equal(data, old[f]):
				sawOld++
			case bytes.Equal(data, next[f]):
				sawNew++
			default:
				t.Fatalf("after kill %d: %s is neither the previous nor the new index (%d bytes)", i, f, len(data))
			}
		}
		// Restore the previous set for the next round.
		for f, data := range old {
			os.WriteFile(filepath.Join(dir, f), data, 0o644)
		}
		tmps, _ := filepath.Glob(filepath.Join(dir, "modules.*.*.*.*"))
		for _, p := range tmps {
			os.Remove(p)
		}
	}
	t.Logf("child run %v; after kills, index files intact: %d previous, %d new", window, sawOld, sawNew)
}

// FuzzInputs feeds arbitrary depmod.d, modules.order, modules.builtin,
// modules.builtin.modinfo and Module.symvers/System.map contents to a run
// over the committed fixtures: no panic, and every index written parses.
func FuzzInputs(f *testing.F) {
	f.Add("search updates built-in\noverride crc7 * kernel\nexclude x\n", "kernel/amd64/crc7-amd64-0.ko\n", "kernel/fs/ext4.ko\n", "ext4.alias=fs-ext4\x00", "0x1234\tfoo\tvmlinux\tEXPORT_SYMBOL\t\n", false)
	f.Add("search \\\nexternal\nexternal * /nonexistent\n", "no newline", "1bad\n", "x.alias=[\x00y.\x00", "ffff r __ksymtab_foo\nbad\n", true)
	f.Add("", "\n\n", "", "", "", false)
	f.Fuzz(func(t *testing.T, conf, order, builtin, bmodinfo, syms string, sysmap bool) {
		root := fuzzRoot(t)
		dir := filepath.Join(root, "lib", "modules", rel)
		cdir := t.TempDir()
		os.WriteFile(filepath.Join(cdir, "f.conf"), []byte(conf), 0o644)
		os.WriteFile(filepath.Join(dir, "modules.order"), []byte(order), 0o644)
		os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte(builtin), 0o644)
		os.WriteFile(filepath.Join(dir, "modules.builtin.modinfo"), []byte(bmodinfo), 0o644)
		sp := filepath.Join(cdir, "syms")
		os.WriteFile(sp, []byte(syms), 0o644)
		o := depmod.Options{BaseDir: root, Release: rel, ConfigPaths: []string{cdir}, ErrSyms: true}
		if sysmap {
			o.SystemMap = sp
		} else {
			o.Symvers = sp
		}
		res, err := depmod.Run(&o)
		if err != nil {
			return
		}
		for _, w := range res.Written {
			if !strings.HasSuffix(w, ".bin") {
				continue
			}
			data, _ := os.ReadFile(filepath.Join(dir, w))
			if len(data) == 0 && strings.HasPrefix(w, "modules.builtin") {
				continue
			}
			if _, err := modindex.ParseIndex(data); err != nil {
				t.Fatalf("%s does not parse: %v", w, err)
			}
		}
	})
}

func fuzzRoot(t *testing.T) string {
	root := t.TempDir()
	fixtureTree(t, root, 1)
	return root
}

// TestCache: after touching, replacing, deleting and adding modules, a run
// with the cache writes exactly what a clean run writes and reads only the
// changed files; a corrupt or foreign cache is ignored with a warning.
func TestCache(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 2)
	dir := filepath.Join(root, "lib", "modules", rel)
	clean := func() map[string][]byte {
		out := t.TempDir()
		run(t, depmod.Options{BaseDir: root, OutDir: out, Release: rel})
		return readAll(t, filepath.Join(out, "lib", "modules", rel))
	}
	cached := func(wantRead int, step string) string {
		t.Helper()
		res, msg := run(t, depmod.Options{BaseDir: root, Release: rel, Cache: true})
		if res.Read != wantRead || res.Read+res.Cached != res.Modules {
			t.Errorf("%s: read %d, cached %d of %d modules; want %d read", step, res.Read, res.Cached, res.Modules, wantRead)
		}
		got, want := readAll(t, dir), clean()
		for _, f := range depmod.Files {
			if !bytes.Equal(got[f], want[f]) {
				t.Errorf("%s: %s differs from a clean run", step, f)
			}
		}
		return msg
	}
	mods, _ := filepath.Glob(filepath.Join(dir, "kernel", "amd64", "*.ko"))
	if len(mods) < 4 {
		t.Fatalf("only %d amd64 fixtures", len(mods))
	}
	res, _ := run(t, depmod.Options{BaseDir: root, Release: rel, Cache: true})
	all := res.Modules
	if res.Read != all || !fileExistsT(filepath.Join(dir, depmod.CacheName)) {
		t.Fatalf("cold run read %d of %d, cache written: %v", res.Read, all, fileExistsT(filepath.Join(dir, depmod.CacheName)))
	}
	cached(0, "warm rerun")
	later := time.Now().Add(time.Minute)
	os.Chtimes(mods[0], later, later)
	cached(1, "touch")
	// Replace a module by another one's content under the same name.
	data, _ := os.ReadFile(mods[2])
	os.Remove(mods[1])
	os.WriteFile(mods[1], data, 0o644)
	cached(1, "replace")
	os.Remove(mods[3])
	cached(0, "delete")
	os.WriteFile(filepath.Join(dir, "kernel", "amd64", "newmod.ko"), data, 0o644)
	cached(1, "add")
	// Corrupt caches: flipped byte, truncated, foreign.
	cp := filepath.Join(dir, depmod.CacheName)
	good, _ := os.ReadFile(cp)
	for name, bad := range map[string][]byte{
		"flipped":   append(append([]byte{}, good[:len(good)/2]...), append([]byte{good[len(good)/2] ^ 1}, good[len(good)/2+1:]...)...),
		"truncated": good[:len(good)-40],
		"foreign":   []byte("#!/bin/sh\necho not a cache\n"),
	} {
		os.WriteFile(cp, bad, 0o644)
		if msg := cached(all, name); !strings.Contains(msg, "WARNING: ignoring cache") {
			t.Errorf("%s cache: no warning, stderr %q", name, msg)
		}
	}
}

func fileExistsT(p string) bool { _, err := os.Stat(p); return err == nil }
