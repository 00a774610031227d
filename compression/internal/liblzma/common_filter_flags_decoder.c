//go:build cgo

#include "common/filter_flags_decoder.c"
