//go:build !unix

package ko

import (
	"os"
)

type rawFile struct{ *os.File }

func openRaw(path string) (*rawFile, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if !st.Mode().IsRegular() {
		f.Close()
		return nil, 0, ErrNotRegular
	}
	return &rawFile{f}, st.Size(), nil
}
