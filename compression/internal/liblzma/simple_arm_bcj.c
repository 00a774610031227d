//go:build cgo

#include "simple/arm.c"
