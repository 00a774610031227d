//go:build cgo

#include "common/block_encoder.c"
