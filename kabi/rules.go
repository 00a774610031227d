package kabi

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

// Rule is one line of a severity file.
type Rule struct {
	Pattern string
	// Target is what the pattern is matched against: "module",
	// "namespace" or "symbol".
	Target string
	Fail   bool
	Line   int
	re     *regexp.Regexp
}

func (r *Rule) String() string {
	v := "PASS"
	if r.Fail {
		v = "FAIL"
	}
	return fmt.Sprintf("%s %s (line %d)", r.Pattern, v, r.Line)
}

// Rules is a severity file in the format of SUSE's kabi tools (ksymvers,
// suse-kabi-tools(5)): one "PATTERN PASS|FAIL" per line, "#" comments. A
// pattern containing "/", or the word "vmlinux", is a glob on the module
// that exports the symbol; an all-capitals pattern (A-Z, 0-9, _) is a
// namespace; anything else a glob on the symbol name. The first rule that
// matches decides: PASS tolerates the change, FAIL makes it breaking.
// Rules only judge changes that are breaking by default (removal, CRC
// change, GPL-ification, namespace change); a symbol no rule matches keeps
// the default, breaking.
type Rules struct {
	List []Rule
}

// ParseRules reads a severity file; errors name the line.
func ParseRules(r io.Reader) (*Rules, error) {
	rs := &Rules{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		n++
		l := sc.Text()
		if i := strings.IndexByte(l, '#'); i >= 0 {
			l = l[:i]
		}
		f := strings.Fields(l)
		if len(f) == 0 {
			continue
		}
		if len(f) != 2 {
			return nil, fmt.Errorf("line %d: want \"PATTERN PASS|FAIL\", got %q", n, strings.TrimSpace(l))
		}
		rule := Rule{Pattern: f[0], Line: n}
		switch strings.ToUpper(f[1]) {
		case "PASS":
		case "FAIL":
			rule.Fail = true
		default:
			return nil, fmt.Errorf("line %d: invalid verdict %q, must be PASS or FAIL", n, f[1])
		}
		rule.re = globRegexp(f[0])
		switch {
		case strings.Contains(f[0], "/") || f[0] == "vmlinux":
			rule.Target = "module"
		case isAllCaps(f[0]):
			rule.Target = "namespace"
		default:
			rule.Target = "symbol"
		}
		rs.List = append(rs.List, rule)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", n+1, err)
	}
	return rs, nil
}

// OpenRules reads a severity file.
func OpenRules(file string) (*Rules, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, err := ParseRules(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return r, nil
}

func isAllCaps(s string) bool {
	hasLetter := false
	for _, c := range s {
		switch {
		case c >= 'A' && c <= 'Z':
			hasLetter = true
		case c >= '0' && c <= '9', c == '_', c == '*', c == '?':
		default:
			return false
		}
	}
	return hasLetter
}

// Match returns the first rule matching the change, or nil. The module
// and namespace are the OLD symbol's (the NEW one's for an added symbol).
func (rs *Rules) Match(c *Change) *Rule {
	if rs == nil {
		return nil
	}
	s := c.Old
	if s == nil {
		s = c.New
	}
	for i := range rs.List {
		r := &rs.List[i]
		var subject string
		switch r.Target {
		case "module":
			subject = s.Module
		case "namespace":
			subject = s.Namespace
		default:
			subject = c.Name
		}
		if r.re == nil {
			r.re = globRegexp(r.Pattern)
		}
		if r.re.MatchString(subject) {
			return r
		}
	}
	return nil
}

// globRegexp turns a shell glob into an anchored regexp: "*" matches any
// run of characters, "/" included (as in the SUSE tools, where
// "drivers/*" covers every module under drivers/), "?" one character.
func globRegexp(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, c := range g {
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}
