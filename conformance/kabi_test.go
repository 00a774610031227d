package conformance_test

// kabi: `kmodscope symvers` against the Module.symvers that Debian's
// headers packages ship (written by modpost during the kernel build), and
// `kmodscope kabi diff` against counts computed here with plain maps over
// the same files, and against `kmodscope check` for --modules.

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/kabi"
)

// kabiRoot is an unpacked Debian kernel: image, modules, headers.
type kabiRoot struct {
	dir, rel, image, symvers string
}

func (r kabiRoot) tree() string { return filepath.Join(r.dir, "lib/modules", r.rel) }

// kabiRoots returns the complete Debian trees (deb-*, $KMODSCOPE_TREES)
// and the older 6.1 ABIs (abi-*, $KMODSCOPE_ABI_TREES), by release.
func kabiRoots(t *testing.T) map[string]kabiRoot {
	if testing.Short() {
		t.Skip("-short: whole trees")
	}
	var dirs []string
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		dirs = strings.Split(env, ":")
	} else {
		dirs, _ = filepath.Glob("/var/cache/kmodscope/deb-*")
	}
	if env := os.Getenv("KMODSCOPE_ABI_TREES"); env != "" {
		dirs = append(dirs, strings.Split(env, ":")...)
	} else {
		abi, _ := filepath.Glob("/var/cache/kmodscope/abi-*")
		dirs = append(dirs, abi...)
	}
	out := map[string]kabiRoot{}
	for _, d := range dirs {
		marker, _ := filepath.Glob(filepath.Join(d, ".complete-*"))
		if len(marker) == 0 {
			continue
		}
		rel := strings.TrimPrefix(filepath.Base(marker[0]), ".complete-")
		r := kabiRoot{dir: d, rel: rel, image: kabi.ImagePath(d, rel), symvers: filepath.Join(d, "usr/src/linux-headers-"+rel, "Module.symvers")}
		if r.image == "" || !fileExists(r.symvers) {
			continue
		}
		if !strings.HasSuffix(rel, "-amd64") && !strings.HasSuffix(rel, "-arm64") {
			t.Logf("%s: only amd64 and arm64 images are read (docs/symvers.md): skipped", rel)
			continue
		}
		out[rel] = r
	}
	return out
}

func requireRoots(t *testing.T, roots map[string]kabiRoot, rels ...string) bool {
	for _, rel := range rels {
		if _, ok := roots[rel]; !ok {
			if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
				t.Fatalf("kernel %s not found (scripts/fetch-debian-kernel.sh %s amd64 amd64 /var/cache/kmodscope/abi-%s)", rel, strings.TrimSuffix(rel, "-amd64"), rel)
			}
			t.Logf("kernel %s not found: skipped", rel)
			return false
		}
	}
	return true
}

// TestKabiSymversReproduces: image + modules tree give the headers'
// Module.symvers: every line, and in modpost's order except for the vmlinux
// exports whose name the linker merged into a longer string (their place
// is lost; docs/symvers.md).
func TestKabiSymversReproduces(t *testing.T) {
	roots := kabiRoots(t)
	if len(roots) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("no Debian kernel trees")
		}
		t.Skip("no Debian kernel trees")
	}
	rels := make([]string, 0, len(roots))
	for r := range roots {
		rels = append(rels, r)
	}
	sort.Strings(rels)
	for _, rel := range rels {
		r := roots[rel]
		t.Run(rel, func(t *testing.T) {
			res, errs := runOurs("symvers", r.image, r.tree())
			if res.code != 0 {
				t.Fatalf("symvers: exit %d: %s", res.code, errs)
			}
			want, err := os.ReadFile(r.symvers)
			if err != nil {
				t.Fatal(err)
			}
			got := strings.Split(strings.TrimSuffix(string(res.stdout), "\n"), "\n")
			wantL := strings.Split(strings.TrimSuffix(string(want), "\n"), "\n")
			gs, ws := append([]string{}, got...), append([]string{}, wantL...)
			sort.Strings(gs)
			sort.Strings(ws)
			if strings.Join(gs, "\n") != strings.Join(ws, "\n") {
				t.Fatalf("%d lines, headers have %d; first difference (sorted): %s", len(gs), len(ws), firstDiff([]byte(strings.Join(gs, "\n")), []byte(strings.Join(ws, "\n"))))
			}
			_, shared, err := kabi.ImageSymbols(r.image)
			if err != nil {
				t.Fatal(err)
			}
			vmlinux := 0
			for _, l := range wantL {
				if strings.Contains(l, "\tvmlinux\t") {
					vmlinux++
				}
			}
			if len(shared)*100 > vmlinux*6 {
				t.Fatalf("%d of %d vmlinux exports have merged names: more than expected", len(shared), vmlinux)
			}
			skip := map[string]bool{}
			for _, n := range shared {
				skip[n] = true
			}
			strip := func(ls []string) []string {
				var o []string
				for _, l := range ls {
					f := strings.SplitN(l, "\t", 4)
					if f[2] == "vmlinux" && skip[f[1]] {
						continue
					}
					o = append(o, l)
				}
				return o
			}
			a, b := strip(got), strip(wantL)
			// Modules: modpost's order exactly.
			if ma, mb := strings.Join(a[vmlinux-len(shared):], "\n"), strings.Join(b[vmlinux-len(shared):], "\n"); ma != mb {
				t.Fatalf("module lines in another order: %s", firstDiff([]byte(ma), []byte(mb)))
			}
			// vmlinux: the lines not in the longest common subsequence
			// are the misplaced ones.
			mis := misplaced(a, b)
			// With the merged names placed by kmodscope's guess, fewer
			// lines are out of place than there are merged names.
			all := misplaced(got, wantL)
			if all > len(shared)+mis {
				t.Errorf("%d lines misplaced in all, more than the %d merged names and %d others", all, len(shared), mis)
			}
			if r.rel[:3] == "6.1" && !strings.HasPrefix(r.rel, "6.12") {
				// 6.1 lists vmlinux exports in vmlinux.o's symbol table
				// order, which the string table follows but for a few
				// objects (docs/symvers.md).
				if mis > 3 {
					t.Errorf("%d vmlinux lines misplaced besides the merged names", mis)
				}
			} else if mis != 0 {
				t.Errorf("%d vmlinux lines misplaced besides the merged names", mis)
			}
			t.Logf("%d lines identical (%d vmlinux, %d modules); module order identical; vmlinux order identical except %d exports with merged names and %d others (%d lines misplaced in all)",
				len(got), vmlinux, len(got)-vmlinux, len(shared), mis, all)
		})
	}
}

// misplaced returns how many lines of got must move to give want (both
// permutations of one set): len - longest increasing subsequence.
func misplaced(got, want []string) int {
	pos := map[string]int{}
	for i, w := range want {
		pos[w] = i
	}
	var tails []int
	for _, g := range got {
		x := pos[g]
		i := sort.SearchInts(tails, x)
		if i == len(tails) {
			tails = append(tails, x)
		} else {
			tails[i] = x
		}
	}
	return len(want) - len(tails)
}

// symLine is one Module.symvers line, parsed here without package symvers.
type symLine struct {
	crc, module, export, ns string
}

func readSymversMap(t *testing.T, path string) (map[string]symLine, map[string]string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m, lines := map[string]symLine{}, map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		if len(f) != 5 {
			t.Fatalf("%s: line %q", path, l)
		}
		m[f[1]] = symLine{f[0], f[2], f[3], f[4]}
		lines[f[1]] = l
	}
	return m, lines
}

// independentDiff counts the categories with maps, and returns the
// breaking OLD lines in name order.
func independentDiff(t *testing.T, oldP, newP string) (map[string]int, []string) {
	om, ol := readSymversMap(t, oldP)
	nm, _ := readSymversMap(t, newP)
	c := map[string]int{"removed": 0, "added": 0, "crc_changed": 0, "export_type_changed": 0, "namespace_changed": 0, "moved": 0}
	var breaking []string
	for n, o := range om {
		w, ok := nm[n]
		if !ok {
			c["removed"]++
			breaking = append(breaking, n)
			continue
		}
		oc, _ := strconv.ParseUint(o.crc, 0, 32)
		wc, _ := strconv.ParseUint(w.crc, 0, 32)
		br := false
		if oc != wc {
			c["crc_changed"]++
			br = true
		}
		if o.export != w.export {
			c["export_type_changed"]++
			br = br || w.export == "EXPORT_SYMBOL_GPL"
		}
		if o.ns != w.ns {
			c["namespace_changed"]++
			br = true
		}
		if o.module != w.module {
			c["moved"]++
		}
		if br {
			breaking = append(breaking, n)
		}
	}
	for n := range nm {
		if _, ok := om[n]; !ok {
			c["added"]++
		}
	}
	c["breaking"] = len(breaking)
	sort.Strings(breaking)
	lines := make([]string, len(breaking))
	for i, n := range breaking {
		lines[i] = ol[n]
	}
	return c, lines
}

func kabiSummary(t *testing.T, args ...string) (map[string]int, int) {
	res, errs := runOurs(append([]string{"kabi", "diff", "--json"}, args...)...)
	var doc struct {
		Schema  string         `json:"schema"`
		Summary map[string]int `json:"summary"`
	}
	if err := json.Unmarshal(res.stdout, &doc); err != nil || doc.Schema != "kmodscope.kabi-diff/v1" {
		t.Fatalf("kabi diff %v: exit %d, %v: %s", args, res.code, err, errs)
	}
	return doc.Summary, res.code
}

// TestKabiDiffCounts: kabi diff of real ABI bumps equals the plain-map
// computation, through each kind of input.
func TestKabiDiffCounts(t *testing.T) {
	roots := kabiRoots(t)
	pairs := [][2]string{
		{"6.1.0-54-amd64", "6.1.0-55-amd64"},
		{"6.1.0-55-amd64", "6.1.0-56-amd64"},
		{"6.1.0-56-amd64", "6.1.0-57-amd64"},
		{"6.1.0-57-amd64", "6.12.117+deb12-amd64"}, // every category occurs
	}
	ran := 0
	for i, p := range pairs {
		if !requireRoots(t, roots, p[0], p[1]) {
			continue
		}
		ran++
		o, n := roots[p[0]], roots[p[1]]
		want, wantLines := independentDiff(t, o.symvers, n.symvers)
		check := func(how string, args ...string) {
			got, code := kabiSummary(t, args...)
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s→%s (%s): %s = %d, independent count %d", p[0], p[1], how, k, got[k], v)
				}
			}
			wantCode := 0
			if want["breaking"] > 0 {
				wantCode = 3
			}
			if code != wantCode {
				t.Errorf("%s→%s (%s): exit %d, want %d", p[0], p[1], how, code, wantCode)
			}
		}
		check("Module.symvers files", o.symvers, n.symvers)
		check("root directories", o.dir, n.dir)
		t.Logf("%s→%s: %v", p[0], p[1], want)
		res, _ := runOurs("kabi", "diff", "--format", "symvers", o.symvers, n.symvers)
		if got := strings.TrimSuffix(string(res.stdout), "\n"); got != strings.Join(wantLines, "\n") {
			t.Errorf("%s→%s: --format symvers: %s", p[0], p[1], firstDiff([]byte(got), []byte(strings.Join(wantLines, "\n"))))
		}
		if i == 0 {
			// The same comparison from what the kernels ship: gzip'd
			// symvers (as /boot/symvers-REL.gz) against image + tree.
			gz := filepath.Join(t.TempDir(), "symvers-"+p[0]+".gz")
			raw, _ := os.ReadFile(o.symvers)
			var buf bytes.Buffer
			zw := gzip.NewWriter(&buf)
			zw.Write(raw)
			zw.Close()
			os.WriteFile(gz, buf.Bytes(), 0o644)
			check(".gz vs image+tree", gz, "--from-image", n.dir)
			// An image alone holds the vmlinux exports only.
			got, _ := kabiSummary(t, o.image, n.image)
			if got["crc_changed"] == 0 || got["crc_changed"] > want["crc_changed"] {
				t.Errorf("image vs image: %v", got)
			}
		}
	}
	if ran == 0 {
		t.Skip("no pair of kernels present")
	}
}

// TestKabiModulesAgreesWithCheck: --modules gives, module by module, the
// verdict `kmodscope check` gives on the NEW kernel (6.1.0-57), with and
// without --with-deps, for modules of 6.1.0-54 (18,272 CRCs changed since). The older kernel's
// modules are sampled (every KMODSCOPE_KABI_SAMPLE-th, default 40; 1 for
// the whole tree).
func TestKabiModulesAgreesWithCheck(t *testing.T) {
	roots := kabiRoots(t)
	if !requireRoots(t, roots, "6.1.0-54-amd64", "6.1.0-57-amd64") {
		t.Skip("kernels missing")
	}
	o, n := roots["6.1.0-54-amd64"], roots["6.1.0-57-amd64"]
	every := 40
	if v, err := strconv.Atoi(os.Getenv("KMODSCOPE_KABI_SAMPLE")); err == nil && v > 0 {
		every = v
	}
	all, err := kabi.TreeModules(o.tree())
	if err != nil {
		t.Fatal(err)
	}
	var mods []string
	for i := 0; i < len(all); i += every {
		mods = append(mods, all[i])
	}
	// One module of OLD that NEW's loader accepts: NEW's own copy.
	mods = append(mods, filepath.Join(n.tree(), "kernel/lib/crc7.ko"))
	for _, deps := range []bool{false, true} {
		loads := compareModulesWithCheck(t, o, n, mods, deps)
		t.Logf("%d modules of %s on %s (--with-deps %v): %d load, %d refused, verdicts equal to check's", len(mods), o.rel, n.rel, deps, loads, len(mods)-loads)
	}
}

func compareModulesWithCheck(t *testing.T, o, n kabiRoot, mods []string, withDeps bool) int {
	args := []string{"kabi", "diff", "--json"}
	cargs := []string{"check", "--json", "-b", n.dir, "-k", n.rel}
	if withDeps {
		args = append(args, "--with-deps")
		cargs = append(cargs, "--with-deps")
	}
	for _, m := range mods {
		args = append(args, "--modules", m)
	}
	res, errs := runOurs(append(args, o.dir, n.dir)...)
	var doc struct {
		Summary map[string]int `json:"summary"`
		Modules []struct {
			File        string   `json:"file"`
			Loads       bool     `json:"loads"`
			Errno       *string  `json:"errno"`
			FailedCheck *string  `json:"failed_check"`
			Messages    []string `json:"messages"`
			LoadOrder   []string `json:"load_order"`
			BrokenBy    []string `json:"broken_by"`
		} `json:"modules"`
	}
	if err := json.Unmarshal(res.stdout, &doc); err != nil {
		t.Fatalf("kabi diff --modules: exit %d %v: %s", res.code, err, errs)
	}
	cres, cerrs := runOurs(append(cargs, mods...)...)
	var cdoc struct {
		Results []struct {
			File        string   `json:"file"`
			Loads       bool     `json:"loads"`
			Errno       *string  `json:"errno"`
			FailedCheck *string  `json:"failed_check"`
			Messages    []string `json:"messages"`
			LoadOrder   []string `json:"load_order"`
		} `json:"results"`
	}
	if err := json.Unmarshal(cres.stdout, &cdoc); err != nil {
		t.Fatalf("check: exit %d %v: %s", cres.code, err, cerrs)
	}
	if len(doc.Modules) != len(mods) || len(cdoc.Results) != len(mods) {
		t.Fatalf("%d modules, kabi %d, check %d", len(mods), len(doc.Modules), len(cdoc.Results))
	}
	str := func(p *string) string {
		if p == nil {
			return "-"
		}
		return *p
	}
	loads, explained := 0, 0
	for i := range mods {
		k, c := doc.Modules[i], cdoc.Results[i]
		if filepath.Clean(c.File) != k.File || k.Loads != c.Loads || str(k.Errno) != str(c.Errno) || str(k.FailedCheck) != str(c.FailedCheck) ||
			fmt.Sprint(k.Messages) != fmt.Sprint(c.Messages) || fmt.Sprint(k.LoadOrder) != fmt.Sprint(c.LoadOrder) {
			t.Errorf("%s: kabi diff says loads=%v %s %s %v; check says loads=%v %s %s %v", mods[i],
				k.Loads, str(k.Errno), str(k.FailedCheck), k.Messages, c.Loads, str(c.Errno), str(c.FailedCheck), c.Messages)
		}
		if k.Loads {
			loads++
		} else if len(k.BrokenBy) > 0 {
			explained++
		}
	}
	// 54→57 changed 18,272 CRCs: refused modules import some of them.
	if explained*2 < len(mods)-loads {
		t.Errorf("only %d of %d refused modules have broken_by imports", explained, len(mods)-loads)
	}
	if doc.Summary["modules_loading"] != loads || doc.Summary["modules_refused"] != len(mods)-loads {
		t.Errorf("summary %v, %d load", doc.Summary, loads)
	}
	if loads == 0 || (loads == len(mods) && !withDeps) {
		t.Errorf("%d of %d load: the sample should have both verdicts", loads, len(mods))
	}
	wantCode := 0
	if loads < len(mods) {
		wantCode = 3
	}
	if res.code != wantCode {
		t.Errorf("exit %d, want %d", res.code, wantCode)
	}
	return loads
}

// TestKabiSymversModulesVsKmod: for the committed modules of every
// architecture (so a fresh clone runs it), `kmodscope symvers` lists the
// exports and CRCs `modprobe --show-exports` lists, and the export type of
// the section objdump -t places each __ksymtab_NAME symbol in.
func TestKabiSymversModulesVsKmod(t *testing.T) {
	modprobe := need(t, "modprobe")
	objdump := need(t, "objdump")
	files := findModules(t, filepath.Join(repoRoot(t), "testdata", "modules"))
	if len(files) == 0 {
		t.Fatal("no committed modules")
	}
	compared := 0
	for _, f := range files {
		res, errs := runOurs("symvers", f)
		if res.code != 0 {
			t.Errorf("%s: symvers exit %d: %s", f, res.code, errs)
			continue
		}
		km := runReal(t, modprobe, "--show-exports", f)
		want := map[string]string{}
		for _, l := range strings.Split(strings.TrimSpace(string(km.stdout)), "\n") {
			if fl := strings.Fields(l); len(fl) == 2 {
				want[fl[1]] = fl[0]
			}
		}
		plain := f
		for ext, tool := range map[string]string{".xz": "xz", ".zst": "zstd", ".gz": "gzip"} {
			if strings.HasSuffix(f, ext) {
				out, err := exec.Command(need(t, tool), "-dc", f).Output()
				if err != nil {
					t.Fatalf("%s -dc %s: %v", tool, f, err)
				}
				plain = filepath.Join(t.TempDir(), "m.ko")
				os.WriteFile(plain, out, 0o644)
			}
		}
		od := runReal(t, objdump, "-t", plain)
		sec := map[string]string{}
		for _, l := range strings.Split(string(od.stdout), "\n") {
			fl := strings.Fields(l)
			if len(fl) < 4 {
				continue
			}
			name, s := fl[len(fl)-1], fl[len(fl)-3]
			if n, ok := strings.CutPrefix(name, "__ksymtab_"); ok && name != s && strings.HasPrefix(s, "__ksymtab") && s != "__ksymtab_strings" {
				sec[n] = s
			}
		}
		lines := strings.Split(strings.TrimSuffix(string(res.stdout), "\n"), "\n")
		if string(res.stdout) == "" {
			lines = nil
		}
		if len(lines) != len(sec) {
			t.Errorf("%s: %d lines, objdump shows %d __ksymtab_ symbols", f, len(lines), len(sec))
		}
		for _, l := range lines {
			fl := strings.Split(l, "\t")
			if len(fl) != 5 {
				t.Fatalf("%s: line %q", f, l)
			}
			// modprobe lists the __crc_ symbols, or without any the
			// __ksymtab_strings names with CRC 0.
			if crc, ok := want[fl[1]]; !ok || crc != fl[0] {
				t.Errorf("%s: %s CRC %s, modprobe --show-exports %q (listed: %v)", f, fl[1], fl[0], crc, ok)
			}
			wantType := "EXPORT_SYMBOL"
			if sec[fl[1]] == "__ksymtab_gpl" {
				wantType = "EXPORT_SYMBOL_GPL"
			}
			if fl[3] != wantType {
				t.Errorf("%s: %s is %s, objdump puts it in %s", f, fl[1], fl[3], sec[fl[1]])
			}
			if fl[2] != strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(f), ".xz"), ".zst"), ".gz"), ".ko") {
				t.Errorf("%s: module column %q", f, fl[2])
			}
			compared++
		}
	}
	if compared < 50 {
		t.Fatalf("only %d exports compared", compared)
	}
	t.Logf("%d exports of %d committed modules: CRCs as modprobe --show-exports, export types as objdump -t's sections", compared, len(files))
}
