package resolve

import (
	"bytes"
	"fmt"
	"io"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modindex"
)

// Edge is a direct dependency: From needs Symbols, which To exports (the
// owner depmod chose: the last exporter in module order).
type Edge struct {
	From    string   `json:"from"`
	To      string   `json:"to"`
	Symbols []string `json:"symbols"`
}

// Analysis is what depmod computes for a tree: the direct edges with their
// symbols (depmod -v's `needs "SYM": OWNER` lines), module paths, and the
// -e messages.
type Analysis struct {
	// Edges in depmod's order (module order, then import order).
	Edges []*Edge
	// Paths maps a module name to its file.
	Paths map[string]string
	// Log is depmod's stderr (kmod's messages, "depmod: WARNING: ...").
	Log string
	// Failed is set when depmod stopped with a fatal error or cycles.
	Failed error
	// Modules is the number of modules depmod indexed; Read and Cached
	// count the module files it read and those whose facts came from its
	// cache (AnalyzeOptions.CacheVersion).
	Modules, Read, Cached int
	// CompleteRead and CompleteCached count the same for Complete.
	CompleteRead, CompleteCached int

	byPair map[[2]string]*Edge
	out    map[string][]*Edge

	dirname, cacheVersion string
	maxSize               int64
	facts                 *depmod.Facts // loaded by the first Complete that needs files
	factsTried            bool
}

// AnalyzeOptions select the tree and depmod's symbol sources.
type AnalyzeOptions struct {
	BaseDir, Release string
	Symvers          string // -E
	SystemMap        string // -F
	ErrSyms          bool   // -e
	ConfigPaths      []string
	MaxSize          int64
	// CacheVersion, when set, lets the analysis take the facts of
	// unchanged modules from the cache `kmodscope depmod` keeps next to the
	// indexes (depmod.CacheName), if that kmodscope version wrote it with
	// the same MaxSize. The cache is only read; modules that changed since,
	// or that it lacks, are read from their files. The answers are those
	// of an analysis without it.
	CacheVersion string
}

// needsWriter keeps the `PATH needs "SYM": OWNER` lines of depmod -v -n
// output and drops the text indexes.
type needsWriter struct {
	a    *Analysis
	part []byte
}

func (w *needsWriter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.part = append(w.part, p...)
			break
		}
		line := p[:i]
		if len(w.part) > 0 {
			line = append(w.part, line...)
			w.part = w.part[:0]
		}
		w.a.needsLine(string(line))
		p = p[i+1:]
	}
	return n, nil
}

func modname(path string) string {
	return modindex.ModnameNormalize(path[strings.LastIndexByte(path, '/')+1:])
}

func (a *Analysis) needsLine(line string) {
	if !strings.HasPrefix(line, "/") {
		return
	}
	i := strings.Index(line, ` needs "`)
	if i < 0 {
		return
	}
	j := strings.LastIndex(line, `": `)
	if j < i+8 {
		return
	}
	from, sym, to := line[:i], line[i+8:j], line[j+3:]
	fn, tn := modname(from), modname(to)
	a.Paths[fn], a.Paths[tn] = from, to
	a.addEdge(fn, tn, sym)
}

func (a *Analysis) addEdge(from, to, sym string) {
	k := [2]string{from, to}
	e := a.byPair[k]
	if e == nil {
		e = &Edge{From: from, To: to}
		a.byPair[k] = e
		a.Edges = append(a.Edges, e)
		a.out[from] = append(a.out[from], e)
	}
	e.Symbols = append(e.Symbols, sym)
}

// Analyze runs kmodscope's depmod over the tree as `depmod -n -v [-e -E|-F]`
// and collects its dependency reasons. Nothing is written.
func Analyze(o AnalyzeOptions) (*Analysis, error) {
	if o.MaxSize <= 0 {
		// What `kmodscope depmod` uses, and records in its cache.
		o.MaxSize = compression.DefaultLimit
	}
	a := &Analysis{Paths: map[string]string{}, byPair: map[[2]string]*Edge{}, out: map[string][]*Edge{},
		dirname: o.BaseDir + "/lib/modules/" + o.Release, cacheVersion: o.CacheVersion, maxSize: o.MaxSize}
	var stderr bytes.Buffer
	nw := &needsWriter{a: a}
	res, err := depmod.Run(&depmod.Options{
		BaseDir:     o.BaseDir,
		Release:     o.Release,
		Symvers:     o.Symvers,
		SystemMap:   o.SystemMap,
		ErrSyms:     o.ErrSyms,
		ConfigPaths: o.ConfigPaths,
		DryRun:      true,
		Verbose:     1,
		MaxSize:     o.MaxSize,
		Cache:       o.CacheVersion != "", // read-only in a dry run
		Version:     o.CacheVersion,
		Stdout:      nw,
		Stderr:      &stderr,
	})
	if res != nil {
		a.Modules, a.Read, a.Cached = res.Modules, res.Read, res.Cached
	}
	if len(nw.part) > 0 {
		a.needsLine(string(nw.part))
	}
	a.Log = stderr.String()
	a.Failed = err
	return a, nil
}

// Edge returns the direct edge from -> to, or nil.
func (a *Analysis) Edge(from, to string) *Edge { return a.byPair[[2]string{from, to}] }

// Out returns the direct edges leaving a module, in depmod's order.
func (a *Analysis) Out(from string) []*Edge { return a.out[from] }

// Why returns the shortest chain of direct edges from -> ... -> to
// (breadth first, edges in depmod's order), or nil when from does not
// depend on to.
func (a *Analysis) Why(from, to string) []*Edge {
	prev := map[string]*Edge{from: nil}
	queue := []string{from}
	for len(queue) > 0 {
		n := queue[0]
		queue = queue[1:]
		if n == to && n != from {
			break
		}
		for _, e := range a.out[n] {
			if _, seen := prev[e.To]; seen {
				continue
			}
			prev[e.To] = e
			queue = append(queue, e.To)
		}
	}
	if _, ok := prev[to]; !ok || to == from {
		return nil
	}
	var chain []*Edge
	for n := to; n != from; {
		e := prev[n]
		chain = append([]*Edge{e}, chain...)
		n = e.From
	}
	return chain
}

// Report is `depmod -e` grouped.
type Report struct {
	Unknown    []ModuleSymbols `json:"unknown_symbols"`
	Mismatches []ModuleSymbols `json:"crc_mismatches"`
	Cycles     []Cycle         `json:"cycles"`
	// Other are depmod's remaining messages, verbatim.
	Other []string `json:"other_messages"`
}

// ModuleSymbols are the symbols one module is warned about.
type ModuleSymbols struct {
	Module  string   `json:"module"`
	Path    string   `json:"path"`
	Count   int      `json:"count"`
	Symbols []string `json:"symbols"`
}

// Cycle is one "Cycle detected" chain with the symbols of each edge.
type Cycle struct {
	Modules []string `json:"modules"`
	Edges   []*Edge  `json:"edges"`
}

// Report groups the -e warnings and cycles of depmod's log.
func (a *Analysis) Report() *Report {
	rep := &Report{Unknown: []ModuleSymbols{}, Mismatches: []ModuleSymbols{}, Cycles: []Cycle{}, Other: []string{}}
	idx := map[string]int{}
	add := func(list *[]ModuleSymbols, kind, path, sym string) {
		k := kind + "\x00" + path
		i, ok := idx[k]
		if !ok {
			i = len(*list)
			idx[k] = i
			*list = append(*list, ModuleSymbols{Module: modname(path), Path: path})
		}
		m := &(*list)[i]
		m.Symbols = append(m.Symbols, sym)
		m.Count++
	}
	for _, line := range strings.SplitAfter(a.Log, "\n") {
		if line == "" {
			continue
		}
		body := strings.TrimSuffix(line, "\n")
		if rest, ok := strings.CutPrefix(body, "depmod: WARNING: "); ok {
			if i := strings.LastIndex(rest, " needs unknown symbol "); i >= 0 {
				add(&rep.Unknown, "u", rest[:i], rest[i+len(" needs unknown symbol "):])
				continue
			}
			if i := strings.LastIndex(rest, " disagrees about version of symbol "); i >= 0 {
				add(&rep.Mismatches, "m", rest[:i], rest[i+len(" disagrees about version of symbol "):])
				continue
			}
		}
		if rest, ok := strings.CutPrefix(body, "depmod: ERROR: Cycle detected: "); ok {
			mods := strings.Split(rest, " -> ")
			c := Cycle{Modules: mods, Edges: []*Edge{}}
			for i := 0; i+1 < len(mods); i++ {
				e := a.Edge(mods[i], mods[i+1])
				if e == nil {
					e = &Edge{From: mods[i], To: mods[i+1], Symbols: []string{}}
				}
				c.Edges = append(c.Edges, e)
			}
			rep.Cycles = append(rep.Cycles, c)
			continue
		}
		rep.Other = append(rep.Other, body)
	}
	sort.SliceStable(rep.Unknown, func(i, j int) bool { return rep.Unknown[i].Count > rep.Unknown[j].Count })
	sort.SliceStable(rep.Mismatches, func(i, j int) bool { return rep.Mismatches[i].Count > rep.Mismatches[j].Count })
	return rep
}

// WriteText prints the report for people.
func (rep *Report) WriteText(w io.Writer) {
	total := func(l []ModuleSymbols) int {
		n := 0
		for _, m := range l {
			n += m.Count
		}
		return n
	}
	fmt.Fprintf(w, "unknown symbols: %d in %d modules\n", total(rep.Unknown), len(rep.Unknown))
	for _, m := range rep.Unknown {
		fmt.Fprintf(w, "  %s (%d): %s\n", m.Path, m.Count, strings.Join(m.Symbols, " "))
	}
	fmt.Fprintf(w, "version mismatches: %d in %d modules\n", total(rep.Mismatches), len(rep.Mismatches))
	for _, m := range rep.Mismatches {
		fmt.Fprintf(w, "  %s (%d): %s\n", m.Path, m.Count, strings.Join(m.Symbols, " "))
	}
	fmt.Fprintf(w, "cycles: %d\n", len(rep.Cycles))
	for _, c := range rep.Cycles {
		fmt.Fprintf(w, "  %s\n", strings.Join(c.Modules, " -> "))
		for _, e := range c.Edges {
			fmt.Fprintf(w, "    %s -> %s (%d): %s\n", e.From, e.To, len(e.Symbols), strings.Join(e.Symbols, " "))
		}
	}
	if len(rep.Other) > 0 {
		fmt.Fprintf(w, "other messages:\n")
		for _, o := range rep.Other {
			fmt.Fprintf(w, "  %s\n", o)
		}
	}
}

// Clean reports whether depmod found nothing to warn about.
func (rep *Report) Clean() bool {
	return len(rep.Unknown) == 0 && len(rep.Mismatches) == 0 && len(rep.Cycles) == 0
}

// facts are the symbols one module file imports and exports.
type facts struct {
	imports []string
	exports map[string]bool
	err     error
}

// readFacts reads a module file as depmod does: an open error is the
// module's error, a symbol table it cannot read gives no imports.
func readFacts(path string, maxSize int64) *facts {
	f := &facts{exports: map[string]bool{}}
	km, err := ko.Open(path, &ko.Options{MaxSize: maxSize})
	if err != nil {
		f.err = err
		return f
	}
	defer km.Close()
	im, _ := km.Imports()
	for _, i := range im {
		f.imports = append(f.imports, i.Name)
	}
	ex, _ := km.KmodExports()
	for _, e := range ex {
		f.exports[e.Name] = true
	}
	return f
}

// cachedFacts returns a module's facts from depmod's cache when the
// analysis may use it and the entry is fresh.
func (a *Analysis) cachedFacts(path string) (*facts, bool) {
	if a.facts == nil {
		return nil, false
	}
	m, ok := a.facts.Module(path)
	if !ok {
		return nil, false
	}
	f := &facts{exports: make(map[string]bool, len(m.Exports)), err: m.Err}
	for _, i := range m.Imports {
		f.imports = append(f.imports, i.Name)
	}
	for _, e := range m.Exports {
		f.exports[e.Name] = true
	}
	return f, true
}

// Complete replaces the symbols of the edges leaving the named modules
// (depmod -v names only the first symbol of an edge) with every symbol the
// module imports from that dependency, in import order. A symbol exported
// by several of the module's dependencies goes to the owner modules.symbols
// names when owner (may be nil) knows it, else to the first. Module files
// are read on jobs goroutines.
func (a *Analysis) Complete(names []string, owner func(sym string) (string, bool), maxSize int64, jobs int) error {
	need := map[string]bool{}
	for _, n := range names {
		if len(a.out[n]) == 0 {
			continue
		}
		need[a.Paths[n]] = true
		for _, e := range a.out[n] {
			need[a.Paths[e.To]] = true
		}
	}
	paths := make([]string, 0, len(need))
	for p := range need {
		if p != "" {
			paths = append(paths, p)
		}
	}
	sort.Strings(paths)
	got := make([]*facts, len(paths))
	if len(paths) > 0 && a.cacheVersion != "" && !a.factsTried {
		a.factsTried = true
		a.facts, _ = depmod.LoadFacts(a.dirname, a.cacheVersion, a.maxSize) // none: read the files
	}
	var cached atomic.Int64
	if jobs < 1 {
		jobs = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if f, ok := a.cachedFacts(paths[i]); ok {
					got[i] = f
					cached.Add(1)
					continue
				}
				got[i] = readFacts(paths[i], maxSize)
			}
		}()
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	a.CompleteCached += int(cached.Load())
	a.CompleteRead += len(paths) - int(cached.Load())
	byPath := map[string]*facts{}
	for i, p := range paths {
		if got[i].err != nil {
			return fmt.Errorf("%s: %w", p, got[i].err)
		}
		byPath[p] = got[i]
	}
	for _, n := range names {
		edges := a.out[n]
		if len(edges) == 0 {
			continue
		}
		from := byPath[a.Paths[n]]
		syms := make([][]string, len(edges))
		seen := map[string]bool{}
		for _, s := range from.imports {
			if seen[s] {
				continue
			}
			seen[s] = true
			pick := -1
			for i, e := range edges {
				if !byPath[a.Paths[e.To]].exports[s] {
					continue
				}
				if pick < 0 {
					pick = i
				}
				if owner != nil {
					if o, ok := owner(s); ok && o == e.To {
						pick = i
						break
					}
				}
			}
			if pick >= 0 {
				syms[pick] = append(syms[pick], s)
			}
		}
		for i, e := range edges {
			if len(syms[i]) > 0 {
				e.Symbols = syms[i]
			}
		}
	}
	return nil
}
