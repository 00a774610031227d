//go:build cgo

#include "common/block_header_encoder.c"
