package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// matrixRoot writes a minimal root for release rel whose Module.symvers
// exports what the fixtures need, after edit (which may change or drop
// lines).
func matrixRoot(t *testing.T, rel string, fixtures []string, edit func(sym string, crc uint32) (uint32, bool)) string {
	t.Helper()
	var sv strings.Builder
	seen := map[string]bool{}
	for _, f := range fixtures {
		m, err := ko.Open(f, nil)
		if err != nil {
			t.Fatal(err)
		}
		vs, _ := m.Versions()
		m.Close()
		for _, v := range vs {
			if seen[v.Name] {
				continue
			}
			seen[v.Name] = true
			crc, keep := edit(v.Name, uint32(v.CRC))
			if keep {
				fmt.Fprintf(&sv, "0x%08x\t%s\tvmlinux\tEXPORT_SYMBOL\t\n", crc, v.Name)
			}
		}
	}
	root := t.TempDir()
	for _, d := range []string{"boot", "lib/modules/" + rel, "usr/src/linux-headers-" + rel} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(root, "boot", "config-"+rel), []byte("CONFIG_MODULE_SIG=y\nCONFIG_MODVERSIONS=y\nCONFIG_MODULE_FORCE_LOAD=y\nCONFIG_STRICT_MODULE_RWX=y\n"), 0o644)
	os.WriteFile(filepath.Join(root, "usr/src/linux-headers-"+rel, "Module.symvers"), []byte(sv.String()), 0o644)
	return root
}

// matrixRoots: three kernels in three roots: one matching the fixtures,
// one where module_layout's CRC changed (ENOEXEC, "disagrees about
// version"), one without printk's... first symbol of nvram (ENOENT).
func matrixRoots(t *testing.T, fixtures []string) []string {
	same := func(s string, c uint32) (uint32, bool) { return c, true }
	changed := func(s string, c uint32) (uint32, bool) {
		if s == "module_layout" {
			return c ^ 1, true
		}
		return c, true
	}
	nvramOnly := nvramSymbol(t, fixtures)
	dropped := func(s string, c uint32) (uint32, bool) { return c, s != nvramOnly }
	return []string{
		matrixRoot(t, "6.1.0-91-amd64", fixtures, changed),
		matrixRoot(t, "6.1.0-90-amd64", fixtures, same),
		matrixRoot(t, "6.1.0-100-amd64", fixtures, dropped),
	}
}

// nvramSymbol is a symbol nvram.ko needs and crc7.ko does not.
func nvramSymbol(t *testing.T, fixtures []string) string {
	need := func(p string) map[string]bool {
		m, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		vs, _ := m.Versions()
		out := map[string]bool{}
		for _, v := range vs {
			out[v.Name] = true
		}
		return out
	}
	a, b := need(fixtures[0]), need(fixtures[1])
	for s := range b {
		if !a[s] && s != "module_layout" {
			return s
		}
	}
	t.Fatal("no symbol only nvram needs")
	return ""
}

var matrixFixtures = []string{"../../testdata/modules/amd64/crc7.ko", "../../testdata/modules/amd64/nvram.ko"}

func TestKabiMatrix(t *testing.T) {
	roots := matrixRoots(t, matrixFixtures)
	html := filepath.Join(t.TempDir(), "m.html")
	args := []string{"kabi", "matrix", "--json", "--html", html}
	for _, r := range roots {
		args = append(args, "-b", r)
	}
	args = append(args, matrixFixtures...)
	out, stderr, code := secRun(args...)
	if code != ExitRefused {
		t.Fatalf("exit %d, want 3: %s%s", code, out, stderr)
	}
	var doc matrixDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	// Kernels in version order, whatever the -b order.
	var ids []string
	for _, k := range doc.Kernels {
		ids = append(ids, k.ID)
	}
	if strings.Join(ids, " ") != "6.1.0-90-amd64 6.1.0-91-amd64 6.1.0-100-amd64" {
		t.Errorf("kernels %v", ids)
	}
	want := map[[2]string]string{
		{matrixFixtures[0], "6.1.0-90-amd64"}:  "loads",
		{matrixFixtures[1], "6.1.0-90-amd64"}:  "loads",
		{matrixFixtures[0], "6.1.0-91-amd64"}:  "ENOEXEC",
		{matrixFixtures[1], "6.1.0-91-amd64"}:  "ENOEXEC",
		{matrixFixtures[0], "6.1.0-100-amd64"}: "loads",
		{matrixFixtures[1], "6.1.0-100-amd64"}: "ENOENT",
	}
	if len(doc.Cells) != len(want) {
		t.Fatalf("%d cells, want %d", len(doc.Cells), len(want))
	}
	for _, c := range doc.Cells {
		if w := want[[2]string{c.Module, c.Kernel}]; c.Verdict != w {
			t.Errorf("%s on %s: %s, want %s (%v)", c.Module, c.Kernel, c.Verdict, w, c.Result.Messages)
		}
	}
	if doc.Summary != (matrixSummary{Loads: 3, Refused: 3}) {
		t.Errorf("summary %+v", doc.Summary)
	}
	// The same verdicts as `check` on each kernel.
	for _, r := range roots {
		rel := filepath.Base(mustGlob(t, filepath.Join(r, "lib/modules/*")))
		cout, _, _ := secRun(append([]string{"check", "--json", "--with-deps", "-b", r, "-k", rel}, matrixFixtures...)...)
		var cd checkDoc
		if err := json.Unmarshal([]byte(cout), &cd); err != nil {
			t.Fatal(err)
		}
		for _, res := range cd.Results {
			if v := verdictOf(res); v != want[[2]string{res.File, rel}] {
				t.Errorf("check %s on %s: %s, matrix %s", res.File, rel, v, want[[2]string{res.File, rel}])
			}
		}
	}
	// The page: one cell per kernel x module with its verdict, messages in
	// the title, no external resources.
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	cells := regexp.MustCompile(`<td class="c v-[a-z]+" data-kernel="([^"]+)" data-module="([^"]+)" data-verdict="([^"]+)" title="([^"]*)"`).FindAllStringSubmatch(string(page), -1)
	if len(cells) != len(want) {
		t.Fatalf("%d cells in the page, want %d", len(cells), len(want))
	}
	for _, c := range cells {
		if w := want[[2]string{c[2], c[1]}]; c[3] != w {
			t.Errorf("page: %s on %s: %s, want %s", c[2], c[1], c[3], w)
		}
		if c[3] == "ENOEXEC" && !strings.Contains(c[4], "disagrees about version of symbol module_layout") {
			t.Errorf("page: ENOEXEC cell without the kernel's message: %q", c[4])
		}
	}
	if regexp.MustCompile(`(?i)(src|href)=["']?(https?:)?//`).Match(page) {
		t.Errorf("page loads external resources")
	}

	// Text table: a header with the kernels and one row per module.
	out, _, code = secRun(append([]string{"kabi", "matrix", "-b", roots[0], "-b", roots[1], "-k", "6.1.0-90-amd64"}, matrixFixtures...)...)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != 0 || len(lines) != 4 || !strings.HasPrefix(lines[0], "MODULE") || !strings.Contains(lines[0], "6.1.0-90-amd64") ||
		strings.Contains(lines[0], "6.1.0-91") || !strings.Contains(lines[1], "loads") {
		t.Errorf("text (exit %d):\n%s", code, out)
	}
}

func mustGlob(t *testing.T, pat string) string {
	m, _ := filepath.Glob(pat)
	if len(m) != 1 {
		t.Fatalf("%s: %v", pat, m)
	}
	return m[0]
}

func TestKabiMatrixErrors(t *testing.T) {
	roots := matrixRoots(t, matrixFixtures)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"kabi", "matrix", "-b", roots[0]}, 2, "need at least one MODULE"},
		{[]string{"kabi", "matrix", "-b", roots[0], "-k", "9.9.9", "x.ko"}, 2, "kernel 9.9.9: not found"},
		{[]string{"kabi", "matrix", "-b", t.TempDir(), "x.ko"}, 2, "no kernel found"},
		{[]string{"kabi", "matrix", "-b", roots[0], "--policy", "x", "x.ko"}, 2, "--policy"},
		{[]string{"kabi", "matrix", "-b", roots[1], "/nonexistent/x.ko"}, 1, ""},
		{[]string{"kabi", "matrix", "--help"}, 0, ""},
	} {
		out, stderr, code := secRun(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, stderr)
		}
		if c.code == 1 && !strings.Contains(out, "error") {
			t.Errorf("%v: table without the error cell:\n%s", c.args, out)
		}
		if c.code == 0 && !strings.Contains(out, "Usage:") {
			t.Errorf("--help: %s", out)
		}
	}
}

func TestKabiExplainUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad")
	os.WriteFile(bad, []byte("not a kernel image at all"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"kabi", "explain"}, 2, "need OLD and NEW"},
		{[]string{"kabi", "explain", bad, bad}, 2, "give SYMBOLs"},
		{[]string{"kabi", "explain", "-E", bad, bad, bad}, 2, "-E takes"},
		{[]string{"kabi", "explain", "--old-modules", dir, bad, bad, "x"}, 2, "go together"},
		{[]string{"kabi", "explain", bad, bad, "sym"}, 1, bad},
		{[]string{"kabi", "explain", filepath.Join(dir, "missing"), bad, "sym"}, 1, "missing"},
		{[]string{"kabi", "explain", "--help"}, 0, ""},
	} {
		_, stderr, code := secRun(c.args...)
		if code != c.code || !strings.Contains(stderr, c.msg) {
			t.Errorf("%v: exit %d, want %d; stderr %q", c.args, code, c.code, stderr)
		}
		if code == 1 && strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: want one error line, got %q", c.args, stderr)
		}
	}
}
