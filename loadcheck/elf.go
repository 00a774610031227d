package loadcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
)

// shdr is a section header read the way the target kernel reads it.
type shdr struct {
	name, typ   uint32
	flags, addr uint64
	off, size   uint64
	link, info  uint32
}

// checkELF mirrors elf_validity_check() + setup_load_info() (6.1) or
// elf_validity_cache_copy() (6.4–6.12) on the image the loader sees (the
// signature already removed when it verified). Headers are read with the
// target's word size and byte order, as the kernel does: it checks only the
// four magic bytes of e_ident.
func (c *run) checkELF() *Result {
	t := c.t
	machine := t.Machine
	if machine == 0 {
		machine = c.m.ELF.Machine
	}
	c.is64 = machine != elf.EM_386 && machine != elf.EM_ARM && !(machine == elf.EM_MIPS && !c.m.ELF.Is64())
	c.bo = binary.ByteOrder(binary.LittleEndian)
	if machine == elf.EM_S390 || (machine == elf.EM_PPC64 && c.m.ELF.Data == elf.ELFDATA2MSB) {
		c.bo = binary.BigEndian
	}
	d := c.data
	ehsize, shsize := uint64(52), uint64(40)
	if c.is64 {
		ehsize, shsize = 64, 64
	}
	bad := func(format string, a ...any) *Result {
		c.msg(format, a...)
		return c.fail(CheckELF, "ENOEXEC", "the file is not a valid kernel module for this architecture (corrupt, truncated or built for another machine)")
	}
	if uint64(len(d)) < ehsize {
		return bad("Invalid ELF header len %d", len(d))
	}
	if !bytes.Equal(d[:4], []byte(elf.ELFMAG)) {
		return bad("Invalid ELF header magic: != %s", elf.ELFMAG)
	}
	bo := c.bo
	etype := bo.Uint16(d[16:])
	emach := bo.Uint16(d[18:])
	var shoff uint64
	var shentsize, shnum, shstrndx uint16
	if c.is64 {
		shoff = bo.Uint64(d[40:])
		shentsize, shnum, shstrndx = bo.Uint16(d[58:]), bo.Uint16(d[60:]), bo.Uint16(d[62:])
	} else {
		shoff = uint64(bo.Uint32(d[32:]))
		shentsize, shnum, shstrndx = bo.Uint16(d[46:]), bo.Uint16(d[48:]), bo.Uint16(d[50:])
	}
	if etype != uint16(elf.ET_REL) {
		return bad("Invalid ELF header type: %d != %d", etype, elf.ET_REL)
	}
	if elf.Machine(emach) != machine {
		return bad("Invalid architecture in ELF header: %d", emach)
	}
	if uint64(shentsize) != shsize {
		return bad("Invalid ELF section header size")
	}
	n := uint64(len(d))
	if shoff >= n || uint64(shnum)*shsize > n-shoff {
		return bad("Invalid ELF section header overflow")
	}
	if shstrndx == 0 || shstrndx >= shnum {
		return bad("Invalid ELF section name index: %d || e_shstrndx (%d) >= e_shnum (%d)", shstrndx, shstrndx, shnum)
	}
	secs := make([]shdr, shnum)
	for i := range secs {
		h := d[shoff+uint64(i)*shsize:]
		s := &secs[i]
		if c.is64 {
			s.name, s.typ, s.flags, s.addr = bo.Uint32(h), bo.Uint32(h[4:]), bo.Uint64(h[8:]), bo.Uint64(h[16:])
			s.off, s.size, s.link, s.info = bo.Uint64(h[24:]), bo.Uint64(h[32:]), bo.Uint32(h[40:]), bo.Uint32(h[44:])
		} else {
			s.name, s.typ, s.flags, s.addr = bo.Uint32(h), bo.Uint32(h[4:]), uint64(bo.Uint32(h[8:])), uint64(bo.Uint32(h[12:]))
			s.off, s.size, s.link, s.info = uint64(bo.Uint32(h[16:])), uint64(bo.Uint32(h[20:])), bo.Uint32(h[24:]), bo.Uint32(h[28:])
		}
	}
	inBounds := func(s *shdr) bool {
		end := s.off + s.size
		return end >= s.off && end <= n
	}
	str := &secs[shstrndx]
	if !inBounds(str) {
		return bad("Invalid ELF section hdr(type %d)", str.typ)
	}
	if str.size == 0 {
		return bad("empty section name table")
	}
	if d[str.off+str.size-1] != 0 {
		return bad("ELF Spec violation: section name table isn't null terminated")
	}
	if secs[0].typ != uint32(elf.SHT_NULL) || secs[0].size != 0 || secs[0].addr != 0 {
		return bad("ELF Spec violation: section 0 type(%d)!=SH_NULL or non-zero len or addr", secs[0].typ)
	}
	for i := 1; i < len(secs); i++ {
		s := &secs[i]
		if s.typ == uint32(elf.SHT_NULL) || s.typ == uint32(elf.SHT_NOBITS) {
			continue
		}
		if s.typ == uint32(elf.SHT_SYMTAB) && (s.link == 0 || s.link >= uint32(shnum)) {
			return bad("Invalid ELF sh_link!=SHN_UNDEF(%d) or (sh_link(%d) >= hdr->e_shnum(%d)", s.link, s.link, shnum)
		}
		if !inBounds(s) {
			return bad("Invalid ELF section in module (section %d type %d)", i, s.typ)
		}
		if s.flags&uint64(elf.SHF_ALLOC) != 0 && uint64(s.name) >= str.size {
			return bad("Invalid ELF section name in module (section %d type %d)", i, s.typ)
		}
	}
	// The loader's view is consistent with ours from here on: re-read the
	// image with elfx (it bounds-checks everything the same way).
	f, err := elfx.New(d)
	if err != nil {
		return bad("%v", err)
	}
	m := &ko.Module{ELF: f}
	c.m = m
	return c.loadInfo()
}

// loadInfo mirrors setup_load_info() (6.1) / the index part of
// elf_validity_cache_copy() (6.4+).
func (c *run) loadInfo() *Result {
	modern := c.t.AtLeast(6, 4)
	f := c.m.ELF
	var modinfo, thisMod *elfx.Section
	nModinfo, nThis, nSym := 0, 0, 0
	var symtab *elfx.Section
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Type == elf.SHT_NULL || s.Type == elf.SHT_NOBITS {
			if modern {
				continue
			}
		}
		if s.Type == elf.SHT_SYMTAB {
			nSym++
			if symtab == nil {
				symtab = s
			}
		}
		alloc := s.Flags&elf.SHF_ALLOC != 0
		switch s.Name {
		case ".modinfo":
			if modern || alloc {
				nModinfo++
				if modinfo == nil {
					modinfo = s
				}
			}
		case ".gnu.linkonce.this_module":
			if modern && s.Type != elf.SHT_NOBITS || !modern && alloc {
				nThis++
				if thisMod == nil {
					thisMod = s
				}
			}
		}
	}
	if modern && nModinfo > 1 {
		c.msg("Only one .modinfo section must exist.")
		return c.fail(CheckLoadInfo, "ENOEXEC", "the module is built wrongly: rebuild it")
	}
	if modinfo != nil {
		b, _ := f.SectionData(modinfo)
		c.kvs = ko.ParseModinfo(b)
		c.name, _ = ko.Get(c.kvs, "name")
	}
	nameOr := c.name
	if nameOr == "" {
		nameOr = "(missing .modinfo section or name field)"
	}
	if symtab == nil || (modern && nSym != 1) {
		c.msg("%s: module has no symbols (stripped?)", nameOr)
		return c.fail(CheckLoadInfo, "ENOEXEC", "the module was stripped of its symbol table: use the unstripped .ko")
	}
	if thisMod == nil || (modern && nThis != 1) {
		if modern {
			c.msg("module %s: Only one .gnu.linkonce.this_module section must exist.", nameOr)
		} else {
			c.msg("%s: No module found in object", nameOr)
		}
		return c.fail(CheckLoadInfo, "ENOEXEC", "the file is an object without struct module: link it as a kernel module (Kbuild)")
	}
	if modern {
		if thisMod.Flags&elf.SHF_ALLOC == 0 {
			c.msg("module %s: .gnu.linkonce.this_module must occupy memory during process execution", nameOr)
			return c.fail(CheckLoadInfo, "ENOEXEC", "the module is built wrongly: rebuild it")
		}
		if want := c.t.ModuleStructSize; want != 0 && thisMod.Size != want {
			c.msg("module %s: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time", nameOr)
			return c.fail(CheckModuleStructSize, "ENOEXEC", "the module was built for a kernel with a different struct module: rebuild it against the target's headers")
		}
	}
	if tm, err := c.m.ThisModule(); err == nil && tm.Name != "" {
		c.mod = tm.Name
		c.r.Module = tm.Name
	}
	if c.name == "" {
		c.name = c.mod
	}
	// __versions: find_sec, so it must be SHF_ALLOC.
	c.versions = map[string]uint64{}
	for i := 1; i < len(f.Sections); i++ {
		s := &f.Sections[i]
		if s.Name != "__versions" || s.Flags&elf.SHF_ALLOC == 0 {
			continue
		}
		c.hasVersions = true
		b, _ := f.SectionData(s)
		w := f.WordSize()
		for off := 0; off+64 <= len(b); off += 64 {
			crc, _ := f.Uint(b[off:], 0, w)
			name := b[off+w : off+64]
			if j := bytes.IndexByte(name, 0); j >= 0 {
				name = name[:j]
			}
			if _, dup := c.versions[string(name)]; !dup {
				c.versions[string(name)] = crc
			}
		}
		break
	}
	return nil
}
