//go:build cgo

package compression

/*
#cgo CFLAGS: -I${SRCDIR}/internal/liblzma/api
#include <lzma.h>
#include <stdlib.h>

typedef struct {
	lzma_ret ret;
	size_t   in_used;
	size_t   out_used;
} kms_result;

// kms_new allocates an lzma_stream with no coder yet.
static lzma_stream *kms_new(void) {
	return calloc(1, sizeof(lzma_stream)); // all-zero is LZMA_STREAM_INIT
}

// kms_decoder (re)starts s as an xz stream decoder that accepts concatenated
// streams and stream padding, as "xz -d" does. Restarting a stream that
// decoded before reuses liblzma's allocations, the dictionary included.
static lzma_ret kms_decoder(lzma_stream *s, uint64_t memlimit, int ignore_check) {
	uint32_t flags = LZMA_CONCATENATED;
#ifdef LZMA_IGNORE_CHECK
	if (ignore_check)
		flags |= LZMA_IGNORE_CHECK;
#endif
	return lzma_stream_decoder(s, memlimit, flags);
}

// kms_can_ignore_check reports whether this liblzma can skip the check.
static int kms_can_ignore_check(void) {
#ifdef LZMA_IGNORE_CHECK
	return 1;
#else
	return 0;
#endif
}

// kms_encoder allocates an xz encoder with Kbuild's settings: LZMA2 at
// preset 6 with a 1 MiB dictionary and a CRC32 check.
static lzma_stream *kms_encoder(lzma_ret *ret) {
	lzma_options_lzma opt;
	if (lzma_lzma_preset(&opt, 6)) {
		*ret = LZMA_OPTIONS_ERROR;
		return NULL;
	}
	opt.dict_size = 1 << 20;
	lzma_filter filters[2] = {
		{ .id = LZMA_FILTER_LZMA2, .options = &opt },
		{ .id = LZMA_VLI_UNKNOWN, .options = NULL },
	};
	lzma_stream *s = calloc(1, sizeof *s);
	if (s == NULL) {
		*ret = LZMA_MEM_ERROR;
		return NULL;
	}
	*ret = lzma_stream_encoder(s, filters, LZMA_CHECK_CRC32);
	if (*ret != LZMA_OK) {
		lzma_end(s);
		free(s);
		return NULL;
	}
	return s;
}

// kms_code runs lzma_code with LZMA_FINISH over the given buffers. The Go
// buffers are referenced by s only for the duration of the call.
static kms_result kms_code(lzma_stream *s, const uint8_t *in, size_t in_len, uint8_t *out, size_t out_len) {
	kms_result r;
	s->next_in = in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_len;
	r.ret = lzma_code(s, LZMA_FINISH);
	r.in_used = in_len - s->avail_in;
	r.out_used = out_len - s->avail_out;
	s->next_in = NULL;
	s->avail_in = 0;
	s->next_out = NULL;
	s->avail_out = 0;
	return r;
}

static void kms_free(lzma_stream *s) {
	lzma_end(s);
	free(s);
}
*/
import "C"

import (
	"bytes"
	"errors"
	"hash/crc32"
	"runtime"
	"sync"
	"unsafe"

	// liblzma 5.8.1, vendored and compiled by cgo: its LZMA decoder is
	// about 40% faster on x86-64 than the 5.4 of Debian 12 (see README.md
	// there); nothing links the system -llzma.
	_ "github.com/kmodscope/kmodscope/compression/internal/liblzma"
)

// liblzma's memory limit for decoding: the largest accepted dictionary plus
// room for the decoder's other state.
const xzMemlimit = maxDictSize + 8<<20

// lzmaStepper feeds src to a liblzma stream decoder.
type lzmaStepper struct {
	s      *C.lzma_stream
	src    []byte
	pos    int // bytes of src consumed
	stalls int
}

func (l *lzmaStepper) step(dst []byte) (int, bool, error) {
	var in, out *C.uint8_t
	if l.pos < len(l.src) {
		in = (*C.uint8_t)(unsafe.Pointer(&l.src[l.pos]))
	}
	if len(dst) > 0 {
		out = (*C.uint8_t)(unsafe.Pointer(&dst[0]))
	}
	r := C.kms_code(l.s, in, C.size_t(len(l.src)-l.pos), out, C.size_t(len(dst)))
	l.pos += int(r.in_used)
	n := int(r.out_used)
	switch r.ret {
	case C.LZMA_STREAM_END:
		return n, true, nil
	case C.LZMA_OK:
		if n == 0 && r.in_used == 0 {
			if l.stalls++; l.stalls > 4 {
				return 0, false, ErrTruncated
			}
		} else {
			l.stalls = 0
		}
		return n, false, nil
	}
	return n, false, lzmaError(r.ret)
}

// lzmaError maps a liblzma return code to an error, worded like xz(1).
func lzmaError(ret C.lzma_ret) error {
	switch ret {
	case C.LZMA_BUF_ERROR:
		return ErrTruncated
	case C.LZMA_FORMAT_ERROR:
		return errors.New("file format not recognized")
	case C.LZMA_OPTIONS_ERROR:
		return errors.New("unsupported options")
	case C.LZMA_DATA_ERROR:
		return errors.New("compressed data is corrupt")
	case C.LZMA_MEM_ERROR:
		return errors.New("cannot allocate memory")
	case C.LZMA_MEMLIMIT_ERROR:
		return errors.New("dictionary larger than 64 MiB")
	}
	return errors.New("liblzma: internal error")
}

// xzDecoder owns a C lzma_stream. Pooling them lets liblzma reuse its
// dictionary and state across modules; a cleanup frees the stream when the
// pool drops its wrapper.
type xzDecoder struct {
	s *C.lzma_stream
}

var xzDecoders = sync.Pool{New: func() any {
	d := &xzDecoder{s: C.kms_new()}
	if d.s != nil {
		runtime.AddCleanup(d, func(s *C.lzma_stream) { C.kms_free(s) }, d.s)
	}
	return d
}}

// canIgnoreCheck: liblzma can decode without computing the check
// (LZMA_IGNORE_CHECK, liblzma 5.1.4+).
var canIgnoreCheck = C.kms_can_ignore_check() != 0

func decompressXZ(src []byte, limit int64, buf []byte) ([]byte, error) {
	hint, known := xzDeclaredSize(src, limit)
	if known && hint > limit {
		return nil, &LimitError{Format: XZ, Limit: limit}
	}
	if !known {
		hint = guessHint(src)
	}
	// A single-block stream with a CRC32 check (what Kbuild writes) is
	// decoded without liblzma's CRC32 (table-driven, in older releases a
	// few percent of the decoding time) and checked here with the
	// hardware-assisted one. On a mismatch the stream is decoded again
	// with liblzma checking, for liblzma's own error.
	if want, ok := xzSingleCRC32(src); ok && canIgnoreCheck {
		out, err := decodeXZ(src, hint, limit, buf, true)
		var le *LimitError
		switch {
		case err == nil && crc32.ChecksumIEEE(out) == want:
			return out, nil
		case errors.As(err, &le):
			// Output beyond the limit comes before the check field,
			// checked or not: the same error (and no second decoding
			// of a bomb).
			return nil, err
		}
	}
	return decodeXZ(src, hint, limit, buf, false)
}

func decodeXZ(src []byte, hint, limit int64, buf []byte, ignoreCheck bool) ([]byte, error) {
	d := xzDecoders.Get().(*xzDecoder)
	if d.s == nil {
		return nil, &CorruptError{Format: XZ, Offset: -1, Err: lzmaError(C.LZMA_MEM_ERROR)}
	}
	defer xzDecoders.Put(d)
	ign := C.int(0)
	if ignoreCheck {
		ign = 1
	}
	if ret := C.kms_decoder(d.s, C.uint64_t(xzMemlimit), ign); ret != C.LZMA_OK {
		return nil, &CorruptError{Format: XZ, Offset: -1, Err: lzmaError(ret)}
	}
	l := &lzmaStepper{s: d.s, src: src}
	out, err := drain(l, hint, limit, buf)
	if err != nil {
		return nil, wrapErr(XZ, limit, int64(l.pos), err)
	}
	return out, nil
}

func compressXZ(data []byte) ([]byte, error) {
	var ret C.lzma_ret
	s := C.kms_encoder(&ret)
	if s == nil {
		return nil, lzmaError(ret)
	}
	defer C.kms_free(s)
	out := make([]byte, C.lzma_stream_buffer_bound(C.size_t(len(data))))
	l := &lzmaStepper{s: s, src: data}
	n := 0
	for {
		m, done, err := l.step(out[n:])
		n += m
		if err != nil {
			return nil, err
		}
		if done {
			return bytes.Clone(out[:n]), nil
		}
		if n == len(out) {
			out = append(out, make([]byte, len(out))...)
		}
	}
}

// liblzmaVersion reports the version of the liblzma this build uses.
func liblzmaVersion() string { return C.GoString(C.lzma_version_string()) }
