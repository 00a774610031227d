package cli

import (
	"errors"
	"path/filepath"

	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/modindex"
)

// Result is a module a command-line argument resolved to.
type Result = modindex.Result

// lookupModules resolves a module name or alias like modinfo (kmod's
// kmod_module_new_from_lookup, or kmod_module_new_from_name_lookup with
// -m). Not finding anything is (nil, nil).
func lookupModules(dir, arg string, nameOnly bool) ([]Result, error) {
	rs, err := modindex.Lookup(dir, arg, nameOnly)
	if errors.Is(err, modindex.ErrNotFound) {
		return nil, nil
	}
	return rs, err
}

// builtinModinfo returns a builtin module's entries from
// modules.builtin.modinfo; a missing file gives an error satisfying
// errors.Is(err, fs.ErrNotExist) (modinfo then prints only the name and
// filename lines).
func builtinModinfo(dir, name string) ([]ko.KV, error) {
	b, err := modindex.OpenBuiltinModinfo(filepath.Join(dir, modindex.BuiltinModinfoFile))
	if err != nil {
		return nil, err
	}
	kvs, err := b.Lookup(name)
	if errors.Is(err, modindex.ErrBuiltinNotFound) {
		return nil, errors.New("no entry for it in " + filepath.Join(dir, modindex.BuiltinModinfoFile))
	}
	if err != nil {
		return nil, err
	}
	out := make([]ko.KV, len(kvs))
	for i, kv := range kvs {
		out[i] = ko.KV{Key: kv.Key, Value: kv.Value}
	}
	return out, nil
}
