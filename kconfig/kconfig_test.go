package kconfig

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	c, err := Parse(strings.NewReader("# comment\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"str\"\nCONFIG_E=12\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !c.Enabled("CONFIG_A") || !c.Enabled("CONFIG_B") || c.Enabled("CONFIG_C") || c.String("CONFIG_D") != "str" || c["CONFIG_E"] != "12" {
		t.Errorf("%v", c)
	}
}

func TestRealConfigs(t *testing.T) {
	files, _ := filepath.Glob("../../shared/corpus/debian/*/boot/config-*")
	more, _ := filepath.Glob("/var/cache/kmodscope/deb-*/boot/config-*")
	files = append(files, more...)
	if len(files) == 0 {
		t.Skip("no kernel config available")
	}
	for _, f := range files {
		c, err := Open(f)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Enabled("CONFIG_MODULES") {
			t.Errorf("%s: CONFIG_MODULES not set", f)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte("CONFIG_A=y\n# CONFIG_B is not set\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		Parse(bytes.NewReader(data))
	})
}
