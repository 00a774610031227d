package cli

// Tests of `kmodscope sign`, `sig verify`, `sig strip` and `certs` against
// the reference tools run at test time: the kernel's scripts/sign-file (as
// packaged by Debian in linux-kbuild-*), openssl and kmod's modinfo.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

const sigtMagic = "~Module signature appended~\n"

// sigtRun runs kmodscope through Main, turning a panic into a test error.
func sigtRun(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("kmodscope %v panicked: %v", args, r)
			code = -1
		}
	}()
	code = Main(args, nil, &out, &errb)
	return code, out.String(), errb.String()
}

// sigtMust runs kmodscope and requires exit status 0.
func sigtMust(t *testing.T, args ...string) string {
	t.Helper()
	code, out, errs := sigtRun(t, args...)
	if code != 0 {
		t.Fatalf("kmodscope %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func sigtTool(t *testing.T, name string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, d := range []string{"/usr/sbin", "/sbin", "/usr/bin"} {
		if p := filepath.Join(d, name); sigtExists(p) {
			return p
		}
	}
	t.Skipf("%s not installed", name)
	return ""
}

func sigtExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// signFile finds the kernel's sign-file (Debian: linux-kbuild-VERSION).
func signFile(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("SIGN_FILE"); p != "" {
		return p
	}
	m, _ := filepath.Glob("/usr/lib/linux-kbuild-*/scripts/sign-file")
	if len(m) == 0 {
		t.Skip("sign-file not found (apt-get install linux-kbuild-6.1)")
	}
	sort.Strings(m)
	return m[len(m)-1]
}

func sigtExec(t *testing.T, name string, args ...string) []byte {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

func sigtCopy(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(dst, 0o644)
}

func sigtRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func sigtRepo() string { return filepath.Join("..", "..") }

// sigtModules picks signed plain modules of several architectures: the
// committed testdata and, when present, one per arch from the shared corpus.
func sigtModules(t *testing.T) []string {
	var out []string
	for _, a := range []string{"amd64", "arm64", "s390x", "i386"} {
		p := filepath.Join(sigtRepo(), "testdata", "modules", a, "crc7.ko")
		if !sigtExists(p) {
			t.Fatalf("missing %s", p)
		}
		out = append(out, p)
	}
	corpus := os.Getenv("KMODSCOPE_CORPUS")
	if corpus == "" {
		corpus = filepath.Join(sigtRepo(), "..", "shared", "corpus", "debian")
	}
	for _, a := range []string{"amd64", "arm64", "ppc64el", "armhf"} {
		m, _ := filepath.Glob(filepath.Join(corpus, a, "lib", "modules", "*", "kernel", "net", "netfilter", "nf_conntrack.ko"))
		out = append(out, m...)
	}
	return out
}

// sigtRSA makes an RSA key and self-signed certificate as the kernel's
// certs/Makefile does (x509.genkey), with openssl.
func sigtRSA(t *testing.T, dir string, bits int) (key, cert string) {
	key, cert = filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	sigtExec(t, sigtTool(t, "openssl"), "req", "-new", "-nodes", "-utf8", "-sha256", "-days", "36500", "-batch", "-x509",
		"-subj", "/CN=kmodscope test/O=kmodscope", "-newkey", fmt.Sprintf("rsa:%d", bits),
		"-outform", "PEM", "-out", cert, "-keyout", key)
	return key, cert
}

func sigtEC(t *testing.T, dir, curve string) (key, cert string) {
	openssl := sigtTool(t, "openssl")
	key, cert = filepath.Join(dir, curve+".key"), filepath.Join(dir, curve+".pem")
	sigtExec(t, openssl, "ecparam", "-name", curve, "-genkey", "-noout", "-out", key)
	sigtExec(t, openssl, "req", "-new", "-x509", "-key", key, "-sha256", "-days", "36500", "-batch",
		"-subj", "/CN=kmodscope "+curve+"/O=kmodscope", "-out", cert)
	return key, cert
}

// sigtSplit returns the PKCS#7 DER and the signed content of a signed module.
func sigtSplit(t *testing.T, data []byte) (sig, content []byte) {
	t.Helper()
	if !bytes.HasSuffix(data, []byte(sigtMagic)) {
		t.Fatalf("not signed")
	}
	l := len(data)
	n := int(binary.BigEndian.Uint32(data[l-len(sigtMagic)-4:]))
	end := l - 40
	return data[end-n : end], data[:end-n]
}

func TestSignMatchesSignFile(t *testing.T) {
	sf := signFile(t)
	dir := t.TempDir()
	key, cert := sigtRSA(t, dir, 2048)
	mods := sigtModules(t)
	compared := 0
	for i, m := range mods {
		name := fmt.Sprintf("%d-%s", i, filepath.Base(filepath.Dir(m)))
		if strings.Contains(m, "corpus") {
			name = fmt.Sprintf("%d-corpus", i)
		}
		signed := filepath.Join(dir, name+"-signed.ko")
		stripped := filepath.Join(dir, name+"-stripped.ko")
		sigtCopy(t, m, signed)
		sigtMust(t, "sig", "strip", signed, "-o", stripped)
		sb := sigtRead(t, stripped)
		if bytes.HasSuffix(sb, []byte(sigtMagic)) || len(sb) >= len(sigtRead(t, signed)) {
			t.Fatalf("%s: sig strip left a signature", m)
		}
		for _, hash := range []string{"sha256", "sha512"} {
			for _, keyid := range []bool{false, true} {
				tag := fmt.Sprintf("%s-%s-k%v", name, hash, keyid)
				a, b := filepath.Join(dir, tag+"-signfile.ko"), filepath.Join(dir, tag+"-kmodscope.ko")
				sigtCopy(t, stripped, a)
				sigtCopy(t, stripped, b)
				sfArgs := []string{hash, key, cert, a}
				ksArgs := []string{"sign", "--key", key, "--cert", cert, "--hash", hash, b}
				if keyid {
					sfArgs = append([]string{"-k"}, sfArgs...)
					ksArgs = append(ksArgs, "--keyid")
				}
				sigtExec(t, sf, sfArgs...)
				sigtMust(t, ksArgs...)
				if !bytes.Equal(sigtRead(t, a), sigtRead(t, b)) {
					t.Errorf("%s: %s %v: kmodscope sign output differs from sign-file", m, hash, keyid)
				}
				compared++
				if out := sigtMust(t, "sig", "verify", "--cert", cert, b); !strings.Contains(out, ": valid: ") {
					t.Errorf("%s: %s", b, out)
				}
				if hash == "sha512" && keyid {
					// Re-signing a kmodscope-signed module replaces the signature.
					re := filepath.Join(dir, tag+"-resigned.ko")
					sigtMust(t, "sign", "--key", key, "--cert", cert, b, "-o", re)
					ref := filepath.Join(dir, name+"-sha256-kfalse-signfile.ko")
					if !bytes.Equal(sigtRead(t, re), sigtRead(t, ref)) {
						t.Errorf("%s: re-signing a signed module (sha512 keyid -> sha256) differs from sign-file on the stripped module", m)
					}
				}
			}
		}
		// Re-signing the distribution-signed original.
		re := filepath.Join(dir, name+"-resigned-orig.ko")
		sigtMust(t, "sign", "--key", key, "--cert", cert, signed, "-o", re)
		if !bytes.Equal(sigtRead(t, re), sigtRead(t, filepath.Join(dir, name+"-sha256-kfalse-signfile.ko"))) {
			t.Errorf("%s: re-signing the Debian-signed module differs from sign-file on the stripped module", m)
		}
		// In place, with the default hash.
		sigtMust(t, "sign", "--key", key, "--cert", cert, signed)
		if !bytes.Equal(sigtRead(t, signed), sigtRead(t, re)) {
			t.Errorf("%s: in-place re-sign differs from -o", m)
		}
	}
	// The other digests, on one module.
	stripped := filepath.Join(dir, "0-amd64-stripped.ko")
	for _, hash := range []string{"sha1", "sha224", "sha384", "sha3-256", "sha3-384", "sha3-512"} {
		a, b := filepath.Join(dir, "h-"+hash+"-signfile.ko"), filepath.Join(dir, "h-"+hash+"-kmodscope.ko")
		sigtCopy(t, stripped, a)
		if out, err := exec.Command(sf, hash, key, cert, a).CombinedOutput(); err != nil {
			t.Logf("sign-file %s: %v: %s (skipped)", hash, err, out)
			continue
		}
		sigtMust(t, "sign", "--key", key, "--cert", cert, "--hash", hash, stripped, "-o", b)
		if !bytes.Equal(sigtRead(t, a), sigtRead(t, b)) {
			t.Errorf("%s: kmodscope sign output differs from sign-file", hash)
		}
		compared++
	}
	t.Logf("sign: %d modules, %d signatures byte-identical with %s", len(mods), compared, sf)

	// A .ko.xz is signed inside and compressed again.
	xzPath := sigtTool(t, "xz")
	src := filepath.Join(sigtRepo(), "testdata", "modules", "amd64-6.12", "crc7.ko.xz")
	x := filepath.Join(dir, "crc7.ko.xz")
	sigtCopy(t, src, x)
	sigtMust(t, "sign", "--key", key, "--cert", cert, x)
	xb := sigtRead(t, x)
	if !bytes.HasPrefix(xb, []byte("\xfd7zXZ\x00")) {
		t.Fatalf("%s is no longer xz", x)
	}
	plain := filepath.Join(dir, "crc7-from-xz.ko")
	if err := os.WriteFile(plain, sigtExec(t, xzPath, "-dc", x), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{plain, x} {
		if out := sigtMust(t, "sig", "verify", "--cert", cert, p); !strings.Contains(out, ": valid: CN=kmodscope test") {
			t.Errorf("sig verify %s: %s", p, out)
		}
	}
	// The image inside is what sign-file makes of the stripped image.
	orig := filepath.Join(dir, "crc7-orig-from-xz.ko")
	os.WriteFile(orig, sigtExec(t, xzPath, "-dc", src), 0o644)
	sigtMust(t, "sig", "strip", orig)
	sigtExec(t, sf, "sha256", key, cert, orig)
	if !bytes.Equal(sigtRead(t, orig), sigtRead(t, plain)) {
		t.Errorf("%s: the signed image inside differs from sign-file's", x)
	}
	modinfo := sigtTool(t, "modinfo")
	if out := strings.TrimSpace(string(sigtExec(t, modinfo, "-F", "signer", x))); out != "kmodscope test" {
		t.Errorf("modinfo -F signer %s = %q, want %q", x, out, "kmodscope test")
	}
}

func TestSignECDSA(t *testing.T) {
	sf := signFile(t)
	openssl := sigtTool(t, "openssl")
	modinfo := sigtTool(t, "modinfo")
	dir := t.TempDir()
	mods := sigtModules(t)[:4]
	n := 0
	for _, c := range []struct{ curve, hash string }{{"prime256v1", "sha256"}, {"secp384r1", "sha384"}, {"secp384r1", "sha512"}} {
		key, cert := sigtEC(t, dir, c.curve)
		for i, m := range mods {
			tag := fmt.Sprintf("%s-%s-%d", c.curve, c.hash, i)
			stripped := filepath.Join(dir, tag+".ko")
			sigtCopy(t, m, stripped)
			sigtMust(t, "sig", "strip", stripped)
			a, b := filepath.Join(dir, tag+"-signfile.ko"), filepath.Join(dir, tag+"-kmodscope.ko")
			sigtCopy(t, stripped, a)
			sigtExec(t, sf, c.hash, key, cert, a)
			sigtMust(t, "sign", "--key", key, "--cert", cert, "--hash", c.hash, stripped, "-o", b)

			// kmodscope verifies sign-file's signature (and its own).
			for _, p := range []string{a, b} {
				if out := sigtMust(t, "sig", "verify", "--cert", cert, p); !strings.Contains(out, ": valid: ") {
					t.Errorf("sig verify %s: %s", p, out)
				}
			}
			// openssl verifies kmodscope's.
			sig, content := sigtSplit(t, sigtRead(t, b))
			sp, cp := filepath.Join(dir, tag+"-sig.der"), filepath.Join(dir, tag+"-content.bin")
			os.WriteFile(sp, sig, 0o644)
			os.WriteFile(cp, content, 0o644)
			if out, err := exec.Command(openssl, "cms", "-verify", "-binary", "-inform", "DER", "-in", sp, "-content", cp,
				"-certfile", cert, "-nointern", "-noverify", "-out", "/dev/null").CombinedOutput(); err != nil {
				t.Errorf("%s %s: openssl cms -verify rejects kmodscope's signature: %v\n%s", c.curve, m, err, out)
			}
			if _, contentA := sigtSplit(t, sigtRead(t, a)); !bytes.Equal(contentA, content) {
				t.Errorf("%s: signed content differs between sign-file and kmodscope", m)
			}
			for _, f := range []string{"signer", "sig_key", "sig_hashalgo"} {
				x := sigtExec(t, modinfo, "-F", f, a)
				y := sigtExec(t, modinfo, "-F", f, b)
				if !bytes.Equal(x, y) || len(bytes.TrimSpace(x)) == 0 {
					t.Errorf("%s %s: modinfo -F %s: sign-file %q, kmodscope %q", c.curve, m, f, x, y)
				}
			}
			if h := strings.TrimSpace(string(sigtExec(t, modinfo, "-F", "sig_hashalgo", b))); h != c.hash {
				t.Errorf("sig_hashalgo %q, want %s", h, c.hash)
			}
			n++
		}
	}
	t.Logf("ECDSA: %d module signatures cross-verified (kmodscope <-> sign-file/openssl)", n)
}

// sigtOneLine requires exit status 1 and exactly one stderr line that names
// want (a file) and does not look like a panic.
func sigtOneLine(t *testing.T, want string, args ...string) string {
	t.Helper()
	code, out, errs := sigtRun(t, args...)
	if code != 1 {
		t.Errorf("kmodscope %s: exit %d, want 1\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	lines := strings.Split(strings.TrimRight(errs, "\n"), "\n")
	if len(lines) != 1 || !strings.Contains(errs, want) || strings.Contains(errs, "goroutine") || strings.Contains(errs, "panic") {
		t.Errorf("kmodscope %s: want one stderr line naming %s, got %d:\n%s", strings.Join(args, " "), want, len(lines), errs)
	}
	return errs
}

// sigtRefused requires exit status 3 and a result line for file with status.
func sigtRefused(t *testing.T, file, status string, args ...string) {
	t.Helper()
	code, out, errs := sigtRun(t, args...)
	if code != 3 || errs != "" || !strings.HasPrefix(out, file+": "+status) {
		t.Errorf("kmodscope %s: exit %d (want 3), stdout %q (want %q), stderr %q", strings.Join(args, " "), code, out, file+": "+status, errs)
	}
}

func sigtLs(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func TestSigErrors(t *testing.T) {
	openssl := sigtTool(t, "openssl")
	dir := t.TempDir()
	key, cert := sigtRSA(t, dir, 2048)
	mdir := filepath.Join(dir, "m")
	os.Mkdir(mdir, 0o755)
	good := filepath.Join(mdir, "good.ko")
	sigtCopy(t, filepath.Join(sigtRepo(), "testdata", "modules", "amd64", "crc7.ko"), good)
	sigtMust(t, "sign", "--key", key, "--cert", cert, good)
	gb := sigtRead(t, good)
	l := len(gb)
	write := func(name string, b []byte) string {
		p := filepath.Join(mdir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	// sig_len pointing past the start of the file.
	past := append([]byte(nil), gb...)
	binary.BigEndian.PutUint32(past[l-32:], uint32(l))
	pastP := write("siglen-past-start.ko", past)
	sigtRefused(t, pastP, "malformed (-EBADMSG)", "sig", "verify", "--cert", cert, pastP)
	sigtOneLine(t, pastP, "sig", "strip", pastP)
	sigtOneLine(t, pastP, "sign", "--key", key, "--cert", cert, pastP)
	if !bytes.Equal(sigtRead(t, pastP), past) {
		t.Errorf("failed sign/strip modified %s", pastP)
	}

	// PKCS#7 blob cut short (trailer intact): never valid.
	sig, content := sigtSplit(t, gb)
	short := append(append(append([]byte(nil), content...), sig[:len(sig)-10]...), gb[l-40:]...)
	binary.BigEndian.PutUint32(short[len(short)-32:], uint32(len(sig)))
	shortP := write("pkcs7-truncated.ko", short)
	code, out, _ := sigtRun(t, "sig", "verify", "--cert", cert, shortP)
	if code != 3 || strings.Contains(out, ": valid") {
		t.Errorf("truncated PKCS#7: exit %d, %s", code, out)
	}

	// Garbage after the magic: unsigned, as the kernel sees it.
	garbage := write("garbage.ko", append(append([]byte(nil), gb...), "trailing garbage\n"...))
	sigtRefused(t, garbage, "unsigned (-ENODATA)", "sig", "verify", "--cert", cert, garbage)
	code, out, _ = sigtRun(t, "sig", "verify", "--json", "--cert", cert, garbage)
	if code != 3 || !strings.Contains(out, `"status": "unsigned"`) || !strings.Contains(out, `"errno": "ENODATA"`) {
		t.Errorf("--json garbage: exit %d\n%s", code, out)
	}

	// A module is not a kernel image with certificates.
	sigtOneLine(t, good, "certs", good)
	code, out, _ = sigtRun(t, "certs", "--json", good)
	if code != 1 || !strings.Contains(out, `"error": "`) {
		t.Errorf("certs --json on a module: exit %d\n%s", code, out)
	}

	// A corrupt .ko.xz.
	xb := sigtExec(t, sigtTool(t, "xz"), "-c", good)
	for i := len(xb) / 2; i < len(xb)/2+8; i++ {
		xb[i] ^= 0x5a
	}
	bad := write("corrupt.ko.xz", xb)
	sigtOneLine(t, bad, "sig", "verify", "--cert", cert, bad)
	sigtOneLine(t, bad, "sign", "--key", key, "--cert", cert, bad)
	sigtOneLine(t, bad, "sig", "strip", bad)
	if !bytes.Equal(sigtRead(t, bad), xb) {
		t.Errorf("failed sign modified %s", bad)
	}
	// One unreadable module among good ones: exit 1, the good one reported.
	code, out, errs := sigtRun(t, "sig", "verify", "--cert", cert, good, bad)
	if code != 1 || !strings.Contains(out, good+": valid") || !strings.Contains(errs, bad) {
		t.Errorf("good + corrupt: exit %d\nstdout: %s\nstderr: %s", code, out, errs)
	}

	// Missing certificate / key / module.
	missing := filepath.Join(dir, "no-such-cert.pem")
	sigtOneLine(t, missing, "sig", "verify", "--cert", missing, good)
	sigtOneLine(t, missing, "sign", "--key", key, "--cert", missing, good)
	sigtOneLine(t, missing, "sign", "--key", missing, "--cert", cert, good)
	sigtOneLine(t, filepath.Join(mdir, "nope.ko"), "sig", "verify", "--cert", cert, filepath.Join(mdir, "nope.ko"))
	// A module passed as the certificate.
	sigtOneLine(t, good, "sig", "verify", "--cert", good, good)

	// Encrypted keys: PKCS#8 and the traditional Proc-Type PEM.
	enc8 := filepath.Join(dir, "enc-pkcs8.pem")
	sigtExec(t, openssl, "pkcs8", "-topk8", "-in", key, "-out", enc8, "-passout", "pass:secret")
	encT := filepath.Join(dir, "enc-traditional.pem")
	sigtExec(t, openssl, "rsa", "-aes256", "-traditional", "-in", key, "-out", encT, "-passout", "pass:secret")
	for _, k := range []string{enc8, encT} {
		msg := sigtOneLine(t, k, "sign", "--key", k, "--cert", cert, good)
		if !strings.Contains(msg, "encrypted") {
			t.Errorf("sign with encrypted key %s: message does not say it is encrypted: %s", filepath.Base(k), msg)
		}
	}
	if !bytes.Equal(sigtRead(t, good), gb) {
		t.Errorf("failed signs modified %s", good)
	}

	// A key that does not belong to the certificate (sign-file: "private
	// key does not match certificate"), and --keyid without a subject key
	// identifier (sign-file: "certificate has no keyid").
	other := filepath.Join(dir, "other")
	os.Mkdir(other, 0o755)
	okey, _ := sigtRSA(t, other, 2048)
	out2 := filepath.Join(mdir, "mismatch.ko")
	sigtOneLine(t, okey, "sign", "--key", okey, "--cert", cert, good, "-o", out2)
	if sigtExists(out2) {
		t.Errorf("sign with a mismatched key wrote %s", out2)
	}
	noskid, noskidKey := filepath.Join(other, "noskid.pem"), filepath.Join(other, "noskid.key")
	sigtExec(t, openssl, "req", "-new", "-nodes", "-batch", "-x509", "-subj", "/CN=no skid", "-addext", "subjectKeyIdentifier=none",
		"-newkey", "rsa:2048", "-out", noskid, "-keyout", noskidKey)
	sigtOneLine(t, noskid, "sign", "--keyid", "--key", noskidKey, "--cert", noskid, good, "-o", out2)

	// In-place signing goes through a temporary file: mode kept, no leftovers.
	for _, mode := range []os.FileMode{0o600, 0o640, 0o444} {
		p := filepath.Join(mdir, fmt.Sprintf("mode-%o.ko", mode))
		os.WriteFile(p, content, 0o644)
		os.Chmod(p, mode)
		sigtMust(t, "sign", "--key", key, "--cert", cert, p)
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != mode {
			t.Errorf("%s: mode %o after sign, want %o", p, st.Mode().Perm(), mode)
		}
		if !bytes.Equal(sigtRead(t, p), gb) {
			t.Errorf("%s: in-place sign of the stripped module differs from signing it before", p)
		}
		sigtMust(t, "sig", "strip", p)
		if st, _ := os.Stat(p); st.Mode().Perm() != mode || !bytes.Equal(sigtRead(t, p), content) {
			t.Errorf("%s: strip in place: mode %o or content wrong", p, st.Mode().Perm())
		}
	}
	for _, n := range sigtLs(t, mdir) {
		if strings.Contains(n, ".tmp") || strings.HasPrefix(n, ".") {
			t.Errorf("leftover temporary file %s in %s", n, mdir)
		}
	}
	t.Logf("files after the error cases: %v", sigtLs(t, mdir))
}
