#!/usr/bin/env bash
# Generate kmodscope's man pages (and, optionally, completion scripts) from
# the command definitions, by running `kmodscope man`.
#
# Usage: scripts/gen-man.sh [DIR]      (DIR defaults to build/man)
#
# Builds kmodscope from this checkout (set KMODSCOPE=path to use an existing
# binary), writes DIR/kmodscope.1 and DIR/kmodscope-COMMAND.1, and, when
# groff is installed, checks that every page formats without a warning
# (groff -man -Tutf8 -ww). With COMPLETIONS=1 it also writes
# DIR/../completions/{kmodscope.bash,_kmodscope,kmodscope.fish}.
#
# Needs: go (unless KMODSCOPE is set); groff (optional, for the check).
set -euo pipefail

cd "$(dirname "$0")/.."
DIR=${1:-build/man}
BIN=${KMODSCOPE:-}
if [ -z "$BIN" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	BIN=$tmp/kmodscope
	go build -o "$BIN" ./cmd/kmodscope
fi

"$BIN" man "$DIR"

if command -v groff >/dev/null; then
	for page in "$DIR"/kmodscope*.1; do
		warnings=$(groff -man -Tutf8 -ww -z "$page" 2>&1)
		if [ -n "$warnings" ]; then
			printf '%s: groff warnings:\n%s\n' "$page" "$warnings" >&2
			exit 1
		fi
	done
fi

if [ "${COMPLETIONS:-0}" = 1 ]; then
	comp=$DIR/../completions
	mkdir -p "$comp"
	"$BIN" completion bash >"$comp/kmodscope.bash"
	"$BIN" completion zsh >"$comp/_kmodscope"
	"$BIN" completion fish >"$comp/kmodscope.fish"
fi

n=$(ls "$DIR"/kmodscope*.1 | wc -l)
printf '%d man pages in %s\n' "$n" "$DIR" >&2
