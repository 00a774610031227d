package variants

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modsig"
)

func sourceDir(t *testing.T) string {
	t.Helper()
	dir := DefaultSource
	if d := os.Getenv("KMODSCOPE_DEBIAN_MODULES"); d != "" {
		dir = d
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("corpus module tree not available: %v", err)
	}
	return dir
}

func TestBuild(t *testing.T) {
	src := sourceDir(t)
	out := t.TempDir()
	cases, err := Build(src, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) < 22 {
		t.Fatalf("only %d variants", len(cases))
	}
	byName := map[string]realkernel.Case{}
	for _, c := range cases {
		byName[c.Name] = c
		if _, err := os.Stat(c.Module); err != nil {
			t.Error(err)
		}
	}
	// Deps of ums-realtek: every dependency before its users.
	c := byName["ums-realtek-stripped"]
	var got []string
	for _, d := range c.Deps {
		got = append(got, strings.TrimSuffix(filepath.Base(d), ".ko"))
	}
	// (6.1 lists them in this order; 6.12's modinfo gives another valid one)
	sorted := append([]string(nil), got...)
	sort.Strings(sorted)
	if want := "scsi_common scsi_mod usb-common usb-storage usbcore"; strings.Join(sorted, " ") != want {
		t.Errorf("ums-realtek deps = %v, want %s in dependency order", got, want)
	}
	pos := map[string]int{}
	for i, n := range got {
		pos[strings.ReplaceAll(n, "-", "_")] = i
	}
	for i, d := range c.Deps {
		ds, err := depends(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, dd := range ds {
			if j, ok := pos[strings.ReplaceAll(dd, "-", "_")]; !ok || j >= i {
				t.Errorf("ums-realtek deps %v: %s before its dependency %s", got, got[i], dd)
			}
		}
	}
	for _, d := range c.Deps {
		if b, err := os.ReadFile(d); err != nil || !bytes.HasPrefix(b, []byte("\x7fELF")) {
			t.Errorf("dependency %s is not a raw ELF module (%v)", d, err)
		}
	}
	if n := len(byName["ums-realtek-missing-dep-usb-storage"].Deps); n != 2 {
		t.Errorf("missing-dep variant has %d deps, want 2", n)
	}

	read := func(name string) []byte {
		b, err := os.ReadFile(byName[name].Module)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if _, err := modsig.Find(read("crc7-sig-stripped")); err != modsig.ErrUnsigned {
		t.Errorf("stripped variant still signed: %v", err)
	}
	m, err := ko.New(read("ums-realtek-stripped-import-ns-removed"))
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := m.Modinfo()
	if v, ok := ko.Get(kv, "import_ns"); ok {
		t.Errorf("import_ns still present: %q", v)
	}
	if v, _ := ko.Get(kv, "import_nX"); v != "USB_STORAGE" {
		t.Errorf("import_nX = %q", v)
	}
	m, err = ko.New(read("crc7-stripped-vermagic-release"))
	if err != nil {
		t.Fatal(err)
	}
	kv, _ = m.Modinfo()
	orig, err := ko.New(read("crc7-signed-unmodified"))
	if err != nil {
		t.Fatal(err)
	}
	okv, _ := orig.Modinfo()
	ov, _ := ko.Get(okv, "vermagic")
	if v, _ := ko.Get(kv, "vermagic"); len(v) != len(ov) || v == ov || !strings.Contains(v, " SMP preempt ") ||
		(strings.HasPrefix(ov, "6.1.0-56-amd64 ") && !strings.HasPrefix(v, "6.1.0-99-amd64 SMP preempt ")) {
		t.Errorf("vermagic = %q (was %q)", v, ov)
	}
	m, err = ko.New(read("crc-itu-t-stripped-named-crc7"))
	if err != nil {
		t.Fatal(err)
	}
	if tm, err := m.ThisModule(); err != nil || tm.Name != "crc7" {
		t.Errorf("this_module name: %v %v", tm, err)
	}
	m, err = ko.New(read("nvram-stripped-version-name-misc_register"))
	if err != nil {
		t.Fatal(err)
	}
	vs, _ := m.Versions()
	var names []string
	for _, v := range vs {
		names = append(names, v.Name)
	}
	if j := strings.Join(names, " "); !strings.Contains(j, "misc_registeX") || strings.Contains(j, "misc_register ") {
		t.Errorf("versions: %s", j)
	}
	if a, b := read("crc7-signed-unmodified"), read("crc7-signed-modinfo-changed"); len(a) != len(b) || bytes.Equal(a, b) {
		t.Error("modinfo-changed variant should differ in content only")
	}
}

// summary is the one-line report of an outcome.
func summary(o realkernel.Outcome) string {
	res := "loads"
	if o.Error != "" {
		res = "ERROR " + o.Error
	} else if o.ExitStatus != 0 {
		res = fmt.Sprintf("%s(%d)", o.Errno, o.ExitStatus)
	}
	taints := o.Taints
	if taints == "" {
		taints = "-"
	}
	return fmt.Sprintf("%-45s %-18s taints=%-4s tainted=%-6d boot=%4.0fs dmesg=%q", o.Case, res, taints, o.KernelTainted, o.BootSeconds, o.Dmesg)
}

// TestRealKernel boots the Debian 6.1 kernel (or $KMODSCOPE_REALKERNEL_KERNEL,
// with $KMODSCOPE_DEBIAN_MODULES its module tree) once per variant (2 guests at
// a time) and records what load_module() did. Set
// KMODSCOPE_REALKERNEL_OUT=file.json to keep the outcomes. It runs only with
// KMODSCOPE_REALKERNEL_OBSERVE=1: the CI suite boots the same variants in
// loadcheck's TestRealKernelPredictions, which compares them with check.
func TestRealKernel(t *testing.T) {
	if testing.Short() || os.Getenv("KMODSCOPE_REALKERNEL_OBSERVE") != "1" {
		t.Skip("boots a kernel under qemu for each variant (minutes); set KMODSCOPE_REALKERNEL_OBSERVE=1")
	}
	kernel := realkernel.DefaultKernel
	if k := os.Getenv("KMODSCOPE_REALKERNEL_KERNEL"); k != "" {
		kernel = k // e.g. boot/vmlinuz-6.12.117+deb12-amd64 with the 6.12 modules
	}
	if err := realkernel.AvailableFor(kernel); err != nil {
		t.Skipf("real kernel harness not available: %v", err)
	}
	src := sourceDir(t)
	cases, err := Build(src, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cases = Select(cases, os.Getenv("KMODSCOPE_REALKERNEL_ONLY"))
	if d := os.Getenv("KMODSCOPE_REALKERNEL_KEEP"); d != "" {
		realkernel.KeepDir = d // console logs and initramfs images per case
	}
	outcomes, runErr := realkernel.Run(context.Background(), kernel, cases, 2)
	byName := map[string]realkernel.Outcome{}
	for _, o := range outcomes {
		byName[o.Case] = o
		t.Log(summary(o))
	}
	if p := os.Getenv("KMODSCOPE_REALKERNEL_OUT"); p != "" {
		type record struct {
			Variant  string   `json:"variant"`
			What     string   `json:"what"`
			Base     string   `json:"base"`
			Deps     []string `json:"deps,omitempty"`
			BootArgs []string `json:"boot_args,omitempty"`
			Preload  bool     `json:"preload_twice,omitempty"`
			realkernel.Outcome
		}
		vs := map[string]Variant{}
		for _, v := range List() {
			vs[v.Name] = v
		}
		var recs []record
		for i, o := range outcomes {
			v := vs[o.Case]
			var deps []string
			for _, d := range cases[i].Deps {
				deps = append(deps, filepath.Base(d))
			}
			recs = append(recs, record{Variant: o.Case, What: v.What, Base: v.Base, Deps: deps,
				BootArgs: cases[i].BootArgs, Preload: cases[i].PreloadTwice, Outcome: o})
		}
		arch, err := realkernel.ArchOf(kernel)
		if err != nil {
			t.Fatal(err)
		}
		doc := map[string]any{
			"kernel": kernel,
			"arch":   arch.Name,
			"qemu": fmt.Sprintf("%s %s -m %d -smp 1 -nographic -no-reboot, append console=%s quiet panic=-1 no_timer_check + boot_args",
				arch.QEMU, strings.Join(arch.Machine, " "), realkernel.MemoryMB, arch.Console),
			"insmod":   "busybox insmod (finit_module, then init_module on failure); exit status = errno",
			"outcomes": recs,
		}
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if runErr != nil {
		t.Errorf("run: %v", runErr)
	}
	check := func(name string, wantStatus int, wantTaints string) {
		o, ok := byName[name]
		if !ok {
			return
		}
		if o.Error != "" || o.ExitStatus != wantStatus || o.Taints != wantTaints {
			t.Errorf("%s: status %d taints %q error %q, want status %d taints %q", name, o.ExitStatus, o.Taints, o.Error, wantStatus, wantTaints)
		}
	}
	check("crc7-signed-unmodified", 0, "")
	check("crc7-sig-stripped", 0, "E")
	check("crc7-already-loaded", 17, "")
	check("crc7-stripped-sig-enforce", 129, "")
}
