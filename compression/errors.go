package compression

import (
	"errors"
	"fmt"
)

// ErrLimit is the error a [*LimitError] unwraps to, for errors.Is.
var ErrLimit = errors.New("decompressed size limit exceeded")

// ErrTruncated is the cause in a [*CorruptError] when the compressed data
// ends early.
var ErrTruncated = errors.New("unexpected end of compressed data")

// LimitError reports that decompressing would exceed the size limit, either
// because the container declares a larger size or because decoding produced
// more than Limit bytes.
type LimitError struct {
	Format Format // format of the refused data
	Limit  int64  // the limit in bytes
}

func (e *LimitError) Error() string {
	if e.Format == None {
		return fmt.Sprintf("uncompressed module is larger than the %d-byte limit (raise it with --max-size)", e.Limit)
	}
	return fmt.Sprintf("%s stream expands beyond the %d-byte limit (raise it with --max-size)", e.Format, e.Limit)
}

// Unwrap returns [ErrLimit].
func (e *LimitError) Unwrap() error { return ErrLimit }

// CorruptError reports malformed compressed data: a bad header, a failed
// checksum, truncation, trailing garbage, or an unsupported option.
type CorruptError struct {
	Format Format // format of the data
	Offset int64  // offset in the compressed data where decoding failed, or -1 if unknown
	Err    error  // the cause, e.g. ErrTruncated
}

func (e *CorruptError) Error() string {
	if e.Offset >= 0 {
		return fmt.Sprintf("corrupt %s stream: %v (at compressed offset %d)", e.Format, e.Err, e.Offset)
	}
	return fmt.Sprintf("corrupt %s stream: %v", e.Format, e.Err)
}

// Unwrap returns the cause.
func (e *CorruptError) Unwrap() error { return e.Err }
