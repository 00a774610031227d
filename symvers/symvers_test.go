package symvers

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseFormats(t *testing.T) {
	in := "0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n" +
		"0x12345678\tusb_stor_probe1\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\tUSB_STORAGE\n" +
		"0x00000001\told_ns\tNS5\tfs/old\tEXPORT_SYMBOL\n" + // 5.4-5.8 column order
		"0x00000002\tvery_old\tvmlinux\tEXPORT_SYMBOL_GPL\n" // before 5.4
	tab, err := Parse(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(tab.Symbols) != 4 {
		t.Fatalf("%d symbols", len(tab.Symbols))
	}
	s, _ := tab.Lookup("usb_stor_probe1")
	if s.CRC != 0x12345678 || !s.GPLOnly || s.Namespace != "USB_STORAGE" || s.ModuleName() != "usb_storage" || s.InVmlinux() {
		t.Errorf("usb_stor_probe1: %+v", s)
	}
	s, _ = tab.Lookup("old_ns")
	if s.Namespace != "NS5" || s.Module != "fs/old" {
		t.Errorf("old_ns: %+v", s)
	}
	s, _ = tab.Lookup("very_old")
	if !s.InVmlinux() || !s.GPLOnly {
		t.Errorf("very_old: %+v", s)
	}
	for _, bad := range []string{"garbage\n", "0xZZ\tx\tvmlinux\tEXPORT_SYMBOL\t\n"} {
		if _, err := Parse(strings.NewReader(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

// The real Module.symvers files of the corpus parse, plain and gzipped.
func TestRealSymvers(t *testing.T) {
	files, _ := filepath.Glob("../../shared/corpus/debian/*/usr/src/linux-headers-*/Module.symvers")
	more, _ := filepath.Glob("/var/cache/kmodscope/deb-*/usr/src/linux-headers-*/Module.symvers")
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no Module.symvers available")
	}
	for _, f := range files {
		tab, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(f)
		if n := bytes.Count(data, []byte("\n")); n != len(tab.Symbols) {
			t.Errorf("%s: %d lines, %d symbols", f, n, len(tab.Symbols))
		}
		if s, ok := tab.Lookup("module_layout"); !ok || !s.InVmlinux() {
			t.Errorf("%s: no vmlinux module_layout", f)
		}
		var gz bytes.Buffer
		w := gzip.NewWriter(&gz)
		w.Write(data)
		w.Close()
		p := filepath.Join(t.TempDir(), "symvers.gz")
		os.WriteFile(p, gz.Bytes(), 0o644)
		tab2, err := Open(p)
		if err != nil || len(tab2.Symbols) != len(tab.Symbols) {
			t.Errorf("%s gzipped: %v", f, err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n"))
	f.Add([]byte("0x1\ta\tNS\tm\tEXPORT_SYMBOL_GPL\n0x2\tb\tm\tEXPORT_SYMBOL\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		tab, err := Parse(bytes.NewReader(data))
		if err == nil {
			for _, s := range tab.Symbols {
				if got, ok := tab.Lookup(s.Name); !ok || got.Name != s.Name {
					t.Fatalf("lookup %q", s.Name)
				}
			}
		}
	})
}
