package modlayout

import (
	"debug/elf"
	"fmt"
	"sort"

	"github.com/kmodscope/kmodscope/elfx"
)

// arm64 module_frob_arch_sections() (arch/arm64/kernel/module-plts.c):
// .plt, .init.plt and .text.ftrace_trampoline become SHT_NOBITS,
// SHF_EXECINSTR|SHF_ALLOC; the PLTs are sized from the branch relocations
// that may need a veneer, the trampoline holds the ftrace PLTs.
const (
	arm64PLTEntry   = 12 // struct plt_entry { adrp, add, br }
	arm64L1Cache    = 64 // L1_CACHE_BYTES
	arm64FtracePLTs = 2  // NR_FTRACE_PLTS: FTRACE_PLT_IDX, FTRACE_REGS_PLT_IDX
)

// frobARM64 adjusts the effective flags, sizes and alignments. It returns a
// note for Layout.Approximations.
func frobARM64(f *elfx.File, c *Config, flags, size, align []uint64) (string, error) {
	syms, err := f.Symbols()
	if err != nil {
		return "", err
	}
	var corePLTs, initPLTs uint64
	for i := range f.Sections {
		rs := &f.Sections[i]
		if rs.Type != elf.SHT_RELA || rs.Info == 0 || int(rs.Info) >= len(f.Sections) {
			continue
		}
		dst := &f.Sections[rs.Info]
		if dst.Flags&elf.SHF_EXECINSTR == 0 {
			continue
		}
		relocs, err := f.Relocs(rs)
		if err != nil {
			return "", err
		}
		// sort by type, symbol index and addend (cmp_rela)
		sort.SliceStable(relocs, func(a, b int) bool {
			x, y := relocs[a], relocs[b]
			if x.Type != y.Type {
				return x.Type < y.Type
			}
			if x.Sym != y.Sym {
				return x.Sym < y.Sym
			}
			return x.Addend < y.Addend
		})
		var n uint64
		for k, r := range relocs {
			if r.Type != uint32(elf.R_AARCH64_JUMP26) && r.Type != uint32(elf.R_AARCH64_CALL26) {
				continue
			}
			if int(r.Sym) < len(syms) && syms[r.Sym].Shndx == rs.Info {
				continue // same section: never needs a PLT
			}
			dup := k > 0 && relocs[k-1].Type == r.Type && relocs[k-1].Sym == r.Sym && relocs[k-1].Addend == r.Addend
			if r.Addend != 0 || !dup {
				n++
			}
		}
		if c.isInitSection(dst.Name) {
			initPLTs += n
		} else {
			corePLTs += n
		}
	}
	set := func(name string, n uint64, al uint64) bool {
		for i := 1; i < len(f.Sections); i++ {
			if f.Sections[i].Name == name {
				flags[i] = uint64(elf.SHF_EXECINSTR | elf.SHF_ALLOC)
				size[i] = n
				align[i] = al
				return true
			}
		}
		return false
	}
	if !set(".plt", (corePLTs+1)*arm64PLTEntry, arm64L1Cache) || !set(".init.plt", (initPLTs+1)*arm64PLTEntry, arm64L1Cache) {
		return "", fmt.Errorf("arm64 module without .plt/.init.plt sections (the kernel refuses it: \"module PLT section(s) missing\")")
	}
	set(".text.ftrace_trampoline", arm64FtracePLTs*arm64PLTEntry, 4)
	return fmt.Sprintf("arm64 PLTs sized like module_frob_arch_sections(): %d core and %d init branch veneers (CONFIG_RANDOMIZE_BASE); ADRP veneers for Cortex-A53 erratum 843419 depend on the CPU and are not counted", corePLTs, initPLTs), nil
}
