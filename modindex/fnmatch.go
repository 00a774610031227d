package modindex

import (
	"os"
	"sync"
)

// Fnmatch reports whether s matches the shell pattern pattern the way
// glibc's fnmatch(pattern, s, 0) does in the C locale (what kmod uses for
// wildcard index searches):
//
//   - '*' matches any sequence, including '/' and a leading '.';
//   - '?' matches any single byte;
//   - "[...]" is a bracket expression with ranges (byte-value order),
//     negation by '!' (or '^' unless POSIXLY_CORRECT is set in the
//     environment), character classes "[:name:]", equivalence classes
//     "[=c=]" and collating symbols "[.c.]" of a single byte; a ']' right
//     after the '[' (or the negation) is literal; backslash escapes;
//     an unterminated '[' is a literal '[';
//   - '\' escapes the next byte; a trailing '\' never matches.
//
// As with C strings, pattern and s end at their first NUL byte.
func Fnmatch(pattern, s string) bool {
	if i := indexByte(pattern, 0); i >= 0 {
		pattern = pattern[:i]
	}
	if i := indexByte(s, 0); i >= 0 {
		s = s[:i]
	}
	m := fnmatcher{p: pattern, s: s, posix: posixlyCorrect()}
	return m.fct(0, 0, nil)
}

// fnmatchBytes matches a pattern held in a byte buffer (index search).
func fnmatchBytes(pattern []byte, s string) bool {
	return Fnmatch(string(pattern), s)
}

var (
	posixOnce sync.Once
	posixVal  bool
)

// posixlyCorrect mirrors glibc, which reads POSIXLY_CORRECT once per
// process on the first bracket expression.
func posixlyCorrect() bool {
	posixOnce.Do(func() { _, posixVal = os.LookupEnv("POSIXLY_CORRECT") })
	return posixVal
}

type fnmatcher struct {
	p, s  string
	posix bool
}

// fnEnd records where an inner match stopped at a '*' (glibc's struct
// STRUCT "ends"), so that a star never backtracks into an earlier one.
type fnEnd struct {
	set  bool
	p, n int
}

const charClassMaxLength = 256 // glibc's CHAR_CLASS_MAX_LENGTH

// pc returns the pattern byte at i, or 0 at and after the end.
func (m *fnmatcher) pc(i int) byte {
	if i < len(m.p) {
		return m.p[i]
	}
	return 0
}

func (m *fnmatcher) fct(p, n int, ends *fnEnd) bool {
	s := m.s
	for {
		c := m.pc(p)
		p++
		if c == 0 {
			break
		}
		switch c {
		case '?':
			if n == len(s) {
				return false
			}
		case '\\':
			c = m.pc(p)
			p++
			if c == 0 {
				return false // trailing backslash loses
			}
			if n == len(s) || s[n] != c {
				return false
			}
		case '*':
			if ends != nil {
				ends.set, ends.p, ends.n = true, p-1, n
				return true
			}
			for c, p = m.pc(p), p+1; c == '?' || c == '*'; c, p = m.pc(p), p+1 {
				if c == '?' {
					if n == len(s) {
						return false
					}
					n++
				}
			}
			// glibc advances p once more than the byte it read here.
			p--
			if c == 0 {
				return true
			}
			var end fnEnd
			found := false
			if c == '[' {
				for ; n < len(s); n++ {
					if m.fct(p, n, &end) {
						found = true
						break
					}
				}
			} else {
				if c == '\\' {
					c = m.pc(p + 1)
				}
				for ; n < len(s); n++ {
					if s[n] == c && m.fct(p, n, &end) {
						found = true
						break
					}
				}
			}
			if !found {
				return false
			}
			if !end.set {
				return true
			}
			p, n = end.p, end.n
			continue // glibc's continue skips the ++n below
		case '[':
			np, ok, literal := m.bracket(p, n)
			if literal {
				if n == len(s) || s[n] != '[' {
					return false
				}
				break
			}
			if !ok {
				return false
			}
			p = np
		default:
			if n == len(s) || s[n] != c {
				return false
			}
		}
		n++
	}
	return n == len(s)
}

// bracket matches the bracket expression whose '[' precedes p against
// s[n]. It returns the pattern index after the expression and whether
// the byte matched; literal means the '[' is unterminated and must be
// matched as an ordinary character (pattern continues at p).
func (m *fnmatcher) bracket(p, n int) (next int, ok, literal bool) {
	s := m.s
	if n == len(s) {
		return 0, false, false
	}
	not := m.pc(p) == '!' || (!m.posix && m.pc(p) == '^')
	if not {
		p++
	}
	fn := s[n]
	c := m.pc(p)
	p++
	matched := false
loop:
	for {
		var cold byte
		normal, doRange := false, false
		switch {
		case c == '\\':
			if m.pc(p) == 0 {
				return 0, false, false
			}
			c = m.pc(p)
			p++
			normal = true
		case c == '[' && m.pc(p) == ':':
			startp := p
			var name []byte
			bail := false
			for {
				if len(name) == charClassMaxLength {
					return 0, false, false
				}
				p++
				c = m.pc(p)
				if c == ':' && m.pc(p+1) == ']' {
					p += 2
					break
				}
				if c < 'a' || c >= 'z' {
					p, c, bail = startp, '[', true
					break
				}
				name = append(name, c)
			}
			if bail {
				normal = true
				break
			}
			is, valid := ctypeClass(string(name), fn)
			if !valid {
				return 0, false, false
			}
			if is {
				matched = true
				break loop
			}
			c = m.pc(p)
			p++
		case c == '[' && m.pc(p) == '=':
			startp := p
			p++
			c = m.pc(p)
			if c == 0 {
				p, c, normal = startp, '[', true
				break
			}
			eq := c
			p++
			c = m.pc(p)
			if c != '=' || m.pc(p+1) != ']' {
				p, c, normal = startp, '[', true
				break
			}
			p += 2
			if fn == eq {
				matched = true
				break loop
			}
			c = m.pc(p)
			p++
		case c == 0:
			return 0, false, true
		case c == '[' && m.pc(p) == '.':
			startp := p
			c1 := 0
			for {
				p++
				c = m.pc(p)
				if c == '.' && m.pc(p+1) == ']' {
					p += 2
					break
				}
				if c == 0 {
					return 0, false, false
				}
				c1++
			}
			isRange := m.pc(p) == '-' && m.pc(p+1) != 0
			if c1 != 1 {
				return 0, false, false
			}
			if !isRange && fn == m.pc(startp+1) {
				matched = true
				break loop
			}
			cold = m.pc(startp + 1)
			c = m.pc(p)
			p++
			doRange = true
		default:
			normal = true
		}
		if normal {
			isRange := m.pc(p) == '-' && m.pc(p+1) != 0 && m.pc(p+1) != ']'
			if !isRange && c == fn {
				matched = true
				break loop
			}
			cold = c
			c = m.pc(p)
			p++
			doRange = true
		}
		if doRange && c == '-' && m.pc(p) != ']' {
			cend := m.pc(p)
			p++
			if cend == '[' && m.pc(p) == '.' {
				startp := p
				c1 := 0
				for {
					p++
					c = m.pc(p)
					if c == '.' && m.pc(p+1) == ']' {
						p += 2
						break
					}
					if c == 0 {
						return 0, false, false
					}
					c1++
				}
				if c1 != 1 {
					return 0, false, false
				}
				cend = m.pc(startp + 1)
			} else {
				if cend == '\\' {
					cend = m.pc(p)
					p++
				}
				if cend == 0 {
					return 0, false, false
				}
			}
			if cold <= fn && fn <= cend {
				matched = true
				break loop
			}
			c = m.pc(p)
			p++
		}
		if c == ']' {
			break
		}
	}
	if !matched {
		return p, not, false
	}
	// Skip the rest of the bracket expression.
	for {
		c = m.pc(p)
		p++
		if c == ']' {
			break
		}
		switch {
		case c == 0:
			// glibc 2.36: an unterminated "[..." treats the '[' as
			// an ordinary character even after a member matched.
			return 0, false, true
		case c == '\\':
			if m.pc(p) == 0 {
				return 0, false, false
			}
			p++
		case c == '[' && m.pc(p) == ':':
			c1 := 0
			startp := p
			for {
				p++
				c = m.pc(p)
				c1++
				if c1 == charClassMaxLength {
					return 0, false, false
				}
				if m.pc(p) == ':' && m.pc(p+1) == ']' {
					break
				}
				if c < 'a' || c >= 'z' {
					p = startp - 2
					break
				}
			}
			p += 2
		case c == '[' && m.pc(p) == '=':
			p++
			c = m.pc(p)
			if c == 0 {
				return 0, false, false
			}
			p++
			c = m.pc(p)
			if c != '=' || m.pc(p+1) != ']' {
				return 0, false, false
			}
			p += 2
		case c == '[' && m.pc(p) == '.':
			for {
				p++
				c = m.pc(p)
				if c == 0 {
					return 0, false, false
				}
				if c == '.' && m.pc(p+1) == ']' {
					break
				}
			}
			p += 2
		}
	}
	return p, !not, false
}

// ctypeClass reports whether byte b is in the named character class of
// the C locale (bytes >= 0x80 are in none) and whether the name is valid.
func ctypeClass(name string, b byte) (is, valid bool) {
	isUpper := 'A' <= b && b <= 'Z'
	isLower := 'a' <= b && b <= 'z'
	isDigit := '0' <= b && b <= '9'
	isAlpha := isUpper || isLower
	isGraph := 0x21 <= b && b <= 0x7e
	switch name {
	case "alnum":
		return isAlpha || isDigit, true
	case "alpha":
		return isAlpha, true
	case "blank":
		return b == ' ' || b == '\t', true
	case "cntrl":
		return b < 0x20 || b == 0x7f, true
	case "digit":
		return isDigit, true
	case "graph":
		return isGraph, true
	case "lower":
		return isLower, true
	case "print":
		return 0x20 <= b && b <= 0x7e, true
	case "punct":
		return isGraph && !isAlpha && !isDigit, true
	case "space":
		return b == ' ' || ('\t' <= b && b <= '\r'), true
	case "upper":
		return isUpper, true
	case "xdigit":
		return isDigit || ('a' <= b && b <= 'f') || ('A' <= b && b <= 'F'), true
	}
	return false, false
}
