package cli

import (
	"fmt"
	"strings"

	"github.com/kmodscope/kmodscope/ko"
)

// kmodHex formats bytes as kmod's kmod_module_hex_to_str (libkmod-module.c,
// v30): uppercase "%02X" joined by ':', and after every 20th byte (unless it
// is the last) a line break followed by two TABs. Zero bytes give "".
func kmodHex(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b)*3 + len(b)/20*3)
	const hexdig = "0123456789ABCDEF"
	for i, c := range b {
		sb.WriteByte(hexdig[c>>4])
		sb.WriteByte(hexdig[c&15])
		if i < len(b)-1 {
			sb.WriteByte(':')
			if (i+1)%20 == 0 {
				sb.WriteString("\n\t\t")
			}
		}
	}
	return sb.String()
}

// cstr truncates s at its first NUL, as printf("%s") would.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// param is one module parameter merged from parm= and parmtype= entries.
type param struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Type        *string `json:"type"`
}

// mergeParams merges parm=NAME:DESC and parmtype=NAME:TYPE entries the way
// modinfo's process_parm/add_param do: entries are matched by NAME, later
// values overwrite earlier ones, and new names are PREPENDED, so the result
// lists parameters in reverse order of each name's first appearance.
// Entries without ':' are reported through bad (modinfo prints
// `Found invalid "parm=bad": missing ':'` and goes on).
func mergeParams(kvs []ko.KV, bad func(key, value string)) []*param {
	var list []*param // in first-appearance order; reversed on return
	idx := map[string]*param{}
	for _, kv := range kvs {
		if kv.Key != "parm" && kv.Key != "parmtype" {
			continue
		}
		v := cstr(kv.Value)
		name, rest, ok := strings.Cut(v, ":")
		if !ok {
			if bad != nil {
				bad(kv.Key, v)
			}
			continue
		}
		p := idx[name]
		if p == nil {
			p = &param{Name: name}
			idx[name] = p
			list = append(list, p)
		}
		r := rest
		if kv.Key == "parm" {
			p.Description = &r
		} else {
			p.Type = &r
		}
	}
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	return list
}

// writeParam prints one merged parameter in modinfo's default layout
// (withKey) or in the -p / -F parm layout.
func writeParam(sb *strings.Builder, p *param, withKey bool, sep byte) {
	if withKey {
		fmt.Fprintf(sb, "%-16s", "parm:")
	}
	switch {
	case p.Description == nil && withKey:
		fmt.Fprintf(sb, "%s:%s", p.Name, *p.Type) // no parentheses: modinfo's quirk
	case p.Description == nil:
		fmt.Fprintf(sb, "%s: (%s)", p.Name, *p.Type)
	case p.Type != nil:
		fmt.Fprintf(sb, "%s:%s (%s)", p.Name, *p.Description, *p.Type)
	default:
		fmt.Fprintf(sb, "%s:%s", p.Name, *p.Description)
	}
	sb.WriteByte(sep)
}

// writeField prints "key:" padded to column 16 and the value, as modinfo's
// "%s:%-*s%s" with width 15-len(key). kmod 30 passes a negative width for
// keys longer than 15 characters, which printf treats as a left-justified
// field of |width|: "averyveryverylongkey:     value".
func writeField(sb *strings.Builder, key, value string, sep byte) {
	sb.WriteString(key)
	sb.WriteByte(':')
	w := 15 - len(key)
	if w < 0 {
		w = -w
	}
	for i := 0; i < w; i++ {
		sb.WriteByte(' ')
	}
	sb.WriteString(value)
	sb.WriteByte(sep)
}
