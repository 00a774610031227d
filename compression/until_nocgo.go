//go:build !cgo

package compression

import (
	"bytes"

	"github.com/xi2/xz"
)

// xzStepper starts a pooled xi2/xz reader on src (as decompressXZ does);
// done returns it to the pool unless decoding failed.
func xzStepper(src []byte) (stepper, func(bool), error) {
	r := xzReaders.Get().(*xz.Reader)
	if err := r.Reset(bytes.NewReader(src)); err != nil {
		return nil, nil, xi2Error(err)
	}
	return xi2Stepper{&readerStepper{r: r}}, func(ok bool) {
		if ok {
			xzReaders.Put(r)
		}
	}, nil
}

// xi2Stepper rewords xi2/xz's errors as decodeXZ does.
type xi2Stepper struct{ s *readerStepper }

func (x xi2Stepper) step(dst []byte) (int, bool, error) {
	n, done, err := x.s.step(dst)
	if err != nil {
		err = xi2Error(err)
	}
	return n, done, err
}
