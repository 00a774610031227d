//go:build cgo

#include "common/filter_decoder.c"
