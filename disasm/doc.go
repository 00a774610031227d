// Package disasm disassembles the code sections of kernel modules for every
// architecture Debian ships that golang.org/x/arch decodes, annotating each
// instruction with the relocations that patch it, like objdump -d -r.
package disasm
