package loadcheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/internal/variants"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

// realRoots finds root-like Debian amd64 trees with a kernel image, for
// 6.1 and 6.12: $KMODSCOPE_REALKERNEL_ROOT (colon-separated), else the
// shared corpus and the complete trees that .ci/run fetches.
func realRoots(t *testing.T) (roots, rels []string) {
	cands := []string{"../../shared/corpus/debian/amd64", "/var/cache/kmodscope/deb-6.1-amd64", "/var/cache/kmodscope/deb-6.12-amd64"}
	if env := os.Getenv("KMODSCOPE_REALKERNEL_ROOT"); env != "" {
		cands = strings.Split(env, ":")
	}
	seen := map[string]bool{}
	for _, c := range cands {
		imgs, _ := filepath.Glob(filepath.Join(c, "boot", "vmlinuz-6.*"))
		if len(imgs) == 0 {
			continue
		}
		rel := strings.TrimPrefix(filepath.Base(imgs[0]), "vmlinuz-")
		if seen[rel] {
			continue // the corpus and the complete 6.1 tree are the same kernel
		}
		if m, _ := filepath.Glob(filepath.Join(c, "lib", "modules", rel, "kernel", "lib", "crc7.ko*")); len(m) > 0 {
			abs, _ := filepath.Abs(c)
			roots, rels = append(roots, abs), append(rels, rel)
			seen[rel] = true
		}
	}
	return roots, rels
}

// TestRealKernelPredictions builds module variants (one per check of the
// kernel's loader that can fire on x86-64), boots Debian's 6.1 kernel under
// qemu once per variant, insmods it, and requires that loadcheck predicted
// the same outcome: whether it loads, the errno, the module's taint letters
// and every loader message the kernel printed (for a successful load the
// module's own init output, which comes last, is out of scope).
func TestRealKernelPredictions(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel under qemu for each variant (minutes); skipped with -short")
	}
	roots, rels := realRoots(t)
	if len(roots) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("no Debian amd64 root with boot/vmlinuz (set KMODSCOPE_REALKERNEL_ROOT)")
		}
		t.Skip("no Debian amd64 root with boot/vmlinuz")
	}
	for i := range roots {
		root, rel := roots[i], rels[i]
		t.Run(rel, func(t *testing.T) { realKernelPredictions(t, root, rel) })
	}
}

func realKernelPredictions(t *testing.T, root, rel string) {
	kernel := filepath.Join(root, "boot", "vmlinuz-"+rel)
	if err := realkernel.AvailableFor(kernel); err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("real kernel harness not available: %v (apt-get install qemu-system-x86 busybox-static)", err)
		}
		t.Skipf("real kernel harness not available: %v", err)
	}
	cases, err := variants.Build(filepath.Join(root, "lib", "modules", rel), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if only := os.Getenv("KMODSCOPE_REALKERNEL_ONLY"); only != "" {
		// Development: boot only the variants whose name contains this.
		cases = variants.Select(cases, only)
	} else if len(cases) < 20 {
		t.Fatalf("only %d variants", len(cases))
	}
	tk, err := target.Load(target.Options{BaseDir: root, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	if tk.Policy != target.PolicyDebian {
		t.Errorf("policy %s (%s), want debian", tk.Policy, tk.PolicySource)
	}
	var outcomes []realkernel.Outcome
	if replay := os.Getenv("KMODSCOPE_REALKERNEL_REPLAY"); replay != "" {
		if st, err := os.Stat(replay); err == nil && st.IsDir() {
			// A directory of observed-VERSION.json files: take the one whose
			// VERSION starts the release.
			files, _ := filepath.Glob(filepath.Join(replay, "observed-*.json"))
			replay = ""
			for _, f := range files {
				v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "observed-"), ".json")
				if strings.HasPrefix(rel, v) && (len(rel) == len(v) || rel[len(v)] == '-' || rel[len(v)] == '+') {
					replay = f
				}
			}
			if replay == "" {
				t.Skipf("no recorded outcomes for %s", rel)
			}
		}
		// Development only: compare with outcomes recorded earlier
		// (internal/variants/testdata/observed-*.json) instead of booting.
		outcomes = replayOutcomes(t, replay, cases)
		t.Logf("REPLAYING recorded outcomes from %s: the kernel was not booted", replay)
	} else {
		var runErr error
		outcomes, runErr = realkernel.Run(context.Background(), kernel, cases, 2)
		if runErr != nil {
			t.Errorf("harness: %v", runErr)
		}
	}
	compared := 0
	for i, c := range cases {
		o := outcomes[i]
		if o.ExitStatus < 0 {
			continue
		}
		pred := predict(t, tk, c)
		if diff := compare(pred, o); diff != "" {
			t.Errorf("%s: prediction differs from the real kernel:\n%s", c.Name, diff)
		} else {
			t.Logf("%-45s kernel and kmodscope agree: loads=%v errno=%q taints=%q, %d messages", c.Name, o.ExitStatus == 0, o.Errno, o.Taints, len(pred.Messages))
		}
		compared++
	}
	t.Logf("real kernel: %d of %d variants compared", compared, len(cases))
	if compared < 20 && os.Getenv("KMODSCOPE_REALKERNEL_ONLY") == "" {
		t.Errorf("only %d variants ran", compared)
	}
}

// predict runs loadcheck for a case the way `kmodscope check` would be
// called for it: the dependencies (and, for the already-loaded case, the
// module itself) are --loaded, boot arguments become flags.
func predict(t *testing.T, base *target.Kernel, c realkernel.Case) *loadcheck.Result {
	tk := *base
	tk.Loaded = nil
	for _, d := range c.Deps {
		tk.Loaded = append(tk.Loaded, ko.NameFromPath(d))
	}
	data, err := os.ReadFile(c.Module)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	if c.PreloadTwice {
		m, err := ko.New(data)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if tm, err := m.ThisModule(); err == nil {
			tk.Loaded = append(tk.Loaded, tm.Name)
		}
	}
	for _, a := range c.BootArgs {
		switch {
		case a == "module.sig_enforce=1":
			tk.SigEnforce = true
		case a == "lockdown=integrity" || a == "lockdown=confidentiality":
			tk.Lockdown = true
		case strings.HasPrefix(a, "module_blacklist="):
			tk.Blacklist = strings.Split(strings.TrimPrefix(a, "module_blacklist="), ",")
		default:
			t.Fatalf("%s: boot argument %q has no check flag", c.Name, a)
		}
	}
	return loadcheck.NewKernel(&tk).CheckBytes(c.Module, data)
}

// loaderLine matches messages of the module loader (as opposed to the
// module's own init output).
var loaderLine = regexp.MustCompile(`taints kernel|tainting kernel|kernel tainted|module verification failed|Unknown symbol|disagrees about version|no symbol version|Disabling lock debugging|version magic|WRITE\|EXEC|exports duplicate|does not import|is blacklisted|retpoline`)

// oopsLine matches the first line of a kernel oops.
var oopsLine = regexp.MustCompile(`^BUG: unable to handle page fault|^Oops: |^general protection fault|^kernel BUG at `)

func compare(p *loadcheck.Result, o realkernel.Outcome) string {
	oops := false
	for _, l := range o.Dmesg {
		oops = oops || oopsLine.MatchString(l)
	}
	if p.FailedCheck == loadcheck.CheckKernelCrash || oops {
		// A predicted crash agrees with an oops that killed insmod
		// (SIGKILL: exit status 137).
		if p.FailedCheck == loadcheck.CheckKernelCrash && oops && (o.ExitStatus == 137 || o.ExitStatus == 139) {
			return ""
		}
		return fmt.Sprintf("crash: predicted %q; kernel exit %d, oops %v, dmesg %q", p.Crash, o.ExitStatus, oops, o.Dmesg)
	}
	var d []string
	loads := o.ExitStatus == 0
	if p.Loads != loads {
		d = append(d, fmt.Sprintf("loads: predicted %v, kernel %v (exit %d)", p.Loads, loads, o.ExitStatus))
	}
	if !loads && p.Errno != o.Errno {
		d = append(d, fmt.Sprintf("errno: predicted %s, kernel %s", p.Errno, o.Errno))
	}
	if loads && p.Taints != o.Taints {
		d = append(d, fmt.Sprintf("taints: predicted %q, kernel %q", p.Taints, o.Taints))
	}
	got := o.Dmesg
	if loads && len(got) > len(p.Messages) {
		// The rest is the module's init output, unless it looks like the
		// loader's own.
		for _, l := range got[len(p.Messages):] {
			if loaderLine.MatchString(l) {
				d = append(d, fmt.Sprintf("unpredicted loader message after the predicted ones: %q", l))
			}
		}
		got = got[:len(p.Messages)]
	}
	if !slices.Equal(p.Messages, got) {
		d = append(d, fmt.Sprintf("messages:\n  predicted %q\n  kernel    %q", p.Messages, o.Dmesg))
	}
	return strings.Join(d, "\n")
}

func replayOutcomes(t *testing.T, path string, cases []realkernel.Case) []realkernel.Outcome {
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Outcomes []realkernel.Outcome `json:"outcomes"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	by := map[string]realkernel.Outcome{}
	for _, o := range doc.Outcomes {
		by[o.Case] = o
	}
	out := make([]realkernel.Outcome, len(cases))
	for i, c := range cases {
		o, ok := by[c.Name]
		if !ok {
			o = realkernel.Outcome{Case: c.Name, ExitStatus: -1}
		}
		out[i] = o
	}
	return out
}
