package loadcheck_test

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/internal/variants"
	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

// TestELFStageReplay replays the recorded real-kernel outcomes of the
// damaged-ELF variants (internal/variants/testdata/observed-*.json, crc7-elf-*)
// on the committed crc7 fixtures of the same kernel series, against a
// minimal target (no trees, no qemu): where the kernel refused the module
// in its ELF stage, check must give the same messages and errno; where it
// got past that stage, check must not refuse it there. On arm64 and s390x
// the crc7-stripped-* variants whose refusal is static (e_machine, W+X
// sections, arm64's PLT and ftrace sections) are replayed too.
func TestELFStageReplay(t *testing.T) {
	type rec struct {
		Variant    string   `json:"variant"`
		ExitStatus int      `json:"exit_status"`
		Errno      string   `json:"errno"`
		Dmesg      []string `json:"dmesg"`
	}
	elfStage := map[string]bool{loadcheck.CheckELF: true, loadcheck.CheckLoadInfo: true, loadcheck.CheckModuleStructSize: true, loadcheck.CheckKernelCrash: true,
		loadcheck.CheckArchSections: true, loadcheck.CheckRWX: true}
	total := 0
	for _, k := range []struct {
		obs, fixture string
		version      [3]int
		machine      elf.Machine
	}{
		{"observed-6.1.0-57.json", "amd64/crc7.ko", [3]int{6, 1, 0}, elf.EM_X86_64},
		{"observed-6.12.117.json", "amd64-6.12/crc7.ko.xz", [3]int{6, 12, 117}, elf.EM_X86_64},
		{"observed-6.12.117-arm64.json", "arm64-6.12/crc7.ko.xz", [3]int{6, 12, 117}, elf.EM_AARCH64},
		{"observed-6.1.0-50-s390x.json", "s390x/crc7.ko", [3]int{6, 1, 0}, elf.EM_S390},
	} {
		raw, err := os.ReadFile(filepath.Join("..", "internal", "variants", "testdata", k.obs))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Outcomes []rec `json:"outcomes"`
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		base, err := os.ReadFile(filepath.Join("..", "testdata", "modules", k.fixture))
		if err != nil {
			t.Fatal(err)
		}
		if f := compression.Sniff(base); f != compression.None {
			if base, err = compression.Decompress(f, base, 0); err != nil {
				t.Fatal(err)
			}
		}
		m, err := ko.New(base)
		if err != nil {
			t.Fatal(err)
		}
		kv, _ := m.Modinfo()
		magic, _ := ko.Get(kv, "vermagic")
		tm, _ := m.ThisModule()
		tk := &target.Kernel{Release: "test", Version: k.version, Machine: k.machine, Vermagic: magic, ModuleStructSize: tm.Size,
			Config: kconfig.Config{"CONFIG_MODULE_SIG": "y", "CONFIG_MODULE_FORCE_LOAD": "y", "CONFIG_STRICT_MODULE_RWX": "y",
				"CONFIG_DYNAMIC_FTRACE": "y", "CONFIG_FORTIFY_SOURCE": "y"},
			Policy: target.PolicyDebian}
		n := 0
		for _, o := range doc.Outcomes {
			static := k.machine != elf.EM_X86_64 && slices.Contains([]string{"crc7-stripped-e_machine-x86_64",
				"crc7-stripped-e_machine-aarch64", "crc7-stripped-text-wx", "crc7-stripped-arm64-no-plt",
				"crc7-stripped-arm64-no-init-plt", "crc7-stripped-arm64-no-ftrace-trampoline"}, o.Variant)
			if !strings.HasPrefix(o.Variant, "crc7-elf-") && !static {
				continue
			}
			data, err := variants.Apply(o.Variant, base)
			if err != nil {
				t.Fatalf("%s: %v", o.Variant, err)
			}
			r := loadcheck.NewKernel(tk).CheckBytes(o.Variant+".ko", data)
			n++
			if o.ExitStatus == 0 {
				if !r.Loads && elfStage[r.FailedCheck] {
					t.Errorf("%s on %s: the kernel loaded it, check refuses it at %s: %q", o.Variant, k.obs, r.FailedCheck, r.Messages)
				}
				continue
			}
			if !elfStage[r.FailedCheck] {
				// Refused later by the kernel (symbols, vermagic): the
				// minimal target cannot say; the real-kernel test compares.
				if r.Loads || r.FailedCheck == "" {
					t.Logf("%s on %s: kernel refused (%s), minimal target: loads=%v", o.Variant, k.obs, o.Errno, r.Loads)
				}
				continue
			}
			oops := slices.ContainsFunc(o.Dmesg, func(l string) bool {
				return strings.HasPrefix(l, "BUG: unable to handle page fault") || strings.HasPrefix(l, "Unable to handle kernel ") || strings.HasPrefix(l, "kernel BUG at ")
			})
			if r.FailedCheck == loadcheck.CheckKernelCrash || oops {
				// A crash: insmod killed by the oops (x86 SIGKILL 137,
				// arm64 and s390x SIGSEGV 139, and 139 after a BUG).
				if r.FailedCheck != loadcheck.CheckKernelCrash || o.ExitStatus != 137 && o.ExitStatus != 139 || !oops || r.Crash == "" {
					t.Errorf("%s on %s: check %s %q, kernel exit %d", o.Variant, k.obs, r.FailedCheck, r.Crash, o.ExitStatus)
				}
				continue
			}
			if r.Errno != o.Errno || !slices.Equal(r.Messages, o.Dmesg) {
				t.Errorf("%s on %s:\n  check  %s %q\n  kernel %s %q", o.Variant, k.obs, r.Errno, r.Messages, o.Errno, o.Dmesg)
			}
		}
		if n < 10 {
			t.Errorf("%s: only %d damaged-ELF outcomes", k.obs, n)
		}
		t.Logf("%s: %d outcomes replayed on %s", k.obs, n, k.fixture)
		total += n
	}
	t.Logf("%d recorded damaged-ELF outcomes replayed on committed fixtures", total)
}

// TestTruncationVerdicts cuts the committed amd64 crc7 every 64th byte and
// checks each cut against 6.1 and 6.12.117 targets: always a verdict, never
// a panic; a cut before the section headers is refused by the ELF stage
// with ENOEXEC.
func TestTruncationVerdicts(t *testing.T) {
	base, err := os.ReadFile(filepath.Join("..", "testdata", "modules", "amd64", "crc7.ko"))
	if err != nil {
		t.Fatal(err)
	}
	shoff := int(base[0x28]) | int(base[0x29])<<8 | int(base[0x2a])<<16
	n := 0
	for _, v := range [][3]int{{6, 1, 0}, {6, 12, 117}} {
		tk := &target.Kernel{Release: "test", Version: v, Machine: elf.EM_X86_64, Config: kconfig.Config{"CONFIG_MODULE_SIG": "y"}}
		for cut := 0; cut < len(base); cut += 64 {
			r := loadcheck.NewKernel(tk).CheckBytes("crc7.ko", base[:cut])
			n++
			if cut < shoff && (r.Loads || r.Errno != "ENOEXEC" || r.FailedCheck != loadcheck.CheckELF || len(r.Messages) == 0) {
				t.Errorf("%v cut %d: %+v", v, cut, r)
			}
		}
	}
	t.Logf("%d truncations judged", n)
}
