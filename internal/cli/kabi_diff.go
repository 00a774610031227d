package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/kabi"
	"github.com/kmodscope/kmodscope/kabi/btfexplain"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/symvers"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	kabiSubs["diff"] = kabiSub{usage: "kmodscope kabi diff [-k RELEASE]... [--rules FILE] [--format text|symvers] [--modules PATH]... [--with-deps] [--explain] [--json] OLD NEW", run: runKabiDiff}
}

const kabiDiffSynopsis = "kmodscope kabi diff [-k RELEASE]... [--rules FILE] [--format text|symvers] [--modules PATH]... [--with-deps] [--json] OLD NEW"

const kabiDiffExamples = `  kmodscope kabi diff old/Module.symvers new/Module.symvers
  kmodscope kabi diff /boot/symvers-6.1.0-56-amd64.gz /boot/vmlinuz-6.1.0-57-amd64
  kmodscope kabi diff -k 6.1.0-56-amd64 -k 6.1.0-57-amd64 / /       # two kernels installed here
  kmodscope kabi diff --rules severities --format symvers OLD NEW > broken.symvers
  kmodscope kabi diff --modules /lib/modules/6.1.0-56-amd64/updates OLD_ROOT NEW_ROOT
  kmodscope kabi diff --json OLD NEW | jq .summary
  kmodscope kabi diff --explain -k 6.1.0-54-amd64 -k 6.1.0-55-amd64 ROOT54 ROOT55

OLD and NEW are each a Module.symvers (plain or .gz), a kernel image (vmlinux
exports only), a module file, a modules tree, or a root-like directory
(boot/, lib/modules/RELEASE, usr/src/linux-headers-RELEASE) whose
Module.symvers is used, or without one its image plus modules tree
(--from-image forces that). -k selects the release of a root holding
several; given twice, the first is OLD's and the second NEW's.
Every symbol is classified: removed, added, crc_changed, export_type_changed
(EXPORT_SYMBOL <-> EXPORT_SYMBOL_GPL), namespace_changed, moved (vmlinux <->
module, or between modules); a symbol counts in every category that applies.
Breaking by default: removal, CRC change, GPL-ification, namespace change.
--rules FILE takes SUSE's severity format (suse-kabi-tools(5)): lines
"PATTERN PASS|FAIL"; a pattern with "/" or "vmlinux" matches the exporting
module, an all-capitals one the namespace, anything else the symbol (glob);
the first matching line decides whether a breaking change is tolerated
(PASS) or not (FAIL).
--format symvers prints only the breaking symbols, as OLD's Module.symvers
lines. --modules PATH (a module file or a tree; repeatable or comma-separated)
checks those modules against NEW with the same engine as 'kmodscope check'
(NEW must then be a root-like directory) and says which no longer load and
why, and which still do (--with-deps: dependencies from NEW's tree loaded
first, as check --with-deps).
--explain adds, for each symbol whose CRC changed, the candidate causes from
a comparison of the two kernels' BTF (docs/kabi-explain.md): OLD and NEW must
be images or roots with boot/vmlinuz-RELEASE; module exports are explained
from the modules' split BTF when the inputs have modules trees.
Exit status: 0 when nothing breaks (and every --modules module loads), 3 when
a change is breaking (or a module would be refused), 1 when an input could not
be read, 2 on usage errors.
`

// JSON schema kmodscope.kabi-diff/v1 (docs/kabi.md).
type kabiDiffDoc struct {
	Schema  string          `json:"schema"`
	Old     kabiInputDoc    `json:"old"`
	New     kabiInputDoc    `json:"new"`
	Rules   *string         `json:"rules"`
	Summary map[string]int  `json:"summary"`
	Symbols []kabiSymbolDoc `json:"symbols"`
	Modules []kabiModuleDoc `json:"modules,omitempty"`
	Target  *checkTarget    `json:"target,omitempty"`
	// --explain: the caveat, and the shared core's changed types (once).
	Certainty string             `json:"certainty,omitempty"`
	Shared    []btfexplain.Cause `json:"shared,omitempty"`
}

type kabiInputDoc struct {
	Path    string   `json:"path"`
	Kind    string   `json:"kind"`
	Release string   `json:"release,omitempty"`
	Sources []string `json:"sources"`
	Symbols int      `json:"symbols"`
}

// kabiSymbolDoc is one changed symbol. The record is an object so that
// further per-symbol facts (e.g. "causes" from a BTF comparison) can be
// added without changing the schema's meaning.
type kabiSymbolDoc struct {
	Name     string          `json:"name"`
	Changes  []string        `json:"changes"`
	Breaking bool            `json:"breaking"`
	Rule     *kabiRuleDoc    `json:"rule"`
	Old      *kabiSymbolSide `json:"old"`
	New      *kabiSymbolSide `json:"new"`
	// Explanation (--explain, symbols whose CRC changed): certainty,
	// candidate causes and note, as `kabi explain` gives them.
	*Explanation `json:",omitempty"`
}

// Explanation is btfexplain.Explanation embedded in kabiSymbolDoc.
type Explanation = btfexplain.Explanation

type kabiRuleDoc struct {
	Pattern string `json:"pattern"`
	Target  string `json:"target"`
	Verdict string `json:"verdict"`
	Line    int    `json:"line"`
}

type kabiSymbolSide struct {
	CRC        uint32 `json:"crc"`
	Module     string `json:"module"`
	ExportType string `json:"export_type"`
	Namespace  string `json:"namespace"`
}

type kabiModuleDoc struct {
	checkResult
	// BrokenBy lists the module's imports that the diff found breaking.
	BrokenBy []string `json:"broken_by"`
}

func side(s *symvers.Symbol) *kabiSymbolSide {
	if s == nil {
		return nil
	}
	return &kabiSymbolSide{CRC: s.CRC, Module: s.Module, ExportType: s.ExportType(), Namespace: s.Namespace}
}

func runKabiDiff(s *IO, args []string) int {
	const cmd = "kabi diff"
	var (
		releases  []string
		rulesFile string
		format    string
		modules   []string
		asJSON    bool
		fromImage bool
		withDeps  bool
		maxSize   int64
		explain   bool
	)
	fs := newFlags(cmd, kabiDiffSynopsis, kabiDiffExamples, s)
	fs.StringArrayVarP(&releases, "set-version", "k", nil, "kernel release of a root-like OLD/NEW (once for both, or twice: OLD's then NEW's)")
	fs.StringVar(&rulesFile, "rules", "", "severity rules in SUSE's `FILE` format (PATTERN PASS|FAIL)")
	fs.StringVar(&format, "format", "text", "output: text (a table) or symvers (breaking lines only)")
	flagChoices(fs, "format", "text", "symvers")
	fs.StringSliceVar(&modules, "modules", nil, "check these module files or trees against NEW (`PATH`, repeatable)")
	fs.BoolVar(&withDeps, "with-deps", false, "with --modules: load each module's dependencies from NEW's tree first, like modprobe (as check --with-deps)")
	fs.BoolVar(&asJSON, "json", false, "print one kmodscope.kabi-diff/v1 JSON document")
	fs.BoolVar(&explain, "explain", false, "for each CRC change, candidate causes from the two kernels' BTF (OLD and NEW must have kernel images)")
	fs.BoolVar(&fromImage, "from-image", false, "for a root-like directory, read the kernel image and modules tree even if it has a Module.symvers")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, cmd, args, ExitUsage); done {
		return code
	}
	if fs.NArg() != 2 {
		s.errorf(cmd, "need OLD and NEW (see 'kmodscope kabi diff --help')")
		return ExitUsage
	}
	if format != "text" && format != "symvers" {
		s.errorf(cmd, "--format must be text or symvers, not %q", format)
		return ExitUsage
	}
	if asJSON && format != "text" {
		s.errorf(cmd, "--json and --format symvers exclude each other")
		return ExitUsage
	}
	if len(releases) > 2 {
		s.errorf(cmd, "-k at most twice (OLD's release, NEW's release)")
		return ExitUsage
	}
	rel := func(i int) string {
		switch len(releases) {
		case 0:
			return ""
		case 1:
			return releases[0]
		}
		return releases[i]
	}
	var rules *kabi.Rules
	if rulesFile != "" {
		var err error
		if rules, err = kabi.OpenRules(rulesFile); err != nil {
			s.errorf(cmd, "rules: %v", err)
			return ExitError
		}
	}
	var ins [2]*kabi.Input
	for i, p := range fs.Args() {
		in, err := kabi.Load(p, &kabi.Options{Release: rel(i), MaxSize: maxSize, PreferImage: fromImage})
		if err != nil {
			s.errorf(cmd, "%s: %v", []string{"OLD", "NEW"}[i], err)
			return ExitError
		}
		ins[i] = in
	}
	if explain && (ins[0].Image == "" || ins[1].Image == "") {
		s.errorf(cmd, "--explain needs kernel images: give images or root-like directories with boot/vmlinuz-RELEASE, not a bare Module.symvers")
		return ExitUsage
	}
	res := kabi.Diff(ins[0].Table, ins[1].Table, rules)
	code := ExitOK
	if res.Breaking > 0 {
		code = ExitRefused
	}

	doc := kabiDiffDoc{Schema: "kmodscope.kabi-diff/v1", Old: inputDoc(ins[0]), New: inputDoc(ins[1]),
		Summary: map[string]int{}, Symbols: []kabiSymbolDoc{}}
	if rulesFile != "" {
		doc.Rules = &rulesFile
	}
	for k, v := range res.Summary {
		doc.Summary[k] = v
	}
	doc.Summary["breaking"] = res.Breaking
	breakingSet := map[string]bool{}
	for i := range res.Changes {
		c := &res.Changes[i]
		d := kabiSymbolDoc{Name: c.Name, Changes: c.Kinds, Breaking: c.Breaking, Old: side(c.Old), New: side(c.New)}
		if c.Rule != nil {
			v := "PASS"
			if c.Rule.Fail {
				v = "FAIL"
			}
			d.Rule = &kabiRuleDoc{Pattern: c.Rule.Pattern, Target: c.Rule.Target, Verdict: v, Line: c.Rule.Line}
		}
		if c.Breaking {
			breakingSet[c.Name] = true
		}
		doc.Symbols = append(doc.Symbols, d)
	}

	if explain {
		if err := explainDiff(ins, &doc); err != nil {
			s.errorf(cmd, "--explain: %v", err)
			return ExitError
		}
	}

	if len(modules) > 0 {
		mcode := diffModules(s, cmd, ins[1], modules, maxSize, withDeps, breakingSet, &doc, asJSON)
		switch {
		case mcode == ExitError && doc.Modules == nil:
			return ExitError // NEW is no target, or a PATH is missing
		case mcode == ExitError:
			code = ExitError // an unreadable module, reported in its record
		case mcode == ExitRefused && code == ExitOK:
			code = ExitRefused
		}
	}

	switch {
	case asJSON:
		s.json(doc)
	case format == "symvers":
		for i := range res.Changes {
			if c := &res.Changes[i]; c.Breaking {
				fmt.Fprintln(s.Out, c.Old.Line())
			}
		}
	default:
		writeKabiText(s, &doc)
		writeDiffExplanations(s, &doc)
	}
	return code
}

func inputDoc(in *kabi.Input) kabiInputDoc {
	return kabiInputDoc{Path: in.Path, Kind: in.Kind, Release: in.Release, Sources: in.Sources, Symbols: len(in.Table.Symbols)}
}

func writeKabiText(s *IO, doc *kabiDiffDoc) {
	fmt.Fprintf(s.Out, "OLD: %s (%s, %d symbols)\nNEW: %s (%s, %d symbols)\n", doc.Old.Path, doc.Old.Kind, doc.Old.Symbols, doc.New.Path, doc.New.Kind, doc.New.Symbols)
	if len(doc.Symbols) > 0 {
		fmt.Fprintln(s.Out)
		tw := tabwriter.NewWriter(s.Out, 0, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "VERDICT\tSYMBOL\tCHANGES\tOLD\tNEW")
		for _, d := range doc.Symbols {
			v := "ok"
			if d.Breaking {
				v = "BREAKING"
			}
			if d.Rule != nil {
				v += " (rule " + d.Rule.Pattern + " " + d.Rule.Verdict + ")"
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", v, d.Name, strings.Join(d.Changes, ","), sideText(d.Old), sideText(d.New))
		}
		tw.Flush()
	}
	fmt.Fprintf(s.Out, "\nremoved %d, added %d, crc_changed %d, export_type_changed %d, namespace_changed %d, moved %d; breaking %d\n",
		doc.Summary[kabi.Removed], doc.Summary[kabi.Added], doc.Summary[kabi.CRCChanged], doc.Summary[kabi.ExportTypeChanged],
		doc.Summary[kabi.NamespaceChanged], doc.Summary[kabi.Moved], doc.Summary["breaking"])
	if len(doc.Modules) > 0 {
		fmt.Fprintf(s.Out, "\nmodules on %s:\n", doc.New.Release)
		for _, m := range doc.Modules {
			var sb strings.Builder
			writeCheckText(&sb, m.checkResult)
			s.Out.WriteString(sb.String())
			if len(m.BrokenBy) > 0 {
				fmt.Fprintf(s.Out, "  broken by: %s\n", strings.Join(m.BrokenBy, " "))
			}
		}
		fmt.Fprintf(s.Out, "modules: %d still load, %d no longer load\n", doc.Summary["modules_loading"], doc.Summary["modules_refused"])
	}
}

func sideText(x *kabiSymbolSide) string {
	if x == nil {
		return "-"
	}
	t := fmt.Sprintf("0x%08x %s", x.CRC, x.Module)
	if x.ExportType == "EXPORT_SYMBOL_GPL" {
		t += " GPL"
	}
	if x.Namespace != "" {
		t += " ns=" + x.Namespace
	}
	return t
}

// diffModules checks the --modules against NEW exactly as `check` does
// (same target model, same checker, --with-deps as given) and records which
// still load. It returns ExitRefused when one would be refused, ExitError
// when NEW is not a target.
func diffModules(s *IO, cmd string, newIn *kabi.Input, paths []string, maxSize int64, withDeps bool, breaking map[string]bool, doc *kabiDiffDoc, asJSON bool) int {
	if newIn.Kind != "root" {
		s.errorf(cmd, "--modules needs NEW to be a root-like directory (boot/, lib/modules/RELEASE), not a %s", newIn.Kind)
		return ExitError
	}
	tk, err := target.Load(target.Options{BaseDir: newIn.Root, Release: newIn.Release})
	if err != nil {
		s.errorf(cmd, "NEW: %v", err)
		return ExitError
	}
	ct := checkTarget{Release: tk.Release, Vermagic: tk.Vermagic, Policy: string(tk.Policy), PolicySource: tk.PolicySource,
		ModuleStructSize: tk.ModuleStructSize, Modversions: tk.Has("MODVERSIONS"), ModuleSig: tk.Has("MODULE_SIG"),
		SigEnforce: tk.SigEnforce || tk.Has("MODULE_SIG_FORCE"), Lockdown: tk.Lockdown, Found: tk.Found}
	doc.Target = &ct
	var files []string
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			s.errorf(cmd, "--modules: %v", err)
			return ExitError
		}
		if st.IsDir() {
			fl, err := kabi.TreeModules(p)
			if err != nil {
				s.errorf(cmd, "--modules: %v", err)
				return ExitError
			}
			files = append(files, fl...)
		} else {
			files = append(files, p)
		}
	}
	ch := &checker{base: loadcheck.NewBase(tk), t: tk, opt: &ko.Options{MaxSize: maxSize}, cache: map[string]*depEntry{}}
	code := ExitOK
	loading, refused := 0, 0
	doc.Modules = []kabiModuleDoc{}
	runOrdered(s, cmd, files, func(f string, out *jobOut) {
		md := kabiModuleDoc{checkResult: ch.checkArg(f, withDeps), BrokenBy: []string{}}
		if m, err := ko.Open(f, ch.opt); err == nil {
			if imps, err := m.Imports(); err == nil {
				for _, im := range imps {
					if breaking[im.Name] {
						md.BrokenBy = append(md.BrokenBy, im.Name)
					}
				}
			}
			m.Close()
		}
		md.File = filepath.Clean(md.File)
		out.result = md
	}, func(out *jobOut) {
		md := out.result.(kabiModuleDoc)
		switch {
		case md.Error != nil:
			code = ExitError
			if !asJSON {
				s.errorf(cmd, "%s", *md.Error)
			}
		case md.Loads:
			loading++
		default:
			refused++
			if code != ExitError {
				code = ExitRefused
			}
		}
		doc.Modules = append(doc.Modules, md)
	})
	doc.Summary["modules_loading"] = loading
	doc.Summary["modules_refused"] = refused
	return code
}
