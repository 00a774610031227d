package kostrip_test

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/kostrip"
)

// TestRandomMutations runs Strip on randomly corrupted synthetic modules of
// every class, byte order and machine (a deterministic complement to
// FuzzStrip that runs in every `go test`): no panic, and any result parses
// and is a fixed point.
func TestRandomMutations(t *testing.T) {
	n := 3000
	if testing.Short() {
		n = 500
	}
	r := rand.New(rand.NewSource(7))
	for _, tg := range targets {
		data, _ := synthetic(tg)
		for i := 0; i < n; i++ {
			b := bytes.Clone(data)
			for k := 0; k < 1+r.Intn(4); k++ {
				b[r.Intn(len(b))] = byte(r.Intn(256))
			}
			opt := kostrip.Options{Mode: kostrip.Mode(i % 2)}
			res, err := kostrip.Strip(b, opt)
			if err != nil {
				continue
			}
			if _, err := elfx.New(res.Image); err != nil {
				t.Fatalf("%v mutation %d: output does not parse: %v", tg, i, err)
			}
			again, err := kostrip.Strip(res.Image, opt)
			if err != nil || !bytes.Equal(again.Image, res.Image) {

				t.Fatalf("%v mutation %d: not a fixed point: %v", tg, i, err)
			}
		}
	}
}
