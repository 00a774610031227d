package conformance_test

// Byte-for-byte comparison of `kmodscope sections --readelf`, `kmodscope
// size` and `kmodscope file --elf-only` with binutils' readelf -SW and size
// and with file(1), run at test time on the same modules: the committed
// testdata (every architecture; compressed ones are decompressed to a
// temporary file for the reference tools, and the temporary name in their
// output replaced by the name given to kmodscope), the shared corpus and the
// complete trees (skipped with -short).

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
)

// plainCopies returns, for every file, a path the reference tools can read:
// the file itself, or a decompressed copy in dir (same base name without
// the compression suffix).
func plainCopies(t *testing.T, files []string) []string {
	dir := t.TempDir()
	out := make([]string, len(files))
	for i, f := range files {
		if strings.HasSuffix(f, ".ko") {
			out[i] = f
			continue
		}
		data, _, err := compression.ReadFile(f, 0)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		p := filepath.Join(dir, filepath.Base(filepath.Dir(f))+"-"+strings.TrimSuffix(filepath.Base(f), filepath.Ext(f)))
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out[i] = p
	}
	return out
}

// rename replaces the reference tool's names for the plain copies by the
// names kmodscope was given.
func rename(out []byte, plain, given []string) []byte {
	for i := range plain {
		if plain[i] != given[i] {
			out = bytes.ReplaceAll(out, []byte(plain[i]), []byte(given[i]))
		}
	}
	return out
}

type toolCase struct {
	name string
	tool string
	args []string // reference tool flags
	ours []string // kmodscope command and flags
	// batch: run the tools on many files at once (otherwise one file per run).
	batch int
	// plainOnly skips sets of compressed modules (the tool would see other names).
	plainOnly bool
}

func compareTool(t *testing.T, tc toolCase, sets []moduleSet) {
	tool := need(t, tc.tool)
	for _, set := range sets {
		files := set.files
		if tc.plainOnly && compressed(files) {
			t.Logf("%s, %s: compressed modules, skipped", tc.name, set.name)
			continue
		}
		if set.name == "testdata" {
			// The compressed fixtures too: kmodscope reads them directly.
			more, _ := filepath.Glob(filepath.Join(repoRoot(t), "testdata", "modules", "*", "*.ko.*"))
			files = append(append([]string(nil), files...), more...)
			files = dedup(files)
		} else if compressed(files) && len(files) > 400 {
			// A compressed tree: the reference tools need a decompressed
			// copy of each file, so compare every 20th module.
			var sample []string
			for i := 0; i < len(files); i += 20 {
				sample = append(sample, files[i])
			}
			t.Logf("%s: compressed tree, comparing %d of %d modules", set.name, len(sample), len(files))
			files = sample
		}
		plain := plainCopies(t, files)
		same, diff := 0, 0
		for start := 0; start < len(files); start += tc.batch {
			end := min(len(files), start+tc.batch)
			g, p := files[start:end], plain[start:end]
			want := runReal(t, tool, append(append([]string(nil), tc.args...), p...)...)
			want.stdout = rename(want.stdout, p, g)
			got, stderr := runOurs(append(append([]string(nil), tc.ours...), g...)...)
			if got.code != 0 {
				t.Errorf("%s %s: kmodscope exit %d: %s", tc.name, g[0], got.code, stderr)
			}
			if !bytes.Equal(got.stdout, want.stdout) {
				diff += len(g)
				if diff <= 5*len(g) {
					t.Errorf("%s on %s..%s (%d files): differs from %s at %s", tc.name, g[0], g[len(g)-1], len(g), tc.tool, firstDiff(want.stdout, got.stdout))
				}
				continue
			}
			same += len(g)
		}
		t.Logf("%s, %s: %d files identical, %d differ", tc.name, set.name, same, diff)
		if same == 0 && len(files) > 0 {
			t.Errorf("%s, %s: no file compared equal", tc.name, set.name)
		}
	}
}

func dedup(files []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, f := range files {
		if !seen[f] {
			seen[f] = true
			out = append(out, f)
		}
	}
	return out
}

func TestReadelfSections(t *testing.T) {
	sets := moduleSets(t)
	compareTool(t, toolCase{name: "readelf -SW", tool: "readelf", args: []string{"-SW"}, ours: []string{"sections", "--readelf"}, batch: 200}, sets)
	// One file alone: readelf prints no "File:" header.
	compareTool(t, toolCase{name: "readelf -SW (single)", tool: "readelf", args: []string{"-SW"}, ours: []string{"sections", "--readelf"}, batch: 1}, sets[:1])
}

func TestSize(t *testing.T) {
	sets := moduleSets(t)
	for _, v := range [][]string{{}, {"-A"}, {"-t"}, {"-x"}, {"-o", "-t"}, {"-G"}, {"-A", "-x"}, {"--format=sysv", "-o"}, {"-G", "-x", "-t"}, {"-A", "-t"}, {"--radix=16", "-t"}} {
		s := sets
		if len(v) > 0 && !(len(v) == 1 && v[0] == "-A") {
			s = sets[:min(len(sets), 2)] // variants on testdata and corpus; Berkeley and -A on everything
		}
		compareTool(t, toolCase{name: "size " + strings.Join(v, " "), tool: "size", args: v, ours: append([]string{"size"}, v...), batch: 200}, s)
	}
}

func TestFile(t *testing.T) {
	sets := moduleSets(t)
	// file pads names to the longest one: compare one file per run on the
	// fixtures (some are compressed, so the tool sees other names), batches
	// elsewhere, and batches with -b everywhere.
	compareTool(t, toolCase{name: "file", tool: "file", args: nil, ours: []string{"file", "--elf-only"}, batch: 1}, sets[:1])
	// Padded names: only where the reference tool sees the same names
	// (no decompressed copies).
	compareTool(t, toolCase{name: "file (padded)", tool: "file", args: nil, ours: []string{"file", "--elf-only"}, batch: 200, plainOnly: true}, sets[1:])
	compareTool(t, toolCase{name: "file -b", tool: "file", args: []string{"-b"}, ours: []string{"file", "--elf-only", "-b"}, batch: 200}, sets)
}

// TestSizeNotELF: size and kmodscope both refuse a non-ELF file; kmodscope
// names the file and exits 1, and keeps going with the next file.
func TestSizeNotELF(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ko")
	os.WriteFile(bad, []byte("this is not an ELF file at all\n"), 0o644)
	good := filepath.Join(repoRoot(t), "testdata", "modules", "amd64", "crc7.ko")
	for _, cmd := range [][]string{{"size"}, {"size", "-A"}, {"sections"}, {"sections", "--readelf"}, {"file"}, {"size", "--loaded"}} {
		got, stderr := runOurs(append(cmd, bad, good)...)
		if got.code != 1 {
			t.Errorf("%v: exit %d, want 1", cmd, got.code)
		}
		if strings.Count(stderr, "\n") != 1 || !strings.Contains(stderr, bad) || !strings.Contains(stderr, "not an ELF file") {
			t.Errorf("%v: stderr %q, want one line naming %s", cmd, stderr, bad)
		}
		if !bytes.Contains(got.stdout, []byte("crc7")) && cmd[0] != "sections" {
			t.Errorf("%v: the good file after the bad one was not shown:\n%s", cmd, got.stdout)
		}
	}
	if _, err := exec.LookPath("size"); err == nil {
		if err := exec.Command("size", bad).Run(); err == nil {
			t.Errorf("size accepted %s", bad)
		}
	}
}
