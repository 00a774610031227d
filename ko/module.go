// Package ko gives the semantics of a Linux kernel module file on top of
// package elfx: .modinfo, __versions and extended modversions, exports with
// CRCs, GPL flag and namespace, imports, the struct module descriptor in
// .gnu.linkonce.this_module, the appended signature and the build ID.
//
// Parsing is deterministic and host-independent: nothing here looks at the
// running kernel. Accessors are lazy, so reading .modinfo does not decode the
// symbol table.
package ko

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
)

// Options tune how a module is read. The zero value is usable.
type Options struct {
	// MaxSize bounds the decompressed size of a compressed module;
	// 0 means compression.DefaultLimit.
	MaxSize int64
}

func (o *Options) limit() int64 {
	if o == nil || o.MaxSize <= 0 {
		return compression.DefaultLimit
	}
	return o.MaxSize
}

// Module is a parsed kernel module image.
type Module struct {
	// Path is the path the module was opened from ("" for in-memory input).
	Path string
	// Compression is the container the file came in (by magic bytes).
	Compression compression.Format
	// FileSize is the size of the file as stored (compressed size if compressed).
	FileSize int64
	// ELF gives raw access to the decompressed image.
	ELF *elfx.File

	closer func() error
}

// Error is returned by Open and wraps every failure once with the file name.
type Error struct {
	Path string
	Err  error
}

func (e *Error) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// ErrNotRegular reports a path that is not a regular file.
var ErrNotRegular = errors.New("not a regular file")

// ErrTooShort reports a file shorter than the 6 bytes needed to sniff its
// compression (kmod 30 fails such files with EINVAL).
var ErrTooShort = errors.New("file is too short to be a module")

// New parses an uncompressed module image held in memory. The module keeps
// referring to data.
func New(data []byte) (*Module, error) {
	f, err := elfx.New(data)
	if err != nil {
		return nil, err
	}
	return &Module{ELF: f, FileSize: int64(len(data))}, nil
}

// NewBytes parses a module image that may be compressed (gzip, xz or zstd,
// detected by magic bytes).
func NewBytes(raw []byte, opt *Options) (*Module, error) {
	format := compression.Sniff(raw)
	data := raw
	if format != compression.None {
		var err error
		data, err = compression.Decompress(format, raw, opt.limit())
		if err != nil {
			return nil, err
		}
	}
	m, err := New(data)
	if err != nil {
		if format != compression.None {
			err = fmt.Errorf("after %s decompression: %w", format, err)
		}
		return nil, err
	}
	m.Compression = format
	m.FileSize = int64(len(raw))
	return m, nil
}

// NewFile reads a module of the given size from r, decompressing it if needed.
func NewFile(r io.ReaderAt, size int64, opt *Options) (*Module, error) {
	if size < 0 || size > opt.limit() {
		return nil, fmt.Errorf("file size %d is beyond the %d-byte limit", size, opt.limit())
	}
	raw := make([]byte, size)
	if _, err := r.ReadAt(raw, 0); err != nil && !(err == io.EOF && size == 0) {
		return nil, err
	}
	return NewBytes(raw, opt)
}

// Open reads the module at path. A plain file stays open and is read on
// demand (headers first, then only the sections asked for), so showing
// .modinfo of a large module reads a few kilobytes; Close releases it.
// Compressed files are decompressed into memory, bounded by
// Options.MaxSize. Errors are *Error values naming the path.
func Open(path string, opt *Options) (*Module, error) {
	m, err := open(path, opt)
	if err != nil {
		return nil, &Error{Path: path, Err: err}
	}
	m.Path = path
	return m, nil
}

func open(path string, opt *Options) (_ *Module, err error) {
	fd, size, err := openRaw(path)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			fd.Close()
		}
	}()
	var buf [64]byte
	n, _ := fd.ReadAt(buf[:], 0)
	head := buf[:n]
	if n < 6 {
		if n == 0 {
			return nil, fmt.Errorf("%w: the file is empty", ErrTooShort)
		}
		return nil, fmt.Errorf("%w: %d bytes", ErrTooShort, n)
	}
	if format := compression.Sniff(head); format != compression.None {
		if size > opt.limit() {
			return nil, fmt.Errorf("compressed file of %d bytes is beyond the %d-byte limit", size, opt.limit())
		}
		raw := make([]byte, size)
		if _, err := fd.ReadAt(raw, 0); err != nil {
			return nil, err
		}
		return NewBytes(raw, opt)
	}
	f, err := elfx.NewReaderAt(fd, size, head)
	if err != nil {
		return nil, err
	}
	keep = true
	return &Module{ELF: f, FileSize: size, closer: fd.Close}, nil
}

// Close releases the file of a plain module opened with Open. The module
// must not be used afterwards.
func (m *Module) Close() error {
	if m.closer != nil {
		c := m.closer
		m.closer = nil
		return c()
	}
	return nil
}

// Bytes returns the whole decompressed image, signature included (reading
// it in full for a plain file opened with Open).
func (m *Module) Bytes() ([]byte, error) { return m.ELF.Bytes() }

// NameFromPath returns the module name kmod derives from a file name: the
// base name up to its first '.', with every '-' mapped to '_'
// (kmod's path_to_modname).
func NameFromPath(path string) string {
	base := filepath.Base(path)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		base = base[:i]
	}
	return strings.ReplaceAll(base, "-", "_")
}

// sectionData returns the contents of the first section called name, or a
// nil section when there is none.
func (m *Module) sectionData(name string) ([]byte, *elfx.Section, error) {
	s := m.ELF.Section(name)
	if s == nil {
		return nil, nil, nil
	}
	b, err := m.ELF.SectionData(s)
	return b, s, err
}

// SplitStrings splits a NUL-separated string section the way kmod's
// kmod_elf_get_strings does: leading NULs skipped, runs of NULs collapsed
// (no empty strings), a final unterminated string accepted. fn's argument
// aliases b.
func SplitStrings(b []byte, fn func(s []byte)) {
	for len(b) > 0 {
		i := bytes.IndexByte(b, 0)
		if i < 0 {
			fn(b)
			return
		}
		if i > 0 {
			fn(b[:i])
		}
		b = b[i+1:]
	}
}
