package kotest

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// The helpers below edit a file produced by [Builder.Bytes] (or any ELF
// file) in place. They read EI_CLASS and EI_DATA from data to find the
// layout, so change e_ident last. They panic if a field lies outside data;
// on ELF32, 64-bit values are truncated to the 32-bit field.

// Patch copies v into data at off.
func Patch(data []byte, off int, v ...byte) {
	if off < 0 || off+len(v) > len(data) {
		panic(fmt.Sprintf("kotest: Patch at %d+%d outside %d bytes", off, len(v), len(data)))
	}
	copy(data[off:], v)
}

// EhdrField names an ELF header field for [EhdrFieldOffset].
type EhdrField int

const (
	EType EhdrField = iota
	EMachine
	EVersion
	EEntry
	EPhoff
	EShoff
	EFlags
	EEhsize
	EPhentsize
	EPhnum
	EShentsize
	EShnum
	EShstrndx
)

// field layout: offset and size on ELF32, offset and size on ELF64.
var ehdrFields = [...][4]int{
	EType:      {16, 2, 16, 2},
	EMachine:   {18, 2, 18, 2},
	EVersion:   {20, 4, 20, 4},
	EEntry:     {24, 4, 24, 8},
	EPhoff:     {28, 4, 32, 8},
	EShoff:     {32, 4, 40, 8},
	EFlags:     {36, 4, 48, 4},
	EEhsize:    {40, 2, 52, 2},
	EPhentsize: {42, 2, 54, 2},
	EPhnum:     {44, 2, 56, 2},
	EShentsize: {46, 2, 58, 2},
	EShnum:     {48, 2, 60, 2},
	EShstrndx:  {50, 2, 62, 2},
}

// ShdrField names a section header field for [ShdrFieldOffset].
type ShdrField int

const (
	ShName ShdrField = iota
	ShType
	ShFlags
	ShAddr
	ShOffset
	ShSize
	ShLink
	ShInfo
	ShAddralign
	ShEntsize
)

var shdrFields = [...][4]int{
	ShName:      {0, 4, 0, 4},
	ShType:      {4, 4, 4, 4},
	ShFlags:     {8, 4, 8, 8},
	ShAddr:      {12, 4, 16, 8},
	ShOffset:    {16, 4, 24, 8},
	ShSize:      {20, 4, 32, 8},
	ShLink:      {24, 4, 40, 4},
	ShInfo:      {28, 4, 44, 4},
	ShAddralign: {32, 4, 48, 8},
	ShEntsize:   {36, 4, 56, 8},
}

func layout(data []byte) (is64 bool, order binary.ByteOrder) {
	if len(data) < elf.EI_NIDENT {
		panic("kotest: data shorter than e_ident")
	}
	switch elf.Data(data[elf.EI_DATA]) {
	case elf.ELFDATA2LSB:
		order = binary.LittleEndian
	case elf.ELFDATA2MSB:
		order = binary.BigEndian
	default:
		panic(fmt.Sprintf("kotest: unknown EI_DATA %d", data[elf.EI_DATA]))
	}
	switch elf.Class(data[elf.EI_CLASS]) {
	case elf.ELFCLASS32:
	case elf.ELFCLASS64:
		is64 = true
	default:
		panic(fmt.Sprintf("kotest: unknown EI_CLASS %d", data[elf.EI_CLASS]))
	}
	return is64, order
}

func pick(is64 bool, f [4]int) (off, size int) {
	if is64 {
		return f[2], f[3]
	}
	return f[0], f[1]
}

func get(data []byte, off, size int, order binary.ByteOrder) uint64 {
	if off < 0 || off+size > len(data) {
		panic(fmt.Sprintf("kotest: field at %d+%d outside %d bytes", off, size, len(data)))
	}
	switch size {
	case 2:
		return uint64(order.Uint16(data[off:]))
	case 4:
		return uint64(order.Uint32(data[off:]))
	}
	return order.Uint64(data[off:])
}

func put(data []byte, off, size int, order binary.ByteOrder, v uint64) {
	if off < 0 || off+size > len(data) {
		panic(fmt.Sprintf("kotest: field at %d+%d outside %d bytes", off, size, len(data)))
	}
	switch size {
	case 2:
		order.PutUint16(data[off:], uint16(v))
	case 4:
		order.PutUint32(data[off:], uint32(v))
	default:
		order.PutUint64(data[off:], v)
	}
}

// EhdrFieldOffset returns the file offset and size in bytes of an ELF
// header field.
func EhdrFieldOffset(data []byte, f EhdrField) (off, size int) {
	is64, _ := layout(data)
	return pick(is64, ehdrFields[f])
}

// Ehdr returns the value of an ELF header field.
func Ehdr(data []byte, f EhdrField) uint64 {
	is64, order := layout(data)
	off, size := pick(is64, ehdrFields[f])
	return get(data, off, size, order)
}

// SetEhdr sets an ELF header field.
func SetEhdr(data []byte, f EhdrField, v uint64) {
	is64, order := layout(data)
	off, size := pick(is64, ehdrFields[f])
	put(data, off, size, order, v)
}

// SetShoff sets e_shoff.
func SetShoff(data []byte, v uint64) { SetEhdr(data, EShoff, v) }

// SetShnum sets e_shnum.
func SetShnum(data []byte, v uint16) { SetEhdr(data, EShnum, uint64(v)) }

// SetShentsize sets e_shentsize.
func SetShentsize(data []byte, v uint16) { SetEhdr(data, EShentsize, uint64(v)) }

// SetShstrndx sets e_shstrndx.
func SetShstrndx(data []byte, v uint16) { SetEhdr(data, EShstrndx, uint64(v)) }

// ShdrOffset returns the file offset of section header idx, computed from
// the current e_shoff and e_shentsize in data.
func ShdrOffset(data []byte, idx int) int {
	return int(Ehdr(data, EShoff) + uint64(idx)*Ehdr(data, EShentsize))
}

// ShdrFieldOffset returns the file offset and size in bytes of field f of
// section header idx.
func ShdrFieldOffset(data []byte, idx int, f ShdrField) (off, size int) {
	is64, _ := layout(data)
	o, size := pick(is64, shdrFields[f])
	return ShdrOffset(data, idx) + o, size
}

// Shdr returns field f of section header idx.
func Shdr(data []byte, idx int, f ShdrField) uint64 {
	_, order := layout(data)
	off, size := ShdrFieldOffset(data, idx, f)
	return get(data, off, size, order)
}

// SetShdr sets field f of section header idx.
func SetShdr(data []byte, idx int, f ShdrField, v uint64) {
	_, order := layout(data)
	off, size := ShdrFieldOffset(data, idx, f)
	put(data, off, size, order, v)
}

// SectionOffset returns sh_offset of section idx.
func SectionOffset(data []byte, idx int) uint64 { return Shdr(data, idx, ShOffset) }

// SectionSize returns sh_size of section idx.
func SectionSize(data []byte, idx int) uint64 { return Shdr(data, idx, ShSize) }

// SetSectionOffset sets sh_offset of section idx.
func SetSectionOffset(data []byte, idx int, v uint64) { SetShdr(data, idx, ShOffset, v) }

// SetSectionSize sets sh_size of section idx.
func SetSectionSize(data []byte, idx int, v uint64) { SetShdr(data, idx, ShSize, v) }

// SectionData returns the bytes of section idx as its current header
// describes them (a sub-slice of data, so writes go to the file). It panics
// if they lie outside data.
func SectionData(data []byte, idx int) []byte {
	off, size := SectionOffset(data, idx), SectionSize(data, idx)
	if off > uint64(len(data)) || size > uint64(len(data))-off {
		panic(fmt.Sprintf("kotest: section %d [%#x, +%#x) outside %d bytes", idx, off, size, len(data)))
	}
	return data[off : off+size]
}
