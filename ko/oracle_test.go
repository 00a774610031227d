package ko_test

import (
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/internal/kotest"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/symvers"
)

// roots with Module.symvers: the shared corpus and complete trees.
func symversRoots(t *testing.T) []string {
	var roots []string
	for _, pat := range []string{"../../shared/corpus/debian/*", "/var/cache/kmodscope/deb-*"} {
		m, _ := filepath.Glob(pat)
		roots = append(roots, m...)
	}
	return roots
}

// TestExportsMatchModuleSymvers: every export's CRC, GPL-only flag and
// namespace, read from the module's __ksymtab* entries and relocations,
// must equal what modpost wrote for it into the kernel's Module.symvers.
func TestExportsMatchModuleSymvers(t *testing.T) {
	checked, modules := 0, 0
	for _, root := range symversRoots(t) {
		svs, _ := filepath.Glob(filepath.Join(root, "usr/src/linux-headers-*/Module.symvers"))
		rels, _ := filepath.Glob(filepath.Join(root, "lib/modules/*/kernel"))
		if len(svs) == 0 || len(rels) == 0 {
			continue
		}
		tab, err := symvers.Open(svs[0])
		if err != nil {
			t.Fatal(err)
		}
		byModule := map[string][]symvers.Symbol{}
		for _, s := range tab.Symbols {
			byModule[s.Module] = append(byModule[s.Module], s)
		}
		kernelDir := rels[0]
		n := 0
		for mod, want := range byModule {
			if mod == "vmlinux" {
				continue
			}
			var path string
			for _, ext := range []string{".ko", ".ko.xz"} {
				if _, err := os.Stat(filepath.Join(kernelDir, mod+ext)); err == nil {
					path = filepath.Join(kernelDir, mod+ext)
				}
			}
			if path == "" {
				continue // not in this (partial) tree
			}
			if n++; n > 300 {
				break // a sample per complete tree keeps the test quick
			}
			m, err := ko.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := m.Exports()
			m.Close()
			if err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			gotBy := map[string]ko.Export{}
			for _, e := range got {
				gotBy[e.Name] = e
			}
			for _, w := range want {
				g, ok := gotBy[w.Name]
				if !ok {
					t.Errorf("%s: export %s missing", path, w.Name)
					continue
				}
				if uint32(g.CRC) != w.CRC || g.GPLOnly != w.GPLOnly || g.Namespace != w.Namespace {
					t.Errorf("%s: %s: crc %#x gpl %v ns %q; Module.symvers %#x %v %q", path, w.Name, g.CRC, g.GPLOnly, g.Namespace, w.CRC, w.GPLOnly, w.Namespace)
				}
				checked++
			}
			if len(got) != len(want) {
				t.Errorf("%s: %d exports, Module.symvers %d", path, len(got), len(want))
			}
			modules++
		}
	}
	if modules == 0 {
		t.Skip("no tree with Module.symvers")
	}
	t.Logf("%d exports of %d modules match Module.symvers (CRC, GPL-only, namespace)", checked, modules)
}

var buildIDRe = regexp.MustCompile(`Build ID: ([0-9a-f]+)`)

// TestBuildIDMatchesReadelf compares .note.gnu.build-id with readelf -n.
func TestBuildIDMatchesReadelf(t *testing.T) {
	for _, p := range testModules(t) {
		if !strings.HasSuffix(p, ".ko") {
			continue
		}
		out, err := exec.Command("readelf", "-nW", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		m := buildIDRe.FindSubmatch(out)
		mod, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		id, err := mod.BuildID()
		mod.Close()
		if err != nil || m == nil || hex.EncodeToString(id) != string(m[1]) {
			t.Errorf("%s: build id %x (%v), readelf %s", p, id, err, m)
		}
	}
}

// TestExtendedModversions builds a module with basic and extended
// modversions (kernel 6.14+) and checks both are read, in order.
func TestExtendedModversions(t *testing.T) {
	for _, order := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b := kotest.Minimal(elf.ELFCLASS64, order, elf.EM_X86_64)
		long := "a_rust_symbol_whose_name_is_far_longer_than_the_fifty_five_bytes_basic_modversions_allow"
		crcs, names := kotest.ExtVersions(order, kotest.Version{CRC: 0x11223344, Name: "module_layout"}, kotest.Version{CRC: 0xdeadbeef, Name: long})
		b.AddSection(kotest.Section{Name: "__version_ext_crcs", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: crcs, Addralign: 4})
		b.AddSection(kotest.Section{Name: "__version_ext_names", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: names, Addralign: 1})
		m, err := ko.New(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		vs, err := m.Versions()
		if err != nil {
			t.Fatal(err)
		}
		last := vs[len(vs)-1]
		if len(vs) < 3 || !last.Extended || last.Name != long || last.CRC != 0xdeadbeef || vs[len(vs)-2].CRC != 0x11223344 {
			t.Errorf("%v: versions %+v", order, vs)
		}
		// Names missing for a CRC: an error naming the section.
		b2 := kotest.Minimal(elf.ELFCLASS64, order, elf.EM_X86_64)
		b2.AddSection(kotest.Section{Name: "__version_ext_crcs", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: crcs, Addralign: 4})
		b2.AddSection(kotest.Section{Name: "__version_ext_names", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC, Data: []byte("only_one\x00"), Addralign: 1})
		m2, _ := ko.New(b2.Bytes())
		if _, err := m2.Versions(); err == nil || !strings.Contains(err.Error(), "__version_ext_names") {
			t.Errorf("short names: %v", err)
		}
	}
}
