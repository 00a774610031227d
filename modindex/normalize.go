package modindex

import "errors"

// pathMax is PATH_MAX; kmod normalises into PATH_MAX-sized buffers.
const pathMax = 4096

// ErrInvalidAlias is returned by AliasNormalize for a ']' outside a
// bracket expression or a '[' without a closing ']' (kmod: -EINVAL).
var ErrInvalidAlias = errors.New("invalid alias")

// AliasNormalize mirrors shared/util.c alias_normalize: '-' becomes '_'
// except inside "[...]"; a lone ']' or an unterminated '[' is an error.
// Like kmod it stops at a NUL byte and after PATH_MAX-1 bytes outside
// brackets.
func AliasNormalize(alias string) (string, error) {
	at := func(i int) byte {
		if i < len(alias) {
			return alias[i]
		}
		return 0
	}
	buf := make([]byte, 0, len(alias))
	for i := 0; i < pathMax-1; i++ {
		c := at(i)
		switch c {
		case '-':
			buf = append(buf, '_')
		case ']':
			return "", ErrInvalidAlias
		case '[':
			for at(i) != ']' && at(i) != 0 {
				buf = append(buf, at(i))
				i++
			}
			if at(i) != ']' {
				return "", ErrInvalidAlias
			}
			buf = append(buf, ']')
		case 0:
			return string(buf), nil
		default:
			buf = append(buf, c)
		}
	}
	return string(buf), nil
}

// ModnameNormalize mirrors shared/util.c modname_normalize: '-' becomes
// '_', and the name stops at the first '.' or NUL (or after PATH_MAX-1
// bytes).
func ModnameNormalize(modname string) string {
	i := 0
	for i < len(modname) && i < pathMax-1 && modname[i] != '-' && modname[i] != 0 && modname[i] != '.' {
		i++
	}
	if i == len(modname) || i == pathMax-1 || modname[i] != '-' {
		return modname[:i] // nothing to replace
	}
	buf := make([]byte, 0, len(modname))
	for i := 0; i < len(modname) && i < pathMax-1; i++ {
		c := modname[i]
		if c == '-' {
			c = '_'
		} else if c == 0 || c == '.' {
			break
		}
		buf = append(buf, c)
	}
	return string(buf)
}
