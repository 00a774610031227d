package depmod

import (
	"io/fs"
	"os"
	"strings"
	"syscall"

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
	d, err := os.Open(dir)
	if err == nil {
		var st os.FileInfo
		if st, err = d.Stat(); err == nil && !st.IsDir() {
			err = &os.PathError{Op: "open", Path: dir, Err: syscall.ENOTDIR}
		}
	}
	if err != nil {
		if d != nil {
			d.Close()
		}
		r.log.errf("could not open directory %s: %s\n", dir, strerror(err))
		return err
	}
	defer d.Close()
	r.searchDir(d, dir+"/", 0)
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

// searchDir is depmod_modules_search_dir: entries in raw readdir order.
// depth gives the descriptor number kmod's messages show (fstatat(FD, ...)):
// with nothing else open, kmod's directory descriptors are 3, 4, ... down
// the tree.
func (r *run) searchDir(d *os.File, base string, depth int) {
	ents, _ := d.ReadDir(-1)
	dfd := int(d.Fd())
	for _, de := range ents {
		name := de.Name()
		if r.excluded(name) {
			continue
		}
		path := base + name
		t := de.Type()
		isDir := false
		var key *fileKey // the followed stat of a symlink, when taken
		switch {
		case t.IsRegular():
		case t.IsDir():
			isDir = true
		default:
			// fstatat relative to the directory, as kmod does: no walk
			// of the whole path.
			var st unix.Stat_t
			var err error
			for {
				if err = unix.Fstatat(dfd, name, &st, 0); err != unix.EINTR {
					break
				}
			}
			if err != nil {
				r.log.errf("fstatat(%d, %s): %s\n", 3+depth, name, strerror(err))
				continue
			}
			key = &fileKey{dev: st.Dev, ino: st.Ino, size: st.Size,
				mtime: st.Mtim.Sec*1e9 + st.Mtim.Nsec, ctimeNs: st.Ctim.Sec*1e9 + st.Ctim.Nsec}
			switch st.Mode & unix.S_IFMT {
			case unix.S_IFREG:
			case unix.S_IFDIR:
				isDir = true
			default:
				r.log.errf("unsupported file type %s: %o\n", path, st.Mode&unix.S_IFMT)
				continue
			}
		}
		if isDir {
			sub, err := os.Open(path)
			if err != nil {
				r.log.errf("openat(%d, %s, O_RDONLY): %s\n", 3+depth, name, strerror(err))
				continue
			}
			r.searchDir(sub, path+"/", depth+1)
			sub.Close()
			continue
		}
		if m := r.searchFile(base, name, path); m != nil && key != nil && r.opt.Cache {
			// A symlink was stat'ed to follow it: that is the cache key.
			m.key, m.hasKey = *key, true
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

// searchFile is depmod_modules_search_file.
func (r *run) searchFile(base, name, path string) *mod {
	if !hasKmodExt(name) {
		return nil
	}
	modname := modindex.ModnameNormalize(name)
	if old := r.byName[modname]; old != nil {
		if r.higherPriority(old, len(base), len(modname), path) {
			return nil
		}
		delete(r.byName, modname)
	}
	return r.addModule(path)
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
