package disasm

import (
	"debug/elf"
	"io"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/elfx"
)

// BFDTarget is the name objdump prints after "file format" for f.
func BFDTarget(f *elfx.File) string {
	le := f.Data == elf.ELFDATA2LSB
	bits := "32"
	if f.Is64() {
		bits = "64"
	}
	switch f.Machine {
	case elf.EM_X86_64:
		if !f.Is64() {
			return "elf32-x86-64"
		}
		return "elf64-x86-64"
	case elf.EM_386:
		return "elf32-i386"
	case elf.EM_AARCH64:
		if le {
			return "elf" + bits + "-littleaarch64"
		}
		return "elf" + bits + "-bigaarch64"
	case elf.EM_ARM:
		if le {
			return "elf32-littlearm"
		}
		return "elf32-bigarm"
	case elf.EM_PPC64:
		if le {
			return "elf64-powerpcle"
		}
		return "elf64-powerpc"
	case elf.EM_PPC:
		if le {
			return "elf32-powerpcle"
		}
		return "elf32-powerpc"
	case elf.EM_S390:
		return "elf" + bits + "-s390"
	case elf.EM_RISCV:
		if le {
			return "elf" + bits + "-littleriscv"
		}
		return "elf" + bits + "-bigriscv"
	case elf.EM_LOONGARCH:
		return "elf" + bits + "-loongarch"
	case elf.EM_MIPS:
		if le {
			return "elf" + bits + "-tradlittlemips"
		}
		return "elf" + bits + "-tradbigmips"
	}
	if le {
		return "elf" + bits + "-little"
	}
	return "elf" + bits + "-big"
}

// TextOptions tune the human output.
type TextOptions struct {
	// Objdump drops kmodscope's site comments, so that the output is
	// objdump -d -r's.
	Objdump bool
}

// textPrinter renders the walk as objdump -d -r text.
type textPrinter struct {
	d    *Disassembler
	opt  TextOptions
	buf  []byte
	w    io.Writer
	err  error
	skip int // leading address digits objdump drops for this section
	wide int // 16 or 8 address digits
	end  uint64
	base uint64 // the section's address: objdump prints vma = address + offset
	// appender is the decoder's TextFormatter appending into the buffer.
	appender interface {
		appendInstText([]byte, string, string) []byte
	}
}

// WriteText writes the disassembly of the module (named name in the
// header) as objdump -d -r prints it.
func (d *Disassembler) WriteText(w io.Writer, name string, funcs []string, opt TextOptions) error {
	p := &textPrinter{d: d, opt: opt, w: w, wide: 8}
	p.appender, _ = d.text.(interface {
		appendInstText([]byte, string, string) []byte
	})
	if d.f.Is64() {
		p.wide = 16
	}
	if b, ok := textBufPool.Get().(*[]byte); ok {
		p.buf = (*b)[:0]
	} else {
		p.buf = make([]byte, 0, textBufSize)
	}
	defer func() {
		if cap(p.buf) <= 2*textBufSize {
			b := p.buf[:0]
			textBufPool.Put(&b)
		}
		p.buf = nil
	}()
	p.buf = append(p.buf, '\n')
	p.buf = appendSanitized(p.buf, name)
	p.buf = append(p.buf, ":     file format "...)
	p.buf = append(p.buf, BFDTarget(d.f)...)
	p.buf = append(p.buf, "\n\n"...)
	quirk := d.RelocQuirk
	d.RelocQuirk = opt.Objdump
	defer func() { d.RelocQuirk = quirk }()
	if err := d.Walk(funcs, p); err != nil {
		return err
	}
	p.flush(true)
	return p.err
}

// textBufSize is the printer's buffer: it is written out when it holds
// textFlush bytes, so one line more never makes it grow.
const (
	textFlush   = 64 << 10
	textBufSize = textFlush + 16<<10
)

var textBufPool sync.Pool

func (p *textPrinter) flush(force bool) {
	if p.err != nil {
		p.buf = p.buf[:0]
		return
	}
	if force || len(p.buf) >= textFlush {
		_, p.err = p.w.Write(p.buf)
		p.buf = p.buf[:0]
	}
}

func (p *textPrinter) Section(s *elfx.Section) {
	p.buf = append(p.buf, "\nDisassembly of section "...)
	p.buf = appendSanitized(p.buf, s.Name)
	p.buf = append(p.buf, ":\n"...)
	// objdump drops leading zeros of the end address in chunks of four,
	// keeping at least one.
	p.end = s.Addr + s.Size
	p.base = s.Addr
	var tmp [16]byte
	digits := fixedHex(tmp[:p.wide], p.end)
	z := 0
	for z < len(digits) && digits[z] == '0' {
		z++
	}
	if z == len(digits) && s.Addr != 0 {
		z = 0
	}
	if z != 0 {
		z = (z - 1) &^ 3
	}
	p.skip = z
}

func fixedHex(b []byte, v uint64) []byte {
	for i := len(b) - 1; i >= 0; i-- {
		b[i] = hexdigits[v&15]
		v >>= 4
	}
	return b
}

func (p *textPrinter) Function(fn *Function) {
	var tmp [16]byte
	p.buf = append(p.buf, '\n')
	p.buf = append(p.buf, fixedHex(tmp[:p.wide], p.base+fn.Offset)...)
	p.buf = append(p.buf, " <"...)
	p.buf = append(p.buf, fn.Label...)
	p.buf = append(p.buf, ">:\n"...)
}

func (p *textPrinter) addr(a uint64) {
	var tmp [16]byte
	b := fixedHex(tmp[:p.wide], a)[p.skip:]
	i := 0
	for i < len(b) && b[i] == '0' {
		b[i] = ' '
		i++
	}
	if i == len(b) {
		b[i-1] = '0'
	}
	p.buf = append(p.buf, b...)
	p.buf = append(p.buf, ':', '\t')
}

func (p *textPrinter) Insn(in *Insn) {
	if in.Zeros {
		p.buf = append(p.buf, "\t...\n"...)
		p.relocs(in)
		return
	}
	perLine, perChunk, big := p.d.perLine, p.d.perChunk, false
	if in.Data {
		perLine = 16
	} else if p.d.layout != nil {
		perLine, perChunk, big = p.d.layout.ByteLayout(&Inst{Len: len(in.Code), Mnemonic: in.Mnemonic, Operands: in.Operands, Known: in.Known})
		if perChunk < 1 {
			perChunk = 1
		}
		if perLine < 1 {
			perLine = 4
		}
	}
	octets := len(in.Code)
	p.addr(p.base + in.Offset)
	pb := octets
	if pb > perLine {
		pb = perLine
	}
	p.bytes(in, 0, pb, perChunk, big)
	for k := pb; k < perLine; k += perChunk {
		for j := 0; j < perChunk; j++ {
			p.buf = append(p.buf, ' ', ' ')
		}
		p.buf = append(p.buf, ' ')
	}
	if in.Data {
		p.buf = append(p.buf, "    "...)
		for _, c := range in.Code {
			if c >= 0x20 && c < 0x7f {
				p.buf = append(p.buf, c)
			} else {
				p.buf = append(p.buf, '.')
			}
		}
	} else {
		p.buf = append(p.buf, '\t')
		if p.appender != nil {
			p.buf = p.appender.appendInstText(p.buf, in.Mnemonic, in.Operands)
		} else if p.d.text != nil {
			p.buf = append(p.buf, p.d.text.InstText(in.Mnemonic, in.Operands)...)
		} else {
			p.buf = append(p.buf, in.Mnemonic...)
			if in.Operands != "" {
				p.buf = append(p.buf, '\t')
				p.buf = append(p.buf, in.Operands...)
			}
		}
	}
	if len(in.Sites) > 0 && !p.opt.Objdump {
		p.buf = append(p.buf, "\t# site: "...)
		p.buf = append(p.buf, strings.Join(in.Sites, ", ")...)
	}
	for pb < octets {
		p.buf = append(p.buf, '\n')
		p.addr(p.base + in.Offset + uint64(pb))
		start := pb
		pb += perLine
		if pb > octets {
			pb = octets
		}
		p.bytes(in, start, pb, perChunk, big)
	}
	p.buf = append(p.buf, '\n')
	p.relocs(in)
	p.flush(false)
}

// bytes prints Code[from:to] in chunks; bytes past Shown (beyond the block)
// are left blank, as objdump does.
func (p *textPrinter) bytes(in *Insn, from, to, chunk int, big bool) {
	for j := from; j < to; j += chunk {
		if j+chunk <= in.Shown {
			if big {
				for k := 0; k < chunk; k++ {
					c := in.Code[j+k]
					p.buf = append(p.buf, hexdigits[c>>4], hexdigits[c&15])
				}
			} else {
				for k := chunk - 1; k >= 0; k-- {
					c := in.Code[j+k]
					p.buf = append(p.buf, hexdigits[c>>4], hexdigits[c&15])
				}
			}
		}
		p.buf = append(p.buf, ' ')
	}
}

func (p *textPrinter) relocs(in *Insn) {
	for _, r := range in.Relocs {
		p.buf = append(p.buf, "\t\t\t"...)
		p.buf = appendHex(p.buf, p.base+r.Offset)
		p.buf = append(p.buf, ": "...)
		p.buf = append(p.buf, r.Type...)
		p.buf = append(p.buf, '\t')
		p.buf = appendSanitized(p.buf, r.Symbol)
		p.buf = appendAddend(p.buf, r.Addend)
		p.buf = append(p.buf, '\n')
	}
}

func appendAddend(b []byte, a int64) []byte {
	switch {
	case a < 0:
		b = append(b, "-0x"...)
		b = appendHex(b, uint64(-a))
	case a > 0:
		b = append(b, "+0x"...)
		b = appendHex(b, uint64(a))
	}
	return b
}
