//go:build cgo

#include "common/filter_flags_encoder.c"
