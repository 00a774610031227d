package kostrip_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/kostrip"
)

// FuzzStrip: Strip never panics; what it returns parses with elfx, keeps a
// readable symbol table, and is a fixed point of Strip.
//
//	go test -run XXX -fuzz FuzzStrip ./kostrip
func FuzzStrip(f *testing.F) {
	for _, tg := range targets {
		data, _ := synthetic(tg)
		f.Add(data, uint8(0))
		f.Add(data, uint8(1))
	}
	for _, p := range []string{"../testdata/modules/amd64/crc7.ko", "../testdata/modules/armhf/crc7.ko", "../testdata/modules/s390x/crc7.ko", "../testdata/modules/i386/crc7.ko"} {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(data, uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, m uint8) {
		opt := kostrip.Options{Mode: kostrip.Mode(m % 2)}
		if m&2 != 0 {
			opt.Remove = []string{".comment"}
		}
		res, err := kostrip.Strip(data, opt)
		if err != nil {
			return
		}
		g, err := elfx.New(res.Image)
		if err != nil {
			t.Fatalf("output does not parse: %v", err)
		}
		if _, err := g.Symbols(); err != nil {
			t.Fatalf("output symbols: %v", err)
		}
		again, err := kostrip.Strip(res.Image, opt)
		if err != nil {
			t.Fatalf("stripping the output: %v", err)
		}
		if !bytes.Equal(again.Image, res.Image) {
			t.Fatalf("not a fixed point")
		}
	})
}
