package realkernel

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestArchOf tells the architecture of kernel images by their headers, the
// config file next to them, or the flavour in their name.
func TestArchOf(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bz := make([]byte, 0x300)
	copy(bz[0x202:], "HdrS")
	arm := make([]byte, 0x100)
	copy(arm[0x38:], "ARM\x64")
	s390 := make([]byte, 0x100) // no recognisable header: config decides
	write("config-6.1.0-50-s390x", []byte("CONFIG_64BIT=y\nCONFIG_S390=y\n"))
	write("config-6.1.0-50-powerpc64le", []byte("CONFIG_PPC64=y\nCONFIG_CPU_LITTLE_ENDIAN=y\n"))
	for _, tc := range []struct {
		file string
		data []byte
		want string
	}{
		{"vmlinuz-6.1.0-56-amd64", bz, "amd64"},
		{"vmlinuz-6.12.117+deb12-arm64", arm, "arm64"},
		{"vmlinuz-6.1.0-50-s390x", s390, "s390x"},
		{"vmlinuz-x-arm64", make([]byte, 16), "arm64"}, // the flavour in the name
	} {
		a, err := ArchOf(write(tc.file, tc.data))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if a.Name != tc.want {
			t.Errorf("%s: %s, want %s", tc.file, a.Name, tc.want)
		}
	}
	for _, name := range []string{"vmlinuz-unknown", "vmlinuz-6.1.0-50-powerpc64le"} { // ppc64el: not booted
		if _, err := ArchOf(write(name, make([]byte, 16))); err == nil || !strings.Contains(err.Error(), "cannot tell") {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := ArchOf(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing image accepted")
	}
}

// TestArchBusybox: a busybox of the wrong machine is refused by name, and
// the initramfs script waits for the settle message only where one is set.
func TestArchBusybox(t *testing.T) {
	self, err := os.Executable() // the test binary: this host's machine, not s390x
	if err != nil {
		t.Skip(err)
	}
	old := Busybox
	defer func() { Busybox = old }()
	Busybox = self
	if _, err := busyboxFor(Arches["s390x"]); err == nil || !strings.Contains(err.Error(), "s390x") {
		t.Errorf("busybox of the wrong machine: %v", err)
	}
	if s := settleScript(Arches["amd64"]); !strings.Contains(s, "Switched to clocksource tsc") {
		t.Errorf("amd64 settle script %q", s)
	}
	if s := settleScript(Arches["arm64"]); s != "" {
		t.Errorf("arm64 settle script %q", s)
	}
}
