package btfexplain

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Certainty values of an [Explanation].
const (
	Certain   = "certain"   // the prototype changed
	Candidate = "candidate" // changed types are reachable from the declaration
	None      = "none"      // nothing found (see Note)
)

// Notes of an [Explanation] without causes.
const (
	NoteNoCause  = "no BTF-visible cause"
	NoteNotInBTF = "not in BTF"
)

// Change is one difference of a named type between the two kernels.
type Change struct {
	// Member is the member (struct/union; anonymous members flattened,
	// "a.b" for a member of a named member of anonymous type), the
	// enumerator (enum), "" for a typedef's target, or "param N" /
	// "return" of a prototype.
	Member string `json:"member"`
	// Change is "added", "removed", "retyped" (declared type differs),
	// "resized" (same declaration, the embedded type's size differs),
	// "bitfield" (bitfield width), "value" (enumerator value), "kind"
	// (struct became union, ...) or "params" (parameter count).
	Change string `json:"change"`
	Old    string `json:"old,omitempty"`
	New    string `json:"new,omitempty"`
}

// Cause is one candidate (or, for a prototype, certain) cause.
type Cause struct {
	// Kind is "prototype", "type", or "shared": the symbol reaches the
	// shared core of kernel types, whose changed types are listed once in
	// Result.Shared; Type then names the core type reached first.
	Kind string `json:"kind"`
	// Type is "struct seq_buf", "enum x", "typedef_name", "func f".
	Type string `json:"type"`
	// LayoutOnly is set when every change is a consequence of an embedded
	// type changing size (genksyms does not see it).
	LayoutOnly bool     `json:"layout_only"`
	Changes    []Change `json:"changes"`
	// Path is one chain of declarations from the symbol to Type: the
	// function and parameter first ("f(param)" or "f() return"), then
	// "struct a.member" steps.
	Path  []string `json:"path"`
	Depth int      `json:"depth"`
}

// Explanation is what BTF says about one symbol.
type Explanation struct {
	Certainty string  `json:"certainty"`
	Causes    []Cause `json:"causes"`
	Note      string  `json:"note,omitempty"`
	// Ambiguous is set when a kernel has several BTF functions of that
	// name (static functions of the same name in several units).
	Ambiguous bool `json:"ambiguous,omitempty"`
}

// Result is the outcome of [Explain].
type Result struct {
	Symbols map[string]Explanation `json:"symbols"`
	// Shared lists the changed types of the shared core once: the
	// largest set of mutually reachable named types of NEW (with what it
	// reaches), which most exports reach. Causes of kind "shared" refer
	// to it.
	Shared []Cause `json:"shared"`
	// SharedTypes is the number of named types in the shared core (0 when
	// no component reaches Options.CoreMin types).
	SharedTypes int `json:"shared_types"`
}

// Options tunes [ExplainOpts].
type Options struct {
	// CoreMin is the size a strongly connected component of named types
	// must reach to be treated as the shared core; 0 means 200.
	CoreMin int
}

// Explain compares old and new for each symbol: see [ExplainOpts].
func Explain(old, new *Spec, symbols []string) *Result {
	return ExplainOpts(old, new, symbols, nil)
}

// ExplainOpts finds, for each symbol, the candidate causes of a changed
// CRC: a changed prototype first (certain), else the changed named types
// reachable from the function's declaration in NEW (through members,
// pointers, typedefs, arrays and function pointers, as genksyms expands
// them), nearest first, each with one path. Types in the shared core are
// reported once in Result.Shared.
func ExplainOpts(old, new *Spec, symbols []string, opt *Options) *Result {
	coreMin := 200
	if opt != nil && opt.CoreMin > 0 {
		coreMin = opt.CoreMin
	}
	c := &comparer{old: old.index(), new: new.index(), changed: map[string]*typeDiff{}}
	res := &Result{Symbols: make(map[string]Explanation, len(symbols)), Shared: []Cause{}}
	core := c.new.core(coreMin)
	res.SharedTypes = len(core.closure)
	if len(core.set) > 0 {
		res.Shared = c.coreCauses(core)
	}
	for _, sym := range symbols {
		res.Symbols[sym] = c.explain(sym, core, len(res.Shared) > 0)
	}
	return res
}

// ---- index of one Spec ----

type index struct {
	funcs  map[string][]*btf.Func
	named  map[string][]btf.Type
	nodes  []btf.Type // named types in ID order
	edges  map[btf.Type][]edge
	descs  map[btf.Type]*desc
	coreC  *coreSet
	coreAt int
}

type edge struct {
	label string // "struct a.member"
	to    btf.Type
}

func (s *Spec) index() *index {
	if s.idx != nil {
		return s.idx
	}
	ix := &index{funcs: map[string][]*btf.Func{}, named: map[string][]btf.Type{},
		edges: map[btf.Type][]edge{}, descs: map[btf.Type]*desc{}}
	ix.add(s.base)
	for _, m := range s.mods {
		ix.add(m)
	}
	s.idx = ix
	return ix
}

// add indexes the types of spec (for split BTF: the module's own types).
func (ix *index) add(spec *btf.Spec) {
	ix.coreC = nil
	for t, err := range spec.All() {
		if err != nil {
			return
		}
		switch t := t.(type) {
		case *btf.Func:
			ix.funcs[t.Name] = append(ix.funcs[t.Name], t)
		case *btf.Struct, *btf.Union, *btf.Enum, *btf.Typedef:
			if t.TypeName() != "" {
				k := key(t)
				ix.named[k] = append(ix.named[k], t)
				ix.nodes = append(ix.nodes, t)
			}
		}
	}
}

// key names a named type as C does: "struct foo", "union u", "enum e",
// "foo_t" for a typedef.
func key(t btf.Type) string {
	switch t := t.(type) {
	case *btf.Struct:
		return "struct " + t.Name
	case *btf.Union:
		return "union " + t.Name
	case *btf.Enum:
		return "enum " + t.Name
	case *btf.Fwd:
		if t.Kind == btf.FwdUnion {
			return "union " + t.Name
		}
		return "struct " + t.Name
	case *btf.Typedef:
		return t.Name
	case *btf.Func:
		return "func " + t.Name
	}
	return t.TypeName()
}

func isNamedNode(t btf.Type) bool {
	switch t.(type) {
	case *btf.Struct, *btf.Union, *btf.Enum, *btf.Typedef, *btf.Fwd:
		return t.TypeName() != ""
	}
	return false
}

// ---- declaration-level descriptions ----

type member struct {
	name string
	typ  string
	bits uint32
	size int // size of an embedded named struct/union (or array of them), else -1
}

type desc struct {
	kind    string
	members []member
	sig     string // kind + members without sizes: the declaration
}

// refBudget bounds the work of spelling one type reference: anonymous
// types are expanded inline, and hostile BTF can share them so that the
// expansion would grow exponentially.
const refBudget = 4096

// ref spells a type reference without expanding named types.
func ref(t btf.Type, depth int) string {
	budget := refBudget
	return refB(t, depth, &budget)
}

func refB(t btf.Type, depth int, budget *int) string {
	*budget--
	if depth > 40 || *budget < 0 {
		return "..."
	}
	ref := func(t btf.Type, depth int) string { return refB(t, depth, budget) }
	switch t := t.(type) {
	case nil:
		return "?"
	case *btf.Void:
		return "void"
	case *btf.Int:
		return t.Name
	case *btf.Float:
		return t.Name
	case *btf.Pointer:
		return ref(t.Target, depth+1) + "*"
	case *btf.Array:
		return ref(t.Type, depth+1) + "[" + strconv.FormatUint(uint64(t.Nelems), 10) + "]"
	case *btf.Const:
		return "const " + ref(t.Type, depth+1)
	case *btf.Volatile:
		return "volatile " + ref(t.Type, depth+1)
	case *btf.Restrict:
		return ref(t.Type, depth+1) + " restrict"
	case *btf.TypeTag:
		return ref(t.Type, depth+1)
	case *btf.FuncProto:
		var b strings.Builder
		b.WriteString(ref(t.Return, depth+1))
		b.WriteString("(")
		for i, p := range t.Params {
			if i > 0 {
				b.WriteString(",")
			}
			if _, ok := p.Type.(*btf.Void); ok {
				b.WriteString("...")
			} else {
				b.WriteString(ref(p.Type, depth+1))
			}
		}
		b.WriteString(")")
		return b.String()
	case *btf.Struct, *btf.Union:
		if t.TypeName() != "" {
			return key(t)
		}
		var b strings.Builder
		if _, ok := t.(*btf.Union); ok {
			b.WriteString("union {")
		} else {
			b.WriteString("struct {")
		}
		for _, m := range members(t) {
			b.WriteString(ref(m.Type, depth+1))
			b.WriteString(" ")
			b.WriteString(m.Name)
			if m.BitfieldSize > 0 {
				b.WriteString(":" + strconv.Itoa(int(m.BitfieldSize)))
			}
			b.WriteString(";")
		}
		b.WriteString("}")
		return b.String()
	case *btf.Enum:
		if t.Name != "" {
			return key(t)
		}
		var b strings.Builder
		b.WriteString("enum {")
		for _, v := range t.Values {
			fmt.Fprintf(&b, "%s=%d,", v.Name, int64(v.Value))
		}
		b.WriteString("}")
		return b.String()
	case *btf.Fwd, *btf.Typedef:
		return key(t)
	}
	return fmt.Sprintf("%T", t)
}

func members(t btf.Type) []btf.Member {
	switch t := t.(type) {
	case *btf.Struct:
		return t.Members
	case *btf.Union:
		return t.Members
	}
	return nil
}

func stripQuals(t btf.Type) btf.Type {
	for i := 0; i < 10; i++ {
		switch q := t.(type) {
		case *btf.Const:
			t = q.Type
		case *btf.Volatile:
			t = q.Type
		case *btf.Restrict:
			t = q.Type
		case *btf.TypeTag:
			t = q.Type
		default:
			return t
		}
	}
	return t
}

// flatMember is a member after flattening anonymous structs and unions.
type flatMember struct {
	name string
	m    btf.Member
}

// maxFlat bounds the members of one type after flattening.
const maxFlat = 1 << 14

func flatten(prefix string, ms []btf.Member, out []flatMember, depth int) []flatMember {
	budget := maxFlat
	return flattenB(prefix, ms, out, depth, &budget)
}

func flattenB(prefix string, ms []btf.Member, out []flatMember, depth int, budget *int) []flatMember {
	for _, m := range ms {
		if *budget--; *budget < 0 {
			return out
		}
		inner := stripQuals(m.Type)
		switch inner.(type) {
		case *btf.Struct, *btf.Union:
			if inner.TypeName() == "" && depth < 20 {
				p := prefix
				if m.Name != "" {
					p = prefix + m.Name + "."
				}
				out = flattenB(p, members(inner), out, depth+1, budget)
				continue
			}
		}
		out = append(out, flatMember{prefix + m.Name, m})
	}
	return out
}

// embeddedSize is the size of an embedded named struct or union (or an
// array of them), or -1.
func embeddedSize(t btf.Type) int {
	u := stripQuals(t)
	for i := 0; i < 10; i++ {
		switch a := u.(type) {
		case *btf.Array:
			u = stripQuals(a.Type)
			continue
		case *btf.Typedef:
			u = stripQuals(a.Type)
			continue
		}
		break
	}
	switch u.(type) {
	case *btf.Struct, *btf.Union:
		if n, err := btf.Sizeof(t); err == nil {
			return n
		}
	}
	return -1
}

func (ix *index) desc(t btf.Type) *desc {
	if d, ok := ix.descs[t]; ok {
		return d
	}
	d := &desc{}
	switch t := t.(type) {
	case *btf.Struct, *btf.Union:
		d.kind = "struct"
		if _, ok := t.(*btf.Union); ok {
			d.kind = "union"
		}
		for _, fm := range flatten("", members(t), nil, 0) {
			d.members = append(d.members, member{name: fm.name, typ: ref(fm.m.Type, 0),
				bits: uint32(fm.m.BitfieldSize), size: embeddedSize(fm.m.Type)})
		}
	case *btf.Enum:
		d.kind = "enum"
		for _, v := range t.Values {
			val := strconv.FormatInt(int64(v.Value), 10)
			if !t.Signed {
				val = strconv.FormatUint(v.Value, 10)
			}
			d.members = append(d.members, member{name: v.Name, typ: val, size: -1})
		}
	case *btf.Typedef:
		d.kind = "typedef"
		d.members = []member{{name: "", typ: ref(t.Type, 0), size: embeddedSize(t.Type)}}
	case *btf.Fwd:
		d.kind = "fwd"
	}
	var b strings.Builder
	b.WriteString(d.kind)
	for _, m := range d.members {
		fmt.Fprintf(&b, "|%s %s:%d", m.name, m.typ, m.bits)
	}
	d.sig = b.String()
	ix.descs[t] = d
	return d
}

// ---- the type graph ----

// children are the named types a named type's declaration refers to,
// directly or through pointers, arrays, qualifiers, anonymous types and
// function prototypes.
func (ix *index) children(t btf.Type) []edge {
	if es, ok := ix.edges[t]; ok {
		return es
	}
	var es []edge
	seen := map[btf.Type]bool{} // every type visited: anonymous ones can be shared
	k := key(t)
	var walk func(label string, u btf.Type, depth int)
	walk = func(label string, u btf.Type, depth int) {
		if depth > 40 || u == nil || seen[u] {
			return
		}
		seen[u] = true
		if isNamedNode(u) {
			es = append(es, edge{label, u})
			return
		}
		switch u := u.(type) {
		case *btf.Pointer:
			walk(label, u.Target, depth+1)
		case *btf.Array:
			walk(label, u.Type, depth+1)
		case *btf.Const:
			walk(label, u.Type, depth+1)
		case *btf.Volatile:
			walk(label, u.Type, depth+1)
		case *btf.Restrict:
			walk(label, u.Type, depth+1)
		case *btf.TypeTag:
			walk(label, u.Type, depth+1)
		case *btf.FuncProto:
			walk(label, u.Return, depth+1)
			for _, p := range u.Params {
				walk(label, p.Type, depth+1)
			}
		case *btf.Struct, *btf.Union:
			for _, fm := range flatten("", members(u), nil, 0) {
				walk(label+"."+fm.name, fm.m.Type, depth+1)
			}
		}
	}
	switch tt := t.(type) {
	case *btf.Struct, *btf.Union:
		for _, fm := range flatten("", members(tt), nil, 0) {
			walk(k+"."+fm.name, fm.m.Type, 0)
		}
	case *btf.Typedef:
		walk("typedef "+k, tt.Type, 0)
	}
	ix.edges[t] = es
	return es
}

// ---- the shared core ----

type coreSet struct {
	set     map[btf.Type]bool // the component: walks stop here
	closure map[btf.Type]bool // the component and what it reaches
	root    btf.Type
}

// core returns the largest strongly connected component of the named-type
// graph with everything it reaches, if it has at least min types.
func (ix *index) core(min int) *coreSet {
	if ix.coreC != nil && ix.coreAt == min {
		return ix.coreC
	}
	// Tarjan's algorithm, iterative.
	num := map[btf.Type]int{}
	low := map[btf.Type]int{}
	on := map[btf.Type]bool{}
	var stack []btf.Type
	var best []btf.Type
	n := 0
	type frame struct {
		t btf.Type
		i int
	}
	for _, start := range ix.nodes {
		if _, ok := num[start]; ok {
			continue
		}
		call := []frame{{start, 0}}
		num[start], low[start] = n, n
		n++
		stack = append(stack, start)
		on[start] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			es := ix.children(f.t)
			if f.i < len(es) {
				w := es[f.i].to
				f.i++
				if _, ok := num[w]; !ok {
					num[w], low[w] = n, n
					n++
					stack = append(stack, w)
					on[w] = true
					call = append(call, frame{w, 0})
				} else if on[w] && num[w] < low[f.t] {
					low[f.t] = num[w]
				}
				continue
			}
			v := f.t
			call = call[:len(call)-1]
			if len(call) > 0 {
				p := call[len(call)-1].t
				if low[v] < low[p] {
					low[p] = low[v]
				}
			}
			if low[v] == num[v] {
				var comp []btf.Type
				for {
					w := stack[len(stack)-1]
					stack = stack[:len(stack)-1]
					on[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				if len(comp) > len(best) {
					best = comp
				}
			}
		}
	}
	cs := &coreSet{set: map[btf.Type]bool{}, closure: map[btf.Type]bool{}}
	if len(best) >= min {
		// The root: the component's type with the lowest ID (nodes are
		// in ID order), for stable paths.
		pos := map[btf.Type]int{}
		for i, t := range ix.nodes {
			pos[t] = i
		}
		for _, t := range best {
			if cs.root == nil || pos[t] < pos[cs.root] {
				cs.root = t
			}
		}
		for _, t := range best {
			if key(t) == "struct task_struct" {
				cs.root = t
			}
		}
		for _, t := range best {
			cs.set[t] = true
		}
		queue := []btf.Type{cs.root}
		cs.closure[cs.root] = true
		for len(queue) > 0 {
			t := queue[0]
			queue = queue[1:]
			for _, e := range ix.children(t) {
				if !cs.closure[e.to] {
					cs.closure[e.to] = true
					queue = append(queue, e.to)
				}
			}
		}
	}
	ix.coreC, ix.coreAt = cs, min
	return cs
}

// ---- comparison ----

type typeDiff struct {
	changes    []Change
	layoutOnly bool
}

type comparer struct {
	old, new *index
	changed  map[string]*typeDiff // by key; nil value: unchanged
}

// diff compares the definitions named k in the two kernels; nil means
// unchanged (or absent from one side: then the referring type changed).
func (c *comparer) diff(k string) *typeDiff {
	if d, ok := c.changed[k]; ok {
		return d
	}
	var d *typeDiff
	olds, news := c.old.named[k], c.new.named[k]
	if len(olds) > 0 && len(news) > 0 {
		d = c.compare(olds, news)
	}
	c.changed[k] = d
	return d
}

func (c *comparer) compare(olds, news []btf.Type) *typeDiff {
	oset := map[string]*desc{}
	for _, t := range olds {
		od := c.old.desc(t)
		oset[od.sig] = od
	}
	var nd *desc
	same := true
	for _, t := range news {
		d := c.new.desc(t)
		if _, ok := oset[d.sig]; !ok {
			same = false
			if nd == nil {
				nd = d
			}
		}
	}
	if same && len(olds) == len(news) {
		// Same declarations: only sizes of embedded types can differ.
		od, nd := c.old.desc(olds[0]), c.new.desc(news[0])
		if len(olds) > 1 {
			for _, t := range news {
				if d := c.new.desc(t); d.sig == od.sig {
					nd = d
					break
				}
			}
		}
		var ch []Change
		for i := range od.members {
			if i < len(nd.members) && od.members[i].size != nd.members[i].size &&
				od.members[i].size >= 0 && nd.members[i].size >= 0 {
				ch = append(ch, Change{Member: od.members[i].name, Change: "resized",
					Old: strconv.Itoa(od.members[i].size) + " bytes", New: strconv.Itoa(nd.members[i].size) + " bytes"})
			}
		}
		if ch == nil {
			return nil
		}
		return &typeDiff{changes: ch, layoutOnly: true}
	}
	if same {
		return nil // the same definitions, once more or less often
	}
	// Pair the changed new definition with the old one sharing most members.
	od := c.old.desc(olds[0])
	if len(olds) > 1 {
		best := -1
		for _, t := range olds {
			d := c.old.desc(t)
			if s := overlap(d, nd); s > best {
				best, od = s, d
			}
		}
	}
	return &typeDiff{changes: memberChanges(od, nd)}
}

func overlap(a, b *desc) int {
	names := map[string]bool{}
	for _, m := range a.members {
		names[m.name] = true
	}
	n := 0
	for _, m := range b.members {
		if names[m.name] {
			n++
		}
	}
	return n
}

func memberChanges(od, nd *desc) []Change {
	var ch []Change
	if od.kind != nd.kind {
		ch = append(ch, Change{Member: "", Change: "kind", Old: od.kind, New: nd.kind})
	}
	om := map[string]member{}
	for _, m := range od.members {
		om[m.name] = m
	}
	nm := map[string]bool{}
	for _, m := range nd.members {
		nm[m.name] = true
		o, ok := om[m.name]
		switch {
		case !ok:
			ch = append(ch, Change{Member: m.name, Change: "added", New: m.typ})
		case o.typ != m.typ && nd.kind == "enum":
			ch = append(ch, Change{Member: m.name, Change: "value", Old: o.typ, New: m.typ})
		case o.typ != m.typ:
			ch = append(ch, Change{Member: m.name, Change: "retyped", Old: o.typ, New: m.typ})
		case o.bits != m.bits:
			ch = append(ch, Change{Member: m.name, Change: "bitfield",
				Old: strconv.Itoa(int(o.bits)), New: strconv.Itoa(int(m.bits))})
		case o.size >= 0 && m.size >= 0 && o.size != m.size:
			ch = append(ch, Change{Member: m.name, Change: "resized",
				Old: strconv.Itoa(o.size) + " bytes", New: strconv.Itoa(m.size) + " bytes"})
		}
	}
	for _, m := range od.members {
		if !nm[m.name] {
			ch = append(ch, Change{Member: m.name, Change: "removed", Old: m.typ})
		}
	}
	if ch == nil {
		// Same members in another order.
		ch = append(ch, Change{Member: "", Change: "reordered"})
	}
	return ch
}

// protoDiff compares two function prototypes at declaration level.
func protoDiff(o, n *btf.FuncProto) []Change {
	var ch []Change
	if a, b := ref(o.Return, 0), ref(n.Return, 0); a != b {
		ch = append(ch, Change{Member: "return", Change: "retyped", Old: a, New: b})
	}
	if len(o.Params) != len(n.Params) {
		ch = append(ch, Change{Member: "", Change: "params",
			Old: strconv.Itoa(len(o.Params)), New: strconv.Itoa(len(n.Params))})
	}
	for i := 0; i < len(o.Params) && i < len(n.Params); i++ {
		if a, b := ref(o.Params[i].Type, 0), ref(n.Params[i].Type, 0); a != b {
			name := n.Params[i].Name
			if name == "" {
				name = strconv.Itoa(i + 1)
			}
			ch = append(ch, Change{Member: "param " + name, Change: "retyped", Old: a, New: b})
		}
	}
	return ch
}

func proto(f *btf.Func) *btf.FuncProto {
	p, _ := f.Type.(*btf.FuncProto)
	if p == nil {
		return &btf.FuncProto{Return: &btf.Void{}}
	}
	return p
}

func (c *comparer) explain(sym string, core *coreSet, coreChanged bool) Explanation {
	ofs, nfs := c.old.funcs[sym], c.new.funcs[sym]
	if len(ofs) == 0 && len(nfs) == 0 {
		return Explanation{Certainty: None, Causes: []Cause{}, Note: NoteNotInBTF}
	}
	ex := Explanation{Causes: []Cause{}, Ambiguous: len(ofs) > 1 || len(nfs) > 1}
	if len(ofs) == 0 || len(nfs) == 0 {
		// The function is in one kernel's BTF only (inlined, renamed, or
		// turned into asm or data): walk what the other declares.
		f, side := nfs[0], "NEW"
		if len(nfs) == 0 {
			f, side = ofs[0], "OLD"
		}
		c.reach(sym, f, core, coreChanged, &ex)
		ex.Certainty = Candidate
		if len(ex.Causes) == 0 {
			ex.Certainty = None
		}
		ex.Note = "function only in the BTF of " + side
		return ex
	}
	// Pair by prototype: any equal pair means the prototype is unchanged.
	var nf *btf.Func
	protoSame := false
	for _, n := range nfs {
		for _, o := range ofs {
			if ref(o.Type, 0) == ref(n.Type, 0) {
				protoSame, nf = true, n
			}
		}
	}
	if !protoSame {
		nf = nfs[0]
		ex.Causes = append(ex.Causes, Cause{Kind: "prototype", Type: "func " + sym,
			Changes: protoDiff(proto(ofs[0]), proto(nf)), Path: []string{}})
	}
	c.reach(sym, nf, core, coreChanged, &ex)
	switch {
	case !protoSame:
		ex.Certainty = Certain
	case len(ex.Causes) > 0:
		ex.Certainty = Candidate
	default:
		ex.Certainty = None
		ex.Note = NoteNoCause
	}
	return ex
}

type visit struct {
	t      btf.Type
	depth  int
	parent int // index in the visit list, -1 for the function
	label  string
}

func pathOf(vs []visit, i int) []string {
	var p []string
	for ; i >= 0; i = vs[i].parent {
		p = append(p, vs[i].label)
	}
	for a, b := 0, len(p)-1; a < b; a, b = a+1, b-1 {
		p[a], p[b] = p[b], p[a]
	}
	return p
}

// reach walks breadth-first from f's prototype through NEW's named types
// and adds a cause for each changed one.
func (c *comparer) reach(sym string, f *btf.Func, core *coreSet, coreChanged bool, ex *Explanation) {
	var vs []visit
	seen := map[btf.Type]bool{}
	p := proto(f)
	var roots []edge
	add := func(label string, t btf.Type) {
		tmp := &btf.Struct{Members: []btf.Member{{Name: "x", Type: t}}}
		for _, e := range c.new.childrenOfAnon(tmp) {
			roots = append(roots, edge{label, e.to})
		}
	}
	add(sym+"() return", p.Return)
	for i, prm := range p.Params {
		name := prm.Name
		if name == "" {
			name = "#" + strconv.Itoa(i+1)
		}
		add(sym+"("+name+")", prm.Type)
	}
	for _, e := range roots {
		if !seen[e.to] {
			seen[e.to] = true
			vs = append(vs, visit{e.to, 1, -1, e.label})
		}
	}
	coreHit := -1
	for i := 0; i < len(vs); i++ {
		v := vs[i]
		if core.set[v.t] {
			if coreHit < 0 {
				coreHit = i
			}
			continue
		}
		if d := c.diff(key(v.t)); d != nil {
			ex.Causes = append(ex.Causes, Cause{Kind: "type", Type: key(v.t), LayoutOnly: d.layoutOnly,
				Changes: d.changes, Path: pathOf(vs, i), Depth: v.depth})
		}
		for _, e := range c.new.children(v.t) {
			if !seen[e.to] {
				seen[e.to] = true
				vs = append(vs, visit{e.to, v.depth + 1, i, e.label})
			}
		}
	}
	if coreHit >= 0 && coreChanged {
		v := vs[coreHit]
		ex.Causes = append(ex.Causes, Cause{Kind: "shared", Type: key(v.t), Changes: []Change{},
			Path: pathOf(vs, coreHit), Depth: v.depth})
	}
	for i := range ex.Causes {
		if ex.Causes[i].Path == nil {
			ex.Causes[i].Path = []string{}
		}
	}
}

// childrenOfAnon returns the named types reachable from an anonymous
// wrapper without caching it.
func (ix *index) childrenOfAnon(t btf.Type) []edge {
	es := ix.children(t)
	delete(ix.edges, t)
	return es
}

// coreCauses lists the changed types of the shared core, nearest to the
// core's root first.
func (c *comparer) coreCauses(core *coreSet) []Cause {
	var out []Cause
	vs := []visit{{core.root, 0, -1, key(core.root)}}
	seen := map[btf.Type]bool{core.root: true}
	for i := 0; i < len(vs); i++ {
		v := vs[i]
		if d := c.diff(key(v.t)); d != nil {
			out = append(out, Cause{Kind: "type", Type: key(v.t), LayoutOnly: d.layoutOnly,
				Changes: d.changes, Path: pathOf(vs, i), Depth: v.depth})
		}
		for _, e := range c.new.children(v.t) {
			if core.closure[e.to] && !seen[e.to] {
				seen[e.to] = true
				vs = append(vs, visit{e.to, v.depth + 1, i, e.label})
			}
		}
	}
	for i := range out {
		if out[i].Path == nil {
			out[i].Path = []string{}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Depth < out[j].Depth })
	return out
}
