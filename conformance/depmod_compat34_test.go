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
	fx := fixtureTree(t)
	trees := []depmodTree{{name: "synth", root: synthRoot, rel: synthRel}, fx}
	empty := t.TempDir()
	for _, tr := range trees {
		t.Run(tr.name, func(t *testing.T) {
			got := collectDir(t, indexTree(t, tr, false, nil, "--compat", "34", "-C", empty))
			delete(got, depmod.CacheName)
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
