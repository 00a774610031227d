package kabi

import (
	"strings"
	"testing"
)

// FuzzParseRules: any text either fails with a line number or gives rules
// that can be matched without panicking.
func FuzzParseRules(f *testing.F) {
	f.Add("vmlinux PASS\narch/x86/kvm/* FAIL\nUSB_STORAGE PASS\nkvm_* FAIL # c\n\n")
	f.Add("* PASS\n")
	f.Add("a\\b(c PASS\n[x FAIL\n")
	old := table(f, oldSyms)
	new := table(f, newSyms)
	f.Fuzz(func(t *testing.T, text string) {
		rs, err := ParseRules(strings.NewReader(text))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "line ") {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		r := Diff(old, new, rs)
		for _, c := range r.Changes {
			if c.Rule != nil && len(c.BreakingKinds) == 0 {
				t.Fatalf("%s judged by %v though not breaking by default", c.Name, c.Rule)
			}
		}
	})
}
