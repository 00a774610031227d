package variants

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"

	"github.com/kmodscope/kmodscope/modsig"
)

// Byte-level edits of an ELF64 little-endian relocatable module. Every
// helper works on its own copy and returns it.

func clone(b []byte) []byte { return append([]byte(nil), b...) }

func strip(data []byte) ([]byte, error) {
	out, err := modsig.Strip(data)
	if err != nil {
		return nil, err
	}
	return clone(out), nil
}

type section struct {
	idx        int
	hdrOff     int // file offset of the section header
	off, size  int // file offset and size of the contents
	flags      uint64
	typ        elf.SectionType
	name       string
	link, info uint32
}

func sections(data []byte) ([]section, error) {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if f.Class != elf.ELFCLASS64 {
		return nil, fmt.Errorf("not ELF64")
	}
	shoff := int(order(data).Uint64(data[0x28:]))
	out := make([]section, len(f.Sections))
	for i, s := range f.Sections {
		out[i] = section{idx: i, hdrOff: shoff + 64*i, off: int(s.Offset), size: int(s.Size),
			flags: uint64(s.Flags), typ: s.Type, name: s.Name, link: s.Link, info: s.Info}
	}
	return out, nil
}

func findSection(data []byte, name string) (section, error) {
	ss, err := sections(data)
	if err != nil {
		return section{}, err
	}
	for _, s := range ss {
		if s.name == name {
			return s, nil
		}
	}
	return section{}, fmt.Errorf("no section %s", name)
}

// replaceEntry replaces the modinfo entry old (a whole "key=value" string)
// by repl, which must not be longer; the rest is filled with NULs, which
// get_modinfo skips.
func replaceEntry(data []byte, old, repl string) ([]byte, error) {
	if len(repl) > len(old) {
		return nil, fmt.Errorf("replacement %q longer than %q", repl, old)
	}
	s, err := findSection(data, ".modinfo")
	if err != nil {
		return nil, err
	}
	body := data[s.off : s.off+s.size]
	needle := []byte(old + "\x00")
	i := 0
	for {
		j := bytes.Index(body[i:], needle)
		if j < 0 {
			return nil, fmt.Errorf(".modinfo has no entry %q", old)
		}
		j += i
		if j == 0 || body[j-1] == 0 {
			out := clone(data)
			p := s.off + j
			copy(out[p:p+len(old)], make([]byte, len(old)))
			copy(out[p:], repl)
			return out, nil
		}
		i = j + 1
	}
}

// modinfoEntry returns the first "key=value" entry of .modinfo with key.
func modinfoEntry(data []byte, key string) (string, error) {
	s, err := findSection(data, ".modinfo")
	if err != nil {
		return "", err
	}
	for _, e := range bytes.Split(data[s.off:s.off+s.size], []byte{0}) {
		if bytes.HasPrefix(e, []byte(key+"=")) {
			return string(e), nil
		}
	}
	return "", fmt.Errorf(".modinfo has no %s", key)
}

// versionEntry returns the file offset of the __versions entry for sym
// (struct modversion_info: u64 crc, char name[56]).
func versionEntry(data []byte, sym string) (int, error) {
	s, err := findSection(data, "__versions")
	if err != nil {
		return 0, err
	}
	for p := s.off; p+64 <= s.off+s.size; p += 64 {
		name := data[p+8 : p+64]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		if string(name) == sym {
			return p, nil
		}
	}
	return 0, fmt.Errorf("__versions has no %s", sym)
}

func flipCRC(data []byte, sym string) ([]byte, error) {
	p, err := versionEntry(data, sym)
	if err != nil {
		return nil, err
	}
	out := clone(data)
	out[p] ^= 0x01
	return out, nil
}

// renameVersion changes the last character of the name of sym's
// __versions entry to 'X'.
func renameVersion(data []byte, sym string) ([]byte, error) {
	p, err := versionEntry(data, sym)
	if err != nil {
		return nil, err
	}
	out := clone(data)
	out[p+8+len(sym)-1] = 'X'
	return out, nil
}

// renameSection overwrites a section's name in .shstrtab (same length).
func renameSection(data []byte, name, repl string) ([]byte, error) {
	if len(repl) != len(name) {
		return nil, fmt.Errorf("section rename must keep the length")
	}
	s, err := findSection(data, name)
	if err != nil {
		return nil, err
	}
	shstrndx := int(order(data).Uint16(data[0x3e:]))
	ss, _ := sections(data)
	strs := ss[shstrndx]
	nameOff := int(order(data).Uint32(data[s.hdrOff:]))
	p := strs.off + nameOff
	if string(data[p:p+len(name)]) != name {
		return nil, fmt.Errorf("name of %s not found in .shstrtab", name)
	}
	out := clone(data)
	copy(out[p:], repl)
	return out, nil
}

func setFlags(data []byte, name string, or uint64) ([]byte, error) {
	s, err := findSection(data, name)
	if err != nil {
		return nil, err
	}
	out := clone(data)
	order(out).PutUint64(out[s.hdrOff+8:], s.flags|or)
	return out, nil
}

// setEhdr16 sets a 16-bit ELF header field at off (e_type 0x10, e_machine 0x12).
func setEhdr16(data []byte, off int, v uint16) []byte {
	out := clone(data)
	order(out).PutUint16(out[off:], v)
	return out
}

// setRelaType changes the type of relocation n of the RELA section name.
func setRelaType(data []byte, name string, n int, typ uint32) ([]byte, uint32, error) {
	s, err := findSection(data, name)
	if err != nil {
		return nil, 0, err
	}
	if s.typ != elf.SHT_RELA || (n+1)*24 > s.size {
		return nil, 0, fmt.Errorf("%s: no relocation %d", name, n)
	}
	out := clone(data)
	p := s.off + 24*n + 8
	info := order(out).Uint64(out[p:])
	order(out).PutUint64(out[p:], info&^0xffffffff|uint64(typ))
	return out, uint32(info), nil
}

// setThisModuleName overwrites struct module.name (offset 24 in
// .gnu.linkonce.this_module); repl must not be longer than the old name.
func setThisModuleName(data []byte, old, repl string) ([]byte, error) {
	s, err := findSection(data, ".gnu.linkonce.this_module")
	if err != nil {
		return nil, err
	}
	p := s.off + 24
	if string(data[p:p+len(old)+1]) != old+"\x00" {
		return nil, fmt.Errorf("this_module name is not %q", old)
	}
	out := clone(data)
	copy(out[p:p+len(old)], make([]byte, len(old)))
	copy(out[p:], repl)
	return out, nil
}

// sigTrailer returns the decoded signature trailer of a signed module.
func sigTrailer(data []byte) (*modsig.Trailer, error) {
	return modsig.Find(data)
}

// growSection adds n to a section's sh_size (its contents then overlap the
// next section's bytes, which no loader check looks at).
func growSection(data []byte, name string, n int) ([]byte, error) {
	s, err := findSection(data, name)
	if err != nil {
		return nil, err
	}
	if s.off+s.size+n > len(data) {
		return nil, fmt.Errorf("%s: growing by %d passes the end of the file", name, n)
	}
	out := clone(data)
	order(out).PutUint64(out[s.hdrOff+32:], uint64(s.size+n))
	return out, nil
}

// setShdrField sets a field of section name's header: width 2, 4 or 8
// bytes at offset fieldOff in the 64-byte header.
func setShdrField(data []byte, name string, fieldOff, width int, v uint64) ([]byte, error) {
	s, err := findSection(data, name)
	if err != nil {
		return nil, err
	}
	return putAt(data, s.hdrOff+fieldOff, width, v), nil
}

func putAt(data []byte, off, width int, v uint64) []byte {
	out := clone(data)
	switch width {
	case 2:
		order(out).PutUint16(out[off:], uint16(v))
	case 4:
		order(out).PutUint32(out[off:], uint32(v))
	default:
		order(out).PutUint64(out[off:], v)
	}
	return out
}

// lastByteOf sets the last byte of section name's contents.
func lastByteOf(data []byte, name string, b byte) ([]byte, error) {
	s, err := findSection(data, name)
	if err != nil {
		return nil, err
	}
	if s.size == 0 {
		return nil, fmt.Errorf("%s is empty", name)
	}
	out := clone(data)
	out[s.off+s.size-1] = b
	return out, nil
}

// shstrtabName returns the name of the section name table.
func shstrtabName(data []byte) string {
	ss, err := sections(data)
	if err != nil {
		return ""
	}
	i := int(order(data).Uint16(data[0x3e:]))
	if i < len(ss) {
		return ss[i].name
	}
	return ""
}

// symShndx gives the last defined symbol of .symtab (a real section index)
// the section index shnum+5, returning its name.
func symShndx(data []byte) ([]byte, error) {
	s, err := findSection(data, ".symtab")
	if err != nil {
		return nil, err
	}
	shnum := order(data).Uint16(data[0x3c:])
	for p := s.off + s.size - 24; p > s.off; p -= 24 {
		shndx := order(data).Uint16(data[p+6:])
		if shndx != 0 && shndx < shnum {
			return putAt(data, p+6, 2, uint64(shnum)+5), nil
		}
	}
	return nil, fmt.Errorf("no defined symbol")
}

// order is the byte order of an ELF file's bytes (EI_DATA): big-endian for
// s390x and ppc64 modules, little-endian otherwise.
func order(data []byte) binary.ByteOrder {
	if len(data) > elf.EI_DATA && data[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		return binary.BigEndian
	}
	return binary.LittleEndian
}
