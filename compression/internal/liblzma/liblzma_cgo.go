//go:build cgo

package liblzma

// The per-file wrappers (*.c in this directory) #include the sources under
// common/, check/, lz/, lzma/, rangecoder/, delta/ and simple/.

/*
#cgo CFLAGS: -O2 -std=gnu11 -DHAVE_CONFIG_H -I${SRCDIR} -I${SRCDIR}/tuklib -I${SRCDIR}/api -I${SRCDIR}/common -I${SRCDIR}/check -I${SRCDIR}/lz -I${SRCDIR}/rangecoder -I${SRCDIR}/lzma -I${SRCDIR}/delta -I${SRCDIR}/simple
*/
import "C"
