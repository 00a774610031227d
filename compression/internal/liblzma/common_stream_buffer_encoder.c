//go:build cgo

#include "common/stream_buffer_encoder.c"
