// Package target models the kernel a module is checked against. It is built
// from a root-like directory (an installed system, or unpacked Debian
// packages: BASEDIR/boot/{config,vmlinuz}-REL, BASEDIR/lib/modules/REL,
// BASEDIR/usr/src/linux-headers-REL/Module.symvers) plus facts only the user
// can give (loaded modules, signature enforcement, lockdown, extra keys).
//
// Nothing here reads the running kernel unless the caller asks for it
// (LoadedFromProc); the result is a value that package loadcheck consumes.
package target

import (
	"bufio"
	"compress/gzip"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/kmodscope/kmodscope/kconfig"
	"github.com/kmodscope/kmodscope/kimage"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/symvers"
)

// Policy selects distribution behaviour of the loader.
type Policy string

const (
	// PolicyUpstream: a symbol missing from __versions is accepted with a
	// one-time warning (kernel/module/version.c check_version).
	PolicyUpstream Policy = "upstream"
	// PolicyDebian: Debian's patch "module: Disable matching missing version
	// CRC" rejects it ("no symbol version for X", every time).
	PolicyDebian Policy = "debian"
)

// Options describe where the target is and what the directory cannot say.
type Options struct {
	BaseDir string // "/" for the running system
	Release string
	Policy  Policy // "" = detect from the kernel image's banner
	// Loaded lists modules already loaded (names), in load order.
	Loaded []string
	// SigEnforce is module.sig_enforce=1 (or CONFIG_MODULE_SIG_FORCE).
	SigEnforce bool
	// Lockdown is the lockdown LSM at "integrity" or higher.
	Lockdown bool
	// ExtraCerts are trusted in addition to the builtin keys (e.g. an enrolled MOK).
	ExtraCerts []*x509.Certificate
	// Blacklist is the module_blacklist= boot parameter.
	Blacklist []string
	// Incomplete accepts a target without its config or Module.symvers
	// (the running system, which modprobe checks against whatever is
	// there): the missing parts are reported in Found and Missing, and
	// the checks that need them are not modelled. For BaseDir "/" and the
	// running kernel's release, the config is also looked for in
	// /proc/config.gz.
	Incomplete bool
}

// Kernel is the target model.
type Kernel struct {
	Release  string
	Version  [3]int
	Machine  elf.Machine
	Vermagic string
	Config   kconfig.Config
	Symvers  *symvers.Table
	// ModuleStructSize is sizeof(struct module), from the in-tree modules'
	// .gnu.linkonce.this_module (0 if unknown).
	ModuleStructSize uint64
	Certs            []*x509.Certificate
	Banner           string
	Policy           Policy
	PolicySource     string
	ModulesDir       string
	// Modules maps module names to files in the tree.
	Modules map[string]string
	Builtin map[string]bool

	Loaded     []string
	SigEnforce bool
	Lockdown   bool
	Blacklist  []string

	// ImageCached: the image's certificates and banner came from the
	// cache (kimage.CacheDir), not from decompressing the image.
	ImageCached bool

	// Missing lists the parts of the model that were not found and whose
	// checks are therefore not modelled ("config", "symvers"), with
	// Options.Incomplete; Found says why.
	Missing []string

	// Found says, for each part of the model, where it came from, or why it
	// is missing ("" key order: see FoundOrder).
	Found map[string]string
}

// FoundOrder lists the parts of the model in the order they are reported.
var FoundOrder = []string{"config", "symvers", "vermagic", "module_struct_size", "certificates", "image", "modules", "builtin", "loaded"}

// Has reports whether CONFIG_name is y or m in the target's config.
func (k *Kernel) Has(name string) bool { return k.Config.Enabled("CONFIG_" + name) }

// ErrMissing is wrapped by Load's error when a required part is absent.
var ErrMissing = errors.New("target kernel incomplete")

// Load builds the model. The config and Module.symvers are required; the
// rest is reported in Found when missing.
func Load(o Options) (*Kernel, error) {
	if o.Release == "" {
		return nil, fmt.Errorf("%w: no kernel release given (-k RELEASE)", ErrMissing)
	}
	base := o.BaseDir
	if base == "" {
		base = "/"
	}
	k := &Kernel{Release: o.Release, Found: map[string]string{}, Modules: map[string]string{}, Builtin: map[string]bool{},
		Loaded: o.Loaded, SigEnforce: o.SigEnforce, Lockdown: o.Lockdown, Blacklist: o.Blacklist}
	k.Version = parseVersion(o.Release)
	k.ModulesDir = filepath.Join(base, "lib/modules", o.Release)

	cfgPath := filepath.Join(base, "boot", "config-"+o.Release)
	cfg, err := kconfig.Open(cfgPath)
	if err != nil && o.Incomplete && filepath.Clean(base) == "/" && runningRelease() == o.Release {
		if c, perr := readProcConfig(); perr == nil {
			cfg, cfgPath, err = c, "/proc/config.gz", nil
		}
	}
	switch {
	case err == nil:
		k.Config = cfg
		k.Found["config"] = cfgPath
	case o.Incomplete:
		k.Config = kconfig.Config{}
		k.Found["config"] = fmt.Sprintf("missing: %v: signature, modversions and other config-dependent checks are not modelled", err)
		k.Missing = append(k.Missing, "config")
	default:
		return nil, fmt.Errorf("%w: kernel config: %v (need BASEDIR/boot/config-%s)", ErrMissing, err, o.Release)
	}

	sv, svPath, err := findSymvers(base, k.ModulesDir, o.Release)
	switch {
	case err == nil:
		k.Symvers = sv
		k.Found["symvers"] = svPath
	case o.Incomplete:
		k.Found["symvers"] = fmt.Sprintf("missing: %v: symbol resolution is not modelled", err)
		k.Missing = append(k.Missing, "symvers")
	default:
		return nil, fmt.Errorf("%w: %v", ErrMissing, err)
	}

	k.scanModules()
	if k.Config.Enabled("CONFIG_SMP") && k.Vermagic == "" {
		k.Vermagic = k.vermagicFromConfig()
		k.Found["vermagic"] = "derived from the config (no in-tree module to read it from)"
	}

	if k.Machine == 0 {
		k.Machine = machineFromConfig(k.Config)
	}
	k.loadImage(base, o)
	k.Certs = append(k.Certs, o.ExtraCerts...)
	if len(o.ExtraCerts) > 0 {
		k.Found["certificates"] += fmt.Sprintf(" + %d from --cert", len(o.ExtraCerts))
	}
	if len(k.Loaded) > 0 {
		k.Found["loaded"] = strings.Join(k.Loaded, ",")
	} else {
		k.Found["loaded"] = "none"
	}
	return k, nil
}

// runningRelease is uname -r, or "".
func runningRelease() string {
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return strings.TrimSpace(string(b))
}

// readProcConfig reads the running kernel's config (CONFIG_IKCONFIG_PROC).
func readProcConfig() (kconfig.Config, error) {
	f, err := os.Open("/proc/config.gz")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	return kconfig.Parse(io.LimitReader(zr, 64<<20))
}

// findSymvers looks for Module.symvers through lib/modules/REL/build (an
// absolute link, resolved inside base), then usr/src/linux-headers-REL,
// then boot/symvers-REL.gz.
func findSymvers(base, modDir, rel string) (*symvers.Table, string, error) {
	var cands []string
	if l, err := os.Readlink(filepath.Join(modDir, "build")); err == nil {
		if filepath.IsAbs(l) {
			cands = append(cands, filepath.Join(base, l, "Module.symvers"))
		} else {
			cands = append(cands, filepath.Join(modDir, l, "Module.symvers"))
		}
	}
	cands = append(cands,
		filepath.Join(modDir, "build", "Module.symvers"),
		filepath.Join(base, "usr/src/linux-headers-"+rel, "Module.symvers"),
		filepath.Join(base, "boot", "symvers-"+rel+".gz"),
		filepath.Join(base, "boot", "symvers-"+rel))
	for _, c := range cands {
		if _, err := os.Stat(c); err != nil {
			continue
		}
		t, err := symvers.Open(c)
		if err != nil {
			return nil, c, err
		}
		return t, c, nil
	}
	return nil, "", fmt.Errorf("no Module.symvers (looked in %s)", strings.Join(cands, ", "))
}

// scanModules walks the modules tree: names to files, modules.builtin, and
// vermagic, machine and sizeof(struct module) from the first in-tree module.
func (k *Kernel) scanModules() {
	if _, err := os.Stat(k.ModulesDir); err != nil {
		k.Found["modules"] = "missing: " + err.Error()
		return
	}
	var sample string
	filepath.WalkDir(k.ModulesDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "build" || d.Name() == "source") && p != k.ModulesDir {
			return fs.SkipDir
		}
		n := d.Name()
		if !d.Type().IsRegular() || !(strings.HasSuffix(n, ".ko") || strings.HasSuffix(n, ".ko.xz") || strings.HasSuffix(n, ".ko.zst") || strings.HasSuffix(n, ".ko.gz")) {
			return nil
		}
		name := ko.NameFromPath(n)
		if _, dup := k.Modules[name]; !dup {
			k.Modules[name] = p
		}
		if sample == "" || (strings.HasSuffix(sample, ".xz") && strings.HasSuffix(p, ".ko")) {
			sample = p
		}
		return nil
	})
	k.Found["modules"] = fmt.Sprintf("%s (%d modules)", k.ModulesDir, len(k.Modules))
	if b, err := os.ReadFile(filepath.Join(k.ModulesDir, "modules.builtin")); err == nil {
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); l != "" {
				k.Builtin[ko.NameFromPath(l)] = true
			}
		}
		k.Found["builtin"] = fmt.Sprintf("%d builtin modules", len(k.Builtin))
	} else {
		k.Found["builtin"] = "missing: " + err.Error()
	}
	if sample == "" {
		k.Found["vermagic"] = "no module in the tree to read it from"
		k.Found["module_struct_size"] = "unknown: no module in the tree"
		return
	}
	m, err := ko.Open(sample, nil)
	if err != nil {
		k.Found["module_struct_size"] = "unknown: " + err.Error()
		return
	}
	defer m.Close()
	k.Machine = m.ELF.Machine
	if kv, err := m.Modinfo(); err == nil {
		if v, ok := ko.Get(kv, "vermagic"); ok {
			k.Vermagic = v
			k.Found["vermagic"] = "from " + sample
		}
	}
	if tm, err := m.ThisModule(); err == nil {
		k.ModuleStructSize = tm.Size
		k.Found["module_struct_size"] = fmt.Sprintf("%d bytes, from %s", tm.Size, sample)
	}
}

// machineFromConfig returns the ELF machine of the kernel's modules from its
// config, for a tree without modules to read it from (0 if unknown).
func machineFromConfig(c kconfig.Config) elf.Machine {
	for _, a := range []struct {
		opt string
		m   elf.Machine
	}{
		{"X86_64", elf.EM_X86_64}, {"X86_32", elf.EM_386}, {"ARM64", elf.EM_AARCH64}, {"ARM", elf.EM_ARM},
		{"MIPS", elf.EM_MIPS}, {"S390", elf.EM_S390}, {"PPC", elf.EM_PPC64}, {"RISCV", elf.EM_RISCV},
		{"LOONGARCH", elf.EM_LOONGARCH}, {"SPARC", elf.EM_SPARCV9}, {"PARISC", elf.EM_PARISC}, {"ALPHA", elf.EM_ALPHA},
	} {
		if c.Enabled("CONFIG_" + a.opt) {
			if a.opt == "PPC" && !c.Enabled("CONFIG_PPC64") {
				return elf.EM_PPC
			}
			if a.opt == "SPARC" && !c.Enabled("CONFIG_SPARC64") {
				return elf.EM_SPARC
			}
			return a.m
		}
	}
	return 0
}

// vermagicFromConfig rebuilds VERMAGIC_STRING (include/linux/vermagic.h).
func (k *Kernel) vermagicFromConfig() string {
	c := k.Config
	s := k.Release + " "
	if c.Enabled("CONFIG_SMP") {
		s += "SMP "
	}
	if c.Enabled("CONFIG_PREEMPT_RT") {
		s += "preempt_rt "
	} else if c.Enabled("CONFIG_PREEMPT_BUILD") || c.Enabled("CONFIG_PREEMPT") {
		s += "preempt "
	}
	if c.Enabled("CONFIG_MODULE_UNLOAD") {
		s += "mod_unload "
	}
	if c.Enabled("CONFIG_MODVERSIONS") {
		s += "modversions "
	}
	if c.Enabled("CONFIG_ARM64") {
		s += "aarch64"
	}
	return s
}

// loadImage reads the certificates and version banner from the kernel image
// and decides the distribution policy.
func (k *Kernel) loadImage(base string, o Options) {
	var img *kimage.Image
	var imgPath string
	for _, n := range []string{"vmlinuz-" + o.Release, "vmlinux-" + o.Release, "Image-" + o.Release} {
		p := filepath.Join(base, "boot", n)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		var err error
		// Only the certificates and the banner are needed: without a
		// cache entry, decompression stops once they have been read.
		img, k.ImageCached, err = kimage.OpenCached(p, &kimage.Options{StopAfterCerts: true}, kimage.CacheDir())
		imgPath = p
		if err != nil && img == nil {
			k.Found["image"] = fmt.Sprintf("%s: %v", p, err)
		}
		break
	}
	if img == nil {
		if k.Found["image"] == "" {
			k.Found["image"] = "missing: no boot/vmlinuz-" + o.Release
		}
		k.Found["certificates"] = "none: no kernel image"
	} else {
		k.Found["image"] = imgPath
		k.Banner = img.Version
		for _, c := range img.Certs {
			k.Certs = append(k.Certs, c.Cert)
		}
		k.Found["certificates"] = fmt.Sprintf("%d builtin, from %s", len(img.Certs), imgPath)
	}
	switch {
	case o.Policy != "":
		k.Policy, k.PolicySource = o.Policy, "--policy"
	case strings.Contains(k.Banner, "debian-kernel@lists.debian.org") || strings.Contains(k.Banner, "Debian"):
		k.Policy, k.PolicySource = PolicyDebian, "the image's version banner names Debian"
	case k.Banner == "":
		k.Policy, k.PolicySource = PolicyUpstream, "no version banner found; assuming upstream"
	default:
		k.Policy, k.PolicySource = PolicyUpstream, "the image's version banner is not Debian's"
	}
}

var versionRe = regexp.MustCompile(`^(\d+)\.(\d+)(?:\.(\d+))?`)

func parseVersion(rel string) [3]int {
	var v [3]int
	m := versionRe.FindStringSubmatch(rel)
	if m == nil {
		return v
	}
	for i := 0; i < 3; i++ {
		v[i], _ = strconv.Atoi(m[i+1])
	}
	return v
}

// AtLeast reports whether the target is version maj.min or later.
func (k *Kernel) AtLeast(maj, min int) bool {
	return k.Version[0] > maj || (k.Version[0] == maj && k.Version[1] >= min)
}

// ReadCerts reads DER or PEM certificates from a file or every file of a
// directory.
func ReadCerts(path string) ([]*x509.Certificate, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		ents, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		files = nil
		for _, e := range ents {
			if e.Type().IsRegular() {
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
	}
	var out []*x509.Certificate
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		found := false
		for rest := data; ; {
			var b *pem.Block
			b, rest = pem.Decode(rest)
			if b == nil {
				break
			}
			if b.Type == "CERTIFICATE" {
				c, err := x509.ParseCertificate(b.Bytes)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", f, err)
				}
				out = append(out, c)
				found = true
			}
		}
		if !found {
			c, err := x509.ParseCertificate(data)
			if err != nil {
				if st.IsDir() {
					continue
				}
				return nil, fmt.Errorf("%s: neither PEM nor DER X.509: %w", f, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

// ParseProcModules returns the module names of a /proc/modules file, in
// file order (newest first, as the kernel lists them).
func ParseProcModules(data []byte) []string {
	var out []string
	for _, l := range strings.Split(string(data), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			out = append(out, f[0])
		}
	}
	return out
}
