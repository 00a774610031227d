package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
	"golang.org/x/arch/arm/armasm"
)

// armArch decodes 32-bit ARM. It starts in ARM (A32) mode, which is what
// Debian's armhf (armmp) modules contain: that kernel is not built with
// CONFIG_THUMB2_KERNEL. The engine switches it to Thumb (T32) inside $t
// mapping-symbol ranges and functions whose symbol value has the low bit
// set, and back to ARM at $a:
//
//	if ts, ok := a.(interface{ SetThumb(bool) }); ok { ts.SetThumb(thumb) }
//
// ThumbArch returns a decoder that starts in Thumb mode. Thumb support is
// partial: every instruction gets its correct length (16 or 32 bits, from
// the first halfword) but only the common instructions listed in
// docs/disasm-arches.md are decoded; the rest come back Known=false as
// objdump's raw form (".short 0x....", ".word 0x........").
//
// armArch also implements RelocDecoder.
type armArch struct {
	order binary.ByteOrder
	thumb bool
	// IT block state: the conditions of the next instructions, valid
	// while decoding continues at itPC.
	itConds []uint32
	itPC    uint64

	// Mapping symbols of the section being disassembled (beginSection):
	// maps in address order, and the values of every symbol of the
	// section (a data run stops at the next symbol of any kind).
	maps    []armMap
	symVals []uint64
	// state at the address given to at(): data (a $d range) and the
	// size of the data unit there.
	data     bool
	dataSize int
}

// armMap is one mapping symbol: $a (ARM), $t (Thumb) or $d (data).
type armMap struct {
	value uint64
	kind  byte
}

// mappingArch is implemented by decoders whose objdump backend chooses
// the instruction set, or data, at each address from the section's
// mapping symbols (ARM: arm-dis.c's mapping_symbol_for_insn). The engine
// calls beginSection with objdump's sorted symbol table before each code
// section and at with each instruction's address before decoding it.
type mappingArch interface {
	beginSection(syms []symbol, sec *elfx.Section)
	at(pc uint64)
}

// armMappingKind returns 'a', 't' or 'd' for an ARM mapping symbol name
// ("$a", "$t", "$d", optionally followed by "." and more), else 0.
func armMappingKind(name string) byte {
	if len(name) < 2 || name[0] != '$' || (len(name) > 2 && name[2] != '.') {
		return 0
	}
	switch name[1] {
	case 'a', 't', 'd':
		return name[1]
	}
	return 0
}

// SymbolIsValid is arm-dis.c's arm_symbol_is_valid: objdump never names
// an address or opens a block after a symbol starting with "$" (the
// mapping symbols $a, $t, $d) or "__tagsym$$".
func (a *armArch) SymbolIsValid(name string, _ elf.SymType) bool {
	return !strings.HasPrefix(name, "$") && !strings.HasPrefix(name, "__tagsym$$")
}

func (a *armArch) beginSection(syms []symbol, sec *elfx.Section) {
	a.maps, a.symVals = a.maps[:0], a.symVals[:0]
	a.data, a.itConds = false, nil
	for i := range syms {
		s := &syms[i]
		if s.shndx != sec.Index || s.sec != sec.Name {
			continue
		}
		a.symVals = append(a.symVals, s.value)
		if k := armMappingKind(s.name); k != 0 {
			a.maps = append(a.maps, armMap{s.value, k})
		}
	}
	// syms is sorted by value already (objdump's order within a value is
	// kept: the last mapping symbol at an address wins, as in its scan).
}

// at sets the decoder's mode for the instruction at pc from the last
// mapping symbol at or before it; without one the mode is left as is
// (ARM unless SetThumb said otherwise).
func (a *armArch) at(pc uint64) {
	a.data = false
	if len(a.maps) == 0 {
		return
	}
	i := sort.Search(len(a.maps), func(i int) bool { return a.maps[i].value > pc })
	if i == 0 {
		return
	}
	switch a.maps[i-1].kind {
	case 'd':
		a.data = true
		size := 4 - int(pc&3)
		j := sort.Search(len(a.symVals), func(j int) bool { return a.symVals[j] > pc })
		if j < len(a.symVals) && a.symVals[j]-pc < uint64(size) {
			size = int(a.symVals[j] - pc)
		}
		if size == 3 {
			size = 2
			if pc&1 == 1 {
				size = 1
			}
		}
		a.dataSize = size
	case 't':
		if !a.thumb {
			a.SetThumb(true)
		}
	default:
		if a.thumb {
			a.SetThumb(false)
		}
	}
}

// armData is objdump's print_insn_data: a data unit of a $d range as
// .word, .short or .byte.
func (a *armArch) armData(code []byte) Inst {
	n := a.dataSize
	if n > len(code) {
		n = len(code)
	}
	var v uint32
	switch n {
	case 4:
		v = a.order.Uint32(code)
	case 2:
		v = uint32(a.order.Uint16(code))
	case 1:
		v = uint32(code[0])
	}
	switch n {
	case 4:
		return Inst{Len: 4, Mnemonic: ".word", Operands: fmt.Sprintf("0x%08x", v), Known: true}
	case 2:
		return Inst{Len: 2, Mnemonic: ".short", Operands: fmt.Sprintf("0x%04x", v), Known: true}
	case 1:
		return Inst{Len: 1, Mnemonic: ".byte", Operands: fmt.Sprintf("0x%02x", v), Known: true}
	}
	return unknownBytes(code)
}

func init() {
	registerArch(elf.EM_ARM, func(_ elf.Class, order binary.ByteOrder, _ uint32) Arch {
		if order == nil {
			order = binary.LittleEndian
		}
		return &armArch{order: order}
	})
}

// SetThumb selects Thumb (true) or ARM (false) decoding.
func (a *armArch) SetThumb(on bool) { a.thumb, a.itConds = on, nil }

// ThumbArch returns a little-endian 32-bit ARM decoder in Thumb mode.
func ThumbArch() Arch { return &armArch{order: binary.LittleEndian, thumb: true} }

func (a *armArch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	return a.decode(code, pc, 0, sym)
}

// DecodeReloc implements RelocDecoder.
func (a *armArch) DecodeReloc(code []byte, symValue uint64, sym Symbolizer) Inst {
	return a.decode(code, 0, symValue, sym)
}

func (a *armArch) decode(code []byte, pc, bias uint64, sym Symbolizer) Inst {
	if a.data {
		return a.armData(code)
	}
	if a.thumb {
		var cond uint32 = 16 // none
		if len(a.itConds) > 0 && pc == a.itPC {
			cond, a.itConds = a.itConds[0], a.itConds[1:]
		} else {
			a.itConds = nil
		}
		in := thumbDecode(code, a.order, pc, bias, sym)
		var h uint16
		if len(code) >= 2 {
			h = a.order.Uint16(code)
		}
		isIT := h&0xff00 == 0xbf00 && h&15 != 0
		// objdump keeps a conditional branch's own condition inside an
		// IT block and does not nest IT.
		if cond != 16 && in.Known && !isIT && h&0xf000 != 0xd000 && h&0xf500 != 0xb100 {
			in.Mnemonic = thumbCond(in.Mnemonic, cond)
		}
		if isIT {
			a.itConds = thumbIT(uint32(h))
		}
		a.itPC = pc + uint64(in.Len)
		return in
	}
	if len(code) < 4 {
		return unknownBytes(code)
	}
	w := a.order.Uint32(code)
	if in, ok := armExtra(w); ok {
		in.Len, in.Known = 4, true
		return in
	}
	inst, err := armasm.Decode(code[:4], armasm.ModeARM)
	if err != nil {
		if in, ok := armNeon(w); ok {
			in.Len, in.Known = 4, true
			return in
		}
		if in, ok := armLoadStoreRegPost(w); ok {
			in.Len, in.Known = 4, true
			return in
		}
		return unknownWord(code, 4, a.order, ".word")
	}
	mn, ops := splitAsm(armasm.GNUSyntax(inst))
	for _, arg := range inst.Args {
		if arg == nil {
			break
		}
		if r, ok := arg.(armasm.PCRel); ok {
			// armasm prints ".+off" relative to pc+4; the target is pc+8+r.
			old := fmt.Sprintf(".%+#x", int32(r)+4)
			ops = strings.Replace(ops, old, archTarget((pc+8+uint64(int64(r))+bias)&0xffffffff, sym), 1)
		}
	}
	switch {
	case mn == "nop" && ops == "" && w&0x0fffffff == 0x0320f000:
		ops = "{0}"
	case strings.HasPrefix(mn, "stm") && !strings.HasPrefix(mn, "stmd") && !strings.HasPrefix(mn, "stmi") && w>>21&1 == 1 && w&0x0fd00000 == 0x08800000:
		mn = "stmia" + mn[3:]
	case (mn == "dmb" || mn == "dsb" || mn == "isb") && strings.HasPrefix(ops, "#"):
		if n, ok := armBarrier[w&15]; ok {
			ops = n
		}
	case strings.HasPrefix(mn, "mrs") && strings.HasSuffix(ops, "apsr"):
		ops = strings.TrimSuffix(ops, "apsr") + "CPSR"
	case w&0x0f200e00 == 0x0d000a00 && w&0x008000ff == 0 && strings.HasSuffix(ops, "]") && !strings.Contains(ops, ", #"):
		// VLDR/VSTR with a subtracted offset of 0
		ops = strings.TrimSuffix(ops, "]") + ", #-0]"
	case w&0x0c400000 == 0x04400000 && w>>12&15 == 15 && w>>28 != 15 && !strings.HasPrefix(mn, "pld"):
		// LDRB/STRB with Rt = pc
		return Inst{Len: 4, Mnemonic: mn, Operands: ops + "\t@ <UNPREDICTABLE>", Known: true}
	}
	return Inst{Len: 4, Mnemonic: mn, Operands: ops + armComment(w, mn, ops, pc, bias, sym), Known: true}
}

// armComment returns objdump's trailing comment for an ARM-mode
// instruction: the load/store a one-register push or pop stands for, the
// address of a pc-relative load, and otherwise the hex value of a final
// immediate outside -16..32 (arm-dis.c's value_in_comment).
func armComment(w uint32, mn, ops string, pc, bias uint64, sym Symbolizer) string {
	base := mn
	if len(base) > 2 {
		for _, c := range armCond[:14] {
			if strings.HasSuffix(base, c) && base != "teq" && base != "bls" {
				base = strings.TrimSuffix(base, c)
				break
			}
		}
	}
	switch {
	case base == "push" && !strings.Contains(ops, ","):
		return "\t\t@ (str " + strings.Trim(ops, "{}") + ", [sp, #-4]!)"
	case base == "pop" && !strings.Contains(ops, ","):
		return "\t\t@ (ldr " + strings.Trim(ops, "{}") + ", [sp], #4)"
	}
	if strings.HasSuffix(ops, "[pc]") {
		return "\t@ " + archTarget((pc+8+bias)&0xffffffff, sym)
	}
	if i := strings.Index(ops, "[pc, #"); i >= 0 && strings.HasSuffix(ops, "]") {
		var off int64
		if _, err := fmt.Sscanf(ops[i+6:], "%d]", &off); err == nil {
			return "\t@ " + archTarget((uint64(int64(pc)+8+off)+bias)&0xffffffff, sym)
		}
	}
	if strings.HasPrefix(base, "svc") || strings.HasPrefix(base, "bkpt") || strings.HasPrefix(base, "udf") {
		return ""
	}
	j := strings.LastIndex(ops, "#")
	if j < 0 {
		return ""
	}
	tail := strings.TrimRight(ops[j+1:], "]!")
	v, err := strconv.ParseInt(tail, 10, 64)
	if err != nil {
		return ""
	}
	// Shift amounts and bit-field positions never reach 33.
	if v > 32 || v < -16 {
		return fmt.Sprintf("\t@ 0x%x", uint32(v))
	}
	return ""
}

var armBarrier = map[uint32]string{15: "sy", 14: "st", 13: "ld", 11: "ish", 10: "ishst", 9: "ishld",
	7: "nsh", 6: "nshst", 5: "nshld", 3: "osh", 2: "oshst", 1: "oshld"}

var armCond = [16]string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "", ""}

var armRegs = [16]string{"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7", "r8", "r9", "sl", "fp", "ip", "sp", "lr", "pc"}

// armExtra decodes ARM-mode encodings armasm lacks: coprocessor register
// transfers (mrc/mcr), cps, msr to CPSR fields, csdb, and register-offset
// str/ldr that armasm rejects.
func armExtra(w uint32) (Inst, bool) {
	cond := w >> 28
	c := armCond[cond]
	switch {
	case w&0x0f000010 == 0x0e000010 && cond != 15 && w>>9&7 == 5: // cp10/cp11: VFP and NEON transfers
		return neonCoreTransfer(w)
	case w&0x0f000010 == 0x0e000010 && cond != 15: // MRC/MCR
		mn := "mcr"
		if w>>20&1 == 1 {
			mn = "mrc"
		}
		return Inst{Mnemonic: mn + c, Operands: fmt.Sprintf("%d, %d, %s, cr%d, cr%d, {%d}",
			w>>8&15, w>>21&7, armRegs[w>>12&15], w>>16&15, w&15, w>>5&7)}, true
	case w&0xfff1fe20 == 0xf1000000 && w>>18&3 >= 2 && (w>>17&1 == 1 || w&31 == 0): // CPS
		mn := "cpsie"
		if w>>18&3 == 3 {
			mn = "cpsid"
		}
		var f string
		for i, l := range []string{"a", "i", "f"} {
			if w>>(8-i)&1 == 1 {
				f += l
			}
		}
		if w>>17&1 == 1 {
			f += fmt.Sprintf(",#%d", w&31) // objdump: "cpsie f,#3"
		}
		return Inst{Mnemonic: mn, Operands: f}, true
	case w&0x0fb0fff0 == 0x0120f000 && cond != 15: // MSR (register) to CPSR/SPSR
		psr := "CPSR_"
		if w>>22&1 == 1 {
			psr = "SPSR_"
		}
		for i, l := range []string{"c", "x", "s", "f"} {
			if w>>(16+i)&1 == 1 {
				psr += l
			}
		}
		return Inst{Mnemonic: "msr" + c, Operands: psr + ", " + armRegs[w&15]}, true
	case w&0x0fffffff == 0x0320f014 && cond != 15:
		return Inst{Mnemonic: "csdb" + c}, true
	case w&0x0e000010 == 0x06000000 && w>>24&1 == 1 && w>>21&1 == 0 && cond != 15: // LDR/STR (register), offset form
		mn := "str"
		if w>>20&1 == 1 {
			mn = "ldr"
		}
		if w>>22&1 == 1 {
			mn += "b"
		}
		sign := "-"
		if w>>23&1 == 1 {
			sign = ""
		}
		idx := sign + armRegs[w&15]
		imm, typ := w>>7&31, w>>5&3
		switch {
		case typ == 3 && imm == 0:
			idx += ", rrx"
		case typ == 0 && imm == 0:
		default:
			if imm == 0 {
				imm = 32
			}
			idx += fmt.Sprintf(", %s #%d", [4]string{"lsl", "lsr", "asr", "ror"}[typ], imm)
		}
		return Inst{Mnemonic: mn + c, Operands: fmt.Sprintf("%s, [%s, %s]", armRegs[w>>12&15], armRegs[w>>16&15], idx)}, true
	}
	return Inst{}, false
}

// armLoadStoreRegPost decodes the post-indexed register forms of
// LDR/STR/LDRB/STRB ("str r0, [r2], fp", "ldr r0, [r2], -fp, lsl #2")
// that armasm rejects.
func armLoadStoreRegPost(w uint32) (Inst, bool) {
	if w&0x0f200010 != 0x06000000 || w>>28 == 15 {
		return Inst{}, false
	}
	if rt, rn, rm := w>>12&15, w>>16&15, w&15; rt == 15 || rn == 15 || rm == 15 || rn == rt {
		return Inst{}, false // objdump adds "@ <UNPREDICTABLE>"
	}
	mn := [2]string{"str", "ldr"}[w>>20&1]
	if w>>22&1 == 1 {
		mn += "b"
	}
	idx := armRegs[w&15]
	if w>>23&1 == 0 {
		idx = "-" + idx
	}
	imm, typ := w>>7&31, w>>5&3
	switch {
	case typ == 3 && imm == 0:
		idx += ", rrx"
	case typ == 0 && imm == 0:
	default:
		if imm == 0 {
			imm = 32
		}
		idx += fmt.Sprintf(", %s #%d", [4]string{"lsl", "lsr", "asr", "ror"}[typ], imm)
	}
	return Inst{Mnemonic: mn + armCond[w>>28], Operands: fmt.Sprintf("%s, [%s], %s", armRegs[w>>12&15], armRegs[w>>16&15], idx)}, true
}

// thumbDecode decodes one Thumb instruction: the length always, and the
// common 16-bit instructions and BL/B.W.
func thumbDecode(code []byte, order binary.ByteOrder, pc, bias uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	h := uint32(order.Uint16(code))
	if h>>11 >= 0x1d { // 0b11101, 0b11110, 0b11111: 32-bit
		if len(code) < 4 {
			return unknownBytes(code)
		}
		h2 := uint32(order.Uint16(code[2:]))
		if in, ok := thumb32(h, h2, pc, bias, sym); ok {
			in.Len, in.Known = 4, true
			return in
		}
		return Inst{Len: 4, Mnemonic: ".word", Operands: fmt.Sprintf("0x%04x%04x", h, h2)}
	}
	if in, ok := thumb16(h, pc, bias, sym); ok {
		in.Len, in.Known = 2, true
		return in
	}
	return Inst{Len: 2, Mnemonic: ".short", Operands: fmt.Sprintf("0x%04x", h)}
}

// thumbIT returns the conditions an IT instruction gives the following
// instructions.
func thumbIT(h uint32) []uint32 {
	first, mask := h>>4&15, h&15
	conds := []uint32{first}
	for k := 3; k >= 0 && mask&(1<<k-1) != 0; k-- {
		if mask>>k&1 == first&1 {
			conds = append(conds, first)
		} else {
			conds = append(conds, first^1)
		}
	}
	return conds
}

// thumbCond spells an instruction inside an IT block: the condition
// after the base mnemonic (before a .n/.w qualifier), and the 16-bit
// flag-setting forms without their s.
func thumbCond(mn string, cond uint32) string {
	q := ""
	if i := strings.IndexByte(mn, '.'); i >= 0 {
		mn, q = mn[:i], mn[i:]
	}
	if thumbFlagSetting[mn] {
		mn = mn[:len(mn)-1]
	}
	return mn + thumbCondName[cond&15] + q
}

// thumbFlagSetting are the 16-bit mnemonics that set flags outside an IT
// block and are spelled without the s inside one.
var thumbFlagSetting = map[string]bool{"movs": true, "adds": true, "subs": true, "lsls": true, "lsrs": true,
	"asrs": true, "ands": true, "eors": true, "adcs": true, "sbcs": true, "rors": true, "orrs": true,
	"bics": true, "mvns": true, "negs": true, "muls": true}

// thumbALU are the 16-bit data-processing register operations (0x4000).
var thumbALU = [16]string{"ands", "eors", "lsls", "lsrs", "asrs", "adcs", "sbcs", "rors",
	"tst", "negs", "cmp", "cmn", "orrs", "muls", "bics", "mvns"}

// thumbCondName spells IT conditions as objdump does.
var thumbCondName = [16]string{"eq", "ne", "cs", "cc", "mi", "pl", "vs", "vc", "hi", "ls", "ge", "lt", "gt", "le", "al", "<und>"}

func thumbRegList(bits uint32, extra string) string {
	var r []string
	for i := 0; i < 8; i++ {
		if bits>>i&1 == 1 {
			r = append(r, armRegs[i])
		}
	}
	if extra != "" {
		r = append(r, extra)
	}
	return "{" + strings.Join(r, ", ") + "}"
}

func thumb16(h uint32, pc, bias uint64, sym Symbolizer) (Inst, bool) {
	r := func(n uint32) string { return armRegs[n&7] }
	switch {
	case h == 0xbf00:
		return Inst{Mnemonic: "nop"}, true
	case h&0xff00 == 0xbf00 && h&15 != 0 && h>>4&15 != 15: // IT
		conds := thumbIT(h)
		mn := "i"
		for i := range conds {
			if i == 0 || conds[i] == conds[0] {
				mn += "t"
			} else {
				mn += "e"
			}
		}
		return Inst{Mnemonic: mn, Operands: thumbCondName[h>>4&15]}, true
	case h&0xff87 == 0x4700: // BX Rm
		return Inst{Mnemonic: "bx", Operands: armRegs[h>>3&15]}, true
	case h&0xff87 == 0x4780: // BLX Rm
		return Inst{Mnemonic: "blx", Operands: armRegs[h>>3&15]}, true
	case h&0xfe00 == 0xb400: // PUSH
		extra := ""
		if h>>8&1 == 1 {
			extra = "lr"
		}
		return Inst{Mnemonic: "push", Operands: thumbRegList(h&0xff, extra)}, true
	case h&0xfe00 == 0xbc00: // POP
		extra := ""
		if h>>8&1 == 1 {
			extra = "pc"
		}
		return Inst{Mnemonic: "pop", Operands: thumbRegList(h&0xff, extra)}, true
	case h&0xf800 == 0x2000:
		return Inst{Mnemonic: "movs", Operands: fmt.Sprintf("%s, #%d", r(h>>8), h&0xff)}, true
	case h&0xffc0 == 0x0000: // LSLS #0 is MOVS (register)
		return Inst{Mnemonic: "movs", Operands: r(h) + ", " + r(h>>3)}, true
	case h < 0x1800: // LSL, LSR, ASR (immediate)
		imm := h >> 6 & 31
		if imm == 0 {
			imm = 32
		}
		return Inst{Mnemonic: [3]string{"lsls", "lsrs", "asrs"}[h>>11], Operands: fmt.Sprintf("%s, %s, #%d", r(h), r(h>>3), imm)}, true
	case h&0xfc00 == 0x1c00: // ADDS/SUBS (3-bit immediate)
		mn := "adds"
		if h>>9&1 == 1 {
			mn = "subs"
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, %s, #%d", r(h), r(h>>3), h>>6&7)}, true
	case h&0xfc00 == 0x4000: // data processing (register)
		op := h >> 6 & 15
		if op == 9 || op == 13 { // negs/muls: operand forms not checked
			return Inst{}, false
		}
		return Inst{Mnemonic: thumbALU[op], Operands: r(h) + ", " + r(h>>3)}, true
	case h&0xff00 == 0x4400: // ADD (register, high registers)
		d := h>>4&8 | h&7
		if d == 13 || h>>3&15 == 13 || d == 15 {
			return Inst{}, false
		}
		return Inst{Mnemonic: "add", Operands: armRegs[d] + ", " + armRegs[h>>3&15]}, true
	case h&0xf000 == 0x5000: // load/store (register offset)
		mn := [8]string{"str", "strh", "strb", "ldrsb", "ldr", "ldrh", "ldrb", "ldrsh"}[h>>9&7]
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, [%s, %s]", r(h), r(h>>3), r(h>>6))}, true
	case h&0xf000 == 0x7000: // STRB/LDRB (immediate)
		mn := "strb"
		if h>>11&1 == 1 {
			mn = "ldrb"
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, [%s, #%d]", r(h), r(h>>3), h>>6&31)}, true
	case h&0xf000 == 0x8000: // STRH/LDRH (immediate)
		mn := "strh"
		if h>>11&1 == 1 {
			mn = "ldrh"
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, [%s, #%d]", r(h), r(h>>3), (h>>6&31)*2)}, true
	case h&0xf800 == 0xa800: // ADD Rd, SP, #imm
		return Inst{Mnemonic: "add", Operands: fmt.Sprintf("%s, sp, #%d", r(h>>8), (h&0xff)*4)}, true
	case h&0xff00 == 0xb200: // SXTH, SXTB, UXTH, UXTB
		return Inst{Mnemonic: [4]string{"sxth", "sxtb", "uxth", "uxtb"}[h>>6&3], Operands: r(h) + ", " + r(h>>3)}, true
	case h&0xffc0 == 0xba00 || h&0xffc0 == 0xba40 || h&0xffc0 == 0xbac0: // REV, REV16, REVSH
		return Inst{Mnemonic: map[uint32]string{0: "rev", 1: "rev16", 3: "revsh"}[h>>6&3], Operands: r(h) + ", " + r(h>>3)}, true
	case h&0xf500 == 0xb100: // CBZ, CBNZ
		mn := "cbz"
		if h>>11&1 == 1 {
			mn = "cbnz"
		}
		off := int64(h>>9&1<<6 | (h>>3&31)<<1)
		return Inst{Mnemonic: mn, Operands: r(h) + ", " + archTarget((uint64(int64(pc)+4+off)+bias)&0xffffffff, sym)}, true
	case h&0xf000 == 0xc000: // STMIA/LDMIA
		rn := h >> 8 & 7
		if h>>11&1 == 0 {
			return Inst{Mnemonic: "stmia", Operands: r(rn) + "!, " + thumbRegList(h&0xff, "")}, true
		}
		wb := "!"
		if h>>rn&1 == 1 {
			wb = ""
		}
		return Inst{Mnemonic: "ldmia", Operands: r(rn) + wb + ", " + thumbRegList(h&0xff, "")}, true
	case h&0xf800 == 0x2800:
		return Inst{Mnemonic: "cmp", Operands: fmt.Sprintf("%s, #%d", r(h>>8), h&0xff)}, true
	case h&0xf800 == 0x3000:
		return Inst{Mnemonic: "adds", Operands: fmt.Sprintf("%s, #%d", r(h>>8), h&0xff)}, true
	case h&0xf800 == 0x3800:
		return Inst{Mnemonic: "subs", Operands: fmt.Sprintf("%s, #%d", r(h>>8), h&0xff)}, true
	case h == 0x46c0: // mov r8, r8
		return Inst{Mnemonic: "nop"}, true
	case h&0xff00 == 0x4600: // MOV (register, high registers)
		d := h>>4&8 | h&7
		return Inst{Mnemonic: "mov", Operands: armRegs[d] + ", " + armRegs[h>>3&15]}, true
	case h&0xffc0 == 0x4280:
		return Inst{Mnemonic: "cmp", Operands: r(h) + ", " + r(h>>3)}, true
	case h&0xfe00 == 0x1800:
		return Inst{Mnemonic: "adds", Operands: r(h) + ", " + r(h>>3) + ", " + r(h>>6)}, true
	case h&0xfe00 == 0x1a00:
		return Inst{Mnemonic: "subs", Operands: r(h) + ", " + r(h>>3) + ", " + r(h>>6)}, true
	case h&0xf000 == 0x6000: // STR/LDR (immediate), word
		mn := "str"
		if h>>11&1 == 1 {
			mn = "ldr"
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, [%s, #%d]", r(h), r(h>>3), (h>>6&31)*4)}, true
	case h&0xf000 == 0x9000: // STR/LDR (SP-relative)
		mn := "str"
		if h>>11&1 == 1 {
			mn = "ldr"
		}
		return Inst{Mnemonic: mn, Operands: fmt.Sprintf("%s, [sp, #%d]", r(h>>8), (h&0xff)*4)}, true
	case h&0xff80 == 0xb000:
		return Inst{Mnemonic: "add", Operands: fmt.Sprintf("sp, #%d", (h&0x7f)*4)}, true
	case h&0xff80 == 0xb080:
		return Inst{Mnemonic: "sub", Operands: fmt.Sprintf("sp, #%d", (h&0x7f)*4)}, true
	case h&0xf800 == 0xe000: // B (unconditional)
		off := int64(int32(h<<21) >> 20)
		return Inst{Mnemonic: "b.n", Operands: archTarget((uint64(int64(pc)+4+off)+bias)&0xffffffff, sym)}, true
	case h&0xf000 == 0xd000 && h>>8&15 < 14: // B<cond>
		off := int64(int32(h<<24) >> 23)
		return Inst{Mnemonic: "b" + armCond[h>>8&15] + ".n", Operands: archTarget((uint64(int64(pc)+4+off)+bias)&0xffffffff, sym)}, true
	}
	return Inst{}, false
}

func thumb32(h1, h2 uint32, pc, bias uint64, sym Symbolizer) (Inst, bool) {
	// BL / B.W (T4): 11110 S imm10, 1 1 J1 1 J2 imm11 (BL) or 1 0 J1 1 J2 imm11 (B.W).
	if h1&0xf800 == 0xf000 && h2&0xd000 == 0xd000 || h1&0xf800 == 0xf000 && h2&0xd000 == 0x9000 {
		s := h1 >> 10 & 1
		j1, j2 := h2>>13&1, h2>>11&1
		i1, i2 := ^(j1^s)&1, ^(j2^s)&1
		imm := s<<24 | i1<<23 | i2<<22 | (h1&0x3ff)<<12 | (h2&0x7ff)<<1
		off := int64(int32(imm<<7) >> 7)
		mn := "bl"
		if h2&0xd000 == 0x9000 {
			mn = "b.w"
		}
		return Inst{Mnemonic: mn, Operands: archTarget((uint64(int64(pc)+4+off)+bias)&0xffffffff, sym)}, true
	}
	if h1 == 0xf3af && h2 == 0x8000 {
		return Inst{Mnemonic: "nop.w"}, true
	}
	return Inst{}, false
}
