//go:build cgo

#include "common/easy_buffer_encoder.c"
