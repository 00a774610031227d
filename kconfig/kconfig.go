// Package kconfig reads a kernel .config (boot/config-REL), plain or gzip
// (/proc/config.gz).
package kconfig

import (
	"bufio"
	"bytes"
	"github.com/kmodscope/kmodscope/compression"
	"io"
	"strings"
)

// Config maps CONFIG_ names to their values ("y", "m", "\"string\"", "123").
// Options set to "is not set" are absent.
type Config map[string]string

// Enabled reports whether name is set to y or m.
func (c Config) Enabled(name string) bool {
	v := c[name]
	return v == "y" || v == "m"
}

// String returns a string option without its quotes.
func (c Config) String(name string) string {
	v := c[name]
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// Parse reads a .config.
func Parse(r io.Reader) (Config, error) {
	c := Config{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if l == "" || l[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(l, "=")
		if ok && strings.HasPrefix(k, "CONFIG_") {
			c[k] = v
		}
	}
	return c, sc.Err()
}

// Open reads a config file, gzip-compressed or not.
func Open(path string) (Config, error) {
	data, _, err := compression.ReadFile(path, 64<<20)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(data)
	return Parse(r)
}
