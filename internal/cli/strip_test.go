package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/elfx"
	"github.com/kmodscope/kmodscope/kostrip"
	"github.com/kmodscope/kmodscope/modsig"
)

func stripFixture(t *testing.T, dir, name string) string {
	t.Helper()
	src := filepath.Join(sigtRepo(), "testdata", "modules", "amd64", "built", name)
	dst := filepath.Join(dir, name)
	sigtCopy(t, src, dst)
	return dst
}

func hasDebug(t *testing.T, data []byte) bool {
	f, err := elfx.New(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range f.Sections {
		if kostrip.IsDebugSection(s.Name, s.Flags) {
			return true
		}
	}
	return false
}

func TestStripInPlace(t *testing.T) {
	dir := t.TempDir()
	p := stripFixture(t, dir, "kmsdebug.ko")
	before := sigtRead(t, p)
	if err := os.Chmod(p, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := sigtRun(t, "strip", p)
	if code != 0 || out != "" || errs != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
	after := sigtRead(t, p)
	if hasDebug(t, after) || !hasDebug(t, before) || len(after) >= len(before)/4 {
		t.Errorf("not stripped: %d -> %d bytes", len(before), len(after))
	}
	if st, _ := os.Stat(p); st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want the input's 0600", st.Mode().Perm())
	}
	if ls := sigtLs(t, dir); len(ls) != 1 {
		t.Errorf("temporary files left: %v", ls)
	}
	// The same as the library gives.
	res, err := kostrip.Strip(before, kostrip.Options{})
	if err != nil || !bytes.Equal(res.Image, after) {
		t.Errorf("CLI output differs from kostrip.Strip: %v", err)
	}
}

func TestStripCompressedKeepsFormat(t *testing.T) {
	dir := t.TempDir()
	plain := sigtRead(t, filepath.Join(sigtRepo(), "testdata", "modules", "amd64", "built", "kmsdata.ko"))
	for _, f := range []compression.Format{compression.XZ, compression.Zstd, compression.Gzip} {
		c, err := compression.Compress(f, plain)
		if err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(dir, "kmsdata.ko."+map[compression.Format]string{compression.XZ: "xz", compression.Zstd: "zst", compression.Gzip: "gz"}[f])
		os.WriteFile(in, c, 0o644)
		out := filepath.Join(dir, "out-"+filepath.Base(in))
		sigtMust(t, "strip", "--strip-unneeded", in, "-o", out)
		raw := sigtRead(t, out)
		if compression.Sniff(raw) != f {
			t.Errorf("%s: output is %s, want %s", in, compression.Sniff(raw), f)
		}
		data, err := compression.Decompress(f, raw, compression.DefaultLimit)
		if err != nil || hasDebug(t, data) {
			t.Errorf("%s: %v, debug left: %v", out, err, err == nil && hasDebug(t, data))
		}
		if !bytes.Equal(sigtRead(t, in), c) {
			t.Errorf("%s: input changed although -o was given", in)
		}
	}
}

func TestStripSignature(t *testing.T) {
	dir := t.TempDir()
	key, cert := sigtRSA(t, dir, 2048)
	p := stripFixture(t, dir, "kmsuser.ko")
	sigtMust(t, "sign", "--key", key, "--cert", cert, p)
	// Without a key: the signature is dropped, with one warning line.
	out := filepath.Join(dir, "dropped.ko")
	code, stdout, errs := sigtRun(t, "strip", p, "-o", out)
	if code != 0 || stdout != "" || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "warning: "+p+": the appended signature was dropped") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, errs)
	}
	if data := sigtRead(t, out); bytes.HasSuffix(data, []byte(sigtMagic)) {
		t.Error("signature kept")
	}
	// With --key/--cert: re-signed, valid, and the same as strip then sign.
	resigned := filepath.Join(dir, "resigned.ko")
	code, _, errs = sigtRun(t, "strip", "--key", key, "--cert", cert, p, "-o", resigned)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	v := sigtMust(t, "sig", "verify", "--cert", cert, resigned)
	if !strings.Contains(v, ": valid: ") {
		t.Errorf("re-signed module does not verify: %s", v)
	}
	sigtMust(t, "sign", "--key", key, "--cert", cert, out)
	if !bytes.Equal(sigtRead(t, out), sigtRead(t, resigned)) {
		t.Error("strip --key/--cert differs from strip then sign (PKCS#1 v1.5 signatures are deterministic)")
	}
	content, err := modsig.Strip(sigtRead(t, resigned))
	if err != nil || hasDebug(t, content) {
		t.Errorf("re-signed content still has debug info (%v)", err)
	}
	// --key without --cert is a usage error.
	if code, _, _ := sigtRun(t, "strip", "--key", key, p); code != ExitUsage {
		t.Errorf("--key alone: exit %d", code)
	}
}

func TestStripRefusedAndErrors(t *testing.T) {
	dir := t.TempDir()
	p := stripFixture(t, dir, "kmsdata.ko")
	orig := sigtRead(t, p)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-R", ".modinfo", p}, ExitRefused, "refused to remove section .modinfo"},
		{[]string{"-R", "__versions", p}, ExitRefused, "refused to remove section __versions"},
		{[]string{"--remove-section", ".gnu.linkonce.this_module", p}, ExitRefused, "No module found in object"},
		{[]string{"-R", ".text", p}, ExitRefused, "SHF_ALLOC"},
		{[]string{"-s", p}, ExitRefused, "--strip-all refused"},
		{[]string{"--strip-debug", "--strip-unneeded", p}, ExitUsage, "exclude each other"},
		{[]string{p, p, "-o", filepath.Join(dir, "x.ko")}, ExitUsage, "exactly one MODULE"},
		{[]string{}, ExitUsage, "missing module"},
		{[]string{"--bogus", p}, ExitUsage, "unknown flag"},
	} {
		code, _, errs := sigtRun(t, append([]string{"strip"}, c.args...)...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Count(errs, "\n") != 1 {
			t.Errorf("strip %v: exit %d, stderr %q; want exit %d and one line containing %q", c.args, code, errs, c.code, c.want)
		}
	}
	if !bytes.Equal(sigtRead(t, p), orig) {
		t.Error("a refused strip changed the module")
	}
	// Malformed modules: one line naming the file, exit 1, other files still done.
	bad := map[string][]byte{
		"empty.ko":    nil,
		"text.ko":     []byte("not a module at all\n"),
		"trunc.ko":    orig[:5000],
		"badxz.ko.xz": []byte("\xfd7zXZ\x00garbage garbage"),
		"exec.ko":     append(append([]byte(nil), orig[:16]...), append([]byte{2, 0}, orig[18:]...)...),
	}
	args := []string{"strip"}
	for name, data := range bad {
		bp := filepath.Join(dir, name)
		os.WriteFile(bp, data, 0o644)
		args = append(args, bp)
	}
	good := stripFixture(t, dir, "kmsdebug.ko")
	args = append(args, good)
	code, _, errs := sigtRun(t, args...)
	if code != ExitError {
		t.Errorf("exit %d, want 1", code)
	}
	if strings.Count(errs, "\n") != len(bad) {
		t.Errorf("want one line per bad file, got %q", errs)
	}
	for name := range bad {
		if !strings.Contains(errs, filepath.Join(dir, name)+": ") {
			t.Errorf("no error line names %s: %q", name, errs)
		}
	}
	if hasDebug(t, sigtRead(t, good)) {
		t.Error("the good module after the bad ones was not stripped")
	}
}

func TestStripJSON(t *testing.T) {
	dir := t.TempDir()
	a := stripFixture(t, dir, "kmsdebug.ko")
	code, out, _ := sigtRun(t, "strip", "--json", "-R", ".comment", a, filepath.Join(dir, "missing.ko"))
	if code != ExitError {
		t.Errorf("exit %d", code)
	}
	var doc stripDoc
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if doc.Schema != "kmodscope.strip/v1" || len(doc.Results) != 2 {
		t.Fatalf("%+v", doc)
	}
	r := doc.Results[0]
	if r.Error != nil || r.Mode != "strip-debug" || r.Signature != "none" || r.SizeAfter >= r.SizeBefore || r.RemovedSymbols == 0 ||
		!strings.Contains(strings.Join(r.RemovedSections, " "), ".debug_info") || !strings.Contains(strings.Join(r.RemovedSections, " "), ".comment") {
		t.Errorf("%+v", r)
	}
	if doc.Results[1].Error == nil || doc.Results[1].Refused {
		t.Errorf("%+v", doc.Results[1])
	}
}
