package loadcheck

import (
	"debug/elf"
	"fmt"
)

const (
	shnCommon    = 0xfff2
	shnAbs       = 0xfff1
	shnLivepatch = 0xff20
)

// simplifySymbols mirrors simplify_symbols() → resolve_symbol(): every
// undefined symbol is looked up in the kernel's and the loaded modules'
// exports (GPL-only ones skipped for a module tainted P), its CRC checked
// against __versions and its namespace against import_ns. Every failure is
// reported; the errno is the last one's.
func (c *run) simplifySymbols() *Result {
	if c.t.Symvers == nil {
		c.partial = "the target has no Module.symvers"
		return c.stopPartial("module_layout, symbol resolution, relocations, duplicate exports")
	}
	syms, err := c.m.ELF.Symbols()
	if err != nil {
		c.partial = "kmodscope cannot read the symbol table (" + err.Error() + ")"
		return c.stopPartial("symbol resolution, relocations, duplicate exports")
	}
	imports := map[string]bool{}
	for _, kv := range c.kvs {
		if kv.Key == "import_ns" {
			imports[kv.Value] = true
		}
	}
	shnum := uint32(len(c.m.ELF.Sections))
	gplok := !c.taints['P']
	lastErrno, lastCheck, lastHint := "", "", ""
	for i := 1; i < len(syms); i++ {
		s := &syms[i]
		switch {
		case s.Shndx == shnCommon:
			if len(s.Name) >= 9 && s.Name[:9] == "__gnu_lto" {
				continue
			}
			c.msg("%s: please compile with -fno-common", c.mod)
			lastErrno, lastCheck, lastHint = "ENOEXEC", CheckCommonSymbol, "rebuild with -fno-common"
		case s.Shndx == shnAbs || s.Shndx == shnLivepatch:
		case s.Shndx == uint32(elf.SHN_UNDEF):
			if s.Name == "" {
				continue
			}
			e := c.k.export(s.Name)
			gplBlocked := false
			if e != nil && e.gplOnly && !gplok {
				e, gplBlocked = nil, true
			}
			if e == nil {
				if s.Bind() == elf.STB_WEAK || (s.Name == "_GLOBAL_OFFSET_TABLE_" && (c.m.ELF.Machine == elf.EM_X86_64 || c.m.ELF.Machine == elf.EM_386)) {
					continue
				}
				c.msg("%s: Unknown symbol %s (err -2)", c.mod, s.Name)
				lastErrno, lastCheck = "ENOENT", CheckUnknownSymbol
				lastHint = fmt.Sprintf("%s is not exported by the target kernel or a loaded module: load the module that provides it first (kmodscope check --with-deps), or rebuild against the target", s.Name)
				if gplBlocked {
					lic, _ := c.get("license")
					lastCheck = CheckGPLOnlySymbol
					lastHint = fmt.Sprintf("%s is exported GPL-only and the module's license %q is not GPL-compatible: change MODULE_LICENSE or stop using it", s.Name, lic)
				}
				continue
			}
			if !c.checkVersion(s.Name, e.crc, e.hasCRC) {
				c.msg("%s: Unknown symbol %s (err -22)", c.mod, s.Name)
				lastErrno, lastCheck = "EINVAL", c.verFail
				if c.verFail == CheckSymbolCRC {
					lastHint = fmt.Sprintf("the module was built against a different %s (CRC mismatch): rebuild it against the target's headers and Module.symvers", s.Name)
				} else {
					lastHint = fmt.Sprintf("__versions has no entry for %s: rebuild the module with the target's Module.symvers", s.Name)
				}
				continue
			}
			if e.namespace != "" && !imports[e.namespace] {
				if c.t.Has("MODULE_ALLOW_MISSING_NAMESPACE_IMPORTS") {
					c.msg("%s: module uses symbol (%s) from namespace %s, but does not import it.", c.mod, s.Name, e.namespace)
					continue
				}
				c.msg("%s: module uses symbol (%s) from namespace %s, but does not import it.", c.mod, s.Name, e.namespace)
				c.msg("%s: Unknown symbol %s (err -22)", c.mod, s.Name)
				lastErrno, lastCheck = "EINVAL", CheckSymbolNamespace
				lastHint = fmt.Sprintf("add MODULE_IMPORT_NS(%s) to the module and rebuild", e.namespace)
				continue
			}
		default:
			if s.Shndx >= shnum {
				c.msg("%s: Symbol %s has an invalid section index %d (max %d)", c.mod, s.Name, s.Shndx, shnum-1)
				lastErrno, lastCheck, lastHint = "ENOEXEC", CheckSymbolSection, "the symbol table is corrupt: rebuild the module"
			}
		}
	}
	if lastErrno != "" {
		return c.fail(lastCheck, lastErrno, lastHint)
	}
	return nil
}
