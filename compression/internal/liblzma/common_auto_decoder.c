//go:build cgo

#include "common/auto_decoder.c"
