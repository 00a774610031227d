//go:build cgo

#include "lzma/lzma_encoder.c"
