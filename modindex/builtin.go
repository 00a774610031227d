package modindex

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
)

// ErrBuiltinNotFound means no group of modules.builtin.modinfo has the
// requested module name. kmod returns -ENOSYS for it, which modinfo
// reports as "could not get modinfo from 'NAME': Function not implemented".
var ErrBuiltinNotFound = errors.New("module not in modules.builtin.modinfo")

// BuiltinModinfoError describes a malformed modules.builtin.modinfo met
// while scanning for a module (kmod gives an error, or has undefined
// behaviour, in these cases).
type BuiltinModinfoError struct {
	Offset int64
	Msg    string
}

func (e *BuiltinModinfoError) Error() string {
	return fmt.Sprintf("modules.builtin.modinfo: offset %#x: %s", e.Offset, e.Msg)
}

// KeyValue is one modinfo entry. A string without '=' gives the whole
// string as Key and an empty Value, like kmod_module_get_info.
type KeyValue struct {
	Key, Value string
}

// BuiltinModinfo is the content of modules.builtin.modinfo: a sequence of
// "modname.key=value\0" strings.
type BuiltinModinfo struct {
	data []byte
}

// ParseBuiltinModinfo wraps the file content. The data is scanned lazily
// by Lookup, which reproduces where kmod stops or fails.
func ParseBuiltinModinfo(data []byte) *BuiltinModinfo {
	return &BuiltinModinfo{data: data}
}

// OpenBuiltinModinfo reads modules.builtin.modinfo from path. A missing
// file gives an error satisfying errors.Is(err, fs.ErrNotExist); modinfo
// then prints only the name and filename lines and succeeds.
func OpenBuiltinModinfo(path string) (*BuiltinModinfo, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseBuiltinModinfo(data), nil
}

// str reads the NUL-terminated string at off. ok is false when the file
// ends before the NUL (kmod's get_string then reports end of file).
func (b *BuiltinModinfo) str(off int) (s string, next int, ok bool) {
	i := bytes.IndexByte(b.data[off:], 0)
	if i < 0 {
		return "", len(b.data), false
	}
	return string(b.data[off : off+i]), off + i + 1, true
}

// LookupStrings returns the strings of the first group of consecutive
// strings whose module name (text before the first '.') equals name, with
// the "name." prefix removed, in file order.
//
// Grouping follows libkmod-builtin.c: a group is a run of consecutive
// strings sharing the same prefix; only the first group with that name
// is used. ErrBuiltinNotFound when there is none.
func (b *BuiltinModinfo) LookupStrings(name string) ([]string, error) {
	size := len(b.data)
	pos := 0
	for pos < size {
		// kmod_builtin_iter_next: find the extent of this group.
		start := pos
		var modname string
		first := true
		next := pos
		broken := false // group extended to EOF because of a bad string
		for next < size {
			line, end, ok := b.str(next)
			if !ok {
				next, broken = size, true
				break
			}
			dot := strings.IndexByte(line, '.')
			if dot < 0 {
				next, broken = size, true
				break
			}
			if first {
				modname, first = line[:dot], false
			} else if line[:dot] != modname {
				break
			}
			next = end
		}
		// kmod_builtin_iter_get_modname on the group's first string.
		line, _, ok := b.str(start)
		if !ok {
			return nil, &BuiltinModinfoError{int64(start), "unterminated string"}
		}
		dot := strings.IndexByte(line, '.')
		if dot < 0 {
			return nil, &BuiltinModinfoError{int64(start), fmt.Sprintf("string %q without modname prefix", line)}
		}
		if dot >= pathMax {
			return nil, &BuiltinModinfoError{int64(start), "module name too long"}
		}
		if line[:dot] == name {
			if broken {
				// kmod would read past the group (undefined behaviour,
				// or -EINVAL for an unterminated string).
				return nil, &BuiltinModinfoError{int64(start), "group of " + name + " runs into an unterminated string or a string without modname prefix"}
			}
			var out []string
			for off := start; off < next; {
				s, end, _ := b.str(off)
				out = append(out, s[len(name)+1:])
				off = end
			}
			return out, nil
		}
		pos = next
	}
	return nil, ErrBuiltinNotFound
}

// Lookup is LookupStrings split into key/value pairs at the first '='.
func (b *BuiltinModinfo) Lookup(name string) ([]KeyValue, error) {
	ss, err := b.LookupStrings(name)
	if err != nil {
		return nil, err
	}
	kv := make([]KeyValue, len(ss))
	for i, s := range ss {
		if k, v, ok := strings.Cut(s, "="); ok {
			kv[i] = KeyValue{k, v}
		} else {
			kv[i] = KeyValue{Key: s}
		}
	}
	return kv, nil
}
