package modindex

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParseIndex feeds arbitrary bytes to the parser and, when they
// parse, to every reader entry point: nothing may panic or hang. Seeds
// are the depmod-generated indexes in testdata plus synthetic ones in
// both layouts.
func FuzzParseIndex(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.bin")
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, "pci:v00008086d000010D3sv00001234sd00005678bc02sc00i00")
		}
	}
	f.Add(writeIndex(sampleEntries(), false), "dup")
	f.Add(writeIndex(sampleEntries(), true), "char_major_116_1")
	f.Add(writeIndex(nil, false), "")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		ix, err := ParseIndex(data)
		if err != nil {
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		ix.Search(key)
		ix.SearchMmap(key)
		w1 := ix.SearchWild(key)
		w2 := ix.SearchWildMmap(key)
		if len(w1) != len(w2) {
			t.Fatalf("SearchWild and SearchWildMmap found %d and %d values", len(w1), len(w2))
		}
		ix.Dump(nopWriter{}, "alias ")
		ix.DumpFile(nopWriter{}, "")
	})
}

// FuzzBuiltinModinfo checks Lookup never panics on arbitrary content.
func FuzzBuiltinModinfo(f *testing.F) {
	f.Add([]byte("a.x=1\x00a.y\x00b.z=2\x00a.w=3\x00"), "a")
	f.Add([]byte("a.x=1\x00nodot\x00a.y=2\x00"), "a")
	f.Add([]byte("a.x=1\x00b.y=2"), "b")
	f.Fuzz(func(t *testing.T, data []byte, name string) {
		ParseBuiltinModinfo(data).Lookup(name)
	})
}

func TestBuiltinModinfoGrouping(t *testing.T) {
	data := []byte("zswap.description=Compressed cache\x00zswap.file=mm/zswap\x00zswap.parm=x:int\x00" +
		"crc32c.alias=crypto-crc32c\x00crc32c.flag\x00" +
		"zswap.late=second group ignored\x00" +
		"a.b.c=dots\x00" +
		"tail.x=1\x00tail.y=unterminated")
	bm := ParseBuiltinModinfo(data)
	got, err := bm.Lookup("zswap")
	if err != nil {
		t.Fatal(err)
	}
	want := []KeyValue{{"description", "Compressed cache"}, {"file", "mm/zswap"}, {"parm", "x:int"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("zswap: %v", got)
	}
	got, _ = bm.Lookup("crc32c")
	want = []KeyValue{{"alias", "crypto-crc32c"}, {"flag", ""}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("crc32c: %v", got)
	}
	got, _ = bm.Lookup("a")
	if !reflect.DeepEqual(got, []KeyValue{{"b.c", "dots"}}) {
		t.Errorf("a: %v", got)
	}
	if _, err := bm.Lookup("nothere"); !errors.Is(err, ErrBuiltinNotFound) {
		t.Errorf("nothere: %v", err)
	}
	// The group running into the unterminated string is an error.
	var be *BuiltinModinfoError
	if _, err := bm.Lookup("tail"); !errors.As(err, &be) {
		t.Errorf("tail: %v", err)
	}
	// A string without a dot stops the scan with an error when it starts
	// a group.
	bm = ParseBuiltinModinfo([]byte("a.x=1\x00nodot\x00b.y=2\x00"))
	if _, err := bm.Lookup("b"); !errors.Is(err, ErrBuiltinNotFound) {
		// the dotless string extends a's group to the end of file
		t.Errorf("b after dotless: %v", err)
	}
	bm = ParseBuiltinModinfo([]byte("nodot\x00b.y=2\x00"))
	if _, err := bm.Lookup("b"); !errors.As(err, &be) {
		t.Errorf("leading dotless: %v", err)
	}
	if _, err := ParseBuiltinModinfo(nil).Lookup("x"); !errors.Is(err, ErrBuiltinNotFound) {
		t.Errorf("empty: %v", err)
	}
}
