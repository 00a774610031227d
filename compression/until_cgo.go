//go:build cgo

package compression

/*
#cgo CFLAGS: -I${SRCDIR}/internal/liblzma/api
#include <lzma.h>

static lzma_ret kms_until_decoder(lzma_stream *s, uint64_t memlimit) {
	return lzma_stream_decoder(s, memlimit, LZMA_CONCATENATED);
}
*/
import "C"

// xzStepper starts a pooled liblzma decoder on src (as decompressXZ does);
// done returns it to the pool.
func xzStepper(src []byte) (stepper, func(bool), error) {
	d := xzDecoders.Get().(*xzDecoder)
	if d.s == nil {
		return nil, nil, lzmaError(C.LZMA_MEM_ERROR)
	}
	if ret := C.kms_until_decoder(d.s, C.uint64_t(xzMemlimit)); ret != C.LZMA_OK {
		xzDecoders.Put(d)
		return nil, nil, lzmaError(ret)
	}
	return &lzmaStepper{s: d.s, src: src}, func(bool) { xzDecoders.Put(d) }, nil
}
