package resolve

import (
	"os"
	"strings"
	"testing"
)

// FuzzConfig feeds modprobe.d text to the configuration parser and the
// kernel command line parser: no panic, and every parsed name is
// normalized like kmod's underscores().
func FuzzConfig(f *testing.F) {
	seed, err := os.ReadFile("testdata/modprobe.conf")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte(`quiet a.b=1 "c.d=x y" e.f="g h" modprobe.blacklist=u,v x-y.z bad"q`))
	f.Add([]byte("softdep m pre: a post: b pre:\\\n c\noptions x\\"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := &Config{}
		c.Parse(data, "fuzz")
		c.ParseKcmdline(data)
		for _, a := range c.Aliases {
			if strings.Contains(a.Modname, "-") && !strings.Contains(a.Modname, "[") {
				t.Fatalf("alias modname %q not normalized", a.Modname)
			}
		}
		for _, s := range c.Softdeps {
			for _, w := range append(append([]string{}, s.Pre...), s.Post...) {
				if w == "" || strings.ContainsAny(w, " \t\n") {
					t.Fatalf("softdep word %q", w)
				}
			}
		}
	})
}
