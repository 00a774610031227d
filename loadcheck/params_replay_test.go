package loadcheck_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck/kparam"
)

// preParamLine matches the loader's messages that come before parse_args
// (taints of the first load of an out-of-tree, unsigned module).
var preParamLine = regexp.MustCompile(`: loading out-of-tree module taints kernel\.$|: module verification failed: signature and/or required key missing - tainting kernel$|^Disabling lock debugging due to kernel taint$`)

// TestParamsReplay replays the parameter outcomes recorded on the real
// kernels (testdata/params/observed-*.json, written by
// TestRealKernelParams with KMODSCOPE_PARAMS_RECORD=1) against the
// parameter engine, without trees or qemu: the committed modules'
// parameter tables are read with ko.Params (and must equal the recorded
// ones), each options string goes through kparam.Parse, and the verdict,
// errno and parse_args messages must equal the kernel's.
func TestParamsReplay(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "params", "observed-*.json"))
	if len(files) == 0 {
		t.Fatal("no recorded parameter outcomes in testdata/params")
	}
	total, agree, custom := 0, 0, 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var rec observedParams
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		major, minor := releaseVersion(rec.Release)
		opt := kparam.Options{LongBits: 64, DynamicDebug: true, MaxText: kparam.MaxText(major, minor)}
		for _, c := range rec.Cases {
			params, mod := replayParams(t, rec.Release, c)
			for _, o := range c.Outcomes {
				if o.ExitStatus < 0 {
					continue
				}
				total++
				pr := kparam.Parse(mod, params, busyboxOptions(o.Args), opt)
				var got []string
				for _, l := range o.Dmesg {
					if !preParamLine.MatchString(l) {
						got = append(got, l)
					}
				}
				loads := o.ExitStatus == 0
				if loads && len(got) > len(pr.Messages) {
					got = got[:len(pr.Messages)] // the module's own init output
				}
				ok := loads == !pr.Refused() && (loads || o.Errno == pr.Errno) && slices.Equal(got, pr.Messages)
				switch {
				case ok:
					agree++
				case hasUnchecked(pr):
					custom++
					t.Logf("%s %s %s: custom setter, not judged (kernel exit %d)", rec.Release, c.Name, o.Case, o.ExitStatus)
				default:
					t.Errorf("%s %s %s %q: kernel exit %d %s %q; kmodscope errno %q %q", rec.Release, c.Name, o.Case, shorten(o.Args), o.ExitStatus, o.Errno, got, pr.Errno, pr.Messages)
				}
			}
		}
	}
	t.Logf("replayed %d recorded real-kernel parameter outcomes from %d kernels: %d agree, %d custom setters not judged", total, len(files), agree, custom)
	if total < 100 {
		t.Errorf("only %d recorded outcomes", total)
	}
}

func hasUnchecked(pr *kparam.Result) bool {
	for _, a := range pr.Assignments {
		if a.Outcome == "unchecked" {
			return true
		}
	}
	return false
}

// replayParams returns the case's parameter table and module name: read
// from the committed module built for that release when there is one
// (which must match the recorded table), else the recorded table.
func replayParams(t *testing.T, rel string, c observedCase) ([]ko.Param, string) {
	cands := []string{filepath.Join("..", filepath.FromSlash(c.Module))}
	if c.Name == "loop" {
		cands = []string{filepath.Join("..", "testdata", "modules", "amd64", "loop.ko")}
	}
	for _, p := range cands {
		m, err := ko.Open(p, nil)
		if err != nil {
			continue
		}
		defer m.Close()
		kv, _ := m.Modinfo()
		if vm, _ := ko.Get(kv, "vermagic"); !strings.HasPrefix(vm, rel+" ") {
			continue
		}
		ps, err := m.Params()
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		// Compare through JSON, as recorded.
		a, _ := json.Marshal(ps)
		var back []ko.Param
		json.Unmarshal(a, &back)
		if !reflect.DeepEqual(back, c.Params) {
			t.Errorf("%s: parameter table differs from the one recorded for %s", p, rel)
		}
		tm, err := m.ThisModule()
		if err != nil {
			t.Fatal(err)
		}
		return ps, tm.Name
	}
	return c.Params, c.Name
}

// releaseVersion returns the major and minor version of a release.
func releaseVersion(rel string) (int, int) {
	f := strings.FieldsFunc(rel, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return 0, 0
	}
	a, _ := strconv.Atoi(f[0])
	b, _ := strconv.Atoi(f[1])
	return a, b
}
