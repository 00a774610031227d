// Package btfexplain finds candidate causes of export CRC changes between
// two kernels by comparing their BTF (BPF Type Format) type information:
// vmlinux BTF cut out of a kernel image (any compression kimage decodes)
// and split BTF of modules on top of it.
//
// genksyms hashes the declaration of each export as seen by its
// compilation unit; BTF is deduplicated across units and records values,
// not tokens. A BTF comparison therefore yields candidate causes: a changed
// prototype is certain, changed named types reachable from the
// declaration are candidates (see [Explain]).
//
// Input is untrusted: image sizes are bounded by kimage, BTF parsing is
// done by github.com/cilium/ebpf/btf, whose panics on hostile input are
// turned into errors.
package btfexplain

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf/btf"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/kimage"
	"github.com/kmodscope/kmodscope/ko"
)

// Spec is the BTF of one kernel: vmlinux's and, optionally, that of
// modules built with it (split BTF on vmlinux's).
type Spec struct {
	// Path names where the vmlinux BTF came from.
	Path string
	base *btf.Spec
	mods []*btf.Spec
	idx  *index
}

// ErrNoBTF reports an image or module without a .BTF section.
var ErrNoBTF = errors.New("no BTF")

// btfMagic is the BTF header: magic 0xeB9F, version 1, flags 0, hdr_len 24
// (little-endian).
var btfMagic = []byte{0x9f, 0xeb, 0x01, 0x00, 0x18, 0x00, 0x00, 0x00}

// LoadImageBTF reads the kernel image at path (vmlinuz, bzImage, Image,
// Image.gz, zboot, vmlinux ELF), decompresses it with package kimage and
// loads its vmlinux BTF.
func LoadImageBTF(path string) (*Spec, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.Size() > kimage.DefaultMaxSize {
		return nil, fmt.Errorf("%s: file is %d bytes, limit %d", path, st.Size(), kimage.DefaultMaxSize)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s, err := LoadImage(data)
	if err != nil {
		var ke *kimage.Error
		if errors.As(err, &ke) {
			ke.Path = path
			return nil, err
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	s.Path = path
	return s, nil
}

// LoadImage loads the vmlinux BTF of the kernel image in data.
func LoadImage(data []byte) (*Spec, error) {
	k, err := kimage.Decompress(data, nil)
	if err != nil {
		return nil, err
	}
	raw, err := findBTF(k.Data)
	if err != nil {
		return nil, err
	}
	// Copy the section so that the decompressed kernel can be freed.
	return LoadRaw(bytes.Clone(raw))
}

// findBTF returns the .BTF section of an ELF kernel, or else the BTF blob
// found by its header in a raw image (arm64 Image).
func findBTF(kern []byte) ([]byte, error) {
	if f, err := elfx.New(kern); err == nil {
		if sec := f.Section(".BTF"); sec != nil {
			return f.SectionData(sec)
		}
		return nil, fmt.Errorf("%w: the kernel ELF has no .BTF section", ErrNoBTF)
	}
	for off := 0; ; {
		i := bytes.Index(kern[off:], btfMagic)
		if i < 0 {
			return nil, fmt.Errorf("%w: no BTF header in the decompressed kernel", ErrNoBTF)
		}
		p := off + i
		if n, ok := btfLen(kern[p:]); ok {
			return kern[p : p+n], nil
		}
		off = p + 1
	}
}

// btfLen returns the length of the BTF blob at the start of b from its
// header, if the header is plausible.
func btfLen(b []byte) (int, bool) {
	if len(b) < 24 {
		return 0, false
	}
	le := binary.LittleEndian
	typeOff, typeLen := uint64(le.Uint32(b[8:])), uint64(le.Uint32(b[12:]))
	strOff, strLen := uint64(le.Uint32(b[16:])), uint64(le.Uint32(b[20:]))
	end := 24 + max(typeOff+typeLen, strOff+strLen)
	if typeOff != 0 || typeLen == 0 || strLen == 0 || end > uint64(len(b)) {
		return 0, false
	}
	return int(end), true
}

// LoadRaw loads a vmlinux BTF blob (the contents of a .BTF section).
func LoadRaw(raw []byte) (s *Spec, err error) {
	defer func() {
		if r := recover(); r != nil {
			s, err = nil, fmt.Errorf("BTF: %v", r)
		}
	}()
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("BTF: %w", err)
	}
	return &Spec{base: spec}, nil
}

// LoadModuleBTF returns a Spec holding base's types plus the split BTF of
// the module at path (.ko, .ko.xz, .ko.zst, .ko.gz). A module's split BTF
// loads only on the vmlinux BTF it was built against.
func LoadModuleBTF(path string, base *Spec) (*Spec, error) {
	s := &Spec{Path: base.Path, base: base.base, mods: append([]*btf.Spec(nil), base.mods...)}
	// A fresh index: base's may be shared with other Specs.
	if err := s.AddModule(path); err != nil {
		return nil, err
	}
	return s, nil
}

// AddModule adds the split BTF of the module at path to s.
func (s *Spec) AddModule(path string) error {
	m, err := ko.Open(path, nil)
	if err != nil {
		return err
	}
	defer m.Close()
	sec := m.ELF.Section(".BTF")
	if sec == nil {
		return fmt.Errorf("%s: %w: the module has no .BTF section", path, ErrNoBTF)
	}
	raw, err := m.ELF.SectionData(sec)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := s.addSplit(bytes.Clone(raw)); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (s *Spec) addSplit(raw []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("split BTF: %v", r)
		}
	}()
	spec, err := btf.LoadSplitSpecFromReader(bytes.NewReader(raw), s.base)
	if err != nil {
		return fmt.Errorf("split BTF: %w", err)
	}
	s.mods = append(s.mods, spec)
	if s.idx != nil {
		s.idx.add(spec)
	}
	return nil
}

// HasFunc reports whether s has a BTF function (FUNC) called name.
func (s *Spec) HasFunc(name string) bool { return len(s.index().funcs[name]) > 0 }

// FindModule finds the module file for modpath (a Module.symvers module
// column: the path without .ko, e.g. "fs/ext4/ext4") in a module tree dir
// (lib/modules/RELEASE): dir/kernel/modpath.ko, or dir/modpath.ko (extra/,
// updates/), plain or compressed (.xz, .zst, .gz).
func FindModule(dir, modpath string) (string, bool) {
	for _, sub := range []string{"kernel", ""} {
		for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
			p := filepath.Join(dir, sub, modpath+ext)
			if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
				return p, true
			}
		}
	}
	return "", false
}
