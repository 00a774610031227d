package cli

import (
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/reloc"
)

func init() {
	register(command{name: "relocs", summary: "list relocations (offset, type, symbol, addend); --readelf prints readelf -rW", run: runRelocs})
}

const relocsExamples = `  kmodscope relocs e1000e.ko                    # every REL/RELA section, one table each
  kmodscope relocs e1000e.ko .rela.text __ksymtab # only these sections (by REL/RELA name or target name)
  kmodscope relocs --readelf fuse.ko.xz         # same bytes as: readelf -rW on the decompressed module
  kmodscope relocs --json crc7.ko               # kmodscope.relocs/v1

Arguments that name an existing file are modules; the others are section
names, matched against the relocation section (".rela.text") or the section
it patches (".text"). Type names are GNU readelf's for the module's machine
(x86-64, i386, arm64, armhf, ppc64el, s390x, mips64el with MIPS64's three
types per entry, riscv64, loong64). With several modules, --readelf prints
"File: NAME" before each, as readelf does.
Exit status: 0 on success, 1 if a module could not be read, 2 on usage errors.
`

type relocsDoc struct {
	Schema  string         `json:"schema"`
	Results []relocsResult `json:"results"`
}

type relocsResult struct {
	File     string          `json:"file"`
	Error    *string         `json:"error"`
	Machine  string          `json:"machine,omitempty"`
	Sections []relocsSection `json:"sections"`
}

type relocsSection struct {
	Name    string        `json:"name"`
	Index   int           `json:"index"`
	Offset  uint64        `json:"offset"`
	Target  string        `json:"target"`
	Rela    bool          `json:"rela"`
	Entries []reloc.Entry `json:"entries"`
}

func runRelocs(s *IO, args []string) int {
	const name = "relocs"
	fs := newFlags(name, "kmodscope relocs [--readelf | --json] MODULE... [SECTION...]", relocsExamples, s)
	readelf := fs.Bool("readelf", false, "print exactly what readelf -rW prints")
	asJSON := fs.Bool("json", false, "print JSON (schema kmodscope.relocs/v1)")
	maxSize := fs.Int64("max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, name, args, ExitUsage); done {
		return code
	}
	if *readelf && *asJSON {
		s.errorf(name, "--readelf and --json exclude each other")
		return ExitUsage
	}
	var paths, sections []string
	for i, a := range fs.Args() {
		if i == 0 {
			paths = append(paths, a)
			continue
		}
		if st, err := os.Stat(a); err == nil && !st.IsDir() {
			paths = append(paths, a)
		} else {
			sections = append(sections, a)
		}
	}
	if len(paths) == 0 {
		s.errorf(name, "missing module file (see 'kmodscope relocs --help')")
		return ExitUsage
	}
	if *readelf && len(sections) > 0 {
		s.errorf(name, "--readelf prints every relocation section, as readelf -rW does; drop the section names %q", sections)
		return ExitUsage
	}
	doc := relocsDoc{Schema: "kmodscope.relocs/v1", Results: []relocsResult{}}
	code := ExitOK
	runOrdered(s, name, paths, func(p string, o *jobOut) {
		res := relocsResult{File: p, Sections: []relocsSection{}}
		o.result = &res
		m, err := ko.Open(p, &ko.Options{MaxSize: *maxSize})
		if err != nil {
			fail(o, &res.Error, err.Error(), !*asJSON)
			return
		}
		defer m.Close()
		f := m.ELF
		res.Machine = f.Machine.String()
		if *readelf {
			var buf []byte
			if len(paths) > 1 {
				buf = append(buf, "\nFile: "...)
				buf = append(buf, p...)
				buf = append(buf, '\n')
			}
			buf, err = reloc.AppendReadelf(buf, f)
			o.sb.Write(buf)
			if err != nil {
				fail(o, &res.Error, fmt.Sprintf("%s: %v", p, err), true)
				return
			}
			o.ok = true
			return
		}
		secs, err := selectRelocSections(f, sections)
		if err != nil {
			fail(o, &res.Error, fmt.Sprintf("%s: %v", p, err), !*asJSON)
			return
		}
		for _, sec := range secs {
			es, err := reloc.Entries(f, sec)
			if err != nil {
				fail(o, &res.Error, fmt.Sprintf("%s: %v", p, err), !*asJSON)
				return
			}
			rs := relocsSection{Name: sec.Name, Index: sec.Index, Offset: sec.Offset, Rela: sec.Type == elf.SHT_RELA, Entries: es}
			if t := f.SectionByIndex(int(sec.Info)); t != nil && sec.Info != 0 {
				rs.Target = t.Name
			}
			res.Sections = append(res.Sections, rs)
			if !*asJSON {
				writeRelocTable(o, p, len(paths) > 1, f, &rs)
			}
		}
		if !*asJSON && len(secs) == 0 {
			fmt.Fprintf(&o.sb, "%s: no relocations\n", p)
		}
		o.ok = true
	}, func(o *jobOut) {
		res := o.result.(*relocsResult)
		doc.Results = append(doc.Results, *res)
		if !o.ok {
			code = ExitError
		}
	})
	if *asJSON {
		s.json(doc)
	}
	return code
}

// fail records msg as the result's error and, when show is set, prints it.
func fail(o *jobOut, dst **string, msg string, show bool) {
	*dst = &msg
	if show {
		o.errorf("%s", msg)
	}
}

// selectRelocSections returns the REL/RELA sections named by want (by
// their own name or the name of the section they patch), or all of them.
func selectRelocSections(f *elfx.File, want []string) ([]*elfx.Section, error) {
	all := reloc.Sections(f)
	if len(want) == 0 {
		return all, nil
	}
	var out []*elfx.Section
	for _, w := range want {
		found := false
		for _, s := range all {
			t := f.SectionByIndex(int(s.Info))
			if s.Name == w || (t != nil && s.Info != 0 && t.Name == w) {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("no relocation section for %q", w)
		}
	}
	return out, nil
}

func writeRelocTable(o *jobOut, path string, many bool, f *elfx.File, rs *relocsSection) {
	w := &o.sb
	if many {
		w.WriteString(path + ": ")
	}
	kind := "REL"
	if rs.Rela {
		kind = "RELA"
	}
	fmt.Fprintf(w, "%s (%s, %d entries) patches %s\n", rs.Name, kind, len(rs.Entries), rs.Target)
	tw := 16
	if !f.Is64() {
		tw = 8
	}
	typeW := 4
	for i := range rs.Entries {
		typeW = max(typeW, len(rs.Entries[i].TypeName))
	}
	fmt.Fprintf(w, "  %-*s  %-*s  %s\n", tw, "OFFSET", typeW, "TYPE", "SYMBOL + ADDEND")
	for i := range rs.Entries {
		e := &rs.Entries[i]
		sym := e.Symbol
		if e.SymIndex == 0 {
			sym = "-"
		}
		var add string
		if e.HasAddend {
			if e.Addend < 0 {
				add = " - 0x" + strconv.FormatUint(uint64(-e.Addend), 16)
			} else {
				add = " + 0x" + strconv.FormatUint(uint64(e.Addend), 16)
			}
		}
		types := e.TypeName
		if e.Type2 != nil && (*e.Type2 != 0 || *e.Type3 != 0) {
			types += "/" + e.Type2Name + "/" + e.Type3Name
		}
		fmt.Fprintf(w, "  %0*x  %-*s  %s%s\n", tw, e.Offset, typeW, types, strings.TrimSpace(sym), add)
	}
}
