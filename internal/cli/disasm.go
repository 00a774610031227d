package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/disasm"
	"github.com/kmodscope/kmodscope/ko"
)

func init() {
	register(command{name: "disasm", summary: "disassemble a module's code with its relocations, like objdump -d -r", run: runDisasm})
}

const disasmExamples = `  kmodscope disasm crc7.ko                  # like: objdump -d -r crc7.ko
  kmodscope disasm e1000e.ko.xz e1000_probe # one function (objdump --disassemble=e1000_probe)
  kmodscope disasm --disassemble=foo --disassemble=bar a.ko b.ko
  kmodscope disasm --objdump fuse.ko        # without kmodscope's site comments: objdump's text
  kmodscope disasm --json usb-storage.ko    # kmodscope.disasm/v1 JSON

Arguments naming a file (or ending in .ko, .ko.xz, .ko.zst, .ko.gz) are
modules; the others are function names. Each instruction is followed by
the relocations that patch it, as objdump -r prints them; instructions the
kernel patches at load time (.altinstructions, __jump_table,
.static_call_sites, .retpoline_sites, .return_sites, .call_sites,
.ibt_endbr_seal) end with a "# site: ..." comment.
Decoders: x86-64 and i386 here (golang.org/x/arch) and the other
architectures registered in package disasm; for a machine without one
(MIPS) an objdump on PATH that knows it (binutils-multiarch) is run.
Exit status: 0 on success, 1 if a module could not be read or has no
decoder, 2 on usage errors.
`

type disasmDoc struct {
	Schema  string         `json:"schema"`
	Results []disasmResult `json:"results"`
}

type disasmResult struct {
	File      string                `json:"file"`
	Error     *string               `json:"error"`
	Machine   string                `json:"machine,omitempty"`
	Format    string                `json:"format,omitempty"` // objdump's "file format" name
	Functions []disasm.JSONFunction `json:"functions"`
}

func isModuleArg(a string) bool {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(a, ext) {
			return true
		}
	}
	if strings.ContainsRune(a, '/') {
		return true
	}
	st, err := os.Stat(a)
	return err == nil && st.Mode().IsRegular()
}

func runDisasm(s *IO, args []string) int {
	fs := newFlags("disasm", "kmodscope disasm [--json] [--objdump] [--disassemble=SYM]... MODULE... [FUNCTION...]", disasmExamples, s)
	jsonOut := fs.Bool("json", false, "print JSON (kmodscope.disasm/v1) instead")
	objdump := fs.Bool("objdump", false, "print exactly objdump -d -r's text (no site comments)")
	syms := fs.StringArray("disassemble", nil, "disassemble only the block of this symbol (repeatable; like objdump --disassemble=SYM)")
	maxSize := fs.Int64("max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "disasm", args, ExitUsage); done {
		return code
	}
	var mods, funcs []string
	funcs = append(funcs, *syms...)
	for _, a := range fs.Args() {
		if isModuleArg(a) {
			mods = append(mods, a)
		} else {
			funcs = append(funcs, a)
		}
	}
	if len(mods) == 0 {
		s.errorf("disasm", "missing module file (see 'kmodscope disasm --help')")
		return ExitUsage
	}
	opt := &ko.Options{MaxSize: *maxSize}
	doc := disasmDoc{Schema: "kmodscope.disasm/v1", Results: []disasmResult{}}
	failed := false
	runOrdered(s, "disasm", mods, func(p string, o *jobOut) {
		res := disasmResult{File: p, Functions: []disasm.JSONFunction{}}
		err := disasmOne(p, opt, funcs, *jsonOut, *objdump, o, &res)
		if err != nil {
			msg := err.Error()
			res.Error = &msg
			if !*jsonOut {
				o.errorf("%s", msg)
			}
		}
		o.ok = err == nil
		o.result = res
	}, func(o *jobOut) {
		if !o.ok {
			failed = true
		}
		if *jsonOut {
			doc.Results = append(doc.Results, o.result.(disasmResult))
		}
	})
	if *jsonOut {
		s.json(doc)
	}
	if failed {
		return ExitError
	}
	return ExitOK
}

func disasmOne(p string, opt *ko.Options, funcs []string, jsonOut, objdump bool, o *jobOut, res *disasmResult) (err error) {
	defer func() {
		// The decoders are third-party code run on untrusted bytes: a
		// panic becomes this module's error, not a crash.
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: internal error while disassembling: %v", p, r)
		}
	}()
	m, err := ko.Open(p, opt)
	if err != nil {
		return err
	}
	defer m.Close()
	res.Machine = m.ELF.Machine.String()
	res.Format = disasm.BFDTarget(m.ELF)
	d, err := disasm.New(m.ELF)
	if errors.Is(err, disasm.ErrNoDecoder) {
		if jsonOut {
			return fmt.Errorf("%s: no disassembler for machine %s (the text output runs a multiarch objdump instead)", p, m.ELF.Machine)
		}
		out, xerr := disasm.External(m.ELF, p, funcs)
		if xerr != nil {
			return fmt.Errorf("%s: no disassembler for machine %s, and %v", p, m.ELF.Machine, xerr)
		}
		o.sb.Write(out)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	if jsonOut {
		fns, err := d.Functions(funcs)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		res.Functions = fns
		return nil
	}
	if len(funcs) == 0 {
		o.sb.Grow(d.TextSizeHint())
	}
	if err := d.WriteText(&o.sb, p, funcs, disasm.TextOptions{Objdump: objdump}); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}
