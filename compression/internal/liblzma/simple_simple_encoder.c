//go:build cgo

#include "simple/simple_encoder.c"
