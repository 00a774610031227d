package depmod

// SetReadHook installs fn to be called with the path of every module file
// depmod opens; nil removes it. Tests only.
func SetReadHook(fn func(path string)) { readHook = fn }
