package cli

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/kotest"
)

func secRun(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = Main(args, nil, &out, &errb)
	return out.String(), errb.String(), code
}

const secFixture = "../../testdata/modules/amd64/crc7.ko"
const secFixtureXZ = "../../testdata/modules/amd64-6.12/crc7.ko.xz"

func TestSectionsJSON(t *testing.T) {
	out, stderr, code := secRun("sections", "--json", "--kernel-version", "6.12", secFixture, secFixtureXZ)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Schema  string `json:"schema"`
		Kernel  string `json:"kernel_version"`
		Results []struct {
			File        string `json:"file"`
			Compression string `json:"compression"`
			Model       string `json:"layout_model"`
			Sections    []struct {
				Name   string `json:"name"`
				Class  string `json:"class"`
				Region string `json:"region"`
				Role   string `json:"role"`
				Flags  string `json:"flags"`
				Type   string `json:"type"`
			} `json:"sections"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "kmodscope.sections/v1" || doc.Kernel != "6.12" || len(doc.Results) != 2 {
		t.Fatalf("doc %+v", doc)
	}
	if doc.Results[1].Compression != "xz" || doc.Results[0].Model != "6.4+" {
		t.Errorf("results %+v", doc.Results)
	}
	found := 0
	for _, s := range doc.Results[0].Sections {
		switch s.Name {
		case ".text":
			found++
			if s.Class != "core_text" || s.Region != "MOD_TEXT" || s.Flags != "AX" || s.Type != "PROGBITS" {
				t.Errorf(".text: %+v", s)
			}
		case ".gnu.linkonce.this_module":
			found++
			if s.Class != "core_data" || !strings.Contains(s.Role, "module descriptor") {
				t.Errorf("this_module: %+v", s)
			}
		case ".modinfo":
			found++
			if s.Class != "not_loaded" {
				t.Errorf(".modinfo: %+v", s)
			}
		}
	}
	if found != 3 {
		t.Errorf("found %d of 3 sections", found)
	}
}

func TestSizeLoaded(t *testing.T) {
	out, stderr, code := secRun("size", "--loaded", "--json", secFixture)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc struct {
		Schema  string `json:"schema"`
		Results []struct {
			Text   uint64 `json:"text"`
			Loaded struct {
				Model       string `json:"model"`
				Core        uint64 `json:"core"`
				Init        uint64 `json:"init"`
				ProcModules uint64 `json:"proc_modules"`
			} `json:"loaded"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	r := doc.Results[0]
	// crc7 on 6.1: text page, rodata page, data page (this_module), core
	// symbols page; init: .symtab + .strtab + kallsyms in one page.
	if doc.Schema != "kmodscope.size/v1" || r.Text != 747 || r.Loaded.Model != "6.1" || r.Loaded.Core != 16384 || r.Loaded.Init != 4096 || r.Loaded.ProcModules != 16384 {
		t.Errorf("doc %+v", doc)
	}
}

func TestFileLine(t *testing.T) {
	out, stderr, code := secRun("file", secFixtureXZ)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	prefix, rest, ok := strings.Cut(out, "; ")
	if !ok || !strings.HasPrefix(prefix, secFixtureXZ+": ELF 64-bit LSB relocatable, x86-64, version 1 (SYSV), BuildID[sha1]=") || !strings.HasSuffix(prefix, ", not stripped") {
		t.Errorf("file part %q", prefix)
	}
	for _, w := range []string{"module crc7", `vermagic "6.12.117+deb12-amd64 `, "xz-compressed", `signed by "`} {
		if !strings.Contains(rest, w) {
			t.Errorf("kmodscope part %q lacks %q", rest, w)
		}
	}
}

func TestSectionsUsage(t *testing.T) {
	for _, args := range [][]string{
		{"sections"},
		{"sections", "--readelf", "--json", secFixture},
		{"sections", "--kernel-version", "six", secFixture},
		{"sections", "-b", "/", secFixture},
		{"size", "-A", "-G", secFixture},
		{"size", "--radix", "7", secFixture},
		{"size", "--format", "xyz", secFixture},
		{"file"},
		{"file", "--bogus", secFixture},
	} {
		_, stderr, code := secRun(args...)
		if code != ExitUsage || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: exit %d, stderr %q; want 2 and one line", args, code, stderr)
		}
	}
	for _, cmd := range []string{"sections", "size", "file"} {
		out, _, code := secRun(cmd, "--help")
		if code != 0 || !strings.Contains(out, "Examples:") || !strings.Contains(out, "Exit status") {
			t.Errorf("%s --help: exit %d\n%s", cmd, code, out)
		}
	}
}

func TestSectionsMissingFile(t *testing.T) {
	for _, cmd := range []string{"sections", "size", "file"} {
		_, stderr, code := secRun(cmd, "/nonexistent/x.ko")
		if code != ExitError || !strings.Contains(stderr, "/nonexistent/x.ko") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%s: exit %d, stderr %q", cmd, code, stderr)
		}
	}
}

// TestSectionsBadInput runs sections, size, file and disasm (every mode) over
// malformed modules: each either succeeds or prints one error line naming
// the file, exits 1, and never panics.
func TestSectionsBadInput(t *testing.T) {
	good, err := os.ReadFile(secFixture)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var files []string
	add := func(name string, data []byte) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	mut := func(name string, fn func(b []byte)) {
		b := bytes.Clone(good)
		fn(b)
		add(name, b)
	}
	add("empty.ko", nil)
	add("text.ko", []byte("not a module at all, just text\n"))
	add("badxz.ko.xz", []byte("\xfd7zXZ\x00garbage garbage garbage"))
	mut("class.ko", func(b []byte) { b[elf.EI_CLASS] = 9 })
	mut("shoff.ko", func(b []byte) { kotest.SetShoff(b, 1<<60) })
	mut("shnum.ko", func(b []byte) { kotest.SetShnum(b, 0xfff0) })
	n := int(kotest.Ehdr(good, kotest.EShnum))
	for i := 1; i < n; i++ {
		i := i
		mut(fmt.Sprintf("size%d.ko", i), func(b []byte) { kotest.SetSectionSize(b, i, 1<<40) })
		mut(fmt.Sprintf("link%d.ko", i), func(b []byte) { kotest.SetShdr(b, i, kotest.ShLink, 0xffff) })
		mut(fmt.Sprintf("info%d.ko", i), func(b []byte) { kotest.SetShdr(b, i, kotest.ShInfo, 0xffffffff) })
		mut(fmt.Sprintf("align%d.ko", i), func(b []byte) { kotest.SetShdr(b, i, kotest.ShAddralign, 3) })
		mut(fmt.Sprintf("type%d.ko", i), func(b []byte) { kotest.SetShdr(b, i, kotest.ShType, uint64(elf.SHT_NULL)) })
	}
	for cut := 0; cut < len(good); cut += len(good) / 40 {
		add(fmt.Sprintf("cut%d.ko", cut), good[:cut])
	}
	failed := 0
	for _, cmd := range [][]string{{"sections"}, {"sections", "--readelf"}, {"sections", "--json"}, {"sections", "--kernel-version", "6.12"},
		{"size"}, {"size", "-A"}, {"size", "--loaded"}, {"file"}, {"disasm"}, {"disasm", "--objdump"}, {"disasm", "--json"}} {
		for _, p := range files {
			_, stderr, code := secRun(append(append([]string(nil), cmd...), p)...)
			switch code {
			case ExitOK:
			case ExitError:
				failed++
				if !strings.Contains(cmd[len(cmd)-1], "json") && (strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, p)) {
					t.Errorf("%v %s: stderr %q, want one line naming the file", cmd, filepath.Base(p), stderr)
				}
			default:
				t.Errorf("%v %s: exit %d", cmd, filepath.Base(p), code)
			}
		}
	}
	if failed == 0 {
		t.Error("no malformed input was refused")
	}
}
