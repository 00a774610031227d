package pkcs7

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

var ecdsaSigOIDs = map[crypto.Hash]encasn1.ObjectIdentifier{
	crypto.SHA1:     OIDECDSAWithSHA1,
	crypto.SHA224:   OIDECDSAWithSHA224,
	crypto.SHA256:   OIDECDSAWithSHA256,
	crypto.SHA384:   OIDECDSAWithSHA384,
	crypto.SHA512:   OIDECDSAWithSHA512,
	crypto.SHA3_256: OIDECDSAWithSHA3_256,
	crypto.SHA3_384: OIDECDSAWithSHA3_384,
	crypto.SHA3_512: OIDECDSAWithSHA3_512,
}

// Sign returns the detached PKCS#7 SignedData that scripts/sign-file
// (OpenSSL CMS_sign with CMS_NOCERTS|CMS_BINARY|CMS_DETACHED|
// CMS_NOSMIMECAP|CMS_NOATTR) produces for content: version 1 with
// issuerAndSerialNumber, or with useKeyID (sign-file -k) version 3 with the
// certificate's subjectKeyIdentifier; no certificates, no attributes;
// digestAlgorithm without parameters; signatureAlgorithm rsaEncryption
// with NULL parameters for RSA (PKCS#1 v1.5) or ecdsa-with-<hash> without
// parameters for ECDSA. For RSA keys the output is byte-identical to
// sign-file's. Append the result with modsig.Append.
func Sign(content []byte, signer crypto.Signer, cert *x509.Certificate, h crypto.Hash, useKeyID bool) ([]byte, error) {
	if signer == nil || cert == nil {
		return nil, errors.New("pkcs7: Sign needs a signer and its certificate")
	}
	digOID, ok := OIDFromHash(h)
	if !ok || !h.Available() {
		return nil, fmt.Errorf("pkcs7: unsupported digest %v", h)
	}
	var sigAlg func(*cryptobyte.Builder)
	switch signer.Public().(type) {
	case *rsa.PublicKey:
		sigAlg = func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(OIDRSAEncryption)
				b.AddASN1NULL()
			})
		}
	case *ecdsa.PublicKey:
		oid := ecdsaSigOIDs[h]
		sigAlg = func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1ObjectIdentifier(oid)
			})
		}
	default:
		return nil, fmt.Errorf("pkcs7: unsupported key type %T", signer.Public())
	}
	var serial []byte
	if useKeyID {
		if len(cert.SubjectKeyId) == 0 {
			return nil, errors.New("pkcs7: certificate has no subjectKeyIdentifier (needed for useKeyID)")
		}
	} else if serial = certSerialRaw(cert); serial == nil {
		return nil, errors.New("pkcs7: cannot read the certificate's serial number")
	}

	hh := h.New()
	hh.Write(content)
	digest := hh.Sum(nil)
	var opts crypto.SignerOpts = h
	sig, err := signer.Sign(rand.Reader, digest, opts)
	if err != nil {
		return nil, fmt.Errorf("pkcs7: signing: %w", err)
	}

	version := int64(1)
	if useKeyID {
		version = 3
	}
	digAlg := func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(digOID)
		})
	}
	var out cryptobyte.Builder
	out.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1ObjectIdentifier(OIDSignedData)
		b.AddASN1(asn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1Int64(version)
				b.AddASN1(asn1.SET, digAlg)
				b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
					b.AddASN1ObjectIdentifier(OIDData)
				})
				b.AddASN1(asn1.SET, func(b *cryptobyte.Builder) {
					b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
						b.AddASN1Int64(version)
						if useKeyID {
							b.AddASN1(asn1.Tag(0).ContextSpecific(), func(b *cryptobyte.Builder) {
								b.AddBytes(cert.SubjectKeyId)
							})
						} else {
							b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
								b.AddBytes(cert.RawIssuer)
								b.AddASN1(asn1.INTEGER, func(b *cryptobyte.Builder) {
									b.AddBytes(serial)
								})
							})
						}
						digAlg(b)
						sigAlg(b)
						b.AddASN1OctetString(sig)
					})
				})
			})
		})
	})
	return out.Bytes()
}
