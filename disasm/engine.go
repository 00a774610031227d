package disasm

import (
	"debug/elf"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// siteIndex is a section's site marks sorted by offset.
type siteIndex struct {
	offs  []uint64
	marks map[uint64][]string
}

func newSiteIndex(m map[uint64][]string) *siteIndex {
	if len(m) == 0 {
		return nil
	}
	si := &siteIndex{marks: m}
	for o := range m {
		si.offs = append(si.offs, o)
	}
	sort.Slice(si.offs, func(i, j int) bool { return si.offs[i] < si.offs[j] })
	return si
}

// ErrNoDecoder reports a machine without a Go decoder (MIPS, SPARC, ...).
var ErrNoDecoder = errors.New("no disassembler for this machine")

// Reloc is one relocation applied inside an instruction, as objdump -r
// prints it after that instruction.
type Reloc struct {
	Offset uint64 `json:"offset"` // within the section
	Type   string `json:"type"`   // R_X86_64_PLT32 ...
	Symbol string `json:"symbol"` // symbol name, or the section name for section symbols
	Addend int64  `json:"addend"` // RELA addend; 0 for REL (the addend is in place)
	sym    uint32 // symbol table index, for RelocDecoder
}

// Insn is one line of the disassembly: an instruction, an undecodable unit,
// or a run of zero bytes that objdump elides as "...".
type Insn struct {
	Offset   uint64
	Code     []byte // the instruction's bytes
	Shown    int    // how many of Code objdump prints (fewer when the instruction runs past the next symbol)
	Mnemonic string
	Operands string
	Known    bool     // false: the decoder did not recognise the bytes
	Zeros    bool     // an elided run of zero bytes (Code holds them)
	Data     bool     // bytes dumped as data (an object symbol in a code section)
	Relocs   []Reloc  // relocations objdump prints after this line
	Sites    []string // patch-site marks (alternative, jump_label, static_call, ...)
}

// Function is the start of a block: objdump's "<name>:" heading at each
// symbol (or at the section start).
type Function struct {
	Section      string
	SectionIndex int
	Name         string // the symbol, "" when the block has none (then Label names the section)
	Label        string // what objdump prints between < and >: "foo", "foo-0x10", ".text"
	Offset       uint64
}

// Visitor receives the disassembly in order. The pointers are only valid
// during the call.
type Visitor interface {
	Section(s *elfx.Section)
	Function(fn *Function)
	Insn(in *Insn)
}

// Disassembler walks the code sections of one module.
type Disassembler struct {
	f     *elfx.File
	arch  Arch
	st    *symtab
	sites map[int]map[uint64][]string
	// layout of the raw bytes column
	perLine, perChunk int
	layout            ByteLayout
	text              TextFormatter
	mapping           mappingArch // ARM: decoders that follow mapping symbols

	// RelocQuirk reproduces objdump 2.40's --disassemble=SYM output, which
	// prints every relocation before the symbol after its first line.
	RelocQuirk bool
}

// New prepares the disassembly of f. It fails with ErrNoDecoder (wrapped)
// when the machine has no decoder.
func New(f *elfx.File) (*Disassembler, error) {
	a := ArchFor(f.Machine, f.Class, f.ByteOrder, f.Flags)
	if a == nil {
		return nil, fmt.Errorf("%w (%s)", ErrNoDecoder, f.Machine)
	}
	st, err := newSymtab(f, a)
	if err != nil {
		return nil, err
	}
	d := &Disassembler{f: f, arch: a, st: st, perLine: 4, perChunk: 1}
	d.layout, _ = a.(ByteLayout)
	if c, ok := a.(interface{ constLayout() (int, int) }); ok {
		// The same layout for every instruction: no call per line.
		d.perLine, d.perChunk = c.constLayout()
		d.layout = nil
	}
	d.text, _ = a.(TextFormatter)
	d.mapping, _ = a.(mappingArch)
	if d.sites, err = findSites(f); err != nil {
		return nil, err
	}
	return d, nil
}

// Arch returns the decoder in use.
func (d *Disassembler) Arch() Arch { return d.arch }

// CodeSections returns the sections objdump -d disassembles: executable,
// with contents, not empty.
func CodeSections(f *elfx.File) []*elfx.Section {
	var out []*elfx.Section
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Flags&elf.SHF_EXECINSTR != 0 && s.Type != elf.SHT_NOBITS && s.Type != elf.SHT_NULL && s.Size > 0 {
			out = append(out, s)
		}
	}
	return out
}

// Walk disassembles every code section, or with funcs only the blocks of
// the symbols named there (like objdump --disassemble=SYM, which takes one).
func (d *Disassembler) Walk(funcs []string, v Visitor) error {
	var want map[string]bool
	if len(funcs) > 0 {
		want = map[string]bool{}
		for _, n := range funcs {
			want[n] = true
		}
	}
	if r, ok := d.arch.(releaser); ok {
		defer r.release()
	}
	for _, sec := range CodeSections(d.f) {
		if err := d.section(sec, want, v); err != nil {
			return err
		}
	}
	return nil
}

// labelAppender is implemented by decoders that append the engine's
// "<label>" text for an address straight into their operand text (x86),
// instead of taking it as a string from the Symbolizer. The engine sets
// the labeler for the section it walks and clears it afterwards; it
// appends what the Symbolizer would return.
type labelAppender interface {
	setLabeler(func(b []byte, addr uint64) []byte)
}

// releaser is implemented by decoders holding resources worth recycling
// between walks.
type releaser interface{ release() }

// TextSizeHint estimates the size of the text output, for buffers.
func (d *Disassembler) TextSizeHint() int {
	n := uint64(0)
	for _, s := range CodeSections(d.f) {
		n += s.Size
	}
	if n > 1<<28 {
		n = 1 << 28
	}
	// objdump -d -r prints 14 to 15 bytes per code byte on x86-64.
	return int(n)*16 + 4096
}

// relocs returns the relocations of section sec in objdump's order.
func (d *Disassembler) relocs(sec *elfx.Section) ([]Reloc, error) {
	var sets [][]elfx.Reloc
	total := 0
	for _, rs := range d.f.RelocSections(sec.Index) {
		rr, err := d.f.Relocs(rs)
		if err != nil {
			return nil, err
		}
		sets = append(sets, rr)
		total += len(rr)
	}
	if total == 0 {
		return nil, nil
	}
	out := make([]Reloc, 0, total)
	var names [64]string // type names, by type
	sorted := true
	for _, rr := range sets {
		for _, r := range rr {
			var name string
			if r.Type < uint32(len(names)) && names[r.Type] != "" {
				name = names[r.Type]
			} else {
				name = RelocTypeName(d.f.Machine, r.Type)
				if r.Type < uint32(len(names)) {
					names[r.Type] = name
				}
			}
			if n := len(out); n > 0 && out[n-1].Offset > r.Offset {
				sorted = false
			}
			out = append(out, Reloc{Offset: r.Offset, Type: name, Symbol: d.relocSymbol(r.Sym), Addend: r.Addend, sym: r.Sym})
		}
	}
	if !sorted {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Offset < out[j].Offset })
	}
	return out, nil
}

// relocSymbol names relocation symbol i the way BFD does.
func (d *Disassembler) relocSymbol(i uint32) string {
	raw := d.st.raw
	if i == 0 || int(i) >= len(raw) {
		return "*ABS*"
	}
	s := &raw[i]
	if s.Name != "" {
		return s.Name
	}
	return shndxName(d.f, s.Shndx)
}

func shndxName(f *elfx.File, shndx uint32) string {
	switch shndx {
	case uint32(elf.SHN_UNDEF):
		return "*UND*"
	case uint32(elf.SHN_ABS):
		return "*ABS*"
	case uint32(elf.SHN_COMMON):
		return "*COM*"
	}
	if s := f.SectionByIndex(int(shndx)); s != nil && s.Name != "" {
		return s.Name
	}
	return "*unknown*"
}

// RelocTypeName names relocation type t of machine m as objdump does.
func RelocTypeName(m elf.Machine, t uint32) string {
	var s string
	switch m {
	case elf.EM_X86_64:
		s = elf.R_X86_64(t).String()
	case elf.EM_386:
		s = elf.R_386(t).String()
	case elf.EM_AARCH64:
		s = elf.R_AARCH64(t).String()
	case elf.EM_ARM:
		s = elf.R_ARM(t).String()
	case elf.EM_PPC64:
		s = elf.R_PPC64(t).String()
	case elf.EM_PPC:
		s = elf.R_PPC(t).String()
	case elf.EM_S390:
		s = elf.R_390(t).String()
	case elf.EM_RISCV:
		s = elf.R_RISCV(t).String()
	case elf.EM_LOONGARCH:
		s = elf.R_LARCH(t).String()
	case elf.EM_MIPS:
		s = elf.R_MIPS(t).String()
	default:
		return fmt.Sprint(t)
	}
	if strings.ContainsAny(s, "+(") || (s != "" && s[0] >= '0' && s[0] <= '9') {
		return "*unknown*"
	}
	return s
}

// section disassembles one code section the way objdump's
// disassemble_section does: one block per symbol.
func (d *Disassembler) section(sec *elfx.Section, want map[string]bool, v Visitor) error {
	data, err := d.f.SectionData(sec)
	if err != nil {
		return err
	}
	if uint64(len(data)) < sec.Size {
		return &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset), Msg: "section data is truncated"}
	}
	rels, err := d.relocs(sec)
	if err != nil {
		return err
	}
	st := d.st.forSection(sec.Name)
	if d.mapping != nil {
		d.mapping.beginSection(st.sorted, sec)
	}
	sites := newSiteIndex(d.sites[sec.Index])
	size := sec.Size
	var lb []byte
	sym := func(addr uint64) string {
		if len(st.sorted) == 0 {
			return ""
		}
		lb = append(lb[:0], '<')
		lb = st.appendLabel(lb, st.find(addr, sec, false), addr, sec)
		lb = append(lb, '>')
		return string(lb)
	}
	if la, ok := d.arch.(labelAppender); ok {
		la.setLabeler(func(b []byte, addr uint64) []byte {
			if len(st.sorted) == 0 {
				return b
			}
			b = append(b, '<')
			b = st.appendLabel(b, st.find(addr, sec, false), addr, sec)
			return append(b, '>')
		})
		defer la.setLabeler(nil)
	}
	place := st.find(0, sec, true)
	var cur *symbol
	ci := place
	if place >= 0 {
		cur = &st.sorted[place]
	}
	printing := want == nil
	announced := false
	if printing {
		v.Section(sec)
		announced = true
	}
	const (
		untilStop = iota
		untilNext
		untilFunc
	)
	until, stopAt := untilStop, size
	rp := 0
	var in Insn
	var fn Function
	for addr := uint64(0); addr < size; {
		if want != nil && cur != nil {
			if printing {
				switch until {
				case untilNext:
					printing = false
				case untilFunc:
					printing = cur.flags&fFunction == 0
				}
			}
			if !printing && want[cur.name] {
				printing = true
				if !announced {
					v.Section(sec)
					announced = true
				}
				// objdump 2.40 prints the relocations of everything
				// before the symbol at its first line; kmodscope drops
				// them unless asked for objdump's text.
				for !d.RelocQuirk && rp < len(rels) && rels[rp].Offset < addr {
					rp++
				}
				until, stopAt = untilNext, size
				if cur.flags&fFunction != 0 {
					until = untilFunc
					// objdump counts the size from where the symbol matched,
					// which is the section start when it has no symbol there.
					if end := addr + cur.size; end > addr && end <= size {
						until, stopAt = untilStop, end
					}
				}
			}
		}
		// The block's heading.
		var next *symbol
		ni := ci
		switch {
		case cur != nil && cur.value > addr:
			next = cur
		case cur == nil:
			ni = -1
		default:
			p := place
			for p < len(st.sorted) && !(st.sorted[p].sec == sec.Name && st.sorted[p].value > cur.value && st.sorted[p].valid) {
				p++
			}
			ni = -1
			if p < len(st.sorted) {
				next, place, ni = &st.sorted[p], p, p
			}
		}
		var nextStop uint64
		switch {
		case cur != nil && cur.value > addr:
			nextStop = cur.value
		case next == nil:
			nextStop = size
		default:
			nextStop = next.value
		}
		if nextStop > size || nextStop <= addr {
			nextStop = size
		}
		if printing && until == untilStop && stopAt < nextStop && stopAt > addr {
			nextStop = stopAt
		}
		if printing {
			fn = Function{Section: sec.Name, SectionIndex: sec.Index, Offset: addr}
			var b []byte
			if cur != nil {
				fn.Name = cur.name
				b = st.appendLabel(b, ci, addr, sec)
			} else {
				b = st.appendLabel(b, -1, addr, sec)
			}
			fn.Label = string(b)
			v.Function(&fn)
			insns := cur == nil || cur.shndx != sec.Index || cur.value > addr || cur.flags&fObject == 0 || cur.flags&fFunction != 0
			rp = d.block(data, addr, nextStop, insns, rels, rp, sites, sym, &in, v)
		}
		addr = nextStop
		if want != nil && printing && until == untilStop && addr >= stopAt {
			printing = false
		}
		cur, ci = next, ni
	}
	return nil
}

// decodeRelocated decodes an instruction a relocation patches at its own
// address the way binutils' ARM and AArch64 disassemblers do (see
// RelocDecoder): as if at address 0, plus the relocation symbol's value,
// named by that symbol when it is undefined.
func (d *Disassembler) decodeRelocated(rd RelocDecoder, code []byte, r Reloc, sym Symbolizer) Inst {
	raw := d.st.raw
	if r.sym == 0 || int(r.sym) >= len(raw) {
		return rd.DecodeReloc(code, 0, sym)
	}
	s := &raw[r.sym]
	if s.Shndx != uint32(elf.SHN_UNDEF) {
		return rd.DecodeReloc(code, s.Value, sym)
	}
	name := s.Name
	return rd.DecodeReloc(code, 0, func(a uint64) string {
		if a == 0 {
			return "<" + name + ">"
		}
		return fmt.Sprintf("<%s+0x%x>", name, a)
	})
}

const (
	skipZeroes      = 8 // objdump's SKIP_ZEROES
	skipZeroesAtEnd = 3 // SKIP_ZEROES_AT_END
)

// block is objdump's disassemble_bytes for [addr, stop); it returns the
// next unprinted relocation.
func (d *Disassembler) block(data []byte, addr, stop uint64, insns bool, rels []Reloc, rp int, sites *siteIndex, sym Symbolizer, in *Insn, v Visitor) int {
	sp := 0
	for addr < stop {
		*in = Insn{Offset: addr}
		z := addr
		for z < stop && data[z] == 0 {
			z++
		}
		var n uint64
		if insns && (z-addr >= skipZeroes || (z == stop && z-addr < skipZeroesAtEnd)) {
			if z != stop {
				z = addr + (z-addr)&^3
			}
			n = z - addr
			in.Zeros = true
			in.Code = data[addr:z]
			in.Shown = int(n)
			in.Mnemonic = "..."
		} else if !insns {
			n = 16
			if addr+n > stop {
				n = stop - addr
			}
			in.Data = true
			in.Code = data[addr : addr+n]
			in.Shown = int(n)
			in.Known = true
		} else {
			var ins Inst
			if d.mapping != nil {
				d.mapping.at(addr)
			}
			if rd, ok := d.arch.(RelocDecoder); ok && rp < len(rels) && rels[rp].Offset == addr {
				ins = d.decodeRelocated(rd, data[addr:], rels[rp], sym)
			} else {
				ins = d.arch.Decode(data[addr:], addr, sym)
			}
			if ins.Len < 1 {
				ins.Len = 1
			}
			if rest := uint64(len(data)) - addr; uint64(ins.Len) > rest {
				ins.Len = int(rest)
			}
			n = uint64(ins.Len)
			in.Code = data[addr : addr+n]
			in.Shown = int(n)
			if addr+n > stop {
				in.Shown = int(stop - addr)
			}
			in.Mnemonic, in.Operands, in.Known = ins.Mnemonic, ins.Operands, ins.Known
		}
		end := addr + n
		first := rp
		for rp < len(rels) && rels[rp].Offset < end {
			rp++
		}
		if rp > first {
			in.Relocs = rels[first:rp]
		}
		if sites != nil && !in.Zeros {
			for sp < len(sites.offs) && sites.offs[sp] < addr {
				sp++
			}
			for q := sp; q < len(sites.offs) && sites.offs[q] < end && sites.offs[q] < stop; q++ {
				in.Sites = append(in.Sites, sites.marks[sites.offs[q]]...)
			}
		}
		v.Insn(in)
		addr = end
	}
	return rp
}
