//go:build cgo

#include "simple/x86.c"
