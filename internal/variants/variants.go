// Package variants makes module variants for the real-kernel ground truth:
// byte-level edits of Debian amd64 modules (no compiling; the 6.1 corpus
// tree by default, or another release's tree such as 6.12 with .ko.xz
// files, which are decompressed), each named by what it tests, returned as
// realkernel.Cases.
package variants

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/internal/realkernel"
	"github.com/kmodscope/kmodscope/ko"
)

// DefaultSource is the corpus module tree the variants are made from.
const DefaultSource = "/work/shared/corpus/debian/amd64/lib/modules/6.1.0-56-amd64"

// Variant describes one case Build makes.
type Variant struct {
	Name string
	// What is tested and what 6.1 is expected to do (from kernel-loader.md;
	// the observed outcome is what counts).
	What string
	// Base is the corpus module the variant is made from.
	Base string
	// Deps overrides the dependencies (module names); nil means the
	// base's modinfo depends, recursively.
	Deps     []string
	BootArgs []string
	Preload  bool
	// Strip removes the signature before Edit.
	Strip bool
	// Edit changes the bytes (after Strip); nil keeps them.
	Edit func([]byte) ([]byte, error)
	// NoBoot is a release prefix ("6.1.") whose kernel the variant leaves
	// hung (a BUG with module_mutex held): Build leaves it out for such a
	// tree unless KMODSCOPE_REALKERNEL_ONLY names it; its outcome there is
	// recorded in testdata/observed-*.json.
	NoBoot string
	// Machines, when not nil, are the only architectures (e_machine of
	// the source tree's modules) the variant applies to; Skip says why
	// the others are left out.
	Machines []elf.Machine
	Skip     string
}

var (
	x86Only    = []elf.Machine{elf.EM_X86_64}
	notX86     = []elf.Machine{elf.EM_AARCH64, elf.EM_S390, elf.EM_PPC64}
	notAArch64 = []elf.Machine{elf.EM_X86_64, elf.EM_S390, elf.EM_PPC64}
	arm64Only  = []elf.Machine{elf.EM_AARCH64}
)

// applies reports whether v is made for modules of machine m.
func (v *Variant) applies(m elf.Machine) bool {
	return v.Machines == nil || slices.Contains(v.Machines, m)
}

func entry(old, repl string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) { return replaceEntry(b, old, repl) }
}

func chain(fs ...func([]byte) ([]byte, error)) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		var err error
		for _, f := range fs {
			if b, err = f(b); err != nil {
				return nil, err
			}
		}
		return b, nil
	}
}

// List returns the variants Build makes, in order.
func List() []Variant { return list() }

func list() []Variant {
	return []Variant{
		{Name: "crc7-signed-unmodified", Base: "crc7",
			What: "(a) unmodified Debian-signed module: loads, no taint"},
		{Name: "crc7-signed-sig-enforce", Base: "crc7", BootArgs: []string{"module.sig_enforce=1"},
			What: "signed module with module.sig_enforce=1: loads (key in the builtin keyring)"},
		{Name: "crc7-sig-stripped", Base: "crc7", Strip: true,
			What: "(b) signature stripped at ContentLen: loads with taint E"},
		{Name: "crc7-sig-value-corrupted", Base: "crc7", Edit: corruptSigValue,
			What: "(c) a byte of the PKCS#7 signature value flipped: EKEYREJECTED"},
		{Name: "crc7-signed-modinfo-changed", Base: "crc7", Edit: entry("description=CRC7 calculations", "description=CRC7 calculationX"),
			What: "(d) .modinfo description byte changed under the signature: EKEYREJECTED"},
		{Name: "crc7-siglen-plus-one", Base: "crc7", Edit: sigLen(func(n, _ uint32) uint32 { return n + 1 }),
			What: "(e) trailer sig_len one too big (PKCS#7 parse starts a byte early): EBADMSG?"},
		{Name: "crc7-siglen-too-big", Base: "crc7", Edit: sigLen(func(_, before uint32) uint32 { return before }),
			What: "(e) trailer sig_len >= len-12: EBADMSG, no message"},
		{Name: "crc7-sig-idtype-pgp", Base: "crc7", Edit: sigIDType(0),
			What: "trailer id_type 0 (PGP): ENOPKG 'not signed with expected PKCS#7 message' is a soft failure: loads with E"},
		{Name: "crc7-stripped-sig-enforce", Base: "crc7", Strip: true, BootArgs: []string{"module.sig_enforce=1"},
			What: "(f) unsigned + module.sig_enforce=1: EKEYREJECTED 'Loading of unsigned module is rejected'"},
		{Name: "crc7-stripped-lockdown-integrity", Base: "crc7", Strip: true, BootArgs: []string{"lockdown=integrity"},
			What: "unsigned + lockdown=integrity: EPERM 'Lockdown: insmod: unsigned module loading is restricted'"},
		{Name: "crc7-stripped-blacklisted", Base: "crc7", Strip: true, BootArgs: []string{"module_blacklist=crc7"},
			What: "module_blacklist=crc7 boot arg: EPERM 'Module crc7 is blacklisted'"},
		{Name: "crc7-stripped-vermagic-release", Base: "crc7", Strip: true, Edit: vermagic(bumpRelease),
			What: "(g) vermagic release changed, same length (6.1.0-56-amd64 -> 6.1.0-99-amd64, 6.12.117+deb12-amd64 -> 6.12.117+deb99-amd64), __versions present: release ignored, loads with E"},
		{Name: "crc7-stripped-vermagic-preemX", Base: "crc7", Strip: true, Edit: vermagic(func(v string) string { return strings.Replace(v, " preempt ", " preemX ", 1) }),
			Machines: x86Only, Skip: "Debian builds its arm64, s390x and ppc64el kernels without PREEMPT: crc7-stripped-vermagic-mod_unloaX instead",
			What: "(h) vermagic flag preempt -> preemX: ENOEXEC \"version magic '...' should be '...'\""},
		{Name: "crc7-stripped-vermagic-mod_unloaX", Base: "crc7", Strip: true, Edit: vermagic(func(v string) string { return strings.Replace(v, " mod_unload ", " mod_unloaX ", 1) }),
			Machines: notX86, Skip: "crc7-stripped-vermagic-preemX covers x86",
			What: "(h) vermagic flag mod_unload -> mod_unloaX: ENOEXEC \"version magic '...' should be '...'\""},
		{Name: "crc7-stripped-vermagic-missing", Base: "crc7", Strip: true, Edit: renameKey("vermagic="),
			What: "vermagic key renamed: try_to_force_load('bad vermagic') with CONFIG_MODULE_FORCE_LOAD=y: taint F, loads"},
		{Name: "nvram-stripped", Base: "nvram", Strip: true,
			What: "control for the nvram variants: loads with E"},
		{Name: "nvram-stripped-crc-misc_register", Base: "nvram", Strip: true, Edit: func(b []byte) ([]byte, error) { return flipCRC(b, "misc_register") },
			What: "(i) __versions CRC of misc_register changed: EINVAL 'disagrees about version of symbol misc_register' + 'Unknown symbol misc_register (err -22)'"},
		{Name: "nvram-stripped-crc-module_layout", Base: "nvram", Strip: true, Edit: func(b []byte) ([]byte, error) { return flipCRC(b, "module_layout") },
			What: "(j) module_layout CRC changed: ENOEXEC 'disagrees about version of symbol module_layout'"},
		{Name: "nvram-stripped-version-name-misc_register", Base: "nvram", Strip: true, Edit: func(b []byte) ([]byte, error) { return renameVersion(b, "misc_register") },
			What: "(k) __versions entry misc_register renamed misc_registeX: Debian 'no symbol version for misc_register' + 'Unknown symbol misc_register (err -22)', EINVAL"},
		{Name: "nvram-stripped-no-versions-section", Base: "nvram", Strip: true, Edit: func(b []byte) ([]byte, error) { return renameSection(b, "__versions", "__versionX") },
			What: "__versions section renamed: no modversions -> try_to_force_load for module_layout and every symbol: taint F, loads"},
		{Name: "nvram-stripped-rela-type-unknown", Base: "nvram", Strip: true, Edit: func(b []byte) ([]byte, error) {
			out, _, err := setRelaType(b, ".rela.text", 0, 42)
			return out, err
		},
			What: "(s) first .rela.text relocation type -> 42 (R_X86_64_REX_GOTPCRELX): ENOEXEC 'module: nvram: Unknown rela relocation: 42'"},
		// The nvram variants on the other architectures (Debian builds
		// nvram for x86 only): tun, which imports misc_register and has no
		// dependencies on arm64, s390x and ppc64el.
		{Name: "tun-stripped", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			What: "control for the tun variants: loads with E"},
		{Name: "tun-stripped-crc-misc_register", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			Edit: func(b []byte) ([]byte, error) { return flipCRC(b, "misc_register") },
			What: "(i) __versions CRC of misc_register changed: EINVAL 'disagrees about version of symbol misc_register' + 'Unknown symbol misc_register (err -22)'"},
		{Name: "tun-stripped-crc-module_layout", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			Edit: func(b []byte) ([]byte, error) { return flipCRC(b, "module_layout") },
			What: "(j) module_layout CRC changed: ENOEXEC 'disagrees about version of symbol module_layout'"},
		{Name: "tun-stripped-version-name-misc_register", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			Edit: func(b []byte) ([]byte, error) { return renameVersion(b, "misc_register") },
			What: "(k) __versions entry misc_register renamed: Debian 'no symbol version for misc_register' + 'Unknown symbol misc_register (err -22)', EINVAL"},
		{Name: "tun-stripped-no-versions-section", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			Edit: func(b []byte) ([]byte, error) { return renameSection(b, "__versions", "__versionX") },
			What: "__versions section renamed: try_to_force_load: taint F, loads"},
		{Name: "tun-stripped-rela-type-unknown", Base: "tun", Strip: true, Machines: notX86, Skip: "x86 uses nvram",
			Edit: func(b []byte) ([]byte, error) {
				out, _, err := setRelaType(b, ".rela.text", 0, 42)
				return out, err
			},
			What: "(s) first .rela.text relocation type -> 42 (no such type on arm64, s390x or ppc64): ENOEXEC with the architecture's 'unsupported/unknown relocation' message"},
		// arm64's module_frob_arch_sections() and module_finalize().
		{Name: "crc7-stripped-arm64-no-plt", Base: "crc7", Strip: true, Machines: arm64Only, Skip: "arm64 only",
			Edit: func(b []byte) ([]byte, error) { return renameSection(b, ".plt", ".plX") },
			What: ".plt renamed: ENOEXEC 'crc7: module PLT section(s) missing'"},
		{Name: "crc7-stripped-arm64-no-init-plt", Base: "crc7", Strip: true, Machines: arm64Only, Skip: "arm64 only",
			Edit: func(b []byte) ([]byte, error) { return renameSection(b, ".init.plt", ".init.plX") },
			What: ".init.plt renamed: ENOEXEC 'crc7: module PLT section(s) missing'"},
		{Name: "crc7-stripped-arm64-no-ftrace-trampoline", Base: "crc7", Strip: true, Machines: arm64Only, Skip: "arm64 only",
			Edit: func(b []byte) ([]byte, error) {
				return renameSection(b, ".text.ftrace_trampoline", ".text.ftrace_trampolinX")
			},
			What: ".text.ftrace_trampoline renamed: module_init_ftrace_plt() ENOEXEC without a message (after the E taint)"},
		{Name: "libcrc32c-stripped-license-foo", Base: "libcrc32c", Strip: true, Edit: entry("license=GPL", "license=Foo"),
			What: "(l) license=Foo with GPL-only imports (crypto_alloc_shash, crypto_destroy_tfm, crypto_shash_update): taint P, 'Unknown symbol X (err -2)', ENOENT"},
		{Name: "crc7-stripped-license-foo", Base: "crc7", Strip: true, Edit: entry("license=GPL", "license=Foo"),
			What: "(m) license=Foo, no GPL-only imports: loads with P and E"},
		{Name: "crc7-stripped-license-missing", Base: "crc7", Strip: true, Edit: renameKey("license="),
			What: "license key renamed: 'module license 'unspecified' taints kernel.', loads with P and E"},
		{Name: "ums-realtek-stripped", Base: "ums-realtek", Strip: true,
			What: "control for the namespace variant: loads with E after its deps"},
		{Name: "ums-realtek-stripped-import-ns-removed", Base: "ums-realtek", Strip: true, Edit: renameKey("import_ns="),
			What: "(n) import_ns key renamed import_nX: 'module uses symbol (X) from namespace USB_STORAGE, but does not import it.' + Unknown symbol (err -22), EINVAL"},
		{Name: "ums-realtek-missing-dep-usb-storage", Base: "ums-realtek", Deps: []string{"usb-common", "usbcore"},
			What: "(t) usb-storage not loaded: 'Unknown symbol usb_stor_* (err -2)', ENOENT"},
		{Name: "crc7-stripped-intree-removed", Base: "crc7", Strip: true, Edit: renameKey("intree="),
			What: "(o) intree key renamed: taint O (+E), loads"},
		{Name: "crc7-stripped-retpoline-removed", Base: "crc7", Strip: true, Edit: renameKey("retpoline="),
			Machines: x86Only, Skip: "retpoline= is x86's (only x86 modules carry it)",
			What: "retpoline key renamed: warning only if the spectre_v2 retpoline mitigation is active, loads with E"},
		{Name: "qlge-staging-signed", Base: "qlge",
			What: "(p) staging module, unmodified: taint C"},
		{Name: "rts5208-staging-signed", Base: "rts5208",
			What: "(p) staging module, unmodified (qlge left staging in 6.8): taint C"},
		{Name: "crc7-stripped-staging-tag", Base: "crc7", Strip: true, Edit: entry("description=CRC7 calculations", "staging=Y"),
			What: "staging=Y added (replacing description): taint C (+E)"},
		{Name: "crc7-stripped-test-tag", Base: "crc7", Strip: true, Edit: entry("description=CRC7 calculations", "test=Y"),
			What: "test=Y added: taint N (+E)"},
		{Name: "crc7-stripped-livepatch-tag", Base: "crc7", Strip: true, Edit: entry("description=CRC7 calculations", "livepatch=Y"),
			What: "livepatch=Y added (CONFIG_LIVEPATCH=y): taint K (+E)"},
		{Name: "crc7-stripped-e_machine-aarch64", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setEhdr16(b, 0x12, 183), nil },
			Machines: notAArch64, Skip: "183 is arm64's own machine: crc7-stripped-e_machine-x86_64 instead",
			What: "(q) e_machine 183: ENOEXEC 'Invalid architecture in ELF header: 183'"},
		{Name: "crc7-stripped-e_machine-x86_64", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setEhdr16(b, 0x12, 62), nil },
			Machines: arm64Only, Skip: "crc7-stripped-e_machine-aarch64 covers the others",
			What: "(q) e_machine 62 on arm64: ENOEXEC 'Invalid architecture in ELF header: 62'"},
		{Name: "crc7-stripped-e_type-dyn", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setEhdr16(b, 0x10, 3), nil },
			What: "(w) e_type ET_DYN: ENOEXEC 'Invalid ELF header type: 3 != 1'"},
		{Name: "crc7-stripped-truncated-shdrs", Base: "crc7", Strip: true, Edit: truncateInShdrs,
			What: "(r) cut in the middle of the section headers: ENOEXEC 'Invalid ELF section header overflow'"},
		{Name: "crc7-signed-truncated-shdrs", Base: "crc7", Edit: truncateInShdrs,
			What: "(r) signed file cut in the section headers (signature gone with the cut): ENOEXEC"},
		{Name: "crc7-stripped-text-wx", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setFlags(b, ".text", 0x1|0x4) },
			What: "(v) .text gets SHF_WRITE|SHF_EXECINSTR: module_enforce_rwx_sections ENOEXEC"},
		{Name: "crc7-stripped-this-module-size-plus-64", Base: "crc7", Strip: true,
			Edit: func(b []byte) ([]byte, error) { return growSection(b, ".gnu.linkonce.this_module", 64) },
			What: "struct module 64 bytes larger than the kernel's: 6.1 does not check (loads, E); 6.4+ ENOEXEC 'section size must match the kernel's built struct module size'"},
		// Damaged ELF: the kernel's own raw-byte validation (6.1
		// elf_validity_check + setup_load_info; Debian 6.12.117 the split
		// elf_validity_cache_* of 6.13) and what it does not check.
		{Name: "crc7-elf-trunc-ehdr", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return clone(b[:40]), nil },
			What: "cut to 40 bytes: 'Invalid ELF header len 40' (finit_module; init_module refuses silently), ENOEXEC"},
		{Name: "crc7-elf-trunc-half", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return clone(b[:len(b)/2]), nil },
			What: "cut in half, before the section headers: 'Invalid ELF section header overflow', ENOEXEC"},
		{Name: "crc7-elf-shentsize-40", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setEhdr16(b, 0x3a, 40), nil },
			What: "e_shentsize 40: 'Invalid ELF section header size', ENOEXEC"},
		{Name: "crc7-elf-shoff-past-end", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return putAt(b, 0x28, 8, uint64(len(b))+64), nil },
			What: "e_shoff past the end: 'Invalid ELF section header overflow', ENOEXEC"},
		{Name: "crc7-elf-shstrndx-shnum", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setEhdr16(b, 0x3e, order(b).Uint16(b[0x3c:])), nil },
			What: "e_shstrndx = e_shnum: 'Invalid ELF section name index: N || e_shstrndx (N) >= e_shnum (N)', ENOEXEC"},
		{Name: "crc7-elf-text-past-end", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setShdrField(b, ".text", 24, 8, uint64(len(b))) },
			What: ".text sh_offset = file size: 'Invalid ELF section in module (section N type 1)', ENOEXEC"},
		{Name: "crc7-elf-modinfo-size-absurd", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setShdrField(b, ".modinfo", 32, 8, 0xffffffffffff0000) },
			What: ".modinfo sh_size 0xffffffffffff0000 (offset+size wraps): 'Invalid ELF section in module', ENOEXEC"},
		{Name: "crc7-elf-shstrtab-no-nul", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return lastByteOf(b, shstrtabName(b), 'X') },
			What: "last byte of the section name table 'X': 'ELF Spec violation: section name table isn't null terminated', ENOEXEC"},
		{Name: "crc7-elf-shstrtab-progbits", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setShdrField(b, shstrtabName(b), 4, 4, 1) },
			What: "section name table SHT_PROGBITS: 6.1 does not check (loads, E); 6.12.117 'Invalid ELF section name table type: 1'"},
		{Name: "crc7-elf-comment-name-oob", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) {
			ss, err := sections(b)
			if err != nil {
				return nil, err
			}
			str := ss[order(b).Uint16(b[0x3e:])]
			return setShdrField(b, ".comment", 0, 4, uint64(str.size+1))
		},
			What: "non-ALLOC .comment's sh_name just past the name table: 6.1 checks only ALLOC sections (loads); 6.12.117 'Invalid ELF section name in module'"},
		{Name: "crc7-elf-no-this-module", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) {
			return renameSection(b, ".gnu.linkonce.this_module", ".gnu.linkonce.this_modulX")
		},
			What: "no .gnu.linkonce.this_module: 6.1 'crc7: No module found in object'; 6.12.117 'module crc7: Exactly one .gnu.linkonce.this_module section must exist.'"},
		{Name: "crc7-elf-no-modinfo", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return renameSection(b, ".modinfo", ".modinfX") },
			What: "no .modinfo: name from struct module, no vermagic (try_to_force_load), license unspecified: loads tainted"},
		{Name: "crc7-elf-no-symtab", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return setShdrField(b, ".symtab", 4, 4, 1) },
			What: ".symtab type SHT_PROGBITS: 'crc7: module has no symbols (stripped?)', ENOEXEC"},
		{Name: "crc7-elf-modinfo-no-nul", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return lastByteOf(b, ".modinfo", 'X') },
			What: ".modinfo's last byte 'X' (no final NUL): not checked, loads"},
		{Name: "crc7-elf-versions-size-odd", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) { return growSection(b, "__versions", 8) },
			What: "__versions sh_size not a multiple of 64: not checked before 6.14, loads"},
		{Name: "crc7-elf-sym-bad-shndx", Base: "crc7", Strip: true, Edit: symShndx,
			What: "a defined symbol's st_shndx = e_shnum+5: 'crc7: Symbol X has an invalid section index N (max M)' (stable backport), ENOEXEC"},
		{Name: "crc7-elf-null-section-name-oob", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) {
			b, err := setShdrField(b, ".comment", 4, 4, 0) // SHT_NULL
			if err != nil {
				return nil, err
			}
			if b, err = setShdrField(b, ".comment", 8, 8, 2); err != nil { // SHF_ALLOC
				return nil, err
			}
			return setShdrField(b, ".comment", 0, 4, 0xfffffff0)
		},
			What: "an SHF_ALLOC SHT_NULL section whose sh_name is 4 GiB past the name table: no form bounds it, find_sec/find_any_unique_sec read it: out-of-bounds read (oops), not a refusal"},
		{Name: "crc7-elf-name-no-nul", Base: "crc7", Strip: true, Edit: func(b []byte) ([]byte, error) {
			return setThisModuleName(b, "crc7", "crc7"+strings.Repeat("_", 52)) // all 56 bytes of char name[MODULE_NAME_LEN]
		},
			NoBoot: "6.1.",
			What:   "struct module's name filled to the end of its 56 bytes (no NUL): 6.1 add_unformed_module's fortified strlen(mod->name) panics ('detected buffer overflow in __fortify_strlen', kernel BUG, insmod SIGSEGV, module_mutex left held: the guest hangs); 6.12.117 loads it under the 56-byte name"},
		{Name: "crc7-already-loaded", Base: "crc7", Preload: true,
			What: "(u) insmod twice: EEXIST"},
		{Name: "crc-itu-t-stripped-named-crc7", Base: "crc-itu-t", Strip: true, Deps: []string{"crc7"},
			Edit: func(b []byte) ([]byte, error) { return setThisModuleName(b, "crc_itu_t", "crc7") },
			What: "struct module name -> crc7 while crc7 is loaded: EEXIST"},
		{Name: "crc-itu-t-stripped-duplicate-exports", Base: "crc-itu-t", Strip: true, Deps: []string{"crc-itu-t"},
			Edit: chain(func(b []byte) ([]byte, error) { return setThisModuleName(b, "crc_itu_t", "crc_itu_x") }, entry("name=crc_itu_t", "name=crc_itu_x")),
			What: "renamed copy of a loaded module: ENOEXEC 'crc_itu_x: exports duplicate symbol crc_itu_t (owned by crc_itu_t)'"},
	}
}

// renameKey turns the first "key=" of .modinfo into the same key with its
// last letter before '=' replaced by 'X' (import_ns= -> import_nX=).
func renameKey(key string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		e, err := modinfoEntry(b, strings.TrimSuffix(key, "="))
		if err != nil {
			return nil, err
		}
		k := strings.TrimSuffix(key, "=")
		return replaceEntry(b, e, k[:len(k)-1]+"X"+e[len(k):])
	}
}

// vermagic replaces the module's vermagic value by f(value), which must
// not be longer.
func vermagic(f func(string) string) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		e, err := modinfoEntry(b, "vermagic")
		if err != nil {
			return nil, err
		}
		v := strings.TrimPrefix(e, "vermagic=")
		if f(v) == v {
			return nil, fmt.Errorf("vermagic %q: the edit changes nothing", v)
		}
		return replaceEntry(b, e, "vermagic="+f(v))
	}
}

// bumpRelease turns the digits right before the flavour of the release
// (the first word of vermagic) into nines, keeping the length:
// 6.1.0-56-amd64 -> 6.1.0-99-amd64, 6.12.117+deb12-amd64 ->
// 6.12.117+deb99-amd64.
func bumpRelease(v string) string {
	rel, rest, _ := strings.Cut(v, " ")
	end := strings.LastIndexByte(rel, '-')
	if end < 0 {
		end = len(rel)
	}
	b := []byte(rel)
	for i := end - 1; i >= 0 && b[i] >= '0' && b[i] <= '9'; i-- {
		b[i] = '9'
	}
	if string(b) == rel && end > 0 { // already nines: change to eights
		for i := end - 1; i >= 0 && b[i] >= '0' && b[i] <= '9'; i-- {
			b[i] = '8'
		}
	}
	if rest == "" {
		return string(b)
	}
	return string(b) + " " + rest
}

func corruptSigValue(b []byte) ([]byte, error) {
	t, err := sigTrailer(b)
	if err != nil {
		return nil, err
	}
	out := clone(b)
	// The RSA signature value is the last OCTET STRING of the SignerInfo,
	// which ends the DER blob.
	out[t.ContentLen+int(t.SigLen)-20] ^= 0xff
	return out, nil
}

func sigLen(f func(cur, before uint32) uint32) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		t, err := sigTrailer(b)
		if err != nil {
			return nil, err
		}
		out := clone(b)
		p := t.InfoOffset() + 8
		binary.BigEndian.PutUint32(out[p:], f(t.SigLen, uint32(t.InfoOffset())))
		return out, nil
	}
}

func sigIDType(id byte) func([]byte) ([]byte, error) {
	return func(b []byte) ([]byte, error) {
		t, err := sigTrailer(b)
		if err != nil {
			return nil, err
		}
		out := clone(b)
		out[t.InfoOffset()+2] = id
		return out, nil
	}
}

func truncateInShdrs(b []byte) ([]byte, error) {
	shoff := int(order(b).Uint64(b[0x28:]))
	shnum := int(order(b).Uint16(b[0x3c:]))
	cut := shoff + 64*(shnum/2) + 10
	if cut >= len(b) {
		return nil, fmt.Errorf("cannot truncate at %d of %d", cut, len(b))
	}
	return clone(b[:cut]), nil
}

// index maps normalized module names (dashes as underscores) to paths of
// .ko files, compressed (.ko.xz, .ko.gz, .ko.zst) or not; an uncompressed
// file wins over a compressed one of the same name.
type index map[string]string

func norm(name string) string { return strings.ReplaceAll(name, "-", "_") }

// moduleSuffixes are the file name endings of modules, uncompressed first.
var moduleSuffixes = []string{".ko", ".ko.xz", ".ko.gz", ".ko.zst"}

// moduleBase returns the module name of a file name and the rank of its
// suffix in moduleSuffixes, or ok false for a file that is no module.
func moduleBase(file string) (name string, rank int, ok bool) {
	for i, suf := range moduleSuffixes {
		if strings.HasSuffix(file, suf) {
			return strings.TrimSuffix(file, suf), i, true
		}
	}
	return "", 0, false
}

func buildIndex(dir string) (index, error) {
	idx := index{}
	rank := map[string]int{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		base, r, ok := moduleBase(d.Name())
		if !ok {
			return nil
		}
		n := norm(base)
		if old, seen := rank[n]; !seen || r < old {
			idx[n], rank[n] = p, r
		}
		return nil
	})
	return idx, err
}

func (idx index) path(name string) (string, error) {
	p, ok := idx[norm(name)]
	if !ok {
		return "", fmt.Errorf("module %s not in the source tree: %w", name, errMissing)
	}
	return p, nil
}

// errMissing marks a module that the source tree does not have; Build
// skips the variants that need it.
var errMissing = errors.New("missing module")

// readModule returns the raw ELF of a module file, decompressing
// .ko.xz/.ko.gz/.ko.zst (the kernel gets what busybox insmod reads, so
// the guest must get the decompressed bytes).
func readModule(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f := compression.Sniff(data)
	if f == compression.None {
		return data, nil
	}
	out, err := compression.Decompress(f, data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return out, nil
}

func depends(path string) ([]string, error) {
	data, err := readModule(path)
	if err != nil {
		return nil, err
	}
	m, err := ko.New(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	kv, err := m.Modinfo()
	if err != nil {
		return nil, err
	}
	v, _ := ko.Get(kv, "depends")
	var out []string
	for _, d := range strings.Split(v, ",") {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out, nil
}

// resolveDeps returns the paths to insmod before the named modules, in
// load order (every module after its own dependencies), from modinfo
// depends= resolved within the source tree.
func (idx index) resolveDeps(names []string, includeSelf bool) ([]string, error) {
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(n string) error
	visit = func(n string) error {
		n = norm(n)
		switch state[n] {
		case 1:
			return fmt.Errorf("dependency cycle at %s", n)
		case 2:
			return nil
		}
		state[n] = 1
		p, err := idx.path(n)
		if err != nil {
			return err
		}
		ds, err := depends(p)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if err := visit(d); err != nil {
				return fmt.Errorf("%s: %w", n, err)
			}
		}
		state[n] = 2
		order = append(order, p)
		return nil
	}
	for _, n := range names {
		if err := visit(n); err != nil {
			return nil, err
		}
	}
	if !includeSelf && len(names) == 1 {
		order = order[:len(order)-1]
	}
	return order, nil
}

// Logf reports the variants Build skips; tests may replace it.
var Logf = log.Printf

// Build writes every variant of List into outDir as <name>.ko and returns
// the cases to run. Dependencies point into srcModulesDir when they are
// plain .ko files; compressed ones are written decompressed into
// outDir/deps. A variant whose base or dependencies the tree lacks is
// skipped (reported through Logf).
func Build(srcModulesDir, outDir string) ([]realkernel.Case, error) {
	idx, err := buildIndex(srcModulesDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return nil, err
	}
	depFiles := map[string]string{} // source path -> path to insmod
	depFile := func(src string) (string, error) {
		if p, ok := depFiles[src]; ok {
			return p, nil
		}
		name, _, _ := moduleBase(filepath.Base(src))
		p := src
		if !strings.HasSuffix(src, ".ko") {
			data, err := readModule(src)
			if err != nil {
				return "", err
			}
			dir := filepath.Join(outDir, "deps")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return "", err
			}
			p = filepath.Join(dir, name+".ko")
			if err := os.WriteFile(p, data, 0o644); err != nil {
				return "", err
			}
		}
		depFiles[src] = p
		return p, nil
	}
	var cases []realkernel.Case
	seen := map[string]bool{}
	for _, v := range List() {
		if seen[v.Name] {
			return nil, fmt.Errorf("duplicate variant %s", v.Name)
		}
		seen[v.Name] = true
		if v.NoBoot != "" && strings.HasPrefix(filepath.Base(filepath.Clean(srcModulesDir)), v.NoBoot) &&
			!strings.Contains(os.Getenv("KMODSCOPE_REALKERNEL_ONLY"), v.Name) {
			Logf("variants: not booting %s on %s: it hangs the guest there (recorded outcome; KMODSCOPE_REALKERNEL_ONLY=%s boots it)", v.Name, filepath.Base(srcModulesDir), v.Name)
			continue
		}
		src, err := idx.path(v.Base)
		if errors.Is(err, errMissing) {
			Logf("variants: skipping %s: %v", v.Name, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", v.Name, err)
		}
		data, err := readModule(src)
		if err != nil {
			return nil, err
		}
		if m := machineOf(data); !v.applies(m) {
			Logf("variants: skipping %s on %v: %s", v.Name, m, v.Skip)
			continue
		}
		var srcDeps []string
		if v.Deps != nil {
			srcDeps, err = idx.resolveDeps(v.Deps, true)
		} else {
			srcDeps, err = idx.resolveDeps([]string{v.Base}, false)
		}
		if errors.Is(err, errMissing) {
			Logf("variants: skipping %s: deps: %v", v.Name, err)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("%s: deps: %w", v.Name, err)
		}
		orig := clone(data)
		if v.Strip {
			if data, err = strip(data); err != nil {
				return nil, fmt.Errorf("%s: strip: %w", v.Name, err)
			}
		}
		if v.Edit != nil {
			if data, err = v.Edit(data); err != nil {
				return nil, fmt.Errorf("%s: %w", v.Name, err)
			}
		}
		if (v.Strip || v.Edit != nil) && bytes.Equal(data, orig) {
			return nil, fmt.Errorf("%s: edit changed nothing", v.Name)
		}
		out := filepath.Join(outDir, v.Name+".ko")
		if err := os.WriteFile(out, data, 0o644); err != nil {
			return nil, err
		}
		var deps []string
		for _, d := range srcDeps {
			p, err := depFile(d)
			if err != nil {
				return nil, fmt.Errorf("%s: deps: %w", v.Name, err)
			}
			deps = append(deps, p)
		}
		cases = append(cases, realkernel.Case{Name: v.Name, Module: out, Deps: deps,
			BootArgs: v.BootArgs, PreloadTwice: v.Preload})
	}
	return cases, nil
}

// Names returns the variant names, sorted.
func Names() []string {
	var n []string
	for _, v := range List() {
		n = append(n, v.Name)
	}
	sort.Strings(n)
	return n
}

// Select returns the cases whose name contains substr (all when it is "").
func Select(cases []realkernel.Case, substr string) []realkernel.Case {
	if substr == "" {
		return cases
	}
	var sel []realkernel.Case
	for _, c := range cases {
		if strings.Contains(c.Name, substr) {
			sel = append(sel, c)
		}
	}
	return sel
}

// machineOf is the e_machine of a module's bytes (0 when not ELF).
func machineOf(data []byte) elf.Machine {
	if len(data) < 20 || !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return 0
	}
	return elf.Machine(order(data).Uint16(data[18:]))
}

// Apply makes variant name from the bytes of its base module (strip, then
// edit), as Build does; for tests that replay recorded outcomes on
// committed fixtures.
func Apply(name string, data []byte) ([]byte, error) {
	for _, v := range List() {
		if v.Name != name {
			continue
		}
		var err error
		if v.Strip {
			if data, err = strip(data); err != nil {
				return nil, err
			}
		}
		if v.Edit != nil {
			return v.Edit(data)
		}
		return clone(data), nil
	}
	return nil, fmt.Errorf("no variant %s", name)
}
