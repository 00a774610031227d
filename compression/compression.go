// Package compression decompresses and compresses Linux kernel module files
// (.ko.gz, .ko.xz, .ko.zst).
//
// The format of a module is recognised from its leading magic bytes
// ([Sniff]); the file name extension is at most a hint. [Decompress] holds
// its output under a caller-chosen limit and stops decoding as soon as the
// limit would be crossed, so a small hostile file cannot make it allocate
// gigabytes. [Compress] produces the output Kbuild's scripts/Makefile.modinst
// would produce, so a module can be re-signed and compressed again.
//
// # Security
//
// Decompress is meant for untrusted input: output is bounded by the limit,
// decoder memory (the LZMA2 dictionary, the zstd window) is bounded by fixed
// caps, and a panic in a third-party Go decoder is turned into a
// [*CorruptError]. In builds with cgo, xz data is decoded by the system's
// liblzma.
package compression

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

// Format is a compression container format.
type Format uint8

// The formats a kernel module may be stored in. Kbuild writes Gzip with
// CONFIG_MODULE_COMPRESS_GZIP, XZ with CONFIG_MODULE_COMPRESS_XZ and Zstd
// with CONFIG_MODULE_COMPRESS_ZSTD.
const (
	None Format = iota // not compressed
	Gzip               // gzip (RFC 1952), possibly several members
	XZ                 // xz (.xz container, LZMA2)
	Zstd               // Zstandard (RFC 8878)
)

var formatNames = [...]string{None: "none", Gzip: "gzip", XZ: "xz", Zstd: "zstd"}

// String returns "none", "gzip", "xz" or "zstd".
func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return fmt.Sprintf("Format(%d)", uint8(f))
}

// Magic numbers at the start of each container.
var (
	magicZstd = []byte{0x28, 0xb5, 0x2f, 0xfd}
	magicXZ   = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	magicGzip = []byte{0x1f, 0x8b}
)

// Sniff returns the compression format whose magic number head starts with:
// 28 B5 2F FD for zstd, FD 37 7A 58 5A 00 for xz and 1F 8B for gzip.
// Anything else, including a head too short to tell, is None. Six bytes of
// head are enough.
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, magicZstd):
		return Zstd
	case bytes.HasPrefix(head, magicXZ):
		return XZ
	case bytes.HasPrefix(head, magicGzip):
		return Gzip
	}
	return None
}

// DefaultLimit is the default cap on the decompressed size of a module:
// 256 MiB. That is far above the largest real module (amdgpu.ko is about
// 30 MiB decompressed in Debian's 6.12 kernel) while still refusing
// decompression bombs long before they hurt.
const DefaultLimit int64 = 256 << 20

// maxDictSize caps the LZMA2 dictionary (and so the decoder's memory) that
// Decompress accepts. Kbuild uses 1 MiB (older kernels 2 MiB); 64 MiB is what
// "xz -9" uses.
const maxDictSize = 64 << 20

// maxZstdWindow caps the zstd window Decompress accepts. Level 3, Kbuild's
// setting, uses at most 8 MiB; 128 MiB is the window of "zstd --ultra -22".
const maxZstdWindow = 128 << 20

// Decompress decodes src, which is in format f, and returns the decompressed
// bytes. The output never exceeds limit bytes: decoding stops as soon as
// byte limit+1 would be produced and a [*LimitError] is returned. A limit of
// zero or less means [DefaultLimit].
//
// Where the container declares the uncompressed size (the xz index, the zstd
// frame content size) a declared size above limit is refused before any
// decoding, and a declared size within limit is used to allocate the output
// exactly once. The declaration is never trusted further than that: the
// streaming limit still applies. The gzip ISIZE trailer (the size modulo
// 2^32) serves only as an allocation hint.
//
// Malformed input, including truncated data and trailing garbage, yields a
// [*CorruptError]. For None, src itself (not a copy) is returned if it fits
// the limit.
func Decompress(f Format, src []byte, limit int64) (out []byte, err error) {
	return DecompressBuffer(f, src, nil, limit)
}

// DecompressBuffer is [Decompress] writing into buf when buf's capacity
// holds the output the container declares (or, without a declared size,
// the first part of it), so a caller decompressing many files in turn can
// reuse one buffer. The result may or may not share buf's array; for None
// it is src, as with Decompress.
func DecompressBuffer(f Format, src, buf []byte, limit int64) (out []byte, err error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	if f == None {
		if int64(len(src)) > limit {
			return nil, &LimitError{Format: None, Limit: limit}
		}
		return src, nil
	}
	if f > Zstd {
		return nil, fmt.Errorf("compression: unknown format %v", f)
	}
	if len(src) == 0 {
		return nil, &CorruptError{Format: f, Offset: 0, Err: ErrTruncated}
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, &CorruptError{Format: f, Offset: -1, Err: fmt.Errorf("decoder panic: %v", r)}
		}
	}()
	switch f {
	case Gzip:
		return decompressGzip(src, limit, buf)
	case XZ:
		return decompressXZ(src, limit, buf)
	default:
		return decompressZstd(src, limit, buf)
	}
}

// DeclaredSize returns the decompressed size that src, in format f,
// declares: the sum of the xz indexes or of the zstd frame content sizes
// (gzip declares none: its ISIZE is the size modulo 2^32). A value above
// limit (0 for [DefaultLimit]) means at least that much. It is a claim
// only, to size a buffer for [DecompressBuffer].
func DeclaredSize(f Format, src []byte, limit int64) (int64, bool) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	switch f {
	case XZ:
		return xzDeclaredSize(src, limit)
	case Zstd:
		return zstdDeclaredSize(src, limit)
	}
	return 0, false
}

// Compress compresses data in format f with the settings Kbuild uses in
// scripts/Makefile.modinst: "gzip -n" (level 6, no name, no time stamp),
// "xz --check=crc32 --lzma2=dict=1MiB" and "zstd" at level 3 (the latter
// approximated by the Go encoder's default level). For None it returns a
// copy of data.
func Compress(f Format, data []byte) ([]byte, error) {
	switch f {
	case None:
		return bytes.Clone(data), nil
	case Gzip:
		return compressGzip(data)
	case XZ:
		return compressXZ(data)
	case Zstd:
		return compressZstd(data)
	}
	return nil, fmt.Errorf("compression: unknown format %v", f)
}

// stepper is one decoder as seen by drain: step decodes into dst and reports
// how many bytes it wrote and whether the whole input has been decoded.
// A step that makes no progress and is not done returns an error rather than
// (0, false, nil) forever.
type stepper interface {
	step(dst []byte) (n int, done bool, err error)
}

// errLimit is returned by drain when the output would exceed the limit.
var errLimit = errors.New("limit exceeded")

// minGrow is the smallest output buffer drain allocates when it has no size
// hint or the hint proved too small.
const minGrow = 64 << 10

// drain runs s to completion into a buffer that starts with capacity hint
// (clamped to [1, limit]; buf when its capacity is at least that) and
// grows up to limit bytes. Whenever the buffer is
// full it first probes for one more byte, so an exact hint costs no second
// allocation and a limit overrun is detected without allocating beyond limit.
func drain(s stepper, hint int64, limit int64, buf []byte) ([]byte, error) {
	hint = min(max(hint, 1), limit)
	var out []byte
	if int64(cap(buf)) >= hint {
		out = buf[:0:min(int64(cap(buf)), limit)]
	} else {
		out = make([]byte, 0, hint)
	}
	var probe [1]byte
	for {
		if len(out) < cap(out) {
			n, done, err := s.step(out[len(out):cap(out)])
			out = out[:len(out)+n]
			if err != nil {
				return nil, err
			}
			if done {
				return out, nil
			}
			continue
		}
		n, done, err := s.step(probe[:])
		if err != nil {
			return nil, err
		}
		if n == 0 {
			if done {
				return out, nil
			}
			continue
		}
		if int64(len(out)) >= limit {
			return nil, errLimit
		}
		grown := make([]byte, len(out), min(max(2*int64(cap(out)), minGrow), limit))
		copy(grown, out)
		out = append(grown, probe[0])
		if done {
			return out, nil
		}
	}
}

// readerStepper adapts an io.Reader to a stepper.
type readerStepper struct {
	r      io.Reader
	stalls int
}

func (s *readerStepper) step(dst []byte) (int, bool, error) {
	n, err := s.r.Read(dst)
	switch {
	case err == io.EOF:
		return n, true, nil
	case err != nil:
		return n, false, err
	case n == 0:
		if s.stalls++; s.stalls > 100 {
			return 0, false, io.ErrNoProgress
		}
	default:
		s.stalls = 0
	}
	return n, false, nil
}

// guessHint is the initial output capacity when the container declares no
// size: kernel modules compress about 4:1 to 6:1.
func guessHint(src []byte) int64 {
	return max(int64(len(src))*4, minGrow)
}

// wrapErr turns a decoder error into the package's error types.
func wrapErr(f Format, limit int64, off int64, err error) error {
	switch {
	case err == errLimit:
		return &LimitError{Format: f, Limit: limit}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &CorruptError{Format: f, Offset: off, Err: ErrTruncated}
	}
	return &CorruptError{Format: f, Offset: off, Err: err}
}
