package kimage

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestOpenCached: the second open of an unchanged image comes from the
// cache with the same result; a changed image (new contents, same or other
// size) misses it; a corrupt entry is ignored and rewritten; an image
// without certificates is cached with its ErrNoCerts.
func TestOpenCached(t *testing.T) {
	a, b, _ := fixtures(t)
	k, listOff := fakeKernel(t, [][]byte{a, b}, 8, binary.LittleEndian, true)
	file := filepath.Join(t.TempDir(), "vmlinuz")
	if err := os.WriteFile(file, fakeBzImage(withSize(codecXZ, compressGo(t, codecXZ, k), len(k))), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cache")
	first, hit, err := OpenCached(file, nil, dir)
	if err != nil || hit {
		t.Fatalf("first open: hit %v err %v", hit, err)
	}
	checkImage(t, first, err, "bzImage", "xz", k, listOff, [][]byte{a, b})
	second, hit, err := OpenCached(file, nil, dir)
	if err != nil || !hit {
		t.Fatalf("second open: hit %v err %v", hit, err)
	}
	checkImage(t, second, err, "bzImage", "xz", k, listOff, [][]byte{a, b})
	if !reflect.DeepEqual(first.Certs[0].Cert.Raw, second.Certs[0].Cert.Raw) || first.Version != second.Version || len(first.Other) != len(second.Other) {
		t.Errorf("cached result differs: %+v vs %+v", first, second)
	}

	// Corrupt every entry: ignored, recomputed, rewritten.
	ents, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	if len(ents) != 1 {
		t.Fatalf("%d cache entries", len(ents))
	}
	for _, junk := range [][]byte{[]byte("{not json"), []byte(`{"key":{"version":1},"certs":[{"der":"AAAA"}]}`), nil} {
		os.WriteFile(ents[0], junk, 0o644)
		img, hit, err := OpenCached(file, nil, dir)
		if hit || err != nil {
			t.Errorf("corrupt entry %q: hit %v err %v", junk, hit, err)
		}
		checkImage(t, img, err, "bzImage", "xz", k, listOff, [][]byte{a, b})
		if _, hit, _ := OpenCached(file, nil, dir); !hit {
			t.Errorf("entry not rewritten after %q", junk)
		}
	}

	// A changed image of the same size with the same mtime and inode is
	// not detectable by design; one with a new mtime is.
	k2, listOff2 := fakeKernel(t, [][]byte{b}, 8, binary.LittleEndian, true)
	f, _ := os.OpenFile(file, os.O_WRONLY|os.O_TRUNC, 0)
	f.Write(fakeBzImage(withSize(codecXZ, compressGo(t, codecXZ, k2), len(k2))))
	f.Close()
	os.Chtimes(file, time.Now().Add(time.Hour), time.Now().Add(time.Hour))
	img, hit, err := OpenCached(file, nil, dir)
	if hit {
		t.Error("changed image hit the cache")
	}
	checkImage(t, img, err, "bzImage", "xz", k2, listOff2, [][]byte{b})

	// No certificates: cached with ErrNoCerts.
	plainFile := filepath.Join(t.TempDir(), "vmlinuz")
	nk := bytes.Repeat([]byte("\x90\x90\xc3 "+testBanner+"\x00"), 64)
	os.WriteFile(plainFile, fakeBzImage(withSize(codecXZ, compressGo(t, codecXZ, nk), len(nk))), 0o644)
	for i := 0; i < 2; i++ {
		img, hit, err := OpenCached(plainFile, nil, dir)
		if img == nil || !isKind(err, ErrNoCerts) || hit != (i == 1) || img.Version != testBanner {
			t.Errorf("no certs, open %d: %v hit %v img %+v", i, err, hit, img)
		}
	}
	// Disabled cache: plain Open.
	if _, hit, err := OpenCached(file, nil, ""); hit || err != nil {
		t.Errorf("no cache dir: hit %v err %v", hit, err)
	}
	t.Setenv("KMODSCOPE_NO_CACHE", "1")
	if CacheDir() != "" {
		t.Error("KMODSCOPE_NO_CACHE ignored")
	}
	t.Setenv("KMODSCOPE_NO_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/x")
	if CacheDir() != "/x/kmodscope/kimage" {
		t.Error(CacheDir())
	}
}

func isKind(err, kind error) bool {
	e, ok := err.(*Error)
	return ok && e.Kind == kind
}

// FuzzReadCache: a cache entry is untrusted input (a corrupt file, another
// program's): readCache never panics, and an entry it accepts matches the
// key.
func FuzzReadCache(f *testing.F) {
	a, b, _ := fixtures(f)
	k, _ := fakeKernel(f, [][]byte{a, b}, 8, binary.LittleEndian, true)
	file := filepath.Join(f.TempDir(), "vmlinuz")
	if err := os.WriteFile(file, fakeBzImage(withSize(codecXZ, compressGo(f, codecXZ, k), len(k))), 0o644); err != nil {
		f.Fatal(err)
	}
	dir := f.TempDir()
	if _, _, err := OpenCached(file, nil, dir); err != nil {
		f.Fatal(err)
	}
	ents, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	seed, _ := os.ReadFile(ents[0])
	f.Add(seed)
	f.Add([]byte(`{"key":{}}`))
	f.Add([]byte(`{"key":{"version":1},"certs":[{"der":"MAA="}]}`))
	var e cacheEntry
	if err := json.Unmarshal(seed, &e); err != nil {
		f.Fatal(err)
	}
	key := e.Key
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "e.json")
		os.WriteFile(p, data, 0o644)
		img, err := readCache(p, key)
		if err == nil && (img == nil || len(img.Certs) > 0 && img.Certs[0].Cert == nil) {
			t.Fatalf("accepted an entry without parsed certificates: %+v", img)
		}
	})
}
