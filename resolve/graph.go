package resolve

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/modindex"
)

// Edge kinds of a Graph.
const (
	EdgeHard        = "hard"         // symbols (modules.dep)
	EdgeSoftdepPre  = "softdep-pre"  // softdep NAME pre: ...
	EdgeSoftdepPost = "softdep-post" // softdep NAME post: ...
	EdgeWeakdep     = "weakdep"      // modules.weakdep (kmod 33+)
)

// Node is a module of a Graph.
type Node struct {
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Builtin bool   `json:"builtin"`
}

// GraphEdge is a dependency; Symbols counts the symbols of a hard edge.
type GraphEdge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Kind    string `json:"kind"`
	Symbols int    `json:"symbols"`
}

// Graph is a dependency graph with nodes sorted by name.
type Graph struct {
	Nodes []*Node      `json:"nodes"`
	Edges []*GraphEdge `json:"edges"`
}

// ModuleNames lists the modules of modules.dep.bin in key order.
func (r *Resolver) ModuleNames() []string {
	ix := r.ix[modindex.DepBin]
	if ix == nil {
		return nil
	}
	var b bytes.Buffer
	ix.Dump(&b, "")
	var out []string
	for _, line := range strings.Split(b.String(), "\n") {
		if k, _, ok := strings.Cut(line, " "); ok {
			out = append(out, k)
		}
	}
	return out
}

// weakdeps reads modules.weakdep ("weakdep MOD DEP...", kmod 33+).
func (r *Resolver) weakdeps() map[string][]string {
	data, err := os.ReadFile(r.dirname + "/modules.weakdep")
	if err != nil {
		return nil
	}
	out := map[string][]string{}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && f[0] == "weakdep" {
			out[f[1]] = append(out[f[1]], f[2:]...)
		}
	}
	return out
}

// BuildGraph draws the modules named in roots (module names as Lookup
// returns them) and everything they reach through hard edges, softdeps
// and weakdeps; with all, every module of the tree. reduce drops hard
// edges implied by longer hard paths (transitive reduction).
func BuildGraph(r *Resolver, a *Analysis, roots []*Module, all, reduce bool) *Graph {
	g := &Graph{Nodes: []*Node{}, Edges: []*GraphEdge{}}
	nodes := map[string]*Node{}
	weak := r.weakdeps()
	var queue []*Module
	add := func(m *Module) {
		if _, ok := nodes[m.Name]; ok {
			return
		}
		n := &Node{Name: m.Name, Path: r.Path(m)}
		if n.Path == "" {
			n.Path = a.Paths[m.Name]
		}
		n.Builtin = n.Path == "" && r.Builtin(m)
		nodes[m.Name] = n
		queue = append(queue, m)
	}
	for _, m := range roots {
		add(m)
	}
	if all {
		for _, name := range r.ModuleNames() {
			add(r.fromName(name))
		}
	}
	seen := map[[3]string]bool{}
	edge := func(from, to, kind string, syms int) {
		k := [3]string{from, to, kind}
		if seen[k] {
			return
		}
		seen[k] = true
		g.Edges = append(g.Edges, &GraphEdge{From: from, To: to, Kind: kind, Symbols: syms})
	}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, e := range a.Out(m.Name) {
			add(r.fromName(e.To))
			edge(m.Name, e.To, EdgeHard, len(e.Symbols))
		}
		pre, post := r.Softdeps(m)
		for _, p := range pre {
			add(p)
			edge(m.Name, p.Name, EdgeSoftdepPre, 0)
		}
		for _, p := range post {
			add(p)
			edge(m.Name, p.Name, EdgeSoftdepPost, 0)
		}
		for _, w := range weak[m.Name] {
			l, _ := r.Lookup(w)
			for _, p := range l {
				add(p)
				edge(m.Name, p.Name, EdgeWeakdep, 0)
			}
		}
	}
	for _, n := range nodes {
		g.Nodes = append(g.Nodes, n)
	}
	sort.Slice(g.Nodes, func(i, j int) bool { return g.Nodes[i].Name < g.Nodes[j].Name })
	if reduce {
		g.Edges = transitiveReduction(g.Edges)
	}
	sort.SliceStable(g.Edges, func(i, j int) bool {
		x, y := g.Edges[i], g.Edges[j]
		if x.From != y.From {
			return x.From < y.From
		}
		if x.To != y.To {
			return x.To < y.To
		}
		return x.Kind < y.Kind
	})
	return g
}

// Recount sets the symbol counts of the hard edges from a (after
// Analysis.Complete filled in every symbol) and, with reduce, applies the
// transitive reduction: the graph BuildGraph(r, a, roots, all, reduce)
// would return now, without walking the tree again.
func (g *Graph) Recount(a *Analysis, reduce bool) {
	for _, e := range g.Edges {
		if e.Kind == EdgeHard {
			if d := a.Edge(e.From, e.To); d != nil {
				e.Symbols = len(d.Symbols)
			}
		}
	}
	if reduce {
		g.Edges = transitiveReduction(g.Edges) // keeps the order
	}
}

// transitiveReduction removes each hard edge u->v for which v is reachable
// from u through another hard path. Other edges are kept.
func transitiveReduction(edges []*GraphEdge) []*GraphEdge {
	out := map[string][]string{}
	for _, e := range edges {
		if e.Kind == EdgeHard {
			out[e.From] = append(out[e.From], e.To)
		}
	}
	reach := map[string]map[string]bool{}
	var closure func(n string, onStack map[string]bool) map[string]bool
	closure = func(n string, onStack map[string]bool) map[string]bool {
		if c, ok := reach[n]; ok {
			return c
		}
		if onStack[n] { // a cycle: stop here
			return nil
		}
		onStack[n] = true
		c := map[string]bool{}
		for _, w := range out[n] {
			c[w] = true
			for x := range closure(w, onStack) {
				c[x] = true
			}
		}
		delete(onStack, n)
		reach[n] = c
		return c
	}
	var kept []*GraphEdge
	for _, e := range edges {
		if e.Kind != EdgeHard {
			kept = append(kept, e)
			continue
		}
		redundant := false
		for _, w := range out[e.From] {
			if w != e.To && closure(w, map[string]bool{})[e.To] {
				redundant = true
				break
			}
		}
		if !redundant {
			kept = append(kept, e)
		}
	}
	if kept == nil {
		kept = []*GraphEdge{}
	}
	return kept
}

func dotQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// WriteDot writes the graph in Graphviz's DOT language: hard edges solid
// and labelled with their symbol count, softdep and weakdep edges dashed,
// builtin modules grey.
func (g *Graph) WriteDot(w io.Writer) error {
	var b bytes.Buffer
	b.WriteString("digraph modules {\n\trankdir=LR;\n\tnode [shape=box, fontname=\"Helvetica\"];\n\tedge [fontname=\"Helvetica\", fontsize=10];\n")
	for _, n := range g.Nodes {
		if n.Builtin {
			fmt.Fprintf(&b, "\t%s [style=filled, fillcolor=\"#dddddd\", color=\"#888888\", fontcolor=\"#555555\", tooltip=\"builtin\"];\n", dotQuote(n.Name))
		} else {
			fmt.Fprintf(&b, "\t%s [tooltip=%s];\n", dotQuote(n.Name), dotQuote(n.Path))
		}
	}
	for _, e := range g.Edges {
		switch e.Kind {
		case EdgeHard:
			fmt.Fprintf(&b, "\t%s -> %s [label=\"%d\"];\n", dotQuote(e.From), dotQuote(e.To), e.Symbols)
		default:
			label := strings.TrimPrefix(e.Kind, "softdep-")
			fmt.Fprintf(&b, "\t%s -> %s [style=dashed, label=%s];\n", dotQuote(e.From), dotQuote(e.To), dotQuote(label))
		}
	}
	b.WriteString("}\n")
	_, err := w.Write(b.Bytes())
	return err
}
