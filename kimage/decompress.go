package kimage

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/kmodscope/kmodscope/compression"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz/lzma"
)

// A codec is one of the compressors the kernel build can use for its
// payload (scripts/Makefile.lib: cmd_gzip, cmd_bzip2, cmd_lzma, cmd_lzo,
// cmd_lz4, cmd_xzkern, cmd_zstd22).
type codec string

const (
	codecNone  codec = "none"
	codecGzip  codec = "gzip"
	codecXZ    codec = "xz"
	codecZstd  codec = "zstd"
	codecLZ4   codec = "lz4"
	codecBzip2 codec = "bzip2"
	codecLZMA  codec = "lzma"
	codecLZO   codec = "lzo"
)

var (
	magicGzip  = []byte{0x1f, 0x8b, 0x08}
	magicXZ    = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicZstd  = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicLZ4   = []byte{0x02, 0x21, 0x4c, 0x18} // legacy frame, 0x184C2102 LE
	magicBzip2 = []byte("BZh")
	magicLZO   = []byte{0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a}
	// "lzma -9" writes properties 0x5d (lc=3 lp=0 pb=2) then the dictionary
	// size (64 MiB for -9) and an unknown size (all ones).
	magicLZMA = []byte{0x5d, 0x00, 0x00}
)

// sniffCodec returns the codec whose magic number b starts with, or
// codecNone.
func sniffCodec(b []byte) codec {
	switch {
	case bytes.HasPrefix(b, magicXZ):
		return codecXZ
	case bytes.HasPrefix(b, magicZstd):
		return codecZstd
	case bytes.HasPrefix(b, magicGzip) && len(b) > 3 && b[3]&0xe0 == 0:
		return codecGzip
	case bytes.HasPrefix(b, magicLZ4):
		return codecLZ4
	case bytes.HasPrefix(b, magicBzip2) && len(b) >= 10 && b[3] >= '1' && b[3] <= '9' &&
		bytes.Equal(b[4:10], []byte{0x31, 0x41, 0x59, 0x26, 0x53, 0x59}):
		return codecBzip2
	case bytes.HasPrefix(b, magicLZO):
		return codecLZO
	case isLZMAHeader(b):
		return codecLZMA
	}
	return codecNone
}

// isLZMAHeader reports whether b starts with a plausible .lzma ("LZMA
// alone") header as "lzma -N" writes it: properties 0x5d, a power-of-two
// dictionary of 64 KiB to 64 MiB (or 2^n+2^(n-1)), and an unknown or sane
// size.
func isLZMAHeader(b []byte) bool {
	if len(b) < 14 || b[0] != 0x5d {
		return false
	}
	d := binary.LittleEndian.Uint32(b[1:5])
	if d < 1<<16 || d > 1<<27 {
		return false
	}
	if d&(d-1) != 0 {
		// 2^n + 2^(n-1) is also what xz-utils writes for some presets.
		lo := d & -d
		if d != lo*3 {
			return false
		}
	}
	size := binary.LittleEndian.Uint64(b[5:13])
	return size == ^uint64(0) || size < 1<<40
}

// errOverLimit is returned by the decoders when the output would exceed the
// limit.
var errOverLimit = errors.New("over limit")

// limitWriter collects decoder output up to limit bytes.
type limitWriter struct {
	buf   []byte
	limit int64
}

func newLimitWriter(hint, limit int64) *limitWriter {
	hint = min(max(hint, 64<<10), limit)
	return &limitWriter{buf: make([]byte, 0, hint), limit: limit}
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if int64(len(w.buf))+int64(len(p)) > w.limit {
		n := int(w.limit - int64(len(w.buf)))
		w.buf = append(w.buf, p[:n]...)
		return n, errOverLimit
	}
	if len(w.buf)+len(p) > cap(w.buf) {
		c := min(max(2*int64(cap(w.buf)), int64(len(w.buf)+len(p))), w.limit)
		nb := make([]byte, len(w.buf), c)
		copy(nb, w.buf)
		w.buf = nb
	}
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// copyLimited drains r into w, turning a limit overrun into errOverLimit.
// A non-nil stop is asked after every read whether w holds enough; then
// copyLimited returns errStopped.
func copyLimited(w *limitWriter, r io.Reader, stop func([]byte) bool) error {
	buf := make([]byte, 256<<10)
	stalls := 0
	for {
		n, err := r.Read(buf)
		if n > 0 {
			stalls = 0
			if _, werr := w.Write(buf[:n]); werr != nil {
				return werr
			}
			if stop != nil && err == nil && stop(w.buf) {
				return errStopped
			}
		} else if err == nil {
			if stalls++; stalls > 100 {
				return io.ErrNoProgress
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// errStopped ends a decoder run that its stop function ended.
var errStopped = errors.New("stopped")

// decodeResult is the output of one decoder run.
type decodeResult struct {
	out []byte
	// stopped is set when the stop function ended decoding: out is a
	// prefix of the stream's output.
	stopped bool
	// partial is set when the decoder failed after producing out: the
	// stream is damaged or truncated, or followed by data it could not
	// tell from a continuation.
	partial bool
}

// decode decompresses the stream of codec c at the start of src. Data
// after the end of the stream is ignored (the kernel's payloads carry a
// 4-byte size trailer, and a stream found by scanning is followed by the
// rest of the image). The output never exceeds limit bytes: an overrun is
// reported as errOverLimit. A stream that fails after producing output
// returns that output with partial set and the error. A non-nil stop is
// called with the output so far as it grows (for xz, zstd, gzip, bzip2 and
// lzma); when it returns true decoding ends there, with stopped set.
func decode(c codec, src []byte, limit int64, stop func([]byte) bool) (res decodeResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			res, err = decodeResult{}, fmt.Errorf("decoder panic: %v", r)
		}
	}()
	var w *limitWriter
	switch c {
	case codecNone:
		if int64(len(src)) > limit {
			return decodeResult{}, errOverLimit
		}
		return decodeResult{out: src}, nil
	case codecXZ, codecZstd:
		return decodeExact(c, src, limit, stop)
	case codecGzip:
		w = newLimitWriter(int64(len(src))*4, limit)
		zr, err := gzip.NewReader(bytes.NewReader(src))
		if err != nil {
			return decodeResult{}, err
		}
		zr.Multistream(false)
		err = copyLimited(w, zr, stop)
		return finish(w, err)
	case codecBzip2:
		w = newLimitWriter(int64(len(src))*4, limit)
		err := copyLimited(w, bzip2.NewReader(bytes.NewReader(src)), stop)
		return finish(w, err)
	case codecLZMA:
		w = newLimitWriter(int64(len(src))*4, limit)
		zr, err := lzma.ReaderConfig{DictCap: int(min(limit, 128<<20))}.NewReader(bytes.NewReader(src))
		if err != nil {
			return decodeResult{}, err
		}
		err = copyLimited(w, zr, stop)
		return finish(w, err)
	case codecLZ4:
		return decodeLZ4Legacy(src, limit)
	case codecLZO:
		return decodeResult{}, fmt.Errorf("%w: lzo", ErrUnsupported)
	}
	return decodeResult{}, fmt.Errorf("%w: %s", ErrUnsupported, c)
}

func finish(w *limitWriter, err error) (decodeResult, error) {
	if err == errStopped {
		return decodeResult{out: w.buf, stopped: true}, nil
	}
	if err == errOverLimit {
		return decodeResult{}, err
	}
	if err != nil {
		return decodeResult{out: w.buf, partial: len(w.buf) > 0}, err
	}
	return decodeResult{out: w.buf}, nil
}

// decodeExact decodes an xz or zstd stream with the compression package
// after finding where the stream ends, since that package (rightly, for
// modules) refuses trailing data.
func decodeExact(c codec, src []byte, limit int64, stop func([]byte) bool) (decodeResult, error) {
	var ends []int
	var f compression.Format
	if c == codecXZ {
		f, ends = compression.XZ, xzStreamEnds(src)
	} else {
		f = compression.Zstd
		if n := zstdFrameEnd(src); n > 0 {
			ends = []int{n}
		}
	}
	if len(ends) == 0 {
		return decodeResult{}, fmt.Errorf("%s stream: end not found (truncated)", c)
	}
	var firstErr error
	for _, end := range ends {
		var out []byte
		var stopped bool
		var err error
		if stop != nil {
			out, stopped, err = compression.DecompressUntil(f, src[:end], limit, stop)
		} else {
			out, err = compression.Decompress(f, src[:end], limit)
		}
		if err == nil {
			return decodeResult{out: out, stopped: stopped}, nil
		}
		if errors.Is(err, compression.ErrLimit) {
			return decodeResult{}, errOverLimit
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return decodeResult{}, firstErr
}

// xzStreamEnds returns candidate ends of the xz stream at the start of src:
// the ends of 12-byte stream footers ("YZ" magic) whose CRC32 is right and
// whose stream flags equal the header's, in increasing order, at most 4.
func xzStreamEnds(src []byte) []int {
	if len(src) < 24 {
		return nil
	}
	flags := src[6:8]
	var ends []int
	for p := 12; p+12 <= len(src) && len(ends) < 4; {
		i := bytes.Index(src[p+10:], []byte("YZ"))
		if i < 0 {
			break
		}
		ftr := src[p+i : p+i+12]
		if (p+i)%4 == 0 && bytes.Equal(ftr[8:10], flags) &&
			binary.LittleEndian.Uint32(ftr[0:4]) == crc32.ChecksumIEEE(ftr[4:10]) {
			ends = append(ends, p+i+12)
		}
		p += i + 1
	}
	return ends
}

// zstdFrameEnd walks the zstd frame at the start of src (RFC 8878 section
// 3.1.1) and returns its length, or 0 if it does not parse.
func zstdFrameEnd(src []byte) int {
	if len(src) < 6 || !bytes.HasPrefix(src, magicZstd) {
		return 0
	}
	fhd := src[4]
	if fhd&0x08 != 0 {
		return 0
	}
	p := 5
	single := fhd&0x20 != 0
	if !single {
		p++
	}
	p += [4]int{0, 1, 2, 4}[fhd&3]
	fcs := [4]int{0, 2, 4, 8}[fhd>>6]
	if fcs == 0 && single {
		fcs = 1
	}
	p += fcs
	for {
		if len(src)-p < 3 {
			return 0
		}
		bh := int(src[p]) | int(src[p+1])<<8 | int(src[p+2])<<16
		p += 3
		size := bh >> 3
		switch (bh >> 1) & 3 {
		case 1:
			size = 1
		case 3:
			return 0
		}
		if size > len(src)-p {
			return 0
		}
		p += size
		if bh&1 != 0 {
			break
		}
	}
	if fhd&0x04 != 0 {
		p += 4
		if p > len(src) {
			return 0
		}
	}
	return p
}

// lz4LegacyBlock is the decompressed size of each block of an lz4 legacy
// frame ("lz4 -l"): 8 MiB.
const lz4LegacyBlock = 8 << 20

// decodeLZ4Legacy decodes the lz4 legacy format the kernel uses
// (lib/decompress_unlz4.c): a 0x184C2102 magic, then blocks each preceded
// by its compressed size in 4 bytes little-endian. The magic may recur
// (concatenated frames). The stream ends at the end of the data or at a
// size field that cannot be a block: the kernel's 4-byte size trailer.
func decodeLZ4Legacy(src []byte, limit int64) (decodeResult, error) {
	if !bytes.HasPrefix(src, magicLZ4) {
		return decodeResult{}, errors.New("lz4: bad magic")
	}
	w := newLimitWriter(int64(len(src))*3, limit)
	var block []byte
	maxComp := lz4.CompressBlockBound(lz4LegacyBlock)
	p := 4
	blocks := 0
	for len(src)-p >= 4 {
		n := int(binary.LittleEndian.Uint32(src[p:]))
		if n == 0x184c2102 {
			p += 4
			continue
		}
		if n == 0 || n > maxComp || n > len(src)-p-4 {
			if blocks == 0 {
				return decodeResult{}, fmt.Errorf("lz4: bad block size %d at %d", n, p)
			}
			break // the size trailer or what follows the stream
		}
		// A block expands at most 255-fold; small blocks get small buffers.
		if want := min(lz4LegacyBlock, 255*n+16); len(block) < want {
			block = make([]byte, want)
		}
		m, err := lz4.UncompressBlock(src[p+4:p+4+n], block)
		if err != nil {
			return decodeResult{out: w.buf, partial: len(w.buf) > 0}, fmt.Errorf("lz4: block at %d: %v", p, err)
		}
		if _, err := w.Write(block[:m]); err != nil {
			return decodeResult{}, err
		}
		blocks++
		p += 4 + n
	}
	if blocks == 0 {
		return decodeResult{}, errors.New("lz4: no blocks (truncated)")
	}
	return decodeResult{out: w.buf}, nil
}
