// Package kabi compares the exported-symbol ABI of two kernels: the
// Module.symvers tables that modpost writes, or the same tables rebuilt
// from what a distribution ships (the kernel image's __ksymtab/__kcrctab
// and each module's exports).
//
// Inputs ([Load]) are a Module.symvers file (plain or gzip), a kernel
// image (any format package kimage reads), a module file, a modules tree,
// or a root-like directory (BASEDIR with boot/ and lib/modules/RELEASE).
// [Diff] classifies every symbol; [Rules] (SUSE's severity format) decide
// which changes break the ABI.
package kabi

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/kimage"
	"github.com/kmodscope/kmodscope/ko"
	"github.com/kmodscope/kmodscope/symvers"
)

// Options tune [Load].
type Options struct {
	// Release selects lib/modules/RELEASE of a root-like directory; it may
	// be empty when there is exactly one.
	Release string
	// MaxSize bounds decompressed modules (0: compression.DefaultLimit);
	// kernel images get kimage's default.
	MaxSize int64
	// PreferImage makes a root-like directory read the kernel image and the
	// modules tree even when a Module.symvers is present.
	PreferImage bool
}

// Input is a loaded input.
type Input struct {
	Path string
	// Kind is "symvers", "image", "module", "tree", "image+tree" or "root".
	Kind string
	// Sources lists the files the table was built from.
	Sources []string
	// Release is the release of a root-like directory, or "".
	Release string
	// Root is the BASEDIR of a root-like directory, or "".
	Root string
	// Image and Tree are the kernel image and modules tree of the input
	// where there are (for a root, even when its Module.symvers was read),
	// or "": what a BTF comparison needs.
	Image, Tree string
	Table       *symvers.Table
	// Shared lists the vmlinux exports whose place in the table is a
	// guess (see kimage.KSym.NameShared).
	Shared []string
}

// InputError names the input and what is wrong with it.
type InputError struct {
	Path string
	Err  error
}

func (e *InputError) Error() string { return e.Path + ": " + e.Err.Error() }
func (e *InputError) Unwrap() error { return e.Err }

// IsModuleFile reports whether name ends in .ko, .ko.xz, .ko.zst or .ko.gz.
func IsModuleFile(name string) bool {
	for _, s := range []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"} {
		if strings.HasSuffix(name, s) {
			return true
		}
	}
	return false
}

// Load reads one input into a table.
func Load(path string, o *Options) (*Input, error) {
	if o == nil {
		o = &Options{}
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		if rels, ok := rootReleases(path); ok {
			return loadRoot(path, rels, o)
		}
		return loadTree(path, o)
	}
	if IsModuleFile(path) {
		syms, err := moduleSymbols(path, ModulePath(filepath.Dir(path), path), o)
		if err != nil {
			return nil, err
		}
		return &Input{Path: path, Kind: "module", Sources: []string{path}, Table: symvers.New(syms)}, nil
	}
	return loadFile(path, o)
}

// loadFile reads a Module.symvers (plain or gzip) or a kernel image.
func loadFile(path string, o *Options) (*Input, error) {
	head := make([]byte, 64)
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	n, _ := f.Read(head)
	f.Close()
	head = head[:n]
	if compression.Sniff(head) == compression.Gzip || looksLikeSymvers(head) {
		data, _, err := compression.ReadFile(path, 256<<20) // as symvers.Open
		if err == nil && looksLikeSymvers(data) {
			t, err := symvers.Parse(bytes.NewReader(data))
			if err != nil {
				return nil, &InputError{path, fmt.Errorf("Module.symvers: %w", err)}
			}
			return &Input{Path: path, Kind: "symvers", Sources: []string{path}, Table: t}, nil
		}
	}
	syms, shared, err := imageSymbols(path)
	if err != nil {
		return nil, err
	}
	return &Input{Path: path, Kind: "image", Sources: []string{path}, Image: path, Table: symvers.New(syms), Shared: shared}, nil
}

func looksLikeSymvers(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	if !bytes.HasPrefix(b, []byte("0x")) {
		return false
	}
	l := b
	if i := bytes.IndexByte(l, '\n'); i >= 0 {
		l = l[:i]
	}
	return bytes.Count(l, []byte("\t")) >= 3 || (len(l) == len(b) && bytes.Count(l, []byte("\t")) >= 1)
}

// ImageSymbols reads the vmlinux exports of a kernel image, in the order
// modpost lists them (see [kimage.KSym.NameOffset]); it also returns how
// many of them have a shared name string, whose place is a guess.
func ImageSymbols(path string) ([]symvers.Symbol, []string, error) { return imageSymbols(path) }

func imageSymbols(path string) ([]symvers.Symbol, []string, error) {
	k, err := kimage.OpenKernel(path, nil)
	if err != nil {
		return nil, nil, err
	}
	kt, err := k.Ksymtab()
	if err != nil {
		return nil, nil, &InputError{path, err}
	}
	return orderImage(kt.Symbols)
}

// orderImage sorts the image's exports into Module.symvers order: by the
// position of the name in __ksymtab_strings, which the linker lays out in
// modpost's order. A name the linker merged into the tail of a longer
// string has no position of its own; it is placed after the export whose
// symbol lies closest below it in memory (the same object file, mostly,
// and modpost lists an object's exports together).
func orderImage(ks []kimage.KSym) ([]symvers.Symbol, []string, error) {
	var own, shared []int
	for i := range ks {
		if ks[i].NameShared {
			shared = append(shared, i)
		} else {
			own = append(own, i)
		}
	}
	sort.SliceStable(own, func(a, b int) bool { return ks[own[a]].NameOffset < ks[own[b]].NameOffset })
	byValue := append([]int(nil), own...)
	sort.SliceStable(byValue, func(a, b int) bool { return ks[byValue[a]].Value < ks[byValue[b]].Value })
	sort.SliceStable(shared, func(a, b int) bool { return ks[shared[a]].Value < ks[shared[b]].Value })
	after := map[int][]int{} // own index -> shared exports placed after it
	var first []int
	for _, si := range shared {
		v := ks[si].Value
		j := sort.Search(len(byValue), func(k int) bool { return ks[byValue[k]].Value > v }) - 1
		if j < 0 {
			first = append(first, si)
			continue
		}
		after[byValue[j]] = append(after[byValue[j]], si)
	}
	out := make([]symvers.Symbol, 0, len(ks))
	add := func(i int) {
		k := &ks[i]
		out = append(out, symvers.Symbol{Name: k.Name, CRC: k.CRC, Module: "vmlinux", GPLOnly: k.GPLOnly, Namespace: k.Namespace})
	}
	for _, i := range first {
		add(i)
	}
	for _, i := range own {
		add(i)
		for _, si := range after[i] {
			add(si)
		}
	}
	names := make([]string, len(shared))
	for i, si := range shared {
		names[i] = ks[si].Name
	}
	return out, names, nil
}

// rootReleases returns the releases under DIR/lib/modules if DIR looks
// like a root (it has lib/modules and boot or usr/src).
func rootReleases(dir string) ([]string, bool) {
	ents, err := os.ReadDir(filepath.Join(dir, "lib/modules"))
	if err != nil {
		return nil, false
	}
	var rels []string
	for _, e := range ents {
		if e.IsDir() {
			rels = append(rels, e.Name())
		}
	}
	sort.Strings(rels)
	return rels, len(rels) > 0
}

// SymversPath returns the Module.symvers of release rel under root, the way
// package target looks for it, or "".
func SymversPath(root, rel string) string {
	modDir := filepath.Join(root, "lib/modules", rel)
	var cands []string
	if l, err := os.Readlink(filepath.Join(modDir, "build")); err == nil {
		if filepath.IsAbs(l) {
			cands = append(cands, filepath.Join(root, l, "Module.symvers"))
		} else {
			cands = append(cands, filepath.Join(modDir, l, "Module.symvers"))
		}
	}
	cands = append(cands, filepath.Join(root, "usr/src/linux-headers-"+rel, "Module.symvers"),
		filepath.Join(root, "boot", "symvers-"+rel+".gz"), filepath.Join(root, "boot", "symvers-"+rel))
	for _, c := range cands {
		if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
			return c
		}
	}
	return ""
}

// ImagePath returns the kernel image of release rel under root, or "".
func ImagePath(root, rel string) string {
	for _, n := range []string{"vmlinuz-", "vmlinux-", "Image-"} {
		p := filepath.Join(root, "boot", n+rel)
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

func loadRoot(root string, rels []string, o *Options) (*Input, error) {
	rel := o.Release
	if rel == "" {
		if len(rels) != 1 {
			return nil, &InputError{root, fmt.Errorf("holds several kernels (%s): choose one with -k", strings.Join(rels, ", "))}
		}
		rel = rels[0]
	} else if st, err := os.Stat(filepath.Join(root, "lib/modules", rel)); err != nil || !st.IsDir() {
		return nil, &InputError{root, fmt.Errorf("no lib/modules/%s (has %s)", rel, strings.Join(rels, ", "))}
	}
	if !o.PreferImage {
		if p := SymversPath(root, rel); p != "" {
			t, err := symvers.Open(p)
			if err != nil {
				return nil, err
			}
			return &Input{Path: root, Kind: "root", Release: rel, Root: root, Sources: []string{p}, Table: t,
				Image: ImagePath(root, rel), Tree: filepath.Join(root, "lib/modules", rel)}, nil
		}
	}
	img := ImagePath(root, rel)
	if img == "" {
		return nil, &InputError{root, fmt.Errorf("no Module.symvers and no boot/vmlinuz-%s for release %s", rel, rel)}
	}
	in, err := ImageAndTree(img, filepath.Join(root, "lib/modules", rel), o)
	if err != nil {
		return nil, err
	}
	in.Path, in.Kind, in.Release, in.Root = root, "root", rel, root
	return in, nil
}

// ImageAndTree builds the whole Module.symvers of a kernel: the image's
// exports, then the exports of every module in the tree.
func ImageAndTree(image, tree string, o *Options) (*Input, error) {
	syms, shared, err := imageSymbols(image)
	if err != nil {
		return nil, err
	}
	tin, err := loadTree(tree, o)
	if err != nil {
		return nil, err
	}
	all := append(syms, tin.Table.Symbols...)
	return &Input{Path: image, Kind: "image+tree", Sources: append([]string{image}, tin.Sources...),
		Image: image, Tree: tree, Table: symvers.New(all), Shared: shared}, nil
}

// ModulePath returns the Module.symvers module column for a file in a
// modules tree: the path relative to the tree without a leading "kernel/"
// and without the .ko suffix.
func ModulePath(tree, file string) string {
	rel, err := filepath.Rel(tree, file)
	if err != nil || strings.HasPrefix(rel, "..") {
		rel = filepath.Base(file)
	}
	rel = filepath.ToSlash(rel)
	rel = strings.TrimPrefix(rel, "kernel/")
	for _, s := range []string{".ko.xz", ".ko.zst", ".ko.gz", ".ko"} {
		if strings.HasSuffix(rel, s) {
			return strings.TrimSuffix(rel, s)
		}
	}
	return rel
}

// TreeModules lists the module files under dir in modpost's order: the
// order of dir/modules.order where it names them, then the rest sorted
// by path. build/ and source/ links are not followed.
func TreeModules(dir string) ([]string, error) {
	var files []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == dir {
				return err
			}
			return nil
		}
		if d.IsDir() && p != dir && (d.Name() == "build" || d.Name() == "source") {
			return fs.SkipDir
		}
		if d.Type().IsRegular() && IsModuleFile(d.Name()) {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	rank := map[string]int{}
	if b, err := os.ReadFile(filepath.Join(dir, "modules.order")); err == nil {
		for i, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				rank[strings.TrimSuffix(strings.TrimPrefix(l, "kernel/"), ".ko")] = i + 1
			}
		}
	}
	if len(rank) > 0 {
		r := func(f string) int {
			if v, ok := rank[ModulePath(dir, f)]; ok {
				return v
			}
			return len(rank) + 1
		}
		sort.SliceStable(files, func(i, j int) bool { return r(files[i]) < r(files[j]) })
	}
	return files, nil
}

// loadTree reads the exports of every module under dir.
func loadTree(dir string, o *Options) (*Input, error) {
	files, err := TreeModules(dir)
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, &InputError{dir, errors.New("no kernel modules (.ko, .ko.xz, .ko.zst, .ko.gz) in this directory, and it is not a root (no lib/modules)")}
	}
	res := make([][]symvers.Symbol, len(files))
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	next := make(chan int)
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				res[i], errs[i] = moduleSymbols(files[i], ModulePath(dir, files[i]), o)
			}
		}()
	}
	for i := range files {
		next <- i
	}
	close(next)
	wg.Wait()
	var all []symvers.Symbol
	for i := range files {
		if errs[i] != nil {
			return nil, errs[i]
		}
		all = append(all, res[i]...)
	}
	return &Input{Path: dir, Kind: "tree", Sources: []string{dir}, Tree: dir, Table: symvers.New(all)}, nil
}

// moduleSymbols reads one module's exports as Module.symvers lines, in
// the module's symbol table order (modpost's order).
func moduleSymbols(file, modPath string, o *Options) ([]symvers.Symbol, error) {
	m, err := ko.Open(file, &ko.Options{MaxSize: o.MaxSize})
	if err != nil {
		return nil, err
	}
	defer m.Close()
	ex, err := m.Exports()
	if err != nil {
		return nil, &InputError{file, fmt.Errorf("reading the export tables: %w", err)}
	}
	out := make([]symvers.Symbol, 0, len(ex))
	for _, e := range ex {
		out = append(out, symvers.Symbol{Name: e.Name, CRC: uint32(e.CRC), Module: modPath, GPLOnly: e.GPLOnly, Namespace: e.Namespace})
	}
	return out, nil
}
