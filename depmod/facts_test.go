package depmod_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/ko"
)

// TestLoadFacts: the facts LoadFacts hands out are what ko reads from each
// file now; changed, missing and unknown files, malformed facts, another
// version or --max-size, and a foreign file are refused.
func TestLoadFacts(t *testing.T) {
	root := t.TempDir()
	fixtureTree(t, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	if _, err := depmod.LoadFacts(dir, "test", 0); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("no cache: %v", err)
	}
	res, _ := run(t, depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "test"})
	f, err := depmod.LoadFacts(dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Len() != res.Modules || f.Path() != filepath.Join(dir, depmod.CacheName) {
		t.Errorf("%d entries in %s for %d modules", f.Len(), f.Path(), res.Modules)
	}
	paths, _ := filepath.Glob(filepath.Join(dir, "kernel", "*", "*.ko*"))
	read := 0
	for _, p := range paths {
		m, ok := f.Module(p)
		if !ok {
			t.Errorf("%s: no facts", p)
			continue
		}
		km, err := ko.Open(p, nil)
		if err != nil {
			if m.Err == nil || m.Err.Error() != err.Error() {
				t.Errorf("%s: cached error %v, ko.Open: %v", p, m.Err, err)
			}
			continue
		}
		read++
		im, _ := km.Imports()
		if !reflect.DeepEqual(m.Imports, im) {
			t.Errorf("%s: imports %v, ko: %v", p, m.Imports, im)
		}
		ex, _ := km.KmodExports()
		var want, got []string
		for _, e := range ex {
			want = append(want, fmt.Sprintf("%s@%x", e.Name, e.CRC))
		}
		for _, e := range m.Exports {
			got = append(got, fmt.Sprintf("%s@%x", e.Name, e.CRC))
		}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: exports %v, ko: %v", p, got, want)
		}
		kv, _ := km.Modinfo()
		var info []ko.KV
		for _, e := range kv {
			if e.Key == "alias" || e.Key == "softdep" || e.Key == "weakdep" {
				info = append(info, e)
			}
		}
		if !reflect.DeepEqual(m.Info, info) {
			t.Errorf("%s: modinfo %v, ko: %v", p, m.Info, info)
		}
		km.Close()
	}
	if read < 10 {
		t.Fatalf("only %d of %d fixtures readable", read, len(paths))
	}
	// A rewritten file (same bytes, new inode and times) is stale, a
	// removed one and a path depmod never saw have no facts.
	data, _ := os.ReadFile(paths[0])
	time.Sleep(10 * time.Millisecond)
	os.Remove(paths[0])
	if _, ok := f.Module(paths[0]); ok {
		t.Errorf("facts of a removed file")
	}
	os.WriteFile(paths[0], data, 0o644)
	if _, ok := f.Module(paths[0]); ok {
		t.Errorf("facts of a rewritten file")
	}
	if _, ok := f.Module(paths[1]); !ok {
		t.Errorf("%s: facts lost", paths[1])
	}
	if _, ok := f.Module(filepath.Join(dir, "kernel", "nosuch.ko")); ok {
		t.Errorf("facts of an unknown file")
	}
	for _, bad := range []struct {
		version string
		max     int64
	}{{"other", 0}, {"test", 1 << 30}} {
		if _, err := depmod.LoadFacts(dir, bad.version, bad.max); err == nil || !strings.Contains(err.Error(), depmod.CacheName) || !strings.Contains(err.Error(), "other settings") {
			t.Errorf("version %q max-size %d: %v", bad.version, bad.max, err)
		}
	}
	if err := depmod.CorruptCacheFacts(f.Path()); err != nil {
		t.Fatal(err)
	}
	f, err = depmod.LoadFacts(dir, "test", 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Module(paths[1]); ok {
		t.Errorf("malformed facts handed out")
	}
	os.WriteFile(f.Path(), []byte("not a cache"), 0o644)
	if _, err := depmod.LoadFacts(dir, "test", 0); err == nil || !strings.HasPrefix(err.Error(), f.Path()+": ") {
		t.Errorf("foreign file: %v", err)
	}
}

// FuzzLoadFacts: whatever the cache file holds, LoadFacts and Module
// return without panicking (seeded with a real cache of the fixtures, whose
// entries match the files, so Module decodes facts).
func FuzzLoadFacts(f *testing.F) {
	root := f.TempDir()
	fixtureTree(f, root, 1)
	dir := filepath.Join(root, "lib", "modules", rel)
	if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel, Cache: true, Version: "fuzz"}); err != nil {
		f.Fatal(err)
	}
	seed, err := os.ReadFile(filepath.Join(dir, depmod.CacheName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Add([]byte("KMSDEPC"))
	paths, _ := filepath.Glob(filepath.Join(dir, "kernel", "*", "*.ko*"))
	f.Fuzz(func(t *testing.T, data []byte) {
		d := t.TempDir()
		os.WriteFile(filepath.Join(d, depmod.CacheName), data, 0o644)
		c, err := depmod.LoadFacts(d, "fuzz", 0)
		if err != nil {
			return
		}
		for _, p := range paths {
			c.Module(p)
		}
	})
}
