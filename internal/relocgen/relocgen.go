// Package relocgen asks GNU readelf for the name it gives every relocation
// type number of a machine, using synthetic objects written with kotest. It
// is used by scripts/gen-reloc-names (to write reloc's table) and by reloc's
// tests (to check the table against the readelf installed at test time).
package relocgen

import (
	"bufio"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/kmodscope/kmodscope/internal/kotest"
)

// Target is one architecture as Debian builds its modules.
type Target struct {
	Machine elf.Machine
	Class   elf.Class
	Order   binary.ByteOrder
	Rela    bool
	MaxType uint32 // highest type number asked about
}

// Targets are the architectures Debian ships modules for.
var Targets = []Target{
	{elf.EM_X86_64, elf.ELFCLASS64, binary.LittleEndian, true, 511},
	{elf.EM_386, elf.ELFCLASS32, binary.LittleEndian, false, 255},
	{elf.EM_AARCH64, elf.ELFCLASS64, binary.LittleEndian, true, 1279},
	{elf.EM_ARM, elf.ELFCLASS32, binary.LittleEndian, false, 255},
	{elf.EM_PPC64, elf.ELFCLASS64, binary.LittleEndian, true, 511},
	{elf.EM_S390, elf.ELFCLASS64, binary.BigEndian, true, 511},
	{elf.EM_MIPS, elf.ELFCLASS64, binary.LittleEndian, true, 255},
	{elf.EM_RISCV, elf.ELFCLASS64, binary.LittleEndian, true, 511},
	{elf.EM_LOONGARCH, elf.ELFCLASS64, binary.LittleEndian, true, 511},
}

// Object returns a relocatable object with one relocation of every type
// 0..t.MaxType against symbol 1, at offsets 0, 1, 2, ...
func Object(t Target) []byte {
	b := kotest.New(t.Class, t.Order, t.Machine)
	text := b.AddSection(kotest.Section{Name: ".text", Type: elf.SHT_PROGBITS, Flags: elf.SHF_ALLOC | elf.SHF_EXECINSTR, Data: make([]byte, 16), Addralign: 4})
	sym := b.AddSymbol(kotest.Symbol{Name: "target", Bind: elf.STB_GLOBAL, Type: elf.STT_FUNC, Section: text})
	var rs []kotest.Rela
	for ty := uint32(0); ty <= t.MaxType; ty++ {
		rs = append(rs, kotest.Rela{Offset: uint64(ty), Sym: uint32(sym), Type: ty})
	}
	if t.Rela {
		b.AddRela(text, rs)
	} else {
		b.AddRel(text, rs)
	}
	return b.Bytes()
}

// ReadelfNames runs readelf -rW on Object(t) written into dir and returns
// the name readelf prints for each type it recognizes.
func ReadelfNames(readelf, dir string, t Target) (map[uint32]string, error) {
	p := filepath.Join(dir, fmt.Sprintf("relocs-%d.o", t.Machine))
	if err := os.WriteFile(p, Object(t), 0o644); err != nil {
		return nil, err
	}
	out, err := exec.Command(readelf, "-rW", p).Output()
	if err != nil {
		return nil, fmt.Errorf("%s -rW %s: %v", readelf, p, err)
	}
	col := 35 // "%16.16x  %16.16x "
	if t.Class == elf.ELFCLASS32 {
		col = 19 // "%8.8x  %8.8x "
	}
	names := map[uint32]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	n := uint32(0)
	for sc.Scan() {
		line := sc.Text()
		if len(line) <= col || line[0] < '0' || line[0] > 'f' || strings.HasPrefix(line, " ") {
			continue
		}
		if line[0] > '9' && line[0] < 'a' {
			continue
		}
		rest := line[col:]
		if !strings.HasPrefix(rest, "unrecognized: ") {
			names[n] = strings.Fields(rest)[0]
		}
		n++
	}
	if n != t.MaxType+1 {
		return nil, fmt.Errorf("readelf printed %d relocations for %s, want %d", n, t.Machine, t.MaxType+1)
	}
	return names, nil
}
