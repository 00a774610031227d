//go:build cgo

#include "rangecoder/price_table.c"
