package pkcs7

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"

	"github.com/kmodscope/kmodscope/errno"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Errno is an errno by name; its number depends on the architecture
// (errno.Errno.Value).
type Errno = errno.Errno

// Errnos returned by the kernel's module signature verification.
const (
	ENOPKG       = errno.ENOPKG
	EBADMSG      = errno.EBADMSG
	ENOKEY       = errno.ENOKEY
	EKEYREJECTED = errno.EKEYREJECTED
)

// VerifyError is a verification failure classified like the kernel's
// verify_pkcs7_signature() for VERIFYING_MODULE_SIGNATURE. Msg is the
// kernel's printk text when it prints one (else a description), Err an
// underlying cause if any.
type VerifyError struct {
	Errno Errno
	Msg   string
	Err   error
}

func (e *VerifyError) Error() string {
	s := fmt.Sprintf("pkcs7: %s (-%s, %d)", e.Msg, e.Errno, -e.Errno.Value(errno.Generic))
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *VerifyError) Unwrap() error { return e.Err }

// ErrnoOf returns the kernel errno an error from this package maps to:
// *VerifyError carries its own, *ParseError is EBADMSG; "" for nil or
// foreign errors.
func ErrnoOf(err error) Errno {
	var ve *VerifyError
	if errors.As(err, &ve) {
		return ve.Errno
	}
	var pe *ParseError
	if errors.As(err, &pe) {
		return EBADMSG
	}
	return ""
}

type sigKind int

const (
	kindRSA sigKind = iota + 1
	kindECDSA
)

// sigAlgKind maps a SignerInfo signatureAlgorithm to a key type like the
// kernel's pkcs7_sig_note_pkey_algo.
func sigAlgKind(oid encasn1.ObjectIdentifier) (sigKind, bool) {
	switch {
	case oid.Equal(OIDRSAEncryption), oid.Equal(OIDSHA1WithRSA), oid.Equal(OIDSHA224WithRSA),
		oid.Equal(OIDSHA256WithRSA), oid.Equal(OIDSHA384WithRSA), oid.Equal(OIDSHA512WithRSA),
		oid.Equal(OIDRSAWithSHA3_256), oid.Equal(OIDRSAWithSHA3_384), oid.Equal(OIDRSAWithSHA3_512):
		return kindRSA, true
	case oid.Equal(OIDECDSAWithSHA1), oid.Equal(OIDECDSAWithSHA224), oid.Equal(OIDECDSAWithSHA256),
		oid.Equal(OIDECDSAWithSHA384), oid.Equal(OIDECDSAWithSHA512),
		oid.Equal(OIDECDSAWithSHA3_256), oid.Equal(OIDECDSAWithSHA3_384), oid.Equal(OIDECDSAWithSHA3_512):
		return kindECDSA, true
	}
	return 0, false
}

// certSerialRaw returns the raw INTEGER contents of a certificate's
// serialNumber, as the kernel's x509_note_serial keeps them.
func certSerialRaw(c *x509.Certificate) []byte {
	s := cryptobyte.String(c.RawTBSCertificate)
	var tbs cryptobyte.String
	if !s.ReadASN1(&tbs, asn1.SEQUENCE) {
		return nil
	}
	if !tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) {
		return nil
	}
	var serial cryptobyte.String
	if !tbs.ReadASN1(&serial, asn1.INTEGER) {
		return nil
	}
	return serial
}

// findCert returns the certificate the kernel's keyring search
// (auth_ids[0] = issuer+serial, auth_ids[1] = SKID) would select.
func (si *SignerInfo) findCert(certs []*x509.Certificate) *x509.Certificate {
	for _, c := range certs {
		if c == nil {
			continue
		}
		if si.SubjectKeyID != nil {
			if len(c.SubjectKeyId) > 0 && bytes.Equal(c.SubjectKeyId, si.SubjectKeyID) {
				return c
			}
			continue
		}
		if bytes.Equal(c.RawIssuer, si.IssuerRaw) && bytes.Equal(certSerialRaw(c), si.Serial) {
			return c
		}
	}
	return nil
}

// Verify checks the detached signature over content like the kernel's
// verify_pkcs7_signature(..., VERIFYING_MODULE_SIGNATURE) with certs as the
// trusted keyring, and returns the certificate of the first signer that
// verified. Failures are *VerifyError:
//   - embedded content: EBADMSG "PKCS#7 signature with non-detached data"
//   - content type not id-data: EKEYREJECTED "Invalid module sig (not pkcs7-data)"
//   - signed attributes: EKEYREJECTED "Invalid module sig (has authattrs)"
//   - no signers, or every signer has an unsupported digest/signature
//     algorithm or key type: ENOPKG
//   - no supported signer matches a certificate: ENOKEY
//   - a matching signer whose signature does not verify: EKEYREJECTED
//
// Supported: RSA PKCS#1 v1.5 and ECDSA on P-256/P-384 with SHA-1, SHA-224,
// SHA-256, SHA-384, SHA-512, SHA3-256, SHA3-384 and SHA3-512.
func (sd *SignedData) Verify(content []byte, certs []*x509.Certificate) (*x509.Certificate, error) {
	if !sd.Detached {
		return nil, &VerifyError{Errno: EBADMSG, Msg: "PKCS#7 signature with non-detached data"}
	}
	if !sd.ContentType.Equal(OIDData) {
		return nil, &VerifyError{Errno: EKEYREJECTED, Msg: "Invalid module sig (not pkcs7-data)"}
	}
	for _, si := range sd.SignerInfos {
		if si.SignedAttrsRaw != nil {
			return nil, &VerifyError{Errno: EKEYREJECTED, Msg: "Invalid module sig (has authattrs)"}
		}
	}
	if len(sd.SignerInfos) == 0 {
		return nil, &VerifyError{Errno: EBADMSG, Msg: "no signers"}
	}
	var firstErr error
	supported := 0
	for i := range sd.SignerInfos {
		si := &sd.SignerInfos[i]
		h, ok := HashFromOID(si.DigestAlgorithm.Algorithm)
		if !ok || !h.Available() {
			firstErr = keepFirst(firstErr, &VerifyError{Errno: ENOPKG, Msg: fmt.Sprintf("unsupported digest algorithm %v", si.DigestAlgorithm.Algorithm)})
			continue
		}
		kind, ok := sigAlgKind(si.SignatureAlgorithm.Algorithm)
		if !ok {
			firstErr = keepFirst(firstErr, &VerifyError{Errno: ENOPKG, Msg: fmt.Sprintf("unsupported signature algorithm %v", si.SignatureAlgorithm.Algorithm)})
			continue
		}
		supported++
		cert := si.findCert(certs)
		if cert == nil {
			continue
		}
		hh := h.New()
		hh.Write(content)
		digest := hh.Sum(nil)
		if err := verifyDigest(cert, kind, h, digest, si.Signature); err != nil {
			return nil, err
		}
		return cert, nil
	}
	if supported == 0 {
		if firstErr == nil {
			firstErr = &VerifyError{Errno: ENOPKG, Msg: "no supported signer"}
		}
		return nil, firstErr
	}
	return nil, &VerifyError{Errno: ENOKEY, Msg: "no certificate matches a signer"}
}

func keepFirst(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func verifyDigest(cert *x509.Certificate, kind sigKind, h crypto.Hash, digest, sig []byte) error {
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if kind != kindRSA {
			return &VerifyError{Errno: EKEYREJECTED, Msg: "signature algorithm does not match the RSA key"}
		}
		if rsaQuickAccept(pub, h, digest, sig) {
			return nil
		}
		if err := rsa.VerifyPKCS1v15(pub, h, digest, sig); err != nil {
			return &VerifyError{Errno: EKEYREJECTED, Msg: "RSA signature verification failed", Err: err}
		}
		return nil
	case *ecdsa.PublicKey:
		if kind != kindECDSA {
			return &VerifyError{Errno: EKEYREJECTED, Msg: "signature algorithm does not match the ECDSA key"}
		}
		if pub.Curve != elliptic.P256() && pub.Curve != elliptic.P384() {
			return &VerifyError{Errno: ENOPKG, Msg: fmt.Sprintf("unsupported ECDSA curve %s", pub.Curve.Params().Name)}
		}
		if !ecdsa.VerifyASN1(pub, digest, sig) {
			return &VerifyError{Errno: EKEYREJECTED, Msg: "ECDSA signature verification failed"}
		}
		return nil
	}
	return &VerifyError{Errno: ENOPKG, Msg: fmt.Sprintf("unsupported public key type %T", cert.PublicKey)}
}
