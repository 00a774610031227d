package cli

import (
	"fmt"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/gnuview"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modlayout"
)

func init() {
	register(command{name: "size", summary: "section sizes like GNU size, or what the kernel allocates (--loaded)", run: runSize})
}

const sizeSynopsis = "kmodscope size [-A|-B|-G|--format=FMT] [-d|-o|-x|--radix=N] [-t] [--loaded [--kernel-version V | -b BASEDIR -k RELEASE]] [--json] MODULE..."

const sizeExamples = `  kmodscope size *.ko                    # same bytes as: size *.ko (Berkeley format)
  kmodscope size -A -x e1000e.ko.xz      # same bytes as: size -A -x on the decompressed file
  kmodscope size -t --format=gnu a.ko b.ko
  kmodscope size --loaded e1000e.ko      # core/init bytes the 6.1 loader allocates, /proc/modules size
  kmodscope size --loaded --kernel-version 6.12 --json e1000e.ko

Compressed modules are decompressed in memory and shown under the name
given. --loaded follows layout_sections()/layout_symtab()/move_module() for
the target version (docs/size.md says what is approximated).
Exit status: 0 on success, 1 if a module could not be read, 2 on usage errors.
`

type sizeDoc struct {
	Schema  string       `json:"schema"`
	Kernel  string       `json:"kernel_version,omitempty"`
	Results []sizeResult `json:"results"`
}

type sizeResult struct {
	File     string            `json:"file"`
	Error    *string           `json:"error"`
	Text     uint64            `json:"text"`
	Data     uint64            `json:"data"`
	BSS      uint64            `json:"bss"`
	Total    uint64            `json:"total"`
	Sections []jsonSizeSection `json:"sections"`
	Loaded   *jsonLoaded       `json:"loaded,omitempty"`
}

type jsonSizeSection struct {
	Name string `json:"name"`
	Size uint64 `json:"size"`
	Addr uint64 `json:"addr"`
}

type jsonLoaded struct {
	Model          string             `json:"model"`
	PageSize       uint64             `json:"page_size"`
	Core           uint64             `json:"core"`
	Init           uint64             `json:"init"`
	ProcModules    uint64             `json:"proc_modules"`
	Loading        uint64             `json:"loading"`
	Regions        []modlayout.Region `json:"regions"`
	Symtab         *modlayout.Symtab  `json:"kallsyms"`
	Approximations []string           `json:"approximations"`
}

func runSize(s *IO, args []string) int {
	var o moduleCmdOptions
	var sysv, berkeley, gnu, dec, oct, hex, totals, loaded bool
	var format string
	var radix int
	var tf targetFlags
	fs := newFlags("size", sizeSynopsis, sizeExamples, s)
	fs.BoolVarP(&sysv, "sysv", "A", false, "System V format (size -A)")
	fs.BoolVarP(&berkeley, "berkeley", "B", false, "Berkeley format (the default)")
	fs.BoolVarP(&gnu, "gnu", "G", false, "GNU format (read-only data counted as data)")
	fs.StringVar(&format, "format", "", "output format: berkeley, sysv or gnu")
	fs.BoolVarP(&dec, "decimal", "d", false, "numbers in decimal")
	fs.BoolVarP(&oct, "octal", "o", false, "numbers in octal")
	fs.BoolVarP(&hex, "hex", "x", false, "numbers in hexadecimal")
	fs.IntVar(&radix, "radix", 10, "number base: 8, 10 or 16")
	fs.BoolVarP(&totals, "totals", "t", false, "print a (TOTALS) line (Berkeley and GNU formats)")
	fs.BoolVar(&loaded, "loaded", false, "print the memory the kernel allocates for the module instead")
	tf.register(fs)
	fs.BoolVar(&o.json, "json", false, "print one kmodscope.size/v1 JSON document")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "size", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("size", "missing module file (see 'kmodscope size --help')")
		return ExitUsage
	}
	mode := "berkeley"
	switch format {
	case "", "berkeley", "bsd", "b", "B":
	case "sysv", "svr4", "s", "S", "a", "A":
		mode = "sysv"
	case "gnu", "g", "G":
		mode = "gnu"
	default:
		s.errorf("size", "invalid --format %q (berkeley, sysv or gnu)", format)
		return ExitUsage
	}
	// Like size, the last of -A/-B/-G wins; order is lost here, so refuse mixes.
	switch {
	case sysv && !berkeley && !gnu:
		mode = "sysv"
	case gnu && !sysv && !berkeley:
		mode = "gnu"
	case berkeley && !sysv && !gnu:
		mode = "berkeley"
	case sysv || gnu || berkeley:
		s.errorf("size", "give only one of -A, -B and -G")
		return ExitUsage
	}
	r := gnuview.Radix(radix)
	if radix != 8 && radix != 10 && radix != 16 {
		s.errorf("size", "invalid radix %d (8, 10 or 16)", radix)
		return ExitUsage
	}
	switch {
	case hex:
		r = gnuview.Hex
	case oct:
		r = gnuview.Octal
	case dec:
		r = gnuview.Decimal
	}
	cfgFor, err := tf.resolve()
	if err != nil {
		s.errorf("size", "%v", err)
		return ExitUsage
	}
	doc := sizeDoc{Schema: "kmodscope.size/v1", Results: []sizeResult{}}
	if loaded {
		doc.Kernel = tf.version
		if tf.release != "" {
			doc.Kernel = tf.release
		}
	}
	var total gnuview.Sizes
	headerDone := false
	if loaded && !o.json {
		fmt.Fprintf(s.Out, "%10s %10s %10s %10s %s\n", "core", "init", "loading", "proc", "filename")
	}
	code := forEachModule(s, "size", fs.Args(), &o, func(p string, m *ko.Module) error {
		secs := gnuview.BFDSections(m.ELF)
		z := gnuview.Sum(secs, mode == "gnu")
		res := sizeResult{File: p, Text: z.Text, Data: z.Data, BSS: z.BSS, Total: z.Total(), Sections: []jsonSizeSection{}}
		for _, sec := range secs {
			if sec.Flags != 0 {
				res.Sections = append(res.Sections, jsonSizeSection{Name: sec.Name, Size: sec.Size, Addr: sec.VMA})
			}
		}
		if loaded {
			cfg := cfgFor(m.ELF.Machine)
			lay, err := modlayout.Compute(m.ELF, cfg)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			res.Loaded = &jsonLoaded{Model: lay.Model, PageSize: cfg.PageSize, Core: lay.Core, Init: lay.Init, ProcModules: lay.ProcModules,
				Loading: lay.Loading, Regions: lay.Regions, Symtab: lay.Symtab, Approximations: lay.Approximations}
			if !o.json {
				fmt.Fprintf(s.Out, "%10d %10d %10d %10d %s\n", lay.Core, lay.Init, lay.Loading, lay.ProcModules, p)
			}
		} else if !o.json {
			switch mode {
			case "sysv":
				gnuview.SysV(s.Out, secs, r, p)
			default:
				if !headerDone {
					fmt.Fprint(s.Out, gnuview.SizeHeader(r, mode == "gnu"))
					headerDone = true
				}
				fmt.Fprint(s.Out, gnuview.SizeLine(z, r, mode == "gnu", p))
			}
		}
		total.Text += z.Text
		total.Data += z.Data
		total.BSS += z.BSS
		doc.Results = append(doc.Results, res)
		return nil
	}, func(p string, err error) {
		msg := err.Error()
		doc.Results = append(doc.Results, sizeResult{File: p, Error: &msg, Sections: []jsonSizeSection{}})
	})
	if o.json {
		s.json(doc)
		return code
	}
	if totals && !loaded && mode != "sysv" && headerDone {
		fmt.Fprint(s.Out, gnuview.SizeLine(total, r, mode == "gnu", "(TOTALS)"))
	}
	return code
}
