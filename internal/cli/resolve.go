package cli

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/resolve"
)

func init() {
	register(command{name: "resolve", summary: "resolve module names and aliases like modprobe -R and --show-depends; explain and draw dependencies", run: runResolve, args: argModules})
}

const resolveSynopsis = "kmodscope resolve [-b BASEDIR] [-k RELEASE] [-C CONFIG] [--show-depends | -R] NAME|ALIAS...\n" +
	"  kmodscope resolve --why A B\n" +
	"  kmodscope resolve --report [-E Module.symvers | -F System.map]\n" +
	"  kmodscope resolve --graph dot|svg|json [--reduce] (NAME... | --all)"

const resolveExamples = `  kmodscope resolve --show-depends snd-hda-intel     # same bytes as modprobe --show-depends
  kmodscope resolve -R 'pci:v00008086d00001C20sv*sd*bc*sc*i*'  # like modprobe -R
  kmodscope resolve -b /tmp/root -k 6.1.0-57-amd64 -C /dev/null --show-depends ext4 xfs
  kmodscope resolve --json -R crypto-crc32c           # kmodscope.resolve/v1
  kmodscope resolve --why ext4 crc16                  # the symbols behind ext4 -> crc16
  kmodscope resolve --report -E Module.symvers        # depmod -e, grouped per module
  kmodscope resolve --graph svg --reduce ext4 > ext4.svg

Answers from the binary indexes written by depmod (kmod's or kmodscope's) and
the modprobe configuration (/etc/modprobe.d and the other default directories,
or -C), plus the module directory's modules.softdep and the kernel command line
(/proc/cmdline, or --kcmdline), exactly as kmod 30's modprobe does.
Every argument is a name or alias (modprobe -a); "modprobe: FATAL:" messages
become "kmodscope resolve: FATAL:" (WARNING with several names or -a).
--why prints the chain of direct dependencies from A to B and the symbols of
each edge; --report runs depmod -e on the tree and groups its warnings;
--graph draws the dependency graph (svg needs Graphviz's dot). --why and
--graph take the facts of unchanged modules from the cache kmodscope depmod
keeps next to the indexes (modules.kmodscope-cache) and read the others
(--no-cache: read every module).
Exit status: 0 on success, 1 if a name was not found or an input could not be
read, 2 on usage errors, 3 for --report when depmod found unknown symbols,
version mismatches or cycles.
`

type resolveOptions struct {
	basedir, release string
	configs          []string
	configSet        bool
	kcmdline         string
	showDepends      bool
	resolveAlias     bool
	all              bool
	quiet            bool
	json             bool
	why              bool
	report           bool
	symvers, sysmap  string
	graph            string
	reduce           bool
	maxSize          int64
	noCache          bool
}

type resolveDoc struct {
	Schema  string          `json:"schema"`
	Dirname string          `json:"dirname"`
	Results []resolveResult `json:"results"`
}

type resolveResult struct {
	Query   string           `json:"query"`
	Found   bool             `json:"found"`
	Error   *string          `json:"error"`
	Modules []resolvedModule `json:"modules"`
	// Actions are the --show-depends lines (absent with -R).
	Actions []resolveAction `json:"actions,omitempty"`
}

type resolvedModule struct {
	Name    string  `json:"name"`
	Alias   *string `json:"alias"`
	Path    *string `json:"path"`
	Builtin bool    `json:"builtin"`
}

type resolveAction struct {
	resolve.Action
	Line string `json:"line"`
}

func runResolve(s *IO, args []string) int {
	fs := newFlags("resolve", resolveSynopsis, resolveExamples, s)
	var o resolveOptions
	fs.StringVarP(&o.basedir, "basedir", "b", "", "use `DIR` as the root for /lib/modules")
	fs.StringVarP(&o.basedir, "dirname", "d", "", "same as --basedir (modprobe's spelling)")
	fs.StringVarP(&o.release, "set-version", "k", "", "use `RELEASE` instead of the running kernel's (uname -r)")
	fs.StringVarP(&o.release, "kversion", "S", "", "same as --set-version (modprobe's -S)")
	fs.StringArrayVarP(&o.configs, "config", "C", nil, "read modprobe configuration from `PATH` (file or directory) instead of the default directories; repeatable")
	fs.StringVar(&o.kcmdline, "kcmdline", "/proc/cmdline", "kernel command line `FILE` for modname.param= options (\"\" for none)")
	fs.BoolVarP(&o.showDepends, "show-depends", "D", false, "print the insmod/builtin/install lines a load would run (modprobe --show-depends)")
	fs.BoolVarP(&o.resolveAlias, "resolve-alias", "R", false, "print the module names an alias resolves to (modprobe -R)")
	fs.BoolVarP(&o.all, "all", "a", false, "every argument is a name (always true); with --graph: the whole tree")
	fs.BoolVarP(&o.quiet, "quiet", "q", false, "do not print \"not found\" messages")
	fs.BoolVar(&o.json, "json", false, "print a kmodscope.resolve/v1 document")
	fs.BoolVar(&o.why, "why", false, "explain why module A depends on module B (two arguments)")
	fs.BoolVar(&o.report, "report", false, "run depmod -e on the tree and group unknown symbols, version mismatches and cycles")
	fs.StringVarP(&o.symvers, "symvers", "E", "", "with --report: vmlinux exports and CRCs from `Module.symvers`")
	fs.StringVarP(&o.sysmap, "filesyms", "F", "", "with --report: vmlinux exports from `System.map`")
	fs.StringVar(&o.graph, "graph", "", "draw the dependency graph as `FORMAT` dot, svg or json")
	fs.BoolVar(&o.reduce, "reduce", false, "with --graph: transitive reduction of the hard edges")
	fs.Int64Var(&o.maxSize, "max-size", 0, "refuse compressed modules that expand beyond this many bytes (0: default)")
	fs.BoolVar(&o.noCache, "no-cache", false, "with --why and --graph: read every module instead of taking unchanged modules' facts from "+depmod.CacheName)
	for _, n := range []string{"dirname", "kversion"} {
		fs.Lookup(n).Hidden = true
	}
	flagChoices(fs, "graph", "dot", "svg", "json")
	if done, code := parseFlags(fs, s, "resolve", args, ExitUsage); done {
		return code
	}
	o.configSet = fs.Changed("config")
	names := fs.Args()
	modes := 0
	for _, b := range []bool{o.showDepends || o.resolveAlias, o.why, o.report, o.graph != ""} {
		if b {
			modes++
		}
	}
	switch {
	case modes > 1:
		s.errorf("resolve", "--show-depends/-R, --why, --report and --graph exclude each other")
		return ExitUsage
	case o.showDepends && o.resolveAlias:
		s.errorf("resolve", "--show-depends and -R exclude each other")
		return ExitUsage
	case o.why && len(names) != 2:
		s.errorf("resolve", "--why needs two module names, A and B (see 'kmodscope resolve --help')")
		return ExitUsage
	case o.report && len(names) != 0:
		s.errorf("resolve", "--report takes no names")
		return ExitUsage
	case o.graph != "" && o.graph != "dot" && o.graph != "svg" && o.graph != "json":
		s.errorf("resolve", "--graph: unknown format %q (dot, svg or json)", o.graph)
		return ExitUsage
	case o.graph != "" && len(names) == 0 && !o.all:
		s.errorf("resolve", "--graph needs module names or --all")
		return ExitUsage
	case !o.report && o.graph == "" && len(names) == 0:
		s.errorf("resolve", "missing module name or alias (see 'kmodscope resolve --help')")
		return ExitUsage
	case (o.symvers != "" || o.sysmap != "") && !o.report:
		s.errorf("resolve", "-E and -F go with --report")
		return ExitUsage
	}
	dirname := resolveDirname(o.basedir, o.release)
	if o.report {
		return runResolveReport(s, &o, dirname)
	}
	r, code := openResolver(s, &o, dirname)
	if r == nil {
		return code
	}
	switch {
	case o.why:
		return runResolveWhy(s, &o, r, names[0], names[1])
	case o.graph != "":
		return runResolveGraph(s, &o, r, names)
	}
	return runResolveLookup(s, &o, r, names)
}

// resolveDirname is modprobe's module directory: ROOT/lib/modules/RELEASE
// when -d or -S is given, else /lib/modules/$(uname -r); made absolute
// like kmod (without cleaning).
func resolveDirname(basedir, release string) string {
	if release == "" {
		release = unameRelease()
	}
	return absPath(basedir + "/lib/modules/" + release)
}

func openResolver(s *IO, o *resolveOptions, dirname string) (*resolve.Resolver, int) {
	paths := resolve.DefaultConfigPaths
	if o.configSet {
		paths = o.configs
	}
	var kcmd []byte
	if o.kcmdline != "" {
		if data, err := os.ReadFile(o.kcmdline); err == nil {
			kcmd = data
		} else if o.kcmdline != "/proc/cmdline" {
			s.errorf("resolve", "%v", err)
			return nil, ExitError
		}
	}
	cfg := resolve.LoadConfig(dirname, paths, kcmd)
	r, err := resolve.Open(dirname, cfg)
	if err != nil {
		s.errorf("resolve", "%v", err)
		return nil, ExitError
	}
	if !o.quiet && !o.json {
		s.Out.Flush()
		for _, e := range cfg.Errors {
			fmt.Fprintf(s.Err, "kmodscope resolve: ERROR: %s", e)
		}
		r.Errors = func(msg string) {
			s.Out.Flush()
			fmt.Fprintf(s.Err, "kmodscope resolve: ERROR: %s", msg)
		}
	}
	return r, ExitOK
}

func runResolveLookup(s *IO, o *resolveOptions, r *resolve.Resolver, names []string) int {
	doc := resolveDoc{Schema: "kmodscope.resolve/v1", Dirname: r.Dirname(), Results: []resolveResult{}}
	level := "FATAL"
	if o.all || len(names) > 1 {
		level = "WARNING"
	}
	code := ExitOK
	for _, name := range names {
		res := resolveResult{Query: name, Modules: []resolvedModule{}}
		list, err := r.Lookup(name)
		if err != nil || len(list) == 0 {
			msg := fmt.Sprintf("Module %s not found in directory %s", name, r.Dirname())
			res.Error = &msg
			code = ExitError
			if !o.quiet && !o.json {
				s.Out.Flush()
				fmt.Fprintf(s.Err, "kmodscope resolve: %s: %s\n", level, msg)
			}
			doc.Results = append(doc.Results, res)
			continue
		}
		res.Found = true
		for _, m := range list {
			rm := resolvedModule{Name: m.Name, Builtin: r.Builtin(m)}
			if m.Alias != "" {
				a := m.Alias
				rm.Alias = &a
			}
			if p := r.Path(m); p != "" {
				rm.Path = &p
			}
			res.Modules = append(res.Modules, rm)
			if o.resolveAlias {
				if !o.json {
					fmt.Fprintf(s.Out, "%s\n", m.Name)
				}
				continue
			}
			for _, a := range r.ShowDepends(m, nil) {
				res.Actions = append(res.Actions, resolveAction{a, a.String()})
				if !o.json {
					fmt.Fprintf(s.Out, "%s\n", a.String())
				}
			}
		}
		if !o.resolveAlias && res.Actions == nil {
			res.Actions = []resolveAction{}
		}
		doc.Results = append(doc.Results, res)
	}
	if o.json {
		s.json(doc)
	}
	return code
}

// analyze runs depmod's analysis (dry run) over the tree of dirname.
func analyze(s *IO, o *resolveOptions, errSyms bool) (*resolve.Analysis, bool) {
	release := o.release
	if release == "" {
		release = unameRelease()
	}
	base := o.basedir
	if base != "" {
		base = absPath(base)
	}
	ao := resolve.AnalyzeOptions{BaseDir: base, Release: release, Symvers: o.symvers, SystemMap: o.sysmap, ErrSyms: errSyms, MaxSize: o.maxSize}
	if !o.report && !o.noCache {
		// --why and --graph take unchanged modules' facts from the
		// cache of `kmodscope depmod` (this version's); --report keeps
		// depmod's messages free of the cache's own warnings.
		ao.CacheVersion = Version
	}
	a, err := resolve.Analyze(ao)
	if err != nil {
		s.errorf("resolve", "%v", err)
		return nil, false
	}
	if a.Failed != nil && !errSyms && !o.report {
		// depmod stopped (a fatal error or cycles); the edges it
		// found before that are still shown.
		s.Out.Flush()
		fmt.Fprintf(s.Err, "kmodscope resolve: WARNING: %v\n", a.Failed)
	}
	return a, true
}

type resolveWhyDoc struct {
	Schema  string          `json:"schema"`
	Dirname string          `json:"dirname"`
	From    string          `json:"from"`
	To      string          `json:"to"`
	Chain   []*resolve.Edge `json:"chain"`
}

// whyName resolves an argument of --why/--graph to module objects.
func whyModules(s *IO, r *resolve.Resolver, arg string) []*resolve.Module {
	l, err := r.Lookup(arg)
	if err != nil || len(l) == 0 {
		s.errorf("resolve", "Module %s not found in directory %s", arg, r.Dirname())
		return nil
	}
	return l
}

func runResolveWhy(s *IO, o *resolveOptions, r *resolve.Resolver, a, b string) int {
	ma, mb := whyModules(s, r, a), whyModules(s, r, b)
	if ma == nil || mb == nil {
		return ExitError
	}
	an, ok := analyze(s, o, false)
	if !ok {
		return ExitError
	}
	var chain []*resolve.Edge
	for _, x := range ma {
		for _, y := range mb {
			if chain = an.Why(x.Name, y.Name); chain != nil {
				a, b = x.Name, y.Name
				break
			}
		}
		if chain != nil {
			break
		}
	}
	if chain != nil {
		var from []string
		for _, e := range chain {
			from = append(from, e.From)
		}
		if err := an.Complete(from, r.SymbolOwner, o.maxSize, 0); err != nil {
			s.errorf("resolve", "%v", err)
			return ExitError
		}
	}
	if o.json {
		doc := resolveWhyDoc{Schema: "kmodscope.resolve/v1", Dirname: r.Dirname(), From: a, To: b, Chain: chain}
		if doc.Chain == nil {
			doc.Chain = []*resolve.Edge{}
		}
		s.json(doc)
	}
	if chain == nil {
		if !o.json {
			s.errorf("resolve", "%s does not depend on %s", ma[0].Name, mb[0].Name)
		}
		return ExitError
	}
	if !o.json {
		for _, e := range chain {
			fmt.Fprintf(s.Out, "%s -> %s: %d symbol(s)\n", e.From, e.To, len(e.Symbols))
			for _, sym := range e.Symbols {
				fmt.Fprintf(s.Out, "\t%s\n", sym)
			}
		}
	}
	return ExitOK
}

type resolveReportDoc struct {
	Schema  string `json:"schema"`
	Dirname string `json:"dirname"`
	*resolve.Report
}

func runResolveReport(s *IO, o *resolveOptions, dirname string) int {
	an, ok := analyze(s, o, o.symvers != "" || o.sysmap != "")
	if !ok {
		return ExitError
	}
	rep := an.Report()
	var inCycles []string
	for _, c := range rep.Cycles {
		inCycles = append(inCycles, c.Modules...)
	}
	if err := an.Complete(inCycles, nil, o.maxSize, 0); err != nil {
		s.errorf("resolve", "%v", err)
		return ExitError
	}
	if o.json {
		s.json(resolveReportDoc{Schema: "kmodscope.resolve/v1", Dirname: dirname, Report: rep})
	} else {
		rep.WriteText(s.Out)
	}
	if an.Failed != nil && len(rep.Cycles) == 0 {
		if !o.json {
			s.errorf("resolve", "%v", an.Failed)
		}
		return ExitError
	}
	if !rep.Clean() {
		return ExitRefused
	}
	return ExitOK
}

type resolveGraphDoc struct {
	Schema  string `json:"schema"`
	Dirname string `json:"dirname"`
	*resolve.Graph
}

func runResolveGraph(s *IO, o *resolveOptions, r *resolve.Resolver, names []string) int {
	var roots []*resolve.Module
	for _, n := range names {
		l := whyModules(s, r, n)
		if l == nil {
			return ExitError
		}
		roots = append(roots, l...)
	}
	var dotPath string
	if o.graph == "svg" {
		p, err := exec.LookPath("dot")
		if err != nil {
			s.errorf("resolve", "--graph svg needs Graphviz's dot, which is not installed (apt-get install graphviz); --graph dot prints the DOT source instead")
			return ExitError
		}
		dotPath = p
	}
	an, ok := analyze(s, o, false)
	if !ok {
		return ExitError
	}
	g := resolve.BuildGraph(r, an, roots, o.all, false)
	var names2 []string
	for _, n := range g.Nodes {
		names2 = append(names2, n.Name)
	}
	if err := an.Complete(names2, r.SymbolOwner, o.maxSize, 0); err != nil {
		s.errorf("resolve", "%v", err)
		return ExitError
	}
	g.Recount(an, o.reduce)
	switch o.graph {
	case "json":
		s.json(resolveGraphDoc{Schema: "kmodscope.resolve/v1", Dirname: r.Dirname(), Graph: g})
	case "dot":
		g.WriteDot(s.Out)
	case "svg":
		var src bytes.Buffer
		g.WriteDot(&src)
		cmd := exec.Command(dotPath, "-Tsvg")
		cmd.Stdin = &src
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Run(); err != nil {
			s.errorf("resolve", "dot -Tsvg: %v: %s", err, strings.TrimSpace(errb.String()))
			return ExitError
		}
		s.Out.Write(out.Bytes())
	}
	return ExitOK
}
