//go:build cgo

#include "lzma/lzma_decoder.c"
