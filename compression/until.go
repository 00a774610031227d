package compression

import (
	"bytes"
	"fmt"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// untilChunk is how much output DecompressUntil produces between two calls
// of its stop function.
const untilChunk = 1 << 20

// DecompressUntil is [Decompress] for a caller that needs only a prefix of
// the output and can tell when it has it: after every piece of output (up to
// 1 MiB) it calls stop with all the output so far, and when stop returns
// true it ends there, returning that output with stopped set and without
// decoding (or checking) the rest of the stream. When stop never returns
// true the result is Decompress's (except that a None src is copied
// neither). stop must not keep or modify out.
func DecompressUntil(f Format, src []byte, limit int64, stop func(out []byte) bool) (out []byte, stopped bool, err error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	switch {
	case f == None:
		if int64(len(src)) > limit {
			return nil, false, &LimitError{Format: None, Limit: limit}
		}
		return src, stop(src), nil
	case f > Zstd:
		return nil, false, fmt.Errorf("compression: unknown format %v", f)
	case len(src) == 0:
		return nil, false, &CorruptError{Format: f, Offset: 0, Err: ErrTruncated}
	}
	defer func() {
		if r := recover(); r != nil {
			out, stopped, err = nil, false, &CorruptError{Format: f, Offset: -1, Err: fmt.Errorf("decoder panic: %v", r)}
		}
	}()
	var s stepper
	var done func(ok bool)
	var hint int64
	switch f {
	case Gzip:
		hint = guessHint(src)
		zr, err := gzipReader(src)
		if err != nil {
			return nil, false, wrapErr(Gzip, limit, -1, err)
		}
		s, done = &readerStepper{r: zr}, func(ok bool) {
			if ok {
				gzipReaders.Put(zr)
			}
		}
	case XZ:
		known := false
		if hint, known = xzDeclaredSize(src, limit); known && hint > limit {
			return nil, false, &LimitError{Format: XZ, Limit: limit}
		} else if !known {
			hint = guessHint(src)
		}
		s, done, err = xzStepper(src)
		if err != nil {
			return nil, false, &CorruptError{Format: XZ, Offset: -1, Err: err}
		}
	default:
		known := false
		if hint, known = zstdDeclaredSize(src, limit); known && hint > limit {
			return nil, false, &LimitError{Format: Zstd, Limit: limit}
		} else if !known {
			hint = guessHint(src)
		}
		d := zstdDecoders.Get().(*zstd.Decoder)
		if err := d.Reset(bytes.NewReader(src)); err != nil {
			zstdDecoders.Put(d)
			return nil, false, wrapErr(Zstd, limit, -1, err)
		}
		s, done = &readerStepper{r: d}, func(bool) {
			d.Reset(nil) // drop the reference to src
			zstdDecoders.Put(d)
		}
	}
	out, stopped, err = drainUntil(s, hint, limit, stop)
	done(err == nil || stopped)
	if err != nil {
		return nil, false, wrapErr(f, limit, -1, err)
	}
	return out, stopped, nil
}

// drainUntil is drain with a stop test after every piece of output.
func drainUntil(s stepper, hint, limit int64, stop func([]byte) bool) ([]byte, bool, error) {
	hint = min(max(hint, 1), limit)
	out := make([]byte, 0, hint)
	var probe [1]byte
	for {
		if len(out) < cap(out) {
			n, done, err := s.step(out[len(out):min(cap(out), len(out)+untilChunk)])
			out = out[:len(out)+n]
			if err != nil {
				return nil, false, err
			}
			if done {
				return out, false, nil
			}
			if n > 0 && stop(out) {
				return out, true, nil
			}
			continue
		}
		n, done, err := s.step(probe[:])
		if err != nil {
			return nil, false, err
		}
		if n == 0 {
			if done {
				return out, false, nil
			}
			continue
		}
		if int64(len(out)) >= limit {
			return nil, false, errLimit
		}
		grown := make([]byte, len(out), min(max(2*int64(cap(out)), minGrow), limit))
		copy(grown, out)
		out = append(grown, probe[0])
		if done {
			return out, false, nil
		}
	}
}

// gzipReader returns a pooled (or new) gzip reader over src.
func gzipReader(src []byte) (*gzip.Reader, error) {
	if v := gzipReaders.Get(); v != nil {
		zr := v.(*gzip.Reader)
		if err := zr.Reset(bytes.NewReader(src)); err != nil {
			return nil, err
		}
		return zr, nil
	}
	return gzip.NewReader(bytes.NewReader(src))
}
