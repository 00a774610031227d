//go:build cgo

#include "common/index_encoder.c"
