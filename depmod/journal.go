package depmod

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"unsafe"
)

// JournalName is the cache's second file, next to CacheName: the facts of
// the modules read since the base was written, and the memo of the last
// run. It is small, and rewritten by every run that keeps a cache.
//
// Layout: "KMSDEPJ1", the header string (as the base's), u32 entry count,
// the entries (path, key, SHA-256 of the facts, facts as a string), the
// memo (u8 0, or u8 1, its input digest, messages, u32 file count and per
// index file its name, key and SHA-256), then the CRC-32C of all preceding
// bytes.
//
// Every journal entry stands on its own (a module's facts under its key),
// and so does the memo (its files are checked on disk), so any journal
// goes with any base: a run killed between writing the base and the
// journal leaves a cache that is still right.
const JournalName = "modules.kmodscope-journal"

const journalMagic = "KMSDEPJ1"

type journal struct {
	header  string
	entries map[string]rawEntry // facts inline
	memo    *memo               // nil when absent
}

func (w *encoder) key(k fileKey) {
	w.u64(k.dev)
	w.u64(k.ino)
	w.u64(uint64(k.size))
	w.u64(uint64(k.mtime))
	w.u64(uint64(k.ctimeNs))
}

func (d *decoder) key(what string) fileKey {
	return fileKey{dev: d.u64(what), ino: d.u64(what), size: int64(d.u64(what)), mtime: int64(d.u64(what)), ctimeNs: int64(d.u64(what))}
}

func (d *decoder) sum(what string) (s [32]byte) {
	if d.need(32, what) {
		copy(s[:], d.b[d.off:])
		d.off += 32
	}
	return s
}

func encodeJournal(j *journal, paths []string) []byte {
	size := 64 + len(j.header)
	for _, p := range paths {
		size += len(p) + 80 + len(j.entries[p].facts)
	}
	if j.memo != nil {
		size += 64 + len(j.memo.log) + 128*len(j.memo.files)
	}
	w := &encoder{b: append(make([]byte, 0, size), journalMagic...)}
	w.str(j.header)
	w.u32(uint32(len(paths)))
	for _, p := range paths {
		e := j.entries[p]
		w.str(p)
		w.key(e.key)
		w.b = append(w.b, e.sum[:]...)
		w.str(e.facts)
	}
	if m := j.memo; m != nil {
		w.u8(1)
		w.b = append(w.b, m.digest[:]...)
		w.str(m.log)
		w.u32(uint32(len(m.files)))
		for _, f := range m.files {
			w.str(f.name)
			w.key(f.key)
			w.b = append(w.b, f.sum[:]...)
		}
	} else {
		w.u8(0)
	}
	return binary.LittleEndian.AppendUint32(w.b, crc32.Checksum(w.b, castagnoli))
}

func decodeJournal(data []byte) (*journal, error) {
	if len(data) < len(journalMagic)+4+4+1+4 || !bytes.HasPrefix(data, []byte(journalMagic)) {
		return nil, errors.New("not a kmodscope depmod journal")
	}
	body := data[:len(data)-4]
	if crc32.Checksum(body, castagnoli) != binary.LittleEndian.Uint32(data[len(body):]) {
		return nil, errors.New("checksum mismatch")
	}
	d := &decoder{b: body, s: unsafe.String(&body[0], len(body)), off: len(journalMagic)}
	j := &journal{header: d.str("header")}
	n := d.count(4+40+32+4, "entries")
	j.entries = make(map[string]rawEntry, n)
	for i := 0; i < n && d.err == nil; i++ {
		path := d.str("path")
		e := rawEntry{key: d.key("key"), sum: d.sum("facts sum")}
		e.facts = d.str("facts")
		j.entries[path] = e
	}
	if d.u8("memo flag") == 1 {
		m := &memo{digest: d.sum("memo digest"), log: d.str("memo messages")}
		for k, c := 0, d.count(4+40+32, "memo files"); k < c && d.err == nil; k++ {
			m.files = append(m.files, memoFile{name: d.str("memo file"), key: d.key("memo file key"), sum: d.sum("memo file sum")})
		}
		j.memo = m
	}
	if d.err == nil && d.off != len(body) {
		d.err = fmt.Errorf("%d trailing bytes", len(body)-d.off)
	}
	if d.err != nil {
		return nil, d.err
	}
	return j, nil
}

func (r *run) journalPath() string { return r.outdir + "/" + JournalName }

// loadJournal reads the journal; a missing one is no journal, a bad one
// gives a warning and no journal.
func (r *run) loadJournal() *journal {
	data, err := os.ReadFile(r.journalPath())
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			r.log.warnf("ignoring cache %s: %s\n", r.journalPath(), strerror(err))
		}
		return nil
	}
	j, err := decodeJournal(data)
	if err == nil && j.header != r.cacheHeader() {
		err = fmt.Errorf("written with other settings (%q, now %q)", j.header, r.cacheHeader())
	}
	if err != nil {
		r.log.warnf("ignoring cache %s: %v\n", r.journalPath(), err)
		return nil
	}
	return j
}
