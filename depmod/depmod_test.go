package depmod_test

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
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

// buildCLI builds cmd/kmodscope into a temporary directory.
func buildCLI(t *testing.T) string {
	gobin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(gobin); err != nil {
		if gobin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go tool to build cmd/kmodscope")
		}
	}
	bin := filepath.Join(t.TempDir(), "kmodscope")
	cmd := exec.Command(gobin, "build", "-o", bin, "../cmd/kmodscope")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// tempName matches the temporary files a run writes: kmod's
// NAME.PID.USEC.SEC for the indexes, CacheName.PID and JournalName.PID
// for the cache.
var tempName = regexp.MustCompile(`^modules\.[a-z.-]+\.[0-9]+(\.[0-9]+\.[0-9]+)?$`)

// TestKilledRun builds the kmodscope binary and SIGKILLs `kmodscope depmod`
// at random moments while it re-indexes a grown tree (with and without a
// cache from the previous run): every index file must then hold either the
// previous complete content or the new one, never a mix or a truncated
// file; anything else left in the directory is a temporary file, which no
// reader takes for an index; and the next run writes the new set and
// removes the temporary files of the killed runs.
func TestKilledRun(t *testing.T) {
	bin := buildCLI(t)
	copies, rounds := 8, 12
	if testing.Short() {
		copies, rounds = 3, 4
	}
	root := t.TempDir()
	fixtureTree(t, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	// The previous indexes and cache, as the binary leaves them.
	if out, err := exec.Command(bin, "depmod", "-b", root, rel).CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	old := readAll(t, dir)
	// The new tree has more modules, so every index changes.
	full := t.TempDir()
	fixtureTree(t, full, copies)
	run(t, depmod.Options{BaseDir: full, Release: rel})
	next := readAll(t, filepath.Join(full, "lib", "modules", rel))
	oldCache, err := os.ReadFile(filepath.Join(dir, depmod.CacheName))
	if err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "kernel"))
	if err := os.Rename(filepath.Join(full, "lib", "modules", rel, "kernel"), filepath.Join(dir, "kernel")); err != nil {
		t.Fatal(err)
	}
	child := func() *exec.Cmd {
		cmd := exec.Command(bin, "depmod", "-b", root, rel)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	restore := func(withCache bool) {
		for f, data := range old {
			os.WriteFile(filepath.Join(dir, f), data, 0o644)
		}
		os.Remove(filepath.Join(dir, depmod.CacheName))
		if withCache {
			os.WriteFile(filepath.Join(dir, depmod.CacheName), oldCache, 0o644)
		}
	}
	// One complete cold run gives the time window to kill in.
	restore(false)
	start := time.Now()
	if err := child().Wait(); err != nil {
		t.Fatal(err)
	}
	window := time.Since(start)
	if got := readAll(t, dir); !bytes.Equal(got["modules.dep"], next["modules.dep"]) {
		t.Fatal("child run did not write the new modules.dep")
	}
	rng := rand.New(rand.NewSource(time.Now().UnixNano()))
	sawOld, sawNew, temps := 0, 0, 0
	for i := 0; i < rounds; i++ {
		restore(i%2 == 1)
		cmd := child()
		var at time.Duration
		if i%4 < 2 {
			// Anywhere in the run.
			at = time.Duration(rng.Int63n(int64(window) * 11 / 10))
			time.Sleep(at)
		} else {
			// In the write phase: once the first temporary file (the
			// cache's or an index's) appears, within a few ms.
			pid := fmt.Sprint(cmd.Process.Pid)
			t0 := time.Now()
			for time.Since(t0) < 2*window {
				names, _ := os.ReadDir(dir)
				hit := false
				for _, e := range names {
					if tempName.MatchString(e.Name()) && strings.Contains(e.Name(), "."+pid) {
						hit = true
					}
				}
				if hit {
					break
				}
				time.Sleep(200 * time.Microsecond)
			}
			time.Sleep(time.Duration(rng.Int63n(int64(3 * time.Millisecond))))
			at = time.Since(t0)
		}
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		for _, f := range depmod.Files {
			data, err := os.ReadFile(filepath.Join(dir, f))
			if err != nil {
				t.Fatalf("kill %d at %v: %s: %v", i, at, f, err)
			}
			switch {
			case bytes.Equal(data, old[f]):
				sawOld++
			case bytes.Equal(data, next[f]):
				sawNew++
			default:
				t.Fatalf("kill %d at %v: %s is neither the previous nor the new index (%d bytes)", i, at, f, len(data))
			}
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			n := e.Name()
			if e.IsDir() || n == depmod.CacheName || n == depmod.JournalName || old[n] != nil {
				continue
			}
			if !tempName.MatchString(n) {
				t.Errorf("kill %d: unexpected file %s", i, n)
			}
			temps++
		}
	}
	// The next run completes: the new set, a trusted cache (no warning),
	// and no temporary file of a killed run left.
	var errb bytes.Buffer
	cmd := exec.Command(bin, "depmod", "-b", root, rel)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil || strings.Contains(errb.String(), "cache") {
		t.Fatalf("run after the kills: %v, stderr %q", err, errb.String())
	}
	got := readAll(t, dir)
	for _, f := range depmod.Files {
		if !bytes.Equal(got[f], next[f]) {
			t.Errorf("after the kills: %s is not the new index", f)
		}
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if tempName.MatchString(e.Name()) {
			t.Errorf("after a complete run: temporary file %s left", e.Name())
		}
	}
	t.Logf("cold run %v; %d kills: index files intact, %d previous, %d new; %d temporary files left by kills", window, rounds, sawOld, sawNew, temps)
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
// with the cache writes exactly what a clean run writes and opens exactly
// the changed files (seen through the read hook); a corrupt, foreign or
// mismatched cache is ignored with one warning and rewritten.
func TestCache(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 2)
	dir := filepath.Join(root, "lib", "modules", rel)
	var mu sync.Mutex
	var opened []string
	depmod.SetReadHook(func(p string) { mu.Lock(); opened = append(opened, p); mu.Unlock() })
	defer depmod.SetReadHook(nil)
	clean := func(o depmod.Options) map[string][]byte {
		out := t.TempDir()
		run(t, depmod.Options{BaseDir: root, OutDir: out, Release: rel, ConfigPaths: o.ConfigPaths, MaxSize: o.MaxSize})
		return readAll(t, filepath.Join(out, "lib", "modules", rel))
	}
	opts := depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "test"}
	lastReused := false
	reused := func(step string, want bool) {
		t.Helper()
		if lastReused != want {
			t.Errorf("%s: previous index files reused %v, want %v", step, lastReused, want)
		}
	}
	cached := func(step string, o depmod.Options, want ...string) string {
		t.Helper()
		opened = nil
		res, msg := run(t, o)
		lastReused = res.Reused
		got := append([]string{}, opened...)
		sort.Strings(got)
		sort.Strings(want)
		if len(want) == 1 && want[0] == "ALL" {
			if res.Cached != 0 || len(got) != res.Modules {
				t.Errorf("%s: opened %d files, %d modules cached; want all %d read", step, len(got), res.Cached, res.Modules)
			}
		} else if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s: opened %q, want %q", step, got, want)
		}
		if res.Read != len(got) || res.Read+res.Cached != res.Modules {
			t.Errorf("%s: Result says read %d, cached %d of %d; the hook saw %d opens", step, res.Read, res.Cached, res.Modules, len(got))
		}
		now, clean := readAll(t, dir), clean(o)
		for _, f := range depmod.Files {
			if !bytes.Equal(now[f], clean[f]) {
				t.Errorf("%s: %s differs from a clean run", step, f)
			}
		}
		return msg
	}
	mods, _ := filepath.Glob(filepath.Join(dir, "kernel", "amd64", "*.ko"))
	if len(mods) < 5 {
		t.Fatalf("only %d amd64 fixtures", len(mods))
	}
	cp := filepath.Join(dir, depmod.CacheName)
	// A temporary cache file of a killed run is never read and is removed.
	stale := cp + ".999999999"
	os.WriteFile(stale, []byte("garbage"), 0o644)
	res, _ := run(t, opts)
	all := res.Modules
	if res.Read != all || !fileExistsT(cp) {
		t.Fatalf("cold run read %d of %d, cache written: %v", res.Read, all, fileExistsT(cp))
	}
	if fileExistsT(stale) {
		t.Errorf("stale %s left in place", filepath.Base(stale))
	}
	cached("warm rerun", opts)
	reused("warm rerun", true)
	later := time.Now().Add(time.Minute)
	os.Chtimes(mods[0], later, later)
	cached("touch", opts, mods[0])
	reused("touch", true)
	// Inputs other than the modules, and index files changed behind the
	// cache's back: the indexes are computed again.
	for _, c := range []struct{ step, file, data string }{
		{"modules.order", "modules.order", "kernel/amd64/lrw-amd64-1.ko\nkernel/amd64/crc7-amd64-0.ko\n"},
		{"modules.builtin", "modules.builtin", "kernel/fs/ext4/ext4.ko\n"},
		{"modules.builtin.modinfo", "modules.builtin.modinfo", "ext4.alias=fs-ext4\x00"},
		{"edited modules.alias", "modules.alias", "# edited\n"},
		{"edited modules.dep.bin", "modules.dep.bin", "junk"},
	} {
		os.WriteFile(filepath.Join(dir, c.file), []byte(c.data), 0o644)
		cached(c.step, opts)
		reused(c.step, false)
	}
	cached("warm rerun after edits", opts)
	reused("warm rerun after edits", true)
	// The index files are checked against the memo by key (device, inode,
	// size, mtime and ctime, taken after the last run set their mtime),
	// else by content.
	var hashed []string
	depmod.SetSumHook(func(p string) { mu.Lock(); hashed = append(hashed, filepath.Base(p)); mu.Unlock() })
	defer depmod.SetSumHook(nil)
	hashedOnly := func(step string, want ...string) {
		t.Helper()
		sort.Strings(hashed)
		if strings.Join(hashed, " ") != strings.Join(want, " ") {
			t.Errorf("%s: index files read to check them: %q, want %q", step, hashed, want)
		}
		hashed = nil
	}
	hashed = nil
	cached("rerun", opts)
	reused("rerun", true)
	hashedOnly("rerun")
	sym := filepath.Join(dir, "modules.symbols")
	same, _ := os.ReadFile(sym)
	os.Remove(sym)
	os.WriteFile(sym, same, 0o644)
	cached("modules.symbols replaced by the same bytes", opts)
	reused("modules.symbols replaced by the same bytes", true)
	hashedOnly("modules.symbols replaced by the same bytes", "modules.symbols")
	cached("rerun after a content check", opts)
	reused("rerun after a content check", true)
	hashedOnly("rerun after a content check")
	// Edited in place, same size, mtime set back: the ctime gives it away.
	dep := filepath.Join(dir, "modules.dep")
	st, _ := os.Stat(dep)
	time.Sleep(10 * time.Millisecond)
	if f, err := os.OpenFile(dep, os.O_WRONLY, 0); err == nil {
		f.WriteAt([]byte("#"), 0)
		f.Close()
	}
	os.Chtimes(dep, st.ModTime(), st.ModTime())
	cached("modules.dep edited in place, mtime kept", opts)
	reused("modules.dep edited in place, mtime kept", false)
	os.Remove(filepath.Join(dir, "modules.devname"))
	cached("modules.devname deleted", opts)
	reused("modules.devname deleted", false)
	hashedOnly("after the edits", "modules.dep", "modules.devname")
	cached("rerun after the rewrites", opts)
	reused("rerun after the rewrites", true)
	hashedOnly("rerun after the rewrites")
	cdir := t.TempDir()
	os.WriteFile(filepath.Join(cdir, "a.conf"), []byte("exclude i386\n"), 0o644)
	withConf := opts
	withConf.ConfigPaths = []string{cdir}
	cached("depmod.d exclude", withConf)
	reused("depmod.d exclude", false)
	// The excluded modules' entries stay in the base: nothing to read.
	cached("without the exclude", opts)
	reused("without the exclude", false)
	// Replace a module by another one's content under the same name.
	data, _ := os.ReadFile(mods[2])
	os.Remove(mods[1])
	os.WriteFile(mods[1], data, 0o644)
	cached("replace", opts, mods[1])
	reused("replace", false)
	// Same size, same mtime, other bytes: the ctime gives it away.
	st, _ = os.Stat(mods[4])
	orig, _ := os.ReadFile(mods[4])
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(mods[4], bytes.Repeat([]byte{0}, len(orig)), 0o644)
	os.Chtimes(mods[4], st.ModTime(), st.ModTime())
	cached("rewrite in place, mtime kept", opts, mods[4])
	os.WriteFile(mods[4], orig, 0o644)
	cached("restore", opts, mods[4])
	os.Remove(mods[3])
	cached("delete", opts)
	added := filepath.Join(dir, "kernel", "amd64", "newmod.ko")
	os.WriteFile(added, data, 0o644)
	cached("add", opts, added)
	// Bad caches: each gives one warning, every module is read, and the
	// rewritten cache is trusted on the next run.
	good, _ := os.ReadFile(cp)
	flip := append([]byte{}, good...)
	flip[len(flip)/2] ^= 1 // in the facts section
	flipIndex := append([]byte{}, good...)
	flipIndex[40] ^= 1
	for _, c := range []struct {
		name string
		data []byte
		o    depmod.Options
	}{
		{"flipped", flip, opts},
		{"flipped index", flipIndex, opts},
		{"truncated", good[:len(good)-40], opts},
		{"foreign", []byte("#!/bin/sh\necho not a cache\n"), opts},
		{"other version", good, depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "other"}},
		{"other max-size", good, depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "test", MaxSize: 1 << 30}},
	} {
		os.WriteFile(cp, c.data, 0o644)
		msg := cached(c.name, c.o, "ALL")
		if n := strings.Count(msg, "WARNING: ignoring cache"); n != 1 {
			t.Errorf("%s cache: %d warnings, stderr %q", c.name, n, msg)
		}
		good, _ = os.ReadFile(cp)
		cached(c.name+", rerun", c.o)
		opts = c.o
	}
	// Entries that do not decode under a valid checksum: read again.
	if err := depmod.CorruptCacheFacts(cp); err != nil {
		t.Fatal(err)
	}
	if msg := cached("malformed facts", opts, "ALL"); strings.Count(msg, "WARNING: ignoring") != 1 {
		t.Errorf("malformed facts: stderr %q", msg)
	}
	cached("malformed facts, rerun", opts)
	// Without the cache option nothing is read from or written to it.
	jp := filepath.Join(dir, depmod.JournalName)
	if !fileExistsT(jp) {
		t.Errorf("no %s after cached runs", depmod.JournalName)
	}
	os.Remove(cp)
	os.Remove(jp)
	cached("no cache", depmod.Options{BaseDir: root, Release: rel}, "ALL")
	if fileExistsT(cp) || fileExistsT(jp) {
		t.Errorf("a run without Cache wrote %s or %s", depmod.CacheName, depmod.JournalName)
	}
}

func fileExistsT(p string) bool { _, err := os.Stat(p); return err == nil }

// TestCacheFewTouched: on a tree of 200 modules or more, touching a module
// (facts unchanged) does not rewrite the cache's base: the touched file is
// read once, its new key goes to the journal, and the next run reads
// nothing; the output is still a clean run's.
func TestCacheFewTouched(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 6)
	dir := filepath.Join(root, "lib", "modules", rel)
	o := depmod.Options{BaseDir: root, Release: rel, Cache: true}
	res, _ := run(t, o)
	if res.Modules < 200 {
		t.Fatalf("%d modules", res.Modules)
	}
	cp := filepath.Join(dir, depmod.CacheName)
	before, _ := os.ReadFile(cp)
	mods, _ := filepath.Glob(filepath.Join(dir, "kernel", "amd64", "*.ko"))
	later := time.Now().Add(time.Minute)
	os.Chtimes(mods[0], later, later)
	for i, want := range []int{1, 0} {
		res, _ := run(t, o)
		if res.Read != want || !res.Reused {
			t.Errorf("run %d after touching one module: read %d, want %d; reused %v", i, res.Read, want, res.Reused)
		}
	}
	if after, _ := os.ReadFile(cp); !bytes.Equal(before, after) {
		t.Errorf("cache base rewritten for one touched module")
	}
	out := t.TempDir()
	run(t, depmod.Options{BaseDir: root, OutDir: out, Release: rel})
	want, got := readAll(t, filepath.Join(out, "lib", "modules", rel)), readAll(t, dir)
	for _, f := range depmod.Files {
		if !bytes.Equal(got[f], want[f]) {
			t.Errorf("%s differs from a clean run", f)
		}
	}
}
