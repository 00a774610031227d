//go:build cgo

#include "common/index_decoder.c"
