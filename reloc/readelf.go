package reloc

import (
	"debug/elf"
	"strconv"

	"github.com/kmodscope/kmodscope/elfx"
)

// Sections returns the REL and RELA sections of f that readelf -r shows
// (non-empty ones), in section order.
func Sections(f *elfx.File) []*elfx.Section {
	var out []*elfx.Section
	for i := range f.Sections {
		s := &f.Sections[i]
		if elfx.IsReloc(s) && s.Size != 0 {
			out = append(out, s)
		}
	}
	return out
}

// AppendReadelf appends to dst what `readelf -rW` prints for f (binutils
// 2.40): one block per REL/RELA section, or "There are no relocations in
// this file."
func AppendReadelf(dst []byte, f *elfx.File) ([]byte, error) {
	secs := Sections(f)
	if len(secs) == 0 {
		return append(dst, "\nThere are no relocations in this file.\n"...), nil
	}
	for _, s := range secs {
		var err error
		if dst, err = AppendReadelfSection(dst, f, s); err != nil {
			return dst, err
		}
	}
	return dst, nil
}

// AppendReadelfSection appends readelf -rW's block for one section.
func AppendReadelfSection(dst []byte, f *elfx.File, s *elfx.Section) ([]byte, error) {
	es, err := Entries(f, s)
	if err != nil {
		return dst, err
	}
	rela := s.Type == elf.SHT_RELA
	dst = append(dst, "\nRelocation section '"...)
	dst = appendPrintable(dst, s.Name)
	dst = append(dst, "' at offset "...)
	if s.Offset != 0 {
		dst = append(dst, "0x"...)
	}
	dst = strconv.AppendUint(dst, s.Offset, 16)
	dst = append(dst, " contains "...)
	dst = strconv.AppendUint(dst, uint64(len(es)), 10)
	if len(es) == 1 {
		dst = append(dst, " entry:\n"...)
	} else {
		dst = append(dst, " entries:\n"...)
	}
	is64 := f.Is64()
	switch {
	case !is64 && rela:
		dst = append(dst, " Offset     Info    Type                Sym. Value  Symbol's Name + Addend\n"...)
	case !is64:
		dst = append(dst, " Offset     Info    Type                Sym. Value  Symbol's Name\n"...)
	case rela:
		dst = append(dst, "    Offset             Info             Type               Symbol's Value  Symbol's Name + Addend\n"...)
	default:
		dst = append(dst, "    Offset             Info             Type               Symbol's Value  Symbol's Name\n"...)
	}
	width := 16
	if !is64 {
		width = 8
	}
	for i := range es {
		e := &es[i]
		dst = appendHex(dst, e.Offset, width)
		dst = append(dst, "  "...)
		dst = appendHex(dst, e.Info, width)
		dst = append(dst, ' ')
		if n, ok := TypeName(f.Machine, e.Type); ok {
			dst = appendPadded(dst, n, 22)
		} else {
			dst = appendUnrecognized(dst, e.Type)
		}
		if e.SymIndex != 0 {
			dst = append(dst, ' ')
			if e.ifunc {
				// readelf shows "name()" instead of an IFUNC's value: it is
				// called to get the address.
				w := 14
				if !is64 {
					w = 8
				}
				n := len(dst)
				if e.nameOff == 0 {
					dst = append(dst, "??"...)
				} else {
					dst = appendPrintable(dst, e.Symbol)
				}
				l := len(dst) - n
				dst = append(dst, "()"...)
				pad := 1
				if l <= w {
					pad = w + 1 - l
				}
				dst = appendPadded(dst, " ", pad)
			} else {
				dst = appendHex(dst, e.SymValue, width)
				if is64 {
					dst = append(dst, ' ')
				} else {
					dst = append(dst, "   "...)
				}
			}
			dst = appendPrintable(dst, e.Symbol)
			if rela {
				dst = appendAddend(dst, " - ", " + ", e.Addend)
			}
		} else if rela {
			if is64 {
				dst = append(dst, "                    "...)
			} else {
				dst = append(dst, "            "...)
			}
			dst = appendAddend(dst, "-", "", e.Addend)
		}
		dst = append(dst, '\n')
		if e.Type2 != nil {
			dst = append(dst, "                    Type2: "...)
			dst = appendType17(dst, f.Machine, uint32(*e.Type2))
			dst = append(dst, "\n                    Type3: "...)
			dst = appendType17(dst, f.Machine, uint32(*e.Type3))
			dst = append(dst, '\n')
		}
	}
	return dst, nil
}

func appendType17(dst []byte, m elf.Machine, t uint32) []byte {
	n, ok := TypeName(m, t)
	if !ok {
		return appendUnrecognized(dst, t)
	}
	if len(n) > 17 {
		n = n[:17]
	}
	return appendPadded(dst, n, 17)
}

// appendUnrecognized is readelf's "unrecognized: %-7lx".
func appendUnrecognized(dst []byte, t uint32) []byte {
	dst = append(dst, "unrecognized: "...)
	h := strconv.FormatUint(uint64(t), 16)
	return appendPadded(dst, h, 7)
}

func appendAddend(dst []byte, neg, pos string, a int64) []byte {
	if a < 0 {
		dst = append(dst, neg...)
		return strconv.AppendUint(dst, uint64(-a), 16)
	}
	dst = append(dst, pos...)
	return strconv.AppendUint(dst, uint64(a), 16)
}

func appendPadded(dst []byte, s string, w int) []byte {
	dst = append(dst, s...)
	for i := len(s); i < w; i++ {
		dst = append(dst, ' ')
	}
	return dst
}

const hexDigits = "0123456789abcdef"

// appendHex appends v as exactly w lowercase hex digits (w is 8 or 16; a
// value wider than w keeps all its digits, as printf's %8.8lx does).
func appendHex(dst []byte, v uint64, w int) []byte {
	var b [16]byte
	for i := 15; i >= 0; i-- {
		b[i] = hexDigits[v&0xf]
		v >>= 4
	}
	start := 16 - w
	for i := 0; i < start; i++ {
		if b[i] != '0' {
			start = i
			break
		}
	}
	return append(dst, b[start:]...)
}

// appendPrintable appends s the way readelf's print_symbol does: control
// characters as ^X.
func appendPrintable(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			dst = append(dst, '^', c+0x40)
		} else {
			dst = append(dst, c)
		}
	}
	return dst
}
