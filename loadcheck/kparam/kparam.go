// Package kparam applies the kernel's module parameter rules to the
// options string insmod/modprobe pass to init_module(2): parse_args(),
// next_arg(), parse_one() and the param_set_* setters of kernel/params.c,
// lib/cmdline.c and lib/kstrtox.c, with the kernel's messages and errno.
// The rules are the same in v6.1 and v6.12 (Debian 6.1.192 and 6.12.117
// sources compared; the differences are in types and sysfs code only).
//
// load_module() parses the parameters late, after the module is formed
// (state COMING): every parameter is tried, each failure prints its own
// message, and the load fails with the last error. A parameter the module
// does not have is not refused: the loader's unknown_module_param_cb
// prints "MOD: unknown parameter 'P' ignored" (and handles async_probe
// and dyndbg silently).
package kparam

import (
	"fmt"
	"strings"

	"github.com/kmodscope/kmodscope/ko"
)

// Options describe the target kernel.
type Options struct {
	// LongBits is the size of long in bits (64 on 64-bit kernels).
	LongBits int
	// DynamicDebug: CONFIG_DYNAMIC_DEBUG_CORE (dyndbg= is handled).
	DynamicDebug bool
	// Lockdown: parameters flagged KERNEL_PARAM_FL_HWPARAM are refused.
	Lockdown bool
	// MaxText is the longest message text printk keeps: vprintk_store()
	// cuts a record to LOG_LINE_MAX (6.1: 1024-32 = 992 bytes) or
	// PRINTKRB_RECORD_MAX (6.2+: 1024) including the 2-byte log level
	// and the NUL, so 989 or 1021 bytes. 0 means no limit. A cut message
	// also loses its newline, so the kernel finishes the record only at
	// the next printk.
	MaxText int
}

// MaxText returns Options.MaxText for a kernel version.
func MaxText(major, minor int) int {
	if major < 6 || major == 6 && minor < 2 {
		return 992 - 3
	}
	return 1024 - 3
}

// Assignment is what one parameter word did.
type Assignment struct {
	Word    string  `json:"word"`    // PARAM or PARAM=VALUE as the kernel split it
	Param   string  `json:"param"`   // the module's parameter name, "" if unknown
	Type    string  `json:"type"`    // its type
	Value   *string `json:"value"`   // the value (nil: no "=")
	Outcome string  `json:"outcome"` // "set", "unknown", "ignored", "unchecked", "refused"
	Errno   string  `json:"errno,omitempty"`
	Note    string  `json:"note,omitempty"`
}

// Result is the outcome of parsing a module's arguments.
type Result struct {
	// Messages are the kernel's printk lines, in order.
	Messages []string
	// Errno is the load's error ("EINVAL", "ERANGE", "ENOSPC", "EROFS",
	// "EPERM"), "" when the parameters are accepted.
	Errno string
	// TaintU is set when an unsafe parameter was set (add_taint(TAINT_USER)).
	TaintU      bool
	Assignments []Assignment
	// Notes are kmodscope's remarks (custom setters not checked, ...).
	Notes []string
}

// Refused reports whether the kernel fails the load.
func (r *Result) Refused() bool { return r.Errno != "" }

// kernel errno values returned by the setters.
const (
	eINVAL = "EINVAL"
	eRANGE = "ERANGE"
	eNOSPC = "ENOSPC"
	eROFS  = "EROFS"
	ePERM  = "EPERM"
	eNOENT = "ENOENT"
)

const opsFlNoArg = 1 // KERNEL_PARAM_OPS_FL_NOARG

// isSpace is the kernel's isspace() (lib/ctype.c): \t \n \v \f \r, space
// and Latin-1 NBSP (0xa0).
func isSpace(c byte) bool { return c == ' ' || (c >= 9 && c <= 13) || c == 0xa0 }

func skipSpaces(s string) string {
	i := 0
	for i < len(s) && isSpace(s[i]) {
		i++
	}
	return s[i:]
}

// cstr cuts s at its first NUL, as the kernel sees a C string.
func cstr(s string) string {
	if i := strings.IndexByte(s, 0); i >= 0 {
		return s[:i]
	}
	return s
}

// NextArg is lib/cmdline.c next_arg(): it splits the first word of args
// (quotes group spaces; a quote right after '=' or at the start is
// dropped with its partner at the end of the word) and returns the
// parameter, its value (hasVal false when the word has no '=' after its
// first character) and the rest with leading spaces skipped.
func NextArg(args string) (param, val string, hasVal bool, rest string) {
	b := []byte(args)
	start := 0
	inQuote, quoted := false, false
	if len(b) > 0 && b[0] == '"' {
		start, inQuote, quoted = 1, true, true
	}
	a := b[start:]
	i, equals := 0, 0
	for ; i < len(a) && a[i] != 0; i++ {
		if isSpace(a[i]) && !inQuote {
			break
		}
		if equals == 0 && a[i] == '=' {
			equals = i
		}
		if a[i] == '"' {
			inQuote = !inQuote
		}
	}
	word := append([]byte(nil), a[:i]...)
	valStart := -1
	if equals != 0 {
		word[equals] = 0
		valStart = equals + 1
		if valStart < len(word) && word[valStart] == '"' {
			valStart++
			if word[i-1] == '"' {
				word[i-1] = 0
			}
		}
	}
	if quoted && i > 0 && word[i-1] == '"' {
		word[i-1] = 0
	}
	if i < len(a) && a[i] != 0 {
		rest = string(a[i+1:])
	} else {
		rest = string(a[i:])
	}
	param = cstr(string(word))
	if valStart >= 0 {
		if valStart <= len(word) {
			val = cstr(string(word[valStart:]))
		}
		hasVal = true
	}
	return param, val, hasVal, skipSpaces(rest)
}

func dash2underscore(c byte) byte {
	if c == '-' {
		return '_'
	}
	return c
}

// Parameq is kernel/params.c parameq(): '-' and '_' are the same.
func Parameq(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if dash2underscore(a[i]) != dash2underscore(b[i]) {
			return false
		}
	}
	return true
}

// parser holds the state of one parse_args() run.
type parser struct {
	mod    string
	params []ko.Param
	opt    Options
	r      *Result
	// bools is the current value of bool_enable_only parameters.
	bools map[int]bool
	// shown is the value as parse_args prints it after the setter ran:
	// param_array() writes a NUL over each comma it reaches.
	shown string
}

// Parse runs parse_args() for module mod (struct module name) with the
// module's parameter table and the options string args, then the
// load_module() handling of its result.
func Parse(mod string, params []ko.Param, args string, opt Options) *Result {
	if opt.LongBits == 0 {
		opt.LongBits = 64
	}
	p := &parser{mod: mod, params: params, opt: opt, r: &Result{}, bools: map[int]bool{}}
	args = cstr(args)
	args = skipSpaces(args)
	lastErr := ""
	for args != "" {
		param, val, hasVal, rest := NextArg(args)
		args = rest
		p.shown = val
		if !hasVal && param == "--" {
			if lastErr == "" {
				// after_dashes: load_module warns and goes on.
				p.msg("%s: parameters '%s' after `--' ignored", mod, args)
				p.r.Notes = append(p.r.Notes, "the kernel ignores the parameters after `--'")
			}
			break
		}
		errno := p.parseOne(param, val, hasVal)
		switch errno {
		case "":
			continue
		case eNOENT:
			p.msg("%s: Unknown parameter `%s'", mod, param)
		case eNOSPC:
			p.msg("%s: `%s' too large for parameter `%s'", mod, p.shown, param)
		default:
			p.msg("%s: `%s' invalid for parameter `%s'", mod, p.shown, param)
		}
		lastErr = errno
	}
	p.r.Errno = lastErr
	return p.r
}

func (p *parser) msg(format string, a ...any) {
	m := fmt.Sprintf(format, a...)
	if p.opt.MaxText > 0 && len(m) > p.opt.MaxText {
		m = m[:p.opt.MaxText]
	}
	p.r.Messages = append(p.r.Messages, m)
}

func word(param, val string, hasVal bool) string {
	if hasVal {
		return param + "=" + val
	}
	return param
}

// parseOne is parse_one() with unknown_module_param_cb; it returns the
// setter's errno name.
func (p *parser) parseOne(param, val string, hasVal bool) string {
	a := Assignment{Word: word(param, val, hasVal)}
	if hasVal {
		v := val
		a.Value = &v
	}
	for i := range p.params {
		kp := &p.params[i]
		if !Parameq(param, kp.Name) {
			continue
		}
		a.Param, a.Type = kp.Name, kp.Type()
		// The level window of load_module is -32768..32767: every s8 fits.
		errno, outcome, note := p.set(kp, val, hasVal)
		a.Outcome, a.Errno, a.Note = outcome, errno, note
		p.r.Assignments = append(p.r.Assignments, a)
		return errno
	}
	// unknown_module_param_cb.
	a.Outcome = "ignored"
	switch {
	case param == "async_probe":
		a.Note = "async_probe: the module is probed asynchronously (handled by the loader)"
	case p.dyndbg(param):
		a.Note = "dyndbg: handed to dynamic debug (query messages are not modelled)"
		p.r.Notes = append(p.r.Notes, "dyndbg="+val+": the dynamic debug query is passed to the kernel, which does not refuse the module for it; its messages are not modelled")
	default:
		shown := param
		if p.opt.DynamicDebug {
			// ddebug_dyndbg_param_cb cuts the name at its first '.'
			// (for "MOD.dyndbg") before the loader prints it.
			if i := strings.IndexByte(shown, '.'); i >= 0 {
				shown = shown[:i]
			}
		}
		a.Outcome = "unknown"
		a.Note = "the module has no such parameter: the kernel ignores it"
		p.msg("%s: unknown parameter '%s' ignored", p.mod, shown)
	}
	p.r.Assignments = append(p.r.Assignments, a)
	return ""
}

// dyndbg reports whether ddebug_dyndbg_module_param_cb takes the
// parameter ("dyndbg" or "ANY.dyndbg").
func (p *parser) dyndbg(param string) bool {
	if i := strings.IndexByte(param, '.'); i >= 0 {
		param = param[i+1:]
	}
	if param != "dyndbg" {
		return false
	}
	if !p.opt.DynamicDebug {
		// The !CONFIG_DYNAMIC_DEBUG_CORE stub handles only "dyndbg".
		return false
	}
	return true
}

// set runs the parameter's setter as parse_one does.
func (p *parser) set(kp *ko.Param, val string, hasVal bool) (errno, outcome, note string) {
	noArg, known := p.noArg(kp)
	if !hasVal {
		if !known {
			return "", "unchecked", "the module's own kernel_param_ops: whether it accepts a missing value is not known"
		}
		if !noArg {
			return eINVAL, "refused", "a value is required (no KERNEL_PARAM_OPS_FL_NOARG)"
		}
	}
	if kp.Flags&ko.ParamFlagHWParam != 0 && p.opt.Lockdown {
		return ePERM, "refused", "a hardware parameter cannot be set under lockdown"
	}
	if kp.Flags&ko.ParamFlagUnsafe != 0 {
		p.msg("Setting dangerous option %s - tainting kernel", kp.Name)
		p.r.TaintU = true
	}
	if kp.OpsLocal || (kp.Ops != "param_array_ops" && ko.OpsType(kp.Ops) == "") {
		what := "the module's own kernel_param_ops"
		if !kp.OpsLocal {
			what = "kernel_param_ops " + kp.Ops
			if kp.Ops == "" {
				what = "kernel_param_ops without a relocation"
			}
		}
		p.r.Notes = append(p.r.Notes, fmt.Sprintf("%s: custom setter (%s): value not checked", kp.Name, what))
		return "", "unchecked", "custom setter: value not checked"
	}
	if kp.Ops == "param_array_ops" {
		return p.setArray(kp, val, hasVal)
	}
	e := p.setScalar(kp.Ops, kp.Name, val, hasVal, kp)
	if e != "" {
		return e, "refused", ""
	}
	return "", "set", ""
}

// noArg reports KERNEL_PARAM_OPS_FL_NOARG of the parameter's ops; known
// is false for module-defined ops whose flags could not be read and for
// kernel ops kmodscope does not know.
func (p *parser) noArg(kp *ko.Param) (noArg, known bool) {
	if kp.OpsLocal {
		return kp.OpsFlags&opsFlNoArg != 0, kp.OpsFlagsKnown
	}
	switch kp.Ops {
	case "param_ops_bool", "param_ops_bool_enable_only", "param_ops_bint":
		return true, true
	}
	if kp.Ops == "param_array_ops" || ko.OpsType(kp.Ops) != "" {
		return false, true
	}
	return false, false
}

// setScalar runs param_set_TYPE for ops sym on val; name is the
// parameter's (or array's) name used in the setters' messages.
func (p *parser) setScalar(sym, name, val string, hasVal bool, kp *ko.Param) string {
	switch sym {
	case "param_ops_byte":
		return kstrtoU(val, 8)
	case "param_ops_ushort":
		return kstrtoU(val, 16)
	case "param_ops_uint", "param_ops_hexint":
		return kstrtoU(val, 32)
	case "param_ops_ulong":
		return kstrtoU(val, p.opt.LongBits)
	case "param_ops_ullong":
		return kstrtoU(val, 64)
	case "param_ops_short":
		return kstrtoS(val, 16)
	case "param_ops_int":
		return kstrtoS(val, 32)
	case "param_ops_long":
		return kstrtoS(val, p.opt.LongBits)
	case "param_ops_bool", "param_ops_bint":
		if !hasVal {
			val = "1"
		}
		_, e := Kstrtobool(val)
		return e
	case "param_ops_invbool":
		_, e := Kstrtobool(val)
		return e
	case "param_ops_bool_enable_only":
		if !hasVal {
			val = "1"
		}
		v, e := Kstrtobool(val)
		if e != "" {
			return e
		}
		cur := false
		if kp != nil {
			if c, ok := p.bools[kp.Index]; ok {
				cur = c
			} else if len(kp.Initial) > 0 {
				cur = kp.Initial[0] != 0
			}
		}
		if !v && cur {
			return eROFS // "Don't let them unset it once it's set!"
		}
		if v && kp != nil {
			p.bools[kp.Index] = true
		}
		return ""
	case "param_ops_charp":
		if len(val) > 1024 {
			p.msg("%s: string parameter too long", name)
			return eNOSPC
		}
		return ""
	case "param_ops_string":
		var maxlen uint32
		if kp != nil {
			maxlen = kp.MaxLen
		}
		if uint64(len(val)) >= uint64(maxlen) {
			// strnlen(val, maxlen) == maxlen; maxlen-1 printed as %u.
			p.msg("%s: string doesn't fit in %d chars.", name, uint32(maxlen-1))
			return eNOSPC
		}
		return ""
	}
	return ""
}

// setArray is param_array_set(): comma-separated elements, at most max,
// at least one; each element parsed by the element ops.
func (p *parser) setArray(kp *ko.Param, val string, hasVal bool) (errno, outcome, note string) {
	arr := kp.Array
	if arr == nil {
		p.r.Notes = append(p.r.Notes, kp.Name+": array description (struct kparam_array) not found: value not checked")
		return "", "unchecked", "array description not found"
	}
	if arr.OpsLocal || ko.OpsType(arr.Ops) == "" || arr.Ops == "param_ops_string" {
		p.r.Notes = append(p.r.Notes, fmt.Sprintf("%s: array elements have a custom setter: value not checked", kp.Name))
		return "", "unchecked", "custom element setter: value not checked"
	}
	num := uint32(0)
	rest := val
	for {
		if num == arr.Max {
			p.msg("%s: can only take %d arguments", kp.Name, int32(arr.Max))
			return eINVAL, "refused", fmt.Sprintf("at most %d elements", arr.Max)
		}
		elem, after, more := strings.Cut(rest, ",")
		if num == 0 && more {
			// The value now ends at the first comma.
			p.shown = elem
		}
		if e := p.setScalar(arr.Ops, kp.Name, elem, true, nil); e != "" {
			return e, "refused", fmt.Sprintf("element %d", num+1)
		}
		num++
		if !more {
			break
		}
		rest = after
	}
	return "", "set", ""
}

// Kstrtobool is lib/kstrtox.c kstrtobool(): y/Y/t/T/1, n/N/f/F/0,
// on/ON, off/OFF (only the first one or two characters count).
func Kstrtobool(s string) (bool, string) {
	c := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	switch c(0) {
	case 'y', 'Y', 't', 'T', '1':
		return true, ""
	case 'n', 'N', 'f', 'F', '0':
		return false, ""
	case 'o', 'O':
		switch c(1) {
		case 'n', 'N':
			return true, ""
		case 'f', 'F':
			return false, ""
		}
	}
	return false, eINVAL
}

// kstrtoull is lib/kstrtox.c kstrtoull() with base 0: optional '+',
// 0x/0X (when a hex digit follows) for hex, a leading 0 for octal, one
// optional trailing newline. It returns the value, whether it overflowed
// and the errno name ("" ok).
func kstrtoull(s string) (uint64, string) {
	if strings.HasPrefix(s, "+") {
		s = s[1:]
	}
	return kstrtoullNoSign(s)
}

func kstrtoullNoSign(s string) (uint64, string) {
	c := func(i int) byte {
		if i < len(s) {
			return s[i]
		}
		return 0
	}
	base := uint64(10)
	if c(0) == '0' {
		if c(1)|0x20 == 'x' && isXDigit(c(2)) {
			base = 16
			s = s[2:]
		} else {
			base = 8
		}
	}
	var res uint64
	overflow := false
	n := 0
digits:
	for ; n < len(s); n++ {
		ch := s[n]
		var v uint64
		switch lc := ch | 0x20; {
		case ch >= '0' && ch <= '9':
			v = uint64(ch - '0')
		case lc >= 'a' && lc <= 'f':
			v = uint64(lc-'a') + 10
		default:
			break digits
		}
		if v >= base {
			break
		}
		if res>>60 != 0 && res > (^uint64(0)-v)/base {
			overflow = true
		}
		res = res*base + v
	}
	if overflow {
		return 0, eRANGE
	}
	if n == 0 {
		return 0, eINVAL
	}
	s = s[n:]
	if strings.HasPrefix(s, "\n") {
		s = s[1:]
	}
	if s != "" {
		return 0, eINVAL
	}
	return res, ""
}

func isXDigit(c byte) bool {
	return c >= '0' && c <= '9' || c|0x20 >= 'a' && c|0x20 <= 'f'
}

// kstrtoU is kstrtoull plus the range check of kstrtou8/u16/uint/ul.
func kstrtoU(s string, bits int) string {
	v, e := kstrtoull(s)
	if e != "" {
		return e
	}
	if bits < 64 && v>>uint(bits) != 0 {
		return eRANGE
	}
	return ""
}

// kstrtoS is kstrtoll plus the range check of kstrtos16/int/l.
func kstrtoS(s string, bits int) string {
	var v int64
	if strings.HasPrefix(s, "-") {
		u, e := kstrtoullNoSign(s[1:])
		if e != "" {
			return e
		}
		if int64(-u) > 0 {
			return eRANGE
		}
		v = int64(-u)
	} else {
		u, e := kstrtoull(s)
		if e != "" {
			return e
		}
		if int64(u) < 0 {
			return eRANGE
		}
		v = int64(u)
	}
	if bits < 64 {
		lim := int64(1) << uint(bits-1)
		if v < -lim || v >= lim {
			return eRANGE
		}
	}
	return ""
}
