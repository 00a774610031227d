//go:build cgo

#include "lzma/lzma2_encoder.c"
