package ko

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/kmodscope/kmodscope/elfx"
)

// Version is one symbol version the module was built against.
type Version struct {
	CRC  uint64 `json:"crc"`
	Name string `json:"name"`
	// Extended is true for entries from __version_ext_crcs/__version_ext_names.
	Extended bool `json:"extended"`
}

// ErrNoVersions reports a module without __versions or extended
// modversions (built without CONFIG_MODVERSIONS; kmod: ENOENT).
var ErrNoVersions = errors.New("no symbol versions: neither __versions nor __version_ext_crcs (built without CONFIG_MODVERSIONS?)")

// modversionSize is sizeof(struct modversion_info): unsigned long crc plus
// char name[64 - sizeof(unsigned long)], 64 bytes on every architecture.
const modversionSize = 64

// Versions returns the basic modversions (__versions) followed by the
// extended ones (__version_ext_crcs + __version_ext_names, kernel 6.14+).
//
// __versions holds struct modversion_info entries (include/linux/module.h):
// the CRC is an unsigned long, 8 bytes on ELF64 and 4 on ELF32, in the ELF's
// byte order; the name fills the rest of the 64 bytes. Like kmod
// (kmod_elf_get_modversions) a leading '.' (PPC64 ELFv1 dot symbols) is
// stripped from names. A section whose size is not a multiple of 64 is an
// error (kmod: EINVAL).
func (m *Module) Versions() ([]Version, error) {
	var out []Version
	b, s, err := m.sectionData("__versions")
	if err != nil {
		return nil, err
	}
	if s != nil && len(b) > 0 {
		if len(b)%modversionSize != 0 {
			return nil, &elfx.FormatError{Section: "__versions", Off: int64(s.Offset), Msg: fmt.Sprintf("size %#x is not a multiple of the %d-byte struct modversion_info", len(b), modversionSize)}
		}
		w := m.ELF.WordSize()
		for off := 0; off < len(b); off += modversionSize {
			e := b[off : off+modversionSize]
			crc, _ := m.ELF.Uint(e, 0, w)
			name := e[w:]
			i := bytes.IndexByte(name, 0)
			if i < 0 {
				return nil, &elfx.FormatError{Section: "__versions", Off: int64(s.Offset) + int64(off), Msg: fmt.Sprintf("entry %d: name is not NUL-terminated within its %d bytes", off/modversionSize, len(name))}
			}
			name = name[:i]
			if len(name) > 0 && name[0] == '.' {
				name = name[1:]
			}
			out = append(out, Version{CRC: crc, Name: string(name)})
		}
	}
	ext, err := m.extVersions()
	if err != nil {
		return nil, err
	}
	if s == nil && ext == nil {
		return nil, ErrNoVersions
	}
	return append(out, ext...), nil
}

// extVersions decodes extended modversions: __version_ext_crcs is an array of
// u32 in the ELF's byte order, __version_ext_names the same number of
// NUL-terminated names in the same order (scripts/mod/modpost.c
// add_extended_versions; kernel/module/version.c modversion_ext_start).
func (m *Module) extVersions() ([]Version, error) {
	crcs, cs, err := m.sectionData("__version_ext_crcs")
	if err != nil {
		return nil, err
	}
	names, ns, err := m.sectionData("__version_ext_names")
	if err != nil {
		return nil, err
	}
	if cs == nil && ns == nil {
		return nil, nil
	}
	if cs == nil || ns == nil {
		missing := "__version_ext_crcs"
		have := ns
		if ns == nil {
			missing, have = "__version_ext_names", cs
		}
		return nil, &elfx.FormatError{Section: have.Name, Off: int64(have.Offset), Msg: "present without " + missing}
	}
	if len(crcs)%4 != 0 {
		return nil, &elfx.FormatError{Section: cs.Name, Off: int64(cs.Offset), Msg: fmt.Sprintf("size %#x is not a multiple of 4", len(crcs))}
	}
	var out []Version
	rest := names
	for i := 0; i < len(crcs)/4; i++ {
		j := bytes.IndexByte(rest, 0)
		if j < 0 {
			return nil, &elfx.FormatError{Section: ns.Name, Off: int64(ns.Offset) + int64(len(names)-len(rest)), Msg: fmt.Sprintf("name %d is missing or not NUL-terminated (%d CRCs)", i, len(crcs)/4)}
		}
		crc := m.ELF.ByteOrder.Uint32(crcs[i*4:])
		out = append(out, Version{CRC: uint64(crc), Name: string(rest[:j]), Extended: true})
		rest = rest[j+1:]
	}
	if len(bytes.Trim(rest, "\x00")) != 0 {
		return nil, &elfx.FormatError{Section: ns.Name, Off: int64(ns.Offset) + int64(len(names)-len(rest)), Msg: fmt.Sprintf("more names than the %d CRCs", len(crcs)/4)}
	}
	return out, nil
}
