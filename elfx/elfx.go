// Package elfx is a small, defensive ELF reader for kernel modules (ET_REL
// objects). It works on an in-memory image ([]byte, usually mmapped or
// decompressed) and returns zero-copy sub-slices of it.
//
// It exists instead of debug/elf because:
//   - every offset and size read from the file is checked against the image
//     before use, so hostile input gives a *FormatError, never a panic or a
//     huge allocation (debug/elf has had several panics on fuzzed input,
//     golang/go#47445, #70584);
//   - section contents are returned without copying (debug/elf's
//     Section.Data copies on every call);
//   - relocations are decoded for every class, byte order and machine,
//     including MIPS64's split r_info (r_sym u32, r_ssym, r_type3, r_type2,
//     r_type bytes) which the generic ELF64_R_SYM/ELF64_R_TYPE macros get wrong;
//   - the symbol table keeps entry 0, so Symbols()[r_sym] is the relocation's
//     symbol (debug/elf drops entry 0: its symtab[x-1] trap).
//
// Constants and their String methods come from debug/elf.
//
// # Security
//
// The reader targets untrusted input. Section headers whose file range lies
// outside the image are rejected when the file is opened (the kernel's
// elf_validity_check does the same; kmod merely skips them), and every string
// table lookup requires a terminating NUL inside its table.
package elfx

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"io"
)

// FormatError reports malformed ELF data: what is wrong, and where (the
// section it concerns, if any, and the byte offset in the image).
type FormatError struct {
	Section string // section name or "" for the ELF/section headers
	Off     int64  // byte offset in the image the problem was found at, -1 if none
	Msg     string
}

func (e *FormatError) Error() string {
	where := "ELF header"
	if e.Section != "" {
		where = "section " + e.Section
	}
	if e.Off >= 0 {
		return fmt.Sprintf("%s at offset %#x: %s", where, e.Off, e.Msg)
	}
	return fmt.Sprintf("%s: %s", where, e.Msg)
}

// ErrNotELF is wrapped by the error New returns when the image does not start
// with the ELF magic (the kernel's and kmod's ENOEXEC case).
var ErrNotELF = fmt.Errorf("not an ELF file")

type notELFError struct{ head []byte }

func (e *notELFError) Error() string {
	if len(e.head) == 0 {
		return "not an ELF file: the file is empty"
	}
	return fmt.Sprintf("not an ELF file: starts with % x, not the ELF magic 7f 45 4c 46", e.head)
}
func (e *notELFError) Unwrap() error { return ErrNotELF }

// Section is one section header.
type Section struct {
	Index     int
	Name      string
	NameOff   uint32
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Addr      uint64
	Offset    uint64
	Size      uint64
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
	HdrOff    int64 // file offset of this section's header
}

// File is a parsed ELF image. It is backed either by the whole image in
// memory (New) or by an io.ReaderAt (NewReaderAt), in which case only the
// headers are read up front and section contents on demand.
type File struct {
	data      []byte // whole image, or nil when reading through r
	r         io.ReaderAt
	size      int64
	cache     map[int][]byte
	windows   []window // byte ranges already read (ReaderAt mode)
	Class     elf.Class
	Data      elf.Data
	ByteOrder binary.ByteOrder
	OSABI     elf.OSABI
	Type      elf.Type
	Machine   elf.Machine
	Entry     uint64
	Flags     uint32
	Shoff     uint64
	Shentsize uint16
	Shstrndx  int
	Sections  []Section

	syms    []Symbol
	symErr  error
	symDone bool
}

// window is a range of the file read in one go and served to later reads.
type window struct {
	off int64
	b   []byte
}

// Size is the size of the image in bytes.
func (f *File) Size() int64 { return f.size }

// Bytes returns the whole image, reading it first if the file is backed by
// a ReaderAt.
func (f *File) Bytes() ([]byte, error) {
	if f.data == nil && f.size > 0 {
		b, err := f.ReadAt(0, f.size)
		if err != nil {
			return nil, err
		}
		f.data = b
	}
	return f.data, nil
}

// ReadAt returns n bytes at off: a sub-slice of the image in memory, or a
// fresh buffer read from the backing ReaderAt. The range must lie in the
// image.
func (f *File) ReadAt(off, n int64) ([]byte, error) {
	if off < 0 || n < 0 || off > f.size || n > f.size-off {
		return nil, &FormatError{Off: off, Msg: fmt.Sprintf("%d bytes at %#x lie beyond the end of the file (%d bytes)", n, off, f.size)}
	}
	if f.data != nil {
		return f.data[off : off+n : off+n], nil
	}
	for _, w := range f.windows {
		if off >= w.off && off+n <= w.off+int64(len(w.b)) {
			return w.b[off-w.off : off-w.off+n : off-w.off+n], nil
		}
	}
	b := make([]byte, n)
	if _, err := f.r.ReadAt(b, off); err != nil && !(err == io.EOF && n == 0) {
		return nil, fmt.Errorf("reading %d bytes at offset %#x: %w", n, off, err)
	}
	return b, nil
}

// Is64 reports whether the file is ELFCLASS64.
func (f *File) Is64() bool { return f.Class == elf.ELFCLASS64 }

// WordSize is the size of an address (unsigned long) in bytes: 4 or 8.
func (f *File) WordSize() int {
	if f.Is64() {
		return 8
	}
	return 4
}

// maxSections bounds the section count so a hostile e_shnum cannot make us
// allocate much: the table must also fit in the file, which is the real bound.
const maxSections = 1 << 20

// New parses the ELF header and section header table of an image held in
// memory; section contents are sub-slices of data.
func New(data []byte) (*File, error) {
	if data == nil {
		data = []byte{}
	}
	return parse(&File{data: data, size: int64(len(data))})
}

// NewReaderAt parses the headers of an image of the given size read through
// r; section contents are read (and cached) when asked for, so a caller that
// needs only .modinfo reads a few kilobytes of a large module. head, if not
// nil, holds the first bytes of the file, already read by the caller.
func NewReaderAt(r io.ReaderAt, size int64, head []byte) (*File, error) {
	f := &File{r: r, size: size, cache: map[int][]byte{}}
	if len(head) > 0 && int64(len(head)) <= size {
		f.windows = append(f.windows, window{0, head})
	}
	return parse(f)
}

// tailWindow is how much of the end of the file is read in one go when the
// section header table is near the end (as linkers place it, right after
// .shstrtab and before an appended signature).
const tailWindow = 64 << 10

// shstrtabSlack is how much before the section header table the tail read
// starts, to cover .shstrtab (about 600 bytes in real modules).
const shstrtabSlack = 2048

func parse(f *File) (*File, error) {
	head, err := f.ReadAt(0, min(f.size, 64))
	if err != nil {
		return nil, err
	}
	if len(head) < 4 || !bytes.Equal(head[:4], []byte(elf.ELFMAG)) {
		n := min(len(head), 4)
		return nil, &notELFError{head: append([]byte(nil), head[:n]...)}
	}
	if len(head) < elf.EI_NIDENT {
		return nil, &FormatError{Off: int64(len(head)), Msg: fmt.Sprintf("file is %d bytes, too short for the %d-byte ELF identification", len(head), elf.EI_NIDENT)}
	}
	data := head
	f.Class, f.Data, f.OSABI = elf.Class(data[elf.EI_CLASS]), elf.Data(data[elf.EI_DATA]), elf.OSABI(data[elf.EI_OSABI])
	switch f.Data {
	case elf.ELFDATA2LSB:
		f.ByteOrder = binary.LittleEndian
	case elf.ELFDATA2MSB:
		f.ByteOrder = binary.BigEndian
	default:
		return nil, &FormatError{Off: elf.EI_DATA, Msg: fmt.Sprintf("unknown data encoding %d (want 1 little-endian or 2 big-endian)", data[elf.EI_DATA])}
	}
	var hdrSize, shSize int
	switch f.Class {
	case elf.ELFCLASS32:
		hdrSize, shSize = 52, 40
	case elf.ELFCLASS64:
		hdrSize, shSize = 64, 64
	default:
		return nil, &FormatError{Off: elf.EI_CLASS, Msg: fmt.Sprintf("unknown ELF class %d (want 1 for 32-bit or 2 for 64-bit)", data[elf.EI_CLASS])}
	}
	if len(data) < hdrSize {
		return nil, &FormatError{Off: int64(len(data)), Msg: fmt.Sprintf("file is %d bytes, too short for the %d-byte %s header", len(data), hdrSize, f.Class)}
	}
	fileSize := uint64(f.size)
	bo := f.ByteOrder
	f.Type = elf.Type(bo.Uint16(data[16:]))
	f.Machine = elf.Machine(bo.Uint16(data[18:]))
	var shnum, shstrndx uint64
	if f.Is64() {
		f.Entry = bo.Uint64(data[24:])
		f.Shoff = bo.Uint64(data[40:])
		f.Flags = bo.Uint32(data[48:])
		f.Shentsize = bo.Uint16(data[58:])
		shnum = uint64(bo.Uint16(data[60:]))
		shstrndx = uint64(bo.Uint16(data[62:]))
	} else {
		f.Entry = uint64(bo.Uint32(data[24:]))
		f.Shoff = uint64(bo.Uint32(data[32:]))
		f.Flags = bo.Uint32(data[36:])
		f.Shentsize = bo.Uint16(data[46:])
		shnum = uint64(bo.Uint16(data[48:]))
		shstrndx = uint64(bo.Uint16(data[50:]))
	}
	if f.Shoff == 0 {
		return nil, &FormatError{Off: -1, Msg: "no section header table (e_shoff is 0)"}
	}
	if int(f.Shentsize) != shSize {
		return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("e_shentsize is %d, want %d for %s", f.Shentsize, shSize, f.Class)}
	}
	if f.Shoff > fileSize || fileSize-f.Shoff < uint64(shSize) {
		return nil, &FormatError{Off: int64(min(f.Shoff, 1<<62)), Msg: fmt.Sprintf("section header table at e_shoff %#x lies beyond the end of the file (%d bytes)", f.Shoff, fileSize)}
	}
	// Extended numbering: e_shnum 0 and e_shstrndx SHN_XINDEX defer to
	// section 0's sh_size and sh_link.
	if shnum == 0 || shstrndx == uint64(elf.SHN_XINDEX) {
		sh0, err := f.ReadAt(int64(f.Shoff), int64(shSize))
		if err != nil {
			return nil, err
		}
		if shnum == 0 {
			if f.Is64() {
				shnum = bo.Uint64(sh0[32:])
			} else {
				shnum = uint64(bo.Uint32(sh0[20:]))
			}
		}
		if shstrndx == uint64(elf.SHN_XINDEX) {
			if f.Is64() {
				shstrndx = uint64(bo.Uint32(sh0[40:]))
			} else {
				shstrndx = uint64(bo.Uint32(sh0[24:]))
			}
		}
	}
	if shnum == 0 || shnum > maxSections {
		return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("implausible section count %d", shnum)}
	}
	if (fileSize-f.Shoff)/uint64(shSize) < shnum {
		return nil, &FormatError{Off: int64(f.Shoff), Msg: fmt.Sprintf("section header table (%d entries of %d bytes at %#x) extends beyond the end of the file (%d bytes)", shnum, shSize, f.Shoff, fileSize)}
	}
	if shstrndx == 0 || shstrndx >= shnum {
		return nil, &FormatError{Off: -1, Msg: fmt.Sprintf("section name table index e_shstrndx %d is not a valid section (there are %d)", shstrndx, shnum)}
	}
	f.Shstrndx = int(shstrndx)
	if f.data == nil && f.size-int64(f.Shoff) <= tailWindow {
		// One read for the section headers, the section names just before
		// them (where linkers put .shstrtab) and the signature after them.
		start := max(0, int64(f.Shoff)-shstrtabSlack)
		if w, err := f.ReadAt(start, f.size-start); err == nil {
			f.windows = append(f.windows, window{start, w})
		}
	}
	table, err := f.ReadAt(int64(f.Shoff), int64(shnum)*int64(shSize))
	if err != nil {
		return nil, err
	}
	f.Sections = make([]Section, shnum)
	for i := range f.Sections {
		off := f.Shoff + uint64(i*shSize)
		s := &f.Sections[i]
		s.Index = i
		s.HdrOff = int64(off)
		h := table[i*shSize : (i+1)*shSize]
		if f.Is64() {
			s.NameOff = bo.Uint32(h[0:])
			s.Type = elf.SectionType(bo.Uint32(h[4:]))
			s.Flags = elf.SectionFlag(bo.Uint64(h[8:]))
			s.Addr = bo.Uint64(h[16:])
			s.Offset = bo.Uint64(h[24:])
			s.Size = bo.Uint64(h[32:])
			s.Link = bo.Uint32(h[40:])
			s.Info = bo.Uint32(h[44:])
			s.Addralign = bo.Uint64(h[48:])
			s.Entsize = bo.Uint64(h[56:])
		} else {
			s.NameOff = bo.Uint32(h[0:])
			s.Type = elf.SectionType(bo.Uint32(h[4:]))
			s.Flags = elf.SectionFlag(bo.Uint32(h[8:]))
			s.Addr = uint64(bo.Uint32(h[12:]))
			s.Offset = uint64(bo.Uint32(h[16:]))
			s.Size = uint64(bo.Uint32(h[20:]))
			s.Link = bo.Uint32(h[24:])
			s.Info = bo.Uint32(h[28:])
			s.Addralign = uint64(bo.Uint32(h[32:]))
			s.Entsize = uint64(bo.Uint32(h[36:]))
		}
	}
	// Every section with file contents must lie inside the image.
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
			continue
		}
		if s.Offset > fileSize || s.Size > fileSize-s.Offset {
			return nil, &FormatError{Off: s.HdrOff, Msg: fmt.Sprintf("section %d: contents at offset %#x, size %#x, extend beyond the end of the file (%d bytes)", i, s.Offset, s.Size, fileSize)}
		}
	}
	shstr := &f.Sections[f.Shstrndx]
	if shstr.Type == elf.SHT_NOBITS || shstr.Type == elf.SHT_NULL || shstr.Size == 0 {
		return nil, &FormatError{Section: "(section names)", Off: shstr.HdrOff, Msg: fmt.Sprintf("section name table (section %d) is empty", f.Shstrndx)}
	}
	names, err := f.SectionData(shstr)
	if err != nil {
		return nil, err
	}
	if names[len(names)-1] != 0 {
		return nil, &FormatError{Section: "(section names)", Off: int64(shstr.Offset + shstr.Size - 1), Msg: "section name table does not end with a NUL byte"}
	}
	for i := range f.Sections {
		s := &f.Sections[i]
		if uint64(s.NameOff) >= uint64(len(names)) {
			return nil, &FormatError{Off: s.HdrOff, Msg: fmt.Sprintf("section %d: name offset %#x is outside the section name table (%d bytes)", i, s.NameOff, len(names))}
		}
		n := names[s.NameOff:]
		s.Name = internName(n[:bytes.IndexByte(n, 0)])
	}
	return f, nil
}

// Section returns the first section with the given name, or nil. The first
// match wins, as in kmod's kmod_elf_get_section and the kernel's find_sec.
func (f *File) Section(name string) *Section {
	for i := 1; i < len(f.Sections); i++ {
		if f.Sections[i].Name == name {
			return &f.Sections[i]
		}
	}
	return nil
}

// SectionData returns the contents of s: without copying for an image in
// memory, read once and cached otherwise. SHT_NOBITS sections have no
// contents in the file and yield nil.
func (f *File) SectionData(s *Section) ([]byte, error) {
	if s == nil || s.Type == elf.SHT_NOBITS || s.Type == elf.SHT_NULL {
		return nil, nil
	}
	if f.data != nil {
		// Bounds were checked when the headers were parsed.
		return f.data[s.Offset : s.Offset+s.Size : s.Offset+s.Size], nil
	}
	if b, ok := f.cache[s.Index]; ok {
		return b, nil
	}
	b, err := f.ReadAt(int64(s.Offset), int64(s.Size))
	if err != nil {
		return nil, fmt.Errorf("section %s: %w", s.Name, err)
	}
	f.cache[s.Index] = b
	return b, nil
}

// SectionByIndex returns section i, or nil when i is out of range.
func (f *File) SectionByIndex(i int) *Section {
	if i < 0 || i >= len(f.Sections) {
		return nil
	}
	return &f.Sections[i]
}

// CString returns the NUL-terminated string at off in b (without the NUL).
// ok is false if off is outside b or no NUL follows it.
func CString(b []byte, off uint64) (s []byte, ok bool) {
	if off >= uint64(len(b)) {
		return nil, false
	}
	b = b[off:]
	i := bytes.IndexByte(b, 0)
	if i < 0 {
		return nil, false
	}
	return b[:i], true
}

// Uint reads an unsigned integer of size 1, 2, 4 or 8 bytes from b at off in
// the file's byte order. ok is false if it does not fit.
func (f *File) Uint(b []byte, off uint64, size int) (uint64, bool) {
	if off > uint64(len(b)) || uint64(len(b))-off < uint64(size) {
		return 0, false
	}
	p := b[off:]
	switch size {
	case 1:
		return uint64(p[0]), true
	case 2:
		return uint64(f.ByteOrder.Uint16(p)), true
	case 4:
		return uint64(f.ByteOrder.Uint32(p)), true
	case 8:
		return f.ByteOrder.Uint64(p), true
	}
	return 0, false
}

// commonNames are section names shared by (nearly) every module; returning
// these constants avoids one allocation per section per file.
var commonNames = map[string]string{}

func init() {
	for _, n := range []string{"", ".text", ".rela.text", ".data", ".rela.data", ".bss", ".rodata", ".rela.rodata",
		".modinfo", "__versions", ".gnu.linkonce.this_module", ".rela.gnu.linkonce.this_module", ".symtab", ".strtab",
		".shstrtab", ".note.gnu.build-id", ".note.Linux", ".comment", ".note.GNU-stack", ".BTF", "__ksymtab",
		".rela__ksymtab", "__ksymtab_gpl", ".rela__ksymtab_gpl", "__kcrctab", "__kcrctab_gpl", "__ksymtab_strings",
		"__mcount_loc", ".rela__mcount_loc", ".init.text", ".rela.init.text", ".exit.text", ".rela.exit.text",
		".text.unlikely", ".rela.text.unlikely", ".rodata.str1.1", ".rodata.str1.8", ".orc_unwind", ".orc_unwind_ip",
		".rela.orc_unwind_ip", ".return_sites", ".rela.return_sites", ".retpoline_sites", ".rela.retpoline_sites",
		".call_sites", ".rela.call_sites", "__param", ".rela__param", "__bug_table", ".rela__bug_table",
		".smp_locks", ".rela.smp_locks", "__jump_table", ".rela__jump_table", ".data..read_mostly", ".init.data",
		".rela.init.data", ".exit.data", ".rela.exit.data", "__dyndbg", ".rela__dyndbg", ".altinstructions",
		".rela.altinstructions", ".altinstr_replacement", ".rela.altinstr_replacement", "__ex_table", ".rela__ex_table",
		".static_call_sites", ".rela.static_call_sites", ".data.once", ".rodata.cst16", ".rodata.cst8", ".rodata.cst2",
		".rodata.cst4", ".rodata.cst32", ".plt", ".init.plt", ".text.ftrace_trampoline", ".init.text.ftrace_trampoline",
		".data..ro_after_init", ".rela.data..ro_after_init", "__patchable_function_entries", ".rela__patchable_function_entries"} {
		commonNames[n] = n
	}
}

// internName returns b as a string, reusing the common section names.
func internName(b []byte) string {
	if s, ok := commonNames[string(b)]; ok { // no allocation for the lookup
		return s
	}
	return string(b)
}
