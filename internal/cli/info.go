package cli

import (
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
)

func init() {
	register(command{name: "info", summary: "show module information exactly like kmod's modinfo (or --json)", run: runInfo, args: argModules})
}

const infoSynopsis = "kmodscope info [-F FIELD] [-0] [-a|-d|-l|-p|-n] [-m] [-b BASEDIR] [-k RELEASE] [--json] MODULE..."

const infoExamples = `  kmodscope info testdata/modules/amd64/crc7.ko        # like: modinfo crc7.ko
  kmodscope info -F vermagic /lib/modules/$(uname -r)/kernel/fs/fuse/fuse.ko.xz
  kmodscope info -b /srv/root -k 6.1.0-56-amd64 ext4 pci:v00008086d000010D3sv*sd*bc*sc*i*
  kmodscope info -p e1000e                             # parameters only
  kmodscope info --json crc7.ko | jq '.results[0].modules[0].signature'

MODULE is a file path (.ko, .ko.xz, .ko.zst, .ko.gz, compression detected by
content), or a module name or alias looked up under BASEDIR/lib/modules/RELEASE
(default /lib/modules/$(uname -r)) through modules.dep.bin, modules.alias.bin,
modules.symbols.bin, modules.builtin.bin and modules.builtin.alias.bin, like
modinfo. Output is byte-identical to kmod 30's modinfo; errors say exactly what
is wrong. Exit status: 0 if every MODULE was shown, 1 otherwise (as modinfo).
`

type infoOptions struct {
	field   string
	null    bool
	modname bool
	basedir string
	release string
	json    bool
	maxSize int64
}

// fieldFlag is a boolean flag that selects a field; since every -a/-d/-l/
// -p/-n/-F assignment goes through Set in command-line order, the last one
// wins, as with modinfo's getopt loop.
type fieldFlag struct {
	target *string
	value  string
}

func (f *fieldFlag) String() string { return "false" }
func (f *fieldFlag) Type() string   { return "bool" }
func (f *fieldFlag) Set(v string) error {
	if f.value == "" { // -F FIELD
		*f.target = v
	} else if v == "true" {
		*f.target = f.value
	}
	return nil
}

func runInfo(s *IO, args []string) int {
	var o infoOptions
	fs := newFlags("info", infoSynopsis, infoExamples, s)
	for _, ff := range []struct{ long, short, field, help string }{
		{"author", "a", "author", "print only 'author'"},
		{"description", "d", "description", "print only 'description'"},
		{"license", "l", "license", "print only 'license'"},
		{"parameters", "p", "parm", "print only 'parm'"},
		{"filename", "n", "filename", "print only 'filename'"},
	} {
		fl := fs.VarPF(&fieldFlag{target: &o.field, value: ff.field}, ff.long, ff.short, ff.help)
		fl.NoOptDefVal = "true"
	}
	fs.VarP(&fieldFlag{target: &o.field}, "field", "F", "print only the values of FIELD (the last of -a/-d/-l/-p/-n/-F wins)")
	fs.BoolVarP(&o.null, "null", "0", false, "use \\0 instead of \\n (filename:, name: and parm: lines keep their padded layout, as modinfo)")
	fs.BoolVarP(&o.modname, "modname", "m", false, "handle arguments as module names, not aliases or file names")
	fs.StringVarP(&o.release, "set-version", "k", "", "use `RELEASE` instead of the running kernel's (uname -r)")
	fs.StringVarP(&o.basedir, "basedir", "b", "", "use DIR as the root for /lib/modules")
	fs.BoolVar(&o.json, "json", false, "print a kmodscope.info/v1 JSON document instead")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	if done, code := parseFlags(fs, s, "info", args, ExitError); done {
		return code
	}
	if fs.NArg() == 0 {
		s.errorf("info", "missing module or filename (see 'kmodscope info --help')")
		return ExitError
	}
	r := &infoRunner{s: s, o: &o, opt: &ko.Options{MaxSize: o.maxSize}, sep: '\n'}
	if o.null {
		r.sep = 0
	}
	r.moduleDir = moduleDir(o.basedir, o.release)
	failed := false
	runOrdered(s, "info", fs.Args(), func(arg string, o *jobOut) {
		rr := *r // per job: pre is job state
		o.ok = rr.do(arg, o)
	}, func(o *jobOut) {
		r.results = append(r.results, o.result.(infoResult))
		if !o.ok {
			failed = true
		}
	})
	if o.json {
		s.json(infoDoc{Schema: "kmodscope.info/v1", Results: r.results})
	}
	if failed {
		return ExitError
	}
	return ExitOK
}

// moduleDir returns BASEDIR/lib/modules/RELEASE like modinfo: when neither
// -b nor -k is given, /lib/modules/$(uname -r).
func moduleDir(basedir, release string) string {
	if release == "" {
		release = unameRelease()
	}
	return basedir + "/lib/modules/" + release
}

func unameRelease() string {
	var u syscall.Utsname
	if err := syscall.Uname(&u); err != nil {
		return ""
	}
	b := make([]byte, 0, len(u.Release))
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// hasModuleExt reports whether p ends in a module extension. Unlike
// Debian's kmod 30 (built without zlib), .ko.gz counts too.
func hasModuleExt(p string) bool {
	for _, ext := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(p, ext) {
			return true
		}
	}
	return false
}

// openModuleFile mirrors modinfo's is_module_filename (an existing regular
// file with a module extension) without a separate stat: it opens the file
// and reports isFile=false when it does not exist or is not a regular file,
// so that the argument is looked up as a name instead. Any other failure
// (unreadable, not ELF, ...) belongs to the file.
func openModuleFile(p string, opt *ko.Options) (m *ko.Module, isFile bool, err error) {
	m, err = ko.Open(p, opt)
	if err == nil {
		return m, true, nil
	}
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR) || errors.Is(err, ko.ErrNotRegular) {
		return nil, false, err
	}
	return nil, true, err
}

// preopened is a module file opened while classifying an argument.
type preopened struct {
	m   *ko.Module
	err error
}

type infoRunner struct {
	s         *IO
	o         *infoOptions
	opt       *ko.Options
	sep       byte
	moduleDir string
	results   []infoResult
	pre       *preopened // set between classification and show; per-job runner copy
}

// do handles one command-line argument; it returns false on failure.
func (r *infoRunner) do(arg string, o *jobOut) bool {
	res := infoResult{Argument: arg, Modules: []infoModule{}}
	defer func() { o.result = res }()
	fail := func(format string, a ...any) bool {
		msg := fmt.Sprintf(format, a...)
		res.Error = &msg
		if !r.o.json {
			o.errorf("%s", msg)
		}
		return false
	}
	var targets []Result
	var opened *ko.Module
	var openErr error
	isFile := false
	if !r.o.modname && hasModuleExt(arg) {
		opened, isFile, openErr = openModuleFile(arg, r.opt)
	}
	switch {
	case isFile:
		targets = []Result{{Name: ko.NameFromPath(arg), Path: absPath(arg)}}
		r.pre = &preopened{m: opened, err: openErr}
	default:
		found, err := lookupModules(r.moduleDir, arg, r.o.modname)
		if err != nil {
			return fail("Module %s not found: %v", arg, err)
		}
		if len(found) == 0 {
			if r.o.modname {
				return fail("Module name %s not found in %s.", arg, r.moduleDir)
			}
			if _, err := os.Stat(arg); err == nil {
				return fail("Module %s not found: it is not a regular file named *.ko, *.ko.xz, *.ko.zst or *.ko.gz, nor a module name or alias in %s.", arg, r.moduleDir)
			}
			return fail("Module %s not found in %s (no such file, module name or alias).", arg, r.moduleDir)
		}
		targets = found
	}
	ok := true
	for _, t := range targets {
		mod, err := r.show(t, o)
		res.Modules = append(res.Modules, mod)
		if err != nil {
			ok = false
			if res.Error == nil {
				msg := err.Error()
				res.Error = &msg
			}
		}
	}
	return ok
}

// show prints one module like modinfo_do and returns its JSON record.
func (r *infoRunner) show(t Result, o *jobOut) (infoModule, error) {
	sb := &o.sb
	defer o.flush()
	field, sep := r.o.field, r.sep
	jm := infoModule{Name: t.Name, Builtin: t.Builtin, Modinfo: []jsonKV{}, Parameters: []*param{}}
	filename := t.Path
	if t.Builtin {
		if field == "" {
			fmt.Fprintf(sb, "%-16s%s%c", "name:", t.Name, sep)
		} else if field == "name" {
			fmt.Fprintf(sb, "%s%c", t.Name, sep)
		}
		filename = "(builtin)"
	} else {
		jm.Filename = &t.Path
	}
	if field == "filename" {
		fmt.Fprintf(sb, "%s%c", filename, sep)
		if !r.o.json {
			return jm, nil
		}
	} else if field == "" {
		fmt.Fprintf(sb, "%-16s%s%c", "filename:", filename, sep)
	}
	if r.o.json {
		sb.Reset()
	}
	kvs, err := r.info(t, &jm, o)
	if err != nil {
		if t.Builtin && errors.Is(err, os.ErrNotExist) {
			return jm, nil // an old kernel without modules.builtin.modinfo
		}
		msg := fmt.Sprintf("could not get modinfo from '%s': %v", t.Name, err)
		if !r.o.json {
			o.errorf("%s", msg)
		}
		return jm, errors.New(msg)
	}
	if r.o.json {
		for _, kv := range kvs {
			jm.Modinfo = append(jm.Modinfo, toJSONKV(kv))
		}
		jm.Parameters = mergeParams(kvs, nil)
		return jm, nil
	}
	bad := func(key, value string) {
		o.errorf("Found invalid \"%s=%s\": missing ':'", key, value)
	}
	if field == "parm" {
		for _, p := range mergeParams(kvs, bad) {
			writeParam(sb, p, false, sep)
		}
		return jm, nil
	}
	var params []ko.KV
	for _, kv := range kvs {
		v := cstr(kv.Value)
		if field != "" {
			if kv.Key == field {
				sb.WriteString(v)
				sb.WriteByte(sep)
			}
			continue
		}
		if kv.Key == "parm" || kv.Key == "parmtype" {
			params = append(params, kv)
			continue
		}
		if sep == 0 {
			fmt.Fprintf(sb, "%s=%s%c", kv.Key, v, sep)
			continue
		}
		writeField(sb, kv.Key, v, sep)
	}
	if field == "" {
		for _, p := range mergeParams(params, bad) {
			writeParam(sb, p, true, sep)
		}
	}
	return jm, nil
}

// info returns the key/value list kmod_module_get_info would: .modinfo
// entries followed, for a signed module, by sig_id, signer, sig_key,
// sig_hashalgo and signature. It fills the JSON-only facts into jm.
func (r *infoRunner) info(t Result, jm *infoModule, o *jobOut) ([]ko.KV, error) {
	if t.Builtin {
		return builtinModinfo(r.moduleDir, t.Name)
	}
	var m *ko.Module
	var err error
	if p := r.pre; p != nil {
		r.pre = nil
		m, err = p.m, p.err
	} else {
		m, err = ko.Open(t.Path, r.opt)
	}
	if err != nil {
		return nil, err
	}
	defer m.Close()
	jm.Compression = m.Compression.String()
	kvs, err := m.Modinfo()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.Path, err)
	}
	if r.o.json {
		if id, err := m.BuildID(); err == nil && id != nil {
			h := hex.EncodeToString(id)
			jm.BuildID = &h
		}
	}
	sig, err := m.Signature()
	if err != nil {
		if !r.o.json {
			o.warnf("%s: %v (no signature fields shown, as modinfo)", t.Path, err)
		}
		msg := err.Error()
		jm.SignatureError = &msg
		return kvs, nil
	}
	if sig != nil {
		if r.o.json {
			jm.Signature = newJSONSig(sig)
		}
		if sig.KmodShows {
			kvs = append(kvs,
				ko.KV{Key: "sig_id", Value: sig.IDType},
				ko.KV{Key: "signer", Value: string(sig.Signer)},
				ko.KV{Key: "sig_key", Value: kmodHex(sig.KeyID)},
				ko.KV{Key: "sig_hashalgo", Value: sig.HashAlgo},
				ko.KV{Key: "signature", Value: kmodHex(sig.Sig)},
			)
		}
	}
	return kvs, nil
}

// JSON schema kmodscope.info/v1 (documented in docs/json.md).
type infoDoc struct {
	Schema  string       `json:"schema"`
	Results []infoResult `json:"results"`
}

type infoResult struct {
	Argument string       `json:"argument"`
	Error    *string      `json:"error"`
	Modules  []infoModule `json:"modules"`
}

type infoModule struct {
	Name           string   `json:"name"`
	Filename       *string  `json:"filename"`
	Builtin        bool     `json:"builtin"`
	Compression    string   `json:"compression,omitempty"`
	Modinfo        []jsonKV `json:"modinfo"`
	Parameters     []*param `json:"parameters"`
	Signature      *jsonSig `json:"signature"`
	SignatureError *string  `json:"signature_error,omitempty"`
	BuildID        *string  `json:"build_id"`
}

// jsonKV is a .modinfo entry; a value that is not valid UTF-8 is also given
// as hex so nothing is lost.
type jsonKV struct {
	Key      string `json:"key"`
	Value    string `json:"value"`
	ValueHex string `json:"value_hex,omitempty"`
}

func toJSONKV(kv ko.KV) jsonKV {
	j := jsonKV{Key: kv.Key, Value: kv.Value}
	if !utf8.ValidString(kv.Value) {
		j.ValueHex = hex.EncodeToString([]byte(kv.Value))
	}
	return j
}

type jsonSig struct {
	IDType         string  `json:"sig_id"`
	Signer         string  `json:"signer"`
	KeyID          string  `json:"sig_key"`
	KeyIDKind      string  `json:"sig_key_kind,omitempty"`
	HashAlgo       string  `json:"sig_hashalgo"`
	Signature      string  `json:"signature"`
	SigLen         uint32  `json:"sig_len"`
	SignedLen      int     `json:"signed_len"`
	ShownByModinfo bool    `json:"shown_by_modinfo"`
	ParseError     *string `json:"parse_error,omitempty"`
}

func newJSONSig(sig *ko.Signature) *jsonSig {
	j := &jsonSig{
		IDType: sig.IDType, Signer: string(sig.Signer), KeyID: hex.EncodeToString(sig.KeyID),
		HashAlgo: sig.HashAlgo, Signature: hex.EncodeToString(sig.Sig),
		SigLen: sig.Trailer.SigLen, SignedLen: sig.Trailer.ContentLen, ShownByModinfo: sig.KmodShows,
	}
	sd, perr := sig.PKCS7()
	if sd != nil && len(sd.SignerInfos) > 0 {
		if si := sd.SignerInfos[0]; si.SubjectKeyID != nil {
			j.KeyIDKind = "subject_key_identifier"
			j.KeyID = hex.EncodeToString(si.SubjectKeyID)
		} else {
			j.KeyIDKind = "issuer_serial"
		}
	}
	if perr != nil {
		msg := perr.Error()
		j.ParseError = &msg
	}
	return j
}
