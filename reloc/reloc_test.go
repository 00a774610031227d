package reloc_test

import (
	"debug/elf"
	"encoding/binary"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/reloc"
)

func fixtures(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no modules in ../testdata/modules")
	}
	return files
}

func open(t testing.TB, p string) []byte {
	data, _, err := compression.ReadFile(p, compression.DefaultLimit)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Every relocation of every committed module (nine architectures) decodes,
// has a type readelf knows and a resolved symbol; MIPS64 entries carry
// their second and third types.
func TestFixtures(t *testing.T) {
	machines := map[elf.Machine]int{}
	for _, p := range fixtures(t) {
		f, err := elfx.New(open(t, p))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		secs := reloc.Sections(f)
		if len(secs) == 0 {
			t.Errorf("%s: no relocation sections", p)
		}
		for _, s := range secs {
			es, err := reloc.Entries(f, s)
			if err != nil {
				t.Fatalf("%s: %s: %v", p, s.Name, err)
			}
			if uint64(len(es)) != s.Size/s.Entsize {
				t.Errorf("%s: %s: %d entries, sh_size/sh_entsize %d", p, s.Name, len(es), s.Size/s.Entsize)
			}
			for i, e := range es {
				if _, ok := reloc.TypeName(f.Machine, e.Type); !ok {
					// readelf 2.40 predates R_LARCH_64_PCREL (109), which
					// Debian's loong64 modules use; the name comes from debug/elf.
					if f.Machine != elf.EM_LOONGARCH || e.Type != 109 || e.TypeName != "R_LARCH_64_PCREL" {
						t.Errorf("%s: %s[%d]: type %d unknown for %s", p, s.Name, i, e.Type, f.Machine)
					}
				}
				if e.SymIndex != 0 && (e.Symbol == "" || e.Symbol == "<null>") {
					t.Errorf("%s: %s[%d]: symbol %d has no name", p, s.Name, i, e.SymIndex)
				}
				if (e.Type2 != nil) != (f.Machine == elf.EM_MIPS && f.Is64()) {
					t.Errorf("%s: %s[%d]: Type2 present %v on %s", p, s.Name, i, e.Type2 != nil, f.Machine)
				}
				if e.HasAddend != (s.Type == elf.SHT_RELA) {
					t.Errorf("%s: %s[%d]: rela %v in %s", p, s.Name, i, e.HasAddend, s.Type)
				}
			}
		}
		machines[f.Machine]++
	}
	if len(machines) < 8 {
		t.Errorf("fixtures cover %d machines, want the 9 Debian architectures: %v", len(machines), machines)
	}
}

// The names differ from debug/elf's in places; a few that readelf spells
// its own way.
func TestTypeNames(t *testing.T) {
	for _, c := range []struct {
		m    elf.Machine
		t    uint32
		want string
	}{
		{elf.EM_X86_64, 4, "R_X86_64_PLT32"}, {elf.EM_X86_64, 42, "R_X86_64_REX_GOTPCRELX"},
		{elf.EM_ARM, 10, "R_ARM_THM_CALL"}, {elf.EM_ARM, 44, "R_ARM_MOVT_ABS"},
		{elf.EM_AARCH64, 283, "R_AARCH64_CALL26"}, {elf.EM_AARCH64, 1027, "R_AARCH64_RELATIVE"},
		{elf.EM_MIPS, 18, "R_MIPS_64"}, {elf.EM_PPC64, 10, "R_PPC64_REL24"}, {elf.EM_S390, 20, "R_390_PLT32DBL"},
		{elf.EM_RISCV, 19, "R_RISCV_CALL_PLT"}, {elf.EM_LOONGARCH, 66, "R_LARCH_B26"}, {elf.EM_386, 2, "R_386_PC32"},
	} {
		if got, _ := reloc.TypeName(c.m, c.t); got != c.want {
			t.Errorf("%s type %d: %q, want %q", c.m, c.t, got, c.want)
		}
	}
	if _, ok := reloc.TypeName(elf.EM_X86_64, 200); ok {
		t.Errorf("x86-64 type 200 is not a relocation readelf knows")
	}
	if got := reloc.Name(elf.EM_LOONGARCH, 109); got != "R_LARCH_64_PCREL" {
		t.Errorf("Name falls back to debug/elf: %q", got)
	}
	if got := reloc.Name(elf.EM_X86_64, 200); got != "unrecognized: c8" {
		t.Errorf("Name of an unknown type: %q", got)
	}
}

// readelf -rW's layout (checked byte for byte by the conformance tests).
func TestReadelfLayout(t *testing.T) {
	b := kotest.New(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	text := b.AddSection(kotest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 32)})
	sec := b.AddSymbol(kotest.Symbol{Bind: elf.STB_LOCAL, Type: elf.STT_SECTION, Section: text})
	fn := b.AddSymbol(kotest.Symbol{Name: "printk", Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
	b.AddRela(text, []kotest.Rela{{Offset: 1, Sym: uint32(fn), Type: 4, Addend: -4}, {Offset: 8, Sym: uint32(sec), Type: 1, Addend: 0x1f}, {Offset: 16, Type: 0, Addend: -2}})
	f, err := elfx.New(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	got, err := reloc.AppendReadelf(nil, f)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(got), "\n")
	want := []string{
		"",
		"Relocation section '.rela.text' at offset 0x" + lines[1][len("Relocation section '.rela.text' at offset 0x"):],
		"    Offset             Info             Type               Symbol's Value  Symbol's Name + Addend",
		"0000000000000001  0000000200000004 R_X86_64_PLT32         0000000000000000 printk - 4",
		"0000000000000008  0000000100000001 R_X86_64_64            0000000000000000 .text + 1f",
		"0000000000000010  0000000000000000 R_X86_64_NONE                             -2",
		"",
	}
	if !strings.HasSuffix(lines[1], " contains 3 entries:") {
		t.Errorf("header %q", lines[1])
	}
	for i := range want {
		if i >= len(lines) || lines[i] != want[i] {
			t.Errorf("line %d:\n%q\nwant\n%q", i, lines[min(i, len(lines)-1)], want[i])
		}
	}
	empty, _ := elfx.New(kotest.New(elf.ELFCLASS32, binary.BigEndian, elf.EM_S390).Bytes())
	if got, _ := reloc.AppendReadelf(nil, empty); string(got) != "\nThere are no relocations in this file.\n" {
		t.Errorf("no relocations: %q", got)
	}
}

func FuzzReadelf(f *testing.F) {
	for _, p := range fixtures(f) {
		f.Add(open(f, p))
	}
	f.Add(kotest.SymbolZoo(elf.ELFCLASS64, binary.LittleEndian, elf.EM_MIPS))
	f.Add(kotest.SymbolZoo(elf.ELFCLASS32, binary.LittleEndian, elf.EM_386))
	f.Fuzz(func(t *testing.T, data []byte) {
		ef, err := elfx.New(data)
		if err != nil {
			return
		}
		reloc.AppendReadelf(nil, ef)
		for _, s := range reloc.Sections(ef) {
			reloc.Entries(ef, s)
		}
	})
}
