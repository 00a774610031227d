package kimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sort"
)

// Kernel is a decompressed kernel image, as [Decompress] returns it.
type Kernel struct {
	// Format, Wrapper, Payload and PayloadOffset are as in [Image].
	Format, Wrapper, Payload string
	PayloadOffset            int64
	// Version is the "Linux version ..." banner, or "".
	Version string
	// Data is the decompressed kernel: an ELF vmlinux (x86 bzImage's
	// vmlinux.bin, a plain vmlinux) or a raw memory image (arm64 Image).
	Data []byte
}

// Decompress recognises the image format and returns the decompressed
// kernel, with the same formats, bounds and errors as [Parse] but without
// looking for certificates.
func Decompress(data []byte, opt *Options) (*Kernel, error) {
	limit := opt.maxSize()
	if int64(len(data)) > limit {
		return nil, &Error{Offset: -1, Kind: ErrTooLarge,
			Err: fmt.Errorf("image is %d bytes, limit %d", len(data), limit)}
	}
	k, err := findKernel(data, limit, nil)
	if err != nil {
		return nil, err
	}
	v := banner(k.kernel)
	if v == "" {
		v = k.version
	}
	return &Kernel{Format: k.format, Wrapper: k.wrapper, Payload: string(k.payload), PayloadOffset: k.offset,
		Version: v, Data: k.kernel}, nil
}

// OpenKernel reads the named image file and decompresses it with
// [Decompress]; content errors are [*Error]s with Path set.
func OpenKernel(path string, opt *Options) (*Kernel, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if limit := opt.maxSize(); st.Size() > limit {
		return nil, &Error{Path: path, Offset: -1, Kind: ErrTooLarge,
			Err: fmt.Errorf("file is %d bytes, limit %d", st.Size(), limit)}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := Decompress(data, opt)
	if e, ok := err.(*Error); ok {
		e.Path = path
	}
	return k, err
}

// KSym is one symbol exported by the kernel image (EXPORT_SYMBOL*): an entry
// of __ksymtab or __ksymtab_gpl with its CRC from __kcrctab(_gpl).
type KSym struct {
	Name      string
	CRC       uint32
	HasCRC    bool // false when the kernel has no __kcrctab (no CONFIG_MODVERSIONS)
	GPLOnly   bool // from __ksymtab_gpl
	Namespace string
	// NameOffset is the offset of the name in __ksymtab_strings. The
	// strings are laid out in the order modpost lists the exports (link
	// order in 6.1, .vmlinux.export.c order since 6.5), so sorting by it
	// gives Module.symvers' order.
	NameOffset int64
	// NameShared is set when the name is the tail of a longer string in
	// __ksymtab_strings (the linker merges such suffixes): its own
	// position, and so its place in Module.symvers, is lost.
	NameShared bool
	// Value is where the entry points: the symbol's address (ELF) or its
	// offset in the image (scan; possibly beyond the end for .bss data).
	Value int64
	// HolderOffset is the offset in __ksymtab_strings of the string that
	// holds the name: NameOffset, or for a shared name the longer string's.
	HolderOffset int64
}

// Ksymtab is the export table of a kernel image.
type Ksymtab struct {
	// Symbols are in table order: __ksymtab (sorted by name), then
	// __ksymtab_gpl (sorted by name).
	Symbols []KSym
	// Method says how the tables were found: "ELF sections" or "scan".
	Method string
}

// ErrNoKsymtab is returned (wrapped) when no export table is found.
var ErrNoKsymtab = errors.New("no __ksymtab found")

// Ksymtab reads the exported symbols of the decompressed kernel.
//
// struct kernel_symbol (include/linux/export.h, 6.1; include/linux/
// export-internal.h since 6.5) is, on architectures with
// CONFIG_HAVE_ARCH_PREL32_RELOCATIONS (x86-64, arm64, ...), three s32
// offsets {value, name, namespace}, each relative to its own field, and
// otherwise three pointers. __kcrctab holds one u32 per __ksymtab entry, in
// the same order (since 5.19 the CRC values themselves, earlier possibly
// relative offsets; 6.1 and 6.12 store values), __kcrctab_gpl likewise for
// __ksymtab_gpl; names and namespaces ("" for none) live in
// __ksymtab_strings.
//
// An ELF vmlinux is read through its section headers (PREL32 or absolute
// pointers). A raw image without section headers (arm64 Image) is
// scanned: see [scanKsymtab].
func (k *Kernel) Ksymtab() (*Ksymtab, error) { return ReadKsymtab(k.Data) }

// ReadKsymtab reads the exported symbols of a decompressed kernel (see
// [Kernel.Ksymtab]).
func ReadKsymtab(data []byte) (t *Ksymtab, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, fmt.Errorf("ksymtab: internal error on malformed input: %v", r)
		}
	}()
	if bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		t, err := elfKsymtab(data)
		if err == nil || !errors.Is(err, errNoSections) {
			return t, err
		}
	}
	t, err = scanKsymtab(data, binary.LittleEndian)
	if err != nil {
		if tb, errb := scanKsymtab(data, binary.BigEndian); errb == nil {
			return tb, nil
		}
	}
	return t, err
}

var errNoSections = errors.New("no __ksymtab section")

// image is an address space over the kernel bytes: addr maps a virtual
// address to an offset in data, or -1.
type image struct {
	data []byte
	addr func(uint64) int64
}

func (im *image) cstring(off int64, max int) (string, bool) {
	if off < 0 || off >= int64(len(im.data)) {
		return "", false
	}
	b := im.data[off:]
	if len(b) > max {
		b = b[:max]
	}
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return "", false
	}
	return string(b[:i]), true
}

// elfKsymtab reads the tables of an ELF vmlinux through its sections.
func elfKsymtab(data []byte) (*Ksymtab, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("ksymtab: %w", err)
	}
	type sec struct {
		addr, size uint64
		off        int64
	}
	get := func(name string) (*sec, error) {
		s := f.Section(name)
		if s == nil {
			return nil, nil
		}
		if s.Type == elf.SHT_NOBITS {
			return nil, fmt.Errorf("ksymtab: section %s has no data", name)
		}
		if s.Offset > uint64(len(data)) || s.Size > uint64(len(data))-s.Offset {
			return nil, fmt.Errorf("ksymtab: section %s (%d bytes at %#x) lies beyond the end of the %d-byte kernel", name, s.Size, s.Offset, len(data))
		}
		return &sec{s.Addr, s.Size, int64(s.Offset)}, nil
	}
	names := []string{"__ksymtab", "__ksymtab_gpl", "__kcrctab", "__kcrctab_gpl", "__ksymtab_strings"}
	var secs [5]*sec
	for i, n := range names {
		if secs[i], err = get(n); err != nil {
			return nil, err
		}
	}
	if secs[0] == nil && secs[1] == nil {
		return nil, errNoSections
	}
	if secs[4] == nil {
		return nil, fmt.Errorf("ksymtab: no __ksymtab_strings section")
	}
	var loads []*elf.Prog
	for _, p := range f.Progs {
		if p.Type == elf.PT_LOAD {
			loads = append(loads, p)
		}
	}
	im := &image{data: data, addr: func(a uint64) int64 {
		for _, s := range f.Sections {
			if s.Type != elf.SHT_NOBITS && s.Flags&elf.SHF_ALLOC != 0 && a >= s.Addr && a-s.Addr < s.Size {
				return int64(s.Offset + (a - s.Addr))
			}
		}
		return -1
	}}
	strs := secs[4]
	inStrings := func(off int64) bool { return off >= strs.off && off < strs.off+int64(strs.size) }
	word := 8
	if f.Class == elf.ELFCLASS32 {
		word = 4
	}
	bo := f.ByteOrder
	// Try PREL32 first, then absolute pointers; a layout is right when
	// every name lands in __ksymtab_strings.
	type layout struct {
		size  int
		field func(s *sec, i, fld int) int64 // offset in data of the target, or -1
	}
	prel := layout{12, func(s *sec, i, fld int) int64 {
		o := s.off + int64(i*12+fld*4)
		a := s.addr + uint64(i*12+fld*4)
		v := int32(bo.Uint32(data[o:]))
		if v == 0 && fld == 2 {
			return 0 // no namespace (assembler exports: include/asm-generic/export.h)
		}
		return im.addr(a + uint64(int64(v)))
	}}
	abs := layout{3 * word, func(s *sec, i, fld int) int64 {
		o := s.off + int64(i*3*word+fld*word)
		var a uint64
		if word == 8 {
			a = bo.Uint64(data[o:])
		} else {
			a = uint64(bo.Uint32(data[o:]))
		}
		if a == 0 {
			return 0 // a NULL namespace pointer
		}
		return im.addr(a)
	}}
	var lastErr, firstErr error
	for _, lay := range []layout{prel, abs} {
		t := &Ksymtab{Method: "ELF sections"}
		ok := true
		for gi, si := range []int{0, 1} {
			s := secs[si]
			if s == nil {
				continue
			}
			if s.size%uint64(lay.size) != 0 {
				ok = false
				lastErr = fmt.Errorf("ksymtab: %s is %d bytes, not a multiple of %d", names[si], s.size, lay.size)
				break
			}
			n := int(s.size / uint64(lay.size))
			crc := secs[2+gi]
			if crc != nil && crc.size != uint64(4*n) {
				return nil, fmt.Errorf("ksymtab: %s has %d bytes for %d entries of %s", names[2+gi], crc.size, n, names[si])
			}
			for i := 0; i < n && ok; i++ {
				no := lay.field(s, i, 1)
				if !inStrings(no) {
					ok = false
					lastErr = fmt.Errorf("ksymtab: %s entry %d: name outside __ksymtab_strings", names[si], i)
					break
				}
				name, good := im.cstring(no, 512)
				if !good || name == "" {
					ok = false
					lastErr = fmt.Errorf("ksymtab: %s entry %d: name not NUL-terminated", names[si], i)
					break
				}
				ks := KSym{Name: name, GPLOnly: gi == 1, NameOffset: no - strs.off, NameShared: no > strs.off && data[no-1] != 0}
				ks.HolderOffset = holder(data, strs.off, no) - strs.off
				if lay.size == 12 {
					o := s.off + int64(i*12)
					ks.Value = int64(s.addr) + int64(i*12) + int64(int32(bo.Uint32(data[o:])))
				} else if word == 8 {
					ks.Value = int64(bo.Uint64(data[s.off+int64(i*3*word):]))
				} else {
					ks.Value = int64(bo.Uint32(data[s.off+int64(i*3*word):]))
				}
				if nso := lay.field(s, i, 2); nso > 0 {
					if !inStrings(nso) {
						ok = false
						lastErr = fmt.Errorf("ksymtab: %s entry %d (%s): namespace outside __ksymtab_strings", names[si], i, name)
						break
					}
					ks.Namespace, _ = im.cstring(nso, 512)
				}
				if crc != nil {
					ks.CRC, ks.HasCRC = bo.Uint32(data[crc.off+int64(4*i):]), true
				}
				t.Symbols = append(t.Symbols, ks)
			}
		}
		if ok {
			return t, nil
		}
		if firstErr == nil {
			firstErr = lastErr
		}
	}
	return nil, firstErr
}

// scanKsymtab finds the export tables of a raw kernel image (no section
// headers: arm64's Image is the kernel's memory image from _text on) and
// reads them, PREL32 layout only (x86-64, arm64, riscv64, ...). Because
// every field is relative to itself, the entries can be followed in file
// offsets without knowing where the kernel is loaded.
//
// The linker script (include/asm-generic/vmlinux.lds.h) places, in this
// order and without padding beyond 4-byte alignment: __ksymtab and
// __ksymtab_gpl, each sorted by name (SORT(___ksymtab+*)); __kcrctab and
// __kcrctab_gpl, one u32 per entry (with CONFIG_MODVERSIONS); then
// __ksymtab_strings. The scan looks for two adjacent runs of 12-byte
// entries whose names are C identifiers in strictly ascending order, and
// accepts them only when the string table starts exactly where the CRC
// tables that the two run lengths imply end: the lowest string any entry
// points at (name or namespace) must lie at end + 4*(n1+n2), or at end
// for a kernel without CRCs. Anything else is ErrNoKsymtab.
func scanKsymtab(data []byte, le binary.ByteOrder) (*Ksymtab, error) {
	n := len(data)
	s32 := func(p int) int64 { return int64(int32(le.Uint32(data[p:]))) }
	// nameAt returns the offset of the entry's name if the entry at p is
	// plausible.
	nameAt := func(p int) (int64, bool) {
		if p < 0 || p+12 > n {
			return 0, false
		}
		t := int64(p+4) + s32(p+4)
		if t <= 0 || t >= int64(n) || !isIdentStart(data[t]) {
			return 0, false
		}
		ns := int64(p+8) + s32(p+8)
		if s32(p+8) != 0 && (ns <= 0 || ns >= int64(n)) {
			return 0, false
		}
		end := t + 1
		for end < int64(n) && end-t < 256 && isIdent(data[end]) {
			end++
		}
		if end >= int64(n) || data[end] != 0 {
			return 0, false
		}
		return t, true
	}
	str := func(t int64) []byte {
		e := bytes.IndexByte(data[t:], 0)
		return data[t : t+int64(e)]
	}
	type run struct{ start, count int }
	var runs []run
	for p := 0; p+12 <= n; p += 4 {
		t, ok := nameAt(p)
		if !ok {
			continue
		}
		// Skip p if it continues a chain from p-12.
		if pt, ok := nameAt(p - 12); ok && bytes.Compare(str(pt), str(t)) < 0 {
			continue
		}
		c := 1
		for q := p + 12; ; q += 12 {
			qt, ok := nameAt(q)
			if !ok || bytes.Compare(str(t), str(qt)) >= 0 {
				break
			}
			t = qt
			c++
		}
		if c >= 4 {
			runs = append(runs, run{p, c})
		}
	}
	if len(runs) == 0 {
		return nil, fmt.Errorf("ksymtab: %w (no run of kernel_symbol entries in the %d-byte image)", ErrNoKsymtab, n)
	}
	byStart := map[int]int{}
	for i, r := range runs {
		byStart[r.start] = i
	}
	// Candidates: a run followed directly by another (ksymtab, ksymtab_gpl),
	// or a lone run (no GPL exports), largest first. A chain may have
	// picked up stray plausible entries in front of the real table, so a
	// few starting points inside each run are tried.
	type cand struct{ a, b run }
	var cands []cand
	for _, r := range runs {
		if j, ok := byStart[r.start+12*r.count]; ok {
			cands = append(cands, cand{r, runs[j]})
		}
		cands = append(cands, cand{r, run{r.start + 12*r.count, 0}})
	}
	sort.SliceStable(cands, func(i, j int) bool {
		return cands[i].a.count+cands[i].b.count > cands[j].a.count+cands[j].b.count
	})
	for ci, c := range cands {
		if ci >= 16 {
			break
		}
		for skip := 0; skip < 8 && skip < c.a.count; skip++ {
			a := run{c.a.start + 12*skip, c.a.count - skip}
			if t, ok := validateScan(data, le, a, c.b, nameAt); ok {
				return t, nil
			}
		}
	}
	best := cands[0]
	return nil, fmt.Errorf("ksymtab: %w (the largest run of kernel_symbol entries, %d+%d at %#x, is not followed by the CRC and string tables)",
		ErrNoKsymtab, best.a.count, best.b.count, best.a.start)
}

func validateScan(data []byte, bo binary.ByteOrder, a, b struct{ start, count int }, nameAt func(int) (int64, bool)) (*Ksymtab, bool) {
	n := len(data)
	end := b.start + 12*b.count
	total := a.count + b.count
	lo := int64(n)
	var ents []struct {
		p        int
		name, ns int64
		gpl      bool
		crcIndex int
	}
	for i := 0; i < total; i++ {
		p := a.start + 12*i
		gpl := false
		if i >= a.count {
			p = b.start + 12*(i-a.count)
			gpl = true
		}
		t, ok := nameAt(p)
		if !ok {
			return nil, false
		}
		ns := int64(-1) // NULL: no namespace
		if v := int32(bo.Uint32(data[p+8:])); v != 0 {
			ns = int64(p+8) + int64(v)
			lo = min(lo, ns)
		}
		lo = min(lo, t)
		ents = append(ents, struct {
			p        int
			name, ns int64
			gpl      bool
			crcIndex int
		}{p, t, ns, gpl, i})
	}
	var hasCRC bool
	switch {
	case lo == int64(end+4*total) && end+4*total <= n:
		hasCRC = true
	case lo == int64(end):
	default:
		return nil, false
	}
	t := &Ksymtab{Method: "scan"}
	for _, e := range ents {
		name := cstr(data, e.name)
		ks := KSym{Name: name, GPLOnly: e.gpl, NameOffset: e.name - lo, NameShared: e.name > lo && data[e.name-1] != 0}
		ks.HolderOffset = holder(data, lo, e.name) - lo
		ks.Value = int64(e.p) + int64(int32(bo.Uint32(data[e.p:])))
		if e.ns >= 0 {
			ks.Namespace = cstr(data, e.ns)
		}
		if hasCRC {
			ks.CRC, ks.HasCRC = bo.Uint32(data[end+4*e.crcIndex:]), true
		}
		t.Symbols = append(t.Symbols, ks)
	}
	return t, true
}

func cstr(data []byte, off int64) string {
	if off < 0 || off >= int64(len(data)) {
		return ""
	}
	b := data[off:]
	if len(b) > 512 {
		b = b[:512]
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return string(b[:i])
	}
	return ""
}

func isIdentStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isIdent(c byte) bool {
	return isIdentStart(c) || (c >= '0' && c <= '9') || c == '.'
}

// holder returns the start of the NUL-terminated string that contains
// offset off, not looking before lo.
func holder(data []byte, lo, off int64) int64 {
	for off > lo && off-1 < int64(len(data)) && data[off-1] != 0 {
		off--
	}
	return off
}
