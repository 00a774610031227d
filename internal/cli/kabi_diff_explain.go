package cli

import (
	"fmt"
	"runtime/debug"
	"sync"

	"github.com/kmodscope/kmodscope/kabi"
	"github.com/kmodscope/kmodscope/kabi/btfexplain"
)

// explainDiff adds, for every symbol whose CRC changed, the candidate causes
// from a BTF comparison of OLD's and NEW's kernels (the engine of `kabi
// explain`, docs/kabi-explain.md): vmlinux BTF from each input's kernel
// image, and for module exports the split BTF of the module in each
// input's modules tree when it has one. Inputs without an image (a bare
// Module.symvers) cannot be explained: that is a usage error, reported by
// the caller.
func explainDiff(ins [2]*kabi.Input, doc *kabiDiffDoc) error {
	defer debug.SetGCPercent(debug.SetGCPercent(100))
	var specs [2]*btfexplain.Spec
	var errs [2]error
	var wg sync.WaitGroup
	for i := 0; i < 2; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			specs[i], errs[i] = btfexplain.LoadImageBTF(ins[i].Image)
		}()
	}
	wg.Wait()
	debug.FreeOSMemory()
	for i := 0; i < 2; i++ {
		if errs[i] != nil {
			return fmt.Errorf("%s: %w", []string{"OLD", "NEW"}[i], errs[i])
		}
	}
	var syms []string
	module := map[string]string{}
	for _, d := range doc.Symbols {
		for _, k := range d.Changes {
			if k == kabi.CRCChanged {
				syms = append(syms, d.Name)
				if d.New != nil {
					module[d.Name] = d.New.Module
				}
			}
		}
	}
	// vmlinux exports are explained from vmlinux's BTF alone, before any
	// module's split BTF is added (a module's static function of the same
	// name must not stand in for the export).
	var vmSyms, modSyms []string
	for _, sym := range syms {
		if m := module[sym]; m == "" || m == "vmlinux" {
			vmSyms = append(vmSyms, sym)
		} else {
			modSyms = append(modSyms, sym)
		}
	}
	res := btfexplain.Explain(specs[0], specs[1], vmSyms)
	loaded := map[string]bool{}
	if len(modSyms) > 0 && ins[0].Tree != "" && ins[1].Tree != "" {
		var mods []string
		for _, sym := range modSyms {
			mods = append(mods, module[sym])
		}
		// A module whose BTF cannot be read keeps the note that says so.
		loaded, _ = addModuleBTF(specs, [2]string{ins[0].Tree, ins[1].Tree}, mods)
	}
	if len(modSyms) > 0 {
		mres := btfexplain.Explain(specs[0], specs[1], modSyms)
		for k, v := range mres.Symbols {
			res.Symbols[k] = v
		}
		seen := map[string]bool{}
		for _, c := range res.Shared {
			seen[c.Type] = true
		}
		for _, c := range mres.Shared {
			if !seen[c.Type] {
				res.Shared = append(res.Shared, c)
			}
		}
	}
	doc.Certainty = certaintyNote
	doc.Shared = res.Shared
	if doc.Shared == nil {
		doc.Shared = []btfexplain.Cause{}
	}
	for i := range doc.Symbols {
		d := &doc.Symbols[i]
		ex, ok := res.Symbols[d.Name]
		if !ok {
			continue
		}
		if m := module[d.Name]; m != "" && m != "vmlinux" && !loaded[m] && ex.Note == btfexplain.NoteNotInBTF {
			ex.Note = noteModuleNotLoaded
			if ins[0].Tree != "" {
				ex.Note = noteModuleMissing
			}
		}
		e := ex
		if e.Causes == nil {
			e.Causes = []btfexplain.Cause{}
		}
		d.Explanation = &e
	}
	return nil
}

// writeDiffExplanations prints the explanations after the diff's table.
func writeDiffExplanations(s *IO, doc *kabiDiffDoc) {
	if doc.Certainty == "" {
		return
	}
	fmt.Fprintf(s.Out, "\n# %s\n", doc.Certainty)
	for _, d := range doc.Symbols {
		if d.Explanation == nil {
			continue
		}
		fmt.Fprintf(s.Out, "%s: %s\n", d.Name, d.Explanation.Certainty)
		if d.Explanation.Note != "" {
			fmt.Fprintf(s.Out, "  %s\n", d.Explanation.Note)
		}
		for i, c := range d.Explanation.Causes {
			if i == 5 {
				fmt.Fprintf(s.Out, "  ... %d more (kmodscope kabi explain shows all)\n", len(d.Explanation.Causes)-i)
				break
			}
			writeCause(s.Out, "  ", c)
		}
	}
	if len(doc.Shared) > 0 {
		fmt.Fprintf(s.Out, "shared core types that changed (reached by most exports):\n")
		for _, c := range doc.Shared {
			writeCause(s.Out, "  ", c)
		}
	}
}
