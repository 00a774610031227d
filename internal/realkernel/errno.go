package realkernel

import "github.com/kmodscope/kmodscope/errno"

// ErrnoName returns the symbolic name of errno n ("ENOEXEC") in the
// asm-generic numbering of the kernels booted here (x86-64, arm64), "" for
// 0 and "errno N" for values it does not know.
func ErrnoName(n int) string { return errno.Generic.Name(n) }
