package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kmodscope/kmodscope/errno"
)

// TestCheckErrnoPerArch: a module refused under --sig-enforce gets
// EKEYREJECTED numbered for the target's architecture: 129 on amd64, 164
// on mips64el (arch/mips/include/uapi/asm/errno.h), whether the machine
// comes from the config (no module tree) or not.
func TestCheckErrnoPerArch(t *testing.T) {
	for _, c := range []struct {
		fixture, rel, config string
		want                 int
	}{
		{"amd64/crc7.ko", "6.1.0-99-amd64", "CONFIG_X86_64=y\n", 129},
		{"mips64el/crc7.ko", "6.1.0-99-loongson-3", "CONFIG_MIPS=y\nCONFIG_64BIT=y\n", 164},
	} {
		fixture, err := os.ReadFile(filepath.Join("../../testdata/modules", c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		root := miniTarget(t, c.rel, fixture)
		cfg := filepath.Join(root, "boot", "config-"+c.rel)
		old, _ := os.ReadFile(cfg)
		if err := os.WriteFile(cfg, append(old, c.config...), 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "crc7.ko")
		os.WriteFile(p, fixture, 0o644)
		out, stderr, code := secRun("check", "--json", "--sig-enforce", "-b", root, "-k", c.rel, p)
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("%s: exit %d %v %s %s", c.fixture, code, err, out, stderr)
		}
		r := doc.Results[0]
		if code != 3 || r.Errno == nil || *r.Errno != "EKEYREJECTED" || r.ErrnoValue != c.want ||
			r.InsmodMessage != errno.Message("EKEYREJECTED") || r.InsmodMessage != "Key was rejected by service" {
			t.Errorf("%s: exit %d, %+v", c.fixture, code, r)
		}
	}
}
