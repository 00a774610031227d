package cli

import (
	"fmt"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
)

func init() {
	register(command{name: "versions", summary: "list the symbol versions a module needs, like modprobe --dump-modversions", run: runVersions})
	register(command{name: "exports", summary: "list the symbols a module exports, like modprobe --show-exports", run: runExports})
}

const versionsExamples = `  kmodscope versions fuse.ko             # same bytes as: modprobe --dump-modversions fuse.ko
  kmodscope versions --json fuse.ko.xz   # kmodscope.versions/v1 JSON

Prints "0x%08x<TAB>symbol" for every __versions entry, then every extended
modversions entry (__version_ext_crcs/__version_ext_names, kernel 6.14+,
which kmod cannot read). Exit status: 0 on success, 1 if a module could not
be read, 2 on usage errors.
`

const exportsExamples = `  kmodscope exports jbd2.ko             # same bytes as: modprobe --show-exports jbd2.ko
  kmodscope exports --json usb-storage.ko  # adds gpl_only and namespace per export

Lists the __crc_* symbols with their CRCs like kmod (or, for modules built
without modversions, the strings of __ksymtab_strings with CRC 0, as kmod does).
Exit status: 0 on success, 1 if a module could not be read, 2 on usage errors.
`

type moduleCmdOptions struct {
	json    bool
	maxSize int64
}

func moduleCmdFlags(name, synopsis, examples string, s *IO, o *moduleCmdOptions) (*moduleCmdOptions, func([]string) (bool, int, []string)) {
	fs := newFlags(name, synopsis, examples, s)
	fs.BoolVar(&o.json, "json", false, "print JSON instead")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	return o, func(args []string) (bool, int, []string) {
		if done, code := parseFlags(fs, s, name, args, ExitUsage); done {
			return true, code, nil
		}
		if fs.NArg() == 0 {
			s.errorf(name, "missing module file (see 'kmodscope %s --help')", name)
			return true, ExitUsage, nil
		}
		return false, 0, fs.Args()
	}
}

// forEachModule opens every path, calls fn, and reports failures; it
// returns the exit code.
func forEachModule(s *IO, cmd string, paths []string, o *moduleCmdOptions, fn func(path string, m *ko.Module) error, onErr func(path string, err error)) int {
	code := ExitOK
	for _, p := range paths {
		m, err := ko.Open(p, &ko.Options{MaxSize: o.maxSize})
		if err == nil {
			err = fn(p, m)
			m.Close()
		}
		if err != nil {
			code = ExitError
			onErr(p, err)
			if !o.json {
				s.errorf(cmd, "%v", err)
			}
		}
	}
	return code
}

type versionsDoc struct {
	Schema  string           `json:"schema"`
	Results []versionsResult `json:"results"`
}

type versionsResult struct {
	File     string       `json:"file"`
	Error    *string      `json:"error"`
	Versions []ko.Version `json:"versions"`
}

func runVersions(s *IO, args []string) int {
	o, parse := moduleCmdFlags("versions", "kmodscope versions [--json] MODULE...", versionsExamples, s, &moduleCmdOptions{})
	done, code, paths := parse(args)
	if done {
		return code
	}
	doc := versionsDoc{Schema: "kmodscope.versions/v1", Results: []versionsResult{}}
	code = forEachModule(s, "versions", paths, o, func(p string, m *ko.Module) error {
		vs, err := m.Versions()
		if err != nil {
			return fmt.Errorf("%s: could not get modversions: %w", p, err)
		}
		if vs == nil {
			vs = []ko.Version{}
		}
		doc.Results = append(doc.Results, versionsResult{File: p, Versions: vs})
		if !o.json {
			for _, v := range vs {
				fmt.Fprintf(s.Out, "0x%08x\t%s\n", v.CRC, v.Name)
			}
		}
		return nil
	}, func(p string, err error) {
		msg := err.Error()
		doc.Results = append(doc.Results, versionsResult{File: p, Error: &msg, Versions: []ko.Version{}})
	})
	if o.json {
		s.json(doc)
	}
	return code
}

type exportsDoc struct {
	Schema  string          `json:"schema"`
	Results []exportsResult `json:"results"`
}

type exportsResult struct {
	File    string       `json:"file"`
	Error   *string      `json:"error"`
	Exports []jsonExport `json:"exports"`
}

type jsonExport struct {
	Name      string  `json:"name"`
	CRC       uint64  `json:"crc"`
	GPLOnly   *bool   `json:"gpl_only"`  // null when the module has no ksymtab entry for it
	Namespace *string `json:"namespace"` // null when unknown, "" for none
	Kind      string  `json:"kind,omitempty"`
}

func runExports(s *IO, args []string) int {
	o, parse := moduleCmdFlags("exports", "kmodscope exports [--json] MODULE...", exportsExamples, s, &moduleCmdOptions{})
	done, code, paths := parse(args)
	if done {
		return code
	}
	doc := exportsDoc{Schema: "kmodscope.exports/v1", Results: []exportsResult{}}
	code = forEachModule(s, "exports", paths, o, func(p string, m *ko.Module) error {
		syms, err := m.KmodExports()
		if err != nil {
			return fmt.Errorf("%s: could not get exports: %w", p, err)
		}
		if !o.json {
			for _, e := range syms {
				fmt.Fprintf(s.Out, "0x%08x\t%s\n", e.CRC, e.Name)
			}
			return nil
		}
		rich, err := m.Exports()
		if err != nil {
			return fmt.Errorf("%s: could not decode the export tables: %w", p, err)
		}
		byName := map[string]ko.Export{}
		for _, e := range rich {
			byName[e.Name] = e
		}
		res := exportsResult{File: p, Exports: []jsonExport{}}
		for _, e := range syms {
			je := jsonExport{Name: e.Name, CRC: e.CRC}
			if r, ok := byName[e.Name]; ok {
				gpl, ns := r.GPLOnly, r.Namespace
				je.GPLOnly, je.Namespace, je.Kind = &gpl, &ns, r.Kind
			}
			res.Exports = append(res.Exports, je)
		}
		doc.Results = append(doc.Results, res)
		return nil
	}, func(p string, err error) {
		msg := err.Error()
		doc.Results = append(doc.Results, exportsResult{File: p, Error: &msg, Exports: []jsonExport{}})
	})
	if o.json {
		s.json(doc)
	}
	return code
}
