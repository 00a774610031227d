//go:build cgo

#include "lzma/lzma_encoder_presets.c"
