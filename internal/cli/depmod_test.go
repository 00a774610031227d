package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The depmod output itself is compared with kmod's depmod in package
// conformance; these tests cover the command line: --json, --cache counts,
// usage errors and exit codes.

func depmodTree(t *testing.T) (root, rel string) {
	root, rel = t.TempDir(), "6.1.0-cli"
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "modules", "amd64", "*.ko"))
	if len(files) == 0 {
		t.Fatal("no fixtures")
	}
	dir := filepath.Join(root, "lib", "modules", rel, "kernel")
	os.MkdirAll(dir, 0o755)
	for _, f := range files {
		data, _ := os.ReadFile(f)
		os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644)
	}
	return root, rel
}

func runDepmodCLI(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"depmod"}, args...), nil, &out, &errb)
	return code, out.String(), errb.String()
}

func TestDepmodCLIJSON(t *testing.T) {
	root, rel := depmodTree(t)
	for i, want := range []struct{ read, cached int }{{6, 0}, {0, 6}} {
		code, out, errs := runDepmodCLI("--json", "--cache", "-b", root, rel)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errs)
		}
		var doc struct {
			Schema  string   `json:"schema"`
			Modules int      `json:"modules"`
			Written []string `json:"written"`
			Read    int      `json:"read"`
			Cached  int      `json:"cached"`
			Error   *string  `json:"error"`
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if doc.Schema != "kmodscope.depmod/v1" || doc.Modules != 6 || len(doc.Written) != 10 || doc.Error != nil || doc.Read != want.read || doc.Cached != want.cached {
			t.Errorf("run %d: %+v", i, doc)
		}
	}
	dep, err := os.ReadFile(filepath.Join(root, "lib", "modules", rel, "modules.dep"))
	if err != nil || !strings.Contains(string(dep), "kernel/usb-storage.ko:") {
		t.Errorf("modules.dep: %q %v", dep, err)
	}
}

func TestDepmodCLIErrors(t *testing.T) {
	root, rel := depmodTree(t)
	for _, c := range []struct {
		args   []string
		code   int
		stderr string
	}{
		{[]string{"--bogus"}, ExitUsage, "unknown flag: --bogus"},
		{[]string{"-P", "ab", "-b", root, rel}, ExitError, "depmod: FATAL: -P only takes a single char\n"},
		{[]string{"-b", root, "x.y"}, ExitError, "depmod: ERROR: Bad version passed x.y\n"},
		{[]string{"-b", root, rel, "relative.ko"}, ExitError, "depmod: FATAL: relative.ko: not absolute path.\n"},
		{[]string{"-b", root, "9.99"}, ExitError, "depmod: FATAL: could not search modules: No such file or directory\n"},
		{[]string{"-q", "-b", root, rel}, ExitOK, "depmod: WARNING: Ignored deprecated option -q\n"},
		{[]string{"--json", "-b", root, "9.99"}, ExitError, "could not search modules"},
	} {
		code, out, errs := runDepmodCLI(c.args...)
		if code != c.code || !strings.Contains(errs, c.stderr) {
			t.Errorf("depmod %v: exit %d, stderr %q; want %d and %q", c.args, code, errs, c.code, c.stderr)
		}
		if c.args[0] == "--json" && !strings.Contains(out, `"error": "depmod failed: could not search modules`) {
			t.Errorf("--json on failure: %s", out)
		}
	}
	code, out, _ := runDepmodCLI("--help")
	if code != 0 || !strings.Contains(out, "Examples:") {
		t.Errorf("--help: %d %q", code, out)
	}
}
