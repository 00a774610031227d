// Package realkernel is a ground-truth harness: it boots a real kernel image
// under qemu (TCG), one fresh boot per case, with an initramfs holding a
// static busybox, the module files and a generated /init that insmods the
// dependencies, then the module under test, and prints a machine-parseable
// report on the serial console.
//
// The recipe is the one in /work/shared/docs/real-kernel-testing.md:
// qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -no-reboot,
// "console=ttyS0 quiet panic=-1 no_timer_check", busybox insmod (whose exit status is the
// errno), dmesg -c right before the tested insmod. The qemu binary, machine,
// console and busybox follow the kernel image's architecture (Arches: amd64,
// arm64 under qemu-system-aarch64 -M virt, s390x under qemu-system-s390x).
package realkernel

import (
	"bytes"
	"context"
	"crypto/rand"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck/elfcheck"
)

// Case is one boot: insmod Deps in order, then (optionally twice) Module.
type Case struct {
	Name   string   `json:"name"`
	Module string   `json:"module"` // path of the .ko under test
	Deps   []string `json:"deps,omitempty"`
	// BootArgs are extra kernel command-line words, e.g. "module.sig_enforce=1".
	BootArgs []string `json:"boot_args,omitempty"`
	// PreloadTwice insmods Module once before the tested insmod (the
	// "already loaded" case).
	PreloadTwice bool `json:"preload_twice,omitempty"`
	// Args is the module options string of the tested insmod, passed as
	// one argument (busybox insmod hands it to the kernel as it is, plus
	// a trailing space), e.g. `max_part=4 x="a b"`.
	Args string `json:"args,omitempty"`
	// Steps are further loads of Module in the same boot, after the
	// tested insmod: for each, the module is removed (rmmod) if loaded,
	// the kernel log cleared, and Module insmodded with the step's Args.
	// Outcome.Steps holds their outcomes, each with its own dmesg.
	Steps []Step `json:"steps,omitempty"`
}

// Step is one more insmod of a Case's module in the same boot.
type Step struct {
	Name string `json:"name"`
	Args string `json:"args,omitempty"`
}

// Outcome is what the kernel did for one Case.
type Outcome struct {
	Case string `json:"case"`
	// ExitStatus is busybox insmod's exit status: the errno of the last
	// attempt (init_module), 0 on success; -1 when the case did not run.
	ExitStatus int    `json:"exit_status"`
	Errno      string `json:"errno"` // "ENOEXEC" etc., "" on success
	// InsmodStderr is what busybox insmod printed on stderr.
	InsmodStderr string `json:"insmod_stderr"`
	// Dmesg holds the kernel lines printed during the tested insmod only,
	// timestamps stripped, in order. busybox insmod tries finit_module and
	// then init_module, so a failed load prints its messages twice; the
	// second attempt's copy is removed here (once-only messages such as
	// the E-taint notice, or "taints kernel" messages guarded by the
	// global taint, appear in the first attempt only). DmesgRaw is the
	// untouched copy.
	Dmesg    []string `json:"dmesg"`
	DmesgRaw []string `json:"dmesg_raw"`
	// ProcModules is the /proc/modules line of the module (by the name in
	// .gnu.linkonce.this_module), "" if it is not loaded.
	ProcModules string `json:"proc_modules"`
	// Taints is the module's own taint letters from /proc/modules ("OE");
	// "" when none or not loaded.
	Taints string `json:"taints"`
	// KernelTainted is /proc/sys/kernel/tainted after the tested insmod;
	// KernelTaintedBefore is the same value right before it (after the
	// dependencies and the preload).
	KernelTainted       uint64 `json:"kernel_tainted"`
	KernelTaintedBefore uint64 `json:"kernel_tainted_before"`
	// Setup lists the exit statuses of the dependency insmods and of the
	// preload, e.g. "dep usbcore.ko: 0".
	Setup []string `json:"setup,omitempty"`
	// BootSeconds is the wall time of the whole qemu run.
	BootSeconds float64 `json:"boot_seconds"`
	// Error is set when the case could not be run or its report not read.
	Error string `json:"error,omitempty"`
	// Args is the options string of the insmod (Case.Args, Step.Args).
	Args string `json:"args,omitempty"`
	// Steps are the outcomes of Case.Steps, in order.
	Steps []Outcome `json:"steps,omitempty"`
}

// Loaded reports whether the tested insmod succeeded.
func (o *Outcome) Loaded() bool { return o.Error == "" && o.ExitStatus == 0 }

// Settings that tests may adjust.
var (
	// QEMU overrides the emulator binary; "" means the kernel's
	// architecture's (Arch.QEMU).
	QEMU = ""
	// Busybox is the static busybox copied into the initramfs; "" means
	// search PATH and the architecture's places (Arch.Busybox).
	Busybox = ""
	// BootTimeout bounds one qemu run.
	BootTimeout = 120 * time.Second
	// MemoryMB is the guest memory.
	MemoryMB = 512
	// DefaultKernel is the Debian 6.1 amd64 image of the shared corpus.
	DefaultKernel = "/work/shared/corpus/debian/amd64/boot/vmlinuz-6.1.0-56-amd64"
	// KeepDir, when not "", receives each case's initramfs and console log
	// (<case>.cpio.gz, <case>.console) for debugging.
	KeepDir = ""
)

// Available returns nil when qemu-system-x86_64 and a static busybox are
// installed and the default kernel image exists. (The initramfs is written
// by this package, so the cpio tool is not needed.)
func Available() error { return AvailableFor(DefaultKernel) }

// AvailableFor is Available for another kernel image: the kernel exists,
// and the qemu and static busybox of its architecture are installed.
func AvailableFor(kernel string) error {
	a, err := ArchOf(kernel)
	if err != nil {
		return err
	}
	q := qemuFor(a)
	if _, err := exec.LookPath(q); err != nil {
		return fmt.Errorf("realkernel: %s not installed (Debian package %s): %w", q, a.Package, err)
	}
	_, err = busyboxFor(a)
	return err
}

// Run boots kernel once per case, parallel guests at a time (at least 1),
// and returns one Outcome per case in the order of cases. Cases that fail
// to run (timeout, no report, bad input) get Outcome.Error and ExitStatus
// -1; the returned error then joins those failures, each naming its case.
func Run(ctx context.Context, kernel string, cases []Case, parallel int) ([]Outcome, error) {
	if parallel < 1 {
		parallel = 1
	}
	if err := AvailableFor(kernel); err != nil {
		return nil, err
	}
	arch, _ := ArchOf(kernel)
	bb, _ := busyboxFor(arch)
	busybox, err := os.ReadFile(bb)
	if err != nil {
		return nil, err
	}
	if kernel, err = bootImage(kernel); err != nil {
		return nil, err
	}
	out := make([]Outcome, len(cases))
	errs := make([]error, len(cases))
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i := range cases {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				out[i] = Outcome{Case: cases[i].Name, ExitStatus: -1, Error: ctx.Err().Error()}
				errs[i] = fmt.Errorf("case %s: %w", cases[i].Name, ctx.Err())
				return
			}
			defer func() { <-sem }()
			o, err := runOne(ctx, arch, kernel, busybox, &cases[i])
			if errors.Is(err, errNoInit) && ctx.Err() == nil {
				// The guest died before /init (under TCG on a loaded
				// host the early timer checks can panic): boot once more.
				o, err = runOne(ctx, arch, kernel, busybox, &cases[i])
			}
			if err != nil {
				err = fmt.Errorf("case %s: %w", cases[i].Name, err)
				o.ExitStatus = -1
				o.Error = err.Error()
				errs[i] = err
			}
			out[i] = o
		}(i)
	}
	wg.Wait()
	return out, errors.Join(errs...)
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// errNoInit: the guest never reported from /init (it panicked or hung
// while booting), so the case says nothing about the module.
var errNoInit = errors.New("no report from /init (the guest did not reach /init?)")

func runOne(ctx context.Context, arch *Arch, kernel string, busybox []byte, c *Case) (Outcome, error) {
	o := Outcome{Case: c.Name, ExitStatus: -1}
	tok := make([]byte, 6)
	if _, err := rand.Read(tok); err != nil {
		return o, err
	}
	prefix := "KMSRK" + hex.EncodeToString(tok)
	img, modName, err := buildInitramfs(arch, busybox, c, prefix)
	if err != nil {
		return o, err
	}
	dir, err := os.MkdirTemp("", "realkernel-")
	if err != nil {
		return o, err
	}
	defer os.RemoveAll(dir)
	initrd := filepath.Join(dir, "initrd.cpio.gz")
	if err := os.WriteFile(initrd, img, 0o644); err != nil {
		return o, err
	}
	appendLine := strings.Join(append([]string{"console=" + arch.Console, "quiet", "panic=-1", "no_timer_check"}, c.BootArgs...), " ")
	bctx, cancel := context.WithTimeout(ctx, BootTimeout)
	defer cancel()
	args := append(append([]string(nil), arch.Machine...),
		"-m", strconv.Itoa(MemoryMB), "-smp", "1", "-nographic", "-no-reboot",
		"-kernel", kernel, "-initrd", initrd, "-append", appendLine)
	cmd := exec.CommandContext(bctx, qemuFor(arch), args...)
	var console bytes.Buffer
	cmd.Stdout = &console
	cmd.Stderr = &console
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	runErr := cmd.Run()
	o.BootSeconds = time.Since(start).Seconds()
	if KeepDir != "" {
		base := filepath.Join(KeepDir, safeName.ReplaceAllString(c.Name, "_"))
		_ = os.WriteFile(base+".console", console.Bytes(), 0o644)
		_ = os.WriteFile(base+".cpio.gz", img, 0o644)
	}
	if bctx.Err() == context.DeadlineExceeded {
		return o, fmt.Errorf("boot timed out after %v; console tail: %q", BootTimeout, tail(console.Bytes(), 600))
	}
	if ctx.Err() != nil {
		return o, ctx.Err()
	}
	if err := parseReport(&o, console.Bytes(), prefix, modName); err != nil {
		if runErr != nil {
			err = fmt.Errorf("%w (qemu: %v)", err, runErr)
		}
		return o, fmt.Errorf("%w; console tail: %q", err, tail(console.Bytes(), 600))
	}
	o.Args = c.Args
	if len(o.Steps) != len(c.Steps) {
		return o, fmt.Errorf("%d of %d steps reported", len(o.Steps), len(c.Steps))
	}
	for i := range o.Steps {
		o.Steps[i].Case, o.Steps[i].Args = c.Steps[i].Name, c.Steps[i].Args
	}
	return o, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// moduleName is the name the kernel lists in /proc/modules: struct
// module.name from .gnu.linkonce.this_module, else the file name.
func moduleName(path string, data []byte) string {
	if m, err := ko.New(data); err == nil {
		if tm, err := m.ThisModule(); err == nil && tm.Name != "" {
			return tm.Name
		}
	}
	// A damaged module kmodscope's reader refuses: the kernel's own view
	// (the 6.1 checks bound the least).
	order := binary.ByteOrder(binary.LittleEndian)
	if len(data) > elf.EI_DATA && data[elf.EI_DATA] == byte(elf.ELFDATA2MSB) {
		order = binary.BigEndian
	}
	if r := elfcheck.Check(data, elfcheck.Params{Form: elfcheck.Form61, Machine: moduleMachine(data), Is64: true, Order: order}); r.OK && r.ModName != "" {
		return r.ModName
	}
	return strings.ReplaceAll(ko.NameFromPath(path), "-", "_")
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

func buildInitramfs(arch *Arch, busybox []byte, c *Case, prefix string) ([]byte, string, error) {
	w := newCpio()
	for _, d := range []string{"bin", "dev", "proc", "sys", "tmp", "m", "root"} {
		w.dir(d)
	}
	w.charDev("dev/console", 5, 1)
	w.charDev("dev/null", 1, 3)
	w.charDev("dev/kmsg", 1, 11)
	w.file("bin/busybox", busybox, 0o755)
	for _, a := range []string{"sh", "insmod", "rmmod", "dmesg", "mount", "cat", "poweroff", "echo", "mkdir", "grep", "sleep"} {
		w.symlink("bin/"+a, "busybox")
	}
	var s strings.Builder
	s.WriteString("#!/bin/sh\nexport PATH=/bin\n")
	s.WriteString("mount -t proc proc /proc\nmount -t sysfs sysfs /sys\n")
	s.WriteString("dmesg -n 1\n")
	fmt.Fprintf(&s, "P=%s\n", prefix)
	s.WriteString(`out() { while IFS= read -r l || [ -n "$l" ]; do echo "$P $1 $l"; l=; done; }` + "\n")
	s.WriteString("echo \"$P BEGIN\"\n")
	for i, d := range c.Deps {
		data, err := os.ReadFile(d)
		if err != nil {
			return nil, "", fmt.Errorf("dependency: %w", err)
		}
		name := fmt.Sprintf("m/d%02d-%s", i, filepath.Base(d))
		w.file(name, data, 0o644)
		fmt.Fprintf(&s, "insmod /%s 2>/tmp/e; echo \"$P SETUP dep %s: $?\"; out SETUPERR </tmp/e\n", name, shellQuote(filepath.Base(d)))
	}
	data, err := os.ReadFile(c.Module)
	if err != nil {
		return nil, "", fmt.Errorf("module: %w", err)
	}
	w.file("m/t.ko", data, 0o644)
	if c.PreloadTwice {
		s.WriteString("insmod /m/t.ko 2>/tmp/e; echo \"$P SETUP preload: $?\"; out SETUPERR </tmp/e\n")
	}
	s.WriteString("cat /proc/sys/kernel/tainted >/tmp/t; out TAINT0 </tmp/t\n")
	// Let the boot settle so that late boot messages (on x86 the TSC
	// clocksource switch, about 2 s in) do not land in the tested insmod's
	// window.
	s.WriteString(settleScript(arch))
	s.WriteString("dmesg -c >/dev/null\n")
	insmod := func(args string) {
		if args != "" {
			fmt.Fprintf(&s, "insmod /m/t.ko %s 2>/tmp/e\nrc=$?\n", shellQuote(args))
		} else {
			s.WriteString("insmod /m/t.ko 2>/tmp/e\nrc=$?\n")
		}
		// A message printk cut to its record limit has lost its newline
		// and stays open until the next record: write a marker record
		// (dropped from the report) so that it is in this capture.
		s.WriteString("echo \"$P FLUSH\" >/dev/kmsg\n")
		s.WriteString("dmesg >/tmp/d\n")
		s.WriteString("echo \"$P RC $rc\"\nout ERR </tmp/e\nout DM </tmp/d\nout MOD </proc/modules\n")
		s.WriteString("cat /proc/sys/kernel/tainted >/tmp/t; out TAINT </tmp/t\n")
	}
	insmod(c.Args)
	name := moduleName(c.Module, data)
	for i, st := range c.Steps {
		fmt.Fprintf(&s, "echo \"$P STEP %d\"\n", i+1)
		fmt.Fprintf(&s, "grep -q '^%s ' /proc/modules && rmmod %s\n", name, name)
		s.WriteString("cat /proc/sys/kernel/tainted >/tmp/t; out TAINT0 </tmp/t\n")
		s.WriteString("dmesg -c >/dev/null\n")
		insmod(st.Args)
	}
	s.WriteString("echo \"$P END\"\npoweroff -f\n")
	w.file("init", []byte(s.String()), 0o755)
	img, err := w.finish()
	return img, name, err
}

var tsRE = regexp.MustCompile(`^\[\s*\d+\.\d+\] ?`)

func parseReport(o *Outcome, console []byte, prefix, modName string) error {
	var begin, end, haveRC bool
	var errLines []string
	// cur is the outcome the lines belong to: o, then each step's;
	// stepErr[i] holds step i's insmod stderr.
	cur := o
	var stepErr [][]string
	for _, raw := range strings.Split(string(console), "\n") {
		line := strings.TrimRight(raw, "\r")
		i := strings.Index(line, prefix+" ")
		if i < 0 {
			continue
		}
		rest := line[i+len(prefix)+1:]
		tag, val, _ := strings.Cut(rest, " ")
		switch tag {
		case "BEGIN":
			begin = true
		case "END":
			end = true
		case "SETUP":
			o.Setup = append(o.Setup, val)
		case "SETUPERR":
			o.Setup = append(o.Setup, "  "+val)
		case "STEP":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil || n != len(o.Steps)+1 {
				return fmt.Errorf("bad STEP line %q", line)
			}
			o.Steps = append(o.Steps, Outcome{ExitStatus: -1})
		case "TAINT0":
			cur.KernelTaintedBefore, _ = strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		case "TAINT":
			cur.KernelTainted, _ = strconv.ParseUint(strings.TrimSpace(val), 10, 64)
		case "RC":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return fmt.Errorf("bad RC line %q", line)
			}
			cur.ExitStatus, haveRC = n, true
		case "ERR":
			if cur == o {
				errLines = append(errLines, val)
			} else {
				stepErr[len(stepErr)-1] = append(stepErr[len(stepErr)-1], val)
			}
		case "DM":
			if l := tsRE.ReplaceAllString(val, ""); l != prefix+" FLUSH" {
				cur.DmesgRaw = append(cur.DmesgRaw, l)
			}
		case "MOD":
			// A name without NUL in its 56 bytes runs on into the kernel
			// pointer after it once loaded: match its first 56 bytes.
			if f := strings.Fields(val); len(f) > 0 && (f[0] == modName || len(modName) >= 56 && strings.HasPrefix(f[0], modName[:56])) {
				cur.ProcModules = val
			}
		}
		if tag == "STEP" {
			// append may have moved the slice: point at the new last step.
			cur = &o.Steps[len(o.Steps)-1]
			stepErr = append(stepErr, nil)
		}
	}
	if !begin {
		return errNoInit
	}
	if !haveRC || !end {
		return errors.New("incomplete report from /init")
	}
	finishOutcome(o, errLines)
	for i := range o.Steps {
		st := &o.Steps[i]
		if st.ExitStatus < 0 {
			return fmt.Errorf("step %d: no exit status", i+1)
		}
		finishOutcome(st, stepErr[i])
	}
	return nil
}

// finishOutcome derives an outcome's errno, taints and loader messages
// from its raw report.
func finishOutcome(o *Outcome, errLines []string) {
	o.InsmodStderr = strings.Join(errLines, "\n")
	o.Errno = ErrnoName(o.ExitStatus)
	o.Taints = moduleTaints(o.ProcModules)
	// Late boot messages of the timekeeping code can land in the capture
	// when the guest is slow (a loaded host): they are never the loader's.
	var loader []string
	for _, l := range o.DmesgRaw {
		if !bootNoise.MatchString(l) {
			loader = append(loader, l)
		}
	}
	if o.ExitStatus != 0 {
		o.Dmesg = DedupRetry(loader)
	} else {
		o.Dmesg = loader
	}
	if o.DmesgRaw == nil {
		o.DmesgRaw = []string{}
	}
	if o.Dmesg == nil {
		o.Dmesg = []string{}
	}
}

// moduleTaints extracts the "(OE)" letters of a /proc/modules line.
func moduleTaints(line string) string {
	f := strings.Fields(line)
	if len(f) < 7 {
		return ""
	}
	// name size refcnt deps state addr [(taints)]
	last := f[len(f)-1]
	if strings.HasPrefix(last, "(") && strings.HasSuffix(last, ")") {
		return strings.Trim(last, "()")
	}
	return ""
}

// bootNoise matches kernel lines that can appear late in a boot under TCG
// and have nothing to do with loading modules.
var bootNoise = regexp.MustCompile(`^(tsc|clocksource|hrtimer|sched_clock|random): `)

// DedupRetry removes the copy of a failed load's messages printed by the
// second attempt (busybox insmod calls init_module after finit_module
// failed). lines = first ++ second where second is the first attempt's
// lines minus once-only ones, i.e. a subsequence of first. It picks the
// smallest split k >= len/2 such that lines[k:] is a non-empty subsequence
// of lines[:k] and returns lines[:k]; with no such split, lines unchanged.
func DedupRetry(lines []string) []string {
	n := len(lines)
	for k := (n + 1) / 2; k < n; k++ {
		if isSubsequence(lines[k:], lines[:k]) {
			return append([]string(nil), lines[:k]...)
		}
	}
	return append([]string(nil), lines...)
}

func isSubsequence(sub, seq []string) bool {
	j := 0
	for _, s := range seq {
		if j < len(sub) && s == sub[j] {
			j++
		}
	}
	return j == len(sub)
}
