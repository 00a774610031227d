package compression

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestMeasureTree decompresses every .ko.xz under $KMODSCOPE_MEASURE_TREE
// (e.g. /var/cache/kmodscope/deb-6.12-amd64), sequentially and with two
// goroutines, and logs CPU and wall seconds. It is skipped unless the
// variable is set. Compare with:
//
//	find $TREE -name '*.ko.xz' -print0 | sort -z | /usr/bin/time xargs -0 xz -dc >/dev/null
func TestMeasureTree(t *testing.T) {
	root := os.Getenv("KMODSCOPE_MEASURE_TREE")
	if root == "" {
		t.Skip("set KMODSCOPE_MEASURE_TREE to a module tree to measure")
	}
	var files [][]byte
	var compressed int64
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".ko.xz") {
			return err
		}
		b, err := os.ReadFile(p)
		files = append(files, b)
		compressed += int64(len(b))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("no .ko.xz under %s", root)
	}
	for _, workers := range []int{1, 2} {
		var next atomic.Int64
		var total atomic.Int64
		u0, s0 := cpuTime(t)
		start := time.Now()
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1) - 1)
					if i >= len(files) {
						return
					}
					out, err := Decompress(XZ, files[i], 0)
					if err != nil {
						t.Error(err)
						return
					}
					total.Add(int64(len(out)))
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		u1, s1 := cpuTime(t)
		t.Logf("%d files, %d bytes -> %d bytes, %d goroutine(s): wall %.2f s, CPU %.2f s (user %.2f, sys %.2f) (liblzma: %v)",
			len(files), compressed, total.Load(), workers, wall.Seconds(), (u1 - u0 + s1 - s0).Seconds(),
			(u1 - u0).Seconds(), (s1 - s0).Seconds(), liblzmaVersion() != "")
	}
}

// cpuTime returns the process's user and system CPU time.
func cpuTime(t *testing.T) (user, sys time.Duration) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano()), time.Duration(ru.Stime.Nano())
}
