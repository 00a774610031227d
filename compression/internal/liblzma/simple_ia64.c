//go:build cgo

#include "simple/ia64.c"
