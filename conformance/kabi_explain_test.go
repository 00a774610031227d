package conformance_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/cli"
	"github.com/kmodscope/kmodscope/kabi/btfexplain"
)

// abiTree is one Debian 6.1 amd64 kernel unpacked by
// scripts/fetch-debian-kernel.sh: image, headers and modules.
type abiTree struct {
	dir, release string
	image        string
	symvers      string // the headers' Module.symvers
	changelog    string // the headers' changelog.Debian.gz
	modules      string // lib/modules/RELEASE
	systemMap    string
}

// abiTrees finds the 6.1 amd64 trees (abi-6.1.0-N-amd64 and deb-6.1-amd64
// under /var/cache/kmodscope, or the directories of KMODSCOPE_ABI_TREES),
// ordered by ABI number.
func abiTrees(t *testing.T) []abiTree {
	var dirs []string
	if env := os.Getenv("KMODSCOPE_ABI_TREES"); env != "" {
		dirs = strings.Split(env, ":")
	} else {
		dirs, _ = filepath.Glob("/var/cache/kmodscope/abi-6.1.0-*-amd64")
		if d := "/var/cache/kmodscope/deb-6.1-amd64"; isDirT(d) {
			dirs = append(dirs, d)
		}
	}
	var out []abiTree
	for _, d := range dirs {
		imgs, _ := filepath.Glob(filepath.Join(d, "boot", "vmlinuz-6.1.0-*-amd64"))
		if len(imgs) != 1 {
			continue
		}
		rel := strings.TrimPrefix(filepath.Base(imgs[0]), "vmlinuz-")
		tr := abiTree{dir: d, release: rel, image: imgs[0],
			symvers:   filepath.Join(d, "usr/src/linux-headers-"+rel, "Module.symvers"),
			changelog: filepath.Join(d, "usr/share/doc/linux-headers-"+rel, "changelog.Debian.gz"),
			modules:   filepath.Join(d, "lib/modules", rel),
			systemMap: filepath.Join(d, "boot", "System.map-"+rel)}
		if _, err := os.Stat(tr.symvers); err != nil {
			continue
		}
		out = append(out, tr)
	}
	sort.Slice(out, func(i, j int) bool { return abiNumber(out[i].release) < abiNumber(out[j].release) })
	if len(out) < 2 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("need two 6.1 amd64 ABI trees (scripts/fetch-debian-kernel.sh 6.1.0-55 amd64 amd64 DEST), found %d", len(out))
		}
		t.Skipf("need two 6.1 amd64 ABI trees, found %d", len(out))
	}
	return out
}

func isDirT(p string) bool { st, err := os.Stat(p); return err == nil && st.IsDir() }

func abiNumber(rel string) int {
	f := strings.Split(rel, "-") // 6.1.0-55-amd64
	if len(f) < 2 {
		return 0
	}
	n, _ := strconv.Atoi(f[1])
	return n
}

type symversLine struct{ crc, module string }

// readSymvers parses Module.symvers on its own (tab-separated: CRC, symbol,
// module, export type, namespace).
func readSymvers(t *testing.T, p string) map[string]symversLine {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]symversLine{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		x := strings.Split(sc.Text(), "\t")
		if len(x) >= 3 {
			m[x[1]] = symversLine{x[0], x[2]}
		}
	}
	return m
}

// systemMapTypes returns each symbol's nm type letter from System.map.
func systemMapTypes(p string) map[string]byte {
	data, err := os.ReadFile(p)
	out := map[string]byte{}
	if err != nil {
		return out
	}
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 && len(f[1]) == 1 {
			out[f[2]] = f[1][0]
		}
	}
	return out
}

// changelogBetween returns the Debian changelog entries of NEW that are not
// in OLD's (the text added between the two versions).
func changelogBetween(t *testing.T, old, new string) string {
	read := func(p string) string {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		z, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(z)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	o, n := read(old), read(new)
	first := o[:strings.IndexByte(o, '\n')] // "linux (6.1.190-1) ..."
	i := strings.Index(n, first)
	if i < 0 {
		t.Fatalf("%s does not contain %s's entry %q", new, old, first)
	}
	return n[:i]
}

// TestKabiExplainRealABIs: on consecutive Debian 6.1 ABIs, every vmlinux
// symbol whose CRC changed (by the headers' Module.symvers) and that has a
// BTF function gets a cause or an explicit "no BTF-visible cause"; data
// exports (System.map type D/B/R) are "not in BTF"; and changes listed in
// Debian's changelog between the two versions are found with the expected
// member changes.
func TestKabiExplainRealABIs(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: kernel images skipped")
	}
	trees := abiTrees(t)
	specs := map[string]*btfexplain.Spec{}
	load := func(tr abiTree) *btfexplain.Spec {
		if s := specs[tr.release]; s != nil {
			return s
		}
		s, err := btfexplain.LoadImageBTF(tr.image)
		if err != nil {
			t.Fatal(err)
		}
		specs[tr.release] = s
		return s
	}
	checkedAny := false
	for i := 0; i+1 < len(trees); i++ {
		a, b := trees[i], trees[i+1]
		sa, sb := readSymvers(t, a.symvers), readSymvers(t, b.symvers)
		var changed []string
		for name, l := range sa {
			if l2, ok := sb[name]; ok && l2.crc != l.crc && l.module == "vmlinux" {
				changed = append(changed, name)
			}
		}
		sort.Strings(changed)
		t.Logf("%s -> %s: %d vmlinux CRCs changed", a.release, b.release, len(changed))
		if len(changed) == 0 {
			continue
		}
		checkedAny = true
		old, new := load(a), load(b)
		res := btfexplain.Explain(old, new, changed)
		types := systemMapTypes(b.systemMap)
		counts := map[string]int{}
		withFunc := 0
		for _, name := range changed {
			ex, ok := res.Symbols[name]
			if !ok {
				t.Fatalf("%s: no explanation", name)
			}
			counts[ex.Certainty+" "+ex.Note]++
			hasFunc := old.HasFunc(name) && new.HasFunc(name)
			if hasFunc {
				withFunc++
			}
			switch {
			case ex.Note == btfexplain.NoteNotInBTF:
				if old.HasFunc(name) || new.HasFunc(name) {
					t.Errorf("%s: not in BTF, but has a BTF function", name)
				}
			case hasFunc && len(ex.Causes) == 0 && ex.Note != btfexplain.NoteNoCause:
				t.Errorf("%s: has a BTF function but neither a cause nor %q: %+v", name, btfexplain.NoteNoCause, ex)
			case len(ex.Causes) > 0 && ex.Certainty == btfexplain.None:
				t.Errorf("%s: causes with certainty none", name)
			}
			switch types[name] {
			case 'D', 'd', 'B', 'b', 'R', 'r':
				if ex.Note != btfexplain.NoteNotInBTF {
					t.Errorf("%s is data (System.map %c) but got %+v", name, types[name], ex)
				}
			}
		}
		t.Logf("%d with a BTF function in both kernels; verdicts %v; shared core %d types, %d changed", withFunc, counts, res.SharedTypes, len(res.Shared))

		log := changelogBetween(t, a.changelog, b.changelog)
		// Changes from Debian's changelog, with what BTF must show.
		for _, c := range []struct {
			entry, typ, member, change string
			symbol                     string // "" = anywhere (symbols or shared core)
			layoutOnly                 bool
		}{
			{"tracing: Move readpos from seq_buf to trace_seq", "struct seq_buf", "readpos", "removed", "seq_buf_printf", false},
			{"tracing: Move readpos from seq_buf to trace_seq", "struct trace_seq", "readpos", "added", "trace_seq_printf", false},
			{"net: Introduce sk_use_task_frag in struct sock.", "struct sock", "sk_use_task_frag", "added", "", false},
			{"mpls: add seqcount to protect the platform_label{,s} pair", "struct netns_mpls", "platform_label_seq", "added", "", false},
			{"mpls: add seqcount to protect the platform_label{,s} pair", "struct net", "mpls", "resized", "", true},
			{"wifi: cfg80211: convert pmsr_free_wk to wiphy_work", "struct wireless_dev", "pmsr_free_wk", "retyped", "", false},
			{"keys: make keyring indexes independent of kernel addresses", "struct keyring_index_key", "type_id", "added", "", false},
		} {
			if !strings.Contains(log, c.entry) {
				t.Errorf("changelog %s -> %s lacks %q", a.release, b.release, c.entry)
				continue
			}
			var pool []btfexplain.Cause
			if c.symbol != "" {
				pool = res.Symbols[c.symbol].Causes
			} else {
				pool = append(pool, res.Shared...)
				for _, ex := range res.Symbols {
					pool = append(pool, ex.Causes...)
				}
			}
			found := false
			for _, cause := range pool {
				if cause.Type != c.typ || cause.LayoutOnly != c.layoutOnly {
					continue
				}
				for _, ch := range cause.Changes {
					if ch.Member == c.member && ch.Change == c.change {
						found = true
					}
				}
			}
			if !found {
				t.Errorf("%q: no cause %s %s %s (layout only %v) for %q", c.entry, c.typ, c.member, c.change, c.layoutOnly, c.symbol)
			}
		}
	}
	if !checkedAny {
		t.Errorf("no pair of trees with changed CRCs")
	}
}

// TestKabiExplainCLIModules: the CLI on the first pair with changed module
// CRCs, restricted to the exports of a sample of modules, loads those
// modules' split BTF from both trees; every symbol gets an answer, and
// every one "not in BTF" is data by binutils nm on NEW's module.
func TestKabiExplainCLIModules(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: kernel images skipped")
	}
	trees := abiTrees(t)
	for i := 0; i+1 < len(trees); i++ {
		a, b := trees[i], trees[i+1]
		sa, sb := readSymvers(t, a.symvers), readSymvers(t, b.symvers)
		byMod := map[string][]string{}
		for name, l := range sa {
			if l2, ok := sb[name]; ok && l2.crc != l.crc && l.module != "vmlinux" && l2.module == l.module {
				byMod[l.module] = append(byMod[l.module], name)
			}
		}
		if len(byMod) == 0 {
			continue
		}
		var mods []string
		for m := range byMod {
			mods = append(mods, m)
		}
		sort.Strings(mods)
		// Every 50th module: a spread over the tree, ~30 modules.
		var syms []string
		for j := 0; j < len(mods); j += 50 {
			syms = append(syms, byMod[mods[j]]...)
		}
		sort.Strings(syms)
		args := append([]string{"kabi", "explain", "--json", "-E", a.symvers, "-E", b.symvers,
			"--old-modules", a.modules, "--new-modules", b.modules, a.image, b.image}, syms...)
		var out, errb bytes.Buffer
		code := cli.Main(args, nil, &out, &errb)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, errb.String())
		}
		var doc struct {
			Schema  string
			Symbols []struct {
				Symbol, Module, Certainty, Note string
				Causes                          []json.RawMessage
			}
			Errors []string
		}
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatal(err)
		}
		if doc.Schema != "kmodscope.kabi-explain/v1" || len(doc.Symbols) != len(syms) || len(doc.Errors) != 0 {
			t.Fatalf("schema %q, %d symbols for %d, errors %v", doc.Schema, len(doc.Symbols), len(syms), doc.Errors)
		}
		counts := map[string]int{}
		nmTypes := map[string]map[string]byte{} // module -> symbol -> nm type, from binutils nm
		nm := need(t, "nm")
		for _, s := range doc.Symbols {
			counts[s.Certainty+" "+s.Note]++
			if s.Note == btfexplain.NoteNotInBTF {
				// Not in BTF must mean data: nm (binutils) on NEW's module says so.
				if nmTypes[s.Module] == nil {
					nmTypes[s.Module] = map[string]byte{}
					out, err := exec.Command(nm, filepath.Join(b.modules, "kernel", s.Module+".ko")).Output()
					if err != nil {
						t.Fatalf("nm %s: %v", s.Module, err)
					}
					for _, l := range strings.Split(string(out), "\n") {
						if f := strings.Fields(l); len(f) >= 2 && len(f[len(f)-2]) == 1 {
							nmTypes[s.Module][f[len(f)-1]] = f[len(f)-2][0]
						}
					}
				}
				switch c := nmTypes[s.Module][s.Symbol]; c {
				case 'D', 'd', 'B', 'b', 'R', 'r':
				default:
					t.Errorf("%s [%s]: not in BTF, but nm says %q", s.Symbol, s.Module, c)
				}
			}
			if s.Module != sa[s.Symbol].module {
				t.Errorf("%s: module %q, want %q", s.Symbol, s.Module, sa[s.Symbol].module)
			}
			ok := (len(s.Causes) > 0 && s.Certainty != "none") || (len(s.Causes) == 0 && s.Certainty == "none" &&
				(s.Note == btfexplain.NoteNoCause || s.Note == btfexplain.NoteNotInBTF))
			if !ok {
				t.Errorf("%s: %+v", s.Symbol, s)
			}
		}
		if counts["candidate "]+counts["certain "] < len(syms)/2 {
			t.Errorf("module symbols mostly unexplained: %v", counts)
		}
		t.Logf("%s -> %s: %d module symbols of %d modules: %v", a.release, b.release, len(syms), (len(mods)+49)/50, counts)
		return
	}
	t.Errorf("no pair of trees with changed module CRCs")
}
