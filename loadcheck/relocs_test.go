package loadcheck_test

import (
	"bytes"
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/modsig"
	"github.com/kmodscope/kmodscope/symvers"
	"github.com/kmodscope/kmodscope/target"
)

// fixtureTarget reads a committed module fixture (decompressed, signature
// stripped) and a minimal target of its own architecture and version.
func fixtureTarget(t *testing.T, rel string, version [3]int) ([]byte, *target.Kernel) {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", "modules", rel))
	if err != nil {
		t.Fatal(err)
	}
	if f := compression.Sniff(data); f != compression.None {
		if data, err = compression.Decompress(f, data, 0); err != nil {
			t.Fatal(err)
		}
	}
	if data, err = modsig.Strip(data); err != nil {
		t.Fatal(err)
	}
	data = bytes.Clone(data)
	m, err := ko.New(data)
	if err != nil {
		t.Fatal(err)
	}
	// Module.symvers: every symbol the module imports, with its CRC, as
	// a vmlinux export.
	vs, err := m.Versions()
	if err != nil {
		t.Fatal(err)
	}
	var sv strings.Builder
	for _, v := range vs {
		fmt.Fprintf(&sv, "0x%08x\t%s\tvmlinux\tEXPORT_SYMBOL\t\n", v.CRC, v.Name)
	}
	table, err := symvers.Parse(strings.NewReader(sv.String()))
	if err != nil {
		t.Fatal(err)
	}
	kv, _ := m.Modinfo()
	magic, _ := ko.Get(kv, "vermagic")
	tm, _ := m.ThisModule()
	return data, &target.Kernel{Release: "test", Version: version, Machine: m.ELF.Machine, Vermagic: magic, ModuleStructSize: tm.Size, Symvers: table,
		Config: kconfig.Config{"CONFIG_MODULE_FORCE_LOAD": "y", "CONFIG_STRICT_MODULE_RWX": "y"}, Policy: target.PolicyDebian}
}

// setFirstRelaType sets the type of the first relocation of .rela.text.
func setFirstRelaType(t *testing.T, data []byte, typ uint32) []byte {
	t.Helper()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	s := f.Section(".rela.text")
	if s == nil || s.Size < 24 {
		t.Fatal("no .rela.text")
	}
	out := bytes.Clone(data)
	p := int(s.Offset) + 8 // r_info
	info := f.ByteOrder.Uint64(out[p:])
	f.ByteOrder.PutUint64(out[p:], info&^0xffffffff|uint64(typ))
	return out
}

// TestRelocationTypes: a relocation type the architecture's
// apply_relocate_add() does not handle stops the load with its message and
// ENOEXEC (the messages were seen on the real 6.12 arm64, 6.1 s390x and
// amd64 kernels); s390x refuses the shared-object types without a message;
// the unmodified fixtures pass the relocation stage.
func TestRelocationTypes(t *testing.T) {
	for _, tc := range []struct {
		fixture string
		version [3]int
		typ     uint32
		want    []string // nil: refused without a message
	}{
		{"amd64/crc7.ko", [3]int{6, 1, 0}, 42, []string{"module: crc7: Unknown rela relocation: 42"}},
		{"arm64-6.12/crc7.ko.xz", [3]int{6, 12, 117}, 42, []string{"Modules: module crc7: unsupported RELA relocation: 42"}},
		{"arm64/crc7.ko", [3]int{6, 1, 0}, 42, []string{"module crc7: unsupported RELA relocation: 42"}},
		{"s390x/crc7.ko", [3]int{6, 1, 0}, 42, []string{"module crc7: unknown relocation: 42"}},
		{"s390x/crc7.ko", [3]int{6, 1, 0}, uint32(elf.R_390_RELATIVE), nil},
		{"s390x/crc7.ko", [3]int{6, 1, 0}, uint32(elf.R_390_GLOB_DAT), nil},
	} {
		data, tk := fixtureTarget(t, tc.fixture, tc.version)
		base := loadcheck.NewKernel(tk).CheckBytes("crc7.ko", data)
		if base.FailedCheck == loadcheck.CheckRelocation {
			t.Errorf("%s unmodified: refused at the relocations: %q", tc.fixture, base.Messages)
		}
		r := loadcheck.NewKernel(tk).CheckBytes("crc7.ko", setFirstRelaType(t, data, tc.typ))
		if r.Loads || r.FailedCheck != loadcheck.CheckRelocation || r.Errno != "ENOEXEC" {
			t.Errorf("%s type %d: loads=%v check %s errno %s %q", tc.fixture, tc.typ, r.Loads, r.FailedCheck, r.Errno, r.Messages)
			continue
		}
		// The messages before the relocation one are the E taint's.
		got := slices.DeleteFunc(slices.Clone(r.Messages), func(m string) bool { return bytes.Contains([]byte(m), []byte("module verification failed")) })
		if !slices.Equal(got, tc.want) && !(tc.want == nil && len(got) == 0) {
			t.Errorf("%s type %d: messages %q, want %q", tc.fixture, tc.typ, got, tc.want)
		}
	}
}
