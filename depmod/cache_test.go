package depmod

import (
	"encoding/binary"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// FuzzDecodeCache: the cache decoder never panics, and whatever it accepts
// re-encodes to the same bytes.
func FuzzDecodeCache(f *testing.F) {
	e := &cacheEntry{key: fileKey{1, 2, 3, 4, 5}, exports: []ko.KmodSymbol{{Name: "foo", CRC: 7}},
		info: []ko.KV{{Key: "alias", Value: "pci:v*"}}, imports: []ko.Import{{Name: "bar", CRC: 9, Weak: true, HasCRC: true}}}
	f.Add(encodeCache("h", []string{"/a/b.ko"}, []*cacheEntry{e}))
	f.Add(encodeCache("", nil, nil))
	f.Add([]byte(cacheMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, c, err := decodeCache(data)
		if err != nil {
			return
		}
		if len(c) == 1 && binary.LittleEndian.Uint32(data[len(cacheMagic)+4+len(h):]) == 1 {
			for p, e := range c {
				if got := encodeCache(h, []string{p}, []*cacheEntry{e}); string(got) != string(data) {
					t.Fatalf("re-encoding differs")
				}
			}
		}
	})
}
