//go:build unix

package ko

import (
	"os"
	"syscall"
)

// mapFile maps a plain module read-only. A zero-length file maps to nil.
func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, syscall.EFBIG
	}
	b, err := syscall.Mmap(int(fd.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_PRIVATE)
	if err != nil {
		// Fall back to reading (e.g. a file system without mmap).
		b = make([]byte, size)
		if _, err := fd.ReadAt(b, 0); err != nil {
			return nil, nil, err
		}
		return b, func() error { return nil }, nil
	}
	return b, func() error { return syscall.Munmap(b) }, nil
}
