//go:build cgo

#include "lz/lz_encoder.c"
