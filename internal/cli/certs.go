package cli

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/kmodscope/kmodscope/kimage"
)

func init() {
	register(command{name: "certs", summary: "list the X.509 certificates built into kernel images (the builtin trusted keys)", run: runCerts})
}

const certsExamples = `  kmodscope certs /boot/vmlinuz-$(uname -r)
  kmodscope certs --out keys/ /srv/root/boot/vmlinuz-6.1.0-56-amd64   # writes keys/vmlinuz-6.1.0-56-amd64-1.der
  kmodscope certs --json vmlinux

Handles x86 bzImage (gzip, xz, zstd, lz4, bzip2, lzma payloads), arm64 Image
(plain, gzip, EFI zboot), s390x and ppc64 images and vmlinux ELF files.
Exit status: 0 if certificates were found in every image, 1 otherwise, 2 on
usage errors.
`

type certsOptions struct {
	out     string
	json    bool
	maxSize int64
}

// JSON schema kmodscope.certs/v1.
type certsDoc struct {
	Schema  string        `json:"schema"`
	Results []certsResult `json:"results"`
}

type certsResult struct {
	File         string     `json:"file"`
	Error        *string    `json:"error"`
	Format       string     `json:"format,omitempty"`
	Payload      string     `json:"payload,omitempty"`
	Version      string     `json:"version,omitempty"`
	Certificates []certJSON `json:"certificates"`
}

type certJSON struct {
	Subject        string    `json:"subject"`
	Issuer         string    `json:"issuer"`
	Serial         string    `json:"serial"`
	SubjectKeyID   string    `json:"subject_key_id"`
	KeyType        string    `json:"key_type"`
	KeyBits        int       `json:"key_bits"`
	NotBefore      time.Time `json:"not_before"`
	NotAfter       time.Time `json:"not_after"`
	SHA256         string    `json:"sha256"`
	Offset         int64     `json:"offset"`
	DERFile        string    `json:"der_file,omitempty"`
	SignatureAlgo  string    `json:"signature_algorithm"`
	SelfSigned     bool      `json:"self_signed"`
	SubjectCN      string    `json:"subject_cn"`
	IssuerSerialID string    `json:"sig_key"` // the serial as modinfo prints sig_key (hex)
}

func runCerts(s *IO, args []string) int {
	var o certsOptions
	fs := newFlags("certs", "kmodscope certs [--out DIR] [--json] KERNEL_IMAGE...", certsExamples, s)
	fs.StringVar(&o.out, "out", "", "write each certificate as DER into `DIR`")
	fs.BoolVar(&o.json, "json", false, "print a kmodscope.certs/v1 JSON document instead")
	fs.Int64Var(&o.maxSize, "max-size", kimage.DefaultMaxSize, "refuse kernels that decompress beyond this many bytes")
	if done, code := parseFlags(fs, s, "certs", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("certs", "missing kernel image (see 'kmodscope certs --help')")
		return ExitUsage
	}
	if o.out != "" {
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			s.errorf("certs", "%v", err)
			return ExitError
		}
	}
	doc := certsDoc{Schema: "kmodscope.certs/v1", Results: []certsResult{}}
	code := ExitOK
	for _, path := range fs.Args() {
		res := certsResult{File: path, Certificates: []certJSON{}}
		img, err := kimage.Open(path, &kimage.Options{MaxSize: o.maxSize})
		if img != nil {
			res.Format, res.Payload, res.Version = img.Format, img.Payload, img.Version
		}
		if err == nil && img != nil && len(img.Certs) == 0 {
			err = fmt.Errorf("%s: %w", path, kimage.ErrNoCerts)
		}
		if err != nil {
			msg := err.Error()
			if errors.Is(err, kimage.ErrNoCerts) {
				msg += " (a kernel built without CONFIG_SYSTEM_TRUSTED_KEYS/MODULE_SIG has none)"
			}
			res.Error = &msg
			code = ExitError
			if !o.json {
				s.errorf("certs", "%s", msg)
			}
		}
		if img != nil {
			for i, c := range img.Certs {
				j := describeCert(c.Cert, c.Raw)
				j.Offset = c.Offset
				if o.out != "" {
					name := filepath.Join(o.out, fmt.Sprintf("%s-%d.der", filepath.Base(path), i+1))
					if err := writeFileAtomic(name, c.Raw, 0o644); err != nil {
						s.errorf("certs", "%v", err)
						code = ExitError
					} else {
						j.DERFile = name
					}
				}
				res.Certificates = append(res.Certificates, j)
			}
		}
		doc.Results = append(doc.Results, res)
		if !o.json && img != nil && len(img.Certs) > 0 {
			fmt.Fprintf(s.Out, "%s: %s, %s payload, %d certificate(s)\n", path, img.Format, img.Payload, len(img.Certs))
			if img.Version != "" {
				fmt.Fprintf(s.Out, "  %s\n", strings.TrimSpace(img.Version))
			}
			for i, j := range res.Certificates {
				fmt.Fprintf(s.Out, "  certificate %d (at offset %#x of the kernel):\n", i+1, j.Offset)
				fmt.Fprintf(s.Out, "    subject:        %s\n", j.Subject)
				fmt.Fprintf(s.Out, "    issuer:         %s\n", j.Issuer)
				fmt.Fprintf(s.Out, "    serial:         %s\n", kmodHex(mustHex(j.Serial)))
				fmt.Fprintf(s.Out, "    subject key id: %s\n", kmodHex(mustHex(j.SubjectKeyID)))
				fmt.Fprintf(s.Out, "    key:            %s %d bits, signed with %s\n", j.KeyType, j.KeyBits, j.SignatureAlgo)
				fmt.Fprintf(s.Out, "    valid:          %s to %s\n", j.NotBefore.Format(time.RFC3339), j.NotAfter.Format(time.RFC3339))
				fmt.Fprintf(s.Out, "    sha256:         %s\n", j.SHA256)
				if j.DERFile != "" {
					fmt.Fprintf(s.Out, "    written to:     %s\n", j.DERFile)
				}
			}
		}
	}
	if o.json {
		s.json(doc)
	}
	return code
}

func mustHex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

func describeCert(c *x509.Certificate, raw []byte) certJSON {
	sum := sha256.Sum256(raw)
	j := certJSON{
		Subject: c.Subject.String(), Issuer: c.Issuer.String(),
		Serial: hex.EncodeToString(c.SerialNumber.Bytes()), SubjectKeyID: hex.EncodeToString(c.SubjectKeyId),
		NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC(), SHA256: hex.EncodeToString(sum[:]),
		SignatureAlgo: c.SignatureAlgorithm.String(), SelfSigned: c.Subject.String() == c.Issuer.String(),
		SubjectCN: c.Subject.CommonName,
	}
	j.IssuerSerialID = j.Serial
	switch k := c.PublicKey.(type) {
	case *rsa.PublicKey:
		j.KeyType, j.KeyBits = "RSA", k.N.BitLen()
	case *ecdsa.PublicKey:
		j.KeyType, j.KeyBits = "ECDSA "+k.Curve.Params().Name, k.Curve.Params().BitSize
	case ed25519.PublicKey:
		j.KeyType, j.KeyBits = "Ed25519", 256
	default:
		j.KeyType = c.PublicKeyAlgorithm.String()
	}
	return j
}

// writeFileAtomic writes data to a temporary file in path's directory and
// renames it over path, so an interrupted run never leaves a partial file.
func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	name := tmp.Name()
	defer os.Remove(name)
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.Chmod(name, mode); err != nil {
		return err
	}
	return os.Rename(name, path)
}
