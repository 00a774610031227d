package pkcs7

import (
	"bytes"
	"crypto"
	"crypto/fips140"
	"crypto/rsa"
	"math/big"
)

// pkcs1Prefixes are the DigestInfo prefixes of EMSA-PKCS1-v1_5 (RFC 8017
// section 9.2, note 1) for the hashes module signing uses.
var pkcs1Prefixes = map[crypto.Hash][]byte{
	crypto.SHA1:   {0x30, 0x21, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x0e, 0x03, 0x02, 0x1a, 0x05, 0x00, 0x04, 0x14},
	crypto.SHA224: {0x30, 0x2d, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x04, 0x05, 0x00, 0x04, 0x1c},
	crypto.SHA256: {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20},
	crypto.SHA384: {0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02, 0x05, 0x00, 0x04, 0x30},
	crypto.SHA512: {0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x03, 0x05, 0x00, 0x04, 0x40},
}

// rsaQuickAccept reports whether sig is certainly a valid RSA PKCS#1 v1.5
// signature of digest, computed with math/big's variable-time
// exponentiation (a public operation: nothing secret to protect). Checking
// a tree of modules spends most of its time in crypto/rsa, which rebuilds
// the modulus' Montgomery constants for every call and has no assembly for
// 4096-bit keys; this is about three times faster. It only ever accepts
// what rsa.VerifyPKCS1v15 accepts: keys of 2048 bits or more with an odd
// modulus and an odd exponent below 2^31, a signature of exactly the
// modulus' length and below it, and the exact encoded message. Anything
// else (including every invalid signature) returns false, and the caller
// asks crypto/rsa, whose verdict and error then stand.
func rsaQuickAccept(pub *rsa.PublicKey, h crypto.Hash, digest, sig []byte) bool {
	prefix, ok := pkcs1Prefixes[h]
	if !ok || fips140.Enabled() || pub.N == nil || len(digest) != h.Size() {
		return false
	}
	n := pub.N
	k := (n.BitLen() + 7) / 8
	if n.BitLen() < 2048 || n.Bit(0) == 0 || pub.E < 3 || pub.E&1 == 0 || pub.E > 1<<31-1 || len(sig) != k {
		return false
	}
	s := new(big.Int).SetBytes(sig)
	if s.Cmp(n) >= 0 {
		return false
	}
	m := s.Exp(s, big.NewInt(int64(pub.E)), n)
	// EM = 0x00 || 0x01 || PS (0xff...) || 0x00 || DigestInfo prefix || digest
	tLen := len(prefix) + len(digest)
	if k < tLen+11 {
		return false
	}
	em := m.FillBytes(make([]byte, k))
	if em[0] != 0 || em[1] != 1 || em[k-tLen-1] != 0 {
		return false
	}
	for _, c := range em[2 : k-tLen-1] {
		if c != 0xff {
			return false
		}
	}
	return bytes.Equal(em[k-tLen:k-len(digest)], prefix) && bytes.Equal(em[k-len(digest):], digest)
}
