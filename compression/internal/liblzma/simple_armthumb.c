//go:build cgo

#include "simple/armthumb.c"
