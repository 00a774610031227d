package compression

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"runtime"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// checkErr requires err to be one of the package's error types and out to
// respect the limit.
func checkErr(t *testing.T, what string, out []byte, err error, limit int64) {
	t.Helper()
	if int64(len(out)) > limit {
		t.Fatalf("%s: %d bytes of output over the %d-byte limit", what, len(out), limit)
	}
	if err == nil {
		return
	}
	var ce *CorruptError
	var le *LimitError
	if !errors.As(err, &ce) && !errors.As(err, &le) {
		t.Fatalf("%s: error %T %v; want *CorruptError or *LimitError", what, err, err)
	}
}

func testdataPair(t *testing.T, f Format) (src, want []byte) {
	t.Helper()
	var err error
	if want, err = os.ReadFile("testdata/crc7.ko"); err != nil {
		t.Fatal(err)
	}
	if src, err = os.ReadFile("testdata/crc7.ko" + ext(f)); err != nil {
		t.Fatal(err)
	}
	return src, want
}

func TestEmpty(t *testing.T) {
	for _, f := range formats {
		_, err := Decompress(f, nil, 0)
		var ce *CorruptError
		if !errors.As(err, &ce) || !errors.Is(err, ErrTruncated) || ce.Format != f {
			t.Errorf("Decompress(%v, empty) err = %v; want *CorruptError for ErrTruncated", f, err)
		}
	}
}

// TestTruncated cuts each committed file at every length: all must fail
// with a *CorruptError.
func TestTruncated(t *testing.T) {
	for _, f := range formats {
		src, _ := testdataPair(t, f)
		for n := 0; n < len(src); n++ {
			_, err := Decompress(f, src[:n], 0)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				t.Fatalf("Decompress(%v, first %d of %d bytes) err = %v; want *CorruptError", f, n, len(src), err)
			}
		}
	}
}

// TestCorruptBytes changes each byte of the committed files: the result must
// be an error of ours or, where the byte does not matter (e.g. the gzip
// time stamp), the original.
func TestCorruptBytes(t *testing.T) {
	for _, f := range formats {
		src, want := testdataPair(t, f)
		bad := 0
		for i := range src {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				b := bytes.Clone(src)
				b[i] ^= x
				out, err := Decompress(f, b, 1<<20)
				checkErr(t, f.String(), out, err, 1<<20)
				if err == nil && !bytes.Equal(out, want) {
					t.Fatalf("%v: byte %d ^ %#x: no error but wrong output", f, i, x)
				}
				if err != nil {
					bad++
				}
			}
		}
		t.Logf("%v: %d of %d changed files rejected", f, bad, 3*len(src))
	}
}

func TestTrailingGarbage(t *testing.T) {
	for _, f := range formats {
		src, _ := testdataPair(t, f)
		for _, tail := range []string{"x", "garbage", "\x00\x00\x00\x01", string(src[:8])} {
			b := append(bytes.Clone(src), tail...)
			out, err := Decompress(f, b, 0)
			var ce *CorruptError
			if !errors.As(err, &ce) || out != nil {
				t.Errorf("Decompress(%v, file + %q) = %d bytes, %v; want *CorruptError", f, tail, len(out), err)
			}
		}
	}
}

// TestDeclaredSizeLies edits the sizes the containers declare.
func TestDeclaredSizeLies(t *testing.T) {
	// xz: the index claims 1 byte more or fewer, with fixed-up CRC32s.
	src, want := testdataPair(t, XZ)
	for _, delta := range []int64{-1, +1, -int64(len(want)) + 1} {
		b := setXZIndexSize(t, src, int64(len(want))+delta)
		if n, ok := xzDeclaredSize(b, DefaultLimit); !ok || n != int64(len(want))+delta {
			t.Fatalf("edited index: xzDeclaredSize = %d, %v", n, ok)
		}
		out, err := Decompress(XZ, b, 0)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("xz index size %+d: Decompress = %d bytes, %v; want *CorruptError", delta, len(out), err)
		}
	}
	// zstd: the frame content size (4-byte field for this input) is wrong.
	zsrc, _ := testdataPair(t, Zstd)
	if h := zsrc[4]; h>>6 != 1 {
		t.Fatalf("zstd frame header %#x: expected a 2-byte content size", h)
	}
	for _, delta := range []int{-1, +1} {
		b := bytes.Clone(zsrc)
		binary.LittleEndian.PutUint16(b[5:], uint16(len(want)-256+delta))
		out, err := Decompress(Zstd, b, 0)
		var ce *CorruptError
		if !errors.As(err, &ce) {
			t.Errorf("zstd content size %+d: Decompress = %d bytes, %v; want *CorruptError", delta, len(out), err)
		}
	}
}

// setXZIndexSize rewrites the uncompressed size in the index of a
// single-stream, single-block xz file, re-encoding the index and the footer
// with valid CRC32s so that only the decoder can notice the lie.
func setXZIndexSize(t *testing.T, src []byte, size int64) []byte {
	t.Helper()
	ftr := src[len(src)-12:]
	backward := int(binary.LittleEndian.Uint32(ftr[4:8])+1) * 4
	idxStart := len(src) - 12 - backward
	idx := src[idxStart : len(src)-12]
	p := 1
	n, _ := readVLI(idx, &p)
	if n != 1 {
		t.Fatalf("index has %d records; want 1", n)
	}
	unpadded, _ := readVLI(idx, &p)
	// Rebuild: indicator, count, unpadded, size, padding, CRC32.
	nidx := []byte{0, 1}
	nidx = appendVLI(nidx, unpadded)
	nidx = appendVLI(nidx, size)
	for len(nidx)%4 != 0 {
		nidx = append(nidx, 0)
	}
	nidx = binary.LittleEndian.AppendUint32(nidx, crc32.ChecksumIEEE(nidx))
	out := append(bytes.Clone(src[:idxStart]), nidx...)
	nftr := bytes.Clone(ftr)
	binary.LittleEndian.PutUint32(nftr[4:8], uint32(len(nidx)/4-1))
	binary.LittleEndian.PutUint32(nftr[0:4], crc32.ChecksumIEEE(nftr[4:10]))
	return append(out, nftr...)
}

func appendVLI(b []byte, v int64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

const (
	bombSize  = 1 << 30 // decompressed size of each bomb
	bombLimit = 8 << 20 // limit used against them
)

// bombs returns small streams that expand to 1 GiB of zeros, made by
// streaming zeros through an encoder, never holding 1 GiB in memory.
func bombs(t *testing.T) map[string][]byte {
	t.Helper()
	m := map[string][]byte{}

	// gzip: one member, ISIZE = 2^30.
	var gz bytes.Buffer
	w, _ := gzip.NewWriterLevel(&gz, gzip.BestSpeed)
	if _, err := io.Copy(w, io.LimitReader(zeroReader{}, bombSize)); err != nil {
		t.Fatal(err)
	}
	w.Close()
	m["gzip"] = gz.Bytes()

	// zstd: a stream without a content size, so only the streaming limit
	// can stop it.
	var zs bytes.Buffer
	zw, _ := zstd.NewWriter(&zs, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if _, err := io.Copy(zw, io.LimitReader(zeroReader{}, bombSize)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	m["zstd-no-size"] = zs.Bytes()

	// zstd with the size declared: zstd(1) told the stream size.
	if _, err := exec.LookPath("zstd"); err == nil {
		cmd := exec.Command("zstd", "-q", "-c", "-1", "--stream-size=1073741824")
		cmd.Stdin = io.LimitReader(zeroReader{}, bombSize)
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		m["zstd-declared"] = out
	}

	// xz: 64 MiB of zeros compressed by xz(1), repeated 16 times as
	// concatenated streams (1 GiB declared by the indexes); and the same
	// single 64 MiB stream with its index edited to claim 1 KiB.
	if _, err := exec.LookPath("xz"); err == nil {
		cmd := exec.Command("xz", "--check=crc32", "--lzma2=dict=1MiB", "-c")
		cmd.Stdin = io.LimitReader(zeroReader{}, 64<<20)
		one, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		m["xz-declared"] = bytes.Repeat(one, bombSize/(64<<20))
		m["xz-index-lies"] = setXZIndexSize(t, one, 1024)
	}
	return m
}

// TestBombs: each bomb is refused quickly with a *LimitError, and the memory
// allocated stays near the limit.
func TestBombs(t *testing.T) {
	if testing.Short() {
		t.Skip("compresses 1 GiB streams")
	}
	for name, src := range bombs(t) {
		f := Sniff(src)
		var ms0, ms1 runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&ms0)
		start := time.Now()
		out, err := Decompress(f, src, bombLimit)
		elapsed := time.Since(start)
		runtime.ReadMemStats(&ms1)
		alloc := ms1.TotalAlloc - ms0.TotalAlloc
		t.Logf("%s: %d compressed bytes, refused in %v, %d bytes allocated", name, len(src), elapsed, alloc)
		var le *LimitError
		if !errors.As(err, &le) || le.Limit != bombLimit || out != nil {
			t.Errorf("%s: Decompress = %d bytes, %v; want *LimitError", name, len(out), err)
		}
		// The output buffer doubles up to the limit (< 2×limit in all),
		// plus decoder state: a 1 MiB LZMA2 dictionary, the zstd window.
		if alloc > 2*bombLimit+12<<20 {
			t.Errorf("%s: %d bytes allocated; want at most %d", name, alloc, 2*bombLimit+12<<20)
		}
		if elapsed > 10*time.Second {
			t.Errorf("%s: took %v", name, elapsed)
		}
	}
}

// TestPreCheckAllocatesNothing: a declared size over the limit is refused
// before any output is allocated.
func TestPreCheckAllocatesNothing(t *testing.T) {
	for _, f := range []Format{XZ, Zstd} {
		src, want := testdataPair(t, f)
		limit := int64(len(want) - 1)
		allocs := testing.AllocsPerRun(20, func() {
			if _, err := Decompress(f, src, limit); !errors.Is(err, ErrLimit) {
				t.Fatalf("%v: err = %v; want ErrLimit", f, err)
			}
		})
		if allocs > 2 {
			t.Errorf("%v: %v allocations to refuse a declared size; want at most 2 (the error)", f, allocs)
		}
	}
}
