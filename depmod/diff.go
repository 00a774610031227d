package depmod

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kmodscope/kmodscope/modindex"
)

// DiffFiles lists the index files Diff compares: kmod 34's set (kmod 30's
// plus modules.weakdep). Other files in the directories (modules.order,
// the cache, temporary files left by a killed run) are not indexes and are
// never read.
var DiffFiles = Files34

// DiffEntry is one key of an index file with its values (file order for a
// .bin index; for modules.dep the dependency list; "" for the other text
// files, whose lines are compared as a set).
type DiffEntry struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// DiffChange is a key present on both sides with other values.
type DiffChange struct {
	Key string   `json:"key"`
	A   []string `json:"a"`
	B   []string `json:"b"`
}

// FileDiff is the comparison of one index file.
type FileDiff struct {
	File    string       `json:"file"`
	Status  string       `json:"status"` // "same", "different", "only_in_a", "only_in_b"
	Added   []DiffEntry  `json:"added"`
	Removed []DiffEntry  `json:"removed"`
	Changed []DiffChange `json:"changed"`
}

// Diff compares two index sets semantically: .bin files are decoded and
// compared key by key (so kmod 30's and kmod 34's layouts of the same
// index are equal, and priorities only count through the order of a key's
// values), modules.dep line by module, the other text files as sets of
// lines without comments. A file missing on both sides is skipped. An
// unreadable directory or index gives an error naming the file.
func Diff(dirA, dirB string) ([]FileDiff, error) {
	for _, d := range []string{dirA, dirB} {
		st, err := os.Stat(d)
		if err == nil && !st.IsDir() {
			err = fmt.Errorf("not a directory")
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", d, err)
		}
	}
	var out []FileDiff
	seen := false
	for _, f := range DiffFiles {
		a, okA, err := loadIndexSet(filepath.Join(dirA, f))
		if err != nil {
			return nil, err
		}
		b, okB, err := loadIndexSet(filepath.Join(dirB, f))
		if err != nil {
			return nil, err
		}
		if !okA && !okB {
			continue
		}
		seen = true
		fd := FileDiff{File: f, Added: []DiffEntry{}, Removed: []DiffEntry{}, Changed: []DiffChange{}}
		switch {
		case !okA:
			fd.Status = "only_in_b"
		case !okB:
			fd.Status = "only_in_a"
		default:
			fd.Status = "same"
		}
		for _, k := range sortedKeys(a) {
			if vb, ok := b[k]; !ok {
				fd.Removed = append(fd.Removed, DiffEntry{k, a[k]})
			} else if !equalStrings(a[k], vb) {
				fd.Changed = append(fd.Changed, DiffChange{k, a[k], vb})
			}
		}
		for _, k := range sortedKeys(b) {
			if _, ok := a[k]; !ok {
				fd.Added = append(fd.Added, DiffEntry{k, b[k]})
			}
		}
		if fd.Status == "same" && len(fd.Added)+len(fd.Removed)+len(fd.Changed) > 0 {
			fd.Status = "different"
		}
		out = append(out, fd)
	}
	if !seen {
		return nil, fmt.Errorf("%s and %s: no module index files (modules.dep, modules.dep.bin, ...)", dirA, dirB)
	}
	return out, nil
}

func sortedKeys(m map[string][]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// loadIndexSet reads one index file as key -> values; ok is false when the
// file does not exist.
func loadIndexSet(path string) (set map[string][]string, ok bool, err error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("%s: %w", path, err)
	}
	set = map[string][]string{}
	name := filepath.Base(path)
	switch {
	case strings.HasSuffix(name, ".bin"):
		if len(data) == 0 {
			// depmod leaves a 0-byte modules.builtin*.bin without its input.
			return set, true, nil
		}
		ix, err := modindex.ParseIndex(data)
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		ix.Walk(func(key string, values []modindex.Value) {
			vs := make([]string, len(values))
			for i, v := range values {
				vs[i] = v.Value
			}
			set[key] = vs
		})
	case name == "modules.dep":
		for i, l := range bytes.Split(data, []byte("\n")) {
			if len(l) == 0 {
				continue
			}
			key, deps, found := strings.Cut(string(l), ":")
			if !found {
				return nil, false, fmt.Errorf("%s:%d: no ':' in line %.60q", path, i+1, l)
			}
			set[key] = append(set[key], strings.TrimPrefix(deps, " "))
		}
	default:
		for _, l := range strings.Split(string(data), "\n") {
			if l == "" || strings.HasPrefix(l, "#") {
				continue
			}
			set[l] = append(set[l], "")
		}
	}
	return set, true, nil
}

// FormatDiff writes the differences as text: per differing file a summary
// line, then "+ KEY VALUES" (added), "- KEY VALUES" (removed) and
// "~ KEY: A => B" (changed).
func FormatDiff(w *bytes.Buffer, diffs []FileDiff, dirA, dirB string) {
	show := func(vs []string) string {
		var b []string
		for _, v := range vs {
			if v != "" {
				b = append(b, v)
			}
		}
		return strings.Join(b, " | ")
	}
	line := func(sign, key string, vs []string) {
		if s := show(vs); s != "" {
			fmt.Fprintf(w, "%s %s %s\n", sign, key, s)
		} else {
			fmt.Fprintf(w, "%s %s\n", sign, key)
		}
	}
	for _, d := range diffs {
		switch d.Status {
		case "same":
			continue
		case "only_in_a":
			fmt.Fprintf(w, "%s: only in %s\n", d.File, dirA)
			continue
		case "only_in_b":
			fmt.Fprintf(w, "%s: only in %s\n", d.File, dirB)
			continue
		}
		fmt.Fprintf(w, "%s: %d added, %d removed, %d changed\n", d.File, len(d.Added), len(d.Removed), len(d.Changed))
		for _, e := range d.Removed {
			line("-", e.Key, e.Values)
		}
		for _, e := range d.Added {
			line("+", e.Key, e.Values)
		}
		for _, c := range d.Changed {
			fmt.Fprintf(w, "~ %s: %s => %s\n", c.Key, show(c.A), show(c.B))
		}
	}
}
