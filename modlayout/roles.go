package modlayout

import (
	"debug/elf"
	"strings"

	"github.com/kmodscope/kmodscope/elfx"
)

// exact maps section names to what the kernel (or the toolchain) uses them
// for. The loader looks most of them up in find_module_sections().
var exact = map[string]string{
	".gnu.linkonce.this_module":    "module descriptor (struct module, with init/exit pointers)",
	"__ksymtab":                    "exported symbols (EXPORT_SYMBOL)",
	"__ksymtab_gpl":                "exported symbols (EXPORT_SYMBOL_GPL)",
	"__ksymtab_unused":             "exported symbols (EXPORT_UNUSED_SYMBOL)",
	"__ksymtab_unused_gpl":         "exported symbols (EXPORT_UNUSED_SYMBOL_GPL)",
	"__ksymtab_gpl_future":         "exported symbols (EXPORT_SYMBOL_GPL_FUTURE)",
	"__kcrctab":                    "CRCs of the exports (modversions)",
	"__kcrctab_gpl":                "CRCs of the GPL-only exports (modversions)",
	"__kcrctab_unused":             "CRCs of unused exports (modversions)",
	"__kcrctab_unused_gpl":         "CRCs of unused GPL-only exports (modversions)",
	"__kcrctab_gpl_future":         "CRCs of GPL-future exports (modversions)",
	"__ksymtab_strings":            "names (and namespaces) of the exports",
	"__param":                      "module parameters (struct kernel_param)",
	".modinfo":                     "module information (license, vermagic, depends, aliases, ...)",
	"__versions":                   "CRCs of the imported symbols (modversions)",
	"__version_ext_crcs":           "CRCs of the imported symbols (extended modversions, 6.14+)",
	"__version_ext_names":          "names of the imported symbols (extended modversions, 6.14+)",
	"__jump_table":                 "static keys / jump labels (struct jump_entry)",
	".static_call_sites":           "static call sites (struct static_call_site)",
	".static_call.text":            "static call trampolines",
	".orc_unwind":                  "ORC unwind entries",
	".orc_unwind_ip":               "ORC unwind instruction addresses",
	".orc_header":                  "ORC format hash (checked at load)",
	".BTF":                         "BTF type information (CONFIG_DEBUG_INFO_BTF_MODULES)",
	".BTF.ext":                     "BTF line and function information",
	".BTF.base":                    "distilled base BTF (6.12+)",
	".altinstructions":             "alternative instructions (CPU-feature patch sites)",
	".altinstr_replacement":        "alternative instruction replacements",
	".altinstr_aux":                "alternatives auxiliary code",
	"__ex_table":                   "exception table (fixups for faulting instructions)",
	".init_array":                  "constructors (run by do_mod_ctors)",
	".ctors":                       "constructors (run by do_mod_ctors)",
	".note.gnu.build-id":           "GNU build ID note",
	".note.Linux":                  "Linux notes (build salt, LTO info)",
	".note.GNU-stack":              "marks a non-executable stack (linker note)",
	".comment":                     "compiler identification",
	"__mcount_loc":                 "ftrace call sites (mcount/fentry locations)",
	"__patchable_function_entries": "ftrace patchable function entries",
	"__bug_table":                  "BUG()/WARN() sites (struct bug_entry)",
	".smp_locks":                   "LOCK prefixes to patch on UP",
	".parainstructions":            "paravirt patch sites",
	".retpoline_sites":             "retpoline call sites (patched by apply_retpolines)",
	".return_sites":                "return sites (patched by apply_returns)",
	".call_sites":                  "call sites (call depth tracking)",
	".ibt_endbr_seal":              "ENDBR instructions to seal (IBT)",
	".cfi_sites":                   "kCFI sites",
	"__dyndbg":                     "dynamic debug descriptors",
	"__dyndbg_classes":             "dynamic debug class maps",
	"_ftrace_events":               "trace events",
	"_ftrace_eval_map":             "trace event enum maps",
	"__tracepoints":                "tracepoints",
	"__tracepoints_ptrs":           "tracepoint pointers",
	"__tracepoints_strings":        "tracepoint names",
	"__bpf_raw_tp_map":             "BPF raw tracepoints",
	"__trace_printk_fmt":           "trace_printk formats",
	"_error_injection_whitelist":   "error injection allow list",
	"_kprobe_blacklist":            "kprobe deny list",
	".kprobes.text":                "code that cannot be kprobed",
	".noinstr.text":                "non-instrumentable code",
	".printk_index":                "printk format index",
	".kunit_test_suites":           "KUnit test suites",
	"___srcu_struct_ptrs":          "SRCU structures",
	".data..percpu":                "per-CPU variables",
	".data..ro_after_init":         "data made read-only after init",
	".data..read_mostly":           "read-mostly data",
	".data.once":                   "once-only flags (WARN_ONCE etc.)",
	".bss":                         "zero-initialised data",
	".text":                        "code",
	".rodata":                      "read-only data",
	".data":                        "data",
	".init.text":                   "init code (freed after init)",
	".init.data":                   "init data (freed after init)",
	".init.rodata":                 "init read-only data (freed after init)",
	".exit.text":                   "exit code (run at unload)",
	".exit.data":                   "exit data",
	".plt":                         "PLT entries for branches out of range (sized at load)",
	".init.plt":                    "PLT entries for init code (sized at load)",
	".text.ftrace_trampoline":      "ftrace trampoline (arm64)",
	".init.text.ftrace_trampoline": "ftrace trampoline for init code (arm64)",
	".symtab":                      "symbol table",
	".strtab":                      "symbol names",
	".shstrtab":                    "section names",
	".toc":                         "table of contents (ppc64)",
	".stubs":                       "branch stubs (ppc64, sized at load)",
	".opd":                         "function descriptors (ppc64 ELFv1)",
	".got":                         "global offset table",
	".eh_frame":                    "DWARF call frame information",
	".ARM.exidx":                   "ARM unwind index",
	".ARM.extab":                   "ARM unwind table",
	".ARM.attributes":              "ARM build attributes",
	".riscv.attributes":            "RISC-V build attributes",
	".MIPS.abiflags":               "MIPS ABI flags",
	".MIPS.options":                "MIPS options",
	".gnu.attributes":              "GNU build attributes",
	".discard.addressable":         "addressable markers (discarded by the kernel build)",
	"__kstrtab":                    "export names (older kernels)",
	"__kstrtabns":                  "export namespaces (older kernels)",
	".export_symbol":               "export markers for modpost (6.5+, not in final modules)",
	"alloc_tags":                   "memory allocation profiling tags",
	".llvm_addrsig":                "address-significance table (LLVM)",
	".discard.retpoline_safe":      "objtool annotations",
	".discard.reachable":           "objtool annotations",
	".discard.unreachable":         "objtool annotations",
	".static_call_tramp_key":       "static call trampoline keys",
	".init.eh_frame":               "init call frame information",
	".note.gnu.property":           "GNU property note (CET/BTI)",
	".data.rel.ro":                 "read-only after relocation",
	".sdata":                       "small data",
	".sbss":                        "small zero-initialised data",
	".srodata":                     "small read-only data",
	".got.plt":                     "PLT GOT",
	".fixup":                       "exception fixup code",
	".pci_fixup":                   "PCI fixups",
	".sched.text":                  "scheduler code",
	".cpuidle.text":                "cpuidle code",
	".entry.text":                  "entry code",
	".head.text":                   "head code",
	".ref.text":                    "code that may reference init code",
	".meminit.text":                "memory hotplug init code",
	".init.setup":                  "boot parameters (built-in only)",
	".con_initcall.init":           "console initcalls",
	"__param_str":                  "parameter names",
	"__modver":                     "module version attributes (built-in only)",
	".data..shared_aligned":        "cache-aligned shared data",
	".data..cacheline_aligned":     "cache-aligned data",
	".data..page_aligned":          "page-aligned data",
	".bss..page_aligned":           "page-aligned zero-initialised data",
	"__ftr_fixup":                  "CPU feature fixups (powerpc)",
	"__mmu_ftr_fixup":              "MMU feature fixups (powerpc)",
	"__fw_ftr_fixup":               "firmware feature fixups (powerpc)",
	"__lwsync_fixup":               "lwsync fixups (powerpc)",
	".s390_indirect_jump":          "expoline indirect branches (s390)",
	".s390_return_reg":             "expoline returns (s390)",
	".s390_return_mem":             "expoline returns (s390)",
	".s390_indirect_call":          "expoline indirect calls (s390)",
	".s390_indirect_branches":      "expoline branches (s390)",
	".kcfi_traps":                  "kCFI traps",
	".discard":                     "discarded",
	".text.unlikely":               "code (cold)",
	".text.hot":                    "code (hot)",
	".rodata1":                     "read-only data",
	".data1":                       "data",
	".note.Xen":                    "Xen notes",
	".note.stapsdt":                "SystemTap probes",
	".stapsdt.base":                "SystemTap probe base",
	".BTF_ids":                     "BTF ID sets",
	".rodata.cst16":                "constant pool (16-byte entries)",
	".rodata.cst32":                "constant pool (32-byte entries)",
	".rodata.cst8":                 "constant pool (8-byte entries)",
	".rodata.cst4":                 "constant pool (4-byte entries)",
	".rodata.cst2":                 "constant pool (2-byte entries)",
	".pv_table":                    "ARM phys-to-virt patch table",
	".alt.smp.init":                "ARM SMP alternatives",
	".idmap.text":                  "identity-mapped code",
	".vectors":                     "exception vectors",
	"__llvm_prf_cnts":              "profiling counters",
	"__llvm_prf_data":              "profiling data",
	"__llvm_prf_names":             "profiling names",
	"__llvm_prf_vnds":              "profiling value nodes",
	".llvm.call-graph-profile":     "call graph profile",
	".sframe":                      "SFrame unwind information",
	".data..decrypted":             "unencrypted data (SEV)",
	".data..nosave":                "data not saved on hibernation",
	".scommon":                     "small common symbols",
	".gptab.sdata":                 "MIPS GP table",
	".gptab.sbss":                  "MIPS GP table",
	".reginfo":                     "MIPS register usage",
	".pdr":                         "MIPS procedure descriptors",
	".mdebug.abi64":                "MIPS ABI marker",
	".mdebug.abi32":                "MIPS ABI marker",
	".gnu_debuglink":               "separate debug file link",
	".gnu_debugaltlink":            "alternate debug file link",
	".toc1":                        "table of contents (ppc64)",
	".branch_lt":                   "long branch table (ppc64)",
	".sdata2":                      "small read-only data",
	".sbss2":                       "small zero-initialised data",
	".fixup.text":                  "exception fixup code",
	".got2":                        "GOT (ppc32)",
	".tbss":                        "thread-local zero-initialised data",
	".tdata":                       "thread-local data",
	".interp":                      "interpreter path",
	".dynamic":                     "dynamic section",
	".dynsym":                      "dynamic symbols",
	".dynstr":                      "dynamic symbol names",
	".hash":                        "symbol hash table",
	".gnu.hash":                    "GNU symbol hash table",
	".kunit_init_test_suites":      "KUnit init test suites",
	".security_initcall.init":      "LSM initcalls",
	"_ftrace_enum_map":             "trace enum maps",
}

// Role says what a section is for: the kernel's use of the well-known
// names, else a description derived from the name prefix and type.
func Role(f *elfx.File, s *elfx.Section) string {
	if s.Index == 0 {
		return "null section"
	}
	if r, ok := exact[s.Name]; ok {
		return r
	}
	switch s.Type {
	case elf.SHT_REL, elf.SHT_RELA:
		target := "?"
		if t := f.SectionByIndex(int(s.Info)); t != nil {
			target = t.Name
		}
		return "relocations for " + target
	case elf.SHT_SYMTAB:
		return "symbol table"
	case elf.SHT_STRTAB:
		return "string table"
	case elf.SHT_GROUP:
		return "section group (COMDAT)"
	case elf.SHT_NOTE:
		return "note"
	}
	prefixes := []struct{ p, r string }{
		{".init.", "init section (freed after init)"},
		{".exit.", "exit section (used at unload)"},
		{".text.", "code"},
		{".rodata.str", "read-only strings"},
		{".rodata.cst", "constant pool"},
		{".rodata.", "read-only data"},
		{".data..", "data"},
		{".data.", "data"},
		{".bss.", "zero-initialised data"},
		{".debug", "DWARF debug information"},
		{".zdebug", "compressed DWARF debug information"},
		{"__ksymtab_", "exported symbols"},
		{"__kcrctab_", "CRCs of exports (modversions)"},
		{"__kstrtab", "export names"},
		{".discard", "discarded by the kernel build"},
		{".ARM.exidx", "ARM unwind index"},
		{".ARM.extab", "ARM unwind table"},
		{".note", "note"},
		{".gnu.linkonce", "link-once section"},
		{".llvm", "LLVM metadata"},
	}
	for _, p := range prefixes {
		if strings.HasPrefix(s.Name, p.p) {
			return p.r
		}
	}
	switch {
	case s.Flags&elf.SHF_EXECINSTR != 0:
		return "code"
	case s.Type == elf.SHT_NOBITS:
		return "zero-initialised data"
	case s.Flags&elf.SHF_ALLOC != 0 && s.Flags&elf.SHF_WRITE != 0:
		return "data"
	case s.Flags&elf.SHF_ALLOC != 0:
		return "read-only data"
	}
	return "not loaded (toolchain metadata)"
}
