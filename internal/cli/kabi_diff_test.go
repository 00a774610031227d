package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeSymvers(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(strings.ReplaceAll(text, "|", "\t")), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const kabiOld = `0x00000001|kept|vmlinux|EXPORT_SYMBOL|
0x00000002|gone|vmlinux|EXPORT_SYMBOL|
0x00000003|crcd|drivers/net/foo|EXPORT_SYMBOL_GPL|
0x00000007|moved|drivers/a|EXPORT_SYMBOL|
`

const kabiNew = `0x00000001|kept|vmlinux|EXPORT_SYMBOL|
0x00000033|crcd|drivers/net/foo|EXPORT_SYMBOL_GPL|
0x00000007|moved|drivers/b|EXPORT_SYMBOL|
0x0000000b|new|vmlinux|EXPORT_SYMBOL|
`

func TestKabiDiffExitCodes(t *testing.T) {
	dir := t.TempDir()
	old := writeSymvers(t, dir, "old", kabiOld)
	new := writeSymvers(t, dir, "new", kabiNew)
	onlyMoved := writeSymvers(t, dir, "moved", strings.Replace(kabiOld, "drivers/a", "drivers/z", 1))
	passAll := writeSymvers(t, dir, "pass", "* PASS\n")
	failGone := writeSymvers(t, dir, "failgone", "gone FAIL\n* PASS\n")
	badRules := writeSymvers(t, dir, "badrules", "gone MAYBE\n")
	badLine := writeSymvers(t, dir, "badline", "0x00000001|kept|vmlinux|EXPORT_SYMBOL|\n0xnothex|x|vmlinux|EXPORT_SYMBOL|\n")
	gzHead := writeSymvers(t, dir, "trunc.gz", "\x1f\x8b\x08\x00\x00\x00")
	fakeImg := writeSymvers(t, dir, "vmlinuz", strings.Repeat("\x7fELF not really a kernel ", 100))
	cases := []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"kabi", "diff", "--help"}, ExitOK, "Usage:"},
		{[]string{"kabi", "diff"}, ExitUsage, ""},
		{[]string{"kabi", "diff", old}, ExitUsage, ""},
		{[]string{"kabi", "diff", old, new, new}, ExitUsage, ""},
		{[]string{"kabi", "diff", "--format", "xml", old, new}, ExitUsage, ""},
		{[]string{"kabi", "diff", "--format", "symvers", "--json", old, new}, ExitUsage, ""},
		{[]string{"kabi", "diff", "-k", "a", "-k", "b", "-k", "c", old, new}, ExitUsage, ""},
		{[]string{"kabi", "diff", "--bogus", old, new}, ExitUsage, ""},
		{[]string{"kabi", "diff", old, filepath.Join(dir, "missing")}, ExitError, ""},
		{[]string{"kabi", "diff", "--rules", badRules, old, new}, ExitError, ""},
		{[]string{"kabi", "diff", old, badLine}, ExitError, ""},
		{[]string{"kabi", "diff", gzHead, new}, ExitError, ""},
		{[]string{"kabi", "diff", old, fakeImg}, ExitError, ""},
		{[]string{"kabi", "diff", old, "../../README.md"}, ExitError, ""},
		{[]string{"kabi", "diff", old, dir + "/../"}, ExitError, ""},
		{[]string{"kabi", "diff", "--rules", filepath.Join(dir, "nope"), old, new}, ExitError, ""},
		{[]string{"kabi", "diff", old, old}, ExitOK, "breaking 0"},
		{[]string{"kabi", "diff", old, onlyMoved}, ExitOK, "moved 1; breaking 0"},
		{[]string{"kabi", "diff", old, new}, ExitRefused, "removed 1, added 1, crc_changed 1, export_type_changed 0, namespace_changed 0, moved 1; breaking 2"},
		{[]string{"kabi", "diff", "--rules", passAll, old, new}, ExitOK, "breaking 0"},
		{[]string{"kabi", "diff", "--rules", failGone, old, new}, ExitRefused, "breaking 1"},
		{[]string{"kabi", "diff", "--format", "symvers", old, new}, ExitRefused, "0x00000003\tcrcd\tdrivers/net/foo\tEXPORT_SYMBOL_GPL\t\n0x00000002\tgone\tvmlinux\tEXPORT_SYMBOL\t\n"},
		{[]string{"kabi", "diff", "--format", "symvers", "--rules", passAll, old, new}, ExitOK, ""},
		{[]string{"kabi", "diff", "--modules", dir, old, new}, ExitError, ""},
	}
	for _, c := range cases {
		code, out, errs := symRun(t, c.args...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (stderr %q)", c.args, code, c.code, errs)
		}
		if c.args[len(c.args)-1] == new && strings.Contains(strings.Join(c.args, " "), "--format symvers") {
			if out != c.out {
				t.Errorf("%v: output %q, want %q", c.args, out, c.out)
			}
		} else if !strings.Contains(out, c.out) {
			t.Errorf("%v: output %q lacks %q", c.args, out, c.out)
		}
		if c.code == ExitUsage || c.code == ExitError {
			if n := strings.Count(errs, "\n"); n != 1 || !strings.HasPrefix(errs, "kmodscope kabi diff: ERROR: ") {
				t.Errorf("%v: stderr %q, want one error line", c.args, errs)
			}
		}
	}
}

func TestKabiDiffJSON(t *testing.T) {
	dir := t.TempDir()
	old := writeSymvers(t, dir, "old", kabiOld)
	new := writeSymvers(t, dir, "new", kabiNew)
	rules := writeSymvers(t, dir, "rules", "crcd PASS\n")
	code, out, _ := symRun(t, "kabi", "diff", "--json", "--rules", rules, old, new)
	if code != ExitRefused {
		t.Fatalf("exit %d", code)
	}
	var doc struct {
		Schema  string         `json:"schema"`
		Old     kabiInputDoc   `json:"old"`
		Summary map[string]int `json:"summary"`
		Symbols []struct {
			Name     string          `json:"name"`
			Changes  []string        `json:"changes"`
			Breaking bool            `json:"breaking"`
			Rule     *kabiRuleDoc    `json:"rule"`
			Old      *kabiSymbolSide `json:"old"`
			New      *kabiSymbolSide `json:"new"`
		} `json:"symbols"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "kmodscope.kabi-diff/v1" || doc.Old.Kind != "symvers" || doc.Old.Symbols != 4 {
		t.Errorf("header %+v", doc)
	}
	want := map[string]int{"removed": 1, "added": 1, "crc_changed": 1, "export_type_changed": 0, "namespace_changed": 0, "moved": 1, "breaking": 1}
	for k, v := range want {
		if got, ok := doc.Summary[k]; !ok || got != v {
			t.Errorf("summary %s = %d (present %v), want %d", k, got, ok, v)
		}
	}
	if len(doc.Symbols) != 4 {
		t.Fatalf("%d symbols", len(doc.Symbols))
	}
	for _, s := range doc.Symbols {
		switch s.Name {
		case "crcd":
			if s.Breaking || s.Rule == nil || s.Rule.Verdict != "PASS" || s.Rule.Line != 1 || s.Old.CRC != 3 || s.New.CRC != 0x33 {
				t.Errorf("crcd %+v", s)
			}
		case "gone":
			if !s.Breaking || s.New != nil || s.Old.ExportType != "EXPORT_SYMBOL" {
				t.Errorf("gone %+v", s)
			}
		case "new":
			if s.Breaking || s.Old != nil {
				t.Errorf("new %+v", s)
			}
		case "moved":
			if s.Breaking || s.Old.Module != "drivers/a" || s.New.Module != "drivers/b" {
				t.Errorf("moved %+v", s)
			}
		}
	}
}

func TestSymversCommand(t *testing.T) {
	dir := t.TempDir()
	mods, _ := filepath.Glob("../../testdata/modules/amd64/*.ko")
	if len(mods) == 0 {
		t.Fatal("no fixtures")
	}
	code, out, errs := symRun(t, append([]string{"symvers"}, mods...)...)
	if code != ExitOK || out == "" {
		t.Fatalf("exit %d, %q", code, errs)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		f := strings.Split(l, "\t")
		if len(f) != 5 || !strings.HasPrefix(f[0], "0x") || len(f[0]) != 10 || !strings.HasPrefix(f[3], "EXPORT_SYMBOL") {
			t.Errorf("bad line %q", l)
		}
	}
	o := filepath.Join(dir, "Module.symvers")
	if code, _, _ := symRun(t, "symvers", "-o", o, mods[0], mods[1]); code != ExitOK {
		t.Fatalf("-o: exit %d", code)
	}
	// What symvers wrote reads back as a diff input, identical to itself.
	if code, out, _ := symRun(t, "kabi", "diff", o, o); code != ExitOK || !strings.Contains(out, "breaking 0") {
		t.Errorf("diff of symvers output with itself: %d %q", code, out)
	}
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"symvers"}, ExitUsage},
		{[]string{"symvers", "--help"}, ExitOK},
		{[]string{"symvers", filepath.Join(dir, "missing")}, ExitError},
		{[]string{"symvers", "../../README.md"}, ExitError},
	} {
		if code, _, _ := symRun(t, c.args...); code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
	}
	code, out, _ = symRun(t, "symvers", "--json", mods[0], filepath.Join(dir, "missing"))
	var doc symversDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil || code != ExitError || doc.Schema != "kmodscope.symvers/v1" || len(doc.Inputs) != 2 || doc.Inputs[1].Error == nil {
		t.Errorf("json: %d %v %+v", code, err, doc)
	}
}
