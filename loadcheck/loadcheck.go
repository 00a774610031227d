// Package loadcheck predicts what the kernel's load_module()
// (kernel/module/main.c) does with a module on a given target kernel: the
// same checks in the same order, with the kernel's messages, errno and taint
// letters. The order follows v6.1 (elf_validity_check, setup_load_info,
// check_modinfo before allocation) for 6.1–6.3 targets and v6.4+
// (elf_validity_cache_copy, early_mod_check, module_augment_kernel_taints)
// for later ones; see docs/kernel-loader.md in the project materials.
//
// What static data cannot decide is assumed to succeed: memory allocation,
// per-cpu space, BTF validation, COMING notifiers, the module's own
// parameter setters and its init function. Module options given to
// CheckArgs go through parse_args() (package kparam).
package loadcheck

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
	"sort"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck/elfcheck"
	"github.com/kmodscope/kmodscope/loadcheck/kparam"
	"github.com/kmodscope/kmodscope/sigverify"
	"github.com/kmodscope/kmodscope/target"
)

// Stable identifiers of the check that refused a module (Result.FailedCheck).
const (
	CheckSignature        = "signature"          // module_sig_check: bad/malformed signature, or enforcement/lockdown
	CheckELF              = "elf_validity"       // elf_validity_check / elf_validity_cache_copy
	CheckLoadInfo         = "load_info"          // no symbols, no .gnu.linkonce.this_module, duplicate .modinfo
	CheckModuleStructSize = "module_struct_size" // 6.4+: .gnu.linkonce.this_module size != sizeof(struct module)
	CheckBlacklist        = "blacklist"          // module_blacklist=
	CheckModuleLayout     = "module_layout"      // module_layout CRC (struct module layout)
	CheckVermagic         = "vermagic"           // version magic
	CheckLivepatch        = "livepatch"          // livepatch module on a kernel without CONFIG_LIVEPATCH
	CheckRWX              = "rwx_sections"       // a section with SHF_WRITE|SHF_EXECINSTR
	CheckAlreadyLoaded    = "already_loaded"     // a module of the same name is loaded
	CheckCtors            = "ctors"              // both .ctors and .init_array
	CheckExportsNoCRC     = "exports_without_crc"
	CheckCommonSymbol     = "common_symbol"
	CheckSymbolSection    = "symbol_section_index"
	CheckUnknownSymbol    = "symbol_unknown"    // not exported by the kernel or any loaded module
	CheckGPLOnlySymbol    = "symbol_gpl_only"   // exported GPL-only, module not GPL-compatible
	CheckSymbolCRC        = "symbol_crc"        // "disagrees about version of symbol"
	CheckSymbolNoVersion  = "symbol_no_version" // missing from __versions (Debian policy)
	CheckSymbolNamespace  = "symbol_namespace"  // namespace not imported
	CheckRelocation       = "relocation"        // relocation type or target the architecture refuses
	CheckDuplicateExport  = "duplicate_export"  // exports a symbol already exported
	CheckArchSections     = "arch_sections"     // arm64: PLT or ftrace trampoline sections missing
	// CheckKernelCrash: the kernel would read out of bounds (likely an
	// oops) rather than refuse; Result.Crash says where. No errno.
	CheckKernelCrash = "kernel_crash"
)

// Result is the prediction for one module.
type Result struct {
	File        string
	Module      string // struct module name
	Loads       bool
	Errno       string // "" when it loads
	FailedCheck string // "" when it loads
	// Messages are the kernel's printk lines in order, each once.
	Messages []string
	// Taints are the module's own taint letters as /proc/modules shows them.
	Taints string
	Hint   string
	// Notes are kmodscope's own remarks (assumptions, things it could not check).
	Notes []string
	// Crash is set (with FailedCheck CheckKernelCrash) when the target
	// kernel would read past the module image instead of refusing it.
	Crash string
	// Partial is set when the kernel's checks that kmodscope could model
	// all pass but later ones could not be modelled (Notes say which):
	// Loads is then "not refused as far as kmodscope can tell".
	Partial bool
	// Params is the module's parameter table (__param), nil when it has none.
	Params []ko.Param
	// ParamResult is parse_args()'s verdict on the options string (nil
	// when none was given).
	ParamResult *kparam.Result
	// Exports the module adds when it loads (for later modules of the same run).
	exports []*export
}

// export is a symbol available to modules being loaded.
type export struct {
	name      string
	crc       uint32
	hasCRC    bool
	gplOnly   bool
	namespace string
	owner     string // "" for vmlinux
	ownerP    bool   // owner module carries taint P
}

// Base is the state of a freshly booted target shared by every simulated
// load: the kernel's exports and those of the --loaded modules. It is
// read-only once built, so loads can be simulated in parallel.
type Base struct {
	T       *target.Kernel
	loaded  map[string]bool
	exports map[string]*export
	// MemoSignatures keeps each signature verdict, keyed by the file's
	// path, the image's length and its last 512 bytes (the signature), so
	// a dependency checked again for every module that needs it is
	// verified once. Set it only when a path's contents do not change
	// during the Base's life (a CLI run).
	MemoSignatures bool
	sigMu          sync.Mutex
	sigMemo        map[string]*sigverify.Result
}

// NewBase builds the boot state from the target model (exports from its
// Module.symvers: vmlinux's, and those of the modules listed as loaded).
func NewBase(t *target.Kernel) *Base {
	b := &Base{T: t, loaded: map[string]bool{}, exports: map[string]*export{}}
	for _, n := range t.Loaded {
		b.loaded[normalize(n)] = true
	}
	if t.Symvers != nil {
		for i := range t.Symvers.Symbols {
			s := &t.Symvers.Symbols[i]
			owner := ""
			if !s.InVmlinux() {
				owner = s.ModuleName()
				if !b.loaded[owner] {
					continue
				}
			}
			b.exports[s.Name] = &export{name: s.Name, crc: s.CRC, hasCRC: true, gplOnly: s.GPLOnly, namespace: s.Namespace, owner: owner}
		}
	}
	return b
}

// verify is sigverify.Verify against the target's certificates, memoized
// when MemoSignatures is set.
func (b *Base) verify(path string, data []byte) *sigverify.Result {
	if !b.MemoSignatures {
		return sigverify.Verify(data, b.T.Certs)
	}
	key := fmt.Sprintf("%s\x00%d\x00%s", path, len(data), data[max(0, len(data)-512):])
	b.sigMu.Lock()
	v, ok := b.sigMemo[key]
	b.sigMu.Unlock()
	if ok {
		return v
	}
	v = sigverify.Verify(data, b.T.Certs)
	keep := *v
	keep.SignedData = nil // it points into data
	v = &keep
	b.sigMu.Lock()
	if b.sigMemo == nil {
		b.sigMemo = map[string]*sigverify.Result{}
	}
	b.sigMemo[key] = v
	b.sigMu.Unlock()
	return v
}

// Kernel is a simulated running kernel: the boot state plus the modules
// loaded in this simulation and the global taint state (for once-only
// messages).
type Kernel struct {
	T    *target.Kernel
	base *Base
	// What this simulation loaded: loaded and exports are its own,
	// mutable entries, over the read-only layers that Clone left (shared
	// with the clones). A false in loaded or a nil in exports is a module
	// or symbol removed by Unload.
	layers  *layer
	loaded  map[string]bool
	exports map[string]*export
	// global taint letters set so far
	taints  map[byte]bool
	onceE   bool // the "module verification failed" notice was printed
	onceVer map[string]bool
	// lockdepOff: "Disabling lock debugging due to kernel taint" was printed
	lockdepOff bool
}

// layer is a read-only set of loads that several simulated kernels share.
type layer struct {
	parent  *layer
	depth   int
	loaded  map[string]bool
	exports map[string]*export
}

// maxLayers bounds the layers a lookup walks: deeper stacks are merged.
const maxLayers = 32

// Fresh returns a freshly booted kernel.
func (b *Base) Fresh() *Kernel {
	return &Kernel{T: b.T, base: b, loaded: map[string]bool{}, exports: map[string]*export{}, taints: map[byte]bool{}, onceVer: map[string]bool{}}
}

// Clone returns a copy of the simulated kernel that can go on
// independently (the state after a chain of loads, reused by several
// modules with the same dependencies). It takes time independent of the
// number of loads: k's own loads become a layer shared by both. Clone
// changes how k holds its state (not the state), so concurrent Clones of
// one Kernel are safe only when k has loaded nothing since it was itself
// made by Clone or Fresh (as a kept chain state).
func (k *Kernel) Clone() *Kernel {
	if len(k.loaded)+len(k.exports) > 0 {
		l := &layer{parent: k.layers, loaded: k.loaded, exports: k.exports}
		if k.layers != nil {
			l.depth = k.layers.depth + 1
		}
		if l.depth >= maxLayers {
			l = l.flatten()
		}
		k.layers = l
		k.loaded, k.exports = map[string]bool{}, map[string]*export{}
	}
	n := &Kernel{T: k.T, base: k.base, layers: k.layers, onceE: k.onceE, lockdepOff: k.lockdepOff,
		loaded: map[string]bool{}, exports: map[string]*export{},
		taints: make(map[byte]bool, len(k.taints)), onceVer: make(map[string]bool, len(k.onceVer))}
	for x, v := range k.taints {
		n.taints[x] = v
	}
	for x, v := range k.onceVer {
		n.onceVer[x] = v
	}
	return n
}

// flatten merges a stack of layers into one.
func (l *layer) flatten() *layer {
	var stack []*layer
	for ; l != nil; l = l.parent {
		stack = append(stack, l)
	}
	m := &layer{loaded: map[string]bool{}, exports: map[string]*export{}}
	for i := len(stack) - 1; i >= 0; i-- {
		for x, v := range stack[i].loaded {
			m.loaded[x] = v
		}
		for x, v := range stack[i].exports {
			m.exports[x] = v
		}
	}
	return m
}

// Size is the number of entries the simulation added since it was made by
// Fresh or Clone (what a Clone of it turns into a new shared layer).
func (k *Kernel) Size() int { return len(k.exports) + len(k.loaded) }

// NewKernel is NewBase(t).Fresh().
func NewKernel(t *target.Kernel) *Kernel { return NewBase(t).Fresh() }

// export finds a symbol in the simulation's loads, newest first, then in
// the boot state.
func (k *Kernel) export(name string) *export {
	e, ok := k.exports[name]
	for l := k.layers; !ok && l != nil; l = l.parent {
		e, ok = l.exports[name]
	}
	if ok && e != nil {
		return e
	}
	return k.base.exports[name]
}

// loadedHere reports whether the simulation itself loaded module n
// (normalized), not counting the boot state.
func (k *Kernel) loadedHere(n string) bool {
	v, ok := k.loaded[n]
	for l := k.layers; !ok && l != nil; l = l.parent {
		v, ok = l.loaded[n]
	}
	return v
}

func normalize(n string) string { return strings.ReplaceAll(n, "-", "_") }

// Loaded reports whether a module of that name is loaded.
func (k *Kernel) Loaded(name string) bool {
	n := normalize(name)
	return k.loadedHere(n) || k.base.loaded[n]
}

// MarkLoaded records a successful load: the module's exports become
// available and its taints become global.
func (k *Kernel) MarkLoaded(r *Result) {
	k.loaded[normalize(r.Module)] = true
	for _, e := range r.exports {
		k.exports[e.name] = e
	}
	for i := 0; i < len(r.Taints); i++ {
		k.taints[r.Taints[i]] = true
	}
}

// taint letters in /proc/modules order (kernel/panic.c taint_flags[], the
// ones with .module = true, by bit number).
const taintOrder = "PFCOEKXTN"

// run is the state of one load.
type run struct {
	k           *Kernel
	t           *target.Kernel
	m           *ko.Module
	r           *Result
	data        []byte // the image the loader sees (signature stripped when verified)
	name        string // info->name
	mod         string // mod->name
	kvs         []ko.KV
	taints      map[byte]bool
	sigOK       bool
	hasVersions bool
	versions    map[string]uint64
	verFail     string // why the last checkVersion failed
	is64        bool
	bo          binary.ByteOrder
	machine     elf.Machine
	raw         *elfcheck.Result // the kernel's view of the ELF (elfcheck)
	// partial says why the checks after the ELF stage that need
	// kmodscope's reader cannot be modelled ("" when they can).
	partial string
	// args is the module options string (parse_args).
	args string
}

func (c *run) msg(format string, a ...any) {
	c.r.Messages = append(c.r.Messages, fmt.Sprintf(format, a...))
}

func (c *run) note(format string, a ...any) {
	c.r.Notes = append(c.r.Notes, fmt.Sprintf(format, a...))
}

func (c *run) fail(check, errno, hint string) *Result {
	c.r.Loads = false
	c.r.FailedCheck = check
	c.r.Errno = errno
	c.r.Hint = hint
	c.r.Taints = c.taintString()
	// add_taint_module() set each of these on the kernel as well, where
	// they stay after the refusal: the next module's once-only "taints
	// kernel" messages depend on them.
	for l := range c.taints {
		c.k.taints[l] = true
	}
	return c.r
}

func (c *run) taintString() string {
	var b strings.Builder
	for i := 0; i < len(taintOrder); i++ {
		if c.taints[taintOrder[i]] {
			b.WriteByte(taintOrder[i])
		}
	}
	return b.String()
}

// addTaint sets a taint on the module (and globally once it loads).
func (c *run) addTaint(letter byte) { c.taints[letter] = true }

// addTaintUnreliable is add_taint_module(..., LOCKDEP_NOW_UNRELIABLE) (F and
// P): the first such taint turns lock debugging off, which add_taint()
// reports once per boot.
func (c *run) addTaintUnreliable(letter byte) {
	c.taints[letter] = true
	if !c.k.lockdepOff {
		c.k.lockdepOff = true
		c.msg("Disabling lock debugging due to kernel taint")
	}
}

// globalTaint reports whether letter is already set on the kernel (by an
// earlier module, or earlier in this load: add_taint_module sets both).
func (c *run) globalTaint(letter byte) bool { return c.k.taints[letter] || c.taints[letter] }

// tryForceLoad mirrors try_to_force_load(): with CONFIG_MODULE_FORCE_LOAD
// the module is tainted F (message once per kernel) and accepted.
func (c *run) tryForceLoad(reason string) bool {
	if !c.t.Has("MODULE_FORCE_LOAD") {
		return false
	}
	if !c.globalTaint('F') {
		c.msg("%s: %s: kernel tainted.", c.mod, reason)
	}
	c.addTaintUnreliable('F')
	return true
}

// Check predicts the load of one module (as read from file path).
func (k *Kernel) Check(path string, m *ko.Module) *Result {
	data, err := m.Bytes()
	if err != nil {
		r := &Result{File: path, Errno: "ENOEXEC", FailedCheck: CheckELF}
		r.Notes = append(r.Notes, "could not read the module: "+err.Error())
		return r
	}
	return k.CheckBytes(path, data)
}

// CheckBytes predicts the load of a decompressed module image, which need
// not be a valid ELF file: the kernel's own checks decide.
func (k *Kernel) CheckBytes(path string, data []byte) *Result {
	r := &Result{File: path}
	c := &run{k: k, t: k.T, r: r, data: data, taints: map[byte]bool{}}
	// Until loadInfo reads struct module's name (the kernel's mod->name),
	// messages use the file's module name.
	c.mod = ko.NameFromPath(path)
	r.Module = c.mod
	return c.check()
}

func (c *run) check() *Result {
	t := c.t
	// 1. Signature (module_sig_check), before anything else.
	if t.Has("MODULE_SIG") {
		if res := c.checkSignature(); res != nil {
			return res
		}
	}
	// 2. ELF validity, 3. load info.
	if res := c.checkELF(); res != nil {
		return res
	}
	modern := t.AtLeast(6, 4)
	// 4. Blacklist.
	for _, b := range t.Blacklist {
		if normalize(b) == normalize(c.name) {
			c.msg("Module %s is blacklisted", c.name)
			return c.fail(CheckBlacklist, "EPERM", "remove "+c.name+" from the module_blacklist= boot parameter")
		}
	}
	// 5. module_layout.
	if t.Has("MODVERSIONS") {
		if res := c.checkModuleLayout(); res != nil {
			return res
		}
	}
	// 6. vermagic (+ livepatch; in 6.1 also the O/C/K/P/N taints).
	if res := c.checkVermagic(); res != nil {
		return res
	}
	if !modern {
		if res := c.modinfoTaints(false); res != nil {
			return res
		}
	} else {
		if res := c.checkLivepatch(); res != nil {
			return res
		}
		if c.k.Loaded(c.mod) {
			return c.fail(CheckAlreadyLoaded, "EEXIST", "module "+c.mod+" is already loaded; rmmod it first")
		}
	}
	if c.m == nil {
		return c.partialResult(modern)
	}
	// 7. layout: module_frob_arch_sections (arm64 PLTs), then W+X sections.
	if c.m.ELF.Machine == elf.EM_AARCH64 && c.m.ELF.Section(".plt") == nil || c.m.ELF.Machine == elf.EM_AARCH64 && c.m.ELF.Section(".init.plt") == nil {
		c.msg("%s: module PLT section(s) missing", c.mod)
		return c.fail(CheckArchSections, "ENOEXEC", "the module was not linked with the kernel's module linker script (arch/arm64/include/asm/module.lds.h): rebuild it with Kbuild")
	}
	if t.Has("STRICT_MODULE_RWX") || c.m.ELF.Machine == elf.EM_X86_64 || c.m.ELF.Machine == elf.EM_AARCH64 {
		for i := range c.m.ELF.Sections {
			s := &c.m.ELF.Sections[i]
			if s.Flags&elf.SHF_WRITE != 0 && s.Flags&elf.SHF_EXECINSTR != 0 {
				c.msg("%s: section %s (index %d) has invalid WRITE|EXEC flags", c.mod, s.Name, i)
				return c.fail(CheckRWX, "ENOEXEC", "the module is corrupt or built wrongly: rebuild it")
			}
		}
	}
	// 8. add_unformed_module.
	if res := c.fortifyNameCrash(modern); res != nil {
		return res
	}
	if c.k.Loaded(c.mod) {
		return c.fail(CheckAlreadyLoaded, "EEXIST", "module "+c.mod+" is already loaded; rmmod it first")
	}
	if modern {
		if res := c.modinfoTaints(true); res != nil {
			return res
		}
	} else if t.Has("MODULE_SIG") && !c.sigOK {
		c.unsignedTaint()
	}
	// find_module_sections: .ctors with .init_array.
	if t.Has("CONSTRUCTORS") && c.allocSection(".ctors") != nil && c.allocSection(".init_array") != nil {
		c.msg("%s: has both .ctors and .init_array.", c.mod)
		return c.fail(CheckCtors, "EINVAL", "the module is built wrongly: rebuild it")
	}
	// Exports without CRCs.
	if t.Has("MODVERSIONS") {
		if res := c.checkExportCRCs(); res != nil {
			return res
		}
	}
	// simplify_symbols.
	if res := c.simplifySymbols(); res != nil {
		return res
	}
	// apply_relocations.
	if res := c.checkRelocations(); res != nil {
		return res
	}
	// post_relocation → arm64 module_finalize: ftrace trampolines (silent).
	if c.m.ELF.Machine == elf.EM_AARCH64 && c.t.Has("DYNAMIC_FTRACE") {
		missing := c.m.ELF.Section(".text.ftrace_trampoline") == nil
		if c.t.AtLeast(6, 4) && c.m.ELF.Section(".init.text.ftrace_trampoline") == nil {
			missing = true
		}
		if missing {
			return c.fail(CheckArchSections, "ENOEXEC", "the module lacks the ftrace trampoline section(s) the arm64 kernel needs: rebuild it with Kbuild for this kernel")
		}
	}
	// complete_formation: duplicate exports.
	if res := c.checkDuplicateExports(); res != nil {
		return res
	}
	// parse_args (after prepare_coming_module).
	if res := c.checkParams(); res != nil {
		return res
	}
	if c.t.Builtin[normalize(c.mod)] {
		c.note("%s is built into the target kernel: if the built-in one has a /sys/module entry, mod_sysfs_setup refuses the module (\"module is already loaded\"), which kmodscope does not model", c.mod)
	}
	c.r.Loads = true
	c.r.Taints = c.taintString()
	if c.t.Config == nil || len(c.t.Config) == 0 {
		c.r.Partial = true
		c.note("the target's kernel config was not found: the signature, modversions and other config-dependent checks were not modelled")
	}
	return c.r
}

// fortifyNameCrash: before 6.4, add_unformed_module() calls
// find_module_all(mod->name, strlen(mod->name), true) on the char[56]
// array itself; with CONFIG_FORTIFY_SOURCE a name without NUL in its 56
// bytes makes that strlen() panic ("detected buffer overflow in
// __fortify_strlen", kernel BUG in fortify_panic) with module_mutex held:
// insmod dies and every later module operation hangs. Booted on
// 6.1.0-57-amd64 (the crc7-elf-name-no-nul variant); 6.4+ passes the name
// as a pointer (module_patient_check_exists), and 6.12.117 loads it.
func (c *run) fortifyNameCrash(modern bool) *Result {
	if modern || c.raw == nil || len(c.raw.ModName) < 56 || !c.t.Has("FORTIFY_SOURCE") {
		return nil
	}
	c.msg("detected buffer overflow in __fortify_strlen")
	c.r.Crash = "struct module's name has no NUL in its 56 bytes: add_unformed_module's fortified strlen(mod->name) panics (\"detected buffer overflow in __fortify_strlen\", kernel BUG in fortify_panic) with module_mutex held; insmod is killed and later module loads and /proc/modules hang"
	return c.fail(CheckKernelCrash, "", "the module is corrupt (its name is not NUL-terminated): the target kernel would crash, not refuse it; do not load it")
}

// partialResult ends a load whose ELF the kernel accepts but kmodscope's
// reader cannot read: no refusal, and a note naming what was not modelled.
func (c *run) partialResult(modern bool) *Result {
	if res := c.fortifyNameCrash(modern); res != nil {
		return res
	}
	if modern {
		if res := c.modinfoTaints(true); res != nil {
			return res
		}
	} else if c.t.Has("MODULE_SIG") && !c.sigOK {
		c.unsignedTaint()
	}
	if c.args != "" {
		c.note("the module parameters were not checked: the module could not be read")
	}
	return c.stopPartial("W+X sections, exports without CRCs, symbol resolution, relocations, duplicate exports")
}

// stopPartial ends the simulation without a refusal: what follows could
// not be modelled.
func (c *run) stopPartial(rest string) *Result {
	c.r.Partial = true
	c.note("%s: the later checks (%s) were not modelled; the kernel may still refuse the module there, or misbehave on the damaged parts", c.partial, rest)
	c.r.Loads = true
	c.r.Taints = c.taintString()
	return c.r
}

// checkSignature mirrors module_sig_check(); it returns a Result when the
// load fails.
func (c *run) checkSignature() *Result {
	t := c.t
	v := c.k.base.verify(c.r.File, c.data)
	switch v.Status {
	case sigverify.Valid:
		c.sigOK = true
		c.data = c.data[:v.ContentLen]
		return nil
	case sigverify.Unsigned, sigverify.UnknownKey, sigverify.Unsupported:
		c.data = c.data[:v.ContentLen]
		if v.KernelMessage != "" {
			c.msg("%s", v.KernelMessage)
		}
		reason := map[sigverify.Status]string{
			sigverify.Unsigned: "unsigned module", sigverify.UnknownKey: "module with unavailable key", sigverify.Unsupported: "module with unsupported crypto",
		}[v.Status]
		if t.SigEnforce || t.Has("MODULE_SIG_FORCE") {
			c.msg("Loading of %s is rejected", reason)
			hint := "sign the module with a key the kernel trusts (kmodscope sign; enroll the certificate as a MOK)"
			if v.Status == sigverify.UnknownKey {
				hint = "the signing key is not trusted by this kernel: enroll its certificate (mokutil --import) or re-sign with a trusted key"
			}
			return c.fail(CheckSignature, "EKEYREJECTED", hint)
		}
		if t.Lockdown {
			c.msg("Lockdown: insmod: unsigned module loading is restricted; see man kernel_lockdown.7")
			return c.fail(CheckSignature, "EPERM", "lockdown forbids unsigned modules: sign the module with a trusted key")
		}
		if v.Status == sigverify.UnknownKey && len(t.Certs) == 0 {
			c.note("no trusted certificates known for the target (kernel image missing?): the signer could not be checked")
		}
		return nil
	default:
		if v.KernelMessage != "" {
			c.msg("%s", v.KernelMessage)
		}
		hint := "the module's bytes changed after signing, or the signature is corrupt: re-sign it (kmodscope sign) or strip it (kmodscope sig strip)"
		c.note("signature: %s", v.Detail)
		return c.fail(CheckSignature, v.Errno, hint)
	}
}

// unsignedTaint applies taint E with its once-only notice.
func (c *run) unsignedTaint() {
	if !c.k.onceE {
		c.msg("%s: module verification failed: signature and/or required key missing - tainting kernel", c.mod)
		c.k.onceE = true
	}
	c.addTaint('E')
}

// modinfoTaints applies the O, retpoline, C, K, P, N taints (6.1:
// check_modinfo; 6.4+: module_augment_kernel_taints, which also applies E).
func (c *run) modinfoTaints(modern bool) *Result {
	// 6.4+ module_augment_kernel_taints() remembers whether the kernel was
	// already tainted P and, at its end, reports a P it set itself (seen on
	// Debian 6.12.117; 6.1 has no such line).
	prevP := c.globalTaint('P')
	if _, ok := c.get("intree"); !ok {
		if !c.globalTaint('O') {
			c.msg("%s: loading out-of-tree module taints kernel.", c.mod)
		}
		c.addTaint('O')
	}
	if c.machine == elf.EM_X86_64 && (c.t.Has("RETPOLINE") || c.t.Has("MITIGATION_RETPOLINE")) {
		if _, ok := c.get("retpoline"); !ok {
			// retpoline_module_ok(): only when a spectre_v2 mitigation is
			// active at run time, which static data cannot tell.
			c.msg("Spectre V2 : System may be vulnerable to spectre v2")
			c.msg("%s: loading module not compiled with retpoline compiler.", c.mod)
			c.note("the retpoline messages assume the target runs with a spectre_v2 mitigation (the kernel prints none without one)")
		}
	}
	if _, ok := c.get("staging"); ok {
		c.addTaint('C')
		c.msg("%s: module is from the staging directory, the quality is unknown, you have been warned.", c.mod)
	}
	if !modern {
		if res := c.checkLivepatch(); res != nil {
			return res
		}
	}
	if _, ok := c.get("livepatch"); ok && c.t.Has("LIVEPATCH") {
		c.addTaint('K')
		c.msg("%s: tainting kernel with TAINT_LIVEPATCH", c.mod)
	}
	lic, ok := c.get("license")
	if !ok {
		lic = "unspecified"
	}
	if !gplCompatible(lic) {
		if !c.globalTaint('P') {
			c.msg("%s: module license '%s' taints kernel.", c.mod, lic)
		}
		c.addTaintUnreliable('P')
	}
	if _, ok := c.get("test"); ok {
		if !c.globalTaint('N') {
			c.msg("%s: loading test module taints kernel.", c.mod)
		}
		c.addTaint('N')
	}
	if modern && c.t.Has("MODULE_SIG") && !c.sigOK {
		c.unsignedTaint()
	}
	if modern && !prevP && c.globalTaint('P') {
		c.msg("%s: module license taints kernel.", c.mod)
	}
	return nil
}

func (c *run) checkLivepatch() *Result {
	if _, ok := c.get("livepatch"); ok && !c.t.Has("LIVEPATCH") {
		c.msg("%s: module is marked as livepatch module, but livepatch support is disabled", c.mod)
		return c.fail(CheckLivepatch, "ENOEXEC", "the target kernel has no CONFIG_LIVEPATCH")
	}
	return nil
}

// gplCompatible mirrors license_is_gpl_compatible() (include/linux/license.h).
func gplCompatible(l string) bool {
	switch l {
	case "GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL":
		return true
	}
	return false
}

// get returns the first .modinfo value of tag, as the kernel's get_modinfo.
func (c *run) get(tag string) (string, bool) { return ko.Get(c.kvs, tag) }

// allocSection is the kernel's find_sec: the first SHF_ALLOC section named name.
func (c *run) allocSection(name string) *elfSection {
	for i := 1; i < len(c.m.ELF.Sections); i++ {
		s := &c.m.ELF.Sections[i]
		if s.Name == name && s.Flags&elf.SHF_ALLOC != 0 {
			return &elfSection{s.Index, s.Name}
		}
	}
	return nil
}

type elfSection struct {
	index int
	name  string
}

// checkModuleLayout mirrors check_modstruct_version().
func (c *run) checkModuleLayout() *Result {
	if c.t.Symvers == nil {
		return nil // no Module.symvers: noted by simplifySymbols
	}
	s, ok := c.t.Symvers.Lookup("module_layout")
	if !ok {
		c.note("the target's Module.symvers has no module_layout: its CRC was not checked")
		return nil
	}
	if !c.checkVersion("module_layout", s.CRC, true) {
		return c.fail(CheckModuleLayout, "ENOEXEC", "the module was built for a different kernel (struct module layout differs): rebuild it against the target's headers")
	}
	return nil
}

// checkVersion mirrors check_version(); it returns false when the symbol
// is refused. It prints the kernel's messages.
func (c *run) checkVersion(sym string, crc uint32, hasCRC bool) bool {
	if !hasCRC {
		return true
	}
	if !c.hasVersions {
		c.verFail = CheckSymbolNoVersion
		return c.tryForceLoad(sym)
	}
	v, ok := c.versions[sym]
	if ok {
		if uint64(crc) == v {
			return true
		}
		c.msg("%s: disagrees about version of symbol %s", c.name, sym)
		c.verFail = CheckSymbolCRC
		return false
	}
	if c.t.Policy == target.PolicyDebian {
		c.msg("%s: no symbol version for %s", c.name, sym)
		c.verFail = CheckSymbolNoVersion
		return false
	}
	if !c.k.onceVer["no symbol version"] {
		c.k.onceVer["no symbol version"] = true
		c.msg("%s: no symbol version for %s", c.name, sym)
	}
	return true
}

// checkVermagic mirrors the vermagic part of check_modinfo().
func (c *run) checkVermagic() *Result {
	magic, ok := c.get("vermagic")
	if !ok {
		if c.tryForceLoad("bad vermagic") {
			return nil
		}
		return c.fail(CheckVermagic, "ENOEXEC", "the module has no vermagic: rebuild it against the target's headers")
	}
	want := c.t.Vermagic
	if want == "" {
		c.note("the target's vermagic is unknown: not checked")
		return nil
	}
	if !sameMagic(magic, want, c.hasVersions) {
		c.msg("%s: version magic '%s' should be '%s'", c.name, magic, want)
		return c.fail(CheckVermagic, "ENOEXEC", "the module was built for another kernel configuration: rebuild it against the target's headers ("+strings.TrimSpace(want)+")")
	}
	return nil
}

// sameMagic mirrors same_magic(): with __versions the kernel release (up to
// the first space) is ignored.
func sameMagic(a, b string, hasCRCs bool) bool {
	if hasCRCs {
		if i := strings.IndexByte(a, ' '); i >= 0 {
			a = a[i:]
		} else {
			a = ""
		}
		if i := strings.IndexByte(b, ' '); i >= 0 {
			b = b[i:]
		} else {
			b = ""
		}
	}
	return a == b
}

// checkExportCRCs mirrors the "no versions for exported symbols" check.
func (c *run) checkExportCRCs() *Result {
	for _, pair := range [][2]string{{"__ksymtab", "__kcrctab"}, {"__ksymtab_gpl", "__kcrctab_gpl"}} {
		syms := c.m.ELF.Section(pair[0])
		if syms == nil || syms.Flags&elf.SHF_ALLOC == 0 || syms.Size == 0 {
			continue
		}
		if crc := c.allocSection(pair[1]); crc == nil {
			if !c.tryForceLoad("no versions for exported symbols") {
				return c.fail(CheckExportsNoCRC, "ENOEXEC", "the module exports symbols without CRCs: rebuild it with CONFIG_MODVERSIONS")
			}
		}
	}
	return nil
}

// checkDuplicateExports mirrors verify_exported_symbols().
func (c *run) checkDuplicateExports() *Result {
	// Most modules export nothing: every export table section is named
	// __ksymtab*, and without one there is nothing to read.
	hasTable := false
	for i := range c.m.ELF.Sections {
		if strings.HasPrefix(c.m.ELF.Sections[i].Name, "__ksymtab") {
			hasTable = true
			break
		}
	}
	if !hasTable {
		return nil
	}
	exps, err := c.m.Exports()
	if err != nil {
		c.note("could not read the module's exports: %v", err)
		return nil
	}
	// verify_exported_symbols walks __ksymtab, then __ksymtab_gpl, each in
	// table order.
	kindRank := map[string]int{"__ksymtab": 0, "__ksymtab_gpl": 1}
	sort.SliceStable(exps, func(i, j int) bool {
		if kindRank[exps[i].Kind] != kindRank[exps[j].Kind] {
			return kindRank[exps[i].Kind] < kindRank[exps[j].Kind]
		}
		return exps[i].Offset < exps[j].Offset
	})
	for _, e := range exps {
		if old := c.k.export(e.Name); old != nil {
			owner := old.owner
			if owner == "" {
				owner = "kernel"
			}
			c.msg("%s: exports duplicate symbol %s (owned by %s)", c.mod, e.Name, owner)
			return c.fail(CheckDuplicateExport, "ENOEXEC", "another module (or the kernel) already exports "+e.Name+": unload "+owner+" or rename the symbol")
		}
	}
	for _, e := range exps {
		c.r.exports = append(c.r.exports, &export{name: e.Name, crc: uint32(e.CRC), hasCRC: e.HasCRC, gplOnly: e.GPLOnly, namespace: e.Namespace, owner: c.mod, ownerP: c.taints['P']})
	}
	return nil
}
