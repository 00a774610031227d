//go:build cgo

#include "common/lzip_decoder.c"
