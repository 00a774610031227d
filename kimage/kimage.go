// Package kimage finds the X.509 certificates built into a Linux kernel
// image: the kernel's builtin trusted keys, system_certificate_list from
// certs/system_certificates.S (the module signing certificate followed by
// CONFIG_SYSTEM_TRUSTED_KEYS), against which module signatures are checked.
//
// [Open] and [Parse] recognise the image format (x86 bzImage, arm64 Image,
// Image.gz and EFI zboot, s390 image, ELF vmlinux), decompress the kernel
// payload (gzip, xz, zstd, lz4, bzip2, lzma; lzo is recognised but not
// decoded), and scan the decompressed kernel for DER certificates that
// crypto/x509 parses. Where the list's size word (system_certificate_list_size,
// which follows the list) or, in an ELF file with symbols, the list's symbols
// locate the list, only the certificates inside it are reported as Certs;
// other parseable certificates (a revocation list, self-test keys) go to
// Other.
//
// Input is untrusted: decompressed output is bounded by Options.MaxSize,
// decoder panics become errors, and the work spent on scanning for
// compressed streams is bounded.
package kimage

import (
	"bytes"
	"crypto/x509"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strings"
)

// DefaultMaxSize is the default bound on the decompressed kernel: 512 MiB.
const DefaultMaxSize int64 = 512 << 20

// Options tunes [Open] and [Parse]. A nil *Options means the defaults.
type Options struct {
	// MaxSize bounds the size of the decompressed kernel (and of the
	// input file); zero or less means DefaultMaxSize.
	MaxSize int64
	// StopAfterCerts stops decompressing a compressed kernel (bzImage, EFI
	// zboot, Image.gz; xz, zstd, gzip, bzip2 and lzma payloads) as soon as
	// the builtin certificate list, located by the size words after it
	// (locateLists, with a module_cert_size word), and the version banner
	// with a build number have been read: the list lies about 60% into a
	// Debian 6.1 amd64 kernel. Certs, ListOffset, ListSize and Version are
	// then those of the whole kernel; Image.Stopped is set, KernelSize
	// counts the bytes decompressed and Other holds only the certificates
	// before the list's end. Without such a list or banner the whole kernel
	// is decompressed, as without the option.
	StopAfterCerts bool
}

// Cert is one certificate found in the kernel.
type Cert struct {
	Raw    []byte            // the DER bytes
	Cert   *x509.Certificate // as parsed by crypto/x509
	Offset int64             // offset of Raw in the decompressed kernel
}

// Image describes a kernel image and the certificates built into it.
type Image struct {
	// Format is the image format: "bzImage", "arm64 Image", "vmlinux ELF",
	// "s390 image", "ppc64 vmlinux" or "raw".
	Format string
	// Wrapper is the container around the image, if any: "gzip" (e.g.
	// Image.gz, Debian's arm64 vmlinuz), "EFI zboot" (vmlinuz.efi), or "".
	Wrapper string
	// Payload is the compression of the kernel: "gzip", "xz", "zstd",
	// "lz4", "bzip2", "lzma", "lzo" or "none".
	Payload string
	// PayloadOffset is the offset of the compressed kernel in the file
	// (0 for an uncompressed kernel).
	PayloadOffset int64
	// KernelSize is the size of the decompressed kernel.
	KernelSize int64
	// Version is the "Linux version ..." banner (without its newline), or
	// for a bzImage without one the setup header's kernel_version string,
	// or "".
	Version string
	// Certs are the builtin trusted certificates in order of appearance:
	// those inside system_certificate_list when ListOffset >= 0, else
	// every certificate the scan found.
	Certs []Cert
	// ListOffset and ListSize locate system_certificate_list in the
	// decompressed kernel; ListOffset is -1 when the list could not be
	// located, and then Certs holds all parseable certificates.
	ListOffset, ListSize int64
	// Other holds parseable certificates outside the located list.
	Other []Cert
	// Stopped is set when decompression stopped after the certificate
	// list (Options.StopAfterCerts).
	Stopped bool
}

func (o *Options) maxSize() int64 {
	if o == nil || o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return o.MaxSize
}

// Open reads the kernel image in the named file and parses it with
// [Parse]. Errors about the contents are [*Error]s with Path set.
func Open(path string, opt *Options) (*Image, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if limit := opt.maxSize(); st.Size() > limit {
		return nil, &Error{Path: path, Offset: -1, Kind: ErrTooLarge,
			Err: fmt.Errorf("file is %d bytes, limit %d", st.Size(), limit)}
	}
	data := make([]byte, st.Size())
	if _, err := io.ReadFull(f, data); err != nil {
		return nil, err
	}
	img, err := Parse(data, opt)
	if e, ok := err.(*Error); ok {
		e.Path = path
	}
	return img, err
}

// Parse finds the certificates in the kernel image data. It returns an
// [*Error] for ErrNoPayload, ErrTruncated, ErrCorrupt, ErrUnsupported and
// ErrTooLarge; for ErrNoCerts it returns the [*Image] as well. The Raw
// fields of the certificates point into a buffer of their own, not into
// data.
func Parse(data []byte, opt *Options) (*Image, error) {
	limit := opt.maxSize()
	if int64(len(data)) > limit {
		return nil, &Error{Offset: -1, Kind: ErrTooLarge,
			Err: fmt.Errorf("image is %d bytes, limit %d", len(data), limit)}
	}
	var finder *certFinder
	if opt != nil && opt.StopAfterCerts {
		finder = &certFinder{}
	}
	k, err := findKernel(data, limit, finder)
	if err != nil {
		return nil, err
	}
	img := &Image{
		Format:        k.format,
		Wrapper:       k.wrapper,
		Payload:       string(k.payload),
		PayloadOffset: k.offset,
		KernelSize:    int64(len(k.kernel)),
		ListOffset:    -1,
		ListSize:      -1,
		Stopped:       k.stopped,
	}
	var all []Cert
	var lists []span
	if k.stopped {
		img.Version, all, lists = k.finder.banner, k.finder.certs, k.finder.lists
	} else {
		img.Version = banner(k.kernel)
		all = scanCerts(k.kernel)
		if k.list.size >= 0 {
			lists = []span{k.list}
		} else {
			lists = locateLists(k.kernel, all)
		}
	}
	if img.Version == "" {
		img.Version = k.version
	}
	if len(lists) == 0 {
		img.Certs = all
	} else {
		img.ListOffset, img.ListSize = lists[0].start, lists[0].size
		for _, c := range all {
			in := false
			for _, l := range lists {
				if c.Offset >= l.start && c.Offset+int64(len(c.Raw)) <= l.start+l.size {
					in = true
				}
			}
			if in {
				img.Certs = append(img.Certs, c)
			} else {
				img.Other = append(img.Other, c)
			}
		}
	}
	// Keep the certificates' bytes, not the whole decompressed kernel.
	detach(img.Certs)
	detach(img.Other)
	if len(img.Certs) == 0 {
		return img, &Error{Format: img.Format, Payload: img.Payload, Offset: -1, Kind: ErrNoCerts}
	}
	return img, nil
}

func detach(cs []Cert) {
	n := 0
	for _, c := range cs {
		n += len(c.Raw)
	}
	buf := make([]byte, 0, n)
	for i := range cs {
		buf = append(buf, cs[i].Raw...)
		cs[i].Raw = buf[len(buf)-len(cs[i].Raw) : len(buf) : len(buf)]
	}
}

// banner returns the "Linux version N..." line in k. Kernels since 6.1
// hold two: a weak linux_banner from init/version.c without the build
// number ("# SMP ...") and the one from init/version-timestamp.c that
// replaces it ("#1 SMP ..."); the one with a build number is preferred.
func banner(k []byte) string {
	line, _ := bannerScan(k)
	return line
}

// bannerHasBuild reports whether a banner line has a build number ("#1 SMP").
func bannerHasBuild(line string) bool {
	j := strings.Index(line, ") #")
	return j >= 0 && j+3 < len(line) && line[j+3] >= '0' && line[j+3] <= '9'
}

// bannerScan is banner, also returning the offset of the last "Linux
// version " it looked at (-1 for none): lines that start before
// len(k)-bannerMargin are whole in k.
func bannerScan(k []byte) (string, int) {
	const pfx = "Linux version "
	first := ""
	last := -1
	for off, n := 0, 0; n < 16; n++ {
		i := bytes.Index(k[off:], []byte(pfx))
		if i < 0 {
			break
		}
		last = off + i
		s := off + i + len(pfx)
		off = s
		if s >= len(k) || k[s] < '0' || k[s] > '9' {
			continue
		}
		e := s
		for e < len(k) && e-s < 1024 && k[e] >= 0x20 && k[e] < 0x7f {
			e++
		}
		line := string(k[s-len(pfx) : e])
		if bannerHasBuild(line) {
			return line, last
		}
		if first == "" {
			first = line
		}
	}
	return first, last
}

// span is a byte range of the decompressed kernel; size -1 means none.
type span struct{ start, size int64 }

var noSpan = span{-1, -1}

// le32 reads a little-endian uint32 at off, or 0 if out of range.
func le32(b []byte, off int) uint32 {
	if off < 0 || off+4 > len(b) {
		return 0
	}
	return binary.LittleEndian.Uint32(b[off:])
}
