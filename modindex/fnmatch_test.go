package modindex

import (
	"bufio"
	"encoding/hex"
	"math/rand"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// Expected values verified against glibc 2.36 fnmatch(p, s, 0), C locale.
var fnmatchCases = []struct {
	p, s string
	want bool
}{
	{"", "", true},
	{"", "a", false},
	{"a", "a", true},
	{"a", "b", false},
	{"*", "", true},
	{"*", "a/b", true},
	{"*", ".hidden", true},
	{"a*", "a", true},
	{"a*b", "axxb", true},
	{"a*b", "axxbc", false},
	{"a*b*c", "abxbc", true},
	{"*?", "", false},
	{"*?", "x", true},
	{"?", "", false},
	{"?", "/", true},
	{"??", "a", false},
	{"\\*", "*", true},
	{"\\*", "a", false},
	{"a\\", "a", false},
	{"a\\", "a\\", false},
	{"\\a", "a", true},
	{"[abc]", "b", true},
	{"[abc]", "d", false},
	{"[a-c]", "b", true},
	{"[a-c]", "-", false},
	{"[a-]", "-", true},
	{"[-a]", "-", true},
	{"[!a]", "b", true},
	{"[!a]", "a", false},
	{"[^a]", "b", true},
	{"[^a]", "a", false},
	{"[]a]", "]", true},
	{"[!]a]", "]", false},
	{"[!]a]", "b", true},
	{"[]", "]", false},
	{"[]", "[]", true},
	{"[a", "[a", true},
	{"[a", "a", false},
	{"a[", "a[", true},
	{"[[:alpha:]]", "a", true},
	{"[[:alpha:]]", "1", false},
	{"[[:digit:][:upper:]]", "Q", true},
	{"[[:foo:]]", "a", false},
	{"[[:alpha]", "a", true},
	{"[[:alpha]", ":", true},
	{"[[=a=]]", "a", true},
	{"[[=a=]b]", "b", true},
	{"[[.a.]]", "a", true},
	{"[[.a.]-c]", "b", true},
	{"[[.ab.]]", "a", false},
	{"[\\]]", "]", true},
	{"[\\a-c]", "b", true},
	{"[a-\\c]", "b", true},
	{"[z-a]", "m", false},
	{"[a-c-e]", "d", false},
	{"[a-c-e]", "-", true},
	{"*[", "x[", true},
	{"*[b]", "ab", true},
	{"*\\", "a", false},
	{"usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*", "usb:v0951p1697d0100dc00dsc00dp00ic08isc06ip50in00", true},
	{"pci:v00008086d000010D3sv*sd*bc*sc*i*", "pci:v00008086d000010D3sv00001234sd00005678bc02sc00i00", true},
	{"char_major_116_*", "char_major_116_1", true},
	{"acpi*:PNP0C0A:*", "acpiX:PNP0C0A:X", true},
	{"\xe9*", "\xe9x", true},
	{"[\xe0-\xef]", "\xe9", true},
	{"[[:alpha:]]", "\xe9", false},
}

func TestFnmatchTable(t *testing.T) {
	for _, c := range fnmatchCases {
		if got := Fnmatch(c.p, c.s); got != c.want {
			t.Errorf("Fnmatch(%q, %q) = %v, want %v", c.p, c.s, got, c.want)
		}
	}
}

// libcFnmatch runs glibc's fnmatch through python3's ctypes in the C
// locale, one "hexpattern hexstring" line per query.
type libcFnmatch struct {
	cmd *exec.Cmd
	in  *bufio.Writer
	out *bufio.Scanner
}

const libcFnmatchScript = `
import ctypes, locale, sys
locale.setlocale(locale.LC_ALL, "C")
libc = ctypes.CDLL("libc.so.6")
for line in sys.stdin:
    p, s = line.split()
    r = libc.fnmatch(bytes.fromhex(p), bytes.fromhex(s), 0)
    sys.stdout.write("1\n" if r == 0 else "0\n")
    sys.stdout.flush()
`

func startLibc(t *testing.T) *libcFnmatch {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 not available")
	}
	cmd := exec.Command(py, "-c", libcFnmatchScript)
	env := []string{"LC_ALL=C", "PYTHONCOERCECLOCALE=0", "PYTHONUTF8=0"}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "LC_") && !strings.HasPrefix(e, "LANG") && !strings.HasPrefix(e, "POSIXLY_CORRECT") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Skipf("python3: %v", err)
	}
	t.Cleanup(func() { stdin.Close(); cmd.Wait() })
	return &libcFnmatch{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
}

func (l *libcFnmatch) batch(t *testing.T, pairs [][2]string) []bool {
	res := make([]bool, 0, len(pairs))
	for i := 0; i < len(pairs); i += 256 {
		end := min(i+256, len(pairs))
		for _, pr := range pairs[i:end] {
			// An empty field would break split(); encode "" as "00" and strip the NUL.
			l.in.WriteString(hexArg(pr[0]) + " " + hexArg(pr[1]) + "\n")
		}
		l.in.Flush()
		for range pairs[i:end] {
			if !l.out.Scan() {
				t.Fatalf("python3 fnmatch helper died")
			}
			res = append(res, l.out.Text() == "1")
		}
	}
	return res
}

// hexArg hex-encodes s; a trailing NUL keeps empty strings non-empty and
// does not change the C string.
func hexArg(s string) string { return hex.EncodeToString([]byte(s + "\x00")) }

func TestFnmatchAgainstLibc(t *testing.T) {
	if posixlyCorrect() {
		t.Skip("POSIXLY_CORRECT set")
	}
	l := startLibc(t)
	var pairs [][2]string
	for _, c := range fnmatchCases {
		pairs = append(pairs, [2]string{c.p, c.s})
	}
	rng := rand.New(rand.NewSource(1))
	patAlpha := []string{"a", "b", "c", "-", "*", "?", "[", "]", "!", "^", "\\", ":", ".", "=", "z",
		"[:alpha:]", "[:digit:]", "[=a=]", "[.b.]", "[:", ":]", "\xe9", "/"}
	strAlpha := "abc-[]!^\\:.=z/\xe91"
	n := 20000
	if testing.Short() {
		n = 3000
	}
	for i := 0; i < n; i++ {
		var p, s strings.Builder
		for j := rng.Intn(8); j >= 0; j-- {
			p.WriteString(patAlpha[rng.Intn(len(patAlpha))])
		}
		for j := rng.Intn(7); j > 0; j-- {
			s.WriteByte(strAlpha[rng.Intn(len(strAlpha))])
		}
		pairs = append(pairs, [2]string{p.String(), s.String()})
		// Also a string derived from the pattern, so matches are common.
		pairs = append(pairs, [2]string{p.String(), concretize(p.String())})
	}
	want := l.batch(t, pairs)
	bad := 0
	for i, pr := range pairs {
		if got := Fnmatch(pr[0], pr[1]); got != want[i] {
			bad++
			if bad <= 20 {
				t.Errorf("Fnmatch(%q, %q) = %v, glibc %v", pr[0], pr[1], got, want[i])
			}
		}
	}
	t.Logf("%d pairs compared with glibc", len(pairs))
}

func FuzzFnmatch(f *testing.F) {
	for _, c := range fnmatchCases {
		f.Add(c.p, c.s)
	}
	f.Fuzz(func(t *testing.T, p, s string) {
		if len(p) > 64 || len(s) > 64 {
			return
		}
		Fnmatch(p, s)
	})
}
