package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kmodscope/kmodscope/errno"
)

// TestCheckErrnoPerArch: a module refused under --sig-enforce gets
// EKEYREJECTED numbered for the target's architecture: 129 on amd64, 164
// on mips64el (arch/mips/include/uapi/asm/errno.h), whether the machine
// comes from the config (no module tree) or not.
func TestCheckErrnoPerArch(t *testing.T) {
	for _, c := range []struct {
		fixture, rel, config string
		want                 int
	}{
		{"amd64/crc7.ko", "6.1.0-99-amd64", "CONFIG_X86_64=y\n", 129},
		{"mips64el/crc7.ko", "6.1.0-99-loongson-3", "CONFIG_MIPS=y\nCONFIG_64BIT=y\n", 164},
	} {
		fixture, err := os.ReadFile(filepath.Join("../../testdata/modules", c.fixture))
		if err != nil {
			t.Fatal(err)
		}
		root := miniTarget(t, c.rel, fixture)
		cfg := filepath.Join(root, "boot", "config-"+c.rel)
		old, _ := os.ReadFile(cfg)
		if err := os.WriteFile(cfg, append(old, c.config...), 0o644); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "crc7.ko")
		os.WriteFile(p, fixture, 0o644)
		out, stderr, code := secRun("check", "--json", "--sig-enforce", "-b", root, "-k", c.rel, p)
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("%s: exit %d %v %s %s", c.fixture, code, err, out, stderr)
		}
		r := doc.Results[0]
		if code != 3 || r.Errno == nil || *r.Errno != "EKEYREJECTED" || r.ErrnoValue != c.want ||
			r.InsmodMessage != errno.Message("EKEYREJECTED") || r.InsmodMessage != "Key was rejected by service" {
			t.Errorf("%s: exit %d, %+v", c.fixture, code, r)
		}
	}
}

// TestCheckDepChainReuse: a module checked again with --with-deps (its
// dependency chain then comes from the chain cache) gets the same result
// as the first time, dependencies included.
func TestCheckDepChainReuse(t *testing.T) {
	fx := "../../testdata/modules/amd64/"
	realtek, err := os.ReadFile(fx + "ums-realtek.ko")
	if err != nil {
		t.Fatal(err)
	}
	storage, err := os.ReadFile(fx + "usb-storage.ko")
	if err != nil {
		t.Fatal(err)
	}
	rel := "6.1.0-99-amd64"
	root := miniTarget(t, rel, realtek)
	dir := filepath.Join(root, "lib", "modules", rel, "kernel")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "usb-storage.ko"), storage, 0o644)
	os.WriteFile(filepath.Join(dir, "ums-realtek.ko"), realtek, 0o644)
	one, _, _ := secRun("check", "--json", "--with-deps", "-b", root, "-k", rel, "ums-realtek")
	two, stderr, _ := secRun("check", "--json", "--with-deps", "-b", root, "-k", rel, "ums-realtek", "ums-realtek", "ums-realtek")
	var d1, d2 checkDoc
	if err := json.Unmarshal([]byte(one), &d1); err != nil || len(d1.Results) != 1 {
		t.Fatalf("%v %s", err, one)
	}
	if err := json.Unmarshal([]byte(two), &d2); err != nil || len(d2.Results) != 3 {
		t.Fatalf("%v %s %s", err, two, stderr)
	}
	if len(d1.Results[0].Dependencies) == 0 {
		t.Fatalf("no dependency chain: %+v", d1.Results[0])
	}
	a, _ := json.Marshal(d1.Results[0])
	for i, r := range d2.Results {
		if b, _ := json.Marshal(r); string(a) != string(b) {
			t.Errorf("result %d differs:\n%s\n%s", i, a, b)
		}
	}
}

// TestSigVerifyErrnoPerArch: `sig verify` numbers the errno for the
// module's machine (ENOKEY: 126 on amd64, 161 on mips64el).
func TestSigVerifyErrnoPerArch(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "errno test"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert := filepath.Join(t.TempDir(), "c.der")
	os.WriteFile(cert, der, 0o644)
	out, stderr, _ := secRun("sig", "verify", "--json", "--cert", cert, "../../testdata/modules/amd64/crc7.ko", "../../testdata/modules/mips64el/crc7.ko")
	var doc struct {
		Results []struct {
			Errno      *string `json:"errno"`
			ErrnoValue int     `json:"errno_value"`
		} `json:"results"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 2 {
		t.Fatalf("%v %s %s", err, out, stderr)
	}
	for i, want := range []int{126, 161} {
		if r := doc.Results[i]; r.Errno == nil || *r.Errno != "ENOKEY" || r.ErrnoValue != want {
			t.Errorf("result %d: %+v, want ENOKEY %d", i, r, want)
		}
	}
}
