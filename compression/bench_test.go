package compression

import (
	"os"
	"path/filepath"
	"testing"
)

// benchModule returns the largest available module: ext4.ko from the corpus
// if present, else testdata/crc7.ko.
func benchModule(b *testing.B) []byte {
	b.Helper()
	if m, _ := filepath.Glob(filepath.Join(corpusDir, corpusModules[len(corpusModules)-1])); len(m) > 0 {
		if data, err := os.ReadFile(m[0]); err == nil {
			return data
		}
	}
	data, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func benchmarkDecompress(b *testing.B, f Format) {
	data := benchModule(b)
	src, err := Compress(f, data)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decompress(f, src, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecompressXZ(b *testing.B)   { benchmarkDecompress(b, XZ) }
func BenchmarkDecompressZstd(b *testing.B) { benchmarkDecompress(b, Zstd) }
func BenchmarkDecompressGzip(b *testing.B) { benchmarkDecompress(b, Gzip) }
