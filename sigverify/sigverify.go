// Package sigverify decides, like the kernel's module_sig_check() /
// mod_verify_sig() (kernel/module/signing.c), whether a module's appended
// signature is valid against a set of trusted certificates, and which
// errno the kernel would return when it is not.
package sigverify

import (
	"crypto/x509"
	"errors"

	"github.com/kmodscope/kmodscope/errno"
	"github.com/kmodscope/kmodscope/modsig"
	"github.com/kmodscope/kmodscope/pkcs7"
)

// Status classifies a module's signature.
type Status string

// The statuses, each with the errno mod_verify_sig() returns for it.
const (
	Valid        Status = "valid"         // 0
	Unsigned     Status = "unsigned"      // ENODATA: no "~Module signature appended~\n"
	UnknownKey   Status = "unknown_key"   // ENOKEY: no trusted certificate matches the signer
	Unsupported  Status = "unsupported"   // ENOPKG: unsupported hash/key algorithm or id_type
	BadSignature Status = "bad_signature" // EKEYREJECTED: content changed, wrong key, or rejected message
	Malformed    Status = "malformed"     // EBADMSG: trailer or PKCS#7 blob does not parse
)

// Result is the verdict for one module image.
type Result struct {
	Status Status
	// Errno is the kernel's errno name ("" when valid) and ErrnoValue its
	// asm-generic value (errno.ForMachine(m).Value(Errno) for other
	// architectures).
	Errno      string
	ErrnoValue int
	// KernelMessage is what the kernel prints for this failure, if anything.
	KernelMessage string
	// Detail explains the verdict in words.
	Detail string
	// Cert is the certificate that verified the signature.
	Cert *x509.Certificate
	// ContentLen is the length of the image the kernel goes on with
	// (info->len): the signed content when the trailer checks passed, the
	// file without the 28-byte magic when they failed, the whole file when
	// unsigned.
	ContentLen int
	// SignedData is the parsed PKCS#7 message, when it parsed.
	SignedData *pkcs7.SignedData
}

func fail(s Status, e, kmsg, detail string) *Result {
	return &Result{Status: s, Errno: e, ErrnoValue: errno.Generic.Value(e), KernelMessage: kmsg, Detail: detail}
}

// Verify checks the signature of data (a whole decompressed module image)
// against certs, in the kernel's order: trailer magic, struct
// module_signature (mod_check_sig), PKCS#7 parse, content type, signed
// attributes, algorithms, signer lookup, signature.
func Verify(data []byte, certs []*x509.Certificate) *Result {
	modLen, sig, err := modsig.KernelCheckFile(data)
	if err != nil {
		var ke *modsig.KernelError
		if !errors.As(err, &ke) {
			return fail(Malformed, "EBADMSG", "", err.Error())
		}
		var r *Result
		switch ke.Errno {
		case modsig.ENODATA:
			r = fail(Unsigned, "ENODATA", "", "no signature: the file does not end with \"~Module signature appended~\\n\"")
			r.ContentLen = len(data)
			return r
		case modsig.ENOPKG:
			r = fail(Unsupported, "ENOPKG", ke.Msg, "the signature is not a PKCS#7 message (id_type "+idType(data)+")")
		default:
			r = fail(Malformed, ke.Errno.Name(), ke.Msg, "malformed signature trailer (struct module_signature): "+describe(data))
		}
		// module_sig_check() has already cut the magic off info->len;
		// mod_verify_sig() sets it to the content length only after the
		// trailer checks pass.
		r.ContentLen = len(data) - len(modsig.Magic)
		return r
	}
	sd, err := pkcs7.Parse(sig)
	if err != nil {
		return fail(Malformed, "EBADMSG", "", "the PKCS#7 message does not parse: "+err.Error())
	}
	cert, err := sd.Verify(data[:modLen], certs)
	if err != nil {
		var ve *pkcs7.VerifyError
		en := pkcs7.ErrnoOf(err)
		msg := ""
		if errors.As(err, &ve) && (ve.Msg == "Invalid module sig (not pkcs7-data)" || ve.Msg == "Invalid module sig (has authattrs)") {
			msg = "PKCS7: " + ve.Msg
		} else if errors.As(err, &ve) && ve.Msg == "PKCS#7 signature with non-detached data" {
			msg = ve.Msg
		}
		r := &Result{Errno: en.Name(), ErrnoValue: en.Value(errno.Generic), KernelMessage: msg, Detail: err.Error(), SignedData: sd, ContentLen: modLen}
		switch en {
		case pkcs7.ENOKEY:
			r.Status = UnknownKey
			r.Detail = "no trusted certificate matches the signer (" + signerDesc(sd) + ")"
		case pkcs7.ENOPKG:
			r.Status = Unsupported
		case pkcs7.EKEYREJECTED:
			r.Status = BadSignature
		default:
			r.Status = Malformed
			if r.Errno == "" {
				r.Errno, r.ErrnoValue = "EBADMSG", errno.EBADMSG.Value(errno.Generic)
			}
		}
		return r
	}
	return &Result{Status: Valid, Cert: cert, ContentLen: modLen, SignedData: sd, Detail: "signed by " + cert.Subject.String()}
}

func idType(data []byte) string {
	t, err := modsig.Find(data)
	if err != nil {
		return "?"
	}
	return t.IDType.String()
}

func describe(data []byte) string {
	if _, err := modsig.Find(data); err != nil {
		return err.Error()
	}
	return "non-zero algo/hash/signer_len/key_id_len or sig_len too large"
}

func signerDesc(sd *pkcs7.SignedData) string {
	if len(sd.SignerInfos) == 0 {
		return "no signer"
	}
	si := sd.SignerInfos[0]
	if si.SubjectKeyID != nil {
		return "subject key identifier " + hexs(si.SubjectKeyID)
	}
	signer, key, _, _, _ := pkcs7.KmodView(sd.Raw)
	return "issuer " + string(signer) + ", serial " + hexs(key)
}

func hexs(b []byte) string {
	const d = "0123456789abcdef"
	out := make([]byte, 0, len(b)*2)
	for _, c := range b {
		out = append(out, d[c>>4], d[c&15])
	}
	return string(out)
}
