package kabi

import (
	"sort"

	"github.com/kmodscope/kmodscope/symvers"
)

// Change categories. A symbol can be in several at once (a CRC change and
// a move, say); it counts in each.
const (
	Removed           = "removed"
	Added             = "added"
	CRCChanged        = "crc_changed"
	ExportTypeChanged = "export_type_changed"
	NamespaceChanged  = "namespace_changed"
	Moved             = "moved"
)

// Categories lists the categories in report order.
var Categories = []string{Removed, Added, CRCChanged, ExportTypeChanged, NamespaceChanged, Moved}

// Change is what happened to one symbol between OLD and NEW.
type Change struct {
	Name string
	// Old and New are the symbol in each table, nil when absent.
	Old, New *symvers.Symbol
	// Kinds are the categories that apply, in Categories order.
	Kinds []string
	// Breaking is the verdict after the rules; Rule is the rule that
	// decided it ("" for the default).
	Breaking bool
	Rule     *Rule
	// BreakingKinds are the kinds that are breaking by default
	// (removed, crc_changed, GPL-ification, namespace_changed).
	BreakingKinds []string
}

// Has reports whether the change is in category k.
func (c *Change) Has(k string) bool {
	for _, x := range c.Kinds {
		if x == k {
			return true
		}
	}
	return false
}

// Gplified reports an EXPORT_SYMBOL that became EXPORT_SYMBOL_GPL.
func (c *Change) Gplified() bool {
	return c.Old != nil && c.New != nil && !c.Old.GPLOnly && c.New.GPLOnly
}

// Result is a whole comparison.
type Result struct {
	Changes []Change
	// Summary counts symbols per category.
	Summary map[string]int
	// Breaking counts the breaking changes after the rules.
	Breaking int
	// OldCount and NewCount are the numbers of symbols in each table.
	OldCount, NewCount int
}

// Diff compares two tables symbol by symbol (by name; where a table lists
// a name twice, the last line wins, as in modpost's read_dump) and applies
// the rules (nil: the default, every removal, CRC change, GPL-ification and
// namespace change breaks).
func Diff(old, new *symvers.Table, rules *Rules) *Result {
	last := func(t *symvers.Table) map[string]*symvers.Symbol {
		m := make(map[string]*symvers.Symbol, len(t.Symbols))
		for i := range t.Symbols {
			m[t.Symbols[i].Name] = &t.Symbols[i]
		}
		return m
	}
	om, nm := last(old), last(new)
	r := &Result{Summary: map[string]int{}, OldCount: len(om), NewCount: len(nm)}
	for _, k := range Categories {
		r.Summary[k] = 0
	}
	names := make([]string, 0, len(om)+len(nm))
	for n := range om {
		names = append(names, n)
	}
	for n := range nm {
		if om[n] == nil {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		o, w := om[n], nm[n]
		c := Change{Name: n, Old: o, New: w}
		switch {
		case w == nil:
			c.Kinds = []string{Removed}
			c.BreakingKinds = []string{Removed}
		case o == nil:
			c.Kinds = []string{Added}
		default:
			if o.CRC != w.CRC {
				c.Kinds = append(c.Kinds, CRCChanged)
				c.BreakingKinds = append(c.BreakingKinds, CRCChanged)
			}
			if o.GPLOnly != w.GPLOnly {
				c.Kinds = append(c.Kinds, ExportTypeChanged)
				if w.GPLOnly {
					c.BreakingKinds = append(c.BreakingKinds, ExportTypeChanged)
				}
			}
			if o.Namespace != w.Namespace {
				c.Kinds = append(c.Kinds, NamespaceChanged)
				c.BreakingKinds = append(c.BreakingKinds, NamespaceChanged)
			}
			if o.Module != w.Module {
				c.Kinds = append(c.Kinds, Moved)
			}
		}
		if len(c.Kinds) == 0 {
			continue
		}
		for _, k := range c.Kinds {
			r.Summary[k]++
		}
		if len(c.BreakingKinds) > 0 {
			c.Breaking = true
			if rule := rules.Match(&c); rule != nil {
				c.Rule = rule
				c.Breaking = rule.Fail
			}
		}
		if c.Breaking {
			r.Breaking++
		}
		r.Changes = append(r.Changes, c)
	}
	return r
}
