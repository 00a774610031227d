package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckDefaultTarget: without -b/-k check targets the running system
// (-b /, uname -r) like modprobe, names the parts it could not find and
// gives a verdict (0 or 3), never a usage error or exit 1.
func TestCheckDefaultTarget(t *testing.T) {
	rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		t.Skip("no /proc/sys/kernel/osrelease")
	}
	p, _ := filepath.Abs("../../testdata/modules/amd64/crc7.ko")
	out, stderr, code := secRun("check", "--json", p)
	if code != 0 && code != 3 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var doc checkDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
		t.Fatalf("%v %s", err, out)
	}
	if doc.Target.Release != strings.TrimSpace(string(rel)) {
		t.Errorf("release %q, running %q", doc.Target.Release, rel)
	}
	for _, part := range []string{"config", "symvers", "image", "modules"} {
		if doc.Target.Found[part] == "" {
			t.Errorf("found[%s] empty: %v", part, doc.Target.Found)
		}
	}
	// Text mode names the missing parts on stderr, one line each.
	_, stderr, _ = secRun("check", p)
	for part, f := range doc.Target.Found {
		if strings.HasPrefix(f, "missing") && !strings.Contains(stderr, "): "+part+": missing") {
			t.Errorf("stderr does not name missing %s:\n%s", part, stderr)
		}
	}
}

// TestCheckIncompleteRoot: "-b /" with a release that has nothing on this
// machine is a verdict with the missing parts named, not a failure; another
// root missing its config stays exit 1.
func TestCheckIncompleteRoot(t *testing.T) {
	p := "../../testdata/modules/amd64/crc7.ko"
	out, stderr, code := secRun("check", "--json", "-b", "/", "-k", "0.0.0-kmodscope-none", p)
	if code != 3 && code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, stderr)
	}
	var doc checkDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	for _, part := range []string{"symvers", "image", "modules"} {
		if !strings.HasPrefix(doc.Target.Found[part], "missing") {
			t.Errorf("found[%s] = %q", part, doc.Target.Found[part])
		}
	}
	if _, _, code := secRun("check", "-b", t.TempDir(), "-k", "0.0.0-kmodscope-none", p); code != 1 {
		t.Errorf("incomplete other root: exit %d, want 1", code)
	}
}
