package realkernel

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Arch is how one kernel architecture is booted: the qemu binary and
// machine, the serial console's name on the kernel command line, and the
// static busybox put into the initramfs (which must be built for the
// guest's architecture).
type Arch struct {
	// Name is Debian's architecture name: amd64, arm64, s390x.
	Name string
	// QEMU is the emulator binary and Package the Debian package that
	// has it.
	QEMU, Package string
	// Machine is the qemu options that pick the board and CPU (TCG).
	Machine []string
	// Console is the kernel's console= for the serial line qemu
	// -nographic connects to stdout.
	Console string
	// ELF is the e_machine busybox (and the modules) must have.
	ELF elf.Machine
	// Busybox lists where a static busybox for this architecture is
	// looked for when PATH has none of the right machine: the native
	// busybox-static install, or one unpacked by
	// scripts/fetch-busybox-static.sh.
	Busybox []string
	// Settle, when not nil, matches the boot message /init waits for
	// (at most 30 s) before the tested insmod, so that a late boot
	// message does not land in the insmod's dmesg window.
	Settle []string
}

// cacheDir is where scripts/fetch-busybox-static.sh puts foreign busyboxes.
func cacheDir() string {
	if d := os.Getenv("KMODSCOPE_CACHE"); d != "" {
		return d
	}
	return "/var/cache/kmodscope"
}

// Arches are the architectures the harness boots, by Debian name (each
// one booted with Debian's kernel; ppc64el is not here because s390x
// already gives a big-endian kernel).
var Arches = map[string]*Arch{
	"amd64": {
		Name: "amd64", QEMU: "qemu-system-x86_64", Package: "qemu-system-x86",
		Machine: []string{"-accel", "tcg", "-cpu", "max"},
		Console: "ttyS0", ELF: elf.EM_X86_64,
		Busybox: []string{"/bin/busybox", "/usr/bin/busybox"},
		// The TSC clocksource switch comes about 2 s after /init starts.
		Settle: []string{"Switched to clocksource tsc", "Marking TSC unstable"},
	},
	"arm64": {
		Name: "arm64", QEMU: "qemu-system-aarch64", Package: "qemu-system-arm",
		// pauth-impdef: the QARMA pointer-authentication cipher of
		// -cpu max costs TCG two thirds of the boot (20 s -> 7 s); the
		// implementation-defined algorithm is cheap and the kernel
		// does not care which one it gets.
		Machine: []string{"-M", "virt", "-accel", "tcg", "-cpu", "max,pauth-impdef=on"},
		Console: "ttyAMA0", ELF: elf.EM_AARCH64,
		Busybox: []string{"busybox-arm64/bin/busybox"},
	},
	"s390x": {
		Name: "s390x", QEMU: "qemu-system-s390x", Package: "qemu-system-misc",
		Machine: []string{"-M", "s390-ccw-virtio", "-accel", "tcg", "-cpu", "max"},
		Console: "ttysclp0", ELF: elf.EM_S390,
		Busybox: []string{"busybox-s390x/bin/busybox"},
	},
}

// ArchOf returns the architecture of a kernel image: from the image's own
// header (x86 bzImage "HdrS", arm64 Image "ARM\x64"), else from the
// config-REL file next to it, else from the flavour that ends the file
// name (vmlinuz-6.12.117+deb12-s390x).
func ArchOf(kernel string) (*Arch, error) {
	if f, err := os.Open(kernel); err == nil {
		hdr := make([]byte, 0x210)
		n, _ := io.ReadFull(f, hdr)
		f.Close()
		hdr = hdr[:n]
		switch {
		case len(hdr) >= 0x206 && string(hdr[0x202:0x206]) == "HdrS":
			return Arches["amd64"], nil
		case len(hdr) >= 0x3c && string(hdr[0x38:0x3c]) == "ARM\x64":
			return Arches["arm64"], nil
		}
	} else {
		return nil, fmt.Errorf("realkernel: kernel image: %w", err)
	}
	base := filepath.Base(kernel)
	rel := base[strings.IndexByte(base, '-')+1:]
	if cfg, err := os.Open(filepath.Join(filepath.Dir(kernel), "config-"+rel)); err == nil {
		defer cfg.Close()
		set := map[string]bool{}
		sc := bufio.NewScanner(cfg)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), "="); ok && v == "y" {
				set[k] = true
			}
		}
		switch {
		case set["CONFIG_X86_64"]:
			return Arches["amd64"], nil
		case set["CONFIG_ARM64"]:
			return Arches["arm64"], nil
		case set["CONFIG_S390"]:
			return Arches["s390x"], nil
		}
	}
	for suffix, a := range map[string]string{"-amd64": "amd64", "-arm64": "arm64", "-s390x": "s390x"} {
		if strings.HasSuffix(base, suffix) {
			return Arches[a], nil
		}
	}
	return nil, fmt.Errorf("realkernel: %s: cannot tell the kernel's architecture (no bzImage or arm64 Image header, no config-%s)", kernel, rel)
}

// qemuFor is the emulator of a: the QEMU override or a.QEMU.
func qemuFor(a *Arch) string {
	if QEMU != "" {
		return QEMU
	}
	return a.QEMU
}

// busyboxFor finds a static busybox for a: the Busybox override, else a
// busybox on PATH of the right machine, else a.Busybox (relative entries
// under $KMODSCOPE_CACHE, default /var/cache/kmodscope).
func busyboxFor(a *Arch) (string, error) {
	if Busybox != "" {
		return Busybox, checkStatic(Busybox, a)
	}
	var cands []string
	if p, err := exec.LookPath("busybox"); err == nil {
		cands = append(cands, p)
	}
	for _, p := range a.Busybox {
		if !filepath.IsAbs(p) {
			p = filepath.Join(cacheDir(), p)
		}
		cands = append(cands, p)
	}
	var errs []error
	for _, p := range cands {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		if err := checkStatic(p, a); err != nil {
			errs = append(errs, err)
			continue
		}
		return p, nil
	}
	hint := "Debian package busybox-static"
	if a.Name != "amd64" {
		hint = "run scripts/fetch-busybox-static.sh " + a.Name
	}
	return "", fmt.Errorf("realkernel: no static %s busybox (%s): %w", a.Name, hint, errors.Join(errs...))
}

func checkStatic(path string, a *Arch) error {
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("realkernel: busybox: %w", err)
	}
	defer f.Close()
	if f.Machine != a.ELF {
		return fmt.Errorf("realkernel: %s is a %v binary, the %s guest needs %v", path, f.Machine, a.Name, a.ELF)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("realkernel: %s is dynamically linked; install busybox-static", path)
		}
	}
	return nil
}

// settleScript is the /init fragment that waits for a's settle message.
func settleScript(a *Arch) string {
	if len(a.Settle) == 0 {
		return ""
	}
	var pats []string
	for _, s := range a.Settle {
		pats = append(pats, "-e "+shellQuote(s))
	}
	return "i=0; while [ $i -lt 30 ]; do dmesg | grep -q " + strings.Join(pats, " ") + " && break; sleep 1; i=$((i+1)); done\n"
}

// moduleMachine is the e_machine of an ELF module's bytes (0 if unreadable).
func moduleMachine(data []byte) elf.Machine {
	if len(data) < 20 || !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return 0
	}
	if data[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		return elf.Machine(uint16(data[18])<<8 | uint16(data[19]))
	}
	return elf.Machine(uint16(data[18]) | uint16(data[19])<<8)
}
