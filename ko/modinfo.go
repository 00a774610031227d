package ko

import (
	"bytes"
	"errors"
)

// KV is one .modinfo entry. Keys repeat (alias, parm, depends...), so
// .modinfo is an ordered list, never a map.
type KV struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// ErrNoModinfo reports a module without a .modinfo section.
var ErrNoModinfo = errors.New("no .modinfo section")

// Modinfo returns the .modinfo entries in section order, split like kmod
// (libkmod-elf.c kmod_elf_get_strings, v30): leading NULs skipped, runs of
// NULs collapsed, a final unterminated string accepted; each string is split
// at its first '=' and a string without '=' is a key with an empty value.
func (m *Module) Modinfo() ([]KV, error) {
	b, s, err := m.sectionData(".modinfo")
	if err != nil {
		return nil, err
	}
	if s == nil {
		return nil, ErrNoModinfo
	}
	return ParseModinfo(b), nil
}

// ParseModinfo splits raw .modinfo contents (see Modinfo).
func ParseModinfo(b []byte) []KV {
	var out []KV
	SplitStrings(b, func(s []byte) {
		if i := bytes.IndexByte(s, '='); i >= 0 {
			out = append(out, KV{string(s[:i]), string(s[i+1:])})
		} else {
			out = append(out, KV{Key: string(s)})
		}
	})
	return out
}

// Get returns the first value of key in kvs.
func Get(kvs []KV, key string) (string, bool) {
	for _, kv := range kvs {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}
