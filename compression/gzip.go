package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/gzip"
)

var gzipReaders sync.Pool // of *gzip.Reader

// maxDeflateRatio bounds how far deflate can expand data (258 bytes from
// two bits, plus block overhead): a gzip ISIZE hint beyond it is a lie.
const maxDeflateRatio = 1032

func decompressGzip(src []byte, limit int64, buf []byte) ([]byte, error) {
	// ISIZE is the last member's size modulo 2^32, so it is only a hint.
	hint := guessHint(src)
	if len(src) >= 18 {
		isize := int64(binary.LittleEndian.Uint32(src[len(src)-4:]))
		if isize <= limit && isize <= int64(len(src))*maxDeflateRatio {
			hint = isize
		}
	}
	out, err := decodeGzip(src, hint, limit, buf)
	if err != nil {
		off := int64(-1)
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
			err, off = ErrTruncated, int64(len(src))
		}
		return nil, wrapErr(Gzip, limit, off, err)
	}
	return out, nil
}

func decodeGzip(src []byte, hint, limit int64, buf []byte) ([]byte, error) {
	br := bytes.NewReader(src)
	var zr *gzip.Reader
	if v := gzipReaders.Get(); v != nil {
		zr = v.(*gzip.Reader)
		if err := zr.Reset(br); err != nil {
			return nil, err
		}
	} else {
		var err error
		if zr, err = gzip.NewReader(br); err != nil {
			return nil, err
		}
	}
	out, err := drain(&readerStepper{r: zr}, hint, limit, buf)
	if err == nil {
		gzipReaders.Put(zr)
	}
	return out, err
}

// compressGzip matches "gzip -n": level 6, no file name, a zero time stamp
// and OS 3 (Unix) in the header.
func compressGzip(data []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(data)/3 + 1024)
	w, err := gzip.NewWriterLevel(&buf, 6)
	if err != nil {
		return nil, err
	}
	w.OS = 3
	if _, err := w.Write(data); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
