//go:build cgo

#include "delta/delta_encoder.c"
