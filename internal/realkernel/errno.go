package realkernel

import "strconv"

// errnoNames are the asm-generic errno names (x86 uses them too) for the
// values a module load can return.
var errnoNames = map[int]string{
	1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 7: "E2BIG",
	8: "ENOEXEC", 9: "EBADF", 10: "ECHILD", 11: "EAGAIN", 12: "ENOMEM", 13: "EACCES",
	14: "EFAULT", 15: "ENOTBLK", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV",
	20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 25: "ENOTTY",
	26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 29: "ESPIPE", 30: "EROFS", 31: "EMLINK",
	32: "EPIPE", 33: "EDOM", 34: "ERANGE", 35: "EDEADLK", 36: "ENAMETOOLONG", 37: "ENOLCK",
	38: "ENOSYS", 39: "ENOTEMPTY", 40: "ELOOP", 42: "ENOMSG", 43: "EIDRM",
	61: "ENODATA", 62: "ETIME", 65: "ENOPKG", 71: "EPROTO", 74: "EBADMSG", 75: "EOVERFLOW",
	84: "EILSEQ", 95: "EOPNOTSUPP", 110: "ETIMEDOUT", 114: "EALREADY", 115: "EINPROGRESS",
	125: "ECANCELED", 126: "ENOKEY", 127: "EKEYEXPIRED", 128: "EKEYREVOKED", 129: "EKEYREJECTED",
	512: "ERESTARTSYS",
}

// ErrnoName returns the symbolic name of errno n ("ENOEXEC"), "" for 0 and
// "errno N" for values it does not know.
func ErrnoName(n int) string {
	if n == 0 {
		return ""
	}
	if s, ok := errnoNames[n]; ok {
		return s
	}
	return "errno " + strconv.Itoa(n)
}
