package depmod

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"sort"
	"strings"
	"sync"
	"syscall"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
)

// Reading modules.
//
// depmod needs three facts of each module: the exports as kmod lists them
// (ko.Module.KmodExports), the alias/softdep/weakdep entries of .modinfo
// and the imports (ko.Module.Imports). The general ko/elfx readers decode
// every symbol into a struct and every name into a string; for a tree of
// thousands of modules that allocation dominates. The lean reader below
// scans the raw section bytes once, in per-worker buffers reused from one
// module to the next, and keeps only the names depmod needs, copied into
// one string per module.
//
// It takes only the common shape (ELFCLASS64, little-endian, no extended
// section numbering, no SHT_SYMTAB_SHNDX, no extended modversions, every
// check of elfx and ko passing). Anything else (a malformed file, another
// architecture's layout, an unreadable file) is handed to the ko reader,
// which produces the same facts and kmod's errors; leanread_test.go checks
// that both agree on real trees, fixtures and fuzzed input.

// readHook, when set (by tests), is called with each module file opened.
var readHook func(path string)

func (r *run) readFiles(todo []*mod) {
	jobs := r.jobs()
	// Compressed modules largest first, so the workers finish together
	// instead of one of them decompressing the largest module alone at
	// the end.
	order := todo
	if len(todo) > 1 && jobs > 1 {
		order = largestFirst(todo)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var next int
	done := 0
	for w := 0; w < jobs; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rd := &reader{limit: r.opt.MaxSize}
			if rd.limit <= 0 {
				rd.limit = compression.DefaultLimit
			}
			defer rd.release()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= len(order) {
					return
				}
				m := order[i]
				r.readModule(rd, m)
				if r.opt.Cache {
					m.facts = string(encodeFacts(entryOf(m)))
					m.factsSum = sha256.Sum256([]byte(m.facts))
				}
				if r.opt.Progress != nil {
					mu.Lock()
					done++
					r.opt.Progress(done, len(todo))
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
}

// largestFirst returns todo with the compressed modules first, by
// decreasing file size when the cache keys give it, then the plain ones
// (cheap to read: their order does not matter). Only the order of reading
// changes: every fact ends up in its module.
func largestFirst(todo []*mod) []*mod {
	out := make([]*mod, 0, len(todo))
	var sizes []int64
	var plain []*mod
	for _, m := range todo {
		if strings.HasSuffix(m.path, ".ko") {
			plain = append(plain, m)
			continue
		}
		size := m.key.size
		var st syscall.Stat_t
		if !m.hasKey && syscall.Stat(m.path, &st) == nil {
			size = st.Size
		}
		out = append(out, m)
		sizes = append(sizes, size)
	}
	if len(out) > 1 {
		idx := make([]int, len(out))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return sizes[idx[a]] > sizes[idx[b]] })
		sorted := make([]*mod, len(out), len(todo))
		for i, j := range idx {
			sorted[i] = out[j]
		}
		out = sorted
	}
	return append(out, plain...)
}

func (r *run) readModule(rd *reader, m *mod) {
	if readHook != nil {
		readHook(m.path)
	}
	if rd.read(m, r.opt.Cache) {
		return
	}
	m.exports, m.exportErr, m.info, m.imports = nil, nil, nil, nil
	if r.opt.Cache && !m.hasKey {
		// The cache key is taken before the file is read: a file changed
		// while being read gets a new key and is read again next time.
		m.key, m.hasKey = statKey(m.path)
	}
	readModuleKo(m, r.opt.MaxSize)
}

// readModuleKo reads a module's facts with the general ko reader.
func readModuleKo(m *mod, maxSize int64) {
	km, err := ko.Open(m.path, &ko.Options{MaxSize: maxSize})
	if err != nil {
		m.exportErr = err
		return
	}
	defer km.Close()
	m.exports, m.exportErr = km.KmodExports()
	if kv, err := km.Modinfo(); err == nil {
		for _, e := range kv {
			if e.Key == "alias" || e.Key == "softdep" || e.Key == "weakdep" {
				m.info = append(m.info, e)
			}
		}
	}
	if im, err := km.Imports(); err == nil {
		m.imports = im
	}
}

// smallFile is the size up to which a plain module is read with one
// pread; larger ones are read section by section (the code and the
// relocations, most of a large module, are not needed). On the 6.1 amd64
// tree, 48 KiB and prefetchGap 8 KiB read 114 MB in 9,000 preads where
// whole files up to 96 KiB and 64 KiB gaps read 180 MB in 5,700.
var smallFile int64 = 48 << 10

// reader is one worker's state; its buffers are reused for every module.
type reader struct {
	limit int64

	fd    int
	size  int64
	whole []byte // the whole image, or nil when reading ranges of fd
	wins  []window
	arena []byte // file contents read for the current module
	dec   []byte // decompression output, reused: mapped memory, outside the Go heap
	secs  []shdr

	// The current module's facts, before they are handed out.
	names    []byte // the kept names
	exp      []ko.KmodSymbol
	expRefs  []int32 // (offset, length) in names of each exp's name
	imp      []ko.Import
	impRefs  []int32
	infoRefs []int32 // (offset, length, key length) of each info string
	vt       verTable
}

type window struct {
	off int64
	b   []byte
}

type shdr struct {
	name   []byte
	typ    uint32
	off    uint64
	size   uint64
	link   uint32
	loaded []byte
	isData bool
}

const (
	shtNull        = 0
	shtSymtab      = 2
	shtStrtab      = 3
	shtNobits      = 8
	shtSymtabShndx = 18
	shnUndef       = 0
	shnAbs         = 0xfff1
	shnXindex      = 0xffff
	emSparcv9      = 43
)

// sizeDec makes rd.dec hold n bytes. The buffer is anonymous mapped
// memory: the largest modules come first, and their decompressed images
// (30 MB for amdgpu) would otherwise stay in the Go heap and raise the
// collector's target for the rest of the run. It is remapped smaller when
// the modules become much smaller, and unmapped by release.
func (rd *reader) sizeDec(n int) {
	if n <= cap(rd.dec) && (cap(rd.dec) <= 8<<20 || n >= cap(rd.dec)/4) {
		return
	}
	rd.release()
	size := (max(n, 1<<20) + 1<<20 - 1) &^ (1<<20 - 1)
	b, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err == nil {
		rd.dec = b[:0]
	}
}

// release unmaps the decompression buffer.
func (rd *reader) release() {
	if cap(rd.dec) > 0 {
		syscall.Munmap(rd.dec[:cap(rd.dec)])
		rd.dec = nil
	}
}

// alloc returns n bytes of the arena (contents undefined).
func (rd *reader) alloc(n int) []byte {
	if cap(rd.arena)-len(rd.arena) < n {
		// Slices handed out earlier keep the old array alive.
		rd.arena = make([]byte, 0, max(2*cap(rd.arena), n, 1<<20))
	}
	b := rd.arena[len(rd.arena) : len(rd.arena)+n : len(rd.arena)+n]
	rd.arena = rd.arena[:len(rd.arena)+n]
	return b
}

func (rd *reader) pread(b []byte, off int64) bool {
	n := 0
	for n < len(b) {
		m, err := syscall.Pread(rd.fd, b[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m == 0 {
			return false
		}
		n += m
	}
	return true
}

// readRange returns n bytes at off of the image.
func (rd *reader) readRange(off, n int64) ([]byte, bool) {
	if rd.whole != nil {
		return rd.whole[off : off+n : off+n], true
	}
	for _, w := range rd.wins {
		if off >= w.off && off+n <= w.off+int64(len(w.b)) {
			return w.b[off-w.off : off-w.off+n : off-w.off+n], true
		}
	}
	b := rd.alloc(int(n))
	if !rd.pread(b, off) {
		return nil, false
	}
	rd.wins = append(rd.wins, window{off, b})
	return b, true
}

// data returns the contents of section s (nil for SHT_NOBITS/SHT_NULL).
func (rd *reader) data(s *shdr) ([]byte, bool) {
	if !s.isData {
		return nil, true
	}
	if s.loaded == nil {
		b, ok := rd.readRange(int64(s.off), int64(s.size))
		if !ok {
			return nil, false
		}
		s.loaded = b
	}
	return s.loaded, true
}

// read fills m's facts with the lean reader. It returns false when the
// module is not of the shape it handles; m is then left for the ko reader.
func (rd *reader) read(m *mod, key bool) bool {
	rd.arena = rd.arena[:0]
	rd.wins = rd.wins[:0]
	rd.whole = nil
	var fd int
	var err error
	for {
		fd, err = syscall.Open(m.path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return false
	}
	defer syscall.Close(fd)
	rd.fd = fd
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return false
	}
	if key && !m.hasKey {
		// The cache key, taken from the file read (before reading it).
		m.key, m.hasKey = keyOf(&st), true
	}
	rd.size = st.Size
	if rd.size < 64 || rd.size > rd.limit {
		return false
	}
	var head []byte
	if rd.size <= smallFile {
		b := rd.alloc(int(rd.size))
		if !rd.pread(b, 0) {
			return false
		}
		head = b
		if compression.Sniff(b) == compression.None {
			rd.whole = b
		}
	} else {
		head = rd.alloc(64)
		if !rd.pread(head, 0) {
			return false
		}
	}
	if f := compression.Sniff(head); f != compression.None {
		raw := head
		if int64(len(raw)) != rd.size {
			raw = rd.alloc(int(rd.size))
			if !rd.pread(raw, 0) {
				return false
			}
		}
		if n, ok := compression.DeclaredSize(f, raw, rd.limit); ok && n <= rd.limit {
			rd.sizeDec(int(n))
		}
		out, err := compression.DecompressBuffer(f, raw, rd.dec, rd.limit)
		if err != nil {
			return false
		}
		rd.whole = out
		rd.size = int64(len(out))
		if rd.size < 64 {
			return false
		}
		head = out
	}
	return rd.parse(m, head)
}

// parse reads the facts of the ELF image whose first 64 bytes are head.
func (rd *reader) parse(m *mod, head []byte) bool {
	if string(head[:4]) != "\x7fELF" || head[4] != 2 || head[5] != 1 {
		return false
	}
	le := binary.LittleEndian
	if le.Uint16(head[18:]) == emSparcv9 {
		return false
	}
	shoff := le.Uint64(head[40:])
	shentsize := le.Uint16(head[58:])
	shnum := uint64(le.Uint16(head[60:]))
	shstrndx := uint64(le.Uint16(head[62:]))
	size := uint64(rd.size)
	if shoff == 0 || shentsize != 64 || shnum == 0 || shstrndx == shnXindex || shstrndx == 0 || shstrndx >= shnum {
		return false
	}
	if shoff > size || (size-shoff)/64 < shnum {
		return false
	}
	if rd.whole == nil {
		// The section headers with the section names before them.
		start := max(0, int64(shoff)-4096)
		end := int64(shoff + shnum*64)
		b := rd.alloc(int(end - start))
		if !rd.pread(b, start) {
			return false
		}
		rd.wins = append(rd.wins, window{start, b})
	}
	table, ok := rd.readRange(int64(shoff), int64(shnum*64))
	if !ok {
		return false
	}
	if cap(rd.secs) < int(shnum) {
		rd.secs = make([]shdr, shnum)
	}
	secs := rd.secs[:shnum]
	clear(secs)
	for i := range secs {
		h := table[i*64 : i*64+64]
		s := &secs[i]
		s.typ = le.Uint32(h[4:])
		s.off = le.Uint64(h[24:])
		s.size = le.Uint64(h[32:])
		s.link = le.Uint32(h[40:])
		s.isData = s.typ != shtNobits && s.typ != shtNull
		if i > 0 && s.isData && (s.off > size || s.size > size-s.off) {
			return false
		}
		if s.typ == shtSymtabShndx {
			return false
		}
		s.name = h[:4] // the name offset, resolved below
	}
	shstr := &secs[shstrndx]
	if !shstr.isData || shstr.size == 0 {
		return false
	}
	names, ok := rd.data(shstr)
	if !ok || names[len(names)-1] != 0 {
		return false
	}
	var symtab, strtabNamed, modinfo, versions, kstrings, kcrc, kcrcGPL *shdr
	for i := range secs {
		s := &secs[i]
		off := uint64(le.Uint32(s.name))
		if off >= uint64(len(names)) {
			return false
		}
		n := names[off:]
		s.name = n[:bytes.IndexByte(n, 0)]
		if i == 0 {
			continue
		}
		if s.typ == shtSymtab && symtab == nil {
			symtab = s
		}
		switch string(s.name) {
		case ".strtab":
			if strtabNamed == nil {
				strtabNamed = s
			}
		case ".modinfo":
			if modinfo == nil {
				modinfo = s
			}
		case "__versions":
			if versions == nil {
				versions = s
			}
		case "__ksymtab_strings":
			if kstrings == nil {
				kstrings = s
			}
		case "__kcrctab":
			if kcrc == nil {
				kcrc = s
			}
		case "__kcrctab_gpl":
			if kcrcGPL == nil {
				kcrcGPL = s
			}
		case "__version_ext_crcs", "__version_ext_names":
			return false
		}
	}
	if symtab == nil || strtabNamed == nil || symtab.size%24 != 0 || uint64(symtab.link) >= shnum {
		return false
	}
	strtab := &secs[symtab.link]
	if strtab.typ != shtStrtab {
		return false
	}
	if rd.whole == nil {
		// The export CRCs are in __kcrctab* (where the __crc_ symbols
		// point; others are read when a symbol points there).
		rd.prefetch(symtab, strtab, modinfo, versions, kcrc, kcrcGPL)
	}
	syms, ok := rd.data(symtab)
	if !ok {
		return false
	}
	strs, ok := rd.data(strtab)
	if !ok || len(syms) > 0 && (len(strs) == 0 || strs[len(strs)-1] != 0) {
		return false
	}

	// The versions, indexed by name (the first entry of a name wins).
	var vers []byte
	if versions != nil {
		if vers, ok = rd.data(versions); !ok || len(vers)%64 != 0 {
			return false
		}
	}
	nvers := len(vers) / 64
	rd.vt.reset(nvers)
	for j := 0; j < nvers; j++ {
		name, ok := versionName(vers[j*64+8 : j*64+64])
		if !ok {
			return false
		}
		rd.vt.add(name)
	}

	// One pass over the symbols: __crc_ symbols are exports, undefined
	// ones imports. The kept names are appended to rd.names; expRefs and
	// impRefs record where each entry's name starts.
	rd.names = rd.names[:0]
	rd.exp, rd.imp = rd.exp[:0], rd.imp[:0]
	rd.expRefs, rd.impRefs = rd.expRefs[:0], rd.impRefs[:0]
	nsym := len(syms) / 24
	if nsym > 0 && uint64(le.Uint32(syms)) >= uint64(max(len(strs), 1)) {
		return false // the null symbol's name is checked too
	}
	for i := 1; i < nsym; i++ {
		e := syms[i*24 : i*24+24]
		nameOff := uint64(le.Uint32(e[0:]))
		if nameOff == 0 {
			continue
		}
		if nameOff >= uint64(len(strs)) {
			return false
		}
		shndx := uint32(le.Uint16(e[6:]))
		n := strs[nameOff:]
		if shndx == shnUndef && n[0] != 0 {
			name := n[:bytes.IndexByte(n, 0)]
			im := ko.Import{Weak: e[4]>>4 == 2, InSymtab: true}
			if j := rd.vt.find(name); j >= 0 {
				im.CRC = le.Uint64(vers[j*64:])
				im.HasCRC = true
				rd.vt.used[j] = true
			}
			rd.impRefs = rd.ref(rd.impRefs, name)
			rd.imp = append(rd.imp, im)
		}
		if len(n) > 6 && string(n[:6]) == "__crc_" {
			name := n[6 : 6+bytes.IndexByte(n[6:], 0)]
			value := le.Uint64(e[8:])
			crc := value
			if shndx != shnAbs && shndx != shnUndef {
				crc = ^uint64(0)
				if uint64(shndx) < shnum {
					d, ok := rd.data(&secs[shndx])
					if !ok {
						return false
					}
					if value <= uint64(len(d)) && uint64(len(d))-value >= 4 {
						crc = uint64(le.Uint32(d[value:]))
					}
				}
			}
			rd.expRefs = rd.ref(rd.expRefs, name)
			rd.exp = append(rd.exp, ko.KmodSymbol{CRC: crc, Bind: elf.SymBind(e[4] >> 4)})
		}
	}
	var exportErr error
	if len(rd.exp) == 0 {
		// kmod's fallback: the strings of __ksymtab_strings, CRC 0.
		if kstrings == nil {
			exportErr = ko.ErrNoExports
		} else {
			b, ok := rd.data(kstrings)
			if !ok {
				return false
			}
			ko.SplitStrings(b, func(s []byte) {
				rd.expRefs = rd.ref(rd.expRefs, s)
				rd.exp = append(rd.exp, ko.KmodSymbol{Bind: elf.STB_GLOBAL})
			})
		}
	}
	// Then the version entries no undefined symbol refers to.
	for j := 0; j < nvers; j++ {
		if rd.vt.used[j] {
			continue
		}
		name := rd.vt.names[j]
		rd.impRefs = rd.ref(rd.impRefs, name)
		rd.imp = append(rd.imp, ko.Import{CRC: le.Uint64(vers[j*64:]), HasCRC: true})
	}
	// .modinfo: the alias, softdep and weakdep entries (key, then value).
	rd.infoRefs = rd.infoRefs[:0]
	if modinfo != nil {
		b, ok := rd.data(modinfo)
		if !ok {
			return false
		}
		ko.SplitStrings(b, func(s []byte) {
			key := s
			if eq := bytes.IndexByte(s, '='); eq >= 0 {
				key = s[:eq]
			}
			switch string(key) {
			case "alias", "softdep", "weakdep":
				rd.infoRefs = rd.ref(rd.infoRefs, s)
				rd.infoRefs = append(rd.infoRefs, int32(len(key)))
			}
		})
	}

	// Every check passed: hand out the facts, the names in one string.
	all := string(rd.names)
	m.exports, m.exportErr, m.info, m.imports = nil, exportErr, nil, nil
	if len(rd.exp) > 0 {
		m.exports = make([]ko.KmodSymbol, len(rd.exp))
		for k := range rd.exp {
			m.exports[k] = rd.exp[k]
			m.exports[k].Name = all[rd.expRefs[2*k] : rd.expRefs[2*k]+rd.expRefs[2*k+1]]
		}
	}
	if len(rd.imp) > 0 {
		m.imports = make([]ko.Import, len(rd.imp))
		for k := range rd.imp {
			m.imports[k] = rd.imp[k]
			m.imports[k].Name = all[rd.impRefs[2*k] : rd.impRefs[2*k]+rd.impRefs[2*k+1]]
		}
	}
	if n := len(rd.infoRefs) / 3; n > 0 {
		m.info = make([]ko.KV, n)
		for k := range m.info {
			off, l, kl := rd.infoRefs[3*k], rd.infoRefs[3*k+1], rd.infoRefs[3*k+2]
			m.info[k].Key = all[off : off+kl]
			if kl < l {
				m.info[k].Value = all[off+kl+1 : off+l]
			}
		}
	}
	return true
}

// ref appends s to rd.names and its (offset, length) to refs.
func (rd *reader) ref(refs []int32, s []byte) []int32 {
	refs = append(refs, int32(len(rd.names)), int32(len(s)))
	rd.names = append(rd.names, s...)
	return refs
}

// versionName is the name of a struct modversion_info (after its 8-byte
// CRC), without a leading '.' as kmod strips it.
func versionName(e []byte) ([]byte, bool) {
	k := bytes.IndexByte(e, 0)
	if k < 0 {
		return nil, false
	}
	e = e[:k]
	if len(e) > 0 && e[0] == '.' {
		e = e[1:]
	}
	return e, true
}

// prefetchGap: sections closer than this are read with one pread (a
// system call costs about as much as copying a few kilobytes).
var prefetchGap int64 = 8 << 10

// inWindow reports whether n bytes at off were read already.
func (rd *reader) inWindow(off, n int64) bool {
	for _, w := range rd.wins {
		if off >= w.off && off+n <= w.off+int64(len(w.b)) {
			return true
		}
	}
	return false
}

// prefetch reads the given sections (nil ones skipped) with as few preads
// as their placement allows: ranges less than prefetchGap apart are read
// as one.
func (rd *reader) prefetch(list ...*shdr) {
	var rs [6][2]int64
	n := 0
	for _, s := range list {
		if s == nil || !s.isData || s.size == 0 || s.loaded != nil || rd.inWindow(int64(s.off), int64(s.size)) {
			continue
		}
		rs[n] = [2]int64{int64(s.off), int64(s.off + s.size)}
		n++
	}
	r := rs[:n]
	sort.Slice(r, func(i, j int) bool { return r[i][0] < r[j][0] })
	for i := 0; i < len(r); {
		lo, hi := r[i][0], r[i][1]
		j := i + 1
		for j < len(r) && r[j][0]-hi <= prefetchGap {
			hi = max(hi, r[j][1])
			j++
		}
		rd.readRange(lo, hi-lo)
		i = j
	}
}

// verTable finds __versions entries by name: an open-addressing hash
// table reused from module to module (a Go map costs more here: hashing
// and clearing it showed in profiles).
type verTable struct {
	slots []int32  // entry index + 1; 0 is empty
	names [][]byte // each entry's name
	used  []bool   // whether an undefined symbol took the entry
}

func (v *verTable) reset(n int) {
	size := 16
	for size < 2*n {
		size *= 2
	}
	if cap(v.slots) < size {
		v.slots = make([]int32, size)
	}
	v.slots = v.slots[:size]
	clear(v.slots)
	v.names = v.names[:0]
	v.used = v.used[:0]
}

// verHash mixes the length and the first and last eight bytes of a name
// (symbol names are long and mostly differ at one end or the other).
func verHash(b []byte) uint32 {
	var x uint64
	if n := len(b); n >= 8 {
		x = binary.LittleEndian.Uint64(b)*0x9e3779b97f4a7c15 ^ binary.LittleEndian.Uint64(b[n-8:])
	} else {
		for _, c := range b {
			x = x<<8 | uint64(c)
		}
	}
	x ^= uint64(len(b))
	x *= 0xff51afd7ed558ccd
	return uint32(x >> 32)
}

// add appends an entry; a name already present keeps its first entry.
func (v *verTable) add(name []byte) {
	j := int32(len(v.names))
	v.names = append(v.names, name)
	v.used = append(v.used, false)
	mask := uint32(len(v.slots) - 1)
	for i := verHash(name) & mask; ; i = (i + 1) & mask {
		k := v.slots[i]
		if k == 0 {
			v.slots[i] = j + 1
			return
		}
		if string(v.names[k-1]) == string(name) {
			return
		}
	}
}

// find returns the first entry called name, or -1.
func (v *verTable) find(name []byte) int {
	if len(v.names) == 0 {
		return -1
	}
	mask := uint32(len(v.slots) - 1)
	for i := verHash(name) & mask; ; i = (i + 1) & mask {
		k := v.slots[i]
		if k == 0 {
			return -1
		}
		if string(v.names[k-1]) == string(name) {
			return int(k - 1)
		}
	}
}
