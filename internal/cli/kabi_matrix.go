package cli

import (
	"fmt"
	"html"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	kabiSubs["matrix"] = kabiSub{usage: kabiMatrixSynopsis, run: runKabiMatrix}
}

const kabiMatrixSynopsis = "kmodscope kabi matrix [-b BASEDIR]... [-k RELEASE]... [--no-deps] [--json] [--html FILE] MODULE..."

const kabiMatrixExamples = `  kmodscope kabi matrix -b / mydriver.ko           # which installed kernels can load it?
  kmodscope kabi matrix -b / -k 6.1.0-55-amd64 -k 6.1.0-57-amd64 ext4 my.ko
  kmodscope kabi matrix -b ROOT-A -b ROOT-B --html matrix.html /var/lib/dkms/foo/kernel-*/module/
  kmodscope kabi matrix --json -b ROOT extra/

Answers weak-modules' question "which installed kernels can use this driver?":
for every kernel under each BASEDIR (lib/modules/RELEASE with boot/config-RELEASE;
several -b for root-like trees in separate directories; only the -k releases
when given) and every MODULE (a file, a directory of modules, or a module name
resolved in each kernel's tree), the verdict of 'kmodscope check' (same engine,
same target model, each kernel's model built once), with the module's
dependencies loaded from that kernel's tree first unless --no-deps.
The table shows "loads", "loads?" (loads as far as kmodscope can model),
the errno of a refusal (ENOEXEC, ENOENT, ...), "crash" or "error".
--html writes one self-contained page (no network resources): the kernels x
modules grid, each cell coloured by verdict, the kernel's messages and hint on
hover (title) and click (details).
Exit status: 0 when every module loads on every kernel, 3 when any is refused,
1 on errors (a kernel or module could not be read), 2 on usage errors.
`

type matrixKernel struct {
	ID      string  `json:"id"`
	BaseDir string  `json:"basedir"`
	Release string  `json:"release"`
	Policy  string  `json:"policy"`
	Error   *string `json:"error"`
}

type matrixCell struct {
	Module  string      `json:"module"`
	Kernel  string      `json:"kernel"`
	Verdict string      `json:"verdict"`
	Result  checkResult `json:"result"`
}

type matrixDoc struct {
	Schema  string          `json:"schema"`
	Kernels []*matrixKernel `json:"kernels"`
	Modules []string        `json:"modules"`
	Cells   []matrixCell    `json:"cells"`
	Summary matrixSummary   `json:"summary"`
}

type matrixSummary struct {
	Loads   int `json:"loads"`
	Refused int `json:"refused"`
	Errors  int `json:"errors"`
}

func runKabiMatrix(s *IO, args []string) int {
	const cmd = "kabi matrix"
	var basedirs, releases []string
	var noDeps, asJSON, sigEnforce bool
	var policy, htmlOut string
	var maxSize int64
	fs := newFlags(cmd, kabiMatrixSynopsis, kabiMatrixExamples, s)
	fs.StringArrayVarP(&basedirs, "basedir", "b", nil, "a root (`DIR`) holding kernels in lib/modules and boot (repeatable; default /)")
	fs.StringArrayVarP(&releases, "set-version", "k", nil, "only kernel `RELEASE` (repeatable)")
	fs.BoolVar(&noDeps, "no-deps", false, "do not load dependencies from the kernel's tree first")
	fs.StringVar(&policy, "policy", "", "loader policy: debian or upstream (default: detected per kernel)")
	flagChoices(fs, "policy", "debian", "upstream")
	fs.BoolVar(&sigEnforce, "sig-enforce", false, "signatures are enforced on every kernel")
	fs.BoolVar(&asJSON, "json", false, "print one kmodscope.kabi-matrix/v1 JSON document")
	fs.StringVar(&htmlOut, "html", "", "also write a self-contained HTML page to `FILE`")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, cmd, args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf(cmd, "need at least one MODULE (see 'kmodscope kabi matrix --help')")
		return ExitUsage
	}
	if policy != "" && policy != "debian" && policy != "upstream" {
		s.errorf(cmd, "--policy must be debian or upstream, not %q", policy)
		return ExitUsage
	}
	if len(basedirs) == 0 {
		basedirs = []string{"/"}
	}
	kernels, err := findMatrixKernels(basedirs, releases)
	if err != nil {
		s.errorf(cmd, "%v", err)
		return ExitUsage
	}
	mods, err := expandModuleArgs(fs.Args())
	if err != nil {
		s.errorf(cmd, "%v", err)
		return ExitError
	}
	code := ExitOK
	opt := &ko.Options{MaxSize: maxSize}
	// One kernel at a time: its model is built once, its modules checked
	// in parallel, then the model and the dependency modules it cached are
	// dropped, so memory stays that of one kernel whatever their number.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	grid := make([][]*matrixCell, len(mods))
	for i := range grid {
		grid[i] = make([]*matrixCell, len(kernels))
	}
	index := make(map[string]int, len(mods))
	for i, m := range mods {
		if _, ok := index[m]; !ok {
			index[m] = i
		}
	}
	for ki, k := range kernels {
		tk, err := target.Load(target.Options{BaseDir: k.BaseDir, Release: k.Release, Policy: target.Policy(policy), SigEnforce: sigEnforce})
		if err != nil {
			msg := err.Error()
			k.Error = &msg
			code = ExitError
			if !asJSON {
				s.errorf(cmd, "%s: %v", k.ID, err)
			}
			continue
		}
		k.Policy = string(tk.Policy)
		ch := &checker{base: loadcheck.NewBase(tk), t: tk, opt: opt, cache: map[string]*depEntry{}}
		// Duplicate arguments are checked once per kernel.
		runOrdered(s, cmd, uniqueStrings(mods), func(arg string, out *jobOut) {
			r := ch.checkArg(arg, !noDeps)
			out.result = &matrixCell{Module: arg, Kernel: k.ID, Verdict: verdictOf(r), Result: r}
		}, func(out *jobOut) {
			c := out.result.(*matrixCell)
			grid[index[c.Module]][ki] = c
		})
	}
	doc := matrixDoc{Schema: "kmodscope.kabi-matrix/v1", Kernels: kernels, Modules: uniqueStrings(mods), Cells: []matrixCell{}}
	for _, m := range doc.Modules {
		for _, c := range grid[index[m]] {
			if c == nil {
				continue
			}
			doc.Cells = append(doc.Cells, *c)
			switch c.Verdict {
			case "error":
				doc.Summary.Errors++
				code = ExitError
			case "loads", "loads?":
				doc.Summary.Loads++
			default:
				doc.Summary.Refused++
				if code == ExitOK {
					code = ExitRefused
				}
			}
		}
	}
	if htmlOut != "" {
		if err := writeMatrixHTMLFile(htmlOut, &doc); err != nil {
			s.errorf(cmd, "writing %s: %v", htmlOut, err)
			return ExitError
		}
	}
	if asJSON {
		s.json(doc)
		return code
	}
	writeMatrixText(s.Out, &doc)
	return code
}

// findMatrixKernels lists the kernels under each basedir: the releases in
// lib/modules that have boot/config-RELEASE, or the given releases.
func findMatrixKernels(basedirs, releases []string) ([]*matrixKernel, error) {
	var out []*matrixKernel
	seen := map[string]int{}
	found := map[string]bool{}
	for _, b := range basedirs {
		var rels []string
		if len(releases) > 0 {
			for _, r := range releases {
				if isDir(filepath.Join(b, "lib/modules", r)) || isFile(filepath.Join(b, "boot", "config-"+r)) {
					rels = append(rels, r)
				}
			}
		} else {
			ents, _ := os.ReadDir(filepath.Join(b, "lib/modules"))
			for _, e := range ents {
				if isFile(filepath.Join(b, "boot", "config-"+e.Name())) {
					rels = append(rels, e.Name())
				}
			}
		}
		for _, r := range rels {
			found[r] = true
			seen[r]++
			out = append(out, &matrixKernel{ID: r, BaseDir: b, Release: r})
		}
	}
	for _, r := range releases {
		if !found[r] {
			return nil, fmt.Errorf("kernel %s: not found under %s (need lib/modules/%s or boot/config-%s)", r, strings.Join(basedirs, ", "), r, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no kernel found under %s (need lib/modules/RELEASE with boot/config-RELEASE)", strings.Join(basedirs, ", "))
	}
	for _, k := range out {
		if seen[k.Release] > 1 {
			k.ID = filepath.Clean(k.BaseDir) + ":" + k.Release
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return versionLess(out[i].Release, out[j].Release) })
	return out, nil
}

// versionLess orders releases by their numbers (6.1.0-9 before 6.1.0-10).
func versionLess(a, b string) bool {
	na, nb := splitNumbers(a), splitNumbers(b)
	for i := 0; i < len(na) && i < len(nb); i++ {
		if na[i] != nb[i] {
			return na[i] < nb[i]
		}
	}
	if len(na) != len(nb) {
		return len(na) < len(nb)
	}
	return a < b
}

func splitNumbers(s string) []int {
	var out []int
	n, in := 0, false
	for _, c := range s {
		if c >= '0' && c <= '9' {
			n, in = n*10+int(c-'0'), true
			continue
		}
		if in {
			out = append(out, n)
			n, in = 0, false
		}
	}
	if in {
		out = append(out, n)
	}
	return out
}

func isDir(p string) bool  { st, err := os.Stat(p); return err == nil && st.IsDir() }
func isFile(p string) bool { st, err := os.Stat(p); return err == nil && st.Mode().IsRegular() }

// uniqueStrings returns ss without repeats, in first-seen order.
func uniqueStrings(ss []string) []string {
	seen := make(map[string]bool, len(ss))
	var out []string
	for _, s := range ss {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// expandModuleArgs replaces directories by the module files under them
// (sorted); files and module names stay as given.
func expandModuleArgs(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !isDir(a) {
			out = append(out, a)
			continue
		}
		var found []string
		err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && isModuleName(d.Name()) {
				found = append(found, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(found) == 0 {
			return nil, fmt.Errorf("%s: no module files (.ko, .ko.xz, .ko.zst, .ko.gz) in this directory", a)
		}
		sort.Strings(found)
		out = append(out, found...)
	}
	return out, nil
}

func isModuleName(n string) bool {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(n, ext) {
			return true
		}
	}
	return false
}

// verdictOf is the word a matrix cell shows.
func verdictOf(r checkResult) string {
	switch {
	case r.Error != nil:
		return "error"
	case r.Loads && r.Partial:
		return "loads?"
	case r.Loads:
		return "loads"
	case r.Crash != "":
		return "crash"
	case r.Errno != nil:
		return *r.Errno
	}
	return "refused"
}

// moduleLabel is a short name for a module argument.
func moduleLabel(arg string) string {
	b := filepath.Base(arg)
	for _, ext := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if strings.HasSuffix(b, ext) {
			return strings.TrimSuffix(b, ext)
		}
	}
	return b
}

func (d *matrixDoc) grid() map[[2]string]*matrixCell {
	g := make(map[[2]string]*matrixCell, len(d.Cells))
	for i := range d.Cells {
		g[[2]string{d.Cells[i].Module, d.Cells[i].Kernel}] = &d.Cells[i]
	}
	return g
}

func writeMatrixText(w io.Writer, d *matrixDoc) {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprint(tw, "MODULE")
	for _, k := range d.Kernels {
		fmt.Fprintf(tw, "\t%s", k.ID)
	}
	fmt.Fprintln(tw)
	g := d.grid()
	for _, m := range d.Modules {
		fmt.Fprint(tw, m)
		for _, k := range d.Kernels {
			v := "-"
			if k.Error != nil {
				v = "no-target"
			} else if c := g[[2]string{m, k.ID}]; c != nil {
				v = c.Verdict
			}
			fmt.Fprintf(tw, "\t%s", v)
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
	fmt.Fprintf(w, "%d loads, %d refused, %d errors\n", d.Summary.Loads, d.Summary.Refused, d.Summary.Errors)
}

func writeMatrixHTMLFile(path string, d *matrixDoc) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := writeMatrixHTML(f, d); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const matrixCSS = `body{font:14px sans-serif;margin:1em}table{border-collapse:collapse}
th,td{border:1px solid #999;padding:2px 6px;vertical-align:top}
th.k{writing-mode:vertical-rl;transform:rotate(180deg);white-space:nowrap}
td.c{min-width:5em;cursor:pointer}td.c summary{list-style:none;font-weight:bold}
td.c .m{white-space:pre-wrap;font:12px monospace;max-width:40em}
.v-loads{background:#b7e4b0}.v-partial{background:#e4e2a0}.v-refused{background:#f2a9a0}
.v-crash{background:#c060c0;color:#fff}.v-error,.v-none{background:#ccc}
tfoot td{font-weight:bold}`

// matrixJS fills the totals row (loading modules per kernel) from the cells.
const matrixJS = `(function(){var t={};document.querySelectorAll('td.c').forEach(function(c){var k=c.dataset.kernel;t[k]=t[k]||[0,0];t[k][1]++;if(c.dataset.verdict=='loads'||c.dataset.verdict=='loads?')t[k][0]++;});
document.querySelectorAll('td[data-total-kernel]').forEach(function(c){var v=t[c.dataset.totalKernel]||[0,0];c.textContent=v[0]+'/'+v[1];c.dataset.loads=v[0];});})();`

func verdictClass(v string) string {
	switch v {
	case "loads":
		return "v-loads"
	case "loads?":
		return "v-partial"
	case "crash":
		return "v-crash"
	case "error":
		return "v-error"
	}
	return "v-refused"
}

func writeMatrixHTML(w io.Writer, d *matrixDoc) error {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>kmodscope kabi matrix</title>\n<style>")
	b.WriteString(matrixCSS)
	b.WriteString("</style></head><body>\n<h1>Which kernels load which modules</h1>\n")
	fmt.Fprintf(&b, "<p>%d kernels, %d modules: %d loads, %d refused, %d errors. Hover a cell for the kernel's message, click it for details.</p>\n",
		len(d.Kernels), len(d.Modules), d.Summary.Loads, d.Summary.Refused, d.Summary.Errors)
	b.WriteString("<table id=\"matrix\"><thead><tr><th>module</th>")
	for _, k := range d.Kernels {
		title := k.BaseDir + " " + k.Release
		if k.Error != nil {
			title += ": " + *k.Error
		}
		fmt.Fprintf(&b, "<th class=\"k\" title=\"%s\">%s</th>", e(title), e(k.ID))
	}
	b.WriteString("</tr></thead>\n<tbody>\n")
	g := d.grid()
	for _, m := range d.Modules {
		fmt.Fprintf(&b, "<tr><th title=\"%s\">%s</th>", e(m), e(moduleLabel(m)))
		for _, k := range d.Kernels {
			c := g[[2]string{m, k.ID}]
			if c == nil {
				msg := "no target model"
				if k.Error != nil {
					msg = *k.Error
				}
				fmt.Fprintf(&b, "<td class=\"c v-none\" data-kernel=\"%s\" data-module=\"%s\" data-verdict=\"none\" title=\"%s\">-</td>", e(k.ID), e(m), e(msg))
				continue
			}
			detail := cellDetail(c.Result)
			fmt.Fprintf(&b, "<td class=\"c %s\" data-kernel=\"%s\" data-module=\"%s\" data-verdict=\"%s\" title=\"%s\"><details><summary>%s</summary><div class=\"m\">%s</div></details></td>",
				verdictClass(c.Verdict), e(k.ID), e(m), e(c.Verdict), e(detail), e(c.Verdict), e(detail))
		}
		b.WriteString("</tr>\n")
	}
	b.WriteString("</tbody>\n<tfoot><tr><td>loads</td>")
	for _, k := range d.Kernels {
		fmt.Fprintf(&b, "<td data-total-kernel=\"%s\"></td>", e(k.ID))
	}
	b.WriteString("</tr></tfoot></table>\n<script>")
	b.WriteString(matrixJS)
	b.WriteString("</script>\n</body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// cellDetail is the text shown for a cell: the verdict line, the kernel's
// messages, the hint and notes.
func cellDetail(r checkResult) string {
	var sb strings.Builder
	writeCheckText(&sb, r)
	return strings.TrimRight(sb.String(), "\n")
}
