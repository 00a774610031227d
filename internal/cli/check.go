package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/errno"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/loadcheck/kparam"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	register(command{name: "check", summary: "predict whether the kernel will load a module, and why not (offline insmod/modprobe)", run: runCheck, args: argModules})
}

const checkSynopsis = "kmodscope check [-b BASEDIR] [-k RELEASE] [--with-deps] [--policy upstream|debian] [--loaded NAME,...] [--sig-enforce] [--lockdown] [--cert FILE]... [--param NAME=VALUE]... [--json] MODULE..."

const checkExamples = `  kmodscope check ./mydriver.ko          # will insmod accept it on this machine?
  kmodscope check -b /srv/debian-root -k 6.1.0-56-amd64 --with-deps ext4   # like modprobe ext4
  kmodscope check -b ROOT -k 6.12.117+deb12-amd64 --sig-enforce --cert mok.der my.ko
  kmodscope check --json -b ROOT -k REL --loaded usbcore,usb_storage ums-realtek.ko
  kmodscope check -b ROOT -k REL --param max_part=abc loop     # insmod loop.ko max_part=abc
  kmodscope check -b ROOT -k REL --param 'max_part=4 dyndbg=+p' loop.ko
  kmodscope check -b / -k $(uname -r) --loaded ./core/mycore.ko ./mydrv.ko   # self-built dependency first

Without -b and -k the target is the running system (-b / -k $(uname -r)),
as for modprobe; parts of it that are missing (no config: /proc/config.gz is
tried; no Module.symvers) are named on stderr and in "found", and the checks
that need them are not modelled (the verdict is partial), instead of failing.
The target is read from BASEDIR: boot/config-RELEASE, Module.symvers (through
lib/modules/RELEASE/build, usr/src/linux-headers-RELEASE or
boot/symvers-RELEASE.gz), boot/vmlinuz-RELEASE (builtin keys, version banner),
lib/modules/RELEASE (modules, modules.builtin, vermagic, sizeof(struct module)).
The checks follow the kernel's load_module() for the target's version (6.1 or
6.4+ order), with its messages, errno and taint letters; Debian kernels (found
from the version banner) refuse symbols missing from __versions.
A damaged file gets the kernel's own verdict from its ELF checks (run on the
raw bytes first); a file the kernel would oops on is reported as a crash.
MODULE is a file or a module name in the target tree.
--param gives the module options insmod/modprobe would pass (joined with
spaces, as insmod joins its arguments); the kernel's parse_args() rules are
applied to them with the module's own parameter table (__param): unknown
parameters are ignored with a warning, bad values refuse the load (EINVAL,
ERANGE, ENOSPC, EROFS). Parameters with the module's own setter are not
checked. With --with-deps the options go to MODULE only.
Exit status: 0 when every module loads, 3 when any would be refused (or crash
the kernel), 1 on errors (unreadable file, incomplete target), 2 on usage errors.
`

type checkOptions struct {
	basedir, release string
	withDeps         bool
	policy           string
	loaded           []string
	loadedFrom       string
	sigEnforce       bool
	lockdown         bool
	certs            []string
	blacklist        []string
	json             bool
	maxSize          int64
	params           []string
}

// JSON schema kmodscope.check/v1 (docs/json.md).
type checkDoc struct {
	Schema  string        `json:"schema"`
	Target  checkTarget   `json:"target"`
	Results []checkResult `json:"results"`
}

type checkTarget struct {
	Release          string            `json:"release"`
	Vermagic         string            `json:"vermagic"`
	Policy           string            `json:"policy"`
	PolicySource     string            `json:"policy_source"`
	ModuleStructSize uint64            `json:"module_struct_size"`
	Modversions      bool              `json:"modversions"`
	ModuleSig        bool              `json:"module_sig"`
	SigEnforce       bool              `json:"sig_enforce"`
	Lockdown         bool              `json:"lockdown"`
	Found            map[string]string `json:"found"`
}

type checkResult struct {
	File            string   `json:"file"`
	Module          string   `json:"module"`
	Loads           bool     `json:"loads"`
	Errno           *string  `json:"errno"`
	ErrnoValue      int      `json:"errno_value"`
	FailedCheck     *string  `json:"failed_check"`
	Messages        []string `json:"messages"`
	Taints          string   `json:"taints"`
	Hint            string   `json:"hint"`
	InsmodMessage   string   `json:"insmod_message,omitempty"`
	ModprobeMessage string   `json:"modprobe_message,omitempty"`
	Notes           []string `json:"notes,omitempty"`
	// Partial: loads as far as kmodscope can tell; later checks could not
	// be modelled (notes say which).
	Partial bool `json:"partial,omitempty"`
	// Crash: the kernel would read out of bounds instead of refusing
	// (failed_check "kernel_crash", errno null).
	Crash string `json:"crash,omitempty"`
	// Parameters is the module's parameter table (__param), in table
	// order; Arguments what parse_args made of --param (omitted without).
	Parameters   []checkParam  `json:"parameters"`
	Arguments    *checkArgs    `json:"arguments,omitempty"`
	Error        *string       `json:"error,omitempty"`
	LoadOrder    []string      `json:"load_order,omitempty"`
	Dependencies []checkResult `json:"dependencies,omitempty"`
}

// checkParam is one module parameter.
type checkParam struct {
	Name string `json:"name"`
	// Type: "int", "charp", "string", "array of int", "custom" (the
	// module's own kernel_param_ops), "ops SYMBOL" (other kernel ops).
	Type    string `json:"type"`
	Ops     string `json:"ops"`  // the ops symbol, "" for module-defined ops
	Perm    string `json:"perm"` // sysfs mode, octal
	Unsafe  bool   `json:"unsafe,omitempty"`
	HWParam bool   `json:"hwparam,omitempty"`
	MaxLen  uint32 `json:"maxlen,omitempty"`    // string: buffer size (value up to maxlen-1 bytes)
	Max     uint32 `json:"array_max,omitempty"` // array: element count limit
}

type checkArgs struct {
	// Options is the string handed to the kernel.
	Options     string              `json:"options"`
	Assignments []kparam.Assignment `json:"assignments"`
}

func runCheck(s *IO, args []string) int {
	var o checkOptions
	fs := newFlags("check", checkSynopsis, checkExamples, s)
	fs.StringVarP(&o.basedir, "basedir", "b", "", "root of the target system (default \"/\", this machine)")
	fs.StringVarP(&o.release, "set-version", "k", "", "target kernel release (default: the running kernel's, uname -r)")
	fs.BoolVar(&o.withDeps, "with-deps", false, "load the module's dependencies from the target tree first, like modprobe")
	fs.StringVar(&o.policy, "policy", "", "loader policy: debian or upstream (default: detected from the kernel image)")
	flagChoices(fs, "policy", "debian", "upstream")
	fs.StringSliceVar(&o.loaded, "loaded", nil, "modules already loaded (comma-separated names, or .ko files loaded first: self-built dependencies)")
	fs.StringVar(&o.loadedFrom, "loaded-from", "", "read the loaded modules from `FILE` in /proc/modules format")
	fs.BoolVar(&o.sigEnforce, "sig-enforce", false, "signatures are enforced (module.sig_enforce=1 or Secure Boot)")
	fs.BoolVar(&o.lockdown, "lockdown", false, "the lockdown LSM is at integrity or confidentiality")
	fs.StringArrayVar(&o.certs, "cert", nil, "also trust the certificate(s) in `FILE|DIR` (e.g. an enrolled MOK); repeatable")
	fs.StringSliceVar(&o.blacklist, "blacklist", nil, "module_blacklist= boot parameter (comma-separated names)")
	fs.BoolVar(&o.json, "json", false, "print one kmodscope.check/v1 JSON document")
	fs.Int64Var(&o.maxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	fs.StringArrayVar(&o.params, "param", nil, "module option `NAME=VALUE` as insmod takes it (repeatable; one may hold several, e.g. 'a=1 b=\"x y\"')")
	if done, code := parseFlags(fs, s, "check", args, ExitUsage); done {
		return code
	}
	if f := os.Getenv("KMODSCOPE_CHECK_CPUPROFILE"); f != "" {
		// Undocumented, for bench/check-tree.sh and profiling: a CPU
		// profile of this run.
		if pf, err := os.Create(f); err == nil {
			if pprof.StartCPUProfile(pf) == nil {
				defer func() { pprof.StopCPUProfile(); pf.Close() }()
			}
		}
	}
	if fs.NArg() == 0 {
		s.errorf("check", "need at least one MODULE (see 'kmodscope check --help')")
		return ExitUsage
	}
	// Like modprobe: without -b the running system, without -k its release.
	if o.basedir == "" {
		o.basedir = "/"
	}
	if o.release == "" {
		rel, err := runningRelease()
		if err != nil {
			s.errorf("check", "no -k RELEASE given and the running kernel's release is unknown: %v", err)
			return ExitError
		}
		o.release = rel
	}
	if o.policy != "" && o.policy != "debian" && o.policy != "upstream" {
		s.errorf("check", "--policy must be debian or upstream, not %q", o.policy)
		return ExitUsage
	}
	// --loaded entries that are files are modules loaded first in every
	// simulated boot (self-built dependencies, not in the target tree).
	var names, preload []string
	for _, l := range o.loaded {
		if isModuleFile(l) {
			preload = append(preload, l)
		} else {
			names = append(names, l)
		}
	}
	topt := target.Options{BaseDir: o.basedir, Release: o.release, Policy: target.Policy(o.policy),
		Loaded: names, SigEnforce: o.sigEnforce, Lockdown: o.lockdown, Blacklist: o.blacklist,
		Incomplete: filepath.Clean(o.basedir) == "/"}
	from := o.loadedFrom
	implicit := false // /proc/modules of the running kernel, if it has one
	if running, _ := runningRelease(); from == "" && filepath.Clean(o.basedir) == "/" && len(names) == 0 && o.release == running {
		from, implicit = "/proc/modules", true
	}
	if o.basedir == "/" {
		// The running system: its boot parameters say what the flags would.
		if cmdline, err := os.ReadFile("/proc/cmdline"); err == nil {
			for _, w := range strings.Fields(string(cmdline)) {
				switch {
				case w == "module.sig_enforce=1":
					topt.SigEnforce = true
				case strings.HasPrefix(w, "module_blacklist="):
					topt.Blacklist = append(topt.Blacklist, strings.Split(strings.TrimPrefix(w, "module_blacklist="), ",")...)
				}
			}
		}
		if lsm, err := os.ReadFile("/sys/kernel/security/lockdown"); err == nil && !strings.Contains(string(lsm), "[none]") {
			topt.Lockdown = true
		}
	}
	if from != "" {
		data, err := os.ReadFile(from)
		if err != nil && implicit && os.IsNotExist(err) {
			data, err = nil, nil // a kernel without module support
		}
		if err != nil {
			s.errorf("check", "reading loaded modules: %v", err)
			return ExitError
		}
		topt.Loaded = append(topt.Loaded, target.ParseProcModules(data)...)
	}
	for _, p := range o.certs {
		cs, err := target.ReadCerts(p)
		if err != nil {
			s.errorf("check", "reading certificates: %v", err)
			return ExitError
		}
		topt.ExtraCerts = append(topt.ExtraCerts, cs...)
	}
	tk, err := target.Load(topt)
	if err != nil {
		s.errorf("check", "%v", err)
		return ExitError
	}
	if len(tk.Missing) > 0 && !o.json {
		// The running system may lack parts of the model: say which, and
		// go on with the checks that do not need them.
		for _, part := range target.FoundOrder {
			if f := tk.Found[part]; strings.HasPrefix(f, "missing") || strings.HasPrefix(f, "none: no kernel image") {
				fmt.Fprintf(s.Err, "kmodscope check: note: target %s (%s): %s: %s\n", o.basedir, tk.Release, part, f)
			}
		}
	}
	base := loadcheck.NewBase(tk)
	base.MemoSignatures = true // dependencies are verified once per run
	doc := checkDoc{Schema: "kmodscope.check/v1", Results: []checkResult{}, Target: checkTarget{
		Release: tk.Release, Vermagic: tk.Vermagic, Policy: string(tk.Policy), PolicySource: tk.PolicySource,
		ModuleStructSize: tk.ModuleStructSize, Modversions: tk.Has("MODVERSIONS"), ModuleSig: tk.Has("MODULE_SIG"),
		SigEnforce: tk.SigEnforce || tk.Has("MODULE_SIG_FORCE"), Lockdown: tk.Lockdown, Found: tk.Found}}
	ch := &checker{base: base, t: tk, opt: &ko.Options{MaxSize: o.maxSize}, cache: map[string]*depEntry{}, preload: preload,
		args: strings.Join(o.params, " "), hasArgs: len(o.params) > 0}
	code := ExitOK
	// With --json the document is written as it goes: its head, then each
	// result as its worker encoded it (encoding in parallel, and holding
	// no finished results), then its tail; the bytes are those of
	// s.json(doc) with every result in doc.Results.
	if o.json {
		head, err := jsonIndented(doc, "")
		if err != nil {
			s.errorf("check", "encoding JSON: %v", err)
			return ExitError
		}
		// head ends in `"results": []` and a newline.
		i := bytes.LastIndex(head, []byte("[]"))
		s.Out.Write(head[:i+1])
	}
	first := true
	runOrdered(s, "check", fs.Args(), func(arg string, out *jobOut) {
		res := ch.checkArg(arg, o.withDeps)
		if !o.json {
			out.result = checkDone{res: res}
			writeCheckText(&out.sb, res)
			return
		}
		enc, err := jsonIndented(res, "    ")
		out.result = checkDone{res: res, json: enc, err: err}
	}, func(out *jobOut) {
		d := out.result.(checkDone)
		res := d.res
		if o.json {
			if d.err != nil {
				// Not expected (plain data); never a partial document.
				msg := "encoding JSON: " + d.err.Error()
				res = checkResult{File: res.File, Error: &msg, Messages: []string{}, Parameters: []checkParam{}}
				d.json, _ = jsonIndented(res, "    ")
			}
			if first {
				s.Out.WriteString("\n    ")
			} else {
				s.Out.WriteString(",\n    ")
			}
			first = false
			s.Out.Write(bytes.TrimSuffix(d.json, []byte("\n")))
		}
		switch {
		case res.Error != nil:
			code = ExitError
		case !res.Loads && code == ExitOK:
			code = ExitRefused
		}
	})
	if o.json {
		if first {
			s.Out.WriteString("]\n}\n")
		} else {
			s.Out.WriteString("\n  ]\n}\n")
		}
	}
	return code
}

// checkDone is one checked argument: its result and, with --json, the
// result encoded at the depth of an element of "results".
type checkDone struct {
	res  checkResult
	json []byte
	err  error
}

// jsonIndented encodes v as s.json does, each line after the first
// prefixed with prefix.
func jsonIndented(v any, prefix string) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent(prefix, "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

type checker struct {
	base  *loadcheck.Base
	t     *target.Kernel
	opt   *ko.Options
	mu    sync.Mutex
	cache map[string]*depEntry
	// chains keeps the simulated kernel after a chain of dependency loads
	// (keyed by the chain's paths), so that modules sharing dependencies
	// (every USB driver loads usb-common and usbcore first) reuse them;
	// chainSize bounds what it holds.
	chains    map[string]*chainState
	chainSize int
	// args is the module options string (--param, joined as kmod's
	// insmod joins its arguments).
	args    string
	hasArgs bool
	// preload are module files (--loaded FILE) loaded, in order, before
	// each checked module.
	preload []string
}

// isModuleFile reports whether a --loaded entry names a module file rather
// than a module name.
func isModuleFile(s string) bool {
	if !strings.ContainsRune(s, '/') && !strings.Contains(s, ".ko") {
		return false
	}
	st, err := os.Stat(s)
	return err == nil && st.Mode().IsRegular()
}

// fresh returns a freshly booted kernel with the --loaded files loaded in
// order (each checked like insmod; a refused one is not loaded) and their
// results.
func (ch *checker) fresh() (*loadcheck.Kernel, []checkResult, []string) {
	k := ch.base.Fresh()
	var res []checkResult
	var order []string
	for _, p := range ch.preload {
		m, err := ch.module(p, true)
		if err != nil {
			msg := err.Error()
			res = append(res, checkResult{File: p, Error: &msg, Messages: []string{}})
			continue
		}
		r := k.Check(p, m)
		if r.Loads {
			k.MarkLoaded(r)
			order = append(order, r.Module)
		} else {
			r.Notes = append(r.Notes, "this --loaded module would be refused, so it is not loaded for the modules checked after it")
		}
		res = append(res, toCheckResult(r, ch.errnoArch()))
	}
	return k, res, order
}

type chainState struct {
	k     *loadcheck.Kernel
	deps  []checkResult
	order []string
}

const maxChainSize = 1 << 19

func (ch *checker) chain(key string) *chainState {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	return ch.chains[key]
}

func (ch *checker) keepChain(key string, k *loadcheck.Kernel, deps []checkResult, order []string) {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	if _, ok := ch.chains[key]; ok || ch.chainSize+k.Size() > maxChainSize {
		return
	}
	if ch.chains == nil {
		ch.chains = map[string]*chainState{}
	}
	ch.chainSize += k.Size()
	ch.chains[key] = &chainState{k: k.Clone(), deps: append([]checkResult(nil), deps...), order: append([]string(nil), order...)}
}

// errnoArch is the errno numbering of the target's architecture.
func (ch *checker) errnoArch() errno.Arch { return errno.ForMachine(ch.t.Machine) }

type depEntry struct {
	once sync.Once
	m    *ko.Module
	err  error
	// deps is modDepends of m, once.
	depsOnce sync.Once
	deps     []string
	depsOK   bool
}

// entry returns the cache entry of a tree module.
func (ch *checker) entry(path string) *depEntry {
	ch.mu.Lock()
	defer ch.mu.Unlock()
	e := ch.cache[path]
	if e == nil {
		e = &depEntry{}
		ch.cache[path] = e
	}
	return e
}

// module opens (and, for tree modules, keeps) a module file.
func (ch *checker) module(path string, keep bool) (*ko.Module, error) {
	if !keep {
		m, _, err := ch.moduleOnce(path)
		return m, err
	}
	e := ch.entry(path)
	e.once.Do(func() {
		m, err := ko.Open(path, ch.opt)
		if err == nil {
			_, err = m.Bytes() // read it all once, then close the file
			m.Close()
		}
		e.m, e.err = m, err
	})
	return e.m, e.err
}

// moduleBufs holds read buffers for the modules checked once: a tree-wide
// run reads hundreds of megabytes, which would otherwise each be fresh
// memory until the next collection.
var moduleBufs sync.Pool // of *[]byte

// maxPooledModule bounds the files read into a pooled buffer.
const maxPooledModule = 64 << 20

// moduleOnce opens a module checked once (not kept): a plain ELF file that
// kmodscope's reader accepts is read whole into a pooled buffer, which
// release returns once nothing refers to the module (every verdict copies
// what it keeps). Anything else (compressed, damaged, large) goes through
// ko.Open, for its own reading and errors.
func (ch *checker) moduleOnce(path string) (m *ko.Module, release func(), err error) {
	release = func() {}
	if data, bp := readPooled(path); data != nil {
		if compression.Sniff(data) == compression.None {
			if m, err := ko.New(data); err == nil {
				m.Path = path
				return m, func() { moduleBufs.Put(bp) }, nil
			}
		}
		moduleBufs.Put(bp)
	}
	m, err = ko.Open(path, ch.opt)
	return m, release, err
}

// readPooled reads a regular file of at most maxPooledModule bytes into a
// pooled buffer; nil when it cannot (the caller then reads it otherwise).
func readPooled(path string) ([]byte, *[]byte) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() || st.Size() < 6 || st.Size() > maxPooledModule {
		return nil, nil
	}
	bp, _ := moduleBufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	n := int(st.Size())
	if cap(*bp) < n {
		*bp = make([]byte, n, n+n/4)
	}
	buf := (*bp)[:n]
	// One more byte than the size: a file that grew is read by ko.Open.
	if m, err := io.ReadFull(f, buf); err != nil || m != n {
		moduleBufs.Put(bp)
		return nil, nil
	}
	var one [1]byte
	if k, _ := f.Read(one[:]); k != 0 {
		moduleBufs.Put(bp)
		return nil, nil
	}
	return buf, bp
}

// resolve turns an argument into a file: a path, or a module name in the
// target tree.
func (ch *checker) resolve(arg string) (string, error) {
	if st, err := os.Stat(arg); err == nil && st.Mode().IsRegular() {
		return arg, nil
	}
	if p, ok := ch.t.Modules[strings.ReplaceAll(arg, "-", "_")]; ok {
		return p, nil
	}
	if ch.t.Builtin[strings.ReplaceAll(arg, "-", "_")] {
		return "", fmt.Errorf("%s is built into the %s kernel: there is nothing to load", arg, ch.t.Release)
	}
	return "", fmt.Errorf("%s: no such file, and no module of that name in %s", arg, ch.t.ModulesDir)
}

// depOrder returns the dependencies of m (modinfo depends=, recursively,
// resolved in the target tree), deepest first, as modprobe loads them.
func (ch *checker) depOrder(m *ko.Module, k *loadcheck.Kernel) ([]string, []string) {
	var order, missing []string
	seen := map[string]bool{}
	var visit func(m *ko.Module, e *depEntry, depth int)
	visit = func(m *ko.Module, e *depEntry, depth int) {
		if depth > 64 {
			return
		}
		var names []string
		if e != nil {
			// A tree module's dependencies, read once.
			e.depsOnce.Do(func() { e.deps, e.depsOK = modDepends(m) })
			if !e.depsOK {
				return
			}
			names = e.deps
		} else {
			var ok bool
			if names, ok = modDepends(m); !ok {
				return
			}
		}
		for _, d := range names {
			if d == "" || seen[d] {
				continue
			}
			seen[d] = true
			if k.Loaded(d) || ch.t.Builtin[d] {
				continue
			}
			p, ok := ch.t.Modules[d]
			if !ok {
				missing = append(missing, d)
				continue
			}
			de := ch.entry(p)
			dm, err := ch.module(p, true)
			if err != nil {
				missing = append(missing, d)
				continue
			}
			visit(dm, de, depth+1)
			order = append(order, p)
		}
	}
	visit(m, nil, 0)
	return order, missing
}

// modDepends returns the module names in m's .modinfo depends= (normalized,
// in order; empty entries kept); false when .modinfo cannot be read.
func modDepends(m *ko.Module) ([]string, bool) {
	kv, err := m.Modinfo()
	if err != nil {
		return nil, false
	}
	deps, _ := ko.Get(kv, "depends")
	var out []string
	for _, d := range strings.Split(deps, ",") {
		out = append(out, strings.ReplaceAll(strings.TrimSpace(d), "-", "_"))
	}
	return out, true
}

func (ch *checker) checkArg(arg string, withDeps bool) checkResult {
	fail := func(err error) checkResult {
		msg := err.Error()
		return checkResult{File: arg, Error: &msg, Messages: []string{}, Parameters: []checkParam{}}
	}
	path, err := ch.resolve(arg)
	if err != nil {
		return fail(err)
	}
	m, release, err := ch.moduleOnce(path)
	defer release()
	if err != nil {
		// The kernel judges the raw bytes, which kmodscope's reader
		// refused: give the kernel's verdict on them.
		data, rerr := readRawModule(path, ch.opt.MaxSize)
		if rerr != nil {
			return fail(rerr)
		}
		k, pre, _ := ch.fresh()
		r := k.CheckBytesArgs(path, data, ch.args)
		if r.Loads || r.Partial {
			r.Notes = append(r.Notes, "kmodscope's module reader refused the file ("+err.Error()+")")
		}
		res := ch.withArgs(toCheckResult(r, ch.errnoArch()), r)
		res.Dependencies = pre
		if withDeps {
			res.LoadOrder = []string{}
			res.Notes = append(res.Notes, "dependencies were not loaded first: the file's .modinfo could not be read")
		}
		return res
	}
	defer m.Close()
	k, deps, order := ch.fresh()
	if withDeps {
		paths, missing := ch.depOrder(m, k)
		// Start from the longest chain of these dependencies already
		// simulated (the same loads from the same fresh kernel).
		start := 0
		for i := len(paths); i > 0; i-- {
			if st := ch.chain(strings.Join(paths[:i], "\x00")); st != nil {
				// The chain's state starts with the --loaded files too.
				k = st.k.Clone()
				deps = append([]checkResult{}, st.deps...)
				order = append([]string{}, st.order...)
				start = i
				break
			}
		}
		for i := start; i < len(paths); i++ {
			p := paths[i]
			dm, err := ch.module(p, true)
			if err != nil {
				deps = append(deps, fail(err))
			} else {
				r := k.Check(p, dm)
				if r.Loads {
					k.MarkLoaded(r)
					order = append(order, r.Module)
				}
				deps = append(deps, toCheckResult(r, ch.errnoArch()))
			}
			ch.keepChain(strings.Join(paths[:i+1], "\x00"), k, deps, order)
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			deps = append(deps, checkResult{File: "", Module: strings.Join(missing, ","), Messages: []string{},
				Notes: []string{"dependencies not found in " + ch.t.ModulesDir + ": " + strings.Join(missing, ", ")}})
		}
	}
	r := k.CheckArgs(path, m, ch.args)
	res := ch.withArgs(toCheckResult(r, ch.errnoArch()), r)
	if withDeps || len(ch.preload) > 0 {
		if r.Loads {
			order = append(order, r.Module)
		}
		res.LoadOrder = append([]string{}, order...)
		res.Dependencies = deps
	}
	return res
}

// runningRelease is `uname -r`.
func runningRelease() (string, error) {
	b, err := os.ReadFile("/proc/sys/kernel/osrelease")
	if err != nil {
		return "", err
	}
	rel := strings.TrimSpace(string(b))
	if rel == "" {
		return "", fmt.Errorf("/proc/sys/kernel/osrelease is empty")
	}
	return rel, nil
}

// readRawModule reads a module file's bytes, decompressed (gzip, xz, zstd
// by magic) as kmod hands them to the kernel, without parsing them.
func readRawModule(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: %w", path, ko.ErrNotRegular)
	}
	if limit > 0 && st.Size() > limit {
		return nil, fmt.Errorf("%s: file size %d is beyond the %d-byte limit", path, st.Size(), limit)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if f := compression.Sniff(raw); f != compression.None {
		out, err := compression.Decompress(f, raw, limit)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return out, nil
	}
	return raw, nil
}

// withArgs adds what parse_args made of --param.
func (ch *checker) withArgs(res checkResult, r *loadcheck.Result) checkResult {
	if !ch.hasArgs {
		return res
	}
	res.Arguments = &checkArgs{Options: ch.args, Assignments: []kparam.Assignment{}}
	if r.ParamResult != nil {
		res.Arguments.Assignments = append(res.Arguments.Assignments, r.ParamResult.Assignments...)
	}
	return res
}

// toCheckResult converts a verdict; errnoArch numbers its errno (the
// target's architecture).
func toCheckResult(r *loadcheck.Result, errnoArch errno.Arch) checkResult {
	res := checkResult{File: r.File, Module: r.Module, Loads: r.Loads, Messages: r.Messages, Taints: r.Taints, Hint: r.Hint, Notes: r.Notes,
		Partial: r.Partial, Crash: r.Crash}
	if res.Messages == nil {
		res.Messages = []string{}
	}
	res.Parameters = []checkParam{}
	for _, p := range r.Params {
		res.Parameters = append(res.Parameters, checkParam{Name: p.Name, Type: p.Type(), Ops: p.Ops, Perm: fmt.Sprintf("%04o", p.Perm),
			Unsafe: p.Flags&ko.ParamFlagUnsafe != 0, HWParam: p.Flags&ko.ParamFlagHWParam != 0, MaxLen: p.MaxLen, Max: arrayMax(p)})
	}
	if r.FailedCheck == loadcheck.CheckKernelCrash {
		fc := r.FailedCheck
		res.FailedCheck = &fc
		return res
	}
	if !r.Loads {
		e, fc := r.Errno, r.FailedCheck
		res.Errno, res.FailedCheck = &e, &fc
		res.ErrnoValue = errnoArch.Value(e)
		res.InsmodMessage, res.ModprobeMessage = errno.Insmod(e), errno.Modprobe(e)
	}
	return res
}

func arrayMax(p ko.Param) uint32 {
	if p.Array != nil {
		return p.Array.Max
	}
	return 0
}

func writeCheckText(sb *strings.Builder, r checkResult) {
	name := r.File
	if name == "" {
		name = r.Module
	}
	switch {
	case r.Error != nil:
		fmt.Fprintf(sb, "%s: ERROR: %s\n", name, *r.Error)
		return
	case r.Loads:
		t := ""
		if r.Taints != "" {
			t = " (taints " + r.Taints + ")"
		}
		if r.Partial {
			t += " as far as kmodscope can tell (later checks not modelled)"
		}
		fmt.Fprintf(sb, "%s: loads%s\n", filepath.Clean(name), t)
	case r.Crash != "":
		fmt.Fprintf(sb, "%s: KERNEL CRASH, not a refusal: %s\n", filepath.Clean(name), r.Crash)
	default:
		fmt.Fprintf(sb, "%s: REFUSED by %s: -%s (errno %d)\n", filepath.Clean(name), *r.FailedCheck, *r.Errno, r.ErrnoValue)
		fmt.Fprintf(sb, "  insmod:   ERROR: could not insert module %s: %s\n", filepath.Base(name), r.InsmodMessage)
		fmt.Fprintf(sb, "  modprobe: ERROR: could not insert '%s': %s\n", r.Module, r.ModprobeMessage)
	}
	for _, m := range r.Messages {
		fmt.Fprintf(sb, "  kernel: %s\n", m)
	}
	if !r.Loads && r.Taints != "" {
		fmt.Fprintf(sb, "  taints: %s\n", r.Taints)
	}
	if r.Hint != "" {
		fmt.Fprintf(sb, "  hint: %s\n", r.Hint)
	}
	if r.Arguments != nil {
		for _, a := range r.Arguments.Assignments {
			typ := ""
			if a.Type != "" {
				typ = " (" + a.Type + ")"
			}
			out := a.Outcome
			if a.Errno != "" {
				out += " -" + a.Errno
			}
			if a.Note != "" {
				out += ": " + a.Note
			}
			fmt.Fprintf(sb, "  param %s%s: %s\n", a.Word, typ, out)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(sb, "  note: %s\n", n)
	}
	if len(r.Dependencies) > 0 {
		lo := strings.Join(r.LoadOrder, " ")
		if lo == "" {
			lo = "(nothing loads)"
		}
		fmt.Fprintf(sb, "  load order: %s\n", lo)
		for _, d := range r.Dependencies {
			var dsb strings.Builder
			writeCheckText(&dsb, d)
			for _, l := range strings.Split(strings.TrimRight(dsb.String(), "\n"), "\n") {
				fmt.Fprintf(sb, "    dep %s\n", l)
			}
		}
	}
}
