// Package pkcs7 parses, verifies and creates the DER CMS/PKCS#7 SignedData
// messages used as Linux kernel module signatures (scripts/sign-file), and
// reproduces how kmod 30's modinfo displays them.
package pkcs7

import (
	"crypto"
	"encoding/asn1"
	"fmt"
)

// AlgorithmIdentifier is an X.509 AlgorithmIdentifier. Parameters holds the
// complete DER TLV of the parameters, nil when absent.
type AlgorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters []byte
}

// SignedData is a parsed ContentInfo carrying a SignedData. All []byte
// fields alias the input of Parse.
type SignedData struct {
	Version          int
	ContentType      asn1.ObjectIdentifier // eContentType
	DigestAlgorithms []AlgorithmIdentifier
	Detached         bool   // eContent absent
	Content          []byte // eContent octets when not detached
	Certificates     [][]byte
	CRLsRaw          []byte // [1] crls contents, nil if absent
	SignerInfos      []SignerInfo
	Raw              []byte // the whole ContentInfo
}

// SignerInfo is one signer of a SignedData. Exactly one of (IssuerRaw,
// Serial) and SubjectKeyID is set.
type SignerInfo struct {
	Version            int
	IssuerRaw          []byte // DER Name (with its SEQUENCE header)
	Serial             []byte // raw INTEGER content bytes
	SubjectKeyID       []byte // [0] subjectKeyIdentifier form (sign-file -k)
	DigestAlgorithm    AlgorithmIdentifier
	SignedAttrsRaw     []byte // [0] signedAttrs TLV, nil if absent
	SignatureAlgorithm AlgorithmIdentifier
	Signature          []byte
	UnsignedAttrsRaw   []byte // [1] unsignedAttrs TLV, nil if absent
}

// Object identifiers.
var (
	OIDData       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	OIDSignedData = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 2}

	OIDMD4       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 4}
	OIDMD5       = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 5}
	OIDSHA1      = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	OIDRIPEMD160 = asn1.ObjectIdentifier{1, 3, 36, 3, 2, 1}
	OIDSHA256    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	OIDSHA384    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	OIDSHA512    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	OIDSHA224    = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 4}
	OIDSHA3_256  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 8}
	OIDSHA3_384  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 9}
	OIDSHA3_512  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 10}
	OIDSM3       = asn1.ObjectIdentifier{1, 2, 156, 10197, 1, 401}

	OIDRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}
	OIDSHA1WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 5}
	OIDSHA256WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	OIDSHA384WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	OIDSHA512WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	OIDSHA224WithRSA = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 14}

	OIDECDSAWithSHA1     = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 1}
	OIDECDSAWithSHA224   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 1}
	OIDECDSAWithSHA256   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	OIDECDSAWithSHA384   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	OIDECDSAWithSHA512   = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 4}
	OIDECDSAWithSHA3_256 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 10}
	OIDECDSAWithSHA3_384 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 11}
	OIDECDSAWithSHA3_512 = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 12}
	OIDRSAWithSHA3_256   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 14}
	OIDRSAWithSHA3_384   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 15}
	OIDRSAWithSHA3_512   = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 3, 16}

	OIDCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}
)

var digestOIDs = []struct {
	oid  asn1.ObjectIdentifier
	hash crypto.Hash
}{
	{OIDSHA1, crypto.SHA1},
	{OIDSHA224, crypto.SHA224},
	{OIDSHA256, crypto.SHA256},
	{OIDSHA384, crypto.SHA384},
	{OIDSHA512, crypto.SHA512},
	{OIDSHA3_256, crypto.SHA3_256},
	{OIDSHA3_384, crypto.SHA3_384},
	{OIDSHA3_512, crypto.SHA3_512},
}

// HashFromOID returns the digest the verifier and signer support for oid.
func HashFromOID(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	for _, d := range digestOIDs {
		if d.oid.Equal(oid) {
			return d.hash, true
		}
	}
	return 0, false
}

// OIDFromHash is the inverse of HashFromOID.
func OIDFromHash(h crypto.Hash) (asn1.ObjectIdentifier, bool) {
	for _, d := range digestOIDs {
		if d.hash == h {
			return d.oid, true
		}
	}
	return nil, false
}

// ParseError is a structural error in a PKCS#7 message: Field names the
// element (e.g. "SignerInfo[0].signature"), Off is the byte offset in the
// input where it starts or where decoding failed.
type ParseError struct {
	Field string
	Off   int
	Msg   string
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("pkcs7: %s at offset %d: %s", e.Field, e.Off, e.Msg)
}
