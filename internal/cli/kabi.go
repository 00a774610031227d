package cli

import (
	"fmt"
	"sort"
	"strings"
)

func init() {
	register(command{name: "kabi", summary: "compare kernels' ABIs (kabi diff, kabi matrix, kabi explain)", run: runKabi})
}

// kabiSub is one `kmodscope kabi SUB` subcommand. Each subcommand's file
// adds itself to kabiSubs in its init(), with a one-line usage for the
// group's help; run follows the command contract in root.go with
// newFlags("kabi SUB", ...).
type kabiSub struct {
	usage string // "kmodscope kabi diff [OPTIONS] OLD NEW"
	run   func(s *IO, args []string) int
}

var kabiSubs = map[string]kabiSub{}

func kabiUsage() string {
	var b strings.Builder
	b.WriteString("Usage:\n")
	names := make([]string, 0, len(kabiSubs))
	for n := range kabiSubs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "  %s\n", kabiSubs[n].usage)
	}
	b.WriteString("\nRun 'kmodscope kabi SUBCOMMAND --help' for details.\n")
	return b.String()
}

func runKabi(s *IO, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(s.Err, kabiUsage())
		return ExitUsage
	}
	switch args[0] {
	case "-h", "--help", "help":
		fmt.Fprint(s.Out, kabiUsage())
		return ExitOK
	}
	if sub, ok := kabiSubs[args[0]]; ok {
		return sub.run(s, args[1:])
	}
	s.errorf("kabi", "unknown subcommand %q\n%s", args[0], kabiUsage())
	return ExitUsage
}
