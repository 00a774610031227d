package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/internal/cli"
)

// chromium finds a headless-capable Chromium; without one the test skips,
// or fails under KMODSCOPE_REQUIRE_TREES=1 (CI installs it).
func chromium(t *testing.T) string {
	for _, n := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
		t.Fatal("chromium not installed (apt-get install chromium)")
	}
	t.Skip("chromium not installed")
	return ""
}

func runCLI(t *testing.T, args ...string) ([]byte, int) {
	var out, errb bytes.Buffer
	code := cli.Main(args, nil, &out, &errb)
	if code == 1 || code == 2 {
		t.Logf("%v: exit %d: %s", args[:2], code, errb.String())
	}
	return out.Bytes(), code
}

// TestKabiMatrixHTMLChromium: the matrix page of three real kernels x the
// committed module fixtures, a module of the oldest tree and a module name,
// rendered by headless Chromium: the DOM has one cell per kernel x module
// whose verdict is what `kmodscope check --with-deps` says for that kernel,
// and the totals row the page's script computes matches.
func TestKabiMatrixHTMLChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: trees skipped")
	}
	browser := chromium(t)
	trees := abiTrees(t)
	if len(trees) > 3 {
		trees = []abiTree{trees[0], trees[1], trees[len(trees)-1]}
	}
	mods, _ := filepath.Glob(filepath.Join(repoRoot(t), "testdata/modules/amd64/*.ko"))
	oldExt4 := filepath.Join(trees[0].modules, "kernel/fs/ext4/ext4.ko")
	if _, err := os.Stat(oldExt4); err == nil {
		mods = append(mods, oldExt4)
	}
	mods = append(mods, "crc7") // a name: each kernel's own module
	page := filepath.Join(t.TempDir(), "matrix.html")
	args := []string{"kabi", "matrix", "--json", "--html", page}
	for _, tr := range trees {
		args = append(args, "-b", tr.dir)
	}
	args = append(args, mods...)
	out, code := runCLI(t, args...)
	if code != 0 && code != 3 {
		t.Fatalf("kabi matrix: exit %d", code)
	}
	var doc struct {
		Kernels []struct{ ID, BaseDir, Release string }
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		t.Fatal(err)
	}
	// Expected verdicts: check, kernel by kernel.
	want := map[[2]string]string{}
	loads := map[string]int{}
	verdicts := map[string]int{}
	for _, k := range doc.Kernels {
		out, _ := runCLI(t, append([]string{"check", "--json", "--with-deps", "-b", k.BaseDir, "-k", k.Release}, mods...)...)
		var cd struct {
			Results []struct {
				File    string
				Loads   bool
				Partial bool
				Errno   *string
				Crash   string
				Error   *string
			}
		}
		if err := json.Unmarshal(out, &cd); err != nil {
			t.Fatal(err)
		}
		if len(cd.Results) != len(mods) {
			t.Fatalf("check on %s: %d results", k.ID, len(cd.Results))
		}
		for i, r := range cd.Results {
			v := "refused"
			switch {
			case r.Error != nil:
				v = "error"
			case r.Loads && r.Partial:
				v = "loads?"
			case r.Loads:
				v = "loads"
			case r.Crash != "":
				v = "crash"
			case r.Errno != nil:
				v = *r.Errno
			}
			want[[2]string{mods[i], k.ID}] = v
			verdicts[v]++
			if r.Loads {
				loads[k.ID]++
			}
		}
	}
	if len(verdicts) < 2 {
		t.Errorf("every cell has the same verdict %v: the page test would prove little", verdicts)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--user-data-dir="+t.TempDir(), "--dump-dom", "file://"+page)
	var dom, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &dom, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v: %s", err, errb.String())
	}
	cellRE := regexp.MustCompile(`<td class="c v-[a-z]+" data-kernel="([^"]+)" data-module="([^"]+)" data-verdict="([^"]+)" title="([^"]*)">`)
	cells := cellRE.FindAllStringSubmatch(dom.String(), -1)
	if len(cells) != len(doc.Kernels)*len(mods) {
		t.Fatalf("%d cells in the rendered page, want %d kernels x %d modules", len(cells), len(doc.Kernels), len(mods))
	}
	seen := map[[2]string]bool{}
	for _, c := range cells {
		k, m, v := html.UnescapeString(c[1]), html.UnescapeString(c[2]), html.UnescapeString(c[3])
		key := [2]string{m, k}
		if seen[key] {
			t.Errorf("two cells for %s on %s", m, k)
		}
		seen[key] = true
		if w, ok := want[key]; !ok || v != w {
			t.Errorf("%s on %s: page says %s, check says %s", m, k, v, w)
		}
		if v != "loads" && c[4] == "" {
			t.Errorf("%s on %s: no message on hover", m, k)
		}
	}
	totalRE := regexp.MustCompile(`<td data-total-kernel="([^"]+)" data-loads="(\d+)">(\d+)/(\d+)</td>`)
	totals := totalRE.FindAllStringSubmatch(dom.String(), -1)
	if len(totals) != len(doc.Kernels) {
		t.Fatalf("%d totals computed by the page's script, want %d", len(totals), len(doc.Kernels))
	}
	for _, tt := range totals {
		n, _ := strconv.Atoi(tt[3])
		all, _ := strconv.Atoi(tt[4])
		if k := html.UnescapeString(tt[1]); n != loads[k] || all != len(mods) {
			t.Errorf("totals for %s: %s/%s, want %d/%d", k, tt[3], tt[4], loads[k], len(mods))
		}
	}
	t.Logf("%d kernels x %d modules rendered; verdicts %v", len(doc.Kernels), len(mods), verdicts)
}
