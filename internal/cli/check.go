package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck"
	"github.com/kmodscope/kmodscope/target"
)

func init() {
	register(command{name: "check", summary: "predict whether the kernel will load a module, and why not (offline insmod/modprobe)", run: runCheck, args: argModules})
}

const checkSynopsis = "kmodscope check -b BASEDIR -k RELEASE [--with-deps] [--policy upstream|debian] [--loaded NAME,...] [--sig-enforce] [--lockdown] [--cert FILE]... [--json] MODULE..."

const checkExamples = `  kmodscope check -b / -k $(uname -r) ./mydriver.ko          # will insmod accept it here?
  kmodscope check -b /srv/debian-root -k 6.1.0-56-amd64 --with-deps ext4   # like modprobe ext4
  kmodscope check -b ROOT -k 6.12.117+deb12-amd64 --sig-enforce --cert mok.der my.ko
  kmodscope check --json -b ROOT -k REL --loaded usbcore,usb_storage ums-realtek.ko
  kmodscope check -b / -k $(uname -r) --loaded ./core/mycore.ko ./mydrv.ko   # self-built dependency first

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
	Crash        string        `json:"crash,omitempty"`
	Error        *string       `json:"error,omitempty"`
	LoadOrder    []string      `json:"load_order,omitempty"`
	Dependencies []checkResult `json:"dependencies,omitempty"`
}

var strerror = map[string]string{
	"EPERM": "Operation not permitted", "ENOENT": "No such file or directory", "ENOEXEC": "Exec format error",
	"ENOMEM": "Cannot allocate memory", "EBUSY": "Device or resource busy", "EEXIST": "File exists",
	"EINVAL": "Invalid argument", "ENODATA": "No data available", "ENOPKG": "Package not installed",
	"EBADMSG": "Bad message", "ENOKEY": "Required key not available", "EKEYREJECTED": "Key was rejected by service",
}

// insmodMessage is kmod insmod's mod_strerror(); modprobeMessage modprobe's.
func insmodMessage(errno string) string {
	switch errno {
	case "ENOEXEC":
		return "Invalid module format"
	case "ENOENT":
		return "Unknown symbol in module"
	case "EINVAL":
		return "Invalid parameters"
	}
	return strerror[errno]
}

func modprobeMessage(errno string) string {
	switch errno {
	case "EEXIST":
		return "Module already in kernel"
	case "ENOENT":
		return "Unknown symbol in module, or unknown parameter (see dmesg)"
	}
	return strerror[errno]
}

func runCheck(s *IO, args []string) int {
	var o checkOptions
	fs := newFlags("check", checkSynopsis, checkExamples, s)
	fs.StringVarP(&o.basedir, "basedir", "b", "", "root of the target system (\"/\" for this machine)")
	fs.StringVarP(&o.release, "set-version", "k", "", "target kernel release")
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
	if done, code := parseFlags(fs, s, "check", args, ExitUsage); done {
		return code
	}
	if fs.NArg() == 0 || o.basedir == "" || o.release == "" {
		s.errorf("check", "need -b BASEDIR, -k RELEASE and at least one MODULE (see 'kmodscope check --help')")
		return ExitUsage
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
		Loaded: names, SigEnforce: o.sigEnforce, Lockdown: o.lockdown, Blacklist: o.blacklist}
	from := o.loadedFrom
	if from == "" && o.basedir == "/" && len(names) == 0 {
		from = "/proc/modules"
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
	base := loadcheck.NewBase(tk)
	doc := checkDoc{Schema: "kmodscope.check/v1", Results: []checkResult{}, Target: checkTarget{
		Release: tk.Release, Vermagic: tk.Vermagic, Policy: string(tk.Policy), PolicySource: tk.PolicySource,
		ModuleStructSize: tk.ModuleStructSize, Modversions: tk.Has("MODVERSIONS"), ModuleSig: tk.Has("MODULE_SIG"),
		SigEnforce: tk.SigEnforce || tk.Has("MODULE_SIG_FORCE"), Lockdown: tk.Lockdown, Found: tk.Found}}
	ch := &checker{base: base, t: tk, opt: &ko.Options{MaxSize: o.maxSize}, cache: map[string]*depEntry{}, preload: preload}
	code := ExitOK
	runOrdered(s, "check", fs.Args(), func(arg string, out *jobOut) {
		res := ch.checkArg(arg, o.withDeps)
		out.result = res
		if !o.json {
			writeCheckText(&out.sb, res)
		}
	}, func(out *jobOut) {
		res := out.result.(checkResult)
		doc.Results = append(doc.Results, res)
		switch {
		case res.Error != nil:
			code = ExitError
		case !res.Loads && code == ExitOK:
			code = ExitRefused
		}
	})
	if o.json {
		s.json(doc)
	}
	return code
}

type checker struct {
	base  *loadcheck.Base
	t     *target.Kernel
	opt   *ko.Options
	mu    sync.Mutex
	cache map[string]*depEntry
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
		res = append(res, toCheckResult(r))
	}
	return k, res, order
}

type depEntry struct {
	once sync.Once
	m    *ko.Module
	err  error
}

// module opens (and, for tree modules, keeps) a module file.
func (ch *checker) module(path string, keep bool) (*ko.Module, error) {
	if !keep {
		return ko.Open(path, ch.opt)
	}
	ch.mu.Lock()
	e := ch.cache[path]
	if e == nil {
		e = &depEntry{}
		ch.cache[path] = e
	}
	ch.mu.Unlock()
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
	var visit func(m *ko.Module, depth int)
	visit = func(m *ko.Module, depth int) {
		kv, err := m.Modinfo()
		if err != nil || depth > 64 {
			return
		}
		deps, _ := ko.Get(kv, "depends")
		for _, d := range strings.Split(deps, ",") {
			d = strings.ReplaceAll(strings.TrimSpace(d), "-", "_")
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
			dm, err := ch.module(p, true)
			if err != nil {
				missing = append(missing, d)
				continue
			}
			visit(dm, depth+1)
			order = append(order, p)
		}
	}
	visit(m, 0)
	return order, missing
}

func (ch *checker) checkArg(arg string, withDeps bool) checkResult {
	fail := func(err error) checkResult {
		msg := err.Error()
		return checkResult{File: arg, Error: &msg, Messages: []string{}}
	}
	path, err := ch.resolve(arg)
	if err != nil {
		return fail(err)
	}
	m, err := ch.module(path, false)
	if err != nil {
		// The kernel judges the raw bytes, which kmodscope's reader
		// refused: give the kernel's verdict on them.
		data, rerr := readRawModule(path, ch.opt.MaxSize)
		if rerr != nil {
			return fail(rerr)
		}
		k, pre, _ := ch.fresh()
		r := k.CheckBytes(path, data)
		if r.Loads || r.Partial {
			r.Notes = append(r.Notes, "kmodscope's module reader refused the file ("+err.Error()+")")
		}
		res := toCheckResult(r)
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
		for _, p := range paths {
			dm, err := ch.module(p, true)
			if err != nil {
				deps = append(deps, fail(err))
				continue
			}
			r := k.Check(p, dm)
			if r.Loads {
				k.MarkLoaded(r)
				order = append(order, r.Module)
			}
			deps = append(deps, toCheckResult(r))
		}
		if len(missing) > 0 {
			sort.Strings(missing)
			deps = append(deps, checkResult{File: "", Module: strings.Join(missing, ","), Messages: []string{},
				Notes: []string{"dependencies not found in " + ch.t.ModulesDir + ": " + strings.Join(missing, ", ")}})
		}
	}
	r := k.Check(path, m)
	res := toCheckResult(r)
	if withDeps || len(ch.preload) > 0 {
		if r.Loads {
			order = append(order, r.Module)
		}
		res.LoadOrder = append([]string{}, order...)
		res.Dependencies = deps
	}
	return res
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

func toCheckResult(r *loadcheck.Result) checkResult {
	res := checkResult{File: r.File, Module: r.Module, Loads: r.Loads, Messages: r.Messages, Taints: r.Taints, Hint: r.Hint, Notes: r.Notes,
		Partial: r.Partial, Crash: r.Crash}
	if res.Messages == nil {
		res.Messages = []string{}
	}
	if r.FailedCheck == loadcheck.CheckKernelCrash {
		fc := r.FailedCheck
		res.FailedCheck = &fc
		return res
	}
	if !r.Loads {
		e, fc := r.Errno, r.FailedCheck
		res.Errno, res.FailedCheck = &e, &fc
		res.ErrnoValue = loadcheck.ErrnoValue(e)
		res.InsmodMessage, res.ModprobeMessage = insmodMessage(e), modprobeMessage(e)
	}
	return res
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
