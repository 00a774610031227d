package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/kmodscope/kmodscope/compression"
	"github.com/kmodscope/kmodscope/depmod"
)

func init() {
	register(command{name: "depmod", summary: "write modules.dep and the module indexes, byte-identical to kmod 30's depmod", run: runDepmod})
}

const depmodSynopsis = "kmodscope depmod [-a] [-A] [-b BASEDIR] [-o OUTDIR] [-n] [-e] [-E Module.symvers | -F System.map] [-C CONFIG] [-w] [-v] [-P PREFIX] [--no-cache] [--compat 30|34] [RELEASE] [MODULE...]\n       kmodscope depmod --diff [--json] DIR_A DIR_B"

var depmodExamples = `  kmodscope depmod                               # like depmod -a for $(uname -r)
  kmodscope depmod -b /tmp/root 6.1.0-57-amd64   # index /tmp/root/lib/modules/6.1.0-57-amd64
  kmodscope depmod -ae -F System.map -b DIR KVER # what kbuild's modules_install runs
  kmodscope depmod -n -b /tmp/root 6.1.0-57-amd64 > all.txt  # text indexes on stdout
  kmodscope depmod --no-cache -b /tmp/root 6.1.0-57-amd64  # read every module, keep no cache
  kmodscope depmod --compat 34 -b /tmp/root 6.1.0-57-amd64  # kmod 34's layout and modules.weakdep
  kmodscope depmod --diff /lib/modules/6.1.0-57-amd64 /tmp/root/lib/modules/6.1.0-57-amd64

Writes modules.dep, modules.dep.bin, modules.alias, modules.alias.bin,
modules.softdep, modules.symbols, modules.symbols.bin, modules.builtin.bin,
modules.builtin.alias.bin and modules.devname with the bytes kmod 30's depmod
writes, each through a temporary file renamed into place. Modules are read
on all cores. The facts read from each module are kept in
` + depmod.CacheName + ` and ` + depmod.JournalName + ` next to
the indexes, so a rerun only reads the modules that changed (keyed by
device, inode, size, mtime and ctime), and keeps the index files when its
inputs are the last run's and the files are still that run's; the output
is always that of a clean run. Messages on stderr are kmod's
("depmod: WARNING: ...").
Exit status: 0 on success (unreadable modules are reported and skipped, as
kmod does), 1 on a fatal error or a dependency cycle (nothing written),
2 on usage errors. With --diff: 0 when the index sets are equal, 3 when they
differ, 1 when a directory or index cannot be read.
`

type depmodJSON struct {
	Schema   string   `json:"schema"`
	Dirname  string   `json:"dirname"`
	Modules  int      `json:"modules"`
	Written  []string `json:"written"`
	UpToDate bool     `json:"up_to_date"`
	Cycles   int      `json:"cycles"`
	Read     int      `json:"read"`
	Cached   int      `json:"cached"`
	Reused   bool     `json:"reused"`
	Error    *string  `json:"error"`
}

func runDepmod(s *IO, args []string) int {
	fs := newFlags("depmod", depmodSynopsis, depmodExamples, s)
	var (
		o                  depmod.Options
		all, quick, dry    bool
		base, outdir, pref string
		deprecated         [4]bool
		jsonOut, showVer   bool
		noCache, diff      bool
	)
	fs.BoolVarP(&all, "all", "a", false, "probe all modules (the default when no MODULE is given)")
	fs.BoolVarP(&quick, "quick", "A", false, "do nothing if no module is newer than modules.dep")
	fs.StringVarP(&base, "basedir", "b", "", "use the module tree under `DIR` (DIR/lib/modules/RELEASE)")
	fs.StringVarP(&outdir, "outdir", "o", "", "write the indexes under `DIR`/lib/modules/RELEASE (kmod 31+)")
	fs.StringArrayVarP(&o.ConfigPaths, "config", "C", nil, "read depmod.d configuration from `PATH` instead of the defaults; repeatable")
	fs.StringVarP(&o.Symvers, "symvers", "E", "", "use `Module.symvers` for vmlinux's exports and check symbol versions")
	fs.StringVarP(&o.SystemMap, "filesyms", "F", "", "use `System.map` for vmlinux's exports")
	fs.BoolVarP(&o.ErrSyms, "errsyms", "e", false, "report symbols no module or vmlinux provides (needs -E or -F)")
	fs.BoolVarP(&dry, "show", "n", false, "write the text indexes to stdout only")
	fs.BoolVar(&dry, "dry-run", false, "same as --show")
	fs.StringVarP(&pref, "symbol-prefix", "P", "", "architecture symbol prefix `CHAR`")
	fs.BoolVarP(&o.WarnDups, "warn", "w", false, "warn about duplicate index values")
	fs.CountVarP(&o.Verbose, "verbose", "v", "print each dependency and why (stdout); repeat for INFO messages")
	fs.BoolVarP(&deprecated[0], "unresolved-error", "u", false, "deprecated, ignored")
	fs.BoolVarP(&deprecated[1], "quiet", "q", false, "deprecated, ignored")
	fs.BoolVarP(&deprecated[2], "root", "r", false, "deprecated, ignored")
	fs.BoolVarP(&deprecated[3], "map", "m", false, "deprecated, ignored")
	fs.BoolVarP(&showVer, "version", "V", false, "show the version")
	fs.BoolVar(&o.Preorder, "preorder", false, "write kmod 34's pre-order .bin layout")
	fs.BoolVar(&o.Cache, "cache", true, "keep per-module facts in "+depmod.CacheName+" next to the indexes and re-read only changed modules (the default)")
	fs.BoolVar(&noCache, "no-cache", false, "read every module and neither read nor write "+depmod.CacheName+" nor "+depmod.JournalName)
	fs.IntVar(&o.Compat, "compat", 30, "write the indexes of kmod `VERSION` (30, or 34: pre-order .bin layout and modules.weakdep)")
	fs.BoolVar(&diff, "diff", false, "compare the index sets in two module directories (DIR_A DIR_B) semantically")
	fs.IntVar(&o.Jobs, "jobs", 0, "modules read in parallel (0: all cores)")
	fs.Int64Var(&o.MaxSize, "max-size", compression.DefaultLimit, "refuse compressed modules that expand beyond this many bytes")
	fs.BoolVar(&jsonOut, "json", false, "print a kmodscope.depmod/v1 summary on stdout")
	for _, n := range []string{"unresolved-error", "quiet", "root", "map", "cache"} {
		fs.Lookup(n).Hidden = true
	}
	if done, code := parseFlags(fs, s, "depmod", args, ExitUsage); done {
		return code
	}
	if diff {
		return depmodDiff(s, fs.Args(), jsonOut)
	}
	if noCache {
		o.Cache = false
	}
	if o.Compat != 30 && o.Compat != 34 {
		s.errorf("depmod", "--compat %d: only 30 and 34 are known", o.Compat)
		return ExitUsage
	}
	o.Version = Version
	if showVer {
		fmt.Fprintf(s.Out, "kmodscope version %s (depmod compatible with kmod version 30)\n", Version)
		return ExitOK
	}
	for i, c := range "uqrm" {
		if deprecated[i] {
			s.Out.Flush()
			fmt.Fprintf(s.Err, "depmod: WARNING: Ignored deprecated option -%c\n", c)
		}
	}
	if len(pref) > 1 {
		s.Out.Flush()
		fmt.Fprintf(s.Err, "depmod: FATAL: -P only takes a single char\n")
		return ExitError
	}
	if pref != "" {
		o.SymPrefix = pref[0]
	}
	if base != "" {
		o.BaseDir = absPath(base)
	}
	if outdir != "" {
		o.OutDir = absPath(outdir)
	}
	o.DryRun, o.Quick = dry, quick
	rest := fs.Args()
	if len(rest) > 0 {
		o.Release = rest[0]
		rest = rest[1:]
	} else {
		var u syscall.Utsname
		if err := syscall.Uname(&u); err != nil {
			fmt.Fprintf(s.Err, "depmod: FATAL: uname() failed: %v\n", err)
			return ExitError
		}
		var b strings.Builder
		for _, c := range u.Release {
			if c == 0 {
				break
			}
			b.WriteByte(byte(c))
		}
		o.Release = b.String()
	}
	if len(rest) > 0 && !all {
		// As in kmod, -a wins over MODULE arguments (they are ignored).
		o.Files = rest
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		// The Go heap holds the modules' facts and the indexes, about
		// 10 KiB a module (decompressed images are read into memory
		// outside it): collect rarely (Main's GOGC 400), and when most
		// of a tree is read (a cold run), under a soft limit sized to
		// the modules read, which keeps the peak memory near kmod's and
		// the collector's CPU low. Runs that read a few modules (the
		// rest from the cache) get no limit: the heap they need depends
		// on the modules not read.
		o.Progress = func(done, total int) {
			if done == 1 && total >= 512 {
				debug.SetMemoryLimit(max(64<<20, 24<<20+int64(total)*10<<10))
			}
		}
	}

	o.Stdout, o.Stderr = s.Out, s.Err
	res, err := depmod.Run(&o)
	code := ExitOK
	if err != nil {
		code = ExitError
		if !errors.Is(err, depmod.ErrFailed) {
			s.errorf("depmod", "%v", err)
		}
	}
	if jsonOut {
		doc := depmodJSON{Schema: "kmodscope.depmod/v1", Written: []string{}}
		if res != nil {
			doc.Dirname, doc.Modules, doc.UpToDate, doc.Cycles = res.Dirname, res.Modules, res.UpToDate, res.Cycles
			doc.Read, doc.Cached, doc.Reused = res.Read, res.Cached, res.Reused
			if res.Written != nil {
				doc.Written = res.Written
			}
		}
		if err != nil {
			msg := err.Error()
			doc.Error = &msg
		}
		s.json(doc)
	}
	return code
}

type depmodDiffJSON struct {
	Schema string            `json:"schema"`
	A      string            `json:"a"`
	B      string            `json:"b"`
	Equal  bool              `json:"equal"`
	Files  []depmod.FileDiff `json:"files"`
	Error  *string           `json:"error"`
}

// depmodDiff is `depmod --diff DIR_A DIR_B`.
func depmodDiff(s *IO, args []string, jsonOut bool) int {
	if len(args) != 2 {
		s.errorf("depmod", "--diff takes two module directories, DIR_A DIR_B (got %d arguments)", len(args))
		return ExitUsage
	}
	diffs, err := depmod.Diff(args[0], args[1])
	doc := depmodDiffJSON{Schema: "kmodscope.depmod-diff/v1", A: args[0], B: args[1], Files: diffs}
	if err != nil {
		s.errorf("depmod", "--diff: %v", err)
		if jsonOut {
			msg := err.Error()
			doc.Error, doc.Files = &msg, []depmod.FileDiff{}
			s.json(doc)
		}
		return ExitError
	}
	doc.Equal = true
	for _, d := range diffs {
		if d.Status != "same" {
			doc.Equal = false
		}
	}
	if jsonOut {
		s.json(doc)
	} else {
		var b bytes.Buffer
		depmod.FormatDiff(&b, diffs, args[0], args[1])
		s.Out.Write(b.Bytes())
	}
	if !doc.Equal {
		return ExitRefused
	}
	return ExitOK
}
