//go:build cgo

package compression

import (
	"bytes"
	"hash/crc32"
	"os"
	"os/exec"
	"testing"
)

// Kbuild's single-block CRC32 streams are decoded without liblzma's check
// and checked with Go's CRC32 instead; a damaged check must give exactly
// the error of a checked decoding (and the one xz(1) reports).

func TestXZSingleCRC32(t *testing.T) {
	src, err := os.ReadFile("testdata/crc7.ko.xz")
	if err != nil {
		t.Fatal(err)
	}
	plain, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	want, ok := xzSingleCRC32(src)
	if !ok {
		t.Fatal("the Kbuild-style fixture is not recognised as one CRC32 block: the fast path is never taken")
	}
	if got := crc32.ChecksumIEEE(plain); got != want {
		t.Fatalf("check field %#x, CRC32 of the data %#x", want, got)
	}
	if !canIgnoreCheck {
		t.Log("this liblzma lacks LZMA_IGNORE_CHECK: liblzma checks")
	}
	// Other layouts are not taken: another check type, two streams.
	if _, ok := xzSingleCRC32(append(bytes.Clone(src), src...)); ok {
		t.Error("two concatenated streams taken as one block")
	}
	if xz, err := exec.LookPath("xz"); err == nil {
		out, err := exec.Command(xz, "-c", "--check=crc64", "testdata/crc7.ko").Output()
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := xzSingleCRC32(out); ok {
			t.Error("a CRC64 stream taken as CRC32")
		}
		if got, err := Decompress(XZ, out, 0); err != nil || !bytes.Equal(got, plain) {
			t.Errorf("CRC64 stream: %v", err)
		}
	}
	// Every bit of the check field flipped in turn: the error of a
	// checked decoding, never data.
	for _, off := range checkOffsets(t, src) {
		for bit := 0; bit < 8; bit++ {
			bad := bytes.Clone(src)
			bad[off] ^= 1 << bit
			got, err := Decompress(XZ, bad, 0)
			if err == nil {
				t.Fatalf("check byte %d bit %d flipped: decoded %d bytes, want an error", off, bit, len(got))
			}
			_, want := decodeXZ(bad, int64(len(plain)), DefaultLimit, nil, false)
			if want == nil || err.Error() != want.Error() {
				t.Fatalf("check byte %d bit %d flipped: error %v, checked decoding says %v", off, bit, err, want)
			}
		}
	}
}

// checkOffsets returns the offsets of the 4-byte check field.
func checkOffsets(t *testing.T, src []byte) []int {
	end := len(src)
	ftr := src[end-12:]
	backward := (int(ftr[4]) | int(ftr[5])<<8 | int(ftr[6])<<16 | int(ftr[7])<<24 + 1) * 4
	idxStart := end - 12 - backward
	return []int{idxStart - 4, idxStart - 3, idxStart - 2, idxStart - 1}
}

func TestXZCheckAgainstTool(t *testing.T) {
	xz, err := exec.LookPath("xz")
	if err != nil {
		t.Skip("xz not installed")
	}
	src, err := os.ReadFile("testdata/crc7.ko.xz")
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(src)
	bad[checkOffsets(t, src)[0]] ^= 0x10
	cmd := exec.Command(xz, "-dc")
	cmd.Stdin = bytes.NewReader(bad)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if cmd.Run() == nil {
		t.Fatal("xz -d accepted a stream with a damaged check")
	}
	if _, err := Decompress(XZ, bad, 0); err == nil || !bytes.Contains(stderr.Bytes(), []byte("corrupt")) || !bytes.Contains([]byte(err.Error()), []byte("corrupt")) {
		t.Fatalf("xz -d: %q; Decompress: %v", stderr.String(), err)
	}
}
