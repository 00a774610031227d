package cli

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"
	_ "golang.org/x/crypto/sha3" // registers crypto.SHA3_* for old toolchains; a no-op on current Go

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/errno"
	"github.com/kmodscope/kmodscope/kimage"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modsig"
	"github.com/kmodscope/kmodscope/pkcs7"
	"github.com/kmodscope/kmodscope/sigverify"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	register(command{name: "sig", summary: "verify or strip module signatures (sig verify, sig strip)", run: runSig})
	register(command{name: "sign", summary: "sign a module like the kernel's scripts/sign-file", run: runSign})
}

const sigUsage = `Usage:
  kmodscope sig verify [--cert FILE|DIR]... [-b BASEDIR -k RELEASE] [--json] MODULE...
  kmodscope sig strip MODULE [-o OUT]

Run 'kmodscope sig verify --help' or 'kmodscope sig strip --help' for details.
`

func runSig(s *IO, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.Err, sigUsage)
		return ExitUsage
	}
	switch args[0] {
	case "verify":
		return runSigVerify(s, args[1:])
	case "strip":
		return runSigStrip(s, args[1:])
	case "-h", "--help", "help":
		fmt.Fprint(s.Out, sigUsage)
		return ExitOK
	}
	s.errorf("sig", "unknown subcommand %q\n%s", args[0], sigUsage)
	return ExitUsage
}

const verifyExamples = `  kmodscope sig verify -b / -k $(uname -r) /lib/modules/$(uname -r)/kernel/fs/fuse/fuse.ko
  kmodscope sig verify --cert mok.der --cert /srv/keys/ my.ko
  kmodscope sig verify --json -b ROOT -k 6.1.0-56-amd64 $(find ROOT/lib/modules -name '*.ko')

Trusted keys: every --cert (DER or PEM, a file or a directory of them), and
with -b/-k the certificates built into BASEDIR/boot/vmlinuz-RELEASE (or
vmlinux-RELEASE). Each module is reported as one of: valid, unsigned (ENODATA),
unknown_key (ENOKEY), unsupported (ENOPKG), bad_signature (EKEYREJECTED),
malformed (EBADMSG), with the errno the kernel's mod_verify_sig() returns.
Exit status: 0 when every module is valid, 3 when some module is not,
1 when a module or certificate could not be read, 2 on usage errors.
`

// JSON schema kmodscope.sigverify/v1.
type verifyDoc struct {
	Schema  string         `json:"schema"`
	Certs   []certJSON     `json:"trusted_certificates"`
	Results []verifyResult `json:"results"`
}

type verifyResult struct {
	File          string  `json:"file"`
	Error         *string `json:"error"`
	Status        string  `json:"status"`
	Errno         *string `json:"errno"`
	ErrnoValue    int     `json:"errno_value"`
	KernelMessage string  `json:"kernel_message,omitempty"`
	Detail        string  `json:"detail"`
	Signer        *string `json:"signer_certificate"`
	SignedLen     int     `json:"signed_len"`
}

func runSigVerify(s *IO, args []string) int {
	var certPaths []string
	var basedir, release string
	var asJSON bool
	var maxSize int64
	fs := newFlags("sig verify", "kmodscope sig verify [--cert FILE|DIR]... [-b BASEDIR -k RELEASE] [--json] MODULE...", verifyExamples, s)
	fs.StringArrayVar(&certPaths, "cert", nil, "trust the certificate(s) in `FILE|DIR` (DER or PEM); repeatable")
	fs.StringVarP(&basedir, "basedir", "b", "", "root of the target system: trust the certificates built into BASEDIR/boot/vmlinuz-RELEASE")
	fs.StringVarP(&release, "set-version", "k", "", "kernel release under BASEDIR")
	fs.BoolVar(&asJSON, "json", false, "print a kmodscope.sigverify/v1 JSON document instead")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "sig verify", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("sig verify", "missing module (see 'kmodscope sig verify --help')")
		return ExitUsage
	}
	if (basedir != "") != (release != "") {
		s.errorf("sig verify", "-b BASEDIR and -k RELEASE go together")
		return ExitUsage
	}
	if len(certPaths) == 0 && basedir == "" {
		s.errorf("sig verify", "no trusted keys: give --cert FILE or -b BASEDIR -k RELEASE")
		return ExitUsage
	}
	var certs []*x509.Certificate
	var raws [][]byte
	for _, p := range certPaths {
		cs, err := target.ReadCerts(p)
		if err != nil {
			s.errorf("sig verify", "reading certificates: %v", err)
			return ExitError
		}
		if len(cs) == 0 {
			s.errorf("sig verify", "%s: no certificates found", p)
			return ExitError
		}
		for _, c := range cs {
			certs, raws = append(certs, c), append(raws, c.Raw)
		}
	}
	if basedir != "" {
		var img *kimage.Image
		var err error
		for _, n := range []string{"vmlinuz-", "vmlinux-", "Image-"} {
			p := filepath.Join(basedir, "boot", n+release)
			if _, serr := os.Stat(p); serr == nil {
				img, err = kimage.Open(p, nil)
				break
			}
		}
		if img == nil && err == nil {
			err = fmt.Errorf("no kernel image %s/boot/vmlinuz-%s (or vmlinux-%s)", basedir, release, release)
		}
		if err != nil {
			s.errorf("sig verify", "trusted keys of %s: %v", release, err)
			return ExitError
		}
		for _, c := range img.Certs {
			certs, raws = append(certs, c.Cert), append(raws, c.Raw)
		}
	}
	doc := verifyDoc{Schema: "kmodscope.sigverify/v1", Results: []verifyResult{}, Certs: []certJSON{}}
	for i, c := range certs {
		doc.Certs = append(doc.Certs, describeCert(c, raws[i]))
	}
	code := ExitOK
	runOrdered(s, "sig verify", fs.Args(), func(p string, o *jobOut) {
		res := verifyResult{File: p}
		o.result = &res
		m, err := ko.Open(p, &ko.Options{MaxSize: maxSize})
		var data []byte
		if err == nil {
			data, err = m.Bytes()
			defer m.Close()
		}
		if err != nil {
			msg := err.Error()
			res.Error, res.Status = &msg, "error"
			if !asJSON {
				o.errorf("%s", msg)
			}
			o.ok = false
			return
		}
		r := sigverify.Verify(data, certs)
		res.Status, res.Detail, res.KernelMessage, res.SignedLen = string(r.Status), r.Detail, r.KernelMessage, r.ContentLen
		if r.Status != sigverify.Valid {
			res.Errno, res.ErrnoValue = &r.Errno, errno.ForMachine(m.ELF.Machine).Value(r.Errno)
		}
		if r.Cert != nil {
			subj := r.Cert.Subject.String()
			res.Signer = &subj
		}
		o.ok = true
		if !asJSON {
			if r.Status == sigverify.Valid {
				fmt.Fprintf(&o.sb, "%s: valid: %s (serial %s)\n", p, r.Cert.Subject, hex.EncodeToString(r.Cert.SerialNumber.Bytes()))
			} else {
				fmt.Fprintf(&o.sb, "%s: %s (-%s): %s\n", p, strings.ReplaceAll(string(r.Status), "_", " "), r.Errno, r.Detail)
				if r.KernelMessage != "" {
					fmt.Fprintf(&o.sb, "    kernel: %s\n", r.KernelMessage)
				}
			}
		}
	}, func(o *jobOut) {
		res := o.result.(*verifyResult)
		doc.Results = append(doc.Results, *res)
		switch {
		case !o.ok:
			code = ExitError
		case res.Status != string(sigverify.Valid) && code == ExitOK:
			code = ExitRefused
		}
	})
	if asJSON {
		s.json(doc)
	}
	return code
}

const stripExamples = `  kmodscope sig strip fuse.ko              # in place (through a temporary file)
  kmodscope sig strip fuse.ko.xz -o /tmp/fuse.ko.xz

A compressed module is decompressed, stripped and compressed again with the
same algorithm (Kbuild's settings). Exit status: 0 on success (also when the
module was not signed), 1 on errors, 2 on usage errors.
`

func runSigStrip(s *IO, args []string) int {
	var out string
	var maxSize int64
	fs := newFlags("sig strip", "kmodscope sig strip MODULE [-o OUT]", stripExamples, s)
	fs.StringVarP(&out, "output", "o", "", "write to `OUT` instead of replacing MODULE")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "sig strip", args, ExitUsage); done {
		return code
	}
	if fs.NArg() != 1 {
		s.errorf("sig strip", "need exactly one MODULE (see 'kmodscope sig strip --help')")
		return ExitUsage
	}
	in := fs.Arg(0)
	err := rewriteModule(in, out, maxSize, func(data []byte) ([]byte, error) {
		stripped, err := modsig.Strip(data)
		if err != nil {
			return nil, fmt.Errorf("malformed signature trailer, not stripping: %w", err)
		}
		if len(stripped) == len(data) {
			fmt.Fprintf(s.Err, "kmodscope sig strip: %s was not signed\n", in)
		}
		return stripped, nil
	})
	if err != nil {
		s.errorf("sig strip", "%v", err)
		return ExitError
	}
	return ExitOK
}

// rewriteModule reads a module (decompressing it), transforms the image,
// compresses it again the same way and writes it to out (default: in),
// through a temporary file and rename.
func rewriteModule(in, out string, maxSize int64, fn func([]byte) ([]byte, error)) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	format := compression.Sniff(raw)
	data := raw
	if format != compression.None {
		if data, err = compression.Decompress(format, raw, maxSize); err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
	}
	if _, err := ko.New(data); err != nil {
		return fmt.Errorf("%s: not a kernel module: %w", in, err)
	}
	res, err := fn(data)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	if format != compression.None {
		if res, err = compression.Compress(format, res); err != nil {
			return fmt.Errorf("%s: recompressing with %s: %w", in, format, err)
		}
	}
	if out == "" {
		out = in
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(in); err == nil {
		mode = st.Mode().Perm()
	}
	return writeFileAtomic(out, res, mode)
}

const signExamples = `  kmodscope sign --key signing_key.pem --cert signing_key.x509 my.ko
  kmodscope sign --key key.pem --cert cert.pem --hash sha512 --keyid my.ko.xz -o signed/my.ko.xz

Like scripts/sign-file HASH KEY CERT MODULE [DEST]: a detached PKCS#7
SignedData without certificates or signed attributes (the kernel rejects
those), identifying the signer by issuer and serial number, or with --keyid by
subject key identifier (sign-file -k). RSA (PKCS#1 v1.5) and ECDSA keys in PEM
(PKCS#8, PKCS#1 or SEC 1); the certificate in PEM or DER. A signed module is
re-signed (its old signature replaced); .ko.xz/.ko.zst/.ko.gz are signed inside
and compressed again the way Kbuild does. The output replaces the input (or
is written to OUT) through a temporary file and rename.
Exit status: 0 on success, 1 on errors, 2 on usage errors.
`

var hashByName = map[string]crypto.Hash{
	"sha1": crypto.SHA1, "sha224": crypto.SHA224, "sha256": crypto.SHA256, "sha384": crypto.SHA384,
	"sha512": crypto.SHA512, "sha3-256": crypto.SHA3_256, "sha3-384": crypto.SHA3_384, "sha3-512": crypto.SHA3_512,
}

// signFlags are the signing options shared by sign and strip (--key,
// --cert, --hash, --keyid).
type signFlags struct {
	keyPath, certPath, hashName string
	keyID                       bool
}

func (f *signFlags) add(fs *pflag.FlagSet, required bool) {
	opt := ""
	if !required {
		opt = "re-sign with the private key in PEM (`KEY`), as kmodscope sign does"
	} else {
		opt = "private key in PEM (`KEY`)"
	}
	fs.StringVar(&f.keyPath, "key", "", opt)
	fs.StringVar(&f.certPath, "cert", "", "the key's X.509 certificate, PEM or DER (`CERT`)")
	fs.StringVar(&f.hashName, "hash", "sha256", "digest: sha1, sha224, sha256, sha384, sha512, sha3-256, sha3-384, sha3-512")
	fs.BoolVar(&f.keyID, "keyid", false, "identify the signer by subject key identifier (sign-file -k)")
}

// moduleSigner signs module images like scripts/sign-file.
type moduleSigner struct {
	key   crypto.Signer
	cert  *x509.Certificate
	hash  crypto.Hash
	keyID bool
}

// load reads the key and certificate; on failure it prints the error and
// returns the exit code.
func (f *signFlags) load(s *IO, cmd string) (*moduleSigner, int) {
	h, ok := hashByName[strings.ToLower(f.hashName)]
	if !ok {
		s.errorf(cmd, "unknown hash %q (use sha1, sha224, sha256, sha384, sha512, sha3-256, sha3-384 or sha3-512)", f.hashName)
		return nil, ExitUsage
	}
	key, err := readPrivateKey(f.keyPath)
	if err != nil {
		s.errorf(cmd, "%v", err)
		return nil, ExitError
	}
	certs, err := target.ReadCerts(f.certPath)
	if err != nil || len(certs) == 0 {
		if err == nil {
			err = fmt.Errorf("%s: no certificate found", f.certPath)
		}
		s.errorf(cmd, "%v", err)
		return nil, ExitError
	}
	cert := certs[0]
	if pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool }); !ok || !pub.Equal(cert.PublicKey) {
		s.errorf(cmd, "%s: the private key does not match the certificate %s", f.keyPath, f.certPath)
		return nil, ExitError
	}
	if f.keyID && len(cert.SubjectKeyId) == 0 {
		s.errorf(cmd, "%s has no subject key identifier extension; sign without --keyid", f.certPath)
		return nil, ExitError
	}
	return &moduleSigner{key: key, cert: cert, hash: h, keyID: f.keyID}, ExitOK
}

// sign replaces any signature of the module image data by a new one.
func (ms *moduleSigner) sign(data []byte) ([]byte, error) {
	content, err := modsig.Strip(data)
	if err != nil {
		return nil, fmt.Errorf("malformed existing signature, not re-signing: %w", err)
	}
	der, err := pkcs7.Sign(content, ms.key, ms.cert, ms.hash, ms.keyID)
	if err != nil {
		return nil, err
	}
	return modsig.Append(content, der), nil
}

func runSign(s *IO, args []string) int {
	var sf signFlags
	var out string
	var maxSize int64
	fs := newFlags("sign", "kmodscope sign --key KEY --cert CERT [--hash ALGO] [--keyid] MODULE [-o OUT]", signExamples, s)
	sf.add(fs, true)
	fs.StringVarP(&out, "output", "o", "", "write to `OUT` instead of replacing MODULE")
	fs.Int64Var(&maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "sign", args, ExitUsage); done {
		return code
	}
	if fs.NArg() != 1 || sf.keyPath == "" || sf.certPath == "" {
		s.errorf("sign", "need --key, --cert and exactly one MODULE (see 'kmodscope sign --help')")
		return ExitUsage
	}
	signer, code := sf.load(s, "sign")
	if signer == nil {
		return code
	}
	if err := rewriteModule(fs.Arg(0), out, maxSize, signer.sign); err != nil {
		s.errorf("sign", "%v", err)
		return ExitError
	}
	return ExitOK
}

// readPrivateKey reads an RSA or ECDSA private key from PEM (PKCS#8,
// PKCS#1 "RSA PRIVATE KEY" or SEC 1 "EC PRIVATE KEY"); the file may also
// hold certificates, as the kernel's signing_key.pem does.
func readPrivateKey(path string) (crypto.Signer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for rest := data; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		var k any
		if strings.Contains(b.Headers["Proc-Type"], "ENCRYPTED") { // traditional "Proc-Type: 4,ENCRYPTED" PEM
			b.Type = "ENCRYPTED PRIVATE KEY"
		}
		switch b.Type {
		case "PRIVATE KEY":
			k, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			k, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			k, err = x509.ParseECPrivateKey(b.Bytes)
		case "ENCRYPTED PRIVATE KEY":
			return nil, fmt.Errorf("%s: encrypted private keys are not supported; decrypt it with openssl pkey first", path)
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", path, b.Type, err)
		}
		switch k := k.(type) {
		case *rsa.PrivateKey:
			return k, nil
		case *ecdsa.PrivateKey:
			return k, nil
		default:
			return nil, fmt.Errorf("%s: unsupported key type %T (RSA or ECDSA only)", path, k)
		}
	}
	return nil, errors.New(path + ": no PEM private key found")
}
