package depmod

import (
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// FuzzDecodeCache: the cache decoder never panics, whatever it accepts
// re-encodes to the same bytes, and the facts it checked decode.
func FuzzDecodeCache(f *testing.F) {
	e := &cacheEntry{key: fileKey{1, 2, 3, 4, 5}, exports: []ko.KmodSymbol{{Name: "foo", CRC: 7}},
		info: []ko.KV{{Key: "alias", Value: "pci:v*"}}, imports: []ko.Import{{Name: "bar", CRC: 9, Weak: true, HasCRC: true}}}
	c := &cacheFile{header: "h", list: []rawEntry{{path: "/a/b.ko", key: e.key, sum: [32]byte{1}, facts: string(encodeFacts(e))}}}
	f.Add(encodeCache(c))
	c.list = append(c.list, rawEntry{path: "/a/c.ko", key: fileKey{6, 7, 8, 9, 10}, facts: string(encodeFacts(&cacheEntry{noExports: true}))})
	f.Add(encodeCache(c))
	f.Add(encodeCache(&cacheFile{}))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decodeCache(data)
		if err != nil {
			return
		}
		for _, e := range c.list {
			d, err := decodeFacts(e.facts)
			if err != nil {
				continue
			}
			if got := encodeFacts(d); string(got) != e.facts {
				t.Fatalf("facts of %q re-encode differently", e.path)
			}
			if e2, ok := c.find(e.path, -1); !ok || e2.path != e.path {
				t.Fatalf("entry %q not found by path", e.path)
			}
		}
		// Facts shared or out of order in the section re-encode
		// differently; anything else must come out the same.
		if got := encodeCache(c); string(got) != string(data) && inOrder(c) {
			t.Fatalf("re-encoding differs")
		}
	})
}

// inOrder: the entries' facts lie back to back in list order.
func inOrder(c *cacheFile) bool {
	off := uint64(0)
	for _, e := range c.list {
		if e.off != off {
			return false
		}
		off += e.n
	}
	return off+4 == uint64(c.factsSize)
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
