package depmod

import (
	"os"
	"path/filepath"
)

// SetReadHook installs fn to be called with the path of every module file
// depmod opens; nil removes it. Tests only.
func SetReadHook(fn func(path string)) { readHook = fn }

// SetSumHook installs fn to be called with the path of every index file
// whose content is checked against the memo; nil removes it. Tests only.
func SetSumHook(fn func(path string)) { sumHook = fn }

// CorruptCacheFacts rewrites the cache file at path with the facts of
// every entry replaced by bytes that do not decode, under a valid
// checksum, and removes the journal next to it. Tests only.
func CorruptCacheFacts(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	c, err := decodeCache(data)
	if err != nil {
		return err
	}
	for i := range c.list {
		c.list[i].facts = "\xff\xff"
	}
	// The memo, in the journal, would let the run reuse the index files.
	os.Remove(filepath.Join(filepath.Dir(path), JournalName))
	return os.WriteFile(path, encodeCache(c), 0o644)
}
