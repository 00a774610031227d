package symvers

import (
	"bytes"
	"testing"
)

func TestWriteRoundTrip(t *testing.T) {
	syms := []Symbol{
		{Name: "phys_base", CRC: 0x4c9d28b0, Module: "vmlinux"},
		{Name: "usb_stor_probe1", CRC: 0xdeadbeef, Module: "drivers/usb/storage/usb-storage", GPLOnly: true, Namespace: "USB_STORAGE"},
		{Name: "nocrc", Module: "extra/foo"},
	}
	var b bytes.Buffer
	if err := Write(&b, syms); err != nil {
		t.Fatal(err)
	}
	want := "0x4c9d28b0\tphys_base\tvmlinux\tEXPORT_SYMBOL\t\n" +
		"0xdeadbeef\tusb_stor_probe1\tdrivers/usb/storage/usb-storage\tEXPORT_SYMBOL_GPL\tUSB_STORAGE\n" +
		"0x00000000\tnocrc\textra/foo\tEXPORT_SYMBOL\t\n"
	if b.String() != want {
		t.Fatalf("Write = %q, want %q", b.String(), want)
	}
	tb, err := Parse(&b)
	if err != nil {
		t.Fatal(err)
	}
	for i := range syms {
		if tb.Symbols[i] != syms[i] {
			t.Errorf("line %d: %+v, want %+v", i+1, tb.Symbols[i], syms[i])
		}
	}
	n := New(append(syms, Symbol{Name: "phys_base", CRC: 1, Module: "vmlinux"}))
	if s, ok := n.Lookup("phys_base"); !ok || s.CRC != 1 {
		t.Errorf("New: the last of two lines should win, got %+v", s)
	}
}
