//go:build cgo

#include "common/vli_size.c"
