//go:build cgo

#include "common/microlzma_encoder.c"
