package ko

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"

	"github.com/kmodscope/kmodscope/elfx"
)

// ThisModule describes the module's struct module, which modpost emits into
// .gnu.linkonce.this_module (the kernel copies it in load_module and, from
// 6.4, requires its size to equal sizeof(struct module)).
type ThisModule struct {
	// Size is the section size: the kernel's sizeof(struct module) for the
	// configuration the module was built for.
	Size uint64 `json:"size"`
	// Name is struct module.name: char[MODULE_NAME_LEN] at offset 24 on
	// 64-bit (enum module_state, padding, struct list_head) and 12 on 32-bit.
	Name string `json:"name"`
	// Init and Exit name the functions the descriptor's init and exit
	// pointers are relocated to (modpost writes .init = init_module,
	// .exit = cleanup_module, which module_init/module_exit alias to the
	// real functions); "" when there is none.
	Init       string `json:"init"`
	Exit       string `json:"exit"`
	InitOffset int64  `json:"init_offset"` // offset of the init pointer in struct module, -1 if none
	ExitOffset int64  `json:"exit_offset"`
	// Relocs lists every relocation applied to the descriptor.
	Relocs []ThisModuleReloc `json:"relocs"`
}

// ThisModuleReloc is one relocation inside .gnu.linkonce.this_module.
type ThisModuleReloc struct {
	Offset uint64 `json:"offset"`
	Symbol string `json:"symbol"`
	Type   uint32 `json:"type"`
}

// ErrNoThisModule reports a module without .gnu.linkonce.this_module (the
// kernel refuses it: "No module found in object", ENOEXEC).
var ErrNoThisModule = errors.New("no .gnu.linkonce.this_module section")

// ThisModule decodes .gnu.linkonce.this_module and its relocations.
func (m *Module) ThisModule() (*ThisModule, error) {
	sec := m.ELF.Section(".gnu.linkonce.this_module")
	if sec == nil {
		return nil, ErrNoThisModule
	}
	tm := &ThisModule{Size: sec.Size, InitOffset: -1, ExitOffset: -1}
	nameOff := uint64(12)
	if m.ELF.Is64() {
		nameOff = 24
	}
	nameLen := 64 - uint64(m.ELF.WordSize())
	data, err := m.ELF.SectionData(sec)
	if err != nil {
		return nil, err
	}
	if uint64(len(data)) >= nameOff+nameLen {
		n := data[nameOff : nameOff+nameLen]
		if i := bytes.IndexByte(n, 0); i >= 0 {
			tm.Name = string(n[:i])
		} else {
			return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset + nameOff), Msg: fmt.Sprintf("module name is not NUL-terminated within its %d bytes", nameLen)}
		}
	} else if sec.Type != elf.SHT_NOBITS {
		return nil, &elfx.FormatError{Section: sec.Name, Off: int64(sec.Offset), Msg: fmt.Sprintf("size %#x is too small for struct module's name at offset %d", sec.Size, nameOff)}
	}
	syms, err := m.ELF.Symbols()
	if err != nil {
		return nil, err
	}
	for _, rs := range m.ELF.RelocSections(sec.Index) {
		rr, err := m.ELF.Relocs(rs)
		if err != nil {
			return nil, err
		}
		for _, r := range rr {
			name := ""
			if int(r.Sym) < len(syms) {
				name = syms[r.Sym].Name
				if name == "" && syms[r.Sym].Type() == elf.STT_SECTION {
					if s := m.ELF.SectionByIndex(int(syms[r.Sym].Shndx)); s != nil {
						name = s.Name
					}
				}
			}
			tm.Relocs = append(tm.Relocs, ThisModuleReloc{Offset: r.Offset, Symbol: name, Type: r.Type})
			switch name {
			case "init_module":
				tm.InitOffset = int64(r.Offset)
				tm.Init = aliasOf(syms, int(r.Sym))
			case "cleanup_module":
				tm.ExitOffset = int64(r.Offset)
				tm.Exit = aliasOf(syms, int(r.Sym))
			}
		}
	}
	return tm, nil
}

// aliasOf returns the name of a function symbol at the same section and
// value as symbol i (init_module is an alias of the module_init function),
// or symbol i's own name when there is none.
func aliasOf(syms []elfx.Symbol, i int) string {
	s := &syms[i]
	if s.IsUndef() {
		return s.Name
	}
	for j := 1; j < len(syms); j++ {
		o := &syms[j]
		if j != i && o.Shndx == s.Shndx && o.Value == s.Value && o.Type() == elf.STT_FUNC && o.Name != "" && o.Name != "init_module" && o.Name != "cleanup_module" {
			return o.Name
		}
	}
	return s.Name
}

// BuildID returns the descriptor of the GNU build-id note in
// .note.gnu.build-id, or nil when the module has none.
func (m *Module) BuildID() ([]byte, error) {
	b, s, err := m.sectionData(".note.gnu.build-id")
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, nil
	}
	// Elf_Nhdr: namesz, descsz, type (u32 each), name padded to 4, desc.
	for off := uint64(0); off+12 <= uint64(len(b)); {
		namesz, _ := m.ELF.Uint(b, off, 4)
		descsz, _ := m.ELF.Uint(b, off+4, 4)
		typ, _ := m.ELF.Uint(b, off+8, 4)
		nameEnd := off + 12 + align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if namesz > uint64(len(b)) || descsz > uint64(len(b)) || nameEnd+descsz > uint64(len(b)) {
			return nil, &elfx.FormatError{Section: s.Name, Off: int64(s.Offset + off), Msg: fmt.Sprintf("note sizes (name %d, desc %d) run past the end of the section (%d bytes)", namesz, descsz, len(b))}
		}
		name := b[off+12 : off+12+namesz]
		if typ == ntGNUBuildID && string(bytes.TrimRight(name, "\x00")) == "GNU" {
			return b[nameEnd : nameEnd+descsz], nil
		}
		off = descEnd
	}
	return nil, nil
}

func align4(v uint64) uint64 { return (v + 3) &^ 3 }

// ntGNUBuildID is NT_GNU_BUILD_ID.
const ntGNUBuildID = 3
