package depmod

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"syscall"
	"unsafe"

	"github.com/kmodscope/kmodscope/modindex"
	"golang.org/x/sys/unix"
)

// superfast is shared/hash.c hash_superfast (Paul Hsieh's SuperFastHash)
// as compiled for a little-endian host with signed char: the bucket order
// of kmod's hash tables, hence of modules without a modules.order line and
// of modules.symbols.
func superfast(s string) uint32 {
	k := []byte(s)
	h := uint32(len(k))
	rem := len(k) & 3
	i := 0
	for n := len(k) / 4; n > 0; n-- {
		h += uint32(k[i]) | uint32(k[i+1])<<8
		tmp := (uint32(k[i+2])|uint32(k[i+3])<<8)<<11 ^ h
		h = h<<16 ^ tmp
		i += 4
		h += h >> 11
	}
	switch rem {
	case 3:
		h += uint32(k[i]) | uint32(k[i+1])<<8
		h ^= h << 16
		h ^= uint32(int32(int8(k[i+2]))) << 18
		h += h >> 11
	case 2:
		h += uint32(k[i]) | uint32(k[i+1])<<8
		h ^= h << 11
		h += h >> 17
	case 1:
		h += uint32(int32(int8(k[i])))
		h ^= h << 10
		h += h >> 1
	}
	h ^= h << 3
	h += h >> 5
	h ^= h << 4
	h += h >> 17
	h ^= h << 25
	h += h >> 6
	return h
}

// searchModules is depmod_modules_search: dirname, then each external
// directory.
func (r *run) searchModules() error {
	if err := r.searchPath(r.dirname); err != nil {
		return err
	}
	for _, ext := range r.cfg.externals {
		r.searchPath(ext)
	}
	return nil
}

func (r *run) searchPath(dir string) error {
	fd, err := openDir(dir)
	if err == nil {
		var st unix.Stat_t
		if err = unix.Fstat(fd, &st); err == nil && st.Mode&unix.S_IFMT != unix.S_IFDIR {
			err = syscall.ENOTDIR
		}
		if err != nil {
			unix.Close(fd)
		}
	}
	if err != nil {
		r.log.errf("could not open directory %s: %s\n", dir, strerror(err))
		return &os.PathError{Op: "open", Path: dir, Err: err}
	}
	root := &dirNode{path: dir + "/", fd: fd}
	r.listTree(root)
	if len(r.byName) == 0 {
		r.byName = make(map[string]*mod, root.files())
	}
	r.searchDir(root)
	return nil
}

func (r *run) excluded(name string) bool {
	if name == "." || name == ".." || name == "build" || name == "source" {
		return true
	}
	for _, e := range r.cfg.excludes {
		if name == e {
			return true
		}
	}
	return false
}

// A dirNode is one directory of the tree as listTree found it: its
// entries in raw getdents order, each already classified (and, for a
// module file, stat'ed when its cache key is needed).
type dirNode struct {
	path  string // with a trailing '/'
	depth int
	fd    int // open until listed
	err   error
	ents  []dirEnt
}

type dirEnt struct {
	name   string
	kind   uint8 // entFile, entDir, entBad (message in err), entSkip
	errMsg string
	sub    *dirNode // entDir
	mod    *mod     // entFile: the module it would be
	key    fileKey
	hasKey bool
}

const (
	entSkip = iota
	entFile
	entDir
	entBad
)

func openDir(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

func openAt(dfd int, name string) (int, error) {
	for {
		fd, err := unix.Openat(dfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}

// rawFstatat is fstatat(dfd, name, st, 0) for a NUL-terminated name, as a
// raw system call: the listing makes thousands of these short calls, and
// through the scheduler's syscall path each may hand the P to another
// thread.
func rawFstatat(dfd int, name *byte, st *unix.Stat_t) error {
	for {
		_, _, e := unix.RawSyscall6(unix.SYS_NEWFSTATAT, uintptr(dfd), uintptr(unsafe.Pointer(name)), uintptr(unsafe.Pointer(st)), 0, 0, 0)
		switch e {
		case 0:
			return nil
		case unix.EINTR:
			continue
		}
		return e
	}
}

func rawGetdents(fd int, buf []byte) (int, error) {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_GETDENTS64, uintptr(fd), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
		switch e {
		case 0:
			return int(n), nil
		case unix.EINTR:
			continue
		}
		return 0, e
	}
}

func rawOpenat(dfd int, name *byte) (int, error) {
	for {
		fd, _, e := unix.RawSyscall6(unix.SYS_OPENAT, uintptr(dfd), uintptr(unsafe.Pointer(name)), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0, 0, 0)
		switch e {
		case 0:
			return int(fd), nil
		case unix.EINTR:
			continue
		}
		return -1, e
	}
}

func fstatat(dfd int, name string, st *unix.Stat_t) error {
	for {
		if err := unix.Fstatat(dfd, name, st, 0); err != unix.EINTR {
			return err
		}
	}
}

func keyOfUnix(st *unix.Stat_t) fileKey {
	return fileKey{dev: st.Dev, ino: st.Ino, size: st.Size,
		mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, ctimeNs: st.Ctim.Sec*1e9 + st.Ctim.Nsec}
}

// listTree lists root and every directory below it on r.jobs() goroutines:
// getdents on each directory and fstatat relative to it, which is where a
// warm run spends its time. Nothing is decided here: searchDir then walks
// the result in kmod's order and prints kmod's messages.
func (r *run) listTree(root *dirNode) {
	jobs := max(1, r.jobs())
	var (
		mu      sync.Mutex
		cond    = sync.NewCond(&mu)
		stack   = []*dirNode{root}
		pending = 1
		wg      sync.WaitGroup
	)
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 64<<10)
			var subs []*dirNode
			for {
				mu.Lock()
				for len(stack) == 0 && pending > 0 {
					cond.Wait()
				}
				if pending == 0 {
					mu.Unlock()
					cond.Broadcast()
					return
				}
				d := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				mu.Unlock()
				subs = r.listDir(d, buf, subs[:0])
				mu.Lock()
				stack = append(stack, subs...)
				pending += len(subs) - 1
				wake := len(subs) > 0 || pending == 0
				mu.Unlock()
				if wake {
					cond.Broadcast()
				}
			}
		}()
	}
	wg.Wait()
}

// listDir reads directory d (open as d.fd, closed here) and returns its
// subdirectories, opened.
func (r *run) listDir(d *dirNode, buf []byte, subs []*dirNode) []*dirNode {
	defer unix.RawSyscall(unix.SYS_CLOSE, uintptr(d.fd), 0, 0)
	for {
		n, err := rawGetdents(d.fd, buf)
		if err != nil || n <= 0 {
			break // as readdir: an error ends the listing
		}
		// The names are substrings of one copy of the records.
		recs := string(buf[:n])
		for off := 0; off+19 <= n; {
			reclen := int(buf[off+16]) | int(buf[off+17])<<8
			if reclen < 19 || reclen > n-off {
				break
			}
			typ := buf[off+18]
			cname := &buf[off+19] // NUL-terminated
			nl := bytes.IndexByte(buf[off+19:off+reclen], 0)
			if nl < 0 {
				break
			}
			name := recs[off+19 : off+19+nl]
			off += reclen
			if r.excluded(name) {
				continue
			}
			e := dirEnt{name: name}
			var st unix.Stat_t
			stated := false
			switch typ {
			case unix.DT_REG:
				e.kind = entFile
			case unix.DT_DIR:
				e.kind = entDir
			default:
				// fstatat relative to the directory, as kmod does: no walk
				// of the whole path.
				if err := rawFstatat(d.fd, cname, &st); err != nil {
					e.kind, e.errMsg = entBad, fmt.Sprintf("fstatat(%d, %s): %s\n", 3+d.depth, name, strerror(err))
					break
				}
				stated = true
				switch st.Mode & unix.S_IFMT {
				case unix.S_IFREG:
					e.kind = entFile
				case unix.S_IFDIR:
					e.kind = entDir
				default:
					e.kind, e.errMsg = entBad, fmt.Sprintf("unsupported file type %s: %o\n", d.path+name, st.Mode&unix.S_IFMT)
				}
			}
			switch e.kind {
			case entFile:
				if !hasKmodExt(name) {
					e.kind = entSkip
					break
				}
				if r.opt.Cache && !stated {
					stated = rawFstatat(d.fd, cname, &st) == nil
				}
				if stated {
					// The followed stat, taken before the file is read, is
					// the cache key.
					e.key, e.hasKey = keyOfUnix(&st), true
				}
				e.mod = r.newMod(d.path+name, modindex.ModnameNormalize(name))
			case entDir:
				sub := &dirNode{path: d.path + name + "/", depth: d.depth + 1}
				fd, err := rawOpenat(d.fd, cname)
				if err != nil {
					e.kind, e.errMsg = entBad, fmt.Sprintf("openat(%d, %s, O_RDONLY): %s\n", 3+d.depth, name, strerror(err))
					break
				}
				sub.fd = fd
				e.sub = sub
				subs = append(subs, sub)
			}
			d.ents = append(d.ents, e)
		}
	}
	return subs
}

// files counts the module files in d and below.
func (d *dirNode) files() int {
	n := 0
	for i := range d.ents {
		switch d.ents[i].kind {
		case entFile:
			n++
		case entDir:
			n += d.ents[i].sub.files()
		}
	}
	return n
}

// searchDir is depmod_modules_search_dir over what listTree found: entries
// in raw readdir order. The descriptor numbers in kmod's messages
// (fstatat(FD, ...)) follow the depth: with nothing else open, kmod's
// directory descriptors are 3, 4, ... down the tree.
func (r *run) searchDir(d *dirNode) {
	for i := range d.ents {
		e := &d.ents[i]
		switch e.kind {
		case entBad:
			r.log.errf("%s", e.errMsg)
		case entDir:
			r.searchDir(e.sub)
		case entFile:
			if m := r.searchMod(d.path, e.mod); m != nil && e.hasKey && r.opt.Cache {
				m.key, m.hasKey = e.key, true
			}
		}
	}
}

func unixType(m fs.FileMode) uint32 {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return 0o010000
	case m&fs.ModeCharDevice != 0:
		return 0o020000
	case m&fs.ModeDevice != 0:
		return 0o060000
	case m&fs.ModeSymlink != 0:
		return 0o120000
	case m&fs.ModeSocket != 0:
		return 0o140000
	}
	return 0
}

// searchMod is depmod_modules_search_file for a module file (m made by
// newMod while listing): it is added unless a module of its name found
// earlier takes priority.
func (r *run) searchMod(base string, m *mod) *mod {
	if old := r.byName[m.name]; old != nil {
		if r.higherPriority(old, len(base), len(m.name), m.path) {
			return nil
		}
		delete(r.byName, m.name)
	}
	r.byName[m.name] = m
	return m
}

// isPathStartsWith is depmod_is_path_starts_with.
func isPathStartsWith(path string, pathlen int, prefix string) bool {
	if pathlen <= len(prefix) || pathlen > len(path) {
		return false
	}
	return path[len(prefix)] == '/' && path[:len(prefix)] == prefix
}

// higherPriority is depmod_module_is_higher_priority: whether the module
// already found beats newpath. Paths are compared without their extension
// (directory + as many bytes of the file name as the module name has).
func (r *run) higherPriority(old *mod, baselen, modnamelen int, newpath string) bool {
	cfg := r.cfg
	newlen := baselen + modnamelen
	oldlen := old.baselen + len(old.name) + 1
	oldpath := old.path
	dn := len(r.dirname)
	var relnew, relold string
	hasRelNew, hasRelOld := false, false
	if strings.HasPrefix(newpath, r.dirname) && newlen >= dn+1 {
		relnew, hasRelNew = newpath[dn+1:newlen], true
	}
	if strings.HasPrefix(oldpath, r.dirname) && oldlen >= dn+1 {
		relold, hasRelOld = oldpath[dn+1:oldlen], true
	}
	for _, ov := range cfg.overrides {
		if hasRelNew && relnew == ov {
			return false
		}
		if hasRelOld && relold == ov {
			return true
		}
	}
	bprio, oldprio, newprio := -1, -1, -1
	i := 0
	for _, se := range cfg.searches {
		switch se.kind {
		case searchBuiltin:
			bprio = i
		case searchExternal:
			for _, ext := range cfg.externals {
				if isPathStartsWith(newpath, newlen, ext) {
					newprio = i
				}
				if isPathStartsWith(oldpath, oldlen, ext) {
					oldprio = i
				}
				i++
			}
		default:
			l := len(se.path)
			if len(relnew) > l && relnew[l] == '/' && relnew[:l] == se.path {
				newprio = i
			} else if len(relold) > l && relold[l] == '/' && relold[:l] == se.path {
				oldprio = i
			}
		}
		i++
	}
	if newprio < 0 {
		newprio = bprio
	}
	if oldprio < 0 {
		oldprio = bprio
	}
	return newprio <= oldprio
}

// upToDate is depfile_up_to_date: 1 when no module file is newer than
// modules.dep (seconds), 0 when one is, < 0 on errors.
func (r *run) upToDate() int {
	d, err := os.Open(r.dirname)
	if err != nil {
		r.log.errf("could not open directory %s: %s\n", r.dirname, strerror(err))
		return -1
	}
	defer d.Close()
	st, err := os.Stat(r.dirname + "/modules.dep")
	if err != nil {
		r.log.errf("could not fstatat(%s, modules.dep): %s\n", r.dirname, strerror(err))
		return -1
	}
	return r.upToDateDir(d, r.dirname+"/", st.ModTime().Unix())
}

func (r *run) upToDateDir(d *os.File, base string, mtime int64) int {
	names, _ := d.Readdirnames(-1)
	res := 1
	for _, name := range names {
		if name == "." || name == ".." || name == "build" || name == "source" {
			continue
		}
		st, err := os.Stat(base + name)
		if err != nil {
			r.log.errf("fstatat(%d, %s): %s\n", d.Fd(), name, strerror(err))
			continue
		}
		switch {
		case st.IsDir():
			sub, err := os.Open(base + name)
			if err != nil {
				r.log.errf("openat(%d, %s, O_RDONLY): %s\n", d.Fd(), name, strerror(err))
				continue
			}
			res = r.upToDateDir(sub, base+name+"/", mtime)
			sub.Close()
		case st.Mode().IsRegular():
			if !hasKmodExt(name) {
				continue
			}
			if st.ModTime().Unix() > mtime {
				res = 0
			} else {
				res = 1
			}
		default:
			r.log.errf("unsupported file type %s: %o\n", base+name, unixType(st.Mode()))
			continue
		}
		if res == 0 {
			return 0
		}
	}
	return res
}
