package depmod

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/kmodscope/kmodscope/ko"
)

// The incremental cache keeps, per module file, the facts depmod reads from
// it (exports with CRCs, the alias, softdep and weakdep .modinfo entries,
// imports with CRCs and binding, or the read error), keyed by path, device,
// inode, size, mtime and ctime in nanoseconds. A file whose key is
// unchanged is not opened again; everything after reading runs in full on
// every run, so the output is always that of a clean run.
//
// Layout: "KMSDEPC2", the header string (cache format, kmodscope version
// and the options that change what is read, see cacheHeader), u32 entry
// count, the entries, then the SHA-256 of all preceding bytes. Integers are
// little-endian; strings are a u32 length and the bytes. A file that is
// short, foreign, corrupt, fails its checksum or has another header is
// ignored with one warning and rewritten.

// CacheName is the cache file's name in the output directory.
const CacheName = "modules.kmodscope-cache"

const cacheMagic = "KMSDEPC2"

type fileKey struct {
	dev, ino             uint64
	size, mtime, ctimeNs int64
}

func statKey(path string) (fileKey, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileKey{}, false
	}
	return fileKey{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime:   st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		ctimeNs: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
	}, true
}

type cacheEntry struct {
	key       fileKey
	noExports bool
	errno     string // kmod's errno text when the file could not be read; "" if it could
	detail    string
	exports   []ko.KmodSymbol
	info      []ko.KV
	imports   []ko.Import
}

// cachedError stands for a read error remembered from an earlier run.
type cachedError struct{ errno, detail string }

func (e *cachedError) Error() string { return e.detail }

func entryOf(m *mod) *cacheEntry {
	e := &cacheEntry{key: m.key, exports: m.exports, info: m.info, imports: m.imports}
	if m.exportErr != nil {
		if errors.Is(m.exportErr, ko.ErrNoExports) {
			e.noExports = true
		} else {
			e.errno, e.detail = kmodErrno(m.exportErr), m.exportErr.Error()
		}
	}
	return e
}

func (e *cacheEntry) apply(m *mod) {
	m.exports, m.info, m.imports = e.exports, e.info, e.imports
	switch {
	case e.noExports:
		m.exportErr = ko.ErrNoExports
	case e.errno != "":
		m.exportErr = &cachedError{e.errno, e.detail}
	}
}

type encoder struct{ b []byte }

func (w *encoder) u8(v uint8)   { w.b = append(w.b, v) }
func (w *encoder) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *encoder) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *encoder) str(s string) { w.u32(uint32(len(s))); w.b = append(w.b, s...) }

// cacheHeader names what the cached facts depend on besides the file: the
// format, the kmodscope version (its readers may change) and --max-size
// (which decides whether a large module is an error).
func (r *run) cacheHeader() string {
	return fmt.Sprintf("kmodscope depmod cache; version %s; max-size %d", r.opt.Version, r.opt.MaxSize)
}

func encodeCache(header string, paths []string, entries []*cacheEntry) []byte {
	size := 64
	for i, e := range entries {
		size += len(paths[i]) + len(e.detail) + 80 + 24*len(e.exports) + 48*len(e.info) + 32*len(e.imports)
	}
	w := &encoder{b: append(make([]byte, 0, size+len(header)), cacheMagic...)}
	w.str(header)
	w.u32(uint32(len(entries)))
	for i, e := range entries {
		w.str(paths[i])
		w.u64(e.key.dev)
		w.u64(e.key.ino)
		w.u64(uint64(e.key.size))
		w.u64(uint64(e.key.mtime))
		w.u64(uint64(e.key.ctimeNs))
		var fl uint8
		if e.noExports {
			fl |= 1
		}
		w.u8(fl)
		w.str(e.errno)
		w.str(e.detail)
		w.u32(uint32(len(e.exports)))
		for _, s := range e.exports {
			w.str(s.Name)
			w.u64(s.CRC)
		}
		w.u32(uint32(len(e.info)))
		for _, kv := range e.info {
			w.str(kv.Key)
			w.str(kv.Value)
		}
		w.u32(uint32(len(e.imports)))
		for _, im := range e.imports {
			w.str(im.Name)
			w.u64(im.CRC)
			var f uint8
			if im.Weak {
				f |= 1
			}
			if im.HasCRC {
				f |= 2
			}
			if im.InSymtab {
				f |= 4
			}
			w.u8(f)
		}
	}
	sum := sha256.Sum256(w.b)
	return append(w.b, sum[:]...)
}

type decoder struct {
	b   []byte
	s   string // b as one string: decoded strings are substrings of it
	off int
	err error
}

func (d *decoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("truncated or corrupt at byte %d (%s)", d.off, what)
	}
}

func (d *decoder) need(n int, what string) bool {
	if d.err != nil {
		return false
	}
	if n < 0 || len(d.b)-d.off < n {
		d.fail(what)
		return false
	}
	return true
}

func (d *decoder) u8(what string) uint8 {
	if !d.need(1, what) {
		return 0
	}
	d.off++
	return d.b[d.off-1]
}

func (d *decoder) u32(what string) uint32 {
	if !d.need(4, what) {
		return 0
	}
	d.off += 4
	return binary.LittleEndian.Uint32(d.b[d.off-4:])
}

func (d *decoder) u64(what string) uint64 {
	if !d.need(8, what) {
		return 0
	}
	d.off += 8
	return binary.LittleEndian.Uint64(d.b[d.off-8:])
}

func (d *decoder) str(what string) string {
	n := d.u32(what)
	if !d.need(int(n), what) {
		return ""
	}
	d.off += int(n)
	return d.s[d.off-int(n) : d.off]
}

// count reads a list length and checks that the rest of the file can hold
// that many items of at least min bytes each.
func (d *decoder) count(min int, what string) int {
	n := d.u32(what)
	if d.err == nil && uint64(n)*uint64(min) > uint64(len(d.b)-d.off) {
		d.fail(what + " count")
		return 0
	}
	return int(n)
}

// decodeCache parses a cache file into its header and entries by path.
func decodeCache(data []byte) (string, map[string]*cacheEntry, error) {
	if len(data) < len(cacheMagic)+4+sha256.Size || !bytes.HasPrefix(data, []byte(cacheMagic)) {
		return "", nil, errors.New("not a kmodscope depmod cache")
	}
	body := data[:len(data)-sha256.Size]
	if sum := sha256.Sum256(body); !bytes.Equal(sum[:], data[len(body):]) {
		return "", nil, errors.New("checksum mismatch")
	}
	d := &decoder{b: body, s: string(body), off: len(cacheMagic)}
	header := d.str("header")
	n := d.count(4+40+1+8+12, "entries")
	out := make(map[string]*cacheEntry, n)
	for i := 0; i < n && d.err == nil; i++ {
		path := d.str("path")
		e := &cacheEntry{}
		e.key = fileKey{dev: d.u64("dev"), ino: d.u64("ino"), size: int64(d.u64("size")), mtime: int64(d.u64("mtime")), ctimeNs: int64(d.u64("ctime"))}
		e.noExports = d.u8("flags")&1 != 0
		e.errno, e.detail = d.str("errno"), d.str("detail")
		for j, k := 0, d.count(12, "exports"); j < k && d.err == nil; j++ {
			e.exports = append(e.exports, ko.KmodSymbol{Name: d.str("export"), CRC: d.u64("crc")})
		}
		for j, k := 0, d.count(8, "modinfo"); j < k && d.err == nil; j++ {
			e.info = append(e.info, ko.KV{Key: d.str("key"), Value: d.str("value")})
		}
		for j, k := 0, d.count(13, "imports"); j < k && d.err == nil; j++ {
			im := ko.Import{Name: d.str("import"), CRC: d.u64("crc")}
			f := d.u8("import flags")
			im.Weak, im.HasCRC, im.InSymtab = f&1 != 0, f&2 != 0, f&4 != 0
			e.imports = append(e.imports, im)
		}
		out[path] = e
	}
	if d.err == nil && d.off != len(body) {
		d.err = fmt.Errorf("%d trailing bytes", len(body)-d.off)
	}
	if d.err != nil {
		return "", nil, d.err
	}
	return header, out, nil
}

func (r *run) cachePath() string { return r.outdir + "/" + CacheName }

// loadCache reads the cache; problems give a warning and an empty cache.
func (r *run) loadCache() map[string]*cacheEntry {
	data, err := os.ReadFile(r.cachePath())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.log.warnf("ignoring cache %s: %s\n", r.cachePath(), strerror(err))
		}
		return nil
	}
	h, c, err := decodeCache(data)
	if err == nil && h != r.cacheHeader() {
		err = fmt.Errorf("written with other settings (%q, now %q)", h, r.cacheHeader())
	}
	if err != nil {
		r.log.warnf("ignoring cache %s: %v\n", r.cachePath(), err)
		return nil
	}
	return c
}

// saveCache writes the facts of every module through a temporary file.
func (r *run) saveCache() {
	var paths []string
	var entries []*cacheEntry
	for _, m := range r.mods {
		if !m.hasKey {
			continue
		}
		paths = append(paths, m.path)
		entries = append(entries, entryOf(m))
	}
	data := encodeCache(r.cacheHeader(), paths, entries)
	if err := os.MkdirAll(r.outdir, 0o755); err != nil {
		r.log.warnf("could not write cache %s: %s\n", r.cachePath(), strerror(err))
		return
	}
	r.removeStaleCacheTemps()
	tmp := fmt.Sprintf("%s.%d", r.cachePath(), os.Getpid())
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		r.log.warnf("could not write cache %s: %s\n", r.cachePath(), strerror(err))
		return
	}
	if err := os.Rename(tmp, r.cachePath()); err != nil {
		os.Remove(tmp)
		r.log.warnf("could not write cache %s: %s\n", r.cachePath(), strerror(err))
	}
}

// removeStaleCacheTemps deletes CacheName.PID files left by killed runs
// whose process is gone. They are never read as a cache.
func (r *run) removeStaleCacheTemps() {
	ents, err := os.ReadDir(r.outdir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), CacheName+".")
		if !ok {
			continue
		}
		pid, err := strconv.Atoi(rest)
		if err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if syscall.Kill(pid, 0) == syscall.ESRCH {
			os.Remove(r.outdir + "/" + e.Name())
		}
	}
}
