package conformance_test

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/internal/cli"
	"github.com/kmodscope/kmodscope/internal/kotest"
)

// The depmod conformance tests run kmod's depmod and `kmodscope depmod` on
// two copies (symlink farms) of the same tree in the same test and require
// the same exit status, the same stdout and stderr (with the copy's root
// replaced by ROOT) and byte-identical files in lib/modules/RELEASE.

// farm makes dst/lib/modules/REL mirror src/lib/modules/REL: real
// directories, symlinks to the files, without depmod's own outputs.
func farm(t testing.TB, src, dst, rel string) {
	outputs := map[string]bool{}
	for _, f := range depmod.Files {
		outputs[f] = true
	}
	base := filepath.Join(src, "lib", "modules", rel)
	err := filepath.WalkDir(base, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		r, _ := filepath.Rel(base, p)
		out := filepath.Join(dst, "lib", "modules", rel, r)
		if d.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		if r == d.Name() && outputs[d.Name()] {
			return nil
		}
		return os.Symlink(p, out)
	})
	if err != nil {
		t.Fatal(err)
	}
}

type depmodRun struct {
	code           int
	stdout, stderr string
	files          map[string][]byte
}

func collectDir(t testing.TB, dir string) map[string][]byte {
	files := map[string][]byte{}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = data
	}
	return files
}

func subst(args []string, root string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = strings.ReplaceAll(a, "ROOT", root)
	}
	return out
}

// compareDepmod runs both tools on fresh copies of src's tree with args
// (ROOT in an argument stands for the copy's root; -b ROOT is added) and
// reports every difference. prepare, if set, runs on each copy first.
func compareDepmod(t *testing.T, src, rel string, args []string, prepare func(root string)) (real depmodRun) {
	t.Helper()
	tool := need(t, "depmod")
	roots := [2]string{t.TempDir(), t.TempDir()}
	var runs [2]depmodRun
	for i, root := range roots {
		farm(t, src, root, rel)
		if prepare != nil {
			prepare(root)
		}
		a := append([]string{"-b", root}, subst(args, root)...)
		if !hasRelease(args, rel) {
			a = append(a, rel)
		}
		if i == 0 {
			cmd := exec.Command(tool, a...)
			var o, e bytes.Buffer
			cmd.Stdout, cmd.Stderr = &o, &e
			err := cmd.Run()
			if ee, ok := err.(*exec.ExitError); ok {
				runs[i].code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			runs[i].stdout, runs[i].stderr = o.String(), e.String()
		} else {
			var o, e bytes.Buffer
			runs[i].code = cliMain(append([]string{"depmod"}, a...), &o, &e)
			runs[i].stdout, runs[i].stderr = o.String(), e.String()
		}
		runs[i].stdout = strings.ReplaceAll(runs[i].stdout, root, "ROOT")
		runs[i].stderr = strings.ReplaceAll(runs[i].stderr, root, "ROOT")
		if i == 0 {
			// With -vv kmod also prints libkmod's INFO lines (with pointers).
			var keep []string
			for _, l := range strings.SplitAfter(runs[i].stderr, "\n") {
				if !strings.Contains(l, "../libkmod/") {
					keep = append(keep, l)
				}
			}
			runs[i].stderr = strings.Join(keep, "")
		}
		runs[i].files = collectDir(t, filepath.Join(root, "lib", "modules", rel))
		// kmodscope's incremental cache is not an index (kmod's tools
		// never read it; TestDepmodCacheHarmless checks they don't mind it).
		delete(runs[i].files, depmod.CacheName)
		delete(runs[i].files, depmod.JournalName)
	}
	k, o := runs[0], runs[1]
	if k.code != o.code {
		t.Errorf("depmod %v: exit status kmod %d, kmodscope %d", args, k.code, o.code)
	}
	if k.stdout != o.stdout {
		t.Errorf("depmod %v: stdout differs at %s", args, firstDiff([]byte(k.stdout), []byte(o.stdout)))
	}
	if k.stderr != o.stderr {
		t.Errorf("depmod %v: stderr differs at %s", args, firstDiff([]byte(k.stderr), []byte(o.stderr)))
	}
	var names []string
	for n := range k.files {
		names = append(names, n)
	}
	for n := range o.files {
		if _, ok := k.files[n]; !ok {
			t.Errorf("depmod %v: kmodscope wrote %s, kmod did not", args, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		got, ok := o.files[n]
		if !ok {
			t.Errorf("depmod %v: kmod wrote %s, kmodscope did not", args, n)
			continue
		}
		if !bytes.Equal(got, k.files[n]) {
			if strings.HasSuffix(n, ".bin") {
				t.Errorf("depmod %v: %s differs (%d vs %d bytes)", args, n, len(k.files[n]), len(got))
			} else {
				t.Errorf("depmod %v: %s differs at %s", args, n, firstDiff(k.files[n], got))
			}
		}
	}
	return k
}

func hasRelease(args []string, rel string) bool {
	for _, a := range args {
		if a == rel || a == "9.99" || a == "notaversion" {
			return true
		}
	}
	return false
}

func cliMain(args []string, out, errw *bytes.Buffer) int {
	return cli.Main(args, nil, out, errw)
}

// depmodTree is a root holding lib/modules/REL.
type depmodTree struct {
	name, root, rel string
	symvers, sysmap string // "" when the tree has none
	full            bool   // a complete tree (skipped with -short)
}

func releaseOf(root string) string {
	rels, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	for _, r := range rels {
		if st, err := os.Stat(r); err == nil && st.IsDir() {
			return filepath.Base(r)
		}
	}
	return ""
}

// fixtureTree puts the committed fixtures of every architecture into one
// tree (no modules.order, so kmod's hash order decides).
func fixtureTree(t *testing.T) depmodTree {
	root := t.TempDir()
	rel := "6.1.0-test"
	src := filepath.Join(repoRoot(t), "testdata", "modules")
	for _, f := range findModules(t, src) {
		r, _ := filepath.Rel(src, f)
		dst := filepath.Join(root, "lib", "modules", rel, "kernel", r)
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.Symlink(f, dst); err != nil {
			t.Fatal(err)
		}
	}
	return depmodTree{name: "testdata", root: root, rel: rel}
}

func depmodTrees(t *testing.T) []depmodTree {
	trees := []depmodTree{fixtureTree(t)}
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(repoRoot(t), "..", "shared", "corpus", "debian")
	}
	arches, _ := filepath.Glob(filepath.Join(corpus, "*"))
	for _, a := range arches {
		if rel := releaseOf(a); rel != "" {
			trees = append(trees, depmodTree{name: "corpus-" + filepath.Base(a), root: a, rel: rel})
		}
	}
	if len(trees) == 1 {
		t.Logf("shared corpus not found at %s: skipped", corpus)
	}
	var full []string
	if env := os.Getenv("KMODSCOPE_TREES"); env != "" {
		full = strings.Split(env, ":")
	} else {
		full, _ = filepath.Glob("/var/cache/kmodscope/deb-*")
	}
	if testing.Short() {
		full = nil
	}
	for _, f := range full {
		rel := releaseOf(f)
		marker, _ := filepath.Glob(filepath.Join(f, ".complete-*"))
		if rel == "" || len(marker) == 0 {
			if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
				t.Fatalf("complete tree %s missing or incomplete", f)
			}
			t.Logf("tree %s incomplete: skipped", f)
			continue
		}
		trees = append(trees, depmodTree{name: filepath.Base(f), root: f, rel: rel, full: true})
	}
	for i := range trees {
		tr := &trees[i]
		if m, _ := filepath.Glob(filepath.Join(tr.root, "usr", "src", "linux-headers-*", "Module.symvers")); len(m) > 0 {
			tr.symvers = m[0]
		}
		if p := filepath.Join(tr.root, "boot", "System.map-"+tr.rel); fileExists(p) {
			tr.sysmap = p
		}
	}
	return trees
}

// systemMapFrom writes a System.map with a __ksymtab_ line per vmlinux
// export of a Module.symvers (for trees that ship no System.map).
func systemMapFrom(t *testing.T, symvers string) string {
	data, err := os.ReadFile(symvers)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Split(l, "\t")
		if len(f) >= 3 && f[2] == "vmlinux" {
			fmt.Fprintf(&b, "ffffffff81000000 r __ksymtab_%s\n", f[1])
		}
	}
	b.WriteString("ffffffff81000010 T _stext\nbad-line-without-fields\n")
	p := filepath.Join(t.TempDir(), "System.map")
	os.WriteFile(p, []byte(b.String()), 0o644)
	return p
}

// doctoredSymvers changes every 7th vmlinux CRC, so modules "disagree".
func doctoredSymvers(t *testing.T, symvers string) string {
	data, err := os.ReadFile(symvers)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	for i, l := range lines {
		f := strings.Split(l, "\t")
		if i%7 == 0 && len(f) >= 3 && f[2] == "vmlinux" {
			f[0] = fmt.Sprintf("0x%08x", i)
			lines[i] = strings.Join(f, "\t")
		}
	}
	lines = append(lines, "0xzz\tbadcrc\tvmlinux\tEXPORT_SYMBOL\t")
	p := filepath.Join(t.TempDir(), "Module.symvers")
	os.WriteFile(p, []byte(strings.Join(lines, "\n")), 0o644)
	return p
}

// TestDepmodTrees compares every output file, stdout, stderr and the exit
// status on every tree: plain, and with -e against Module.symvers (real and
// doctored) and System.map (shipped, or made from Module.symvers).
func TestDepmodTrees(t *testing.T) {
	for _, tr := range depmodTrees(t) {
		t.Run(tr.name, func(t *testing.T) {
			k := compareDepmod(t, tr.root, tr.rel, nil, nil)
			if len(k.files["modules.dep"]) == 0 && tr.name != "testdata" {
				t.Errorf("kmod wrote an empty modules.dep: the tree was not indexed")
			}
			t.Logf("%d modules", bytes.Count(k.files["modules.dep"], []byte("\n")))
			if tr.full && strings.Contains(tr.name, "6.12") {
				return // .ko.xz trees: one run each is slow enough
			}
			cases := [][]string{{"-e"}, {"-n"}, {"-v"}, {"-w"}, {"-A"}}
			if tr.symvers != "" {
				cases = append(cases,
					[]string{"-e", "-E", tr.symvers},
					[]string{"-e", "-E", doctoredSymvers(t, tr.symvers)},
					[]string{"-E", doctoredSymvers(t, tr.symvers)},
					[]string{"-ae", "-F", systemMapFrom(t, tr.symvers)})
			}
			if tr.sysmap != "" {
				cases = append(cases, []string{"-ae", "-F", tr.sysmap})
			}
			if tr.full {
				cases = cases[len(cases)-2:]
			}
			for _, args := range cases {
				k := compareDepmod(t, tr.root, tr.rel, args, nil)
				if args[0] == "-e" && len(args) > 1 && !strings.Contains(k.stderr, "needs unknown symbol") && !tr.full {
					t.Logf("%v: no unknown symbols reported", args)
				}
			}
		})
	}
}

// synthModule builds a small x86-64 module exporting exports (with CRCs
// through __crc_ symbols) and importing imports, with extra .modinfo.
func synthModule(name string, exports, imports []string, modinfo ...string) []byte {
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	info := append([]string{"license=GPL", "name=" + name}, modinfo...)
	b.Section(b.SectionIndex(".modinfo")).Data = kotest.Modinfo(info...)
	vers := append([]kotest.Version{}, kotest.MinimalVersions...)
	for i, s := range imports {
		b.AddSymbol(kotest.Symbol{Name: s, Bind: elf.STB_GLOBAL, Section: int(elf.SHN_UNDEF)})
		vers = append(vers, kotest.Version{CRC: uint64(0x1000 + i), Name: s})
	}
	b.Section(b.SectionIndex("__versions")).Data = kotest.Versions(elf.ELFCLASS64, binary.LittleEndian, vers...)
	for i, s := range exports {
		b.AddSymbol(kotest.Symbol{Name: "__crc_" + s, Value: uint64(0x1000 + i), Bind: elf.STB_GLOBAL, Section: int(elf.SHN_ABS)})
	}
	return b.Bytes()
}

func writeFile(t *testing.T, p string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthTree writes a tree of synthetic modules: a module present in
// kernel/, updates/, extra/ and zzz/, a dependency chain, aliases with
// devname, brackets and softdeps, a malformed module, and modules.order,
// modules.builtin and modules.builtin.modinfo with odd lines.
func synthTree(t *testing.T) (string, string) {
	root := t.TempDir()
	rel := "6.1.0-synth"
	d := filepath.Join(root, "lib", "modules", rel)
	for _, dir := range []string{"kernel/fs", "updates", "extra", "zzz", "kernel/drivers/x"} {
		writeFile(t, filepath.Join(d, dir, "dup-mod.ko"), synthModule("dup_mod", []string{"dup_" + strings.ReplaceAll(dir, "/", "_")}, nil))
	}
	writeFile(t, filepath.Join(d, "kernel/fs/base.ko"), synthModule("base", []string{"base_fn", "shared_fn"}, nil))
	writeFile(t, filepath.Join(d, "kernel/fs/mid.ko"), synthModule("mid", []string{"mid_fn", "shared_fn"}, []string{"base_fn"}))
	writeFile(t, filepath.Join(d, "kernel/fs/top.ko"), synthModule("top", nil, []string{"mid_fn", "base_fn", "shared_fn", "dup_kernel_fs", "dup_updates", "nowhere_fn"},
		"alias=devname:top0", "alias=char-major-10-231", "alias=pci:v00008086d*sv*", "alias=usb:v1234p[0-9]*", "alias=bad]alias",
		"softdep=pre: base post: mid", "alias=block-major-8-*"))
	writeFile(t, filepath.Join(d, "kernel/drivers/x/devonly.ko"), synthModule("devonly", nil, nil, "alias=devname:lonely"))
	writeFile(t, filepath.Join(d, "kernel/drivers/x/broken.ko"), []byte("this is not an ELF file at all"))
	writeFile(t, filepath.Join(d, "kernel/drivers/x/skipme.ko.gz"), []byte("gz is not a module extension for Debian's kmod"))
	writeFile(t, filepath.Join(d, "kernel/drivers/x/readme.txt"), []byte("not a module"))
	writeFile(t, filepath.Join(d, "modules.order"), []byte("kernel/fs/top.ko\nkernel/fs/base.ko\nkernel/fs/mid.ko\nkernel/fs/top.ko\nkernel/fs/gone.ko\n"))
	writeFile(t, filepath.Join(d, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\nkernel/crypto/crc32c-generic.ko\n9bad/line.ko\nkernel/a/zz-top.ko\n"))
	writeFile(t, filepath.Join(d, "modules.builtin.modinfo"), []byte("ext4.alias=fs-ext4\x00ext4.license=GPL\x00crc32c_generic.alias=crypto-crc32c\x00crc32c_generic.alias=crc32c-generic\x00noeq\x00x.alias=b]ad\x00zz_top.alias=usb:v*p[0-9]*\x00"))
	return root, rel
}

// TestDepmodSynthetic covers depmod.d (search order with built-in and
// external, override, exclude), a module present several times, odd
// modules.order/builtin files, a malformed module and explicit module
// arguments.
func TestDepmodSynthetic(t *testing.T) {
	root, rel := synthTree(t)
	ext := t.TempDir()
	writeFile(t, filepath.Join(ext, "dup-mod.ko"), synthModule("dup_mod", []string{"dup_external"}, nil))
	writeFile(t, filepath.Join(ext, "extmod.ko"), synthModule("extmod", nil, []string{"base_fn"}))
	conf := func(content string) string {
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "a.conf"), []byte(content))
		writeFile(t, filepath.Join(dir, "z.conf"), []byte("# comment\nbogus line\ninclude x\nsearch\n"))
		writeFile(t, filepath.Join(dir, "not-conf.txt"), []byte("search zzz\n"))
		return dir
	}
	empty := t.TempDir()
	cases := []struct {
		name string
		args []string
	}{
		{"default-config", []string{"-C", empty}},
		{"search-builtin", []string{"-C", conf("search zzz extra built-in\n")}},
		{"search-updates-last", []string{"-C", conf("search built-in updates\n")}},
		{"override", []string{"-C", conf("override dup-mod * kernel/drivers/x\noverride dup-mod 5\\.99.* zzz\n")}},
		{"override-regex", []string{"-C", conf("override dup-mod 6\\.1\\..* extra\n")}},
		{"exclude", []string{"-C", conf("exclude updates zzz broken.ko\n")}},
		{"external-first", []string{"-C", conf("search external built-in\nexternal * " + ext + "\n")}},
		{"external-last", []string{"-C", conf("search built-in external\nexternal 6.1 " + ext + "\nexternal 7.* /nonexistent\n")}},
		{"external-missing", []string{"-C", conf("search external\nexternal * /nonexistent/dir\n")}},
		{"wrapped-lines", []string{"-C", conf("search zzz \\\n extra\noverride\n")}},
		{"config-file", []string{"-C", filepath.Join(conf("search extra\n"), "a.conf")}},
		{"verbose", []string{"-v", "-C", empty}},
		{"verbose-info", []string{"-vv", "-C", conf("override dup-mod 5.* zzz\n")}},
		{"dry-run", []string{"-n", "-C", empty}},
		{"warn", []string{"-w", "-C", empty}},
		{"explicit-files", []string{rel, "ROOT/lib/modules/" + rel + "/kernel/fs/mid.ko", "ROOT/lib/modules/" + rel + "/kernel/fs/base.ko", ext + "/extmod.ko"}},
		{"explicit-relative", []string{rel, "kernel/fs/mid.ko"}},
		{"all-wins-over-files", []string{"-a", "-C", empty, rel, "ROOT/lib/modules/" + rel + "/kernel/fs/mid.ko"}},
		{"bad-version", []string{"notaversion"}},
		{"missing-release", []string{"9.99"}},
		{"prefix-too-long", []string{"-P", "ab"}},
		{"errsyms-without-map", []string{"-e", "-C", empty}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			compareDepmod(t, root, rel, c.args, nil)
		})
	}
}

// TestDepmodCycle builds modules depending on each other in two cycles and
// checks kmod's messages, exit status and that nothing is written.
func TestDepmodCycle(t *testing.T) {
	root := t.TempDir()
	rel := "6.1.0-cycle"
	d := filepath.Join(root, "lib", "modules", rel, "kernel")
	writeFile(t, filepath.Join(d, "cyc-a.ko"), synthModule("cyc_a", []string{"a_fn"}, []string{"b_fn"}))
	writeFile(t, filepath.Join(d, "cyc-b.ko"), synthModule("cyc_b", []string{"b_fn"}, []string{"c_fn"}))
	writeFile(t, filepath.Join(d, "cyc-c.ko"), synthModule("cyc_c", []string{"c_fn"}, []string{"a_fn", "d_fn"}))
	writeFile(t, filepath.Join(d, "cyc-d.ko"), synthModule("cyc_d", []string{"d_fn"}, nil))
	writeFile(t, filepath.Join(d, "user.ko"), synthModule("user", nil, []string{"a_fn"}))
	writeFile(t, filepath.Join(d, "pair-x.ko"), synthModule("pair_x", []string{"x_fn"}, []string{"y_fn"}))
	writeFile(t, filepath.Join(d, "pair-y.ko"), synthModule("pair_y", []string{"y_fn"}, []string{"x_fn"}))
	k := compareDepmod(t, root, rel, []string{"-C", t.TempDir()}, func(r string) {
		// A previous index set must survive the failed run.
		writeFile(t, filepath.Join(r, "lib", "modules", rel, "modules.dep"), []byte("previous\n"))
	})
	if k.code != 1 || !strings.Contains(k.stderr, "Cycle detected") {
		t.Errorf("kmod did not report the cycle: exit %d\n%s", k.code, k.stderr)
	}
	if string(k.files["modules.dep"]) != "previous\n" {
		t.Errorf("modules.dep was replaced after a cycle")
	}
}
