package modsig

import (
	"encoding/binary"
	"fmt"

	"github.com/kmodscope/kmodscope/errno"
)

// Errno is an errno by name; its number depends on the architecture
// (errno.Errno.Value).
type Errno = errno.Errno

// The errnos the module signature checks return.
const (
	ENODATA      = errno.ENODATA
	ENOPKG       = errno.ENOPKG
	EBADMSG      = errno.EBADMSG
	ENOKEY       = errno.ENOKEY
	EKEYREJECTED = errno.EKEYREJECTED
)

// KernelError is a failure of the kernel's trailer checks. Errno is the
// errno (the kernel returns its negation; Error() shows the asm-generic number); Msg is the printk text without
// the trailing newline, empty when the kernel prints nothing.
type KernelError struct {
	Errno Errno
	Msg   string
}

func (e *KernelError) Error() string {
	if e.Msg == "" {
		return fmt.Sprintf("-%s (%d)", e.Errno, -e.Errno.Value(errno.Generic))
	}
	return fmt.Sprintf("%s: -%s (%d)", e.Msg, e.Errno, -e.Errno.Value(errno.Generic))
}

// KernelCheck mirrors mod_check_sig(ms, file_len, "module") applied to the
// trailer found in a file: sig_len must leave at least one byte of module
// (-EBADMSG, no message), id_type must be PKCS#7 (-ENOPKG "module: not
// signed with expected PKCS#7 message"), and algo, hash, signer_len,
// key_id_len and pad must be zero (-EBADMSG "module: PKCS#7 signature info
// has unexpected non-zero params"). It returns nil when the kernel would go
// on to verify the PKCS#7 message in Sig, which then starts at
// KernelModLen().
func (t *Trailer) KernelCheck() error {
	// The kernel's len is the file length minus the magic; the struct is
	// at len-12 and "sig_len >= len - 12" is rejected.
	before := int64(t.InfoOffset())
	return checkSig(t.Algo, t.Hash, t.IDType, t.SignerLen, t.KeyIDLen, t.Pad, t.SigLen, before)
}

// KernelModLen is the module length the kernel uses after a successful
// KernelCheck: everything before the last SigLen bytes that precede the
// struct (the kernel ignores signer_len and key_id_len, which must be 0).
func (t *Trailer) KernelModLen() int {
	return t.InfoOffset() - int(t.SigLen)
}

func checkSig(algo, hash uint8, id IDType, signerLen, keyIDLen uint8, pad [3]byte, sigLen uint32, before int64) error {
	if int64(sigLen) >= before {
		return &KernelError{Errno: EBADMSG}
	}
	if id != PKCS7 {
		return &KernelError{Errno: ENOPKG, Msg: "module: not signed with expected PKCS#7 message"}
	}
	if algo != 0 || hash != 0 || signerLen != 0 || keyIDLen != 0 || pad != [3]byte{} {
		return &KernelError{Errno: EBADMSG, Msg: "module: PKCS#7 signature info has unexpected non-zero params"}
	}
	return nil
}

// KernelCheckFile applies module_sig_check()'s trailer handling (not the
// PKCS#7 verification) to a whole uncompressed module file, as with no
// MODULE_INIT_IGNORE_* flags. It returns a *KernelError with ENODATA
// ("unsigned module") when the magic is absent or the file is not longer
// than the magic, EBADMSG when no 12-byte struct fits, and otherwise the
// result of the mod_check_sig rules. On success it also returns the module
// length and the PKCS#7 blob the kernel would verify.
func KernelCheckFile(data []byte) (modLen int, sig []byte, err error) {
	n := int64(len(data))
	if n <= int64(len(Magic)) || string(data[n-int64(len(Magic)):]) != Magic {
		return 0, nil, &KernelError{Errno: ENODATA}
	}
	n -= int64(len(Magic))
	if n <= InfoSize {
		return 0, nil, &KernelError{Errno: EBADMSG}
	}
	info := data[n-InfoSize : n]
	sigLen := binary.BigEndian.Uint32(info[8:])
	before := n - InfoSize
	if err := checkSig(info[0], info[1], IDType(info[2]), info[3], info[4], [3]byte{info[5], info[6], info[7]}, sigLen, before); err != nil {
		return 0, nil, err
	}
	modLen = int(before - int64(sigLen))
	return modLen, data[modLen:before:before], nil
}
