package compression

import (
	"fmt"
	"os"
)

// ReadFile reads a file that may be gzip, xz or zstd compressed (detected
// by magic bytes) and returns its decompressed contents, at most limit
// bytes (DefaultLimit if limit <= 0), and the format it was in.
func ReadFile(path string, limit int64) ([]byte, Format, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, None, err
	}
	f := Sniff(data)
	if f != None {
		if data, err = Decompress(f, data, limit); err != nil {
			return nil, f, fmt.Errorf("%s: %w", path, err)
		}
	}
	return data, f, nil
}
