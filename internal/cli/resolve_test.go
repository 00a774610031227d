package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
)

// resolveFixtureTree indexes the committed amd64 modules with kmodscope's
// depmod and returns the root and release.
func resolveFixtureTree(t *testing.T) (string, string) {
	root, rel := t.TempDir(), "6.1.0-cli"
	dir := filepath.Join(root, "lib", "modules", rel, "kernel")
	os.MkdirAll(dir, 0o755)
	for _, f := range []string{"usb-storage.ko", "ums-realtek.ko", "crc7.ko"} {
		src, _ := filepath.Abs(filepath.Join("..", "..", "testdata", "modules", "amd64", f))
		if err := os.Symlink(src, filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel, ConfigPaths: []string{t.TempDir()}}); err != nil {
		t.Fatal(err)
	}
	return root, rel
}

func runResolveCLI(args ...string) (string, string, int) {
	var out, errb bytes.Buffer
	code := Main(append([]string{"resolve"}, args...), nil, &out, &errb)
	return out.String(), errb.String(), code
}

func TestResolveCLI(t *testing.T) {
	root, rel := resolveFixtureTree(t)
	dir := root + "/lib/modules/" + rel
	base := []string{"-b", root, "-k", rel, "-C", "/dev/null", "--kcmdline", ""}
	out, _, code := runResolveCLI(append(base, "--show-depends", "ums-realtek")...)
	want := "insmod " + dir + "/kernel/usb-storage.ko \ninsmod " + dir + "/kernel/ums-realtek.ko \n"
	if code != 0 || out != want {
		t.Errorf("--show-depends: exit %d\n%q\nwant %q", code, out, want)
	}
	out, errs, code := runResolveCLI(append(base, "-R", "crc7", "no-such")...)
	if code != 1 || out != "crc7\n" || errs != "kmodscope resolve: WARNING: Module no-such not found in directory "+dir+"\n" {
		t.Errorf("-R: exit %d %q %q", code, out, errs)
	}
	_, errs, code = runResolveCLI(append(base, "-R", "no-such")...)
	if code != 1 || !strings.HasPrefix(errs, "kmodscope resolve: FATAL: Module no-such not found") {
		t.Errorf("one name: exit %d %q", code, errs)
	}
	out, _, code = runResolveCLI(append(base, "--json", "--why", "ums_realtek", "usb_storage")...)
	var why resolveWhyDoc
	if err := json.Unmarshal([]byte(out), &why); err != nil || code != 0 || len(why.Chain) != 1 || len(why.Chain[0].Symbols) == 0 {
		t.Errorf("--why: exit %d %v %s", code, err, out)
	}
	out, _, code = runResolveCLI(append(base, "--graph", "dot", "ums-realtek")...)
	if code != 0 || !strings.Contains(out, `"ums_realtek" -> "usb_storage" [label="`) {
		t.Errorf("--graph dot: exit %d\n%s", code, out)
	}
	// After `kmodscope depmod` (which keeps its cache next to the
	// indexes), --why and --graph answer the same with the cache as
	// without it.
	var dout, derr bytes.Buffer
	if code := Main([]string{"depmod", "-b", root, rel}, nil, &dout, &derr); code != 0 || !fileExistsCLI(dir+"/"+depmod.CacheName) {
		t.Fatalf("depmod: exit %d %s", code, derr.String())
	}
	for _, q := range [][]string{{"--why", "ums-realtek", "usb-storage"}, {"--json", "--why", "ums_realtek", "usb_storage"}, {"--graph", "json", "--all"}, {"--graph", "dot", "--reduce", "ums-realtek"}} {
		cached, e1, c1 := runResolveCLI(append(base, q...)...)
		cold, e2, c2 := runResolveCLI(append(append(base, "--no-cache"), q...)...)
		if c1 != 0 || cached != cold || e1 != e2 || c1 != c2 || cached == "" {
			t.Errorf("%q: with the cache exit %d %q %q, without exit %d %q %q", q, c1, cached, e1, c2, cold, e2)
		}
	}
	t.Setenv("PATH", "/nonexistent")
	_, errs, code = runResolveCLI(append(base, "--graph", "svg", "crc7")...)
	if code != 1 || !strings.Contains(errs, "not installed") {
		t.Errorf("svg without dot: exit %d %q", code, errs)
	}
	for _, bad := range [][]string{{}, {"--graph", "png", "x"}, {"--why", "a"}, {"-R", "--show-depends", "x"}, {"--report", "x"}, {"-E", "f", "x"}, {"--graph", "dot"}} {
		if _, _, code := runResolveCLI(append(base, bad...)...); code != 2 {
			t.Errorf("%q: exit %d, want 2", bad, code)
		}
	}
	if out, _, code := runResolveCLI("--help"); code != 0 || !strings.Contains(out, "kmodscope resolve --why A B") {
		t.Errorf("--help: exit %d", code)
	}
	// A malformed index: one error line naming the file, exit 1.
	os.WriteFile(dir+"/modules.alias.bin", []byte("\xB0\x07\xF4\x57\x00\x02\x00\x01\x00\x00\xff\xff"), 0o644)
	_, errs, code = runResolveCLI(append(base, "-R", "crc7")...)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "modules.alias.bin") {
		t.Errorf("malformed index: exit %d %q", code, errs)
	}
}

func fileExistsCLI(p string) bool { _, err := os.Stat(p); return err == nil }
