//go:build cgo

#include "common/alone_encoder.c"
