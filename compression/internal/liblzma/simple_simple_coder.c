//go:build cgo

#include "simple/simple_coder.c"
