package conformance_test

// `kmodscope size --loaded` against the real kernel: boot Debian's 6.1 and
// 6.12 amd64 kernels of the complete trees under qemu (internal/realkernel),
// insmod a few modules of the same tree (dependencies first) and compare the
// size column of /proc/modules with the predicted ProcModules value.

import (
	"context"
	"debug/elf"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modlayout"
)

// loadedModules are loaded in each kernel: small and large, with and
// without dependencies, exports, parameters, ro_after_init and jump tables.
var loadedModules = []string{"crc7", "lrw", "e1000e", "usb-storage", "ext4"}

func TestLoadedSizeRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: boots qemu")
	}
	require := os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1"
	trees, _ := filepath.Glob("/var/cache/kmodscope/deb-*-amd64")
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		trees = nil
		for _, tr := range strings.Split(env, ":") {
			if strings.HasSuffix(tr, "-amd64") {
				trees = append(trees, tr)
			}
		}
	}
	if len(trees) == 0 {
		if require {
			t.Fatal("no amd64 tree for the real-kernel size test")
		}
		t.Skip("no amd64 tree")
	}
	for _, tree := range trees {
		kernels, _ := filepath.Glob(filepath.Join(tree, "boot", "vmlinuz-*"))
		if len(kernels) != 1 {
			t.Errorf("%s: want one kernel image, found %v", tree, kernels)
			continue
		}
		kernel := kernels[0]
		release := strings.TrimPrefix(filepath.Base(kernel), "vmlinuz-")
		if err := realkernel.AvailableFor(kernel); err != nil {
			if require {
				t.Fatal(err)
			}
			t.Skip(err)
		}
		t.Run(release, func(t *testing.T) { loadedOnKernel(t, tree, kernel, release) })
	}
}

func loadedOnKernel(t *testing.T, tree, kernel, release string) {
	cfg, err := kconfig.Open(filepath.Join(tree, "boot", "config-"+release))
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]string{}
	filepath.WalkDir(filepath.Join(tree, "lib", "modules", release), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(filepath.Base(p), ".ko") {
			byName[ko.NameFromPath(p)] = p
		}
		return nil
	})
	dir := t.TempDir()
	plain := func(p string) string {
		data, _, err := compression.ReadFile(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dir, ko.NameFromPath(p)+".ko")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return out
	}
	var deps func(name string, seen map[string]bool, order *[]string)
	deps = func(name string, seen map[string]bool, order *[]string) {
		p, ok := byName[name]
		if !ok || seen[name] {
			return
		}
		seen[name] = true
		m, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		kvs, _ := m.Modinfo()
		m.Close()
		if d, _ := ko.Get(kvs, "depends"); d != "" {
			for _, dn := range strings.Split(d, ",") {
				deps(strings.ReplaceAll(dn, "-", "_"), seen, order)
			}
		}
		*order = append(*order, p)
	}
	v, err := modlayout.ParseVersion(release)
	if err != nil {
		t.Fatal(err)
	}
	var cases []realkernel.Case
	want := map[string]uint64{}
	for _, name := range loadedModules {
		var order []string
		deps(strings.ReplaceAll(name, "-", "_"), map[string]bool{}, &order)
		if len(order) == 0 {
			t.Errorf("%s not in %s", name, tree)
			continue
		}
		// no_timer_check: a slow TCG guest otherwise sometimes panics in
		// setup_IO_APIC's timer check; it changes nothing in the loader.
		c := realkernel.Case{Name: release + "-" + name, Module: plain(order[len(order)-1]), BootArgs: []string{"no_timer_check"}}
		for _, d := range order[:len(order)-1] {
			c.Deps = append(c.Deps, plain(d))
		}
		data, err := os.ReadFile(c.Module)
		if err != nil {
			t.Fatal(err)
		}
		f, err := elfx.New(data)
		if err != nil {
			t.Fatal(err)
		}
		mc := modlayout.DefaultConfig(elf.EM_X86_64, v)
		mc.KallsymsAll = cfg.Enabled("CONFIG_KALLSYMS_ALL")
		mc.StrictRWX = cfg.Enabled("CONFIG_STRICT_MODULE_RWX")
		mc.ModuleUnload = cfg.Enabled("CONFIG_MODULE_UNLOAD")
		l, err := modlayout.Compute(f, mc)
		if err != nil {
			t.Fatal(err)
		}
		want[c.Name] = l.ProcModules
		cases = append(cases, c)
	}
	outcomes, err := realkernel.Run(context.Background(), kernel, cases, 2)
	if err != nil {
		// A boot that did not reach /init (host too slow): run those once more.
		t.Logf("retrying after: %v", err)
		var again []realkernel.Case
		var at []int
		for i, o := range outcomes {
			if o.Error != "" {
				again = append(again, cases[i])
				at = append(at, i)
			}
		}
		retried, _ := realkernel.Run(context.Background(), kernel, again, 2)
		for k, o := range retried {
			outcomes[at[k]] = o
		}
	}
	match := 0
	for _, o := range outcomes {
		if !o.Loaded() {
			t.Errorf("%s did not load: %s %s %q", o.Case, o.Errno, o.Error, o.Dmesg)
			continue
		}
		fields := strings.Fields(o.ProcModules)
		if len(fields) < 2 {
			t.Errorf("%s: no /proc/modules line (%q)", o.Case, o.ProcModules)
			continue
		}
		got, _ := strconv.ParseUint(fields[1], 10, 64)
		if got != want[o.Case] {
			t.Errorf("%s: /proc/modules size %d, kmodscope size --loaded predicts %d (%+d)", o.Case, got, want[o.Case], int64(want[o.Case])-int64(got))
			continue
		}
		match++
		t.Logf("%s: /proc/modules %d = predicted", o.Case, got)
	}
	t.Logf("%s: %d of %d modules: predicted /proc/modules size exact", release, match, len(cases))
}
