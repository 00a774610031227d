package kabi

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/symvers"
)

func table(t testing.TB, text string) *symvers.Table {
	t.Helper()
	tb, err := symvers.Parse(strings.NewReader(strings.ReplaceAll(text, "|", "\t")))
	if err != nil {
		t.Fatal(err)
	}
	return tb
}

const oldSyms = `0x00000001|kept|vmlinux|EXPORT_SYMBOL|
0x00000002|gone|vmlinux|EXPORT_SYMBOL|
0x00000003|crcd|drivers/net/foo|EXPORT_SYMBOL_GPL|
0x00000004|gplified|vmlinux|EXPORT_SYMBOL|
0x00000005|ungplified|vmlinux|EXPORT_SYMBOL_GPL|
0x00000006|nsd|drivers/cxl/core/cxl_core|EXPORT_SYMBOL_GPL|
0x00000007|moved|drivers/a|EXPORT_SYMBOL|
0x00000008|everything|vmlinux|EXPORT_SYMBOL|
0x00000009|dup|vmlinux|EXPORT_SYMBOL|
0x0000000a|dup|vmlinux|EXPORT_SYMBOL|
`

const newSyms = `0x00000001|kept|vmlinux|EXPORT_SYMBOL|
0x00000033|crcd|drivers/net/foo|EXPORT_SYMBOL_GPL|
0x00000004|gplified|vmlinux|EXPORT_SYMBOL_GPL|
0x00000005|ungplified|vmlinux|EXPORT_SYMBOL|
0x00000006|nsd|drivers/cxl/core/cxl_core|EXPORT_SYMBOL_GPL|CXL
0x00000007|moved|drivers/b|EXPORT_SYMBOL|
0x00000088|everything|drivers/c|EXPORT_SYMBOL_GPL|NS
0x0000000a|dup|vmlinux|EXPORT_SYMBOL|
0x0000000b|new|vmlinux|EXPORT_SYMBOL|
`

func TestDiffCategories(t *testing.T) {
	r := Diff(table(t, oldSyms), table(t, newSyms), nil)
	want := map[string]string{
		"gone":       "removed",
		"new":        "added",
		"crcd":       "crc_changed",
		"gplified":   "export_type_changed",
		"ungplified": "export_type_changed",
		"nsd":        "namespace_changed",
		"moved":      "moved",
		"everything": "crc_changed,export_type_changed,namespace_changed,moved",
	}
	breaking := map[string]bool{"gone": true, "crcd": true, "gplified": true, "nsd": true, "everything": true}
	got := map[string]bool{}
	for _, c := range r.Changes {
		got[c.Name] = true
		if k := strings.Join(c.Kinds, ","); k != want[c.Name] {
			t.Errorf("%s: %s, want %s", c.Name, k, want[c.Name])
		}
		if c.Breaking != breaking[c.Name] {
			t.Errorf("%s: breaking %v", c.Name, c.Breaking)
		}
	}
	for n := range want {
		if !got[n] {
			t.Errorf("%s not reported", n)
		}
	}
	if len(r.Changes) != len(want) {
		t.Errorf("%d changes, want %d (kept and dup, whose last line is unchanged, are not changes)", len(r.Changes), len(want))
	}
	sum := map[string]int{"removed": 1, "added": 1, "crc_changed": 2, "export_type_changed": 3, "namespace_changed": 2, "moved": 2}
	for k, v := range sum {
		if r.Summary[k] != v {
			t.Errorf("summary %s = %d, want %d", k, r.Summary[k], v)
		}
	}
	if r.Breaking != 5 {
		t.Errorf("breaking %d, want 5", r.Breaking)
	}
}

func TestRulesPrecedence(t *testing.T) {
	old, new := table(t, oldSyms), table(t, newSyms)
	cases := []struct {
		name, rules string
		breaking    map[string]bool // the default-breaking symbols' verdicts
		rule        map[string]string
	}{
		{"no rules", "", map[string]bool{"gone": true, "crcd": true, "gplified": true, "nsd": true, "everything": true}, nil},
		{"symbol glob PASS", "g* PASS\n", map[string]bool{"gone": false, "crcd": true, "gplified": false, "nsd": true, "everything": true}, map[string]string{"gone": "g*"}},
		{"first match wins", "gone FAIL\ng* PASS\n", map[string]bool{"gone": true, "crcd": true, "gplified": false, "nsd": true, "everything": true}, map[string]string{"gone": "gone", "gplified": "g*"}},
		{"first match wins, reversed", "g* PASS\ngone FAIL\n", map[string]bool{"gone": false, "crcd": true, "gplified": false, "nsd": true, "everything": true}, nil},
		{"module pattern", "drivers/* PASS\n", map[string]bool{"gone": true, "crcd": false, "gplified": true, "nsd": false, "everything": true}, nil},
		{"vmlinux", "vmlinux PASS\n# comment\n\n", map[string]bool{"gone": false, "crcd": true, "gplified": false, "nsd": true, "everything": false}, nil},
		{"namespace matches OLD's (none)", "CXL PASS\n", map[string]bool{"gone": true, "crcd": true, "gplified": true, "nsd": true, "everything": true}, nil},
		{"catch-all PASS then FAIL ignored", "* PASS\ncrcd FAIL\n", map[string]bool{"gone": false, "crcd": false, "gplified": false, "nsd": false, "everything": false}, nil},
		{"verdict case", "crcd pass\n*   FAIL  # trailing comment\n", map[string]bool{"gone": true, "crcd": false, "gplified": true, "nsd": true, "everything": true}, nil},
	}
	for _, c := range cases {
		var rs *Rules
		if c.rules != "" {
			var err error
			if rs, err = ParseRules(strings.NewReader(c.rules)); err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
		}
		r := Diff(old, new, rs)
		n := 0
		for _, ch := range r.Changes {
			want, judged := c.breaking[ch.Name]
			if !judged {
				if ch.Breaking || ch.Rule != nil {
					t.Errorf("%s: %s (not breaking by default) judged: %v %v", c.name, ch.Name, ch.Breaking, ch.Rule)
				}
				continue
			}
			if ch.Breaking != want {
				t.Errorf("%s: %s breaking %v, want %v", c.name, ch.Name, ch.Breaking, want)
			}
			if p, ok := c.rule[ch.Name]; ok && (ch.Rule == nil || ch.Rule.Pattern != p) {
				t.Errorf("%s: %s decided by %v, want %s", c.name, ch.Name, ch.Rule, p)
			}
			if want {
				n++
			}
		}
		if r.Breaking != n {
			t.Errorf("%s: Breaking %d, want %d", c.name, r.Breaking, n)
		}
	}
}

func TestNamespaceRule(t *testing.T) {
	old := table(t, "0x1|a|drivers/x|EXPORT_SYMBOL_GPL|CXL\n0x2|b|drivers/x|EXPORT_SYMBOL_GPL|\n")
	new := table(t, "0x3|a|drivers/x|EXPORT_SYMBOL_GPL|CXL\n0x4|b|drivers/x|EXPORT_SYMBOL_GPL|\n")
	rs, err := ParseRules(strings.NewReader("CXL PASS\n"))
	if err != nil {
		t.Fatal(err)
	}
	if rs.List[0].Target != "namespace" {
		t.Fatalf("CXL parsed as %s", rs.List[0].Target)
	}
	r := Diff(old, new, rs)
	if r.Breaking != 1 || r.Changes[0].Breaking || !r.Changes[1].Breaking {
		t.Errorf("namespace rule: %+v", r.Changes)
	}
}

func TestRulesParse(t *testing.T) {
	for _, bad := range []string{"sym\n", "sym MAYBE\n", "a b c\n"} {
		if _, err := ParseRules(strings.NewReader(bad)); err == nil || !strings.Contains(err.Error(), "line 1") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	rs, err := ParseRules(strings.NewReader("vmlinux PASS\narch/x86/kvm/* FAIL\nUSB_STORAGE PASS\nkvm_* FAIL\nFOO_bar PASS\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"module", "module", "namespace", "symbol", "symbol"}
	for i, r := range rs.List {
		if r.Target != want[i] {
			t.Errorf("%s: %s, want %s", r.Pattern, r.Target, want[i])
		}
	}
}

func TestLoadKinds(t *testing.T) {
	dir := t.TempDir()
	sv := filepath.Join(dir, "Module.symvers")
	os.WriteFile(sv, []byte(strings.ReplaceAll(oldSyms, "|", "\t")), 0o644)
	in, err := Load(sv, nil)
	if err != nil || in.Kind != "symvers" || len(in.Table.Symbols) != 10 {
		t.Fatalf("symvers: %v %+v", err, in)
	}
	// A modules tree of the committed fixtures.
	tree, _ := filepath.Abs("../testdata/modules/amd64")
	in, err = Load(tree, nil)
	if err != nil || in.Kind != "tree" || len(in.Table.Symbols) == 0 {
		t.Fatalf("tree: %v %+v", err, in)
	}
	for _, s := range in.Table.Symbols {
		if strings.HasPrefix(s.Module, "/") || strings.HasSuffix(s.Module, ".ko") {
			t.Errorf("module column %q", s.Module)
		}
	}
	// Not an input.
	junk := filepath.Join(dir, "junk")
	os.WriteFile(junk, []byte("hello world, not a kernel\n"), 0o644)
	if _, err := Load(junk, nil); err == nil || !strings.Contains(err.Error(), junk) {
		t.Errorf("junk: %v", err)
	}
	if _, err := Load(t.TempDir(), nil); err == nil {
		t.Errorf("empty dir loaded")
	}
	bad := filepath.Join(dir, "bad.symvers")
	os.WriteFile(bad, []byte("0x1\tsym\tvmlinux\tEXPORT_SYMBOL\t\n0xZZ\tx\tvmlinux\tEXPORT_SYMBOL\t\n"), 0o644)
	if _, err := Load(bad, nil); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad symvers: %v", err)
	}
}

func TestModulePath(t *testing.T) {
	for _, c := range [][3]string{
		{"/lib/modules/6.1.0-57-amd64", "/lib/modules/6.1.0-57-amd64/kernel/drivers/net/foo.ko", "drivers/net/foo"},
		{"/lib/modules/R", "/lib/modules/R/updates/dkms/bar.ko.xz", "updates/dkms/bar"},
		{"/x", "/elsewhere/baz.ko.zst", "baz"},
	} {
		if got := ModulePath(c[0], c[1]); got != c[2] {
			t.Errorf("ModulePath(%s) = %s, want %s", c[1], got, c[2])
		}
	}
}
