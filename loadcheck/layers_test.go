package loadcheck

import (
	"fmt"
	"testing"
)

// TestCloneLayers: clones share loads made before the clone and see none
// made after it, in either direction; Unload hides a module's symbols in
// one simulation only; deep clone stacks are merged without losing
// anything.
func TestCloneLayers(t *testing.T) {
	b := &Base{loaded: map[string]bool{"boot_mod": true}, exports: map[string]*export{"kern_sym": {name: "kern_sym"}, "dup": {name: "dup"}}}
	mod := func(name string, syms ...string) *Result {
		r := &Result{Module: name, Taints: "O"}
		for _, s := range syms {
			r.exports = append(r.exports, &export{name: s, owner: name})
		}
		return r
	}
	has := func(k *Kernel, sym string) bool { return k.export(sym) != nil }
	k := b.Fresh()
	k.MarkLoaded(mod("a-mod", "a1", "a2", "dup"))
	c1 := k.Clone()
	k.MarkLoaded(mod("b_mod", "b1"))
	if !has(k, "a1") || !has(k, "b1") || !k.Loaded("a_mod") || !k.Loaded("b-mod") || !k.Loaded("boot_mod") {
		t.Fatal("k lost its loads")
	}
	if !has(c1, "a2") || has(c1, "b1") || c1.Loaded("b_mod") || !c1.Loaded("a_mod") {
		t.Fatal("c1 sees the wrong loads")
	}
	if k.export("dup").owner != "a-mod" || c1.export("dup").owner != "a-mod" {
		t.Fatal("a module's export must hide the boot state's")
	}
	c2 := c1.Clone()
	c1.Unload("a_mod")
	if has(c1, "a1") || c1.Loaded("a_mod") || c1.export("dup") != b.exports["dup"] {
		t.Fatal("Unload left a_mod visible in c1")
	}
	if !has(c2, "a1") || !c2.Loaded("a_mod") || !has(k, "a1") || !k.Loaded("a_mod") {
		t.Fatal("Unload in c1 changed c2 or k")
	}
	if !has(c1, "kern_sym") || !c1.Loaded("boot_mod") {
		t.Fatal("Unload removed the boot state")
	}
	c1.MarkLoaded(mod("a_mod", "a3"))
	if !c1.Loaded("a_mod") || !has(c1, "a3") || has(c1, "a1") {
		t.Fatal("reload after Unload")
	}
	if k.taints['O'] != true || c2.taints['O'] != true {
		t.Fatal("taints not kept")
	}
	// A chain deeper than maxLayers.
	d := b.Fresh()
	var keep []*Kernel
	for i := 0; i < 3*maxLayers; i++ {
		d.MarkLoaded(mod(fmt.Sprintf("m%d", i), fmt.Sprintf("s%d", i)))
		keep = append(keep, d.Clone())
	}
	if d.layers.depth >= maxLayers {
		t.Fatalf("depth %d", d.layers.depth)
	}
	for i, c := range keep {
		for j := 0; j < 3*maxLayers; j++ {
			if has(c, fmt.Sprintf("s%d", j)) != (j <= i) || c.Loaded(fmt.Sprintf("m%d", j)) != (j <= i) {
				t.Fatalf("clone %d: symbol s%d visible %v", i, j, has(c, fmt.Sprintf("s%d", j)))
			}
		}
	}
}
