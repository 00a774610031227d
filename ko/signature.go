package ko

import (
	"errors"
	"fmt"

	"github.com/kmodscope/kmodscope/modsig"
	"github.com/kmodscope/kmodscope/pkcs7"
)

// Signature is the module's appended signature (scripts/sign-file layout:
// content, signer, key id, signature, struct module_signature,
// "~Module signature appended~\n").
type Signature struct {
	Trailer *modsig.Trailer
	// The fields modinfo shows (kmod 30, libkmod-signature.c): sig_id,
	// signer, sig_key, sig_hashalgo, signature. For PKCS#7 they come from the
	// first SignerInfo: the issuer's commonName, the issuer serial number,
	// the digest algorithm and the encrypted digest.
	IDType   string
	Signer   []byte
	KeyID    []byte
	HashAlgo string
	Sig      []byte
	// KmodShows is false when kmod 30's modinfo prints no signature fields
	// for this trailer (a trailer it rejects, or a PKCS#7 blob OpenSSL's
	// d2i_PKCS7 cannot parse); the fields above are then best effort.
	KmodShows bool

	pk7     *pkcs7.SignedData
	pk7Err  error
	pk7Done bool
}

// PKCS7 parses the blob of an id_type PKCS#7 signature (strict DER).
func (s *Signature) PKCS7() (*pkcs7.SignedData, error) {
	if !s.pk7Done {
		s.pk7Done = true
		if s.Trailer.IDType != modsig.PKCS7 {
			s.pk7Err = fmt.Errorf("signature id_type is %s, not PKCS#7", s.Trailer.IDType)
		} else {
			s.pk7, s.pk7Err = pkcs7.Parse(s.Trailer.Sig)
		}
	}
	return s.pk7, s.pk7Err
}

// Content returns the signed part of the image (everything before the
// signature), or the whole image for an unsigned or malformed one.
func (m *Module) Content() ([]byte, error) {
	data, err := m.Bytes()
	if err != nil {
		return nil, err
	}
	t, err := modsig.Find(data)
	if err != nil {
		return data, nil
	}
	return data[:t.ContentLen], nil
}

// tailSize is how much of the end of a file trailer reads first: far more
// than any real signature (RSA-4096 PKCS#7 is about 700 bytes).
const tailSize = 4 << 10

// trailer decodes the signature trailer reading only the end of the file
// (the whole file only if the trailer claims more than the tail holds).
// Offsets in the result are relative to the whole image.
func (m *Module) trailer() (*modsig.Trailer, error) {
	size := m.ELF.Size()
	n := min(size, tailSize)
	tail, err := m.ELF.ReadAt(size-n, n)
	if err != nil {
		return nil, err
	}
	t, err := modsig.Find(tail)
	var fe *modsig.FormatError
	if errors.As(err, &fe) && n < size {
		whole, err := m.Bytes()
		if err != nil {
			return nil, err
		}
		return modsig.Find(whole)
	}
	if err != nil {
		return nil, err
	}
	t.ContentLen += int(size - n)
	return t, nil
}

// Signature decodes the appended signature. It returns (nil, nil) for an
// unsigned module and an error for a malformed trailer.
func (m *Module) Signature() (*Signature, error) {
	t, err := m.trailer()
	if errors.Is(err, modsig.ErrUnsigned) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &Signature{Trailer: t, IDType: t.IDType.String(), KmodShows: t.KmodShows()}
	if t.IDType == modsig.PKCS7 {
		signer, keyID, hash, sig, ok := pkcs7.KmodView(t.Sig)
		s.Signer, s.KeyID, s.HashAlgo, s.Sig = signer, keyID, hash, sig
		s.KmodShows = s.KmodShows && ok
	} else {
		s.Signer, s.KeyID, s.Sig = t.Signer, t.KeyID, t.Sig
		s.HashAlgo, _ = modsig.HashAlgoName(t.Hash)
	}
	return s, nil
}
