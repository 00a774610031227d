package conformance_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
)

// TestDepmodCompat34 compares `kmodscope depmod --compat 34` with kmod
// 34.2's depmod: pre-order .bin layout, modules.weakdep, and the first
// modules.order line naming a module deciding its place. Debian 12 ships
// kmod 30, so the reference is kmod 34.2's output committed under
// testdata/depmod-kmod34 (made by kmod 34.2 built from its tag). With
// KMODSCOPE_KMOD34=/path/to/kmod-34/depmod the test runs that depmod
// instead, and KMODSCOPE_UPDATE_GOLDEN=1 then rewrites the committed files.
func TestDepmodCompat34(t *testing.T) {
	kmod34 := os.Getenv("KMODSCOPE_KMOD34")
	golden := filepath.Join(repoRoot(t), "testdata", "depmod-kmod34")
	synthRoot, synthRel := synthTree(t)
	d := filepath.Join(synthRoot, "lib", "modules", synthRel)
	writeFile(t, filepath.Join(d, "kernel/fs/weak.ko"), synthModule("weak", nil, []string{"mid_fn"},
		"weakdep=base", "softdep=pre: mid", "weakdep=dup_mod", "alias=weak-alias"))
	writeFile(t, filepath.Join(d, "kernel/fs/weak2.ko"), synthModule("weak2", nil, nil, "weakdep=weak"))
	// Duplicates in modules.order: kmod 30 takes the last line, kmod 34 the first.
	writeFile(t, filepath.Join(d, "modules.order"), []byte("kernel/fs/top.ko\nkernel/fs/weak2.ko\nkernel/fs/base.ko\nkernel/fs/mid.ko\nkernel/fs/top.ko\nkernel/fs/weak.ko\nkernel/fs/weak2.ko\nkernel/fs/gone.ko\n"))
	// The fixtures the committed kmod 34 output was made from (a fixed
	// list: fixtures added later do not change this tree).
	fx := depmodTree{name: "testdata", root: t.TempDir(), rel: "6.1.0-test"}
	src := filepath.Join(repoRoot(t), "testdata", "modules")
	for _, f := range strings.Fields(compat34Fixtures) {
		dst := filepath.Join(fx.root, "lib", "modules", fx.rel, "kernel", f)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(filepath.Join(src, f), dst); err != nil {
			t.Fatal(err)
		}
	}
	trees := []depmodTree{{name: "synth", root: synthRoot, rel: synthRel}, fx}
	empty := t.TempDir()
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			got := collectDir(t, indexTree(t, tr, false, nil, "--compat", "34", "-C", empty))
			delete(got, depmod.CacheName)
			delete(got, depmod.JournalName)
			for _, f := range []string{"modules.order", "modules.builtin", "modules.builtin.modinfo"} {
				delete(got, f)
			}
			var want map[string][]byte
			dir := filepath.Join(golden, tr.name)
			if kmod34 != "" {
				root := t.TempDir()
				farm(t, tr.root, root, tr.rel)
				out, err := exec.Command(kmod34, "-C", empty, "-b", root, tr.rel).CombinedOutput()
				if err != nil {
					t.Fatalf("%s: %v\n%s", kmod34, err, out)
				}
				want = collectDir(t, filepath.Join(root, "lib", "modules", tr.rel))
				for _, f := range []string{"modules.order", "modules.builtin", "modules.builtin.modinfo"} {
					delete(want, f)
				}
				if os.Getenv("KMODSCOPE_UPDATE_GOLDEN") == "1" {
					os.RemoveAll(dir)
					for f, data := range want {
						writeFile(t, filepath.Join(dir, f), data)
					}
				}
			} else {
				ents, err := os.ReadDir(dir)
				if err != nil || len(ents) == 0 {
					t.Fatalf("no kmod 34 reference output in %s: %v", dir, err)
				}
				want = map[string][]byte{}
				for _, e := range ents {
					want[e.Name()], _ = os.ReadFile(filepath.Join(dir, e.Name()))
				}
			}
			var names []string
			for f := range want {
				names = append(names, f)
			}
			sort.Strings(names)
			if want["modules.weakdep"] == nil || !bytes.Contains(want["modules.weakdep"], []byte("# Weak dependencies")) {
				t.Errorf("kmod 34's output has no modules.weakdep")
			}
			for _, f := range names {
				if g, ok := got[f]; !ok {
					t.Errorf("kmod 34 wrote %s, kmodscope --compat 34 did not", f)
				} else if !bytes.Equal(g, want[f]) {
					t.Errorf("%s differs from kmod 34's (%d vs %d bytes)", f, len(g), len(want[f]))
				}
			}
			for f := range got {
				if _, ok := want[f]; !ok {
					t.Errorf("kmodscope --compat 34 wrote %s, kmod 34 did not", f)
				}
			}
			if tr.name == "synth" && !strings.Contains(string(got["modules.weakdep"]), "weakdep weak dup_mod\n") {
				t.Errorf("modules.weakdep: %q", got["modules.weakdep"])
			}
		})
	}
}

const compat34Fixtures = `amd64-6.12/crc7.ko.xz amd64-6.12/ums-realtek.ko.xz amd64/built/kmsdata.ko
amd64/built/kmsdebug.ko amd64/built/kmsuser.ko amd64/crc7.ko amd64/e1000e.ko amd64/lrw.ko amd64/nvram.ko
amd64/ums-realtek.ko amd64/usb-storage.ko arm64/crc7.ko arm64/lrw.ko arm64/ums-realtek.ko armhf/crc7.ko
armhf/lrw.ko armhf/ums-realtek.ko i386/crc7.ko i386/lrw.ko i386/nvram.ko i386/ums-realtek.ko
loong64/crc-itu-t.ko.xz loong64/e1000e.ko.xz loong64/lrw.ko.xz loong64/ums-realtek.ko.xz
mips64el/crc-itu-t.ko mips64el/crc7.ko mips64el/e1000e.ko mips64el/lrw.ko mips64el/ums-realtek.ko
ppc64el/crc7.ko ppc64el/lrw.ko ppc64el/ums-realtek.ko riscv64/crc-itu-t.ko.xz riscv64/crc7.ko.xz
riscv64/e1000e.ko.xz riscv64/lrw.ko.xz riscv64/ums-realtek.ko.xz s390x/crc7.ko s390x/lrw.ko
s390x/ums-realtek.ko`
