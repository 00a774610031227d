//go:build cgo

#include "common/stream_flags_common.c"
