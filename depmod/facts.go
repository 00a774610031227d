package depmod

import (
	"errors"
	"fmt"
	"os"

	"github.com/kmodscope/kmodscope/ko"
)

// Facts is a read-only view of the incremental cache (CacheName) that
// `kmodscope depmod` keeps next to the indexes: what depmod read from each
// module file, keyed by the file's path, device, inode, size, mtime and
// ctime. Other commands use it to skip reading unchanged modules; the
// cache's format stays private to this package.
type Facts struct {
	path    string
	entries map[string]rawEntry
}

// ModuleFacts are what depmod read from one module file.
type ModuleFacts struct {
	// Exports are the symbols the module exports, with their CRCs, as
	// ko.Module.KmodExports returns them (nil when it exports nothing).
	Exports []ko.KmodSymbol
	// Imports are the module's undefined symbols in symbol table order,
	// as ko.Module.Imports returns them.
	Imports []ko.Import
	// Info are the alias, softdep and weakdep entries of .modinfo, in order.
	Info []ko.KV
	// Err is the error opening or reading the module gave depmod (its
	// message), nil when the module was read.
	Err error
}

// LoadFacts reads the cache in the module directory dir. version and
// maxSize are those of the reader (Options.Version and Options.MaxSize): a
// cache written by another kmodscope version or with another --max-size
// holds facts this reader might not produce, and is refused like depmod
// refuses it. The error names the file and says what is wrong;
// errors.Is(err, os.ErrNotExist) when there is no cache.
func LoadFacts(dir, version string, maxSize int64) (*Facts, error) {
	r := &run{opt: &Options{Version: version, MaxSize: maxSize}, outdir: dir}
	path := r.cachePath()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := decodeCache(data)
	if err == nil && c.header != r.cacheHeader() {
		err = fmt.Errorf("written with other settings (%q, now %q)", c.header, r.cacheHeader())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Facts{path: path, entries: c.entries}, nil
}

// Path is the cache file's path.
func (f *Facts) Path() string { return f.path }

// Len is the number of module files the cache describes.
func (f *Facts) Len() int { return len(f.entries) }

// Module returns the facts of the module file at path (spelled as depmod
// spells it: the module directory, "/", the path below it) when the cache
// has an entry for it whose key is that of the file now. ok is false when
// the entry is absent, stale (the file changed, moved or is gone) or
// malformed: the caller reads the file then. Safe for concurrent use.
func (f *Facts) Module(path string) (m *ModuleFacts, ok bool) {
	e, found := f.entries[path]
	if !found {
		return nil, false
	}
	if key, ok := statKey(path); !ok || key != e.key {
		return nil, false
	}
	ce, err := decodeFacts(e.facts)
	if err != nil {
		return nil, false
	}
	m = &ModuleFacts{Exports: ce.exports, Imports: ce.imports, Info: ce.info}
	switch {
	case ce.noExports:
		m.Exports = nil
	case ce.errno != "":
		m.Err = errors.New(ce.detail)
	}
	return m, true
}
