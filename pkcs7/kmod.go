package pkcs7

import (
	"bytes"
	encasn1 "encoding/asn1"
	"unicode/utf8"
)

// This file reproduces what kmod 30 built with OpenSSL (Debian 12's
// modinfo) shows for an id_type PKCS#7 module signature: fill_pkcs7() in
// libkmod-signature.c decodes the blob with d2i_PKCS7_bio, which is a BER
// decoder, so the reader below is deliberately lenient where OpenSSL is
// (indefinite and non-minimal lengths, constructed strings, trailing data
// after the first object) and strict where OpenSSL is.

// berElem is one BER element.
type berElem struct {
	class       int // 0 universal, 1 application, 2 context, 3 private
	constructed bool
	tag         int
	content     []byte // definite-length contents; for indefinite, the
	// contents without the end-of-contents octets
	full []byte // the whole element
}

const berMaxDepth = 30 // OpenSSL's ASN1_MAX_CONSTRUCTED_NEST

// readBER reads one BER element from b.
func readBER(b []byte, depth int) (e berElem, rest []byte, ok bool) {
	if depth > berMaxDepth || len(b) < 2 {
		return e, nil, false
	}
	i := 0
	e.class = int(b[0] >> 6)
	e.constructed = b[0]&0x20 != 0
	e.tag = int(b[0] & 0x1f)
	i++
	if e.tag == 0x1f {
		e.tag = 0
		for {
			if i >= len(b) || e.tag > 1<<23 {
				return e, nil, false
			}
			c := b[i]
			i++
			e.tag = e.tag<<7 | int(c&0x7f)
			if c&0x80 == 0 {
				break
			}
		}
	}
	if i >= len(b) {
		return e, nil, false
	}
	l := int(b[i])
	i++
	switch {
	case l == 0x80:
		if !e.constructed {
			return e, nil, false
		}
		start := i
		r := b[i:]
		for {
			if len(r) >= 2 && r[0] == 0 && r[1] == 0 {
				e.content = b[start : len(b)-len(r)]
				e.full = b[:len(b)-len(r)+2]
				return e, r[2:], true
			}
			var ok bool
			_, r, ok = readBER(r, depth+1)
			if !ok {
				return e, nil, false
			}
		}
	case l > 0x80:
		n := l & 0x7f
		if n > len(b)-i {
			return e, nil, false
		}
		l = 0
		for _, c := range b[i : i+n] {
			if l > (1<<31-1)>>8 {
				return e, nil, false
			}
			l = l<<8 | int(c)
		}
		i += n
	}
	if l > len(b)-i {
		return e, nil, false
	}
	e.content = b[i : i+l]
	e.full = b[:i+l]
	return e, b[i+l:], true
}

// children splits the contents of a constructed element into elements.
func (e berElem) children(depth int) ([]berElem, bool) {
	if !e.constructed {
		return nil, false
	}
	var out []berElem
	r := e.content
	for len(r) > 0 {
		// An end-of-contents inside definite-length content is an error
		// for OpenSSL; readBER would treat 00 00 as tag 0 length 0.
		if r[0] == 0 {
			return nil, false
		}
		c, rest, ok := readBER(r, depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, c)
		r = rest
	}
	return out, true
}

func (e berElem) is(tag int, constructed bool) bool {
	return e.class == 0 && e.tag == tag && e.constructed == constructed
}

func (e berElem) isCtx(tag int, constructed bool) bool {
	return e.class == 2 && e.tag == tag && e.constructed == constructed
}

// stringBytes returns the contents of a (possibly constructed) string of
// universal type tag.
func (e berElem) stringBytes(tag, depth int) ([]byte, bool) {
	if e.class != 0 || e.tag != tag {
		return nil, false
	}
	if !e.constructed {
		return e.content, true
	}
	kids, ok := e.children(depth)
	if !ok {
		return nil, false
	}
	var out []byte
	for _, k := range kids {
		b, ok := k.stringBytes(tag, depth+1)
		if !ok {
			return nil, false
		}
		out = append(out, b...)
	}
	if out == nil {
		out = []byte{}
	}
	return out, true
}

// osslOID parses OBJECT IDENTIFIER contents the way c2i_ASN1_OBJECT
// accepts them.
func osslOID(e berElem) (encasn1.ObjectIdentifier, bool) {
	if !e.is(6, false) {
		return nil, false
	}
	c := e.content
	if len(c) == 0 || c[len(c)-1]&0x80 != 0 {
		return nil, false
	}
	for i := range c {
		if c[i] == 0x80 && (i == 0 || c[i-1]&0x80 == 0) {
			return nil, false
		}
	}
	var oid encasn1.ObjectIdentifier
	v := 0
	first := true
	for _, b := range c {
		if v > 1<<24 {
			// Huge arcs are valid for OpenSSL; they only matter for
			// identity, which such OIDs never have here.
			return encasn1.ObjectIdentifier{-1}, true
		}
		v = v<<7 | int(b&0x7f)
		if b&0x80 != 0 {
			continue
		}
		if first {
			switch {
			case v < 40:
				oid = append(oid, 0, v)
			case v < 80:
				oid = append(oid, 1, v-40)
			default:
				oid = append(oid, 2, v-80)
			}
			first = false
		} else {
			oid = append(oid, v)
		}
		v = 0
	}
	return oid, true
}

// osslInt returns the contents of an INTEGER as c2i_ASN1_INTEGER accepts
// it (non-empty, no redundant leading 00/FF) and its magnitude (what
// ASN1_INTEGER_to_BN + BN_bn2bin give).
func osslInt(e berElem) (mag []byte, ok bool) {
	if !e.is(2, false) {
		return nil, false
	}
	c := e.content
	if len(c) == 0 {
		return nil, false
	}
	if len(c) > 1 && (c[0] == 0 && c[1]&0x80 == 0 || c[0] == 0xff && c[1]&0x80 != 0) {
		return nil, false
	}
	if c[0]&0x80 == 0 {
		return bytes.TrimLeft(c, "\x00"), true
	}
	// negative: magnitude = two's complement
	m := make([]byte, len(c))
	carry := 1
	for i := len(c) - 1; i >= 0; i-- {
		v := int(^c[i]) + carry
		m[i] = byte(v)
		carry = v >> 8
	}
	return bytes.TrimLeft(m, "\x00"), true
}

// osslAlgor checks an X509_ALGOR (SEQUENCE { OID, ANY OPTIONAL }).
func osslAlgor(e berElem, depth int) (encasn1.ObjectIdentifier, bool) {
	kids, ok := e.children(depth)
	if !ok || !e.is(16, true) || len(kids) < 1 || len(kids) > 2 {
		return nil, false
	}
	return osslOID(kids[0])
}

// osslSetOf checks e is a SET (or, with seq, SEQUENCE) and checks each
// child with f.
func osslSetOf(e berElem, tagOK func(berElem) bool, depth int, f func(berElem) bool) bool {
	if !tagOK(e) {
		return false
	}
	kids, ok := e.children(depth)
	if !ok {
		return false
	}
	for _, k := range kids {
		if !f(k) {
			return false
		}
	}
	return true
}

func isSet(e berElem) bool { return e.is(17, true) }

// osslAttribute checks an X509_ATTRIBUTE: SEQUENCE { OID, SET OF ANY }.
func osslAttribute(e berElem, depth int) bool {
	kids, ok := e.children(depth)
	if !ok || !e.is(16, true) || len(kids) != 2 {
		return false
	}
	if _, ok := osslOID(kids[0]); !ok {
		return false
	}
	return osslSetOf(kids[1], isSet, depth+1, func(berElem) bool { return true })
}

// nameValue decodes an X509_NAME_ENTRY value (ASN1_PRINTABLE MSTRING) and
// returns the bytes ASN1_STRING_get0_data would return.
func nameValue(e berElem, depth int) ([]byte, bool) {
	if e.class != 0 {
		return nil, false
	}
	switch e.tag {
	case 7, 8, 9, 10, 11, 12, 13, 14, 15, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29, 30:
	case 16:
		if !e.constructed {
			return nil, false
		}
		return e.full, true
	default:
		return nil, false
	}
	b, ok := e.stringBytes(e.tag, depth)
	if !ok {
		return nil, false
	}
	// x509_name_canon converts these to UTF-8 and fails on bad input.
	switch e.tag {
	case 12: // UTF8String
		if !utf8.Valid(b) {
			return nil, false
		}
	case 30: // BMPString
		if len(b)%2 != 0 {
			return nil, false
		}
	case 28: // UniversalString
		if len(b)%4 != 0 {
			return nil, false
		}
	}
	return b, true
}

// osslNameSigner decodes an X509_NAME and applies kmod 30's
// x509_name_to_str: the first commonName value, else the last entry's
// value, else (no entries) nothing.
func osslNameSigner(e berElem, depth int) (signer []byte, ok bool) {
	rdns, ok := e.children(depth)
	if !ok || !e.is(16, true) {
		return nil, false
	}
	var vals [][]byte
	cn := -1
	for _, rdn := range rdns {
		ents, ok := rdn.children(depth + 1)
		if !ok || !isSet(rdn) {
			return nil, false
		}
		for _, ent := range ents {
			kv, ok := ent.children(depth + 2)
			if !ok || !ent.is(16, true) || len(kv) != 2 {
				return nil, false
			}
			oid, ok := osslOID(kv[0])
			if !ok {
				return nil, false
			}
			v, ok := nameValue(kv[1], depth+3)
			if !ok {
				return nil, false
			}
			if cn < 0 && oid.Equal(OIDCommonName) {
				cn = len(vals)
			}
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return nil, true
	}
	v := vals[len(vals)-1]
	if cn >= 0 {
		v = vals[cn]
	}
	if i := bytes.IndexByte(v, 0); i >= 0 {
		v = v[:i]
	}
	return v, true
}

// kmodHashNames is kmod 30's obj_to_hash_algo + pkey_hash_algo.
var kmodHashNames = []struct {
	oid  encasn1.ObjectIdentifier
	name string
}{
	{OIDMD4, "md4"},
	{OIDMD5, "md5"},
	{OIDSHA1, "sha1"},
	{OIDRIPEMD160, "rmd160"},
	{OIDSHA256, "sha256"},
	{OIDSHA384, "sha384"},
	{OIDSHA512, "sha512"},
	{OIDSHA224, "sha224"},
	{OIDSM3, "sm3"},
}

// KmodHashAlgoName returns the sig_hashalgo kmod 30 prints for a digest
// algorithm OID. ok is false for OIDs outside kmod 30's table: there the
// source indexes pkey_hash_algo[-1] (undefined behaviour) and Debian's
// modinfo 30 prints no signature fields at all (verified).
func KmodHashAlgoName(oid encasn1.ObjectIdentifier) (string, bool) {
	for _, h := range kmodHashNames {
		if h.oid.Equal(oid) {
			return h.name, true
		}
	}
	return "", false
}

// osslNames are OpenSSL's long names (OBJ_obj2txt(o, 0), which kmod 32+
// prints) for digest OIDs outside kmod 30's table.
var osslNames = []struct {
	oid  encasn1.ObjectIdentifier
	name string
}{
	{OIDSHA3_256, "sha3-256"},
	{OIDSHA3_384, "sha3-384"},
	{OIDSHA3_512, "sha3-512"},
	{encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 7}, "sha3-224"},
	{encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 5}, "sha512-224"},
	{encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 6}, "sha512-256"},
	{encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 11}, "shake128"},
	{encasn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 12}, "shake256"},
	{OIDRIPEMD160, "ripemd160"},
	{OIDMD4, "md4"},
	{OIDMD5, "md5"},
	{OIDSHA1, "sha1"},
	{OIDSHA224, "sha224"},
	{OIDSHA256, "sha256"},
	{OIDSHA384, "sha384"},
	{OIDSHA512, "sha512"},
	{OIDSM3, "sm3"},
}

// HashAlgoName returns the name kmod 32+ prints for a digest OID (OpenSSL's
// OBJ_obj2txt(o, 0): the long name, or the dotted OID when OpenSSL has no
// name for it).
func HashAlgoName(oid encasn1.ObjectIdentifier) string {
	for _, h := range osslNames {
		if h.oid.Equal(oid) {
			return h.name
		}
	}
	return oid.String()
}

// KmodView returns what kmod 30 built with OpenSSL reports for an id_type
// PKCS#7 module signature whose last sig_len bytes before the trailer are
// der: signer (modinfo "signer"), keyID ("sig_key", before hex
// formatting), hashAlgo ("sig_hashalgo") and sig ("signature"). ok is false
// when kmod 30's modinfo prints no signature fields at all, which is the
// case (verified against /usr/sbin/modinfo 30) when
//   - d2i_PKCS7 fails (corrupt or truncated blob; trailing bytes after the
//     first object are ignored, BER length forms are accepted),
//   - the content type is not signedData or the content is absent,
//   - there is no SignerInfo,
//   - the first SignerInfo uses the [0] subjectKeyIdentifier form
//     (sign-file -k): OpenSSL's PKCS7 type only knows issuerAndSerialNumber,
//     so the whole decode fails,
//   - the digest algorithm is not one of kmod 30's nine names (e.g.
//     sha3-256).
//
// A signer of nil means the issuer Name has no entries (modinfo prints an
// empty value).
func KmodView(der []byte) (signer, keyID []byte, hashAlgo string, sig []byte, ok bool) {
	fail := func() ([]byte, []byte, string, []byte, bool) { return nil, nil, "", nil, false }
	ci, _, ok := readBER(der, 0)
	if !ok || !ci.is(16, true) {
		return fail()
	}
	kids, ok := ci.children(0)
	if !ok || len(kids) < 1 || len(kids) > 2 {
		return fail()
	}
	ct, ok := osslOID(kids[0])
	if !ok || !ct.Equal(OIDSignedData) || len(kids) != 2 {
		// Other content types may still decode, but then
		// PKCS7_get_signer_info is NULL and kmod shows nothing.
		return fail()
	}
	exp, ok := kids[1].children(1)
	if !ok || !kids[1].isCtx(0, true) || len(exp) != 1 {
		return fail()
	}
	sd, ok := exp[0].children(2)
	if !ok || !exp[0].is(16, true) || len(sd) < 4 {
		return fail()
	}
	const d = 3
	i := 0
	if _, ok := osslInt(sd[i]); !ok {
		return fail()
	}
	i++
	if !osslSetOf(sd[i], isSet, d, func(e berElem) bool { _, ok := osslAlgor(e, d+1); return ok }) {
		return fail()
	}
	i++
	if !osslInnerContentInfo(sd[i], d) {
		return fail()
	}
	i++
	if i < len(sd) && sd[i].isCtx(0, true) {
		// certificates: SEQUENCE OF X509 (approximated: each a SEQUENCE)
		if !osslSetOf(sd[i], func(e berElem) bool { return true }, d, func(e berElem) bool { return e.is(16, true) }) {
			return fail()
		}
		i++
	}
	if i < len(sd) && sd[i].isCtx(1, true) {
		if !osslSetOf(sd[i], func(e berElem) bool { return true }, d, func(e berElem) bool { return e.is(16, true) }) {
			return fail()
		}
		i++
	}
	if i != len(sd)-1 || !isSet(sd[i]) {
		return fail()
	}
	sis, ok := sd[i].children(d)
	if !ok {
		return fail()
	}
	type view struct {
		signer, key, sig []byte
		hash             encasn1.ObjectIdentifier
	}
	var first *view
	for _, s := range sis {
		v, ok := osslSignerInfo(s, d+1)
		if !ok {
			return fail()
		}
		if first == nil {
			first = &view{v.signer, v.key, v.sig, v.hash}
		}
	}
	if first == nil {
		return fail()
	}
	name, ok := KmodHashAlgoName(first.hash)
	if !ok {
		return fail()
	}
	return first.signer, first.key, name, first.sig, true
}

// osslInnerContentInfo checks the nested PKCS7 (ContentInfo) of a
// SignedData: SEQUENCE { OID, [0] EXPLICIT content OPTIONAL }, where data
// content must be an OCTET STRING.
func osslInnerContentInfo(e berElem, depth int) bool {
	kids, ok := e.children(depth)
	if !ok || !e.is(16, true) || len(kids) < 1 || len(kids) > 2 {
		return false
	}
	oid, ok := osslOID(kids[0])
	if !ok {
		return false
	}
	if len(kids) == 2 {
		c, ok := kids[1].children(depth + 1)
		if !ok || !kids[1].isCtx(0, true) || len(c) != 1 {
			return false
		}
		if oid.Equal(OIDData) {
			if _, ok := c[0].stringBytes(4, depth+2); !ok {
				return false
			}
		}
	}
	return true
}

type osslSI struct {
	signer, key, sig []byte
	hash             encasn1.ObjectIdentifier
}

// osslSignerInfo decodes a PKCS7_SIGNER_INFO: SEQUENCE { version INTEGER,
// issuer_and_serial SEQUENCE { X509_NAME, INTEGER }, digest_alg X509_ALGOR,
// auth_attr [0] IMPLICIT SET OF X509_ATTRIBUTE OPTIONAL, digest_enc_alg
// X509_ALGOR, enc_digest OCTET STRING, unauth_attr [1] IMPLICIT SET OF
// X509_ATTRIBUTE OPTIONAL }.
func osslSignerInfo(e berElem, depth int) (v osslSI, ok bool) {
	f, ok := e.children(depth)
	if !ok || !e.is(16, true) || len(f) < 5 {
		return v, false
	}
	if _, ok := osslInt(f[0]); !ok {
		return v, false
	}
	ias, ok := f[1].children(depth + 1)
	if !ok || !f[1].is(16, true) || len(ias) != 2 {
		return v, false
	}
	if v.signer, ok = osslNameSigner(ias[0], depth+2); !ok {
		return v, false
	}
	if v.key, ok = osslInt(ias[1]); !ok {
		return v, false
	}
	if v.hash, ok = osslAlgor(f[2], depth+1); !ok {
		return v, false
	}
	i := 3
	attrs := func(e berElem) bool {
		return osslSetOf(e, func(berElem) bool { return true }, depth+1, func(a berElem) bool { return osslAttribute(a, depth+2) })
	}
	if f[i].isCtx(0, true) {
		if !attrs(f[i]) {
			return v, false
		}
		i++
	}
	if i+2 > len(f) {
		return v, false
	}
	if _, ok := osslAlgor(f[i], depth+1); !ok {
		return v, false
	}
	i++
	if v.sig, ok = f[i].stringBytes(4, depth+1); !ok {
		return v, false
	}
	i++
	if i < len(f) && f[i].isCtx(1, true) {
		if !attrs(f[i]) {
			return v, false
		}
		i++
	}
	return v, i == len(f)
}
