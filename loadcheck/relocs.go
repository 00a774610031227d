package loadcheck

import (
	"debug/elf"
	"fmt"

	"github.com/kmodscope/kmodscope/elfx"
)

// x86_64 relocation types apply_relocate_add() accepts
// (arch/x86/kernel/module.c): NONE, 64, PC32, PLT32, 32, 32S, PC64.
var x86Relocs = relocSet{0: true, 1: true, 2: true, 4: true, 10: true, 11: true, 24: true}

// arm64 relocation types apply_relocate_add() accepts
// (arch/arm64/kernel/module.c).
var arm64Relocs = relocSet{
	0: true, 256: true, 257: true, 258: true, 259: true, 260: true, 261: true, 262: true,
	263: true, 264: true, 265: true, 266: true, 267: true, 268: true, 269: true,
	270: true, 271: true, 272: true, 287: true, 288: true, 289: true, 290: true, 291: true, 292: true, 293: true,
	273: true, 274: true, 275: true, 276: true, 277: true, 278: true, 284: true, 285: true, 286: true, 299: true,
	279: true, 280: true, 282: true, 283: true,
}

// s390x relocation types apply_rela() handles (arch/s390/kernel/module.c,
// the same in 6.1 and 6.12): the direct, PC-relative, GOT, PLT and GOTOFF
// families. R_390_COPY, GLOB_DAT, JMP_SLOT and RELATIVE (shared-object
// relocations) are refused without a message (s390Silent); every other
// type prints "module %s: unknown relocation: %u".
var s390Relocs = func() relocSet {
	m := relocSet{}
	for _, r := range []elf.R_390{
		elf.R_390_NONE, elf.R_390_8, elf.R_390_12, elf.R_390_16, elf.R_390_20, elf.R_390_32, elf.R_390_64,
		elf.R_390_PC16, elf.R_390_PC16DBL, elf.R_390_PC32DBL, elf.R_390_PC32, elf.R_390_PC64,
		elf.R_390_GOT12, elf.R_390_GOT16, elf.R_390_GOT20, elf.R_390_GOT32, elf.R_390_GOT64, elf.R_390_GOTENT,
		elf.R_390_GOTPLT12, elf.R_390_GOTPLT16, elf.R_390_GOTPLT20, elf.R_390_GOTPLT32, elf.R_390_GOTPLT64, elf.R_390_GOTPLTENT,
		elf.R_390_PLT16DBL, elf.R_390_PLT32DBL, elf.R_390_PLT32, elf.R_390_PLT64,
		elf.R_390(34), elf.R_390(35), elf.R_390(36), // PLTOFF16, PLTOFF32, PLTOFF64 (no Go names)
		elf.R_390_GOTOFF16, elf.R_390_GOTOFF, elf.R_390_GOTOFF64, elf.R_390_GOTPC, elf.R_390_GOTPCDBL,
	} {
		m[uint32(r)] = true
	}
	return m
}()

var s390Silent = map[uint32]bool{
	uint32(elf.R_390_COPY): true, uint32(elf.R_390_GLOB_DAT): true,
	uint32(elf.R_390_JMP_SLOT): true, uint32(elf.R_390_RELATIVE): true,
}

// checkRelocations mirrors apply_relocations(): for every relocation
// section whose target is SHF_ALLOC, REL sections are refused on x86_64,
// arm64 and s390x, and RELA entries of a type the architecture does not
// handle stop the load. x86_64, arm64 and s390x are modelled.
func (c *run) checkRelocations() *Result {
	f := c.m.ELF
	var known relocSet
	switch f.Machine {
	case elf.EM_X86_64:
		known = x86Relocs
	case elf.EM_AARCH64:
		known = arm64Relocs
	case elf.EM_S390:
		known = s390Relocs
	default:
		c.note("relocations are only checked for x86_64, arm64 and s390x targets")
		return nil
	}
	hint := "the module uses a relocation the target kernel cannot apply: rebuild it with the kernel's compiler flags (-mcmodel=kernel, no GOT)"
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if int(s.Info) >= len(f.Sections) || s.Info == 0 && s.Type != elf.SHT_REL && s.Type != elf.SHT_RELA {
			continue
		}
		tgt := &f.Sections[s.Info]
		if tgt.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		if s.Flags&0x00100000 != 0 { // SHF_RELA_LIVEPATCH
			continue
		}
		switch s.Type {
		case elf.SHT_REL:
			c.msg("module %s: REL relocation unsupported", c.mod)
			return c.fail(CheckRelocation, "ENOEXEC", hint)
		case elf.SHT_RELA:
			typ, bad, err := firstUnknownRela(f, s, known)
			if err != nil {
				c.note("relocation section %s: %v", s.Name, err)
				continue
			}
			if bad {
				switch {
				case f.Machine == elf.EM_X86_64:
					c.msg("module: %s: Unknown rela relocation: %d", c.mod, typ)
				case f.Machine == elf.EM_S390:
					if !s390Silent[typ] {
						c.msg("module %s: unknown relocation: %d", c.mod, typ)
					}
				case c.t.AtLeast(6, 4):
					c.msg("Modules: module %s: unsupported RELA relocation: %d", c.mod, typ)
				default:
					c.msg("module %s: unsupported RELA relocation: %d", c.mod, typ)
				}
				return c.fail(CheckRelocation, "ENOEXEC", fmt.Sprintf("%s (type %d in %s)", hint, typ, s.Name))
			}
		}
	}
	return nil
}

// relocSet is a set of relocation types.
type relocSet map[uint32]bool

// firstUnknownRela returns the type of the first entry of the SHT_RELA
// section s whose type is not in known, as f.Relocs(s) would decode it
// (without decoding the rest: a module has tens of thousands of
// relocations). Its errors are f.Relocs's.
func firstUnknownRela(f *elfx.File, s *elfx.Section, known relocSet) (uint32, bool, error) {
	ent := uint64(12)
	if f.Is64() {
		ent = 24
	}
	raw, err := f.SectionData(s)
	if err != nil || s.Size%ent != 0 || uint64(len(raw)) != s.Size || f.Is64() && f.Machine == elf.EM_MIPS {
		rs, err := f.Relocs(s)
		if err != nil {
			return 0, false, err
		}
		for _, r := range rs {
			if !known[r.Type] {
				return r.Type, true, nil
			}
		}
		return 0, false, nil
	}
	bo := f.ByteOrder
	// The types seen so far, all known (a module uses a handful).
	var last [4]uint32
	nl := 0
next:
	for off := uint64(0); off < s.Size; off += ent {
		var t uint32
		if ent == 24 {
			t = uint32(bo.Uint64(raw[off+8:]))
		} else {
			t = bo.Uint32(raw[off+4:]) & 0xff
		}
		for _, k := range last[:nl] {
			if k == t {
				continue next
			}
		}
		if !known[t] {
			return t, true, nil
		}
		if nl < len(last) {
			last[nl] = t
			nl++
		} else {
			last[off/ent%4] = t
		}
	}
	return 0, false, nil
}
