package disasm

import (
	"debug/elf"
	"encoding/binary"
	"strings"
	"sync"
	"sync/atomic"

	"golang.org/x/arch/x86/x86asm"
)

func init() {
	registerArch(elf.EM_X86_64, func(class elf.Class, order binary.ByteOrder, flags uint32) Arch {
		if class == elf.ELFCLASS32 {
			return &x86{mode: 64, x32: true}
		}
		return &x86{mode: 64}
	})
	registerArch(elf.EM_386, func(elf.Class, binary.ByteOrder, uint32) Arch { return &x86{mode: 32} })
}

// x86 decodes x86-64 and i386 with x86asm and prints what binutils 2.40
// objdump prints.
type x86 struct {
	mode int
	x32  bool
	// l1 is a small set-associative cache of decoded encodings, private
	// to this decoder (one module, one goroutine), in front of x86Caches.
	l1  *x86L1
	buf []byte // scratch for operand text
	// lab appends the engine's "<label>" for an address (see
	// labelAppender); nil outside the engine's walk.
	lab func(b []byte, addr uint64) []byte
}

func (x *x86) setLabeler(f func(b []byte, addr uint64) []byte) { x.lab = f }

// x86Key is an encoding: its first eight bytes, the rest, and its length
// (bytes beyond it are zero).
type x86Key struct {
	lo, hi uint64
	n      uint64
}

func (k *x86Key) hash() uint64 {
	h := (k.lo ^ k.n<<59) * 0x9e3779b97f4a7c15
	h ^= k.hi * 0xc2b2ae3d27d4eb4f
	return h ^ h>>29
}

// x86L1 is x86L1Sets sets of x86L1Ways entries; each way holds its key
// inline, so that a probe reads no other memory until it hits.
type x86L1 [x86L1Sets][x86L1Ways]x86Way

type x86Way struct {
	k x86Key
	e *x86Text
}

const (
	x86L1Bits = 12
	x86L1Sets = 1 << x86L1Bits
	x86L1Ways = 4
)

// x86L1Pool recycles the private caches between modules: their entries
// stay valid (they come from x86Caches), so they are not cleared.
var x86L1Pool [2]sync.Pool

func (x *x86) poolIdx() int {
	if x.mode == 32 {
		return 1
	}
	return 0
}

// release implements releaser: the engine is done with this decoder.
func (x *x86) release() {
	if x.l1 != nil {
		x86L1Pool[x.poolIdx()].Put(x.l1)
		x.l1 = nil
	}
}

// x86Caches hold, per mode (64, 32), the text of every encoding decoded so
// far: kernel code repeats the same encodings within and across modules.
// Entries are immutable once stored.
var x86Caches [2][x86Shards]x86Shard

// x86Shard is one lock's worth of the shared cache; sharding by the key
// keeps parallel workers off each other's cache lines.
type x86Shard struct {
	mu sync.RWMutex
	m  map[x86Key]*x86Text
	_  [64]byte
}

const x86Shards = 64

// x86Text is the pc-independent text of one encoding.
type x86Text struct {
	n       int
	val     int64 // kind 1: the branch displacement; kind 2: the %rip displacement
	mn, ops string
	suffix  string // kind 3: the operand text after the displacement
	// kind 0: complete; 1: branch (operand from pc); 2: %rip operand
	// (comment from pc); 3: a template for every displacement of a memory
	// operand (ops, the displacement, suffix); 4: no template possible;
	// 5: one displacement seen so far (make the template at the next).
	kind int
}

// x86LoMask[n] keeps the first n bytes of a little-endian 8-byte load.
var x86LoMask = func() (m [16]uint64) {
	for n := range m {
		if n >= 8 {
			m[n] = ^uint64(0)
		} else {
			m[n] = 1<<(8*n) - 1
		}
	}
	return
}()

// load8 reads up to eight bytes of code from off, little-endian,
// zero-padded.
func load8(code []byte, off int) uint64 {
	if off+8 <= len(code) {
		return binary.LittleEndian.Uint64(code[off:])
	}
	var b [8]byte
	if off < len(code) {
		copy(b[:], code[off:])
	}
	return binary.LittleEndian.Uint64(b[:])
}

func (x *x86) wrap(t uint64) uint64 {
	if x.mode == 32 || x.x32 {
		return t & 0xffffffff
	}
	return t
}

// x86CacheMax bounds the shared cache (about 150 bytes an entry); a shard
// that fills up starts over.
const x86CacheMax = 1 << 19

func (x *x86) ByteLayout(*Inst) (int, int, bool) { return 7, 1, false }

func (x *x86) constLayout() (int, int) { return 7, 1 }

// InstText pads the mnemonic to six columns and a space, as i386-dis.c does.
func (x *x86) InstText(mn, ops string) string {
	if ops == "" {
		return mn
	}
	if len(mn) >= 6 {
		return mn + " " + ops
	}
	return mn + "       "[:7-len(mn)] + ops
}

func (x *x86) appendInstText(b []byte, mn, ops string) []byte {
	b = append(b, mn...)
	if ops == "" {
		return b
	}
	if len(mn) >= 6 {
		b = append(b, ' ')
	} else {
		b = append(b, "       "[:7-len(mn)]...)
	}
	return append(b, ops...)
}

// x86Branches holds, per mode, the mnemonic of each prefix-less relative
// branch opcode (jcc/jmp rel8, call/jmp rel32, jcc rel32), learnt from the
// first one decoded: their text depends on the displacement only through
// the target, so one entry serves every displacement.
var x86Branches [2][256 + 16]atomic.Pointer[string]

// branch decodes a prefix-less relative branch from its opcode table.
func (x *x86) branch(code []byte, pc uint64, sym Symbolizer) (Inst, bool) {
	var slot, n int
	var disp int64
	switch c := code[0]; {
	case c >= 0x70 && c <= 0x7f || c == 0xeb:
		if len(code) < 2 {
			return Inst{}, false
		}
		slot, n, disp = int(c), 2, int64(int8(code[1]))
	case c == 0xe8 || c == 0xe9:
		if len(code) < 5 {
			return Inst{}, false
		}
		slot, n, disp = int(c), 5, int64(int32(binary.LittleEndian.Uint32(code[1:])))
	case c == 0x0f && len(code) >= 6 && code[1]&0xf0 == 0x80:
		slot, n, disp = 256+int(code[1]&15), 6, int64(int32(binary.LittleEndian.Uint32(code[2:])))
	default:
		return Inst{}, false
	}
	tab := &x86Branches[x.poolIdx()][slot]
	mn := tab.Load()
	if mn == nil {
		in, e := x.decode(code, pc, sym)
		if e != nil && e.kind == 1 && e.n == n && e.val == disp {
			tab.Store(&e.mn)
		}
		return in, true
	}
	return Inst{Len: n, Mnemonic: *mn, Operands: x.targetText(x.branchTarget(pc, n, disp), sym), Known: true}, true
}

func (x *x86) branchTarget(pc uint64, n int, disp int64) uint64 {
	t := pc + uint64(n) + uint64(disp)
	if x.mode == 32 {
		t &= 0xffffffff
	}
	return t
}

func (x *x86) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) == 0 {
		return badX86(code)
	}
	if in, ok := x.branch(code, pc, sym); ok {
		return in
	}
	if in, ok := x.special(code, pc, sym); ok {
		return in
	}
	in, _ := x.decode(code, pc, sym)
	return in
}

// decode looks code up in the caches, or decodes it with x86asm and
// caches the result. It returns the cache entry when there is one.
//
// An encoding with a ModRM displacement (disp8 or disp32, the offsets of
// structure fields) is first looked up with the displacement bytes zeroed:
// one template then serves every displacement.
func (x *x86) decode(code []byte, pc uint64, sym Symbolizer) (Inst, *x86Text) {
	n, doff, dsize := x86Layout(code, x.mode)
	var k, tk x86Key
	var c *x86Shard
	var set *[x86L1Ways]x86Way
	tmpl := 0 // 1: look for a template, 2: none can be made
	if n > 0 {
		if x.l1 == nil {
			if l, ok := x86L1Pool[x.poolIdx()].Get().(*x86L1); ok {
				x.l1 = l
			} else {
				x.l1 = new(x86L1)
			}
		}
		if dsize > 0 {
			var b [16]byte
			copy(b[:n], code)
			clear(b[doff : doff+dsize])
			tk = x86Key{lo: binary.LittleEndian.Uint64(b[:]), hi: binary.LittleEndian.Uint64(b[8:]), n: uint64(n) | 1<<8 | uint64(doff)<<12}
			e := x.lookup(tk)
			switch {
			case e == nil:
				tmpl = 1
			case e.kind == 3:
				return x.fromTemplate(e, code, doff, dsize), nil
			case e.kind == 5:
				tmpl = 3
			default:
				tmpl = 2
			}
		}
		k = x86Key{lo: load8(code, 0) & x86LoMask[n], n: uint64(n)}
		if n > 8 {
			k.hi = load8(code, 8) & x86LoMask[n-8]
		}
		h := k.hash()
		set = &x.l1[h>>(64-x86L1Bits)]
		for i := range set {
			if set[i].k == k {
				return x.fromCache(set[i].e, pc, sym), set[i].e
			}
		}
		c = &x86Caches[x.poolIdx()][h&(x86Shards-1)]
		c.mu.RLock()
		e := c.m[k]
		c.mu.RUnlock()
		if e != nil {
			x.remember(set, k, e)
			return x.fromCache(e, pc, sym), e
		}
	}
	inst, err := x86asm.Decode(code, x.mode)
	if err != nil || inst.Len == 0 {
		return badX86(code), nil
	}
	// What the text depends on besides the bytes: a branch target or a
	// %rip operand's target, both printed from pc.
	e := &x86Text{n: inst.Len}
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Rel:
			e.kind, e.val = 1, int64(a)
		case x86asm.Mem:
			if a.Base == x86asm.RIP || a.Base == x86asm.EIP {
				e.kind, e.val = 2, a.Disp
			}
		}
	}
	text := x86asm.GNUSyntax(inst, pc, nil)
	mn, ops := splitX86(text)
	mn, ops = x.fix(&inst, code, pc, sym, mn, ops)
	e.mn, e.ops = strings.Clone(mn), ops
	ok := n == inst.Len // a wrong guess is not cached
	switch i := strings.Index(ops, "        # "); {
	case e.kind == 0 && i >= 0:
		ok = false // a %rip operand x86asm did not report as one (VEX)
	case e.kind == 2 && i >= 0:
		e.ops = ops[:i]
	case e.kind == 2:
		ok = false
	}
	switch e.kind {
	case 1:
		e.ops = "" // the target, printed from pc
	case 2:
		e.ops = strings.Clone(e.ops) // not the pc-dependent text around it
	}
	if !ok {
		return Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}, nil
	}
	switch {
	case tmpl == 1 && e.kind == 0:
		// A template costs two more decodes: only for the second
		// displacement seen.
		x.store(tk, &x86Text{kind: 5, n: n})
	case tmpl == 1 || tmpl == 3:
		t := &x86Text{kind: 4, n: n}
		if e.kind == 0 {
			t = x.template(code[:n], doff, dsize, pc, sym, mn, ops)
		}
		x.store(tk, t)
		if t.kind == 3 {
			return Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}, nil
		}
	}
	c.mu.Lock()
	if c.m == nil || len(c.m) >= x86CacheMax/x86Shards {
		c.m = map[x86Key]*x86Text{}
	}
	c.m[k] = e
	c.mu.Unlock()
	x.remember(set, k, e)
	return Inst{Len: inst.Len, Mnemonic: mn, Operands: ops, Known: true}, e
}

// lookup finds key k in the L1 and then the shared cache.
func (x *x86) lookup(k x86Key) *x86Text {
	h := k.hash()
	set := &x.l1[h>>(64-x86L1Bits)]
	for i := range set {
		if set[i].k == k {
			return set[i].e
		}
	}
	c := &x86Caches[x.poolIdx()][h&(x86Shards-1)]
	c.mu.RLock()
	e := c.m[k]
	c.mu.RUnlock()
	if e != nil {
		x.remember(set, k, e)
	}
	return e
}

// store adds e under k to the shared cache and the L1.
func (x *x86) store(k x86Key, e *x86Text) {
	h := k.hash()
	c := &x86Caches[x.poolIdx()][h&(x86Shards-1)]
	c.mu.Lock()
	if c.m == nil || len(c.m) >= x86CacheMax/x86Shards {
		c.m = map[x86Key]*x86Text{}
	}
	c.m[k] = e
	c.mu.Unlock()
	x.remember(&x.l1[h>>(64-x86L1Bits)], k, e)
}

// x86Sentinels are the displacements a template is made from, per size:
// one positive and one negative value that occur nowhere else in an
// operand text by accident.
var x86Sentinels = [5][2]int64{1: {0x5b, -0x4d}, 4: {0x3a5c6e71, -0x2b4d6f13}}

// template makes the displacement template of enc, whose text is mn and
// ops: it decodes enc again with each sentinel displacement and accepts
// only when the three texts differ by the displacement alone, printed
// signed in hex as OP_E_memory prints it. Otherwise it returns a kind 4
// entry, so that the encoding is always decoded whole.
func (x *x86) template(enc []byte, doff, dsize int, pc uint64, sym Symbolizer, mn, ops string) *x86Text {
	bad := &x86Text{kind: 4, n: len(enc)}
	var texts [2]string
	var buf [16]byte
	for j, sv := range x86Sentinels[dsize] {
		copy(buf[:], enc)
		if dsize == 1 {
			buf[doff] = byte(sv)
		} else {
			binary.LittleEndian.PutUint32(buf[doff:], uint32(sv))
		}
		inst, err := x86asm.Decode(buf[:len(enc)], x.mode)
		if err != nil || inst.Len != len(enc) {
			return bad
		}
		m2, o2 := splitX86(x86asm.GNUSyntax(inst, pc, nil))
		m2, o2 = x.fix(&inst, buf[:len(enc)], pc, sym, m2, o2)
		if m2 != mn {
			return bad
		}
		texts[j] = o2
	}
	f := string(appendDisp(nil, x86Sentinels[dsize][0]))
	i := strings.Index(texts[0], f)
	if i < 0 || strings.Count(texts[0], f) != 1 {
		return bad
	}
	pre, suf := texts[0][:i], texts[0][i+len(f):]
	same := func(d int64, s string) bool {
		return len(s) > len(pre)+len(suf) && strings.HasPrefix(s, pre) && strings.HasSuffix(s, suf) &&
			s[len(pre):len(s)-len(suf)] == string(appendDisp(nil, d))
	}
	if !same(x86Sentinels[dsize][1], texts[1]) || !same(readDisp(enc, doff, dsize), ops) {
		return bad
	}
	return &x86Text{kind: 3, n: len(enc), mn: strings.Clone(mn), ops: strings.Clone(pre), suffix: strings.Clone(suf)}
}

// appendDisp appends a displacement as OP_E_memory prints it with a base
// or index register: signed hex.
func appendDisp(b []byte, d int64) []byte {
	if d < 0 {
		b = append(b, "-0x"...)
		return appendHex(b, uint64(-d))
	}
	b = append(b, "0x"...)
	return appendHex(b, uint64(d))
}

func readDisp(code []byte, off, size int) int64 {
	if size == 1 {
		return int64(int8(code[off]))
	}
	return int64(int32(binary.LittleEndian.Uint32(code[off:])))
}

// fromTemplate is the text of code from its displacement template.
func (x *x86) fromTemplate(e *x86Text, code []byte, doff, dsize int) Inst {
	b := append(x.buf[:0], e.ops...)
	b = appendDisp(b, readDisp(code, doff, dsize))
	b = append(b, e.suffix...)
	x.buf = b
	return Inst{Len: e.n, Mnemonic: e.mn, Operands: string(b), Known: true}
}

// remember puts e first in its L1 set, dropping the least recently added.
func (x *x86) remember(set *[x86L1Ways]x86Way, k x86Key, e *x86Text) {
	copy(set[1:], set[:x86L1Ways-1])
	set[0] = x86Way{k: k, e: e}
}

func (x *x86) fromCache(e *x86Text, pc uint64, sym Symbolizer) Inst {
	in := Inst{Len: e.n, Mnemonic: e.mn, Operands: e.ops, Known: true}
	switch e.kind {
	case 1:
		in.Operands = x.targetText(x.branchTarget(pc, e.n, e.val), sym)
	case 2:
		b := append(x.buf[:0], e.ops...)
		b = append(b, "        # "...)
		b = x.appendTarget(b, x.wrap(pc+uint64(e.n)+uint64(e.val)), sym)
		in.Operands = string(b)
		x.buf = b
	}
	return in
}

// badX86 is what objdump prints for a byte it cannot decode.
func badX86(code []byte) Inst {
	return Inst{Len: 1, Mnemonic: "(bad)", Known: false}
}

// x86Prefixes are the words GNU prints before the mnemonic proper.
var x86Prefixes = map[string]bool{
	"lock": true, "rep": true, "repz": true, "repnz": true, "repe": true, "repne": true,
	"data16": true, "data32": true, "addr16": true, "addr32": true, "cs": true, "ds": true,
	"es": true, "fs": true, "gs": true, "ss": true, "rex": true, "rex.W": true, "bnd": true,
	"notrack": true, "xacquire": true, "xrelease": true, "rex64": true,
}

// splitX86 splits GNU text into the mnemonic (with its prefixes) and the operands.
func splitX86(text string) (string, string) {
	i := 0
	for {
		j := strings.IndexByte(text[i:], ' ')
		if j < 0 {
			return text, ""
		}
		w := text[i : i+j]
		if !x86Prefixes[w] && !strings.HasPrefix(w, "rex.") {
			return text[:i+j], text[i+j+1:]
		}
		i += j + 1
	}
}

func (x *x86) fix(inst *x86asm.Inst, code []byte, pc uint64, sym Symbolizer, mn, ops string) (string, string) {
	// Split the prefix words off the mnemonic.
	var words []string
	if i := strings.LastIndexByte(mn, ' '); i >= 0 {
		words = strings.Fields(mn[:i])
		mn = mn[i+1:]
	}
	if m, ok := x86Mnemonics[mn]; ok {
		mn = m
	}
	var mi modrmInfo
	hasModRM := false
	for _, a := range inst.Args {
		if _, ok := a.(x86asm.Mem); ok {
			mi, hasModRM = x86ModRM(code, x.mode)
			break
		}
	}
	var comment string
	args := splitOperands(ops)
	if len(args) == 0 {
		for _, a := range inst.Args {
			if _, ok := a.(x86asm.Mem); ok {
				args = []string{""}
			}
		}
	}
	movedSeg := byte(0)
	for i, t := range args {
		star := ""
		if strings.HasPrefix(t, "*") {
			star, t = "*", t[1:]
		}
		switch {
		case strings.HasPrefix(t, "$"):
			args[i] = star + x.imm(inst, t)
		case !hasModRM && (t == "" || len(t) == 4 && t[0] == '%' && t[3] == ':'):
			args[i] = star + t + "0x0"
		case hasModRM && isMemText(t):
			var m x86asm.Mem
			for _, a := range inst.Args {
				if mm, ok := a.(x86asm.Mem); ok {
					m = mm
				}
			}
			var txt string
			txt, movedSeg = x.mem(inst, &mi, m)
			args[i] = star + txt
			if mi.riprel {
				t := pc + uint64(inst.Len) + uint64(m.Disp)
				if x.mode == 32 || x.x32 {
					t &= 0xffffffff
				}
				comment = "        # " + targetText(t, sym)
			}
		}
	}
	// Branch targets: "1f <foo+0x1f>".
	for _, a := range inst.Args {
		if r, ok := a.(x86asm.Rel); ok {
			t := pc + uint64(inst.Len) + uint64(int64(r))
			if x.mode == 32 {
				t &= 0xffffffff
			}
			args = []string{targetText(t, sym)}
			break
		}
	}
	ops = strings.Join(args, ",") + comment
	switch {
	case inst.Op == x86asm.NOP && len(code) > 0 && inst.Len >= 2 && code[inst.Len-1] == 0x90 && inst.Args[0] == nil:
		// 66 90: objdump says xchg %ax,%ax.
		if n := len(words); n > 0 && words[n-1] == "data16" {
			words = words[:n-1]
			mn, ops = "xchg", "%ax,%ax"
		}
	case inst.Op == x86asm.MOV && x.mode == 64 && isMovabs(code):
		mn = "movabs"
	}
	if strings.Contains(ops, " {") {
		ops = strings.ReplaceAll(ops, " {", "{")
	}
	switch mn {
	case "crc32b", "crc32w", "crc32l", "crc32q":
		if strings.HasPrefix(ops, "%") {
			mn = "crc32" // binutils 2.40 drops the suffix a register source makes evident
		}
	case "monitor":
		if x.mode == 64 && ops == "%eax,%ecx,%edx" {
			ops = "%rax,%ecx,%edx"
		}
	case "mwait":
		ops = "%eax,%ecx"
	case "andnl", "andnq", "bextrl", "bextrq", "blsil", "blsiq", "blsmskl", "blsmskq", "blsrl", "blsrq",
		"bzhil", "bzhiq", "pdepl", "pdepq", "pextl", "pextq":
		mn = mn[:len(mn)-1] // VEX-encoded BMI: binutils prints no size suffix
	case "pclmulqdq", "vpclmulqdq":
		// binutils prints the four selector immediates as aliases.
		alias := map[string]string{"$0x0,": "lqlq", "$0x1,": "hqlq", "$0x10,": "lqhq", "$0x11,": "hqhq"}
		if i := strings.IndexByte(ops, ','); i > 0 {
			if a, ok := alias[ops[:i+1]]; ok {
				mn = strings.TrimSuffix(mn, "qdq") + a + "dq"
				ops = ops[i+1:]
			}
		}
	}
	if strings.HasPrefix(mn, "vpmovm2") {
		// x86asm reads the source mask register as an opmask.
		if i := strings.Index(ops, "{%k"); i > 0 && strings.HasSuffix(ops, "}") {
			ops = ops[i+1:len(ops)-1] + "," + ops[:i]
		}
	} else if k := evexMask(code, x.mode); k != 0 && !strings.Contains(ops, "{%k") && comment == "" {
		// x86asm drops the mask of a masked store.
		ops += "{%k" + string(rune('0'+k)) + "}"
	}
	if len(words) > 0 || movedSeg != 0 {
		words = x.prefixWords(inst, code, words, movedSeg, mn)
		mn = strings.Join(words, " ") + " " + mn
	}
	return mn, ops
}

// x86Mnemonics are the binutils 2.40 spellings of x86asm's GNU mnemonics.
var x86Mnemonics = map[string]string{
	"callq": "call", "retq": "ret", "jmpq": "jmp", "pushq": "push", "popq": "pop", "pushl": "push", "popl": "pop",
	"leaveq": "leave", "movsxd": "movslq", "cdqe": "cltq", "cqo": "cqto", "cwde": "cwtl",
	"cdq": "cltd", "cwd": "cwtd", "cbw": "cbtw", "lretq": "lret", "iretq": "iretq",
	"pushfq": "pushf", "popfq": "popf", "lcallq": "lcall", "ljmpq": "ljmp",
	"sysretq": "sysret", "enterq": "enter",
	"shlxq": "shlx", "shlxl": "shlx", "shrxq": "shrx", "shrxl": "shrx", "sarxq": "sarx", "sarxl": "sarx",
	"rorxq": "rorx", "rorxl": "rorx", "mulxq": "mulx", "mulxl": "mulx",
	"sidtl": "sidt", "sgdtl": "sgdt", "sidtq": "sidt", "sgdtq": "sgdt", "lidtl": "lidt", "lgdtl": "lgdt",
	"lidtq": "lidt", "lgdtq": "lgdt",
}

// evexMask returns EVEX.aaa (the opmask register), 0 if none.
func evexMask(code []byte, mode int) byte {
	i := 0
	for i < len(code) && isLegacyPrefix(code[i]) {
		i++
	}
	if mode != 64 || i+3 >= len(code) || code[i] != 0x62 {
		return 0
	}
	return code[i+3] & 7
}

// isMovabs reports B8+r with REX.W (imm64) or A0-A3 (moffs).
func isMovabs(code []byte) bool {
	i := 0
	for i < len(code) && isLegacyPrefix(code[i]) {
		i++
	}
	rexw := false
	if i < len(code) && code[i]&0xf0 == 0x40 {
		rexw = code[i]&8 != 0
		i++
	}
	if i >= len(code) {
		return false
	}
	op := code[i]
	return op >= 0xa0 && op <= 0xa3 || rexw && op >= 0xb8 && op <= 0xbf
}

func isLegacyPrefix(b byte) bool {
	switch b {
	case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x66, 0x67, 0xf0, 0xf2, 0xf3:
		return true
	}
	return false
}

// splitOperands splits at commas outside parentheses.
func splitOperands(s string) []string {
	if s == "" {
		return nil
	}
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func isMemText(t string) bool {
	if t == "" {
		return true
	}
	if strings.IndexByte(t, '(') >= 0 {
		return true
	}
	if len(t) >= 4 && t[0] == '%' && t[3] == ':' {
		return true
	}
	return strings.HasPrefix(t, "0x") || strings.HasPrefix(t, "-0x")
}

// imm reformats "$-0x3" as objdump does: unsigned in the operand size.
func (x *x86) imm(inst *x86asm.Inst, t string) string {
	if !strings.HasPrefix(t, "$-0x") && !strings.HasPrefix(t, "$0x") {
		return t
	}
	var v int64
	found := 0
	for _, a := range inst.Args {
		if im, ok := a.(x86asm.Imm); ok {
			v = int64(im)
			found++
		}
	}
	if found != 1 {
		return t
	}
	bits := inst.DataSize
	for _, a := range inst.Args {
		switch a := a.(type) {
		case x86asm.Reg:
			switch {
			case a >= x86asm.AL && a <= x86asm.R15B:
				bits = 8
			case a >= x86asm.AX && a <= x86asm.R15W:
				bits = 16
			case a >= x86asm.EAX && a <= x86asm.R15L:
				bits = 32
			case a >= x86asm.RAX && a <= x86asm.R15:
				bits = 64
			}
		case x86asm.Mem:
			if inst.MemBytes == 1 || inst.MemBytes == 2 {
				bits = inst.MemBytes * 8
			}
		}
	}
	switch inst.Op {
	case x86asm.PUSH:
		bits = inst.Mode
		if inst.DataSize == 16 {
			bits = 16
		}
	case x86asm.ENTER, x86asm.RET, x86asm.LRET:
		bits = 16
	}
	if v >= 0 && (bits >= 64 || v < 1<<bits) {
		return t
	}
	u := uint64(v)
	if bits < 64 && bits > 0 {
		u &= 1<<bits - 1
	}
	return "$0x" + string(appendHex(nil, u))
}

// modrmInfo is what objdump's OP_E_memory needs from the encoding.
type modrmInfo struct {
	ok       bool
	mod, rm  byte
	havesib  bool
	sibBase  byte // low 3 bits
	sibIndex byte // with REX.X / VEX.X
	scale    byte
	riprel   bool
	addr32   bool // 67 prefix in 64-bit mode
	addr16   bool // 67 prefix in 32-bit mode
	lastSeg  byte
}

// x86ModRM locates and decodes the ModRM (and SIB) byte of an instruction.
func x86ModRM(code []byte, mode int) (modrmInfo, bool) {
	var mi modrmInfo
	i := 0
	for i < len(code) && isLegacyPrefix(code[i]) {
		switch code[i] {
		case 0x67:
			if mode == 64 {
				mi.addr32 = true
			} else {
				mi.addr16 = true
			}
		case 0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65:
			mi.lastSeg = code[i]
		}
		i++
	}
	rexX := false
	if mode == 64 && i < len(code) && code[i]&0xf0 == 0x40 {
		rexX = code[i]&2 != 0
		i++
	}
	if i >= len(code) {
		return mi, false
	}
	vexOK := func() bool { return mode == 64 || i+1 < len(code) && code[i+1]&0xc0 == 0xc0 }
	switch op := code[i]; {
	case op == 0xc5 && vexOK():
		i += 3
	case op == 0xc4 && vexOK():
		if i+1 >= len(code) {
			return mi, false
		}
		rexX = code[i+1]&0x40 == 0
		i += 4
	case op == 0x62 && vexOK():
		if i+1 >= len(code) {
			return mi, false
		}
		rexX = code[i+1]&0x40 == 0
		i += 5
	case op == 0x0f:
		if i+1 >= len(code) {
			return mi, false
		}
		switch code[i+1] {
		case 0x38, 0x3a:
			i += 3
		case 0x0f:
			i += 2
		default:
			i += 2
		}
	default:
		if op >= 0xa0 && op <= 0xa7 || op >= 0xaa && op <= 0xaf || op >= 0x6c && op <= 0x6f || op == 0xd7 {
			return mi, false
		}
		i++
	}
	if i >= len(code) {
		return mi, false
	}
	m := code[i]
	mi.mod, mi.rm = m>>6, m&7
	if mi.mod == 3 {
		return mi, false
	}
	if mi.rm == 4 && !mi.addr16 {
		if i+1 >= len(code) {
			return mi, false
		}
		s := code[i+1]
		mi.havesib = true
		mi.scale = s >> 6
		mi.sibIndex = (s >> 3) & 7
		if rexX {
			mi.sibIndex += 8
		}
		mi.sibBase = s & 7
	}
	mi.riprel = mode == 64 && mi.mod == 0 && mi.rm == 5 && !mi.havesib
	mi.ok = true
	return mi, true
}

var segNames = map[byte]string{0x26: "es", 0x2e: "cs", 0x36: "ss", 0x3e: "ds", 0x64: "fs", 0x65: "gs"}

// mem renders a ModRM memory operand like OP_E_memory. It returns the
// segment prefix byte that objdump prints as a prefix word instead (cs, ds,
// es, ss are not active in 64-bit mode), or 0.
func (x *x86) mem(inst *x86asm.Inst, mi *modrmInfo, m x86asm.Mem) (string, byte) {
	if mi.addr16 {
		return gnuMemFallback(m), 0
	}
	b := make([]byte, 0, 32)
	var moved byte
	if mi.lastSeg != 0 {
		if x.mode == 64 && mi.lastSeg != 0x64 && mi.lastSeg != 0x65 {
			moved = mi.lastSeg
		} else {
			b = append(b, '%')
			b = append(b, segNames[mi.lastSeg]...)
			b = append(b, ':')
		}
	}
	base := mi.rm
	if mi.havesib {
		base = mi.sibBase
	}
	havebase := !(mi.mod == 0 && base == 5)
	haveindex := mi.havesib && mi.sibIndex != 4
	needindex := mi.havesib && !havebase && !haveindex && (x.mode != 64 || mi.addr32)
	havedisp := havebase || needindex || mi.havesib && (haveindex || mi.scale != 0)
	disp := m.Disp
	if mi.mod != 0 || base == 5 {
		if havedisp || mi.riprel {
			if disp < 0 {
				b = append(b, "-0x"...)
				b = appendHex(b, uint64(-disp))
			} else {
				b = append(b, "0x"...)
				b = appendHex(b, uint64(disp))
			}
			if mi.riprel {
				b = append(b, "(%rip)"...)
			}
		} else {
			u := uint64(disp)
			if x.mode == 32 || mi.addr32 {
				u &= 0xffffffff
			}
			b = append(b, "0x"...)
			b = appendHex(b, u)
		}
	}
	if havedisp {
		b = append(b, '(')
		if havebase {
			b = append(b, regName(m.Base)...)
		}
		if mi.havesib && (mi.scale != 0 || needindex || haveindex || havebase && base != 4) {
			b = append(b, ',')
			if haveindex {
				b = append(b, regName(m.Index)...)
			} else if x.mode == 64 && !mi.addr32 {
				b = append(b, "%riz"...)
			} else {
				b = append(b, "%eiz"...)
			}
			b = append(b, ',', '0'+1<<mi.scale)
		}
		b = append(b, ')')
	}
	return string(b), moved
}

func gnuMemFallback(m x86asm.Mem) string {
	return x86asm.GNUSyntax(x86asm.Inst{Op: x86asm.LEA, Args: x86asm.Args{x86asm.AX, m}, Mode: 32}, 0, nil)
}

// regName is the AT&T name of an address register.
func regName(r x86asm.Reg) string {
	s := strings.ToLower(r.String())
	if strings.HasPrefix(s, "r") && strings.HasSuffix(s, "l") && len(s) <= 4 && s[1] >= '0' && s[1] <= '9' {
		s = s[:len(s)-1] + "d"
	}
	return "%" + s
}

var x86PrefixByte = map[string]byte{
	"data16": 0x66, "data32": 0x66, "addr16": 0x67, "addr32": 0x67, "rep": 0xf3, "repz": 0xf3, "repe": 0xf3,
	"repn": 0xf2, "repnz": 0xf2, "repne": 0xf2, "lock": 0xf0, "cs": 0x2e, "ds": 0x3e, "es": 0x26,
	"ss": 0x36, "fs": 0x64, "gs": 0x65, "bnd": 0xf2, "notrack": 0x3e,
}

// prefixWords orders the prefix words objdump prints, in byte order, with
// binutils 2.40's names.
func (x *x86) prefixWords(inst *x86asm.Inst, code []byte, words []string, movedSeg byte, mn string) []string {
	for i, w := range words {
		switch w {
		case "data32":
			if x.mode != 16 {
				words[i] = "data16"
			}
		case "rep":
			switch strings.TrimRight(mn, "bwlq") {
			case "movs", "stos", "lods", "ins", "outs":
			default:
				words[i] = "repz"
			}
		case "repn":
			words[i] = "repnz"
		case "ds":
			if (mn == "jmp" || mn == "call") && inst.Args[0] != nil {
				if _, rel := inst.Args[0].(x86asm.Rel); !rel {
					words[i] = "notrack"
				}
			}
		}
	}
	if movedSeg == 0 {
		return words
	}
	var out []string
	wi := 0
	for i := 0; i < len(code) && isLegacyPrefix(code[i]) || i < len(code) && x.mode == 64 && code[i]&0xf0 == 0x40; i++ {
		c := code[i]
		if c == movedSeg && isLastSeg(code, i) {
			out = append(out, segNames[c])
			continue
		}
		if wi < len(words) {
			w := words[wi]
			if pb, ok := x86PrefixByte[w]; ok && pb == c || !ok && c&0xf0 == 0x40 {
				out = append(out, w)
				wi++
			}
		}
	}
	return append(out, words[wi:]...)
}

func isLastSeg(code []byte, i int) bool {
	for j := i + 1; j < len(code) && isLegacyPrefix(code[j]); j++ {
		if _, ok := segNames[code[j]]; ok {
			return false
		}
	}
	return true
}

func targetText(t uint64, sym Symbolizer) string {
	return string(appendTarget(nil, t, sym))
}

// appendTarget appends objdump's branch target text: "1f <foo+0x1f>", or
// "0x1f" when no symbol names the address.
func appendTarget(b []byte, t uint64, sym Symbolizer) []byte {
	if s := sym(t); s != "" {
		b = appendHex(b, t)
		b = append(b, ' ')
		return append(b, s...)
	}
	b = append(b, "0x"...)
	return appendHex(b, t)
}

// appendTarget is appendTarget with the engine's labeler when there is one.
func (x *x86) appendTarget(b []byte, t uint64, sym Symbolizer) []byte {
	if x.lab == nil {
		return appendTarget(b, t, sym)
	}
	start := len(b)
	b = appendHex(b, t)
	b = append(b, ' ')
	n := len(b)
	if b = x.lab(b, t); len(b) == n { // no symbol
		b = append(b[:start], "0x"...)
		return appendHex(b, t)
	}
	return b
}

// targetText is appendTarget into the decoder's scratch buffer.
func (x *x86) targetText(t uint64, sym Symbolizer) string {
	b := x.appendTarget(x.buf[:0], t, sym)
	x.buf = b
	return string(b)
}

// x86Fixed are complete encodings x86asm does not know.
var x86Fixed = map[string]string{
	"\x0f\x01\xc1": "vmcall", "\x0f\x01\xc2": "vmlaunch", "\x0f\x01\xc3": "vmresume", "\x0f\x01\xc4": "vmxoff",
	"\x0f\x01\xca": "clac", "\x0f\x01\xcb": "stac", "\x0f\x01\xcf": "encls", "\x0f\x01\xd7": "enclu", "\x0f\x01\xc0": "enclv",
	"\x0f\x01\xd4": "vmfunc", "\x0f\x01\xd8": "vmrun", "\x0f\x01\xd9": "vmmcall", "\x0f\x01\xda": "vmload",
	"\x0f\x01\xdb": "vmsave", "\x0f\x01\xdc": "stgi", "\x0f\x01\xdd": "clgi", "\x0f\x01\xde": "skinit",
	"\x0f\x01\xdf": "invlpga", "\x0f\x01\xee": "rdpkru", "\x0f\x01\xef": "wrpkru", "\x0f\x01\xe8": "serialize",
	"\x0f\x01\xfa": "monitorx", "\x0f\x01\xfb": "mwaitx", "\x0f\x01\xfc": "clzero", "\x0f\x01\xfd": "rdpru",
	"\x0f\x01\xc5": "pconfig", "\x0f\x01\xc6": "wrmsrns", "\x0f\x01\xe9": "seamcall",
	"\x0f\xa7\xc0": "xstore-rng", "\x0f\xa7\xc8": "xcrypt-ecb", "\x0f\xa7\xd0": "xcrypt-cbc", "\x0f\xa7\xd8": "xcrypt-ctr",
	"\x0f\xa7\xe0": "xcrypt-cfb", "\x0f\xa7\xe8": "xcrypt-ofb", "\x0f\xa6\xc0": "montmul", "\x0f\xa6\xc8": "xsha1",
	"\x0f\xa6\xd0": "xsha256",
	"\xc5\xf8\x77": "vzeroupper", "\xc5\xfc\x77": "vzeroall",
}

// x86ModRMOp is an opcode with a ModRM byte x86asm does not know.
type x86ModRMOp struct {
	pfx   byte   // mandatory prefix (0x66, 0xf3, 0xf2) or 0
	op    string // opcode bytes after the prefixes and REX
	ext   int    // ModRM.reg opcode extension, or -1
	name  string
	form  int
	width int // register width: 0 = address size (64 in 64-bit mode), 32 = 32 or 64 with REX.W
}

const (
	formRegRM = iota // AT&T "%reg,rm"
	formRMReg        // AT&T "rm,%reg"
	formMem          // memory only
	formReg          // register only (ModRM.rm)
)

var x86ModRMOps = []x86ModRMOp{
	{0, "\x0f\x78", -1, "vmread", formRegRM, 0},
	{0, "\x0f\x79", -1, "vmwrite", formRMReg, 0},
	{0x66, "\x0f\x38\xf6", -1, "adcx", formRMReg, 32},
	{0xf3, "\x0f\x38\xf6", -1, "adox", formRMReg, 32},
	{0x66, "\x0f\x38\x80", -1, "invept", formRMReg, 0},
	{0x66, "\x0f\x38\x81", -1, "invvpid", formRMReg, 0},
	{0x66, "\x0f\x38\x82", -1, "invpcid", formRMReg, 0},
	{0xf3, "\x0f\x38\xf8", -1, "enqcmds", formRMReg, 0},
	{0xf2, "\x0f\x38\xf8", -1, "enqcmd", formRMReg, 0},
	{0x66, "\x0f\x38\xf8", -1, "movdir64b", formRMReg, 0},
	{0x66, "\x0f\xc7", 6, "vmclear", formMem, 0},
	{0xf3, "\x0f\xc7", 6, "vmxon", formMem, 0},
	{0, "\x0f\xc7", 6, "vmptrld", formMem, 0},
	{0, "\x0f\xc7", 7, "vmptrst", formMem, 0},
	{0xf3, "\x0f\xc7", 7, "rdpid", formReg, 0},
	{0x66, "\x0f\xae", 7, "clflushopt", formMem, 0},
	{0x66, "\x0f\xae", 6, "clwb", formMem, 0},
}

var x86Reg64 = [16]string{"%rax", "%rcx", "%rdx", "%rbx", "%rsp", "%rbp", "%rsi", "%rdi", "%r8", "%r9", "%r10", "%r11", "%r12", "%r13", "%r14", "%r15"}
var x86Reg32 = [16]string{"%eax", "%ecx", "%edx", "%ebx", "%esp", "%ebp", "%esi", "%edi", "%r8d", "%r9d", "%r10d", "%r11d", "%r12d", "%r13d", "%r14d", "%r15d"}

// special decodes what x86asm does not know or gets wrong.
func (x *x86) special(code []byte, pc uint64, sym Symbolizer) (Inst, bool) {
	if len(code) >= 4 && code[0] == 0xf3 && code[1] == 0x0f && code[2] == 0x1e {
		switch code[3] {
		case 0xfa:
			return Inst{Len: 4, Mnemonic: "endbr64", Known: true}, true
		case 0xfb:
			return Inst{Len: 4, Mnemonic: "endbr32", Known: true}, true
		}
	}
	// Only the common shapes: [66|f2|f3] [REX] opcode.
	i := 0
	var pfx byte
	if len(code) > 0 && (code[0] == 0x66 || code[0] == 0xf2 || code[0] == 0xf3) {
		pfx = code[0]
		i++
	}
	var rex byte
	if x.mode == 64 && i < len(code) && code[i]&0xf0 == 0x40 {
		rex = code[i]
		i++
	}
	rest := code[i:]
	if len(rest) < 2 || rest[0] != 0x0f && rest[0] != 0xc5 {
		return Inst{}, false
	}
	if len(rest) >= 3 && rex == 0 {
		if name, ok := x86Fixed[string(rest[:3])]; ok {
			mn := name
			switch {
			case pfx == 0xf3 && rest[0] == 0x0f && (rest[1] == 0xa6 || rest[1] == 0xa7):
				mn = "repz " + name
			case pfx != 0:
				return Inst{}, false
			}
			return Inst{Len: i + 3, Mnemonic: mn, Known: true}, true
		}
	}
	for k := range x86ModRMOps {
		o := &x86ModRMOps[k]
		if o.pfx != pfx || len(rest) <= len(o.op) || string(rest[:len(o.op)]) != o.op {
			continue
		}
		m := rest[len(o.op)]
		mod, reg, rm := m>>6, int(m>>3&7), int(m&7)
		if o.ext >= 0 && reg != o.ext {
			continue
		}
		if o.form == formMem && mod == 3 || o.form == formReg && mod != 3 {
			continue
		}
		if rex&4 != 0 {
			reg += 8
		}
		w := x.mode
		if o.width == 32 && rex&8 == 0 {
			w = 32
		}
		regName := func(n int) string {
			if w == 64 {
				return x86Reg64[n]
			}
			return x86Reg32[n&7]
		}
		var rmText string
		n := i + len(o.op) + 1
		if mod == 3 {
			if rex&1 != 0 {
				rm += 8
			}
			rmText = regName(rm)
		} else {
			// Let x86asm decode the addressing form through an instruction
			// with the same ModRM layout (lea), then print it our way.
			probe := append([]byte{}, code[:i]...)
			if pfx != 0 {
				probe = probe[1:]
			}
			probe = append(probe, 0x8d)
			probe = append(probe, rest[len(o.op):]...)
			inst, err := x86asm.Decode(probe, x.mode)
			if err != nil {
				return Inst{}, false
			}
			mi, ok := x86ModRM(probe, x.mode)
			if !ok {
				return Inst{}, false
			}
			mem, _ := inst.Args[1].(x86asm.Mem)
			txt, moved := x.mem(&inst, &mi, mem)
			if moved != 0 {
				return Inst{}, false
			}
			n = i + (inst.Len - (len(probe) - len(rest[len(o.op):]))) + len(o.op)
			rmText = txt
			if mi.riprel {
				t := pc + uint64(n) + uint64(mem.Disp)
				rmText += "        # " + targetText(t, sym)
				// the comment goes last; see below
			}
		}
		var ops string
		switch o.form {
		case formRegRM:
			ops = regName(reg) + "," + rmText
		case formRMReg:
			ops = moveComment(rmText) + "," + regName(reg) + commentOf(rmText)
		default:
			ops = rmText
		}
		if o.form == formRegRM {
			ops = regName(reg) + "," + moveComment(rmText) + commentOf(rmText)
		}
		return Inst{Len: n, Mnemonic: o.name, Operands: ops, Known: true}, true
	}
	return Inst{}, false
}

func moveComment(s string) string {
	if i := strings.Index(s, "        # "); i >= 0 {
		return s[:i]
	}
	return s
}

func commentOf(s string) string {
	if i := strings.Index(s, "        # "); i >= 0 {
		return s[i:]
	}
	return ""
}
