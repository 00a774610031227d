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

// realRoots finds root-like Debian trees with a kernel image: amd64 6.1
// and 6.12, arm64 6.12 and s390x 6.1: $KMODSCOPE_REALKERNEL_ROOT
// (colon-separated), else the shared corpus and the complete trees that
// .ci/run fetches.
func realRoots(t *testing.T) (roots, rels []string) {
	cands := []string{"../../shared/corpus/debian/amd64", "/var/cache/kmodscope/deb-6.1-amd64", "/var/cache/kmodscope/deb-6.12-amd64",
		"/var/cache/kmodscope/deb-6.12-arm64", "/var/cache/kmodscope/deb-6.1-s390x"}
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
// kernel's loader that can fire on the architecture), boots each Debian
// kernel under qemu once per variant (amd64: all of them; arm64 and s390x,
// slower under TCG: foreignSubset), insmods it, and requires that loadcheck predicted
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
			t.Fatal("no Debian root with boot/vmlinuz (set KMODSCOPE_REALKERNEL_ROOT)")
		}
		t.Skip("no Debian root with boot/vmlinuz")
	}
	for i := range roots {
		root, rel := roots[i], rels[i]
		t.Run(rel, func(t *testing.T) { realKernelPredictions(t, root, rel) })
	}
}

func realKernelPredictions(t *testing.T, root, rel string) {
	kernel := filepath.Join(root, "boot", "vmlinuz-"+rel)
	arch, err := realkernel.ArchOf(kernel)
	if err != nil {
		t.Fatal(err)
	}
	if err := realkernel.AvailableFor(kernel); err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("real kernel harness not available: %v (apt-get install %s busybox-static; scripts/fetch-busybox-static.sh for other architectures)", err, arch.Package)
		}
		t.Skipf("real kernel harness not available: %v", err)
	}
	cases, err := variants.Build(filepath.Join(root, "lib", "modules", rel), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	minCases := 20
	if only := os.Getenv("KMODSCOPE_REALKERNEL_ONLY"); only != "" {
		// Development: boot only the variants whose name contains this.
		cases = variants.Select(cases, only)
	} else if len(cases) < 20 {
		t.Fatalf("only %d variants", len(cases))
	} else if arch.Name != "amd64" && os.Getenv("KMODSCOPE_REALKERNEL_ALL") != "1" {
		cases = selectNames(t, cases, foreignSubset[arch.Name])
		minCases = len(cases)
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
			replay = observedFile(replay, rel, arch.Name)
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
	if compared < minCases && os.Getenv("KMODSCOPE_REALKERNEL_ONLY") == "" {
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

// oopsLine matches the first line of a kernel oops (x86; arm64's
// "Unable to handle kernel paging request" / "Internal error: Oops"; s390's
// "Unable to handle kernel pointer dereference").
var oopsLine = regexp.MustCompile(`^BUG: unable to handle page fault|^Oops: |^general protection fault|^Unable to handle kernel |^Internal error: Oops|^kernel BUG at `)

func compare(p *loadcheck.Result, o realkernel.Outcome) string {
	oops := false
	for _, l := range o.Dmesg {
		oops = oops || oopsLine.MatchString(l)
	}
	if p.FailedCheck == loadcheck.CheckKernelCrash || oops {
		// A predicted crash agrees with an oops that killed insmod
		// (x86: SIGKILL, exit status 137; arm64 and s390x: SIGSEGV, 139).
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

// observedFile returns the observed-VERSION[-ARCH].json file in dir for a
// release of architecture arch ("" if none): VERSION starts the release, and
// files without an ARCH suffix are amd64's (observed-6.1.0-56.json,
// observed-6.12.117-arm64.json).
func observedFile(dir, rel, arch string) string {
	files, _ := filepath.Glob(filepath.Join(dir, "observed-*.json"))
	found := ""
	for _, f := range files {
		v := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "observed-"), ".json")
		fileArch := "amd64"
		for a := range realkernel.Arches {
			if a != "amd64" && strings.HasSuffix(v, "-"+a) {
				v, fileArch = strings.TrimSuffix(v, "-"+a), a
			}
		}
		if fileArch == arch && strings.HasPrefix(rel, v) && (len(rel) == len(v) || rel[len(v)] == '-' || rel[len(v)] == '+') {
			found = f
		}
	}
	return found
}

// foreignSubset are the variants booted on the kernels that TCG runs
// slowly (arm64, s390x): one per outcome the real kernels showed (each
// check class once: signature, lockdown, blacklist, vermagic, modversions,
// relocations, license/GPL, namespaces, missing dependencies, taints,
// ELF validation, layout, the architecture's own section checks,
// duplicates), instead of all of them. KMODSCOPE_REALKERNEL_ALL=1 boots all.
var foreignSubset = map[string][]string{
	"arm64": {
		"crc7-signed-unmodified",
		"crc7-sig-stripped",
		"crc7-sig-value-corrupted",
		"crc7-siglen-too-big",
		"crc7-stripped-sig-enforce",
		"crc7-stripped-lockdown-integrity",
		"crc7-stripped-blacklisted",
		"crc7-stripped-vermagic-mod_unloaX",
		"crc7-stripped-vermagic-missing",
		"tun-stripped-crc-misc_register",
		"tun-stripped-crc-module_layout",
		"tun-stripped-version-name-misc_register",
		"tun-stripped-rela-type-unknown",
		"libcrc32c-stripped-license-foo",
		"ums-realtek-stripped-import-ns-removed",
		"ums-realtek-missing-dep-usb-storage",
		"crc7-stripped-intree-removed",
		"crc7-stripped-staging-tag",
		"crc7-stripped-e_machine-x86_64",
		"crc7-stripped-text-wx",
		"crc7-stripped-this-module-size-plus-64",
		"crc7-elf-shstrtab-progbits",
		"crc7-elf-no-symtab",
		"crc7-elf-sym-bad-shndx",
		"crc7-stripped-arm64-no-plt",
		"crc7-stripped-arm64-no-ftrace-trampoline",
		"crc7-already-loaded",
		"crc-itu-t-stripped-duplicate-exports",
	},
	// s390x boots take about three times as long as arm64's: fewer cases,
	// still every class once (6.1's ELF-stage messages; no livepatch).
	"s390x": {
		"crc7-signed-unmodified",
		"crc7-sig-value-corrupted",
		"crc7-stripped-sig-enforce",
		"crc7-stripped-lockdown-integrity",
		"crc7-stripped-vermagic-mod_unloaX",
		"tun-stripped-crc-misc_register",
		"tun-stripped-crc-module_layout",
		"tun-stripped-version-name-misc_register",
		"tun-stripped-rela-type-unknown",
		"libcrc32c-stripped-license-foo",
		"ums-realtek-stripped-import-ns-removed",
		"crc7-stripped-intree-removed",
		"crc7-stripped-livepatch-tag",
		"crc7-stripped-e_machine-aarch64",
		"crc7-stripped-text-wx",
		"crc7-elf-no-this-module",
		"crc7-elf-sym-bad-shndx",
		"crc-itu-t-stripped-duplicate-exports",
	},
}

// selectNames keeps the cases named in names, in the order of cases; a
// name without a case fails the test (the subset must not rot).
func selectNames(t *testing.T, cases []realkernel.Case, names []string) []realkernel.Case {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	var out []realkernel.Case
	for _, c := range cases {
		if want[c.Name] {
			out = append(out, c)
			delete(want, c.Name)
		}
	}
	for n := range want {
		t.Errorf("subset names variant %s, which was not built", n)
	}
	if len(out) == 0 {
		t.Fatal("no variants selected")
	}
	return out
}
