//go:build cgo

#include "common/filter_buffer_decoder.c"
