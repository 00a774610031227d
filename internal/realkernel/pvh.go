package realkernel

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/kmodscope/kmodscope/kimage"
)

// BzImage, when true, boots x86 kernels the classic way (the bzImage through
// qemu's BIOS and the kernel's own decompressor) instead of the PVH entry of
// the decompressed vmlinux. The environment variable
// KMODSCOPE_REALKERNEL_BZIMAGE=1 sets it.
var BzImage = os.Getenv("KMODSCOPE_REALKERNEL_BZIMAGE") == "1"

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY (include/xen/interface/
// elfnote.h): the 32-bit PVH entry point, present when CONFIG_PVH=y.
const xenElfnotePhys32Entry = 18

var (
	pvhMu    sync.Mutex
	pvhCache = map[string]string{}
)

// bootImage returns the file qemu should boot for kernel. Under TCG most of
// a boot of Debian's amd64 bzImage is spent before the kernel runs: the
// emulated BIOS and the kernel's xz decompressor take ~6 of ~10 s. A kernel
// built with CONFIG_PVH=y (Debian's are) boots straight from its vmlinux ELF
// through the PVH entry, which qemu's -kernel supports, so the harness
// decompresses the bzImage once (kimage.Decompress, cached in the temp
// directory, keyed by the image's path, size and mtime) and boots that: the
// same kernel code judges the modules. Images that are not bzImages, or
// whose vmlinux has no PVH note, are booted as they are.
func bootImage(kernel string) (string, error) {
	if BzImage {
		return kernel, nil
	}
	st, err := os.Stat(kernel)
	if err != nil {
		return "", err
	}
	abs, _ := filepath.Abs(kernel)
	sum := sha256.Sum256([]byte(fmt.Sprintf("%s\x00%d\x00%d", abs, st.Size(), st.ModTime().UnixNano())))
	key := hex.EncodeToString(sum[:8])
	pvhMu.Lock()
	defer pvhMu.Unlock()
	if p, ok := pvhCache[key]; ok {
		return p, nil
	}
	out := filepath.Join(os.TempDir(), "kmodscope-pvh-"+key+".vmlinux")
	if _, err := os.Stat(out); err == nil {
		pvhCache[key] = out
		return out, nil
	}
	k, err := kimage.OpenKernel(kernel, nil)
	if err != nil || k.Format != "bzImage" || !hasPVHNote(k.Data) {
		pvhCache[key] = kernel
		return kernel, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), ".kmodscope-pvh-*")
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(k.Data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return "", err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		os.Remove(tmp.Name())
		return "", err
	}
	pvhCache[key] = out
	return out, nil
}

// hasPVHNote reports whether the ELF kernel has a Xen PHYS32_ENTRY note.
func hasPVHNote(data []byte) bool {
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return false
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<20 || p.Off+p.Filesz > uint64(len(data)) {
			continue
		}
		b := data[p.Off : p.Off+p.Filesz]
		for len(b) >= 12 {
			nsz := int(binary.LittleEndian.Uint32(b[0:]))
			dsz := int(binary.LittleEndian.Uint32(b[4:]))
			typ := binary.LittleEndian.Uint32(b[8:])
			al := func(n int) int { return (n + 3) &^ 3 }
			if nsz < 0 || dsz < 0 || 12+al(nsz)+al(dsz) > len(b) {
				break
			}
			name := string(bytes.TrimRight(b[12:12+nsz], "\x00"))
			if name == "Xen" && typ == xenElfnotePhys32Entry {
				return true
			}
			b = b[12+al(nsz)+al(dsz):]
		}
	}
	return false
}
