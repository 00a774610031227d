package cli

import (
	"fmt"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/gnuview"
	"github.com/kmodscope/kmodscope/ko"
)

func init() {
	register(command{name: "file", summary: "identify modules like file(1), plus name, vermagic, compression and signer", run: runFile})
}

const fileSynopsis = "kmodscope file [-b] [-N] [--elf-only] [--json] MODULE..."

const fileExamples = `  kmodscope file e1000e.ko.xz
  e1000e.ko.xz: ELF 64-bit LSB relocatable, x86-64, version 1 (SYSV), BuildID[sha1]=..., not stripped; module e1000e, vermagic "6.1.0-57-amd64 SMP preempt mod_unload modversions", xz-compressed, signed by "Debian Secure Boot CA"

  kmodscope file --elf-only -b crc7.ko   # same bytes as: file -b crc7.ko
  kmodscope file --json *.ko             # kmodscope.file/v1

The text up to the first ';' is what file(1) prints for the uncompressed
module (file 5.44); what follows is kmodscope's. Names are padded like
file's (-N turns that off). Exit status: 0 on success, 1 if a module could
not be read, 2 on usage errors.
`

type fileDoc struct {
	Schema  string       `json:"schema"`
	Results []fileResult `json:"results"`
}

type fileResult struct {
	File        string  `json:"file"`
	Error       *string `json:"error"`
	Description string  `json:"description"`
	Module      string  `json:"module,omitempty"`
	Vermagic    *string `json:"vermagic"`
	Compression string  `json:"compression"`
	Signed      bool    `json:"signed"`
	Signer      *string `json:"signer"`
	KeyID       string  `json:"key_id,omitempty"`
	HashAlgo    string  `json:"hash_algo,omitempty"`
	BuildID     string  `json:"build_id,omitempty"`
}

func runFile(s *IO, args []string) int {
	var o moduleCmdOptions
	var brief, noPad, elfOnly bool
	fs := newFlags("file", fileSynopsis, fileExamples, s)
	fs.BoolVarP(&brief, "brief", "b", false, "do not prepend file names")
	fs.BoolVarP(&noPad, "no-pad", "N", false, "do not pad file names to align the descriptions")
	fs.BoolVar(&elfOnly, "elf-only", false, "print only file(1)'s part of the line")
	fs.BoolVar(&o.json, "json", false, "print one kmodscope.file/v1 JSON document")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "file", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("file", "missing module file (see 'kmodscope file --help')")
		return ExitUsage
	}
	paths := fs.Args()
	width := 0
	for _, p := range paths {
		width = max(width, len(p))
	}
	doc := fileDoc{Schema: "kmodscope.file/v1", Results: []fileResult{}}
	code := forEachModule(s, "file", paths, &o, func(p string, m *ko.Module) error {
		res := fileResult{File: p, Description: gnuview.FileDescription(m.ELF), Compression: "none"}
		if m.Compression != compression.None {
			res.Compression = m.Compression.String()
		}
		var extra []string
		if tm, err := m.ThisModule(); err == nil && tm != nil && tm.Name != "" {
			res.Module = tm.Name
		} else if kvs, err := m.Modinfo(); err == nil {
			if n, ok := ko.Get(kvs, "name"); ok {
				res.Module = n
			}
		}
		if res.Module != "" {
			extra = append(extra, "module "+res.Module)
		} else {
			extra = append(extra, "no module name (no .gnu.linkonce.this_module or modinfo name)")
		}
		if kvs, err := m.Modinfo(); err == nil {
			if v, ok := ko.Get(kvs, "vermagic"); ok {
				res.Vermagic = &v
				extra = append(extra, fmt.Sprintf("vermagic %q", v))
			} else {
				extra = append(extra, "no vermagic")
			}
		}
		if res.Compression != "none" {
			extra = append(extra, res.Compression+"-compressed")
		}
		if bid, err := m.BuildID(); err == nil && bid != nil {
			res.BuildID = fmt.Sprintf("%x", bid)
		}
		sig, err := m.Signature()
		switch {
		case err != nil:
			extra = append(extra, "malformed signature: "+err.Error())
		case sig == nil:
			extra = append(extra, "unsigned")
		default:
			res.Signed = true
			signer := string(sig.Signer)
			res.Signer = &signer
			res.KeyID = fmt.Sprintf("%X", sig.KeyID)
			res.HashAlgo = sig.HashAlgo
			if signer != "" {
				extra = append(extra, fmt.Sprintf("signed by %q", signer))
			} else {
				extra = append(extra, "signed")
			}
		}
		doc.Results = append(doc.Results, res)
		if o.json {
			return nil
		}
		var b strings.Builder
		if !brief {
			b.WriteString(p + ":")
			if !noPad {
				b.WriteString(strings.Repeat(" ", width-len(p)))
			}
			b.WriteString(" ")
		}
		b.WriteString(res.Description)
		if !elfOnly {
			b.WriteString("; " + strings.Join(extra, ", "))
		}
		b.WriteString("\n")
		s.Out.WriteString(b.String())
		return nil
	}, func(p string, err error) {
		msg := err.Error()
		doc.Results = append(doc.Results, fileResult{File: p, Error: &msg})
	})
	if o.json {
		s.json(doc)
	}
	return code
}
