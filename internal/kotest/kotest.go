// Package kotest writes synthetic ELF relocatable objects shaped like Linux
// kernel modules (.ko files), for tests of the packages that read them.
//
// It plays the role that delve's pkg/dwarf/dwarfbuilder plays for DWARF: a
// test states the sections, symbols and relocations it wants, [Builder.Bytes]
// lays them out the way "ld -r" does for a real module (ELF header, section
// contents, .symtab, .strtab, .shstrtab, section header table last), and the
// mutation helpers ([Patch], [SetShoff], [SetSectionSize], ...) then break the
// result in precise ways.
//
// The package uses only the standard library. It never validates what it is
// asked to write: out-of-range indices, lying sizes and unterminated strings
// are all written as given, because malformed inputs are the point.
package kotest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Section describes one section to write. Index 0 (SHT_NULL) is implicit.
type Section struct {
	Name      string
	Type      elf.SectionType
	Flags     elf.SectionFlag
	Addr      uint64 // sh_addr; 0 in real .ko files
	Data      []byte // file contents; ignored for SHT_NOBITS
	Size      uint64 // sh_size if non-zero; otherwise len(Data). Set it for SHT_NOBITS, or to lie.
	Link      uint32
	Info      uint32
	Addralign uint64
	Entsize   uint64
}

// Symbol describes one .symtab entry.
type Symbol struct {
	Name    string
	Value   uint64
	Size    uint64
	Bind    elf.SymBind
	Type    elf.SymType
	Other   uint8 // st_other (visibility)
	Section int   // section index, or int(elf.SHN_UNDEF), int(elf.SHN_ABS), int(elf.SHN_COMMON)
}

// Symbol.Section is written to the 16-bit st_shndx as is; no
// SHT_SYMTAB_SHNDX section is written for indices of SHN_LORESERVE or more.

// Rela is one relocation. For SHT_REL sections Addend is ignored.
//
// Sym is the raw r_sym value (the .symtab index returned by
// [Builder.AddSymbol], or anything else for malformed inputs).
//
// Type is the raw r_type. For EM_MIPS ELF64 files, whose r_info has the
// split layout (r_sym u32, r_ssym u8, r_type3 u8, r_type2 u8, r_type u8),
// Type packs r_type in bits 0-7, r_type2 in bits 8-15, r_type3 in bits
// 16-23 and r_ssym in bits 24-31. On ELF32 only the low 8 bits fit in r_info.
type Rela struct {
	Offset uint64
	Sym    uint32
	Type   uint32
	Addend int64
}

type section struct {
	Section
	linkSymtab bool // Link is set to the .symtab index by Bytes
}

// Builder accumulates sections and symbols. The exported fields may be
// changed at any time before [Builder.Bytes].
type Builder struct {
	Class   elf.Class
	Order   binary.ByteOrder
	Machine elf.Machine
	Type    elf.Type    // e_type; New sets ET_REL
	OSABI   elf.OSABI   // EI_OSABI
	Flags   uint32      // e_flags
	Version elf.Version // EI_VERSION and e_version; New sets EV_CURRENT

	sections []section // index i is section i+1
	symbols  []Symbol  // index i is symbol i+1
	forceSym bool      // emit .symtab even without symbols (a relocation section needs one)
}

// New returns an empty builder for an ET_REL file.
func New(class elf.Class, order binary.ByteOrder, machine elf.Machine) *Builder {
	return &Builder{Class: class, Order: order, Machine: machine, Type: elf.ET_REL, Version: elf.EV_CURRENT}
}

func (b *Builder) is64() bool { return b.Class == elf.ELFCLASS64 }

// wordSize is sizeof(long) for the file's class.
func (b *Builder) wordSize() uint64 {
	if b.is64() {
		return 8
	}
	return 4
}

// AddSection appends a section and returns its index in the section header
// table. Sections are numbered from 1 in the order they are added; .symtab,
// .strtab and .shstrtab come after them (see [Builder.SymtabIndex]).
func (b *Builder) AddSection(s Section) int {
	b.sections = append(b.sections, section{Section: s})
	return len(b.sections)
}

// Section returns a pointer to the section with index idx, so that tests can
// adjust it after it was added (for example the Data of __versions). It
// panics if idx was not returned by AddSection, AddRela or AddRel.
func (b *Builder) Section(idx int) *Section {
	return &b.sections[idx-1].Section
}

// SectionIndex returns the index of the first added section named name, or
// -1.
func (b *Builder) SectionIndex(name string) int {
	for i := range b.sections {
		if b.sections[i].Name == name {
			return i + 1
		}
	}
	return -1
}

// AddSymbol appends a symbol and returns its final index in .symtab (the null
// symbol is index 0). Symbols are written in the order they are added, and
// sh_info of .symtab is one more than the index of the last leading local
// symbol, so add all STB_LOCAL symbols first, as ELF requires; adding a local
// symbol after a global one deliberately produces a misordered table.
func (b *Builder) AddSymbol(sym Symbol) int {
	b.symbols = append(b.symbols, sym)
	return len(b.symbols)
}

// hasSymtab reports whether Bytes will write .symtab and .strtab.
func (b *Builder) hasSymtab() bool { return len(b.symbols) > 0 || b.forceSym }

// SymtabIndex returns the section index .symtab gets if no further sections
// are added (.strtab is SymtabIndex()+1). It returns 0 if no .symtab would be
// written.
func (b *Builder) SymtabIndex() int {
	if !b.hasSymtab() {
		return 0
	}
	return len(b.sections) + 1
}

// AddRela appends a SHT_RELA section ".rela<target name>" holding relocs for
// section target, with sh_link = .symtab, sh_info = target and SHF_INFO_LINK,
// and returns its index. It makes Bytes write a .symtab even if no symbols
// were added.
func (b *Builder) AddRela(target int, relocs []Rela) int {
	return b.addRel(target, relocs, true)
}

// AddRel is AddRela for a SHT_REL section ".rel<target name>" (addends are
// dropped), as used by i386, ARM and 32-bit MIPS modules.
func (b *Builder) AddRel(target int, relocs []Rela) int {
	return b.addRel(target, relocs, false)
}

func (b *Builder) addRel(target int, relocs []Rela, rela bool) int {
	name, typ := ".rel", elf.SHT_REL
	if rela {
		name, typ = ".rela", elf.SHT_RELA
	}
	if target >= 1 && target <= len(b.sections) {
		name += b.sections[target-1].Name
	}
	ent := RelocSize(b.Class, rela)
	var data []byte
	for _, r := range relocs {
		data = b.appendReloc(data, r, rela)
	}
	b.forceSym = true
	b.sections = append(b.sections, section{
		Section: Section{
			Name:      name,
			Type:      typ,
			Flags:     elf.SHF_INFO_LINK,
			Data:      data,
			Info:      uint32(target),
			Addralign: b.wordSize(),
			Entsize:   uint64(ent),
		},
		linkSymtab: true,
	})
	return len(b.sections)
}

// RelocSize returns the size of one relocation entry: 24/16 (RELA/REL) on
// ELF64, 12/8 on ELF32.
func RelocSize(class elf.Class, rela bool) int {
	n := 8
	if class == elf.ELFCLASS64 {
		n = 16
	}
	if rela {
		n += n / 2
	}
	return n
}

// RInfo returns the r_info value for sym and typ as it is stored in the
// file (see [Rela] for the EM_MIPS ELF64 layout).
func (b *Builder) RInfo(sym, typ uint32) uint64 {
	if !b.is64() {
		return uint64(sym)<<8 | uint64(typ&0xff)
	}
	if b.Machine == elf.EM_MIPS {
		// Bytes in file order: r_sym (4, file order), r_ssym, r_type3, r_type2, r_type.
		var raw [8]byte
		b.Order.PutUint32(raw[:4], sym)
		raw[4] = byte(typ >> 24)
		raw[5] = byte(typ >> 16)
		raw[6] = byte(typ >> 8)
		raw[7] = byte(typ)
		return b.Order.Uint64(raw[:])
	}
	return uint64(sym)<<32 | uint64(typ)
}

func (b *Builder) appendReloc(dst []byte, r Rela, rela bool) []byte {
	info := b.RInfo(r.Sym, r.Type)
	if b.is64() {
		dst = appendU64(b.Order, dst, r.Offset)
		dst = appendU64(b.Order, dst, info)
		if rela {
			dst = appendU64(b.Order, dst, uint64(r.Addend))
		}
		return dst
	}
	dst = appendU32(b.Order, dst, uint32(r.Offset))
	dst = appendU32(b.Order, dst, uint32(info))
	if rela {
		dst = appendU32(b.Order, dst, uint32(int32(r.Addend)))
	}
	return dst
}

// strtab is an ELF string table under construction.
type strtab struct{ data []byte }

func newStrtab() *strtab { return &strtab{data: []byte{0}} }

func (s *strtab) add(name string) uint32 {
	if name == "" {
		return 0
	}
	off := uint32(len(s.data))
	s.data = append(s.data, name...)
	s.data = append(s.data, 0)
	return off
}

func alignUp(n, a uint64) uint64 {
	if a <= 1 {
		return n
	}
	return (n + a - 1) / a * a
}

// Bytes lays out and returns the file. It can be called more than once.
func (b *Builder) Bytes() []byte {
	secs := make([]section, len(b.sections))
	copy(secs, b.sections)
	w := b.wordSize()

	if b.hasSymtab() {
		symIdx := uint32(len(secs) + 1)
		str := newStrtab()
		entSize := uint64(16)
		if b.is64() {
			entSize = 24
		}
		data := make([]byte, entSize) // null symbol
		firstGlobal := 1
		leading := true
		for i, s := range b.symbols {
			if leading && s.Bind == elf.STB_LOCAL {
				firstGlobal = i + 2
			} else {
				leading = false
			}
			data = b.appendSym(data, str.add(s.Name), s)
		}
		for i := range secs {
			if secs[i].linkSymtab {
				secs[i].Link = symIdx
			}
		}
		secs = append(secs,
			section{Section: Section{Name: ".symtab", Type: elf.SHT_SYMTAB, Data: data,
				Link: symIdx + 1, Info: uint32(firstGlobal), Addralign: w, Entsize: entSize}},
			section{Section: Section{Name: ".strtab", Type: elf.SHT_STRTAB, Data: str.data, Addralign: 1}})
	}

	shstr := newStrtab()
	names := make([]uint32, len(secs))
	for i, s := range secs {
		names[i] = shstr.add(s.Name)
	}
	shstrName := shstr.add(".shstrtab")
	secs = append(secs, section{Section: Section{Name: ".shstrtab", Type: elf.SHT_STRTAB, Data: shstr.data, Addralign: 1}})
	names = append(names, shstrName)

	ehsize := uint64(52)
	if b.is64() {
		ehsize = 64
	}
	out := make([]byte, ehsize)
	offs := make([]uint64, len(secs))
	for i, s := range secs {
		off := alignUp(uint64(len(out)), s.Addralign)
		out = append(out, make([]byte, off-uint64(len(out)))...)
		offs[i] = off
		if s.Type != elf.SHT_NOBITS {
			out = append(out, s.Data...)
		}
	}
	shoff := alignUp(uint64(len(out)), w)
	out = append(out, make([]byte, shoff-uint64(len(out)))...)

	// Section 0. With SHN_LORESERVE or more sections, e_shnum and
	// e_shstrndx move into it (extended section numbering).
	shnum := uint64(len(secs) + 1)
	var sh0 Section
	ehShnum, ehShstrndx := shnum, shnum-1
	if shnum >= uint64(elf.SHN_LORESERVE) {
		sh0.Size = shnum
		ehShnum = 0
	}
	if shnum-1 >= uint64(elf.SHN_LORESERVE) {
		sh0.Link = uint32(shnum - 1)
		ehShstrndx = uint64(elf.SHN_XINDEX)
	}
	out = b.appendShdr(out, 0, sh0, 0, sh0.Size)
	for i, s := range secs {
		size := s.Size
		if size == 0 {
			size = uint64(len(s.Data))
		}
		out = b.appendShdr(out, names[i], s.Section, offs[i], size)
	}

	b.putHeader(out, shoff, ehShnum, ehShstrndx)
	return out
}

func (b *Builder) appendSym(dst []byte, name uint32, s Symbol) []byte {
	info := elf.ST_INFO(s.Bind, s.Type)
	shndx := uint16(s.Section)
	if b.is64() {
		dst = appendU32(b.Order, dst, name)
		dst = append(dst, info, s.Other)
		dst = appendU16(b.Order, dst, shndx)
		dst = appendU64(b.Order, dst, s.Value)
		return appendU64(b.Order, dst, s.Size)
	}
	dst = appendU32(b.Order, dst, name)
	dst = appendU32(b.Order, dst, uint32(s.Value))
	dst = appendU32(b.Order, dst, uint32(s.Size))
	dst = append(dst, info, s.Other)
	return appendU16(b.Order, dst, shndx)
}

func (b *Builder) appendShdr(dst []byte, name uint32, s Section, off, size uint64) []byte {
	o := b.Order
	if b.is64() {
		dst = appendU32(o, dst, name)
		dst = appendU32(o, dst, uint32(s.Type))
		dst = appendU64(o, dst, uint64(s.Flags))
		dst = appendU64(o, dst, s.Addr)
		dst = appendU64(o, dst, off)
		dst = appendU64(o, dst, size)
		dst = appendU32(o, dst, s.Link)
		dst = appendU32(o, dst, s.Info)
		dst = appendU64(o, dst, s.Addralign)
		return appendU64(o, dst, s.Entsize)
	}
	dst = appendU32(o, dst, name)
	dst = appendU32(o, dst, uint32(s.Type))
	dst = appendU32(o, dst, uint32(s.Flags))
	dst = appendU32(o, dst, uint32(s.Addr))
	dst = appendU32(o, dst, uint32(off))
	dst = appendU32(o, dst, uint32(size))
	dst = appendU32(o, dst, s.Link)
	dst = appendU32(o, dst, s.Info)
	dst = appendU32(o, dst, uint32(s.Addralign))
	return appendU32(o, dst, uint32(s.Entsize))
}

func (b *Builder) putHeader(out []byte, shoff, shnum, shstrndx uint64) {
	copy(out, elf.ELFMAG)
	out[elf.EI_CLASS] = byte(b.Class)
	switch b.Order {
	case binary.LittleEndian:
		out[elf.EI_DATA] = byte(elf.ELFDATA2LSB)
	case binary.BigEndian:
		out[elf.EI_DATA] = byte(elf.ELFDATA2MSB)
	default:
		panic(fmt.Sprintf("kotest: unsupported byte order %v", b.Order))
	}
	out[elf.EI_VERSION] = byte(b.Version)
	out[elf.EI_OSABI] = byte(b.OSABI)
	o := b.Order
	o.PutUint16(out[16:], uint16(b.Type))
	o.PutUint16(out[18:], uint16(b.Machine))
	o.PutUint32(out[20:], uint32(b.Version))
	// e_entry and e_phoff stay 0; there are no program headers.
	if b.is64() {
		o.PutUint64(out[40:], shoff)
		o.PutUint32(out[48:], b.Flags)
		o.PutUint16(out[52:], 64) // e_ehsize
		o.PutUint16(out[54:], 0)  // e_phentsize
		o.PutUint16(out[56:], 0)  // e_phnum
		o.PutUint16(out[58:], 64) // e_shentsize
		o.PutUint16(out[60:], uint16(shnum))
		o.PutUint16(out[62:], uint16(shstrndx))
		return
	}
	o.PutUint32(out[32:], uint32(shoff))
	o.PutUint32(out[36:], b.Flags)
	o.PutUint16(out[40:], 52) // e_ehsize
	o.PutUint16(out[46:], 40) // e_shentsize
	o.PutUint16(out[48:], uint16(shnum))
	o.PutUint16(out[50:], uint16(shstrndx))
}

func appendU16(o binary.ByteOrder, dst []byte, v uint16) []byte {
	var b [2]byte
	o.PutUint16(b[:], v)
	return append(dst, b[:]...)
}

func appendU32(o binary.ByteOrder, dst []byte, v uint32) []byte {
	var b [4]byte
	o.PutUint32(b[:], v)
	return append(dst, b[:]...)
}

func appendU64(o binary.ByteOrder, dst []byte, v uint64) []byte {
	var b [8]byte
	o.PutUint64(b[:], v)
	return append(dst, b[:]...)
}
