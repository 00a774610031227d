//go:build cgo

#include "common/stream_encoder.c"
