//go:build cgo

#include "check/sha256.c"
