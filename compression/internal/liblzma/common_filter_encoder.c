//go:build cgo

#include "common/filter_encoder.c"
