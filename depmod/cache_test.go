package depmod

import (
	"sort"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// FuzzDecodeCache: the cache decoder never panics, whatever it accepts
// re-encodes to the same bytes, and the facts it checked decode.
func FuzzDecodeCache(f *testing.F) {
	e := &cacheEntry{key: fileKey{1, 2, 3, 4, 5}, exports: []ko.KmodSymbol{{Name: "foo", CRC: 7}},
		info: []ko.KV{{Key: "alias", Value: "pci:v*"}}, imports: []ko.Import{{Name: "bar", CRC: 9, Weak: true, HasCRC: true}}}
	c := &cacheFile{header: "h", entries: map[string]rawEntry{"/a/b.ko": {key: e.key, sum: [32]byte{1}, facts: string(encodeFacts(e))}}}
	f.Add(encodeCache(c, []string{"/a/b.ko"}))
	f.Add(encodeCache(&cacheFile{}, nil))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCache(data)
		if err != nil {
			return
		}
		var paths []string
		for p, e := range c.entries {
			paths = append(paths, p)
			d, err := decodeFacts(e.facts)
			if err != nil {
				continue
			}
			if got := encodeFacts(d); string(got) != e.facts {
				t.Fatalf("facts of %q re-encode differently", p)
			}
		}
		if len(paths) > 1 {
			return // the order of entries is not kept
		}
		sort.Strings(paths)
		if got := encodeCache(c, paths); string(got) != string(data) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// FuzzDecodeJournal: the journal decoder never panics, and whatever it
// accepts with at most one entry re-encodes to the same bytes.
func FuzzDecodeJournal(f *testing.F) {
	e := &cacheEntry{key: fileKey{1, 2, 3, 4, 5}, exports: []ko.KmodSymbol{{Name: "foo", CRC: 7}}}
	j := &journal{header: "h", entries: map[string]rawEntry{"/a/b.ko": {key: e.key, sum: [32]byte{1}, facts: string(encodeFacts(e))}}}
	f.Add(encodeJournal(j, []string{"/a/b.ko"}))
	j.memo = &memo{log: "depmod: WARNING: x\n", files: []memoFile{{name: "modules.dep", key: fileKey{9, 8, 7, 6, 5}}}}
	f.Add(encodeJournal(j, []string{"/a/b.ko"}))
	f.Add(encodeJournal(&journal{}, nil))
	f.Add([]byte(journalMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		j, err := decodeJournal(data)
		if err != nil {
			return
		}
		var paths []string
		for p := range j.entries {
			paths = append(paths, p)
		}
		if len(paths) > 1 {
			return // the order of entries is not kept
		}
		if got := encodeJournal(j, paths); string(got) != string(data) {
			t.Fatalf("re-encoding differs")
		}
	})
}
