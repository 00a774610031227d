package compression

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"math"
)

// xzDeclaredSize reads the uncompressed size that the xz streams in src
// declare in their indexes, walking backwards from the end of src through
// stream footers and indexes (xz file format 1.2.1, sections 2.1.2 and 4).
// It returns the sum and true only if every stream's footer and index parse
// and their CRC32s match. If the sum would exceed limit it stops early and
// returns a value above limit with true: the declared total is at least
// that much. It is only a claim; the decoder checks it against the data.
func xzDeclaredSize(src []byte, limit int64) (int64, bool) {
	const hdrLen, ftrLen = 12, 12
	var total int64
	end := len(src)
	for end > 0 {
		// Stream padding: null bytes, a multiple of four.
		for end >= 4 && binary.LittleEndian.Uint32(src[end-4:end]) == 0 {
			end -= 4
		}
		if end < hdrLen+ftrLen {
			return 0, false
		}
		ftr := src[end-ftrLen : end]
		if ftr[10] != 'Y' || ftr[11] != 'Z' || crc32.ChecksumIEEE(ftr[4:10]) != binary.LittleEndian.Uint32(ftr[0:4]) {
			return 0, false
		}
		backward := (int64(binary.LittleEndian.Uint32(ftr[4:8])) + 1) * 4
		idxEnd := int64(end - ftrLen)
		idxStart := idxEnd - backward
		if idxStart < hdrLen {
			return 0, false
		}
		blocks, uncompressed, ok := parseXZIndex(src[idxStart:idxEnd])
		if !ok {
			return 0, false
		}
		if uncompressed > limit-total {
			return limit + 1, true
		}
		total += uncompressed
		if blocks > idxStart-hdrLen {
			return 0, false
		}
		start := idxStart - blocks - hdrLen
		hdr := src[start : start+hdrLen]
		if !bytes.HasPrefix(hdr, magicXZ) || !bytes.Equal(hdr[6:8], ftr[8:10]) {
			return 0, false
		}
		end = int(start)
	}
	return total, true
}

// parseXZIndex parses one xz index and returns the total on-disk size of the
// blocks it lists and their total uncompressed size.
func parseXZIndex(idx []byte) (blocks, uncompressed int64, ok bool) {
	if len(idx) < 8 || idx[0] != 0 {
		return 0, 0, false
	}
	body := idx[:len(idx)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(idx[len(idx)-4:]) {
		return 0, 0, false
	}
	p := 1
	n, ok := readVLI(body, &p)
	if !ok {
		return 0, 0, false
	}
	for ; n > 0; n-- {
		unpadded, ok1 := readVLI(body, &p)
		size, ok2 := readVLI(body, &p)
		if !ok1 || !ok2 || unpadded == 0 {
			return 0, 0, false
		}
		padded := (unpadded + 3) &^ 3
		if padded > math.MaxInt64-blocks || size > math.MaxInt64-uncompressed {
			return 0, 0, false
		}
		blocks += padded
		uncompressed += size
	}
	// Index padding up to a multiple of four, all zero.
	if (len(body)-p) > 3 || len(idx)%4 != 0 {
		return 0, 0, false
	}
	for _, b := range body[p:] {
		if b != 0 {
			return 0, 0, false
		}
	}
	return blocks, uncompressed, true
}

// readVLI decodes an xz variable-length integer (at most 9 bytes, 63 bits)
// at b[*p] and advances *p.
func readVLI(b []byte, p *int) (int64, bool) {
	var v uint64
	for i := 0; i < 9; i++ {
		if *p >= len(b) {
			return 0, false
		}
		c := b[*p]
		*p++
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, false // not the shortest encoding
			}
			return int64(v), true
		}
	}
	return 0, false
}

// xzSingleCRC32 returns the CRC32 check value of src when src is exactly
// one xz stream of one block with a CRC32 check (optionally followed by
// stream padding): the layout "xz --check=crc32" writes for a module. The
// footer and index must parse as in xzDeclaredSize.
func xzSingleCRC32(src []byte) (uint32, bool) {
	const hdrLen, ftrLen, checkCRC32 = 12, 12, 0x01
	end := len(src)
	for end >= 4 && binary.LittleEndian.Uint32(src[end-4:end]) == 0 {
		end -= 4
	}
	if end < hdrLen+ftrLen || !bytes.HasPrefix(src, magicXZ) {
		return 0, false
	}
	ftr := src[end-ftrLen : end]
	if ftr[10] != 'Y' || ftr[11] != 'Z' || crc32.ChecksumIEEE(ftr[4:10]) != binary.LittleEndian.Uint32(ftr[0:4]) {
		return 0, false
	}
	hdr := src[:hdrLen]
	if hdr[6] != 0 || hdr[7] != checkCRC32 || !bytes.Equal(hdr[6:8], ftr[8:10]) || crc32.ChecksumIEEE(hdr[6:8]) != binary.LittleEndian.Uint32(hdr[8:12]) {
		return 0, false
	}
	backward := (int64(binary.LittleEndian.Uint32(ftr[4:8])) + 1) * 4
	idxEnd := int64(end - ftrLen)
	idxStart := idxEnd - backward
	if idxStart < hdrLen+4 {
		return 0, false
	}
	idx := src[idxStart:idxEnd]
	blocks, _, ok := parseXZIndex(idx)
	if !ok || hdrLen+blocks != idxStart {
		return 0, false
	}
	p := 1
	if n, ok := readVLI(idx, &p); !ok || n != 1 {
		return 0, false
	}
	// The check is the last field of the (padded) block, just before the index.
	return binary.LittleEndian.Uint32(src[idxStart-4 : idxStart]), true
}
