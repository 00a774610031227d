package depmod

import "os"

// The files a run reads from the module directory besides the modules
// (modules.order, modules.builtin, modules.builtin.modinfo) are read, and
// modules.order parsed, on another goroutine while the tree is listed.
// Their users print the same messages as if they had read them then.

var prefetchNames = []string{"modules.order", "modules.builtin", "modules.builtin.modinfo"}

type inDirFile struct {
	data   []byte
	dirErr error // stat of the directory
	err    error // reading the file
}

// orderIndex is modules.order parsed: for each path listed, the line that
// decides its place (kmod 30: the last naming it; kmod 34: the first).
type orderIndex struct {
	lines   int
	corrupt int // the first line missing its '\n' (1-based), 0 if none
	line    map[string]int
}

type prefetched struct {
	files map[string]*inDirFile
	order *orderIndex // nil when modules.order could not be read
}

func (r *run) prefetchAsync() {
	ch := make(chan *prefetched, 1)
	r.prefetch = ch
	dir, compat34 := r.dirname, r.compat34()
	go func() {
		p := &prefetched{files: map[string]*inDirFile{}}
		_, dirErr := os.Stat(dir)
		for _, name := range prefetchNames {
			f := &inDirFile{dirErr: dirErr}
			if dirErr == nil {
				f.data, f.err = os.ReadFile(dir + "/" + name)
			}
			p.files[name] = f
		}
		if f := p.files["modules.order"]; f.dirErr == nil && f.err == nil {
			p.order = parseOrder(f.data, compat34)
		}
		ch <- p
	}()
}

func parseOrder(data []byte, compat34 bool) *orderIndex {
	const pathMax = 4096
	lines := fgetsLines(data, pathMax)
	o := &orderIndex{lines: len(lines), line: make(map[string]int, len(lines))}
	for i, l := range lines {
		n := cstrlen(l)
		if n == 0 {
			continue
		}
		if l[n-1] != '\n' {
			o.corrupt = i + 1
			return o
		}
		k := l[:n-1]
		if _, seen := o.line[k]; !seen || !compat34 {
			o.line[k] = i
		}
	}
	return o
}

// prefetchedFiles waits for the prefetch, if one was started.
func (r *run) prefetchedFiles() *prefetched {
	if r.prefetch != nil {
		r.prefetchDone = <-r.prefetch
		r.prefetch = nil
	}
	return r.prefetchDone
}

// readInDir is dfdopen's error reporting for a file kmod opens in dirname.
func (r *run) readInDir(name string) ([]byte, bool) {
	var f *inDirFile
	if p := r.prefetchedFiles(); p != nil {
		f = p.files[name]
	}
	if f == nil {
		f = &inDirFile{}
		if _, f.dirErr = os.Stat(r.dirname); f.dirErr == nil {
			f.data, f.err = os.ReadFile(r.dirname + "/" + name)
		}
	}
	if f.dirErr != nil {
		r.log.warnf("could not open directory %s: %s\n", r.dirname, strerror(f.dirErr))
		return nil, false
	}
	if f.err != nil {
		r.log.warnf("could not open %s at %s: %s\n", name, r.dirname, strerror(f.err))
		return nil, false
	}
	return f.data, true
}
