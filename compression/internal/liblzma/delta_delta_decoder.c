//go:build cgo

#include "delta/delta_decoder.c"
