//go:build cgo

#include "common/easy_preset.c"
