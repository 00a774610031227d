package cli

// Tests of shell completion and man pages: every registered command (found
// by introspection, so commands added later are covered too) must have its
// flags completed by the real bash, zsh and fish with the generated
// scripts, and documented in a man page that groff formats without a
// warning. Module names are completed from a tree built from the committed
// fixtures (modules.dep, and modules.dep.bin written by kmod's depmod).

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// With KMODSCOPE_CLI_TEST_MAIN=1 the test binary is kmodscope itself: the
// shells under test run it through a wrapper script named kmodscope.
func init() {
	if os.Getenv("KMODSCOPE_CLI_TEST_MAIN") == "1" {
		os.Exit(Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
}

func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("KMODSCOPE_REQUIRE_TREES") == "1" {
		t.Fatalf("%s not installed but KMODSCOPE_REQUIRE_TREES=1 (.ci/run must install it)", name)
	}
	t.Skipf("%s not installed", name)
	return ""
}

// kmodscopeOnPath returns a directory holding an executable "kmodscope"
// that runs this test binary as kmodscope.
func kmodscopeOnPath(t *testing.T) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script := fmt.Sprintf("#!/bin/sh\nKMODSCOPE_CLI_TEST_MAIN=1 exec '%s' \"$@\"\n", exe)
	if err := os.WriteFile(filepath.Join(dir, "kmodscope"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

const compRelease = "6.1.0-comptest"

// fixtureNames are the module names of the committed amd64 fixtures.
func fixtureNames(t *testing.T) (files []string, names []string) {
	t.Helper()
	files, _ = filepath.Glob("../../testdata/modules/amd64/*.ko")
	if len(files) < 3 {
		t.Fatalf("committed fixtures missing: %v", files)
	}
	for _, f := range files {
		names = append(names, strings.ReplaceAll(strings.TrimSuffix(filepath.Base(f), ".ko"), "-", "_"))
	}
	sort.Strings(names)
	return files, names
}

// compTree builds BASEDIR/lib/modules/RELEASE with a modules.dep naming
// the committed fixtures and a modules.builtin naming ext4.
func compTree(t *testing.T) (basedir string, names []string) {
	t.Helper()
	files, names := fixtureNames(t)
	basedir = t.TempDir()
	dir := filepath.Join(basedir, "lib/modules", compRelease)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var dep strings.Builder
	for _, f := range files {
		fmt.Fprintf(&dep, "kernel/drivers/misc/%s.xz:\n", filepath.Base(f))
	}
	os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/fs/ext4/ext4.ko\nkernel/lib/crc-t10dif.ko\n"), 0o644)
	return basedir, append(names, "crc_t10dif", "ext4")
}

func completeOut(t *testing.T, words ...string) (values []string, directive string) {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main(append([]string{"__complete"}, words...), nil, &out, &errb); code != 0 {
		t.Fatalf("__complete %q: exit %d: %s", words, code, errb.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	directive = lines[len(lines)-1]
	if !strings.HasPrefix(directive, ":") {
		t.Fatalf("__complete %q: last line %q is not a directive", words, directive)
	}
	for _, l := range lines[:len(lines)-1] {
		v, _, _ := strings.Cut(l, "\t")
		values = append(values, v)
	}
	return values, directive
}

// leafSpecs returns every command and subcommand, with the words that
// invoke it ("info", "sig verify").
func leafSpecs(t *testing.T) []*cmdSpec {
	t.Helper()
	specs, err := describeAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []*cmdSpec
	for _, sp := range specs {
		out = append(out, sp.leaves()...)
	}
	if len(out) < 10 {
		t.Fatalf("only %d commands found", len(out))
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestCommandsDescribed: every command answers --help with a summary and
// examples naming itself, and its flag set is recorded under its name.
func TestCommandsDescribed(t *testing.T) {
	for _, sp := range leafSpecs(t) {
		if strings.TrimSpace(sp.summary) == "" {
			t.Errorf("%s: empty summary", sp.name)
		}
		if sp.flags == nil || sp.flags.Lookup("help") == nil {
			t.Errorf("%s: no flag set with --help recorded", sp.name)
		}
		ex, _ := splitExamples(sp.examples)
		n := 0
		for _, l := range ex {
			if strings.Contains(l, "kmodscope "+sp.name) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no example line running 'kmodscope %s' in %q", sp.name, sp.name, sp.examples)
		}
		if !strings.Contains(sp.help, "\nExamples:\n") || !strings.Contains(sp.help, "Usage:\n  "+sp.synopsis) {
			t.Errorf("%s --help lacks the usage or the examples:\n%s", sp.name, sp.help)
		}
		if !strings.HasPrefix(sp.synopsis, "kmodscope "+sp.name) {
			t.Errorf("%s: synopsis %q does not start with 'kmodscope %s'", sp.name, sp.synopsis, sp.name)
		}
	}
}

// TestCompleteFlags: __complete offers every visible flag of every command
// (long and short forms) and no hidden one.
func TestCompleteFlags(t *testing.T) {
	for _, sp := range leafSpecs(t) {
		words := strings.Fields(sp.name)
		long, _ := completeOut(t, append(words, "--")...)
		all, _ := completeOut(t, append(words, "-")...)
		for _, f := range sp.visibleFlags() {
			if !contains(long, "--"+f.Name) || !contains(all, "--"+f.Name) {
				t.Errorf("%s: --%s not completed: %v", sp.name, f.Name, long)
			}
			if f.Shorthand != "" && !contains(all, "-"+f.Shorthand) {
				t.Errorf("%s: -%s not completed: %v", sp.name, f.Shorthand, all)
			}
		}
		sp.flags.VisitAll(func(f *pflag.Flag) {
			if f.Hidden && contains(all, "--"+f.Name) {
				t.Errorf("%s: hidden flag --%s completed", sp.name, f.Name)
			}
		})
	}
}

// TestCompleteWords covers command names, subcommands, flag values, module
// names from modules.dep and modules.builtin, and odd command lines.
func TestCompleteWords(t *testing.T) {
	basedir, names := compTree(t)
	for _, tc := range []struct {
		words []string
		want  []string
		dir   string
	}{
		{[]string{"inf"}, []string{"info"}, ":0"},
		{[]string{"--v"}, []string{"--version"}, ":0"},
		{[]string{"sig", ""}, []string{"verify", "strip"}, ":0"},
		{[]string{"sig", "verify", "--ce"}, []string{"--cert"}, ":0"},
		{[]string{"sig", "verify", "--cert", ""}, nil, ":2"},
		{[]string{"info", "-b", ""}, nil, ":4"},
		{[]string{"info", "--basedir=/x"}, nil, ":4"},
		{[]string{"info", "-b", basedir, "-k", ""}, []string{compRelease}, ":0"},
		{[]string{"info", "--basedir=" + basedir, "--set-version=6"}, []string{"--set-version=" + compRelease}, ":0"},
		{[]string{"info", "-b", basedir, "-k", compRelease, "ums"}, []string{"ums_realtek"}, ":0"},
		{[]string{"info", "-b", basedir, "-k" + compRelease, "-m", "ex"}, []string{"ext4"}, ":0"},
		{[]string{"check", "-b", basedir, "-k", compRelease, "--with-deps", "e"}, []string{"e1000e", "ext4"}, ":0"},
		{[]string{"info", "-b", basedir, "-k", compRelease, "./"}, nil, ":2"},
		{[]string{"info", "-b", basedir, "-k", compRelease, "zzz"}, nil, ":2"},
		{[]string{"info", "-b", basedir, "-k", compRelease, "--", "-"}, nil, ":2"},
		{[]string{"check", "--policy", ""}, []string{"debian", "upstream"}, ":0"},
		{[]string{"check", "--policy=u"}, []string{"--policy=upstream"}, ":0"},
		{[]string{"check", "--max-size", ""}, nil, ":0"},
		{[]string{"completion", ""}, []string{"bash", "zsh", "fish"}, ":0"},
		{[]string{"completion", "bash", ""}, nil, ":0"},
		{[]string{"man", ""}, nil, ":4"},
		{[]string{"versions", ""}, nil, ":2"},
		{[]string{"nosuch", ""}, nil, ":0"},
		{[]string{"sig", "nosuch", ""}, nil, ":0"},
		{[]string{"__complete", ""}, nil, ":0"},
		{[]string{"info", "--nosuch", "-"}, nil, ":0"},
	} {
		got, dir := completeOut(t, tc.words...)
		if tc.words[len(tc.words)-1] == "-" { // only checks it does not crash
			got = nil
		}
		if !reflect.DeepEqual(got, tc.want) || dir != tc.dir {
			t.Errorf("__complete %q = %q %s, want %q %s", tc.words, got, dir, tc.want, tc.dir)
		}
	}
	all, _ := completeOut(t, "info", "-b", basedir, "-k", compRelease, "")
	if !reflect.DeepEqual(all, sortedCopy(names)) {
		t.Errorf("module names = %q, want %q", all, sortedCopy(names))
	}
}

func sortedCopy(s []string) []string {
	c := append([]string(nil), s...)
	sort.Strings(c)
	return c
}

// TestModuleNamesFromIndex: without modules.dep, the names come from
// modules.dep.bin; checked against the modules.dep kmod's depmod writes
// for the committed fixtures.
func TestModuleNamesFromIndex(t *testing.T) {
	depmod := requireTool(t, "depmod")
	files, names := fixtureNames(t)
	base := t.TempDir()
	dir := filepath.Join(base, "lib/modules", compRelease)
	os.MkdirAll(filepath.Join(dir, "kernel"), 0o755)
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "kernel", filepath.Base(f)), data, 0o644)
	}
	if out, err := exec.Command(depmod, "-b", base, compRelease).CombinedOutput(); err != nil {
		t.Fatalf("depmod: %v\n%s", err, out)
	}
	fromText := moduleNameCandidates(dir)
	if err := os.Remove(filepath.Join(dir, "modules.dep")); err != nil {
		t.Fatal(err)
	}
	fromBin := moduleNameCandidates(dir)
	if len(fromBin) != len(names) || !reflect.DeepEqual(fromBin, fromText) {
		t.Errorf("names from modules.dep.bin %v, from modules.dep %v, want %v", fromBin, fromText, names)
	}
	for i, c := range fromBin {
		if c.value != names[i] {
			t.Errorf("name %d = %q, want %q", i, c.value, names[i])
		}
	}
	// A damaged index gives no names, and no crash.
	os.WriteFile(filepath.Join(dir, "modules.dep.bin"), []byte("\xb0\x07\xf4\x57\x00\x02\x00\x01\xff\xff\xff\xff"), 0o644)
	os.Remove(filepath.Join(dir, "modules.order"))
	if got := moduleNameCandidates(dir); len(got) != 0 {
		t.Errorf("names from a damaged index: %v", got)
	}
}

// shellRun runs a shell script with kmodscope on PATH, in a clean HOME.
func shellRun(t *testing.T, shell string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, shell, args...)
	home := t.TempDir()
	cmd.Env = append(os.Environ(), "PATH="+kmodscopeOnPath(t)+":"+os.Getenv("PATH"), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_DATA_HOME="+home)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %q: %v\n%s\n%s", shell, args, err, out.String(), errb.String())
	}
	return out.String()
}

func writeScript(t *testing.T, shell string) string {
	t.Helper()
	var out, errb bytes.Buffer
	if code := Main([]string{"completion", shell}, nil, &out, &errb); code != 0 {
		t.Fatalf("completion %s: exit %d %s", shell, code, errb.String())
	}
	p := filepath.Join(t.TempDir(), "kmodscope."+shell)
	os.WriteFile(p, out.Bytes(), 0o644)
	return p
}

// shellCase is a command line to complete (the last word is the one under
// the cursor) and what must be among the candidates.
type shellCase struct {
	line []string
	want []string
}

func shellCases(t *testing.T, basedir string, names []string) []shellCase {
	cases := []shellCase{
		{[]string{"in"}, []string{"info"}},
		{[]string{"sig", "ve"}, []string{"verify"}},
		{[]string{"info", "--ba"}, []string{"--basedir"}},
		{[]string{"check", "--policy", ""}, []string{"debian", "upstream"}},
		{[]string{"info", "-b", basedir, "-k", ""}, []string{compRelease}},
		{[]string{"info", "-b", basedir, "-k", compRelease, "ums"}, []string{"ums_realtek"}},
		{[]string{"check", "-b", basedir, "-k", compRelease, ""}, names},
		{[]string{"info", "-b", filepath.Join(basedir, "li")}, []string{filepath.Join(basedir, "lib") + "/"}},
	}
	for _, sp := range leafSpecs(t) { // every flag of every command
		var want []string
		for _, f := range sp.visibleFlags() {
			want = append(want, "--"+f.Name)
		}
		cases = append(cases, shellCase{append(strings.Fields(sp.name), "--"), want})
	}
	return cases
}

// checkShellResults compares "### i" separated candidate lists.
func checkShellResults(t *testing.T, shell, out string, cases []shellCase) {
	t.Helper()
	parts := strings.Split(out, "### ")
	if len(parts) != len(cases)+1 {
		t.Fatalf("%s: %d results for %d cases:\n%s", shell, len(parts)-1, len(cases), out)
	}
	for i, c := range cases {
		var got []string
		for _, l := range strings.Split(parts[i+1], "\n")[1:] {
			v, _, _ := strings.Cut(l, "\t")
			// bash adds the '/' of directories when it displays them.
			if v = strings.TrimSuffix(strings.TrimSpace(v), "/"); v != "" {
				got = append(got, v)
			}
		}
		for _, w := range c.want {
			w = strings.TrimSuffix(w, "/")
			// zsh's _files hands compadd the last path component.
			if !contains(got, w) && !(shell == "zsh" && strings.Contains(w, "/") && contains(got, filepath.Base(w))) {
				t.Errorf("%s: completing %q: %q missing from %q", shell, c.line, w, got)
			}
		}
	}
}

func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestCompletionBash sources the script into a real bash and calls the
// completion function as bash's programmable completion does.
func TestCompletionBash(t *testing.T) {
	bash := requireTool(t, "bash")
	basedir, names := compTree(t)
	cases := shellCases(t, basedir, names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "source %s\n", shQuote(writeScript(t, "bash")))
	for i, c := range cases {
		var q []string
		for _, w := range c.line {
			q = append(q, shQuote(w))
		}
		fmt.Fprintf(&sb, "COMP_WORDS=(kmodscope %s); COMP_CWORD=%d; COMPREPLY=(); _kmodscope\necho '### %d'; printf '%%s\\n' \"${COMPREPLY[@]}\"\n",
			strings.Join(q, " "), len(c.line), i)
	}
	// bash splits --flag=value at '=': the script must complete the value.
	fmt.Fprintf(&sb, "COMP_WORDS=(kmodscope check --policy = u); COMP_CWORD=4; COMPREPLY=(); _kmodscope; echo \"EQ1 ${COMPREPLY[*]}\"\n")
	fmt.Fprintf(&sb, "COMP_WORDS=(kmodscope check --policy =); COMP_CWORD=3; COMPREPLY=(); _kmodscope; echo \"EQ2 ${COMPREPLY[*]}\"\n")
	fmt.Fprintf(&sb, "complete -p kmodscope\n")
	out := shellRun(t, bash, "-c", sb.String())
	last := out[strings.LastIndex(out, "### "):]
	extra := last[strings.Index(last, "EQ1"):]
	checkShellResults(t, "bash", out[:len(out)-len(extra)], cases)
	for _, want := range []string{"EQ1 upstream\n", "EQ2 =debian =upstream\n", "complete -F _kmodscope kmodscope\n"} {
		if !strings.Contains(extra, want) {
			t.Errorf("bash: %q missing from %q", want, extra)
		}
	}
}

// TestCompletionZsh checks the syntax with zsh -n, then completes each
// line in a real interactive zsh (compinit, the script sourced, driven
// through zsh/zpty by TAB keystrokes), recording what reaches compadd.
func TestCompletionZsh(t *testing.T) {
	zsh := requireTool(t, "zsh")
	script := writeScript(t, "zsh")
	shellRun(t, zsh, "-n", script)
	basedir, names := compTree(t)
	cases := shellCases(t, basedir, names)
	dir := t.TempDir()
	setup := filepath.Join(dir, "setup.zsh")
	os.WriteFile(setup, []byte(`bindkey -e
autoload -Uz compinit && compinit -u -D
source `+shQuote(script)+`
zstyle ':completion:*' menu no
compadd() {
    local -a hits
    builtin compadd -A hits "$@"
    (( ${#hits} )) && print -rl -- $hits >> $HITS
    builtin compadd "$@"
}
`), 0o644)
	// Each command line sets a new prompt, P<step>>, and the driver waits
	// for it before typing on: zle drops what is typed ahead while it
	// starts a line. (The echo of $((step)) does not match the pattern.)
	var sb strings.Builder
	step := 0
	run := func(cmdline string) {
		step++
		fmt.Fprintf(&sb, "zpty -w z $'\\C-u'%s\nzpty -r z junk '*P%d> '\n", shQuote(cmdline+fmt.Sprintf("; PS1=P$((%d))'> '", step)), step)
	}
	fmt.Fprintf(&sb, "zmodload zsh/zpty\nzpty z zsh -f -i\n")
	run("source " + setup)
	for i, c := range cases {
		run(fmt.Sprintf("HITS=%s/hits.%d", dir, i))
		fmt.Fprintf(&sb, "zpty -w -n z %s$'\\t'\n", shQuote("kmodscope "+strings.Join(c.line, " ")))
	}
	run("touch " + dir + "/done")
	fmt.Fprintf(&sb, "zpty -d z\n")
	shellRun(t, zsh, "-f", "-c", sb.String())
	if _, err := os.Stat(filepath.Join(dir, "done")); err != nil {
		t.Fatalf("zsh did not finish the completions")
	}
	var out strings.Builder
	for i := range cases {
		hits, _ := os.ReadFile(filepath.Join(dir, fmt.Sprintf("hits.%d", i)))
		fmt.Fprintf(&out, "### %d\n%s", i, hits)
	}
	checkShellResults(t, "zsh", out.String(), cases)
}

// TestCompletionFish checks the syntax with fish -n and completes with
// fish's own `complete -C`.
func TestCompletionFish(t *testing.T) {
	fish := requireTool(t, "fish")
	script := writeScript(t, "fish")
	shellRun(t, fish, "-n", script)
	basedir, names := compTree(t)
	cases := shellCases(t, basedir, names)
	var sb strings.Builder
	fmt.Fprintf(&sb, "source %s\n", shQuote(script))
	for i, c := range cases {
		var q []string
		for _, w := range c.line {
			q = append(q, strings.ReplaceAll(w, " ", `\ `))
		}
		line := "kmodscope " + strings.Join(q, " ")
		fmt.Fprintf(&sb, "echo '### %d'; complete -C %s\n", i, shQuote(line))
	}
	checkShellResults(t, "fish", shellRun(t, fish, "--no-config", "-c", sb.String()), cases)
}

// TestManPages generates the pages with `kmodscope man`, formats each with
// groff -ww (every warning enabled: there must be none) and man -l, and
// checks every command has a page documenting each of its flags.
func TestManPages(t *testing.T) {
	dir := t.TempDir()
	var out, errb bytes.Buffer
	if code := Main([]string{"man", dir}, nil, &out, &errb); code != 0 {
		t.Fatalf("man: exit %d %s", code, errb.String())
	}
	specs, err := describeAll()
	if err != nil {
		t.Fatal(err)
	}
	main, err := os.ReadFile(filepath.Join(dir, "kmodscope.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sp := range specs {
		if !strings.Contains(string(main), ".BR "+roff(manName(sp.name))+" (1)") {
			t.Errorf("kmodscope.1 does not list %s", sp.name)
		}
	}
	groff := requireTool(t, "groff")
	render := func(page string) string {
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", filepath.Join(dir, page))
		var o, e bytes.Buffer
		cmd.Stdout, cmd.Stderr = &o, &e
		if err := cmd.Run(); err != nil || e.Len() > 0 {
			t.Errorf("groff -man -Tutf8 -ww %s: %v\n%s", page, err, e.String())
		}
		// Undo the terminal rendering: overstrike bold/underline, and
		// \- as U+2212.
		s := o.String()
		for strings.Contains(s, "\b") {
			i := strings.Index(s, "\b")
			s = s[:i-1] + s[i+1:]
		}
		s = strings.NewReplacer("\u2212", "-", "\u2010", "-", "\u2018", "'", "\u2019", "'").Replace(s)
		return s
	}
	text := render("kmodscope.1")
	if !strings.Contains(text, "NAME") || !strings.Contains(text, "kmodscope - read, show and check") {
		t.Errorf("kmodscope.1 renders as:\n%s", text)
	}
	for _, sp := range specs {
		if len(sp.subs) > 0 {
			g := render(manName(sp.name) + ".1")
			for _, s := range sp.subs {
				if !strings.Contains(g, manName(s.name)+"(1)") {
					t.Errorf("%s.1 does not refer to %s(1)", manName(sp.name), manName(s.name))
				}
			}
		}
		for _, l := range sp.leaves() {
			page := manName(l.name) + ".1"
			text := render(page)
			for _, want := range []string{"NAME", "SYNOPSIS", "OPTIONS", "EXAMPLES", "EXIT STATUS", manName(l.name) + " - "} {
				if !strings.Contains(text, want) {
					t.Errorf("%s: %q missing", page, want)
				}
			}
			for _, f := range l.visibleFlags() {
				if !strings.Contains(text, "--"+f.Name) {
					t.Errorf("%s: --%s not documented", page, f.Name)
				}
				if f.Shorthand != "" && !strings.Contains(text, "-"+f.Shorthand+", --"+f.Name) {
					t.Errorf("%s: -%s, --%s not documented", page, f.Shorthand, f.Name)
				}
			}
		}
	}
	if mandb, err := exec.LookPath("man"); err == nil {
		cmd := exec.Command(mandb, "-l", filepath.Join(dir, "kmodscope-info.1"))
		cmd.Env = append(os.Environ(), "MANWIDTH=80", "PAGER=cat", "MANPAGER=cat")
		o, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(o), "--basedir") || strings.Contains(string(o), "warning") {
			t.Errorf("man -l kmodscope-info.1: %v\n%s", err, o)
		}
	}
}

// TestRoffEscape: text that means something to roff is escaped.
func TestRoffEscape(t *testing.T) {
	for in, want := range map[string]string{
		`.TH x`:        `\&.TH x`,
		`'quote`:       `\&'quote`,
		`a\nb`:         `a\enb`,
		`--json`:       `\-\-json`,
		"x\u00e9y":     `x\[u00E9]y`,
		"l1\n.l2":      "l1\n\\&.l2",
		"use \\0 here": `use \e0 here`,
	} {
		if got := roff(in); got != want {
			t.Errorf("roff(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestGenManScript runs scripts/gen-man.sh with this test binary as
// kmodscope: it writes the same pages as `kmodscope man`, and the
// completion scripts with COMPLETIONS=1.
func TestGenManScript(t *testing.T) {
	bash := requireTool(t, "bash")
	out := t.TempDir()
	cmd := exec.Command(bash, "../../scripts/gen-man.sh", filepath.Join(out, "man"))
	cmd.Env = append(os.Environ(), "KMODSCOPE="+filepath.Join(kmodscopeOnPath(t), "kmodscope"), "COMPLETIONS=1")
	if o, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen-man.sh: %v\n%s", err, o)
	}
	pages, err := manPages()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		got, err := os.ReadFile(filepath.Join(out, "man", p.file))
		if err != nil || string(got) != p.text {
			t.Errorf("gen-man.sh: %s differs from kmodscope man (%v)", p.file, err)
		}
	}
	for file, shell := range map[string]string{"kmodscope.bash": "bash", "_kmodscope": "zsh", "kmodscope.fish": "fish"} {
		got, err := os.ReadFile(filepath.Join(out, "completions", file))
		if err != nil || string(got) != completionScripts[shell] {
			t.Errorf("gen-man.sh: completions/%s is not the %s script (%v)", file, shell, err)
		}
	}
}

// FuzzComplete: any command line (words separated by NUL) completes
// without a panic, and every candidate starts with the current word.
func FuzzComplete(f *testing.F) {
	for _, s := range []string{"", "in", "info\x00-b\x00/\x00-k\x00", "check\x00--policy=u", "sig\x00verify\x00--cert",
		"info\x00-kb\x00-", "info\x00--\x00-", "sig\x00\x00", "size\x00-A\x00--format=", "info\x00-F"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		words := strings.Split(line, "\x00")
		cands, _ := completeWords(words)
		cur := words[len(words)-1]
		for _, c := range cands {
			if !strings.HasPrefix(c.value, cur) {
				t.Errorf("completing %q: candidate %q does not start with %q", words, c.value, cur)
			}
		}
	})
}

// FuzzRoff: escaped text never starts a line with a control character
// and every backslash starts one of the escapes roff writes.
func FuzzRoff(f *testing.F) {
	for _, s := range []string{".TH", "a\\b", "--x", "'q", "\u00e9\n.x", "\t\x01"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := roff(s)
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, ".") || strings.HasPrefix(l, "'") {
				t.Errorf("roff(%q): line %q starts with a control character", s, l)
			}
			for i := 0; i < len(l); i++ {
				if l[i] == '\\' {
					if i+1 == len(l) || !strings.ContainsRune("e-[&", rune(l[i+1])) {
						t.Errorf("roff(%q): stray backslash in %q", s, l)
					}
					i++
				}
			}
		}
	})
}
