//go:build cgo

#include "common/block_decoder.c"
