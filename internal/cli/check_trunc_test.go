package cli

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestCheckTruncationSweep runs `check` on every 64th-byte cut of three
// committed modules in one invocation: every cut gets a verdict (no read
// errors, so exit 3, never 1, never a panic); a cut before the end of the
// section header table is refused with ENOEXEC and the kernel's message
// ("Invalid module format" for insmod), a cut in the signature is not
// refused by the ELF stage.
func TestCheckTruncationSweep(t *testing.T) {
	dir := t.TempDir()
	total := 0
	for _, f := range []string{"crc7.ko", "lrw.ko", "nvram.ko"} {
		base, err := os.ReadFile(filepath.Join("../../testdata/modules/amd64", f))
		if err != nil {
			t.Fatal(err)
		}
		end := int(binary.LittleEndian.Uint64(base[0x28:])) + int(binary.LittleEndian.Uint16(base[0x3c:]))*int(binary.LittleEndian.Uint16(base[0x3a:]))
		root := miniTarget(t, "6.1.0-99-amd64", base)
		args := []string{"check", "--json", "-b", root, "-k", "6.1.0-99-amd64"}
		var cuts []int
		for cut := 0; cut < len(base); cut += 64 {
			p := filepath.Join(dir, fmt.Sprintf("%s.%d.ko", f, cut))
			if err := os.WriteFile(p, base[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			args, cuts = append(args, p), append(cuts, cut)
		}
		out, stderr, code := secRun(args...)
		if code != 3 {
			t.Fatalf("%s: exit %d, want 3\n%s", f, code, stderr)
		}
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != len(cuts) {
			t.Fatalf("%s: %v, %d results for %d cuts", f, err, len(doc.Results), len(cuts))
		}
		for i, r := range doc.Results {
			switch {
			case r.Error != nil:
				t.Errorf("%s cut %d: read error %s", f, cuts[i], *r.Error)
			case cuts[i] < end:
				if r.Loads || r.Errno == nil || *r.Errno != "ENOEXEC" || r.ErrnoValue != 8 || len(r.Messages) == 0 || r.InsmodMessage != "Invalid module format" {
					t.Errorf("%s cut %d: %+v", f, cuts[i], r)
				}
			default:
				if r.FailedCheck != nil && (*r.FailedCheck == "elf_validity" || *r.FailedCheck == "load_info") {
					t.Errorf("%s cut %d (in the signature): refused by %s", f, cuts[i], *r.FailedCheck)
				}
			}
		}
		total += len(cuts)
	}
	t.Logf("%d cuts of 3 modules, each a verdict", total)
}
