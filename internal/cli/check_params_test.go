package cli

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestCheckParams runs check --param on the committed kmsparam module
// against a minimal target: exit 0 for accepted options (unknown ones
// only warn), 3 with the kernel's message and errno for bad values, and
// the parameter table and assignments in JSON.
func TestCheckParams(t *testing.T) {
	const mod = "../../testdata/modules/amd64/built/kmsparam.ko"
	fixture, err := os.ReadFile(mod)
	if err != nil {
		t.Fatal(err)
	}
	rel := "6.1.0-57-amd64"
	root := miniTarget(t, rel, fixture)
	for _, c := range []struct {
		params []string
		code   int
		errno  string
		msg    string
	}{
		{nil, 0, "", ""},
		{[]string{"p_int=5", "p-uint=7"}, 0, "", ""},
		{[]string{"nosuch=1"}, 0, "", "kmsparam: unknown parameter 'nosuch' ignored"},
		{[]string{"p_int=abc"}, 3, "EINVAL", "kmsparam: `abc' invalid for parameter `p_int'"},
		{[]string{`p_charp="a b" p_byte=256`}, 3, "ERANGE", "kmsparam: `256' invalid for parameter `p_byte'"},
		{[]string{"p_string=123456789"}, 3, "ENOSPC", "kmsparam: `123456789' too large for parameter `p_string'"},
		{[]string{"p_bool_on=n"}, 3, "EROFS", "kmsparam: `n' invalid for parameter `p_bool_on'"},
		{[]string{"p_array=1,2,3,4"}, 3, "EINVAL", "p_array: can only take 3 arguments"},
	} {
		args := []string{"check", "--json", "-b", root, "-k", rel}
		for _, p := range c.params {
			args = append(args, "--param", p)
		}
		out, stderr, code := secRun(append(args, mod)...)
		if code != c.code {
			t.Errorf("%q: exit %d, want %d\n%s%s", c.params, code, c.code, out, stderr)
			continue
		}
		var doc checkDoc
		if err := json.Unmarshal([]byte(out), &doc); err != nil || len(doc.Results) != 1 {
			t.Fatalf("%q: %v %s", c.params, err, out)
		}
		r := doc.Results[0]
		if len(r.Parameters) != 23 {
			t.Errorf("%d parameters in the table, want 23", len(r.Parameters))
		}
		if (r.Arguments != nil) != (len(c.params) > 0) {
			t.Errorf("%q: arguments %+v", c.params, r.Arguments)
		}
		if c.errno != "" && (r.Errno == nil || *r.Errno != c.errno || *r.FailedCheck != "parameters") {
			t.Errorf("%q: errno %v check %v, want %s", c.params, r.Errno, r.FailedCheck, c.errno)
		}
		if c.msg != "" && !strings.Contains(strings.Join(r.Messages, "\n"), c.msg) {
			t.Errorf("%q: messages %q lack %q", c.params, r.Messages, c.msg)
		}
	}
	out, _, code := secRun("check", "-b", root, "-k", rel, "--param", "p_int=x", "--param", "p_custom=1", mod)
	for _, want := range []string{"REFUSED by parameters: -EINVAL (errno 22)", "insmod:   ERROR: could not insert module kmsparam.ko: Invalid parameters",
		"kernel: kmsparam: `x' invalid for parameter `p_int'", "param p_int=x (int): refused -EINVAL", "param p_custom=1 (custom): unchecked"} {
		if code != 3 || !strings.Contains(out, want) {
			t.Errorf("text output (exit %d) lacks %q:\n%s", code, want, out)
		}
	}
}
