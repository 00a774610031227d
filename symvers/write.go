package symvers

import (
	"bufio"
	"fmt"
	"io"
)

// New returns a table of syms, in the given order (the last of several
// symbols with one name wins a lookup, as in Parse).
func New(syms []Symbol) *Table {
	t := &Table{Symbols: syms, byName: make(map[string]int, len(syms))}
	for i := range syms {
		t.byName[syms[i].Name] = i
	}
	return t
}

// ExportType returns "EXPORT_SYMBOL_GPL" or "EXPORT_SYMBOL".
func (s *Symbol) ExportType() string {
	if s.GPLOnly {
		return "EXPORT_SYMBOL_GPL"
	}
	return "EXPORT_SYMBOL"
}

// Line returns the symbol as modpost's write_dump prints it (5.9 and
// later), without the newline: "0x%08x\tNAME\tMODULE\tEXPORT\tNAMESPACE".
func (s *Symbol) Line() string {
	return fmt.Sprintf("0x%08x\t%s\t%s\t%s\t%s", s.CRC, s.Name, s.Module, s.ExportType(), s.Namespace)
}

// Write writes syms in Module.symvers format, one line each, in order.
func Write(w io.Writer, syms []Symbol) error {
	bw := bufio.NewWriterSize(w, 64<<10)
	for i := range syms {
		bw.WriteString(syms[i].Line())
		bw.WriteByte('\n')
	}
	return bw.Flush()
}
