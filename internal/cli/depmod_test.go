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
	files, _ := filepath.Glob(filepath.Join("..", "..", "testdata", "modules", "amd64", "*.ko"))
	n := len(files)
	for i, want := range []struct{ read, cached int }{{n, 0}, {0, n}} {
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
		if doc.Schema != "kmodscope.depmod/v1" || doc.Modules != n || len(doc.Written) != 10 || doc.Error != nil || doc.Read != want.read || doc.Cached != want.cached {
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

func TestDepmodCLICacheAndDiff(t *testing.T) {
	root, rel := depmodTree(t)
	dir := filepath.Join(root, "lib", "modules", rel)
	cache := filepath.Join(dir, "modules.kmodscope-cache")
	if code, _, errs := runDepmodCLI("--no-cache", "-b", root, rel); code != 0 {
		t.Fatalf("--no-cache: exit %d %s", code, errs)
	}
	if _, err := os.Stat(cache); err == nil {
		t.Errorf("--no-cache wrote the cache")
	}
	// The default keeps a cache; a second run reads nothing.
	runDepmodCLI("-b", root, rel)
	code, out, _ := runDepmodCLI("--json", "-b", root, rel)
	if _, err := os.Stat(cache); err != nil || code != 0 || !strings.Contains(out, `"read": 0`) || !strings.Contains(out, `"reused": true`) {
		t.Errorf("default run: exit %d, cache %v, %s", code, err, out)
	}
	// --compat 34 into another directory: same content, one more file.
	other := t.TempDir()
	if code, _, errs := runDepmodCLI("--compat", "34", "-b", root, "-o", other, rel); code != 0 {
		t.Fatalf("--compat 34: exit %d %s", code, errs)
	}
	odir := filepath.Join(other, "lib", "modules", rel)
	code, out, errs := runDepmodCLI("--diff", dir, odir)
	if code != ExitRefused || out != "modules.weakdep: only in "+odir+"\n" {
		t.Errorf("--diff kmod 30 vs 34 layout: exit %d, stdout %q, stderr %q", code, out, errs)
	}
	os.Remove(filepath.Join(odir, "modules.weakdep"))
	if code, out, errs := runDepmodCLI("--diff", dir, odir); code != 0 || out != "" {
		t.Errorf("--diff equal sets: exit %d, %q %q", code, out, errs)
	}
	// One alias less on one side.
	alias := filepath.Join(odir, "modules.alias")
	data, _ := os.ReadFile(alias)
	lines := strings.SplitAfter(string(data), "\n")
	os.WriteFile(alias, []byte(strings.Join(append(lines[:1:1], lines[2:]...), "")), 0o644)
	code, out, _ = runDepmodCLI("--diff", dir, odir)
	if want := "modules.alias: 0 added, 1 removed, 0 changed\n- " + strings.TrimSuffix(lines[1], "\n") + "\n"; code != ExitRefused || out != want {
		t.Errorf("--diff after removing an alias line: exit %d\n%s\nwant\n%s", code, out, want)
	}
	// Unreadable input: exit 1 naming the file; usage: exit 2.
	os.WriteFile(filepath.Join(odir, "modules.dep.bin"), []byte("\x57\xf4\xa2\x5d\x00\x02\x00\x01\xff\xff\xff\xff"), 0o644)
	if code, _, errs := runDepmodCLI("--diff", dir, odir); code != ExitError || !strings.Contains(errs, "modules.dep.bin") {
		t.Errorf("--diff with a corrupt index: exit %d, %q", code, errs)
	}
	if code, _, errs := runDepmodCLI("--diff", dir, filepath.Join(root, "nonexistent")); code != ExitError || !strings.Contains(errs, "nonexistent") {
		t.Errorf("--diff with a missing directory: exit %d, %q", code, errs)
	}
	if code, _, _ := runDepmodCLI("--diff", dir); code != ExitUsage {
		t.Errorf("--diff with one directory: exit %d", code)
	}
	if code, _, _ := runDepmodCLI("--compat", "33", "-b", root, rel); code != ExitUsage {
		t.Errorf("--compat 33: exit %d", code)
	}
}
