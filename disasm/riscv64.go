package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/arch/riscv64/riscv64asm"
)

// riscv64Arch decodes RV64GC (compressed instructions included) with
// riscv64asm and rewrites its GNU syntax to binutils 2.40's: ABI register
// names, absolute branch targets, and the alias spellings objdump prefers
// (compressed instructions are shown expanded, as objdump does without
// -M no-aliases: c.addi sp,-16 is "add sp,sp,-16").
//
// Like objdump, the decoder remembers the values lui and auipc put in a
// register and names the address an addi, addiw, jalr or load then forms
// from it in a trailing comment ("add a0,a0,16 # 1a0 <foo+0x10>"), so
// instructions must be decoded in address order (a linear sweep).
type riscv64Arch struct {
	hi    [32]uint64 // register values set by lui/auipc
	hiSet [32]bool
	cache decodeCache[riscvDecoded]
}

// riscvDecoded is riscv64asm's result for one encoding and its GNU text
// before the pc-dependent rewriting.
type riscvDecoded struct {
	inst riscv64asm.Inst
	ok   bool
	mn   string
	ops  string
}

func init() {
	registerArch(elf.EM_RISCV, func(elf.Class, binary.ByteOrder, uint32) Arch { return &riscv64Arch{} })
}

// SymbolIsValid is riscv-dis.c's riscv_symbol_is_valid: objdump neither
// heads a block with nor names an address after the assembler's fake
// label ".L0 " (DWARF and relaxation labels, with a trailing space) or a
// mapping symbol ("$x", "$xrv64i2p1_m2p0...", "$d").
func (a *riscv64Arch) SymbolIsValid(name string, _ elf.SymType) bool {
	return name != ".L0 " && !strings.HasPrefix(name, "$x") && !strings.HasPrefix(name, "$d")
}

// riscvLoads are the loads whose offset objdump resolves (its 'o' operand).
var riscvLoads = map[riscv64asm.Op]bool{riscv64asm.LB: true, riscv64asm.LH: true, riscv64asm.LW: true,
	riscv64asm.LD: true, riscv64asm.LBU: true, riscv64asm.LHU: true, riscv64asm.LWU: true,
	riscv64asm.FLW: true, riscv64asm.FLD: true}

// riscvStores are the stores whose offset objdump resolves.
var riscvStores = map[riscv64asm.Op]bool{riscv64asm.SB: true, riscv64asm.SH: true, riscv64asm.SW: true,
	riscv64asm.SD: true, riscv64asm.FSW: true, riscv64asm.FSD: true}

// comment tracks lui/auipc values and returns objdump's " # addr <sym>"
// for an instruction that adds an offset to a tracked register
// (riscv-dis.c's maybe_print_address).
func (a *riscv64Arch) comment(inst riscv64asm.Inst, pc uint64, sym Symbolizer) string {
	reg := func(i int) (int, bool) {
		r, ok := inst.Args[i].(riscv64asm.Reg)
		if !ok || r > riscv64asm.X31 {
			return 0, false
		}
		return int(r - riscv64asm.X0), true
	}
	var base int
	var off int64
	wide := false
	switch {
	case inst.Op == riscv64asm.LUI || inst.Op == riscv64asm.AUIPC:
		rd, ok := reg(0)
		u, ok2 := inst.Args[1].(riscv64asm.Uimm)
		if ok && ok2 {
			v := uint64(int64(int32(u.Imm << 12)))
			if inst.Op == riscv64asm.AUIPC {
				v += pc
			}
			a.hi[rd], a.hiSet[rd] = v, true
		}
		return ""
	case inst.Op == riscv64asm.ADDI || inst.Op == riscv64asm.ADDIW:
		// With a zero immediate objdump prints the mv / sext.w alias,
		// which has no immediate operand and so no address.
		rs, ok := reg(1)
		sv, ok2 := inst.Args[2].(riscv64asm.Simm)
		if !ok || !ok2 || rs == 0 || sv.Imm == 0 {
			return ""
		}
		base, off, wide = rs, int64(sv.Imm), inst.Op == riscv64asm.ADDIW
	case (riscvLoads[inst.Op] || riscvStores[inst.Op] || inst.Op == riscv64asm.JALR) && inst.Len == 4:
		var ro riscv64asm.RegOffset
		ok := false
		for _, arg := range inst.Args {
			if r, is := arg.(riscv64asm.RegOffset); is {
				ro, ok = r, true
			}
		}
		if !ok || ro.OfsReg > riscv64asm.X31 {
			return ""
		}
		base, off = int(ro.OfsReg-riscv64asm.X0), int64(ro.Ofs.Imm)
	default:
		return ""
	}
	var addr uint64
	switch {
	case a.hiSet[base]:
		addr = a.hi[base] + uint64(off)
		a.hiSet[base] = false
	case base == 4 || base == 0: // tp, zero
		addr = uint64(off)
	default:
		return ""
	}
	if wide {
		addr = uint64(int64(int32(addr)))
	}
	return " # " + archTarget(addr, sym)
}

func (a *riscv64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	if len(code) < 2 {
		return unknownBytes(code)
	}
	n := 2
	if code[0]&3 == 3 {
		n = 4
	}
	if code[0]&0x1f == 0x1f {
		// 48-bit and longer encodings: objdump shows one halfword.
		n = 2
	}
	if len(code) < n {
		return unknownBytes(code)
	}
	key := uint64(binary.LittleEndian.Uint16(code)) | uint64(n)<<40
	if n == 4 {
		key = uint64(binary.LittleEndian.Uint32(code)) | uint64(n)<<40
	}
	d, hit := a.cache.get(key)
	if !hit {
		inst, err := riscv64asm.Decode(code[:n])
		d = riscvDecoded{inst: inst, ok: err == nil && inst.Len == n}
		if d.ok {
			d.mn, d.ops = splitAsm(riscv64asm.GNUSyntax(inst))
		}
		a.cache.put(key, d)
	}
	inst := d.inst
	if !d.ok {
		v := uint64(binary.LittleEndian.Uint16(code))
		if n == 4 {
			v = uint64(binary.LittleEndian.Uint32(code))
		}
		return Inst{Len: n, Mnemonic: fmt.Sprintf(".%dbyte", n), Operands: fmt.Sprintf("%#x", v)}
	}
	mn, ops := d.mn, d.ops
	if m, ok := riscvMnemonic[mn]; ok {
		mn = m
	}
	ops = riscvRegNames(ops)
	switch inst.Op {
	case riscv64asm.LUI, riscv64asm.AUIPC:
		// objdump prints the 20-bit field, riscv64asm sign-extends it.
		i := strings.LastIndexByte(ops, ',') + 1
		if v, err := strconv.ParseUint(ops[i:], 0, 64); err == nil {
			ops = ops[:i] + "0x" + strconv.FormatUint(v&0xfffff, 16)
		}
	case riscv64asm.BEQ, riscv64asm.BNE, riscv64asm.BLT, riscv64asm.BGE, riscv64asm.BLTU, riscv64asm.BGEU, riscv64asm.JAL:
		// The last operand is the pc-relative offset.
		i := strings.LastIndexByte(ops, ',') + 1
		if off, err := strconv.ParseInt(ops[i:], 0, 64); err == nil {
			ops = ops[:i] + archTarget(pc+uint64(off), sym)
		}
	}
	return Inst{Len: n, Mnemonic: mn, Operands: ops + a.comment(inst, pc, sym), Known: true}
}

// riscvMnemonic maps riscv64asm's names to objdump 2.40's, which prints
// the register-immediate forms under the register-register alias.
var riscvMnemonic = map[string]string{
	"addi": "add", "andi": "and", "ori": "or", "xori": "xor",
	"slli": "sll", "srli": "srl", "srai": "sra",
	"addiw": "addw", "slliw": "sllw", "srliw": "srlw", "sraiw": "sraw",
}

// riscvRegNames replaces the register names x0..x31 and f0..f31 (whole
// words) by their ABI names.
func riscvRegNames(s string) string {
	isWord := func(c byte) bool {
		return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
	}
	var b strings.Builder
	last := 0
	for i := 0; i < len(s); i++ {
		if (s[i] != 'x' && s[i] != 'f') || (i > 0 && isWord(s[i-1])) {
			continue
		}
		j := i + 1
		for j < len(s) && j-i <= 2 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		if j == i+1 || (j < len(s) && isWord(s[j])) {
			continue
		}
		b.WriteString(s[last:i])
		b.WriteString(riscvRegName(s[i:j]))
		last = j
		i = j - 1
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}

var riscvXNames = [32]string{"zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1",
	"a0", "a1", "a2", "a3", "a4", "a5", "a6", "a7",
	"s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", "s11", "t3", "t4", "t5", "t6"}

var riscvFNames = [32]string{"ft0", "ft1", "ft2", "ft3", "ft4", "ft5", "ft6", "ft7", "fs0", "fs1",
	"fa0", "fa1", "fa2", "fa3", "fa4", "fa5", "fa6", "fa7",
	"fs2", "fs3", "fs4", "fs5", "fs6", "fs7", "fs8", "fs9", "fs10", "fs11", "ft8", "ft9", "ft10", "ft11"}

func riscvRegName(r string) string {
	n, err := strconv.Atoi(r[1:])
	if err != nil || n > 31 {
		return r
	}
	if r[0] == 'x' {
		return riscvXNames[n]
	}
	return riscvFNames[n]
}
