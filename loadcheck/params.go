package loadcheck

import (
	"errors"

	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/loadcheck/kparam"
)

// CheckParam is Result.FailedCheck when parse_args() refuses the
// module's parameters (the last check before the module's init).
const CheckParam = "parameters"

// CheckArgs is Check with the module options string insmod/modprobe pass
// (e.g. "max_part=4 opt=\"a b\""), which the kernel's parse_args() judges
// after every other check has passed.
func (k *Kernel) CheckArgs(path string, m *ko.Module, args string) *Result {
	data, err := m.Bytes()
	if err != nil {
		return k.Check(path, m)
	}
	return k.CheckBytesArgs(path, data, args)
}

// CheckBytesArgs is CheckBytes with a module options string.
func (k *Kernel) CheckBytesArgs(path string, data []byte, args string) *Result {
	r := &Result{File: path}
	c := &run{k: k, t: k.T, r: r, data: data, taints: map[byte]bool{}, args: args}
	c.mod = ko.NameFromPath(path)
	r.Module = c.mod
	return c.check()
}

// Unload records that a module was removed (rmmod): its name and exports
// are free again. Taints stay, as in the kernel.
func (k *Kernel) Unload(name string) {
	n := normalize(name)
	if k.loadedHere(n) {
		k.loaded[n] = false
	}
	// Every symbol of the simulation's loads that n exports, as lookups
	// see them (a layer's entry hides its parents').
	seen := map[string]bool{}
	visit := func(m map[string]*export) {
		for s, e := range m {
			if seen[s] {
				continue
			}
			seen[s] = true
			if e != nil && normalize(e.owner) == n {
				k.exports[s] = nil
			}
		}
	}
	visit(k.exports)
	for l := k.layers; l != nil; l = l.parent {
		visit(l.exports)
	}
}

// checkParams reads the module's parameter table and runs parse_args()
// on the options string, as load_module() does once the module is formed.
func (c *run) checkParams() *Result {
	ps, err := c.m.Params()
	switch {
	case errors.Is(err, ko.ErrNoParams):
		ps = nil
	case err != nil:
		if c.args != "" {
			c.note("the module's parameter table (__param) could not be read (%v): the parameters were not checked", err)
		}
		return nil
	}
	c.r.Params = ps
	if c.args == "" {
		return nil
	}
	bits := 32
	if c.is64 {
		bits = 64
	}
	maxText := kparam.MaxText(6, 1)
	if c.t.AtLeast(6, 2) {
		maxText = kparam.MaxText(6, 2)
	}
	pr := kparam.Parse(c.mod, ps, c.args, kparam.Options{LongBits: bits, DynamicDebug: c.t.Has("DYNAMIC_DEBUG_CORE"), Lockdown: c.t.Lockdown, MaxText: maxText})
	c.r.ParamResult = pr
	c.r.Messages = append(c.r.Messages, pr.Messages...)
	c.r.Notes = append(c.r.Notes, pr.Notes...)
	if pr.TaintU {
		c.note("setting an unsafe parameter taints the kernel U (the module's own taints do not show it)")
	}
	if pr.Refused() {
		// The module's taints were already set on the kernel
		// (add_taint_module) before parse_args failed.
		for l := range c.taints {
			c.k.taints[l] = true
		}
		return c.fail(CheckParam, pr.Errno, "fix the module parameters (see the kernel messages; `modinfo -p` lists them)")
	}
	return nil
}
