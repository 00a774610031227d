package pkcs7

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"math/big"
	"testing"
)

// checkQuick compares rsaQuickAccept with crypto/rsa on one input: the quick
// path may decline what crypto/rsa accepts, never accept what it refuses.
func checkQuick(t testing.TB, pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	t.Helper()
	quick := rsaQuickAccept(pub, h, digest, sig)
	std := rsa.VerifyPKCS1v15(pub, h, digest, sig)
	if quick && std != nil {
		t.Fatalf("%d-bit key, %v: quick path accepts a signature crypto/rsa refuses (%v)", pub.N.BitLen(), h, std)
	}
	return quick
}

func TestRSAQuickAccept(t *testing.T) {
	sizes := []int{1024, 2048, 3072}
	if !testing.Short() {
		sizes = append(sizes, 4096)
	}
	for _, bits := range sizes {
		key, err := rsa.GenerateKey(rand.Reader, bits)
		if err != nil {
			t.Fatal(err)
		}
		pub := &key.PublicKey
		for _, h := range []crypto.Hash{crypto.SHA1, crypto.SHA224, crypto.SHA256, crypto.SHA384, crypto.SHA512, crypto.SHA3_256} {
			hh := h.New()
			hh.Write([]byte("module content"))
			digest := hh.Sum(nil)
			sig, err := rsa.SignPKCS1v15(rand.Reader, key, h, digest)
			if err != nil {
				t.Fatal(err)
			}
			// A valid signature: the quick path takes it for every key of
			// 2048 bits or more and every hash it knows (SHA3 it leaves to
			// crypto/rsa), and declines 1024-bit keys (crypto/rsa refuses
			// them unless GODEBUG=rsa1024min=0).
			_, known := pkcs1Prefixes[h]
			if got, want := checkQuick(t, pub, h, digest, sig), bits >= 2048 && known; got != want {
				t.Errorf("%d-bit key, %v, valid signature: quick %v, want %v", bits, h, got, want)
			}
			bad := func(what string, pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) {
				t.Helper()
				if checkQuick(t, pub, h, digest, sig) {
					t.Errorf("%d-bit key, %v: quick path accepts %s", bits, h, what)
				}
			}
			for _, i := range []int{0, 1, len(sig) / 2, len(sig) - 1} {
				s := append([]byte(nil), sig...)
				s[i] ^= 0x40
				bad("a signature with a flipped bit", pub, h, digest, s)
			}
			d := append([]byte(nil), digest...)
			d[0] ^= 1
			bad("another digest", pub, h, d, sig)
			bad("a short digest", pub, h, digest[:len(digest)-1], sig)
			bad("a signature one byte short", pub, h, digest, sig[1:])
			bad("a signature with a leading zero byte", pub, h, digest, append([]byte{0}, sig...))
			bad("a signature >= N", pub, h, digest, new(big.Int).Add(new(big.Int).SetBytes(sig), pub.N).FillBytes(make([]byte, len(sig)+1))[1:])
			bad("the modulus itself", pub, h, digest, pub.N.FillBytes(make([]byte, len(sig))))
			other := crypto.SHA256
			if h == crypto.SHA256 {
				other = crypto.SHA512
			}
			if other.Size() == len(digest) {
				bad("the same digest under another hash", pub, other, digest, sig)
			}
			bad("an even exponent", &rsa.PublicKey{N: pub.N, E: 65536}, h, digest, sig)
			bad("exponent 1", &rsa.PublicKey{N: pub.N, E: 1}, h, digest, sig)
		}
	}
}

// FuzzRSAQuickAccept: no signature bytes make the quick path accept what
// crypto/rsa refuses.
func FuzzRSAQuickAccept(f *testing.F) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		f.Fatal(err)
	}
	digest := make([]byte, 32)
	sig, _ := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest)
	f.Add(sig, digest)
	f.Add(sig[1:], digest)
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, sig, digest []byte) {
		checkQuick(t, &key.PublicKey, crypto.SHA256, digest, sig)
	})
}
