// Package liblzma compiles a vendored copy of liblzma from XZ Utils 5.8.1
// (0BSD licence, see COPYING and README.md) with cgo, so that the cgo xz
// code in package compression links no system library. It has no Go API:
// importing it links liblzma's C symbols (lzma_code, lzma_stream_decoder,
// ...) into the program; callers include <lzma.h> from the api directory.
//
// Without cgo the package is empty and compression uses its pure-Go decoder.
package liblzma
