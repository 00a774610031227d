package elfx_test

import (
	"bufio"
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
)

// relocTypeName names a relocation type the way debug/elf (and readelf) do.
func relocTypeName(m elf.Machine, t uint32) string {
	switch m {
	case elf.EM_X86_64:
		return elf.R_X86_64(t).String()
	case elf.EM_386:
		return elf.R_386(t).String()
	case elf.EM_AARCH64:
		return elf.R_AARCH64(t).String()
	case elf.EM_ARM:
		return elf.R_ARM(t).String()
	case elf.EM_PPC64:
		return elf.R_PPC64(t).String()
	case elf.EM_S390:
		return elf.R_390(t).String()
	case elf.EM_MIPS:
		return elf.R_MIPS(t).String()
	case elf.EM_RISCV:
		return elf.R_RISCV(t).String()
	case elf.EM_LOONGARCH:
		return elf.R_LARCH(t).String()
	}
	return fmt.Sprint(t)
}

func image(t *testing.T, p string) []byte {
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if f := compression.Sniff(raw); f != compression.None {
		if raw, err = compression.Decompress(f, raw, 0); err != nil {
			t.Fatal(err)
		}
	}
	return raw
}

var (
	relocHdr   = regexp.MustCompile(`^Relocation section '([^']+)' at offset 0x[0-9a-f]+ contains (\d+) entr`)
	relocEntry = regexp.MustCompile(`^([0-9a-f]+)\s+[0-9a-f]+\s+(R_\S+|\S+)`)
)

// TestRelocsMatchReadelf decodes every relocation section of the committed
// modules (ELF32/64, both byte orders, nine machines, MIPS64's split r_info)
// and compares offsets, types and counts with binutils' readelf -rW.
func TestRelocsMatchReadelf(t *testing.T) {
	if _, err := exec.LookPath("readelf"); err != nil {
		t.Fatal("readelf not installed (apt-get install binutils)")
	}
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	if len(files) == 0 {
		t.Fatal("no committed modules")
	}
	total := 0
	for _, p := range files {
		data := image(t, p)
		f, err := elfx.New(data)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		tmp := filepath.Join(t.TempDir(), "m.ko")
		os.WriteFile(tmp, data, 0o644)
		out, err := exec.Command("readelf", "-rW", tmp).Output()
		if err != nil {
			t.Fatalf("readelf %s: %v", p, err)
		}
		type rel struct {
			off uint64
			typ string
		}
		want := map[string][]rel{}
		var cur string
		sc := bufio.NewScanner(bytes.NewReader(out))
		for sc.Scan() {
			l := sc.Text()
			if m := relocHdr.FindStringSubmatch(l); m != nil {
				cur = m[1]
				continue
			}
			if m := relocEntry.FindStringSubmatch(l); m != nil && cur != "" {
				off, _ := strconv.ParseUint(m[1], 16, 64)
				want[cur] = append(want[cur], rel{off, m[2]})
			}
		}
		for i := range f.Sections {
			s := &f.Sections[i]
			if !elfx.IsReloc(s) {
				continue
			}
			rs, err := f.Relocs(s)
			if err != nil {
				t.Fatalf("%s %s: %v", p, s.Name, err)
			}
			w := want[s.Name]
			if len(rs) != len(w) {
				t.Errorf("%s %s: %d relocations, readelf %d", p, s.Name, len(rs), len(w))
				continue
			}
			for j, r := range rs {
				name := relocTypeName(f.Machine, r.Type)
				if r.Offset != w[j].off || (strings.HasPrefix(w[j].typ, "R_") && name != w[j].typ) {
					t.Errorf("%s %s[%d]: offset %#x type %s, readelf %#x %s", p, s.Name, j, r.Offset, name, w[j].off, w[j].typ)
					break
				}
			}
			total += len(rs)
		}
	}
	t.Logf("%d relocations in %d modules identical with readelf", total, len(files))
}

// TestSymbolsMatchReadelf compares the decoded symbol tables with readelf -sW
// (names, values, section indexes) on the committed modules.
func TestSymbolsMatchReadelf(t *testing.T) {
	files, _ := filepath.Glob("../testdata/modules/*/*.ko*")
	total := 0
	for _, p := range files {
		data := image(t, p)
		f, err := elfx.New(data)
		if err != nil {
			t.Fatal(err)
		}
		syms, err := f.Symbols()
		if err != nil {
			t.Fatal(err)
		}
		tmp := filepath.Join(t.TempDir(), "m.ko")
		os.WriteFile(tmp, data, 0o644)
		out, err := exec.Command("readelf", "-sW", tmp).Output()
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, l := range strings.Split(string(out), "\n") {
			fs := strings.Fields(l)
			if len(fs) < 7 || !strings.HasSuffix(fs[0], ":") {
				continue
			}
			idx, err := strconv.Atoi(strings.TrimSuffix(fs[0], ":"))
			if err != nil {
				continue // the header line
			}
			if idx >= len(syms) {
				t.Fatalf("%s: readelf symbol %q", p, l)
			}
			val, _ := strconv.ParseUint(fs[1], 16, 64)
			name := ""
			if len(fs) >= 8 && !strings.Contains(l, "[") {
				name = fs[len(fs)-1]
			}
			printable := !strings.ContainsFunc(syms[idx].Name, func(r rune) bool { return r < 0x20 || r == ' ' })
			if s := syms[idx]; s.Value != val || (name != "" && s.Name != "" && printable && name != s.Name) {
				t.Errorf("%s: symbol %d: %q %#x, readelf %q %#x", p, idx, s.Name, s.Value, name, val)
				break
			}
			n++
		}
		if n != len(syms) {
			t.Errorf("%s: %d symbols, readelf %d", p, len(syms), n)
		}
		total += n
	}
	t.Logf("%d symbols identical with readelf", total)
}
