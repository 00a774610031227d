package kimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"path/filepath"
	"testing"
)

// checkImage verifies the certificates found in a synthetic image.
func checkImage(t *testing.T, img *Image, err error, format, payload string, k []byte, listOff int, want [][]byte) {
	t.Helper()
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if img.Format != format || img.Payload != payload {
		t.Errorf("format %q payload %q; want %q %q", img.Format, img.Payload, format, payload)
	}
	if img.Version != testBanner {
		t.Errorf("version %q", img.Version)
	}
	if img.ListOffset != int64(listOff) {
		t.Errorf("ListOffset %d; want %d", img.ListOffset, listOff)
	}
	if len(img.Certs) != len(want) {
		t.Fatalf("%d certs; want %d", len(img.Certs), len(want))
	}
	off := listOff
	for i, c := range img.Certs {
		if !bytes.Equal(c.Raw, want[i]) || c.Offset != int64(off) {
			t.Errorf("cert %d at %d (%d bytes); want %d (%d bytes)", i, c.Offset, len(c.Raw), off, len(want[i]))
		}
		if !bytes.Equal(k[c.Offset:c.Offset+int64(len(c.Raw))], c.Raw) {
			t.Errorf("cert %d: Raw differs from the kernel at its offset", i)
		}
		off += len(want[i])
	}
	if len(img.Other) != 1 || img.Other[0].Cert.Subject.CommonName != "Self-test key" {
		t.Errorf("Other = %d certs; want the decoy", len(img.Other))
	}
}

var allCodecs = []codec{codecGzip, codecXZ, codecZstd, codecLZ4, codecBzip2, codecLZMA}

func TestBzImage(t *testing.T) {
	a, b, _ := fixtures(t)
	k, listOff := fakeKernel(t, [][]byte{a, b}, 8, binary.LittleEndian, true)
	for _, c := range allCodecs {
		for _, tool := range []string{"go", "cli"} {
			t.Run(string(c)+"/"+tool, func(t *testing.T) {
				var z []byte
				if tool == "go" {
					if c == codecBzip2 {
						t.Skip("no Go bzip2 encoder")
					}
					z = compressGo(t, c, k)
				} else {
					z = compressCLI(t, c, k)
				}
				img, err := Parse(fakeBzImage(withSize(c, z, len(k))), nil)
				checkImage(t, img, err, "bzImage", string(c), k, listOff, [][]byte{a, b})
			})
		}
	}
}

func TestARM64(t *testing.T) {
	a, b, _ := fixtures(t)
	// arm64's ".align 8" is 256 bytes.
	k, listOff := fakeKernel(t, [][]byte{a, b}, 256, binary.LittleEndian, true)
	k = fakeARM64(k)
	t.Run("Image", func(t *testing.T) {
		img, err := Parse(k, nil)
		checkImage(t, img, err, "arm64 Image", "none", k, listOff, [][]byte{a, b})
	})
	t.Run("Image.gz", func(t *testing.T) {
		img, err := Parse(compressGo(t, codecGzip, k), nil)
		checkImage(t, img, err, "arm64 Image", "gzip", k, listOff, [][]byte{a, b})
		if img.Wrapper != "gzip" {
			t.Errorf("wrapper %q", img.Wrapper)
		}
	})
	for _, c := range []codec{codecGzip, codecZstd, codecXZ, codecLZ4} {
		t.Run("zboot/"+string(c), func(t *testing.T) {
			img, err := Parse(fakeZboot(compressGo(t, c, k), string(c)), nil)
			checkImage(t, img, err, "arm64 Image", string(c), k, listOff, [][]byte{a, b})
			if img.Wrapper != "EFI zboot" {
				t.Errorf("wrapper %q", img.Wrapper)
			}
		})
	}
}

func TestS390(t *testing.T) {
	a, b, _ := fixtures(t)
	k, listOff := fakeKernel(t, [][]byte{a, b}, 8, binary.BigEndian, true)
	for _, c := range []codec{codecGzip, codecXZ, codecZstd, codecLZ4, codecLZMA} {
		t.Run(string(c), func(t *testing.T) {
			img, err := Parse(fakeS390(withSize(c, compressGo(t, c, k), len(k))), nil)
			checkImage(t, img, err, "s390 image", string(c), k, listOff, [][]byte{a, b})
		})
	}
	t.Run("uncompressed", func(t *testing.T) {
		img := fakeS390(nil)
		off := len(img)
		img = append(img, k...)
		got, err := Parse(img, nil)
		checkImage(t, got, err, "s390 image", "none", img, off+listOff, [][]byte{a, b})
	})
}

func TestRawAndUnknownWrapper(t *testing.T) {
	a, b, _ := fixtures(t)
	k, listOff := fakeKernel(t, [][]byte{a, b}, 8, binary.LittleEndian, true)
	t.Run("raw", func(t *testing.T) {
		img, err := Parse(k, nil)
		checkImage(t, img, err, "raw", "none", k, listOff, [][]byte{a, b})
	})
	t.Run("zstd inside unknown container", func(t *testing.T) {
		img := append(bytes.Repeat([]byte{0x90}, 3000), compressGo(t, codecZstd, k)...)
		img = append(img, "trailer"...)
		got, err := Parse(img, nil)
		checkImage(t, got, err, "raw", "zstd", k, listOff, [][]byte{a, b})
		if got.PayloadOffset != 3000 {
			t.Errorf("PayloadOffset %d", got.PayloadOffset)
		}
	})
	t.Run("single cert, 32-bit size word", func(t *testing.T) {
		var buf bytes.Buffer
		buf.WriteString(testBanner + "\n")
		for buf.Len()%8 != 0 {
			buf.WriteByte(0)
		}
		off := buf.Len()
		buf.Write(a)
		for buf.Len()%8 != 0 {
			buf.WriteByte(0)
		}
		buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(a))))
		buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(a))))
		img, err := Parse(buf.Bytes(), nil)
		if err != nil || len(img.Certs) != 1 || img.ListOffset != int64(off) || img.ListSize != int64(len(a)) {
			t.Fatalf("Parse = %+v, %v", img, err)
		}
	})
}

// TestListNotLocated: without a size word every parseable certificate is
// reported, in order.
func TestListNotLocated(t *testing.T) {
	a, b, d := fixtures(t)
	k := append([]byte(testBanner+"\n"), d...)
	k = append(k, "xyz"...)
	k = append(k, a...)
	k = append(k, b...)
	k = append(k, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	img, err := Parse(k, nil)
	if err != nil {
		t.Fatal(err)
	}
	if img.ListOffset != -1 || len(img.Certs) != 3 || len(img.Other) != 0 {
		t.Fatalf("ListOffset %d, %d certs, %d other", img.ListOffset, len(img.Certs), len(img.Other))
	}
	for i, w := range [][]byte{d, a, b} {
		if !bytes.Equal(img.Certs[i].Raw, w) {
			t.Errorf("cert %d differs", i)
		}
	}
}

func TestErrors(t *testing.T) {
	a, b, _ := fixtures(t)
	k, _ := fakeKernel(t, [][]byte{a, b}, 8, binary.LittleEndian, false)
	z := compressGo(t, codecXZ, k)
	good := fakeBzImage(withSize(codecXZ, z, len(k)))

	noCerts := bytes.Replace(bytes.Clone(k), a[:8], []byte("notacert"), -1)
	noCerts = bytes.Replace(noCerts, b[:8], []byte("notacert"), -1)

	corrupt := bytes.Clone(good)
	mid := len(good) - 64 - len(z)/2
	for i := mid; i < mid+16; i++ {
		corrupt[i] ^= 0x55
	}

	lzo := fakeBzImage(append(append(bytes.Clone(magicLZO), make([]byte, 64)...), 0, 0, 0, 0))

	tests := []struct {
		name string
		data []byte
		opt  *Options
		want error
	}{
		{"empty", nil, nil, ErrNoPayload},
		{"garbage", bytes.Repeat([]byte("garbage!"), 1000), nil, ErrNoPayload},
		{"truncated bzImage", good[:len(good)/2], nil, ErrTruncated},
		{"header only", good[:0x300], nil, ErrTruncated},
		{"corrupt payload", corrupt, nil, ErrCorrupt},
		{"no certificates", fakeBzImage(withSize(codecGzip, compressGo(t, codecGzip, noCerts), len(noCerts))), nil, ErrNoCerts},
		{"lzo", lzo, nil, ErrUnsupported},
		{"over the limit", good, &Options{MaxSize: int64(len(k)) - 1}, ErrTooLarge},
		{"file over the limit", good, &Options{MaxSize: 100}, ErrTooLarge},
		{"corrupt gzip file", append(compressGo(t, codecGzip, k)[:200], make([]byte, 100)...), nil, ErrCorrupt},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			img, err := Parse(tc.data, tc.opt)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v; want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err %T is not *Error", err)
			}
			t.Logf("%v", err)
			if tc.want == ErrNoCerts {
				if img == nil || img.Format != "bzImage" || img.Version != testBanner {
					t.Errorf("image %+v; want the format and version with ErrNoCerts", img)
				}
			} else if img != nil {
				t.Errorf("image %+v with error", img)
			}
		})
	}
	if _, err := Parse(good, nil); err != nil {
		t.Fatalf("good image: %v", err)
	}
}

// TestTruncatedEverywhere cuts a small bzImage at many lengths: always an
// *Error, never a panic.
func TestTruncatedEverywhere(t *testing.T) {
	a, b, _ := fixtures(t)
	k, _ := fakeKernel(t, [][]byte{a, b}, 8, binary.LittleEndian, false)
	for _, c := range []codec{codecGzip, codecXZ, codecZstd, codecLZ4} {
		img := fakeBzImage(withSize(c, compressGo(t, c, k), len(k)))
		for n := 0; n < len(img)-64; n += 1 + n/50 { // 64: padding after the payload
			_, err := Parse(img[:n], nil)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s cut at %d: err %v", c, n, err)
			}
		}
	}
}

func TestBanner(t *testing.T) {
	k := []byte("Linux version %s\x00Linux version 6.1.0-56-amd64 (x@y) # SMP Debian\n\x00Linux version 6.1.0-56-amd64 (x@y) #1 SMP Debian\n")
	if got := banner(k); got != "Linux version 6.1.0-56-amd64 (x@y) #1 SMP Debian" {
		t.Errorf("banner = %q", got)
	}
	if got := banner([]byte("Linux version 5.10.0 (a) (b) # SMP\n")); got != "Linux version 5.10.0 (a) (b) # SMP" {
		t.Errorf("banner = %q", got)
	}
}

func TestDecompressRealBzImage(t *testing.T) {
	imgs, _ := filepath.Glob("/work/shared/corpus/debian/amd64/boot/vmlinuz-*")
	if len(imgs) == 0 {
		t.Skip("no corpus image")
	}
	k, err := OpenKernel(imgs[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	if k.Format != "bzImage" || k.Payload != "xz" || !bytes.HasPrefix(k.Data, []byte("\x7fELF")) {
		t.Fatalf("format %q payload %q, data starts %q", k.Format, k.Payload, k.Data[:4])
	}
	if _, err := Decompress([]byte("not a kernel at all"), nil); err == nil {
		t.Fatal("garbage decompressed")
	}
}
