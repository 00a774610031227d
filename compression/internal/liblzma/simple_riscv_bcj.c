//go:build cgo

#include "simple/riscv.c"
