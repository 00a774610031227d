package disasm

import (
	"bytes"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

// TestRISCVSymbolIsValid: riscv_symbol_is_valid rejects GNU as's fake
// label ".L0 " and the mapping symbols; other local labels are symbols.
func TestRISCVSymbolIsValid(t *testing.T) {
	a := &riscv64Arch{}
	for name, want := range map[string]bool{
		".L0 ": false, "$x": false, "$d": false, "$xrv64i2p1_m2p0_a2p1_c2p0": false, "$d.1": false,
		".L0": true, ".LBB4": true, ".LVL4": true, "crc_itu_t": true, "$a": true, ".L886\x021": true,
	} {
		if got := a.SymbolIsValid(name, 0); got != want {
			t.Errorf("SymbolIsValid(%q) = %v, want %v", name, got, want)
		}
	}
}

func TestAppendSanitized(t *testing.T) {
	for in, want := range map[string]string{
		"crc7_be": "crc7_be", ".L886\x021": ".L886^B1", "\x01\x1f\x7f": "^A^_^\xbf", "": "",
	} {
		if got := string(appendSanitized([]byte("<"), in)); got != "<"+want {
			t.Errorf("appendSanitized(%q) = %q, want %q", in, got, "<"+want)
		}
	}
}

// TestRISCVFixtureSymbols disassembles committed riscv64 fixtures: no
// block or target is named after ".L0 " or a mapping symbol, and lines
// objdump -d -r printed for them (copied from its output) appear verbatim.
func TestRISCVFixtureSymbols(t *testing.T) {
	for _, c := range []struct {
		file   string
		blocks int
		lines  []string
	}{
		{"crc-itu-t.ko.xz", 3, []string{
			"   8:\tca05                \tbeqz\ta2,38 <.LVL4+0xc>\n",
			"  10:\t00068693          \tmv\ta3,a3\n\t\t\t10: R_RISCV_PCREL_LO12_I\t.L0 \n\n0000000000000014 <.LBB4>:\n",
			"  34:\tfec590e3          \tbne\ta1,a2,14 <.LBB4>\n  38:\t60a2                \tld\tra,8(sp)\n",
		}},
		{"lrw.ko.xz", -1, []string{
			" 10e:\tf0090913          \tadd\ts2,s2,-256 # ff00 <.L889^B1+0xf5e0>\n",
			"\n0000000000000304 <.L886^B1>:\n 304:\t0120006f          \tj\t316 <.L10>\n",
		}},
	} {
		p := filepath.Join("..", "testdata", "modules", "riscv64", c.file)
		mod, err := ko.Open(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		d, err := New(mod.ELF)
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		err = d.WriteText(&out, p, nil, TextOptions{Objdump: true})
		mod.Close()
		if err != nil {
			t.Fatal(err)
		}
		text := out.String()
		if m := regexp.MustCompile(`.*<(\.L0 |\$[xd]).*`).FindString(text); m != "" {
			t.Errorf("%s: a fake label or mapping symbol names a block or target:\n%s", c.file, m)
		}
		if n := strings.Count(text, ">:\n"); c.blocks >= 0 && n != c.blocks {
			t.Errorf("%s: %d blocks, objdump prints %d", c.file, n, c.blocks)
		}
		for _, l := range c.lines {
			if !strings.Contains(text, l) {
				t.Errorf("%s: objdump's lines missing:\n%s", c.file, l)
			}
		}
	}
}
