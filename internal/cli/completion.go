package cli

// Shell completion. The bash, zsh and fish scripts are small and the same
// for every command: on each TAB they run `kmodscope __complete ARGS...
// CURRENT`, which answers from the registered commands' own flag sets (see
// describe), and from BASEDIR/lib/modules/RELEASE for module names. A new
// command is therefore completed without any change here.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/spf13/pflag"

	"github.com/kmodscope/kmodscope/modindex"
)

func init() {
	register(command{name: "completion", summary: "print the shell completion script for bash, zsh or fish",
		run: runCompletion, args: argChoices, choices: []string{"bash", "zsh", "fish"}})
	register(command{name: "__complete", summary: "answer a completion request (used by the completion scripts)",
		run: runComplete, hidden: true})
}

const completionExamples = `  source <(kmodscope completion bash)      # in ~/.bashrc
  kmodscope completion bash > /usr/share/bash-completion/completions/kmodscope
  kmodscope completion zsh > "${fpath[1]}/_kmodscope"   # then restart zsh (compinit)
  kmodscope completion fish > ~/.config/fish/completions/kmodscope.fish

Prints a completion script for the shell. The script completes command
names, subcommands, flags and flag values (directories for -b/--basedir, the
releases under BASEDIR/lib/modules for -k/--set-version, files), and for the
commands that take module names (info, check) the module names of
BASEDIR/lib/modules/RELEASE (modules.dep or modules.dep.bin, and
modules.builtin); without -k, RELEASE is the running kernel's. Candidates
come from 'kmodscope __complete', so the script follows the installed
kmodscope. Exit status: 0 on success, 2 on usage errors.
`

func runCompletion(s *IO, args []string) int {
	fs := newFlags("completion", "kmodscope completion bash|zsh|fish", completionExamples, s)
	if done, code := parseFlags(fs, s, "completion", args, ExitUsage); done {
		return code
	}
	if fs.NArg() != 1 {
		s.errorf("completion", "need exactly one shell: bash, zsh or fish (see 'kmodscope completion --help')")
		return ExitUsage
	}
	script, ok := completionScripts[fs.Arg(0)]
	if !ok {
		s.errorf("completion", "unknown shell %q: use bash, zsh or fish", fs.Arg(0))
		return ExitUsage
	}
	fmt.Fprint(s.Out, script)
	return ExitOK
}

// compDirective is the last line of the __complete output, ":N", telling
// the script what to do besides offering the candidates.
type compDirective int

const (
	compNoSpace compDirective = 1 << iota // do not add a space after the word
	compFiles                             // also complete file names
	compDirs                              // also complete directory names
)

type candidate struct{ value, desc string }

// runComplete answers `kmodscope __complete ARGS... CURRENT`: one
// "candidate<TAB>description" line per candidate, then ":DIRECTIVE".
func runComplete(s *IO, args []string) int {
	if len(args) == 0 {
		args = []string{""}
	}
	cands, dir := completeWords(args)
	for _, c := range cands {
		if c.desc != "" {
			fmt.Fprintf(s.Out, "%s\t%s\n", c.value, oneLine(c.desc))
		} else {
			fmt.Fprintf(s.Out, "%s\n", c.value)
		}
	}
	fmt.Fprintf(s.Out, ":%d\n", dir)
	return ExitOK
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// completeWords completes the last of words (the words after "kmodscope",
// the last one being the word under the cursor, possibly empty).
func completeWords(words []string) ([]candidate, compDirective) {
	cur, prev := words[len(words)-1], words[:len(words)-1]
	if len(prev) == 0 {
		if strings.HasPrefix(cur, "-") {
			return filterPrefix(cur, []candidate{{"--help", "show the commands"}, {"--version", "show the version"}, {"-h", "show the commands"}, {"-V", "show the version"}}), 0
		}
		var cs []candidate
		for _, c := range visibleCommands() {
			cs = append(cs, candidate{c.name, c.summary})
		}
		return filterPrefix(cur, cs), 0
	}
	c, ok := lookupCommand(prev[0])
	if !ok || c.hidden {
		return nil, 0
	}
	sp, err := describe(c)
	if err != nil {
		return nil, 0
	}
	rest := prev[1:]
	if len(sp.subs) > 0 {
		if len(rest) == 0 {
			if strings.HasPrefix(cur, "-") {
				return filterPrefix(cur, []candidate{{"--help", "show the subcommands"}}), 0
			}
			var cs []candidate
			for _, sub := range sp.subs {
				cs = append(cs, candidate{strings.TrimPrefix(sub.name, sp.name+" "), sub.synopsis})
			}
			return filterPrefix(cur, cs), 0
		}
		if sp = sp.sub(rest[0]); sp == nil {
			return nil, 0
		}
		rest = rest[1:]
	}
	return completeArgs(sp, rest, cur)
}

// completeArgs completes cur after the arguments rest of command sp,
// scanning rest the way pflag parses it.
func completeArgs(sp *cmdSpec, rest []string, cur string) ([]candidate, compDirective) {
	fs := sp.flags
	vals := map[string]string{} // flag name -> its last value
	npos, dashdash := 0, false
	for i := 0; i < len(rest); i++ {
		a := rest[i]
		switch {
		case dashdash || a == "-" || !strings.HasPrefix(a, "-"):
			npos++
			continue
		case a == "--":
			dashdash = true
			continue
		case strings.HasPrefix(a, "--"):
			name, val, hasVal := strings.Cut(a[2:], "=")
			f := fs.Lookup(name)
			if f == nil || hasVal || !takesValue(f) {
				if f != nil && hasVal {
					vals[f.Name] = val
				}
				continue
			}
			if i+1 == len(rest) {
				return completeValue(sp, f, cur, "", vals)
			}
			i++
			vals[f.Name] = rest[i]
			continue
		}
		for j := 1; j < len(a); j++ { // -abc, -kRELEASE, -k RELEASE
			f := fs.ShorthandLookup(a[j : j+1])
			if f == nil {
				break
			}
			if !takesValue(f) {
				continue
			}
			if j+1 < len(a) {
				vals[f.Name] = strings.TrimPrefix(a[j+1:], "=")
			} else if i+1 == len(rest) {
				return completeValue(sp, f, cur, "", vals)
			} else {
				i++
				vals[f.Name] = rest[i]
			}
			break
		}
	}
	if !dashdash && strings.HasPrefix(cur, "--") && strings.Contains(cur, "=") {
		name, val, _ := strings.Cut(cur[2:], "=")
		if f := fs.Lookup(name); f != nil && takesValue(f) {
			return completeValue(sp, f, val, "--"+name+"=", vals)
		}
		return nil, 0
	}
	if !dashdash && strings.HasPrefix(cur, "-") {
		var cs []candidate
		for _, f := range sp.visibleFlags() {
			_, usage := pflag.UnquoteUsage(f)
			cs = append(cs, candidate{"--" + f.Name, usage})
		}
		if !strings.HasPrefix(cur, "--") {
			for _, f := range sp.visibleFlags() {
				if f.Shorthand != "" {
					_, usage := pflag.UnquoteUsage(f)
					cs = append(cs, candidate{"-" + f.Shorthand, usage})
				}
			}
		}
		return filterPrefix(cur, cs), 0
	}
	switch sp.args {
	case argNone:
		return nil, 0
	case argDirs:
		return nil, compDirs
	case argChoices:
		if npos > 0 {
			return nil, 0
		}
		var cs []candidate
		for _, c := range sp.choices {
			cs = append(cs, candidate{value: c})
		}
		return filterPrefix(cur, cs), 0
	case argModules:
		if strings.ContainsAny(cur, "/~") || strings.HasPrefix(cur, ".") {
			return nil, compFiles
		}
		cs := filterPrefix(cur, moduleNameCandidates(moduleDir(vals["basedir"], vals["set-version"])))
		if len(cs) == 0 {
			return nil, compFiles
		}
		return cs, 0
	}
	return nil, compFiles
}

// completeValue completes the value of flag f; prefix ("--flag=") is put
// before every candidate.
func completeValue(sp *cmdSpec, f *pflag.Flag, cur, prefix string, vals map[string]string) ([]candidate, compDirective) {
	var cs []candidate
	dir := compDirective(0)
	varname, _ := pflag.UnquoteUsage(f)
	switch {
	case len(f.Annotations[choicesAnnotation]) > 0:
		for _, c := range f.Annotations[choicesAnnotation] {
			cs = append(cs, candidate{value: c})
		}
	case f.Name == "set-version":
		ents, _ := os.ReadDir(vals["basedir"] + "/lib/modules")
		for _, e := range ents {
			if e.IsDir() || e.Type()&os.ModeSymlink != 0 {
				cs = append(cs, candidate{value: e.Name(), desc: "kernel release"})
			}
		}
	case f.Name == "basedir" || varname == "DIR" || varname == "BASEDIR":
		return nil, compDirs
	case f.Value.Type() == "string" || f.Value.Type() == "stringArray":
		return nil, compFiles
	default: // numbers, lists of names: nothing sensible to offer
		return nil, 0
	}
	cs = filterPrefix(cur, cs)
	for i := range cs {
		cs[i].value = prefix + cs[i].value
	}
	return cs, dir
}

func filterPrefix(prefix string, cs []candidate) []candidate {
	var out []candidate
	for _, c := range cs {
		if strings.HasPrefix(c.value, prefix) {
			out = append(out, c)
		}
	}
	return out
}

// maxIndexFile bounds what completion reads of a module index file.
const maxIndexFile = 64 << 20

// moduleNameCandidates lists the module names of the tree in dir: the
// modules of modules.dep (or, without it, modules.dep.bin, then
// modules.order) and the builtin ones of modules.builtin (or
// modules.builtin.bin), normalized like kmod ('-' becomes '_').
func moduleNameCandidates(dir string) []candidate {
	names := map[string]string{}
	add := func(list []string, desc string) {
		for _, n := range list {
			if _, ok := names[n]; !ok && n != "" {
				names[n] = desc
			}
		}
	}
	loaded := false
	if l, err := namesFromList(filepath.Join(dir, "modules.dep"), true); err == nil {
		add(l, "module")
		loaded = true
	} else if l, err := namesFromIndex(filepath.Join(dir, "modules.dep.bin")); err == nil {
		add(l, "module")
		loaded = true
	}
	if !loaded {
		if l, err := namesFromList(filepath.Join(dir, "modules.order"), false); err == nil {
			add(l, "module")
		}
	}
	if l, err := namesFromList(filepath.Join(dir, "modules.builtin"), false); err == nil {
		add(l, "builtin module")
	} else if l, err := namesFromIndex(filepath.Join(dir, "modules.builtin.bin")); err == nil {
		add(l, "builtin module")
	}
	out := make([]candidate, 0, len(names))
	for n, d := range names {
		out = append(out, candidate{n, d})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].value < out[j].value })
	return out
}

// namesFromList reads module paths, one a line (modules.dep lines are
// "path: deps..." when dep is set), and returns their module names.
func namesFromList(file string, dep bool) ([]string, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(io.LimitReader(f, maxIndexFile))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if dep {
			var ok bool
			if line, _, ok = strings.Cut(line, ":"); !ok {
				continue
			}
		}
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, modindex.ModnameNormalize(path.Base(line)))
	}
	return out, sc.Err()
}

// namesFromIndex returns the keys of a binary index.
func namesFromIndex(file string) ([]string, error) {
	if st, err := os.Stat(file); err != nil {
		return nil, err
	} else if st.Size() > maxIndexFile {
		return nil, fmt.Errorf("%s: too large", file)
	}
	ix, err := modindex.OpenIndex(file)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := ix.Dump(&buf, ""); err != nil {
		return nil, err
	}
	var out []string
	for _, line := range strings.Split(buf.String(), "\n") {
		if k, _, ok := strings.Cut(line, " "); ok {
			out = append(out, k)
		}
	}
	return out, nil
}

var completionScripts = map[string]string{"bash": bashCompletion, "zsh": zshCompletion, "fish": fishCompletion}

const bashCompletion = `# bash completion for kmodscope                             -*- shell-script -*-
# Generated by 'kmodscope completion bash'. Load it with
#   source <(kmodscope completion bash)
# or install it as /usr/share/bash-completion/completions/kmodscope.
# Candidates come from 'kmodscope __complete ARGS... CURRENT': one
# "word<TAB>description" line each, then ":N" (1 no space, 2 files, 4 dirs).

_kmodscope() {
    local cur=${COMP_WORDS[COMP_CWORD]} i w n out line directive=0
    local -a args=() files=()
    # bash splits "--flag=value" at '=' (COMP_WORDBREAKS): join it again.
    for ((i = 1; i <= COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        n=${#args[@]}
        if ((n > 0)) && [[ $w == "=" && ${args[n-1]} == --* && ${args[n-1]} != *=* ]]; then
            args[n-1]+="="
        elif ((n > 0)) && [[ ${COMP_WORDS[i-1]} == "=" && ${args[n-1]} == --*= ]]; then
            args[n-1]+=$w
        else
            args+=("$w")
        fi
    done
    local full=${args[${#args[@]}-1]}
    local strip=${full%"$cur"} # what bash does not count as the current word
    out=$("${COMP_WORDS[0]}" __complete "${args[@]}" 2>/dev/null) || return 0
    COMPREPLY=()
    while IFS= read -r line; do
        case $line in
        :[0-9]*) directive=${line#:} ;;
        "") ;;
        *)
            line=${line%%$'\t'*}
            COMPREPLY+=("${line#"$strip"}")
            ;;
        esac
    done <<<"$out"
    if ((directive & 6)); then
        local fcur=$cur pre=
        if [[ $full == --*=* ]]; then
            fcur=${full#*=}
            [[ $cur == "=" ]] && pre="="
        fi
        if ((directive & 4)); then
            mapfile -t files < <(compgen -d -- "$fcur")
        else
            mapfile -t files < <(compgen -f -- "$fcur")
        fi
        compopt -o filenames 2>/dev/null
        for w in "${files[@]}"; do
            COMPREPLY+=("$pre$w")
        done
    fi
    if ((directive & 1)); then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}

complete -F _kmodscope kmodscope
`

const zshCompletion = `#compdef kmodscope
compdef _kmodscope kmodscope

# zsh completion for kmodscope, generated by 'kmodscope completion zsh'.
# Install it as _kmodscope in a directory of $fpath, or load it with
#   source <(kmodscope completion zsh)
# after compinit. Candidates come from 'kmodscope __complete ARGS... CURRENT':
# one "word<TAB>description" line each, then ":N" (1 no space, 2 files, 4 dirs).

_kmodscope() {
    local -a args cands lines
    local out line directive=0 ret=1 cur=${words[CURRENT]}
    args=("${(@)words[2,CURRENT]}")
    out=$(${~words[1]} __complete "${args[@]}" 2>/dev/null) || return 1
    lines=("${(@f)out}")
    for line in "${lines[@]}"; do
        if [[ $line == :<-> ]]; then
            directive=${line#:}
        elif [[ $line == *$'\t'* ]]; then
            cands+=("${${line%%$'\t'*}//:/\\:}:${line#*$'\t'}")
        elif [[ -n $line ]]; then
            cands+=("${line//:/\\:}")
        fi
    done
    if (( ${#cands} )); then
        if (( directive & 1 )); then
            _describe -t values 'kmodscope' cands -S '' && ret=0
        else
            _describe -t values 'kmodscope' cands && ret=0
        fi
    fi
    if (( directive & 6 )); then
        [[ $cur == --*=* ]] && compset -P '*='
        if (( directive & 4 )); then
            _files -/ && ret=0
        else
            _files && ret=0
        fi
    fi
    return ret
}

if [ "$funcstack[1]" = "_kmodscope" ]; then
    _kmodscope "$@"
fi
`

const fishCompletion = `# fish completion for kmodscope, generated by 'kmodscope completion fish'.
# Install it as ~/.config/fish/completions/kmodscope.fish, or load it with
#   kmodscope completion fish | source
# Candidates come from 'kmodscope __complete ARGS... CURRENT': one
# "word<TAB>description" line each, then ":N" (1 no space, 2 files, 4 dirs).

function __kmodscope_complete
    set -l args (commandline -opc)
    set -l prog $args[1]
    set -e args[1]
    set -l cur (commandline -ct)
    set -l out ($prog __complete $args "$cur" 2>/dev/null)
    or return
    set -l directive 0
    for line in $out
        if string match -qr '^:[0-9]+$' -- $line
            set directive (string sub -s 2 -- $line)
        else if test -n "$line"
            printf '%s\n' $line
        end
    end
    if test (math "bitand($directive, 6)") -ne 0
        set -l pre ''
        set -l val "$cur"
        if string match -qr -- '^--[^=]*=' "$cur"
            set pre (string replace -r -- '=.*' '=' "$cur")
            set val (string replace -r -- '^[^=]*=' '' "$cur")
        end
        if test (math "bitand($directive, 4)") -ne 0
            for p in (__fish_complete_directories "$val")
                printf '%s%s\n' $pre $p
            end
        else
            for p in (__fish_complete_path "$val")
                printf '%s%s\n' $pre $p
            end
        end
    end
end

complete -c kmodscope -e
complete -c kmodscope -f -a '(__kmodscope_complete)'
`
