package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	toyOld = "../../testdata/kabi/toy-old.img.gz"
	toyNew = "../../testdata/kabi/toy-new.img.gz"
)

// TestKabiExplainToy runs the command on the committed toy kernels (see
// kabi/btfexplain TestToyImages): text and JSON, symbols given or taken
// from two Module.symvers.
func TestKabiExplainToy(t *testing.T) {
	out, stderr, code := secRun("kabi", "explain", toyOld, toyNew, "trace_seq_printf", "proto_changed", "stable_fn", "data_sym")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, want := range []string{
		"# candidate causes:",
		"data_sym: none\n  not in BTF\n",
		"proto_changed: certain\n  prototype func proto_changed\n      param n retyped: int -> long\n",
		"stable_fn: none\n  no BTF-visible cause\n",
		"trace_seq_printf: candidate\n  type struct trace_seq via trace_seq_printf(s)\n",
		"  type struct seq_buf via trace_seq_printf(s) > struct trace_seq.seq\n      readpos removed: was loff_t\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.symvers"), filepath.Join(dir, "b.symvers")
	os.WriteFile(a, []byte("0x00000001\tseq_buf_printf\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tstable_fn\tvmlinux\tEXPORT_SYMBOL\t\n0x00000003\tmod_fn\tdrivers/x/m\tEXPORT_SYMBOL_GPL\t\n"), 0o644)
	os.WriteFile(b, []byte("0x00000009\tseq_buf_printf\tvmlinux\tEXPORT_SYMBOL\t\n0x00000002\tstable_fn\tvmlinux\tEXPORT_SYMBOL\t\n0x00000004\tmod_fn\tdrivers/x/m\tEXPORT_SYMBOL_GPL\t\n"), 0o644)
	out, stderr, code = secRun("kabi", "explain", "--json", "-E", a, "-E", b, toyOld, toyNew)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var doc kabiExplainDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Schema != "kmodscope.kabi-explain/v1" || len(doc.Symbols) != 2 {
		t.Fatalf("%+v", doc)
	}
	s0, s1 := doc.Symbols[0], doc.Symbols[1]
	if s0.Symbol != "mod_fn" || s0.Module != "drivers/x/m" || s0.Note != noteModuleNotLoaded {
		t.Errorf("mod_fn: %+v", s0)
	}
	if s1.Symbol != "seq_buf_printf" || s1.Module != "vmlinux" || s1.Certainty != "candidate" || len(s1.Causes) != 1 ||
		s1.Causes[0].Type != "struct seq_buf" || s1.Causes[0].Changes[0].Member != "readpos" || s1.Causes[0].Changes[0].Change != "removed" {
		t.Errorf("seq_buf_printf: %+v", s1)
	}
	// Module trees given, module absent from them: said so.
	out, _, code = secRun("kabi", "explain", "--json", "-E", a, "-E", b, "--old-modules", dir, "--new-modules", dir, toyOld, toyNew, "mod_fn")
	if code != 0 || !strings.Contains(out, noteModuleMissing) {
		t.Errorf("exit %d: %s", code, out)
	}
}
