package conformance_test

// Conformance of `kmodscope strip` (package kostrip) with GNU strip from
// binutils (binutils-multiarch for foreign architectures), run at test time
// on the same modules, and with the kernel's loader under qemu.

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/kostrip"
	"github.com/kmodscope/kmodscope/modsig"
)

// builtModules are the committed self-built test modules (with debug info).
func builtModules(t *testing.T) []string {
	files, _ := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "modules", "amd64", "built", "*.ko"))
	if len(files) < 3 {
		t.Fatalf("want the 3 modules of testdata/modules/amd64/built (scripts/build-testdata-modules.sh), have %d", len(files))
	}
	return files
}

func requireOrSkip(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

func needBinutils(t *testing.T) {
	for _, tool := range []string{"strip", "nm", "readelf"} {
		if _, err := exec.LookPath(tool); err != nil {
			requireOrSkip(t, "%s not installed (apt-get install binutils binutils-multiarch)", tool)
		}
	}
}

func tool(t *testing.T, name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return out.String(), fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// sectionTable is every section but the null one as "name type flags size
// entsize link info align", the fields GNU strip and kostrip must agree on
// (offsets differ: the layouts are not the same).
func sectionTable(t *testing.T, data []byte) []string {
	f, err := elfx.New(data)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range f.Sections[1:] {
		out = append(out, fmt.Sprintf("%s %s %s size=%#x es=%d lk=%d inf=%d al=%d", s.Name, s.Type, s.Flags, s.Size, s.Entsize, s.Link, s.Info, s.Addralign))
	}
	return out
}

var relocHeader = regexp.MustCompile(`(?m)^(Relocation section '[^']*') at offset 0x[0-9a-f]+`)

func readelfRelocs(t *testing.T, path string) (string, error) {
	out, err := tool(t, "readelf", "-rW", path)
	return relocHeader.ReplaceAllString(out, "$1"), err
}

var relocInfo = regexp.MustCompile(`(?m)^([0-9a-f]+) +[0-9a-f]+ +`)

// relocBlocks splits `readelf -rW` output by relocation section, without
// the r_info column (symbol indexes change when symbols are removed).
func relocBlocks(s string) map[string]string {
	s = relocInfo.ReplaceAllString(s, "$1 ")
	m := map[string]string{}
	for _, b := range strings.Split(s, "\nRelocation section '")[1:] {
		name, _, _ := strings.Cut(b, "'")
		m[name] = b
	}
	return m
}

// keepers are the names of the symbols kostrip's --strip-unneeded keeps
// beyond GNU strip: __crc_*, __ksymtab_*, __kstrtab_*, __kstrtabns_*
// (section symbols of the same names excluded).
func keepers(f *elfx.File) map[string]bool {
	syms, _ := f.Symbols()
	m := map[string]bool{}
	for _, s := range syms {
		if s.Type() == elf.STT_SECTION || s.Type() == elf.STT_FILE {
			continue
		}
		for _, p := range []string{"__crc_", "__ksymtab_", "__kstrtab_", "__kstrtabns_"} {
			if strings.HasPrefix(s.Name, p) {
				m[s.Name] = true
			}
		}
	}
	return m
}

func nmName(l string) string {
	f := strings.Fields(l)
	return f[len(f)-1]
}

func lines(s string) []string {
	return strings.Split(strings.TrimRight(s, "\n"), "\n")
}

// subMultiset reports the first line of sub that is not (or not often
// enough) in set.
func notIn(sub, set []string) string {
	have := map[string]int{}
	for _, l := range set {
		have[l]++
	}
	for _, l := range sub {
		if have[l] == 0 {
			return l
		}
		have[l]--
	}
	return ""
}

type stripStats struct {
	mu                         sync.Mutex
	compared, skipped          map[string]int // per machine
	skipReasons                map[string]string
	sections, symbols, relocs  int
	removedSecs, removedSyms   int
	unneededExtra, infoChecked int
}

func newStats() *stripStats {
	return &stripStats{compared: map[string]int{}, skipped: map[string]int{}, skipReasons: map[string]string{}}
}

// compareWithBinutils strips one module with kostrip and with GNU strip in
// both modes and compares the results; it returns an error describing the
// first difference.
func compareWithBinutils(t *testing.T, path, dir string, st *stripStats) error {
	raw, format, err := compression.ReadFile(path, compression.DefaultLimit)
	if err != nil {
		return err
	}
	_ = format
	content, err := modsig.Strip(raw)
	if err != nil {
		return err
	}
	f, err := elfx.New(content)
	if err != nil {
		return err
	}
	machine := f.Machine.String()
	base := strings.NewReplacer("/", "_", ".", "_").Replace(strings.TrimPrefix(path, repoRoot(t)))
	in := filepath.Join(dir, base+".ko")
	if err := os.WriteFile(in, raw, 0o644); err != nil {
		return err
	}
	origNM, err := tool(t, "nm", "-a", in)
	if err != nil {
		st.mu.Lock()
		st.skipped[machine]++
		st.skipReasons[machine] = err.Error()
		st.mu.Unlock()
		return nil
	}
	origRel, err := readelfRelocs(t, in)
	if err != nil {
		return err
	}
	for _, mode := range []kostrip.Mode{kostrip.StripDebug, kostrip.StripUnneeded} {
		flag := "--" + mode.String()
		gnu := filepath.Join(dir, base+"-gnu"+mode.String()+".ko")
		res, err := kostrip.Strip(content, kostrip.Options{Mode: mode})
		if err != nil {
			return fmt.Errorf("%s: kostrip: %w", flag, err)
		}
		// Idempotent: stripping the result again changes nothing.
		again, err := kostrip.Strip(res.Image, kostrip.Options{Mode: mode})
		if err != nil {
			return fmt.Errorf("%s: kostrip on its own output: %w", flag, err)
		}
		if !bytes.Equal(again.Image, res.Image) {
			return fmt.Errorf("%s: stripping the stripped module again changes it", flag)
		}
		if _, err := tool(t, "strip", flag, in, "-o", gnu); err != nil {
			if err := selfCheck(t, in, res.Image, dir, base+mode.String()); err != nil {
				return fmt.Errorf("%s (GNU strip cannot read it; readelf self-check): %w", flag, err)
			}
			st.mu.Lock()
			st.skipped[machine]++
			st.skipReasons[machine] = err.Error()
			st.mu.Unlock()
			return nil
		}
		gnuData, err := os.ReadFile(gnu)
		if err != nil {
			return err
		}
		ours := filepath.Join(dir, base+"-ours"+mode.String()+".ko")
		if err := os.WriteFile(ours, res.Image, 0o644); err != nil {
			return err
		}
		gs, os_ := sectionTable(t, gnuData), sectionTable(t, res.Image)
		if mode == kostrip.StripUnneeded {
			// Only .symtab and .strtab may be larger: the symbols kmod reads.
			for i := range gs {
				if strings.HasPrefix(gs[i], ".symtab ") || strings.HasPrefix(gs[i], ".strtab ") {
					gs[i] = regexp.MustCompile(` size=\S+| inf=\S+`).ReplaceAllString(gs[i], "")
				}
			}
			for i := range os_ {
				if strings.HasPrefix(os_[i], ".symtab ") || strings.HasPrefix(os_[i], ".strtab ") {
					os_[i] = regexp.MustCompile(` size=\S+| inf=\S+`).ReplaceAllString(os_[i], "")
				}
			}
		}
		if strings.Join(gs, "\n") != strings.Join(os_, "\n") {
			return fmt.Errorf("%s: section tables differ:\nGNU strip:\n  %s\nkmodscope:\n  %s", flag, strings.Join(gs, "\n  "), strings.Join(os_, "\n  "))
		}
		gnuNM, err := tool(t, "nm", "-a", gnu)
		if err != nil {
			return err
		}
		ourNM, err := tool(t, "nm", "-a", ours)
		if err != nil {
			return err
		}
		if mode == kostrip.StripDebug {
			if gnuNM != ourNM {
				return fmt.Errorf("%s: nm -a differs:\n%s", flag, firstDiff([]byte(gnuNM), []byte(ourNM)))
			}
			gnuSym, err1 := tool(t, "readelf", "-sW", gnu)
			ourSym, err2 := tool(t, "readelf", "-sW", ours)
			if err1 != nil || err2 != nil {
				return fmt.Errorf("readelf -sW: %v %v", err1, err2)
			}
			if gnuSym != ourSym {
				return fmt.Errorf("%s: readelf -sW differs:\n%s", flag, firstDiff([]byte(gnuSym), []byte(ourSym)))
			}
		} else {
			// Ours = GNU's plus the kmod symbols of the original.
			var extra []string
			keep := keepers(f)
			for _, l := range lines(origNM) {
				if keep[nmName(l)] {
					extra = append(extra, l)
				}
			}
			want := append(lines(gnuNM), extra...)
			got := lines(ourNM)
			sort.Strings(want)
			want = dedupKeepers(want, keep)
			sort.Strings(got)
			if strings.Join(want, "\n") != strings.Join(got, "\n") {
				return fmt.Errorf("%s: nm -a is not GNU's plus __crc_/__ksymtab_/__kstrtab*:\n%s", flag, firstDiff([]byte(strings.Join(want, "\n")), []byte(strings.Join(got, "\n"))))
			}
			st.mu.Lock()
			st.unneededExtra += len(got) - len(lines(gnuNM))
			st.mu.Unlock()
		}
		// Every kept symbol is one of the original's.
		if l := notIn(lines(ourNM), lines(origNM)); l != "" {
			return fmt.Errorf("%s: symbol %q is not in the original", flag, l)
		}
		gnuRel, err1 := readelfRelocs(t, gnu)
		ourRel, err2 := readelfRelocs(t, ours)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("readelf -rW: %v %v", err1, err2)
		}
		if mode == kostrip.StripUnneeded {
			// Symbol indexes differ by the extra symbols kept.
			gnuRel, ourRel = relocInfo.ReplaceAllString(gnuRel, "$1 "), relocInfo.ReplaceAllString(ourRel, "$1 ")
		}
		if gnuRel != ourRel {
			return fmt.Errorf("%s: readelf -rW differs:\n%s", flag, firstDiff([]byte(gnuRel), []byte(ourRel)))
		}
		// Relocations of kept sections are the original's, entry by entry
		// (readelf names the symbols, so renumbering does not show).
		ob, nb := relocBlocks(origRel), relocBlocks(ourRel)
		for name, b := range nb {
			if ob[name] != b {
				return fmt.Errorf("%s: relocations of %s differ from the original:\n%s", flag, name, firstDiff([]byte(ob[name]), []byte(b)))
			}
		}
		st.mu.Lock()
		st.sections += len(os_)
		st.symbols += res.Symbols
		st.relocs += strings.Count(ourRel, "\n")
		st.removedSecs += len(res.RemovedSections)
		st.removedSyms += res.RemovedSymbols
		st.mu.Unlock()
	}
	st.mu.Lock()
	st.compared[machine]++
	st.mu.Unlock()
	return nil
}

// selfCheck is the check for architectures GNU strip does not know
// (LoongArch in binutils 2.40): readelf, which reads any ELF, must show the
// original's relocations for every kept section and every kept symbol must
// be one of the original's.
func selfCheck(t *testing.T, in string, image []byte, dir, base string) error {
	ours := filepath.Join(dir, base+"-self.ko")
	if err := os.WriteFile(ours, image, 0o644); err != nil {
		return err
	}
	origRel, err1 := readelfRelocs(t, in)
	ourRel, err2 := readelfRelocs(t, ours)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("readelf -rW: %v %v", err1, err2)
	}
	ob, nb := relocBlocks(origRel), relocBlocks(ourRel)
	for name, b := range nb {
		if ob[name] != b {
			return fmt.Errorf("relocations of %s differ from the original:\n%s", name, firstDiff([]byte(ob[name]), []byte(b)))
		}
	}
	symLines := func(s string) []string {
		var out []string
		for _, l := range lines(s) {
			// "  12: 0000000000000000     0 NOTYPE  GLOBAL DEFAULT  UND name": drop Num and Ndx.
			f := strings.Fields(l)
			if len(f) == 8 && strings.HasSuffix(f[0], ":") {
				out = append(out, strings.Join(append(f[1:6], f[7]), " "))
			}
		}
		return out
	}
	origSym, err1 := tool(t, "readelf", "-sW", in)
	ourSym, err2 := tool(t, "readelf", "-sW", ours)
	if err1 != nil || err2 != nil {
		return fmt.Errorf("readelf -sW: %v %v", err1, err2)
	}
	if l := notIn(symLines(ourSym), symLines(origSym)); l != "" {
		return fmt.Errorf("symbol %q is not in the original", l)
	}
	if len(nb) == 0 {
		return fmt.Errorf("no relocations")
	}
	return nil
}

// dedupKeepers removes a keeper line that GNU strip kept too (it was
// counted twice: once from GNU's output, once from the original).
func dedupKeepers(sorted []string, keep map[string]bool) []string {
	var out []string
	for i, l := range sorted {
		if i > 0 && l == sorted[i-1] && keep[nmName(l)] {
			continue
		}
		out = append(out, l)
	}
	return out
}

func stripModuleFiles(t *testing.T) []string {
	var files []string
	for _, set := range moduleSets(t) {
		switch {
		case set.name == "testdata" || set.name == "corpus" && !testing.Short():
			files = append(files, set.files...)
		case set.name == "corpus":
			// -short: every 8th corpus module.
			for i := 0; i < len(set.files); i += 8 {
				files = append(files, set.files[i])
			}
		case !testing.Short():
			// Complete trees: every 100th module (the corpus covers all
			// architectures in full).
			for i := 0; i < len(set.files); i += 100 {
				files = append(files, set.files[i])
			}
		}
	}
	return files
}

// TestStripMatchesBinutils strips every committed module (all
// architectures, the self-built ones with debug info included), every
// module of the shared corpus and a sample of the complete trees with
// kostrip and with GNU strip, in both modes, and requires the same section
// table (names, types, flags, sizes, entsize, link, info, alignment), the
// same `nm -a`, `readelf -sW` and `readelf -rW` (--strip-unneeded: GNU's
// symbols plus the __crc_/__ksymtab_/__kstrtab* ones kostrip keeps), and
// relocations identical to the original's for every kept section.
func TestStripMatchesBinutils(t *testing.T) {
	needBinutils(t)
	builtModules(t) // testdata includes them
	files := stripModuleFiles(t)
	dir := t.TempDir()
	st := newStats()
	jobs := make(chan string)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range jobs {
				if err := compareWithBinutils(t, p, dir, st); err != nil {
					mu.Lock()
					failures = append(failures, fmt.Sprintf("%s: %v", p, err))
					mu.Unlock()
				}
			}
		}()
	}
	for _, p := range files {
		jobs <- p
	}
	close(jobs)
	wg.Wait()
	sort.Strings(failures)
	for i, f := range failures {
		if i == 10 {
			t.Errorf("... and %d more", len(failures)-10)
			break
		}
		t.Error(f)
	}
	total := 0
	var per []string
	for m, n := range st.compared {
		total += n
		per = append(per, fmt.Sprintf("%s=%d", m, n))
	}
	sort.Strings(per)
	t.Logf("strip: %d modules identical to GNU strip in both modes (%s); %d sections, %d symbols, %d relocation lines compared; removed %d sections and %d symbols; --strip-unneeded kept %d kmod symbols GNU strip drops",
		total, strings.Join(per, " "), st.sections, st.symbols, st.relocs, st.removedSecs, st.removedSyms, st.unneededExtra)
	for m, n := range st.skipped {
		t.Logf("%d %s modules checked with readelf only: GNU strip cannot handle them: %s", n, m, st.skipReasons[m])
	}
	if total < len(builtModules(t)) {
		t.Errorf("only %d modules compared", total)
	}
	if st.compared[elf.EM_X86_64.String()] == 0 {
		t.Errorf("no x86-64 module compared")
	}
}

// TestStripKmodViews requires that kmodscope info/versions/exports print the
// same on the module stripped by kmodscope and by GNU strip --strip-debug
// (and on the unstripped module), and that kmod's modinfo prints the same
// as kmodscope info on ours.
func TestStripKmodViews(t *testing.T) {
	needBinutils(t)
	modinfo := need(t, "modinfo")
	dir := t.TempDir()
	builtModules(t)
	var files []string
	for _, set := range moduleSets(t) {
		if set.name == "testdata" {
			files = append(files, set.files...)
		}
	}
	n := 0
	for _, p := range files {
		raw, _, err := compression.ReadFile(p, compression.DefaultLimit)
		if err != nil {
			t.Fatal(err)
		}
		content, _ := modsig.Strip(raw)
		name := filepath.Base(strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(p, ".xz"), ".zst"), ".gz"))
		for _, v := range []string{"orig", "gnu", "ours", "ours-unneeded"} {
			os.MkdirAll(filepath.Join(dir, v), 0o755)
		}
		orig := filepath.Join(dir, "orig", name)
		gnu := filepath.Join(dir, "gnu", name)
		ours := filepath.Join(dir, "ours", name)
		oursU := filepath.Join(dir, "ours-unneeded", name)
		os.WriteFile(orig, content, 0o644)
		if _, err := tool(t, "strip", "--strip-debug", orig, "-o", gnu); err != nil {
			t.Logf("%s: GNU strip cannot: %v", p, err)
			continue
		}
		for _, c := range []struct {
			out  string
			args []string
		}{{ours, nil}, {oursU, []string{"--strip-unneeded"}}} {
			args := append(append([]string{"strip"}, c.args...), orig, "-o", c.out)
			if r, stderr := runOurs(args...); r.code != 0 {
				t.Fatalf("%s: kmodscope %v: exit %d: %s", p, args, r.code, stderr)
			}
		}
		for _, cmd := range [][]string{{"info"}, {"info", "-F", "parm"}, {"versions"}, {"exports"}, {"exports", "--json"}} {
			var outs []string
			for _, f := range []string{orig, gnu, ours, oursU} {
				r, _ := runOurs(append(append([]string{}, cmd...), f)...)
				outs = append(outs, strings.ReplaceAll(string(r.stdout), filepath.Dir(f), "DIR"))
			}
			if outs[1] != outs[2] {
				t.Errorf("%s: kmodscope %v differs between GNU strip and kmodscope strip:\n%s", p, cmd, firstDiff([]byte(outs[1]), []byte(outs[2])))
			}
			if outs[0] != outs[2] || outs[0] != outs[3] {
				t.Errorf("%s: kmodscope %v differs between the original and kmodscope strip:\n%s%s", p, cmd, firstDiff([]byte(outs[0]), []byte(outs[2])), firstDiff([]byte(outs[0]), []byte(outs[3])))
			}
		}
		for _, f := range []string{ours, oursU} {
			want := runReal(t, modinfo, f)
			got, _ := runOurs("info", f)
			if !bytes.Equal(want.stdout, got.stdout) || want.code != got.code {
				t.Errorf("%s: modinfo and kmodscope info differ on the stripped module:\n%s", f, firstDiff(want.stdout, got.stdout))
			}
		}
		n++
	}
	t.Logf("info, info -F parm, versions, exports, exports --json identical on %d modules (original, GNU strip, kmodscope strip, kmodscope strip --strip-unneeded); modinfo = kmodscope info on the stripped ones", n)
	if n < 3 {
		t.Errorf("only %d modules compared", n)
	}
}
