package kimage

import (
	"bytes"
	"compress/gzip"
	"errors"
	"testing"
)

func TestDecompress(t *testing.T) {
	kern := append([]byte("\x7fELF\x02\x01\x01"), bytes.Repeat([]byte{0}, 4096)...)
	var gz bytes.Buffer
	w := gzip.NewWriter(&gz)
	w.Write(kern)
	w.Close()
	k, err := Decompress(gz.Bytes(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Data, kern) || k.Wrapper != "gzip" || k.Format != fmtELF {
		t.Errorf("got format %q wrapper %q, %d bytes", k.Format, k.Wrapper, len(k.Data))
	}
	if _, err := Decompress(gz.Bytes(), &Options{MaxSize: 100}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("limit: %v", err)
	}
	if _, err := Decompress(gz.Bytes()[:40], nil); err == nil {
		t.Errorf("truncated gzip decompressed")
	}
}
