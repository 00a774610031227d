package loadcheck_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/cli"
	"github.com/kmodscope/kmodscope/symvers"
)

// treeRelease returns the release of a root-like tree (lib/modules/REL).
func treeRelease(root string) string {
	d, _ := filepath.Glob(filepath.Join(root, "lib", "modules", "*"))
	if len(d) == 0 {
		return ""
	}
	return filepath.Base(d[0])
}

func treeModules(root string) []string {
	var out []string
	filepath.Walk(filepath.Join(root, "lib", "modules"), func(p string, info os.FileInfo, err error) error {
		if err == nil && info.Mode().IsRegular() && (strings.HasSuffix(p, ".ko") || strings.HasSuffix(p, ".ko.xz")) {
			out = append(out, p)
		}
		return nil
	})
	sort.Strings(out)
	return out
}

type checkJSON struct {
	Results []struct {
		File        string   `json:"file"`
		Loads       bool     `json:"loads"`
		Errno       *string  `json:"errno"`
		FailedCheck *string  `json:"failed_check"`
		Messages    []string `json:"messages"`
		Error       *string  `json:"error"`
	} `json:"results"`
}

// TestCrossKernel checks every module of one Debian 6.1 kernel against
// another with --with-deps (modules of 6.1.0-50 on 6.1.0-56 and the
// reverse, when both trees are present). The independent expectation: a
// module loads iff every symbol version it carries (read with kmod's
// `modprobe --dump-modversions`) matches the target's Module.symvers, or
// the symbol is exported by a module of the target tree that is loaded
// first; vermagic releases are ignored because the modules carry
// __versions.
func TestCrossKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("checks whole trees")
	}
	a, b := os.Getenv("KMODSCOPE_CROSS_A"), os.Getenv("KMODSCOPE_CROSS_B")
	if a == "" {
		a, b = "/var/cache/kmodscope/deb-6.1.0-50-amd64", "/var/cache/kmodscope/deb-6.1-amd64"
	}
	if treeRelease(a) == "" || treeRelease(b) == "" {
		t.Skipf("needs two complete 6.1 trees (%s, %s): fetch them with scripts/fetch-debian-kernel.sh", a, b)
	}
	modprobe, err := exec.LookPath("modprobe")
	if err != nil {
		modprobe = "/usr/sbin/modprobe"
	}
	for _, pair := range [][2]string{{a, b}, {b, a}} {
		src, dst := pair[0], pair[1]
		srcRel, dstRel := treeRelease(src), treeRelease(dst)
		sv, err := symvers.Open(filepath.Join(dst, "usr", "src", "linux-headers-"+dstRel, "Module.symvers"))
		if err != nil {
			t.Fatal(err)
		}
		files := treeModules(src)
		var out, errb bytes.Buffer
		code := cli.Main(append([]string{"check", "--json", "--with-deps", "-b", dst, "-k", dstRel}, files...), nil, &out, &errb)
		var doc checkJSON
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil {
			t.Fatalf("check output: %v\n%s", err, errb.String())
		}
		if len(doc.Results) != len(files) {
			t.Fatalf("%d results for %d files", len(doc.Results), len(files))
		}
		loads, refused, agree := 0, 0, 0
		var disagreements []string
		reasons := map[string]int{}
		for i, r := range doc.Results {
			if r.Error != nil {
				t.Errorf("%s: %s", r.File, *r.Error)
				continue
			}
			want := expectLoads(t, modprobe, files[i], sv)
			if r.Loads {
				loads++
			} else {
				refused++
				reasons[*r.FailedCheck]++
			}
			if want == r.Loads {
				agree++
			} else if len(disagreements) < 10 {
				disagreements = append(disagreements, r.File+": predicted loads="+strconv.FormatBool(r.Loads)+" "+strings.Join(r.Messages, " | "))
			}
		}
		t.Logf("%s modules on %s (exit %d): %d load, %d refused %v; %d of %d agree with the Module.symvers CRC comparison",
			srcRel, dstRel, code, loads, refused, reasons, agree, len(files))
		for _, d := range disagreements {
			t.Errorf("disagrees: %s", d)
		}
	}
}

// expectLoads compares the module's versions (kmod's view) with the
// target's Module.symvers: every versioned symbol must have the same CRC
// there. Symbols absent from Module.symvers would be unknown.
func expectLoads(t *testing.T, modprobe, file string, sv *symvers.Table) bool {
	out, err := exec.Command(modprobe, "--dump-modversions", file).Output()
	if err != nil {
		return true // no __versions: not a CRC question
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		crcS, name, ok := strings.Cut(sc.Text(), "\t")
		if !ok {
			continue
		}
		crc, _ := strconv.ParseUint(strings.TrimPrefix(crcS, "0x"), 16, 64)
		s, ok := sv.Lookup(name)
		if !ok || uint64(s.CRC) != crc {
			return false
		}
	}
	return true
}
