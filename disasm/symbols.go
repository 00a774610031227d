package disasm

import (
	"debug/elf"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// symbol is one entry of objdump's sorted symbol table (sorted_syms in
// binutils' objdump.c): the symbols left after remove_useless_symbols
// (no empty names, no section or file symbols, nothing undefined or common).
type symbol struct {
	name   string
	value  uint64
	size   uint64
	shndx  int // section index; -1 for SHN_ABS (BFD's absolute section)
	sec    string
	flags  symFlags
	valid  bool // the architecture's symbol_is_valid (mapping symbols are not)
	symIdx int  // index in the ELF symbol table
}

type symFlags uint8

const (
	fFunction symFlags = 1 << iota
	fObject
	fLocal
	fGlobal
	fFile // BSF_FILE or a name ending in .o/.a (objdump's file_symbol heuristic)
	fCompiled
)

// symtab is the symbol view objdump works with.
type symtab struct {
	sorted []symbol
	raw    []elfx.Symbol
}

// SymbolValidator is implemented by an Arch whose objdump backend rejects
// some symbols as labels (symbol_is_valid: ARM, AArch64 and RISC-V mapping
// symbols such as "$x" or "$d"). Archs without it accept every symbol.
type SymbolValidator interface {
	SymbolIsValid(name string, typ elf.SymType) bool
}

func newSymtab(f *elfx.File, a Arch) (*symtab, error) {
	raw, err := f.Symbols()
	if err != nil {
		return nil, err
	}
	st := &symtab{raw: raw}
	sv, _ := a.(SymbolValidator)
	for i := 1; i < len(raw); i++ {
		s := &raw[i]
		if s.Name == "" {
			continue
		}
		typ := s.Type()
		if typ == elf.STT_SECTION || typ == elf.STT_FILE {
			continue
		}
		if s.Shndx == uint32(elf.SHN_UNDEF) || s.Shndx == uint32(elf.SHN_COMMON) {
			continue
		}
		y := symbol{name: s.Name, value: s.Value, size: s.Size, symIdx: i, valid: true}
		switch {
		case s.Shndx == uint32(elf.SHN_ABS):
			y.shndx, y.sec = -1, "*ABS*"
		default:
			sec := f.SectionByIndex(int(s.Shndx))
			if sec == nil {
				y.shndx, y.sec = -1, "*ABS*"
			} else {
				y.shndx, y.sec = sec.Index, sec.Name
				if f.Type == elf.ET_REL {
					// BFD's symbol value is the section's address plus
					// st_value (6.12 modules give .data an address).
					y.value += sec.Addr
				}
			}
		}
		switch typ {
		case elf.STT_FUNC, elf.STT_GNU_IFUNC:
			y.flags |= fFunction
		case elf.STT_OBJECT, elf.STT_COMMON:
			y.flags |= fObject
		}
		switch s.Bind() {
		case elf.STB_LOCAL:
			y.flags |= fLocal
		case elf.STB_GLOBAL:
			y.flags |= fGlobal
		}
		if n := len(s.Name); n > 2 && s.Name[n-2] == '.' && (s.Name[n-1] == 'o' || s.Name[n-1] == 'a') {
			y.flags |= fFile
		}
		if strings.Contains(s.Name, "gnu_compiled") || strings.Contains(s.Name, "gcc2_compiled") {
			y.flags |= fCompiled
		}
		if sv != nil {
			y.valid = sv.SymbolIsValid(s.Name, typ)
		}
		st.sorted = append(st.sorted, y)
	}
	sort.Slice(st.sorted, func(i, j int) bool { return symLess(&st.sorted[i], &st.sorted[j]) })
	return st, nil
}

// symLess is objdump's compare_symbols without its first criterion, the
// section being disassembled (see forSection).
func symLess(a, b *symbol) bool {
	if a.value != b.value {
		return a.value < b.value
	}
	if x, y := a.flags&fCompiled != 0, b.flags&fCompiled != 0; x != y {
		return y
	}
	if x, y := a.flags&fFile != 0, b.flags&fFile != 0; x != y {
		return y
	}
	for _, fl := range []symFlags{fFunction, fObject} {
		if x, y := a.flags&fl != 0, b.flags&fl != 0; x != y {
			return x
		}
	}
	if x, y := a.flags&fLocal != 0, b.flags&fLocal != 0; x != y {
		return y
	}
	if x, y := a.flags&fGlobal != 0, b.flags&fGlobal != 0; x != y {
		return x
	}
	if a.size != b.size {
		return a.size > b.size
	}
	if x, y := strings.HasPrefix(a.name, "."), strings.HasPrefix(b.name, "."); x != y {
		return y
	}
	return a.name < b.name
}

// forSection returns the symbol table sorted as objdump sorts it while it
// disassembles section name: within a run of equal values, the symbols of
// that section come first.
func (st *symtab) forSection(name string) *symtab {
	// Usually no run of equal values puts another section's symbol
	// before one of this section: then the order is already right.
	same := true
	for i := 0; i < len(st.sorted) && same; {
		j, other := i, false
		for ; j < len(st.sorted) && st.sorted[j].value == st.sorted[i].value; j++ {
			if st.sorted[j].sec != name {
				other = true
			} else if other {
				same = false
			}
		}
		i = j
	}
	if same {
		return st
	}
	out := &symtab{raw: st.raw, sorted: make([]symbol, 0, len(st.sorted))}
	for i := 0; i < len(st.sorted); {
		j := i + 1
		for j < len(st.sorted) && st.sorted[j].value == st.sorted[i].value {
			j++
		}
		for k := i; k < j; k++ {
			if st.sorted[k].sec == name {
				out.sorted = append(out.sorted, st.sorted[k])
			}
		}
		for k := i; k < j; k++ {
			if st.sorted[k].sec != name {
				out.sorted = append(out.sorted, st.sorted[k])
			}
		}
		i = j
	}
	return out
}

// ok is objdump's sym_ok.
func (st *symtab) ok(want bool, i int, sec *elfx.Section) bool {
	s := &st.sorted[i]
	if want && (s.shndx != sec.Index || s.sec != sec.Name) {
		return false
	}
	return s.valid
}

// find is objdump's find_symbol_for_address: the index in sorted of the
// symbol objdump names vma after, or -1.
func (st *symtab) find(vma uint64, sec *elfx.Section, requireSec bool) int {
	n := len(st.sorted)
	if n == 0 {
		return -1
	}
	lo, hi := 0, n
	for lo+1 < hi {
		t := (lo + hi) / 2
		v := st.sorted[t].value
		if v > vma {
			hi = t
		} else if v < vma {
			lo = t
		} else {
			lo = t
			break
		}
	}
	tp := lo
	for tp > 0 && st.sorted[tp].value == st.sorted[tp-1].value {
		tp--
	}
	m := tp
	for m < hi && st.sorted[m].value == st.sorted[tp].value {
		if st.ok(true, m, sec) {
			return m
		}
		m++
	}
	want := requireSec || vma < sec.Size
	if !st.ok(want, tp, sec) {
		np := n
		for i := m - 1; i >= 0; i-- {
			if st.ok(want, i, sec) {
				if np == n {
					np = i
				}
				if st.sorted[i].value != st.sorted[np].value {
					break
				}
				np = i
			}
		}
		if np != n {
			tp = np
		} else {
			for i := tp + 1; i < n; i++ {
				if st.ok(want, i, sec) {
					tp = i
					break
				}
			}
		}
		if !st.ok(want, tp, sec) {
			return -1
		}
	}
	return tp
}

// label is the text objdump prints between < and > for vma given the
// symbol index i (or -1): "name", "name+0x10", "name-0x4", or the section
// name with an offset when there is no symbol.
func (st *symtab) label(i int, vma uint64, sec *elfx.Section) string {
	var b []byte
	b = st.appendLabel(b, i, vma, sec)
	return string(b)
}

func (st *symtab) appendLabel(b []byte, i int, vma uint64, sec *elfx.Section) []byte {
	var base uint64
	if i < 0 {
		b = appendSanitized(b, sec.Name)
	} else {
		b = appendSanitized(b, st.sorted[i].name)
		base = st.sorted[i].value
	}
	switch {
	case base > vma:
		b = append(b, "-0x"...)
		b = appendHex(b, base-vma)
	case vma > base:
		b = append(b, "+0x"...)
		b = appendHex(b, vma-base)
	}
	return b
}

// appendSanitized appends s as objdump's sanitize_string prints names:
// a control character c as "^" and c+0x40 (GNU as's local labels contain
// \x02: ".L886\x021" is printed ".L886^B1").
func appendSanitized(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			b = append(b, s[:i]...)
			for ; i < len(s); i++ {
				c := s[i]
				if c < 0x20 || c == 0x7f {
					b = append(b, '^', c+0x40)
				} else {
					b = append(b, c)
				}
			}
			return b
		}
	}
	return append(b, s...)
}

const hexdigits = "0123456789abcdef"

// appendHex appends v in lower-case hex without leading zeros.
func appendHex(b []byte, v uint64) []byte {
	var buf [16]byte
	i := len(buf)
	for {
		i--
		buf[i] = hexdigits[v&15]
		v >>= 4
		if v == 0 {
			break
		}
	}
	return append(b, buf[i:]...)
}
