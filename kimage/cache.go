package kimage

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// cacheVersion changes whenever what Parse derives changes; entries of
// another version are ignored.
const cacheVersion = 1

// CacheDir returns the directory OpenCached keeps its entries in:
// $XDG_CACHE_HOME/kmodscope/kimage, else ~/.cache/kmodscope/kimage; "" when
// KMODSCOPE_NO_CACHE is set or neither is known.
func CacheDir() string {
	if os.Getenv("KMODSCOPE_NO_CACHE") != "" {
		return ""
	}
	d := os.Getenv("XDG_CACHE_HOME")
	if d == "" || !filepath.IsAbs(d) {
		h, err := os.UserHomeDir()
		if err != nil || h == "" {
			return ""
		}
		d = filepath.Join(h, ".cache")
	}
	return filepath.Join(d, "kmodscope", "kimage")
}

// cacheKey identifies one version of an image file: its path, size,
// modification time, inode and device. A rewritten or replaced image gets
// another key.
type cacheKey struct {
	Version int    `json:"version"`
	Path    string `json:"path"`
	Size    int64  `json:"size"`
	MtimeNs int64  `json:"mtime_ns"`
	Ino     uint64 `json:"ino"`
	Dev     uint64 `json:"dev"`
	// Stop is Options.StopAfterCerts: such entries are kept apart.
	Stop bool `json:"stop_after_certs,omitempty"`
}

type cacheCert struct {
	DER    []byte `json:"der"`
	Offset int64  `json:"offset"`
}

type cacheEntry struct {
	Key           cacheKey    `json:"key"`
	Format        string      `json:"format"`
	Wrapper       string      `json:"wrapper"`
	Payload       string      `json:"payload"`
	PayloadOffset int64       `json:"payload_offset"`
	KernelSize    int64       `json:"kernel_size"`
	Version       string      `json:"banner"`
	ListOffset    int64       `json:"list_offset"`
	ListSize      int64       `json:"list_size"`
	Certs         []cacheCert `json:"certs"`
	Other         []cacheCert `json:"other"`
	Stopped       bool        `json:"stopped,omitempty"`
}

func keyOf(path string, st os.FileInfo) cacheKey {
	k := cacheKey{Version: cacheVersion, Path: path, Size: st.Size(), MtimeNs: st.ModTime().UnixNano()}
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		k.Ino, k.Dev = uint64(s.Ino), uint64(s.Dev)
	}
	return k
}

func (k cacheKey) withoutStop() cacheKey {
	k.Stop = false
	return k
}

func (k cacheKey) file(dir string) string {
	b, _ := json.Marshal(k)
	h := sha256.Sum256(b)
	return filepath.Join(dir, hex.EncodeToString(h[:16])+".json")
}

// OpenCached is [Open] with a cache in dir (see [CacheDir]; "" disables
// it): what Open derives from an image (format, banner, certificates) is
// kept under a key made of the file's path, size, mtime, inode and device,
// so a second call for the same unchanged file does not decompress the
// kernel. A changed image misses the cache; an unreadable or corrupt entry
// is ignored and rewritten; failing to write the cache is not an error. Only
// successful results (and ErrNoCerts) are cached. hit reports whether the
// result came from the cache.
func OpenCached(path string, opt *Options, dir string) (img *Image, hit bool, err error) {
	if dir == "" {
		img, err = Open(path, opt)
		return img, false, err
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, false, err
	}
	key := keyOf(abs, st)
	key.Stop = opt != nil && opt.StopAfterCerts
	file := key.file(dir)
	if img, err := readCache(file, key); err == nil {
		if len(img.Certs) == 0 {
			return img, true, &Error{Path: path, Format: img.Format, Payload: img.Payload, Offset: -1, Kind: ErrNoCerts}
		}
		return img, true, nil
	}
	img, err = Open(path, opt)
	if err == nil || (img != nil && errors.Is(err, ErrNoCerts)) {
		// Only if the file did not change while it was read.
		if st2, serr := os.Stat(path); serr == nil && keyOf(abs, st2) == key.withoutStop() {
			writeCache(dir, file, key, img)
		}
	}
	return img, false, err
}

func readCache(file string, key cacheKey) (*Image, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var e cacheEntry
	if err := json.Unmarshal(b, &e); err != nil {
		return nil, err
	}
	if e.Key != key {
		return nil, errors.New("stale cache entry")
	}
	img := &Image{Format: e.Format, Wrapper: e.Wrapper, Payload: e.Payload, PayloadOffset: e.PayloadOffset,
		KernelSize: e.KernelSize, Version: e.Version, ListOffset: e.ListOffset, ListSize: e.ListSize, Stopped: e.Stopped}
	conv := func(cs []cacheCert) ([]Cert, error) {
		var out []Cert
		for _, c := range cs {
			x, err := x509.ParseCertificate(c.DER)
			if err != nil {
				return nil, err
			}
			out = append(out, Cert{Raw: x.Raw, Cert: x, Offset: c.Offset})
		}
		return out, nil
	}
	if img.Certs, err = conv(e.Certs); err != nil {
		return nil, err
	}
	if img.Other, err = conv(e.Other); err != nil {
		return nil, err
	}
	return img, nil
}

func writeCache(dir, file string, key cacheKey, img *Image) {
	e := cacheEntry{Key: key, Format: img.Format, Wrapper: img.Wrapper, Payload: img.Payload, PayloadOffset: img.PayloadOffset,
		KernelSize: img.KernelSize, Version: img.Version, ListOffset: img.ListOffset, ListSize: img.ListSize,
		Certs: []cacheCert{}, Other: []cacheCert{}, Stopped: img.Stopped}
	for _, c := range img.Certs {
		e.Certs = append(e.Certs, cacheCert{c.Raw, c.Offset})
	}
	for _, c := range img.Other {
		e.Other = append(e.Other, cacheCert{c.Raw, c.Offset})
	}
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return
	}
	_, werr := tmp.Write(b)
	cerr := tmp.Close()
	if werr != nil || cerr != nil || os.Rename(tmp.Name(), file) != nil {
		os.Remove(tmp.Name())
	}
}
