package modindex

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
)

type testEntry struct {
	key, value string
	prio       uint32
}

// writeIndex serialises entries with the package's Builder in kmod ≤33
// post-order or kmod ≥34 pre-order layout; values of one key keep the
// order given.
func writeIndex(entries []testEntry, preorder bool) []byte {
	b := NewBuilder()
	for _, e := range entries {
		b.appendValue(e.key, Value{e.prio, e.value})
	}
	return b.Bytes(preorder)
}

func sampleEntries() []testEntry {
	return []testEntry{
		{"ask", "a1", 1},
		{"ate", "a2", 2},
		{"on", "o1", 3},
		{"once", "o2", 4},
		{"one", "o3", 5},
		{"char_major_116_*", "snd", 10},
		{"char_major_116_1", "snd_seq", 20},
		{"pci:v00008086d*sv*", "e1000e", 30},
		{"pci:v00008086d000010D3sv*", "e1000e", 30},
		{"pci:v0000808[0-9]d*", "range", 5},
		{"pci:v?0008086*", "qmark", 7},
		{"dup", "x", 0},
		{"dup", "y", 0},
		{"dup", "z", 0},
		{"dup*", "w", 0},
		{"spi:at25", "at25", 9},
		{"spi:at25", "at25", 9},
	}
}

func TestLayouts(t *testing.T) {
	for _, pre := range []bool{false, true} {
		data := writeIndex(sampleEntries(), pre)
		ix, err := ParseIndex(data)
		if err != nil {
			t.Fatalf("preorder=%v: %v", pre, err)
		}
		if v, ok := ix.Search("once"); !ok || v != "o2" {
			t.Errorf("Search(once) = %q %v", v, ok)
		}
		if _, ok := ix.Search("onc"); ok {
			t.Errorf("Search(onc) found")
		}
		if _, ok := ix.Search("o"); ok {
			t.Errorf("Search(o) found")
		}
		// FILE reader: equal priorities reversed -> last stored first.
		if v, _ := ix.Search("dup"); v != "z" {
			t.Errorf("Search(dup) = %q, want z", v)
		}
		if v, _ := ix.SearchMmap("dup"); v != "x" {
			t.Errorf("SearchMmap(dup) = %q, want x", v)
		}
		got := ix.SearchWild("char_major_116_1")
		want := []Value{{10, "snd"}, {20, "snd_seq"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWild(char_major_116_1) = %v", got)
		}
		got = ix.SearchWild("pci:v00008086d000010D3sv00001234")
		want = []Value{{5, "range"}, {7, "qmark"}, {30, "e1000e"}, {30, "e1000e"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWild(pci) = %v", got)
		}
		// Node "dup" (x,y,z) then child "dup*" (w), all priority 0.
		// Wildcard child is visited first, then the node's own values.
		got = ix.SearchWild("dup")
		want = []Value{{0, "x"}, {0, "y"}, {0, "z"}, {0, "w"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWild(dup) = %v", got)
		}
		got = ix.SearchWildMmap("dup")
		want = []Value{{0, "z"}, {0, "y"}, {0, "x"}, {0, "w"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("SearchWildMmap(dup) = %v", got)
		}
		got = ix.SearchWild("spi:at25")
		if len(got) != 2 {
			t.Errorf("SearchWild(spi:at25) = %v", got)
		}
		var d, df bytes.Buffer
		ix.Dump(&d, "alias ")
		ix.DumpFile(&df, "alias ")
		if !strings.Contains(d.String(), "alias dup x\nalias dup y\nalias dup z\nalias dup* w\n") {
			t.Errorf("Dump:\n%s", d.String())
		}
		if !strings.Contains(df.String(), "alias dup z\nalias dup y\nalias dup x\nalias dup* w\n") {
			t.Errorf("DumpFile:\n%s", df.String())
		}
		if !strings.HasPrefix(d.String(), "alias ask a1\nalias ate a2\n") {
			t.Errorf("Dump order:\n%s", d.String())
		}
	}
}

func TestEmptyIndex(t *testing.T) {
	data := writeIndex(nil, false)
	if len(data) != 12 || binary.BigEndian.Uint32(data[8:]) != 12 {
		t.Fatalf("empty index: % x", data)
	}
	ix, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Search(""); ok {
		t.Error("found in empty index")
	}
	var b bytes.Buffer
	ix.Dump(&b, "")
	if b.Len() != 0 {
		t.Error("dump of empty index not empty")
	}
}

func TestBadHeaders(t *testing.T) {
	good := writeIndex(sampleEntries(), false)
	cases := map[string][]byte{
		"empty":    nil,
		"short":    good[:11],
		"oldmagic": append([]byte{0xB0, 0x07, 0xFA, 0x57}, good[4:]...),
		"version":  append(append([]byte{}, good[:4]...), append([]byte{0, 3, 0, 1}, good[8:]...)...),
	}
	for name, data := range cases {
		_, err := ParseIndex(data)
		var fe *FormatError
		if !errors.As(err, &fe) || !errors.Is(err, ErrBadHeader) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	// Minor version is not checked.
	v := append([]byte{}, good...)
	v[7] = 9
	if _, err := ParseIndex(v); err != nil {
		t.Errorf("minor version: %v", err)
	}
}

func TestMalformed(t *testing.T) {
	good := writeIndex(sampleEntries(), false)
	be := binary.BigEndian
	mk := func(root uint32, parts ...any) []byte {
		d := be.AppendUint32(nil, IndexMagic)
		d = be.AppendUint32(d, 0x00020001)
		d = be.AppendUint32(d, root)
		for _, p := range parts {
			switch v := p.(type) {
			case uint32:
				d = be.AppendUint32(d, v)
			case string:
				d = append(d, v...)
			case int:
				d = append(d, byte(v))
			}
		}
		return d
	}
	cases := map[string][]byte{
		"root-outside":      mk(0x1000 | nodeValues),
		"root-in-header":    mk(4 | nodeValues),
		"unterminated":      mk(12|nodePrefix, "ab"),
		"self-cycle":        mk(12|nodeChilds, "aa", uint32(12|nodeChilds)),
		"first-gt-last":     mk(12|nodeChilds, "ba", uint32(0), uint32(0)),
		"truncated-childs":  mk(12|nodeChilds, "ac", uint32(0)),
		"huge-value-count":  mk(12|nodeValues, uint32(0xffffffff), uint32(0), 0),
		"truncated-value":   mk(12|nodeValues, uint32(1), uint32(5), "x"),
		"truncated-prio":    mk(12|nodeValues, uint32(1), 0, 0),
		"shared-child":      mk(12|nodeChilds, "ab", uint32(22|nodeValues), uint32(22|nodeValues), uint32(1), uint32(0), "v", 0),
		"mutual-cycle":      mk(12|nodeChilds, "aa", uint32(18|nodeChilds), "bb", uint32(12|nodeChilds)),
		"truncated-childhd": mk(12|nodeChilds, "a"),
	}
	for name, data := range cases {
		ix, err := ParseIndex(data)
		var fe *FormatError
		if err == nil || !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: ParseIndex = %v, %v", name, ix != nil, err)
			continue
		}
		if !strings.Contains(err.Error(), "offset") {
			t.Errorf("%s: error without offset: %v", name, err)
		}
	}
	// File errors name the file.
	p := filepath.Join(t.TempDir(), "modules.alias.bin")
	os.WriteFile(p, cases["self-cycle"], 0o644)
	if _, err := OpenIndex(p); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("OpenIndex error does not name the file: %v", err)
	}
	// Every truncation and every single-byte corruption of a good
	// index either parses or fails cleanly.
	for i := range good {
		exercise(good[:i])
		for _, b := range []byte{0, 0xff, 0x80, '*', 12} {
			c := append([]byte{}, good...)
			c[i] = b
			exercise(c)
		}
	}
}

// exercise runs every reader entry point on data.
func exercise(data []byte) {
	ix, err := ParseIndex(data)
	if err != nil {
		return
	}
	for _, k := range []string{"", "a", "once", "dup", "pci:v00008086d000010D3sv00001234", "char_major_116_1", "\xff", "*"} {
		ix.Search(k)
		ix.SearchMmap(k)
		ix.SearchWild(k)
		ix.SearchWildMmap(k)
	}
	ix.Dump(nopWriter{}, "alias ")
	ix.DumpFile(nopWriter{}, "")
}

type nopWriter struct{}

func (nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestHighBytesInKey(t *testing.T) {
	// A key byte >= 0x80 is a negative char in kmod and never selects a
	// child; a child table may still contain such characters.
	entries := []testEntry{{"a\xc3b", "v", 1}, {"ab", "w", 2}}
	ix, err := ParseIndex(writeIndex(entries, false))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := ix.Search("a\xc3b"); ok {
		t.Error("high-byte key found by Search")
	}
	if v, ok := ix.Search("ab"); !ok || v != "w" {
		t.Error("ab not found")
	}
	var b bytes.Buffer
	ix.Dump(&b, "")
	if b.String() != "ab w\na\xc3b v\n" {
		t.Errorf("dump %q", b.String())
	}
}

func TestNormalize(t *testing.T) {
	for _, c := range []struct {
		in, out string
		err     bool
	}{
		{"snd-hda-intel", "snd_hda_intel", false},
		{"pci:v*d[0-9-]*-x", "pci:v*d[0-9-]*_x", false},
		{"a[b", "", true},
		{"a]b", "", true},
		{"a[-]-[x-y]-", "a[-]_[x-y]_", false},
		{"[", "", true},
		{"[]", "[]", false},
		{"a\x00-b", "a", false},
		{"", "", false},
		{"foo.ko-x", "foo.ko_x", false},
	} {
		got, err := AliasNormalize(c.in)
		if (err != nil) != c.err || got != c.out {
			t.Errorf("AliasNormalize(%q) = %q, %v", c.in, got, err)
		}
	}
	long := strings.Repeat("-", 5000)
	if got, _ := AliasNormalize(long); len(got) != pathMax-1 || got[0] != '_' {
		t.Errorf("AliasNormalize(long) len %d", len(got))
	}
	for in, out := range map[string]string{
		"snd-hda-intel":           "snd_hda_intel",
		"ext4.ko":                 "ext4",
		"a-b.c-d":                 "a_b",
		"":                        "",
		".x":                      "",
		"x\x00y":                  "x",
		"pci:v0-[a-b]":            "pci:v0_[a_b]",
		strings.Repeat("a", 5000): strings.Repeat("a", pathMax-1),
	} {
		if got := ModnameNormalize(in); got != out {
			t.Errorf("ModnameNormalize(%q) = %q", in, got)
		}
	}
}

func TestTestdataIndexes(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bin")
	if len(files) == 0 {
		t.Skip("no testdata")
	}
	for _, f := range files {
		ix, err := OpenIndex(f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		entries := collectEntries(t, ix)
		data, _ := os.ReadFile(f)
		if !bytes.Equal(writeIndex(entries, false), data) {
			t.Errorf("%s: writer mismatch", f)
		}
		keys := map[string]bool{}
		for _, e := range entries {
			keys[e.key] = true
		}
		var ks []string
		for k := range keys {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			if _, ok := ix.Search(k); !ok {
				t.Errorf("%s: key %q not found", f, k)
			}
		}
	}
}
