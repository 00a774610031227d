package pkcs7

import (
	encasn1 "encoding/asn1"
	"fmt"
	"math"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// maxNesting bounds nothing recursive here (the grammar is fixed), but
// element counts are implicitly bounded by the input length.

type parser struct {
	base []byte
}

// off returns the offset of s within p.base (s must alias it).
func (p *parser) off(s cryptobyte.String) int {
	return cap(p.base) - cap(s)
}

func (p *parser) errf(field string, s cryptobyte.String, format string, args ...any) error {
	return &ParseError{Field: field, Off: p.off(s), Msg: fmt.Sprintf(format, args...)}
}

func tagName(t asn1.Tag) string {
	switch t {
	case asn1.SEQUENCE:
		return "SEQUENCE"
	case asn1.SET:
		return "SET"
	case asn1.INTEGER:
		return "INTEGER"
	case asn1.OBJECT_IDENTIFIER:
		return "OBJECT IDENTIFIER"
	case asn1.OCTET_STRING:
		return "OCTET STRING"
	}
	class := "context"
	switch t & 0xc0 {
	case 0:
		class = "universal"
	case 0x40:
		class = "application"
	case 0xc0:
		class = "private"
	}
	cons := ""
	if t&asn1.Tag(0x20) != 0 {
		cons = " constructed"
	}
	return fmt.Sprintf("[%s %d%s]", class, uint8(t)&0x1f, cons)
}

// read reads one element with the given tag and returns its contents.
func (p *parser) read(s *cryptobyte.String, tag asn1.Tag, field string) (cryptobyte.String, error) {
	start := *s
	if s.Empty() {
		return nil, p.errf(field, start, "missing (expected %s)", tagName(tag))
	}
	if !s.PeekASN1Tag(tag) {
		return nil, p.errf(field, start, "expected %s, found tag byte 0x%02x", tagName(tag), (*s)[0])
	}
	var out cryptobyte.String
	if !s.ReadASN1(&out, tag) {
		return nil, p.errf(field, start, "invalid DER length or element extends past its container")
	}
	return out, nil
}

// readElement is like read but returns the whole TLV.
func (p *parser) readElement(s *cryptobyte.String, tag asn1.Tag, field string) (cryptobyte.String, error) {
	start := *s
	if s.Empty() {
		return nil, p.errf(field, start, "missing (expected %s)", tagName(tag))
	}
	if !s.PeekASN1Tag(tag) {
		return nil, p.errf(field, start, "expected %s, found tag byte 0x%02x", tagName(tag), (*s)[0])
	}
	var out cryptobyte.String
	if !s.ReadASN1Element(&out, tag) {
		return nil, p.errf(field, start, "invalid DER length or element extends past its container")
	}
	return out, nil
}

func (p *parser) end(s cryptobyte.String, field string) error {
	if !s.Empty() {
		return p.errf(field, s, "%d unexpected trailing bytes", len(s))
	}
	return nil
}

func (p *parser) readOID(s *cryptobyte.String, field string) (encasn1.ObjectIdentifier, error) {
	start := *s
	if s.Empty() || !s.PeekASN1Tag(asn1.OBJECT_IDENTIFIER) {
		_, err := p.read(s, asn1.OBJECT_IDENTIFIER, field)
		return nil, err
	}
	var oid encasn1.ObjectIdentifier
	if !s.ReadASN1ObjectIdentifier(&oid) {
		return nil, p.errf(field, start, "invalid OBJECT IDENTIFIER encoding")
	}
	return oid, nil
}

func (p *parser) readSmallInt(s *cryptobyte.String, field string) (int, error) {
	start := *s
	if s.Empty() || !s.PeekASN1Tag(asn1.INTEGER) {
		_, err := p.read(s, asn1.INTEGER, field)
		return 0, err
	}
	var v int64
	if !s.ReadASN1Integer(&v) {
		return 0, p.errf(field, start, "invalid or out-of-range INTEGER")
	}
	if v < math.MinInt32 || v > math.MaxInt32 {
		return 0, p.errf(field, start, "INTEGER %d out of range", v)
	}
	return int(v), nil
}

// readRawInt returns the content bytes of a DER INTEGER after checking
// minimal encoding.
func (p *parser) readRawInt(s *cryptobyte.String, field string) ([]byte, error) {
	start := *s
	c, err := p.read(s, asn1.INTEGER, field)
	if err != nil {
		return nil, err
	}
	if len(c) == 0 {
		return nil, p.errf(field, start, "empty INTEGER")
	}
	if len(c) > 1 && (c[0] == 0 && c[1]&0x80 == 0 || c[0] == 0xff && c[1]&0x80 != 0) {
		return nil, p.errf(field, start, "non-minimal INTEGER encoding")
	}
	return c, nil
}

func (p *parser) readAlg(s *cryptobyte.String, field string) (AlgorithmIdentifier, error) {
	seq, err := p.read(s, asn1.SEQUENCE, field)
	if err != nil {
		return AlgorithmIdentifier{}, err
	}
	oid, err := p.readOID(&seq, field+".algorithm")
	if err != nil {
		return AlgorithmIdentifier{}, err
	}
	a := AlgorithmIdentifier{Algorithm: oid}
	if !seq.Empty() {
		start := seq
		var tag asn1.Tag
		var el cryptobyte.String
		if !seq.ReadAnyASN1Element(&el, &tag) {
			return a, p.errf(field+".parameters", start, "invalid DER element")
		}
		a.Parameters = el
	}
	return a, p.end(seq, field)
}

// Parse decodes a DER ContentInfo holding a SignedData (RFC 5652 / PKCS#7
// v1.5) and rejects anything that is not strict DER or that has trailing
// data. It never panics; errors are *ParseError.
func Parse(der []byte) (*SignedData, error) {
	p := &parser{base: der}
	in := cryptobyte.String(der)
	ci, err := p.read(&in, asn1.SEQUENCE, "ContentInfo")
	if err != nil {
		return nil, err
	}
	if err := p.end(in, "ContentInfo"); err != nil {
		return nil, err
	}
	oidStart := ci
	ct, err := p.readOID(&ci, "ContentInfo.contentType")
	if err != nil {
		return nil, err
	}
	if !ct.Equal(OIDSignedData) {
		return nil, p.errf("ContentInfo.contentType", oidStart, "content type %v is not signedData", ct)
	}
	exp, err := p.read(&ci, asn1.Tag(0).Constructed().ContextSpecific(), "ContentInfo.content")
	if err != nil {
		return nil, err
	}
	if err := p.end(ci, "ContentInfo"); err != nil {
		return nil, err
	}
	sdr, err := p.read(&exp, asn1.SEQUENCE, "SignedData")
	if err != nil {
		return nil, err
	}
	if err := p.end(exp, "ContentInfo.content"); err != nil {
		return nil, err
	}
	sd := &SignedData{Raw: der}
	if sd.Version, err = p.readSmallInt(&sdr, "SignedData.version"); err != nil {
		return nil, err
	}
	algs, err := p.read(&sdr, asn1.SET, "SignedData.digestAlgorithms")
	if err != nil {
		return nil, err
	}
	for i := 0; !algs.Empty(); i++ {
		a, err := p.readAlg(&algs, fmt.Sprintf("SignedData.digestAlgorithms[%d]", i))
		if err != nil {
			return nil, err
		}
		sd.DigestAlgorithms = append(sd.DigestAlgorithms, a)
	}
	encap, err := p.read(&sdr, asn1.SEQUENCE, "SignedData.encapContentInfo")
	if err != nil {
		return nil, err
	}
	if sd.ContentType, err = p.readOID(&encap, "SignedData.encapContentInfo.eContentType"); err != nil {
		return nil, err
	}
	sd.Detached = true
	if encap.PeekASN1Tag(asn1.Tag(0).Constructed().ContextSpecific()) {
		ec, err := p.read(&encap, asn1.Tag(0).Constructed().ContextSpecific(), "SignedData.encapContentInfo.eContent")
		if err != nil {
			return nil, err
		}
		oct, err := p.read(&ec, asn1.OCTET_STRING, "SignedData.encapContentInfo.eContent")
		if err != nil {
			return nil, err
		}
		if err := p.end(ec, "SignedData.encapContentInfo.eContent"); err != nil {
			return nil, err
		}
		sd.Detached = false
		sd.Content = oct
	}
	if err := p.end(encap, "SignedData.encapContentInfo"); err != nil {
		return nil, err
	}
	if sdr.PeekASN1Tag(asn1.Tag(0).Constructed().ContextSpecific()) {
		certs, err := p.read(&sdr, asn1.Tag(0).Constructed().ContextSpecific(), "SignedData.certificates")
		if err != nil {
			return nil, err
		}
		for i := 0; !certs.Empty(); i++ {
			c, err := p.readElement(&certs, asn1.SEQUENCE, fmt.Sprintf("SignedData.certificates[%d]", i))
			if err != nil {
				return nil, err
			}
			sd.Certificates = append(sd.Certificates, c)
		}
		if sd.Certificates == nil {
			sd.Certificates = [][]byte{}
		}
	}
	if sdr.PeekASN1Tag(asn1.Tag(1).Constructed().ContextSpecific()) {
		crls, err := p.read(&sdr, asn1.Tag(1).Constructed().ContextSpecific(), "SignedData.crls")
		if err != nil {
			return nil, err
		}
		sd.CRLsRaw = crls
	}
	sis, err := p.read(&sdr, asn1.SET, "SignedData.signerInfos")
	if err != nil {
		return nil, err
	}
	if err := p.end(sdr, "SignedData"); err != nil {
		return nil, err
	}
	for i := 0; !sis.Empty(); i++ {
		si, err := p.parseSignerInfo(&sis, fmt.Sprintf("SignerInfo[%d]", i))
		if err != nil {
			return nil, err
		}
		sd.SignerInfos = append(sd.SignerInfos, si)
	}
	return sd, nil
}

func (p *parser) parseSignerInfo(s *cryptobyte.String, f string) (SignerInfo, error) {
	var si SignerInfo
	seq, err := p.read(s, asn1.SEQUENCE, f)
	if err != nil {
		return si, err
	}
	if si.Version, err = p.readSmallInt(&seq, f+".version"); err != nil {
		return si, err
	}
	switch {
	case seq.PeekASN1Tag(asn1.SEQUENCE):
		ias, err := p.read(&seq, asn1.SEQUENCE, f+".issuerAndSerialNumber")
		if err != nil {
			return si, err
		}
		name, err := p.readElement(&ias, asn1.SEQUENCE, f+".issuerAndSerialNumber.issuer")
		if err != nil {
			return si, err
		}
		si.IssuerRaw = name
		if si.Serial, err = p.readRawInt(&ias, f+".issuerAndSerialNumber.serialNumber"); err != nil {
			return si, err
		}
		if err := p.end(ias, f+".issuerAndSerialNumber"); err != nil {
			return si, err
		}
	case seq.PeekASN1Tag(asn1.Tag(0).ContextSpecific()):
		skid, err := p.read(&seq, asn1.Tag(0).ContextSpecific(), f+".subjectKeyIdentifier")
		if err != nil {
			return si, err
		}
		si.SubjectKeyID = skid
		if si.SubjectKeyID == nil {
			si.SubjectKeyID = []byte{}
		}
	default:
		start := seq
		if seq.Empty() {
			return si, p.errf(f+".sid", start, "missing")
		}
		return si, p.errf(f+".sid", start, "expected issuerAndSerialNumber or [0] subjectKeyIdentifier, found tag byte 0x%02x", seq[0])
	}
	if si.DigestAlgorithm, err = p.readAlg(&seq, f+".digestAlgorithm"); err != nil {
		return si, err
	}
	if seq.PeekASN1Tag(asn1.Tag(0).Constructed().ContextSpecific()) {
		if si.SignedAttrsRaw, err = p.readElement(&seq, asn1.Tag(0).Constructed().ContextSpecific(), f+".signedAttrs"); err != nil {
			return si, err
		}
	}
	if si.SignatureAlgorithm, err = p.readAlg(&seq, f+".signatureAlgorithm"); err != nil {
		return si, err
	}
	if si.Signature, err = p.read(&seq, asn1.OCTET_STRING, f+".signature"); err != nil {
		return si, err
	}
	if si.Signature == nil {
		si.Signature = []byte{}
	}
	if seq.PeekASN1Tag(asn1.Tag(1).Constructed().ContextSpecific()) {
		if si.UnsignedAttrsRaw, err = p.readElement(&seq, asn1.Tag(1).Constructed().ContextSpecific(), f+".unsignedAttrs"); err != nil {
			return si, err
		}
	}
	return si, p.end(seq, f)
}
