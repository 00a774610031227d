//go:build cgo

#include "common/easy_encoder.c"
