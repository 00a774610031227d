//go:build cgo

#include "common/vli_encoder.c"
