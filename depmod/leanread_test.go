package depmod

import (
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
)

// The lean reader (read.go) must give the facts of the ko reader for every
// module it accepts, and hand every other one to the ko reader.

func newTestReader() *reader { return &reader{limit: compression.DefaultLimit} }

// compareReaders reads path with both readers; it reports whether the lean
// reader took the module and fails t when the facts differ.
func compareReaders(t testing.TB, rd *reader, path string) bool {
	t.Helper()
	lean := &mod{path: path}
	took := rd.read(lean, false)
	slow := &mod{path: path}
	readModuleKo(slow, 0)
	if !took {
		return false
	}
	if (lean.exportErr == nil) != (slow.exportErr == nil) ||
		lean.exportErr != nil && !(errors.Is(lean.exportErr, ko.ErrNoExports) && errors.Is(slow.exportErr, ko.ErrNoExports)) {
		t.Fatalf("%s: export error %v, ko reader %v", path, lean.exportErr, slow.exportErr)
	}
	if !reflect.DeepEqual(lean.exports, slow.exports) {
		t.Fatalf("%s: exports differ:\nlean %v\nko   %v", path, lean.exports, slow.exports)
	}
	if !reflect.DeepEqual(lean.info, slow.info) {
		t.Fatalf("%s: .modinfo entries differ:\nlean %q\nko   %q", path, lean.info, slow.info)
	}
	if !reflect.DeepEqual(lean.imports, slow.imports) {
		t.Fatalf("%s: imports differ:\nlean %v\nko   %v", path, lean.imports, slow.imports)
	}
	return true
}

func fixtureModules(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no modules in ../testdata/modules")
	}
	return files
}

func TestLeanReadFixtures(t *testing.T) {
	rd := newTestReader()
	took := 0
	for _, f := range fixtureModules(t) {
		if compareReaders(t, rd, f) {
			took++
		} else if strings.Contains(f, "/amd64") || strings.Contains(f, "/arm64") {
			t.Errorf("%s: the lean reader did not take a little-endian 64-bit module", f)
		}
	}
	t.Logf("lean reader took %d fixtures", took)
}

// TestLeanReadSmallWindow reads the fixtures with every plain file taken
// section by section (as large modules are), not in one read.
func TestLeanReadSmallWindow(t *testing.T) {
	old := smallFile
	smallFile = 64
	defer func() { smallFile = old }()
	rd := newTestReader()
	for _, f := range fixtureModules(t) {
		if strings.HasSuffix(f, ".ko") && strings.Contains(f, "/amd64/") && !compareReaders(t, rd, f) {
			t.Errorf("%s: not taken", f)
		}
	}
}

// TestLeanReadMutated flips bytes of real modules (fixed seed): whatever
// the damage, the lean reader agrees with the ko reader or declines.
func TestLeanReadMutated(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	rd := newTestReader()
	oldSmall := smallFile
	defer func() { smallFile = oldSmall }()
	n := 1000
	if testing.Short() {
		n = 300
	}
	took := 0
	for _, name := range []string{"../testdata/modules/amd64/crc7.ko", "../testdata/modules/amd64/lrw.ko", "../testdata/modules/amd64-6.12/crc7.ko.xz"} {
		orig, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if compression.Sniff(orig) != compression.None {
			if orig, err = compression.Decompress(compression.Sniff(orig), orig, 0); err != nil {
				t.Fatal(err)
			}
		}
		p := filepath.Join(dir, filepath.Base(strings.TrimSuffix(name, ".xz")))
		for i := 0; i < n; i++ {
			data := append([]byte(nil), orig...)
			switch i % 4 {
			case 0: // one random byte
				data[rng.Intn(len(data))] = byte(rng.Intn(256))
			case 1: // in the section headers or the ELF header
				off := len(data) - 64*rng.Intn(40) - rng.Intn(64) - 1
				if i%8 == 1 {
					off = rng.Intn(64)
				}
				if off >= 0 {
					data[off] ^= 1 << rng.Intn(8)
				}
			case 2: // truncated
				data = data[:rng.Intn(len(data))]
			case 3: // a word set to a boundary value
				off := rng.Intn(len(data) - 8)
				v := []uint64{0, 1, 0xff, 0xffff, 0xfff1, 0xffffffff, ^uint64(0), uint64(len(data))}[rng.Intn(8)]
				for k := 0; k < 8; k++ {
					data[off+k] = byte(v >> (8 * k))
				}
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			if os.Getenv("LEAN_DEBUG") != "" {
				os.WriteFile("/tmp/dmr/last.ko", data, 0o644)
			}
			// Every other module is read section by section, as large
			// modules are.
			if i%2 == 1 {
				smallFile = 64
			}
			if compareReaders(t, rd, p) {
				took++
			}
			smallFile = oldSmall
		}
	}
	if took == 0 {
		t.Fatal("the lean reader took no mutated module: the comparison tested nothing")
	}
	t.Logf("lean reader took %d of the mutated modules", took)
}

// TestLeanReadTrees compares both readers on the complete trees (every
// module of plain trees, every 16th of compressed ones).
func TestLeanReadTrees(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: complete trees skipped")
	}
	trees, _ := filepath.Glob("/var/cache/kmodscope/deb-*")
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		trees = strings.Split(env, ":")
	}
	if len(trees) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("KMODSCOPE_REQUIRE_TREES=1 but no tree found")
		}
		t.Skip("no complete tree")
	}
	rd := newTestReader()
	for _, tree := range trees {
		var files []string
		filepath.WalkDir(filepath.Join(tree, "lib", "modules"), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && hasKmodExt(d.Name()) {
				files = append(files, p)
			}
			return nil
		})
		step := 1
		if len(files) > 0 && !strings.HasSuffix(files[0], ".ko") {
			step = 16
		}
		took, total := 0, 0
		for i := 0; i < len(files); i += step {
			total++
			if compareReaders(t, rd, files[i]) {
				took++
			}
		}
		t.Logf("%s: lean reader took %d of %d modules", tree, took, total)
		if km, err := ko.Open(files[0], nil); err == nil {
			// Only little-endian 64-bit modules are the lean reader's.
			lean := km.ELF.Is64() && km.ELF.ByteOrder == binary.LittleEndian
			km.Close()
			if !lean {
				continue
			}
		}
		if took < total*99/100 {
			t.Errorf("%s: the lean reader took only %d of %d modules", tree, took, total)
		}
	}
}

func FuzzLeanRead(f *testing.F) {
	for _, name := range fixtureModules(f) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) < 200<<10 {
			f.Add(data)
		}
	}
	dir := f.TempDir()
	rd := newTestReader()
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(dir, "m.ko")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		compareReaders(t, rd, p)
	})
	rd.release()
}
