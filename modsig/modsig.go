// Package modsig reads and writes the signature trailer that scripts/sign-file
// appends to Linux kernel modules:
//
//	[ content ][ signer ][ key id ][ signature ][ struct module_signature ][ Magic ]
//
// struct module_signature is 12 bytes: u8 algo, hash, id_type, signer_len,
// key_id_len, pad[3]; be32 sig_len. Modern kernels only emit id_type PKCS#7
// with every other field except sig_len zero.
package modsig

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Magic is MODULE_SIG_STRING, the 28 bytes (no NUL) that end a signed module.
const Magic = "~Module signature appended~\n"

// InfoSize is sizeof(struct module_signature).
const InfoSize = 12

// IDType is module_signature.id_type (enum pkey_id_type).
type IDType uint8

// Key identifier types.
const (
	PGP   IDType = 0 // OpenPGP generated key ID
	X509  IDType = 1 // X.509 arbitrary subjectKeyIdentifier
	PKCS7 IDType = 2 // signature in a PKCS#7 message
)

// String returns kmod's name for the id type ("PGP", "X509", "PKCS#7"), or
// "IDType(n)" for values kmod does not know.
func (t IDType) String() string {
	switch t {
	case PGP:
		return "PGP"
	case X509:
		return "X509"
	case PKCS7:
		return "PKCS#7"
	}
	return fmt.Sprintf("IDType(%d)", uint8(t))
}

// HashAlgoNames is kmod v30's pkey_hash_algo table, indexed by
// module_signature.hash (legacy id types) and also used for PKCS#7 digest
// algorithms kmod 30 knows.
var HashAlgoNames = [...]string{"md4", "md5", "sha1", "rmd160", "sha256", "sha384", "sha512", "sha224", "sm3"}

// AlgoNames is kmod v30's pkey_algo table, indexed by module_signature.algo.
var AlgoNames = [...]string{"DSA", "RSA"}

// HashAlgoName returns the kmod v30 name of a module_signature.hash value.
func HashAlgoName(h uint8) (string, bool) {
	if int(h) < len(HashAlgoNames) {
		return HashAlgoNames[h], true
	}
	return "", false
}

// ErrUnsigned is returned by Find when data does not end with Magic.
var ErrUnsigned = errors.New("modsig: module is not signed (no signature magic)")

// FormatError reports a trailer that ends with Magic but whose
// module_signature is inconsistent with the data.
type FormatError struct {
	Off int64 // offset in the input of the offending structure
	Msg string
}

func (e *FormatError) Error() string {
	return fmt.Sprintf("modsig: malformed signature trailer at offset %d: %s", e.Off, e.Msg)
}

// Trailer is a decoded module signature trailer. Signer, KeyID and Sig alias
// the input of Find.
type Trailer struct {
	Algo, Hash          uint8
	IDType              IDType
	SignerLen, KeyIDLen uint8
	Pad                 [3]byte
	SigLen              uint32

	Signer, KeyID, Sig []byte

	// ContentLen is the length of the signed content, i.e. the offset at
	// which Signer (and then KeyID and Sig) starts.
	ContentLen int
}

// InfoOffset returns the offset of struct module_signature in the input.
func (t *Trailer) InfoOffset() int {
	return t.ContentLen + int(t.SignerLen) + int(t.KeyIDLen) + int(t.SigLen)
}

// Len returns the total number of bytes the trailer occupies (everything
// after the content).
func (t *Trailer) Len() int {
	return int(t.SignerLen) + int(t.KeyIDLen) + int(t.SigLen) + InfoSize + len(Magic)
}

// Find decodes the trailer at the end of data. It returns ErrUnsigned if data
// does not end with Magic and a *FormatError if the magic is present but the
// trailer cannot describe data (too short, sig_len 0, lengths reaching past
// the start of data).
func Find(data []byte) (*Trailer, error) {
	if len(data) < len(Magic) || string(data[len(data)-len(Magic):]) != Magic {
		return nil, ErrUnsigned
	}
	size := int64(len(data) - len(Magic))
	if size < InfoSize {
		return nil, &FormatError{Off: 0, Msg: fmt.Sprintf("only %d bytes before the magic, need %d for struct module_signature", size, InfoSize)}
	}
	size -= InfoSize
	info := data[size : size+InfoSize]
	t := &Trailer{
		Algo:      info[0],
		Hash:      info[1],
		IDType:    IDType(info[2]),
		SignerLen: info[3],
		KeyIDLen:  info[4],
		Pad:       [3]byte{info[5], info[6], info[7]},
		SigLen:    binary.BigEndian.Uint32(info[8:]),
	}
	if t.SigLen == 0 {
		return nil, &FormatError{Off: size + 8, Msg: "sig_len is 0"}
	}
	need := int64(t.SignerLen) + int64(t.KeyIDLen) + int64(t.SigLen)
	if need > size {
		return nil, &FormatError{Off: size, Msg: fmt.Sprintf("signer_len %d + key_id_len %d + sig_len %d = %d exceeds the %d bytes before struct module_signature",
			t.SignerLen, t.KeyIDLen, t.SigLen, need, size)}
	}
	p := size - int64(t.SigLen)
	t.Sig = data[p:size:size]
	q := p - int64(t.KeyIDLen)
	t.KeyID = data[q:p:p]
	r := q - int64(t.SignerLen)
	t.Signer = data[r:q:q]
	t.ContentLen = int(r)
	return t, nil
}

// KmodShows reports whether kmod 30 (kmod_module_signature_info) accepts
// this trailer, i.e. whether modinfo prints sig_* fields for it: algo < 2,
// hash < 9, id_type < 3, sig_len > 0 and signer_len+key_id_len+sig_len fit
// before the struct. For IDType PKCS7, kmod 30 built with OpenSSL
// additionally requires the PKCS#7 blob to parse (see pkcs7.KmodView).
func (t *Trailer) KmodShows() bool {
	if int(t.Algo) >= len(AlgoNames) || int(t.Hash) >= len(HashAlgoNames) || t.IDType > PKCS7 {
		return false
	}
	if t.SigLen == 0 || t.ContentLen < 0 {
		return false
	}
	return int64(t.SignerLen)+int64(t.KeyIDLen)+int64(t.SigLen) <= int64(t.InfoOffset())
}

// Strip returns the content of a signed module without its trailer. Unsigned
// input is returned unchanged; a malformed trailer is an error.
func Strip(data []byte) ([]byte, error) {
	t, err := Find(data)
	if err == ErrUnsigned {
		return data, nil
	}
	if err != nil {
		return nil, err
	}
	return data[:t.ContentLen:t.ContentLen], nil
}

// Append returns content followed by the PKCS#7 DER blob, a module_signature
// {id_type: PKCS7, sig_len: len(pkcs7DER)} and Magic, as scripts/sign-file
// writes it. The result is a new slice.
func Append(content, pkcs7DER []byte) []byte {
	out := make([]byte, 0, len(content)+len(pkcs7DER)+InfoSize+len(Magic))
	out = append(out, content...)
	out = append(out, pkcs7DER...)
	var info [InfoSize]byte
	info[2] = byte(PKCS7)
	binary.BigEndian.PutUint32(info[8:], uint32(len(pkcs7DER)))
	out = append(out, info[:]...)
	return append(out, Magic...)
}
