package modsig

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func corpusModules(t testing.TB) []string {
	t.Helper()
	var files []string
	root := "/work/shared/corpus/debian"
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".ko") && strings.Contains(p, "/lib/modules/") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		t.Skip("corpus not available")
	}
	return files
}

func TestCorpus(t *testing.T) {
	arches := map[string]int{}
	for _, f := range corpusModules(t) {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := Find(data)
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		arches[strings.Split(strings.TrimPrefix(f, "/work/shared/corpus/debian/"), "/")[0]]++
		if tr.IDType != PKCS7 || tr.Algo != 0 || tr.Hash != 0 || tr.SignerLen != 0 || tr.KeyIDLen != 0 || tr.IDType.String() != "PKCS#7" {
			t.Errorf("%s: unexpected trailer %+v", f, tr)
		}
		if !tr.KmodShows() {
			t.Errorf("%s: KmodShows false", f)
		}
		if err := tr.KernelCheck(); err != nil {
			t.Errorf("%s: KernelCheck: %v", f, err)
		}
		modLen, sig, err := KernelCheckFile(data)
		if err != nil || modLen != tr.ContentLen || !bytes.Equal(sig, tr.Sig) || tr.KernelModLen() != modLen {
			t.Errorf("%s: KernelCheckFile = %d, %v", f, modLen, err)
		}
		content, err := Strip(data)
		if err != nil || len(content) != tr.ContentLen || !bytes.HasPrefix(content, []byte("\x7fELF")) {
			t.Errorf("%s: Strip: %v", f, err)
		}
		if !bytes.Equal(Append(content, tr.Sig), data) {
			t.Errorf("%s: Append(Strip) differs from the original", f)
		}
		if tr.Len() != len(data)-tr.ContentLen {
			t.Errorf("%s: Len", f)
		}
	}
	if len(arches) != 6 {
		t.Errorf("arches covered: %v", arches)
	}
}

func trailer(algo, hash, id, signerLen, keyIDLen byte, pad [3]byte, sigLen uint32) []byte {
	b := []byte{algo, hash, id, signerLen, keyIDLen, pad[0], pad[1], pad[2], 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[8:], sigLen)
	return append(b, Magic...)
}

func TestFindSynthetic(t *testing.T) {
	if _, err := Find([]byte("hello")); err != ErrUnsigned {
		t.Errorf("short: %v", err)
	}
	if _, err := Find(nil); err != ErrUnsigned {
		t.Errorf("nil: %v", err)
	}
	if d, err := Strip([]byte("plain")); err != nil || string(d) != "plain" {
		t.Errorf("Strip unsigned: %q %v", d, err)
	}
	var fe *FormatError
	if _, err := Find([]byte(Magic)); !errors.As(err, &fe) {
		t.Errorf("magic only: %v", err)
	}
	if _, err := Find(append([]byte("content"), trailer(0, 0, 2, 0, 0, [3]byte{}, 0)...)); !errors.As(err, &fe) || fe.Off != 15 {
		t.Errorf("sig_len 0: %v", err)
	}
	if _, err := Find(append([]byte("abc"), trailer(0, 0, 2, 0, 0, [3]byte{}, 4)...)); !errors.As(err, &fe) {
		t.Errorf("too long: %v", err)
	}
	// signer+key+sig exactly the whole prefix: valid for kmod, content 0.
	tr, err := Find(append([]byte("SKsig"), trailer(1, 4, 1, 1, 1, [3]byte{}, 3)...))
	if err != nil {
		t.Fatal(err)
	}
	if tr.ContentLen != 0 || string(tr.Signer) != "S" || string(tr.KeyID) != "K" || string(tr.Sig) != "sig" || !tr.KmodShows() {
		t.Errorf("legacy: %+v", tr)
	}
	// the kernel ignores signer_len/key_id_len: sig_len 3 < 5, then id_type
	if err := tr.KernelCheck(); ErrnoOf(err) != ENOPKG {
		t.Errorf("legacy kernel: %v", err)
	}
	tr, _ = Find(append([]byte("sig"), trailer(0, 0, 2, 0, 0, [3]byte{}, 3)...))
	if err := tr.KernelCheck(); ErrnoOf(err) != EBADMSG || err.Error() != "-EBADMSG (-74)" {
		t.Errorf("no module bytes: %v", err)
	}
	tr, _ = Find(append([]byte("0123456789SKsig"), trailer(1, 4, 1, 1, 1, [3]byte{}, 3)...))
	if err := tr.KernelCheck(); ErrnoOf(err) != ENOPKG || !strings.Contains(err.Error(), "not signed with expected PKCS#7 message") {
		t.Errorf("X509 id: %v", err)
	}
	for _, c := range []struct {
		algo, hash, id, sl, kl byte
		pad                    [3]byte
		shows                  bool
		errno                  Errno
	}{
		{0, 0, 2, 0, 0, [3]byte{}, true, ""},
		{1, 8, 2, 0, 0, [3]byte{}, true, EBADMSG},
		{2, 0, 2, 0, 0, [3]byte{}, false, EBADMSG},
		{0, 9, 2, 0, 0, [3]byte{}, false, EBADMSG},
		{0, 0, 3, 0, 0, [3]byte{}, false, ENOPKG},
		{0, 0, 0, 0, 0, [3]byte{}, true, ENOPKG},
		{0, 0, 2, 1, 0, [3]byte{}, true, EBADMSG},
		{0, 0, 2, 0, 1, [3]byte{}, true, EBADMSG},
		{0, 0, 2, 0, 0, [3]byte{0, 0, 1}, true, EBADMSG},
	} {
		d := append([]byte("0123456789abcdef"), trailer(c.algo, c.hash, c.id, c.sl, c.kl, c.pad, 4)...)
		tr, err := Find(d)
		if err != nil {
			t.Fatal(err)
		}
		if tr.KmodShows() != c.shows {
			t.Errorf("%+v: KmodShows = %v", c, tr.KmodShows())
		}
		if e := ErrnoOf(tr.KernelCheck()); e != c.errno {
			t.Errorf("%+v: KernelCheck errno %v", c, e)
		}
		_, _, err = KernelCheckFile(d)
		if e := ErrnoOf(err); e != c.errno {
			t.Errorf("%+v: KernelCheckFile errno %v", c, e)
		}
	}
	if _, _, err := KernelCheckFile([]byte("x")); ErrnoOf(err) != ENODATA {
		t.Errorf("unsigned: %v", err)
	}
	if _, _, err := KernelCheckFile([]byte(Magic)); ErrnoOf(err) != ENODATA {
		t.Errorf("magic only: %v", err)
	}
	if _, _, err := KernelCheckFile([]byte("0123456789AB" + Magic)); ErrnoOf(err) != EBADMSG {
		t.Errorf("12 bytes: %v", err)
	}
	if n, ok := HashAlgoName(4); !ok || n != "sha256" {
		t.Error("HashAlgoName(4)")
	}
	if _, ok := HashAlgoName(9); ok {
		t.Error("HashAlgoName(9)")
	}
	if IDType(7).String() != "IDType(7)" || PGP.String() != "PGP" || X509.String() != "X509" {
		t.Error("IDType.String")
	}
}

func ErrnoOf(err error) Errno {
	var ke *KernelError
	if errors.As(err, &ke) {
		return ke.Errno
	}
	return ""
}

// TestKmodShowsAgainstModinfo builds legacy and odd trailers on a real ELF
// body and checks KmodShows against /usr/sbin/modinfo (kmod 30), plus the
// fields kmod shows for the legacy id types.
func TestKmodShowsAgainstModinfo(t *testing.T) {
	if _, err := exec.LookPath("modinfo"); err != nil {
		t.Skip("no modinfo")
	}
	files := corpusModules(t)
	data, err := os.ReadFile(files[0])
	if err != nil {
		t.Fatal(err)
	}
	body, err := Strip(data)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	type tc struct {
		algo, hash, id, sl, kl byte
		sigLen                 uint32
		payload                string
	}
	cases := []tc{
		{1, 4, 1, 7, 3, 5, "SIGNER!KEYsigna"},
		{0, 2, 0, 0, 2, 1, "kks"},
		{1, 8, 1, 0, 0, 1, "s"},
		{2, 4, 1, 0, 0, 1, "s"},
		{1, 9, 1, 0, 0, 1, "s"},
		{1, 4, 3, 0, 0, 1, "s"},
		{1, 4, 1, 0, 0, 0, ""},
	}
	for i, c := range cases {
		d := append(append(append([]byte{}, body...), c.payload...), trailer(c.algo, c.hash, c.id, c.sl, c.kl, [3]byte{}, c.sigLen)...)
		p := filepath.Join(dir, "m.ko")
		if err := os.WriteFile(p, d, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("modinfo", "-F", "sig_id", p).Output()
		if err != nil {
			t.Fatal(err)
		}
		shows := false
		tr, ferr := Find(d)
		if ferr == nil {
			shows = tr.KmodShows()
		}
		if got := len(out) > 0; got != shows {
			t.Errorf("case %d: modinfo shows=%v, KmodShows=%v", i, got, shows)
		}
		if shows {
			if want := tr.IDType.String() + "\n"; string(out) != want {
				t.Errorf("case %d: sig_id %q want %q", i, out, want)
			}
			h, _ := exec.Command("modinfo", "-F", "sig_hashalgo", p).Output()
			s, _ := exec.Command("modinfo", "-F", "signer", p).Output()
			if string(h) != HashAlgoNames[tr.Hash]+"\n" || string(s) != string(tr.Signer)+"\n" {
				t.Errorf("case %d: hash %q signer %q", i, h, s)
			}
		}
	}
}

func FuzzFind(f *testing.F) {
	for i, p := range corpusModules(f) {
		if i%20 != 0 {
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data[len(data)-800:])
	}
	f.Add([]byte(Magic))
	f.Add(trailer(0, 0, 2, 0, 0, [3]byte{}, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, err := Find(data)
		if err != nil {
			return
		}
		if tr.ContentLen < 0 || tr.InfoOffset()+InfoSize+len(Magic) != len(data) {
			t.Fatalf("inconsistent %+v len %d", tr, len(data))
		}
		_ = tr.KmodShows()
		_ = tr.KernelCheck()
		c, err := Strip(data)
		if err != nil || len(c) != tr.ContentLen {
			t.Fatal("strip")
		}
		if tr.IDType == PKCS7 && tr.SignerLen == 0 && tr.KeyIDLen == 0 && tr.Algo == 0 && tr.Hash == 0 && tr.Pad == [3]byte{} {
			if !bytes.Equal(Append(c, tr.Sig), data) {
				t.Fatal("round trip")
			}
		}
	})
}
