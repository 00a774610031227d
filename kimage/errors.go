package kimage

import (
	"errors"
	"fmt"
)

// Sentinel errors, for errors.Is. Every error from [Open] and [Parse] other
// than an I/O error of [Open] is an [*Error] that unwraps to one of them.
var (
	// ErrNoPayload: the file is not a recognised kernel image and holds
	// no compressed stream that decompresses to a kernel.
	ErrNoPayload = errors.New("no kernel payload found")
	// ErrTruncated: the image's header points beyond the end of the file.
	ErrTruncated = errors.New("truncated kernel image")
	// ErrCorrupt: the kernel payload does not decompress.
	ErrCorrupt = errors.New("corrupt kernel payload")
	// ErrUnsupported: the payload uses a compression this package cannot
	// decode (lzo).
	ErrUnsupported = errors.New("unsupported payload compression")
	// ErrTooLarge: the decompressed kernel would exceed Options.MaxSize.
	ErrTooLarge = errors.New("decompressed kernel exceeds the size limit")
	// ErrNoCerts: the kernel was decompressed but holds no X.509
	// certificate. [Parse] returns the [*Image] (format, version) along
	// with this error.
	ErrNoCerts = errors.New("no certificates found")
)

// Error describes what is wrong with a kernel image.
type Error struct {
	Path    string // file name given to Open, or ""
	Format  string // image format as far as recognised, or ""
	Payload string // payload compression, or ""
	Offset  int64  // offset in the file the error concerns, or -1
	Kind    error  // one of the sentinel errors above
	Err     error  // underlying cause, or nil
}

func (e *Error) Error() string {
	s := "kimage: "
	if e.Path != "" {
		s += e.Path + ": "
	}
	if e.Format != "" {
		s += e.Format + ": "
	}
	s += e.Kind.Error()
	if e.Payload != "" && e.Payload != string(codecNone) {
		s += fmt.Sprintf(" (%s payload", e.Payload)
		if e.Offset >= 0 {
			s += fmt.Sprintf(" at offset %#x", e.Offset)
		}
		s += ")"
	} else if e.Offset >= 0 {
		s += fmt.Sprintf(" (at offset %#x)", e.Offset)
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns Kind and, if set, Err.
func (e *Error) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
