//go:build cgo

#include "check/crc32_fast.c"
