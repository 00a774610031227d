// Package resolve answers, from a module directory's binary indexes
// (modules.dep.bin, modules.alias.bin, modules.symbols.bin,
// modules.builtin.bin, modules.builtin.alias.bin) and the modprobe
// configuration, what kmod 30's `modprobe -R` (resolve an alias to module
// names) and `modprobe --show-depends` (the insmod/builtin/install lines a
// load would run) print. It also explains dependencies: which symbols make
// one module need another, and the dependency graph.
//
// Behaviour follows kmod 30: tools/modprobe.c insmod() and libkmod's
// kmod_module_new_from_lookup, kmod_module_probe_insert_module and
// kmod_config_new, including libkmod's module object cache (a module
// reached through an alias is a different object from the same module
// reached by name) and its quirks (dependency lists reversed from
// modules.dep, softdeps of dependencies filled without a visited check).
package resolve

import (
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/kmodscope/kmodscope/modindex"
)

// Module is a libkmod module object. Objects are shared: the same name
// (or name and alias) gives the same *Module for the Resolver's life.
type Module struct {
	// Name is the module name (normalized when it came from a name or a
	// path; as stored in the index when it came from an alias).
	Name string
	// Alias is the alias the module was found through ("" for none).
	Alias string

	path        string
	hasPath     bool
	depInit     bool
	deps        []*Module
	builtin     int8 // 0 unknown, 1 yes, 2 no
	installInit bool
	install     *string
	optInit     bool
	options     *string

	visited   bool
	ignorecmd bool
}

// Resolver looks modules up in one module directory.
type Resolver struct {
	dirname string
	cfg     *Config
	// ix are the indexes; nil when absent or unreadable (as kmod skips
	// them). mmap tells whether kmod_load_resources would have
	// succeeded, which selects the value order of kmod's mmap reader.
	ix   map[string]*modindex.Index
	mmap map[string]bool
	pool map[string]*Module
	// Errors receives the messages libkmod logs at ERROR level during
	// lookups (without the "modprobe: ERROR: " prefix).
	Errors func(msg string)
	// Stat checks that a dependency's file exists (libkmod stats each
	// module of a modules.dep line); nil means os.Stat.
	Stat func(path string) error
}

// Open reads the indexes of dirname (the absolute module directory,
// ROOT/lib/modules/RELEASE). A missing or bad-header index is treated as
// absent like kmod does; a structurally malformed one is an error. cfg
// may be nil for an empty configuration.
func Open(dirname string, cfg *Config) (*Resolver, error) {
	if cfg == nil {
		cfg = &Config{}
	}
	r := &Resolver{dirname: dirname, cfg: cfg, ix: map[string]*modindex.Index{}, mmap: map[string]bool{}, pool: map[string]*Module{}}
	all := true
	for _, name := range []string{modindex.DepBin, modindex.AliasBin, modindex.SymbolsBin, modindex.BuiltinAliasBin, modindex.BuiltinBin} {
		ix, err := modindex.OpenIndex(dirname + "/" + name)
		if err != nil {
			if errors.Is(err, modindex.ErrMalformed) {
				return nil, err
			}
			ix = nil
		}
		r.ix[name] = ix
		if name == modindex.BuiltinAliasBin {
			r.mmap[name] = ix != nil
		} else if ix == nil {
			all = false
		}
	}
	// kmod_load_resources stops at the first index it cannot map
	// (modules.builtin.alias.bin excepted) and unloads them all.
	for _, name := range []string{modindex.DepBin, modindex.AliasBin, modindex.SymbolsBin, modindex.BuiltinBin} {
		r.mmap[name] = all
	}
	if !all {
		r.mmap[modindex.BuiltinAliasBin] = false
	}
	return r, nil
}

// Dirname is the module directory.
func (r *Resolver) Dirname() string { return r.dirname }

// Config is the configuration in use.
func (r *Resolver) Config() *Config { return r.cfg }

func (r *Resolver) errf(format string, a ...any) {
	if r.Errors != nil {
		r.Errors(fmt.Sprintf(format, a...))
	}
}

func (r *Resolver) search(name, key string) (string, bool) {
	ix := r.ix[name]
	if ix == nil {
		return "", false
	}
	if r.mmap[name] {
		return ix.SearchMmap(key)
	}
	return ix.Search(key)
}

func (r *Resolver) searchWild(name, key string) []modindex.Value {
	ix := r.ix[name]
	if ix == nil {
		return nil
	}
	if r.mmap[name] {
		return ix.SearchWildMmap(key)
	}
	return ix.SearchWild(key)
}

func (r *Resolver) newModule(key, name, alias string) *Module {
	if m := r.pool[key]; m != nil {
		return m
	}
	m := &Module{Name: name, Alias: alias}
	r.pool[key] = m
	return m
}

// fromName is kmod_module_new_from_name.
func (r *Resolver) fromName(name string) *Module {
	n := modindex.ModnameNormalize(name)
	return r.newModule(n, n, "")
}

// fromAlias is kmod_module_new_from_alias.
func (r *Resolver) fromAlias(alias, name string) *Module {
	return r.newModule(name+"\\"+alias, name, alias)
}

// fromPath is kmod_module_new_from_path (the file must exist).
func (r *Resolver) fromPath(path string) (*Module, error) {
	stat := r.Stat
	if stat == nil {
		stat = func(p string) error { _, err := os.Stat(p); return err }
	}
	if err := stat(path); err != nil {
		return nil, err
	}
	base := path[strings.LastIndexByte(path, '/')+1:]
	name := modindex.ModnameNormalize(base)
	if m := r.pool[name]; m != nil {
		switch {
		case !m.hasPath:
			m.path, m.hasPath = path, true
		case m.path != path:
			r.errf("kmod_module '%s' already exists with different path: new-path='%s' old-path='%s'\n", name, path, m.path)
			return nil, errors.New("File exists")
		}
		return m, nil
	}
	m := r.newModule(name, name, "")
	m.path, m.hasPath = path, true
	m.builtin = 2
	return m, nil
}

// pathJoin is shared/util.c path_join with the directory prefix.
func (r *Resolver) pathJoin(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return r.dirname + "/" + p
}

// parseDepline is kmod_module_parse_depline.
func (r *Resolver) parseDepline(m *Module, line string) {
	if m.depInit {
		return
	}
	m.depInit = true
	i := strings.IndexByte(line, ':')
	if i < 0 {
		return
	}
	if len(r.dirname)+2 >= 4096 {
		return
	}
	if !m.hasPath {
		m.path, m.hasPath = r.pathJoin(line[:i]), true
	}
	var deps []*Module
	for _, f := range strings.FieldsFunc(line[i+1:], func(c rune) bool { return c == ' ' || c == '\t' }) {
		p := r.pathJoin(f)
		d, err := r.fromPath(p)
		if err != nil {
			var msg string
			if pe, ok := err.(*os.PathError); ok {
				msg = errnoText(pe)
			} else {
				msg = err.Error()
			}
			r.errf("ctx=%p path=%s error=%s\n", r, p, msg)
			m.depInit = false
			return
		}
		deps = append([]*Module{d}, deps...) // kmod_list_prepend
	}
	m.deps = deps
}

// dependencies is kmod_module_get_dependencies.
func (r *Resolver) dependencies(m *Module) []*Module {
	if !m.depInit {
		line, ok := r.search(modindex.DepBin, m.Name)
		if !ok {
			return nil
		}
		r.parseDepline(m, line)
		if !m.depInit {
			return nil
		}
	}
	return m.deps
}

// Path is kmod_module_get_path: the module file, or "" for none.
func (r *Resolver) Path(m *Module) string {
	if m.hasPath {
		return m.path
	}
	if m.depInit {
		return ""
	}
	line, ok := r.search(modindex.DepBin, m.Name)
	if !ok {
		return ""
	}
	r.parseDepline(m, line)
	return m.path
}

// Builtin is kmod_module_is_builtin.
func (r *Resolver) Builtin(m *Module) bool {
	if m.builtin == 0 {
		m.builtin = 2
		if _, ok := r.search(modindex.BuiltinBin, m.Name); ok {
			m.builtin = 1
		}
	}
	return m.builtin == 1
}

// Dependencies returns the module's hard dependencies as libkmod lists
// them (the reverse of the modules.dep line).
func (r *Resolver) Dependencies(m *Module) []*Module { return r.dependencies(m) }

// Options is kmod_module_get_options: the options of every "options"
// line for the module's name or alias, joined by spaces ("" for none).
func (r *Resolver) Options(m *Module) (string, bool) {
	if !m.optInit {
		var opts []string
		for _, o := range r.cfg.Options {
			if o.Modname != m.Name && (m.Alias == "" || o.Modname != m.Alias) {
				continue
			}
			if o.Options == "" {
				continue
			}
			opts = append(opts, o.Options)
		}
		m.optInit = true
		if opts != nil {
			s := strings.Join(opts, " ")
			m.options = &s
		}
	}
	if m.options == nil {
		return "", false
	}
	return *m.options, true
}

// InstallCommand is kmod_module_get_install_commands: the first install
// command whose pattern matches the name.
func (r *Resolver) InstallCommand(m *Module) (string, bool) {
	if !m.installInit {
		for _, c := range r.cfg.Install {
			if modindex.Fnmatch(c.Modname, m.Name) {
				cmd := c.Command
				m.install = &cmd
				break
			}
		}
		m.installInit = true
	}
	if m.install == nil {
		return "", false
	}
	return *m.install, true
}

// ErrInvalidAlias is the lookup failure for an alias that alias_normalize
// rejects.
var ErrInvalidAlias = modindex.ErrInvalidAlias

// Lookup is kmod_module_new_from_lookup: the first source that gives
// modules wins, in this order: configuration aliases (fnmatch),
// modules.dep.bin, modules.symbols.bin ("symbol:" names), install and
// remove commands, modules.alias.bin, modules.builtin.bin,
// modules.builtin.alias.bin. Nothing found is an empty list and no error.
func (r *Resolver) Lookup(arg string) ([]*Module, error) {
	name, err := modindex.AliasNormalize(arg)
	if err != nil {
		return nil, err
	}
	var list []*Module
	for _, a := range r.cfg.Aliases {
		if modindex.Fnmatch(a.Pattern, name) {
			list = append(list, r.fromAlias(a.Pattern, a.Modname))
		}
	}
	if len(list) > 0 {
		return list, nil
	}
	if !strings.Contains(name, ":") {
		if line, ok := r.search(modindex.DepBin, name); ok {
			m := r.fromName(name)
			r.parseDepline(m, line)
			return []*Module{m}, nil
		}
	}
	if strings.HasPrefix(name, "symbol:") {
		if list = r.fromAliasIndex(modindex.SymbolsBin, name, false); len(list) > 0 {
			return list, nil
		}
	}
	for _, c := range r.cfg.Install {
		if c.Modname == name {
			m := r.fromName(c.Modname)
			cmd := c.Command
			m.install, m.installInit = &cmd, true
			return []*Module{m}, nil
		}
	}
	for _, c := range r.cfg.Remove {
		if c.Modname == name {
			return []*Module{r.fromName(c.Modname)}, nil
		}
	}
	if list = r.fromAliasIndex(modindex.AliasBin, name, false); len(list) > 0 {
		return list, nil
	}
	if _, ok := r.search(modindex.BuiltinBin, name); ok {
		m := r.fromName(name)
		m.builtin = 1
		return []*Module{m}, nil
	}
	return r.fromAliasIndex(modindex.BuiltinAliasBin, name, true), nil
}

func (r *Resolver) fromAliasIndex(index, name string, builtin bool) []*Module {
	var list []*Module
	for _, v := range r.searchWild(index, name) {
		m := r.fromAlias(name, v.Value)
		if builtin {
			m.builtin = 1
		}
		list = append(list, m)
	}
	return list
}

// Action is one line of `modprobe --show-depends`.
type Action struct {
	// Kind is "insmod", "builtin" or "install".
	Kind    string `json:"action"`
	Name    string `json:"name"`
	Path    string `json:"path,omitempty"`
	Command string `json:"command,omitempty"`
	Options string `json:"options"`
	// Softdep is true when the module comes from a softdep rather than
	// from the module itself or its modules.dep line.
	Softdep bool `json:"softdep"`
}

// String is the line modprobe prints (without the newline).
func (a Action) String() string {
	switch a.Kind {
	case "install":
		return "install " + a.Command + " " + a.Options
	case "builtin":
		return "builtin " + a.Name
	}
	return "insmod " + a.Path + " " + a.Options
}

// Blacklisted is module_is_blacklisted.
func (r *Resolver) Blacklisted(m *Module) bool {
	for _, b := range r.cfg.Blacklist {
		if b == m.Name {
			return true
		}
	}
	return false
}

type probeItem struct {
	m       *Module
	softdep bool
}

// ShowDepends is kmod_module_probe_insert_module with modprobe's
// --show-depends flags (dry run, loaded state ignored, blacklist applied
// to modules found through an alias): the actions modprobe prints for m.
// extra are the options given on the command line for m itself (nil for
// none). A blacklisted alias module gives no actions.
func (r *Resolver) ShowDepends(m *Module, extra *string) []Action {
	if m.Alias != "" && r.Blacklisted(m) {
		return nil
	}
	for _, p := range r.pool {
		p.visited = false
	}
	var list []probeItem
	r.probeList(m, &list, false)
	var out []Action
	for _, it := range list {
		x := it.m
		mopt, hasOpt := r.Options(x)
		var xopt *string
		if x == m {
			xopt = extra
		}
		options := optionsConcat(mopt, hasOpt, xopt)
		a := Action{Name: x.Name, Options: options, Softdep: it.softdep}
		if cmd, ok := r.InstallCommand(x); ok && !x.ignorecmd {
			a.Kind, a.Command = "install", cmd
			out = append(out, a)
			continue
		}
		if p := r.Path(x); p != "" {
			a.Kind, a.Path = "insmod", p
			out = append(out, a)
		} else if r.Builtin(x) {
			a.Kind = "builtin"
			out = append(out, a)
		}
	}
	return out
}

// optionsConcat is module_options_concat (note the trailing space when
// only configured options exist).
func optionsConcat(opt string, hasOpt bool, xopt *string) string {
	x := ""
	if xopt != nil {
		x = *xopt
	}
	if len(opt) == 0 && len(x) == 0 {
		return ""
	}
	if hasOpt {
		return opt + " " + x
	}
	return x
}

// probeList is __kmod_module_get_probe_list (ignorecmd false).
func (r *Resolver) probeList(m *Module, list *[]probeItem, soft bool) {
	if m.visited {
		return
	}
	m.visited = true
	for _, d := range r.dependencies(m) {
		r.fillSoftdep(d, list, soft)
	}
	r.fillSoftdep(m, list, soft)
}

// fillSoftdep is __kmod_module_fill_softdep.
func (r *Resolver) fillSoftdep(m *Module, list *[]probeItem, soft bool) {
	pre, post := r.Softdeps(m)
	for _, p := range pre {
		r.probeList(p, list, true)
	}
	*list = append(*list, probeItem{m, soft})
	m.ignorecmd = len(pre) > 0 || len(post) > 0
	for _, p := range post {
		r.probeList(p, list, true)
	}
}

// Softdeps is kmod_module_get_softdeps: the modules of the first softdep
// line whose pattern matches the name, each name looked up in full.
func (r *Resolver) Softdeps(m *Module) (pre, post []*Module) {
	for _, s := range r.cfg.Softdeps {
		if !modindex.Fnmatch(s.Modname, m.Name) {
			continue
		}
		return r.lookupSoftdep(s.Pre), r.lookupSoftdep(s.Post)
	}
	return nil, nil
}

func (r *Resolver) lookupSoftdep(names []string) []*Module {
	var out []*Module
	for _, n := range names {
		l, err := r.Lookup(n)
		if err != nil {
			r.errf("failed to lookup soft dependency '%s', continuing anyway.\n", n)
			continue
		}
		out = append(out, l...)
	}
	return out
}

// SymbolOwner is the module modules.symbols.bin gives for an exported
// symbol (the owner depmod chose).
func (r *Resolver) SymbolOwner(sym string) (string, bool) {
	return r.search(modindex.SymbolsBin, "symbol:"+sym)
}
