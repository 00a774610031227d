package modindex

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Index file names inside a module directory.
const (
	DepBin             = "modules.dep.bin"
	AliasBin           = "modules.alias.bin"
	SymbolsBin         = "modules.symbols.bin"
	BuiltinBin         = "modules.builtin.bin"
	BuiltinAliasBin    = "modules.builtin.alias.bin"
	BuiltinModinfoFile = "modules.builtin.modinfo"
)

// DumpPrefix is the line prefix kmod_dump_index uses for each index
// (libkmod.c index_files[]).
var DumpPrefix = map[string]string{
	DepBin:          "",
	AliasBin:        "alias ",
	SymbolsBin:      "alias ",
	BuiltinAliasBin: "",
	BuiltinBin:      "",
}

// ErrNotFound means the lookup completed without finding a module (kmod
// returns success with an empty list).
var ErrNotFound = errors.New("module not found")

// Result is one module found by Lookup.
type Result struct {
	// Name is the module name (a modules.dep name, or the value stored
	// in an alias index).
	Name string
	// Path is the module file as libkmod's kmod_module_get_path gives
	// it: the modules.dep.bin entry for Name, relative entries joined to
	// the absolute module directory, absolute entries kept. It is ""
	// when modules.dep.bin has no usable entry for Name; modinfo then
	// prints "(builtin)" as the filename.
	Path string
	// Builtin is true when the module came from modules.builtin.bin or
	// modules.builtin.alias.bin.
	Builtin bool
}

// LookupError is returned by Lookup for every failure, including "not
// found" (errors.Is(err, ErrNotFound)).
type LookupError struct {
	Arg      string // the argument as given
	NameOnly bool   // modinfo -m
	Err      error  // ErrNotFound, ErrInvalidAlias, *FormatError or an I/O error
}

func (e *LookupError) Error() string {
	return fmt.Sprintf("lookup %q: %v", e.Arg, e.Err)
}

func (e *LookupError) Unwrap() error { return e.Err }

// ModinfoMessage is the message kmod 30's modinfo prints for this failure
// (after "modinfo: ERROR: "); modinfo then exits with status 1.
//
//	-m, any failure                     Module name %s not found.
//	not found                           Module %s not found.
//	lookup error (invalid alias, ...)   Module alias %s not found.
func (e *LookupError) ModinfoMessage() string {
	switch {
	case e.NameOnly:
		return fmt.Sprintf("Module name %s not found.", e.Arg)
	case errors.Is(e.Err, ErrNotFound):
		return fmt.Sprintf("Module %s not found.", e.Arg)
	default:
		return fmt.Sprintf("Module alias %s not found.", e.Arg)
	}
}

// lookupCtx holds the module directory and the indexes opened so far.
type lookupCtx struct {
	dirname string
	indexes map[string]*Index
}

// index opens an index the way kmod's index_file_open does: a file that
// cannot be opened or read, or that has a bad header (including a 0-byte
// file), is treated as absent (nil, nil). A structurally broken index is
// an error, where kmod has undefined behaviour.
func (c *lookupCtx) index(name string) (*Index, error) {
	if ix, ok := c.indexes[name]; ok {
		return ix, nil
	}
	ix, err := OpenIndex(c.dirname + "/" + name)
	if err != nil {
		if errors.Is(err, ErrMalformed) {
			return nil, err
		}
		ix = nil
	}
	c.indexes[name] = ix
	return ix, nil
}

// searchModdep is kmod_search_moddep.
func (c *lookupCtx) searchModdep(name string) (string, bool, error) {
	ix, err := c.index(DepBin)
	if err != nil || ix == nil {
		return "", false, err
	}
	line, ok := ix.Search(name)
	return line, ok, nil
}

// depPath mirrors the path part of kmod_module_parse_depline.
func (c *lookupCtx) depPath(line string) string {
	i := strings.IndexByte(line, ':')
	if i < 0 {
		return ""
	}
	rel := line[:i]
	dirlen := len(c.dirname)
	if dirlen+2 >= pathMax {
		return ""
	}
	if strings.HasPrefix(rel, "/") {
		return rel
	}
	if dirlen+1+len(rel)+1 >= pathMax {
		return ""
	}
	return c.dirname + "/" + rel
}

// modulePath is kmod_module_get_path for a module without a path yet.
func (c *lookupCtx) modulePath(name string) (string, error) {
	line, ok, err := c.searchModdep(name)
	if err != nil || !ok {
		return "", err
	}
	return c.depPath(line), nil
}

func (c *lookupCtx) fromModdep(name string) ([]Result, error) {
	if strings.IndexByte(name, ':') >= 0 {
		return nil, nil
	}
	line, ok, err := c.searchModdep(name)
	if err != nil || !ok {
		return nil, err
	}
	return []Result{{Name: ModnameNormalize(name), Path: c.depPath(line)}}, nil
}

func (c *lookupCtx) fromAliasBin(file, name string, builtin bool) ([]Result, error) {
	ix, err := c.index(file)
	if err != nil || ix == nil {
		return nil, err
	}
	var out []Result
	for _, v := range ix.SearchWild(name) {
		p, err := c.modulePath(v.Value)
		if err != nil {
			return nil, err
		}
		out = append(out, Result{Name: v.Value, Path: p, Builtin: builtin})
	}
	return out, nil
}

func (c *lookupCtx) fromBuiltin(name string) ([]Result, error) {
	ix, err := c.index(BuiltinBin)
	if err != nil || ix == nil {
		return nil, err
	}
	if _, ok := ix.Search(name); !ok {
		return nil, nil
	}
	mod := ModnameNormalize(name)
	p, err := c.modulePath(mod)
	if err != nil {
		return nil, err
	}
	return []Result{{Name: mod, Path: p, Builtin: true}}, nil
}

// Lookup finds the modules modinfo (kmod 30, null configuration) reports
// for an argument that is not a module file, using the indexes in
// moduleDir (e.g. ROOT/lib/modules/RELEASE; made absolute against the
// working directory without cleaning, like kmod). An empty moduleDir
// means /lib/modules/$(uname -r).
//
// With nameOnly false this is kmod_module_new_from_lookup: the argument
// is alias_normalize'd, then the first non-empty step wins:
// modules.dep.bin exact (not for names containing ':'),
// modules.symbols.bin wildcard (names starting with "symbol:"),
// modules.alias.bin wildcard, modules.builtin.bin exact,
// modules.builtin.alias.bin wildcard. Alias results keep kmod's order and
// duplicates.
//
// With nameOnly true this is kmod_module_new_from_name_lookup (modinfo
// -m): modname_normalize, then modules.dep.bin, modules.builtin.bin,
// modules.builtin.alias.bin; at most one result.
//
// A missing, unreadable, empty or bad-header index is skipped like kmod
// does. Every failure is a *LookupError; "not found" wraps ErrNotFound.
func Lookup(moduleDir, arg string, nameOnly bool) ([]Result, error) {
	dir, err := moduleDirname(moduleDir)
	if err != nil {
		return nil, &LookupError{Arg: arg, NameOnly: nameOnly, Err: err}
	}
	c := &lookupCtx{dirname: dir, indexes: map[string]*Index{}}
	res, err := c.lookup(arg, nameOnly)
	if err != nil {
		return nil, &LookupError{Arg: arg, NameOnly: nameOnly, Err: err}
	}
	if len(res) == 0 {
		return nil, &LookupError{Arg: arg, NameOnly: nameOnly, Err: ErrNotFound}
	}
	return res, nil
}

func (c *lookupCtx) lookup(arg string, nameOnly bool) ([]Result, error) {
	var steps []func(string) ([]Result, error)
	var name string
	if nameOnly {
		name = ModnameNormalize(arg)
		steps = []func(string) ([]Result, error){
			c.fromModdep,
			c.fromBuiltin,
			func(n string) ([]Result, error) { return c.fromAliasBin(BuiltinAliasBin, n, true) },
		}
	} else {
		var err error
		name, err = AliasNormalize(arg)
		if err != nil {
			return nil, err
		}
		steps = []func(string) ([]Result, error){
			c.fromModdep,
			func(n string) ([]Result, error) {
				if !strings.HasPrefix(n, "symbol:") {
					return nil, nil
				}
				return c.fromAliasBin(SymbolsBin, n, false)
			},
			func(n string) ([]Result, error) { return c.fromAliasBin(AliasBin, n, false) },
			c.fromBuiltin,
			func(n string) ([]Result, error) { return c.fromAliasBin(BuiltinAliasBin, n, true) },
		}
	}
	for _, step := range steps {
		res, err := step(name)
		if err != nil {
			return nil, err
		}
		if len(res) > 0 {
			if nameOnly {
				res = res[:1]
			}
			return res, nil
		}
	}
	return nil, nil
}

// moduleDirname mirrors get_kernel_release / path_make_absolute_cwd.
func moduleDirname(dir string) (string, error) {
	if dir == "" {
		rel, err := os.ReadFile("/proc/sys/kernel/osrelease")
		if err != nil {
			return "", err
		}
		return "/lib/modules/" + strings.TrimSpace(string(rel)), nil
	}
	if filepath.IsAbs(dir) {
		return dir, nil
	}
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	return wd + "/" + dir, nil
}
