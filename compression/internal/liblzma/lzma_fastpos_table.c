//go:build cgo

#include "lzma/fastpos_table.c"
