package loadcheck

import (
	"debug/elf"
	"fmt"
)

// x86_64 relocation types apply_relocate_add() accepts
// (arch/x86/kernel/module.c): NONE, 64, PC32, PLT32, 32, 32S, PC64.
var x86Relocs = map[uint32]bool{0: true, 1: true, 2: true, 4: true, 10: true, 11: true, 24: true}

// arm64 relocation types apply_relocate_add() accepts
// (arch/arm64/kernel/module.c).
var arm64Relocs = map[uint32]bool{
	0: true, 256: true, 257: true, 258: true, 259: true, 260: true, 261: true, 262: true,
	263: true, 264: true, 265: true, 266: true, 267: true, 268: true, 269: true,
	270: true, 271: true, 272: true, 287: true, 288: true, 289: true, 290: true, 291: true, 292: true, 293: true,
	273: true, 274: true, 275: true, 276: true, 277: true, 278: true, 284: true, 285: true, 286: true, 299: true,
	279: true, 280: true, 282: true, 283: true,
}

// checkRelocations mirrors apply_relocations(): for every relocation
// section whose target is SHF_ALLOC, REL sections are refused on x86_64 and
// arm64, and RELA entries of a type the architecture does not handle stop
// the load. Only x86_64 and arm64 are modelled.
func (c *run) checkRelocations() *Result {
	f := c.m.ELF
	var known map[uint32]bool
	switch f.Machine {
	case elf.EM_X86_64:
		known = x86Relocs
	case elf.EM_AARCH64:
		known = arm64Relocs
	default:
		c.note("relocations are only checked for x86_64 and arm64 targets")
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
			rs, err := f.Relocs(s)
			if err != nil {
				c.note("relocation section %s: %v", s.Name, err)
				continue
			}
			for _, r := range rs {
				if known[r.Type] {
					continue
				}
				if f.Machine == elf.EM_X86_64 {
					c.msg("module: %s: Unknown rela relocation: %d", c.mod, r.Type)
				} else if c.t.AtLeast(6, 4) {
					c.msg("Modules: module %s: unsupported RELA relocation: %d", c.mod, r.Type)
				} else {
					c.msg("module %s: unsupported RELA relocation: %d", c.mod, r.Type)
				}
				return c.fail(CheckRelocation, "ENOEXEC", fmt.Sprintf("%s (type %d in %s)", hint, r.Type, s.Name))
			}
		}
	}
	return nil
}
