package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// zstdDeclaredSize walks the zstd frames in src (RFC 8878 section 3.1) and
// returns the sum of their Frame_Content_Size fields. The walk reads only
// frame and block headers. known is false if a frame does not declare its
// size or the frame layout does not parse; if the sizes declared so far
// already exceed limit it returns a value above limit with known true.
func zstdDeclaredSize(src []byte, limit int64) (total int64, known bool) {
	p := 0
	for p < len(src) {
		if len(src)-p < 8 {
			return 0, false
		}
		magic := binary.LittleEndian.Uint32(src[p:])
		if magic&0xfffffff0 == 0x184d2a50 { // skippable frame
			n := int64(binary.LittleEndian.Uint32(src[p+4:]))
			if n > int64(len(src)-p-8) {
				return 0, false
			}
			p += 8 + int(n)
			continue
		}
		if magic != 0xfd2fb528 {
			return 0, false
		}
		p += 4
		fhd := src[p]
		p++
		if fhd&0x08 != 0 { // reserved bit
			return 0, false
		}
		single := fhd&0x20 != 0
		if !single {
			p++ // Window_Descriptor
		}
		p += [4]int{0, 1, 2, 4}[fhd&3] // Dictionary_ID
		fcsLen := [4]int{0, 2, 4, 8}[fhd>>6]
		if fcsLen == 0 && single {
			fcsLen = 1
		}
		if fcsLen == 0 || p+fcsLen > len(src) {
			return 0, false
		}
		var fcs uint64
		switch fcsLen {
		case 1:
			fcs = uint64(src[p])
		case 2:
			fcs = uint64(binary.LittleEndian.Uint16(src[p:])) + 256
		case 4:
			fcs = uint64(binary.LittleEndian.Uint32(src[p:]))
		case 8:
			fcs = binary.LittleEndian.Uint64(src[p:])
		}
		p += fcsLen
		if fcs > uint64(limit-total) {
			return limit + 1, true
		}
		total += int64(fcs)
		// Blocks.
		for {
			if len(src)-p < 3 {
				return 0, false
			}
			bh := uint32(src[p]) | uint32(src[p+1])<<8 | uint32(src[p+2])<<16
			p += 3
			size := int(bh >> 3)
			switch (bh >> 1) & 3 {
			case 1: // RLE
				size = 1
			case 3: // reserved
				return 0, false
			}
			if size > len(src)-p {
				return 0, false
			}
			p += size
			if bh&1 != 0 {
				break
			}
		}
		if fhd&0x04 != 0 { // Content_Checksum
			p += 4
		}
	}
	return total, p == len(src)
}

// Decoders are pooled: each has concurrency 1, so it decodes synchronously
// in the caller's goroutine and needs no Close. The decoder's own memory
// bound is the window cap; the output limit is enforced by drain.
var zstdDecoders = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderMaxMemory(maxZstdWindow),
		zstd.WithDecoderMaxWindow(maxZstdWindow),
		zstd.WithDecodeBuffersBelow(0))
	if err != nil {
		panic(err) // the options are constant
	}
	return d
}}

func decompressZstd(src []byte, limit int64, buf []byte) ([]byte, error) {
	hint, known := zstdDeclaredSize(src, limit)
	if known && hint > limit {
		return nil, &LimitError{Format: Zstd, Limit: limit}
	}
	if !known {
		hint = guessHint(src)
	}
	d := zstdDecoders.Get().(*zstd.Decoder)
	out, err := decodeZstd(d, src, hint, limit, buf)
	d.Reset(nil) // drop the reference to src
	zstdDecoders.Put(d)
	if err != nil {
		off := int64(-1)
		if errors.Is(err, io.ErrUnexpectedEOF) {
			off = int64(len(src))
		}
		if errors.Is(err, zstd.ErrWindowSizeExceeded) || errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			err = errors.New("window larger than 128 MiB")
		}
		return nil, wrapErr(Zstd, limit, off, err)
	}
	return out, nil
}

func decodeZstd(d *zstd.Decoder, src []byte, hint, limit int64, buf []byte) ([]byte, error) {
	if err := d.Reset(bytes.NewReader(src)); err != nil {
		return nil, err
	}
	return drain(&readerStepper{r: d}, hint, limit, buf)
}

var zstdEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedDefault), // "roughly equivalent to the default zstandard compression level (3)"
		zstd.WithEncoderConcurrency(1),
		zstd.WithEncoderCRC(true),  // zstd(1) writes a checksum by default
		zstd.WithWindowSize(1<<21), // level 3's window log is 21
	)
})

func compressZstd(data []byte) ([]byte, error) {
	e, err := zstdEncoder()
	if err != nil {
		return nil, err
	}
	return e.EncodeAll(data, make([]byte, 0, len(data)/3+1024)), nil
}
