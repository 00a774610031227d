package errno

import (
	"bufio"
	"debug/elf"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

func requireTrees(t *testing.T, format string, args ...any) {
	t.Helper()
	if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}

var defineRe = regexp.MustCompile(`^#define\s+(E[A-Z0-9_]+)\s+(\w+)`)

// parseHeader reads the #defines of an errno header, resolving aliases
// (EWOULDBLOCK EAGAIN) against itself and base.
func parseHeader(t *testing.T, path string, base map[string]int) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out := map[string]int{}
	for k, v := range base {
		out[k] = v
	}
	alias := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		m := defineRe.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		if n, err := strconv.Atoi(m[2]); err == nil {
			out[m[1]] = n
		} else {
			alias[m[1]] = m[2]
		}
	}
	for k, v := range alias {
		n, ok := out[v]
		if !ok {
			t.Fatalf("%s: %s aliases unknown %s", path, k, v)
		}
		out[k] = n
	}
	return out
}

// headerDirs returns the installed kernel header trees that carry every
// architecture's uapi errno.h (Debian's linux-headers-*-common).
func headerDirs() []string {
	d, _ := filepath.Glob("/usr/src/linux-headers-*-common")
	if k := os.Getenv("KMODSCOPE_KERNEL_SOURCE"); k != "" {
		d = append(d, k)
	}
	sort.Strings(d)
	return d
}

func TestGenericAgainstHeaders(t *testing.T) {
	var base, gen map[string]int
	for _, dir := range append([]string{"/usr/include/asm-generic"}, func() (o []string) {
		for _, d := range headerDirs() {
			o = append(o, filepath.Join(d, "include/uapi/asm-generic"))
		}
		return
	}()...) {
		if _, err := os.Stat(filepath.Join(dir, "errno.h")); err != nil {
			continue
		}
		base = parseHeader(t, filepath.Join(dir, "errno-base.h"), nil)
		gen = parseHeader(t, filepath.Join(dir, "errno.h"), base)
		break
	}
	if gen == nil {
		requireTrees(t, "no asm-generic/errno.h (install linux-libc-dev)")
	}
	if len(gen) < 130 {
		t.Fatalf("parsed only %d names from asm-generic/errno.h", len(gen))
	}
	for name, v := range gen {
		if got := Generic.Value(name); got != v {
			t.Errorf("Generic.Value(%s) = %d, header says %d", name, got, v)
		}
		if got := Generic.Name(v); Generic.Value(got) != v {
			t.Errorf("Generic.Name(%d) = %s, whose value is %d", v, got, Generic.Value(got))
		}
		if a := ForMachine(elf.EM_X86_64); a.Value(name) != v {
			t.Errorf("x86-64 %s = %d, want %d", name, a.Value(name), v)
		}
	}
	if len(genericNumbers) != len(gen) {
		t.Errorf("table has %d generic names, header %d", len(genericNumbers), len(gen))
	}
	t.Logf("compared %d asm-generic errno values", len(gen))
}

func TestArchesAgainstHeaders(t *testing.T) {
	dirs := headerDirs()
	if len(dirs) == 0 {
		requireTrees(t, "no /usr/src/linux-headers-*-common (install linux-headers-*-amd64)")
	}
	base := parseHeader(t, "/usr/include/asm-generic/errno-base.h", nil)
	checked := 0
	for _, dir := range dirs {
		for _, c := range []struct {
			arch Arch
			dir  string
			m    elf.Machine
		}{{MIPS, "mips", elf.EM_MIPS}, {Alpha, "alpha", elf.EM_ALPHA}, {SPARC, "sparc", elf.EM_SPARCV9}, {PARISC, "parisc", elf.EM_PARISC}} {
			p := filepath.Join(dir, "arch", c.dir, "include/uapi/asm/errno.h")
			if _, err := os.Stat(p); err != nil {
				requireTrees(t, "%s missing", p)
			}
			want := parseHeader(t, p, base)
			if ForMachine(c.m) != c.arch {
				t.Errorf("ForMachine(%v) = %v, want %v", c.m, ForMachine(c.m), c.arch)
			}
			for name, v := range want {
				if got := c.arch.Value(name); got != v {
					t.Errorf("%s: %s.Value(%s) = %d, header says %d", p, c.arch, name, got, v)
				}
				if got := c.arch.Name(v); want[got] != v {
					t.Errorf("%s: %s.Name(%d) = %s", p, c.arch, v, got)
				}
				checked++
			}
		}
	}
	t.Logf("compared %d architecture-specific errno values from %d header trees", checked, len(dirs))
}

// TestMessagesAgainstLibc compares the messages with the C library's
// strerror() (through python3's os.strerror), which insmod prints.
func TestMessagesAgainstLibc(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		requireTrees(t, "python3 not installed")
	}
	var names []string
	for n := range messages {
		names = append(names, n)
	}
	sort.Strings(names)
	var prog strings.Builder
	prog.WriteString("import os\n")
	for _, n := range names {
		prog.WriteString("print(os.strerror(" + strconv.Itoa(Generic.Value(n)) + "))\n")
	}
	out, err := exec.Command(py, "-c", prog.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(names) {
		t.Fatalf("python3 printed %d lines for %d errnos", len(lines), len(names))
	}
	for i, n := range names {
		if Message(n) != lines[i] {
			t.Errorf("Message(%s) = %q, strerror says %q", n, Message(n), lines[i])
		}
	}
	t.Logf("compared %d messages with strerror()", len(names))
}

func TestKnownValues(t *testing.T) {
	for _, c := range []struct {
		a    Arch
		name string
		v    int
	}{
		{Generic, "ENOEXEC", 8}, {Generic, "ENOKEY", 126}, {Generic, "EKEYREJECTED", 129},
		{Generic, "EBADMSG", 74}, {Generic, "ENODATA", 61}, {Generic, "ENOPKG", 65},
		{MIPS, "ENOEXEC", 8}, {MIPS, "ENOKEY", 161}, {MIPS, "EKEYREJECTED", 164}, {MIPS, "EBADMSG", 77},
		{MIPS, "ENOPKG", 65}, {MIPS, "ENODATA", 61}, {MIPS, "ERESTARTSYS", 512},
	} {
		if got := c.a.Value(c.name); got != c.v {
			t.Errorf("%s.Value(%s) = %d, want %d", c.a, c.name, got, c.v)
		}
		if got := c.a.Name(c.v); got != c.name {
			t.Errorf("%s.Name(%d) = %s, want %s", c.a, c.v, got, c.name)
		}
	}
	if Generic.Name(0) != "" || Generic.Name(9999) != "errno 9999" || Generic.Value("ENOTHING") != 0 {
		t.Error("unknown values")
	}
	if Generic.Name(11) != "EAGAIN" || Generic.Name(35) != "EDEADLK" {
		t.Errorf("aliases: %s %s", Generic.Name(11), Generic.Name(35))
	}
	if Message("ENOEXEC") != "Exec format error" || Message("EWOULDBLOCK") != Message("EAGAIN") {
		t.Error("messages")
	}
	if ForMachine(elf.EM_MIPS) != MIPS || ForMachine(elf.EM_AARCH64) != Generic || ForMachine(elf.EM_S390) != Generic {
		t.Error("ForMachine")
	}
}
