package cli

import (
	"errors"

	"github.com/kmodscope/kmodscope/ko"

)

// lookupModules resolves a module name or alias like modinfo (TEMPORARY until modindex.Lookup lands).
func lookupModules(dir, arg string, nameOnly bool) ([]Result, error) {
	return nil, nil
}

func builtinModinfo(dir, name string) ([]ko.KV, error) {
	return nil, errors.New("not implemented")
}
type Result struct{Name, Path string; Builtin bool}
