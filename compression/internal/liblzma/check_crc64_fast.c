//go:build cgo

#include "check/crc64_fast.c"
