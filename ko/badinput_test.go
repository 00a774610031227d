package ko_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
)

func testModules(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no modules in ../testdata/modules")
	}
	return files
}

// exercise calls every accessor; it must not panic whatever the input.
func exercise(m *ko.Module) {
	m.Modinfo()
	m.Versions()
	m.KmodExports()
	m.Exports()
	m.Imports()
	m.ThisModule()
	m.Signature()
	m.BuildID()
}

func minimal(t testing.TB) []byte {
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	return b.Bytes()
}

func wantErr(t *testing.T, data []byte, substr string) {
	t.Helper()
	m, err := ko.New(data)
	if err == nil {
		_, err = m.Modinfo()
	}
	if err == nil {
		t.Fatalf("no error, want one containing %q", substr)
	}
	if !strings.Contains(err.Error(), substr) {
		t.Fatalf("error %q does not contain %q", err, substr)
	}
}

func TestBadInput(t *testing.T) {
	good := minimal(t)
	if _, err := ko.New(good); err != nil {
		t.Fatalf("minimal module: %v", err)
	}
	shstrndx := int(kotest.Ehdr(good, kotest.EShstrndx))
	modinfoIdx := -1
	f, _ := elfx.New(good)
	modinfoIdx = f.Section(".modinfo").Index
	mut := func(fn func(b []byte)) []byte {
		b := bytes.Clone(good)
		fn(b)
		return b
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "the file is empty"},
		{"not elf", []byte("PK\x03\x04 this is a zip file"), "not an ELF file"},
		{"short ident", []byte("\x7fELF\x02\x01"), "too short"},
		{"bad class", mut(func(b []byte) { b[elf.EI_CLASS] = 7 }), "unknown ELF class 7"},
		{"bad data", mut(func(b []byte) { b[elf.EI_DATA] = 0 }), "unknown data encoding"},
		{"shoff beyond", mut(func(b []byte) { kotest.SetShoff(b, 1<<60) }), "beyond the end of the file"},
		{"shnum beyond", mut(func(b []byte) { kotest.SetShnum(b, 0xfff0) }), "extends beyond the end"},
		{"shentsize", mut(func(b []byte) { kotest.SetShentsize(b, 12) }), "e_shentsize is 12"},
		{"shstrndx", mut(func(b []byte) { kotest.SetShstrndx(b, 0x7ff) }), "e_shstrndx"},
		{"section size 2^60", mut(func(b []byte) { kotest.SetSectionSize(b, modinfoIdx, 1<<60) }), "extend beyond the end of the file"},
		{"section offset beyond", mut(func(b []byte) { kotest.SetSectionOffset(b, modinfoIdx, uint64(len(good))+10) }), "extend beyond the end of the file"},
		{"shstrtab without NUL", mut(func(b []byte) {
			off := kotest.SectionOffset(b, shstrndx) + kotest.SectionSize(b, shstrndx) - 1
			b[off] = 'x'
		}), "does not end with a NUL"},
		{"name offset beyond", mut(func(b []byte) { kotest.SetShdr(b, modinfoIdx, kotest.ShName, 1<<30) }), "name offset"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { wantErr(t, c.data, c.want) })
	}
	// Every truncation of a real module is an error or parses; never a panic.
	for _, p := range []string{"../testdata/modules/amd64/crc7.ko", "../testdata/modules/s390x/crc7.ko", "../testdata/modules/armhf/crc7.ko"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n += 7 {
			if m, err := ko.New(data[:n]); err == nil {
				exercise(m)
			}
		}
	}
}

func TestOpenErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, want string
		data       []byte
	}{
		{"zero.ko", "file is empty", nil},
		{"tiny.ko", "too short", []byte("abc")},
		{"text.ko", "not an ELF file", []byte("hello world, not a module\n")},
		{"badxz.ko.xz", "xz", []byte("\xfd7zXZ\x00garbage garbage garbage")},
		{"badgz.ko", "gzip", []byte("\x1f\x8b\x08\x00garbage garbage garbage")},
		{"badzst.ko", "zstd", []byte("\x28\xb5\x2f\xfdgarbage garbage garbage")},
	} {
		p := write(c.name, c.data)
		_, err := ko.Open(p, nil)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var e *ko.Error
		if !errors.As(err, &e) || e.Path != p {
			t.Errorf("%s: error %v does not carry the path", c.name, err)
		}
		if !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("%s: error %q, want prefix %q and %q", c.name, err, p, c.want)
		}
	}
}

// A small compressed file expanding far beyond the limit is refused quickly
// with bounded memory.
func TestDecompressionBomb(t *testing.T) {
	zeros := make([]byte, 64<<20)
	bomb, err := compression.Compress(compression.Zstd, zeros)
	if err != nil {
		t.Fatal(err)
	}
	zeros = nil
	runtime.GC()
	p := filepath.Join(t.TempDir(), "bomb.ko.zst")
	os.WriteFile(p, bomb, 0o644)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = ko.Open(p, &ko.Options{MaxSize: 8 << 20})
	runtime.ReadMemStats(&after)
	var le *compression.LimitError
	if !errors.As(err, &le) {
		t.Fatalf("got %v, want a LimitError", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 64<<20 {
		t.Errorf("allocated %d bytes for an 8 MiB limit", grew)
	}
}

func TestRealModulesAllAccessors(t *testing.T) {
	for _, p := range testModules(t) {
		m, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := m.Modinfo()
		if err != nil || len(kv) == 0 {
			t.Errorf("%s: modinfo %v", p, err)
		}
		tm, err := m.ThisModule()
		if err != nil {
			t.Errorf("%s: this_module: %v", p, err)
		} else if name, _ := ko.Get(kv, "name"); tm.Name != name {
			t.Errorf("%s: this_module name %q, .modinfo name %q", p, tm.Name, name)
		}
		sig, err := m.Signature()
		if err != nil || sig == nil {
			t.Errorf("%s: signature %v %v", p, sig, err)
		} else if _, err := sig.PKCS7(); err != nil {
			t.Errorf("%s: PKCS#7: %v", p, err)
		}
		if id, err := m.BuildID(); err != nil || len(id) != 20 {
			t.Errorf("%s: build id %x %v", p, id, err)
		}
		if _, err := m.Imports(); err != nil {
			t.Errorf("%s: imports %v", p, err)
		}
		m.Close()
	}
}

func FuzzModule(f *testing.F) {
	for _, p := range testModules(f) {
		if strings.HasSuffix(p, "crc7.ko") {
			data, _ := os.ReadFile(p)
			f.Add(data)
		}
	}
	f.Add(minimal(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ko.NewBytes(data, &ko.Options{MaxSize: 4 << 20})
		if err != nil {
			return
		}
		exercise(m)
	})
}
