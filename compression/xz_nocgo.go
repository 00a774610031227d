//go:build !cgo

package compression

import (
	"bytes"
	"errors"
	"sync"

	ulxz "github.com/ulikunitz/xz"
	"github.com/xi2/xz"
)

// Without cgo, xz data is decoded by github.com/xi2/xz, a port of XZ
// Embedded (the design of the kernel's own module decompressor), with the
// dictionary capped at maxDictSize.

var xzReaders = sync.Pool{New: func() any {
	r, _ := xz.NewReader(nil, maxDictSize)
	return r
}}

func decompressXZ(src []byte, limit int64, buf []byte) ([]byte, error) {
	hint, known := xzDeclaredSize(src, limit)
	if known && hint > limit {
		return nil, &LimitError{Format: XZ, Limit: limit}
	}
	if !known {
		hint = guessHint(src)
	}
	r := xzReaders.Get().(*xz.Reader)
	out, err := decodeXZ(r, src, hint, limit, buf)
	if err == nil || errors.Is(err, errLimit) {
		// After an error other than our own limit the reader's state is
		// not trusted for reuse.
		xzReaders.Put(r)
	}
	if err != nil {
		off := int64(-1)
		if errors.Is(err, ErrTruncated) {
			off = int64(len(src))
		}
		return nil, wrapErr(XZ, limit, off, err)
	}
	return out, nil
}

func decodeXZ(r *xz.Reader, src []byte, hint, limit int64, buf []byte) ([]byte, error) {
	if err := r.Reset(bytes.NewReader(src)); err != nil {
		return nil, xi2Error(err)
	}
	out, err := drain(&readerStepper{r: r}, hint, limit, buf)
	if err != nil {
		return nil, xi2Error(err)
	}
	return out, nil
}

// xi2Error rewords xi2/xz's errors like xz(1) and liblzma do.
func xi2Error(err error) error {
	switch err {
	case xz.ErrBuf:
		return ErrTruncated
	case xz.ErrFormat:
		return errors.New("file format not recognized")
	case xz.ErrOptions, xz.ErrUnsupportedCheck:
		return errors.New("unsupported options")
	case xz.ErrData:
		return errors.New("compressed data is corrupt")
	case xz.ErrMemlimit:
		return errors.New("dictionary larger than 64 MiB")
	}
	return err
}

func compressXZ(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data)/3 + 4096)
	w, err := ulxz.WriterConfig{DictCap: 1 << 20, CheckSum: ulxz.CRC32}.NewWriter(&buf)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// liblzmaVersion reports the version of the liblzma this build uses: none.
func liblzmaVersion() string { return "" }
