package disasm

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"strings"

	"golang.org/x/arch/arm64/arm64asm"
)

// arm64Arch decodes AArch64 (always 4-byte little-endian instruction words)
// with arm64asm and rewrites its GNU syntax to binutils 2.40's. In front
// of arm64asm sit the encodings it lacks or spells differently: the
// pointer-authentication and BTI hints and the LSE atomics.
type arm64Arch struct{}

func init() {
	registerArch(elf.EM_AARCH64, func(elf.Class, binary.ByteOrder, uint32) Arch { return arm64Arch{} })
}

func (arm64Arch) Decode(code []byte, pc uint64, sym Symbolizer) Inst {
	return arm64Decode(code, pc, 0, sym)
}

// DecodeReloc implements RelocDecoder.
func (arm64Arch) DecodeReloc(code []byte, symValue uint64, sym Symbolizer) Inst {
	return arm64Decode(code, 0, symValue, sym)
}

func arm64Decode(code []byte, pc, bias uint64, sym Symbolizer) Inst {
	if len(code) < 4 {
		return unknownBytes(code)
	}
	w := binary.LittleEndian.Uint32(code)
	if in, ok := arm64Extra(w); ok {
		in.Len, in.Known = 4, true
		return in
	}
	inst, err := arm64asm.Decode(code[:4])
	if err != nil {
		return unknownWord(code, 4, binary.LittleEndian, ".inst")
	}
	mn, ops := splitAsm(arm64asm.GNUSyntax(inst))
	for _, a := range inst.Args {
		if a == nil {
			break
		}
		switch r := a.(type) {
		case arm64asm.PCRel:
			// arm64asm prints ".+0x10"; objdump the absolute target.
			t := pc + uint64(int64(r))
			if inst.Op == arm64asm.ADRP {
				t = pc&^0xfff + uint64(int64(r))
			}
			ops = strings.Replace(ops, strings.ToLower(r.String()), archTarget(t+bias, sym), 1)
		case arm64asm.Systemreg:
			k := [5]uint8{uint8(2 + w>>19&1), uint8(w >> 16 & 7), uint8(w >> 12 & 15), uint8(w >> 8 & 15), uint8(w >> 5 & 7)}
			if name, ok := arm64Sysregs[k]; ok {
				ops = strings.Replace(ops, strings.ToLower(r.String()), name, 1)
			}
		}
	}
	ops = arm64Spaces(ops)
	return Inst{Len: 4, Mnemonic: mn, Operands: ops + arm64Comment(mn, ops), Known: true}
}

// arm64BranchAlias and arm64CondAlias are objdump's comments naming the
// SVE aliases of a condition.
var arm64BranchAlias = map[string]string{
	"eq": "b.none", "ne": "b.any", "cs": "b.hs, b.nlast", "hs": "b.hs, b.nlast",
	"cc": "b.lo, b.ul, b.last", "lo": "b.lo, b.ul, b.last", "mi": "b.first", "pl": "b.nfrst",
	"hi": "b.pmore", "ls": "b.plast", "ge": "b.tcont", "lt": "b.tstop",
}

var arm64CondAlias = map[string]string{
	"eq": "none", "ne": "any", "cs": "hs, nlast", "hs": "hs, nlast", "cc": "lo, ul, last", "lo": "lo, ul, last",
	"mi": "first", "pl": "nfrst", "hi": "pmore", "ls": "plast", "ge": "tcont", "lt": "tstop",
}

var arm64CondOps = map[string]bool{"csel": true, "csinc": true, "csinv": true, "csneg": true, "cset": true,
	"csetm": true, "cinc": true, "cinv": true, "cneg": true, "ccmp": true, "ccmn": true, "fcsel": true,
	"fccmp": true, "fccmpe": true}

// arm64Comment returns objdump's trailing comment: the decimal value of a
// mov immediate (the immediate padded to 23 columns first), the SVE
// aliases of a branch or select condition.
func arm64Comment(mn, ops string) string {
	switch {
	case strings.HasPrefix(mn, "b.") && len(mn) == 4:
		if a, ok := arm64BranchAlias[mn[2:]]; ok {
			return "  // " + a
		}
	case arm64CondOps[mn]:
		i := strings.LastIndex(ops, ", ")
		if a, ok := arm64CondAlias[ops[i+2:]]; ok && i >= 0 {
			return "\t// " + ops[i+2:] + " = " + a
		}
	case mn == "mov":
		i := strings.Index(ops, ", #")
		if i < 0 || strings.Contains(ops[i+3:], ",") {
			break
		}
		var v uint64
		if _, err := fmt.Sscanf(ops[i+3:], "0x%x", &v); err != nil {
			break
		}
		d := int64(v)
		if ops[0] == 'w' {
			d = int64(int32(uint32(v)))
		}
		imm := ops[i+2:]
		return strings.Repeat(" ", max(0, 23-len(imm))) + fmt.Sprintf("\t// #%d", d)
	}
	return ""
}

// arm64Spaces turns "[sp,#-16]!" into "[sp, #-16]!".
func arm64Spaces(s string) string {
	if !strings.Contains(s, ",") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		b.WriteByte(s[i])
		if s[i] == ',' && i+1 < len(s) && s[i+1] != ' ' {
			b.WriteByte(' ')
		}
	}
	return b.String()
}

// arm64Hints are the HINT #imm encodings objdump names.
var arm64Hints = map[uint32][2]string{
	0x07: {"xpaclri", ""}, 0x08: {"pacia1716", ""}, 0x0a: {"pacib1716", ""},
	0x0c: {"autia1716", ""}, 0x0e: {"autib1716", ""},
	0x10: {"esb", ""}, 0x11: {"psb", "csync"}, 0x12: {"tsb", "csync"}, 0x14: {"csdb", ""},
	0x18: {"paciaz", ""}, 0x19: {"paciasp", ""}, 0x1a: {"pacibz", ""}, 0x1b: {"pacibsp", ""},
	0x1c: {"autiaz", ""}, 0x1d: {"autiasp", ""}, 0x1e: {"autibz", ""}, 0x1f: {"autibsp", ""},
	0x20: {"bti", ""}, 0x22: {"bti", "c"}, 0x24: {"bti", "j"}, 0x26: {"bti", "jc"},
}

// arm64Extra decodes what arm64asm lacks or spells differently.
func arm64Extra(w uint32) (Inst, bool) {
	if w&0xfffff01f == 0xd503201f { // HINT #imm
		if h, ok := arm64Hints[(w>>5)&0x7f]; ok {
			return Inst{Mnemonic: h[0], Operands: h[1]}, true
		}
		return Inst{}, false
	}
	size := w >> 30
	rs, rn, rt := (w>>16)&31, (w>>5)&31, w&31
	reg := func(r uint32, x bool) string {
		switch {
		case r == 31 && x:
			return "xzr"
		case r == 31:
			return "wzr"
		case x:
			return fmt.Sprintf("x%d", r)
		}
		return fmt.Sprintf("w%d", r)
	}
	base := "[sp]"
	if rn != 31 {
		base = fmt.Sprintf("[x%d]", rn)
	}
	sfx := [4]string{"b", "h", "", ""}[size]
	x := size == 3
	// LSE atomic memory operations: size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt.
	if w&0x3f200c00 == 0x38200000 {
		a, r := w>>23&1, w>>22&1
		o3, opc := w>>15&1, w>>12&7
		ord := [2][2]string{{"", "l"}, {"a", "al"}}[a][r]
		var op string
		switch {
		case o3 == 0:
			op = [8]string{"add", "clr", "eor", "set", "smax", "smin", "umax", "umin"}[opc]
		case opc == 0:
			return Inst{Mnemonic: "swp" + ord + sfx, Operands: reg(rs, x) + ", " + reg(rt, x) + ", " + base}, true
		default:
			return Inst{}, false
		}
		if rt == 31 && a == 0 {
			return Inst{Mnemonic: "st" + op + ord + sfx, Operands: reg(rs, x) + ", " + base}, true
		}
		return Inst{Mnemonic: "ld" + op + ord + sfx, Operands: reg(rs, x) + ", " + reg(rt, x) + ", " + base}, true
	}
	// CAS: size 001000 1 L 1 Rs o0 11111 Rn Rt.
	if w&0x3fa07c00 == 0x08a07c00 {
		ord := [2][2]string{{"", "l"}, {"a", "al"}}[w>>22&1][w>>15&1]
		return Inst{Mnemonic: "cas" + ord + sfx, Operands: reg(rs, x) + ", " + reg(rt, x) + ", " + base}, true
	}
	// CASP: 0 sz 001000 0 L 1 Rs o0 11111 Rn Rt (Rs and Rt even).
	if w&0xbfa07c00 == 0x08207c00 && rs&1 == 0 && rt&1 == 0 {
		ord := [2][2]string{{"", "l"}, {"a", "al"}}[w>>22&1][w>>15&1]
		x := w>>30&1 == 1
		return Inst{Mnemonic: "casp" + ord, Operands: reg(rs, x) + ", " + reg(rs+1, x) + ", " + reg(rt, x) + ", " + reg(rt+1, x) + ", " + base}, true
	}
	return Inst{}, false
}

// arm64Sysregs names the system registers kernel code reads and writes,
// keyed by op0, op1, CRn, CRm, op2, as binutils spells them.
var arm64Sysregs = map[[5]uint8]string{
	{3, 0, 4, 1, 0}:   "sp_el0",
	{3, 0, 4, 6, 0}:   "icc_pmr_el1",
	{3, 4, 13, 0, 2}:  "tpidr_el2",
	{3, 0, 13, 0, 4}:  "tpidr_el1",
	{3, 3, 13, 0, 2}:  "tpidr_el0",
	{3, 3, 13, 0, 3}:  "tpidrro_el0",
	{3, 3, 4, 2, 1}:   "daif",
	{3, 3, 4, 2, 0}:   "nzcv",
	{3, 0, 4, 2, 2}:   "currentel",
	{3, 3, 4, 4, 0}:   "fpcr",
	{3, 3, 4, 4, 1}:   "fpsr",
	{3, 0, 1, 0, 0}:   "sctlr_el1",
	{3, 0, 1, 0, 2}:   "cpacr_el1",
	{3, 0, 2, 0, 0}:   "ttbr0_el1",
	{3, 0, 2, 0, 1}:   "ttbr1_el1",
	{3, 0, 2, 0, 2}:   "tcr_el1",
	{3, 0, 4, 0, 0}:   "spsr_el1",
	{3, 0, 4, 0, 1}:   "elr_el1",
	{3, 0, 5, 2, 0}:   "esr_el1",
	{3, 0, 6, 0, 0}:   "far_el1",
	{3, 0, 7, 4, 0}:   "par_el1",
	{3, 0, 10, 2, 0}:  "mair_el1",
	{3, 0, 12, 0, 0}:  "vbar_el1",
	{3, 0, 13, 0, 1}:  "contextidr_el1",
	{3, 0, 0, 0, 0}:   "midr_el1",
	{3, 0, 0, 0, 5}:   "mpidr_el1",
	{3, 0, 0, 0, 6}:   "revidr_el1",
	{3, 3, 0, 0, 1}:   "ctr_el0",
	{3, 3, 0, 0, 7}:   "dczid_el0",
	{3, 0, 0, 4, 0}:   "id_aa64pfr0_el1",
	{3, 0, 0, 4, 1}:   "id_aa64pfr1_el1",
	{3, 0, 0, 5, 0}:   "id_aa64dfr0_el1",
	{3, 0, 0, 6, 0}:   "id_aa64isar0_el1",
	{3, 0, 0, 6, 1}:   "id_aa64isar1_el1",
	{3, 0, 0, 6, 2}:   "id_aa64isar2_el1",
	{3, 0, 0, 7, 0}:   "id_aa64mmfr0_el1",
	{3, 0, 0, 7, 1}:   "id_aa64mmfr1_el1",
	{3, 0, 0, 7, 2}:   "id_aa64mmfr2_el1",
	{3, 3, 14, 0, 0}:  "cntfrq_el0",
	{3, 3, 14, 0, 1}:  "cntpct_el0",
	{3, 3, 14, 0, 2}:  "cntvct_el0",
	{3, 3, 14, 0, 5}:  "cntpctss_el0",
	{3, 3, 14, 0, 6}:  "cntvctss_el0",
	{3, 3, 14, 2, 0}:  "cntp_tval_el0",
	{3, 3, 14, 2, 1}:  "cntp_ctl_el0",
	{3, 3, 14, 2, 2}:  "cntp_cval_el0",
	{3, 3, 14, 3, 0}:  "cntv_tval_el0",
	{3, 3, 14, 3, 1}:  "cntv_ctl_el0",
	{3, 3, 14, 3, 2}:  "cntv_cval_el0",
	{3, 0, 14, 1, 0}:  "cntkctl_el1",
	{3, 3, 9, 12, 0}:  "pmcr_el0",
	{3, 3, 9, 12, 1}:  "pmcntenset_el0",
	{3, 3, 9, 12, 2}:  "pmcntenclr_el0",
	{3, 3, 9, 12, 3}:  "pmovsclr_el0",
	{3, 3, 9, 12, 4}:  "pmswinc_el0",
	{3, 3, 9, 12, 5}:  "pmselr_el0",
	{3, 3, 9, 12, 6}:  "pmceid0_el0",
	{3, 3, 9, 12, 7}:  "pmceid1_el0",
	{3, 3, 9, 13, 0}:  "pmccntr_el0",
	{3, 3, 9, 13, 1}:  "pmxevtyper_el0",
	{3, 3, 9, 13, 2}:  "pmxevcntr_el0",
	{3, 3, 9, 14, 0}:  "pmuserenr_el0",
	{3, 0, 9, 14, 1}:  "pmintenset_el1",
	{3, 0, 9, 14, 2}:  "pmintenclr_el1",
	{3, 3, 9, 14, 3}:  "pmovsset_el0",
	{3, 3, 14, 15, 7}: "pmccfiltr_el0",
	{3, 0, 12, 12, 0}: "icc_iar1_el1",
	{3, 0, 12, 12, 1}: "icc_eoir1_el1",
	{3, 0, 12, 12, 3}: "icc_bpr1_el1",
	{3, 0, 12, 12, 4}: "icc_ctlr_el1",
	{3, 0, 12, 12, 5}: "icc_sre_el1",
	{3, 0, 12, 12, 6}: "icc_igrpen0_el1",
	{3, 0, 12, 12, 7}: "icc_igrpen1_el1",
	{3, 0, 12, 11, 3}: "icc_rpr_el1",
	{3, 0, 12, 11, 5}: "icc_sgi1r_el1",
	{3, 0, 12, 8, 0}:  "icc_iar0_el1",
	{3, 0, 12, 8, 1}:  "icc_eoir0_el1",
	{3, 0, 12, 11, 1}: "icc_dir_el1",
	{3, 0, 9, 9, 0}:   "pmscr_el1",
	{3, 0, 9, 10, 0}:  "pmblimitr_el1",
	{3, 0, 9, 10, 1}:  "pmbptr_el1",
	{3, 0, 9, 10, 3}:  "pmbsr_el1",
	{3, 0, 9, 10, 7}:  "pmbidr_el1",
	{3, 0, 2, 4, 1}:   "rndrrs",
	{3, 3, 2, 4, 0}:   "rndr",
	{3, 4, 1, 1, 0}:   "hcr_el2",
	{3, 4, 4, 0, 0}:   "spsr_el2",
	{3, 4, 4, 0, 1}:   "elr_el2",
	{3, 4, 5, 2, 0}:   "esr_el2",
	{3, 4, 6, 0, 0}:   "far_el2",
	{3, 4, 6, 0, 4}:   "hpfar_el2",
	{3, 4, 2, 1, 0}:   "vttbr_el2",
	{3, 4, 2, 1, 2}:   "vtcr_el2",
	{3, 4, 0, 0, 5}:   "vmpidr_el2",
	{3, 4, 0, 0, 0}:   "vpidr_el2",
	{3, 4, 1, 1, 1}:   "mdcr_el2",
	{3, 4, 1, 1, 2}:   "cptr_el2",
	{3, 4, 1, 1, 3}:   "hstr_el2",
	{3, 4, 14, 1, 0}:  "cnthctl_el2",
	{3, 4, 14, 0, 3}:  "cntvoff_el2",
	{3, 4, 1, 0, 0}:   "sctlr_el2",
	{3, 4, 12, 0, 0}:  "vbar_el2",
	{3, 4, 2, 0, 0}:   "ttbr0_el2",
	{3, 4, 2, 0, 2}:   "tcr_el2",
	{3, 4, 10, 2, 0}:  "mair_el2",
	{3, 0, 9, 10, 2}:  "pmbsr_el1",
	{3, 0, 2, 1, 0}:   "apiakeylo_el1",
	{3, 0, 2, 1, 1}:   "apiakeyhi_el1",
	{3, 0, 2, 1, 2}:   "apibkeylo_el1",
	{3, 0, 2, 1, 3}:   "apibkeyhi_el1",
	{3, 0, 2, 2, 0}:   "apdakeylo_el1",
	{3, 0, 2, 2, 1}:   "apdakeyhi_el1",
	{3, 0, 2, 2, 2}:   "apdbkeylo_el1",
	{3, 0, 2, 2, 3}:   "apdbkeyhi_el1",
	{3, 0, 2, 3, 0}:   "apgakeylo_el1",
	{3, 0, 2, 3, 1}:   "apgakeyhi_el1",
	{3, 0, 5, 1, 0}:   "afsr0_el1",
	{3, 0, 5, 1, 1}:   "afsr1_el1",
	{3, 0, 10, 3, 0}:  "amair_el1",
	{3, 0, 12, 1, 0}:  "isr_el1",
	{3, 0, 1, 0, 1}:   "actlr_el1",
	{2, 0, 0, 2, 2}:   "mdscr_el1",
	{2, 0, 1, 0, 4}:   "oslar_el1",
	{2, 0, 1, 1, 4}:   "oslsr_el1",
	{2, 0, 1, 3, 4}:   "osdlr_el1",
	{3, 0, 4, 2, 3}:   "pan",
	{3, 0, 4, 2, 4}:   "uao",
	{3, 3, 4, 2, 5}:   "dit",
	{3, 3, 4, 2, 6}:   "ssbs",
	{3, 3, 4, 2, 7}:   "tco",
	{3, 0, 4, 2, 0}:   "spsel",
}
