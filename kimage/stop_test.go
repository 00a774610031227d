package kimage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sameCerts compares what StopAfterCerts must leave as the whole kernel
// gives it: version, list, certificates.
func sameCerts(t *testing.T, what string, early, full *Image) {
	t.Helper()
	if early.Version != full.Version || early.ListOffset != full.ListOffset || early.ListSize != full.ListSize ||
		early.Format != full.Format || early.Payload != full.Payload || early.PayloadOffset != full.PayloadOffset {
		t.Fatalf("%s: stopped early %q %s %s@%#x list %#x+%d; whole kernel %q %s %s@%#x list %#x+%d", what,
			early.Version, early.Format, early.Payload, early.PayloadOffset, early.ListOffset, early.ListSize,
			full.Version, full.Format, full.Payload, full.PayloadOffset, full.ListOffset, full.ListSize)
	}
	if len(early.Certs) != len(full.Certs) {
		t.Fatalf("%s: %d certificates stopping early, %d from the whole kernel", what, len(early.Certs), len(full.Certs))
	}
	for i := range full.Certs {
		if early.Certs[i].Offset != full.Certs[i].Offset || !bytes.Equal(early.Certs[i].Raw, full.Certs[i].Raw) {
			t.Fatalf("%s: certificate %d differs", what, i)
		}
	}
	for _, o := range early.Other {
		found := false
		for _, f := range full.Other {
			found = found || f.Offset == o.Offset && bytes.Equal(f.Raw, o.Raw)
		}
		if !found {
			t.Fatalf("%s: other certificate at %#x not in the whole kernel's", what, o.Offset)
		}
	}
}

// bigKernel is fakeKernel followed by 1.25 MiB of compressible filler: what
// StopAfterCerts need not decompress.
func bigKernel(t *testing.T, certs [][]byte, bannerLine string) ([]byte, int) {
	k, listOff := fakeKernel(t, certs, 8, binary.LittleEndian, true)
	if bannerLine != testBanner {
		k = bytes.Replace(k, []byte(testBanner), []byte(bannerLine), 1)
	}
	rng := rand.New(rand.NewSource(2))
	tail := make([]byte, 5<<18)
	for i := range tail {
		tail[i] = "abcdefgh"[rng.Intn(8)]
	}
	return append(k, tail...), listOff
}

func TestStopAfterCerts(t *testing.T) {
	a, b, _ := fixtures(t)
	k, listOff := bigKernel(t, [][]byte{a, b}, testBanner)
	early := &Options{StopAfterCerts: true}
	for _, c := range []codec{codecGzip, codecXZ, codecZstd, codecLZMA, codecBzip2, codecLZ4} {
		t.Run(string(c), func(t *testing.T) {
			var z []byte
			if c == codecBzip2 {
				z = compressCLI(t, c, k)
			} else {
				z = compressGo(t, c, k)
			}
			for _, wrap := range []string{"bzImage", "zboot", "file"} {
				var img []byte
				switch wrap {
				case "bzImage":
					img = fakeBzImage(withSize(c, z, len(k)))
				case "zboot":
					if c == codecLZMA || c == codecBzip2 || c == codecLZ4 {
						continue
					}
					img = fakeZboot(withSize(c, z, len(k)), string(c))
				case "file":
					if c != codecGzip && c != codecXZ && c != codecZstd {
						continue
					}
					img = z
				}
				full, err := Parse(img, nil)
				if err != nil {
					t.Fatalf("%s: %v", wrap, err)
				}
				got, err := Parse(img, early)
				if err != nil {
					t.Fatalf("%s, stopping early: %v", wrap, err)
				}
				sameCerts(t, wrap, got, full)
				if full.ListOffset != int64(listOff) || full.Stopped {
					t.Fatalf("%s: whole kernel: list at %#x, stopped %v", wrap, full.ListOffset, full.Stopped)
				}
				// lz4 has no stop; the others stop within a piece past the
				// list (1 MiB for xz and zstd, 256 KiB for the others).
				if c == codecLZ4 {
					if got.Stopped || got.KernelSize != full.KernelSize {
						t.Errorf("%s: lz4 stopped at %d", wrap, got.KernelSize)
					}
					continue
				}
				if !got.Stopped || got.KernelSize >= full.KernelSize || got.KernelSize > int64(listOff)+finderMargin+(1<<20) {
					t.Errorf("%s: stopped %v after %d of %d bytes (list at %#x)", wrap, got.Stopped, got.KernelSize, full.KernelSize, listOff)
				}
				// A payload cut after the list still gives the list (the
				// xz and zstd ends are looked for first).
				if wrap == "bzImage" && c == codecGzip {
					cut := fakeBzImage(z[:len(z)*3/4])
					if _, err := Parse(cut, nil); err == nil {
						t.Errorf("truncated payload parses whole")
					}
					got, err := Parse(cut, early)
					if err != nil || !got.Stopped {
						t.Errorf("truncated payload, stopping early: %v", err)
					} else {
						sameCerts(t, "truncated", got, full)
					}
				}
			}
		})
	}
	// No early stop where the whole kernel could say something else.
	for _, tc := range []struct {
		name   string
		certs  [][]byte
		banner string
	}{
		{"banner without a build number", [][]byte{a, b}, strings.Replace(testBanner, "#1 SMP", "SMP", 1)},
		{"no module_cert_size match", [][]byte{b, a}, testBanner},
	} {
		k, _ := bigKernel(t, tc.certs, tc.banner)
		if tc.name == "no module_cert_size match" {
			// module_cert_size must be the first certificate's size:
			// make it neither that nor 0.
			// After the list (b, a), 8-aligned: its size, then
			// module_cert_size.
			i := bytes.Index(k, a) + len(a)
			for i%8 != 0 {
				i++
			}
			binary.LittleEndian.PutUint64(k[i+8:], 12345)
		}
		img := fakeBzImage(withSize(codecZstd, compressGo(t, codecZstd, k), len(k)))
		full, ferr := Parse(img, nil)
		got, err := Parse(img, early)
		if (err == nil) != (ferr == nil) {
			t.Fatalf("%s: %v; whole kernel %v", tc.name, err, ferr)
		}
		if got.Stopped {
			t.Errorf("%s: stopped early", tc.name)
		}
		sameCerts(t, tc.name, got, full)
	}
	// An ELF vmlinux.gz is read whole (its symbols may locate the list).
	elfK := append([]byte("\x7fELF\x02\x01\x01"), k[7:]...)
	if got, err := Parse(compressGo(t, codecGzip, elfK), early); err == nil && got.Stopped {
		t.Errorf("ELF kernel: stopped early")
	}
}

// TestStopAfterCertsReal: on every real image present, StopAfterCerts gives
// the whole kernel's certificates, list and banner, and says how far in
// it stopped.
func TestStopAfterCertsReal(t *testing.T) {
	if testing.Short() {
		t.Skip("decompresses whole kernels")
	}
	var kernels []string
	for _, tree := range append(realTrees, "/var/cache/kmodscope/abi-6.1.0-5[0-9]-amd64") {
		k, _ := filepath.Glob(tree + "/boot/vmlinu[xz]-*")
		kernels = append(kernels, k...)
	}
	if len(kernels) == 0 {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatal("no real kernel images")
		}
		t.Skip("no real kernel images on this machine")
	}
	seen := map[string]bool{}
	for _, path := range kernels {
		t0 := time.Now()
		got, err := Open(path, &Options{StopAfterCerts: true})
		tEarly := time.Since(t0)
		if err != nil {
			t.Fatalf("%s, stopping early: %v", path, err)
		}
		// One kernel of each kind: they take seconds each. Images read
		// whole anyway (s390's payload is found by scanning; an
		// uncompressed Image) are the same code as without the option.
		if got.Format == fmtBzImage && !got.Stopped {
			t.Errorf("%s: %s payload: did not stop early", path, got.Payload)
		}
		if kind := got.Format + "/" + got.Wrapper + "/" + got.Payload; seen[kind] || !got.Stopped {
			continue
		} else {
			seen[kind] = true
		}
		t0 = time.Now()
		full, err := Open(path, nil)
		tFull := time.Since(t0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		sameCerts(t, path, got, full)
		t.Logf("%s: %s %s payload; stopped %v after %d of %d bytes (%.0f%%; list at %#x); %v instead of %v",
			path, full.Format, full.Payload, got.Stopped, got.KernelSize, full.KernelSize, 100*float64(got.KernelSize)/float64(full.KernelSize), full.ListOffset, tEarly, tFull)
	}
}

// FuzzStopAfterCerts: Parse with StopAfterCerts never panics, fails only
// with *Error, and when it stops early on an image the whole parse
// accepts, gives the same certificates, list and banner.
func FuzzStopAfterCerts(f *testing.F) {
	a, b, _ := fixtures(f)
	k, _ := fakeKernel(f, [][]byte{a, b}, 8, binary.LittleEndian, true)
	big := append(bytes.Clone(k), bytes.Repeat([]byte("abcdefgh"), 1<<17)...)
	for _, c := range []codec{codecGzip, codecZstd} {
		f.Add(fakeBzImage(withSize(c, compressGo(f, c, big), len(big))))
		f.Add(compressGo(f, c, big))
	}
	f.Add(fakeBzImage(withSize(codecZstd, compressGo(f, codecZstd, k), len(k))))
	const limit = 4 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := Parse(data, &Options{MaxSize: limit, StopAfterCerts: true})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T %v is not *Error", err, err)
			}
		}
		if got == nil || !got.Stopped {
			return
		}
		full, ferr := Parse(data, &Options{MaxSize: limit})
		if ferr != nil || len(full.Certs) == 0 {
			return // damaged after the list: only the early parse reads it
		}
		sameCerts(t, "fuzz", got, full)
	})
}
