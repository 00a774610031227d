//go:build cgo

#include "simple/arm64.c"
