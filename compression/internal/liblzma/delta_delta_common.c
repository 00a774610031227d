//go:build cgo

#include "delta/delta_common.c"
