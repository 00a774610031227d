//go:build cgo

#include "common/filter_common.c"
