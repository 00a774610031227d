// Package modlayout computes where the kernel's module loader puts each
// section of a module, and how much memory it allocates, for a target kernel
// version given as a value: the layout_sections() / layout_symtab() /
// move_module() steps of kernel/module/main.c and kernel/module/kallsyms.c.
//
// Two models are implemented:
//
//   - 6.0–6.3 ("6.1" model): one core_layout (text, rodata, ro_after_init,
//     data; data_layout is core_layout on every architecture Debian ships)
//     and one init_layout, each boundary page-aligned by strict_align()
//     (CONFIG_STRICT_MODULE_RWX), INIT_OFFSET_MASK marking init sections;
//   - 6.4 and later (module_memory): seven mod_mem types (MOD_TEXT,
//     MOD_DATA, MOD_RODATA, MOD_RO_AFTER_INIT, MOD_INIT_TEXT, MOD_INIT_DATA,
//     MOD_INIT_RODATA), each allocated separately and page-aligned by
//     move_module().
//
// Both include layout_symtab(): the full .symtab and its string table are
// appended to init data (with a struct mod_kallsyms and a type table), and
// the "core" symbols (is_core_symbol) with their names and types are
// appended to core data, where kallsyms keeps them after init.
//
// The package reads the module through elfx only; nothing here looks at the
// running kernel. Architecture hooks that change sizes
// (module_frob_arch_sections: arm64/arm PLTs, s390 GOT/PLT, ppc64 stubs,
// riscv/loongarch GOT/PLT; arch_mod_section_prepend on parisc) are not
// modelled; Layout.Approximations says so for those machines.
package modlayout

import (
	"debug/elf"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// Version is a kernel version (major.minor).
type Version struct{ Major, Minor int }

func (v Version) String() string { return fmt.Sprintf("%d.%d", v.Major, v.Minor) }

// AtLeast reports whether v is maj.min or later.
func (v Version) AtLeast(maj, min int) bool {
	return v.Major > maj || (v.Major == maj && v.Minor >= min)
}

// ModuleMemory reports whether v uses the 6.4+ mod_mem types.
func (v Version) ModuleMemory() bool { return v.AtLeast(6, 4) }

var versionRe = regexp.MustCompile(`^v?(\d+)\.(\d+)`)

// ParseVersion accepts "6.1", "v6.4", "6.1.0-57-amd64", "6.12.117+deb12-amd64".
func ParseVersion(s string) (Version, error) {
	m := versionRe.FindStringSubmatch(strings.TrimSpace(s))
	if m == nil {
		return Version{}, fmt.Errorf("kernel version %q is not MAJOR.MINOR (e.g. 6.1)", s)
	}
	maj, _ := strconv.Atoi(m[1])
	min, _ := strconv.Atoi(m[2])
	if maj < 3 || maj > 99 || min > 999 {
		return Version{}, fmt.Errorf("kernel version %q is out of range", s)
	}
	return Version{maj, min}, nil
}

// Config is what the layout depends on besides the module.
type Config struct {
	Version Version
	// PageSize is PAGE_SIZE of the target (4096 on x86, 65536 on Debian's
	// ppc64el, 16384 on loong64).
	PageSize uint64
	// StrictRWX is CONFIG_STRICT_MODULE_RWX (6.1: strict_align pads each
	// boundary of core and init to a page).
	StrictRWX bool
	// Kallsyms is CONFIG_KALLSYMS (layout_symtab runs at all).
	Kallsyms bool
	// KallsymsAll is CONFIG_KALLSYMS_ALL: data symbols are kept in core
	// too, not only those in executable sections.
	KallsymsAll bool
	// ModuleUnload is CONFIG_MODULE_UNLOAD; without it .exit* sections are
	// init sections.
	ModuleUnload bool
	// SMP: .data..percpu goes to the per-cpu area (it is never part of the
	// module's own allocation).
	SMP bool
}

// DefaultConfig returns the configuration of Debian's kernels for machine m
// (config-6.1.0-*: KALLSYMS_ALL only on amd64; 64 KiB pages on ppc64el,
// 16 KiB on loong64).
func DefaultConfig(m elf.Machine, v Version) Config {
	c := Config{Version: v, PageSize: 4096, StrictRWX: true, Kallsyms: true, ModuleUnload: true, SMP: true}
	switch m {
	case elf.EM_X86_64:
		c.KallsymsAll = true
	case elf.EM_PPC64:
		c.PageSize = 65536
	case elf.EM_LOONGARCH:
		c.PageSize = 16384
	}
	return c
}

// Class is the layout class layout_sections() gives a section.
type Class string

const (
	CoreText        Class = "core_text"
	CoreRodata      Class = "core_rodata"
	CoreROAfterInit Class = "core_ro_after_init"
	CoreData        Class = "core_data"
	InitText        Class = "init_text"
	InitRodata      Class = "init_rodata"
	InitData        Class = "init_data"
	NotLoaded       Class = "not_loaded"
)

// IsInit reports whether the class is freed after the module's init.
func (c Class) IsInit() bool { return c == InitText || c == InitRodata || c == InitData }

// Mem types of 6.4+ (enum mod_mem_type), in the kernel's order.
var memTypes = []string{"MOD_TEXT", "MOD_DATA", "MOD_RODATA", "MOD_RO_AFTER_INIT", "MOD_INIT_TEXT", "MOD_INIT_DATA", "MOD_INIT_RODATA"}

func memTypeOf(c Class) string {
	switch c {
	case CoreText:
		return "MOD_TEXT"
	case CoreData:
		return "MOD_DATA"
	case CoreRodata:
		return "MOD_RODATA"
	case CoreROAfterInit:
		return "MOD_RO_AFTER_INIT"
	case InitText:
		return "MOD_INIT_TEXT"
	case InitData:
		return "MOD_INIT_DATA"
	case InitRodata:
		return "MOD_INIT_RODATA"
	}
	return ""
}

// Section is the loader's view of one section.
type Section struct {
	Index int    `json:"index"`
	Name  string `json:"name"`
	Class Class  `json:"class"`
	// Region is the allocation the section is copied into: "MOD_TEXT" ...
	// (6.4+), "core_layout" / "init_layout" (6.1), or "" when not loaded.
	Region string `json:"region"`
	// Offset is the section's offset inside Region (sh_entsize after
	// layout, without the type bits / INIT_OFFSET_MASK).
	Offset uint64 `json:"offset"`
	// Size is the number of bytes reserved (sh_size).
	Size uint64 `json:"size"`
	// Reason says why a section is not loaded, or how it is special.
	Reason string `json:"reason,omitempty"`
	// Role is what the kernel (or the toolchain) uses the section for.
	Role string `json:"role"`
}

// Region is one allocation.
type Region struct {
	Name string `json:"name"`
	Init bool   `json:"init"`
	// Size is the laid-out size in bytes (6.1: after strict_align; 6.4+:
	// mod->mem[type].size before move_module rounds it).
	Size uint64 `json:"size"`
	// Allocated is what move_module() allocates: PAGE_ALIGN(Size), 0 for
	// an empty 6.4+ type.
	Allocated uint64 `json:"allocated"`
}

// Symtab describes layout_symtab()'s part.
type Symtab struct {
	Symbols     int    `json:"symbols"`      // entries of .symtab (nsrc)
	CoreSymbols int    `json:"core_symbols"` // kept in core after init (ndst)
	CoreBytes   uint64 `json:"core_bytes"`   // symbols + names + types in core data (before page alignment)
	InitBytes   uint64 `json:"init_bytes"`   // .symtab + .strtab + mod_kallsyms + types in init data (before page alignment)
}

// Layout is the result of Compute.
type Layout struct {
	Config   Config    `json:"-"`
	Model    string    `json:"model"` // "6.1" or "6.4+"
	Sections []Section `json:"sections"`
	Regions  []Region  `json:"regions"`
	Symtab   *Symtab   `json:"symtab"`
	// Core and Init are the bytes allocated for the module's core (kept
	// until unload) and init (freed after init) parts.
	Core uint64 `json:"core"`
	Init uint64 `json:"init"`
	// ProcModules is what the size column of /proc/modules shows once the
	// module is live (init freed): the core allocation.
	ProcModules uint64 `json:"proc_modules"`
	// Loading is what /proc/modules shows while the module is loading
	// (core + init).
	Loading uint64 `json:"loading"`
	// Approximations lists what the model does not reproduce for this module.
	Approximations []string `json:"approximations"`

	pcpu int // index of the per-cpu section, 0 if none
}

// SHF_RO_AFTER_INIT is the kernel-internal flag layout_and_allocate() sets
// on .data..ro_after_init and __jump_table (include/uapi/linux/elf.h).
const shfROAfterInit = 0x00200000

type masks struct{ req, forbid uint64 }

// The kernel's masks[][2] with ARCH_SHF_SMALL = 0 (every architecture
// Debian ships; only ia64 had small data).
var layoutMasks = [5]masks{
	{uint64(elf.SHF_EXECINSTR | elf.SHF_ALLOC), 0},
	{uint64(elf.SHF_ALLOC), uint64(elf.SHF_WRITE)},
	{shfROAfterInit | uint64(elf.SHF_ALLOC), 0},
	{uint64(elf.SHF_WRITE | elf.SHF_ALLOC), 0},
	{uint64(elf.SHF_ALLOC), 0},
}

var coreClasses = [5]Class{CoreText, CoreRodata, CoreROAfterInit, CoreData, ""}
var initClasses = [5]Class{InitText, InitRodata, "", InitData, ""}

// alignUp is the kernel's ALIGN(v, a ?: 1): mask arithmetic that assumes a
// power of two and is reproduced as is for other (malformed) alignments.
func alignUp(v, a uint64) uint64 {
	if a <= 1 {
		return v
	}
	return (v + a - 1) &^ (a - 1)
}

// isInitSection is module_init_layout_section(): names starting with
// ".init" (module_init_section's weak default; arm and powerpc override it
// but keep ".init" prefixes as init), and with !CONFIG_MODULE_UNLOAD also
// ".exit".
func (c *Config) isInitSection(name string) bool {
	if !c.ModuleUnload && strings.HasPrefix(name, ".exit") {
		return true
	}
	return strings.HasPrefix(name, ".init")
}

// findSec is the kernel's find_sec(): first SHF_ALLOC section with the name.
func findSec(f *elfx.File, flags []uint64, name string) int {
	for i := 1; i < len(f.Sections); i++ {
		if flags[i]&uint64(elf.SHF_ALLOC) != 0 && f.Sections[i].Name == name {
			return i
		}
	}
	return 0
}

// Compute lays out the module's sections the way the target's loader does.
func Compute(f *elfx.File, c Config) (*Layout, error) {
	if c.PageSize == 0 || c.PageSize&(c.PageSize-1) != 0 {
		return nil, fmt.Errorf("page size %d is not a power of two", c.PageSize)
	}
	n := len(f.Sections)
	flags := make([]uint64, n)
	size := make([]uint64, n)
	align := make([]uint64, n)
	for i := range f.Sections {
		flags[i] = uint64(f.Sections[i].Flags)
		size[i] = f.Sections[i].Size
		align[i] = f.Sections[i].Addralign
	}
	l := &Layout{Config: c, Model: "6.1", Sections: make([]Section, n), Approximations: []string{}}
	if c.Version.ModuleMemory() {
		l.Model = "6.4+"
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		l.Sections[i] = Section{Index: i, Name: s.Name, Class: NotLoaded, Size: s.Size, Role: Role(f, s)}
	}
	reason := func(i int, r string) {
		if l.Sections[i].Reason == "" {
			l.Sections[i].Reason = r
		}
	}
	// rewrite_section_headers(): "Track but don't keep modinfo and version
	// sections."
	if i := findSec(f, flags, "__versions"); i != 0 {
		flags[i] &^= uint64(elf.SHF_ALLOC)
		reason(i, "SHF_ALLOC cleared by rewrite_section_headers(): read by check_version(), not kept")
	}
	if i := findSec(f, flags, ".modinfo"); i != 0 {
		flags[i] &^= uint64(elf.SHF_ALLOC)
		reason(i, "SHF_ALLOC cleared by rewrite_section_headers(): read at load time, not kept")
	}
	// layout_and_allocate(): the per-cpu section goes to the per-cpu area.
	if i := findSec(f, flags, ".data..percpu"); i != 0 && c.SMP {
		l.pcpu = i
		flags[i] &^= uint64(elf.SHF_ALLOC)
		reason(i, fmt.Sprintf("copied into the per-cpu area (%d bytes per CPU), not into the module's memory", f.Sections[i].Size))
	}
	for _, name := range []string{".data..ro_after_init", "__jump_table"} {
		if i := findSec(f, flags, name); i != 0 {
			flags[i] |= shfROAfterInit
			reason(i, "marked SHF_RO_AFTER_INIT by layout_and_allocate(): read-only once init has run")
		}
	}
	// module_frob_arch_sections().
	archNote := ""
	if f.Machine == elf.EM_AARCH64 {
		note, err := frobARM64(f, &c, flags, size, align)
		if err != nil {
			return nil, err
		}
		archNote = note
		for i := range l.Sections {
			l.Sections[i].Size = size[i]
		}
	}
	placed := make([]bool, n)
	sizes := map[string]uint64{}
	strict := func(v uint64) uint64 {
		if c.StrictRWX {
			return alignUp(v, c.PageSize)
		}
		return v
	}
	place := func(i int, class Class, region string, total *uint64) {
		off := alignUp(*total, align[i])
		*total = off + size[i]
		placed[i] = true
		l.Sections[i].Class, l.Sections[i].Region, l.Sections[i].Offset = class, region, off
	}
	var core61, init61 uint64
	for _, isInit := range []bool{false, true} {
		for m, mk := range layoutMasks {
			class := coreClasses[m]
			if isInit {
				class = initClasses[m]
			}
			for i := 0; i < n; i++ {
				if flags[i]&mk.req != mk.req || flags[i]&mk.forbid != 0 || placed[i] || c.isInitSection(f.Sections[i].Name) != isInit {
					continue
				}
				if class == "" {
					if c.Version.ModuleMemory() {
						// WARN_ON_ONCE(type == MOD_INVALID): skipped here, placed by a later mask.
						continue
					}
					// 6.1: m == 2 for init or m == 4 lands in init/data.
					if isInit {
						class = InitData
					} else {
						class = CoreData
					}
				}
				if c.Version.ModuleMemory() {
					t := memTypeOf(class)
					v := sizes[t]
					place(i, class, t, &v)
					sizes[t] = v
				} else if isInit {
					place(i, class, "init_layout", &init61)
				} else {
					place(i, class, "core_layout", &core61)
				}
			}
			if !c.Version.ModuleMemory() {
				// The strict_align() steps after masks 0, 1, 2 (core only) and 4.
				p := &core61
				if isInit {
					p = &init61
				}
				if m == 0 || m == 1 || m == 4 || (m == 2 && !isInit) {
					*p = strict(*p)
				}
			}
		}
	}
	// layout_symtab().
	symIdx := 0
	for i := 1; i < n; i++ {
		if f.Sections[i].Type == elf.SHT_SYMTAB {
			symIdx = i
			break
		}
	}
	if symIdx == 0 {
		l.Approximations = append(l.Approximations, "the module has no symbol table: the kernel refuses it (\"module has no symbols (stripped?)\")")
	} else if c.Kallsyms {
		if err := layoutSymtab(f, c, l, flags, symIdx, sizes, &core61, &init61); err != nil {
			return nil, err
		}
	}
	for i := range l.Sections {
		s := &l.Sections[i]
		if s.Class != NotLoaded || s.Reason != "" {
			continue
		}
		sec := &f.Sections[i]
		switch {
		case i == 0:
		case sec.Type == elf.SHT_REL || sec.Type == elf.SHT_RELA:
			s.Reason = "relocations: applied by apply_relocations() at load time, not kept"
		case sec.Type == elf.SHT_STRTAB && i == f.Shstrndx:
			s.Reason = "section names: used while loading, not kept"
		case strings.HasPrefix(sec.Name, ".debug"):
			s.Reason = "debug information: not SHF_ALLOC, never loaded"
		case sec.Name == ".BTF" || sec.Name == ".BTF.ext":
			s.Reason = "not SHF_ALLOC: read from the load copy by the BTF notifier (CONFIG_DEBUG_INFO_BTF_MODULES), then freed"
		default:
			s.Reason = "not SHF_ALLOC: not loaded"
		}
	}
	// Regions and totals.
	if c.Version.ModuleMemory() {
		for _, t := range memTypes {
			r := Region{Name: t, Init: strings.HasPrefix(t, "MOD_INIT"), Size: sizes[t]}
			if r.Size > 0 {
				r.Allocated = alignUp(r.Size, c.PageSize)
			}
			if r.Init {
				l.Init += r.Allocated
			} else {
				l.Core += r.Allocated
			}
			l.Regions = append(l.Regions, r)
		}
	} else {
		l.Regions = []Region{
			{Name: "core_layout", Size: core61, Allocated: core61},
			{Name: "init_layout", Init: true, Size: init61, Allocated: init61},
		}
		if !c.StrictRWX {
			// module_alloc() rounds to pages anyway, but the size the
			// kernel records (and /proc/modules shows) is unaligned.
			l.Approximations = append(l.Approximations, "without CONFIG_STRICT_MODULE_RWX the recorded sizes are not page-aligned")
		}
		l.Core, l.Init = core61, init61
	}
	l.ProcModules = l.Core
	l.Loading = l.Core + l.Init
	switch f.Machine {
	case elf.EM_X86_64, elf.EM_386:
	case elf.EM_AARCH64:
		l.Approximations = append(l.Approximations, archNote)
	case elf.EM_ARM:
		l.Approximations = append(l.Approximations, "module_frob_arch_sections() sizes the PLT sections (.plt, .init.plt) from the relocations at load time; their file sizes are used here")
	case elf.EM_S390:
		l.Approximations = append(l.Approximations, "module_frob_arch_sections() adds the GOT and PLT to the core text at load time; not counted here")
	case elf.EM_PPC64, elf.EM_PPC:
		l.Approximations = append(l.Approximations, "module_frob_arch_sections() sizes the .stubs/.toc sections from the relocations at load time; their file sizes are used here")
	case elf.EM_RISCV, elf.EM_LOONGARCH:
		l.Approximations = append(l.Approximations, "module_frob_arch_sections() sizes the GOT/PLT sections from the relocations at load time; their file sizes are used here")
	default:
		l.Approximations = append(l.Approximations, fmt.Sprintf("architecture hooks of %v are not modelled", f.Machine))
	}
	return l, nil
}

func layoutSymtab(f *elfx.File, c Config, l *Layout, flags []uint64, symIdx int, sizes map[string]uint64, core61, init61 *uint64) error {
	symsect := &f.Sections[symIdx]
	strIdx := int(symsect.Link)
	if strIdx <= 0 || strIdx >= len(f.Sections) {
		return &elfx.FormatError{Section: symsect.Name, Off: symsect.HdrOff, Msg: fmt.Sprintf("symbol table links to string table %d, which does not exist", strIdx)}
	}
	strsect := &f.Sections[strIdx]
	syms, err := f.Symbols()
	if err != nil {
		return err
	}
	strtab, err := f.SectionData(strsect)
	if err != nil {
		return err
	}
	word := uint64(f.WordSize())
	symSize := uint64(24)
	if !f.Is64() {
		symSize = 16
	}
	mem := c.Version.ModuleMemory()
	initData := func() *uint64 {
		if mem {
			v := sizes["MOD_INIT_DATA"]
			return &v
		}
		return init61
	}
	commitInit := func(p *uint64) {
		if mem {
			sizes["MOD_INIT_DATA"] = *p
		}
	}
	region := "init_layout"
	if mem {
		region = "MOD_INIT_DATA"
	}
	// .symtab at the end of init data.
	p := initData()
	off := alignUp(*p, symsect.Addralign)
	*p = off + symsect.Size
	commitInit(p)
	flags[symIdx] |= uint64(elf.SHF_ALLOC)
	l.Sections[symIdx].Class, l.Sections[symIdx].Region, l.Sections[symIdx].Offset = InitData, region, off
	l.Sections[symIdx].Reason = "made SHF_ALLOC by layout_symtab(): the full table is kept until init is done"
	initStart := off

	livepatch := false
	if d, _ := f.SectionData(f.Section(".modinfo")); d != nil {
		for _, kv := range strings.Split(string(d), "\x00") {
			if kv == "livepatch=Y" {
				livepatch = true
			}
		}
	}
	nsrc := len(syms)
	if nsrc == 0 {
		nsrc = int(symsect.Size / symSize)
	}
	ndst := 0
	var strtabSize uint64
	for i, s := range syms {
		if i == 0 || livepatch || isCoreSymbol(&s, f, l, flags) {
			name, _ := elfx.CString(strtab, uint64(s.NameOff))
			strtabSize += uint64(len(name)) + 1
			ndst++
		}
	}
	var dataP *uint64
	var dv uint64
	if mem {
		dv = sizes["MOD_DATA"]
		dataP = &dv
	} else {
		dataP = core61
	}
	coreStart := *dataP
	symoffs := alignUp(*dataP, symsect.Addralign)
	*dataP = symoffs + uint64(ndst)*symSize + strtabSize + uint64(ndst)
	coreBytes := *dataP - coreStart
	if mem {
		sizes["MOD_DATA"] = dv
	} else if c.StrictRWX {
		*dataP = alignUp(*dataP, c.PageSize)
	}
	// The string table at the end of init data.
	p = initData()
	off = alignUp(*p, strsect.Addralign)
	*p = off + strsect.Size
	l.Sections[strIdx].Class, l.Sections[strIdx].Region, l.Sections[strIdx].Offset = InitData, region, off
	l.Sections[strIdx].Reason = "made SHF_ALLOC by layout_symtab(): symbol names, kept until init is done"
	// struct mod_kallsyms { Elf_Sym *symtab; unsigned int num_symtab; char *strtab; char *typetab; }
	*p = alignUp(*p, word)
	*p += 4 * word
	*p += uint64(nsrc)
	initBytes := *p - initStart
	if !mem && c.StrictRWX {
		*p = alignUp(*p, c.PageSize)
	}
	commitInit(p)
	l.Symtab = &Symtab{Symbols: nsrc, CoreSymbols: ndst, CoreBytes: coreBytes, InitBytes: initBytes}
	return nil
}

// isCoreSymbol is kallsyms.c's is_core_symbol() after layout_sections().
func isCoreSymbol(s *elfx.Symbol, f *elfx.File, l *Layout, flags []uint64) bool {
	if s.Shndx == uint32(elf.SHN_UNDEF) || s.Shndx >= uint32(len(f.Sections)) || s.NameOff == 0 {
		return false
	}
	if l.Config.KallsymsAll && l.pcpu != 0 && s.Shndx == uint32(l.pcpu) {
		return true
	}
	fl := flags[s.Shndx]
	if fl&uint64(elf.SHF_ALLOC) == 0 {
		return false
	}
	if !l.Config.KallsymsAll && fl&uint64(elf.SHF_EXECINSTR) == 0 {
		return false
	}
	return !l.Sections[s.Shndx].Class.IsInit() && l.Sections[s.Shndx].Class != NotLoaded
}
