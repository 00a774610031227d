//go:build cgo

#include "common/vli_decoder.c"
