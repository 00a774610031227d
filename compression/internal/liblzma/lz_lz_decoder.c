//go:build cgo

#include "lz/lz_decoder.c"
