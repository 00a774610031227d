package loadcheck_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

// paramStep is one insmod with a module options string.
type paramStep struct {
	name, args string
}

var long1024 = strings.Repeat("c", 1024)
var long1025 = strings.Repeat("c", 1025)

// kmsparamSteps exercise every parameter type of testdata/src/kmsparam
// with valid, invalid and unknown values, in one boot (insmod, rmmod,
// insmod ...). The first loads the module without options.
var kmsparamSteps = []paramStep{
	{"none", ""},
	{"int-valid", "p_int=5"},
	{"int-dash", "p-int=-5 p_dash-name=1"},
	{"int-invalid", "p_int=abc"},
	{"int-novalue", "p_int"},
	{"int-empty", "p_int="},
	{"int-range", "p_int=2147483648"},
	{"int-bases", "p_int=0x7fffffff p_uint=010 p_long=-9223372036854775808 p_ulong=18446744073709551615"},
	{"int-octal-bad", "p_int=08"},
	{"int-newline", "p_int=\"5\n\""},
	{"int-space", "p_int=\" 5\""},
	{"int-plus", "p_int=+7 p_uint=+0"},
	{"uint-negative", "p_uint=-1"},
	{"byte-range", "p_byte=256"},
	{"byte-valid", "p_byte=255 p_ushort=65535 p_short=-32768"},
	{"short-range", "p_short=-32769"},
	{"hexint-valid", "p_hexint=0xffffffff"},
	{"hexint-range", "p_hexint=0x100000000"},
	{"hexint-nohex", "p_hexint=ff"},
	{"ullong-max", "p_ullong=18446744073709551615"},
	{"ullong-range", "p_ullong=18446744073709551616"},
	{"long-range", "p_long=9223372036854775808"},
	{"bool-forms", "p_bool p_bool=on p_bool=Yes p_bool=0 p_bool=F p_bint=off"},
	{"bool-invalid", "p_bool=maybe"},
	{"bool-o", "p_bool=o"},
	{"bint-invalid", "p_bint=2"},
	{"invbool-novalue", "p_invbool"},
	{"invbool-valid", "p_invbool=n"},
	{"bool-enable-only-unset", "p_bool_on=0"},
	{"bool-enable-only-set-then-unset", "p_bool_eo=1 p_bool_eo=0"},
	{"bool-enable-only-valid", "p_bool_eo=0 p_bool_on=1 p_bool_eo"},
	{"charp-quoted", "p_charp=\"hello world\" p_int=3"},
	{"charp-novalue", "p_charp"},
	{"charp-empty", "p_charp="},
	{"charp-1024", "p_charp=" + long1024},
	{"charp-1025", "p_charp=" + long1025},
	{"string-fits", "p_string=1234567"},
	{"string-too-long", "p_string=12345678"},
	{"array-valid", "p_array=1,2,3"},
	{"array-too-many", "p_array=1,2,3,4"},
	{"array-empty-element", "p_array=1,,3"},
	{"array-empty", "p_array="},
	{"array-range", "p_array=1,99999999999"},
	{"array-novalue", "p_array"},
	{"bool-array", "p_barray=y,n"},
	{"bool-array-invalid", "p_barray=y,x"},
	{"charp-array", "p_carray=a,"},
	{"charp-array-long", "p_carray=" + long1025 + ",b"},
	{"unknown", "nosuch=1"},
	{"unknown-novalue", "nosuch"},
	{"unknown-dotted", "a.b=1"},
	{"unknown-equals-first", "=5"},
	{"dyndbg-async", "dyndbg=+p async_probe kmsparam.dyndbg"},
	{"several-errors", "p_int=x nosuch p_byte=300"},
	{"several-errors-einval-last", "p_byte=300 p_int=x"},
	{"dashes", "p_int=1 -- p_int=x"},
	{"dashes-last", "p_int=1 --"},
	{"dashes-after-error", "p_int=y -- p_int=x"},
	{"quoted-word", "\"p_charp=x y\" p_int=1"},
	{"unsafe", "p_unsafe=3"},
	{"unsafe-invalid", "p_unsafe=q"},
	{"custom-novalue", "p_custom"},
	{"custom-valid", "p_custom=ok"},
	{"custom-invalid", "p_custom=bad"},
	{"custom-noarg", "p_noarg"},
}

// loopSteps use Debian's loop.ko: max_part is an int, max_loop and
// hw_queue_depth have loop's own setters.
var loopSteps = []paramStep{
	{"loop-none", ""},
	{"loop-max-part-invalid", "max_part=abc"},
	{"loop-max-part-valid", "max_part=4"},
	{"loop-max-part-dash", "max-part=8"},
	{"loop-max-part-empty", "max_part="},
	{"loop-unknown", "max_parts=4"},
	{"loop-max-loop-novalue", "max_loop"},
}

func stepCase(name, module string, steps []paramStep) realkernel.Case {
	c := realkernel.Case{Name: name, Module: module, Args: steps[0].args}
	for _, s := range steps[1:] {
		c.Steps = append(c.Steps, realkernel.Step{Name: s.name, Args: s.args})
	}
	return c
}

// kmsparamFor returns the committed kmsparam build whose vermagic release
// is rel's ("" when none is).
func kmsparamFor(t *testing.T, rel string) string {
	for _, f := range []string{"kmsparam.ko", "kmsparam-6.12.ko"} {
		p := filepath.Join("..", "testdata", "modules", "amd64", "built", f)
		m, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		kv, _ := m.Modinfo()
		m.Close()
		vm, _ := ko.Get(kv, "vermagic")
		if strings.HasPrefix(vm, rel+" ") {
			return p
		}
	}
	return ""
}

// observedParams is the record of one kernel's parameter outcomes
// (loadcheck/testdata/params/observed-REL.json).
type observedParams struct {
	Schema  string         `json:"schema"`
	Release string         `json:"release"`
	Cases   []observedCase `json:"cases"`
}

type observedCase struct {
	// Module is the committed file the case loaded (relative to the
	// repository root), or the tree path for modules that are not
	// committed; Params is its parameter table as read at recording time.
	Module   string               `json:"module"`
	Name     string               `json:"name"`
	Params   []ko.Param           `json:"params"`
	Outcomes []realkernel.Outcome `json:"outcomes"`
}

// TestRealKernelParams boots Debian's 6.1 and 6.12 kernels (one boot per
// module and kernel, every step an insmod after rmmod) and requires that
// kmodscope's verdict on each options string (loads, errno, messages)
// equals the kernel's. KMODSCOPE_PARAMS_RECORD=1 rewrites the recorded
// outcomes that TestParamsReplay replays without trees.
func TestRealKernelParams(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel under qemu; skipped with -short")
	}
	roots, rels := realRoots(t)
	if len(roots) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("no Debian amd64 root with boot/vmlinuz (set KMODSCOPE_REALKERNEL_ROOT)")
		}
		t.Skip("no Debian amd64 root with boot/vmlinuz")
	}
	if d := os.Getenv("KMODSCOPE_REALKERNEL_KEEP"); d != "" {
		realkernel.KeepDir = d
	}
	if s, err := time.ParseDuration(os.Getenv("KMODSCOPE_REALKERNEL_TIMEOUT")); err == nil {
		// Development on a loaded machine: a longer boot timeout.
		realkernel.BootTimeout = s
	}
	ran := 0
	for i := range roots {
		root, rel := roots[i], rels[i]
		if !strings.HasSuffix(rel, "-amd64") {
			// The parameter cases use kmsparam, built for amd64 only (the
			// parse rules do not depend on the architecture).
			t.Logf("%s: parameter cases are booted on the amd64 kernels only", rel)
			continue
		}
		kms := kmsparamFor(t, rel)
		if kms == "" {
			// No committed build for this release (the archive moved on):
			// build kmsparam now with the release's own headers.
			kms = buildKmsparam(t, rel)
		}
		if kms == "" {
			t.Logf("%s: no kmsparam build for this release and no /usr/src/linux-headers-%s to build one", rel, rel)
			continue
		}
		ran++
		t.Run(rel, func(t *testing.T) {
			// Each kernel boots its two guests one after the other, the
			// kernels in parallel: two guests at a time in all, and the
			// short loop boot follows the long kmsparam one.
			t.Parallel()
			realKernelParams(t, root, rel, kms)
		})
	}
	if ran == 0 && os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
		t.Fatal("no amd64 kernel with a kmsparam build (committed or from its headers)")
	}
}

// buildKmsparam builds testdata/src/kmsparam with Kbuild against
// /usr/src/linux-headers-REL (scripts/build-testdata-modules.sh), or
// returns "" when those headers are not installed.
func buildKmsparam(t *testing.T, rel string) string {
	kdir := filepath.Join("/usr/src", "linux-headers-"+rel)
	if _, err := os.Stat(filepath.Join(kdir, "Makefile")); err != nil {
		return ""
	}
	out := t.TempDir()
	cmd := exec.Command(filepath.Join("..", "scripts", "build-testdata-modules.sh"), out)
	cmd.Env = append(os.Environ(), "KDIR="+kdir, "KDIR612=/nonexistent")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-testdata-modules.sh with %s: %v\n%s", kdir, err, b)
	}
	return filepath.Join(out, "kmsparam.ko")
}

func realKernelParams(t *testing.T, root, rel, kms string) {
	kernel := filepath.Join(root, "boot", "vmlinuz-"+rel)
	if err := realkernel.AvailableFor(kernel); err != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("real kernel harness not available: %v", err)
		}
		t.Skipf("real kernel harness not available: %v", err)
	}
	loopSrc, _ := filepath.Glob(filepath.Join(root, "lib", "modules", rel, "kernel", "drivers", "block", "loop.ko*"))
	if len(loopSrc) == 0 {
		t.Fatalf("no loop.ko in %s", root)
	}
	// The harness hands the file to insmod as it is: decompress .ko.xz.
	loopData, err := readModuleFile(loopSrc[0])
	if err != nil {
		t.Fatal(err)
	}
	loop := filepath.Join(t.TempDir(), "loop.ko")
	if err := os.WriteFile(loop, loopData, 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []realkernel.Case{stepCase("kmsparam", kms, kmsparamSteps), stepCase("loop", loop, loopSteps)}
	stepsOf := [][]paramStep{kmsparamSteps, loopSteps}
	tk, err := target.Load(target.Options{BaseDir: root, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	// One guest at a time per kernel; the kernels run side by side.
	outcomes, runErr := realkernel.Run(context.Background(), kernel, cases, 1)
	if runErr != nil {
		t.Fatalf("harness: %v", runErr)
	}
	t.Logf("%d boots, %v wall", len(cases), time.Since(start).Round(time.Second))
	compared, agree, custom := 0, 0, 0
	rec := observedParams{Schema: "kmodscope.params-observed/v1", Release: rel}
	for i, c := range cases {
		all := append([]realkernel.Outcome{outcomes[i]}, outcomes[i].Steps...)
		all[0].Steps = nil
		all[0].Case = stepsOf[i][0].name
		data, err := os.ReadFile(c.Module)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ko.New(data)
		if err != nil {
			t.Fatal(err)
		}
		ps, _ := m.Params()
		oc := observedCase{Name: c.Name, Params: ps, Outcomes: all}
		if strings.HasPrefix(c.Module, "..") {
			oc.Module = filepath.ToSlash(strings.TrimPrefix(c.Module, "../"))
		} else {
			oc.Module = loopSrc[0]
		}
		rec.Cases = append(rec.Cases, oc)
		k := loadcheck.NewKernel(tk)
		for j, o := range all {
			st := stepsOf[i][j]
			pred := k.CheckBytesArgs(c.Module, data, busyboxOptions(st.args))
			if pred.Loads {
				k.MarkLoaded(pred)
			}
			compared++
			diff := compare(pred, o)
			switch {
			case diff == "":
				agree++
				t.Logf("%-40s agree: loads=%v errno=%q %d messages", st.name, o.ExitStatus == 0, o.Errno, len(pred.Messages))
			case unchecked(pred):
				custom++
				t.Logf("%-40s custom setter, not judged: kernel exit %d %q", st.name, o.ExitStatus, o.Dmesg)
			default:
				t.Errorf("%s %q: prediction differs from the real kernel:\n%s", st.name, shorten(st.args), diff)
			}
			// The harness removes the module before the next step.
			k.Unload(pred.Module)
		}
	}
	t.Logf("real kernel %s: %d parameter cases, %d agree, %d custom setters not judged", rel, compared, agree, custom)
	if os.Getenv("KMODSCOPE_PARAMS_RECORD") == "1" {
		b, _ := json.MarshalIndent(rec, "", "  ")
		out := filepath.Join("testdata", "params", "observed-"+rel+".json")
		os.MkdirAll(filepath.Dir(out), 0o755)
		if err := os.WriteFile(out, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("recorded %s", out)
	}
}

// busyboxOptions is the options string busybox insmod makes of its
// arguments (parse_cmdline_module_options: each followed by a space).
func busyboxOptions(args string) string {
	if args == "" {
		return ""
	}
	return args + " "
}

// unchecked reports whether the prediction left a value to a custom setter.
func unchecked(r *loadcheck.Result) bool {
	if r.ParamResult == nil {
		return false
	}
	for _, a := range r.ParamResult.Assignments {
		if a.Outcome == "unchecked" {
			return true
		}
	}
	return false
}

func shorten(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%s...(%d bytes)", s[:40], len(s))
	}
	return s
}

// readModuleFile reads a module file, decompressed.
func readModuleFile(p string) ([]byte, error) {
	m, err := ko.Open(p, nil)
	if err != nil {
		return nil, err
	}
	defer m.Close()
	b, err := m.Bytes()
	if err != nil {
		return nil, err
	}
	return append([]byte(nil), b...), nil
}
