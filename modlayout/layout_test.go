package modlayout_test

import (
	"debug/elf"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/modlayout"
)

func mustVersion(t testing.TB, s string) modlayout.Version {
	v, err := modlayout.ParseVersion(s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type place struct {
	class  modlayout.Class
	region string
	off    uint64
}

// TestSyntheticLayout checks every placement of a synthetic module against
// values worked out by hand from layout_sections()/layout_symtab() (see
// docs/sections.md for the arithmetic).
func TestSyntheticLayout(t *testing.T) {
	f, err := elfx.New(synthetic())
	if err != nil {
		t.Fatal(err)
	}
	want61 := map[string]place{
		".text":                     {modlayout.CoreText, "core_layout", 0},
		".exit.text":                {modlayout.CoreText, "core_layout", 0x10},
		".rodata":                   {modlayout.CoreRodata, "core_layout", 0x1000},
		".data..ro_after_init":      {modlayout.CoreROAfterInit, "core_layout", 0x2000},
		"__jump_table":              {modlayout.CoreROAfterInit, "core_layout", 0x2040},
		".gnu.linkonce.this_module": {modlayout.CoreData, "core_layout", 0x3000},
		".bss":                      {modlayout.CoreData, "core_layout", 0x3380},
		".init.text":                {modlayout.InitText, "init_layout", 0},
		".init.data":                {modlayout.InitData, "init_layout", 0x1000},
		".symtab":                   {modlayout.InitData, "init_layout", 0x2000},
		".strtab":                   {modlayout.InitData, "init_layout", 0x20d8},
		".modinfo":                  {modlayout.NotLoaded, "", 0},
		"__versions":                {modlayout.NotLoaded, "", 0},
		".data..percpu":             {modlayout.NotLoaded, "", 0},
		".comment":                  {modlayout.NotLoaded, "", 0},
		".shstrtab":                 {modlayout.NotLoaded, "", 0},
	}
	want64 := map[string]place{
		".text":                     {modlayout.CoreText, "MOD_TEXT", 0},
		".exit.text":                {modlayout.CoreText, "MOD_TEXT", 0x10},
		".rodata":                   {modlayout.CoreRodata, "MOD_RODATA", 0},
		".data..ro_after_init":      {modlayout.CoreROAfterInit, "MOD_RO_AFTER_INIT", 0},
		"__jump_table":              {modlayout.CoreROAfterInit, "MOD_RO_AFTER_INIT", 0x40},
		".gnu.linkonce.this_module": {modlayout.CoreData, "MOD_DATA", 0},
		".bss":                      {modlayout.CoreData, "MOD_DATA", 0x380},
		".init.text":                {modlayout.InitText, "MOD_INIT_TEXT", 0},
		".init.data":                {modlayout.InitData, "MOD_INIT_DATA", 0},
		".symtab":                   {modlayout.InitData, "MOD_INIT_DATA", 0x18},
		".strtab":                   {modlayout.InitData, "MOD_INIT_DATA", 0xf0},
		".data..percpu":             {modlayout.NotLoaded, "", 0},
	}
	for _, tc := range []struct {
		version    string
		want       map[string]place
		core, init uint64
		regions    map[string]uint64
	}{
		// core: text 0x18 -> 0x1000, rodata -> 0x2000, ro_after_init -> 0x3000,
		// data 0x580 -> 0x4000, + 6 core symbols (6*24 + 58 names + 6 types
		// = 208 bytes) -> 0x5000. init: text -> 0x1000, .init.data -> 0x2000,
		// .symtab 0xd8 + .strtab 0x4a + mod_kallsyms 32 + 9 types -> 0x3000.
		{"6.1", want61, 0x5000, 0x3000, map[string]uint64{"core_layout": 0x5000, "init_layout": 0x3000}},
		// Each type page-aligned on its own: MOD_DATA 0x580 + 208 = 1616.
		{"6.4", want64, 0x4000, 0x2000, map[string]uint64{"MOD_TEXT": 0x18, "MOD_DATA": 1616, "MOD_RODATA": 0x100,
			"MOD_RO_AFTER_INIT": 0x60, "MOD_INIT_TEXT": 0x30, "MOD_INIT_DATA": 361, "MOD_INIT_RODATA": 0}},
		{"6.12", want64, 0x4000, 0x2000, nil},
	} {
		l, err := modlayout.Compute(f, modlayout.DefaultConfig(elf.EM_X86_64, mustVersion(t, tc.version)))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range l.Sections {
			w, ok := tc.want[s.Name]
			if !ok {
				continue
			}
			if s.Class != w.class || s.Region != w.region || s.Offset != w.off {
				t.Errorf("%s %s: got %s %s+%#x, want %s %s+%#x", tc.version, s.Name, s.Class, s.Region, s.Offset, w.class, w.region, w.off)
			}
		}
		if l.Core != tc.core || l.Init != tc.init || l.ProcModules != tc.core || l.Loading != tc.core+tc.init {
			t.Errorf("%s: core %#x init %#x proc %#x, want %#x %#x", tc.version, l.Core, l.Init, l.ProcModules, tc.core, tc.init)
		}
		for _, r := range l.Regions {
			if want, ok := tc.regions[r.Name]; ok && r.Size != want {
				t.Errorf("%s: region %s size %d, want %d", tc.version, r.Name, r.Size, want)
			}
		}
		if l.Symtab == nil || l.Symtab.Symbols != 9 || l.Symtab.CoreSymbols != 6 || l.Symtab.CoreBytes != 208 {
			t.Errorf("%s: kallsyms %+v, want 9 symbols, 6 in core, 208 bytes", tc.version, l.Symtab)
		}
	}
	// Without KALLSYMS_ALL only symbols of executable sections stay:
	// the null symbol, init_module and cleanup_module.
	c := modlayout.DefaultConfig(elf.EM_X86_64, mustVersion(t, "6.1"))
	c.KallsymsAll = false
	l, _ := modlayout.Compute(f, c)
	if l.Symtab.CoreSymbols != 3 {
		t.Errorf("without KALLSYMS_ALL: %d core symbols, want 3", l.Symtab.CoreSymbols)
	}
	// Without MODULE_UNLOAD .exit.text is init code.
	c.ModuleUnload = false
	l, _ = modlayout.Compute(f, c)
	for _, s := range l.Sections {
		if s.Name == ".exit.text" && (s.Class != modlayout.InitText || s.Offset != 0x30) {
			t.Errorf("without MODULE_UNLOAD: .exit.text %s+%#x, want init_text+0x30", s.Class, s.Offset)
		}
	}
}

// TestFixtureInvariants lays out every committed module for 6.1 and 6.12:
// every SHF_ALLOC section but .modinfo/__versions/.data..percpu is placed,
// placements respect alignment and do not overlap, init classes hold only
// .init* sections, and 6.1's single core block is never smaller than the
// 6.4+ types together (it page-aligns the data before the core symbols).
func TestFixtureInvariants(t *testing.T) {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no committed modules")
	}
	for _, p := range files {
		data, _, err := compression.ReadFile(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elfx.New(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var core [2]uint64
		for k, v := range []string{"6.1", "6.12"} {
			c := modlayout.DefaultConfig(f.Machine, mustVersion(t, v))
			l, err := modlayout.Compute(f, c)
			if err != nil {
				t.Fatalf("%s %s: %v", p, v, err)
			}
			core[k] = l.Core
			if l.Core%c.PageSize != 0 || l.Init%c.PageSize != 0 || l.Core == 0 {
				t.Errorf("%s %s: core %d / init %d not page multiples", p, v, l.Core, l.Init)
			}
			type span struct{ lo, hi uint64 }
			used := map[string][]span{}
			for i, s := range l.Sections {
				sec := &f.Sections[i]
				alloc := sec.Flags&elf.SHF_ALLOC != 0
				special := sec.Name == ".modinfo" || sec.Name == "__versions" || sec.Name == ".data..percpu"
				if alloc && !special && s.Class == modlayout.NotLoaded {
					t.Errorf("%s %s: SHF_ALLOC section %s not placed", p, v, sec.Name)
				}
				if s.Class == modlayout.NotLoaded {
					continue
				}
				if sec.Addralign > 1 && s.Offset%sec.Addralign != 0 {
					t.Errorf("%s %s: %s at %#x, not %d-aligned", p, v, sec.Name, s.Offset, sec.Addralign)
				}
				if s.Class.IsInit() != (strings.HasPrefix(sec.Name, ".init") || sec.Type == elf.SHT_SYMTAB || sec.Type == elf.SHT_STRTAB) {
					t.Errorf("%s %s: %s is %s", p, v, sec.Name, s.Class)
				}
				for _, o := range used[s.Region] {
					if sec.Size > 0 && s.Offset < o.hi && o.lo < s.Offset+sec.Size {
						t.Errorf("%s %s: %s [%#x,%#x) overlaps [%#x,%#x)", p, v, sec.Name, s.Offset, s.Offset+sec.Size, o.lo, o.hi)
					}
				}
				used[s.Region] = append(used[s.Region], span{s.Offset, s.Offset + sec.Size})
			}
		}
		if core[0] < core[1] {
			t.Errorf("%s: 6.1 core %d < 6.4+ core %d", p, core[0], core[1])
		}
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{"6.1": "6.1", "6.1.0-57-amd64": "6.1", "v6.4": "6.4", "6.12.117+deb12-amd64": "6.12", " 5.10 ": "5.10"} {
		v, err := modlayout.ParseVersion(in)
		if err != nil || v.String() != want {
			t.Errorf("ParseVersion(%q) = %v, %v; want %s", in, v, err, want)
		}
	}
	for _, bad := range []string{"", "six", "6", "1.2", "100.1"} {
		if _, err := modlayout.ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q): no error", bad)
		}
	}
	if !mustVersion(t, "6.4").ModuleMemory() || mustVersion(t, "6.3").ModuleMemory() {
		t.Error("ModuleMemory boundary is not 6.4")
	}
}

// TestARM64PLTs: module_frob_arch_sections() makes .plt and .init.plt
// executable NOBITS sections of (veneers + 1) PLT entries, cache-line
// aligned, and .text.ftrace_trampoline two entries.
func TestARM64PLTs(t *testing.T) {
	files, _ := filepath.Glob("../testdata/modules/arm64/*.ko")
	if len(files) == 0 {
		t.Fatal("no arm64 fixtures")
	}
	for _, p := range files {
		data, _, err := compression.ReadFile(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elfx.New(data)
		if err != nil {
			t.Fatal(err)
		}
		l, err := modlayout.Compute(f, modlayout.DefaultConfig(f.Machine, mustVersion(t, "6.1")))
		if err != nil {
			t.Fatal(err)
		}
		seen := 0
		for _, s := range l.Sections {
			switch s.Name {
			case ".plt", ".init.plt":
				seen++
				want := modlayout.CoreText
				if s.Name == ".init.plt" {
					want = modlayout.InitText
				}
				if s.Class != want || s.Size < 12 || s.Size%12 != 0 || s.Offset%64 != 0 {
					t.Errorf("%s %s: %s size %d at %#x", p, s.Name, s.Class, s.Size, s.Offset)
				}
			case ".text.ftrace_trampoline":
				seen++
				if s.Class != modlayout.CoreText || s.Size != 24 {
					t.Errorf("%s %s: %s size %d", p, s.Name, s.Class, s.Size)
				}
			}
		}
		if seen != 3 {
			t.Errorf("%s: %d of the 3 arm64 PLT sections", p, seen)
		}
	}
}
