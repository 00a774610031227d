package ko

import (
	"errors"

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
	// PKCS7 is the parsed blob for id_type PKCS#7, nil if it did not parse
	// (ParseErr says why).
	PKCS7    *pkcs7.SignedData
	ParseErr error
}

// Content returns the signed part of the image (everything before the
// signature), or the whole image for an unsigned module.
func (m *Module) Content() []byte {
	t, err := modsig.Find(m.data)
	if err != nil {
		return m.data
	}
	return m.data[:t.ContentLen]
}

// Signature decodes the appended signature. It returns (nil, nil) for an
// unsigned module and an error for a malformed trailer.
func (m *Module) Signature() (*Signature, error) {
	t, err := modsig.Find(m.data)
	if errors.Is(err, modsig.ErrUnsigned) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	s := &Signature{Trailer: t, IDType: t.IDType.String(), KmodShows: t.KmodShows()}
	if t.IDType == modsig.PKCS7 {
		s.PKCS7, s.ParseErr = pkcs7.Parse(t.Sig)
		signer, keyID, hash, sig, ok := pkcs7.KmodView(t.Sig)
		s.Signer, s.KeyID, s.HashAlgo, s.Sig = signer, keyID, hash, sig
		s.KmodShows = s.KmodShows && ok
	} else {
		s.Signer, s.KeyID, s.Sig = t.Signer, t.KeyID, t.Sig
		s.HashAlgo, _ = modsig.HashAlgoName(t.Hash)
	}
	return s, nil
}
