//go:build !unix

package ko

import "os"

func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := fd.ReadAt(b, 0); err != nil && size > 0 {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}
