package kostrip_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/kostrip"
	"github.com/kmodscope/kmodscope/modsig"
)

// testModules returns the decompressed, unsigned images of every committed
// module (all architectures, and the self-built ones with debug info).
func testModules(t testing.TB) map[string][]byte {
	var files []string
	for _, g := range []string{"../testdata/modules/*/*.ko*", "../testdata/modules/*/*/*.ko*"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 20 {
		t.Fatalf("only %d modules under ../testdata/modules", len(files))
	}
	out := map[string][]byte{}
	for _, p := range files {
		raw, _, err := compression.ReadFile(p, compression.DefaultLimit)
		if err != nil {
			t.Fatal(err)
		}
		content, err := modsig.Strip(raw)
		if err != nil {
			t.Fatal(err)
		}
		out[p] = content
	}
	return out
}

// relocView describes a relocation independently of symbol numbering.
func relocView(f *elfx.File, syms []elfx.Symbol, r elfx.Reloc) string {
	s := syms[r.Sym]
	name := s.Name
	if s.Type() == elf.STT_SECTION {
		name = "section:" + f.Sections[s.Shndx].Name
	}
	return fmt.Sprintf("%#x %d/%d/%d/%d %s%+d", r.Offset, r.Type, r.Type2, r.Type3, r.Ssym, name, r.Addend)
}

func symView(f *elfx.File, s elfx.Symbol) string {
	sec := fmt.Sprint(s.Shndx)
	if s.Shndx > 0 && s.Shndx < uint32(elf.SHN_LORESERVE) {
		sec = f.Sections[s.Shndx].Name
	}
	return fmt.Sprintf("%s %#x %d %d %d %s", s.Name, s.Value, s.Size, s.Info, s.Other, sec)
}

// checkConsistent verifies out against in: every section of out is one of
// in's with the same header fields (but offset, link, info) and, for
// sections not rewritten, the same bytes; the symbols are a subsequence of
// in's; every relocation of a kept section is the same, symbol by name.
func checkConsistent(t *testing.T, name string, in, out []byte, mode kostrip.Mode) {
	t.Helper()
	f, err := elfx.New(in)
	if err != nil {
		t.Fatal(err)
	}
	g, err := elfx.New(out)
	if err != nil {
		t.Fatalf("%s: output does not parse: %v", name, err)
	}
	if g.Class != f.Class || g.Data != f.Data || g.Machine != f.Machine || g.Flags != f.Flags || g.Type != elf.ET_REL {
		t.Errorf("%s: header changed", name)
	}
	fs, _ := f.Symbols()
	gs, err := g.Symbols()
	if err != nil {
		t.Fatalf("%s: symbols: %v", name, err)
	}
	// Symbols: each one of the original's.
	have := map[string]int{}
	for _, s := range fs {
		have[symView(f, s)]++
	}
	for _, s := range gs {
		v := symView(g, s)
		if have[v] == 0 {
			t.Fatalf("%s: symbol %q is not in the original", name, v)
		}
		have[v]--
	}
	gst := g.SymtabSection()
	locals := 0
	for i, s := range gs {
		if s.Bind() == elf.STB_LOCAL {
			locals = i + 1
		}
	}
	if int(gst.Info) != locals {
		t.Errorf("%s: .symtab sh_info %d, want %d (first non-local)", name, gst.Info, locals)
	}
	byName := map[string][]*elfx.Section{}
	for i := range f.Sections {
		byName[f.Sections[i].Name] = append(byName[f.Sections[i].Name], &f.Sections[i])
	}
	used := map[*elfx.Section]bool{}
	for i := 1; i < len(g.Sections); i++ {
		s := &g.Sections[i]
		var o *elfx.Section
		for _, c := range byName[s.Name] {
			if !used[c] && c.Type == s.Type && c.Flags == s.Flags {
				o = c
				break
			}
		}
		if o == nil {
			t.Fatalf("%s: section %s is not in the original", name, s.Name)
		}
		used[o] = true
		if kostrip.IsDebugSection(s.Name, s.Flags) {
			t.Errorf("%s: debug section %s kept", name, s.Name)
		}
		if s.Addralign != o.Addralign || s.Entsize != o.Entsize {
			t.Errorf("%s: %s alignment/entsize changed", name, s.Name)
		}
		if s.Offset%max(1, s.Addralign) != 0 {
			t.Errorf("%s: %s at offset %#x, not aligned to %d", name, s.Name, s.Offset, s.Addralign)
		}
		rewritten := s.Type == elf.SHT_SYMTAB || s.Type == elf.SHT_STRTAB || elfx.IsReloc(s) || s.Type == elf.SHT_GROUP
		if !rewritten {
			a, _ := f.SectionData(o)
			b, _ := g.SectionData(s)
			if !bytes.Equal(a, b) || s.Size != o.Size {
				t.Errorf("%s: contents of %s changed", name, s.Name)
			}
		}
		if elfx.IsReloc(s) {
			if g.Sections[s.Info].Name != f.Sections[o.Info].Name || int(s.Link) != gst.Index {
				t.Errorf("%s: %s applies to %s (link %d), want %s", name, s.Name, g.Sections[s.Info].Name, s.Link, f.Sections[o.Info].Name)
			}
			ra, err1 := f.Relocs(o)
			rb, err2 := g.Relocs(s)
			if err1 != nil || err2 != nil || len(ra) != len(rb) {
				t.Fatalf("%s: %s: %v %v %d/%d entries", name, s.Name, err1, err2, len(ra), len(rb))
			}
			for k := range ra {
				if a, b := relocView(f, fs, ra[k]), relocView(g, gs, rb[k]); a != b {
					t.Fatalf("%s: %s entry %d: %s, was %s", name, s.Name, k, b, a)
				}
			}
		}
	}
	// What is gone is debugging information (or its relocations).
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if used[s] {
			continue
		}
		dbg := kostrip.IsDebugSection(s.Name, s.Flags)
		if elfx.IsReloc(s) {
			dbg = kostrip.IsDebugSection(f.Sections[s.Info].Name, f.Sections[s.Info].Flags)
		}
		if !dbg && s.Type != elf.SHT_SYMTAB_SHNDX {
			t.Errorf("%s: section %s removed", name, s.Name)
		}
	}
	// Idempotent.
	again, err := kostrip.Strip(out, kostrip.Options{Mode: mode})
	if err != nil {
		t.Fatalf("%s: stripping the output: %v", name, err)
	}
	if !bytes.Equal(again.Image, out) {
		t.Errorf("%s: stripping the output again changes it", name)
	}
}

// TestStripTestdata strips every committed module, all architectures and
// byte orders, in both modes, with no tool needed.
func TestStripTestdata(t *testing.T) {
	debugRemoved := 0
	for p, data := range testModules(t) {
		for _, mode := range []kostrip.Mode{kostrip.StripDebug, kostrip.StripUnneeded} {
			res, err := kostrip.Strip(data, kostrip.Options{Mode: mode})
			if err != nil {
				t.Errorf("%s: %s: %v", p, mode, err)
				continue
			}
			checkConsistent(t, p+" "+mode.String(), data, res.Image, mode)
			if strings.Contains(p, "/built/") && bytes.Contains(data, []byte(".debug_info")) {
				if len(res.RemovedSections) < 10 || len(res.Image) > len(data)/4 {
					t.Errorf("%s: removed only %v (%d of %d bytes left)", p, res.RemovedSections, len(res.Image), len(data))
				}
				debugRemoved++
			}
		}
	}
	if debugRemoved < 6 {
		t.Errorf("stripped %d self-built modules with debug info, want at least 3 in 2 modes", debugRemoved)
	}
}

type target struct {
	class   elf.Class
	order   binary.ByteOrder
	machine elf.Machine
}

var targets = []target{
	{elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64},
	{elf.ELFCLASS32, binary.LittleEndian, elf.EM_386},
	{elf.ELFCLASS32, binary.BigEndian, elf.EM_PPC},
	{elf.ELFCLASS64, binary.BigEndian, elf.EM_S390},
	{elf.ELFCLASS64, binary.LittleEndian, elf.EM_MIPS},
	{elf.ELFCLASS64, binary.BigEndian, elf.EM_MIPS},
	{elf.ELFCLASS32, binary.LittleEndian, elf.EM_ARM},
}

// synthetic builds kotest's minimal module plus debugging information: a
// STT_FILE symbol, .debug_info with a relocation against .text's section
// symbol and a local symbol defined in .debug_info, and a local function
// only .text's relocations use.
func synthetic(tg target) (data []byte, b *kotest.Builder) {
	b = kotest.Minimal(tg.class, tg.order, tg.machine)
	text := b.SectionIndex(".text")
	dbg := b.AddSection(kotest.Section{Name: ".debug_info", Type: elf.SHT_PROGBITS, Data: make([]byte, 32), Addralign: 1})
	b.AddSection(kotest.Section{Name: ".comment", Type: elf.SHT_PROGBITS, Flags: elf.SHF_MERGE | elf.SHF_STRINGS, Data: []byte("GCC\x00"), Addralign: 1, Entsize: 1})
	file := b.AddSymbol(kotest.Symbol{Name: "kotest.c", Bind: elf.STB_LOCAL, Type: elf.STT_FILE, Section: int(elf.SHN_ABS)})
	_ = file
	dsym := b.AddSymbol(kotest.Symbol{Name: ".Ldebug0", Bind: elf.STB_LOCAL, Type: elf.STT_NOTYPE, Section: dbg})
	helper := b.AddSymbol(kotest.Symbol{Name: "helper", Value: 4, Size: 4, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC, Section: text})
	b.AddSymbol(kotest.Symbol{Name: "__crc_kotest_fn", Bind: elf.STB_LOCAL, Type: elf.STT_NOTYPE, Section: int(elf.SHN_ABS), Value: 0x1234})
	b.AddSymbol(kotest.Symbol{Name: "unused_local", Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT, Section: text})
	b.AddSymbol(kotest.Symbol{Name: "unused_undef", Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE, Section: int(elf.SHN_UNDEF)})
	typ, rela, _ := kotest.AbsReloc(tg.class, tg.machine)
	mtyp := typ
	if tg.machine == elf.EM_MIPS && tg.class == elf.ELFCLASS64 {
		mtyp = typ | 5<<8 | 7<<16 | 1<<24 // r_type2, r_type3, r_ssym kept as they are
	}
	dr := []kotest.Rela{{Offset: 0, Sym: 1 /* .text section symbol */, Type: typ}, {Offset: 8, Sym: uint32(dsym), Type: typ}}
	tr := []kotest.Rela{{Offset: 0, Sym: uint32(helper), Type: mtyp, Addend: 4}}
	if rela {
		b.AddRela(dbg, dr)
		b.AddRela(text, tr)
	} else {
		b.AddRel(dbg, dr)
		b.AddRel(text, tr)
	}
	return b.Bytes(), b
}

func names(f *elfx.File) (secs, syms []string) {
	for _, s := range f.Sections[1:] {
		secs = append(secs, s.Name)
	}
	ss, _ := f.Symbols()
	for _, s := range ss[1:] {
		syms = append(syms, s.Name)
	}
	return
}

func TestStripSynthetic(t *testing.T) {
	for _, tg := range targets {
		t.Run(fmt.Sprintf("%s-%s-%s", tg.class, tg.order, tg.machine), func(t *testing.T) {
			data, _ := synthetic(tg)
			for _, mode := range []kostrip.Mode{kostrip.StripDebug, kostrip.StripUnneeded} {
				res, err := kostrip.Strip(data, kostrip.Options{Mode: mode})
				if err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
				checkConsistent(t, mode.String(), data, res.Image, mode)
				g, _ := elfx.New(res.Image)
				secs, syms := names(g)
				if strings.Contains(strings.Join(secs, " "), "debug") {
					t.Errorf("%s: sections %v", mode, secs)
				}
				want := "__this_module init_module cleanup_module _printk helper __crc_kotest_fn unused_local unused_undef"
				if mode == kostrip.StripUnneeded {
					want = "helper __crc_kotest_fn __this_module init_module cleanup_module"
				}
				// Locals first: kotest writes globals after locals.
				got := strings.Join(syms, " ")
				if mode == kostrip.StripDebug {
					want = "helper __crc_kotest_fn unused_local __this_module init_module cleanup_module _printk unused_undef"
				}
				if got != want {
					t.Errorf("%s: symbols %q, want %q", mode, got, want)
				}
				rs := g.RelocSections(g.Section(".text").Index)
				if len(rs) != 1 {
					t.Fatalf("%s: %d relocation sections for .text", mode, len(rs))
				}
				r, _ := g.Relocs(rs[0])
				gs, _ := g.Symbols()
				if gs[r[0].Sym].Name != "helper" {
					t.Errorf("%s: .text relocation against %q", mode, gs[r[0].Sym].Name)
				}
				if tg.machine == elf.EM_MIPS && tg.class == elf.ELFCLASS64 && (r[0].Type2 != 5 || r[0].Type3 != 7 || r[0].Ssym != 1) {
					t.Errorf("%s: MIPS64 r_info fields lost: %+v", mode, r[0])
				}
			}
		})
	}
}

func TestRefusals(t *testing.T) {
	data, _ := synthetic(targets[0])
	for _, c := range []struct{ remove, want string }{
		{".modinfo", "vermagic"},
		{"__versions", "CRCs"},
		{".gnu.linkonce.this_module", "No module found"},
		{".symtab", "module has no symbols"},
		{".strtab", "symbol names"},
		{".shstrtab", "section names"},
		{".text", "SHF_ALLOC"},
		{".rela.gnu.linkonce.this_module", "relocates .gnu.linkonce.this_module"},
		{".rel*", "relocates"},
		{"*", "refused"},
	} {
		_, err := kostrip.Strip(data, kostrip.Options{Remove: []string{c.remove}})
		var re *kostrip.RefusedError
		if !errors.As(err, &re) || !errors.Is(err, kostrip.ErrRefused) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("-R %s: error %v, want a refusal mentioning %q", c.remove, err, c.want)
		}
	}
	// Removing a section a kept relocation needs is refused.
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	note := b.AddSection(kotest.Section{Name: ".note.mine", Type: elf.SHT_NOTE, Data: make([]byte, 16), Addralign: 4})
	sym := b.AddSymbol(kotest.Symbol{Name: "mine", Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT, Section: note})
	b.AddRela(b.SectionIndex(".text"), []kotest.Rela{{Offset: 0, Sym: uint32(sym), Type: uint32(elf.R_X86_64_64)}})
	_, err := kostrip.Strip(b.Bytes(), kostrip.Options{Remove: []string{".note.mine"}})
	if !errors.Is(err, kostrip.ErrRefused) || !strings.Contains(err.Error(), `"mine"`) {
		t.Errorf("removing a section a relocation of .text uses: %v", err)
	}
	// A non-alloc, unneeded section may go.
	res, err := kostrip.Strip(data, kostrip.Options{Remove: []string{".comment"}})
	if err != nil || !strings.Contains(strings.Join(res.RemovedSections, " "), ".comment") {
		t.Errorf("-R .comment: %v %v", err, res)
	}
	// A module without a symbol table is refused.
	nosym := kotest.New(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	nosym.AddSection(kotest.Section{Name: ".modinfo", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: kotest.Modinfo("license=GPL"), Addralign: 1})
	if _, err := kostrip.Strip(nosym.Bytes(), kostrip.Options{}); !errors.Is(err, kostrip.ErrRefused) {
		t.Errorf("no symtab: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	good, _ := synthetic(targets[0])
	mut := func(fn func(b []byte)) []byte {
		b := bytes.Clone(good)
		fn(b)
		return b
	}
	f, _ := elfx.New(good)
	sym := f.SymtabSection().Index
	rel := f.Section(".rela.text").Index
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not an ELF file"},
		{"not elf", []byte("PK\x03\x04 zip"), "not an ELF file"},
		{"executable", mut(func(b []byte) { kotest.SetEhdr(b, kotest.EType, uint64(elf.ET_EXEC)) }), "not ET_REL"},
		{"shoff beyond", mut(func(b []byte) { kotest.SetShoff(b, 1<<60) }), "beyond the end"},
		{"shstrtab SHT_NULL", mut(func(b []byte) { kotest.SetShdr(b, f.Shstrndx, kotest.ShType, uint64(elf.SHT_NULL)) }), "section name table"},
		{"symtab size", mut(func(b []byte) { kotest.SetSectionSize(b, sym, kotest.SectionSize(b, sym)-1) }), "multiple"},
		{"symtab link", mut(func(b []byte) { kotest.SetShdr(b, sym, kotest.ShLink, 0) }), "string table"},
		{"reloc symbol", mut(func(b []byte) {
			off := kotest.SectionOffset(b, rel)
			binary.LittleEndian.PutUint32(b[off+12:], 0xfffff)
		}), "symbol"},
		{"reloc target", mut(func(b []byte) { kotest.SetShdr(b, f.Section(".rela.debug_info").Index, kotest.ShInfo, 999) }), "does not exist"},
		{"symbol section", mut(func(b []byte) {
			off := kotest.SectionOffset(b, sym) + 24*uint64(len(mustSyms(f))-1)
			binary.LittleEndian.PutUint16(b[off+6:], 0x7000)
		}), "does not exist"},
	} {
		_, err := kostrip.Strip(c.data, kostrip.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
		if errors.Is(err, kostrip.ErrRefused) {
			t.Errorf("%s: malformed input reported as a refusal: %v", c.name, err)
		}
	}
	// Every truncation of real modules: an error or a valid result, never a panic.
	for _, p := range []string{"../testdata/modules/amd64/crc7.ko", "../testdata/modules/armhf/crc7.ko", "../testdata/modules/s390x/crc7.ko"} {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < len(data); n += 13 {
			if res, err := kostrip.Strip(data[:n], kostrip.Options{}); err == nil {
				if _, err := elfx.New(res.Image); err != nil {
					t.Fatalf("%s[:%d]: output does not parse: %v", p, n, err)
				}
			}
		}
	}
}

func mustSyms(f *elfx.File) []elfx.Symbol {
	s, _ := f.Symbols()
	return s
}

func TestStrtabSuffixMerge(t *testing.T) {
	// binutils' tables: "init_module" shares "module"; ".rela.text" holds ".text".
	data, _ := synthetic(targets[0])
	res, err := kostrip.Strip(data, kostrip.Options{})
	if err != nil {
		t.Fatal(err)
	}
	g, _ := elfx.New(res.Image)
	shs, _ := g.SectionData(&g.Sections[g.Shstrndx])
	if bytes.Count(shs, []byte(".text\x00")) != 1 || bytes.Contains(shs, []byte("\x00.text\x00")) {
		t.Errorf(".shstrtab %q: .text not merged into .rela.text", shs)
	}
}
