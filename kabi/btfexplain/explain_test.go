package btfexplain

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// kernelBTF builds the raw BTF of a toy kernel: v selects the old (0) or
// new (1) declarations.
func kernelBTF(t testing.TB, v int) []byte {
	t.Helper()
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	longT := &btf.Int{Name: "long", Size: 8, Encoding: btf.Signed}
	charT := &btf.Int{Name: "char", Size: 1, Encoding: btf.Char}
	loff := &btf.Typedef{Name: "loff_t", Type: longT}
	sizeT := &btf.Typedef{Name: "size_t", Type: &btf.Int{Name: "unsigned long", Size: 8}}

	// struct seq_buf loses readpos (Linux commit "seq_buf: Make
	// DECLARE_SEQ_BUF() usable" era: readpos moved to struct trace_seq).
	seqBuf := &btf.Struct{Name: "seq_buf", Size: 32, Members: []btf.Member{
		{Name: "buffer", Type: &btf.Pointer{Target: charT}},
		{Name: "size", Type: sizeT, Offset: 64},
		{Name: "len", Type: sizeT, Offset: 128},
		{Name: "readpos", Type: loff, Offset: 192},
	}}
	traceSeq := &btf.Struct{Name: "trace_seq", Size: 40, Members: []btf.Member{
		{Name: "seq", Type: seqBuf},
		{Name: "full", Type: intT, Offset: 256},
	}}
	if v == 1 {
		seqBuf.Members = seqBuf.Members[:3]
		seqBuf.Size = 24
		traceSeq.Size = 48
		traceSeq.Members = []btf.Member{
			{Name: "seq", Type: seqBuf},
			{Name: "readpos", Type: sizeT, Offset: 192},
			{Name: "full", Type: intT, Offset: 256},
		}
	}
	// struct outer embeds trace_seq: grows, but its declaration is the same.
	outer := &btf.Struct{Name: "outer", Size: 48, Members: []btf.Member{
		{Name: "ts", Type: traceSeq},
		{Name: "flags", Type: intT, Offset: 320},
	}}
	// struct flags: a bitfield widens; an anonymous union member is renamed.
	flagsMembers := []btf.Member{
		{Name: "a", Type: intT, BitfieldSize: 3},
		{Name: "", Type: &btf.Union{Size: 8, Members: []btf.Member{
			{Name: "u_long", Type: longT},
			{Name: "u_int", Type: intT},
		}}, Offset: 64},
	}
	if v == 1 {
		flagsMembers = []btf.Member{
			{Name: "a", Type: intT, BitfieldSize: 5},
			{Name: "", Type: &btf.Union{Size: 8, Members: []btf.Member{
				{Name: "u_long", Type: longT},
				{Name: "u_uint", Type: intT},
			}}, Offset: 64},
		}
	}
	flags := &btf.Struct{Name: "flags", Size: 16, Members: flagsMembers}
	state := &btf.Enum{Name: "state", Size: 4, Values: []btf.EnumValue{{Name: "S_A", Value: 0}, {Name: "S_B", Value: 1}}}
	if v == 1 {
		state.Values = []btf.EnumValue{{Name: "S_A", Value: 0}, {Name: "S_NEW", Value: 1}, {Name: "S_B", Value: 2}}
	}
	stable := &btf.Struct{Name: "stable", Size: 4, Members: []btf.Member{{Name: "x", Type: intT}}}
	// A ring of types big enough to be the shared core, one of which
	// changes (struct ring3 gains a member in v1).
	ring := make([]*btf.Struct, 6)
	for i := range ring {
		ring[i] = &btf.Struct{Name: fmt.Sprintf("ring%d", i), Size: 8}
	}
	for i := range ring {
		ring[i].Members = []btf.Member{{Name: "next", Type: &btf.Pointer{Target: ring[(i+1)%len(ring)]}}}
	}
	if v == 1 {
		ring[3].Members = append(ring[3].Members, btf.Member{Name: "added", Type: intT, Offset: 64})
	}
	fn := func(name string, ret btf.Type, params ...btf.FuncParam) *btf.Func {
		return &btf.Func{Name: name, Type: &btf.FuncProto{Return: ret, Params: params}, Linkage: btf.StaticFunc}
	}
	protoParam := btf.FuncParam{Name: "n", Type: intT}
	if v == 1 {
		protoParam.Type = longT
	}
	types := []btf.Type{
		fn("seq_buf_printf", intT, btf.FuncParam{Name: "s", Type: &btf.Pointer{Target: seqBuf}}),
		fn("trace_seq_printf", intT, btf.FuncParam{Name: "s", Type: &btf.Pointer{Target: traceSeq}}),
		fn("outer_init", &btf.Void{}, btf.FuncParam{Name: "o", Type: &btf.Pointer{Target: outer}}),
		fn("set_flags", &btf.Void{}, btf.FuncParam{Name: "f", Type: &btf.Pointer{Target: &btf.Const{Type: flags}}}),
		fn("get_state", state),
		fn("proto_changed", intT, protoParam),
		fn("stable_fn", intT, btf.FuncParam{Name: "s", Type: &btf.Pointer{Target: stable}}),
		fn("ring_fn", intT, btf.FuncParam{Name: "r", Type: &btf.Pointer{Target: ring[0]}}),
	}
	if v == 1 {
		types = append(types, fn("new_only", intT, btf.FuncParam{Name: "s", Type: &btf.Pointer{Target: seqBuf}}))
	}
	b, err := btf.NewBuilder(types, nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := b.Marshal(nil, btf.KernelMarshalOptions())
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func loadPair(t testing.TB) (*Spec, *Spec) {
	old, err := LoadRaw(kernelBTF(t, 0))
	if err != nil {
		t.Fatal(err)
	}
	new, err := LoadRaw(kernelBTF(t, 1))
	if err != nil {
		t.Fatal(err)
	}
	return old, new
}

func findCause(ex Explanation, typ string) *Cause {
	for i := range ex.Causes {
		if ex.Causes[i].Type == typ {
			return &ex.Causes[i]
		}
	}
	return nil
}

func hasChange(c *Cause, member, change string) bool {
	for _, ch := range c.Changes {
		if ch.Member == member && ch.Change == change {
			return true
		}
	}
	return false
}

func TestExplainSynthetic(t *testing.T) {
	old, new := loadPair(t)
	syms := []string{"seq_buf_printf", "trace_seq_printf", "outer_init", "set_flags", "get_state",
		"proto_changed", "stable_fn", "ring_fn", "__tracepoint_x"}
	res := ExplainOpts(old, new, syms, &Options{CoreMin: 6})

	ex := res.Symbols["seq_buf_printf"]
	c := findCause(ex, "struct seq_buf")
	if ex.Certainty != Candidate || c == nil || !hasChange(c, "readpos", "removed") || c.LayoutOnly || c.Depth != 1 ||
		strings.Join(c.Path, " > ") != "seq_buf_printf(s)" {
		t.Errorf("seq_buf_printf: %+v", ex)
	}

	ex = res.Symbols["trace_seq_printf"]
	if len(ex.Causes) != 2 || ex.Causes[0].Type != "struct trace_seq" || ex.Causes[1].Type != "struct seq_buf" {
		t.Fatalf("trace_seq_printf: want trace_seq then seq_buf (nearest first): %+v", ex)
	}
	if c := ex.Causes[0]; !hasChange(&c, "readpos", "added") || !hasChange(&c, "seq", "resized") || c.LayoutOnly {
		t.Errorf("trace_seq: %+v", c)
	}
	if got := strings.Join(ex.Causes[1].Path, " > "); got != "trace_seq_printf(s) > struct trace_seq.seq" || ex.Causes[1].Depth != 2 {
		t.Errorf("seq_buf path %q depth %d", got, ex.Causes[1].Depth)
	}

	// struct outer only grows because trace_seq does: layout only.
	ex = res.Symbols["outer_init"]
	if c := findCause(ex, "struct outer"); c == nil || !c.LayoutOnly || !hasChange(c, "ts", "resized") || len(c.Changes) != 1 {
		t.Errorf("outer_init: %+v", ex)
	}
	if c := findCause(ex, "struct trace_seq"); c == nil || c.LayoutOnly {
		t.Errorf("outer_init should reach trace_seq: %+v", ex)
	}

	ex = res.Symbols["set_flags"]
	if c := findCause(ex, "struct flags"); c == nil || !hasChange(c, "a", "bitfield") || !hasChange(c, "u_uint", "added") || !hasChange(c, "u_int", "removed") {
		t.Errorf("set_flags (through const, anonymous union flattened): %+v", ex)
	}

	ex = res.Symbols["get_state"]
	if c := findCause(ex, "enum state"); c == nil || !hasChange(c, "S_NEW", "added") || !hasChange(c, "S_B", "value") ||
		strings.Join(c.Path, " > ") != "get_state() return" {
		t.Errorf("get_state: %+v", ex)
	}

	ex = res.Symbols["proto_changed"]
	if ex.Certainty != Certain || len(ex.Causes) == 0 || ex.Causes[0].Kind != "prototype" ||
		!hasChange(&ex.Causes[0], "param n", "retyped") || ex.Causes[0].Changes[0].Old != "int" || ex.Causes[0].Changes[0].New != "long" {
		t.Errorf("proto_changed: %+v", ex)
	}

	ex = res.Symbols["stable_fn"]
	if ex.Certainty != None || ex.Note != NoteNoCause || len(ex.Causes) != 0 {
		t.Errorf("stable_fn: %+v", ex)
	}

	ex = ExplainOpts(old, new, []string{"new_only"}, nil).Symbols["new_only"]
	if ex.Certainty != Candidate || ex.Note != "function only in the BTF of NEW" || findCause(ex, "struct seq_buf") == nil {
		t.Errorf("new_only: %+v", ex)
	}

	ex = res.Symbols["__tracepoint_x"]
	if ex.Certainty != None || ex.Note != NoteNotInBTF {
		t.Errorf("__tracepoint_x: %+v", ex)
	}

	// The ring is the shared core: its change is listed once, and ring_fn
	// refers to it.
	if res.SharedTypes != 6 || len(res.Shared) != 1 || res.Shared[0].Type != "struct ring3" || !hasChange(&res.Shared[0], "added", "added") {
		t.Errorf("shared: %d %+v", res.SharedTypes, res.Shared)
	}
	ex = res.Symbols["ring_fn"]
	if ex.Certainty != Candidate || len(ex.Causes) != 1 || ex.Causes[0].Kind != "shared" || ex.Causes[0].Type != "struct ring0" {
		t.Errorf("ring_fn: %+v", ex)
	}
	// Without a core (default CoreMin), ring3 is reported per symbol.
	res = Explain(old, new, []string{"ring_fn"})
	if ex := res.Symbols["ring_fn"]; res.SharedTypes != 0 || findCause(ex, "struct ring3") == nil ||
		findCause(ex, "struct ring3").Depth != 4 {
		t.Errorf("ring_fn without core: %+v", ex)
	}
	// Identical kernels: nothing changed anywhere.
	res = Explain(old, old, syms)
	for _, s := range syms[:8] {
		if ex := res.Symbols[s]; ex.Certainty != None || ex.Note != NoteNoCause {
			t.Errorf("%s against itself: %+v", s, ex)
		}
	}
}

// TestLoadImageRaw: a gzip'd raw kernel with the BTF blob somewhere inside
// (as in an arm64 Image.gz) is found by its header.
func TestLoadImageRaw(t *testing.T) {
	raw := kernelBTF(t, 1)
	img := append(bytes.Repeat([]byte{0x90}, 4096), btfMagic[:4]...) // a false start
	img = append(img, 0, 0, 0, 0)
	img = append(img, raw...)
	img = append(img, bytes.Repeat([]byte{0}, 1000)...)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(img)
	w.Close()
	s, err := LoadImage(gz.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !s.HasFunc("seq_buf_printf") || s.HasFunc("nope") {
		t.Errorf("functions not found")
	}
	// No BTF: an error naming the cause.
	gz.Reset()
	w = gzip.NewWriter(&gz)
	w.Write(bytes.Repeat([]byte{1}, 5000))
	w.Close()
	if _, err := LoadImage(gz.Bytes()); err == nil || !strings.Contains(err.Error(), "no BTF") {
		t.Errorf("want a no-BTF error, got %v", err)
	}
	// Truncated BTF: an error, not a panic.
	if _, err := LoadRaw(raw[:len(raw)/2]); err == nil {
		t.Errorf("truncated BTF loaded")
	}
}

var update = flag.Bool("update", false, "rewrite testdata/kabi/toy-*.img.gz")

// TestToyImages keeps the committed toy kernel images (gzip'd raw kernels
// holding the BTF of kernelBTF) that the CLI tests use in sync; regenerate
// with: go test ./kabi/btfexplain -run TestToyImages -update
func TestToyImages(t *testing.T) {
	for v, name := range []string{"toy-old.img.gz", "toy-new.img.gz"} {
		p := filepath.Join("..", "..", "testdata", "kabi", name)
		img := append(bytes.Repeat([]byte{0x90}, 512), kernelBTF(t, v)...)
		if *update {
			var gz bytes.Buffer
			w, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
			w.Write(img)
			w.Close()
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, gz.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (regenerate: go test ./kabi/btfexplain -run TestToyImages -update)", err)
		}
		z, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(z)
		if !bytes.Equal(got, img) {
			t.Errorf("%s: needs to be regenerated; run go test ./kabi/btfexplain -run TestToyImages -update", p)
		}
	}
}

func TestFindModule(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "kernel/fs/ext4"), 0o755)
	os.MkdirAll(filepath.Join(dir, "extra"), 0o755)
	os.WriteFile(filepath.Join(dir, "kernel/fs/ext4/ext4.ko.xz"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, "extra/foo.ko"), nil, 0o644)
	if p, ok := FindModule(dir, "fs/ext4/ext4"); !ok || p != filepath.Join(dir, "kernel/fs/ext4/ext4.ko.xz") {
		t.Errorf("ext4: %q %v", p, ok)
	}
	if p, ok := FindModule(dir, "extra/foo"); !ok || p != filepath.Join(dir, "extra/foo.ko") {
		t.Errorf("foo: %q %v", p, ok)
	}
	if _, ok := FindModule(dir, "fs/nope"); ok {
		t.Errorf("found a missing module")
	}
}
