package realkernel

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestDedupRetry(t *testing.T) {
	for _, tc := range []struct{ in, want []string }{
		{nil, nil},
		{[]string{"a"}, []string{"a"}},
		{[]string{"a", "a"}, []string{"a"}},
		{[]string{"a", "b", "a", "b"}, []string{"a", "b"}},
		// the once-only E notice appears in the first attempt only
		{[]string{"E", "d", "u", "d", "u"}, []string{"E", "d", "u"}},
		{[]string{"E", "u1", "u2", "u1", "u2"}, []string{"E", "u1", "u2"}},
		// nothing repeated: kept as is
		{[]string{"a", "b", "c"}, []string{"a", "b", "c"}},
	} {
		got := DedupRetry(tc.in)
		if len(got) == 0 && len(tc.want) == 0 {
			continue
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("DedupRetry(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestParseReport(t *testing.T) {
	const p = "KMSRKabc"
	console := "\x1bc\x1b[?7l\x1b[2J" + p + " BEGIN\r\n" +
		p + " SETUP dep usbcore.ko: 0\r\n" +
		p + " TAINT0 0\r\n" +
		"[    3.1] random console noise\r\n" +
		p + " RC 22\r\n" +
		p + " ERR insmod: can't insert '/m/t.ko': Invalid argument\r\n" +
		p + " DM [    4.123456] x: module verification failed: signature and/or required key missing - tainting kernel\r\n" +
		p + " DM [    4.123500] x: Unknown symbol foo (err -22)\r\n" +
		p + " DM [    4.133500] x: Unknown symbol foo (err -22)\r\n" +
		p + " MOD usbcore 1 0 - Live 0x0\r\n" +
		p + " TAINT 8192\r\n" +
		p + " END\r\n"
	var o Outcome
	if err := parseReport(&o, []byte(console), p, "x"); err != nil {
		t.Fatal(err)
	}
	if o.ExitStatus != 22 || o.Errno != "EINVAL" || o.KernelTainted != 8192 || o.ProcModules != "" || o.Taints != "" {
		t.Errorf("%+v", o)
	}
	if len(o.DmesgRaw) != 3 || len(o.Dmesg) != 2 || !strings.HasPrefix(o.Dmesg[0], "x: module verification") {
		t.Errorf("dmesg %q raw %q", o.Dmesg, o.DmesgRaw)
	}
	if o.InsmodStderr != "insmod: can't insert '/m/t.ko': Invalid argument" {
		t.Errorf("stderr %q", o.InsmodStderr)
	}
	if err := parseReport(&Outcome{}, []byte(p+" BEGIN\n"), p, "x"); err == nil {
		t.Error("incomplete report accepted")
	}
}

func TestModuleTaints(t *testing.T) {
	if got := moduleTaints("crc7 16384 0 - Live 0xffffffffc041c000 (OE)"); got != "OE" {
		t.Errorf("got %q", got)
	}
	if got := moduleTaints("crc7 16384 0 - Live 0xffffffffc041c000"); got != "" {
		t.Errorf("got %q", got)
	}
}

func TestCpio(t *testing.T) {
	w := newCpio()
	w.dir("bin")
	w.file("init", []byte("#!/bin/sh\n"), 0o755)
	w.charDev("dev/console", 5, 1)
	img, err := w.finish()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(img))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(zr)
	if len(raw)%4 != 0 || !bytes.HasPrefix(raw, []byte("070701")) || !bytes.Contains(raw, []byte("TRAILER!!!\x00")) {
		t.Errorf("bad archive %q", raw[:32])
	}
}

func TestBootImagePVH(t *testing.T) {
	imgs, _ := filepath.Glob("/work/shared/corpus/debian/amd64/boot/vmlinuz-*")
	if len(imgs) == 0 {
		t.Skip("no corpus kernel image")
	}
	p, err := bootImage(imgs[0])
	if err != nil {
		t.Fatal(err)
	}
	if p == imgs[0] {
		t.Fatalf("Debian's amd64 kernel (CONFIG_PVH=y) is booted as a bzImage")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if !hasPVHNote(data) {
		t.Fatalf("%s has no PVH note", p)
	}
	if hasPVHNote([]byte("\x7fELF garbage")) || hasPVHNote(nil) {
		t.Fatal("garbage has a PVH note")
	}
}

// TestParseReportSteps: each step's lines go to its own outcome, the
// flush marker is dropped, and a failed step's retry copy is removed.
func TestParseReportSteps(t *testing.T) {
	const p = "KMSRKdef"
	console := p + " BEGIN\r\n" +
		p + " TAINT0 0\r\n" + p + " RC 0\r\n" +
		p + " DM [    1.0] " + p + " FLUSH\r\n" +
		p + " MOD m 16384 0 - Live 0xffffffffc0000000 (OE)\r\n" + p + " TAINT 12288\r\n" +
		p + " STEP 1\r\n" + p + " TAINT0 12288\r\n" + p + " RC 22\r\n" +
		p + " ERR insmod: can't insert '/m/t.ko': Invalid argument\r\n" +
		p + " DM [    2.0] m: `x' invalid for parameter `a'\r\n" +
		p + " DM [    2.1] m: `x' invalid for parameter `a'\r\n" +
		p + " DM [    2.2] " + p + " FLUSH\r\n" + p + " TAINT 12288\r\n" +
		p + " STEP 2\r\n" + p + " TAINT0 12288\r\n" + p + " RC 0\r\n" +
		p + " DM [    3.0] m: unknown parameter 'b' ignored\r\n" +
		p + " MOD m 16384 0 - Live 0xffffffffc0000000 (OE)\r\n" + p + " TAINT 12288\r\n" +
		p + " END\r\n"
	var o Outcome
	if err := parseReport(&o, []byte(console), p, "m"); err != nil {
		t.Fatal(err)
	}
	if o.ExitStatus != 0 || o.Taints != "OE" || len(o.Dmesg) != 0 || len(o.Steps) != 2 {
		t.Fatalf("main outcome %+v", o)
	}
	s1, s2 := o.Steps[0], o.Steps[1]
	if s1.ExitStatus != 22 || s1.Errno != "EINVAL" || !reflect.DeepEqual(s1.Dmesg, []string{"m: `x' invalid for parameter `a'"}) ||
		len(s1.DmesgRaw) != 2 || s1.ProcModules != "" || !strings.Contains(s1.InsmodStderr, "Invalid argument") || s1.KernelTaintedBefore != 12288 {
		t.Errorf("step 1 %+v", s1)
	}
	if s2.ExitStatus != 0 || s2.Taints != "OE" || !reflect.DeepEqual(s2.Dmesg, []string{"m: unknown parameter 'b' ignored"}) {
		t.Errorf("step 2 %+v", s2)
	}
	// A missing step is an incomplete report.
	cut := strings.Replace(console, p+" STEP 2\r\n", p+" STEP 3\r\n", 1)
	if err := parseReport(&Outcome{}, []byte(cut), p, "m"); err == nil {
		t.Error("a skipped step number was accepted")
	}
}
