//go:build cgo

#include "simple/powerpc.c"
