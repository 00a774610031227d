package modindex

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Builder builds a kmod binary index in memory the way depmod's
// index_insert does (tools/depmod.c, identical in kmod 30 and 34): a
// compressed trie whose shape does not depend on the insertion order, each
// key holding a list of values ordered by ascending priority where a new
// value goes before the first value of equal or higher priority (so equal
// priorities come out most recent first).
//
// The zero value is not usable; call NewBuilder.
type Builder struct {
	root *bnode
}

type bchild struct {
	ch   byte
	node *bnode
}

type bnode struct {
	prefix   string
	children []bchild // sorted by ch
	values   []Value
}

// NewBuilder returns an empty index.
func NewBuilder() *Builder { return &Builder{root: &bnode{}} }

// BadCharError reports a key or value byte outside 7-bit ASCII, which kmod's
// index cannot hold (kmod 34: "Module index: bad character"; kmod 30
// silently writes a broken index).
type BadCharError struct {
	S   string
	Pos int
}

func (e *BadCharError) Error() string {
	return fmt.Sprintf("Module index: bad character '%c'=0x%x - only 7-bit ASCII is supported:\n%s", e.S[e.Pos], e.S[e.Pos], e.S)
}

func checkString(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return &BadCharError{S: s, Pos: i}
		}
	}
	return nil
}

func cstr(s string) string {
	if i := indexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// Insert adds value under key with the given priority. It reports whether
// the key already held an identical value (depmod -w's "duplicate"). Key
// and value end at a NUL byte like C strings.
func (b *Builder) Insert(key, value string, prio uint32) (duplicate bool, err error) {
	key, value = cstr(key), cstr(value)
	if err := checkString(key); err != nil {
		return false, err
	}
	if err := checkString(value); err != nil {
		return false, err
	}
	n := b.find(key)
	for _, v := range n.values {
		if v.Value == value {
			duplicate = true
			break
		}
	}
	n.values = addValue(n.values, Value{Priority: prio, Value: value})
	return duplicate, nil
}

// appendValue adds value at the end of key's list, whatever its priority
// (tests use it to rewrite a parsed index exactly).
func (b *Builder) appendValue(key string, v Value) {
	n := b.find(key)
	n.values = append(n.values, v)
}

// find returns the node for key, splitting and creating nodes like
// index_insert.
func (b *Builder) find(key string) *bnode {
	n, i := b.root, 0
	for {
		for j := 0; j < len(n.prefix); j++ {
			if i+j >= len(key) || n.prefix[j] != key[i+j] {
				child := &bnode{prefix: n.prefix[j+1:], children: n.children, values: n.values}
				*n = bnode{prefix: n.prefix[:j], children: []bchild{{n.prefix[j], child}}}
				break
			}
		}
		i += len(n.prefix)
		if i == len(key) {
			return n
		}
		ch := key[i]
		k, hi := 0, len(n.children) // the first child >= ch
		for k < hi {
			mid := int(uint(k+hi) >> 1)
			if n.children[mid].ch < ch {
				k = mid + 1
			} else {
				hi = mid
			}
		}
		if k == len(n.children) || n.children[k].ch != ch {
			leaf := &bnode{prefix: key[i+1:]}
			n.children = append(n.children, bchild{})
			copy(n.children[k+1:], n.children[k:])
			n.children[k] = bchild{ch, leaf}
			return leaf
		}
		n = n.children[k].node
		i++
	}
}

func (n *bnode) flags() uint32 {
	var f uint32
	if n.prefix != "" {
		f |= nodePrefix
	}
	if len(n.children) > 0 {
		f |= nodeChilds
	}
	if len(n.values) > 0 {
		f |= nodeValues
	}
	return f
}

func (n *bnode) span() (first, last int) {
	return int(n.children[0].ch), int(n.children[len(n.children)-1].ch)
}

// size is the length of the node's record.
func (n *bnode) size() int {
	s := 0
	if n.prefix != "" {
		s += len(n.prefix) + 1
	}
	if len(n.children) > 0 {
		first, last := n.span()
		s += 2 + 4*(last-first+1)
	}
	if len(n.values) > 0 {
		s += 4
		for _, v := range n.values {
			s += 4 + len(v.Value) + 1
		}
	}
	return s
}

// appendRecord appends the node's record; childOff returns the reference
// (offset|flags) of the child with character ch.
func (n *bnode) appendRecord(out []byte, childOff func(k int) uint32) []byte {
	if n.prefix != "" {
		out = append(out, n.prefix...)
		out = append(out, 0)
	}
	if len(n.children) > 0 {
		first, last := n.span()
		out = append(out, byte(first), byte(last))
		k := 0
		for ch := first; ch <= last; ch++ {
			var ref uint32
			if k < len(n.children) && int(n.children[k].ch) == ch {
				ref = childOff(k)
				k++
			}
			out = binary.BigEndian.AppendUint32(out, ref)
		}
	}
	if len(n.values) > 0 {
		out = binary.BigEndian.AppendUint32(out, uint32(len(n.values)))
		for _, v := range n.values {
			out = binary.BigEndian.AppendUint32(out, v.Priority)
			out = append(out, v.Value...)
			out = append(out, 0)
		}
	}
	return out
}

// Bytes serialises the index: kmod ≤ 33's post-order layout (children
// before their parent, root last) or, with preorder, kmod ≥ 34's layout
// (root at offset 12, each node before its children).
func (b *Builder) Bytes(preorder bool) []byte {
	var size func(n *bnode) int
	size = func(n *bnode) int {
		t := n.size()
		for _, c := range n.children {
			t += size(c.node)
		}
		return t
	}
	out := make([]byte, headerSize, headerSize+size(b.root))
	binary.BigEndian.PutUint32(out, IndexMagic)
	binary.BigEndian.PutUint32(out[4:], IndexVersionMajor<<16|1)
	var root uint32
	if preorder {
		totals := map[*bnode]int{}
		var total func(n *bnode) int
		total = func(n *bnode) int {
			t := n.size()
			for _, c := range n.children {
				t += total(c.node)
			}
			totals[n] = t
			return t
		}
		total(b.root)
		var write func(n *bnode)
		write = func(n *bnode) {
			off := len(out) + n.size()
			offs := make([]uint32, len(n.children))
			for k, c := range n.children {
				offs[k] = uint32(off) | c.node.flags()
				off += totals[c.node]
			}
			out = n.appendRecord(out, func(k int) uint32 { return offs[k] })
			for _, c := range n.children {
				write(c.node)
			}
		}
		root = uint32(len(out)) | b.root.flags()
		write(b.root)
	} else {
		// The children's references, on one stack shared by all levels.
		var refs []uint32
		var write func(n *bnode) uint32
		write = func(n *bnode) uint32 {
			base := len(refs)
			for _, c := range n.children {
				r := write(c.node)
				refs = append(refs, r)
			}
			off := uint32(len(out))
			out = n.appendRecord(out, func(k int) uint32 { return refs[base+k] })
			refs = refs[:base]
			return off | n.flags()
		}
		root = write(b.root)
	}
	binary.BigEndian.PutUint32(out[8:], root)
	return out
}

// WriteTo writes the post-order (kmod 30) serialisation to w.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	n, err := w.Write(b.Bytes(false))
	return int64(n), err
}
