// Package symvers reads Module.symvers, the table of exported symbols and
// their CRCs that modpost writes for a kernel build (scripts/mod/modpost.c
// write_dump; Debian ships it in linux-headers-REL and as
// /boot/symvers-REL.gz).
//
// Line format (5.9 and later):
//
//	0x%08x \t symbol \t module \t EXPORT_SYMBOL|EXPORT_SYMBOL_GPL \t namespace \n
//
// where module is "vmlinux" or the module's path without .ko, and an empty
// namespace still has its tab. Older formats are accepted too: 5.4–5.8 put
// the namespace third (crc, symbol, namespace, module, export) and earlier
// kernels had four columns (crc, symbol, module, export). A CRC of
// 0x00000000 means the symbol has no CRC.
package symvers

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/kmodscope/kmodscope/compression"
	"io"
	"strconv"
	"strings"
)

// Symbol is one exported symbol.
type Symbol struct {
	Name      string `json:"name"`
	CRC       uint32 `json:"crc"`
	Module    string `json:"module"` // "vmlinux" or the module path without .ko
	GPLOnly   bool   `json:"gpl_only"`
	Namespace string `json:"namespace"`
}

// InVmlinux reports whether the symbol is exported by the kernel image.
func (s *Symbol) InVmlinux() bool { return s.Module == "vmlinux" }

// ModuleName returns the module name (base name, '-' mapped to '_') of the
// exporter, or "vmlinux".
func (s *Symbol) ModuleName() string {
	m := s.Module
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		m = m[i+1:]
	}
	return strings.ReplaceAll(m, "-", "_")
}

// Table is a parsed Module.symvers, in file order, with a name index.
type Table struct {
	Symbols []Symbol
	byName  map[string]int
}

// Lookup returns the symbol called name (the last one listed wins, as in
// modpost's read_dump).
func (t *Table) Lookup(name string) (*Symbol, bool) {
	i, ok := t.byName[name]
	if !ok {
		return nil, false
	}
	return &t.Symbols[i], true
}

// ParseError names the line that could not be parsed.
type ParseError struct {
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// Parse reads a Module.symvers.
func Parse(r io.Reader) (*Table, error) {
	t := &Table{byName: map[string]int{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		l := sc.Text()
		if l == "" {
			continue
		}
		f := strings.Split(l, "\t")
		var s Symbol
		var export string
		switch {
		case len(f) >= 5 && isExport(f[3]):
			s.Name, s.Module, export, s.Namespace = f[1], f[2], f[3], f[4]
		case len(f) >= 5 && isExport(f[4]): // 5.4–5.8
			s.Name, s.Namespace, s.Module, export = f[1], f[2], f[3], f[4]
		case len(f) == 4 && isExport(f[3]):
			s.Name, s.Module, export = f[1], f[2], f[3]
		default:
			return nil, &ParseError{line, fmt.Sprintf("not a Module.symvers line: %q", l)}
		}
		crc, err := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 32)
		if err != nil {
			return nil, &ParseError{line, fmt.Sprintf("invalid CRC %q", f[0])}
		}
		s.CRC = uint32(crc)
		s.GPLOnly = export == "EXPORT_SYMBOL_GPL" || export == "EXPORT_SYMBOL_GPL_FUTURE"
		t.byName[s.Name] = len(t.Symbols)
		t.Symbols = append(t.Symbols, s)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return t, nil
}

func isExport(s string) bool { return strings.HasPrefix(s, "EXPORT_SYMBOL") }

// Open reads a Module.symvers file, gzip-compressed (symvers-REL.gz) or not.
func Open(path string) (*Table, error) {
	data, _, err := compression.ReadFile(path, 256<<20)
	if err != nil {
		return nil, err
	}
	var r io.Reader = bytes.NewReader(data)
	t, err := Parse(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}
