package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/variants"
	"github.com/kmodscope/kmodscope/ko"
)

// miniTarget writes a minimal root for release rel (config and a
// Module.symvers with the fixture's module_layout CRC), enough for check.
func miniTarget(t *testing.T, rel string, fixture []byte) string {
	t.Helper()
	m, err := ko.New(fixture)
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := m.Versions()
	var symvers strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&symvers, "0x%08x\t%s\tvmlinux\tEXPORT_SYMBOL\t\n", v.CRC, v.Name)
	}
	root := t.TempDir()
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "boot"), 0o755))
	must(os.WriteFile(filepath.Join(root, "boot", "config-"+rel), []byte("CONFIG_MODULE_SIG=y\nCONFIG_MODVERSIONS=y\nCONFIG_MODULE_FORCE_LOAD=y\nCONFIG_STRICT_MODULE_RWX=y\n"), 0o644))
	hd := filepath.Join(root, "usr", "src", "linux-headers-"+rel)
	must(os.MkdirAll(hd, 0o755))
	must(os.WriteFile(filepath.Join(hd, "Module.symvers"), []byte(symvers.String()), 0o644))
	return root
}

// TestCheckDamagedELF: damaged copies of the committed crc7 fixture get the
// kernel's verdict (exit 3, its message), never a read error; one the
// kernel accepts but kmodscope's reader refuses is not refused (partial);
// only an unreadable file is exit 1.
func TestCheckDamagedELF(t *testing.T) {
	fixture, err := os.ReadFile("../../testdata/modules/amd64/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string) string {
		data, err := variants.Apply(name, fixture)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".ko")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		rel, variant string
		code         int
		msg          string
	}{
		{"6.1.0-99-amd64", "crc7-elf-trunc-ehdr", 3, "Invalid ELF header len 40"},
		{"6.1.0-99-amd64", "crc7-elf-trunc-half", 3, "Invalid ELF section header overflow"},
		{"6.1.0-99-amd64", "crc7-stripped-truncated-shdrs", 3, "Invalid ELF section header overflow"},
		{"6.1.0-99-amd64", "crc7-elf-shentsize-40", 3, "Invalid ELF section header size"},
		{"6.1.0-99-amd64", "crc7-elf-no-this-module", 3, "crc7: No module found in object"},
		{"6.12.117+deb12-amd64", "crc7-elf-no-this-module", 3, "module crc7: Exactly one .gnu.linkonce.this_module section must exist."},
		{"6.12.117+deb12-amd64", "crc7-elf-shstrtab-progbits", 3, "Invalid ELF section name table type: 1"},
		{"6.12.117+deb12-amd64", "crc7-elf-comment-name-oob", 3, "Invalid ELF section name in module (section 20 type 1)"},
		{"6.1.0-99-amd64", "crc7-elf-comment-name-oob", 0, ""},
		{"6.1.0-99-amd64", "crc7-elf-shstrtab-progbits", 0, ""},
	} {
		root := miniTarget(t, c.rel, fixture)
		p := write(c.variant)
		out, stderr, code := secRun("check", "--json", "-b", root, "-k", c.rel, p)
		if code != c.code {
			t.Errorf("%s on %s: exit %d, want %d\n%s%s", c.variant, c.rel, code, c.code, out, stderr)
			continue
		}
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("%s: %v %s", c.variant, err, out)
		}
		r := doc.Results[0]
		if c.code == 3 {
			if r.Errno == nil || *r.Errno != "ENOEXEC" || r.ErrnoValue != 8 || len(r.Messages) == 0 || r.Messages[0] != c.msg || r.InsmodMessage != "Invalid module format" {
				t.Errorf("%s on %s: %+v", c.variant, c.rel, r)
			}
			continue
		}
		if !r.Loads {
			t.Errorf("%s on %s: refused: %+v", c.variant, c.rel, r)
		}
		if c.variant == "crc7-elf-comment-name-oob" && (!r.Partial || !strings.Contains(strings.Join(r.Notes, " "), "not modelled")) {
			t.Errorf("%s: want a partial verdict with a note: %+v", c.variant, r)
		}
	}
	// Text output names the kernel's message; a missing file is exit 1.
	root := miniTarget(t, "6.1.0-99-amd64", fixture)
	out, _, code := secRun("check", "-b", root, "-k", "6.1.0-99-amd64", write("crc7-elf-trunc-half"), filepath.Join(dir, "missing.ko"))
	if code != 1 || !strings.Contains(out, "REFUSED by elf_validity: -ENOEXEC (errno 8)") || !strings.Contains(out, "kernel: Invalid ELF section header overflow") ||
		!strings.Contains(out, "missing.ko: ERROR:") {
		t.Errorf("exit %d:\n%s", code, out)
	}
	// A file shorter than 6 bytes is judged too (the kernel: header len).
	short := filepath.Join(dir, "short.ko")
	os.WriteFile(short, []byte("\x7fEL"), 0o644)
	out, _, code = secRun("check", "-b", root, "-k", "6.1.0-99-amd64", short)
	if code != 3 || !strings.Contains(out, "Invalid ELF header len 3") {
		t.Errorf("short file: exit %d\n%s", code, out)
	}
}
