//go:build cgo

#include "common/microlzma_decoder.c"
