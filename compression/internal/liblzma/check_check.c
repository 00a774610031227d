//go:build cgo

#include "check/check.c"
