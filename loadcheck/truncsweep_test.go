package loadcheck_test

import (
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

// The truncation sweep: three committed Debian 6.1 amd64 modules, cut at
// every 64th byte.
var truncFixtures = []string{"crc7.ko", "lrw.ko", "nvram.ko"}

// truncObserved is the committed record of the cuts booted on Debian's 6.1
// kernel (TestTruncationRealKernel with KMODSCOPE_TRUNC_RECORD set).
const truncObserved = "testdata/truncation-observed-6.1.json"

type truncRecord struct {
	Kernel   string         `json:"kernel"`
	Insmod   string         `json:"insmod"`
	Outcomes []truncOutcome `json:"outcomes"`
}

type truncOutcome struct {
	Fixture      string   `json:"fixture"`
	Cut          int      `json:"cut"`
	ExitStatus   int      `json:"exit_status"`
	Errno        string   `json:"errno"`
	InsmodStderr string   `json:"insmod_stderr"`
	Dmesg        []string `json:"dmesg"`
	Taints       string   `json:"taints"`
}

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "amd64", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// elfEnd is the end of the section header table (e_shoff + e_shnum *
// e_shentsize): a cut at or past it leaves the ELF file whole (the cut
// falls in the signature, which then is no signature).
func elfEnd(b []byte) int {
	return int(binary.LittleEndian.Uint64(b[0x28:])) + int(binary.LittleEndian.Uint16(b[0x3c:]))*int(binary.LittleEndian.Uint16(b[0x3a:]))
}

// bootCuts are the cuts booted on the real kernel: inside the section
// contents (the first two, the middle, the last before the section headers),
// inside the section header table, and the first in the signature.
func bootCuts(b []byte) []int {
	shoff := int(binary.LittleEndian.Uint64(b[0x28:]))
	end := elfEnd(b)
	down := func(x int) int { return x / 64 * 64 }
	cuts := []int{64, 128, down(shoff / 2), down(shoff - 1), down(end - 1), down(end-1) + 64}
	slices.Sort(cuts)
	return slices.Compact(cuts)
}

// miniTarget61 is a 6.1 target for the fixture without trees: its
// vermagic and struct module size, the Debian policy, no Module.symvers.
func miniTarget61(t *testing.T, base []byte) *target.Kernel {
	m, err := ko.New(base)
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := m.Modinfo()
	magic, _ := ko.Get(kv, "vermagic")
	tm, _ := m.ThisModule()
	return &target.Kernel{Release: "test", Version: [3]int{6, 1, 0}, Machine: elf.EM_X86_64, Vermagic: magic, ModuleStructSize: tm.Size,
		Config: kconfig.Config{"CONFIG_MODULE_SIG": "y", "CONFIG_MODULE_FORCE_LOAD": "y", "CONFIG_STRICT_MODULE_RWX": "y"},
		Policy: target.PolicyDebian}
}

var elfStageChecks = map[string]bool{loadcheck.CheckELF: true, loadcheck.CheckLoadInfo: true, loadcheck.CheckModuleStructSize: true, loadcheck.CheckKernelCrash: true}

// TestTruncationSweep judges every 64th-byte cut of the three fixtures
// (no trees needed): a cut before the end of the section header table is
// refused by the kernel's ELF checks with ENOEXEC and a message; a cut past
// it (in the signature) is no longer signed and gets past the ELF stage.
// Never a panic, never a read error.
func TestTruncationSweep(t *testing.T) {
	n := 0
	for _, f := range truncFixtures {
		base := readFixture(t, f)
		tk := miniTarget61(t, base)
		end := elfEnd(base)
		for cut := 0; cut < len(base); cut += 64 {
			r := loadcheck.NewKernel(tk).CheckBytes(f, base[:cut])
			n++
			switch {
			case cut < end:
				if r.Loads || r.Errno != "ENOEXEC" || !elfStageChecks[r.FailedCheck] || len(r.Messages) == 0 {
					t.Errorf("%s cut %d (ELF ends at %d): %+v", f, cut, end, r)
				}
			default:
				if !r.Loads && elfStageChecks[r.FailedCheck] {
					t.Errorf("%s cut %d in the signature: refused by the ELF stage: %+v", f, cut, r)
				}
			}
		}
	}
	t.Logf("%d cuts of %d modules judged", n, len(truncFixtures))
}

// TestTruncationReplay replays the cuts recorded on Debian's 6.1 kernel
// against the committed fixtures (no trees, no qemu): where the kernel
// refused a cut in its ELF stage check gives its errno and messages; where
// it got past that stage, check does not refuse it there.
func TestTruncationReplay(t *testing.T) {
	raw, err := os.ReadFile(truncObserved)
	if err != nil {
		t.Fatal(err)
	}
	var rec truncRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	compared, later := 0, 0
	for _, o := range rec.Outcomes {
		base := readFixture(t, o.Fixture)
		r := loadcheck.NewKernel(miniTarget61(t, base)).CheckBytes(o.Fixture, base[:o.Cut])
		if o.ExitStatus == 0 || !elfStageChecks[r.FailedCheck] {
			if !r.Loads && elfStageChecks[r.FailedCheck] {
				t.Errorf("%s cut %d: the kernel got past its ELF checks (exit %d %q), check refuses at %s: %q", o.Fixture, o.Cut, o.ExitStatus, o.Dmesg, r.FailedCheck, r.Messages)
			}
			later++
			continue
		}
		compared++
		if r.Errno != o.Errno || !slices.Equal(r.Messages, o.Dmesg) {
			t.Errorf("%s cut %d:\n  check  %s %q\n  kernel %s %q", o.Fixture, o.Cut, r.Errno, r.Messages, o.Errno, o.Dmesg)
		}
	}
	if compared < 10 {
		t.Errorf("only %d recorded ELF-stage refusals (want at least 10)", compared)
	}
	t.Logf("%d recorded truncations compared with the kernel's messages, %d past the ELF stage", compared, later)
}

// TestTruncationRealKernel boots Debian's 6.1 kernel once, insmods the
// bootCuts of the three fixtures in turn, and compares each outcome with
// check's prediction against the complete 6.1 tree (errno, messages,
// taints). With KMODSCOPE_TRUNC_RECORD=FILE it writes the outcomes for
// TestTruncationReplay.
func TestTruncationRealKernel(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a kernel under qemu; skipped with -short")
	}
	roots, rels := realRoots(t)
	root, rel := "", ""
	for i := range roots {
		if strings.HasPrefix(rels[i], "6.1.") {
			root, rel = roots[i], rels[i]
		}
	}
	kernel := filepath.Join(root, "boot", "vmlinuz-"+rel)
	if root == "" || realkernel.AvailableFor(kernel) != nil {
		if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
			t.Fatalf("no Debian 6.1 amd64 root with boot/vmlinuz, or no qemu/busybox (%v)", realkernel.AvailableFor(kernel))
		}
		t.Skip("no Debian 6.1 amd64 root with boot/vmlinuz, or no qemu/busybox")
	}
	tk, err := target.Load(target.Options{BaseDir: root, Release: rel})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var paths, names []string
	var want []truncOutcome
	for _, f := range truncFixtures {
		base := readFixture(t, f)
		for _, cut := range bootCuts(base) {
			p := filepath.Join(dir, fmt.Sprintf("%s-cut%d.ko", strings.TrimSuffix(f, ".ko"), cut))
			if err := os.WriteFile(p, base[:cut], 0o644); err != nil {
				t.Fatal(err)
			}
			paths, names = append(paths, p), append(names, fmt.Sprintf("%s@%d", f, cut))
			want = append(want, truncOutcome{Fixture: f, Cut: cut})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Minute)
	defer cancel()
	start := time.Now()
	outs, err := realkernel.RunSequence(ctx, kernel, paths, names, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("one boot, %d insmods: %.1f s", len(outs), time.Since(start).Seconds())
	// One kernel for the whole sequence, as booted: a cut that loads
	// stays loaded and its taints (and once-only notices) are global.
	k := loadcheck.NewKernel(tk)
	agree := 0
	for i, o := range outs {
		w := &want[i]
		w.ExitStatus, w.Errno, w.InsmodStderr, w.Dmesg, w.Taints = o.ExitStatus, o.Errno, o.InsmodStderr, o.Dmesg, o.Taints
		data, _ := os.ReadFile(paths[i])
		r := k.CheckBytes(paths[i], data)
		if r.Loads {
			k.MarkLoaded(r)
		}
		ok := r.Loads == o.Loaded() && (r.Loads || r.Errno == o.Errno)
		if ok && !r.Loads {
			ok = slices.Equal(r.Messages, o.Dmesg)
		}
		if ok && r.Loads {
			ok = r.Taints == o.Taints
		}
		if !ok {
			t.Errorf("%s: check loads=%v %s %q taints %q; kernel exit %d %s %q taints %q", names[i], r.Loads, r.Errno, r.Messages, r.Taints,
				o.ExitStatus, o.Errno, o.Dmesg, o.Taints)
			continue
		}
		agree++
	}
	t.Logf("%d of %d truncation outcomes agree with the real %s kernel", agree, len(outs), rel)
	if p := os.Getenv("KMODSCOPE_TRUNC_RECORD"); p != "" {
		b, _ := json.MarshalIndent(truncRecord{Kernel: filepath.Base(kernel), Insmod: "busybox insmod (finit_module, then init_module on failure); exit status = errno", Outcomes: want}, "", "  ")
		if err := os.WriteFile(p, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
