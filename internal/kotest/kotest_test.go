package kotest

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// reloc is a relocation type with the name readelf prints for it.
type reloc struct {
	typ  uint32
	name string
}

type target struct {
	machine elf.Machine
	class   elf.Class
	relocs  []reloc // first one is the absolute pointer one (AbsReloc)
}

var targets = []target{
	{elf.EM_X86_64, elf.ELFCLASS64, []reloc{{1, "R_X86_64_64"}, {2, "R_X86_64_PC32"}, {4, "R_X86_64_PLT32"}}},
	{elf.EM_X86_64, elf.ELFCLASS32, []reloc{{10, "R_X86_64_32"}, {2, "R_X86_64_PC32"}}},
	{elf.EM_386, elf.ELFCLASS32, []reloc{{1, "R_386_32"}, {2, "R_386_PC32"}}},
	{elf.EM_AARCH64, elf.ELFCLASS64, []reloc{{257, "R_AARCH64_ABS64"}, {283, "R_AARCH64_CALL26"}, {261, "R_AARCH64_PREL32"}}},
	{elf.EM_ARM, elf.ELFCLASS32, []reloc{{2, "R_ARM_ABS32"}, {28, "R_ARM_CALL"}}},
	{elf.EM_PPC64, elf.ELFCLASS64, []reloc{{38, "R_PPC64_ADDR64"}, {10, "R_PPC64_REL24"}}},
	{elf.EM_PPC, elf.ELFCLASS32, []reloc{{1, "R_PPC_ADDR32"}, {10, "R_PPC_REL24"}}},
	{elf.EM_S390, elf.ELFCLASS64, []reloc{{22, "R_390_64"}, {5, "R_390_PC32"}}},
	{elf.EM_S390, elf.ELFCLASS32, []reloc{{4, "R_390_32"}, {5, "R_390_PC32"}}},
	{elf.EM_MIPS, elf.ELFCLASS64, []reloc{{18, "R_MIPS_64"}, {4, "R_MIPS_26"}, {5, "R_MIPS_HI16"}}},
	{elf.EM_MIPS, elf.ELFCLASS32, []reloc{{2, "R_MIPS_32"}, {4, "R_MIPS_26"}}},
	{elf.EM_RISCV, elf.ELFCLASS64, []reloc{{2, "R_RISCV_64"}, {19, "R_RISCV_CALL_PLT"}}},
	{elf.EM_RISCV, elf.ELFCLASS32, []reloc{{1, "R_RISCV_32"}, {19, "R_RISCV_CALL_PLT"}}},
	{elf.EM_LOONGARCH, elf.ELFCLASS64, []reloc{{2, "R_LARCH_64"}, {66, "R_LARCH_B26"}}},
	{elf.EM_LOONGARCH, elf.ELFCLASS32, []reloc{{1, "R_LARCH_32"}, {66, "R_LARCH_B26"}}},
}

var orders = []binary.ByteOrder{binary.LittleEndian, binary.BigEndian}

func (tg target) String(order binary.ByteOrder) string {
	o := "lsb"
	if order == binary.BigEndian {
		o = "msb"
	}
	return fmt.Sprintf("%s-%d-%s", strings.TrimPrefix(tg.machine.String(), "EM_"), map[elf.Class]int{elf.ELFCLASS32: 32, elf.ELFCLASS64: 64}[tg.class], o)
}

// module is what a test built, in the form the checks compare against.
type module struct {
	b       *Builder
	relocs  map[string][]Rela // by relocation section name
	relName map[uint32]string // reloc type -> readelf name
}

// build returns Minimal plus a .data, a .bss, more symbols (local object,
// absolute, weak, undefined) and a .rela.text/.rel.text with each of tg's
// relocation types and some addends.
func build(tg target, order binary.ByteOrder) module {
	b := Minimal(tg.class, order, tg.machine)
	m := module{b: b, relocs: map[string][]Rela{}, relName: map[uint32]string{}}
	for _, r := range tg.relocs {
		m.relName[r.typ] = r.name
	}
	typ, rela, ok := AbsReloc(tg.class, tg.machine)
	if !ok || typ != tg.relocs[0].typ {
		panic(fmt.Sprintf("AbsReloc(%v, %v) = %d, %v; want %d", tg.class, tg.machine, typ, ok, tg.relocs[0].typ))
	}
	relName := ".rel"
	if rela {
		relName = ".rela"
	}
	m.relocs[relName+".gnu.linkonce.this_module"] = decodeRelocs(b, b.Section(b.SectionIndex(relName+".gnu.linkonce.this_module")).Data, rela)

	data := b.AddSection(Section{Name: ".data", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE,
		Data: []byte("kotest data\x00"), Addralign: 8})
	bss := b.AddSection(Section{Name: ".bss", Type: elf.SHT_NOBITS, Flags: elf.SHF_ALLOC | elf.SHF_WRITE,
		Size: 0x40, Addralign: 32})
	b.AddSection(Section{Name: ".rodata.str1.1", Type: elf.SHT_PROGBITS,
		Flags: elf.SHF_ALLOC | elf.SHF_MERGE | elf.SHF_STRINGS, Data: []byte("a\x00bc\x00"), Addralign: 1, Entsize: 1})
	// Symbols appended after Minimal's globals keep their indices; these are
	// globals too so the table stays ordered.
	sData := b.AddSymbol(Symbol{Name: "kotest_data", Value: 0, Size: 12, Bind: elf.STB_GLOBAL, Type: elf.STT_OBJECT, Section: data})
	sBss := b.AddSymbol(Symbol{Name: "kotest_bss", Value: 0x20, Size: 0x20, Bind: elf.STB_WEAK, Type: elf.STT_OBJECT, Section: bss})
	b.AddSymbol(Symbol{Name: "kotest_abs", Value: 0x1234, Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE, Section: int(elf.SHN_ABS)})
	sUnd := b.AddSymbol(Symbol{Name: "kotest_undef_with_a_rather_long_name_for_the_string_table", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})

	var rs []Rela
	for i, r := range tg.relocs {
		rs = append(rs, Rela{Offset: uint64(4 * i), Sym: uint32([]int{sData, sBss, sUnd}[i%3]), Type: r.typ, Addend: []int64{0, -4, 0x10}[i%3]})
	}
	rs = append(rs, Rela{Offset: 12, Sym: 1, Type: tg.relocs[0].typ, Addend: 8}) // section symbol .text
	if !rela {
		for i := range rs {
			rs[i].Addend = 0
		}
		m.relocs[".rel.text"] = rs
		b.AddRel(1, rs)
	} else {
		m.relocs[".rela.text"] = rs
		b.AddRela(1, rs)
	}
	return m
}

func decodeRelocs(b *Builder, data []byte, rela bool) []Rela {
	var out []Rela
	ent := RelocSize(b.Class, rela)
	for off := 0; off+ent <= len(data); off += ent {
		var r Rela
		var info uint64
		if b.Class == elf.ELFCLASS64 {
			r.Offset = b.Order.Uint64(data[off:])
			info = b.Order.Uint64(data[off+8:])
			if rela {
				r.Addend = int64(b.Order.Uint64(data[off+16:]))
			}
			if b.Machine == elf.EM_MIPS {
				raw := data[off+8 : off+16]
				r.Sym = b.Order.Uint32(raw)
				r.Type = uint32(raw[7]) | uint32(raw[6])<<8 | uint32(raw[5])<<16 | uint32(raw[4])<<24
			} else {
				r.Sym, r.Type = uint32(info>>32), uint32(info)
			}
		} else {
			r.Offset = uint64(b.Order.Uint32(data[off:]))
			info = uint64(b.Order.Uint32(data[off+4:]))
			if rela {
				r.Addend = int64(int32(b.Order.Uint32(data[off+8:])))
			}
			r.Sym, r.Type = uint32(info>>8), uint32(info&0xff)
		}
		out = append(out, r)
	}
	return out
}

// wantSection is a section header as the test expects it.
type wantSection struct {
	Name                   string
	Type                   elf.SectionType
	Flags                  elf.SectionFlag
	Size, Addralign, Entsz uint64
	Link, Info             uint32
}

func (m module) wantSections() []wantSection {
	b := m.b
	ws := []wantSection{{Type: elf.SHT_NULL}}
	for _, s := range b.sections {
		size := s.Size
		if size == 0 {
			size = uint64(len(s.Data))
		}
		link := s.Link
		if s.linkSymtab {
			link = uint32(b.SymtabIndex())
		}
		ws = append(ws, wantSection{s.Name, s.Type, s.Flags, size, s.Addralign, s.Entsize, link, s.Info})
	}
	symEnt := uint64(16)
	if b.Class == elf.ELFCLASS64 {
		symEnt = 24
	}
	first := 1
	for i, s := range b.symbols {
		if s.Bind != elf.STB_LOCAL {
			break
		}
		first = i + 2
	}
	strSize := 1
	for _, s := range b.symbols {
		if s.Name != "" {
			strSize += len(s.Name) + 1
		}
	}
	ws = append(ws,
		wantSection{".symtab", elf.SHT_SYMTAB, 0, uint64(len(b.symbols)+1) * symEnt, b.wordSize(), symEnt, uint32(b.SymtabIndex() + 1), uint32(first)},
		wantSection{".strtab", elf.SHT_STRTAB, 0, uint64(strSize), 1, 0, 0, 0})
	shSize := 1
	for _, s := range ws[1:] {
		shSize += len(s.Name) + 1
	}
	shSize += len(".shstrtab") + 1
	return append(ws, wantSection{".shstrtab", elf.SHT_STRTAB, 0, uint64(shSize), 1, 0, 0, 0})
}

// wantSymbol is a symbol as both readelf and debug/elf show it.
type wantSymbol struct {
	Name        string
	Value, Size uint64
	Bind        elf.SymBind
	Type        elf.SymType
	Section     int
}

func (m module) wantSymbols(readelfNames bool) []wantSymbol {
	var ws []wantSymbol
	for _, s := range m.b.symbols {
		name := s.Name
		if readelfNames && s.Type == elf.STT_SECTION && name == "" {
			name = m.b.sections[s.Section-1].Name // readelf shows the section's name
		}
		ws = append(ws, wantSymbol{name, s.Value, s.Size, s.Bind, s.Type, s.Section})
	}
	return ws
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "kotest.ko")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func need(t *testing.T, tool string) string {
	t.Helper()
	p, err := exec.LookPath(tool)
	if err != nil {
		if p, err = exec.LookPath("/usr/sbin/" + tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	return p
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	if stderr.Len() > 0 {
		t.Errorf("%s %s wrote to stderr:\n%s", name, strings.Join(args, " "), stderr.String())
	}
	return stdout.String()
}

// readelfOutput is what the test parses out of "readelf --wide -S -s -r".
type readelfOutput struct {
	Sections []readelfSection
	Symbols  []wantSymbol
	Relocs   map[string][]readelfReloc
}

type readelfSection struct {
	Name, Type, Flags string
	Size, Entsize     uint64
	Link, Info, Align uint64
}

type readelfReloc struct {
	Offset uint64
	Type   string
	Types  []string // Type2, Type3 on MIPS64
	Sym    string
	Addend int64
}

func hex(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(s, 16, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

func parseReadelf(t *testing.T, out string) readelfOutput {
	t.Helper()
	res := readelfOutput{Relocs: map[string][]readelfReloc{}}
	mode, relSec := "", ""
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		f := strings.Fields(line)
		switch {
		case strings.HasPrefix(line, "Section Headers:"):
			mode = "S"
			continue
		case strings.HasPrefix(line, "Key to Flags:"):
			mode = ""
		case strings.HasPrefix(line, "Symbol table '"):
			mode = "s"
			continue
		case strings.HasPrefix(line, "Relocation section '"):
			mode = "r"
			relSec = strings.Split(line, "'")[1]
			res.Relocs[relSec] = []readelfReloc{}
			continue
		case len(f) == 0, strings.Contains(line, "Offset "), strings.HasPrefix(strings.TrimSpace(line), "[Nr]"),
			strings.HasPrefix(strings.TrimSpace(line), "Num:"):
			continue
		}
		switch mode {
		case "S":
			i := strings.Index(line, "]")
			rest := strings.Fields(line[i+1:])
			var s readelfSection
			if len(rest) == 8 && rest[0] == "NULL" { // section 0 has no name
				rest = append([]string{""}, rest...)
			}
			s.Name, s.Type = rest[0], rest[1]
			// Address Off Size ES [Flg] Lk Inf Al
			s.Size, s.Entsize = hex(t, rest[4]), hex(t, rest[5])
			if len(rest) == 10 {
				s.Flags = rest[6]
			}
			n := len(rest)
			s.Link, _ = strconv.ParseUint(rest[n-3], 10, 64)
			s.Info, _ = strconv.ParseUint(rest[n-2], 10, 64)
			s.Align, _ = strconv.ParseUint(rest[n-1], 10, 64)
			res.Sections = append(res.Sections, s)
		case "s":
			// Num: Value Size Type Bind Vis Ndx [Name]
			if f[0] == "0:" {
				continue
			}
			var s wantSymbol
			s.Value = hex(t, f[1])
			s.Size, _ = strconv.ParseUint(f[2], 0, 64)
			s.Type = map[string]elf.SymType{"NOTYPE": elf.STT_NOTYPE, "OBJECT": elf.STT_OBJECT, "FUNC": elf.STT_FUNC, "SECTION": elf.STT_SECTION}[f[3]]
			s.Bind = map[string]elf.SymBind{"LOCAL": elf.STB_LOCAL, "GLOBAL": elf.STB_GLOBAL, "WEAK": elf.STB_WEAK}[f[4]]
			switch f[6] {
			case "UND":
				s.Section = int(elf.SHN_UNDEF)
			case "ABS":
				s.Section = int(elf.SHN_ABS)
			default:
				s.Section, _ = strconv.Atoi(f[6])
			}
			if len(f) > 7 {
				s.Name = f[7]
			}
			res.Symbols = append(res.Symbols, s)
		case "r":
			if strings.HasPrefix(f[0], "Type2:") || strings.HasPrefix(f[0], "Type3:") {
				rs := res.Relocs[relSec]
				rs[len(rs)-1].Types = append(rs[len(rs)-1].Types, f[1])
				continue
			}
			// Offset Info Type SymValue SymName [+|- Addend]
			r := readelfReloc{Offset: hex(t, f[0]), Type: f[2]}
			if len(f) >= 5 {
				r.Sym = f[4]
			}
			if len(f) == 7 {
				r.Addend = int64(hex(t, f[6]))
				if f[5] == "-" {
					r.Addend = -r.Addend
				}
			}
			res.Relocs[relSec] = append(res.Relocs[relSec], r)
		}
	}
	return res
}

func flagLetters(f elf.SectionFlag) string {
	var s string
	for _, l := range []struct {
		f elf.SectionFlag
		c string
	}{{elf.SHF_WRITE, "W"}, {elf.SHF_ALLOC, "A"}, {elf.SHF_EXECINSTR, "X"}, {elf.SHF_MERGE, "M"}, {elf.SHF_STRINGS, "S"}, {elf.SHF_INFO_LINK, "I"}} {
		if f&l.f != 0 {
			s += l.c
		}
	}
	return s
}

func forEachTarget(t *testing.T, fn func(t *testing.T, tg target, order binary.ByteOrder)) {
	for _, tg := range targets {
		for _, order := range orders {
			t.Run(tg.String(order), func(t *testing.T) { fn(t, tg, order) })
		}
	}
}

// TestReadelf checks that binutils readelf accepts every target without
// warnings and shows the sections, symbols and relocations that were built.
func TestReadelf(t *testing.T) {
	readelf := need(t, "readelf")
	forEachTarget(t, func(t *testing.T, tg target, order binary.ByteOrder) {
		m := build(tg, order)
		out := run(t, readelf, "--wide", "-S", "-s", "-r", writeTemp(t, m.b.Bytes()))
		if strings.Contains(strings.ToLower(out), "warning") || strings.Contains(strings.ToLower(out), "error") {
			t.Errorf("readelf output has warnings:\n%s", out)
		}
		got := parseReadelf(t, out)

		var wantSecs []readelfSection
		for _, s := range m.wantSections() {
			wantSecs = append(wantSecs, readelfSection{s.Name, strings.TrimPrefix(s.Type.String(), "SHT_"),
				flagLetters(s.Flags), s.Size, s.Entsz, uint64(s.Link), uint64(s.Info), s.Addralign})
		}
		if diff := cmp.Diff(wantSecs, got.Sections); diff != "" {
			t.Errorf("readelf -S mismatch (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(m.wantSymbols(true), got.Symbols); diff != "" {
			t.Errorf("readelf -s mismatch (-want +got):\n%s", diff)
		}

		syms := m.wantSymbols(true)
		want := map[string][]readelfReloc{}
		for name, rs := range m.relocs {
			for _, r := range rs {
				w := readelfReloc{Offset: r.Offset, Type: m.relName[r.Type], Sym: syms[r.Sym-1].Name, Addend: r.Addend}
				if tg.machine == elf.EM_MIPS && tg.class == elf.ELFCLASS64 {
					w.Types = []string{"R_MIPS_NONE", "R_MIPS_NONE"}
				}
				if w.Type == "" {
					t.Fatalf("no readelf name for relocation type %d", r.Type)
				}
				want[name] = append(want[name], w)
			}
		}
		if diff := cmp.Diff(want, got.Relocs); diff != "" {
			t.Errorf("readelf -r mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestDebugELF checks that debug/elf reads back the same sections, section
// contents, symbols and relocations.
func TestDebugELF(t *testing.T) {
	forEachTarget(t, func(t *testing.T, tg target, order binary.ByteOrder) {
		m := build(tg, order)
		f, err := elf.NewFile(bytes.NewReader(m.b.Bytes()))
		if err != nil {
			t.Fatalf("elf.NewFile: %v", err)
		}
		if f.Class != tg.class || f.ByteOrder != order || f.Machine != tg.machine || f.Type != elf.ET_REL {
			t.Errorf("header = %v %v %v %v; want %v %v %v ET_REL", f.Class, f.ByteOrder, f.Machine, f.Type, tg.class, order, tg.machine)
		}
		var got []wantSection
		for _, s := range f.Sections {
			got = append(got, wantSection{s.Name, s.Type, s.Flags, s.Size, s.Addralign, s.Entsize, s.Link, s.Info})
		}
		if diff := cmp.Diff(m.wantSections(), got); diff != "" {
			t.Errorf("sections mismatch (-want +got):\n%s", diff)
		}
		for i, s := range m.b.sections {
			if s.Type == elf.SHT_NOBITS {
				continue
			}
			d, err := f.Sections[i+1].Data()
			if err != nil || !bytes.Equal(d, s.Data) {
				t.Errorf("section %s data = %x, %v; want %x", s.Name, d, err, s.Data)
			}
		}

		syms, err := f.Symbols()
		if err != nil {
			t.Fatalf("Symbols: %v", err)
		}
		var gotSyms []wantSymbol
		for _, s := range syms {
			gotSyms = append(gotSyms, wantSymbol{s.Name, s.Value, s.Size, elf.ST_BIND(s.Info), elf.ST_TYPE(s.Info), int(s.Section)})
		}
		if diff := cmp.Diff(m.wantSymbols(false), gotSyms); diff != "" {
			t.Errorf("symbols mismatch (-want +got):\n%s", diff)
		}

		gotRel := map[string][]Rela{}
		for _, s := range f.Sections {
			if s.Type != elf.SHT_RELA && s.Type != elf.SHT_REL {
				continue
			}
			d, err := s.Data()
			if err != nil {
				t.Fatal(err)
			}
			var rs []Rela
			rd := bytes.NewReader(d)
			for rd.Len() > 0 {
				var r Rela
				switch {
				case f.Class == elf.ELFCLASS64 && s.Type == elf.SHT_RELA:
					var e elf.Rela64
					binary.Read(rd, f.ByteOrder, &e)
					r = Rela{Offset: e.Off, Sym: elf.R_SYM64(e.Info), Type: elf.R_TYPE64(e.Info), Addend: e.Addend}
				case f.Class == elf.ELFCLASS64:
					var e elf.Rel64
					binary.Read(rd, f.ByteOrder, &e)
					r = Rela{Offset: e.Off, Sym: elf.R_SYM64(e.Info), Type: elf.R_TYPE64(e.Info)}
				case s.Type == elf.SHT_RELA:
					var e elf.Rela32
					binary.Read(rd, f.ByteOrder, &e)
					r = Rela{Offset: uint64(e.Off), Sym: elf.R_SYM32(e.Info), Type: elf.R_TYPE32(e.Info), Addend: int64(e.Addend)}
				default:
					var e elf.Rel32
					binary.Read(rd, f.ByteOrder, &e)
					r = Rela{Offset: uint64(e.Off), Sym: elf.R_SYM32(e.Info), Type: elf.R_TYPE32(e.Info)}
				}
				if f.Machine == elf.EM_MIPS && f.Class == elf.ELFCLASS64 {
					// Same decoding as debug/elf's applyRelocationsMIPS64.
					info := uint64(r.Sym)<<32 | uint64(r.Type)
					if f.ByteOrder == binary.LittleEndian {
						r.Sym, r.Type = uint32(info&0xffffffff), uint32(info>>56)
					} else {
						r.Sym, r.Type = uint32(info>>32), uint32(info&0xff)
					}
				}
				rs = append(rs, r)
			}
			gotRel[s.Name] = rs
		}
		if diff := cmp.Diff(m.relocs, gotRel); diff != "" {
			t.Errorf("relocations mismatch (-want +got):\n%s", diff)
		}
	})
}

// TestModinfo checks that kmod's modinfo prints the .modinfo pairs, after
// filename.
func TestModinfo(t *testing.T) {
	modinfo := need(t, "modinfo")
	pairs := []string{"license=GPL v2", "author=A <a@b>", "alias=pci:v00008086d*", "depends=", "name=kotest", "vermagic=6.1.0-56-amd64 SMP preempt mod_unload modversions "}
	forEachTarget(t, func(t *testing.T, tg target, order binary.ByteOrder) {
		b := Minimal(tg.class, order, tg.machine)
		b.Section(b.SectionIndex(".modinfo")).Data = Modinfo(pairs...)
		path := writeTemp(t, b.Bytes())
		out := run(t, modinfo, path)
		want := fmt.Sprintf("%-16s%s\n", "filename:", path)
		for _, p := range pairs {
			k, v, _ := strings.Cut(p, "=")
			want += fmt.Sprintf("%-16s%s\n", k+":", v)
		}
		if out != want {
			t.Errorf("modinfo output:\n%s\nwant:\n%s", out, want)
		}
	})
}

// TestDumpModversions checks __versions against kmod's modprobe
// --dump-modversions.
func TestDumpModversions(t *testing.T) {
	modprobe := need(t, "modprobe")
	vers := []Version{{0x9060323f, "module_layout"}, {0, "zero_crc"}, {0xffffffff, "ff"}, {0x12345678, strings.Repeat("x", 55)}}
	forEachTarget(t, func(t *testing.T, tg target, order binary.ByteOrder) {
		b := Minimal(tg.class, order, tg.machine)
		v := vers
		if tg.class == elf.ELFCLASS32 {
			v = append(v[:len(v):len(v)], Version{0xabcdef01, strings.Repeat("y", 59)})
		}
		b.Section(b.SectionIndex("__versions")).Data = Versions(tg.class, order, v...)
		out := run(t, modprobe, "--dump-modversions", writeTemp(t, b.Bytes()))
		var want string
		for _, e := range v {
			want += fmt.Sprintf("0x%08x\t%s\n", e.CRC, e.Name)
		}
		if out != want {
			t.Errorf("modprobe --dump-modversions:\n%s\nwant:\n%s", out, want)
		}
	})
}
