//go:build cgo

#include "common/block_buffer_encoder.c"
