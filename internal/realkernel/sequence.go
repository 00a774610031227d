package realkernel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// RunSequence boots kernel once and insmods each of modules in turn, each
// in its own dmesg window, for modules the kernel refuses (or whose load
// does not matter to the next ones): one boot instead of one per module.
// A module that loads stays loaded. The outcomes are in the order of
// modules and are named by names (the module paths if nil). Steps whose
// report is missing get Outcome.Error.
func RunSequence(ctx context.Context, kernel string, modules, names []string, bootArgs []string) ([]Outcome, error) {
	if err := AvailableFor(kernel); err != nil {
		return nil, err
	}
	arch, err := ArchOf(kernel)
	if err != nil {
		return nil, err
	}
	bb, err := busyboxFor(arch)
	if err != nil {
		return nil, err
	}
	busybox, err := os.ReadFile(bb)
	if err != nil {
		return nil, err
	}
	if kernel, err = bootImage(kernel); err != nil {
		return nil, err
	}
	tok := make([]byte, 6)
	if _, err := rand.Read(tok); err != nil {
		return nil, err
	}
	prefix := "KMSRQ" + hex.EncodeToString(tok)
	w := newCpio()
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "m"} {
		w.dir(d)
	}
	w.charDev("dev/console", 5, 1)
	w.charDev("dev/null", 1, 3)
	w.file("bin/busybox", busybox, 0o755)
	for _, a := range []string{"sh", "insmod", "dmesg", "mount", "cat", "poweroff", "echo", "grep", "sleep"} {
		w.symlink("bin/"+a, "busybox")
	}
	var s strings.Builder
	s.WriteString("#!/bin/sh\nexport PATH=/bin\nmount -t proc proc /proc\nmount -t sysfs sysfs /sys\ndmesg -n 1\n")
	s.WriteString(`out() { while IFS= read -r l || [ -n "$l" ]; do echo "$P $1 $l"; l=; done; }` + "\n")
	s.WriteString(settleScript(arch))
	modNames := make([]string, len(modules))
	for i, m := range modules {
		data, err := os.ReadFile(m)
		if err != nil {
			return nil, err
		}
		modNames[i] = moduleName(m, data)
		name := fmt.Sprintf("m/s%03d.ko", i)
		w.file(name, data, 0o644)
		fmt.Fprintf(&s, "P=%ss%03d\necho \"$P BEGIN\"\ncat /proc/sys/kernel/tainted >/tmp/t; out TAINT0 </tmp/t\n", prefix, i)
		fmt.Fprintf(&s, "dmesg -c >/dev/null\ninsmod /%s 2>/tmp/e\nrc=$?\ndmesg >/tmp/d\n", name)
		s.WriteString("echo \"$P RC $rc\"\nout ERR </tmp/e\nout DM </tmp/d\nout MOD </proc/modules\n")
		s.WriteString("cat /proc/sys/kernel/tainted >/tmp/t; out TAINT </tmp/t\necho \"$P END\"\n")
	}
	s.WriteString("poweroff -f\n")
	w.file("init", []byte(s.String()), 0o755)
	img, err := w.finish()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "realkernel-seq-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initrd.cpio.gz")
	if err := os.WriteFile(initrd, img, 0o644); err != nil {
		return nil, err
	}
	timeout := BootTimeout + time.Duration(len(modules))*5*time.Second
	bctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	appendLine := strings.Join(append([]string{"console=" + arch.Console, "quiet", "panic=-1", "no_timer_check"}, bootArgs...), " ")
	args := append(append([]string(nil), arch.Machine...),
		"-m", strconv.Itoa(MemoryMB), "-smp", "1", "-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", appendLine)
	cmd := exec.CommandContext(bctx, qemuFor(arch), args...)
	var console bytes.Buffer
	cmd.Stdout, cmd.Stderr = &console, &console
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	secs := time.Since(start).Seconds()
	if KeepDir != "" {
		_ = os.WriteFile(filepath.Join(KeepDir, "sequence.console"), console.Bytes(), 0o644)
	}
	if bctx.Err() == context.DeadlineExceeded {
		return nil, fmt.Errorf("boot timed out after %v; console tail: %q", timeout, tail(console.Bytes(), 600))
	}
	out := make([]Outcome, len(modules))
	var firstErr error
	for i := range modules {
		o := Outcome{Case: modules[i], ExitStatus: -1, BootSeconds: secs}
		if names != nil {
			o.Case = names[i]
		}
		if err := parseReport(&o, console.Bytes(), fmt.Sprintf("%ss%03d", prefix, i), modNames[i]); err != nil {
			o.ExitStatus, o.Error = -1, err.Error()
			if firstErr == nil {
				firstErr = fmt.Errorf("step %d (%s): %w (qemu: %v); console tail: %q", i, o.Case, err, runErr, tail(console.Bytes(), 600))
			}
		}
		out[i] = o
	}
	return out, firstErr
}
