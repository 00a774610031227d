//go:build cgo

#include "common/string_conversion.c"
