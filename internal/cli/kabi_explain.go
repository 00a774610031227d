package cli

import (
	"fmt"
	"io"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/kabi/btfexplain"
	"github.com/kmodscope/kmodscope/symvers"
)

func init() {
	kabiSubs["explain"] = kabiSub{usage: kabiExplainSynopsis, run: runKabiExplain}
}

const kabiExplainSynopsis = "kmodscope kabi explain [--json] [-E OLD.symvers -E NEW.symvers] [--old-modules DIR --new-modules DIR] OLD-IMAGE NEW-IMAGE [SYMBOL...]"

const kabiExplainExamples = `  kmodscope kabi explain /boot/vmlinuz-6.1.0-54-amd64 /boot/vmlinuz-6.1.0-55-amd64 seq_buf_printf
  kmodscope kabi explain -E old/Module.symvers -E new/Module.symvers OLD/vmlinuz NEW/vmlinuz
  kmodscope kabi explain --json -E A.symvers -E B.symvers --old-modules A/lib/modules/REL \
      --new-modules B/lib/modules/REL A/boot/vmlinuz-REL B/boot/vmlinuz-REL

Compares the BTF of two kernels (vmlinux BTF from the images, any compression;
module split BTF from the module trees) and lists, for each SYMBOL, the
candidate causes of its CRC change: a changed prototype first (certain), then
the changed named types reachable from the declaration, nearest first, each
with one path of members and its member changes (added, removed, retyped,
resized, bitfield, value). Changes that are only a consequence of an embedded
type changing size are marked "layout only". The changed types of the shared
core of kernel types (the largest set of mutually reachable types and what it
reaches) are listed once at the end instead of per symbol.

These are candidate causes: genksyms hashes each declaration as its
compilation unit sees it, BTF is deduplicated over all units. A symbol without
a BTF function (data, tracepoints, static calls, asm) is "not in BTF"; one
whose reachable types are all unchanged has "no BTF-visible cause".

Without SYMBOLs, the symbols whose CRC differs between -E OLD.symvers and
-E NEW.symvers are explained. Exports of modules are explained when
--old-modules and --new-modules give the two module trees (lib/modules/REL);
otherwise they are noted "module BTF not loaded".
Exit status: 0 on success, 1 if an input could not be read, 2 on usage errors.
`

type kabiExplainDoc struct {
	Schema      string                `json:"schema"`
	Old         string                `json:"old"`
	New         string                `json:"new"`
	Certainty   string                `json:"certainty"`
	SharedTypes int                   `json:"shared_types"`
	Shared      []btfexplain.Cause    `json:"shared"`
	Symbols     []kabiExplainedSymbol `json:"symbols"`
	Errors      []string              `json:"errors"`
}

type kabiExplainedSymbol struct {
	Symbol string `json:"symbol"`
	Module string `json:"module"`
	btfexplain.Explanation
}

// Notes for module exports whose module BTF was not loaded.
const (
	noteModuleNotLoaded = "module BTF not loaded (give --old-modules and --new-modules)"
	noteModuleMissing   = "module not found in both module trees"
)

const certaintyNote = "candidate causes: genksyms hashes declarations per compilation unit and BTF is deduplicated; only a changed prototype is certain"

func runKabiExplain(s *IO, args []string) int {
	const cmd = "kabi explain"
	var symversFiles []string
	var oldMods, newMods string
	var asJSON bool
	var maxCauses int
	fs := newFlags(cmd, kabiExplainSynopsis, kabiExplainExamples, s)
	fs.StringArrayVarP(&symversFiles, "symvers", "E", nil, "Module.symvers `FILE` (or .gz) of OLD, then of NEW: explain the symbols whose CRC differs")
	fs.StringVar(&oldMods, "old-modules", "", "module tree of OLD (`DIR` lib/modules/REL), for module exports")
	fs.StringVar(&newMods, "new-modules", "", "module tree of NEW (`DIR`), for module exports")
	fs.IntVar(&maxCauses, "max-causes", 8, "text output: causes shown per symbol (0: all)")
	fs.BoolVar(&asJSON, "json", false, "print one kmodscope.kabi-explain/v1 JSON document")
	if done, code := parseFlags(fs, s, cmd, args, ExitUsage); done {
		return code
	}
	pos := fs.Args()
	if len(pos) < 2 {
		s.errorf(cmd, "need OLD and NEW kernel images (see 'kmodscope kabi explain --help')")
		return ExitUsage
	}
	if len(symversFiles) != 0 && len(symversFiles) != 2 {
		s.errorf(cmd, "-E takes OLD's Module.symvers, then NEW's (got %d)", len(symversFiles))
		return ExitUsage
	}
	if len(pos) == 2 && len(symversFiles) == 0 {
		s.errorf(cmd, "give SYMBOLs, or -E OLD.symvers -E NEW.symvers to explain every changed CRC")
		return ExitUsage
	}
	if (oldMods == "") != (newMods == "") {
		s.errorf(cmd, "--old-modules and --new-modules go together")
		return ExitUsage
	}
	// Load both kernels in parallel: decompression dominates. Each
	// decompressed kernel (~66 MB for 6.1) is dropped once its .BTF is cut
	// out; a normal GC rate keeps the peak near two kernels' worth.
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	var specs [2]*btfexplain.Spec
	var errs [2]error
	var tabs [2]*symvers.Table
	var terrs [2]error
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			specs[i], errs[i] = btfexplain.LoadImageBTF(pos[i])
			if len(symversFiles) == 2 {
				tabs[i], terrs[i] = symvers.Open(symversFiles[i])
			}
		}()
	}
	wg.Wait()
	debug.FreeOSMemory()
	for i := 0; i < 2; i++ {
		if errs[i] != nil {
			s.errorf(cmd, "%v", errs[i])
			return ExitError
		}
		if terrs[i] != nil {
			s.errorf(cmd, "%v", terrs[i])
			return ExitError
		}
	}
	syms := pos[2:]
	if len(syms) == 0 {
		syms = changedCRCs(tabs[0], tabs[1])
	}
	module := func(sym string) string {
		for i := 1; i >= 0; i-- {
			if tabs[i] != nil {
				if e, ok := tabs[i].Lookup(sym); ok {
					return e.Module
				}
			}
		}
		return ""
	}
	code := ExitOK
	var loadErrs []string
	loadedMods := map[string]bool{} // module paths whose BTF was loaded in both kernels
	if oldMods != "" {
		var mods []string
		for _, sym := range syms {
			mods = append(mods, module(sym))
		}
		loadedMods, loadErrs = addModuleBTF(specs, [2]string{oldMods, newMods}, mods)
	}
	res := btfexplain.Explain(specs[0], specs[1], syms)
	doc := kabiExplainDoc{Schema: "kmodscope.kabi-explain/v1", Old: pos[0], New: pos[1], Certainty: certaintyNote,
		SharedTypes: res.SharedTypes, Shared: res.Shared, Symbols: []kabiExplainedSymbol{}, Errors: []string{}}
	doc.Errors = append(doc.Errors, loadErrs...)
	sorted := append([]string(nil), syms...)
	sort.Strings(sorted)
	for _, sym := range sorted {
		ex := res.Symbols[sym]
		m := module(sym)
		if m != "" && m != "vmlinux" && !loadedMods[m] && ex.Note == btfexplain.NoteNotInBTF {
			// Not "not in BTF": the module's BTF was not looked at.
			ex.Note = noteModuleNotLoaded
			if oldMods != "" {
				ex.Note = noteModuleMissing
			}
		}
		doc.Symbols = append(doc.Symbols, kabiExplainedSymbol{Symbol: sym, Module: m, Explanation: ex})
	}
	if len(loadErrs) > 0 {
		code = ExitError
	}
	if asJSON {
		s.json(doc)
		return code
	}
	for _, e := range loadErrs {
		s.errorf(cmd, "%s", e)
	}
	writeExplainText(s.Out, &doc, maxCauses)
	return code
}

// addModuleBTF loads the split BTF of each module named in mods (as
// Module.symvers names them; "" and "vmlinux" are skipped, repeats loaded
// once) from dirs[i] into specs[i]. It returns which modules were loaded in
// both kernels, and the load errors.
func addModuleBTF(specs [2]*btfexplain.Spec, dirs [2]string, mods []string) (map[string]bool, []string) {
	set := map[string]bool{}
	for _, m := range mods {
		if m != "" && m != "vmlinux" {
			set[m] = true
		}
	}
	names := make([]string, 0, len(set))
	for m := range set {
		names = append(names, m)
	}
	sort.Strings(names)
	loaded := map[string]bool{}
	var errs []string
	for _, m := range names {
		n := 0
		for i := 0; i < 2; i++ {
			p, ok := btfexplain.FindModule(dirs[i], m)
			if !ok {
				continue
			}
			if err := specs[i].AddModule(p); err != nil {
				errs = append(errs, err.Error())
				continue
			}
			n++
		}
		loaded[m] = n == 2
	}
	return loaded, errs
}

// changedCRCs lists the symbols in both tables whose CRC differs.
func changedCRCs(a, b *symvers.Table) []string {
	var out []string
	if a == nil || b == nil {
		return out
	}
	for i := range a.Symbols {
		sa := &a.Symbols[i]
		if sb, ok := b.Lookup(sa.Name); ok && sb.CRC != sa.CRC {
			if last, _ := a.Lookup(sa.Name); last == sa {
				out = append(out, sa.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

func writeExplainText(w io.Writer, doc *kabiExplainDoc, maxCauses int) {
	fmt.Fprintf(w, "# %s\n", doc.Certainty)
	for _, e := range doc.Symbols {
		mod := ""
		if e.Module != "" && e.Module != "vmlinux" {
			mod = " [" + e.Module + "]"
		}
		amb := ""
		if e.Ambiguous {
			amb = " (several BTF functions of this name)"
		}
		fmt.Fprintf(w, "%s%s: %s%s\n", e.Symbol, mod, e.Certainty, amb)
		if e.Note != "" {
			fmt.Fprintf(w, "  %s\n", e.Note)
		}
		for i, c := range e.Causes {
			if maxCauses > 0 && i == maxCauses {
				fmt.Fprintf(w, "  ... %d more (--max-causes 0 shows all)\n", len(e.Causes)-i)
				break
			}
			writeCause(w, "  ", c)
		}
	}
	if len(doc.Shared) > 0 {
		fmt.Fprintf(w, "\nshared core: %d types; its changed types, listed once:\n", doc.SharedTypes)
		for _, c := range doc.Shared {
			writeCause(w, "  ", c)
		}
	}
}

func writeCause(w io.Writer, indent string, c btfexplain.Cause) {
	lo := ""
	if c.LayoutOnly {
		lo = " (layout only)"
	}
	via := ""
	if len(c.Path) > 0 {
		via = " via " + strings.Join(c.Path, " > ")
	}
	if c.Kind == "shared" {
		fmt.Fprintf(w, "%sshared core%s > %s (its changes are listed once below)\n", indent, via, c.Type)
		return
	}
	fmt.Fprintf(w, "%s%s %s%s%s\n", indent, c.Kind, c.Type, lo, via)
	for _, ch := range c.Changes {
		fmt.Fprintf(w, "%s    %s\n", indent, changeText(ch))
	}
}

func changeText(ch btfexplain.Change) string {
	m := ch.Member
	if m == "" {
		m = "(type)"
	}
	switch {
	case ch.Old != "" && ch.New != "":
		return fmt.Sprintf("%s %s: %s -> %s", m, ch.Change, ch.Old, ch.New)
	case ch.New != "":
		return fmt.Sprintf("%s %s: %s", m, ch.Change, ch.New)
	case ch.Old != "":
		return fmt.Sprintf("%s %s: was %s", m, ch.Change, ch.Old)
	}
	return m + " " + ch.Change
}
