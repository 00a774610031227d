package cli

import (
	"errors"
	"fmt"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/kostrip"
	"github.com/kmodscope/kmodscope/modsig"
)

func init() {
	register(command{name: "strip", summary: "remove debug information (or unneeded symbols) from modules, safely, like strip --strip-debug", run: runStrip})
}

const stripCmdExamples = `  kmodscope strip my.ko                        # in place, like strip --strip-debug my.ko
  kmodscope strip --strip-unneeded my.ko.xz -o out/my.ko.xz
  kmodscope strip --key signing_key.pem --cert signing_key.x509 my.ko   # strip and re-sign
  kmodscope strip -R .comment --json a.ko b.ko.zst

Removes what the kernel's loader does not need and keeps what it does:
--strip-debug (the default; also -g, -S, -d) removes the .debug_*, .zdebug*,
.gnu.debuglto_*, .stab* and .line sections, their relocations, and the file
and section symbols no relocation uses, exactly as GNU strip --strip-debug
does. --strip-unneeded also removes the symbols no relocation uses, except
defined globals and the __crc_*, __ksymtab_*, __kstrtab_* and __kstrtabns_*
symbols kmod reads. The symbol table, .modinfo, __versions, .BTF,
.gnu.linkonce.this_module, the export tables and every relocation of a kept
section stay. -R SECTION removes a further section; removing one the kernel
loads or needs is refused (exit 3), as is --strip-all (the kernel refuses a
module without symbols).

An appended signature no longer matches the stripped content: it is dropped
with a warning on stderr, or, with --key and --cert, replaced by a new one
exactly as 'kmodscope sign' makes it. A .ko.xz/.ko.zst/.ko.gz is written in
the same compression. Each MODULE is replaced (or OUT written) through a
temporary file in the same directory and a rename.
Exit status: 0 on success, 1 if a module could not be read or written,
2 on usage errors, 3 if a requested strip was refused.
`

type stripDoc struct {
	Schema  string        `json:"schema"`
	Results []stripResult `json:"results"`
}

type stripResult struct {
	File            string   `json:"file"`
	Output          string   `json:"output"`
	Error           *string  `json:"error"`
	Refused         bool     `json:"refused"`
	Mode            string   `json:"mode"`
	RemovedSections []string `json:"removed_sections"`
	RemovedSymbols  int      `json:"removed_symbols"`
	Symbols         int      `json:"symbols"`
	SizeBefore      int      `json:"size_before"`
	SizeAfter       int      `json:"size_after"`
	// Signature is "none", "dropped" or "re-signed".
	Signature string `json:"signature"`
}

func runStrip(s *IO, args []string) int {
	var debug, unneeded, all bool
	var remove []string
	var out string
	var asJSON bool
	var maxSize int64
	var sf signFlags
	fs := newFlags("strip", "kmodscope strip [--strip-debug | --strip-unneeded] [-R SECTION]... [--key KEY --cert CERT [--hash ALGO]] [--json] MODULE... [-o OUT]", stripCmdExamples, s)
	fs.BoolVarP(&debug, "strip-debug", "g", false, "remove debugging sections and symbols (the default)")
	debugS := fs.BoolP("strip-debug-S", "S", false, "same as --strip-debug")
	debugD := fs.BoolP("strip-debug-d", "d", false, "same as --strip-debug")
	fs.BoolVar(&unneeded, "strip-unneeded", false, "also remove the symbols no relocation needs")
	fs.BoolVarP(&all, "strip-all", "s", false, "refused: the kernel needs the symbol table")
	fs.StringArrayVarP(&remove, "remove-section", "R", nil, "also remove `SECTION` (a name or glob); refused if the kernel needs it")
	fs.StringVarP(&out, "output", "o", "", "write to `OUT` instead of replacing MODULE (one MODULE only)")
	sf.add(fs, false)
	fs.BoolVar(&asJSON, "json", false, "print a kmodscope.strip/v1 JSON document")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	fs.Lookup("strip-debug-S").Hidden = true
	fs.Lookup("strip-debug-d").Hidden = true
	if done, code := parseFlags(fs, s, "strip", args, ExitUsage); done {
		return code
	}
	debug = debug || *debugS || *debugD
	if fs.NArg() == 0 {
		s.errorf("strip", "missing module file (see 'kmodscope strip --help')")
		return ExitUsage
	}
	if out != "" && fs.NArg() != 1 {
		s.errorf("strip", "-o OUT takes exactly one MODULE")
		return ExitUsage
	}
	if (sf.keyPath == "") != (sf.certPath == "") {
		s.errorf("strip", "--key and --cert go together")
		return ExitUsage
	}
	if unneeded && debug {
		s.errorf("strip", "--strip-debug and --strip-unneeded exclude each other")
		return ExitUsage
	}
	if all {
		s.errorf("strip", "--strip-all refused: the kernel refuses a module without a symbol table (\"module has no symbols (stripped?)\"); use --strip-unneeded")
		return ExitRefused
	}
	opt := kostrip.Options{Mode: kostrip.StripDebug, Remove: remove}
	if unneeded {
		opt.Mode = kostrip.StripUnneeded
	}
	var signer *moduleSigner
	if sf.keyPath != "" {
		var code int
		if signer, code = sf.load(s, "strip"); signer == nil {
			return code
		}
	}
	doc := stripDoc{Schema: "kmodscope.strip/v1", Results: []stripResult{}}
	code := ExitOK
	for _, in := range fs.Args() {
		res := stripResult{File: in, Output: out, Mode: opt.Mode.String(), RemovedSections: []string{}, Signature: "none"}
		if res.Output == "" {
			res.Output = in
		}
		var warn string
		err := rewriteModule(in, out, maxSize, func(data []byte) ([]byte, error) {
			content, err := modsig.Strip(data)
			if err != nil {
				return nil, fmt.Errorf("malformed signature trailer: %w", err)
			}
			signed := len(content) != len(data)
			r, err := kostrip.Strip(content, opt)
			if err != nil {
				return nil, err
			}
			res.SizeBefore, res.RemovedSections, res.RemovedSymbols, res.Symbols = len(data), r.RemovedSections, r.RemovedSymbols, r.Symbols
			if res.RemovedSections == nil {
				res.RemovedSections = []string{}
			}
			img := r.Image
			switch {
			case signer != nil:
				if img, err = signer.sign(img); err != nil {
					return nil, err
				}
				res.Signature = "re-signed"
			case signed:
				res.Signature = "dropped"
				warn = fmt.Sprintf("kmodscope strip: warning: %s: the appended signature was dropped: it signed the unstripped content and would no longer verify (re-sign with --key/--cert or 'kmodscope sign')\n", in)
			}
			res.SizeAfter = len(img)
			return img, nil
		})
		if warn != "" && err == nil {
			s.Out.Flush()
			fmt.Fprint(s.Err, warn)
		}
		if err != nil {
			msg := err.Error()
			res.Error = &msg
			if errors.Is(err, kostrip.ErrRefused) {
				res.Refused = true
				if code == ExitOK {
					code = ExitRefused
				}
			} else {
				code = ExitError
			}
			if !asJSON {
				s.errorf("strip", "%s", msg)
			}
		}
		doc.Results = append(doc.Results, res)
	}
	if asJSON {
		s.json(doc)
	}
	return code
}
