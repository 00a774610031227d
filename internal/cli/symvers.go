package cli

import (
	"bytes"
	"fmt"
	"os"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/kabi"
	"github.com/kmodscope/kmodscope/symvers"
)

func init() {
	register(command{name: "symvers", summary: "write Module.symvers (modpost's export table) from a kernel image, modules or module trees", run: runSymvers})
}

const symversSynopsis = "kmodscope symvers [-o FILE] [--json] INPUT..."

const symversExamples = `  kmodscope symvers /boot/vmlinuz-6.1.0-57-amd64 /lib/modules/6.1.0-57-amd64 > Module.symvers
  kmodscope symvers -o extra.symvers ~/src/mydriver/*.ko   # for KBUILD_EXTRA_SYMBOLS
  kmodscope symvers --json vmlinuz-6.12.117+deb12-arm64

Writes modpost's Module.symvers lines ("0x%08x<TAB>symbol<TAB>module<TAB>
EXPORT_SYMBOL[_GPL]<TAB>namespace") for every INPUT in order: a kernel image
(bzImage, arm64 Image, vmlinux, compressed with gzip, xz, zstd, lz4, bzip2 or
lzma; its exports and CRCs come from __ksymtab*, __kcrctab* and
__ksymtab_strings), a module file (.ko, .ko.xz, .ko.zst, .ko.gz), a modules
tree (lib/modules/RELEASE: module column relative to it, without "kernel/",
in modules.order order), or a Module.symvers (plain or .gz) copied through.
An image plus its tree reproduces a Debian kernel's Module.symvers line for
line; see docs/symvers.md for the order of vmlinux lines.
Exit status: 0 on success, 1 if an input could not be read, 2 on usage errors.
`

type symversDoc struct {
	Schema  string           `json:"schema"`
	Inputs  []symversInput   `json:"inputs"`
	Symbols []symvers.Symbol `json:"symbols"`
}

type symversInput struct {
	Path    string  `json:"path"`
	Kind    string  `json:"kind"`
	Symbols int     `json:"symbols"`
	Error   *string `json:"error"`
}

func runSymvers(s *IO, args []string) int {
	var out string
	var asJSON bool
	var maxSize int64
	fs := newFlags("symvers", symversSynopsis, symversExamples, s)
	fs.StringVarP(&out, "output", "o", "", "write to `FILE` instead of standard output")
	fs.BoolVar(&asJSON, "json", false, "print one kmodscope.symvers/v1 JSON document")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "symvers", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("symvers", "missing INPUT (see 'kmodscope symvers --help')")
		return ExitUsage
	}
	doc := symversDoc{Schema: "kmodscope.symvers/v1", Inputs: []symversInput{}, Symbols: []symvers.Symbol{}}
	code := ExitOK
	for _, p := range fs.Args() {
		in, err := kabi.Load(p, &kabi.Options{MaxSize: maxSize, PreferImage: true})
		if err != nil {
			msg := err.Error()
			doc.Inputs = append(doc.Inputs, symversInput{Path: p, Error: &msg})
			if !asJSON {
				s.errorf("symvers", "%v", err)
			}
			code = ExitError
			continue
		}
		doc.Inputs = append(doc.Inputs, symversInput{Path: p, Kind: in.Kind, Symbols: len(in.Table.Symbols)})
		doc.Symbols = append(doc.Symbols, in.Table.Symbols...)
	}
	if asJSON {
		s.json(doc)
		return code
	}
	var buf bytes.Buffer
	symvers.Write(&buf, doc.Symbols)
	if out == "" {
		s.Out.Write(buf.Bytes())
		return code
	}
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		s.errorf("symvers", "%v", err)
		return ExitError
	}
	if code == ExitOK {
		return code
	}
	fmt.Fprintf(s.Err, "kmodscope symvers: %s written without the inputs that failed\n", out)
	return code
}
