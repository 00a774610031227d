package compression

import (
	"os"
	"testing"
)

// FuzzDecompress feeds arbitrary bytes to every decoder: no panic, output
// within the limit, and only the package's error types.
func FuzzDecompress(f *testing.F) {
	for _, name := range []string{"crc7.ko.gz", "crc7.ko.xz", "crc7.ko.zst"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	small := []byte("kmodscope fuzz seed: \x7fELF\x02\x01\x01 module text")
	for _, format := range formats {
		c, err := Compress(format, small)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(c)
	}
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{None, Gzip, XZ, Zstd} {
			out, err := Decompress(format, data, limit)
			checkErr(t, format.String(), out, err, limit)
		}
	})
}
