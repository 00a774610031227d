//go:build cgo

#include "common/index.c"
