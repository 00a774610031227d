// Package cli wires kmodscope's subcommands. Each subcommand lives in its own
// file with its options, flag set and run function; output goes to the
// injected writers so tests need no subprocess.
package cli

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/spf13/pflag"
)

// Exit codes shared by every subcommand (see README "Exit codes").
const (
	ExitOK       = 0 // success
	ExitError    = 1 // an input could not be read or processed
	ExitUsage    = 2 // bad command line
	ExitRefused  = 3 // check: a module would be refused by the kernel
	exitInternal = 1
)

// Version is the kmodscope version printed by --version.
var Version = "0.1.0-dev"

// IO holds the streams a command writes to.
type IO struct {
	In     io.Reader
	Out    *bufio.Writer
	Err    io.Writer
	outRaw io.Writer
	// spec, when set, records every flag set newFlags creates: that is how
	// completion and man pages introspect a command (see describe).
	spec *flagRecorder
}

// errorf prints "kmodscope CMD: ERROR: msg" on stderr, flushing stdout first
// so that both streams interleave in program order.
func (s *IO) errorf(cmd, format string, args ...any) {
	s.Out.Flush()
	fmt.Fprintf(s.Err, "kmodscope %s: ERROR: %s\n", cmd, fmt.Sprintf(format, args...))
}

func (s *IO) json(v any) error {
	enc := json.NewEncoder(s.Out)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// command is one subcommand. The contract every command follows, on which
// usage, `kmodscope completion` and `kmodscope man` rely without any
// per-command code (see describe in spec.go):
//
//   - init() calls register(command{name, summary, run}); summary is one
//     line, lower case, no final period.
//   - run builds its flags with fs := newFlags(name, synopsis, examples, s)
//     and calls parseFlags(fs, ...) before doing anything else, so that
//     run(s, []string{"--help"}) prints the help and returns 0 without side
//     effects. examples starts with indented "  kmodscope NAME ..." lines,
//     then a blank line and plain-text paragraphs (the man page's
//     DESCRIPTION; a sentence starting "Exit status:" becomes EXIT STATUS).
//   - A command group (like `sig`) prints, for --help, usage lines
//     "  kmodscope NAME SUB ..." for each subcommand SUB and dispatches
//     run(s, [SUB, ...]); each subcommand then follows the rules above with
//     newFlags("NAME SUB", ...).
//   - args says what the positional arguments are, for completion; the zero
//     value means file names. Commands that take module names as well as
//     files (resolved under -b BASEDIR -k RELEASE) set argModules.
//   - A flag whose values are a fixed list can say so with
//     flagChoices(fs, "flag", "a", "b"); -b/--basedir completes directories,
//     -k/--set-version the releases under BASEDIR/lib/modules, a flag whose
//     placeholder is DIR directories, and other string flags file names.
type command struct {
	name    string
	summary string
	run     func(s *IO, args []string) int
	args    argKind  // positional arguments, for completion
	choices []string // with argChoices: the words the first argument can be
	hidden  bool     // not listed in usage, completion or man pages
}

// argKind is what a command's positional arguments are.
type argKind int

const (
	argFiles   argKind = iota // file names (the default)
	argModules                // module files or module names under -b/-k
	argDirs                   // directories
	argChoices                // one of command.choices
	argNone                   // no positional arguments
)

var commands []command

func register(c command) { commands = append(commands, c) }

// lookupCommand returns the registered command called name.
func lookupCommand(name string) (command, bool) {
	for _, c := range commands {
		if c.name == name {
			return c, true
		}
	}
	return command{}, false
}

// visibleCommands returns the commands usage, completion and man pages
// show, sorted by name.
func visibleCommands() []command {
	var out []command
	for _, c := range commands {
		if !c.hidden {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// Main runs kmodscope with args (without the program name) and returns the
// process exit code.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if os.Getenv("GOGC") == "" {
		// A short-lived command over many files: collect less often (the
		// heap stays small, bounded by the modules being worked on).
		debug.SetGCPercent(400)
	}
	bw := bufio.NewWriterSize(stdout, 64<<10)
	s := &IO{In: stdin, Out: bw, Err: stderr, outRaw: stdout}
	code := dispatch(s, args)
	if err := bw.Flush(); err != nil && code == ExitOK {
		fmt.Fprintf(stderr, "kmodscope: ERROR: writing output: %v\n", err)
		return ExitError
	}
	return code
}

func dispatch(s *IO, args []string) int {
	if len(args) == 0 {
		usage(s.Err)
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		usage(s.Out)
		return ExitOK
	case "-V", "--version", "version":
		fmt.Fprintf(s.Out, "kmodscope version %s\n", Version)
		return ExitOK
	}
	if c, ok := lookupCommand(args[0]); ok {
		return c.run(s, args[1:])
	}
	fmt.Fprintf(s.Err, "kmodscope: unknown command %q\n\n", args[0])
	usage(s.Err)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kmodscope: read, show and check Linux kernel modules (.ko, .ko.xz, .ko.zst, .ko.gz)\n\nUsage:\n  kmodscope COMMAND [options] ARGS...\n\nCommands:\n")
	for _, c := range visibleCommands() {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'kmodscope COMMAND --help' for a command's options and examples.\n"+
		"Exit codes: 0 success, 1 an input could not be read or processed, 2 usage error (info: 1, as modinfo), 3 check refused a module.\n")
}

// newFlags returns a flag set that reports errors instead of exiting. The
// flag set is the single definition of the command's options: --help,
// completion and man pages are all generated from it.
func newFlags(name, synopsis, examples string, s *IO) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
	if s.spec != nil {
		s.spec.record(name, synopsis, examples, fs)
	}
	fs.SetOutput(io.Discard)
	fs.SortFlags = false
	fs.Usage = func() {
		fmt.Fprintf(s.Out, "Usage:\n  %s\n\nOptions:\n", synopsis)
		fs.SetOutput(s.Out)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
		if examples != "" {
			fmt.Fprintf(s.Out, "\nExamples:\n%s", examples)
		}
	}
	return fs
}

// parseFlags parses args; it returns done=true with the exit code when the
// command should stop (help requested or a usage error).
func parseFlags(fs *pflag.FlagSet, s *IO, cmd string, args []string, usageCode int) (done bool, code int) {
	help := fs.BoolP("help", "h", false, "show this help")
	if err := fs.Parse(args); err != nil {
		s.errorf(cmd, "%v (see 'kmodscope %s --help')", err, cmd)
		return true, usageCode
	}
	if *help {
		fs.Usage()
		return true, ExitOK
	}
	return false, 0
}

// absPath makes p absolute the way kmod's path_make_absolute_cwd does: by
// plain concatenation with the working directory, without cleaning.
func absPath(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	wd, err := os.Getwd()
	if err != nil {
		return p
	}
	return wd + "/" + p
}
