package kimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

func FuzzParse(f *testing.F) {
	a, _, _ := fixtures(f)
	k, _ := fakeKernel(f, [][]byte{a}, 8, binary.LittleEndian, true)
	k256, _ := fakeKernel(f, [][]byte{a}, 256, binary.BigEndian, false)
	f.Add(k)
	f.Add(fakeARM64(k256))
	for _, c := range []codec{codecGzip, codecXZ, codecZstd, codecLZ4, codecLZMA} {
		z := compressGo(f, c, k)
		f.Add(fakeBzImage(withSize(c, z, len(k))))
		f.Add(fakeS390(z))
	}
	f.Add(fakeZboot(compressGo(f, codecZstd, k256), "zstd"))
	f.Add(compressGo(f, codecGzip, fakeARM64(k256)))
	f.Add(fakeBzImage(append(bytes.Clone(magicLZO), make([]byte, 32)...)))
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := Parse(data, &Options{MaxSize: limit})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
			if img != nil && !errors.Is(err, ErrNoCerts) {
				t.Fatalf("image with error %v", err)
			}
		}
		if img == nil {
			return
		}
		if img.KernelSize > limit {
			t.Fatalf("kernel of %d bytes over the limit", img.KernelSize)
		}
		for _, c := range append(append([]Cert(nil), img.Certs...), img.Other...) {
			if c.Cert == nil || c.Offset < 0 || c.Offset+int64(len(c.Raw)) > img.KernelSize {
				t.Fatalf("bad cert at %d", c.Offset)
			}
		}
		for i := 1; i < len(img.Certs); i++ {
			if img.Certs[i].Offset < img.Certs[i-1].Offset+int64(len(img.Certs[i-1].Raw)) {
				t.Fatalf("certs out of order or overlapping")
			}
		}
	})
}
