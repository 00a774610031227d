package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// builtTarget writes a minimal 6.1.0-56-amd64 root from the facts recorded
// with the real-kernel outcomes of the self-built modules
// (loadcheck/testdata/built): the config options loadcheck consults plus
// those that make up the vermagic, and the Module.symvers lines of the
// symbols the modules use.
func builtTarget(t *testing.T) (root, rel string) {
	t.Helper()
	raw, err := os.ReadFile("../../loadcheck/testdata/built/observed-6.1.0-56-amd64.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Target struct {
			Release string            `json:"release"`
			Config  map[string]string `json:"config"`
			Symvers []struct {
				Name      string `json:"name"`
				CRC       uint32 `json:"crc"`
				Module    string `json:"module"`
				GPLOnly   bool   `json:"gpl_only"`
				Namespace string `json:"namespace"`
			} `json:"symvers"`
		} `json:"target"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	rel = rec.Target.Release
	var cfg, sv strings.Builder
	cfg.WriteString("CONFIG_SMP=y\nCONFIG_PREEMPT_BUILD=y\nCONFIG_MODULE_UNLOAD=y\n")
	for k, v := range rec.Target.Config {
		if v != "" {
			fmt.Fprintf(&cfg, "%s=%s\n", k, v)
		}
	}
	for _, s := range rec.Target.Symvers {
		kind := "EXPORT_SYMBOL"
		if s.GPLOnly {
			kind = "EXPORT_SYMBOL_GPL"
		}
		fmt.Fprintf(&sv, "0x%08x\t%s\t%s\t%s\t%s\n", s.CRC, s.Name, s.Module, kind, s.Namespace)
	}
	root = t.TempDir()
	hd := filepath.Join(root, "usr", "src", "linux-headers-"+rel)
	for _, err := range []error{
		os.MkdirAll(filepath.Join(root, "boot"), 0o755), os.MkdirAll(hd, 0o755),
		os.WriteFile(filepath.Join(root, "boot", "config-"+rel), []byte(cfg.String()), 0o644),
		os.WriteFile(filepath.Join(hd, "Module.symvers"), []byte(sv.String()), 0o644),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return root, rel
}

// TestCheckBuiltLoadedFiles: --loaded accepts self-built module files,
// loaded first in order; a refused one is not loaded but its taints stay
// (the booted 6.1.0-56 outcomes in loadcheck/testdata/built say what the
// kernel does with these modules one at a time).
func TestCheckBuiltLoadedFiles(t *testing.T) {
	root, rel := builtTarget(t)
	dir := "../../testdata/modules/amd64/built"
	ko := func(n string) string { return filepath.Join(dir, n+".ko") }
	run := func(args ...string) (checkResult, string, int) {
		t.Helper()
		out, stderr, code := secRun(append([]string{"check", "--json", "--policy", "debian", "-b", root, "-k", rel}, args...)...)
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("check %v: exit %d %v\n%s%s", args, code, err, out, stderr)
		}
		return doc.Results[0], out, code
	}
	oot := func(m string) []string {
		return []string{m + ": loading out-of-tree module taints kernel.", m + ": module verification failed: signature and/or required key missing - tainting kernel"}
	}

	// Alone, kmsuser cannot find kmsdebug's export.
	r, _, code := run(ko("kmsuser"))
	if code != 3 || r.Loads || *r.Errno != "ENOENT" || !slices.Contains(r.Messages, "kmsuser: Unknown symbol kmsdebug_add (err -2)") {
		t.Errorf("kmsuser alone: exit %d %+v", code, r)
	}
	// With kmsdebug.ko loaded first: loads, OE already set by kmsdebug.
	r, _, code = run("--loaded", ko("kmsdebug"), ko("kmsuser"))
	if code != 0 || !r.Loads || r.Taints != "OE" || len(r.Messages) != 0 || len(r.Dependencies) != 1 ||
		!r.Dependencies[0].Loads || !slices.Equal(r.Dependencies[0].Messages, oot("kmsdebug")) || !slices.Equal(r.LoadOrder, []string{"kmsdebug", "kmsuser"}) {
		t.Errorf("kmsuser after kmsdebug: exit %d %+v", code, r)
	}
	// A refused --loaded module: not loaded, its O and E stay.
	r, _, code = run("--loaded", ko("kmsnons"), ko("kmsgpl"))
	if code != 0 || !r.Loads || r.Taints != "OE" || len(r.Messages) != 0 || len(r.Dependencies) != 1 || r.Dependencies[0].Loads ||
		r.Dependencies[0].FailedCheck == nil || *r.Dependencies[0].FailedCheck != "symbol_namespace" || !slices.Equal(r.LoadOrder, []string{"kmsgpl"}) {
		t.Errorf("kmsgpl after a refused kmsnons: exit %d %+v", code, r)
	}
	// Alone, each gets the messages the booted kernel printed.
	r, _, _ = run(ko("kmsgpl"))
	if !r.Loads || r.Taints != "OE" || !slices.Equal(r.Messages, oot("kmsgpl")) || r.Dependencies != nil {
		t.Errorf("kmsgpl: %+v", r)
	}
	r, _, code = run(ko("kmsprop"))
	want := []string{"kmsprop: loading out-of-tree module taints kernel.", "kmsprop: module license 'Proprietary' taints kernel.",
		"Disabling lock debugging due to kernel taint",
		"kmsprop: module verification failed: signature and/or required key missing - tainting kernel",
		"kmsprop: Unknown symbol ktime_get (err -2)"}
	if code != 3 || r.Taints != "POE" || *r.FailedCheck != "symbol_gpl_only" || !slices.Equal(r.Messages, want) || !strings.Contains(r.Hint, "GPL-only") {
		t.Errorf("kmsprop: exit %d %+v", code, r)
	}
	// Text: the dependency lines and the load order.
	out, _, code := secRun("check", "-b", root, "-k", rel, "--loaded", ko("kmsdebug"), ko("kmsuser"))
	if code != 0 || !strings.Contains(out, "load order: kmsdebug kmsuser") || !strings.Contains(out, "dep "+ko("kmsdebug")+": loads (taints OE)") {
		t.Errorf("text: exit %d\n%s", code, out)
	}
}
