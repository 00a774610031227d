//go:build cgo

#include "lzma/lzma2_decoder.c"
