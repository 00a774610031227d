package cli

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestDisasmCLI(t *testing.T) {
	crc7 := "../../testdata/modules/amd64/crc7.ko"
	code, out, errs := sigtRun(t, "disasm", crc7)
	if code != 0 || errs != "" || !strings.Contains(out, "file format elf64-x86-64") || !strings.Contains(out, "R_X86_64_PLT32\t__x86_return_thunk-0x4") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "# site: return_thunk") {
		t.Errorf("no site comment:\n%s", out)
	}
	_, plain, _ := sigtRun(t, "disasm", "--objdump", crc7)
	if strings.Contains(plain, "# site") {
		t.Errorf("--objdump kept site comments")
	}
	if tool, err := exec.LookPath("objdump"); err == nil {
		want, err := exec.Command(tool, "-d", "-r", crc7).Output()
		if err != nil {
			t.Fatal(err)
		}
		if plain != string(want) {
			t.Errorf("--objdump differs from objdump -d -r:\n%s\n---\n%s", plain, want)
		}
	}

	// JSON, one function, compressed input.
	code, out, _ = sigtRun(t, "disasm", "--json", "../../testdata/modules/amd64-6.12/crc7.ko.xz", "crc7_be")
	var doc disasmDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != 0 {
		t.Fatalf("exit %d, %v\n%s", code, err, out)
	}
	if doc.Schema != "kmodscope.disasm/v1" || len(doc.Results) != 1 || len(doc.Results[0].Functions) != 1 {
		t.Fatalf("%+v", doc)
	}
	fn := doc.Results[0].Functions[0]
	if fn.Name != "crc7_be" || fn.Section != ".text" || len(fn.Instructions) == 0 {
		t.Fatalf("%+v", fn)
	}
	relocs := 0
	for _, in := range fn.Instructions {
		relocs += len(in.Relocations)
		if in.Bytes == "" || in.Mnemonic == "" {
			t.Errorf("empty instruction %+v", in)
		}
	}
	if relocs == 0 {
		t.Errorf("no relocations in crc7_be")
	}

	// Usage and bad input.
	if code, _, _ := sigtRun(t, "disasm"); code != ExitUsage {
		t.Errorf("no module: exit %d", code)
	}
	bad := filepath.Join(t.TempDir(), "bad.ko")
	os.WriteFile(bad, []byte("\x7fELF\x02\x01\x01garbage"), 0o644)
	code, _, errs = sigtRun(t, "disasm", bad, crc7)
	if code != ExitError || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, bad) {
		t.Errorf("bad module: exit %d, stderr %q", code, errs)
	}
	code, out, _ = sigtRun(t, "disasm", "--json", bad)
	if code != ExitError || !strings.Contains(out, `"error": "`) {
		t.Errorf("bad module --json: exit %d\n%s", code, out)
	}
}

func TestDisasmNoDecoder(t *testing.T) {
	mips := "../../testdata/modules/mips64el/crc7.ko"
	// Without any objdump on PATH: a clear message, exit 1.
	t.Setenv("PATH", t.TempDir())
	code, out, errs := sigtRun(t, "disasm", mips)
	if code != ExitError || out != "" || !strings.Contains(errs, mips) || !strings.Contains(errs, "EM_MIPS") || strings.Count(errs, "\n") != 1 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestDisasmMIPSFallback(t *testing.T) {
	if _, err := exec.LookPath("objdump"); err != nil {
		t.Skip("objdump not installed")
	}
	mips := "../../testdata/modules/mips64el/crc7.ko"
	code, out, errs := sigtRun(t, "disasm", mips)
	if strings.Contains(errs, "no objdump on PATH") {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("CI needs binutils-multiarch: %s", errs)
		}
		t.Skip("objdump without MIPS support")
	}
	want, _ := exec.Command("objdump", "-d", "-r", mips).Output()
	if code != 0 || out != string(want) {
		t.Errorf("exit %d, %s\n--- want\n%s", code, out, want)
	}
}

// TestDisasmParallel: many modules in one run (parallel workers sharing the
// decoders' cache) print exactly what one run per module prints.
func TestDisasmParallel(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/modules/amd64*/*.ko*")
	more, _ := filepath.Glob("../../testdata/modules/i386/*.ko")
	files = append(files, more...)
	files = append(files, files...)
	var want strings.Builder
	for _, f := range files {
		_, out, _ := sigtRun(t, "disasm", f)
		want.WriteString(out)
	}
	code, out, errs := sigtRun(t, append([]string{"disasm"}, files...)...)
	if code != 0 || errs != "" || out != want.String() {
		t.Errorf("exit %d, stderr %q, same output: %v", code, errs, out == want.String())
	}
}
