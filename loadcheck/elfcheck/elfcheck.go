// Package elfcheck is the kernel's own validation of a module's raw ELF
// bytes, the first thing load_module() does after the signature check:
// v6.1's elf_validity_check() + setup_load_info(), v6.4–v6.12.116's
// elf_validity_cache_copy() in one piece, and the split
// elf_validity_cache_*() functions of v6.13 (backported, with the 2026
// "validate string table section types" fix, to 6.12.117 stable, which
// Debian's 6.12.117 ships). It works on bytes any ELF reader might refuse,
// reads them exactly as the kernel does (only the four magic bytes of
// e_ident are looked at; word size and byte order are the target's), prints
// the kernel's messages in its order and words, and reports where the
// kernel itself would read past the end of the image instead of refusing
// it (a likely oops).
//
// It imports nothing of kmodscope: the caller (loadcheck) supplies the
// target's facts.
package elfcheck

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// Form is the shape of the kernel's ELF validation.
type Form int

const (
	// Form61 is v6.1–v6.3: elf_validity_check() then setup_load_info().
	Form61 Form = iota
	// Form64 is v6.4 up to 6.12.116: elf_validity_cache_copy() in one
	// loop (read from the v6.6 source; not booted here).
	Form64
	// Form613 is the split form (elf_validity_cache_sechdrs, _secstrings,
	// _index_info/_mod/_sym/_str) with the SHT_STRTAB type checks, as in
	// Debian's 6.12.117 (and upstream 6.12.117 stable; 6.13+).
	Form613
)

func (f Form) String() string {
	switch f {
	case Form61:
		return "6.1 elf_validity_check+setup_load_info"
	case Form64:
		return "6.4-6.12.116 elf_validity_cache_copy"
	}
	return "6.12.117+/6.13 elf_validity_cache_*"
}

// FormFor returns the form of kernel version maj.min.patch.
func FormFor(maj, min, patch int) Form {
	switch {
	case maj < 6 || maj == 6 && min < 4:
		return Form61
	case maj == 6 && min < 12, maj == 6 && min == 12 && patch < 117:
		return Form64
	}
	return Form613
}

// Params are the target's facts the checks need.
type Params struct {
	Form    Form
	Machine elf.Machine // elf_check_arch(): e_machine must equal this
	Is64    bool
	Order   binary.ByteOrder // nil: little-endian
	// ModuleStructSize is sizeof(struct module) (6.4+ compare it with the
	// size of .gnu.linkonce.this_module); 0 skips the comparison.
	ModuleStructSize uint64
	// IgnoreModversions is MODULE_INIT_IGNORE_MODVERSIONS (insmod -f).
	IgnoreModversions bool
}

// Failure identifiers (what stopped the load); the same strings as
// loadcheck's FailedCheck values.
const (
	CheckELF              = "elf_validity"
	CheckLoadInfo         = "load_info"
	CheckModuleStructSize = "module_struct_size"
)

// Shdr is a section header as the kernel reads it.
type Shdr struct {
	Name        uint32
	Type        uint32
	Flags       uint64
	Addr        uint64
	Offset      uint64
	Size        uint64
	Link, Info  uint32
	Addralign   uint64
	Entsize     uint64
	headerStart uint64
}

// Index holds the section indexes the kernel caches (load_info.index).
type Index struct {
	Info, Mod, Sym, Str, Vers, Pcpu int
}

// Result is the outcome of the ELF stage.
type Result struct {
	// OK: the kernel goes on to the next stage.
	OK bool
	// Messages are the kernel's printk lines (in order).
	Messages []string
	// Errno is "ENOEXEC" when refused.
	Errno string
	// Check is CheckELF, CheckLoadInfo or CheckModuleStructSize when refused.
	Check string
	// Crash is set when the kernel would read beyond the end of the module
	// image (vmalloc'ed) at this stage instead of refusing the module: what
	// it reads, and where. The outcome is then an oops or garbage, not a
	// verdict; OK is false and Messages hold what was printed before.
	Crash string

	// The load_info the kernel built (valid when OK).
	Ehdr struct {
		Type, Machine, Shentsize, Shnum, Shstrndx uint16
		Shoff                                     uint64
	}
	Sections []Shdr
	Index    Index
	// Name is info->name: modinfo's name= (or struct module's name).
	Name string
	// ModName is struct module's name (mod->name) as a C string.
	ModName string
	// Modinfo lists the .modinfo strings the kernel's get_modinfo() walks,
	// each as the C string starting there (which may run past the
	// section), nil without a .modinfo section.
	Modinfo []string
	// Notes are remarks on things the kernel does not check but reads
	// oddly (a value running past its section, a name without NUL).
	Notes []string
}

// SectionName returns the name of section i as the kernel's strcmp sees it
// (up to 200 bytes).
func (r *Result) sectionName(data []byte, i int) (string, bool) {
	return cstring(data, r.Sections[r.Ehdr.Shstrndx].Offset+uint64(r.Sections[i].Name), 200)
}

// cstring reads a NUL-terminated string at off; ok is false when it runs
// past the end of data (the kernel would read beyond its buffer). At most
// max bytes are returned.
func cstring(data []byte, off uint64, max int) (string, bool) {
	if off >= uint64(len(data)) {
		return "", false
	}
	b := data[off:]
	if i := bytes.IndexByte(b, 0); i >= 0 {
		b = b[:i]
	} else {
		if len(b) > max {
			b = b[:max]
		}
		return string(b), false
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(b), true
}

const noName = "(missing .modinfo section or name field)"

// Check runs the kernel's ELF validation on data (the image after the
// signature was removed).
func Check(data []byte, p Params) *Result {
	r := &Result{}
	v := &validator{d: data, p: p, r: r, n: uint64(len(data))}
	v.bo = p.Order
	if v.bo == nil {
		v.bo = binary.LittleEndian
	}
	v.ehsize, v.shsize = 52, 40
	if p.Is64 {
		v.ehsize, v.shsize = 64, 64
	}
	var ok bool
	switch p.Form {
	case Form61:
		ok = v.form61()
	case Form64:
		ok = v.form64()
	default:
		ok = v.form613()
	}
	if ok && r.Crash == "" {
		r.OK = true
	}
	return r
}

type validator struct {
	d              []byte
	n              uint64
	p              Params
	r              *Result
	bo             binary.ByteOrder
	ehsize, shsize uint64
	strhdr         *Shdr
	fn             string // the kernel function comparing names (for Crash)
}

func (v *validator) msg(format string, a ...any) {
	v.r.Messages = append(v.r.Messages, fmt.Sprintf(format, a...))
}

// refuse records a refusal with its message and returns false.
func (v *validator) refuse(check, format string, a ...any) bool {
	v.msg(format, a...)
	v.r.Errno, v.r.Check = "ENOEXEC", check
	return false
}

func (v *validator) crash(format string, a ...any) bool {
	v.r.Crash = fmt.Sprintf(format, a...)
	return false
}

// ehdr mirrors the header checks common to every form (elf_validity_ehdr).
func (v *validator) ehdr() bool {
	d := v.d
	if v.n < v.ehsize {
		return v.refuse(CheckELF, "Invalid ELF header len %d", v.n)
	}
	if !bytes.Equal(d[:4], []byte(elf.ELFMAG)) {
		return v.refuse(CheckELF, "Invalid ELF header magic: != %s", elf.ELFMAG)
	}
	h := &v.r.Ehdr
	bo := v.bo
	h.Type, h.Machine = bo.Uint16(d[16:]), bo.Uint16(d[18:])
	if v.p.Is64 {
		h.Shoff = bo.Uint64(d[40:])
		h.Shentsize, h.Shnum, h.Shstrndx = bo.Uint16(d[58:]), bo.Uint16(d[60:]), bo.Uint16(d[62:])
	} else {
		h.Shoff = uint64(bo.Uint32(d[32:]))
		h.Shentsize, h.Shnum, h.Shstrndx = bo.Uint16(d[46:]), bo.Uint16(d[48:]), bo.Uint16(d[50:])
	}
	if h.Type != uint16(elf.ET_REL) {
		return v.refuse(CheckELF, "Invalid ELF header type: %d != %d", h.Type, elf.ET_REL)
	}
	if elf.Machine(h.Machine) != v.p.Machine {
		return v.refuse(CheckELF, "Invalid architecture in ELF header: %d", h.Machine)
	}
	return true
}

// shdrs checks e_shentsize and the table's bounds, then reads it.
func (v *validator) shdrs() bool {
	h := &v.r.Ehdr
	if uint64(h.Shentsize) != v.shsize {
		return v.refuse(CheckELF, "Invalid ELF section header size")
	}
	if h.Shoff >= v.n || uint64(h.Shnum)*v.shsize > v.n-h.Shoff {
		return v.refuse(CheckELF, "Invalid ELF section header overflow")
	}
	v.r.Sections = make([]Shdr, h.Shnum)
	for i := range v.r.Sections {
		off := h.Shoff + uint64(i)*v.shsize
		b := v.d[off:]
		s := &v.r.Sections[i]
		s.headerStart = off
		bo := v.bo
		if v.p.Is64 {
			s.Name, s.Type, s.Flags, s.Addr = bo.Uint32(b), bo.Uint32(b[4:]), bo.Uint64(b[8:]), bo.Uint64(b[16:])
			s.Offset, s.Size, s.Link, s.Info = bo.Uint64(b[24:]), bo.Uint64(b[32:]), bo.Uint32(b[40:]), bo.Uint32(b[44:])
			s.Addralign, s.Entsize = bo.Uint64(b[48:]), bo.Uint64(b[56:])
		} else {
			s.Name, s.Type, s.Flags, s.Addr = bo.Uint32(b), bo.Uint32(b[4:]), uint64(bo.Uint32(b[8:])), uint64(bo.Uint32(b[12:]))
			s.Offset, s.Size, s.Link, s.Info = uint64(bo.Uint32(b[16:])), uint64(bo.Uint32(b[20:])), bo.Uint32(b[24:]), bo.Uint32(b[28:])
			s.Addralign, s.Entsize = uint64(bo.Uint32(b[32:])), uint64(bo.Uint32(b[36:]))
		}
	}
	return true
}

// inBounds is validate_section_offset() (64-bit arithmetic; on a 32-bit
// kernel the fields are 32-bit and the sum is unsigned long).
func (v *validator) inBounds(s *Shdr) bool {
	end := s.Offset + s.Size
	if !v.p.Is64 {
		end &= 0xffffffff
	}
	return end >= s.Offset && end <= v.n
}

func (v *validator) section0() bool {
	s0 := &v.r.Sections[0]
	if s0.Type != uint32(elf.SHT_NULL) || s0.Size != 0 || s0.Addr != 0 {
		return v.refuse(CheckELF, "ELF Spec violation: section 0 type(%d)!=SH_NULL or non-zero len or addr", int32(s0.Type))
	}
	return true
}

func (v *validator) shstrndxOK() bool {
	h := &v.r.Ehdr
	if h.Shstrndx == 0 || h.Shstrndx >= h.Shnum {
		return v.refuse(CheckELF, "Invalid ELF section name index: %d || e_shstrndx (%d) >= e_shnum (%d)", h.Shstrndx, h.Shstrndx, h.Shnum)
	}
	v.strhdr = &v.r.Sections[h.Shstrndx]
	return true
}

// secstrings checks that the name table is not empty and ends with NUL (its
// bounds were checked before).
func (v *validator) secstrings() bool {
	s := v.strhdr
	if s.Size == 0 {
		return v.refuse(CheckELF, "empty section name table")
	}
	if v.d[s.Offset+s.Size-1] != 0 {
		return v.refuse(CheckELF, "ELF Spec violation: section name table isn't null terminated")
	}
	return true
}

// name is strcmp(secstrings + sh_name, ...)'s view of section i's name; a
// name that runs off the image is a crash.
func (v *validator) name(i int) (string, bool) {
	s, ok := v.r.sectionName(v.d, i)
	if !ok {
		v.crash("%s() compares the name of section %d (sh_name %#x, beyond the %d-byte section name table, never checked by this kernel) and reads past the end of the %d-byte module image: an out-of-bounds read in strcmp (an oops that kills insmod and taints the kernel D), not a refusal", v.fn, i, v.r.Sections[i].Name, v.strhdr.Size, v.n)
	}
	return s, ok
}

// findSec is find_sec(): the first SHF_ALLOC section called name.
func (v *validator) findSec(name string) (int, bool) {
	v.fn = "find_sec"
	for i := 1; i < len(v.r.Sections); i++ {
		if v.r.Sections[i].Flags&uint64(elf.SHF_ALLOC) == 0 {
			continue
		}
		n, ok := v.name(i)
		if !ok {
			return 0, false
		}
		if n == name {
			return i, true
		}
	}
	return 0, true
}

// findAnyUnique is find_any_unique_sec(): the index of the only section
// called name (of any type and flags), 0 when none, -count when several.
func (v *validator) findAnyUnique(name string) (int, bool) {
	v.fn = "find_any_unique_sec"
	idx, count := 0, 0
	for i := 1; i < len(v.r.Sections); i++ {
		n, ok := v.name(i)
		if !ok {
			return 0, false
		}
		if n == name {
			idx = i
			count++
		}
	}
	if count > 1 {
		return -count, true
	}
	return idx, true
}

// modinfo walks .modinfo as get_next_modinfo()/next_string() do, keeping
// every string start, and sets info->name from name=.
func (v *validator) modinfo() bool {
	s := &v.r.Sections[v.r.Index.Info]
	size := s.Size
	p := s.Offset
	// The kernel reads the first string even of an empty section.
	for {
		str, ok := cstring(v.d, p, 1<<20)
		if !ok {
			return v.crash(".modinfo (section %d) has a string at offset %#x that does not end before the end of the %d-byte image: the kernel's get_modinfo() reads past its buffer (likely an oops), not a refusal", v.r.Index.Info, p, v.n)
		}
		if p+uint64(len(str)) >= s.Offset+s.Size && size > 0 {
			v.r.Notes = append(v.r.Notes, fmt.Sprintf(".modinfo's last string %q does not end inside the section: the kernel reads it on into the following bytes", str))
		}
		v.r.Modinfo = append(v.r.Modinfo, str)
		// next_string(): skip the non-zero bytes, then the zero padding,
		// counting down size.
		q := p
		end := false
		for q < v.n && v.d[q] != 0 {
			q++
			if size <= 1 {
				end = true
				break
			}
			size--
		}
		if !end {
			for q < v.n && v.d[q] == 0 {
				q++
				if size <= 1 {
					end = true
					break
				}
				size--
			}
		}
		if end || q >= v.n {
			break
		}
		p = q
	}
	for _, str := range v.r.Modinfo {
		if len(str) >= 5 && str[:5] == "name=" {
			v.r.Name = str[5:]
			break
		}
	}
	return true
}

// modName reads struct module's name (char name[56] after enum state and
// struct list_head) as a C string.
func (v *validator) modName() bool {
	s := &v.r.Sections[v.r.Index.Mod]
	off := uint64(24)
	if !v.p.Is64 {
		off = 12
	}
	name, ok := cstring(v.d, s.Offset+off, 200)
	if !ok {
		return v.crash("struct module's name in .gnu.linkonce.this_module (section %d) does not end before the end of the image: the kernel reads past its buffer (likely an oops), not a refusal", v.r.Index.Mod)
	}
	if len(name) >= 56 {
		v.r.Notes = append(v.r.Notes, fmt.Sprintf("struct module's name has no NUL in its 56 bytes: the kernel reads it on into the following fields (%q)", name))
	}
	if s.Offset+off >= s.Offset+s.Size {
		v.r.Notes = append(v.r.Notes, "the kernel reads struct module's name from beyond the end of .gnu.linkonce.this_module")
	}
	v.r.ModName = name
	return true
}

func (v *validator) finish() bool {
	r := v.r
	if r.Name == "" && !hasName(r.Modinfo) {
		r.Name = r.ModName
	}
	if !v.p.IgnoreModversions {
		i, ok := v.findSec("__versions")
		if !ok {
			return false
		}
		r.Index.Vers = i
	}
	// find_pcpusec() (SMP kernels): find_sec(".data..percpu").
	i, ok := v.findSec(".data..percpu")
	if !ok {
		return false
	}
	r.Index.Pcpu = i
	return true
}

func hasName(kvs []string) bool {
	for _, s := range kvs {
		if len(s) >= 5 && s[:5] == "name=" {
			return true
		}
	}
	return false
}

func orNoName(s string, found bool) string {
	if !found {
		return noName
	}
	return s
}

// form61 is elf_validity_check() + setup_load_info() of v6.1.
func (v *validator) form61() bool {
	if !v.ehdr() || !v.shdrs() || !v.shstrndxOK() {
		return false
	}
	r := v.r
	if !v.inBounds(v.strhdr) {
		return v.refuse(CheckELF, "Invalid ELF section hdr(type %d)", v.strhdr.Type)
	}
	if !v.secstrings() || !v.section0() {
		return false
	}
	shnum := uint32(r.Ehdr.Shnum)
	for i := 1; i < len(r.Sections); i++ {
		s := &r.Sections[i]
		switch elf.SectionType(s.Type) {
		case elf.SHT_NULL, elf.SHT_NOBITS:
			continue
		case elf.SHT_SYMTAB:
			if s.Link == 0 || s.Link >= shnum {
				return v.refuse(CheckELF, "Invalid ELF sh_link!=SHN_UNDEF(%d) or (sh_link(%d) >= hdr->e_shnum(%d)", s.Link, s.Link, shnum)
			}
		}
		if !v.inBounds(s) {
			return v.refuse(CheckELF, "Invalid ELF section in module (section %d type %d)", i, s.Type)
		}
		if s.Flags&uint64(elf.SHF_ALLOC) != 0 && uint64(s.Name) >= v.strhdr.Size {
			return v.refuse(CheckELF, "Invalid ELF section name in module (section %d type %d)", i, s.Type)
		}
	}
	// setup_load_info()
	info, ok := v.findSec(".modinfo")
	if !ok {
		return false
	}
	r.Index.Info = info
	if info != 0 && !v.modinfo() {
		return false
	}
	for i := 1; i < len(r.Sections); i++ {
		if r.Sections[i].Type == uint32(elf.SHT_SYMTAB) {
			r.Index.Sym, r.Index.Str = i, int(r.Sections[i].Link)
			break
		}
	}
	named := hasName(r.Modinfo)
	if r.Index.Sym == 0 {
		return v.refuse(CheckLoadInfo, "%s: module has no symbols (stripped?)", orNoName(r.Name, named))
	}
	mod, ok := v.findSec(".gnu.linkonce.this_module")
	if !ok {
		return false
	}
	if mod == 0 {
		return v.refuse(CheckLoadInfo, "%s: No module found in object", orNoName(r.Name, named))
	}
	r.Index.Mod = mod
	if !v.modName() {
		return false
	}
	return v.finish()
}

// form64 is elf_validity_cache_copy() of v6.4–v6.12.116 (one loop that
// also counts .modinfo, .gnu.linkonce.this_module and SHT_SYMTAB).
func (v *validator) form64() bool {
	if !v.ehdr() || !v.shdrs() || !v.shstrndxOK() {
		return false
	}
	r := v.r
	if !v.inBounds(v.strhdr) {
		return v.refuse(CheckELF, "Invalid ELF section hdr(type %d)", v.strhdr.Type)
	}
	if !v.secstrings() || !v.section0() {
		return false
	}
	shnum := uint32(r.Ehdr.Shnum)
	var nInfo, nMod, nSym, infoIdx, modIdx, symIdx int
	for i := 1; i < len(r.Sections); i++ {
		s := &r.Sections[i]
		switch elf.SectionType(s.Type) {
		case elf.SHT_NULL, elf.SHT_NOBITS:
			continue
		case elf.SHT_SYMTAB:
			if s.Link == 0 || s.Link >= shnum {
				return v.refuse(CheckELF, "Invalid ELF sh_link!=SHN_UNDEF(%d) or (sh_link(%d) >= hdr->e_shnum(%d)", s.Link, s.Link, shnum)
			}
			nSym++
			symIdx = i
		}
		if !v.inBounds(s) {
			return v.refuse(CheckELF, "Invalid ELF section in module (section %d type %d)", i, s.Type)
		}
		v.fn = "elf_validity_cache_copy"
		n, ok := v.name(i)
		if !ok {
			return false
		}
		switch n {
		case ".gnu.linkonce.this_module":
			nMod++
			modIdx = i
		case ".modinfo":
			nInfo++
			infoIdx = i
		}
		if s.Flags&uint64(elf.SHF_ALLOC) != 0 && uint64(s.Name) >= v.strhdr.Size {
			return v.refuse(CheckELF, "Invalid ELF section name in module (section %d type %d)", i, s.Type)
		}
	}
	if nInfo > 1 {
		return v.refuse(CheckLoadInfo, "Only one .modinfo section must exist.")
	}
	if nInfo == 1 {
		r.Index.Info = infoIdx
		if !v.modinfo() {
			return false
		}
	}
	named := hasName(r.Modinfo)
	if nSym != 1 {
		return v.refuse(CheckLoadInfo, "%s: module has no symbols (stripped?)", orNoName(r.Name, named))
	}
	r.Index.Sym, r.Index.Str = symIdx, int(r.Sections[symIdx].Link)
	if nMod != 1 {
		return v.refuse(CheckLoadInfo, "module %s: Only one .gnu.linkonce.this_module section must exist.", orNoName(r.Name, named))
	}
	return v.thisModule(modIdx, named)
}

func (v *validator) thisModule(idx int, named bool) bool {
	r := v.r
	s := &r.Sections[idx]
	if s.Type == uint32(elf.SHT_NOBITS) {
		return v.refuse(CheckLoadInfo, "module %s: .gnu.linkonce.this_module section must have a size set", orNoName(r.Name, named))
	}
	if s.Flags&uint64(elf.SHF_ALLOC) == 0 {
		return v.refuse(CheckLoadInfo, "module %s: .gnu.linkonce.this_module must occupy memory during process execution", orNoName(r.Name, named))
	}
	if v.p.ModuleStructSize != 0 && s.Size != v.p.ModuleStructSize {
		return v.refuse(CheckModuleStructSize, "module %s: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time", orNoName(r.Name, named))
	}
	r.Index.Mod = idx
	if !v.modName() {
		return false
	}
	return v.finish()
}

// form613 is the split validation (6.12.117 stable, 6.13+).
func (v *validator) form613() bool {
	r := v.r
	// elf_validity_cache_sechdrs
	if !v.ehdr() || !v.shdrs() || !v.section0() {
		return false
	}
	for i := 1; i < len(r.Sections); i++ {
		s := &r.Sections[i]
		if s.Type == uint32(elf.SHT_NULL) || s.Type == uint32(elf.SHT_NOBITS) {
			continue
		}
		if !v.inBounds(s) {
			return v.refuse(CheckELF, "Invalid ELF section in module (section %d type %d)", i, s.Type)
		}
	}
	// elf_validity_cache_secstrings
	if !v.shstrndxOK() {
		return false
	}
	if v.strhdr.Type != uint32(elf.SHT_STRTAB) {
		return v.refuse(CheckELF, "Invalid ELF section name table type: %d", v.strhdr.Type)
	}
	if !v.secstrings() {
		return false
	}
	for i := 0; i < len(r.Sections); i++ {
		s := &r.Sections[i]
		if s.Type == uint32(elf.SHT_NULL) {
			continue
		}
		if uint64(s.Name) >= v.strhdr.Size {
			return v.refuse(CheckELF, "Invalid ELF section name in module (section %d type %d)", i, s.Type)
		}
	}
	// elf_validity_cache_index_info
	info, ok := v.findAnyUnique(".modinfo")
	if !ok {
		return false
	}
	if info < 0 {
		return v.refuse(CheckLoadInfo, "Only one .modinfo section must exist.")
	}
	if info > 0 {
		r.Index.Info = info
		if !v.modinfo() {
			return false
		}
	}
	named := hasName(r.Modinfo)
	// elf_validity_cache_index_mod
	mod, ok := v.findAnyUnique(".gnu.linkonce.this_module")
	if !ok {
		return false
	}
	if mod <= 0 {
		return v.refuse(CheckLoadInfo, "module %s: Exactly one .gnu.linkonce.this_module section must exist.", orNoName(r.Name, named))
	}
	ms := &r.Sections[mod]
	if ms.Type == uint32(elf.SHT_NOBITS) {
		return v.refuse(CheckLoadInfo, "module %s: .gnu.linkonce.this_module section must have a size set", orNoName(r.Name, named))
	}
	if ms.Flags&uint64(elf.SHF_ALLOC) == 0 {
		return v.refuse(CheckLoadInfo, "module %s: .gnu.linkonce.this_module must occupy memory during process execution", orNoName(r.Name, named))
	}
	if v.p.ModuleStructSize != 0 && ms.Size != v.p.ModuleStructSize {
		return v.refuse(CheckModuleStructSize, "module %s: .gnu.linkonce.this_module section size must match the kernel's built struct module size at run time", orNoName(r.Name, named))
	}
	// elf_validity_cache_index_sym
	nSym, symIdx := 0, 0
	for i := 1; i < len(r.Sections); i++ {
		if r.Sections[i].Type == uint32(elf.SHT_SYMTAB) {
			nSym++
			symIdx = i
		}
	}
	if nSym != 1 {
		return v.refuse(CheckLoadInfo, "%s: module has no symbols (stripped?)", orNoName(r.Name, named))
	}
	r.Index.Sym = symIdx
	// elf_validity_cache_index_str
	str := r.Sections[symIdx].Link
	if str == 0 || str >= uint32(r.Ehdr.Shnum) {
		return v.refuse(CheckELF, "Invalid ELF sh_link!=SHN_UNDEF(%d) or (sh_link(%d) >= hdr->e_shnum(%d)", str, str, r.Ehdr.Shnum)
	}
	if r.Sections[str].Type != uint32(elf.SHT_STRTAB) {
		return v.refuse(CheckELF, "Invalid ELF symbol string table type: %d", r.Sections[str].Type)
	}
	r.Index.Str = int(str)
	r.Index.Mod = mod
	if !v.modName() {
		return false
	}
	return v.finish()
}

// SectionData returns the bytes of section i (nil for NOBITS or when out
// of bounds).
func (r *Result) SectionData(data []byte, i int) []byte {
	if i <= 0 || i >= len(r.Sections) {
		return nil
	}
	s := &r.Sections[i]
	if s.Type == uint32(elf.SHT_NOBITS) || s.Offset > uint64(len(data)) || s.Size > uint64(len(data))-s.Offset {
		return nil
	}
	return data[s.Offset : s.Offset+s.Size]
}
