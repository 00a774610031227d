//go:build cgo

#include "common/block_util.c"
