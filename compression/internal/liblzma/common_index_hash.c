//go:build cgo

#include "common/index_hash.c"
