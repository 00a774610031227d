package kimage

// Kernel is a decompressed kernel image.
type Kernel struct {
	// Format, Wrapper and Payload are as in [Image].
	Format, Wrapper, Payload string
	// PayloadOffset is the offset of the compressed kernel in the file.
	PayloadOffset int64
	// Data is the decompressed kernel: for an x86 bzImage or a gzip'd
	// vmlinux an ELF file (vmlinux.bin, section headers kept); for an
	// arm64 Image the raw image.
	Data []byte
}

// Decompress recognises the image format of data like [Parse] and
// returns the decompressed kernel, without looking for certificates. It
// returns an [*Error] for ErrNoPayload, ErrTruncated, ErrCorrupt,
// ErrUnsupported and ErrTooLarge.
func Decompress(data []byte, opt *Options) (*Kernel, error) {
	limit := opt.maxSize()
	if int64(len(data)) > limit {
		return nil, &Error{Offset: -1, Kind: ErrTooLarge}
	}
	k, err := findKernel(data, limit)
	if err != nil {
		return nil, err
	}
	return &Kernel{Format: k.format, Wrapper: k.wrapper, Payload: string(k.payload),
		PayloadOffset: k.offset, Data: k.kernel}, nil
}
