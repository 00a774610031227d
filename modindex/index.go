// Package modindex reads kmod's binary module indexes (modules.*.bin),
// modules.builtin.modinfo, and performs the module lookup that kmod 30's
// modinfo(8) performs for arguments that are not module files.
//
// Behaviour follows kmod 30 (libkmod/libkmod-index.c, libkmod.c,
// libkmod-module.c, libkmod-builtin.c and shared/util.c).
package modindex

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
)

// Index file constants (libkmod-index.c).
const (
	IndexMagic        = 0xB007F457
	IndexVersionMajor = 0x0002

	nodePrefix = 0x80000000
	nodeValues = 0x40000000
	nodeChilds = 0x20000000
	nodeMask   = 0x0FFFFFFF

	headerSize = 12
)

// ErrBadHeader is wrapped by errors about the 12-byte header (short file,
// wrong magic, wrong major version). kmod's readers refuse such files and
// the lookup functions treat them like a missing index.
var ErrBadHeader = errors.New("bad index header")

// ErrMalformed is wrapped by every error about the node structure.
var ErrMalformed = errors.New("malformed index")

// FormatError describes a malformed index file.
type FormatError struct {
	File   string // file name, "" when parsed from memory
	Offset int64  // byte offset the problem was found at
	Msg    string
	kind   error // ErrBadHeader or ErrMalformed
}

func (e *FormatError) Error() string {
	f := e.File
	if f == "" {
		f = "<index>"
	}
	return fmt.Sprintf("%s: offset %#x: %s: %s", f, e.Offset, e.kind, e.Msg)
}

// Unwrap returns ErrBadHeader or ErrMalformed.
func (e *FormatError) Unwrap() error { return e.kind }

// Value is one value of an index key.
type Value struct {
	Priority uint32
	Value    string
}

type node struct {
	prefix   string
	first    int // first child character; 128 and last=0 when no children (like kmod)
	last     int
	children []*node // len last-first+1 when present; nil entries for absent children
	values   []Value // values in file order
}

// Index is a parsed binary index. It is immutable and safe for concurrent use.
type Index struct {
	root *node // nil when the root offset is 0
}

// Limits that keep malformed input from consuming unbounded resources.
const (
	maxDepth = 1 << 16 // nesting depth of the trie
)

type parser struct {
	data    []byte
	file    string
	visited map[uint32]bool
}

func (p *parser) errf(kind error, off int64, format string, args ...any) error {
	return &FormatError{File: p.file, Offset: off, Msg: fmt.Sprintf(format, args...), kind: kind}
}

// ParseIndex parses an index held in memory. The whole reachable trie is
// decoded and checked; structural problems give a *FormatError. Nodes must
// form a tree: a node offset referenced twice (a cycle or a shared subtree)
// is reported as malformed.
func ParseIndex(data []byte) (*Index, error) {
	return parseIndex(data, "")
}

// OpenIndex reads and parses an index file.
func OpenIndex(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIndex(data, path)
}

func parseIndex(data []byte, file string) (*Index, error) {
	p := &parser{data: data, file: file, visited: map[uint32]bool{}}
	if len(data) < headerSize {
		return nil, p.errf(ErrBadHeader, 0, "file is %d bytes, shorter than the %d-byte header", len(data), headerSize)
	}
	if m := binary.BigEndian.Uint32(data); m != IndexMagic {
		return nil, p.errf(ErrBadHeader, 0, "magic %#08x instead of %#08x", m, uint32(IndexMagic))
	}
	if v := binary.BigEndian.Uint32(data[4:]); v>>16 != IndexVersionMajor {
		return nil, p.errf(ErrBadHeader, 4, "major version %d instead of %d", v>>16, IndexVersionMajor)
	}
	root, err := p.readNode(binary.BigEndian.Uint32(data[8:]), 8, 0)
	if err != nil {
		return nil, err
	}
	return &Index{root: root}, nil
}

func (p *parser) u32(off int64, what string) (uint32, error) {
	if off < 0 || off+4 > int64(len(p.data)) {
		return 0, p.errf(ErrMalformed, off, "truncated %s", what)
	}
	return binary.BigEndian.Uint32(p.data[off:]), nil
}

func (p *parser) cstring(off int64, what string) (string, int64, error) {
	if off >= int64(len(p.data)) {
		return "", 0, p.errf(ErrMalformed, off, "truncated %s", what)
	}
	for i := off; i < int64(len(p.data)); i++ {
		if p.data[i] == 0 {
			return string(p.data[off:i]), i + 1, nil
		}
	}
	return "", 0, p.errf(ErrMalformed, off, "unterminated %s", what)
}

// readNode decodes the node referenced by ref (an offset with flag bits);
// from is the offset of the reference itself, for error messages.
func (p *parser) readNode(ref uint32, from int64, depth int) (*node, error) {
	off := ref & nodeMask
	if off == 0 {
		return nil, nil
	}
	if depth > maxDepth {
		return nil, p.errf(ErrMalformed, from, "trie deeper than %d levels", maxDepth)
	}
	if int64(off) < headerSize || int64(off) > int64(len(p.data)) {
		return nil, p.errf(ErrMalformed, from, "node offset %#x outside the node area (file size %#x)", off, len(p.data))
	}
	if p.visited[off] {
		return nil, p.errf(ErrMalformed, from, "node offset %#x referenced more than once (cycle or shared node)", off)
	}
	p.visited[off] = true

	n := &node{first: 128, last: 0}
	pos := int64(off)
	if ref&nodePrefix != 0 {
		s, next, err := p.cstring(pos, "node prefix")
		if err != nil {
			return nil, err
		}
		n.prefix, pos = s, next
	}
	var childRefs []uint32
	var childPos int64
	if ref&nodeChilds != 0 {
		if pos+2 > int64(len(p.data)) {
			return nil, p.errf(ErrMalformed, pos, "truncated child range")
		}
		first, last := int(p.data[pos]), int(p.data[pos+1])
		if first > last {
			return nil, p.errf(ErrMalformed, pos, "child range first %#x > last %#x", first, last)
		}
		pos += 2
		cnt := last - first + 1
		if pos+int64(cnt)*4 > int64(len(p.data)) {
			return nil, p.errf(ErrMalformed, pos, "truncated child table (%d entries)", cnt)
		}
		n.first, n.last = first, last
		childRefs = make([]uint32, cnt)
		childPos = pos
		for i := range childRefs {
			childRefs[i] = binary.BigEndian.Uint32(p.data[pos:])
			pos += 4
		}
	}
	if ref&nodeValues != 0 {
		cnt, err := p.u32(pos, "value count")
		if err != nil {
			return nil, err
		}
		vpos := pos
		pos += 4
		// Each value needs at least 5 bytes (priority + NUL).
		if int64(cnt) > (int64(len(p.data))-pos)/5 {
			return nil, p.errf(ErrMalformed, vpos, "value count %d exceeds the file size", cnt)
		}
		n.values = make([]Value, 0, cnt)
		for i := uint32(0); i < cnt; i++ {
			prio, err := p.u32(pos, "value priority")
			if err != nil {
				return nil, err
			}
			s, next, err := p.cstring(pos+4, "value string")
			if err != nil {
				return nil, err
			}
			n.values = append(n.values, Value{Priority: prio, Value: s})
			pos = next
		}
	}
	if childRefs != nil {
		n.children = make([]*node, len(childRefs))
		for i, cr := range childRefs {
			c, err := p.readNode(cr, childPos+int64(i)*4, depth+1)
			if err != nil {
				return nil, err
			}
			n.children[i] = c
		}
	}
	return n, nil
}

// child mirrors index_readchild with a C (signed) char argument: bytes
// >= 0x80 are negative in kmod and never select a child.
func (n *node) child(ch byte) *node {
	c := int(int8(ch))
	if n.first <= c && c <= n.last {
		return n.children[c-n.first]
	}
	return nil
}

// fileOrder returns the node's values in the order kmod's FILE-based reader
// (index_read, used by modinfo and by any tool that did not mmap the
// index) keeps them: each value read is inserted before the first value
// with priority >= its own, so equal priorities come out reversed.
func (n *node) fileOrder() []Value {
	var out []Value
	for _, v := range n.values {
		out = addValue(out, v)
	}
	return out
}

// addValue mirrors add_value(): insert before the first value whose
// priority is >= v.Priority.
func addValue(list []Value, v Value) []Value {
	i := sort.Search(len(list), func(i int) bool { return list[i].Priority >= v.Priority })
	list = append(list, Value{})
	copy(list[i+1:], list[i:])
	list[i] = v
	return list
}

// Search is index_search (the fopen-based reader used by modinfo and other
// callers without kmod_load_resources): exact key lookup returning the
// first value, i.e. the lowest priority and, among equal priorities, the
// one stored last.
func (ix *Index) Search(key string) (string, bool) {
	n := ix.exact(key)
	if n == nil || len(n.values) == 0 {
		return "", false
	}
	return n.fileOrder()[0].Value, true
}

// SearchMmap is index_mm_search (used after kmod_load_resources, e.g. by
// modprobe): like Search but returns the first value in file order.
func (ix *Index) SearchMmap(key string) (string, bool) {
	n := ix.exact(key)
	if n == nil || len(n.values) == 0 {
		return "", false
	}
	return n.values[0].Value, true
}

func (ix *Index) exact(key string) *node {
	if ix == nil {
		return nil
	}
	if i := indexByte(key, 0); i >= 0 {
		key = key[:i]
	}
	n, i := ix.root, 0
	for n != nil {
		for j := 0; j < len(n.prefix); j++ {
			if i+j >= len(key) || n.prefix[j] != key[i+j] {
				return nil
			}
		}
		i += len(n.prefix)
		if i == len(key) {
			return n
		}
		n = n.child(key[i])
		i++
	}
	return nil
}

// SearchWild is index_searchwild (fopen-based reader, as used by modinfo):
// the index keys are fnmatch(3) patterns; every value of every key that
// matches key is returned, ordered by priority with ties in reverse
// discovery order (kmod's insert-before-equal-priority rule).
func (ix *Index) SearchWild(key string) []Value {
	return ix.searchWild(key, true)
}

// SearchWildMmap is index_mm_searchwild (the mmap reader used after
// kmod_load_resources, e.g. by modprobe). It differs from SearchWild only
// in the order of equal-priority values stored under one key.
func (ix *Index) SearchWildMmap(key string) []Value {
	return ix.searchWild(key, false)
}

type wildSearch struct {
	key       string
	fileOrder bool
	buf       []byte
	out       []Value
}

func (ix *Index) searchWild(key string, fileOrder bool) []Value {
	if ix == nil {
		return nil
	}
	// kmod works on C strings: a NUL ends the key.
	if i := indexByte(key, 0); i >= 0 {
		key = key[:i]
	}
	s := &wildSearch{key: key, fileOrder: fileOrder}
	s.descend(ix.root)
	return s.out
}

func indexByte(s string, c byte) int {
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			return i
		}
	}
	return -1
}

func (s *wildSearch) addAll(n *node) {
	vals := n.values
	if s.fileOrder {
		vals = n.fileOrder()
	}
	for _, v := range vals {
		s.out = addValue(s.out, v)
	}
}

// keyAt returns key[i] or 0 past the end, like reading a C string.
func (s *wildSearch) keyAt(i int) byte {
	if i < len(s.key) {
		return s.key[i]
	}
	return 0
}

func (s *wildSearch) descend(n *node) {
	i := 0
	for n != nil {
		for j := 0; j < len(n.prefix); j++ {
			ch := n.prefix[j]
			if ch == '*' || ch == '?' || ch == '[' {
				s.all(n, j, s.key[i+j:])
				return
			}
			if ch != s.keyAt(i+j) {
				return
			}
		}
		i += len(n.prefix)
		for _, wc := range []byte{'*', '?', '['} {
			if c := n.child(wc); c != nil {
				s.buf = append(s.buf, wc)
				s.all(c, 0, s.key[i:])
				s.buf = s.buf[:len(s.buf)-1]
			}
		}
		if i >= len(s.key) {
			s.addAll(n)
			return
		}
		n = n.child(s.key[i])
		i++
	}
}

func (s *wildSearch) all(n *node, j int, subkey string) {
	pushed := len(n.prefix) - j
	s.buf = append(s.buf, n.prefix[j:]...)
	for ch := n.first; ch <= n.last; ch++ {
		c := n.children[ch-n.first]
		if c == nil {
			continue
		}
		s.buf = append(s.buf, byte(ch))
		s.all(c, 0, subkey)
		s.buf = s.buf[:len(s.buf)-1]
	}
	if len(n.values) > 0 && fnmatchBytes(s.buf, subkey) {
		s.addAll(n)
	}
	s.buf = s.buf[:len(s.buf)-pushed]
}

// Dump writes every key/value pair like kmod_dump_index with the index
// mmapped (what `modprobe -c` prints after kmod_load_resources succeeded):
// one "prefix+key value" line per value, values in file order, children
// in character order.
func (ix *Index) Dump(w io.Writer, prefix string) error {
	return ix.dump(w, prefix, false)
}

// DumpFile is like Dump but mirrors the fopen-based index_dump, which
// lists equal-priority values of a key in reverse file order. modprobe
// uses it when kmod_load_resources failed (e.g. an index shorter than 12
// bytes).
func (ix *Index) DumpFile(w io.Writer, prefix string) error {
	return ix.dump(w, prefix, true)
}

func (ix *Index) dump(w io.Writer, prefix string, fileOrder bool) error {
	if ix == nil || ix.root == nil {
		return nil
	}
	d := &dumper{w: w, buf: []byte(prefix), fileOrder: fileOrder}
	d.node(ix.root)
	if d.err == nil && len(d.out) > 0 {
		_, d.err = w.Write(d.out)
	}
	return d.err
}

type dumper struct {
	w         io.Writer
	buf       []byte
	out       []byte
	fileOrder bool
	err       error
}

func (d *dumper) node(n *node) {
	if d.err != nil {
		return
	}
	d.buf = append(d.buf, n.prefix...)
	vals := n.values
	if d.fileOrder {
		vals = n.fileOrder()
	}
	for _, v := range vals {
		d.out = append(d.out, d.buf...)
		d.out = append(d.out, ' ')
		d.out = append(d.out, v.Value...)
		d.out = append(d.out, '\n')
	}
	if len(d.out) >= 64<<10 {
		_, d.err = d.w.Write(d.out)
		d.out = d.out[:0]
	}
	for ch := n.first; ch <= n.last; ch++ {
		c := n.children[ch-n.first]
		if c == nil {
			continue
		}
		d.buf = append(d.buf, byte(ch))
		d.node(c)
		d.buf = d.buf[:len(d.buf)-1]
	}
	d.buf = d.buf[:len(d.buf)-len(n.prefix)]
}
