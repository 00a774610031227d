//go:build cgo

#include "common/filter_buffer_encoder.c"
