//go:build cgo

#include "common/alone_decoder.c"
