package cli

import (
	"debug/elf"
	"fmt"
	"strconv"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/nm"
	"github.com/kmodscope/kmodscope/symvers"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	register(command{name: "symbols", summary: "list a module's symbols; --nm prints GNU nm's output, --undefined/--exported what it needs and exports", run: runSymbols})
}

const symbolsExamples = `  kmodscope symbols e1000e.ko                 # value, size, type, binding, visibility, section, name
  kmodscope symbols --nm fuse.ko.xz           # same bytes as: nm on the decompressed module
  kmodscope symbols --nm -a -n *.ko           # nm -a -n (with "\nFILE:\n" headers for several files)
  kmodscope symbols --nm -u e1000e.ko         # nm -u: undefined symbols only
  kmodscope symbols --undefined -b / -k $(uname -r) e1000e.ko
                                              # what it needs, with CRCs, and who exports it on the target
  kmodscope symbols --exported --json jbd2.ko # its own exports: CRC, GPL-only, namespace

nm options (they also select and order the default table): -a (section and
file symbols too), -u (undefined only), -g (external only), --defined-only,
-n (by address), -p (symbol table order), -r (reverse), --size-sort, -S
(sizes, --nm only), -D (dynamic symbols: a module has none, so "no symbols",
as nm says), --special-syms (ARM/AArch64/RISC-V mapping symbols, RISC-V and
MIPS local labels). Names sort in byte
order, as nm does in the C and C.UTF-8 locales.
Exit status: 0 on success, 1 if a module could not be read or the target
could not be loaded, 2 on usage errors.
`

type symbolsOptions struct {
	nm                  nm.Options
	nmOut               bool
	undefined, exported bool
	basedir, release    string
	json                bool
	maxSize             int64
}

type symbolsDoc struct {
	Schema  string          `json:"schema"`
	Target  *symbolsTarget  `json:"target,omitempty"`
	Results []symbolsResult `json:"results"`
}

type symbolsTarget struct {
	Release string `json:"release"`
	Symvers string `json:"symvers"`
}

type symbolsResult struct {
	File      string          `json:"file"`
	Error     *string         `json:"error"`
	Class     string          `json:"class,omitempty"`
	Machine   string          `json:"machine,omitempty"`
	Symbols   []jsonSymbol    `json:"symbols,omitempty"`
	Undefined []jsonUndefined `json:"undefined,omitempty"`
	Exported  []ko.Export     `json:"exported,omitempty"`
}

type jsonSymbol struct {
	Index        int    `json:"index"`
	Name         string `json:"name"`
	Value        uint64 `json:"value"`
	Size         uint64 `json:"size"`
	Type         string `json:"type"`
	Binding      string `json:"binding"`
	Visibility   string `json:"visibility"`
	Section      string `json:"section"` // section name, or UND / ABS / COMMON
	SectionIndex uint32 `json:"section_index"`
	NM           string `json:"nm"` // nm's letter
}

type jsonUndefined struct {
	Name     string      `json:"name"`
	CRC      *uint64     `json:"crc"` // null: no __versions entry
	Weak     bool        `json:"weak"`
	InSymtab bool        `json:"in_symtab"`
	Target   *jsonTarget `json:"target,omitempty"` // only with -b/-k
}

type jsonTarget struct {
	Exported  bool    `json:"exported"`
	Module    string  `json:"module,omitempty"` // "vmlinux" or the exporting module's name
	GPLOnly   bool    `json:"gpl_only"`
	Namespace string  `json:"namespace,omitempty"`
	CRC       *uint32 `json:"crc,omitempty"`
	CRCMatch  *bool   `json:"crc_match,omitempty"`
}

func runSymbols(s *IO, args []string) int {
	const name = "symbols"
	var o symbolsOptions
	fs := newFlags(name, "kmodscope symbols [--nm] [-a] [-u] [-g] [-n|-p] [-r] [-S] [--undefined [-b BASEDIR -k RELEASE] | --exported] [--json] MODULE...", symbolsExamples, s)
	fs.BoolVar(&o.nmOut, "nm", false, "print exactly what GNU nm prints")
	fs.BoolVarP(&o.nm.Debug, "debug-syms", "a", false, "also list section and file symbols (nm -a)")
	fs.BoolVarP(&o.nm.Undefined, "undefined-only", "u", false, "only undefined symbols (nm -u)")
	fs.BoolVarP(&o.nm.Extern, "extern-only", "g", false, "only external symbols (nm -g)")
	fs.BoolVar(&o.nm.DefinedOnly, "defined-only", false, "only defined symbols (nm --defined-only)")
	fs.BoolVarP(&o.nm.Numeric, "numeric-sort", "n", false, "sort by address (nm -n)")
	fs.BoolVarP(&o.nm.NoSort, "no-sort", "p", false, "symbol table order (nm -p)")
	fs.BoolVarP(&o.nm.Reverse, "reverse-sort", "r", false, "reverse the sort (nm -r)")
	fs.BoolVarP(&o.nm.Size, "print-size", "S", false, "print sizes too (nm -S)")
	fs.BoolVarP(&o.nm.Dynamic, "dynamic", "D", false, "dynamic symbols (a module has none; nm -D)")
	fs.BoolVar(&o.nm.Special, "special-syms", false, "include target-special symbols (nm --special-syms)")
	fs.BoolVar(&o.nm.SizeSort, "size-sort", false, "sort by size, print sizes instead of values (nm --size-sort)")
	fs.BoolVar(&o.undefined, "undefined", false, "list what the module needs, with CRCs (and, with -b/-k, who exports it)")
	fs.BoolVar(&o.exported, "exported", false, "list the module's own exports: CRC, GPL-only, namespace")
	fs.StringVarP(&o.basedir, "basedir", "b", "", "root of the target system for --undefined (\"/\" for this machine)")
	fs.StringVarP(&o.release, "set-version", "k", "", "target kernel release for --undefined")
	fs.BoolVar(&o.json, "json", false, "print JSON (schema kmodscope.symbols/v1)")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, name, args, ExitUsage); done {
		return code
	}
	paths := fs.Args()
	switch {
	case len(paths) == 0:
		s.errorf(name, "missing module file (see 'kmodscope symbols --help')")
		return ExitUsage
	case o.undefined && o.exported:
		s.errorf(name, "--undefined and --exported exclude each other")
		return ExitUsage
	case o.nmOut && (o.undefined || o.exported || o.json):
		s.errorf(name, "--nm prints nm's output; it does not combine with --undefined, --exported or --json")
		return ExitUsage
	case (o.basedir == "") != (o.release == ""):
		s.errorf(name, "-b BASEDIR and -k RELEASE go together")
		return ExitUsage
	case o.basedir != "" && !o.undefined:
		s.errorf(name, "-b/-k name a target for --undefined")
		return ExitUsage
	}
	doc := symbolsDoc{Schema: "kmodscope.symbols/v1", Results: []symbolsResult{}}
	var sv *symvers.Table
	if o.basedir != "" {
		tk, err := target.Load(target.Options{BaseDir: o.basedir, Release: o.release})
		if err != nil {
			s.errorf(name, "%v", err)
			return ExitError
		}
		sv = tk.Symvers
		doc.Target = &symbolsTarget{Release: tk.Release, Symvers: tk.Found["symvers"]}
	}
	code := ExitOK
	many := len(paths) > 1
	runOrdered(s, name, paths, func(p string, out *jobOut) {
		res := symbolsResult{File: p}
		out.result = &res
		out.ok = true
		m, err := ko.Open(p, &ko.Options{MaxSize: o.maxSize})
		if err != nil {
			out.ok = false
			fail(out, &res.Error, err.Error(), !o.json)
			return
		}
		defer m.Close()
		f := m.ELF
		res.Class, res.Machine = f.Class.String(), f.Machine.String()
		if o.nmOut {
			if many {
				out.sb.WriteString("\n" + p + ":\n")
			}
			if err := appendNM(out, p, f, &o.nm); err != nil {
				out.ok = false
				fail(out, &res.Error, fmt.Sprintf("%s: %v", p, err), true)
			}
			return
		}
		var err2 error
		switch {
		case o.undefined:
			err2 = symbolsUndefined(out, &res, p, many, m, sv, o.json)
		case o.exported:
			err2 = symbolsExported(out, &res, p, many, m, o.json)
		default:
			err2 = symbolsTable(out, &res, p, many, f, &o.nm, o.json)
		}
		if err2 != nil {
			out.ok = false
			fail(out, &res.Error, fmt.Sprintf("%s: %v", p, err2), !o.json)
		}
	}, func(out *jobOut) {
		if !out.ok {
			code = ExitError
		}
		if o.json {
			doc.Results = append(doc.Results, *out.result.(*symbolsResult))
		}
	})
	if o.json {
		s.json(doc)
	}
	return code
}

// appendNM writes nm's output for one file (without the file header).
func appendNM(out *jobOut, p string, f *elfx.File, opt *nm.Options) error {
	if opt.Dynamic {
		out.warnf("%s: no symbols", p)
		return nil
	}
	syms, err := nm.Symbols(f)
	if err != nil {
		return err
	}
	if len(syms) == 0 {
		out.warnf("%s: no symbols", p)
		return nil
	}
	syms = nm.Select(syms, opt)
	buf := nm.Append(make([]byte, 0, 48*len(syms)), syms, f.Is64(), opt)
	out.sb.Write(buf)
	return nil
}

func sectionLabel(f *elfx.File, shndx uint32) string {
	switch elf.SectionIndex(shndx) {
	case elf.SHN_UNDEF:
		return "UND"
	case elf.SHN_ABS:
		return "ABS"
	case elf.SHN_COMMON:
		return "COMMON"
	}
	if sec := f.SectionByIndex(int(shndx)); sec != nil {
		return sec.Name
	}
	return "#" + strconv.FormatUint(uint64(shndx), 10)
}

func symbolsTable(out *jobOut, res *symbolsResult, p string, many bool, f *elfx.File, opt *nm.Options, asJSON bool) error {
	raw, err := f.Symbols()
	if err != nil {
		return err
	}
	syms, err := nm.Symbols(f)
	if err != nil {
		return err
	}
	syms = nm.Select(syms, opt)
	res.Symbols = make([]jsonSymbol, 0, len(syms))
	for i := range syms {
		n := &syms[i]
		r := &raw[n.Index]
		res.Symbols = append(res.Symbols, jsonSymbol{Index: n.Index, Name: n.Name, Value: r.Value, Size: r.Size,
			Type: symType(r.Type()), Binding: symBind(r.Bind()), Visibility: symVis(r.Other),
			Section: sectionLabel(f, r.Shndx), SectionIndex: r.Shndx, NM: string(n.Letter)})
	}
	if asJSON {
		return nil
	}
	w := &out.sb
	if many {
		fmt.Fprintf(w, "%s:\n", p)
	}
	vw := 16
	if !f.Is64() {
		vw = 8
	}
	fmt.Fprintf(w, "%5s  %-*s %7s %-7s %-6s %-9s %-2s  %-24s %s\n", "NUM", vw, "VALUE", "SIZE", "TYPE", "BIND", "VIS", "NM", "SECTION", "NAME")
	for _, j := range res.Symbols {
		fmt.Fprintf(w, "%5d  %0*x %7d %-7s %-6s %-9s %-2s  %-24s %s\n", j.Index, vw, j.Value, j.Size, j.Type, j.Binding, j.Visibility, j.NM, j.Section, j.Name)
	}
	return nil
}

func symType(t elf.SymType) string {
	switch t {
	case elf.STT_NOTYPE:
		return "NOTYPE"
	case elf.STT_OBJECT:
		return "OBJECT"
	case elf.STT_FUNC:
		return "FUNC"
	case elf.STT_SECTION:
		return "SECTION"
	case elf.STT_FILE:
		return "FILE"
	case elf.STT_COMMON:
		return "COMMON"
	case elf.STT_TLS:
		return "TLS"
	case elf.STT_GNU_IFUNC:
		return "IFUNC"
	}
	return "<" + strconv.Itoa(int(t)) + ">"
}

func symBind(b elf.SymBind) string {
	switch b {
	case elf.STB_LOCAL:
		return "LOCAL"
	case elf.STB_GLOBAL:
		return "GLOBAL"
	case elf.STB_WEAK:
		return "WEAK"
	case 10:
		return "UNIQUE"
	}
	return "<" + strconv.Itoa(int(b)) + ">"
}

func symVis(other uint8) string {
	switch other & 3 {
	case 0:
		return "DEFAULT"
	case 1:
		return "INTERNAL"
	case 2:
		return "HIDDEN"
	}
	return "PROTECTED"
}

func symbolsUndefined(out *jobOut, res *symbolsResult, p string, many bool, m *ko.Module, sv *symvers.Table, asJSON bool) error {
	ims, err := m.Imports()
	if err != nil {
		return err
	}
	res.Undefined = []jsonUndefined{}
	for _, im := range ims {
		u := jsonUndefined{Name: im.Name, Weak: im.Weak, InSymtab: im.InSymtab}
		if im.HasCRC {
			c := im.CRC
			u.CRC = &c
		}
		if sv != nil {
			t := &jsonTarget{}
			if e, ok := sv.Lookup(im.Name); ok {
				crc := e.CRC
				t.Exported, t.Module, t.GPLOnly, t.Namespace, t.CRC = true, e.ModuleName(), e.GPLOnly, e.Namespace, &crc
				if im.HasCRC {
					match := uint64(e.CRC) == im.CRC
					t.CRCMatch = &match
				}
			}
			u.Target = t
		}
		res.Undefined = append(res.Undefined, u)
	}
	if asJSON {
		return nil
	}
	w := &out.sb
	for _, u := range res.Undefined {
		if many {
			w.WriteString(p + ": ")
		}
		crc := "-         "
		if u.CRC != nil {
			crc = fmt.Sprintf("0x%08x", *u.CRC)
		}
		fmt.Fprintf(w, "%s\t%s", crc, u.Name)
		if u.Weak {
			w.WriteString(" (weak)")
		}
		if !u.InSymtab {
			w.WriteString(" (version only)")
		}
		if t := u.Target; t != nil {
			if !t.Exported {
				w.WriteString("\tnot exported by the target")
			} else {
				fmt.Fprintf(w, "\t%s", t.Module)
				if t.GPLOnly {
					w.WriteString(" GPL-only")
				}
				if t.Namespace != "" {
					fmt.Fprintf(w, " namespace %s", t.Namespace)
				}
				if t.CRCMatch != nil && !*t.CRCMatch {
					fmt.Fprintf(w, " CRC MISMATCH (target 0x%08x)", *t.CRC)
				}
			}
		}
		w.WriteString("\n")
	}
	return nil
}

func symbolsExported(out *jobOut, res *symbolsResult, p string, many bool, m *ko.Module, asJSON bool) error {
	es, err := m.Exports()
	if err != nil {
		return err
	}
	if es == nil {
		es = []ko.Export{}
	}
	res.Exported = es
	if asJSON {
		return nil
	}
	w := &out.sb
	for _, e := range es {
		if many {
			w.WriteString(p + ": ")
		}
		crc := "-         "
		if e.HasCRC {
			crc = fmt.Sprintf("0x%08x", e.CRC)
		}
		fmt.Fprintf(w, "%s\t%s", crc, e.Name)
		if e.GPLOnly {
			w.WriteString("\tGPL-only")
		}
		if e.Namespace != "" {
			fmt.Fprintf(w, "\tnamespace %s", e.Namespace)
		}
		w.WriteString("\n")
	}
	return nil
}
