package cli

// Introspection of registered commands: shell completion and man pages are
// generated from the same flag sets the commands parse with (see the
// contract on type command in root.go).

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/pflag"
)

// cmdSpec describes one command or subcommand as its run function defines it.
type cmdSpec struct {
	name     string // "info", "sig verify"
	summary  string
	synopsis string // as given to newFlags; for a group, its usage lines
	examples string // as given to newFlags
	help     string // the full --help output
	flags    *pflag.FlagSet
	args     argKind
	choices  []string
	subs     []*cmdSpec // subcommands of a group (flags is nil then)
}

// flagRecorder collects the flag sets newFlags creates while a command runs.
type flagRecorder struct {
	sets []recordedFlags
}

type recordedFlags struct {
	name, synopsis, examples string
	fs                       *pflag.FlagSet
}

func (r *flagRecorder) record(name, synopsis, examples string, fs *pflag.FlagSet) {
	r.sets = append(r.sets, recordedFlags{name, synopsis, examples, fs})
}

// choicesAnnotation marks a flag whose value is one of a fixed list.
const choicesAnnotation = "kmodscope_choices"

// flagChoices declares the values flag name accepts, for completion and
// man pages.
func flagChoices(fs *pflag.FlagSet, name string, values ...string) {
	fs.SetAnnotation(name, choicesAnnotation, values)
}

// introspect runs run with args on discarded input and captures what it
// prints and the flag sets it creates.
func introspect(run func(*IO, []string) int, args []string) (help string, rec *flagRecorder, code int) {
	var out, errb bytes.Buffer
	rec = &flagRecorder{}
	bw := bufio.NewWriter(&out)
	s := &IO{In: strings.NewReader(""), Out: bw, Err: &errb, outRaw: &out, spec: rec}
	code = run(s, args)
	bw.Flush()
	return out.String() + errb.String(), rec, code
}

// describe introspects a registered command by running it with --help.
func describe(c command) (*cmdSpec, error) {
	sp := &cmdSpec{name: c.name, summary: c.summary, args: c.args, choices: c.choices}
	help, rec, code := introspect(c.run, []string{"--help"})
	if code != ExitOK {
		return nil, fmt.Errorf("kmodscope %s --help: exit status %d", c.name, code)
	}
	sp.help = help
	if len(rec.sets) > 0 {
		return sp, sp.take(rec)
	}
	// A group: its help lists "kmodscope NAME SUB ..." lines.
	sp.synopsis = strings.TrimSpace(help)
	re := regexp.MustCompile(`(?m)^\s+kmodscope ` + regexp.QuoteMeta(c.name) + ` ([a-z][a-z0-9-]*)\b`)
	seen := map[string]bool{}
	for _, m := range re.FindAllStringSubmatch(help, -1) {
		sub := m[1]
		if seen[sub] {
			continue
		}
		seen[sub] = true
		ss := &cmdSpec{name: c.name + " " + sub, summary: c.summary}
		h, r, code := introspect(c.run, []string{sub, "--help"})
		if code != ExitOK {
			return nil, fmt.Errorf("kmodscope %s %s --help: exit status %d", c.name, sub, code)
		}
		ss.help = h
		if err := ss.take(r); err != nil {
			return nil, err
		}
		sp.subs = append(sp.subs, ss)
	}
	if len(sp.subs) == 0 {
		return nil, fmt.Errorf("kmodscope %s --help: no flag set was created (newFlags) and no subcommand is listed", c.name)
	}
	return sp, nil
}

// take fills sp from the flag set recorded under sp.name.
func (sp *cmdSpec) take(rec *flagRecorder) error {
	for _, r := range rec.sets {
		if r.name == sp.name {
			sp.synopsis, sp.examples, sp.flags = r.synopsis, r.examples, r.fs
			return nil
		}
	}
	var names []string
	for _, r := range rec.sets {
		names = append(names, r.name)
	}
	return fmt.Errorf("kmodscope %s --help: the flag set is named %q, not %q", sp.name, names, sp.name)
}

// sub returns the subcommand called name (the last word).
func (sp *cmdSpec) sub(name string) *cmdSpec {
	for _, s := range sp.subs {
		if strings.TrimPrefix(s.name, sp.name+" ") == name {
			return s
		}
	}
	return nil
}

// leaves returns sp itself, or its subcommands for a group.
func (sp *cmdSpec) leaves() []*cmdSpec {
	if len(sp.subs) > 0 {
		return sp.subs
	}
	return []*cmdSpec{sp}
}

// visibleFlags returns the flags --help shows, in definition order.
func (sp *cmdSpec) visibleFlags() []*pflag.Flag {
	var out []*pflag.Flag
	if sp.flags == nil {
		return nil
	}
	sp.flags.VisitAll(func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			out = append(out, f)
		}
	})
	return out
}

// takesValue reports whether a flag needs an argument.
func takesValue(f *pflag.Flag) bool { return f.NoOptDefVal == "" }

// describeAll introspects every visible command, sorted by name.
func describeAll() ([]*cmdSpec, error) {
	var out []*cmdSpec
	for _, c := range visibleCommands() {
		sp, err := describe(c)
		if err != nil {
			return nil, err
		}
		out = append(out, sp)
	}
	return out, nil
}

// splitExamples splits a command's examples text into the example lines
// (the leading indented block) and the description paragraphs after it.
func splitExamples(text string) (examples []string, paras []string) {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	i := 0
	for ; i < len(lines) && strings.HasPrefix(lines[i], " "); i++ {
		examples = append(examples, strings.TrimRight(lines[i], " "))
	}
	var cur []string
	flush := func() {
		if len(cur) > 0 {
			paras = append(paras, strings.Join(cur, "\n"))
			cur = nil
		}
	}
	for ; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			flush()
			continue
		}
		cur = append(cur, lines[i])
	}
	flush()
	return examples, paras
}
