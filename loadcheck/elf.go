package loadcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"

	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck/elfcheck"
)

// elfForm returns the form of the target's ELF validation.
func (c *run) elfForm() elfcheck.Form {
	v := c.t.Version
	return elfcheck.FormFor(v[0], v[1], v[2])
}

// checkELF runs the kernel's validation of the raw bytes (package
// elfcheck: elf_validity_check() + setup_load_info() on 6.1, the
// elf_validity_cache_* functions on 6.4+) on the image the loader sees (the
// signature already removed when it verified), then reads the module with
// kmodscope's ELF reader for the later checks. When the kernel's checks
// pass but the reader cannot read the file, the load goes on with what the
// raw bytes tell (c.m stays nil; check() stops before the checks that need
// the reader and says so).
func (c *run) checkELF() *Result {
	t := c.t
	d := c.data
	machine := t.Machine
	if machine == 0 && len(d) >= 20 {
		machine = elf.Machine(binary.LittleEndian.Uint16(d[18:]))
		if len(d) > elf.EI_DATA && d[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
			machine = elf.Machine(binary.BigEndian.Uint16(d[18:]))
		}
	}
	c.machine = machine
	classOf := func() elf.Class {
		if len(d) > elf.EI_CLASS {
			return elf.Class(d[elf.EI_CLASS])
		}
		return elf.ELFCLASS64
	}
	c.is64 = machine != elf.EM_386 && machine != elf.EM_ARM && !(machine == elf.EM_MIPS && classOf() != elf.ELFCLASS64)
	c.bo = binary.ByteOrder(binary.LittleEndian)
	if machine == elf.EM_S390 || machine == elf.EM_PPC64 && len(d) > elf.EI_DATA && d[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		c.bo = binary.BigEndian
	}
	p := elfcheck.Params{Form: c.elfForm(), Machine: machine, Is64: c.is64, Order: c.bo}
	if p.Form != elfcheck.Form61 {
		p.ModuleStructSize = t.ModuleStructSize
	}
	res := elfcheck.Check(d, p)
	for _, m := range res.Messages {
		c.msg("%s", m)
	}
	if res.Crash != "" {
		c.r.Crash = res.Crash
		return c.fail(CheckKernelCrash, "", "the module is corrupt: the target kernel would not refuse it cleanly but read out of bounds; do not load it")
	}
	if !res.OK {
		hint := "the file is not a valid kernel module for this architecture (corrupt, truncated or built for another machine)"
		switch res.Check {
		case elfcheck.CheckLoadInfo:
			hint = "the file is not a complete kernel module (stripped, or not linked with Kbuild): rebuild it or use the original .ko"
		case elfcheck.CheckModuleStructSize:
			hint = "the module was built for a kernel with a different struct module: rebuild it against the target's headers"
		}
		return c.fail(res.Check, res.Errno, hint)
	}
	for _, n := range res.Notes {
		c.note("%s", n)
	}
	c.raw = res
	c.name = res.Name
	if res.ModName != "" {
		c.mod = res.ModName
		c.r.Module = res.ModName
	}
	if res.Index.Info != 0 {
		for _, s := range res.Modinfo {
			k, v, _ := bytes.Cut([]byte(s), []byte("="))
			c.kvs = append(c.kvs, ko.KV{Key: string(k), Value: string(v)})
		}
	}
	// __versions: find_sec (SHF_ALLOC), struct modversion_info entries.
	c.versions = map[string]uint64{}
	if res.Index.Vers != 0 {
		c.hasVersions = true
		b := res.SectionData(d, res.Index.Vers)
		w, ent := 8, 64
		if !c.is64 {
			w = 4
		}
		for off := 0; off+ent <= len(b); off += ent {
			var crc uint64
			if w == 8 {
				crc = c.bo.Uint64(b[off:])
			} else {
				crc = uint64(c.bo.Uint32(b[off:]))
			}
			name := b[off+w : off+ent]
			if j := bytes.IndexByte(name, 0); j >= 0 {
				name = name[:j]
			}
			if _, dup := c.versions[string(name)]; !dup {
				c.versions[string(name)] = crc
			}
		}
		if len(b)%ent != 0 {
			c.note("__versions is %d bytes, not a multiple of %d: the kernel ignores the partial last entry", len(b), ent)
		}
	}
	// kmodscope's reader for everything after the ELF stage.
	f, err := elfx.New(d)
	if err != nil {
		c.partial = "kmodscope's ELF reader cannot read the file (" + err.Error() + ") although the kernel's ELF checks accept it"
		return nil
	}
	c.m = &ko.Module{ELF: f}
	return nil
}
