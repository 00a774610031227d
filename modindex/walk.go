package modindex

// Walk calls fn for every key of the index that has values, in key order
// (children in character order, as Dump), with the key's values in file
// order (priority ascending as written by depmod).
func (ix *Index) Walk(fn func(key string, values []Value)) {
	if ix == nil || ix.root == nil {
		return
	}
	var buf []byte
	var walk func(n *node)
	walk = func(n *node) {
		buf = append(buf, n.prefix...)
		if len(n.values) > 0 {
			fn(string(buf), n.values)
		}
		for ch := n.first; ch <= n.last; ch++ {
			if c := n.children[ch-n.first]; c != nil {
				buf = append(buf, byte(ch))
				walk(c)
				buf = buf[:len(buf)-1]
			}
		}
		buf = buf[:len(buf)-len(n.prefix)]
	}
	walk(ix.root)
}
