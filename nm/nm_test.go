package nm_test

import (
	"debug/elf"
	"encoding/binary"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/nm"
)

func zoo(t testing.TB, class elf.Class, order binary.ByteOrder, m elf.Machine) (*elfx.File, []nm.Symbol) {
	f, err := elfx.New(kotest.SymbolZoo(class, order, m))
	if err != nil {
		t.Fatal(err)
	}
	syms, err := nm.Symbols(f)
	if err != nil {
		t.Fatal(err)
	}
	return f, syms
}

func byName(syms []nm.Symbol) map[string]nm.Symbol {
	out := map[string]nm.Symbol{}
	for _, s := range syms {
		if _, ok := out[s.Name]; !ok {
			out[s.Name] = s
		}
	}
	return out
}

// The letters follow BFD's rules (checked against GNU nm by
// conformance.TestConformanceSymbolZoo).
func TestLetters(t *testing.T) {
	_, syms := zoo(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	got := byName(syms)
	want := map[string]struct {
		c     byte
		value uint64
	}{
		"local_func": {'t', 0x10}, "local_obj": {'b', 8}, "ro_obj": {'r', 4}, "__UNIQUE_ID_license1": {'r', 0},
		"in_comment": {'n', 1}, "in_debug": {'N', 2}, "in_stack": {'n', 0}, "ro_after": {'d', 0}, "in_weird": {'?', 3},
		"init_local": {'t', 0}, "_note_7": {'r', 0}, "tls_var": {'b', 4}, "in_junk": {'b', 0}, "__ksymtab_zoo": {'r', 0},
		"in_stab": {'N', 0}, "at_addr": {'d', 0x1008}, "abs_local": {'a', 0x1234}, "in_symtab": {'a', 0}, "beyond": {'a', 0x40},
		"init_module": {'T', 0}, "global_func": {'T', 0x80}, "weak_func": {'W', 0xc0}, "weak_obj": {'V', 0x28},
		"global_ro": {'R', 0x10}, "global_bss": {'B', 0x10}, "__this_module": {'D', 0}, "printk": {'U', 0},
		"weak_undef": {'w', 0}, "weak_undef_obj": {'v', 0}, "common_obj": {'C', 24}, "abs_global": {'A', 0xdead},
		"ifunc_sym": {'i', 0xd0}, "unique_obj": {'u', 0x30}, "odd_bind": {'?', 0x38}, "global_ro_after": {'D', 8},
		"global_idata": {'I', 0}, "global_at_addr": {'D', 0x1000}, "global_in_comment": {'N', 4},
		"zoo.c": {'a', 0}, ".text": {'t', 0}, ".debug_info": {'N', 0}, ".bss": {'b', 0}, ".comment": {'n', 0},
	}
	for name, w := range want {
		s, ok := got[name]
		if !ok {
			t.Errorf("%s: missing", name)
			continue
		}
		if s.Letter != w.c || s.Value != w.value {
			t.Errorf("%s: letter %c value %#x, want %c %#x", name, s.Letter, s.Value, w.c, w.value)
		}
	}
	if !got["zoo.c"].Debug || !got[".text"].Debug || got["local_func"].Debug {
		t.Errorf("file and section symbols must be debugging symbols, others not")
	}
}

func TestSpecialAndThumb(t *testing.T) {
	_, syms := zoo(t, elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM)
	got := byName(syms)
	for _, n := range []string{"$a.1", "$t", "$d", "$x"} {
		if !got[n].Special {
			t.Errorf("ARM %s should be special", n)
		}
	}
	if got["$Lmips"].Special || got[".Llabel"].Special {
		t.Errorf("ARM: only mapping symbols are special")
	}
	if v := got["thumb_local"].Value; v != 0x50 {
		t.Errorf("Thumb function value %#x, want bit 0 cleared (0x50)", v)
	}
	if v := got["arm_tfunc"].Value; v != 0x61 {
		t.Errorf("STT_ARM_TFUNC value %#x, want 0x61 (kept)", v)
	}
	_, rv := zoo(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_RISCV)
	g := byName(rv)
	for _, n := range []string{"", ".Llabel", "$x", "$xrv64i2p1", "..dots", "L1\x01fake"} {
		if !g[n].Special {
			t.Errorf("RISC-V %q should be special", n)
		}
	}
	_, mp := zoo(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_MIPS)
	g = byName(mp)
	if !g[".Llabel"].Special || g["$Lmips"].Special || g[""].Special {
		t.Errorf("MIPS: local labels are special, $L and empty names are not")
	}
	_, x := zoo(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	for _, s := range x {
		if s.Special {
			t.Errorf("x86-64 has no special symbols, got %q", s.Name)
		}
	}
}

func names(syms []nm.Symbol) []string {
	var out []string
	for _, s := range syms {
		out = append(out, s.Name)
	}
	return out
}

func TestSortAndFilter(t *testing.T) {
	_, all := zoo(t, elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	sel := func(o nm.Options) []nm.Symbol { return nm.Select(slices.Clone(all), &o) }

	def := sel(nm.Options{})
	if def[0].Name != "" {
		t.Errorf("the empty name sorts first, got %q", def[0].Name)
	}
	if !slices.IsSortedFunc(def, func(a, b nm.Symbol) int { return strings.Compare(a.Name, b.Name) }) {
		t.Errorf("default order is not byte order: %q", names(def))
	}
	for _, s := range def {
		if s.Debug {
			t.Errorf("%s: debugging symbol without -a", s.Name)
		}
	}
	// Ties keep symbol table order, also reversed (glibc qsort is stable).
	var dups []uint64
	for _, o := range []nm.Options{{}, {Reverse: true}} {
		dups = dups[:0]
		for _, s := range sel(o) {
			if s.Name == "dup" {
				dups = append(dups, s.Value)
			}
		}
		if !slices.Equal(dups, []uint64{0x20, 0x08}) {
			t.Errorf("%+v: dup values in order %#x, want table order [0x20 0x8]", o, dups)
		}
	}
	num := sel(nm.Options{Numeric: true})
	seenDef := false
	var last uint64
	for _, s := range num {
		if s.Undef {
			if seenDef {
				t.Fatalf("-n: undefined %s after defined symbols", s.Name)
			}
			continue
		}
		if seenDef && s.Value < last {
			t.Fatalf("-n: %s (%#x) after %#x", s.Name, s.Value, last)
		}
		seenDef, last = true, s.Value
	}
	for _, s := range sel(nm.Options{Undefined: true}) {
		if !s.Undef {
			t.Errorf("-u kept %s", s.Name)
		}
	}
	if n := len(sel(nm.Options{Undefined: true})); n != 3 {
		t.Errorf("-u: %d symbols, want 3", n)
	}
	for _, s := range sel(nm.Options{Extern: true}) {
		if !s.External || strings.HasPrefix(s.Name, "local") {
			t.Errorf("-g kept %s", s.Name)
		}
	}
	if len(sel(nm.Options{Debug: true})) != len(all) {
		t.Errorf("-a on x86-64 keeps every symbol")
	}
	p := sel(nm.Options{NoSort: true, Debug: true})
	for i := range p {
		if p[i].Index != i+1 {
			t.Fatalf("-p -a: symbol %d has index %d", i, p[i].Index)
		}
	}
}

func TestAppend(t *testing.T) {
	syms := []nm.Symbol{
		{Name: "printk", Letter: 'U', Undef: true},
		{Name: "f", Letter: 'T', Value: 0x10, Size: 0x20},
		{Name: "g", Letter: 'd', Value: 0xabc},
	}
	got := string(nm.Append(nil, syms, true, &nm.Options{Size: true}))
	want := "                 U printk\n0000000000000010 0000000000000020 T f\n0000000000000abc d g\n"
	if got != want {
		t.Errorf("64-bit -S:\n%q\nwant\n%q", got, want)
	}
	got = string(nm.Append(nil, syms, false, &nm.Options{}))
	want = "         U printk\n00000010 T f\n00000abc d g\n"
	if got != want {
		t.Errorf("32-bit:\n%q\nwant\n%q", got, want)
	}
}

func fixtures(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no modules in ../testdata/modules")
	}
	return files
}

func readModule(t testing.TB, p string) []byte {
	data, _, err := compression.ReadFile(p, compression.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// On every committed module: nm -u lists exactly the module's undefined
// symbols (ko.Imports), each 'U' or 'w'; __this_module is 'D'; the default
// output hides exactly the section, file and special symbols.
func TestFixtures(t *testing.T) {
	for _, p := range fixtures(t) {
		m, err := ko.New(readModule(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		syms, err := nm.Symbols(m.ELF)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		ims, _ := m.Imports()
		var want []string
		for _, im := range ims {
			if im.InSymtab {
				want = append(want, im.Name)
			}
		}
		slices.Sort(want)
		u := nm.Select(slices.Clone(syms), &nm.Options{Undefined: true})
		got := names(u)
		if !slices.Equal(got, want) {
			t.Errorf("%s: nm -u %q, imports %q", p, got, want)
		}
		for _, s := range u {
			if s.Letter != 'U' && s.Letter != 'w' {
				t.Errorf("%s: undefined %s has letter %c", p, s.Name, s.Letter)
			}
		}
		hidden := 0
		for _, s := range syms {
			if s.Name == "__this_module" && s.Letter != 'D' {
				t.Errorf("%s: __this_module is %c, want D", p, s.Letter)
			}
			if s.Debug || s.Special {
				hidden++
			}
		}
		if n := len(nm.Select(slices.Clone(syms), &nm.Options{})); n != len(syms)-hidden {
			t.Errorf("%s: default shows %d of %d symbols, %d hidden", p, n, len(syms), hidden)
		}
	}
}

func FuzzSymbols(f *testing.F) {
	for _, p := range fixtures(f) {
		f.Add(readModule(f, p))
	}
	f.Add(kotest.SymbolZoo(elf.ELFCLASS32, binary.BigEndian, elf.EM_ARM))
	f.Add(kotest.SymbolZoo(elf.ELFCLASS64, binary.LittleEndian, elf.EM_RISCV))
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := elfx.New(data)
		if err != nil {
			return
		}
		syms, err := nm.Symbols(ef)
		if err != nil {
			return
		}
		for _, o := range []nm.Options{{}, {Debug: true, Numeric: true, Size: true}, {Undefined: true, Reverse: true}, {Extern: true, NoSort: true}} {
			nm.Append(nil, nm.Select(slices.Clone(syms), &o), ef.Is64(), &o)
		}
	})
}
