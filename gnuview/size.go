package gnuview

import (
	"debug/elf"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// BFD section flags that size looks at (bfd/bfd-in2.h).
const (
	secAlloc       = 0x1
	secLoad        = 0x2
	secReadonly    = 0x8
	secCode        = 0x10
	secHasContents = 0x100
	secGroup       = 0x4000000 // any non-zero marker; only "flags != 0" matters
)

// BFDSection is a section as BFD presents an ELF relocatable to size: the
// section headers minus the null section, the symbol table and the string
// tables it uses, and the relocation sections it folds into their targets.
type BFDSection struct {
	Name  string
	Size  uint64
	VMA   uint64
	Flags uint32
}

// BFDSections lists the sections BFD (bfd/elf.c bfd_section_from_shdr)
// makes from f, in section-header order.
func BFDSections(f *elfx.File) []BFDSection {
	n := len(f.Sections)
	symtab := 0
	for i := 1; i < n; i++ {
		if f.Sections[i].Type == elf.SHT_SYMTAB {
			symtab = i
			break
		}
	}
	hidden := make([]bool, n)
	hidden[0] = true
	if symtab != 0 {
		hidden[symtab] = true
		if l := int(f.Sections[symtab].Link); l > 0 && l < n && f.Sections[l].Type == elf.SHT_STRTAB {
			hidden[l] = true
		}
	}
	if f.Shstrndx > 0 && f.Shstrndx < n {
		hidden[f.Shstrndx] = true
	}
	for i := 1; i < n; i++ {
		s := &f.Sections[i]
		switch s.Type {
		case elf.SHT_NULL, elf.SHT_SYMTAB_SHNDX:
			hidden[i] = true
		case elf.SHT_SYMTAB:
			hidden[i] = true
		case elf.SHT_REL, elf.SHT_RELA:
			// Folded into the target unless BFD cannot represent it as
			// relocations (then it is an ordinary section).
			if s.Link == 0 || int(s.Link) != symtab || s.Info == 0 || int(s.Info) >= n ||
				f.Sections[s.Info].Type == elf.SHT_REL || f.Sections[s.Info].Type == elf.SHT_RELA {
				continue
			}
			hidden[i] = true
		}
	}
	var out []BFDSection
	for i := 1; i < n; i++ {
		if hidden[i] {
			continue
		}
		s := &f.Sections[i]
		var fl uint32
		if s.Type != elf.SHT_NOBITS {
			fl |= secHasContents
		}
		if s.Type == elf.SHT_GROUP {
			fl |= secGroup
		}
		if s.Flags&elf.SHF_ALLOC != 0 {
			fl |= secAlloc
			if s.Type != elf.SHT_NOBITS {
				fl |= secLoad
			}
		}
		if s.Flags&elf.SHF_WRITE == 0 {
			fl |= secReadonly
		}
		if s.Flags&elf.SHF_EXECINSTR != 0 {
			fl |= secCode
		}
		out = append(out, BFDSection{Name: s.Name, Size: s.Size, VMA: s.Addr, Flags: fl})
	}
	return out
}

// Radix is size's number base.
type Radix int

const (
	Decimal Radix = 10
	Octal   Radix = 8
	Hex     Radix = 16
)

func (r Radix) format(v uint64) string {
	switch r {
	case Octal:
		return "0" + strconv.FormatUint(v, 8)
	case Hex:
		return "0x" + strconv.FormatUint(v, 16)
	}
	return strconv.FormatUint(v, 10)
}

// Sizes are the Berkeley (or GNU) totals of one file.
type Sizes struct {
	Text, Data, BSS uint64
}

// Total is text + data + bss.
func (s Sizes) Total() uint64 { return s.Text + s.Data + s.BSS }

// Sum adds the SHF_ALLOC sections up the way size's berkeley_or_gnu_sum
// does: Berkeley counts read-only data as text, GNU as data.
func Sum(secs []BFDSection, gnu bool) Sizes {
	var z Sizes
	for _, s := range secs {
		if s.Flags&secAlloc == 0 {
			continue
		}
		switch {
		case s.Flags&secCode != 0 || (!gnu && s.Flags&secReadonly != 0):
			z.Text += s.Size
		case s.Flags&secHasContents != 0:
			z.Data += s.Size
		default:
			z.BSS += s.Size
		}
	}
	return z
}

// SizeHeader is the first line of Berkeley (gnu=false) or GNU output.
func SizeHeader(r Radix, gnu bool) string {
	if gnu {
		return "      text       data        bss      total filename\n"
	}
	if r == Octal {
		return "   text\t   data\t    bss\t    oct\t    hex\tfilename\n"
	}
	return "   text\t   data\t    bss\t    dec\t    hex\tfilename\n"
}

// SizeLine is one Berkeley or GNU line for name.
func SizeLine(z Sizes, r Radix, gnu bool, name string) string {
	if gnu {
		return fmt.Sprintf("%10s %10s %10s %10s %s\n", r.format(z.Text), r.format(z.Data), r.format(z.BSS), r.format(z.Total()), name)
	}
	tot := z.Total()
	dec := fmt.Sprintf("%7d", tot)
	if r == Octal {
		dec = fmt.Sprintf("%7o", tot)
	}
	return fmt.Sprintf("%7s\t%7s\t%7s\t%s\t%7x\t%s\n", r.format(z.Text), r.format(z.Data), r.format(z.BSS), dec, tot, name)
}

// SysV writes size -A output for one file.
func SysV(w io.Writer, secs []BFDSection, r Radix, name string) {
	namelen := 0
	var total, maxvma uint64
	for _, s := range secs {
		if s.Flags == 0 {
			continue
		}
		namelen = max(namelen, len(s.Name))
		total += s.Size
		maxvma = max(maxvma, s.VMA)
	}
	vmalen := max(len(r.format(maxvma)), 4)
	sizelen := max(len(r.format(total)), 4)
	var b strings.Builder
	fmt.Fprintf(&b, "%s  :\n%-*s   %*s   %*s\n", name, namelen, "section", sizelen, "size", vmalen, "addr")
	for _, s := range secs {
		if s.Flags == 0 {
			continue
		}
		fmt.Fprintf(&b, "%-*s   %*s   %*s\n", namelen, s.Name, sizelen, r.format(s.Size), vmalen, r.format(s.VMA))
	}
	fmt.Fprintf(&b, "%-*s   %*s\n\n\n", namelen, "Total", sizelen, r.format(total))
	io.WriteString(w, b.String())
}
