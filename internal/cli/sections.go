package cli

import (
	"debug/elf"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/gnuview"
	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modlayout"
	"github.com/spf13/pflag"
)

func init() {
	register(command{name: "sections", summary: "list sections with the kernel's layout class and role (or exactly readelf -SW)", run: runSections})
}

const sectionsSynopsis = "kmodscope sections [--readelf] [--kernel-version V | -b BASEDIR -k RELEASE] [--page-size N] [--json] MODULE..."

const sectionsExamples = `  kmodscope sections e1000e.ko                     # every section, its layout class for 6.1, its role
  kmodscope sections --kernel-version 6.12 e1000e.ko.xz   # the 6.4+ mod_mem layout
  kmodscope sections -b / -k $(uname -r) my.ko      # version and config from the target tree
  kmodscope sections --readelf e1000e.ko.zst        # same bytes as: readelf -SW e1000e.ko
  kmodscope sections --json usb-storage.ko          # kmodscope.sections/v1

The layout follows layout_sections() and layout_symtab() of
kernel/module/main.c for the target version: 6.0-6.3 use core_layout and
init_layout, 6.4+ the MOD_* memory types. Without -b/-k the target is
Debian's configuration for the module's architecture (see docs/sections.md).
Exit status: 0 on success, 1 if a module could not be read, 2 on usage errors.
`

// targetFlags are the options that select the kernel a layout is for.
type targetFlags struct {
	version  string
	basedir  string
	release  string
	pageSize uint64
}

func (t *targetFlags) register(fs *pflag.FlagSet) {
	fs.StringVar(&t.version, "kernel-version", "6.1", "target kernel version (MAJOR.MINOR; 6.4 and later use the mod_mem layout)")
	fs.StringVarP(&t.basedir, "basedir", "b", "", "root of the target system: read boot/config-RELEASE and the version from -k")
	fs.StringVarP(&t.release, "set-version", "k", "", "target kernel release (with -b)")
	fs.Uint64Var(&t.pageSize, "page-size", 0, "target PAGE_SIZE in bytes (default: Debian's for the module's architecture or the config)")
}

// resolve returns a function giving the layout configuration for a
// module's machine.
func (t *targetFlags) resolve() (func(elf.Machine) modlayout.Config, error) {
	if (t.basedir == "") != (t.release == "") {
		return nil, fmt.Errorf("-b BASEDIR and -k RELEASE go together")
	}
	vs := t.version
	if t.release != "" {
		vs = t.release
	}
	v, err := modlayout.ParseVersion(vs)
	if err != nil {
		return nil, err
	}
	var cfg kconfig.Config
	if t.basedir != "" {
		p := filepath.Join(t.basedir, "boot", "config-"+t.release)
		cfg, err = kconfig.Open(p)
		if err != nil {
			return nil, fmt.Errorf("kernel config: %v (need BASEDIR/boot/config-%s)", err, t.release)
		}
	}
	return func(m elf.Machine) modlayout.Config {
		c := modlayout.DefaultConfig(m, v)
		if cfg != nil {
			c.KallsymsAll = cfg.Enabled("CONFIG_KALLSYMS_ALL")
			c.Kallsyms = cfg.Enabled("CONFIG_KALLSYMS")
			c.StrictRWX = cfg.Enabled("CONFIG_STRICT_MODULE_RWX")
			c.ModuleUnload = cfg.Enabled("CONFIG_MODULE_UNLOAD")
			c.SMP = cfg.Enabled("CONFIG_SMP")
			for opt, size := range map[string]uint64{"CONFIG_PPC_64K_PAGES": 65536, "CONFIG_ARM64_64K_PAGES": 65536,
				"CONFIG_ARM64_16K_PAGES": 16384, "CONFIG_PAGE_SIZE_16KB": 16384, "CONFIG_PAGE_SIZE_64KB": 65536,
				"CONFIG_PAGE_SIZE_4KB": 4096, "CONFIG_PPC_4K_PAGES": 4096, "CONFIG_ARM64_4K_PAGES": 4096} {
				if cfg.Enabled(opt) {
					c.PageSize = size
				}
			}
		}
		if t.pageSize != 0 {
			c.PageSize = t.pageSize
		}
		return c
	}, nil
}

type sectionsDoc struct {
	Schema  string           `json:"schema"`
	Kernel  string           `json:"kernel_version"`
	Results []sectionsResult `json:"results"`
}

type sectionsResult struct {
	File        string             `json:"file"`
	Error       *string            `json:"error"`
	Compression string             `json:"compression,omitempty"`
	Class       string             `json:"elf_class,omitempty"`
	Data        string             `json:"byte_order,omitempty"`
	Machine     string             `json:"machine,omitempty"`
	Shoff       uint64             `json:"shoff"`
	Model       string             `json:"layout_model,omitempty"`
	PageSize    uint64             `json:"page_size,omitempty"`
	Sections    []jsonSection      `json:"sections"`
	Regions     []modlayout.Region `json:"regions"`
	Approx      []string           `json:"approximations"`
}

type jsonSection struct {
	Index     int    `json:"index"`
	Name      string `json:"name"`
	Type      string `json:"type"`
	Flags     string `json:"flags"`
	FlagsRaw  uint64 `json:"flags_value"`
	Address   uint64 `json:"address"`
	Offset    uint64 `json:"offset"`
	Size      uint64 `json:"size"`
	Entsize   uint64 `json:"entsize"`
	Link      uint32 `json:"link"`
	Info      uint32 `json:"info"`
	Alignment uint64 `json:"alignment"`
	Class     string `json:"class"`
	Region    string `json:"region"`
	LoadOff   uint64 `json:"load_offset"`
	Reason    string `json:"reason,omitempty"`
	Role      string `json:"role"`
}

func runSections(s *IO, args []string) int {
	var o moduleCmdOptions
	var readelf bool
	var tf targetFlags
	fs := newFlags("sections", sectionsSynopsis, sectionsExamples, s)
	fs.BoolVar(&readelf, "readelf", false, "print exactly what readelf -SW prints")
	tf.register(fs)
	fs.BoolVar(&o.json, "json", false, "print one kmodscope.sections/v1 JSON document")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "sections", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("sections", "missing module file (see 'kmodscope sections --help')")
		return ExitUsage
	}
	if readelf && o.json {
		s.errorf("sections", "--readelf and --json exclude each other")
		return ExitUsage
	}
	cfgFor, err := tf.resolve()
	if err != nil {
		s.errorf("sections", "%v", err)
		return ExitUsage
	}
	paths := fs.Args()
	doc := sectionsDoc{Schema: "kmodscope.sections/v1", Results: []sectionsResult{}}
	code := forEachModule(s, "sections", paths, &o, func(p string, m *ko.Module) error {
		f := m.ELF
		if readelf {
			gnuview.ReadelfSections(s.Out, f, p, len(paths) > 1)
			return nil
		}
		cfg := cfgFor(f.Machine)
		lay, err := modlayout.Compute(f, cfg)
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		doc.Kernel = cfg.Version.String()
		res := sectionsResult{File: p, Class: f.Class.String(), Data: f.Data.String(), Machine: f.Machine.String(), Shoff: f.Shoff,
			Model: lay.Model, PageSize: cfg.PageSize, Regions: lay.Regions, Approx: lay.Approximations, Sections: []jsonSection{}}
		if m.Compression != compression.None {
			res.Compression = m.Compression.String()
		}
		for i := range f.Sections {
			sec := &f.Sections[i]
			ls := lay.Sections[i]
			res.Sections = append(res.Sections, jsonSection{Index: i, Name: sec.Name, Type: gnuview.SectionTypeName(f, sec.Type),
				Flags: gnuview.SectionFlags(f, uint64(sec.Flags)), FlagsRaw: uint64(sec.Flags), Address: sec.Addr, Offset: sec.Offset,
				Size: sec.Size, Entsize: sec.Entsize, Link: sec.Link, Info: sec.Info, Alignment: sec.Addralign,
				Class: string(ls.Class), Region: ls.Region, LoadOff: ls.Offset, Reason: ls.Reason, Role: ls.Role})
		}
		if o.json {
			doc.Results = append(doc.Results, res)
			return nil
		}
		printSections(s, p, f, lay, cfg, len(paths) > 1)
		return nil
	}, func(p string, err error) {
		msg := err.Error()
		doc.Results = append(doc.Results, sectionsResult{File: p, Error: &msg, Sections: []jsonSection{}, Regions: []modlayout.Region{}, Approx: []string{}})
	})
	if o.json {
		if doc.Kernel == "" {
			doc.Kernel = tf.version
		}
		s.json(doc)
	}
	return code
}

func printSections(s *IO, p string, f *elfx.File, lay *modlayout.Layout, cfg modlayout.Config, many bool) {
	w := s.Out
	if many {
		fmt.Fprintf(w, "%s:\n", p)
	}
	fmt.Fprintf(w, "%d sections, %s %s %s; layout for kernel %s (%s model, %d-byte pages)\n", len(f.Sections), f.Class, f.Data, f.Machine, cfg.Version, lay.Model, cfg.PageSize)
	nameW, typeW := 4, 4
	for i := range f.Sections {
		nameW = max(nameW, len(f.Sections[i].Name))
		typeW = max(typeW, len(gnuview.SectionTypeName(f, f.Sections[i].Type)))
	}
	addrW := 16
	if !f.Is64() {
		addrW = 8
	}
	fmt.Fprintf(w, "%4s %-*s %-*s %-*s %8s %8s %4s %3s %3s %3s %5s  %-18s %-17s %s\n", "[Nr]", nameW, "Name", typeW, "Type", addrW, "Address", "Offset", "Size", "ES", "Flg", "Lk", "Inf", "Al", "Class", "Region+offset", "Role")
	for i := range f.Sections {
		sec := &f.Sections[i]
		ls := lay.Sections[i]
		region := "-"
		if ls.Region != "" {
			region = fmt.Sprintf("%s+%#x", ls.Region, ls.Offset)
		}
		role := ls.Role
		if ls.Reason != "" {
			role += "; " + ls.Reason
		}
		fmt.Fprintf(w, "[%2d] %-*s %-*s %0*x %08x %8x %4x %3s %3d %3d %5d  %-18s %-17s %s\n", i, nameW, sec.Name, typeW, gnuview.SectionTypeName(f, sec.Type),
			addrW, sec.Addr, sec.Offset, sec.Size, sec.Entsize, gnuview.SectionFlags(f, uint64(sec.Flags)), sec.Link, sec.Info, sec.Addralign, ls.Class, region, role)
	}
	var parts []string
	for _, r := range lay.Regions {
		if r.Size > 0 || !cfg.Version.ModuleMemory() {
			parts = append(parts, fmt.Sprintf("%s %d (allocated %d)", r.Name, r.Size, r.Allocated))
		}
	}
	fmt.Fprintf(w, "Memory: %s\n", strings.Join(parts, ", "))
	fmt.Fprintf(w, "Core %d bytes, init %d bytes; /proc/modules size %d once loaded\n", lay.Core, lay.Init, lay.ProcModules)
	if lay.Symtab != nil {
		fmt.Fprintf(w, "kallsyms: %d symbols in init, %d kept in core (%d bytes)\n", lay.Symtab.Symbols, lay.Symtab.CoreSymbols, lay.Symtab.CoreBytes)
	}
	for _, a := range lay.Approximations {
		fmt.Fprintf(w, "Approximation: %s\n", a)
	}
	if many {
		fmt.Fprintln(w)
	}
}
