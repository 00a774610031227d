package conformance_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/internal/relocgen"
	"github.com/kmodscope/kmodscope/reloc"
)

// runTool runs a binutils tool in the C locale (nm sorts with strcoll;
// kmodscope mirrors the C and C.UTF-8 collation, byte order).
func runTool(t *testing.T, tool string, args ...string) result {
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &bytes.Buffer{}
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return result{out.Bytes(), code}
}

// binutilsSet is a module set as files binutils can read: compressed
// modules are decompressed into a temporary directory (nm and readelf read
// only plain files). packed maps each decompressed copy to its original.
type binutilsSet struct {
	name   string
	files  []string
	packed map[string]string
	total  int
}

// binutilsSets returns the module sets of moduleSets as plain files. Of a
// complete tree of compressed modules every 8th is taken (decompressing a
// whole tree costs about 400 MB of temporary disk); plain trees are
// compared whole.
func binutilsSets(t *testing.T) []binutilsSet {
	var out []binutilsSet
	for _, set := range moduleSets(t) {
		bs := binutilsSet{name: set.name, packed: map[string]string{}}
		dir := t.TempDir()
		tree := set.name != "testdata" && set.name != "corpus"
		for i, f := range set.files {
			if strings.HasSuffix(f, ".ko") {
				bs.files = append(bs.files, f)
				continue
			}
			if tree && i%8 != 0 {
				continue
			}
			data, _, err := compression.ReadFile(f, compression.DefaultLimit)
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			base := filepath.Base(f)
			plain := filepath.Join(dir, fmt.Sprintf("%d-%s", i, base[:strings.LastIndex(base, ".ko")+3]))
			if err := os.WriteFile(plain, data, 0o644); err != nil {
				t.Fatal(err)
			}
			bs.files = append(bs.files, plain)
			bs.packed[plain] = f
		}
		bs.total = len(set.files)
		out = append(out, bs)
	}
	return out
}

func chunksOf(files []string, n int) [][]string {
	var out [][]string
	for len(files) > 0 {
		k := min(len(files), n)
		out = append(out, files[:k])
		files = files[k:]
	}
	return out
}

// compareTool runs tool with toolArgs+files and kmodscope with ourArgs+files
// over chunks of files and requires the same stdout and exit status.
func compareToolChunked(t *testing.T, tool string, toolArgs, ourArgs, files []string, chunk int) {
	t.Helper()
	for _, fs := range chunksOf(files, chunk) {
		want := runTool(t, tool, append(append([]string(nil), toolArgs...), fs...)...)
		got, stderr := runOurs(append(append([]string(nil), ourArgs...), fs...)...)
		if want.code != got.code {
			t.Errorf("%s %v over %d files (first %s): exit %d, kmodscope %d; kmodscope stderr:\n%s", filepath.Base(tool), toolArgs, len(fs), fs[0], want.code, got.code, stderr)
		}
		if !bytes.Equal(want.stdout, got.stdout) {
			t.Fatalf("%s %v over %d files (first %s): output differs at %s\n(foreign architectures need binutils-multiarch's nm/readelf)", filepath.Base(tool), toolArgs, len(fs), fs[0], strings.ReplaceAll(firstDiff(want.stdout, got.stdout), "kmod:", "binutils:"))
		}
	}
}

var nmVariants = [][]string{{}, {"-a"}, {"-u"}}

// Only on the committed modules and the corpus: the other orders and
// filters, with sizes.
var nmExtraVariants = [][]string{{"-g"}, {"-n"}, {"-r"}, {"-p"}, {"-S"}, {"-a", "-n", "-S"}, {"-g", "-r", "-S"}, {"-a", "-p"}, {"-u", "-n"}, {"--defined-only"}, {"-D"}, {"--special-syms"}, {"--size-sort"}, {"--size-sort", "-a", "-S", "-r"}}

// TestConformanceNM compares `kmodscope symbols --nm` with GNU nm, byte for
// byte, on every module set.
func TestConformanceNM(t *testing.T) {
	nm := need(t, "nm")
	total, runs := 0, 0
	for _, set := range binutilsSets(t) {
		t.Run(set.name, func(t *testing.T) {
			variants := nmVariants
			if set.name == "testdata" || set.name == "corpus" {
				variants = append(append([][]string(nil), nmVariants...), nmExtraVariants...)
			}
			for _, v := range variants {
				compareToolChunked(t, nm, v, append([]string{"symbols", "--nm"}, v...), set.files, 1000)
				runs += len(set.files)
			}
			// A compressed module reads like its decompressed copy.
			for plain, orig := range set.packed {
				a, _ := runOurs("symbols", "--nm", plain)
				b, stderr := runOurs("symbols", "--nm", orig)
				if b.code != 0 || !bytes.Equal(a.stdout, b.stdout) {
					t.Errorf("%s: --nm differs from its decompressed copy (exit %d): %s\n%s", orig, b.code, firstDiff(a.stdout, b.stdout), stderr)
				}
			}
			t.Logf("nm: %d %s modules (of %d; %d decompressed) identical in %d variants", len(set.files), set.name, set.total, len(set.packed), len(variants))
		})
		total += len(set.files)
	}
	t.Logf("nm conformance: %d modules compared, %d module-variant comparisons", total, runs)
}

// TestConformanceReadelfRelocs compares `kmodscope relocs --readelf` with
// readelf -rW on every module set.
func TestConformanceReadelfRelocs(t *testing.T) {
	readelf := need(t, "readelf")
	total := 0
	for _, set := range binutilsSets(t) {
		t.Run(set.name, func(t *testing.T) {
			compareToolChunked(t, readelf, []string{"-rW"}, []string{"relocs", "--readelf"}, set.files, 200)
			// One file alone (no "File:" header), compressed or not.
			for plain, orig := range set.packed {
				want := runTool(t, readelf, "-rW", plain)
				got, stderr := runOurs("relocs", "--readelf", orig)
				if got.code != want.code || !bytes.Equal(want.stdout, got.stdout) {
					t.Errorf("%s: relocs --readelf differs from readelf -rW on its decompressed copy: %s\n%s", orig, firstDiff(want.stdout, got.stdout), stderr)
				}
			}
			t.Logf("readelf -rW: %d %s modules (of %d; %d decompressed) identical", len(set.files), set.name, set.total, len(set.packed))
		})
		total += len(set.files)
	}
	t.Logf("readelf -rW conformance: %d modules compared", total)
}

// TestConformanceRelocTypeNames asks readelf for the name of every
// relocation type number of every Debian architecture (a synthetic object
// with one relocation of each type) and requires reloc.TypeName to agree,
// unknown types included.
func TestConformanceRelocTypeNames(t *testing.T) {
	readelf := need(t, "readelf")
	dir := t.TempDir()
	n := 0
	for _, tg := range relocgen.Targets {
		names, err := relocgen.ReadelfNames(readelf, dir, tg)
		if err != nil {
			t.Fatalf("%s: %v (foreign architectures need binutils-multiarch)", tg.Machine, err)
		}
		for ty := uint32(0); ty <= tg.MaxType; ty++ {
			want, wok := names[ty]
			got, gok := reloc.TypeName(tg.Machine, ty)
			if want != got || wok != gok {
				t.Errorf("%s type %d: readelf %q (known %v), kmodscope %q (known %v)", tg.Machine, ty, want, wok, got, gok)
			}
			n++
		}
		// The same object through kmodscope relocs --readelf.
		p := filepath.Join(dir, fmt.Sprintf("relocs-%d.o", tg.Machine))
		want := runTool(t, readelf, "-rW", p)
		got, stderr := runOurs("relocs", "--readelf", p)
		if !bytes.Equal(want.stdout, got.stdout) {
			t.Errorf("%s: relocs --readelf differs: %s\n%s", tg.Machine, firstDiff(want.stdout, got.stdout), stderr)
		}
	}
	t.Logf("relocation type names: %d (machine, type) pairs agree with readelf", n)
}

// TestConformanceSymbolZoo writes kotest.SymbolZoo (one symbol of every
// kind nm and readelf tell apart, in sections of every flag combination)
// for every Debian architecture and compares nm, in all variants, and
// readelf -rW with kmodscope on it.
func TestConformanceSymbolZoo(t *testing.T) {
	nm, readelf := need(t, "nm"), need(t, "readelf")
	dir := t.TempDir()
	var files []string
	for _, tg := range relocgen.Targets {
		p := filepath.Join(dir, fmt.Sprintf("zoo-%s.o", strings.ToLower(strings.TrimPrefix(tg.Machine.String(), "EM_"))))
		if err := os.WriteFile(p, kotest.SymbolZoo(tg.Class, tg.Order, tg.Machine), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	variants := append(append([][]string(nil), nmVariants...), nmExtraVariants...)
	for _, f := range files {
		for _, v := range variants {
			compareToolChunked(t, nm, v, append([]string{"symbols", "--nm"}, v...), []string{f}, 1)
		}
		compareToolChunked(t, readelf, []string{"-rW"}, []string{"relocs", "--readelf"}, []string{f}, 1)
	}
	compareToolChunked(t, nm, []string{"-a"}, []string{"symbols", "--nm", "-a"}, files, len(files))
	t.Logf("symbol zoo: %d architectures, %d nm variants and readelf -rW identical", len(files), len(variants))
}
