package kotest

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"strings"
	"testing"
)

// TestMIPS64RInfo checks the split MIPS64 r_info layout byte by byte and
// against readelf's Type2/Type3 lines.
func TestMIPS64RInfo(t *testing.T) {
	for _, order := range orders {
		b := New(elf.ELFCLASS64, order, elf.EM_MIPS)
		text := b.AddSection(Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 8), Addralign: 4})
		sym := b.AddSymbol(Symbol{Name: "f", Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC, Section: text})
		typ := uint32(elf.R_MIPS_GPREL32) | uint32(elf.R_MIPS_SUB)<<8 | uint32(elf.R_MIPS_HI16)<<16
		rel := b.AddRela(text, []Rela{{Offset: 4, Sym: uint32(sym), Type: typ, Addend: -2}})
		d := b.Section(rel).Data
		raw := d[8:16]
		if got := order.Uint32(raw[:4]); got != uint32(sym) {
			t.Errorf("%v: r_sym = %d; want %d", order, got, sym)
		}
		if want := []byte{0, byte(elf.R_MIPS_HI16), byte(elf.R_MIPS_SUB), byte(elf.R_MIPS_GPREL32)}; !bytes.Equal(raw[4:], want) {
			t.Errorf("%v: r_ssym, r_type3, r_type2, r_type = % x; want % x", order, raw[4:], want)
		}
		if decodeRelocs(b, d, true)[0].Type != typ {
			t.Errorf("%v: decoded type mismatch", order)
		}

		readelf := need(t, "readelf")
		got := parseReadelf(t, run(t, readelf, "--wide", "-r", writeTemp(t, b.Bytes())))
		want := readelfReloc{Offset: 4, Type: "R_MIPS_GPREL32", Types: []string{"R_MIPS_SUB", "R_MIPS_HI16"}, Sym: "f", Addend: -2}
		if rs := got.Relocs[".rela.text"]; len(rs) != 1 || rs[0].Type != want.Type || strings.Join(rs[0].Types, ",") != strings.Join(want.Types, ",") || rs[0].Addend != want.Addend {
			t.Errorf("%v: readelf relocs = %+v; want %+v", order, rs, want)
		}
	}
}

func TestVersionsLayout(t *testing.T) {
	v64 := Versions(elf.ELFCLASS64, binary.BigEndian, Version{0x1122334455667788, "abc"})
	if len(v64) != 64 || binary.BigEndian.Uint64(v64) != 0x1122334455667788 || string(v64[8:12]) != "abc\x00" {
		t.Errorf("Versions(ELF64, BE) = % x", v64)
	}
	v32 := Versions(elf.ELFCLASS32, binary.LittleEndian, Version{0x11223344, strings.Repeat("n", 70)})
	if len(v32) != 64 || binary.LittleEndian.Uint32(v32) != 0x11223344 || string(v32[4:]) != strings.Repeat("n", 60) {
		t.Errorf("Versions(ELF32, LE) = % x", v32)
	}
	crcs, names := ExtVersions(binary.LittleEndian, Version{1, "a"}, Version{0xdeadbeef, strings.Repeat("r", 100)})
	if want := []byte{1, 0, 0, 0, 0xef, 0xbe, 0xad, 0xde}; !bytes.Equal(crcs, want) {
		t.Errorf("ExtVersions crcs = % x; want % x", crcs, want)
	}
	if want := "a\x00" + strings.Repeat("r", 100) + "\x00"; string(names) != want {
		t.Errorf("ExtVersions names = %q; want %q", names, want)
	}
	if got := string(Modinfo("a=b", "c=")); got != "a=b\x00c=\x00" {
		t.Errorf("Modinfo = %q", got)
	}
}

func TestAppendSignature(t *testing.T) {
	content := []byte("ELF")
	sig := bytes.Repeat([]byte{0xaa}, 300)
	got := AppendSignature(content, sig, IDPKCS7)
	want := append(append([]byte("ELF"), sig...), 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x2c)
	want = append(want, "~Module signature appended~\n"...)
	if !bytes.Equal(got, want) {
		t.Errorf("AppendSignature = % x;\nwant % x", got, want)
	}
	if string(content) != "ELF" || len(SignatureMagic) != 28 {
		t.Error("content modified or bad magic")
	}
}

func TestThisModule(t *testing.T) {
	for _, c := range []struct {
		class      elf.Class
		size, name int
	}{{elf.ELFCLASS64, 0x380, 24}, {elf.ELFCLASS32, 0x240, 12}} {
		b := ThisModule(c.class, "crc7")
		if len(b) != c.size || string(b[c.name:c.name+5]) != "crc7\x00" {
			t.Errorf("ThisModule(%v) name not at %d / size %#x", c.class, c.name, len(b))
		}
	}
}

// TestMutations checks the header and section header editors against
// debug/elf.
func TestMutations(t *testing.T) {
	for _, class := range []elf.Class{elf.ELFCLASS32, elf.ELFCLASS64} {
		for _, order := range orders {
			b := Minimal(class, order, elf.EM_X86_64)
			data := b.Bytes()
			mi := b.SectionIndex(".modinfo")
			f, err := elf.NewFile(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if got, want := SectionOffset(data, mi), f.Sections[mi].Offset; got != want {
				t.Errorf("SectionOffset = %#x; want %#x", got, want)
			}
			if got := SectionData(data, mi); !bytes.Equal(got, Modinfo(MinimalModinfo...)) {
				t.Errorf("SectionData(.modinfo) = %q", got)
			}
			if got, want := ShdrOffset(data, 3), int(Ehdr(data, EShoff))+3*int(Ehdr(data, EShentsize)); got != want {
				t.Errorf("ShdrOffset = %d; want %d", got, want)
			}

			// Strip the NUL at the end of .strtab.
			strtab := b.SymtabIndex() + 1
			d := bytes.Clone(data)
			s := SectionData(d, strtab)
			Patch(d, int(SectionOffset(d, strtab))+len(s)-1, 'X')
			if SectionData(d, strtab)[len(s)-1] != 'X' {
				t.Error("Patch did not write")
			}

			// Section size 2^60 (2^32-1 on ELF32).
			d = bytes.Clone(data)
			huge := uint64(1) << 60
			if class == elf.ELFCLASS32 {
				huge = 1<<32 - 1
			}
			SetSectionSize(d, mi, huge)
			f, err = elf.NewFile(bytes.NewReader(d))
			if err != nil {
				t.Fatal(err)
			}
			if f.Sections[mi].Size != huge || SectionSize(d, mi) != huge {
				t.Errorf("size = %#x; want %#x", f.Sections[mi].Size, huge)
			}
			if _, err := f.Sections[mi].Data(); err == nil {
				t.Error("Data of huge section: no error")
			}

			SetSectionOffset(d, mi, uint64(len(d))+10)
			if _, err := elf.NewFile(bytes.NewReader(d)); err != nil {
				t.Fatal(err)
			}

			for _, c := range []struct {
				name string
				edit func([]byte)
			}{
				{"shoff", func(d []byte) { SetShoff(d, uint64(len(d))) }},
				{"shnum", func(d []byte) { SetShnum(d, 0xfeff) }},
				{"shentsize", func(d []byte) { SetShentsize(d, 3) }},
				{"shstrndx", func(d []byte) { SetShstrndx(d, 200) }},
			} {
				d := bytes.Clone(data)
				c.edit(d)
				if _, err := elf.NewFile(bytes.NewReader(d)); err == nil {
					t.Errorf("%v %v: elf.NewFile accepted bad %s", class, order, c.name)
				}
			}
		}
	}
}

// TestExtendedNumbering checks SHN_LORESERVE or more sections.
func TestExtendedNumbering(t *testing.T) {
	if testing.Short() {
		t.Skip("large file")
	}
	b := New(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	for range int(elf.SHN_LORESERVE) {
		b.AddSection(Section{Name: ".a", Type: elf.SHT_PROGBITS})
	}
	data := b.Bytes()
	if Ehdr(data, EShnum) != 0 || Ehdr(data, EShstrndx) != uint64(elf.SHN_XINDEX) {
		t.Errorf("e_shnum, e_shstrndx = %d, %#x", Ehdr(data, EShnum), Ehdr(data, EShstrndx))
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.Sections); n != int(elf.SHN_LORESERVE)+2 || f.Sections[n-1].Name != ".shstrtab" || f.Sections[1].Name != ".a" {
		t.Errorf("got %d sections", n)
	}
}
