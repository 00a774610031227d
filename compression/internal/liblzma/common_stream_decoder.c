//go:build cgo

#include "common/stream_decoder.c"
