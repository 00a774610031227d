package modindex

import (
	"os"
	"testing"
	"time"
)

func FuzzSlowDbg(f *testing.F) {
	for _, p := range []string{"testdata/modules.dep.bin", "testdata/modules.builtin.bin", "testdata/modules.builtin.alias.bin"} {
		d, _ := os.ReadFile(p)
		f.Add(d, "pci:v00008086d000010D3sv00001234sd00005678bc02sc00i00")
	}
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		tm := time.AfterFunc(3*time.Second, func() {
			os.WriteFile("/tmp/slow.bin", data, 0o644)
			os.WriteFile("/tmp/slow.key", []byte(key), 0o644)
			panic("slow")
		})
		defer tm.Stop()
		ix, err := ParseIndex(data)
		if err != nil {
			return
		}
		ix.Search(key)
		ix.SearchWild(key)
		ix.SearchWildMmap(key)
		ix.Dump(nopWriter{}, "alias ")
	})
}
