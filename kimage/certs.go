package kimage

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
)

// certAt returns the length of the DER certificate at b[i:] if its
// framing is plausible (SEQUENCE with a two-byte length, holding a
// tbsCertificate SEQUENCE shorter than itself) and crypto/x509 parses it.
func certAt(b []byte, i int) (int, *x509.Certificate) {
	if i+8 > len(b) || b[i] != 0x30 || b[i+1] != 0x82 || b[i+4] != 0x30 {
		return 0, nil
	}
	n := 4 + int(binary.BigEndian.Uint16(b[i+2:]))
	if n > len(b)-i {
		return 0, nil
	}
	var tbs int
	switch b[i+5] {
	case 0x82:
		tbs = 4 + int(binary.BigEndian.Uint16(b[i+6:]))
	case 0x81:
		tbs = 3 + int(b[i+6])
	default:
		return 0, nil
	}
	// The tbsCertificate is followed by the signature algorithm and the
	// signature: at least a dozen bytes.
	if 4+tbs+12 > n {
		return 0, nil
	}
	c, err := x509.ParseCertificate(b[i : i+n])
	if err != nil {
		return 0, nil
	}
	return n, c
}

// scanCerts returns every certificate in b, in order of offset; found
// certificates are skipped over, so none overlap.
func scanCerts(b []byte) []Cert {
	var out []Cert
	for off := 0; off < len(b); {
		i := bytes.Index(b[off:], []byte{0x30, 0x82})
		if i < 0 {
			break
		}
		i += off
		if n, c := certAt(b, i); n > 0 {
			out = append(out, Cert{Raw: b[i : i+n : i+n], Cert: c, Offset: int64(i)})
			off = i + n
			continue
		}
		off = i + 1
	}
	return out
}

// hasCert reports whether b holds at least one certificate.
func hasCert(b []byte) bool {
	for off := 0; off < len(b); {
		i := bytes.Index(b[off:], []byte{0x30, 0x82})
		if i < 0 {
			return false
		}
		if n, _ := certAt(b, off+i); n > 0 {
			return true
		}
		off += i + 1
	}
	return false
}

// locateLists finds system_certificate_list among the certificates: in
// certs/system_certificates.S the list (the concatenated DER files) is
// followed, after ".align 8", by system_certificate_list_size (a .quad on
// 64-bit kernels, a .long on 32-bit ones, in the kernel's byte order) and,
// since Linux 5.13, after another ".align 8", by module_cert_size, the
// size of the first certificate (the module signing key) or 0. ".align 8"
// means 8 bytes on x86 and s390 but 2^8 = 256 bytes on arm and powerpc, so
// both are tried. For each run of adjacent certificates, and each suffix of
// it, the word after the run (past zero padding) is compared with the
// suffix's size. Lists followed by a matching module_cert_size are
// preferred over other matches (revocation_certificate_list has the same
// shape but no module_cert_size).
func locateLists(b []byte, certs []Cert) []span {
	hits := listHits(b, certs)
	best := -1
	for _, h := range hits {
		best = max(best, h.score)
	}
	var out []span
	for _, h := range hits {
		if h.score == best {
			out = append(out, h.s)
		}
	}
	return out
}

// listHit is a candidate list: a run of certificates followed by its size.
type listHit struct {
	s     span
	score int // 2: module_cert_size is the first certificate's size, 1: it is 0
}

// listHits returns every candidate list of locateLists with its score.
func listHits(b []byte, certs []Cert) []listHit {
	type hit = listHit
	var hits []hit
	for a := 0; a < len(certs); {
		z := a
		for z+1 < len(certs) && certs[z].Offset+int64(len(certs[z].Raw)) == certs[z+1].Offset {
			z++
		}
		end := certs[z].Offset + int64(len(certs[z].Raw))
	suffixes:
		for k := a; k <= z; k++ {
			start := certs[k].Offset
			size := end - start
			for _, align := range []int64{8, 256} {
				if h, ok := sizeWordAfter(b, start, end, align); ok {
					switch h {
					case int64(len(certs[k].Raw)):
						hits = append(hits, hit{span{start, size}, 2})
					case 0:
						hits = append(hits, hit{span{start, size}, 1})
					default:
						hits = append(hits, hit{span{start, size}, 0})
					}
					break suffixes // the longest suffix that matches
				}
			}
		}
		a = z + 1
	}
	return hits
}

// certFinder scans a growing prefix of a decompressed kernel (its stop
// method is the stop function of decode) and says when the builtin
// certificate list and the version banner have been read, so that the rest
// need not be decompressed. What it then holds is what Parse derives from
// the whole kernel, with the one difference that a second list with a
// module_cert_size word further on would not be seen (the kernel has one
// system_certificate_list): its certificates are scanCerts' up to off, in
// the same order, and lists are the best-scored lists of locateLists among
// those lying before off.
type certFinder struct {
	off    int    // b[:off] has been scanned (positions below off tried)
	certs  []Cert // found so far (Raw points into the prefix)
	nLast  int    // len(certs) at the last list search
	lists  []span // set when found
	banner string // the version banner, set with lists
}

// finderMargin keeps the scan this far behind the end of the prefix, so
// that every look it takes (a certificate of up to 4+65535 bytes; the size
// words after a list, up to twice 256 bytes of alignment and 16 bytes of
// words, further on) sees what it would see in the whole kernel.
const finderMargin = 4 + 65535 + 1024

// bannerMargin: a version banner line is at most 1024 bytes after its
// "Linux version " (see banner).
const bannerMargin = 2048

func (f *certFinder) stop(b []byte) bool {
	end := len(b) - finderMargin
	for f.off < end {
		// A match may start at end-1 (its second byte at end).
		i := bytes.Index(b[f.off:end+1], []byte{0x30, 0x82})
		if i < 0 {
			f.off = end
			break
		}
		i += f.off
		if n, c := certAt(b, i); n > 0 {
			f.certs = append(f.certs, Cert{Raw: b[i : i+n : i+n], Cert: c, Offset: int64(i)})
			f.off = i + n
			continue
		}
		f.off = i + 1
	}
	if len(f.certs) == f.nLast {
		return false
	}
	// Lists among the runs of certificates that have ended: the position
	// after a run's last certificate has been tried (below off).
	best := -1
	var hits []listHit
	for _, h := range listHits(b, f.certs) {
		if h.s.start+h.s.size < int64(f.off) {
			hits = append(hits, h)
			best = max(best, h.score)
		}
	}
	if best < 2 {
		// No list with a module_cert_size word yet: a later one would win.
		f.nLast = len(f.certs)
		return false
	}
	line, last := bannerScan(b)
	if !bannerHasBuild(line) || last+bannerMargin > len(b) {
		// The banner with a build number may come later: read it all.
		f.nLast = len(f.certs)
		return false
	}
	for _, h := range hits {
		if h.score == best {
			f.lists = append(f.lists, h.s)
		}
	}
	f.banner = line
	return true
}

// sizeWordAfter checks for the size of b[start:end] as a 64-bit or 32-bit
// word of either byte order at the next align-aligned offset (relative to
// start) after end, with only zeros in between. It returns the word that
// follows at the next aligned offset (module_cert_size), or -1.
func sizeWordAfter(b []byte, start, end, align int64) (next int64, ok bool) {
	size := end - start
	up := func(x int64) int64 { return start + (x-start+align-1)/align*align }
	p := up(end)
	if p+8 > int64(len(b)) {
		return 0, false
	}
	for _, c := range b[end:p] {
		if c != 0 {
			return 0, false
		}
	}
	w := b[p:]
	word := func(n int64, get func([]byte) int64) int64 {
		q := up(p + n)
		if q+n > int64(len(b)) {
			return -1
		}
		return get(b[q:])
	}
	u64le := func(x []byte) int64 { return int64(binary.LittleEndian.Uint64(x)) }
	u64be := func(x []byte) int64 { return int64(binary.BigEndian.Uint64(x)) }
	u32le := func(x []byte) int64 { return int64(binary.LittleEndian.Uint32(x)) }
	u32be := func(x []byte) int64 { return int64(binary.BigEndian.Uint32(x)) }
	switch {
	case u64le(w) == size:
		return word(8, u64le), true
	case u64be(w) == size:
		return word(8, u64be), true
	case u32le(w) == size:
		return word(4, u32le), true
	case u32be(w) == size:
		return word(4, u32be), true
	}
	return 0, false
}
