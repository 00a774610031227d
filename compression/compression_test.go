package compression

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

var formats = []Format{Gzip, XZ, Zstd}

// Kbuild's compression commands (scripts/Makefile.modinst), writing to stdout.
var toolCompress = map[Format][]string{
	Gzip: {"gzip", "-n", "-c"},
	XZ:   {"xz", "--check=crc32", "--lzma2=dict=1MiB", "-c"},
	Zstd: {"zstd", "-q", "-c"},
}

var toolDecompress = map[Format][]string{
	Gzip: {"gzip", "-d", "-c"},
	XZ:   {"xz", "-d", "-c"},
	Zstd: {"zstd", "-q", "-d", "-c"},
}

// corpusModules lists real modules from the shared Debian corpus, small to
// large. Tests that need them skip when the corpus is absent.
var corpusModules = []string{
	"amd64/lib/modules/*/kernel/lib/crc7.ko",
	"amd64/lib/modules/*/kernel/drivers/char/nvram.ko",
	"i386/lib/modules/*/kernel/drivers/vfio/vfio.ko",
	"s390x/lib/modules/*/kernel/drivers/usb/common/usb-common.ko",
	"amd64/lib/modules/*/kernel/drivers/scsi/scsi_mod.ko",
	"armhf/lib/modules/*/kernel/fs/ext4/ext4.ko",
}

const corpusDir = "/work/shared/corpus/debian"

type module struct {
	name string
	data []byte
}

// loadModules returns testdata/crc7.ko plus whichever corpus modules exist.
func loadModules(t testing.TB) []module {
	t.Helper()
	b, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	mods := []module{{"testdata/crc7.ko", b}}
	for _, pat := range corpusModules {
		m, _ := filepath.Glob(filepath.Join(corpusDir, pat))
		if len(m) == 0 {
			continue
		}
		b, err := os.ReadFile(m[0])
		if err != nil {
			t.Fatal(err)
		}
		mods = append(mods, module{strings.TrimPrefix(m[0], corpusDir+"/"), b})
	}
	if len(mods) == 1 {
		t.Logf("corpus %s not found: testing with testdata/crc7.ko only", corpusDir)
	}
	return mods
}

func needTool(t testing.TB, name string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Skipf("%s not installed", name)
	}
}

// runTool runs argv with stdin in and returns its stdout.
func runTool(t testing.TB, in []byte, argv ...string) []byte {
	t.Helper()
	needTool(t, argv[0])
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	return out
}

// compressFile compresses data the way Kbuild does: the tool reads a file
// (so zstd records the content size) in a temporary directory.
func compressFile(t testing.TB, data []byte, f Format) []byte {
	t.Helper()
	name := filepath.Join(t.TempDir(), "m.ko")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return runTool(t, nil, append(toolCompress[f], name)...)
}

func TestFormatString(t *testing.T) {
	for f, want := range map[Format]string{None: "none", Gzip: "gzip", XZ: "xz", Zstd: "zstd", 9: "Format(9)"} {
		if got := f.String(); got != want {
			t.Errorf("Format(%d).String() = %q; want %q", uint8(f), got, want)
		}
	}
}

func TestSniff(t *testing.T) {
	tests := []struct {
		head []byte
		want Format
	}{
		{[]byte{0x28, 0xb5, 0x2f, 0xfd, 0x24}, Zstd},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 0, 0, 4}, XZ},
		{[]byte{0xfd, '7', 'z', 'X', 'Z', 1}, None},
		{[]byte{0xfd, '7', 'z', 'X', 'Z'}, None},
		{[]byte{0x1f, 0x8b}, Gzip},
		{[]byte{0x1f}, None},
		{[]byte("\x7fELF\x02\x01\x01"), None},
		{nil, None},
	}
	for _, tt := range tests {
		if got := Sniff(tt.head); got != tt.want {
			t.Errorf("Sniff(% x) = %v; want %v", tt.head, got, tt.want)
		}
	}
	for _, f := range formats {
		b, err := os.ReadFile("testdata/crc7.ko" + ext(f))
		if err != nil {
			t.Fatal(err)
		}
		if got := Sniff(b); got != f {
			t.Errorf("Sniff(testdata/crc7.ko%s) = %v; want %v", ext(f), got, f)
		}
	}
}

func ext(f Format) string {
	return map[Format]string{Gzip: ".gz", XZ: ".xz", Zstd: ".zst"}[f]
}

// TestDecompressTestdata checks the committed tool-made files.
func TestDecompressTestdata(t *testing.T) {
	want, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range formats {
		src, err := os.ReadFile("testdata/crc7.ko" + ext(f))
		if err != nil {
			t.Fatal(err)
		}
		got, err := Decompress(Sniff(src), src, 0)
		if err != nil {
			t.Errorf("Decompress(%v, crc7.ko%s): %v", f, ext(f), err)
		} else if !bytes.Equal(got, want) {
			t.Errorf("Decompress(%v, crc7.ko%s) differs from crc7.ko", f, ext(f))
		}
	}
}

// TestDecompressToolOutput compresses real modules with the real tools,
// using Kbuild's flags, and requires Decompress to return the original.
func TestDecompressToolOutput(t *testing.T) {
	for _, m := range loadModules(t) {
		for _, f := range formats {
			t.Run(f.String()+"/"+filepath.Base(m.name), func(t *testing.T) {
				src := compressFile(t, m.data, f)
				if got := Sniff(src); got != f {
					t.Fatalf("Sniff = %v; want %v", got, f)
				}
				got, err := Decompress(f, src, DefaultLimit)
				if err != nil {
					t.Fatalf("Decompress: %v", err)
				}
				if !bytes.Equal(got, m.data) {
					t.Fatalf("Decompress returned %d bytes that differ from the %d-byte original", len(got), len(m.data))
				}
				// The declared size is read correctly and used exactly.
				switch f {
				case XZ:
					if n, ok := xzDeclaredSize(src, DefaultLimit); !ok || n != int64(len(m.data)) {
						t.Errorf("xzDeclaredSize = %d, %v; want %d, true", n, ok, len(m.data))
					}
				case Zstd:
					if n, ok := zstdDeclaredSize(src, DefaultLimit); !ok || n != int64(len(m.data)) {
						t.Errorf("zstdDeclaredSize = %d, %v; want %d, true", n, ok, len(m.data))
					}
				}
				if cap(got) != len(got) && f != None {
					t.Errorf("output capacity %d; want exactly %d", cap(got), len(got))
				}
				// Exactly at the limit is fine; one byte less is not.
				if _, err := Decompress(f, src, int64(len(m.data))); err != nil {
					t.Errorf("Decompress with limit = size: %v", err)
				}
				_, err = Decompress(f, src, int64(len(m.data))-1)
				var le *LimitError
				if !errors.As(err, &le) || le.Limit != int64(len(m.data))-1 || le.Format != f {
					t.Errorf("Decompress with limit = size-1: err = %v; want *LimitError", err)
				}
			})
		}
	}
}

// TestCompress requires Compress output to decompress, with the real tools
// and with Decompress, to the original.
func TestCompress(t *testing.T) {
	for _, m := range loadModules(t) {
		for _, f := range formats {
			t.Run(f.String()+"/"+filepath.Base(m.name), func(t *testing.T) {
				c, err := Compress(f, m.data)
				if err != nil {
					t.Fatalf("Compress: %v", err)
				}
				if got := Sniff(c); got != f {
					t.Fatalf("Sniff(Compress(%v)) = %v", f, got)
				}
				if got := runTool(t, c, toolDecompress[f]...); !bytes.Equal(got, m.data) {
					t.Errorf("%s of Compress output differs from the original", strings.Join(toolDecompress[f], " "))
				}
				got, err := Decompress(f, c, 0)
				if err != nil || !bytes.Equal(got, m.data) {
					t.Errorf("Decompress(Compress(%v)) = %d bytes, %v; want the %d-byte original", f, len(got), err, len(m.data))
				}
				switch f {
				case Gzip:
					// gzip -n: no name, zero time stamp, Unix.
					if c[3] != 0 || !bytes.Equal(c[4:8], []byte{0, 0, 0, 0}) || c[9] != 3 {
						t.Errorf("gzip header % x; want FLG 0, MTIME 0, OS 3", c[:10])
					}
				case XZ:
					// Stream flags: CRC32 check. LZMA2 dictionary byte 0x10 is 1 MiB.
					if c[7] != 1 {
						t.Errorf("xz check type %d; want 1 (CRC32)", c[7])
					}
					if i := bytes.Index(c[12:32], []byte{0x21, 0x01}); i < 0 || c[12+i+2] != 0x10 {
						t.Errorf("xz block header % x; want an LZMA2 filter with dictionary byte 0x10", c[12:32])
					}
					if v := liblzmaVersion(); v != "" {
						out := runTool(t, nil, "xz", "--version")
						if strings.Contains(string(out), "liblzma "+v+"\n") {
							if want := compressFile(t, m.data, XZ); !bytes.Equal(c, want) {
								t.Errorf("Compress(XZ) differs from xz %s output with the same liblzma %s", strings.Join(toolCompress[XZ][1:], " "), v)
							}
						}
					}
				}
			})
		}
	}
}

// TestMultiStream: concatenated gzip members, xz streams (with stream
// padding) and zstd frames decode to the concatenation, as the tools do.
func TestMultiStream(t *testing.T) {
	a, b := []byte(strings.Repeat("first part ", 500)), []byte(strings.Repeat("second part ", 700))
	want := append(append([]byte{}, a...), b...)
	for _, f := range formats {
		ca, err := Compress(f, a)
		if err != nil {
			t.Fatal(err)
		}
		cb, err := Compress(f, b)
		if err != nil {
			t.Fatal(err)
		}
		src := append(append([]byte{}, ca...), cb...)
		if f == XZ {
			src = append(append(append([]byte{}, ca...), 0, 0, 0, 0), cb...)
			src = append(src, 0, 0, 0, 0, 0, 0, 0, 0)
		}
		got, err := Decompress(f, src, 0)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("Decompress(%v, two streams) = %d bytes, %v; want %d bytes", f, len(got), err, len(want))
		}
		if cap(got) != len(got) && f != Gzip {
			t.Errorf("%v: output capacity %d; want exactly %d from the declared sizes", f, cap(got), len(got))
		}
	}
}

func TestNone(t *testing.T) {
	src := []byte("\x7fELF plain module")
	got, err := Decompress(None, src, 0)
	if err != nil || !bytes.Equal(got, src) {
		t.Errorf("Decompress(None) = %q, %v", got, err)
	}
	_, err = Decompress(None, src, 4)
	if !errors.Is(err, ErrLimit) {
		t.Errorf("Decompress(None, limit 4) err = %v; want ErrLimit", err)
	}
	if _, err := Decompress(Format(7), src, 0); err == nil {
		t.Error("Decompress(Format(7)) succeeded")
	}
}

func TestErrorMessages(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{&LimitError{XZ, DefaultLimit}, "xz stream expands beyond the 268435456-byte limit (raise it with --max-size)"},
		{&CorruptError{XZ, -1, ErrTruncated}, "corrupt xz stream: unexpected end of compressed data"},
		{&CorruptError{Zstd, 12, errors.New("bad block")}, "corrupt zstd stream: bad block (at compressed offset 12)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q; want %q", got, tt.want)
		}
	}
	if !errors.Is(&CorruptError{Gzip, 0, ErrTruncated}, ErrTruncated) {
		t.Error("CorruptError does not unwrap to its cause")
	}
}

// TestConcurrent decodes all formats from many goroutines at once.
func TestConcurrent(t *testing.T) {
	want, err := os.ReadFile("testdata/crc7.ko")
	if err != nil {
		t.Fatal(err)
	}
	var srcs [][]byte
	for _, f := range formats {
		b, err := os.ReadFile("testdata/crc7.ko" + ext(f))
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, b)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				src := srcs[(g+i)%len(srcs)]
				got, err := Decompress(Sniff(src), src, 0)
				if err == nil && !bytes.Equal(got, want) {
					err = fmt.Errorf("%v: wrong output", Sniff(src))
				}
				if err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
