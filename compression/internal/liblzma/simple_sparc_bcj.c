//go:build cgo

#include "simple/sparc.c"
