package resolve

import (
	"bytes"
	"fmt"
	"os"
	"sort"
	"strings"
)

// DefaultConfigPaths are kmod 30's modprobe.d directories, used when no
// -C/--config is given.
var DefaultConfigPaths = []string{"/etc/modprobe.d", "/run/modprobe.d", "/usr/local/lib/modprobe.d", "/lib/modprobe.d"}

// Alias is an "alias PATTERN MODNAME" line.
type Alias struct{ Pattern, Modname string }

// Option is an "options MODNAME OPTIONS..." line (or a modname.param=value
// word of the kernel command line).
type Option struct{ Modname, Options string }

// Command is an "install MODNAME COMMAND..." or "remove ..." line.
type Command struct{ Modname, Command string }

// Softdep is a "softdep MODNAME pre: ... post: ..." line.
type Softdep struct {
	Modname   string
	Pre, Post []string
}

// Config is the modprobe configuration libkmod builds in kmod_config_new:
// modprobe.d files, the module directory's modules.softdep and the kernel
// command line, each list in the order kmod keeps it.
type Config struct {
	Aliases   []Alias
	Blacklist []string
	Options   []Option
	Install   []Command
	Remove    []Command
	Softdeps  []Softdep
	// Files are the configuration files read, in order.
	Files []string
	// Errors are the messages libkmod logs at ERROR level while parsing
	// (without the "modprobe: ERROR: " prefix, with the final newline).
	Errors []string
}

func (c *Config) errf(format string, a ...any) {
	c.Errors = append(c.Errors, fmt.Sprintf(format, a...))
}

type confFile struct {
	dir, name string
	single    bool
}

func (f confFile) path() string {
	if f.single {
		return f.dir
	}
	return f.dir + "/" + f.name
}

// insertSorted is conf_files_insert_sorted: files ordered by name, a name
// already present ignored.
func insertSorted(list []confFile, f confFile) []confFile {
	i := sort.Search(len(list), func(i int) bool { return list[i].name >= f.name })
	if i < len(list) && list[i].name == f.name {
		return list
	}
	list = append(list, confFile{})
	copy(list[i+1:], list[i:])
	list[i] = f
	return list
}

// LoadConfig mirrors kmod_config_new for the module directory dirname:
// modules.softdep in dirname, then the files of each path of paths (a
// directory gives its *.conf and *.alias files, a file itself), ordered by
// file name with the first of equal names kept; then kcmdline (the
// content of /proc/cmdline; nil for none) is parsed like
// kmod_config_parse_kcmdline.
func LoadConfig(dirname string, paths []string, kcmdline []byte) *Config {
	cfg := &Config{}
	list := insertSorted(nil, confFile{dir: dirname, name: "modules.softdep"})
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			base := p
			if i := strings.LastIndexByte(p, '/'); i >= 0 {
				base = p[i+1:]
			}
			list = insertSorted(list, confFile{dir: p, name: base, single: true})
			continue
		}
		ents, err := os.ReadDir(p)
		if err != nil {
			cfg.errf("opendir(%s): %s\n", p, errnoText(err))
			continue
		}
		for _, e := range ents {
			n := e.Name()
			if n[0] == '.' || len(n) < 6 || (!strings.HasSuffix(n, ".conf") && !strings.HasSuffix(n, ".alias")) {
				continue
			}
			if st, err := os.Stat(p + "/" + n); err == nil && st.IsDir() {
				cfg.errf("Directories inside directories are not supported: %s/%s\n", p, n)
				continue
			}
			list = insertSorted(list, confFile{dir: p, name: n})
		}
	}
	for _, f := range list {
		data, err := os.ReadFile(f.path())
		if err != nil {
			continue
		}
		cfg.Files = append(cfg.Files, f.path())
		cfg.Parse(data, f.path())
	}
	if kcmdline != nil {
		cfg.ParseKcmdline(kcmdline)
	}
	return cfg
}

// readLines is freadline_wrapped: a backslash-newline joins lines, any
// other backslash is dropped (the next byte is kept). Each line comes with
// the number of the last physical line it used.
func readLines(data []byte) (lines []string, nums []int) {
	var buf []byte
	n := 0
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '\n':
			n++
			lines, nums = append(lines, string(buf)), append(nums, n)
			buf = buf[:0]
		case c == '\\' && i+1 < len(data) && data[i+1] == '\n':
			n++
			i++
		case c == '\\' && i+1 < len(data):
			i++
			buf = append(buf, data[i])
		case c == '\\':
			// EOF right after a backslash: kmod stores (char)EOF.
			buf = append(buf, 0xff)
		default:
			buf = append(buf, c)
		}
	}
	if len(buf) > 0 {
		n++
		lines, nums = append(lines, string(buf)), append(nums, n)
	}
	return lines, nums
}

// underscores is shared/util.c underscores(): '-' becomes '_' outside
// "[...]"; ']' alone or an unterminated '[' is invalid.
func underscores(s string) (string, bool) {
	b := []byte(s)
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '-':
			b[i] = '_'
		case ']':
			return "", false
		case '[':
			j := bytes.IndexByte(b[i:], ']')
			if j < 0 {
				return "", false
			}
			i += j
		}
	}
	return string(b), true
}

// strtok returns the next token of s delimited by space or tab (strtok_r
// with "\t "), and the rest after the single delimiter that ended it.
func strtok(s string) (tok, rest string, ok bool) {
	s = strings.TrimLeft(s, "\t ")
	if s == "" {
		return "", "", false
	}
	i := strings.IndexAny(s, "\t ")
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i+1:], true
}

// Parse adds the commands of one configuration file (kmod_config_parse).
func (c *Config) Parse(data []byte, filename string) {
	lines, nums := readLines(data)
	for li, line := range lines {
		if k := strings.IndexByte(line, 0); k >= 0 {
			line = line[:k]
		}
		if line == "" || line[0] == '#' {
			continue
		}
		cmd, rest, ok := strtok(line)
		if !ok {
			continue
		}
		// rest2 is strtok_r(NULL, "\0"): whatever follows the second
		// token's delimiter, or nothing.
		arg1, rest2, has1 := strtok(rest)
		var tail string
		hasTail := false
		if has1 && rest2 != "" {
			tail, hasTail = rest2, true
		}
		bad := false
		switch cmd {
		case "alias":
			arg2, _, has2 := strtok(rest2)
			a, ok1 := underscores(arg1)
			m, ok2 := underscores(arg2)
			if !has1 || !has2 || !ok1 || !ok2 {
				bad = true
				break
			}
			c.Aliases = append(c.Aliases, Alias{a, m})
		case "blacklist":
			m, ok := underscores(arg1)
			if !has1 || !ok {
				bad = true
				break
			}
			c.Blacklist = append(c.Blacklist, m)
		case "options", "install", "remove", "softdep":
			m, ok := underscores(arg1)
			if !has1 || !ok || !hasTail {
				bad = true
				break
			}
			switch cmd {
			case "options":
				c.Options = append(c.Options, Option{m, strings.ReplaceAll(tail, "\t", " ")})
			case "install":
				c.Install = append(c.Install, Command{m, tail})
			case "remove":
				c.Remove = append(c.Remove, Command{m, tail})
			case "softdep":
				c.Softdeps = append(c.Softdeps, parseSoftdep(m, tail))
			}
		case "include", "config":
			c.errf("%s: command %s is deprecated and not parsed anymore\n", filename, cmd)
		default:
			bad = true
		}
		if bad {
			c.errf("%s line %d: ignoring bad line starting with '%s'\n", filename, nums[li], cmd)
		}
	}
}

func isCSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r'
}

// parseSoftdep is kmod_config_add_softdep: words after "pre:" go to Pre,
// after "post:" to Post, words before either are ignored.
func parseSoftdep(modname, line string) Softdep {
	d := Softdep{Modname: modname}
	mode := 0
	for _, w := range strings.FieldsFunc(line, isCSpace) {
		switch {
		case w == "pre:":
			mode = 1
		case w == "post:":
			mode = 2
		case mode == 1:
			d.Pre = append(d.Pre, w)
		case mode == 2:
			d.Post = append(d.Post, w)
		}
	}
	return d
}

// ParseKcmdline adds the modname.param=value words of a kernel command
// line as options, and modprobe.blacklist=a,b as blacklist entries
// (kmod_config_parse_kcmdline, including its quoting rules).
func (c *Config) ParseKcmdline(data []byte) {
	const kcmdLineSize = 4096
	if len(data) >= kcmdLineSize {
		data = data[:kcmdLineSize-1]
	}
	if k := bytes.IndexByte(data, 0); k >= 0 {
		data = data[:k]
	}
	buf := append(append([]byte{}, data...), 0)
	const (
		stIgnore = iota
		stModname
		stParam
		stValue
		stComplete
	)
	state := stModname
	quoteStart := -1
	modname, param, value := 0, -1, -1
	quoted := false
	cstr := func(i int) string {
		j := bytes.IndexByte(buf[i:], 0)
		return string(buf[i : i+j])
	}
	for p := 0; p < len(buf); p++ {
		switch buf[p] {
		case '"':
			quoted = !quoted
			if quoted && state == stModname && p == modname {
				quoteStart = p
				modname = p + 1
			} else if state != stValue {
				state = stIgnore
			}
		case 0, ' ', '\n', '\t', '\v', '\f', '\r':
			switch {
			case quoted && state == stValue:
			case quoted:
				state = stIgnore
			case state == stValue || state == stParam:
				buf[p] = 0
				state = stComplete
			default:
				modname = p + 1
				state = stModname
				quoteStart = -1
			}
		case '.':
			if state == stModname {
				buf[p] = 0
				param = p + 1
				state = stParam
			} else if state == stParam {
				state = stIgnore
			}
		case '=':
			if state == stParam {
				value = p + 1
				state = stValue
			} else if state == stModname {
				state = stIgnore
			}
		}
		if state == stComplete {
			if quoteStart >= 0 && quoteStart < modname && value >= 0 {
				copy(buf[quoteStart:], buf[modname:value])
				value--
				modname--
				param--
				buf[value] = '"'
			}
			c.kcmdlineResult(cstr(modname), param, value, buf)
			modname = p + 1
			state = stModname
			quoteStart = -1
		}
	}
}

func (c *Config) kcmdlineResult(modname string, param, value int, buf []byte) {
	if param < 0 {
		return
	}
	ps := string(buf[param : param+bytes.IndexByte(buf[param:], 0)])
	if modname == "modprobe" && strings.HasPrefix(ps, "blacklist=") {
		if value >= 0 {
			v := string(buf[value : value+bytes.IndexByte(buf[value:], 0)])
			c.Blacklist = append(c.Blacklist, strings.Split(v, ",")...)
		}
		return
	}
	m, ok := underscores(modname)
	if !ok {
		c.errf("Ignoring bad option on kernel command line while parsing module name: '%s'\n", modname)
		return
	}
	c.Options = append(c.Options, Option{m, ps})
}

func errnoText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		err = pe.Err
	}
	s := err.Error()
	if s != "" {
		s = strings.ToUpper(s[:1]) + s[1:]
	}
	return s
}
