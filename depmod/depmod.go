// Package depmod computes kmod's module indexes for a module tree the way
// kmod 30's depmod(8) does, byte for byte: modules.dep, modules.alias,
// modules.softdep, modules.symbols, modules.devname and the binary indexes
// modules.dep.bin, modules.alias.bin, modules.symbols.bin,
// modules.builtin.bin and modules.builtin.alias.bin.
//
// Behaviour follows kmod 30's tools/depmod.c: depmod.d configuration
// (search, override, external, exclude), module discovery in raw directory
// order with duplicate-name priorities, ordering by the 512-bucket name hash
// and modules.order, the last exporter of a symbol winning, kmod's
// topological sort and cycle report, and its messages on stderr
// ("depmod: LEVEL: ..."). Modules are read in parallel; everything that
// decides the output runs afterwards in kmod's order.
package depmod

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modindex"
)

// Options are depmod's command line. The zero value indexes the running
// kernel's tree like plain `depmod`.
type Options struct {
	BaseDir     string   // -b: made absolute by the caller; "" for /
	OutDir      string   // -o (kmod 31+): write the indexes under OUTDIR/lib/modules/RELEASE; "" for BaseDir
	Release     string   // kernel release; "" is an error (the CLI fills in uname -r)
	ConfigPaths []string // -C (replace the defaults); nil for DefaultConfigPaths
	Symvers     string   // -E Module.symvers: vmlinux exports with CRCs, CRC check on
	SystemMap   string   // -F System.map: vmlinux exports (ignored when Symvers is set)
	ErrSyms     bool     // -e: report unknown symbols (needs Symvers or SystemMap)
	WarnDups    bool     // -w: warn about duplicate index values
	Verbose     int      // number of -v
	SymPrefix   byte     // -P: symbol prefix character, 0 for none
	DryRun      bool     // -n: write the text indexes to Stdout, no files
	Quick       bool     // -A: do nothing when no module is newer than modules.dep
	Files       []string // explicit module paths (absolute); nil means all (-a)
	Preorder    bool     // write kmod 34's pre-order .bin layout instead of kmod 30's
	// Compat is the kmod version whose output is written: 30 (or 0) for
	// kmod 30, 34 for kmod 34 (pre-order .bin layout, modules.weakdep, the
	// first modules.order line naming a module decides its place).
	Compat int
	// Cache keeps per-module facts in CacheName next to the indexes and
	// re-reads only modules whose path, device, inode, size, mtime or
	// ctime changed. The output is the same as without it.
	Cache bool
	// Version is recorded in the cache: a cache written by another
	// version is ignored.
	Version string

	Stdout io.Writer // -n output and -v lines; nil discards
	Stderr io.Writer // kmod-style messages; nil discards

	Jobs    int   // parallel module readers; 0 means GOMAXPROCS
	MaxSize int64 // decompressed size limit per module; 0 for the default

	// Progress, if set, is called after each module read with the count
	// done and the total.
	Progress func(done, total int)
}

// Result summarises a run.
type Result struct {
	Dirname  string   // the module directory indexed
	Modules  int      // modules indexed
	Written  []string // files written (none with DryRun or when up to date)
	UpToDate bool     // Quick found nothing newer than modules.dep
	Cycles   int      // modules in dependency cycles (nothing written then)
	Read     int      // module files opened and read
	Cached   int      // modules whose facts came from the cache (Options.Cache)
	Reused   bool     // the modules' facts and every other input were those of the cached run: its index files were kept
}

// ErrFailed is returned (wrapped) when depmod exits with status 1; the
// reason has already been printed on Stderr in kmod's words.
var ErrFailed = errors.New("depmod failed")

// Log priorities (syslog levels, as kmod's log.c).
const (
	logCrit    = 2
	logErr     = 3
	logWarning = 4
	logInfo    = 6
	logDebug   = 7
)

type logger struct {
	w    *bufio.Writer
	prio int
}

func (l *logger) logf(prio int, name, format string, a ...any) {
	if prio > l.prio {
		return
	}
	fmt.Fprintf(l.w, "depmod: "+name+": "+format, a...)
}
func (l *logger) errf(format string, a ...any)  { l.logf(logErr, "ERROR", format, a...) }
func (l *logger) warnf(format string, a ...any) { l.logf(logWarning, "WARNING", format, a...) }
func (l *logger) infof(format string, a ...any) { l.logf(logInfo, "INFO", format, a...) }

// fatalf prints a FATAL message and returns the error that ends the run.
func (l *logger) fatalf(format string, a ...any) error {
	l.logf(logCrit, "FATAL", format, a...)
	return fmt.Errorf("%w: %s", ErrFailed, strings.TrimSuffix(fmt.Sprintf(format, a...), "\n"))
}

type mod struct {
	path       string
	relpath    string // "" when not under dirname
	uncrelpath string
	name       string
	baselen    int // index of the last '/'
	sortIdx    int
	idx        int
	depSortIdx int
	users      int
	deps       []*mod
	visited    bool

	// Facts read from the file.
	exports   []ko.KmodSymbol
	exportErr error
	info      []ko.KV // alias, softdep and weakdep entries of .modinfo, in order
	imports   []ko.Import
	key       fileKey
	hasKey    bool
	facts     string   // the facts, encoded as in the cache (with Options.Cache)
	factsSum  [32]byte // their SHA-256
	fromCache bool     // facts came from the cache and are not decoded yet
	inBase    bool     // the cache's base holds these facts under this key
}

type symbol struct {
	owner *mod
	crc   uint64
}

type run struct {
	opt          *Options
	log          *logger
	out          *bufio.Writer // stdout
	dirname      string
	outdir       string
	cfg          *config
	mods         []*mod
	byName       map[string]*mod
	symbols      map[string]*symbol
	checkSymvers bool
	printUnknown bool
	cache        *cacheFile // the cache's base read, nil if none
	journal      *journal   // its journal, nil if none
	cacheLoad    chan cacheLoad
	prefetch     chan *prefetched
	prefetchDone *prefetched
	gcHeld       bool
	outNames     []string // the files output generated, in order
	outContents  [][]byte // and their contents
}

// Run indexes the tree described by o. On failure it returns an error
// wrapping ErrFailed after printing kmod's message.
func Run(o *Options) (*Result, error) {
	stderr, stdout := o.Stderr, o.Stdout
	if stderr == nil {
		stderr = io.Discard
	}
	if stdout == nil {
		stdout = io.Discard
	}
	r := &run{
		opt:     o,
		log:     &logger{w: bufio.NewWriterSize(stderr, 32<<10), prio: logWarning + o.Verbose},
		out:     bufio.NewWriterSize(stdout, 64<<10),
		byName:  map[string]*mod{},
		symbols: map[string]*symbol{},
	}
	defer r.log.w.Flush()
	defer r.out.Flush()
	if o.Compat != 0 && o.Compat != 30 && o.Compat != 34 {
		return nil, fmt.Errorf("%w: unsupported --compat %d (30 or 34)", ErrFailed, o.Compat)
	}
	if !isVersionNumber(o.Release) {
		r.log.errf("Bad version passed %s\n", o.Release)
		return nil, fmt.Errorf("%w: bad version %q", ErrFailed, o.Release)
	}
	r.dirname = o.BaseDir + "/lib/modules/" + o.Release
	r.outdir = r.dirname
	if o.OutDir != "" {
		r.outdir = o.OutDir + "/lib/modules/" + o.Release
	}
	res := &Result{Dirname: r.dirname}

	if o.Quick {
		if o.DryRun {
			res.UpToDate = true
			return res, nil
		}
		if r.upToDate() == 1 {
			res.UpToDate = true
			return res, nil
		}
	}

	switch {
	case o.Symvers != "":
		r.checkSymvers = true
		r.printUnknown = o.ErrSyms
		if err := r.loadSymvers(o.Symvers); err != nil {
			return nil, r.log.fatalf("could not load %s: %s\n", o.Symvers, strerror(err))
		}
	case o.SystemMap != "":
		r.printUnknown = o.ErrSyms
		if err := r.loadSystemMap(o.SystemMap); err != nil {
			return nil, r.log.fatalf("could not load %s: %s\n", o.SystemMap, strerror(err))
		}
	case o.ErrSyms:
		r.log.warnf("-e needs -E or -F\n")
	}

	// Unless it reads many modules, a run allocates little more than it
	// keeps to the end (a rerun on Debian's 6.1 tree that computes the
	// indexes peaks at 72 MB, 16 MB more than with the collector on):
	// collecting garbage then only costs time, and a P while the tree is
	// listed. The collector is held off until more than 16 modules are to
	// be read.
	gcHold()
	defer r.gcRelease()
	// The cache and the other files are read while the tree is listed.
	r.prefetchAsync()
	defer r.prefetchedFiles()
	if o.Cache {
		r.cacheLoad = r.loadCacheAsync()
		defer func() {
			if r.cacheLoad != nil {
				if l := <-r.cacheLoad; l.cache != nil {
					l.cache.f.Close()
				}
			}
		}()
	}
	if o.Files == nil {
		r.cfg = r.loadConfig(o.ConfigPaths)
		if err := r.searchModules(); err != nil {
			return nil, r.log.fatalf("could not search modules: %s\n", strerror(err))
		}
	} else {
		r.cfg = &config{}
		for _, p := range o.Files {
			if !strings.HasPrefix(p, "/") {
				return nil, r.log.fatalf("%s: not absolute path.\n", p)
			}
			if _, err := os.Stat(p); err != nil {
				return nil, r.log.fatalf("could not create module %s: %s\n", p, strerror(err))
			}
			if r.byName[ko.NameFromPath(p)] != nil {
				r.log.errf("hash_add_unique %s: %s\n", ko.NameFromPath(p), "File exists")
				return nil, r.log.fatalf("could not add module %s: %s\n", p, "File exists")
			}
			r.addModule(p)
		}
	}

	r.buildArray()
	r.sortModules()
	res.Modules = len(r.mods)
	res.Read, res.Cached = r.readModules()
	defer r.closeCache()
	saveCache := o.Cache && !o.DryRun
	useMemo := saveCache && r.memoable()
	var digest [32]byte
	if useMemo {
		digest = r.inputsDigest()
		// A base rewrite needs the cached facts.
		rewrite := r.baseRewrite()
		if !rewrite || r.loadFacts() {
			if m, written, ok := r.replayMemo(digest); ok {
				res.Written, res.Reused = written, true
				r.saveCache(m, rewrite)
				return res, nil
			}
		}
	}
	if res.Read > 16 {
		r.gcRelease()
	}
	var bad []*mod
	if !r.loadFacts() {
		for _, m := range r.mods {
			if m.inBase {
				bad = append(bad, m)
			}
		}
		for _, m := range r.mods {
			if m.fromCache && !m.inBase {
				if e, err := decodeFacts(m.facts); err == nil {
					e.apply(m)
				} else {
					bad = append(bad, m)
				}
			}
		}
	} else {
		for _, m := range r.mods {
			if m.fromCache {
				e, err := decodeFacts(m.facts)
				if err != nil {
					bad = append(bad, m)
					continue
				}
				e.apply(m)
			}
		}
		if len(bad) > 0 {
			// Malformed facts under a valid checksum: never trusted.
			r.log.warnf("ignoring %d malformed entries of cache %s\n", len(bad), r.cachePath())
		}
	}
	if len(bad) > 0 {
		r.readFiles(bad)
		for _, m := range bad {
			m.fromCache, m.inBase = false, false
			m.facts = string(encodeFacts(entryOf(m)))
			m.factsSum = sha256.Sum256([]byte(m.facts))
		}
		res.Read += len(bad)
		res.Cached -= len(bad)
	}
	// With the memo, what is printed from here on is recorded.
	var capture bytes.Buffer
	orig := r.log.w
	if useMemo {
		orig.Flush()
		r.log.w = bufio.NewWriter(&capture)
	}
	finish := func() {
		if useMemo {
			r.log.w.Flush()
			r.log.w = orig
			orig.Write(capture.Bytes())
		}
	}
	r.loadSymbols()
	r.loadDependencies()
	if n := r.calculateDependencies(); n > 0 {
		finish()
		if saveCache {
			r.saveCache(nil, r.baseRewrite())
		}
		res.Cycles = n
		return res, fmt.Errorf("%w: %d modules in dependency cycles", ErrFailed, n)
	}
	written, err := r.output()
	finish()
	res.Written = written
	if saveCache {
		var m *memo
		if useMemo && err == nil && len(written) == len(r.outNames) {
			m = &memo{digest: digest, log: capture.String()}
			for i, name := range r.outNames {
				m.files = append(m.files, memoFile{name: name, sum: sha256.Sum256(r.outContents[i])})
			}
			r.memoKeys(m)
		}
		r.saveCache(m, r.baseRewrite())
	}
	return res, err
}

// memoable: the memo covers runs whose messages do not depend on anything
// but the inputs of inputsDigest.
func (r *run) memoable() bool {
	o := r.opt
	return o.Verbose == 0 && !o.WarnDups && !o.ErrSyms && o.Symvers == "" && o.SystemMap == ""
}

// inputsDigest hashes everything the indexes and the messages after reading
// depend on: the settings, the configuration, the builtin files and every
// module's path and facts, in module order (modules.order included).
func (r *run) inputsDigest() [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%d\x00%v\x00%d\x00%s\x00%s\x00%#v\x00", r.cacheHeader(), r.opt.Compat, r.opt.Preorder, r.opt.SymPrefix, r.dirname, r.outdir, *r.cfg)
	for _, f := range []string{"modules.builtin", "modules.builtin.modinfo"} {
		pf := r.prefetchedFiles().files[f]
		fmt.Fprintf(h, "%s\x00%v\x00%v\x00%d\x00", f, pf.dirErr, pf.err, len(pf.data))
		h.Write(pf.data)
	}
	var n [8]byte
	for _, m := range r.mods {
		binary.LittleEndian.PutUint64(n[:], uint64(len(m.path)))
		h.Write(n[:])
		io.WriteString(h, m.path)
		h.Write(m.factsSum[:])
	}
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// replayMemo reuses the last run's result when its digest matches and
// its index files are on disk unchanged: the messages are printed again and
// the files get a new mtime (for -A), as if rewritten. It returns the memo
// with the files' new keys.
func (r *run) replayMemo(digest [32]byte) (*memo, []string, bool) {
	if r.journal == nil || r.journal.memo == nil || r.journal.memo.digest != digest {
		return nil, nil, false
	}
	m := r.journal.memo
	ok := make([]bool, len(m.files))
	var wg sync.WaitGroup
	for i, f := range m.files {
		path := r.outdir + "/" + f.name
		if k, found := statKey(path); found && k == f.key {
			ok[i] = true
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if sumHook != nil {
				sumHook(path)
			}
			ok[i] = fileSum(path) == f.sum
		}()
	}
	wg.Wait()
	for _, b := range ok {
		if !b {
			return nil, nil, false
		}
	}
	io.WriteString(r.log.w, m.log)
	now := time.Now()
	var written []string
	next := &memo{digest: m.digest, log: m.log, files: slices.Clone(m.files)}
	for _, f := range m.files {
		if os.Chtimes(r.outdir+"/"+f.name, now, now) == nil {
			written = append(written, f.name)
		}
	}
	r.memoKeys(next)
	return next, written, true
}

// memoKeys records the keys the memo's files have now.
func (r *run) memoKeys(m *memo) {
	for i := range m.files {
		m.files[i].key, _ = statKey(r.outdir + "/" + m.files[i].name)
	}
}

// fileSum is the SHA-256 of a file's bytes, read through a mapping (no
// copy); a file that cannot be read gives the zero sum.
func fileSum(path string) (sum [32]byte) {
	f, err := os.Open(path)
	if err != nil {
		return sum
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return sum
	}
	var s [32]byte
	if mapped(f, st.Size(), func(b []byte) error { s = sha256.Sum256(b); return nil }) == nil {
		sum = s
	}
	return sum
}

var gcMu sync.Mutex
var gcHolders, gcPercent int

// gcHold turns the garbage collector off until every holder released it
// (runs may be concurrent).
func gcHold() {
	gcMu.Lock()
	defer gcMu.Unlock()
	if gcHolders == 0 {
		gcPercent = debug.SetGCPercent(-1)
	}
	gcHolders++
}

// gcRelease releases the run's hold, once.
func (r *run) gcRelease() {
	if r.gcHeld {
		return
	}
	r.gcHeld = true
	gcMu.Lock()
	defer gcMu.Unlock()
	if gcHolders--; gcHolders == 0 {
		debug.SetGCPercent(gcPercent)
	}
}

// isVersionNumber is sscanf("%u.%u") == 2.
func isVersionNumber(v string) bool {
	s := v
	n1, ok := scanUint(&s)
	if !ok || !strings.HasPrefix(s, ".") {
		return false
	}
	_ = n1
	s = s[1:]
	_, ok = scanUint(&s)
	return ok
}

// scanUint is scanf's %u: optional white space, an optional sign, at least
// one decimal digit. It consumes what it read from *s.
func scanUint(s *string) (uint32, bool) {
	t := strings.TrimLeft(*s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	i := 0
	var v uint64
	overflow := false
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		v = v*10 + uint64(t[i]-'0')
		if v > 1<<63 {
			overflow = true
		}
		i++
	}
	if i == 0 {
		return 0, false
	}
	if overflow {
		v = ^uint64(0)
	}
	if neg {
		v = -v
	}
	*s = t[i:]
	return uint32(v), true
}

// strerror renders an error the way kmod's %m / strerror(-err) would.
func strerror(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return titleErrno(errno)
	}
	return err.Error()
}

// titleErrno is glibc's strerror text: Go's errno strings are glibc's
// with the first letter lowered.
func titleErrno(e syscall.Errno) string {
	s := e.Error()
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// hasKmodExt is path_ends_with_kmod_ext for Debian's kmod 30
// (+XZ +ZSTD -ZLIB): .ko, .ko.xz, .ko.zst.
func hasKmodExt(name string) bool {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst"} {
		if len(name) > len(ext) && strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// modnameOf is path_to_modname.
func modnameOf(path string) string {
	base := path[strings.LastIndexByte(path, '/')+1:]
	return modindex.ModnameNormalize(base)
}

func (r *run) addModule(path string) *mod { return r.addModuleNamed(path, modnameOf(path)) }

func (r *run) addModuleNamed(path, name string) *mod {
	m := r.newMod(path, name)
	r.byName[m.name] = m
	return m
}

// newMod makes the module for path, named name (it changes nothing in r:
// the listing calls it on several goroutines).
func (r *run) newMod(path, name string) *mod {
	m := &mod{path: path, name: name, sortIdx: 1, depSortIdx: 1<<31 - 1}
	m.baselen = strings.LastIndexByte(path, '/')
	if strings.HasPrefix(path, r.dirname) && len(path) > len(r.dirname) && path[len(r.dirname)] == '/' {
		m.relpath = path[len(r.dirname)+1:]
		n := m.baselen - (len(r.dirname) + 1) + len(m.name) + 1 + len(".ko")
		if n > len(m.relpath) {
			n = len(m.relpath)
		}
		m.uncrelpath = m.relpath[:n]
	}
	return m
}

func (m *mod) outPath() string {
	if m.relpath != "" {
		return m.relpath
	}
	return m.path
}

// buildArray is depmod_modules_build_array: modules in the iteration order
// of kmod's 512-bucket name hash.
func (r *run) buildArray() {
	r.mods = r.mods[:0]
	for _, m := range r.byName {
		r.mods = append(r.mods, m)
	}
	hashOrder(r.mods, 512, func(m *mod) string { return m.name })
	for i, m := range r.mods {
		m.idx = i
	}
}

// hashOrder sorts items into kmod's hash iteration order: bucket
// superfast(key) & (n-1) ascending, strcmp order within a bucket.
func hashOrder[T any](items []T, n uint32, key func(T) string) {
	type kb struct {
		b uint32
		k string
		v T
	}
	tmp := make([]kb, len(items))
	for i, it := range items {
		k := key(it)
		tmp[i] = kb{superfast(k) & (n - 1), k, it}
	}
	slices.SortFunc(tmp, func(x, y kb) int {
		if c := cmp.Compare(x.b, y.b); c != 0 {
			return c
		}
		return strings.Compare(x.k, y.k)
	})
	for i := range tmp {
		items[i] = tmp[i].v
	}
}

// fgetsLines splits data the way repeated fgets(buf, size) calls do.
func fgetsLines(b []byte, size int) []string {
	var out []string
	data := string(b) // one copy; the lines share it
	for len(data) > 0 {
		n := 0
		for n < len(data) && n < size-1 {
			n++
			if data[n-1] == '\n' {
				break
			}
		}
		out = append(out, data[:n])
		data = data[n:]
	}
	return out
}

func cstrlen(s string) int {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return i
	}
	return len(s)
}

// sortModules is depmod_modules_sort (kmod 30: the last modules.order line
// naming a module decides its place).
func (r *run) sortModules() {
	if _, ok := r.readInDir("modules.order"); !ok {
		return
	}
	o := r.prefetchedFiles().order
	if o.corrupt > 0 {
		r.log.errf("%s/%s:%d corrupted line misses '\\n'\n", r.dirname, "modules.order", o.corrupt)
		return
	}
	// A stable sort by the deciding line: the modules listed have
	// distinct negative indexes, the others keep 1 and their order.
	var listed, rest []*mod
	for _, m := range r.mods {
		if i, ok := o.line[m.uncrelpath]; ok && m.uncrelpath != "" {
			m.sortIdx = i - o.lines
			listed = append(listed, m)
		} else {
			rest = append(rest, m)
		}
	}
	slices.SortFunc(listed, func(a, b *mod) int { return cmp.Compare(a.sortIdx, b.sortIdx) })
	r.mods = append(append(r.mods[:0], listed...), rest...)
	for i, m := range r.mods {
		m.idx = i
	}
}

// readModules reads every module's exports, .modinfo and imports, in
// parallel.
func (r *run) readModules() (read, cached int) {
	if r.cacheLoad != nil {
		l := <-r.cacheLoad
		r.cacheLoad = nil
		r.log.w.Write(l.log)
		r.cache, r.journal = l.cache, l.journal
	}
	todo := r.mods
	if r.opt.Cache {
		todo = nil
		if r.cache != nil {
			// Without a cache the keys are taken by the readers, from
			// the file they open (readModule).
			r.statAll()
		}
		for _, m := range r.mods {
			if r.journal != nil && m.hasKey {
				if e, ok := r.journal.entries[m.path]; ok && e.key == m.key {
					m.facts, m.factsSum, m.fromCache = e.facts, e.sum, true
					cached++
					continue
				}
			}
			if r.cache != nil && m.hasKey {
				if e, ok := r.cache.find(m.path, m.idx); ok && e.key == m.key {
					m.factsSum, m.fromCache, m.inBase = e.sum, true, true
					cached++
					continue
				}
			}
			todo = append(todo, m)
		}
	}
	if len(todo) > 16 {
		r.gcRelease()
	}
	r.readFiles(todo) // with Options.Cache, also encodes the facts
	return len(todo), cached
}

// statAll takes every module's cache key, in parallel. The key is taken
// before the file is read: a file changed while being read gets a new key
// and is read again next time.
func (r *run) statAll() {
	jobs := r.jobs()
	var wg sync.WaitGroup
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(r.mods); i += jobs {
				m := r.mods[i]
				if !m.hasKey {
					m.key, m.hasKey = statKey(m.path)
				}
			}
		}(w)
	}
	wg.Wait()
}

func (r *run) jobs() int {
	if r.opt.Jobs > 0 {
		return r.opt.Jobs
	}
	return runtime.GOMAXPROCS(0)
}

// sumHook, when set (by tests), is called with each index file whose
// content replayMemo checks.
var sumHook func(path string)

func (r *run) compat34() bool { return r.opt.Compat == 34 }

// kmodErrno names the errno kmod 30 would report for a module it cannot
// read, for the "failed to load symbols" message.
func kmodErrno(err error) string {
	var le *compression.LimitError
	var ce *cachedError
	switch {
	case errors.As(err, &ce):
		return ce.errno
	case errors.Is(err, elfx.ErrNotELF):
		return "Exec format error"
	case errors.As(err, &le):
		return "Cannot allocate memory"
	case errors.Is(err, os.ErrNotExist):
		return "No such file or directory"
	case errors.Is(err, os.ErrPermission):
		return "Permission denied"
	}
	return "Invalid argument"
}

func (r *run) symbolAdd(name string, prefixSkipped bool, crc uint64, owner *mod) {
	if !prefixSkipped && name != "" && name[0] == r.opt.SymPrefix {
		name = name[1:]
	}
	r.symbols[name] = &symbol{owner: owner, crc: crc}
}

func (r *run) symbolFind(name string) *symbol {
	if strings.HasPrefix(name, ".") {
		name = name[1:]
	}
	if name != "" && name[0] == r.opt.SymPrefix {
		name = name[1:]
	}
	return r.symbols[name]
}

// loadSymbols is depmod_load_modules: exports in module order, so the last
// module exporting a symbol owns it.
func (r *run) loadSymbols() {
	for _, m := range r.mods {
		if m.exportErr != nil {
			if !errors.Is(m.exportErr, ko.ErrNoExports) {
				r.log.errf("failed to load symbols from %s: %s\n", m.path, kmodErrno(m.exportErr))
				// kmod only names the errno; the reason is a DEBUG line (-vvv).
				r.log.logf(logDebug, "DEBUG", "%v\n", m.exportErr)
			}
			continue
		}
		for _, s := range m.exports {
			r.symbolAdd(s.Name, false, s.CRC, m)
		}
		m.exports = nil
	}
}

// loadDependencies is depmod_load_dependencies.
func (r *run) loadDependencies() {
	for _, m := range r.mods {
		for _, im := range m.imports {
			sym := r.symbolFind(im.Name)
			if sym == nil {
				if r.printUnknown && !im.Weak {
					r.log.warnf("%s needs unknown symbol %s\n", m.path, im.Name)
				}
				continue
			}
			if r.checkSymvers && sym.crc != im.CRC && !im.Weak && r.printUnknown {
				r.log.warnf("%s disagrees about version of symbol %s\n", m.path, im.Name)
			}
			if sym.owner == nil {
				continue
			}
			dup := false
			for _, d := range m.deps {
				if d == sym.owner {
					dup = true
					break
				}
			}
			if dup {
				continue
			}
			m.deps = append(m.deps, sym.owner)
			sym.owner.users++
			if r.opt.Verbose > 0 {
				fmt.Fprintf(r.out, "%s needs \"%s\": %s\n", m.path, im.Name, sym.owner.path)
			}
		}
		m.imports = nil
	}
}

// calculateDependencies is depmod_calculate_dependencies: a topological
// sort with a LIFO root stack. It returns the number of modules in cycles
// (after reporting them), 0 on success.
func (r *run) calculateDependencies() int {
	n := len(r.mods)
	users := make([]int, n)
	roots := make([]int, 0, n)
	for i, m := range r.mods {
		users[i] = m.users
		if users[i] == 0 {
			roots = append(roots, i)
		}
	}
	sorted := 0
	for len(roots) > 0 {
		src := r.mods[roots[len(roots)-1]]
		roots = roots[:len(roots)-1]
		src.depSortIdx = sorted
		sorted++
		for _, dst := range src.deps {
			users[dst.idx]--
			if users[dst.idx] == 0 {
				roots = append(roots, dst.idx)
			}
		}
	}
	if sorted < n {
		return r.reportCycles(users)
	}
	for _, m := range r.mods {
		if len(m.deps) > 1 {
			sort.SliceStable(m.deps, func(i, j int) bool { return m.deps[i].depSortIdx < m.deps[j].depSortIdx })
		}
	}
	return 0
}

type vertex struct {
	parent *vertex
	m      *mod
}

// reportCycles ports depmod_report_cycles and its helpers literally: the
// cycles printed and their order depend on this walk.
func (r *run) reportCycles(users []int) int {
	var roots []*mod
	for i, m := range r.mods {
		if users[i] > 0 {
			roots = append(roots, m)
		}
	}
	remove := func(m *mod) {
		for i, x := range roots {
			if x == m {
				roots = append(roots[:i], roots[i+1:]...)
				return
			}
		}
	}
	loopSet := map[string]bool{}
	for len(roots) > 0 {
		root := roots[0]
		roots = roots[1:]
		stack := []*vertex{{m: root}}
		for len(stack) > 0 {
			v := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			m := v.m
			if m.visited && m == root {
				var rev []*vertex
				for p := v.parent; p != nil; p = p.parent {
					rev = append(rev, p)
					loopSet[p.m.name] = true
				}
				var b strings.Builder
				for i := len(rev) - 1; i >= 0; i-- {
					b.WriteString(rev[i].m.name)
					b.WriteString(" -> ")
					remove(rev[i].m)
				}
				b.WriteString(m.name)
				r.log.errf("Cycle detected: %s\n", b.String())
				continue
			}
			m.visited = true
			if len(m.deps) == 0 {
				remove(m)
				continue
			}
			for _, d := range m.deps {
				stack = append(stack, &vertex{parent: v, m: d})
			}
		}
	}
	r.log.errf("Found %d modules in dependency cycles!\n", len(loopSet))
	if len(loopSet) == 0 {
		return 1 // kmod still fails the run
	}
	return len(loopSet)
}

// loadSymvers is depmod_load_symvers.
func (r *run) loadSymvers(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range fgetsLines(data, 10240) {
		line = line[:cstrlen(line)]
		f := fields(line)
		if len(f) < 3 {
			continue
		}
		if f[2] != "vmlinux" {
			continue
		}
		crc, ok := strtoull16(f[0])
		if !ok {
			// kmod prints %m, a stale errno: ENOENT left by kmod_new's
			// probing of files that do not exist.
			r.log.errf("%s:%d Invalid symbol version %s: %s\n", path, i+1, f[0], "No such file or directory")
			continue
		}
		r.symbolAdd(f[1], false, crc, nil)
	}
	r.addFakeSymbols()
	return nil
}

// strtoull16 is strtoull(s, &end, 16) with end required to be the end.
func strtoull16(s string) (uint64, bool) {
	t := strings.TrimLeft(s, " \t\n\v\f\r")
	neg := false
	if t != "" && (t[0] == '+' || t[0] == '-') {
		neg = t[0] == '-'
		t = t[1:]
	}
	if len(t) >= 3 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X') && isHex(t[2]) {
		t = t[2:]
	}
	if t == "" {
		// No digits: strtoull leaves end at s.
		return 0, s == ""
	}
	var v uint64
	overflow := false
	i := 0
	for ; i < len(t) && isHex(t[i]); i++ {
		if v>>60 != 0 {
			overflow = true
		}
		v = v<<4 | uint64(hexVal(t[i]))
	}
	if i == 0 {
		return 0, false
	}
	if i != len(t) {
		return 0, false
	}
	if overflow {
		v = ^uint64(0)
	}
	if neg {
		v = -v
	}
	return v, true
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// loadSystemMap is depmod_load_system_map.
func (r *run) loadSystemMap(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	for i, line := range fgetsLines(data, 10240) {
		c := line[:cstrlen(line)]
		sp := strings.IndexByte(c, ' ')
		if sp >= 0 {
			sp2 := strings.IndexByte(c[sp+1:], ' ')
			if sp2 >= 0 {
				p := c[sp+1+sp2+1:]
				if p != "" && p[0] == r.opt.SymPrefix {
					p = p[1:]
				}
				if !strings.HasPrefix(p, "__ksymtab_") {
					continue
				}
				if nl := strings.IndexByte(p, '\n'); nl >= 0 {
					p = p[:nl]
				}
				r.symbolAdd(p[len("__ksymtab_"):], true, 0, nil)
				continue
			}
		}
		r.log.errf("%s:%d: invalid line: %s\n", path, i+1, c)
	}
	r.addFakeSymbols()
	return nil
}

func (r *run) addFakeSymbols() {
	r.symbolAdd("__this_module", true, 0, nil)
	r.symbolAdd("_GLOBAL_OFFSET_TABLE_", true, 0, nil)
	if r.symbolFind("TOC.") == nil {
		r.symbolAdd("TOC.", true, 0, nil)
	}
}
