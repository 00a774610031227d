//go:build cgo

#include "common/easy_decoder_memusage.c"
