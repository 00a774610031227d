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

type command struct {
	name    string
	summary string
	run     func(s *IO, args []string) int
}

var commands []command

func register(c command) { commands = append(commands, c) }

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
	for _, c := range commands {
		if c.name == args[0] {
			return c.run(s, args[1:])
		}
	}
	fmt.Fprintf(s.Err, "kmodscope: unknown command %q\n\n", args[0])
	usage(s.Err)
	return ExitUsage
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "kmodscope: read, show and check Linux kernel modules (.ko, .ko.xz, .ko.zst, .ko.gz)\n\nUsage:\n  kmodscope COMMAND [options] ARGS...\n\nCommands:\n")
	sorted := append([]command(nil), commands...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, c := range sorted {
		fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun 'kmodscope COMMAND --help' for a command's options and examples.\n"+
		"Exit codes: 0 success, 1 an input could not be read or processed, 2 usage error (info: 1, as modinfo), 3 check refused a module.\n")
}

// newFlags returns a flag set that reports errors instead of exiting.
func newFlags(name, synopsis, examples string, s *IO) *pflag.FlagSet {
	fs := pflag.NewFlagSet(name, pflag.ContinueOnError)
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
