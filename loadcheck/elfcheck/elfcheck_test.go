package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture reads a committed module (testdata/modules/ARCH/crc7.ko).
func fixture(t testing.TB, arch string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "modules", arch, "crc7.ko"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mod is a little-endian ELF64 module being edited.
type mod struct {
	t    *testing.T
	b    []byte
	secs []*elf.Section
	f    *elf.File
}

func open(t *testing.T, b []byte) *mod {
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return &mod{t: t, b: append([]byte(nil), b...), secs: f.Sections, f: f}
}

func (m *mod) shoff() int            { return int(binary.LittleEndian.Uint64(m.b[0x28:])) }
func (m *mod) shnum() int            { return int(binary.LittleEndian.Uint16(m.b[0x3c:])) }
func (m *mod) shstrndx() int         { return int(binary.LittleEndian.Uint16(m.b[0x3e:])) }
func (m *mod) hdr(i int) int         { return m.shoff() + 64*i }
func (m *mod) set16(o int, v uint64) { binary.LittleEndian.PutUint16(m.b[o:], uint16(v)) }
func (m *mod) set32(o int, v uint64) { binary.LittleEndian.PutUint32(m.b[o:], uint32(v)) }
func (m *mod) set64(o int, v uint64) { binary.LittleEndian.PutUint64(m.b[o:], v) }

func (m *mod) idx(name string) int {
	for i, s := range m.secs {
		if s.Name == name {
			return i
		}
	}
	m.t.Fatalf("no section %s", name)
	return 0
}

// rename overwrites the name of a section in the name table (same length).
func (m *mod) rename(name, repl string) {
	i := m.idx(name)
	str := m.secs[m.shstrndx()]
	p := int(str.Offset) + int(binary.LittleEndian.Uint32(m.b[m.hdr(i):]))
	if string(m.b[p:p+len(name)]) != name {
		m.t.Fatalf("name of %s not at %d", name, p)
	}
	copy(m.b[p:], repl)
}

const (
	shName, shType, shFlags, shAddr, shOffset, shSize, shLink = 0, 4, 8, 16, 24, 32, 40
)

var p61 = Params{Form: Form61, Machine: elf.EM_X86_64, Is64: true}
var p64 = Params{Form: Form64, Machine: elf.EM_X86_64, Is64: true}
var p613 = Params{Form: Form613, Machine: elf.EM_X86_64, Is64: true}

func TestFormFor(t *testing.T) {
	for _, c := range []struct {
		v    [3]int
		want Form
	}{{[3]int{6, 1, 0}, Form61}, {[3]int{6, 3, 9}, Form61}, {[3]int{6, 4, 0}, Form64}, {[3]int{6, 12, 116}, Form64},
		{[3]int{6, 12, 117}, Form613}, {[3]int{6, 13, 0}, Form613}, {[3]int{7, 0, 0}, Form613}, {[3]int{5, 10, 0}, Form61}} {
		if got := FormFor(c.v[0], c.v[1], c.v[2]); got != c.want {
			t.Errorf("FormFor(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}

func TestUnmodifiedFixtures(t *testing.T) {
	for _, c := range []struct {
		arch string
		p    Params
	}{
		{"amd64", p61}, {"amd64", p64}, {"amd64", p613},
		{"i386", Params{Form: Form61, Machine: elf.EM_386}},
		{"s390x", Params{Form: Form613, Machine: elf.EM_S390, Is64: true, Order: binary.BigEndian}},
		{"arm64", Params{Form: Form613, Machine: elf.EM_AARCH64, Is64: true}},
	} {
		r := Check(fixture(t, c.arch), c.p)
		if !r.OK || len(r.Messages) != 0 || r.Crash != "" {
			t.Errorf("%s %v: %+v", c.arch, c.p.Form, r.Messages)
			continue
		}
		if r.Name != "crc7" || r.ModName != "crc7" || r.Index.Vers == 0 || r.Index.Sym == 0 || r.Index.Str == 0 {
			t.Errorf("%s %v: name %q mod %q index %+v", c.arch, c.p.Form, r.Name, r.ModName, r.Index)
		}
		var vermagic bool
		for _, s := range r.Modinfo {
			vermagic = vermagic || strings.HasPrefix(s, "vermagic=")
		}
		if !vermagic {
			t.Errorf("%s: modinfo %q", c.arch, r.Modinfo)
		}
	}
	// The wrong architecture, word size or byte order is refused as the
	// kernel refuses it.
	r := Check(fixture(t, "s390x"), p613)
	if r.OK || r.Messages[0] != "Invalid ELF header type: 256 != 1" {
		t.Errorf("s390x read little-endian: %q", r.Messages)
	}
	r = Check(fixture(t, "i386"), Params{Form: Form61, Machine: elf.EM_386, Is64: true})
	if r.OK || r.Messages[0] != "Invalid ELF header len 4376" && !strings.HasPrefix(r.Messages[0], "Invalid ELF section header") {
		t.Logf("i386 read as 64-bit: %q", r.Messages)
	}
}

// each case edits the amd64 fixture and gives the expected outcome per
// form: the message (with %d for section indexes filled in by want), or
// "OK", or "CRASH".
type tcase struct {
	name string
	edit func(m *mod)
	want [3]string // Form61, Form64, Form613
}

func TestMessages(t *testing.T) {
	base := fixture(t, "amd64")
	m0 := open(t, base)
	shnum := m0.shnum()
	strIdx := m0.shstrndx()
	strSize := m0.secs[strIdx].Size
	text := m0.idx(".text")
	symtab := m0.idx(".symtab")
	comment := m0.idx(".comment")
	modinfo := m0.idx(".modinfo")
	this := m0.idx(".gnu.linkonce.this_module")
	cases := []tcase{
		{"truncated-ehdr", func(m *mod) { m.b = m.b[:40] }, [3]string{"Invalid ELF header len 40", "Invalid ELF header len 40", "Invalid ELF header len 40"}},
		{"magic", func(m *mod) { m.b[1] = 'X' }, [3]string{"Invalid ELF header magic: != \x7fELF", "Invalid ELF header magic: != \x7fELF", "Invalid ELF header magic: != \x7fELF"}},
		{"type", func(m *mod) { m.set16(0x10, 3) }, [3]string{"Invalid ELF header type: 3 != 1", "Invalid ELF header type: 3 != 1", "Invalid ELF header type: 3 != 1"}},
		{"machine", func(m *mod) { m.set16(0x12, 183) }, [3]string{"Invalid architecture in ELF header: 183", "Invalid architecture in ELF header: 183", "Invalid architecture in ELF header: 183"}},
		{"shentsize", func(m *mod) { m.set16(0x3a, 40) }, [3]string{"Invalid ELF section header size", "Invalid ELF section header size", "Invalid ELF section header size"}},
		{"truncated-half", func(m *mod) { m.b = m.b[:len(m.b)/2] }, [3]string{"Invalid ELF section header overflow", "Invalid ELF section header overflow", "Invalid ELF section header overflow"}},
		{"shoff-past-end", func(m *mod) { m.set64(0x28, uint64(len(m.b))) }, [3]string{"Invalid ELF section header overflow", "Invalid ELF section header overflow", "Invalid ELF section header overflow"}},
		{"shnum-huge", func(m *mod) { m.set16(0x3c, 0xffff) }, [3]string{"Invalid ELF section header overflow", "Invalid ELF section header overflow", "Invalid ELF section header overflow"}},
		{"shstrndx-0", func(m *mod) { m.set16(0x3e, 0) }, [3]string{
			fmt.Sprintf("Invalid ELF section name index: 0 || e_shstrndx (0) >= e_shnum (%d)", shnum),
			fmt.Sprintf("Invalid ELF section name index: 0 || e_shstrndx (0) >= e_shnum (%d)", shnum),
			fmt.Sprintf("Invalid ELF section name index: 0 || e_shstrndx (0) >= e_shnum (%d)", shnum)}},
		{"shstrndx-shnum", func(m *mod) { m.set16(0x3e, uint64(shnum)) }, [3]string{
			fmt.Sprintf("Invalid ELF section name index: %d || e_shstrndx (%d) >= e_shnum (%d)", shnum, shnum, shnum),
			fmt.Sprintf("Invalid ELF section name index: %d || e_shstrndx (%d) >= e_shnum (%d)", shnum, shnum, shnum),
			fmt.Sprintf("Invalid ELF section name index: %d || e_shstrndx (%d) >= e_shnum (%d)", shnum, shnum, shnum)}},
		{"shstrtab-past-end", func(m *mod) { m.set64(m.hdr(strIdx)+shOffset, uint64(len(m.b))) }, [3]string{
			"Invalid ELF section hdr(type 3)", "Invalid ELF section hdr(type 3)",
			fmt.Sprintf("Invalid ELF section in module (section %d type 3)", strIdx)}},
		{"shstrtab-empty", func(m *mod) { m.set64(m.hdr(strIdx)+shSize, 0) }, [3]string{
			"empty section name table", "empty section name table", "empty section name table"}},
		{"shstrtab-no-nul", func(m *mod) { s := m.secs[strIdx]; m.b[s.Offset+s.Size-1] = 'X' }, [3]string{
			"ELF Spec violation: section name table isn't null terminated", "ELF Spec violation: section name table isn't null terminated",
			"ELF Spec violation: section name table isn't null terminated"}},
		{"shstrtab-progbits", func(m *mod) { m.set32(m.hdr(strIdx)+shType, 1) }, [3]string{"OK", "OK", "Invalid ELF section name table type: 1"}},
		{"section0", func(m *mod) { m.set64(m.hdr(0)+shSize, 8) }, [3]string{
			"ELF Spec violation: section 0 type(0)!=SH_NULL or non-zero len or addr", "ELF Spec violation: section 0 type(0)!=SH_NULL or non-zero len or addr",
			"ELF Spec violation: section 0 type(0)!=SH_NULL or non-zero len or addr"}},
		{"symtab-link-0", func(m *mod) { m.set32(m.hdr(symtab)+shLink, 0) }, [3]string{
			fmt.Sprintf("Invalid ELF sh_link!=SHN_UNDEF(0) or (sh_link(0) >= hdr->e_shnum(%d)", shnum),
			fmt.Sprintf("Invalid ELF sh_link!=SHN_UNDEF(0) or (sh_link(0) >= hdr->e_shnum(%d)", shnum),
			fmt.Sprintf("Invalid ELF sh_link!=SHN_UNDEF(0) or (sh_link(0) >= hdr->e_shnum(%d)", shnum)}},
		{"symtab-link-progbits", func(m *mod) { m.set32(m.hdr(symtab)+shLink, uint64(text)) }, [3]string{"OK", "OK", "Invalid ELF symbol string table type: 1"}},
		{"text-past-end", func(m *mod) { m.set64(m.hdr(text)+shOffset, uint64(len(m.b))) }, [3]string{
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", text),
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", text),
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", text)}},
		{"modinfo-size-wraps", func(m *mod) { m.set64(m.hdr(modinfo)+shSize, 0xffffffffffff0000) }, [3]string{
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", modinfo),
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", modinfo),
			fmt.Sprintf("Invalid ELF section in module (section %d type 1)", modinfo)}},
		{"text-name-oob", func(m *mod) { m.set32(m.hdr(text)+shName, strSize) }, [3]string{
			fmt.Sprintf("Invalid ELF section name in module (section %d type 1)", text),
			fmt.Sprintf("Invalid ELF section name in module (section %d type 1)", text),
			fmt.Sprintf("Invalid ELF section name in module (section %d type 1)", text)}},
		{"comment-name-oob", func(m *mod) { m.set32(m.hdr(comment)+shName, strSize+1) }, [3]string{"OK", "OK",
			fmt.Sprintf("Invalid ELF section name in module (section %d type 1)", comment)}},
		{"comment-name-past-file", func(m *mod) { m.set32(m.hdr(comment)+shName, 0xfffffff0) }, [3]string{"OK", "CRASH",
			fmt.Sprintf("Invalid ELF section name in module (section %d type 1)", comment)}},
		// A SHT_NULL ALLOC section's name is not checked by any form; the
		// name lookups read it.
		{"null-alloc-name-past-file", func(m *mod) {
			m.set32(m.hdr(comment)+shType, 0)
			m.set64(m.hdr(comment)+shFlags, 2)
			m.set32(m.hdr(comment)+shName, 0xfffffff0)
		}, [3]string{"CRASH", "CRASH", "CRASH"}},
		{"no-symtab", func(m *mod) { m.set32(m.hdr(symtab)+shType, 1) }, [3]string{
			"crc7: module has no symbols (stripped?)", "crc7: module has no symbols (stripped?)", "crc7: module has no symbols (stripped?)"}},
		{"two-symtabs", func(m *mod) { m.set32(m.hdr(comment)+shType, 2); m.set32(m.hdr(comment)+shLink, uint64(strIdx)) }, [3]string{
			"OK", "crc7: module has no symbols (stripped?)", "crc7: module has no symbols (stripped?)"}},
		{"no-this-module", func(m *mod) { m.rename(".gnu.linkonce.this_module", ".gnu.linkonce.this_modulX") }, [3]string{
			"crc7: No module found in object", "module crc7: Only one .gnu.linkonce.this_module section must exist.",
			"module crc7: Exactly one .gnu.linkonce.this_module section must exist."}},
		{"no-this-module-no-modinfo", func(m *mod) {
			m.rename(".gnu.linkonce.this_module", ".gnu.linkonce.this_modulX")
			m.rename(".modinfo", ".modinfX")
		}, [3]string{
			"(missing .modinfo section or name field): No module found in object",
			"module (missing .modinfo section or name field): Only one .gnu.linkonce.this_module section must exist.",
			"module (missing .modinfo section or name field): Exactly one .gnu.linkonce.this_module section must exist."}},
		{"this-module-not-alloc", func(m *mod) { m.set64(m.hdr(this)+shFlags, 0) }, [3]string{
			"crc7: No module found in object", "module crc7: .gnu.linkonce.this_module must occupy memory during process execution",
			"module crc7: .gnu.linkonce.this_module must occupy memory during process execution"}},
		{"this-module-nobits", func(m *mod) { m.set32(m.hdr(this)+shType, 8) }, [3]string{
			"OK", "module crc7: Only one .gnu.linkonce.this_module section must exist.",
			"module crc7: .gnu.linkonce.this_module section must have a size set"}},
		{"two-modinfo", func(m *mod) { m.rename(".comment", ".modinfo") }, [3]string{"OK", "Only one .modinfo section must exist.", "Only one .modinfo section must exist."}},
		{"no-modinfo", func(m *mod) { m.rename(".modinfo", ".modinfX") }, [3]string{"OK", "OK", "OK"}},
		{"modinfo-not-alloc", func(m *mod) { m.set64(m.hdr(modinfo)+shFlags, 0) }, [3]string{"OK", "OK", "OK"}},
		{"modinfo-no-nul", func(m *mod) { s := m.secs[modinfo]; m.b[s.Offset+s.Size-1] = 'X' }, [3]string{"OK", "OK", "OK"}},
	}
	for _, c := range cases {
		for fi, p := range []Params{p61, p64, p613} {
			m := open(t, base)
			c.edit(m)
			r := Check(m.b, p)
			got := "OK"
			switch {
			case r.Crash != "":
				got = "CRASH"
			case !r.OK:
				if len(r.Messages) != 1 || r.Errno != "ENOEXEC" || r.Check == "" {
					t.Errorf("%s %v: refused with %q errno %q check %q", c.name, p.Form, r.Messages, r.Errno, r.Check)
					continue
				}
				got = r.Messages[0]
			case len(r.Messages) != 0:
				t.Errorf("%s %v: loads with messages %q", c.name, p.Form, r.Messages)
			}
			if got != c.want[fi] {
				t.Errorf("%s %v: got %q, want %q", c.name, p.Form, got, c.want[fi])
			}
		}
	}
	// Kernel's view of names without the reader.
	m := open(t, base)
	m.rename(".modinfo", ".modinfX")
	r := Check(m.b, p61)
	if r.Index.Info != 0 || r.Name != "crc7" || r.ModName != "crc7" || r.Modinfo != nil {
		t.Errorf("no .modinfo: name from struct module: %+v %q", r.Index, r.Name)
	}
	m = open(t, base)
	s := m.secs[modinfo]
	m.b[s.Offset+s.Size-1] = 'X'
	r = Check(m.b, p613)
	if last := r.Modinfo[len(r.Modinfo)-1]; !strings.HasSuffix(last, "X") && len(r.Notes) == 0 {
		t.Errorf("modinfo without NUL: last %q notes %q", last, r.Notes)
	}
	// struct module's name without NUL: read on, noted.
	m = open(t, base)
	for i := 0; i < 56; i++ {
		m.b[int(m.secs[this].Offset)+24+i] = 'a'
	}
	r = Check(m.b, p613)
	if !r.OK || len(r.ModName) < 56 || len(r.Notes) == 0 {
		t.Errorf("name without NUL: %q %q", r.ModName, r.Notes)
	}
	// IgnoreModversions pretends there is no __versions.
	if r := Check(base, Params{Form: Form61, Machine: elf.EM_X86_64, Is64: true, IgnoreModversions: true}); r.Index.Vers != 0 {
		t.Errorf("vers %d with IgnoreModversions", r.Index.Vers)
	}
	// sizeof(struct module) is compared from 6.4 on.
	sz := m0.secs[this].Size
	for fi, p := range []Params{p61, p64, p613} {
		p.ModuleStructSize = sz + 64
		r := Check(base, p)
		if fi == 0 && !r.OK || fi > 0 && (r.OK || r.Check != CheckModuleStructSize ||
			r.Messages[0] != "module crc7: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time") {
			t.Errorf("%v struct module size: %q", p.Form, r.Messages)
		}
	}
}

// TestTruncationSweep cuts three committed modules every 64 bytes: every
// cut gets a verdict (never a panic), and a cut before the section headers
// is "Invalid ELF section header overflow" in every form.
func TestTruncationSweep(t *testing.T) {
	n := 0
	for _, arch := range []string{"amd64", "arm64", "ppc64el"} {
		b := fixture(t, arch)
		m := Params{Form: Form61, Machine: elf.EM_X86_64, Is64: true}
		switch arch {
		case "arm64":
			m.Machine = elf.EM_AARCH64
		case "ppc64el":
			m.Machine = elf.EM_PPC64
		}
		shoff := int(binary.LittleEndian.Uint64(b[0x28:]))
		for _, f := range []Form{Form61, Form64, Form613} {
			m.Form = f
			for cut := 0; cut < len(b); cut += 64 {
				r := Check(b[:cut], m)
				n++
				if r.OK {
					// Only the signature trailer may be cut off.
					if cut < shoff {
						t.Fatalf("%s %v cut %d: accepted", arch, f, cut)
					}
					continue
				}
				want := "Invalid ELF section header overflow"
				if cut < 64 {
					want = fmt.Sprintf("Invalid ELF header len %d", cut)
				}
				if cut < shoff && r.Messages[0] != want {
					t.Errorf("%s %v cut %d: %q", arch, f, cut, r.Messages)
				}
			}
		}
	}
	t.Logf("%d truncations judged", n)
}

func FuzzCheck(f *testing.F) {
	for _, arch := range []string{"amd64", "i386", "s390x"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "modules", arch, "crc7.ko"))
		if err == nil {
			f.Add(b, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, form uint8) {
		for _, p := range []Params{
			{Form: Form(form % 3), Machine: elf.EM_X86_64, Is64: true},
			{Form: Form(form % 3), Machine: elf.EM_386},
			{Form: Form(form % 3), Machine: elf.EM_S390, Is64: true, Order: binary.BigEndian},
		} {
			r := Check(b, p)
			if r.OK == (r.Errno != "" || r.Crash != "") {
				t.Fatalf("inconsistent result %+v", r)
			}
		}
	})
}
