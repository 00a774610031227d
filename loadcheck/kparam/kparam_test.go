package kparam

import (
	"slices"
	"strings"
	"testing"

	"github.com/kmodscope/kmodscope/ko"
)

func TestNextArg(t *testing.T) {
	for _, tc := range []struct {
		in               string
		param, val, rest string
		hasVal           bool
	}{
		{"a=1 b=2", "a", "1", "b=2", true},
		{"a", "a", "", "", false},
		{"a= b", "a", "", "b", true},
		{`a="x y" b`, "a", "x y", "b", true},
		{`"a=x y" b`, "a", "x y", "b", true},
		{`a=x"y z"`, "a", `x"y z"`, "", true},
		{`a="x`, "a", "x", "", true},
		{"=5 b", "=5", "", "b", false},
		{"a=b=c", "a", "b=c", "", true},
		{"a=1\tb=2", "a", "1", "b=2", true},
		{"a=1\nb", "a", "1", "b", true},
		{"a=1   \t  b", "a", "1", "b", true},
		{`"--"`, "--", "", "", false},
		{`""`, "", "", "", false},
	} {
		p, v, hv, r := NextArg(tc.in)
		if p != tc.param || v != tc.val || hv != tc.hasVal || r != tc.rest {
			t.Errorf("NextArg(%q) = %q %q %v %q; want %q %q %v %q", tc.in, p, v, hv, r, tc.param, tc.val, tc.hasVal, tc.rest)
		}
	}
}

func TestKstrto(t *testing.T) {
	for _, tc := range []struct {
		s     string
		bits  int
		u, s_ string // errno for unsigned and signed parsing
	}{
		{"0", 32, "", ""},
		{"+7", 32, "", ""},
		{"-7", 32, eINVAL, ""},
		{"-0", 32, eINVAL, ""},
		{"0x10", 32, "", ""},
		{"0X1f", 32, "", ""},
		{"0x", 32, eINVAL, eINVAL},
		{"0xg", 32, eINVAL, eINVAL},
		{"010", 32, "", ""},
		{"08", 32, eINVAL, eINVAL},
		{"5\n", 32, "", ""},
		{"5\n\n", 32, eINVAL, eINVAL},
		{" 5", 32, eINVAL, eINVAL},
		{"5 ", 32, eINVAL, eINVAL},
		{"", 32, eINVAL, eINVAL},
		{"abc", 32, eINVAL, eINVAL},
		{"4294967295", 32, "", eRANGE},
		{"4294967296", 32, eRANGE, eRANGE},
		{"2147483647", 32, "", ""},
		{"2147483648", 32, "", eRANGE},
		{"-2147483648", 32, eINVAL, ""},
		{"-2147483649", 32, eINVAL, eRANGE},
		{"255", 8, "", eRANGE},
		{"256", 8, eRANGE, eRANGE},
		{"18446744073709551615", 64, "", eRANGE},
		{"18446744073709551616", 64, eRANGE, eRANGE},
		{"0xffffffffffffffff", 64, "", eRANGE},
		{"0x10000000000000000", 64, eRANGE, eRANGE},
		{"9223372036854775807", 64, "", ""},
		{"-9223372036854775808", 64, eINVAL, ""},
		{"-9223372036854775809", 64, eINVAL, eRANGE},
		{"-+5", 32, eINVAL, eINVAL},
		{"+-5", 32, eINVAL, eINVAL},
		{"1e3", 32, eINVAL, eINVAL},
	} {
		if got := kstrtoU(tc.s, tc.bits); got != tc.u {
			t.Errorf("kstrtou%d(%q) = %q, want %q", tc.bits, tc.s, got, tc.u)
		}
		if got := kstrtoS(tc.s, tc.bits); got != tc.s_ {
			t.Errorf("kstrtos%d(%q) = %q, want %q", tc.bits, tc.s, got, tc.s_)
		}
	}
}

func TestKstrtobool(t *testing.T) {
	for s, want := range map[string]string{"y": "", "Yes": "", "t": "", "1": "", "n": "", "false": "", "0x": "",
		"on": "", "ON": "", "off": "", "oF": "", "o": eINVAL, "ox": eINVAL, "": eINVAL, "2": eINVAL, " y": eINVAL, "maybe": eINVAL} {
		if _, got := Kstrtobool(s); got != want {
			t.Errorf("kstrtobool(%q) = %q, want %q", s, got, want)
		}
	}
}

// table is a parameter table shaped like testdata/src/kmsparam.
func table() []ko.Param {
	ps := []ko.Param{
		{Name: "p_int", Ops: "param_ops_int", Initial: []byte{1, 0, 0, 0}},
		{Name: "p_uint", Ops: "param_ops_uint"},
		{Name: "p_byte", Ops: "param_ops_byte"},
		{Name: "p_hexint", Ops: "param_ops_hexint"},
		{Name: "p_ullong", Ops: "param_ops_ullong"},
		{Name: "p_long", Ops: "param_ops_long"},
		{Name: "p_bool", Ops: "param_ops_bool"},
		{Name: "p_invbool", Ops: "param_ops_invbool"},
		{Name: "p_bool_on", Ops: "param_ops_bool_enable_only", Initial: []byte{1}},
		{Name: "p_bool_eo", Ops: "param_ops_bool_enable_only", Initial: []byte{0}},
		{Name: "p_charp", Ops: "param_ops_charp"},
		{Name: "p_string", Ops: "param_ops_string", MaxLen: 8},
		{Name: "p_array", Ops: "param_array_ops", Array: &ko.ParamArray{Max: 3, ElemSize: 4, Ops: "param_ops_int", HasNum: true}},
		{Name: "p_barray", Ops: "param_array_ops", Array: &ko.ParamArray{Max: 2, ElemSize: 1, Ops: "param_ops_bool"}},
		{Name: "p_carray", Ops: "param_array_ops", Array: &ko.ParamArray{Max: 2, ElemSize: 8, Ops: "param_ops_charp"}},
		{Name: "p_dash_name", Ops: "param_ops_int"},
		{Name: "p_unsafe", Ops: "param_ops_int", Flags: ko.ParamFlagUnsafe},
		{Name: "p_hw", Ops: "param_ops_int", Flags: ko.ParamFlagHWParam},
		{Name: "p_custom", OpsLocal: true, OpsFlagsKnown: true},
		{Name: "p_noarg", OpsLocal: true, OpsFlags: 1, OpsFlagsKnown: true},
	}
	for i := range ps {
		ps[i].Index = i
	}
	return ps
}

func TestParse(t *testing.T) {
	long := strings.Repeat("x", 1025)
	for _, tc := range []struct {
		args  string
		errno string
		msgs  []string
		opt   Options
	}{
		{"", "", nil, Options{}},
		{"p_int=5", "", nil, Options{}},
		{"p-int=5", "", nil, Options{}},
		{"p_dash-name=5 p-dash-name=6", "", nil, Options{}},
		{"p_int=abc", eINVAL, []string{"m: `abc' invalid for parameter `p_int'"}, Options{}},
		{"p_int", eINVAL, []string{"m: `' invalid for parameter `p_int'"}, Options{}},
		{"p_int=99999999999", eRANGE, []string{"m: `99999999999' invalid for parameter `p_int'"}, Options{}},
		{"p_byte=256", eRANGE, []string{"m: `256' invalid for parameter `p_byte'"}, Options{}},
		{"p_hexint=0xffffffff p_hexint=0x100000000", eRANGE, []string{"m: `0x100000000' invalid for parameter `p_hexint'"}, Options{}},
		{"p_ullong=18446744073709551615", "", nil, Options{}},
		{"p_long=9223372036854775808", eRANGE, []string{"m: `9223372036854775808' invalid for parameter `p_long'"}, Options{}},
		{"p_long=2147483648", eRANGE, []string{"m: `2147483648' invalid for parameter `p_long'"}, Options{LongBits: 32}},
		{"p_bool p_bool=on p_bool=N", "", nil, Options{}},
		{"p_bool=maybe", eINVAL, []string{"m: `maybe' invalid for parameter `p_bool'"}, Options{}},
		{"p_invbool", eINVAL, []string{"m: `' invalid for parameter `p_invbool'"}, Options{}},
		{"p_bool_on=0", eROFS, []string{"m: `0' invalid for parameter `p_bool_on'"}, Options{}},
		{"p_bool_eo=0 p_bool_eo=1 p_bool_eo=0", eROFS, []string{"m: `0' invalid for parameter `p_bool_eo'"}, Options{}},
		{"p_charp", eINVAL, []string{"m: `' invalid for parameter `p_charp'"}, Options{}},
		{`p_charp="a b"`, "", nil, Options{}},
		{"p_charp=" + long, eNOSPC, []string{"p_charp: string parameter too long", "m: `" + long + "' too large for parameter `p_charp'"}, Options{}},
		{"p_charp=" + long, eNOSPC, []string{"p_charp: string parameter too long", ("m: `" + long)[:989]}, Options{MaxText: MaxText(6, 1)}},
		{"p_carray=" + long + ",b", eNOSPC, []string{"p_carray: string parameter too long", ("m: `" + long)[:1021]}, Options{MaxText: MaxText(6, 12)}},
		{"p_array=x,1", eINVAL, []string{"m: `x' invalid for parameter `p_array'"}, Options{}},
		{"p_array=x", eINVAL, []string{"m: `x' invalid for parameter `p_array'"}, Options{}},
		{"p_string=1234567", "", nil, Options{}},
		{"p_string=12345678", eNOSPC, []string{"p_string: string doesn't fit in 7 chars.", "m: `12345678' too large for parameter `p_string'"}, Options{}},
		{"p_array=1,2,3", "", nil, Options{}},
		{"p_array=1,2,3,4", eINVAL, []string{"p_array: can only take 3 arguments", "m: `1' invalid for parameter `p_array'"}, Options{}},
		{"p_array=1,,3", eINVAL, []string{"m: `1' invalid for parameter `p_array'"}, Options{}},
		{"p_array=", eINVAL, []string{"m: `' invalid for parameter `p_array'"}, Options{}},
		{"p_array=1,x", eINVAL, []string{"m: `1' invalid for parameter `p_array'"}, Options{}},
		{"p_array=1,99999999999", eRANGE, []string{"m: `1' invalid for parameter `p_array'"}, Options{}},
		{"p_barray=y,n", "", nil, Options{}},
		{"p_carray=a,", "", nil, Options{}},
		{"nosuch=1", "", []string{"m: unknown parameter 'nosuch' ignored"}, Options{}},
		{"a.b=1", "", []string{"m: unknown parameter 'a' ignored"}, Options{DynamicDebug: true}},
		{"a.b=1", "", []string{"m: unknown parameter 'a.b' ignored"}, Options{}},
		{"dyndbg=+p async_probe foo.dyndbg", "", nil, Options{DynamicDebug: true}},
		{"p_int=x nosuch p_uint=-1 p_int=2", eINVAL, []string{"m: `x' invalid for parameter `p_int'", "m: unknown parameter 'nosuch' ignored", "m: `-1' invalid for parameter `p_uint'"}, Options{}},
		{"p_byte=300 p_int=x", eINVAL, []string{"m: `300' invalid for parameter `p_byte'", "m: `x' invalid for parameter `p_int'"}, Options{}},
		{"p_int=x p_byte=300", eRANGE, []string{"m: `x' invalid for parameter `p_int'", "m: `300' invalid for parameter `p_byte'"}, Options{}},
		{"p_int=1 -- p_int=x", "", []string{"m: parameters 'p_int=x' after `--' ignored"}, Options{}},
		{"p_int=1 --", "", []string{"m: parameters '' after `--' ignored"}, Options{}},
		{"p_int=y -- p_int=x", eINVAL, []string{"m: `y' invalid for parameter `p_int'"}, Options{}},
		{"p_unsafe=3", "", []string{"Setting dangerous option p_unsafe - tainting kernel"}, Options{}},
		{"p_unsafe=q", eINVAL, []string{"Setting dangerous option p_unsafe - tainting kernel", "m: `q' invalid for parameter `p_unsafe'"}, Options{}},
		{"p_hw=1", ePERM, []string{"m: `1' invalid for parameter `p_hw'"}, Options{Lockdown: true}},
		{"p_hw=1", "", nil, Options{}},
		{"p_custom=anything", "", nil, Options{}},
		{"p_custom", eINVAL, []string{"m: `' invalid for parameter `p_custom'"}, Options{}},
		{"p_noarg", "", nil, Options{}},
	} {
		r := Parse("m", table(), tc.args, tc.opt)
		if r.Errno != tc.errno || !slices.Equal(r.Messages, tc.msgs) {
			t.Errorf("Parse(%.60q) = %q %q; want %q %q", tc.args, r.Errno, r.Messages, tc.errno, tc.msgs)
		}
	}
}

// FuzzParse: any options string parses without panicking; every word
// yields at most one assignment, messages are bounded by MaxText.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"p_int=5 p_array=1,2,3", `"p_charp=x y" -- a`, "p_string=12345678 nosuch a.b=1 dyndbg=+p", "p_barray=y,x p_bool_eo=1 p_bool_eo=0", "=\"\t\"\xa0p_int"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, args string) {
		r := Parse("m", table(), args, Options{MaxText: 100})
		words := len(strings.Fields(args)) + strings.Count(args, "\xa0") + 1
		if len(r.Assignments) > words {
			t.Fatalf("%d assignments from %q", len(r.Assignments), args)
		}
		for _, m := range r.Messages {
			if len(m) > 100 {
				t.Fatalf("message of %d bytes", len(m))
			}
		}
	})
}
