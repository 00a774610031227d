package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/realkernel"
)

// testHeaders is the newest installed Debian 6.1 amd64 headers directory
// (CI installs linux-headers-amd64), or "" when there is none.
func testHeaders() string {
	dirs, _ := filepath.Glob("/usr/src/linux-headers-6.1.*-amd64")
	sort.Slice(dirs, func(i, j int) bool { return versionLess(dirs[i], dirs[j]) })
	if len(dirs) == 0 {
		return ""
	}
	return dirs[len(dirs)-1]
}

// versionLess orders "...6.1.0-56-amd64" before "...6.1.0-57-amd64" by the
// numbers in the names.
func versionLess(a, b string) bool {
	na, nb := regexp.MustCompile(`\d+`).FindAllString(a, -1), regexp.MustCompile(`\d+`).FindAllString(b, -1)
	for i := 0; i < len(na) && i < len(nb); i++ {
		x, _ := strconv.Atoi(na[i])
		y, _ := strconv.Atoi(nb[i])
		if x != y {
			return x < y
		}
	}
	return len(na) < len(nb)
}

// TestStripSelfBuiltFresh rebuilds the test modules of testdata/src with
// Kbuild against the installed headers (scripts/build-testdata-modules.sh)
// and compares kmodscope strip with GNU strip on the fresh build, so the
// committed .ko files cannot drift from what the sources give.
func TestStripSelfBuiltFresh(t *testing.T) {
	needBinutils(t)
	kdir := os.Getenv("KMODSCOPE_KDIR")
	if kdir == "" {
		kdir = testHeaders()
	}
	for _, p := range []string{"make", "gcc"} {
		if _, err := exec.LookPath(p); err != nil {
			requireOrSkip(t, "%s not installed: cannot build the test modules", p)
		}
	}
	if _, err := os.Stat(filepath.Join(kdir, "Makefile")); err != nil {
		requireOrSkip(t, "kernel headers %s not installed (apt-get install linux-headers-amd64)", kdir)
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join(repoRoot(t), "scripts", "build-testdata-modules.sh"), out)
	cmd.Env = append(os.Environ(), "KDIR="+kdir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-testdata-modules.sh: %v\n%s", err, b)
	}
	st := newStats()
	dir := t.TempDir()
	for _, committed := range builtModules(t) {
		fresh := filepath.Join(out, filepath.Base(committed))
		// Same sections as the committed build (contents differ: paths and
		// build IDs).
		a, _ := os.ReadFile(committed)
		b, err := os.ReadFile(fresh)
		if err != nil {
			t.Fatal(err)
		}
		if sa, sb := sectionNames(t, a), sectionNames(t, b); sa != sb {
			t.Errorf("%s: the fresh build has other sections than the committed one:\n%s\n%s", fresh, sa, sb)
		}
		if strings.Contains(sectionNames(t, a), ".debug_info") && !strings.Contains(sectionNames(t, b), ".debug_info") {
			t.Errorf("%s: built without debug info", fresh)
		}
		if err := compareWithBinutils(t, fresh, dir, st); err != nil {
			t.Errorf("%s: %v", fresh, err)
		}
	}
	if st.compared["EM_X86_64"] != len(builtModules(t)) {
		t.Errorf("compared %v, want %d x86-64 modules", st.compared, len(builtModules(t)))
	}
	t.Logf("fresh Kbuild build: %d modules identical to GNU strip in both modes; removed %d sections and %d symbols", st.compared["EM_X86_64"], st.removedSecs, st.removedSyms)
}

func sectionNames(t *testing.T, data []byte) string {
	f, err := elfx.New(data)
	if err != nil {
		t.Fatal(err)
	}
	var n []string
	for _, s := range f.Sections {
		n = append(n, s.Name)
	}
	return strings.Join(n, " ")
}

// stripKernels finds Debian 6.1 amd64 kernel images to boot: the shared
// corpus's (the release the test modules are built for) and the complete
// 6.1 tree's, or $KMODSCOPE_REALKERNEL_ROOT (colon-separated roots).
func stripKernels(t *testing.T) []string {
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(repoRoot(t), "..", "shared", "corpus", "debian")
	}
	cands := []string{filepath.Join(corpus, "amd64"), "/var/cache/kmodscope/deb-6.1-amd64"}
	if env := os.Getenv("KMODSCOPE_REALKERNEL_ROOT"); env != "" {
		cands = strings.Split(env, ":")
	}
	var out []string
	seen := map[string]bool{}
	for _, c := range cands {
		imgs, _ := filepath.Glob(filepath.Join(c, "boot", "vmlinuz-6.1.*"))
		for _, img := range imgs {
			if !seen[filepath.Base(img)] {
				seen[filepath.Base(img)] = true
				out = append(out, img)
			}
		}
	}
	return out
}

// TestStripRealKernel boots Debian's 6.1 kernel under qemu and insmods the
// self-built modules (kmsdebug, kmsdata, then kmsuser, which calls
// kmsdebug's export) unstripped, stripped by kmodscope strip and stripped
// by kmodscope strip --strip-unneeded: every insmod must succeed, and
// kmsuser's init must compute the same sum through kmsdebug.
func TestStripRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel under qemu (about a minute); skipped with -short")
	}
	kernels := stripKernels(t)
	if len(kernels) == 0 {
		requireOrSkip(t, "no Debian 6.1 amd64 kernel image (shared corpus or /var/cache/kmodscope/deb-6.1-amd64)")
	}
	if err := realkernel.AvailableFor(kernels[0]); err != nil {
		requireOrSkip(t, "real kernel harness not available: %v (apt-get install qemu-system-x86 busybox-static)", err)
	}
	dir := t.TempDir()
	mods := map[string]string{}
	for _, p := range builtModules(t) {
		mods[strings.TrimSuffix(filepath.Base(p), ".ko")] = p
	}
	variant := func(name string, args ...string) realkernel.Case {
		d := filepath.Join(dir, name)
		os.MkdirAll(d, 0o755)
		path := map[string]string{}
		for m, src := range mods {
			path[m] = src
			if args != nil {
				out := filepath.Join(d, m+".ko")
				r, stderr := runOurs(append(append([]string{"strip"}, args...), src, "-o", out)...)
				if r.code != 0 {
					t.Fatalf("kmodscope strip %v %s: exit %d: %s", args, src, r.code, stderr)
				}
				path[m] = out
			}
		}
		return realkernel.Case{Name: name, Module: path["kmsuser"], Deps: []string{path["kmsdebug"], path["kmsdata"]}}
	}
	cases := []realkernel.Case{
		variant("unstripped"),
		variant("strip-debug", "--strip-debug"),
		variant("strip-unneeded", "--strip-unneeded"),
	}
	// Control: what kmodscope strip refuses (--strip-all, done here by GNU
	// strip) the kernel refuses too, so the harness does see a broken module.
	if _, err := exec.LookPath("strip"); err == nil {
		c := variant("unstripped-deps-gnu-strip-all")
		c.Name = "gnu-strip-all"
		c.Module = filepath.Join(dir, "kmsuser-strip-all.ko")
		if _, err := tool(t, "strip", "--strip-all", mods["kmsuser"], "-o", c.Module); err != nil {
			t.Fatal(err)
		}
		cases = append(cases, c)
	}
	for _, kernel := range kernels {
		t.Run(filepath.Base(kernel), func(t *testing.T) {
			outcomes, err := realkernel.Run(context.Background(), kernel, cases, 2)
			if err != nil {
				t.Fatalf("harness: %v", err)
			}
			for i, o := range outcomes {
				c := cases[i]
				for _, s := range o.Setup {
					if strings.HasPrefix(s, "dep ") && !strings.HasSuffix(s, ": 0") {
						t.Errorf("%s: insmod of a dependency failed: %s (%v)", c.Name, s, o.Setup)
					}
				}
				if c.Name == "gnu-strip-all" {
					if o.Loaded() || o.Errno != "ENOEXEC" || !strings.Contains(strings.Join(o.Dmesg, "\n"), "module has no symbols (stripped?)") {
						t.Errorf("%s: the kernel did not refuse a module without symbols: exit %d %s, dmesg %q", c.Name, o.ExitStatus, o.Errno, o.Dmesg)
					} else {
						t.Logf("%s on %s: refused as kmodscope strip -s predicts: %s %q", c.Name, filepath.Base(kernel), o.Errno, o.Dmesg)
					}
					continue
				}
				if !o.Loaded() {
					t.Errorf("%s: insmod kmsuser failed: exit %d %s: %s; dmesg %q", c.Name, o.ExitStatus, o.Errno, o.InsmodStderr, o.Dmesg)
					continue
				}
				if !strings.Contains(strings.Join(o.Dmesg, "\n"), "kmsuser: sum 22") {
					t.Errorf("%s: kmsuser loaded but did not print its sum: %q", c.Name, o.Dmesg)
				}
				t.Logf("%s on %s: kmsdebug, kmsdata and kmsuser loaded (%s); %s in %.0f s", c.Name, filepath.Base(kernel), strings.Join(o.Setup, ", "), o.ProcModules, o.BootSeconds)
			}
		})
	}
}
