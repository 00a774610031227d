package elfx

import (
	"debug/elf"
	"fmt"
)

// Reloc is one decoded REL or RELA entry.
//
// For MIPS64 the r_info word is not ELF64_R_INFO(sym, type): it is stored as
// r_sym (u32), r_ssym (u8), r_type3 (u8), r_type2 (u8), r_type (u8), each in
// the file's byte order; Type holds r_type and Type2/Type3/Ssym the rest.
type Reloc struct {
	Offset    uint64
	Sym       uint32
	Type      uint32
	Type2     uint8
	Type3     uint8
	Ssym      uint8
	Addend    int64 // explicit addend (RELA); 0 for REL, whose addend is in place
	HasAddend bool  // true for SHT_RELA
}

// IsReloc reports whether s is a REL or RELA section.
func IsReloc(s *Section) bool { return s.Type == elf.SHT_REL || s.Type == elf.SHT_RELA }

// RelocSections returns the REL/RELA sections that apply to section target
// (sh_info == target), in section order.
func (f *File) RelocSections(target int) []*Section {
	var out []*Section
	for i := range f.Sections {
		s := &f.Sections[i]
		if IsReloc(s) && int(s.Info) == target {
			out = append(out, s)
		}
	}
	return out
}

// Relocs decodes the entries of a REL or RELA section.
func (f *File) Relocs(s *Section) ([]Reloc, error) {
	rela := s.Type == elf.SHT_RELA
	if !IsReloc(s) {
		return nil, &FormatError{Section: s.Name, Off: s.HdrOff, Msg: fmt.Sprintf("not a relocation section (type %s)", s.Type)}
	}
	var ent uint64
	switch {
	case f.Is64() && rela:
		ent = 24
	case f.Is64():
		ent = 16
	case rela:
		ent = 12
	default:
		ent = 8
	}
	if s.Size%ent != 0 {
		return nil, &FormatError{Section: s.Name, Off: int64(s.Offset), Msg: fmt.Sprintf("size %#x is not a multiple of the %d-byte entry", s.Size, ent)}
	}
	raw, err := f.SectionData(s)
	if err != nil {
		return nil, err
	}
	n := s.Size / ent
	out := make([]Reloc, n)
	bo := f.ByteOrder
	mips64 := f.Is64() && f.Machine == elf.EM_MIPS
	for i := uint64(0); i < n; i++ {
		e := raw[i*ent:]
		r := &out[i]
		r.HasAddend = rela
		if f.Is64() {
			r.Offset = bo.Uint64(e)
			if mips64 {
				r.Sym = bo.Uint32(e[8:])
				r.Ssym, r.Type3, r.Type2 = e[12], e[13], e[14]
				r.Type = uint32(e[15])
			} else {
				info := bo.Uint64(e[8:])
				r.Sym = uint32(info >> 32)
				r.Type = uint32(info)
			}
			if rela {
				r.Addend = int64(bo.Uint64(e[16:]))
			}
		} else {
			r.Offset = uint64(bo.Uint32(e))
			info := bo.Uint32(e[4:])
			r.Sym = info >> 8
			r.Type = info & 0xff
			if rela {
				r.Addend = int64(int32(bo.Uint32(e[8:])))
			}
		}
	}
	return out, nil
}
