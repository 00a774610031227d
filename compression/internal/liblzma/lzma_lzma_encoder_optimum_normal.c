//go:build cgo

#include "lzma/lzma_encoder_optimum_normal.c"
