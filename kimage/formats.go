package kimage

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
)

// kernel is a decompressed kernel and how it was found.
type kernel struct {
	format  string
	wrapper string
	payload codec
	offset  int64  // of the payload in the file
	kernel  []byte // decompressed kernel
	version string // bzImage kernel_version string, a fallback banner
	list    span   // system_certificate_list from ELF symbols, or noSpan
	// stopped: decompression ended once finder had the certificate
	// list; kernel is a prefix, and the finder's certificates and lists
	// stand for a scan of it.
	stopped bool
	finder  *certFinder
}

// Image format names.
const (
	fmtBzImage = "bzImage"
	fmtARM64   = "arm64 Image"
	fmtELF     = "vmlinux ELF"
	fmtS390    = "s390 image"
	fmtPPC64   = "ppc64 vmlinux"
	fmtRaw     = "raw"
)

// findKernel finds and decompresses the kernel in data. With a non-nil
// finder, decompression of a bzImage, EFI zboot or compressed file stops
// as soon as the finder has the certificate list (kernel.stopped).
func findKernel(data []byte, limit int64, finder *certFinder) (*kernel, error) {
	var stop func([]byte) bool
	if finder != nil {
		stop = finder.stop
	}
	k, err := findKernelUntil(data, limit, stop)
	if k != nil && k.stopped {
		k.finder = finder
	}
	return k, err
}

func findKernelUntil(data []byte, limit int64, stop func([]byte) bool) (*kernel, error) {
	// Where plain() classifies the output, an ELF vmlinux's symbols may
	// locate the list (elfCertList), which needs its section headers at
	// the end: no early stop then. (A bzImage's ELF payload is not
	// searched for symbols.)
	plainStop := stop
	if stop != nil {
		plainStop = func(b []byte) bool { return !bytes.HasPrefix(b, []byte(elf.ELFMAG)) && stop(b) }
	}
	switch {
	case isBzImage(data):
		return bzImage(data, limit, stop)
	case isZboot(data):
		return zboot(data, limit, plainStop)
	case isARM64Image(data):
		return plain(data), nil
	case bytes.HasPrefix(data, []byte(elf.ELFMAG)):
		return plain(data), nil
	case isS390(data):
		return scanned(data, fmtS390, limit)
	}
	if c := sniffCodec(data); c != codecNone {
		// A compressed file: Image.gz, vmlinux.gz, ...
		res, err := decode(c, data, limit, plainStop)
		if err != nil || res.partial {
			return nil, payloadError("", c, 0, err)
		}
		k := plain(res.out)
		k.wrapper, k.payload, k.stopped = string(c), c, res.stopped
		return k, nil
	}
	return scanned(data, fmtRaw, limit)
}

// payloadError turns a decoder error into an *Error.
func payloadError(format string, c codec, off int64, err error) error {
	e := &Error{Format: format, Payload: string(c), Offset: off, Kind: ErrCorrupt, Err: err}
	switch {
	case err == nil:
		e.Err = errors.New("stream damaged after partial output")
	case errors.Is(err, errOverLimit):
		e.Kind, e.Err = ErrTooLarge, nil
	case errors.Is(err, ErrUnsupported):
		e.Kind, e.Err = ErrUnsupported, nil
	}
	return e
}

// plain classifies an uncompressed kernel.
func plain(b []byte) *kernel {
	k := &kernel{format: fmtRaw, payload: codecNone, kernel: b, list: noSpan}
	switch {
	case isARM64Image(b):
		k.format = fmtARM64
		// A signed EFI-stub Image ends in its Authenticode signature,
		// whose signer certificates are no builtin keys.
		k.kernel = trimPESignature(b)
	case isS390(b):
		k.format = fmtS390
	case bytes.HasPrefix(b, []byte(elf.ELFMAG)):
		k.format = fmtELF
		if len(b) > 20 {
			m := elf.Machine(binary.LittleEndian.Uint16(b[18:]))
			if b[5] == byte(elf.ELFDATA2MSB) {
				m = elf.Machine(binary.BigEndian.Uint16(b[18:]))
			}
			switch m {
			case elf.EM_PPC64:
				k.format = fmtPPC64
			case elf.EM_S390:
				k.format = fmtS390
			}
		}
		k.list = elfCertList(b)
	}
	return k
}

// x86 boot protocol (Documentation/arch/x86/boot.rst).
const (
	bzSetupSects   = 0x1f1
	bzHeaderMagic  = 0x202 // "HdrS"
	bzVersion      = 0x206
	bzKernelVer    = 0x20e
	bzPayloadOff   = 0x248 // relative to the protected-mode code
	bzPayloadLen   = 0x24c
	bzMinPayloadPV = 0x208 // boot protocol with payload_offset
)

func isBzImage(b []byte) bool {
	return len(b) >= 0x250 && string(b[bzHeaderMagic:bzHeaderMagic+4]) == "HdrS"
}

func bzImage(data []byte, limit int64, stop func([]byte) bool) (*kernel, error) {
	setup := int64(data[bzSetupSects])
	if setup == 0 {
		setup = 4
	}
	base := (setup + 1) * 512
	ver := binary.LittleEndian.Uint16(data[bzVersion:])
	var kver string
	if p := int64(binary.LittleEndian.Uint16(data[bzKernelVer:])); p != 0 && p+0x200 < int64(len(data)) {
		s := data[p+0x200:]
		if i := bytes.IndexByte(s, 0); i > 0 && i < 512 {
			kver = string(s[:i])
		}
	}
	if ver < bzMinPayloadPV {
		k, err := scanned(data, fmtBzImage, limit)
		if k != nil {
			k.version = kver
		}
		return k, err
	}
	start := base + int64(le32(data, bzPayloadOff))
	n := int64(le32(data, bzPayloadLen))
	if start+n > int64(len(data)) || n < 4 {
		return nil, &Error{Format: fmtBzImage, Offset: start, Kind: ErrTruncated,
			Err: fmt.Errorf("payload of %d bytes at %#x, file is %d bytes", n, start, len(data))}
	}
	payload := data[start : start+n]
	c := sniffCodec(payload)
	if c == codecNone {
		k, err := scanned(data, fmtBzImage, limit)
		if k != nil {
			k.version = kver
		}
		return k, err
	}
	src := payload
	if c != codecGzip && c != codecXZ && c != codecZstd {
		// Strip the 4-byte decompressed size that size_append adds
		// (gzip's own ISIZE plays that role).
		src = payload[:len(payload)-4]
	}
	res, err := decode(c, src, limit, stop)
	if err != nil || res.partial {
		return nil, payloadError(fmtBzImage, c, start, err)
	}
	return &kernel{format: fmtBzImage, payload: c, offset: start, kernel: res.out, version: kver, list: noSpan, stopped: res.stopped}, nil
}

// EFI zboot (drivers/firmware/efi/libstub/zboot-header.S): "MZ", "zimg",
// the payload's offset and size, two reserved words, then the compression
// type as a string.
func isZboot(b []byte) bool {
	return len(b) >= 0x40 && b[0] == 'M' && b[1] == 'Z' && string(b[4:8]) == "zimg"
}

func zboot(data []byte, limit int64, stop func([]byte) bool) (*kernel, error) {
	start := int64(le32(data, 8))
	n := int64(le32(data, 12))
	if start+n > int64(len(data)) || n == 0 {
		return nil, &Error{Format: "EFI zboot", Offset: start, Kind: ErrTruncated,
			Err: fmt.Errorf("payload of %d bytes at %#x, file is %d bytes", n, start, len(data))}
	}
	payload := data[start : start+n]
	c := sniffCodec(payload)
	if c == codecNone {
		name := data[0x18:0x38]
		if i := bytes.IndexByte(name, 0); i >= 0 {
			name = name[:i]
		}
		return nil, &Error{Format: "EFI zboot", Offset: start, Kind: ErrCorrupt,
			Err: fmt.Errorf("payload of type %q does not start with a known magic", name)}
	}
	res, err := decode(c, payload, limit, stop)
	if err != nil || res.partial {
		return nil, payloadError("EFI zboot", c, start, err)
	}
	k := plain(res.out)
	k.wrapper, k.payload, k.offset, k.stopped = "EFI zboot", c, start, res.stopped
	return k, nil
}

// arm64 Image header (Documentation/arch/arm64/booting.rst): magic
// "ARM\x64" at offset 0x38.
func isARM64Image(b []byte) bool {
	return len(b) >= 0x40 && string(b[0x38:0x3c]) == "ARM\x64"
}

// s390 images carry "S390EP" at 0x10008 (arch/s390/boot/head.S).
func isS390(b []byte) bool {
	return len(b) >= 0x10010 && string(b[0x10008:0x1000e]) == "S390EP"
}

// Bounds on the scan for compressed streams at any offset.
const (
	maxScanTries  = 48
	maxScanBudget = 4 // times the limit, in decompressed bytes
)

// scanned looks for a compressed kernel at any offset of data: every
// position of a known magic number is tried in file order, and the first
// stream that decompresses to something with a "Linux version" banner
// wins. Without one, data itself is the kernel if it has a banner or a
// certificate; otherwise the error is ErrCorrupt if a stream was found but
// failed, else ErrNoPayload.
func scanned(data []byte, format string, limit int64) (*kernel, error) {
	type cand struct {
		off int
		c   codec
	}
	var cands []cand
	for _, m := range [][]byte{magicGzip, magicXZ, magicZstd, magicLZ4, magicBzip2, magicLZO, magicLZMA} {
		for off, n := 0, 0; n < 4*maxScanTries; n++ {
			i := bytes.Index(data[off:], m)
			if i < 0 {
				break
			}
			if c := sniffCodec(data[off+i:]); c != codecNone {
				cands = append(cands, cand{off + i, c})
			}
			off += i + 1
		}
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].off < cands[j].off })
	var firstErr error
	var firstCand cand
	budget := maxScanBudget * limit
	tries := 0
	for _, cd := range cands {
		if tries >= maxScanTries || budget <= 0 {
			break
		}
		tries++
		res, err := decode(cd.c, data[cd.off:], min(limit, budget), nil)
		if err != nil || res.partial {
			if firstErr == nil {
				if err == nil {
					err = errors.New("stream damaged after partial output")
				}
				firstErr, firstCand = err, cd
			}
			if errors.Is(err, errOverLimit) {
				budget -= limit
			}
			continue
		}
		budget -= int64(len(res.out))
		if banner(res.out) != "" {
			k := plain(res.out)
			k.payload, k.offset = cd.c, int64(cd.off)
			if k.format == fmtRaw || format == fmtS390 || format == fmtBzImage {
				k.format = format
			}
			return k, nil
		}
	}
	if banner(data) != "" || hasCert(data) {
		k := plain(data)
		if format != fmtRaw {
			k.format = format
		}
		return k, nil
	}
	if firstErr != nil {
		return nil, payloadError(format, firstCand.c, int64(firstCand.off), firstErr)
	}
	f := format
	if f == fmtRaw {
		f = ""
	}
	return nil, &Error{Format: f, Offset: -1, Kind: ErrNoPayload}
}

// elfCertList finds system_certificate_list and system_certificate_list_size
// in the symbol table of an ELF vmlinux and returns the list's file
// range, or noSpan.
func elfCertList(b []byte) (s span) {
	defer func() {
		if recover() != nil {
			s = noSpan
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		return noSpan
	}
	syms, err := f.Symbols()
	if err != nil {
		return noSpan
	}
	var list, size *elf.Symbol
	for i := range syms {
		switch syms[i].Name {
		case "system_certificate_list":
			list = &syms[i]
		case "system_certificate_list_size":
			size = &syms[i]
		}
	}
	if list == nil || size == nil {
		return noSpan
	}
	off := func(addr uint64) int64 {
		for _, sec := range f.Sections {
			if sec.Type == elf.SHT_PROGBITS && addr >= sec.Addr && addr < sec.Addr+sec.Size {
				return int64(sec.Offset + addr - sec.Addr)
			}
		}
		return -1
	}
	lo, so := off(list.Value), off(size.Value)
	if lo < 0 || so < 0 {
		return noSpan
	}
	var n uint64
	switch {
	case f.Class == elf.ELFCLASS64 && so+8 <= int64(len(b)):
		n = f.ByteOrder.Uint64(b[so:])
	case f.Class == elf.ELFCLASS32 && so+4 <= int64(len(b)):
		n = uint64(f.ByteOrder.Uint32(b[so:]))
	default:
		return noSpan
	}
	if n > uint64(len(b)) || lo+int64(n) > int64(len(b)) {
		return noSpan
	}
	return span{lo, int64(n)}
}

// trimPESignature returns b without the PE certificate table (the
// Authenticode signature that sbsign appends) if b is a PE image whose
// table lies at its end.
func trimPESignature(b []byte) []byte {
	if len(b) < 0x40 || b[0] != 'M' || b[1] != 'Z' {
		return b
	}
	pe := int(le32(b, 0x3c))
	if pe <= 0 || pe+24 > len(b) || string(b[pe:pe+4]) != "PE\x00\x00" {
		return b
	}
	opt := pe + 24
	var dirs int
	switch binary.LittleEndian.Uint16(b[opt:]) {
	case 0x10b: // PE32
		dirs = opt + 96
	case 0x20b: // PE32+
		dirs = opt + 112
	default:
		return b
	}
	sec := dirs + 4*8 // IMAGE_DIRECTORY_ENTRY_SECURITY
	if sec+8 > len(b) {
		return b
	}
	off, n := int64(le32(b, sec)), int64(le32(b, sec+4))
	if off == 0 || n == 0 || off+n > int64(len(b)) || int64(len(b))-(off+n) > 4096 {
		return b
	}
	return b[:off]
}
