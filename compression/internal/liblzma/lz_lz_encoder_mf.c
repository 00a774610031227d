//go:build cgo

#include "lz/lz_encoder_mf.c"
