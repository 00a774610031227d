package elfx

import (
	"debug/elf"
	"fmt"
)

// Symbol is one .symtab entry. Symbols()[0] is the null symbol, so a
// relocation's r_sym indexes the slice directly.
type Symbol struct {
	Name    string
	Value   uint64
	Size    uint64
	Info    uint8
	Other   uint8
	Shndx   uint32 // section index; SHN_XINDEX entries are resolved through SHT_SYMTAB_SHNDX
	NameOff uint32
}

// Bind returns the symbol's binding (STB_*).
func (s *Symbol) Bind() elf.SymBind { return elf.ST_BIND(s.Info) }

// Type returns the symbol's type (STT_*).
func (s *Symbol) Type() elf.SymType { return elf.ST_TYPE(s.Info) }

// IsUndef reports whether the symbol is undefined (imported).
func (s *Symbol) IsUndef() bool { return s.Shndx == uint32(elf.SHN_UNDEF) }

// SymtabSection returns the first SHT_SYMTAB section, or nil.
func (f *File) SymtabSection() *Section {
	for i := range f.Sections {
		if f.Sections[i].Type == elf.SHT_SYMTAB {
			return &f.Sections[i]
		}
	}
	return nil
}

// Symbols decodes the symbol table once and caches it. A module without a
// symbol table yields (nil, nil).
func (f *File) Symbols() ([]Symbol, error) {
	if !f.symDone {
		f.syms, f.symErr = f.decodeSymbols()
		f.symDone = true
	}
	return f.syms, f.symErr
}

func (f *File) decodeSymbols() ([]Symbol, error) {
	st := f.SymtabSection()
	if st == nil {
		return nil, nil
	}
	entsize := uint64(16)
	if f.Is64() {
		entsize = 24
	}
	if st.Size%entsize != 0 {
		return nil, &FormatError{Section: st.Name, Off: int64(st.Offset), Msg: fmt.Sprintf("size %#x is not a multiple of the %d-byte symbol entry", st.Size, entsize)}
	}
	strs := f.SectionByIndex(int(st.Link))
	if strs == nil || strs.Type != elf.SHT_STRTAB {
		return nil, &FormatError{Section: st.Name, Off: st.HdrOff, Msg: fmt.Sprintf("sh_link %d does not name a string table", st.Link)}
	}
	strtab, err := f.SectionData(strs)
	if err != nil {
		return nil, err
	}
	var shndxTab []byte
	for i := range f.Sections {
		if f.Sections[i].Type == elf.SHT_SYMTAB_SHNDX && int(f.Sections[i].Link) == st.Index {
			if shndxTab, err = f.SectionData(&f.Sections[i]); err != nil {
				return nil, err
			}
		}
	}
	raw, err := f.SectionData(st)
	if err != nil {
		return nil, err
	}
	n := int(st.Size / entsize)
	syms := make([]Symbol, n)
	// One string for the whole table: names are substrings of it, so
	// decoding does not allocate per symbol.
	strtabStr := string(strtab)
	bo := f.ByteOrder
	for i := 0; i < n; i++ {
		e := raw[uint64(i)*entsize:]
		s := &syms[i]
		if f.Is64() {
			s.NameOff = bo.Uint32(e[0:])
			s.Info = e[4]
			s.Other = e[5]
			s.Shndx = uint32(bo.Uint16(e[6:]))
			s.Value = bo.Uint64(e[8:])
			s.Size = bo.Uint64(e[16:])
		} else {
			s.NameOff = bo.Uint32(e[0:])
			s.Value = uint64(bo.Uint32(e[4:]))
			s.Size = uint64(bo.Uint32(e[8:]))
			s.Info = e[12]
			s.Other = e[13]
			s.Shndx = uint32(bo.Uint16(e[14:]))
		}
		if s.Shndx == uint32(elf.SHN_XINDEX) && shndxTab != nil {
			if v, ok := f.Uint(shndxTab, uint64(i)*4, 4); ok {
				s.Shndx = uint32(v)
			}
		}
		if s.NameOff != 0 {
			name, ok := CString(strtab, uint64(s.NameOff))
			if !ok {
				return nil, &FormatError{Section: st.Name, Off: int64(st.Offset + uint64(i)*entsize), Msg: fmt.Sprintf("symbol %d: name offset %#x is outside %s or not NUL-terminated", i, s.NameOff, strs.Name)}
			}
			s.Name = strtabStr[s.NameOff : int(s.NameOff)+len(name)]
		}
	}
	return syms, nil
}
