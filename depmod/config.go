package depmod

import (
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
)

// DefaultConfigPaths are kmod 30's depmod.d directories, in order. Like
// kmod they are not prefixed with the base directory.
var DefaultConfigPaths = []string{"/etc/depmod.d", "/run/depmod.d", "/usr/local/lib/depmod.d", "/lib/depmod.d"}

type searchKind int

const (
	searchPath searchKind = iota
	searchBuiltin
	searchExternal
)

type cfgSearch struct {
	kind searchKind
	path string
}

// config is depmod.d's parsed content. Every list is in kmod's linked-list
// order: the reverse of the order the entries were read in.
type config struct {
	searches  []cfgSearch
	overrides []string // "subdir/modname"
	externals []string
	excludes  []string
}

func prepend[T any](list []T, v T) []T {
	return append([]T{v}, list...)
}

// kernelMatches is cfg_kernel_matches: "*" or an unanchored extended
// regular expression matched against the release.
func kernelMatches(release, pattern string) bool {
	if pattern == "*" {
		return true
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return false
	}
	return re.MatchString(release)
}

type cfgFile struct{ name, path string }

// listConfigFiles is cfg_files_list + cfg_files_insert_sorted: files sorted
// by base name across all paths, the first directory holding a name wins.
func (r *run) listConfigFiles(paths []string) []cfgFile {
	var files []cfgFile
	insert := func(name, path string) {
		i := sort.Search(len(files), func(i int) bool { return files[i].name >= name })
		if i < len(files) && files[i].name == name {
			return
		}
		files = append(files, cfgFile{})
		copy(files[i+1:], files[i:])
		files[i] = cfgFile{name, path}
	}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			continue
		}
		if !st.IsDir() {
			insert(filepath.Base(p), p)
			continue
		}
		d, err := os.Open(p)
		if err != nil {
			r.log.errf("files list %s: %s\n", p, strerror(err))
			continue
		}
		names, _ := d.Readdirnames(-1)
		d.Close()
		for _, name := range names {
			if name[0] == '.' {
				continue
			}
			if len(name) < 6 || !strings.HasSuffix(name, ".conf") {
				r.log.infof("All cfg files need .conf: %s/%s\n", p, name)
				continue
			}
			if st, err := os.Stat(p + "/" + name); err == nil && st.IsDir() {
				r.log.errf("Directories inside directories are not supported: %s/%s\n", p, name)
				continue
			}
			insert(name, p+"/"+name)
		}
	}
	return files
}

// readWrapped splits a file into logical lines the way freadline_wrapped
// does: a backslash before a newline joins lines; before any other
// character the backslash is dropped and that character kept. It returns
// each line with the number of the physical line it ended on.
func readWrapped(data []byte) (lines []string, linenums []int) {
	var buf []byte
	n := 0
	i := 0
	for {
		if i >= len(data) {
			if len(buf) == 0 {
				return
			}
			n++
			lines = append(lines, string(buf))
			linenums = append(linenums, n)
			return
		}
		ch := data[i]
		i++
		switch ch {
		case '\n':
			n++
			lines = append(lines, string(buf))
			linenums = append(linenums, n)
			buf = buf[:0]
		case '\\':
			if i < len(data) && data[i] == '\n' {
				i++
				n++
				continue
			}
			if i >= len(data) {
				// getc returned EOF: kmod stores (char)EOF.
				buf = append(buf, 0xff)
				continue
			}
			buf = append(buf, data[i])
			i++
		default:
			buf = append(buf, ch)
		}
	}
}

// fields splits like strtok_r(" \t").
func fields(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == '\t' })
}

func (r *run) parseConfigFile(cfg *config, path string) {
	data, err := os.ReadFile(path)
	if err != nil {
		r.log.errf("file parse %s: %s\n", path, strerror(err))
		return
	}
	lines, nums := readWrapped(data)
	for li, line := range lines {
		// C strings: a NUL ends the line.
		if i := strings.IndexByte(line, 0); i >= 0 {
			line = line[:i]
		}
		if line == "" || line[0] == '#' {
			continue
		}
		f := fields(line)
		if len(f) == 0 {
			continue
		}
		cmd, args := f[0], f[1:]
		bad := false
		switch cmd {
		case "search":
			for _, a := range args {
				s := cfgSearch{kind: searchPath, path: a}
				switch a {
				case "built-in":
					s = cfgSearch{kind: searchBuiltin}
				case "external":
					s = cfgSearch{kind: searchExternal}
				}
				cfg.searches = prepend(cfg.searches, s)
			}
		case "override":
			if len(args) < 3 {
				bad = true
				break
			}
			if !kernelMatches(r.opt.Release, args[1]) {
				r.log.infof("%s:%d: override kernel did not match %s\n", path, nums[li], args[1])
				break
			}
			cfg.overrides = prepend(cfg.overrides, args[2]+"/"+args[0])
		case "external":
			if len(args) < 2 {
				bad = true
				break
			}
			if !kernelMatches(r.opt.Release, args[0]) {
				r.log.infof("%s:%d: external directory did not match %s\n", path, nums[li], args[0])
				break
			}
			cfg.externals = prepend(cfg.externals, args[1])
		case "exclude":
			for _, a := range args {
				cfg.excludes = prepend(cfg.excludes, a)
			}
		case "include", "make_map_files":
			r.log.infof("%s:%d: command %s not implemented yet\n", path, nums[li], cmd)
		default:
			bad = true
		}
		if bad {
			r.log.errf("%s:%d: ignoring bad line starting with '%s'\n", path, nums[li], cmd)
		}
	}
}

// loadConfig is cfg_load.
func (r *run) loadConfig(paths []string) *config {
	if paths == nil {
		paths = DefaultConfigPaths
	}
	cfg := &config{}
	for _, f := range r.listConfigFiles(paths) {
		r.parseConfigFile(cfg, f.path)
	}
	if cfg.searches == nil {
		cfg.searches = []cfgSearch{{kind: searchPath, path: "updates"}}
	}
	return cfg
}
