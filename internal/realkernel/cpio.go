package realkernel

import (
	"bytes"
	"compress/gzip"
	"fmt"
)

// cpioWriter writes a gzip-compressed "newc" cpio archive, the initramfs
// format the kernel unpacks. Writing it here (instead of running cpio on a
// directory) lets the archive hold device nodes without mknod.
type cpioWriter struct {
	buf bytes.Buffer
	ino uint32
}

func newCpio() *cpioWriter { return &cpioWriter{ino: 1} }

const (
	modeDir  = 0o040000
	modeFile = 0o100000
	modeLink = 0o120000
	modeChr  = 0o020000
)

func (w *cpioWriter) entry(name string, mode uint32, data []byte, rmaj, rmin uint32) {
	nlink := uint32(1)
	if mode&0o170000 == modeDir {
		nlink = 2
	}
	fmt.Fprintf(&w.buf, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		w.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, rmaj, rmin, len(name)+1, 0)
	w.ino++
	w.buf.WriteString(name)
	w.buf.WriteByte(0)
	w.pad()
	w.buf.Write(data)
	w.pad()
}

func (w *cpioWriter) pad() {
	for w.buf.Len()%4 != 0 {
		w.buf.WriteByte(0)
	}
}

func (w *cpioWriter) dir(name string)                         { w.entry(name, modeDir|0o755, nil, 0, 0) }
func (w *cpioWriter) file(name string, b []byte, perm uint32) { w.entry(name, modeFile|perm, b, 0, 0) }
func (w *cpioWriter) symlink(name, target string) {
	w.entry(name, modeLink|0o777, []byte(target), 0, 0)
}
func (w *cpioWriter) charDev(name string, maj, min uint32) {
	w.entry(name, modeChr|0o600, nil, maj, min)
}

func (w *cpioWriter) finish() ([]byte, error) {
	w.ino = 0
	w.entry("TRAILER!!!", 0, nil, 0, 0)
	var out bytes.Buffer
	zw, err := gzip.NewWriterLevel(&out, gzip.BestSpeed)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(w.buf.Bytes()); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}
