//go:build cgo

#include "simple/simple_decoder.c"
