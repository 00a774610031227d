//go:build cgo

#include "common/easy_encoder_memusage.c"
