package depmod

import "os"

// SetReadHook installs fn to be called with the path of every module file
// depmod opens; nil removes it. Tests only.
func SetReadHook(fn func(path string)) { readHook = fn }

// CorruptCacheFacts rewrites the cache file at path with the facts of
// every entry replaced by bytes that do not decode, under a valid
// checksum. Tests only.
func CorruptCacheFacts(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := decodeCache(data)
	if err != nil {
		return err
	}
	var paths []string
	for p, e := range c.entries {
		e.facts = "\xff\xff"
		c.entries[p] = e
		paths = append(paths, p)
	}
	c.memo = nil
	return os.WriteFile(path, encodeCache(c, paths), 0o644)
}
