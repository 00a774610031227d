package depmod

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/kmodscope/kmodscope/modindex"
)

// Files lists the files depmod writes, in kmod 30's order (depmod_output).
var Files = []string{
	"modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin",
	"modules.softdep", "modules.symbols", "modules.symbols.bin",
	"modules.builtin.bin", "modules.builtin.alias.bin", "modules.devname",
}

type outFile struct {
	name string
	bin  bool
	gen  func(r *run) []byte
}

// generate builds the files' contents in parallel. Each generator logs into
// its own buffer; the buffers are printed in kmod's file order, so the
// messages come out as kmod prints them.
func (r *run) generate(files []outFile) [][]byte {
	out := make([][]byte, len(files))
	logs := make([]bytes.Buffer, len(files))
	var wg sync.WaitGroup
	sem := make(chan struct{}, max(1, r.jobs()))
	for i := range files {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			rr := *r
			rr.log = &logger{w: bufio.NewWriter(&logs[i]), prio: r.log.prio}
			out[i] = files[i].gen(&rr)
			rr.log.w.Flush()
		}(i)
	}
	wg.Wait()
	for i := range logs {
		r.log.w.Write(logs[i].Bytes())
	}
	return out
}

// allDeps is mod_get_all_sorted_dependencies: the transitive closure
// sorted by topological index.
func allDeps(m *mod, seen map[*mod]bool) []*mod {
	var out []*mod
	var walk func(m *mod)
	walk = func(m *mod) {
		for _, d := range m.deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, d)
			walk(d)
		}
	}
	walk(m)
	sort.Slice(out, func(i, j int) bool { return out[i].depSortIdx < out[j].depSortIdx })
	return out
}

func (r *run) depLines() []string {
	lines := make([]string, len(r.mods))
	for i, m := range r.mods {
		var b strings.Builder
		b.WriteString(m.outPath())
		b.WriteByte(':')
		if len(m.deps) > 0 {
			for _, d := range allDeps(m, map[*mod]bool{}) {
				b.WriteByte(' ')
				b.WriteString(d.outPath())
			}
		}
		lines[i] = b.String()
	}
	return lines
}

// insert adds to an index; on a duplicate with -w it prints
// "duplicate module WHAT:\nLINE\n", where LINE is dupLine or
// "KEY VALUE" ("" for indexes kmod does not check).
func (r *run) insert(ix *modindex.Builder, key, value string, prio int, what, dupLine string) {
	dup, err := ix.Insert(key, value, uint32(prio))
	if err != nil {
		// kmod 30 writes an index it cannot read back; kmod 34 stops.
		r.log.errf("%v\n", err)
		return
	}
	if dup && r.opt.WarnDups && what != "" {
		if dupLine == "" {
			dupLine = key + " " + value
		}
		r.log.warnf("duplicate module %s:\n%s\n", what, dupLine)
	}
}

func (r *run) bytesOf(ix *modindex.Builder) []byte {
	return ix.Bytes(r.opt.Preorder || r.compat34())
}

// Files34 lists the files kmod 34's depmod writes, in its order.
var Files34 = []string{
	"modules.dep", "modules.dep.bin", "modules.alias", "modules.alias.bin",
	"modules.softdep", "modules.weakdep", "modules.symbols", "modules.symbols.bin",
	"modules.builtin.bin", "modules.builtin.alias.bin", "modules.devname",
}

// genWeakdep is kmod 34's output_weakdeps.
func (r *run) genWeakdep() []byte {
	var b bytes.Buffer
	b.WriteString("# Weak dependencies extracted from modules themselves.\n")
	for _, m := range r.mods {
		for _, kv := range m.info {
			if kv.Key == "weakdep" {
				fmt.Fprintf(&b, "weakdep %s %s\n", m.name, cstr(kv.Value))
			}
		}
	}
	return b.Bytes()
}

func (r *run) genDep(lines []string) []byte {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func (r *run) genDepBin(lines []string) []byte {
	ix := modindex.NewBuilder()
	for i, m := range r.mods {
		r.insert(ix, m.name, lines[i], m.idx, "deps", lines[i])
	}
	return r.bytesOf(ix)
}

func (r *run) genAlias() []byte {
	var b bytes.Buffer
	b.WriteString("# Aliases extracted from modules themselves.\n")
	for _, m := range r.mods {
		for _, kv := range m.info {
			if kv.Key == "alias" {
				fmt.Fprintf(&b, "alias %s %s\n", cstr(kv.Value), m.name)
			}
		}
	}
	return b.Bytes()
}

func cstr(s string) string { return s[:cstrlen(s)] }

func (r *run) genAliasBin() []byte {
	ix := modindex.NewBuilder()
	for _, m := range r.mods {
		for _, kv := range m.info {
			if kv.Key != "alias" {
				continue
			}
			a, err := modindex.AliasNormalize(kv.Value)
			if err != nil {
				r.log.warnf("Unmatched bracket in %s\n", cstr(kv.Value))
				continue
			}
			r.insert(ix, a, m.name, m.idx, "alias", "")
		}
	}
	return r.bytesOf(ix)
}

func (r *run) genSoftdep() []byte {
	var b bytes.Buffer
	b.WriteString("# Soft dependencies extracted from modules themselves.\n")
	for _, m := range r.mods {
		for _, kv := range m.info {
			if kv.Key == "softdep" {
				fmt.Fprintf(&b, "softdep %s %s\n", m.name, cstr(kv.Value))
			}
		}
	}
	return b.Bytes()
}

type ownedSym struct {
	name  string
	owner *mod
}

// ownedSymbols lists the symbols a module owns in the iteration order of
// kmod's 2048-bucket symbol hash.
func (r *run) ownedSymbols() []ownedSym {
	var out []ownedSym
	for name, s := range r.symbols {
		if s.owner != nil {
			out = append(out, ownedSym{name, s.owner})
		}
	}
	hashOrder(out, 2048, func(s ownedSym) string { return s.name })
	return out
}

func (r *run) genSymbols(syms []ownedSym) []byte {
	var b bytes.Buffer
	b.WriteString("# Aliases for symbols, used by symbol_request().\n")
	for _, s := range syms {
		fmt.Fprintf(&b, "alias symbol:%s %s\n", s.name, s.owner.name)
	}
	return b.Bytes()
}

func (r *run) genSymbolsBin(syms []ownedSym) []byte {
	ix := modindex.NewBuilder()
	for _, s := range syms {
		key := "symbol:" + s.name
		r.insert(ix, key, s.owner.name, s.owner.idx, "syms", "")
	}
	return r.bytesOf(ix)
}

// genBuiltinBin is output_builtin_bin. Without modules.builtin kmod leaves
// its empty temporary file: a 0-byte index.
func (r *run) genBuiltinBin() []byte {
	data, ok := r.readInDir("modules.builtin")
	if !ok {
		return nil
	}
	ix := modindex.NewBuilder()
	for _, line := range fgetsLines(data, 4096) {
		c := cstr(line)
		if c == "" || !isAlpha(c[0]) {
			r.log.errf("Invalid modules.builtin line: %s\n", c)
			continue
		}
		base := c[strings.LastIndexByte(c, '/')+1:]
		if base == "" {
			continue
		}
		r.insert(ix, modindex.ModnameNormalize(base), "", 0, "", "")
	}
	return r.bytesOf(ix)
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// stream emulates the fgetc loop of output_builtin_alias_bin.
type stream struct {
	data []byte
	pos  int
	eof  bool
}

func (s *stream) getc() int {
	if s.pos >= len(s.data) {
		s.eof = true
		return -1
	}
	c := s.data[s.pos]
	s.pos++
	return int(c)
}

// flushTo is flush_stream_to (dst of PATH_MAX bytes); it returns the text
// read and whether the stop character was endchar.
func (s *stream) flushTo(endchar int) string {
	const size = 4096
	var buf []byte
	c := s.getc()
	for c != -1 && c != endchar && c != 0 && len(buf) < size {
		buf = append(buf, byte(c))
		c = s.getc()
	}
	if len(buf) == size {
		buf = buf[:size-1]
	}
	if c != endchar {
		return ""
	}
	return string(buf)
}

func (s *stream) flush(endchar int) {
	c := s.getc()
	for c != -1 && c != endchar && c != 0 {
		c = s.getc()
	}
}

func (r *run) genBuiltinAliasBin() []byte {
	data, ok := r.readInDir("modules.builtin.modinfo")
	if !ok {
		return nil
	}
	ix := modindex.NewBuilder()
	s := &stream{data: data}
	for !s.eof {
		modname := s.flushTo('.')
		if modname == "" {
			continue
		}
		key := s.flushTo('=')
		if key != "alias" {
			s.flush(0)
			continue
		}
		value := s.flushTo(0)
		if value == "" {
			continue
		}
		a, err := modindex.AliasNormalize(value)
		if err != nil {
			r.log.warnf("Unmatched bracket in %s\n", value)
			continue
		}
		r.insert(ix, a, modname, 0, "", "")
	}
	return r.bytesOf(ix)
}

// scanMajorMinor is sscanf(value, "PREFIX%u-%u") == 2.
func scanMajorMinor(value, prefix string) (uint32, uint32, bool) {
	s, ok := strings.CutPrefix(value, prefix)
	if !ok {
		return 0, 0, false
	}
	maj, ok := scanUint(&s)
	if !ok || !strings.HasPrefix(s, "-") {
		return 0, 0, false
	}
	s = s[1:]
	min, ok := scanUint(&s)
	return maj, min, ok
}

func (r *run) genDevname() []byte {
	var b bytes.Buffer
	empty := true
	for _, m := range r.mods {
		devname := ""
		hasDev := false
		var typ byte
		var major, minor uint32
		for _, kv := range m.info {
			if kv.Key != "alias" {
				continue
			}
			v := cstr(kv.Value)
			if d, ok := strings.CutPrefix(v, "devname:"); ok {
				devname, hasDev = d, true
			} else if maj, min, ok := scanMajorMinor(v, "char-major-"); ok {
				typ, major, minor = 'c', maj, min
			} else if maj, min, ok := scanMajorMinor(v, "block-major-"); ok {
				typ, major, minor = 'b', maj, min
			}
			if typ != 0 && hasDev {
				break
			}
		}
		if !hasDev {
			continue
		}
		if typ == 0 {
			r.log.errf("Module '%s' has devname (%s) but lacks major and minor information. Ignoring.\n", m.name, devname)
			continue
		}
		if empty {
			b.WriteString("# Device nodes to trigger on-demand module loading.\n")
			empty = false
		}
		fmt.Fprintf(&b, "%s %s %c%d:%d\n", m.name, devname, typ, major, minor)
	}
	return b.Bytes()
}

// output is depmod_output: every file is generated in kmod's order (so
// messages come out in kmod's order), written to a temporary file in the
// module directory and, once all are written, renamed into place.
func (r *run) output() ([]string, error) {
	lines := r.depLines()
	syms := r.ownedSymbols()
	files := []outFile{
		{"modules.dep", false, func(r *run) []byte { return r.genDep(lines) }},
		{"modules.dep.bin", true, func(r *run) []byte { return r.genDepBin(lines) }},
		{"modules.alias", false, func(r *run) []byte { return r.genAlias() }},
		{"modules.alias.bin", true, func(r *run) []byte { return r.genAliasBin() }},
		{"modules.softdep", false, func(r *run) []byte { return r.genSoftdep() }},
		{"modules.symbols", false, func(r *run) []byte { return r.genSymbols(syms) }},
		{"modules.symbols.bin", true, func(r *run) []byte { return r.genSymbolsBin(syms) }},
		{"modules.builtin.bin", true, func(r *run) []byte { return r.genBuiltinBin() }},
		{"modules.builtin.alias.bin", true, func(r *run) []byte { return r.genBuiltinAliasBin() }},
		{"modules.devname", false, func(r *run) []byte { return r.genDevname() }},
	}
	if r.compat34() {
		files = append(files[:5:5], append([]outFile{{"modules.weakdep", false, func(r *run) []byte { return r.genWeakdep() }}}, files[5:]...)...)
	}
	if r.opt.DryRun {
		var text []outFile
		for _, f := range files {
			if !f.bin {
				text = append(text, f)
			}
		}
		files = text
	}
	contents := r.generate(files)
	r.outNames, r.outContents = nil, contents
	for _, f := range files {
		r.outNames = append(r.outNames, f.name)
	}
	if r.opt.DryRun {
		for _, data := range contents {
			r.out.Write(data)
		}
		return nil, nil
	}
	if r.outdir != r.dirname {
		if err := os.MkdirAll(r.outdir, 0o755); err != nil {
			return nil, r.log.fatalf("could not create directory %s: %s\n", r.outdir, strerror(err))
		}
	}
	if st, err := os.Stat(r.outdir); err != nil || !st.IsDir() {
		if err == nil {
			err = syscall.ENOTDIR
		}
		return nil, r.log.fatalf("could not open directory %s: %s\n", r.outdir, strerror(err))
	}
	r.removeStaleTemps()
	now := time.Now()
	suffix := fmt.Sprintf(".%d.%d.%d", os.Getpid(), now.Nanosecond()/1000, now.Unix())
	type pending struct{ tmp, name string }
	var done []pending
	cleanup := func() {
		for _, p := range done {
			os.Remove(p.tmp)
		}
	}
	for i, f := range files {
		data := contents[i]
		tmp := r.outdir + "/" + f.name + suffix
		fd, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			r.log.errf("openat(%s, %s, %o, %o): %s\n", r.outdir, f.name+suffix, 0o301, 0o644, strerror(err))
			continue
		}
		_, werr := fd.Write(data)
		if cerr := fd.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			os.Remove(tmp)
			cleanup()
			r.log.errf("Could not write index '%s': %s\n", f.name, strerror(werr))
			return nil, fmt.Errorf("%w: writing %s: %v", ErrFailed, f.name, werr)
		}
		done = append(done, pending{tmp, f.name})
	}
	var written []string
	for i, p := range done {
		if err := os.Rename(p.tmp, r.outdir+"/"+p.name); err != nil {
			for _, q := range done[i:] {
				os.Remove(q.tmp)
			}
			return written, r.log.fatalf("renameat(%s, %s, %s, %s): %s\n", r.outdir, p.tmp, r.outdir, p.name, strerror(err))
		}
		written = append(written, p.name)
	}
	return written, nil
}

// removeStaleTemps deletes the temporary index files (NAME.PID.USEC.SEC)
// that a killed depmod, kmod's or this one, left in the output directory,
// when that process is gone. kmod leaves them forever; readers never take
// them for indexes.
func (r *run) removeStaleTemps() {
	ents, err := os.ReadDir(r.outdir)
	if err != nil {
		return
	}
	for _, e := range ents {
		name := e.Name()
		for _, f := range Files34 {
			rest, ok := strings.CutPrefix(name, f+".")
			if !ok {
				continue
			}
			parts := strings.Split(rest, ".")
			if len(parts) != 3 {
				continue
			}
			pid, err := strconv.Atoi(parts[0])
			if err != nil || pid <= 0 || pid == os.Getpid() || !allDigits(parts[1]) || !allDigits(parts[2]) {
				continue
			}
			if syscall.Kill(pid, 0) == syscall.ESRCH {
				os.Remove(r.outdir + "/" + name)
			}
		}
	}
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
