//go:build cgo

#include "common/common.c"
