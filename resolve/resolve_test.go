package resolve

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/depmod"
	"github.com/kmodscope/kmodscope/internal/kotest"
)

// synthModule builds an x86-64 module exporting exports and importing
// imports, with extra .modinfo entries.
func synthModule(name string, exports, imports []string, modinfo ...string) []byte {
	b := kotest.Minimal(elf.ELFCLASS64, binary.LittleEndian, elf.EM_X86_64)
	b.Section(b.SectionIndex(".modinfo")).Data = kotest.Modinfo(append([]string{"license=GPL", "name=" + name}, modinfo...)...)
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

func write(t *testing.T, p string, data []byte) {
	t.Helper()
	os.MkdirAll(filepath.Dir(p), 0o755)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// synthTree writes and indexes (with kmodscope's depmod) a tree:
// top -> mid -> base, top -> base, mid softdeps, builtin "bi" and a
// committed fixture module pair (ums-realtek -> usb-storage).
func synthTree(t *testing.T, files map[string][]byte) (root, rel, dir string) {
	root, rel = t.TempDir(), "6.1.0-unit"
	dir = filepath.Join(root, "lib", "modules", rel)
	for p, data := range files {
		write(t, filepath.Join(dir, p), data)
	}
	var errb bytes.Buffer
	if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel, ConfigPaths: []string{t.TempDir()}, Stderr: &errb}); err != nil && !strings.Contains(errb.String(), "Cycle") {
		t.Fatalf("depmod: %v\n%s", err, errb.String())
	}
	return root, rel, dir
}

func unitFiles(t *testing.T) map[string][]byte {
	files := map[string][]byte{
		"kernel/fs/base.ko":       synthModule("base", []string{"base_fn", "shared_fn"}, nil),
		"kernel/fs/mid.ko":        synthModule("mid", []string{"mid_fn"}, []string{"base_fn", "shared_fn"}),
		"kernel/fs/top.ko":        synthModule("top", nil, []string{"mid_fn", "base_fn"}, "alias=pci:v1234d*", "softdep=pre: pre1 post: post1"),
		"kernel/fs/pre1.ko":       synthModule("pre1", nil, nil, "alias=pci:v1234d0001"),
		"kernel/fs/post1.ko":      synthModule("post1", nil, nil),
		"modules.builtin":         []byte("kernel/fs/bi.ko\n"),
		"modules.order":           []byte("kernel/fs/base.ko\nkernel/fs/mid.ko\nkernel/fs/top.ko\nkernel/fs/pre1.ko\nkernel/fs/post1.ko\n"),
		"modules.builtin.modinfo": []byte("bi.alias=bi-alias\x00bi.license=GPL\x00"),
	}
	for _, f := range []string{"usb-storage.ko", "ums-realtek.ko"} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "amd64", f))
		if err != nil {
			t.Fatal(err)
		}
		files["kernel/drivers/usb/"+f] = data
	}
	return files
}

func lines(r *Resolver, t *testing.T, arg string, resolveOnly bool) []string {
	t.Helper()
	l, err := r.Lookup(arg)
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, m := range l {
		if resolveOnly {
			out = append(out, m.Name)
			continue
		}
		for _, a := range r.ShowDepends(m, nil) {
			out = append(out, a.String())
		}
	}
	return out
}

func TestShowDepends(t *testing.T) {
	root, rel, dir := synthTree(t, unitFiles(t))
	cfg := LoadConfig(dir, []string{"testdata/modprobe.conf"}, []byte("top.c=3 modprobe.blacklist=post1 quiet\n"))
	r, err := Open(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	k := dir + "/kernel/"
	cases := []struct {
		arg     string
		resolve bool
		want    []string
	}{
		// Dependencies come in reverse modules.dep order (base, mid);
		// mid's softdep (config) puts pre1 before mid; top's own softdep
		// (modules.softdep) adds post1 after it, through its install
		// command; pre1 of top's softdep was already visited.
		{"top", false, []string{
			"insmod " + k + "fs/base.ko ", "insmod " + k + "fs/pre1.ko ", "insmod " + k + "fs/mid.ko tab=1 ",
			"insmod " + k + "fs/top.ko a=1 b=\"x y\" c=3 ", "install /bin/echo installing post1 $CMDLINE_OPTS ",
		}},
		// The module object's alias is the pattern "my_alias_*", so
		// "options my_alias_q" does not apply (as in kmod).
		{"my-alias-q", false, []string{
			"insmod " + k + "fs/base.ko ", "insmod " + k + "fs/pre1.ko ", "insmod " + k + "fs/mid.ko tab=1 ",
			"insmod " + k + "fs/top.ko a=1 b=\"x y\" c=3 ", "install /bin/echo installing post1 $CMDLINE_OPTS ",
		}},
		{"my-alias-q", true, []string{"top"}},
		{"pci:v1234d0001", true, []string{"top", "pre1"}},
		{"bl-alias", false, nil}, // blacklisted, found through an alias
		{"bl-alias", true, []string{"base"}},
		{"base", false, []string{"insmod " + k + "fs/base.ko "}},
		{"bi", false, []string{"builtin bi"}},
		{"bi-alias", true, []string{"bi"}},
		{"ums-realtek", false, []string{"insmod " + k + "drivers/usb/usb-storage.ko ", "insmod " + k + "drivers/usb/ums-realtek.ko "}},
		{"ums_realtek", true, []string{"ums_realtek"}},
		{"symbol:base_fn", true, []string{"base"}},
		{"nosuch", true, nil},
		{"bad]", true, []string{"error: invalid alias"}},
	}
	for _, c := range cases {
		if got := lines(r, t, c.arg, c.resolve); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s (-R %v):\n got %q\nwant %q", c.arg, c.resolve, got, c.want)
		}
	}
	wantErrs := []string{
		"testdata/modprobe.conf: command include is deprecated and not parsed anymore\n",
		"testdata/modprobe.conf line 14: ignoring bad line starting with 'bogus'\n",
		"testdata/modprobe.conf line 15: ignoring bad line starting with 'alias'\n",
		"testdata/modprobe.conf line 16: ignoring bad line starting with 'options'\n",
	}
	if !reflect.DeepEqual(cfg.Errors, wantErrs) {
		t.Errorf("config errors %q, want %q", cfg.Errors, wantErrs)
	}
	if !reflect.DeepEqual(cfg.Blacklist, []string{"base", "post1"}) {
		t.Errorf("blacklist %q", cfg.Blacklist)
	}
	// The real modprobe, when installed, must agree (the kernel command
	// line cannot be given to it, so compare without one).
	if mp, err := exec.LookPath("modprobe"); err == nil {
		r2, _ := Open(dir, LoadConfig(dir, []string{"testdata/modprobe.conf"}, nil))
		for _, c := range cases {
			mode := "--show-depends"
			if c.resolve {
				mode = "-R"
			}
			cmd := exec.Command(mp, "-d", root, "-S", rel, "-C", "testdata/modprobe.conf", mode, "--", c.arg)
			cmd.Env = append(os.Environ(), "MODPROBE_OPTIONS=")
			out, _ := cmd.Output()
			got := strings.Join(lines(r2, t, c.arg, c.resolve), "\n")
			if strings.HasPrefix(got, "error: ") {
				got = ""
			}
			if got != "" {
				got += "\n"
			}
			if string(out) != got {
				t.Errorf("modprobe %s %s:\n%s\nresolve:\n%s", mode, c.arg, out, got)
			}
		}
	}
}

func TestWhyGraphReport(t *testing.T) {
	files := unitFiles(t)
	files["kernel/cyc/cyc-a.ko"] = synthModule("cyc_a", []string{"a_fn"}, []string{"b_fn"})
	files["kernel/cyc/cyc-b.ko"] = synthModule("cyc_b", []string{"b_fn", "b2_fn"}, []string{"a_fn"})
	files["kernel/cyc/user.ko"] = synthModule("user", nil, []string{"b2_fn", "b_fn"})
	root, rel, dir := synthTree(t, files)
	// The cycle stops depmod: analyse, then index the tree without it.
	a, err := Analyze(AnalyzeOptions{BaseDir: root, Release: rel, ConfigPaths: []string{t.TempDir()}, ErrSyms: true, SystemMap: "/dev/null"})
	if err != nil {
		t.Fatal(err)
	}
	rep := a.Report()
	if len(rep.Cycles) != 1 || (strings.Join(rep.Cycles[0].Modules, " -> ") != "cyc_a -> cyc_b -> cyc_a" && strings.Join(rep.Cycles[0].Modules, " -> ") != "cyc_b -> cyc_a -> cyc_b") {
		t.Fatalf("cycles %+v", rep.Cycles)
	}
	if err := a.Complete([]string{"cyc_a", "cyc_b", "user"}, nil, 0, 2); err != nil {
		t.Fatal(err)
	}
	if e := a.Edge("user", "cyc_b"); e == nil || !reflect.DeepEqual(e.Symbols, []string{"b2_fn", "b_fn"}) {
		t.Errorf("user -> cyc_b: %+v", e)
	}
	for _, c := range rep.Cycles[0].Edges {
		if len(c.Symbols) != 1 {
			t.Errorf("cycle edge %+v", c)
		}
	}
	if len(rep.Unknown) == 0 || rep.Clean() {
		t.Errorf("an empty System.map leaves no unknown symbols: %+v", rep)
	}
	os.RemoveAll(filepath.Join(dir, "kernel", "cyc"))
	var errb bytes.Buffer
	if _, err := depmod.Run(&depmod.Options{BaseDir: root, Release: rel, ConfigPaths: []string{t.TempDir()}, Stderr: &errb}); err != nil {
		t.Fatalf("%v %s", err, errb.String())
	}
	r, err := Open(dir, LoadConfig(dir, nil, nil))
	if err != nil {
		t.Fatal(err)
	}
	a, _ = Analyze(AnalyzeOptions{BaseDir: root, Release: rel, ConfigPaths: []string{t.TempDir()}})
	if err := a.Complete([]string{"top", "mid"}, r.SymbolOwner, 0, 0); err != nil {
		t.Fatal(err)
	}
	chain := a.Why("top", "base")
	if len(chain) != 1 || chain[0].To != "base" || !reflect.DeepEqual(chain[0].Symbols, []string{"base_fn"}) {
		t.Errorf("why top base: %+v", chain)
	}
	if e := a.Edge("mid", "base"); e == nil || !reflect.DeepEqual(e.Symbols, []string{"base_fn", "shared_fn"}) {
		t.Errorf("mid -> base: %+v", e)
	}
	if a.Why("base", "top") != nil {
		t.Errorf("base does not depend on top")
	}
	roots, _ := r.Lookup("top")
	for _, reduce := range []bool{false, true} {
		g := BuildGraph(r, a, roots, false, reduce)
		var got []string
		for _, e := range g.Edges {
			got = append(got, e.From+">"+e.To+":"+e.Kind)
		}
		want := []string{"mid>base:hard", "top>base:hard", "top>mid:hard", "top>post1:softdep-post", "top>pre1:softdep-pre"}
		if reduce {
			want = []string{"mid>base:hard", "top>mid:hard", "top>post1:softdep-post", "top>pre1:softdep-pre"}
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("reduce=%v: edges %q, want %q", reduce, got, want)
		}
		var dot bytes.Buffer
		g.WriteDot(&dot)
		if !strings.Contains(dot.String(), `"top" -> "pre1" [style=dashed`) || !strings.Contains(dot.String(), `"mid" -> "base" [label="2"]`) {
			t.Errorf("dot:\n%s", dot.String())
		}
		if p, err := exec.LookPath("dot"); err == nil {
			cmd := exec.Command(p, "-Tsvg")
			cmd.Stdin = &dot
			if out, err := cmd.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("<svg")) {
				t.Errorf("dot -Tsvg: %v %s", err, out)
			}
		}
	}
	bi, _ := r.Lookup("bi")
	g := BuildGraph(r, a, bi, false, false)
	if len(g.Nodes) != 1 || !g.Nodes[0].Builtin {
		t.Errorf("builtin node: %+v", g.Nodes)
	}
	var dot bytes.Buffer
	g.WriteDot(&dot)
	if !strings.Contains(dot.String(), "fillcolor") {
		t.Errorf("builtin not greyed:\n%s", dot.String())
	}
}

func TestConfigParsing(t *testing.T) {
	c := &Config{}
	c.Parse([]byte("softdep a-b junk pre: x  y\tpost: z pre: w\noptions m\tp=1\tq=2\nalias x[-]-y m-n\nline\\\ncontinued\nalias a\\b c\n"), "f")
	want := []Softdep{{Modname: "a_b", Pre: []string{"x", "y", "w"}, Post: []string{"z"}}}
	if !reflect.DeepEqual(c.Softdeps, want) {
		t.Errorf("softdeps %+v", c.Softdeps)
	}
	if !reflect.DeepEqual(c.Options, []Option{{"m", "p=1 q=2"}}) {
		t.Errorf("options %+v", c.Options)
	}
	if !reflect.DeepEqual(c.Aliases, []Alias{{"x[-]_y", "m_n"}, {"ab", "c"}}) {
		t.Errorf("aliases %+v", c.Aliases)
	}
	if len(c.Errors) != 1 || c.Errors[0] != "f line 5: ignoring bad line starting with 'linecontinued'\n" {
		t.Errorf("errors %q", c.Errors)
	}
	k := &Config{}
	k.ParseKcmdline([]byte(`quiet a.b=1 "c.d=x y" e.f="g h" modprobe.blacklist=u,v x-y.z w.v.u=2 .p=1 n=2 bad"q.r=1 s.t=1` + "\n"))
	if !reflect.DeepEqual(k.Options, []Option{{"a", "b=1"}, {"c", `d="x y"`}, {"e", `f="g h"`}, {"x_y", "z"}, {"", "p=1"}}) {
		t.Errorf("kcmdline options %q", k.Options)
	}
	if !reflect.DeepEqual(k.Blacklist, []string{"u", "v"}) {
		t.Errorf("kcmdline blacklist %q", k.Blacklist)
	}
}
