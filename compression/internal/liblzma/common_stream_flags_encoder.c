//go:build cgo

#include "common/stream_flags_encoder.c"
