//go:build cgo

#include "common/file_info.c"
