package depmod

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	"github.com/kmodscope/kmodscope/ko"
)

// The incremental cache keeps, per module file, the facts depmod reads from
// it (exports with CRCs, the alias, softdep and weakdep .modinfo entries,
// imports with CRCs and binding, or the read error), keyed by path, device,
// inode, size, mtime and ctime in nanoseconds. A file whose key is
// unchanged is not opened again; everything after reading runs in full
// unless the memo (journal.go) proves its result is on disk, so the output
// is always that of a clean run.
//
// The cache is two files. CacheName, the base, holds every module's facts
// and is rewritten only when many modules changed (baseRewrite); the
// journal (JournalName, journal.go) holds the modules read since, and the
// memo of the last run, and is rewritten by every run.
//
// Base layout: "KMSDEPC5", the u64 sizes of the two sections that follow
// (each with its CRC-32C at its end), then:
//
//   - the index: the header string (cache format, kmodscope version and the
//     options that change what is read, see cacheHeader), u32 entry count,
//     the entries (path, key, SHA-256 of the facts, u64 offset and length
//     of the facts in the facts section); its CRC covers the magic and
//     sizes too;
//   - the facts: every entry's facts (see encodeFacts), back to back.
//
// A run whose modules' facts are all those of the memo's run reads only the
// index (a tenth of the file) and checks the facts section's CRC through a
// mapping; the facts are read when the indexes are computed or the base
// rewritten. Integers are little-endian; strings are a u32 length and the
// bytes. A file that is short, foreign, corrupt, fails a checksum or has
// another header is ignored with one warning and rewritten.

// CacheName is the cache file's name in the output directory.
const CacheName = "modules.kmodscope-cache"

const cacheMagic = "KMSDEPC5"

// cachePreamble is the magic and the two section sizes.
const cachePreamble = len(cacheMagic) + 16

type fileKey struct {
	dev, ino             uint64
	size, mtime, ctimeNs int64
}

func statKey(path string) (fileKey, bool) {
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		return fileKey{}, false
	}
	return keyOf(&st), true
}

func keyOf(st *syscall.Stat_t) fileKey {
	return fileKey{
		dev: uint64(st.Dev), ino: uint64(st.Ino), size: st.Size,
		mtime:   st.Mtim.Sec*1e9 + st.Mtim.Nsec,
		ctimeNs: st.Ctim.Sec*1e9 + st.Ctim.Nsec,
	}
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

// cacheHeader names what the cached facts depend on besides the file: the
// format, the kmodscope version (its readers may change) and --max-size
// (which decides whether a large module is an error).
func (r *run) cacheHeader() string {
	return fmt.Sprintf("kmodscope depmod cache; version %s; max-size %d", r.opt.Version, r.opt.MaxSize)
}

type encoder struct{ b []byte }

func (w *encoder) u8(v uint8)   { w.b = append(w.b, v) }
func (w *encoder) u32(v uint32) { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *encoder) u64(v uint64) { w.b = binary.LittleEndian.AppendUint64(w.b, v) }
func (w *encoder) str(s string) { w.u32(uint32(len(s))); w.b = append(w.b, s...) }

// encodeFacts encodes an entry's facts (everything but path and key).
func encodeFacts(e *cacheEntry) []byte {
	w := &encoder{b: make([]byte, 0, 64+len(e.detail)+24*len(e.exports)+48*len(e.info)+32*len(e.imports))}
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
	return w.b
}

// memo records what a run wrote after reading the modules, so that a
// later run with the same inputs (digest: the settings, the depmod.d
// configuration, modules.order and the builtin files, and every module's
// path and facts in module order) reuses it instead of recomputing: the
// messages printed from then on, and each index file's key (as a module's)
// and SHA-256. A file is unchanged if its key is, or else if it still has
// exactly those bytes.
type memo struct {
	digest [32]byte
	log    string
	files  []memoFile
}

type memoFile struct {
	name string
	key  fileKey // zero if unknown
	sum  [32]byte
}

// rawEntry is a decoded cache entry whose facts are still encoded.
type rawEntry struct {
	path   string // in the base's list
	key    fileKey
	sum    [32]byte // SHA-256 of facts
	off, n uint64   // the facts in the facts section
	facts  string   // once the facts section is loaded
}

type cacheFile struct {
	header string
	// The entries in file order, which is the module order of the run
	// that wrote them: a run with the same modules finds each entry at
	// its module's index, without building a map (find).
	list   []rawEntry
	byPath map[string]int // built when a lookup by index misses

	// The facts section, loaded by loadFacts from f (open from loadCache
	// on).
	f         *os.File
	factsSize int64 // with its CRC
	facts     string
	factsErr  error
	factsDone bool
}

// find returns the entry for path, looking first at index hint.
func (c *cacheFile) find(path string, hint int) (*rawEntry, bool) {
	if hint >= 0 && hint < len(c.list) && c.list[hint].path == path {
		return &c.list[hint], true
	}
	if c.byPath == nil {
		c.byPath = make(map[string]int, len(c.list))
		for i := range c.list {
			c.byPath[c.list[i].path] = i
		}
	}
	i, ok := c.byPath[path]
	if !ok {
		return nil, false
	}
	return &c.list[i], true
}

func encodeCache(c *cacheFile) []byte {
	size, facts := cachePreamble+64+len(c.header), 4
	for i := range c.list {
		size += len(c.list[i].path) + 100
		facts += len(c.list[i].facts)
	}
	w := &encoder{b: append(make([]byte, 0, size+facts), cacheMagic...)}
	w.b = append(w.b, make([]byte, 16)...) // the sizes, below
	w.str(c.header)
	w.u32(uint32(len(c.list)))
	off := uint64(0)
	for _, e := range c.list {
		w.str(e.path)
		w.u64(e.key.dev)
		w.u64(e.key.ino)
		w.u64(uint64(e.key.size))
		w.u64(uint64(e.key.mtime))
		w.u64(uint64(e.key.ctimeNs))
		w.b = append(w.b, e.sum[:]...)
		w.u64(off)
		w.u64(uint64(len(e.facts)))
		off += uint64(len(e.facts))
	}
	index := len(w.b) - cachePreamble + 4
	binary.LittleEndian.PutUint64(w.b[len(cacheMagic):], uint64(index))
	binary.LittleEndian.PutUint64(w.b[len(cacheMagic)+8:], off+4)
	w.b = binary.LittleEndian.AppendUint32(w.b, crc32.Checksum(w.b, castagnoli))
	start := len(w.b)
	for i := range c.list {
		w.b = append(w.b, c.list[i].facts...)
	}
	return binary.LittleEndian.AppendUint32(w.b, crc32.Checksum(w.b[start:], castagnoli))
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

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

func (d *decoder) skip(n int, what string) {
	if d.need(n, what) {
		d.off += n
	}
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

// facts decodes (e != nil) or only checks (e == nil) one entry's facts.
func (d *decoder) facts(e *cacheEntry) {
	fl := d.u8("flags")
	errno, detail := d.str("errno"), d.str("detail")
	if e != nil {
		e.noExports, e.errno, e.detail = fl&1 != 0, errno, detail
	}
	k := d.count(12, "exports")
	if e != nil && k > 0 {
		e.exports = make([]ko.KmodSymbol, 0, k)
	}
	for j := 0; j < k && d.err == nil; j++ {
		name, crc := d.str("export"), d.u64("crc")
		if e != nil {
			e.exports = append(e.exports, ko.KmodSymbol{Name: name, CRC: crc})
		}
	}
	k = d.count(8, "modinfo")
	if e != nil && k > 0 {
		e.info = make([]ko.KV, 0, k)
	}
	for j := 0; j < k && d.err == nil; j++ {
		key, val := d.str("key"), d.str("value")
		if e != nil {
			e.info = append(e.info, ko.KV{Key: key, Value: val})
		}
	}
	k = d.count(13, "imports")
	if e != nil && k > 0 {
		e.imports = make([]ko.Import, 0, k)
	}
	for j := 0; j < k && d.err == nil; j++ {
		im := ko.Import{Name: d.str("import"), CRC: d.u64("crc")}
		f := d.u8("import flags")
		if e != nil {
			im.Weak, im.HasCRC, im.InSymtab = f&1 != 0, f&2 != 0, f&4 != 0
			e.imports = append(e.imports, im)
		}
	}
}

// decodeFacts decodes one entry's facts.
func decodeFacts(facts string) (*cacheEntry, error) {
	e := &cacheEntry{}
	d := &decoder{b: []byte(facts), s: facts}
	d.facts(e)
	if d.err == nil && d.off != len(facts) {
		d.err = fmt.Errorf("%d trailing bytes", len(facts)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return e, nil
}

// checkPreamble checks the magic and returns the sizes of the two
// sections, which must add up to the file's size.
func checkPreamble(pre []byte, fileSize int64) (index, facts int64, err error) {
	if len(pre) < cachePreamble || !bytes.HasPrefix(pre, []byte(cacheMagic)) {
		return 0, 0, errors.New("not a kmodscope depmod cache")
	}
	i := binary.LittleEndian.Uint64(pre[len(cacheMagic):])
	f := binary.LittleEndian.Uint64(pre[len(cacheMagic)+8:])
	if i < 4+4+4 || f < 4 || i > uint64(fileSize) || f > uint64(fileSize) || uint64(cachePreamble)+i+f != uint64(fileSize) {
		return 0, 0, fmt.Errorf("section sizes %d and %d do not add up to the file's %d bytes", i, f, fileSize)
	}
	return int64(i), int64(f), nil
}

// decodeIndex parses the preamble and index section (data, its CRC
// included). Entries' facts are left in the facts section, of factsSize
// bytes with its CRC.
func decodeIndex(data []byte, factsSize int64) (*cacheFile, error) {
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return nil, errors.New("checksum mismatch")
	}
	// The strings decoded share data's bytes, which nothing changes after.
	d := &decoder{b: body, s: unsafe.String(&body[0], len(body)), off: cachePreamble}
	c := &cacheFile{header: d.str("header"), factsSize: factsSize}
	n := d.count(4+40+32+16, "entries")
	c.list = make([]rawEntry, 0, n)
	for i := 0; i < n && d.err == nil; i++ {
		e := rawEntry{path: d.str("path")}
		e.key = fileKey{dev: d.u64("dev"), ino: d.u64("ino"), size: int64(d.u64("size")), mtime: int64(d.u64("mtime")), ctimeNs: int64(d.u64("ctime"))}
		if d.need(32, "facts sum") {
			copy(e.sum[:], d.b[d.off:])
			d.off += 32
		}
		e.off, e.n = d.u64("facts offset"), d.u64("facts length")
		if d.err == nil && (e.off > uint64(factsSize-4) || e.n > uint64(factsSize-4)-e.off) {
			d.fail("facts out of the section")
		}
		c.list = append(c.list, e)
	}
	if d.err == nil && d.off != len(body) {
		d.err = fmt.Errorf("%d trailing bytes", len(body)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return c, nil
}

// setFacts takes section (the facts section, its CRC included) as the
// entries' facts.
func (c *cacheFile) setFacts(section []byte) error {
	body := section[:len(section)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(section[len(body):]) {
		return errors.New("facts checksum mismatch")
	}
	c.facts = unsafe.String(unsafe.SliceData(body), len(body))
	for i := range c.list {
		e := &c.list[i]
		e.facts = c.facts[e.off : e.off+e.n]
	}
	return nil
}

// decodeCache parses a whole cache file. Entries' facts are left encoded
// (decodeFacts decodes them when needed, and a run that finds them
// malformed reads the module instead).
func decodeCache(data []byte) (*cacheFile, error) {
	i, f, err := checkPreamble(data, int64(len(data)))
	if err != nil {
		return nil, err
	}
	c, err := decodeIndex(data[:cachePreamble+int(i)], f)
	if err != nil {
		return nil, err
	}
	if err := c.setFacts(data[cachePreamble+int(i):]); err != nil {
		return nil, err
	}
	c.factsDone = true
	return c, nil
}

func (r *run) cachePath() string { return r.outdir + "/" + CacheName }

type cacheLoad struct {
	cache   *cacheFile
	journal *journal
	log     []byte // the warnings
}

// loadCacheAsync reads the cache's base index and journal on another
// goroutine; the warnings are returned for the caller to print in order.
func (r *run) loadCacheAsync() chan cacheLoad {
	ch := make(chan cacheLoad, 1)
	rr := *r
	var buf bytes.Buffer
	rr.log = &logger{w: bufio.NewWriter(&buf), prio: r.log.prio}
	go func() {
		var l cacheLoad
		if l.cache = rr.loadCache(); l.cache != nil {
			l.journal = rr.loadJournal()
		}
		rr.log.w.Flush()
		l.log = buf.Bytes()
		ch <- l
	}()
	return ch
}

// loadCache reads the cache's index; problems give a warning and no
// cache. The file stays open for loadFacts (closeCache closes it).
func (r *run) loadCache() *cacheFile {
	c, err := r.readCacheIndex()
	if err == nil && c.header != r.cacheHeader() {
		err = fmt.Errorf("written with other settings (%q, now %q)", c.header, r.cacheHeader())
	}
	if err != nil {
		if c != nil && c.f != nil {
			c.f.Close()
		}
		if !errors.Is(err, os.ErrNotExist) {
			if isErrno(err) {
				r.log.warnf("ignoring cache %s: %s\n", r.cachePath(), strerror(err))
			} else {
				r.log.warnf("ignoring cache %s: %v\n", r.cachePath(), err)
			}
		}
		return nil
	}
	return c
}

func isErrno(err error) bool {
	var e syscall.Errno
	return errors.As(err, &e)
}

func (r *run) readCacheIndex() (*cacheFile, error) {
	f, err := os.Open(r.cachePath())
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	var pre [cachePreamble]byte
	n, _ := f.ReadAt(pre[:], 0)
	isize, fsize, err := checkPreamble(pre[:n], st.Size())
	if err != nil {
		f.Close()
		return nil, err
	}
	data := make([]byte, cachePreamble+int(isize))
	if _, err := f.ReadAt(data, 0); err != nil {
		f.Close()
		if err == io.EOF {
			err = errors.New("truncated while read")
		}
		return nil, err
	}
	c, err := decodeIndex(data, fsize)
	if err == nil {
		// The facts section is checked now, so a corrupt cache is found
		// even by a run that does not need the facts (mapped: this reads
		// nothing into memory).
		err = mapped(f, st.Size(), func(b []byte) error {
			facts := b[len(b)-int(fsize):]
			if crc32.Checksum(facts[:len(facts)-4], castagnoli) != binary.LittleEndian.Uint32(facts[len(facts)-4:]) {
				return errors.New("facts checksum mismatch")
			}
			return nil
		})
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	c.f = f
	return c, nil
}

// mapped calls fn with f's first size bytes mapped read-only. A fault
// (the file truncated meanwhile) is an error, not a crash.
func mapped(f *os.File, size int64, fn func([]byte) error) (err error) {
	if size <= 0 || size != int64(int(size)) {
		return fn(nil)
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(size), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		data = make([]byte, size)
		if _, err := f.ReadAt(data, 0); err != nil {
			return err
		}
		return fn(data)
	}
	defer syscall.Munmap(data)
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if recover() != nil {
			err = errors.New("file changed while read")
		}
	}()
	return fn(data)
}

// loadFacts reads and checks the facts section once.
func (c *cacheFile) loadFacts() error {
	if c.factsDone {
		return c.factsErr
	}
	c.factsDone = true
	section := make([]byte, c.factsSize)
	st, err := c.f.Stat()
	if err == nil {
		_, err = c.f.ReadAt(section, st.Size()-c.factsSize)
	}
	if err == nil {
		err = c.setFacts(section)
	}
	c.f.Close()
	c.factsErr = err
	return err
}

func (r *run) closeCache() {
	if r.cache != nil && r.cache.f != nil {
		r.cache.f.Close()
	}
}

// loadFacts gives the modules whose facts come from the cache their
// encoded facts; if the facts section cannot be read or fails its
// checksum, it warns (once) and returns false.
func (r *run) loadFacts() bool {
	c := r.cache
	if c == nil {
		return true
	}
	warn := !c.factsDone
	if err := c.loadFacts(); err != nil {
		if warn {
			r.log.warnf("ignoring cache %s: %v\n", r.cachePath(), err)
		}
		return false
	}
	for _, m := range r.mods {
		if m.inBase {
			e, _ := c.find(m.path, m.idx)
			m.facts = e.facts
		}
	}
	return true
}

// baseRewrite: whether this run's save rewrites the base, because there is
// none or the journal would otherwise hold too many modules (more than 1%
// of them, at least 16), or the base too many that are gone.
func (r *run) baseRewrite() bool {
	if r.cache == nil {
		return true
	}
	limit := max(16, len(r.mods)/100)
	journal, inBase := 0, 0
	for _, m := range r.mods {
		if !m.inBase && m.hasKey {
			journal++
		}
		if _, ok := r.cache.find(m.path, m.idx); ok {
			inBase++
		}
	}
	return journal > limit || len(r.cache.list)-inBase > limit
}

// saveCache writes the base (when base is set) with the facts of every
// module, then the journal with the modules whose facts are not in the
// base and the memo of this run (nil for none), each through a temporary
// file and a rename.
func (r *run) saveCache(mem *memo, base bool) {
	if err := os.MkdirAll(r.outdir, 0o755); err != nil {
		r.log.warnf("could not write cache %s: %s\n", r.cachePath(), strerror(err))
		return
	}
	r.removeStaleCacheTemps()
	if base {
		c := &cacheFile{header: r.cacheHeader(), list: make([]rawEntry, 0, len(r.mods))}
		for _, m := range r.mods {
			if !m.hasKey || m.facts == "" {
				continue // no key, or the base's facts section was not read
			}
			c.list = append(c.list, rawEntry{path: m.path, key: m.key, sum: m.factsSum, facts: m.facts})
		}
		if r.writeCacheFile(r.cachePath(), encodeCache(c)) {
			for _, m := range r.mods {
				m.inBase = m.hasKey && m.facts != ""
			}
		}
	}
	j := &journal{header: r.cacheHeader(), entries: map[string]rawEntry{}, memo: mem}
	var paths []string
	for _, m := range r.mods {
		if m.hasKey && !m.inBase && m.facts != "" {
			paths = append(paths, m.path)
			j.entries[m.path] = rawEntry{key: m.key, sum: m.factsSum, facts: m.facts}
		}
	}
	r.writeCacheFile(r.journalPath(), encodeJournal(j, paths))
}

// writeCacheFile writes data to path through PATH.PID.
func (r *run) writeCacheFile(path string, data []byte) bool {
	tmp := fmt.Sprintf("%s.%d", path, os.Getpid())
	err := os.WriteFile(tmp, data, 0o644)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		r.log.warnf("could not write cache %s: %s\n", path, strerror(err))
		return false
	}
	return true
}

// removeStaleCacheTemps deletes CacheName.PID and JournalName.PID files left by killed runs
// whose process is gone. They are never read as a cache.
func (r *run) removeStaleCacheTemps() {
	ents, err := os.ReadDir(r.outdir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), CacheName+".")
		if !ok {
			if rest, ok = strings.CutPrefix(e.Name(), JournalName+"."); !ok {
				continue
			}
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
