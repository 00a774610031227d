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
