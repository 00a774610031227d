package compression

import (
	"bytes"
	"math/rand"
	"os"
	"testing"
)

// TestDecompressUntil: the output of DecompressUntil is Decompress's when
// stop never says stop, a prefix of it holding what stop asked for when it
// does, and malformed or over-limit input fails as with Decompress. The
// streams come from the real gzip, xz and zstd tools.
func TestDecompressUntil(t *testing.T) {
	ko, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	// About 3.5 MiB: several of DecompressUntil's 1 MiB pieces.
	rng := rand.New(rand.NewSource(1))
	var data []byte
	for len(data) < 7<<19 {
		data = append(data, ko...)
		noise := make([]byte, 4096)
		rng.Read(noise)
		data = append(data, noise...)
	}
	for _, f := range []Format{Gzip, XZ, Zstd} {
		src := compressFile(t, data, f)
		full, err := Decompress(f, src, 0)
		if err != nil || !bytes.Equal(full, data) {
			t.Fatalf("%v: Decompress: %v", f, err)
		}
		calls := 0
		out, stopped, err := DecompressUntil(f, src, 0, func(b []byte) bool { calls++; return false })
		if err != nil || stopped || !bytes.Equal(out, data) {
			t.Fatalf("%v: never stopping: stopped %v, err %v, %d of %d bytes", f, stopped, err, len(out), len(data))
		}
		if calls < 3 {
			t.Errorf("%v: stop called %d times for %d bytes", f, calls, len(data))
		}
		for _, want := range []int{1, 1<<20 + 3, 2 << 20} {
			out, stopped, err := DecompressUntil(f, src, 0, func(b []byte) bool { return len(b) >= want })
			if err != nil || !stopped || len(out) < want || len(out) > want+untilChunk || !bytes.Equal(out, data[:len(out)]) {
				t.Fatalf("%v: stop at %d: stopped %v, err %v, %d bytes (prefix %v)", f, want, stopped, err, len(out), bytes.Equal(out, data[:min(len(out), len(data))]))
			}
		}
		// Asking for everything: the whole output (stopped or not).
		if out, _, err := DecompressUntil(f, src, 0, func(b []byte) bool { return len(b) >= len(data) }); err != nil || !bytes.Equal(out, data) {
			t.Errorf("%v: stop at the end: %v, %d bytes", f, err, len(out))
		}
		// A truncated stream fails as with Decompress when stop lets it
		// run to the damage, and yields the prefix when it stops first.
		cut := src[:len(src)*2/3]
		if _, err := Decompress(f, cut, 0); err == nil {
			t.Fatalf("%v: Decompress accepts a truncated stream", f)
		}
		if _, _, err := DecompressUntil(f, cut, 0, func([]byte) bool { return false }); err == nil {
			t.Errorf("%v: DecompressUntil accepts a truncated stream", f)
		}
		if out, stopped, err := DecompressUntil(f, cut, 0, func(b []byte) bool { return len(b) >= 1<<20 }); err != nil || !stopped || !bytes.Equal(out, data[:len(out)]) {
			t.Errorf("%v: truncated stream stopped after 1 MiB: %v %v", f, stopped, err)
		}
		// The limit holds.
		if _, _, err := DecompressUntil(f, src, 1<<20, func([]byte) bool { return false }); err == nil {
			t.Errorf("%v: limit 1 MiB not enforced", f)
		} else if _, ok := err.(*LimitError); !ok {
			t.Errorf("%v: over the limit: %T %v", f, err, err)
		}
		// Garbage.
		bad := append([]byte(nil), src[:64]...)
		bad = append(bad, bytes.Repeat([]byte{0x55}, 4096)...)
		if _, _, err := DecompressUntil(f, bad, 0, func([]byte) bool { return false }); err == nil {
			t.Errorf("%v: garbage accepted", f)
		}
	}
}

// FuzzDecompressUntil: with a stop function that never stops,
// DecompressUntil agrees with Decompress on arbitrary bytes (output, and
// whether it fails); stopping after the first piece yields a prefix.
func FuzzDecompressUntil(f *testing.F) {
	for _, name := range []string{"crc7.ko.gz", "crc7.ko.xz", "crc7.ko.zst"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	const limit = 1 << 20
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, format := range []Format{Gzip, XZ, Zstd} {
			want, werr := Decompress(format, data, limit)
			got, stopped, err := DecompressUntil(format, data, limit, func([]byte) bool { return false })
			if (err == nil) != (werr == nil) || stopped || !bytes.Equal(got, want) {
				t.Fatalf("%v: DecompressUntil %d bytes, %v; Decompress %d bytes, %v", format, len(got), err, len(want), werr)
			}
			if err == nil {
				checkErr(t, format.String(), got, err, limit)
			}
			got, _, err = DecompressUntil(format, data, limit, func([]byte) bool { return true })
			if err == nil && werr == nil && (len(got) > len(want) || !bytes.Equal(got, want[:len(got)])) {
				t.Fatalf("%v: stopped output is not a prefix", format)
			}
		}
	})
}
