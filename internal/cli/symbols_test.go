package cli

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
)

const crc7 = "../../testdata/modules/amd64/crc7.ko"

func symRun(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("kmodscope %v panicked: %v", args, r)
		}
	}()
	code := Main(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestSymbolsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"symbols"},
		{"symbols", "--undefined", "--exported", crc7},
		{"symbols", "--nm", "--json", crc7},
		{"symbols", "--nm", "--undefined", crc7},
		{"symbols", "-b", "/", crc7},
		{"symbols", "-b", "/", "-k", "6.1", crc7},
		{"symbols", "--no-such-flag", crc7},
		{"relocs"},
		{"relocs", "--readelf", "--json", crc7},
		{"relocs", "--readelf", crc7, ".text"},
	} {
		code, _, stderr := symRun(t, args...)
		if code != ExitUsage || !strings.Contains(stderr, "ERROR") {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and an error", args, code, stderr)
		}
	}
	for _, cmd := range []string{"symbols", "relocs"} {
		code, out, _ := symRun(t, cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Exit status") {
			t.Errorf("%s --help: exit %d, %q", cmd, code, out)
		}
	}
}

// badModules writes the malformed inputs both commands must refuse with
// one error line naming the file.
func badModules(t *testing.T) map[string]string {
	dir := t.TempDir()
	good := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64).Bytes()
	f, err := elfx.New(good)
	if err != nil {
		t.Fatal(err)
	}
	symtab := f.SymtabSection().Index
	rela := f.Section(".rela.gnu.linkonce.this_module").Index
	mut := func(fn func(b []byte) []byte) []byte { return fn(bytes.Clone(good)) }
	cases := map[string][]byte{
		"empty":         nil,
		"not-elf":       []byte("PK\x03\x04 a zip archive, not a module"),
		"truncated":     good[:len(good)/2],
		"symtab-size":   mut(func(b []byte) []byte { kotest.SetSectionSize(b, symtab, kotest.SectionSize(b, symtab)-5); return b }),
		"symtab-beyond": mut(func(b []byte) []byte { kotest.SetSectionOffset(b, symtab, 1<<40); return b }),
		"symtab-link":   mut(func(b []byte) []byte { kotest.SetShdr(b, symtab, kotest.ShLink, 1); return b }),
		"name-off": mut(func(b []byte) []byte {
			kotest.Patch(b, int(kotest.SectionOffset(b, symtab))+24*2, 0xff, 0xff, 0xff, 0x7f)
			return b
		}),
		"rela-size": mut(func(b []byte) []byte { kotest.SetSectionSize(b, rela, kotest.SectionSize(b, rela)-1); return b }),
		"rela-sym": mut(func(b []byte) []byte {
			kotest.Patch(b, int(kotest.SectionOffset(b, rela))+12, 0xff, 0xff, 0, 0)
			return b
		}),
		"huge-shnum":      mut(func(b []byte) []byte { kotest.SetShnum(b, 0xffff); return b }),
		"bad-compression": []byte("\xfd7zXZ\x00\x00\x04garbage garbage garbage"),
	}
	out := map[string]string{}
	for name, data := range cases {
		p := filepath.Join(dir, name+".ko")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out[name] = p
	}
	return out
}

func TestSymbolsRelocsBadInput(t *testing.T) {
	bad := badModules(t)
	for name, p := range bad {
		for _, args := range [][]string{{"symbols"}, {"symbols", "--nm"}, {"symbols", "--nm", "-a", "-n"}, {"symbols", "--undefined"}, {"symbols", "--exported"}, {"relocs"}, {"relocs", "--readelf"}} {
			// rela-* and name-off only break relocations or names: the
			// listing may still succeed where the data is not read.
			code, _, stderr := symRun(t, append(args, p)...)
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if code == 0 {
				if strings.HasPrefix(name, "rela-") && args[0] == "symbols" || name == "rela-sym" && args[0] == "symbols" {
					continue
				}
				t.Errorf("%s: %v: exit 0, want 1", name, args)
				continue
			}
			if code != ExitError || len(lines) != 1 || !strings.Contains(stderr, p) {
				t.Errorf("%s: %v: exit %d, stderr %q; want exit 1 and one line naming the file", name, args, code, stderr)
			}
		}
	}
	// JSON reports the error in the document and exits 1.
	code, out, _ := symRun(t, "symbols", "--json", bad["symtab-size"], crc7)
	var doc struct {
		Results []struct {
			File  string
			Error *string
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitError || len(doc.Results) != 2 || doc.Results[0].Error == nil || doc.Results[1].Error != nil {
		t.Errorf("--json with one bad module: exit %d, %v, %s", code, err, out)
	}
}

func TestSymbolsNMHeadersAndDynamic(t *testing.T) {
	i386 := "../../testdata/modules/i386/crc7.ko"
	code, out, stderr := symRun(t, "symbols", "--nm", "-D", crc7, i386)
	if code != 0 || out != "\n"+crc7+":\n\n"+i386+":\n" || strings.Count(stderr, "no symbols") != 2 {
		t.Errorf("-D: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	_, one, _ := symRun(t, "symbols", "--nm", crc7)
	_, two, _ := symRun(t, "symbols", "--nm", crc7, crc7)
	if two != "\n"+crc7+":\n"+one+"\n"+crc7+":\n"+one {
		t.Errorf("two files: headers not as nm prints them")
	}
	if !strings.Contains(one, "0000000000000000 D __this_module\n") || !strings.Contains(one, "                 U __x86_return_thunk\n") {
		t.Errorf("crc7 --nm:\n%s", one)
	}
}

func TestSymbolsJSONAndTable(t *testing.T) {
	code, out, stderr := symRun(t, "symbols", "--json", "-a", "-p", crc7)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Schema  string
		Results []symbolsResult
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	m, _ := ko.Open(crc7, nil)
	defer m.Close()
	raw, _ := m.ELF.Symbols()
	r := doc.Results[0]
	if doc.Schema != "kmodscope.symbols/v1" || len(r.Symbols) != len(raw)-1 {
		t.Fatalf("schema %q, %d symbols, want %d", doc.Schema, len(r.Symbols), len(raw)-1)
	}
	for i, s := range r.Symbols {
		if s.Index != i+1 {
			t.Fatalf("-p: symbol %d has index %d", i, s.Index)
		}
		if s.Name == "__this_module" && (s.NM != "D" || s.Section != ".gnu.linkonce.this_module" || s.Type != "OBJECT" || s.Binding != "GLOBAL" || s.Visibility != "DEFAULT") {
			t.Errorf("__this_module: %+v", s)
		}
		if s.Name == "__x86_return_thunk" && (s.NM != "U" || s.Section != "UND") {
			t.Errorf("__x86_return_thunk: %+v", s)
		}
	}
	code, table, _ := symRun(t, "symbols", crc7)
	if code != 0 || !strings.Contains(table, "crc7_be") || !strings.Contains(table, "NAME") {
		t.Errorf("table: exit %d\n%s", code, table)
	}
}

func TestSymbolsExported(t *testing.T) {
	code, out, _ := symRun(t, "symbols", "--exported", "--json", crc7)
	var doc struct{ Results []symbolsResult }
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatal(code, err)
	}
	m, _ := ko.Open(crc7, nil)
	defer m.Close()
	want, _ := m.Exports()
	got := doc.Results[0].Exported
	if len(got) != 2 || len(got) != len(want) {
		t.Fatalf("exports %+v, want %+v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Errorf("export %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	_, text, _ := symRun(t, "symbols", "--exported", crc7)
	if strings.Count(text, "\n") != 2 || !strings.Contains(text, "crc7_be_syndrome_table") {
		t.Errorf("text:\n%s", text)
	}
}

// On the complete Debian 6.1 tree: every symbol an in-tree module needs is
// exported by the target, with the CRC the module was built against.
func TestSymbolsUndefinedTarget(t *testing.T) {
	tree := "/var/cache/kmodscope/deb-6.1-amd64"
	marks, _ := filepath.Glob(filepath.Join(tree, ".complete-*"))
	if len(marks) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("%s is not complete", tree)
		}
		t.Skip("complete 6.1 tree not present")
	}
	rel := strings.TrimPrefix(filepath.Base(marks[0]), ".complete-")
	mods, _ := filepath.Glob(filepath.Join(tree, "lib/modules", rel, "kernel/drivers/net/ethernet/intel/e1000e/e1000e.ko*"))
	if len(mods) == 0 {
		t.Fatal("e1000e not in the tree")
	}
	code, out, stderr := symRun(t, "symbols", "--undefined", "--json", "-b", tree, "-k", rel, mods[0])
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct{ Results []symbolsResult }
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	us := doc.Results[0].Undefined
	if len(us) < 50 {
		t.Fatalf("%d undefined symbols", len(us))
	}
	gpl := 0
	for _, u := range us {
		if u.CRC == nil || u.Target == nil || !u.Target.Exported || u.Target.CRCMatch == nil || !*u.Target.CRCMatch {
			t.Errorf("%s: %+v target %+v", u.Name, u, u.Target)
		}
		if u.Target != nil && u.Target.GPLOnly {
			gpl++
		}
	}
	if gpl == 0 {
		t.Errorf("e1000e uses GPL-only symbols (e.g. pci_*), none reported")
	}
	_, text, _ := symRun(t, "symbols", "--undefined", "-b", tree, "-k", rel, mods[0])
	if !strings.Contains(text, "\tvmlinux") || strings.Contains(text, "MISMATCH") || strings.Contains(text, "not exported") {
		t.Errorf("text:\n%s", text)
	}
}

func TestRelocsCommand(t *testing.T) {
	code, out, _ := symRun(t, "relocs", crc7, ".text")
	if code != 0 || !strings.HasPrefix(out, ".rela.text (RELA, 2 entries) patches .text\n") || !strings.Contains(out, "R_X86_64_PLT32") || !strings.Contains(out, "__x86_return_thunk - 0x4") {
		t.Errorf("relocs crc7 .text: exit %d\n%s", code, out)
	}
	code, _, stderr := symRun(t, "relocs", crc7, ".no-such")
	if code != ExitError || !strings.Contains(stderr, ".no-such") {
		t.Errorf("unknown section: exit %d %q", code, stderr)
	}
	code, out, _ = symRun(t, "relocs", "--json", "../../testdata/modules/mips64el/crc7.ko", "__ksymtab")
	var doc struct {
		Schema  string
		Results []relocsResult
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatal(code, err)
	}
	secs := doc.Results[0].Sections
	if doc.Schema != "kmodscope.relocs/v1" || len(secs) != 1 || secs[0].Name != ".rela__ksymtab" || secs[0].Entries[0].TypeName != "R_MIPS_64" || secs[0].Entries[0].Type2Name != "R_MIPS_NONE" {
		t.Errorf("mips64el JSON: %s", out)
	}
}

// Truncations and byte corruptions of real modules (x86-64, MIPS64 big
// relocation info, ARM REL): both commands either succeed or print one
// error line naming the file, exit 1, never panic.
func TestSymbolsRelocsMutations(t *testing.T) {
	dir := t.TempDir()
	n := 0
	for _, src := range []string{crc7, "../../testdata/modules/mips64el/crc7.ko", "../../testdata/modules/armhf/crc7.ko", "../../testdata/modules/s390x/crc7.ko"} {
		good, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		var variants [][]byte
		for i := 1; i < 48; i++ {
			variants = append(variants, good[:len(good)*i/48])
		}
		seed := uint32(7)
		for i := 0; i < 64; i++ {
			b := bytes.Clone(good)
			for j := 0; j < 4; j++ {
				seed = seed*1664525 + 1013904223
				off := int(seed>>8) % len(b)
				// Bias towards the section header table at the end.
				if j%2 == 0 {
					off = len(b) - 1 - int(seed>>12)%min(len(b), 2048)
				}
				b[off] ^= byte(seed >> 24)
			}
			variants = append(variants, b)
		}
		for i, data := range variants {
			p := filepath.Join(dir, fmt.Sprintf("m%d-%d.ko", n, i))
			os.WriteFile(p, data, 0o644)
			for _, args := range [][]string{{"symbols", "--nm", "-a"}, {"symbols", "--undefined"}, {"symbols", "--exported"}, {"relocs", "--readelf"}, {"relocs", "--json"}} {
				code, _, stderr := symRun(t, append(args, p)...)
				if code != 0 && (code != ExitError || strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, p)) && !(args[1] == "--json" && code == ExitError) {
					t.Errorf("%v %s: exit %d, stderr %q", args, p, code, stderr)
				}
			}
		}
		n++
	}
}
