package disasm_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/disasm"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
)

func fixtures(t testing.TB) []string {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no modules in ../testdata/modules")
	}
	return files
}

// coverage checks the structural invariants of a walk: every byte of every
// code section belongs to exactly one line, in order, and every relocation
// inside a code section is reported exactly once, after the line it falls in.
type coverage struct {
	t        *testing.T
	name     string
	sec      *elfx.Section
	next     uint64
	relocs   int
	unknown  int
	insns    int
	sections int
}

func (c *coverage) Section(s *elfx.Section) {
	if c.sec != nil && c.next < c.sec.Size {
		c.t.Errorf("%s %s: walk stopped at %#x of %#x", c.name, c.sec.Name, c.next, c.sec.Size)
	}
	c.sec, c.next = s, 0
	c.sections++
}

func (c *coverage) Function(fn *disasm.Function) {
	if fn.Offset != c.next && fn.Offset > c.next {
		c.t.Errorf("%s %s: block %s at %#x leaves a gap after %#x", c.name, fn.Section, fn.Label, fn.Offset, c.next)
	}
	c.next = fn.Offset
}

func (c *coverage) Insn(in *disasm.Insn) {
	if in.Offset != c.next {
		c.t.Errorf("%s %s: line at %#x, want %#x", c.name, c.sec.Name, in.Offset, c.next)
	}
	if len(in.Code) == 0 {
		c.t.Errorf("%s %s: empty line at %#x", c.name, c.sec.Name, in.Offset)
	}
	for _, r := range in.Relocs {
		if r.Offset >= in.Offset+uint64(len(in.Code)) {
			c.t.Errorf("%s %s: relocation at %#x reported after %#x+%d", c.name, c.sec.Name, r.Offset, in.Offset, len(in.Code))
		}
	}
	c.relocs += len(in.Relocs)
	c.next = in.Offset + uint64(len(in.Code))
	if !in.Known && !in.Zeros {
		c.unknown++
	}
	c.insns++
}

func TestFixturesCoverage(t *testing.T) {
	n := 0
	for _, p := range fixtures(t) {
		m, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := disasm.New(m.ELF)
		if errors.Is(err, disasm.ErrNoDecoder) {
			m.Close()
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c := &coverage{t: t, name: p}
		if err := d.Walk(nil, c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		want := 0
		for _, s := range disasm.CodeSections(m.ELF) {
			for _, rs := range m.ELF.RelocSections(s.Index) {
				rr, _ := m.ELF.Relocs(rs)
				for _, r := range rr {
					if r.Offset < s.Size {
						want++
					}
				}
			}
		}
		if c.relocs != want {
			t.Errorf("%s: %d relocations reported, %d in code sections", p, c.relocs, want)
		}
		if c.sections != len(disasm.CodeSections(m.ELF)) || c.insns == 0 {
			t.Errorf("%s: %d sections, %d lines", p, c.sections, c.insns)
		}
		if (m.ELF.Machine == elf.EM_X86_64 || m.ELF.Machine == elf.EM_386) && c.unknown != 0 {
			t.Errorf("%s: %d unknown instructions", p, c.unknown)
		}
		n++
		m.Close()
	}
	if n == 0 {
		t.Fatal("no fixture has a decoder")
	}
}

func TestSites(t *testing.T) {
	m, err := ko.Open("../testdata/modules/amd64/usb-storage.ko", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	d, err := disasm.New(m.ELF)
	if err != nil {
		t.Fatal(err)
	}
	fns, err := d.Functions(nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, f := range fns {
		for _, in := range f.Instructions {
			for _, s := range in.Sites {
				got[s]++
				switch s {
				case "return_thunk":
					if !strings.HasPrefix(in.Mnemonic, "jmp") && !strings.HasPrefix(in.Mnemonic, "ret") && !strings.HasPrefix(in.Mnemonic, "j") {
						t.Errorf("%s+%#x: return site on %s %s", f.Label, in.Offset, in.Mnemonic, in.Operands)
					}
				case "retpoline":
					if len(in.Relocations) == 0 || !strings.Contains(in.Relocations[0].Symbol, "indirect_thunk") {
						t.Errorf("%s+%#x: retpoline site without a thunk relocation: %s %s %v", f.Label, in.Offset, in.Mnemonic, in.Operands, in.Relocations)
					}
				}
			}
		}
	}
	// Each table entry marks one instruction: the counts are the number of
	// relocations of the tables (readelf -r agrees, see TestSiteCounts).
	for _, k := range []string{"return_thunk", "retpoline", "jump_label", "jump_label-target", "static_call"} {
		if got[k] == 0 {
			t.Errorf("no %s site in usb-storage.ko (%v)", k, got)
		}
	}
}

// TestSiteCounts compares the site marks with the entries readelf -r shows
// in each table.
func TestSiteCounts(t *testing.T) {
	readelf, err := exec.LookPath("readelf")
	if err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("readelf not installed")
		}
		t.Skip("readelf not installed")
	}
	p := "../testdata/modules/amd64/usb-storage.ko"
	out, err := exec.Command(readelf, "-rW", p).Output()
	if err != nil {
		t.Fatal(err)
	}
	perTable := map[string]int{}
	cur := ""
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Relocation section '") {
			cur = strings.TrimSuffix(strings.SplitN(l[len("Relocation section '"):], "'", 2)[0], "")
			continue
		}
		if strings.Contains(l, "R_X86_64_") {
			perTable[cur]++
		}
	}
	m, _ := ko.Open(p, nil)
	defer m.Close()
	d, _ := disasm.New(m.ELF)
	fns, _ := d.Functions(nil)
	got := map[string]int{}
	for _, f := range fns {
		for _, in := range f.Instructions {
			for _, s := range in.Sites {
				got[s]++
			}
		}
	}
	checks := []struct {
		table, mark string
		per         int
	}{
		{".rela.return_sites", "return_thunk", 1},
		{".rela.retpoline_sites", "retpoline", 1},
		{".rela__jump_table", "jump_label", 3},
		{".rela.static_call_sites", "static_call", 2},
	}
	for _, c := range checks {
		if want := perTable[c.table] / c.per; got[c.mark] != want {
			t.Errorf("%s: %d marks, readelf shows %d entries (%d relocations)", c.mark, got[c.mark], want, perTable[c.table])
		}
	}
}

// x86Golden are encodings x86asm does not know or prints differently,
// with binutils 2.40's text; TestX86GoldenObjdump re-checks them against
// the installed objdump.
var x86Golden = []struct {
	mode int
	code string
	text string
}{
	{64, "f30f1efa", "endbr64"},
	{32, "f30f1efb", "endbr32"},
	{64, "0f78c0", "vmread %rax,%rax"},
	{64, "440f78e0", "vmread %r12,%rax"},
	{64, "0f79c2", "vmwrite %rdx,%rax"},
	{64, "f34c0f38f606", "adox (%rsi),%r8"},
	{64, "664d0f38f6cd", "adcx %r13,%r9"},
	{64, "0f01ca", "clac"},
	{64, "0f01cb", "stac"},
	{64, "0f01c1", "vmcall"},
	{64, "0f01d9", "vmmcall"},
	{64, "f30fa7d0", "repz xcrypt-cbc"},
	{64, "660f38810424", "invvpid (%rsp),%rax"},
	{64, "660fc73424", "vmclear (%rsp)"},
	{64, "0fc7742418", "vmptrld 0x18(%rsp)"},
	{64, "f30fc7f8", "rdpid %rax"},
	{64, "660fae3f", "clflushopt (%rdi)"},
	{64, "c5f877", "vzeroupper"},
	{64, "6690", "xchg %ax,%ax"},
	{64, "66662e0f1f840000000000", "data16 cs nopw 0x0(%rax,%rax,1)"},
	{64, "0f1f4000", "nopl 0x0(%rax)"},
	{64, "48b80300000100000200", "movabs $0x2000001000003,%rax"},
	{64, "83e2fd", "and $0xfffffffd,%edx"},
	{64, "4883e4f0", "and $0xfffffffffffffff0,%rsp"},
	{64, "4863d6", "movslq %esi,%rdx"},
	{64, "4898", "cltq"},
	{64, "c3", "ret"},
	{64, "f3c3", "repz ret"},
	{64, "ff7010", "push 0x10(%rax)"},
	{64, "418d4424ff", "lea -0x1(%r12),%eax"},
	{64, "65488b042528000000", "mov %gs:0x28,%rax"},
	{64, "c7050000000001000000", "movl $0x1,0x0(%rip) # 0xa"},
	{64, "c5f96f0510000000", "vmovdqa 0x10(%rip),%xmm0 # 0x18"},
	{64, "3effe0", "notrack jmp *%rax"},
	{64, "c462bbf60f", "mulx (%rdi),%r8,%r9"},
	{64, "f2440f38f0c3", "crc32 %bl,%r8d"},
	{64, "f2480f38f1c3", "crc32 %rbx,%rax"},
	{64, "0f01c8", "monitor %rax,%ecx,%edx"},
	{64, "0f01c9", "mwait %eax,%ecx"},
	{64, "c4e37944d611", "vpclmulhqhqdq %xmm6,%xmm0,%xmm2"},
	{64, "660f3a44c100", "pclmullqlqdq %xmm1,%xmm0"},
	{64, "660f3a44c110", "pclmullqhqdq %xmm1,%xmm0"},
	{64, "660f3a44c105", "pclmulqdq $0x5,%xmm1,%xmm0"},
	{64, "c46260f2d8", "andn %eax,%ebx,%r11d"},
	{32, "8db42600000000", "lea 0x0(%esi,%eiz,1),%esi"},
	{32, "a100000000", "mov 0x0,%eax"},
	{32, "66250080", "and $0x8000,%ax"},
}

func unhex(t *testing.T, s string) []byte {
	b := make([]byte, len(s)/2)
	for i := range b {
		var v byte
		for _, c := range s[2*i : 2*i+2] {
			v <<= 4
			switch {
			case c >= '0' && c <= '9':
				v |= byte(c - '0')
			default:
				v |= byte(c-'a') + 10
			}
		}
		b[i] = v
	}
	return b
}

func x86Arch(mode int) disasm.Arch {
	if mode == 64 {
		return disasm.ArchFor(elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian, 0)
	}
	return disasm.ArchFor(elf.EM_386, elf.ELFCLASS32, binary.LittleEndian, 0)
}

func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

func TestX86Golden(t *testing.T) {
	nosym := func(uint64) string { return "" }
	for _, g := range x86Golden {
		code := unhex(t, g.code)
		in := x86Arch(g.mode).Decode(code, 0, nosym)
		got := squash(in.Mnemonic + " " + in.Operands)
		if got != g.text || in.Len != len(code) || !in.Known {
			t.Errorf("%d-bit %s: %q (len %d, known %v), want %q (len %d)", g.mode, g.code, got, in.Len, in.Known, g.text, len(code))
		}
	}
}

// TestX86GoldenObjdump checks the golden table itself against objdump -D
// on raw bytes.
func TestX86GoldenObjdump(t *testing.T) {
	tool, err := exec.LookPath("objdump")
	if err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("objdump not installed")
		}
		t.Skip("objdump not installed")
	}
	dir := t.TempDir()
	for i, g := range x86Golden {
		p := filepath.Join(dir, "b")
		os.WriteFile(p, unhex(t, g.code), 0o644)
		m := "i386:x86-64"
		if g.mode == 32 {
			m = "i386"
		}
		out, err := exec.Command(tool, "-D", "-b", "binary", "-m", m, p).Output()
		if err != nil {
			t.Fatalf("%d: %v", i, err)
		}
		var text string
		for _, l := range strings.Split(string(out), "\n") {
			if f := strings.SplitN(l, "\t", 3); len(f) == 3 && strings.TrimSpace(f[0]) == "0:" {
				text = f[2]
			}
		}
		if squash(text) != g.text {
			t.Errorf("golden %s: objdump says %q, table %q", g.code, squash(text), g.text)
		}
	}
}

// synthetic builds a module whose .text exercises the engine's objdump
// rules: code before the first symbol, symbols sharing an address, an
// object symbol in code, zero runs, relocations of every shape.
func synthetic(class elf.Class, machine elf.Machine) []byte {
	b := kotest.Minimal(class, binary.LittleEndian, machine)
	code := []byte{
		0x90, 0x90, // before any symbol
		0xe8, 0, 0, 0, 0, // call with relocation
		0xeb, 0xfe, // jmp to itself
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // 12 zero bytes: "..."
		0xc3,
		'a', 'b', 'c', 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, // object symbol
		0x0f, 0x0b, // ud2
		0, 0, // two zero bytes at the end
	}
	text := b.AddSection(kotest.Section{Name: ".text.syn", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: code, Addralign: 16})
	b.AddSymbol(kotest.Symbol{Bind: elf.STB_LOCAL, Type: elf.STT_SECTION, Section: text})
	f1 := b.AddSymbol(kotest.Symbol{Name: "f1", Value: 2, Size: 20, Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC, Section: text})
	b.AddSymbol(kotest.Symbol{Name: "alias_f1", Value: 2, Bind: elf.STB_LOCAL, Type: elf.STT_NOTYPE, Section: text})
	b.AddSymbol(kotest.Symbol{Name: "table", Value: 22, Size: 21, Bind: elf.STB_LOCAL, Type: elf.STT_OBJECT, Section: text})
	b.AddSymbol(kotest.Symbol{Name: "f2", Value: 43, Size: 4, Bind: elf.STB_LOCAL, Type: elf.STT_FUNC, Section: text})
	ext := b.AddSymbol(kotest.Symbol{Name: "ext", Bind: elf.STB_GLOBAL, Type: elf.STT_NOTYPE, Section: int(elf.SHN_UNDEF)})
	pc32 := uint32(elf.R_X86_64_PLT32)
	abs := uint32(elf.R_X86_64_64)
	if machine == elf.EM_386 {
		pc32, abs = uint32(elf.R_386_PC32), uint32(elf.R_386_32)
	}
	relocs := []kotest.Rela{
		{Offset: 3, Sym: uint32(ext), Type: pc32, Addend: -4},
		{Offset: 8, Sym: uint32(f1), Type: abs, Addend: 0x10},
		{Offset: 25, Sym: 1, Type: abs, Addend: -0x20},
		{Offset: 44, Sym: 0, Type: abs},
	}
	if class == elf.ELFCLASS64 {
		b.AddRela(text, relocs)
	} else {
		b.AddRel(text, relocs)
	}
	return b.Bytes()
}

func TestSyntheticAgainstObjdump(t *testing.T) {
	tool, err := exec.LookPath("objdump")
	if err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("objdump not installed")
		}
		t.Skip("objdump not installed")
	}
	for _, c := range []struct {
		class   elf.Class
		machine elf.Machine
	}{{elf.ELFCLASS64, elf.EM_X86_64}, {elf.ELFCLASS32, elf.EM_386}} {
		img := synthetic(c.class, c.machine)
		p := filepath.Join(t.TempDir(), "syn.ko")
		if err := os.WriteFile(p, img, 0o644); err != nil {
			t.Fatal(err)
		}
		want, err := exec.Command(tool, "-d", "-r", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		m, err := ko.New(img)
		if err != nil {
			t.Fatal(err)
		}
		d, err := disasm.New(m.ELF)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		if err := d.WriteText(&got, p, nil, disasm.TextOptions{Objdump: true}); err != nil {
			t.Fatal(err)
		}
		if got.String() != string(want) {
			t.Errorf("%s: differs from objdump -d -r\n--- ours\n%s\n--- objdump\n%s", c.machine, got.String(), want)
		}
		for _, sym := range []string{"f1", "f2", "table"} {
			want, err := exec.Command(tool, "-d", "-r", "--disassemble="+sym, p).Output()
			if err != nil {
				t.Fatal(err)
			}
			got.Reset()
			if err := d.WriteText(&got, p, []string{sym}, disasm.TextOptions{Objdump: true}); err != nil {
				t.Fatal(err)
			}
			// objdump prints every section header even when the symbol
			// is elsewhere; compare from the symbol on.
			w := string(want)
			g := got.String()
			if i := strings.Index(w, "\n0"); i >= 0 {
				w = w[i:]
			}
			if i := strings.Index(g, "\n0"); i >= 0 {
				g = g[i:]
			}
			if g != w {
				t.Errorf("%s --disassemble=%s:\n--- ours\n%s\n--- objdump\n%s", c.machine, sym, g, w)
			}
		}
	}
}

// TestBadInput: malformed modules give an error or a walk, never a panic.
func TestBadInput(t *testing.T) {
	good := synthetic(elf.ELFCLASS64, elf.EM_X86_64)
	var inputs [][]byte
	for _, p := range fixtures(t) {
		if !strings.HasSuffix(p, ".ko") {
			continue
		}
		b, _ := os.ReadFile(p)
		for _, n := range []int{len(b) / 2, len(b) - 1, 64} {
			inputs = append(inputs, b[:n])
		}
	}
	// Flip bytes across the synthetic module, headers and tables included.
	for off := 0; off < len(good); off += 7 {
		for _, v := range []byte{0xff, 0x00, 0x80} {
			b := append([]byte(nil), good...)
			b[off] = v
			inputs = append(inputs, b)
		}
	}
	errs := 0
	for _, b := range inputs {
		m, err := ko.NewBytes(b, nil)
		if err != nil {
			errs++
			continue
		}
		d, err := disasm.New(m.ELF)
		if err == nil {
			err = d.WriteText(io.Discard, "x.ko", nil, disasm.TextOptions{})
		}
		if err == nil {
			_, err = d.Functions([]string{"f1"})
		}
		if err != nil {
			errs++
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error: %q", err)
			}
		}
	}
	if errs == 0 {
		t.Error("no malformed input was rejected")
	}
}

func FuzzDisasm(f *testing.F) {
	for _, p := range fixtures(f) {
		b, err := os.ReadFile(p)
		if err == nil && len(b) < 1<<20 {
			f.Add(b)
		}
	}
	f.Add(synthetic(elf.ELFCLASS64, elf.EM_X86_64))
	f.Add(synthetic(elf.ELFCLASS32, elf.EM_386))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ko.NewBytes(b, &ko.Options{MaxSize: 8 << 20})
		if err != nil {
			return
		}
		d, err := disasm.New(m.ELF)
		if err != nil {
			return
		}
		d.WriteText(io.Discard, "f.ko", nil, disasm.TextOptions{})
		d.Functions([]string{"init_module"})
	})
}

func FuzzX86Decode(f *testing.F) {
	for _, g := range x86Golden {
		f.Add(unhex(nil, g.code), g.mode == 64)
	}
	f.Fuzz(func(t *testing.T, code []byte, is64 bool) {
		if len(code) == 0 {
			return
		}
		mode := 32
		if is64 {
			mode = 64
		}
		in := x86Arch(mode).Decode(code, 0x100, func(uint64) string { return "<x>" })
		if in.Len < 1 || in.Len > len(code) || in.Len > 15 {
			t.Fatalf("% x: length %d", code, in.Len)
		}
	})
}

func BenchmarkWriteText(b *testing.B) {
	raw, err := os.ReadFile("../testdata/modules/amd64/e1000e.ko")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for i := 0; i < b.N; i++ {
		m, err := ko.New(raw)
		if err != nil {
			b.Fatal(err)
		}
		d, err := disasm.New(m.ELF)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.WriteText(io.Discard, "e1000e.ko", nil, disasm.TextOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
