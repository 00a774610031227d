#!/usr/bin/env bash
# Times `kmodscope kabi diff` of two complete Module.symvers (text and JSON,
# best of N runs, with peak RSS), `kmodscope symvers` from a kernel image
# alone and from image + modules tree, and, for scale, a plain
# `join`/`comm` of the two sorted files.
#
# usage: bench/kabi.sh OLD_ROOT NEW_ROOT [RUNS]
#   e.g. bench/kabi.sh /var/cache/kmodscope/abi-6.1.0-54-amd64 /var/cache/kmodscope/deb-6.1-amd64 3
set -euo pipefail
old=$(cd "${1:?usage: $0 OLD_ROOT NEW_ROOT [RUNS]}" && pwd)
new=$(cd "${2:?usage: $0 OLD_ROOT NEW_ROOT [RUNS]}" && pwd)
runs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
rel() { basename "$(ls -d "$1"/lib/modules/*/ | head -1)"; }
orel=$(rel "$old"); nrel=$(rel "$new")
osv="$old/usr/src/linux-headers-$orel/Module.symvers"
nsv="$new/usr/src/linux-headers-$nrel/Module.symvers"
img=$(ls "$new"/boot/vmlinuz-"$nrel")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
# best RUNS wall time in ms and the peak RSS of the best run, of a command
best() {
	local b=999999999 rss=0 s e
	for _ in $(seq "$runs"); do
		s=$(ms); /usr/bin/time -f %M -o "$tmp/rss" "$@" > /dev/null 2>&1 || true; e=$(ms)
		if (( e - s < b )); then b=$((e - s)); rss=$(tail -1 "$tmp/rss"); fi
	done
	echo "$b ms, $((rss / 1024)) MiB"
}
echo "OLD $orel: $(wc -l < "$osv") lines; NEW $nrel: $(wc -l < "$nsv") lines; best of $runs"
echo "kabi diff (table):            $(best "$tmp/kmodscope" kabi diff "$osv" "$nsv")"
echo "kabi diff --json:             $(best "$tmp/kmodscope" kabi diff --json "$osv" "$nsv")"
echo "kabi diff --format symvers:   $(best "$tmp/kmodscope" kabi diff --format symvers "$osv" "$nsv")"
echo "comm of the sorted files:     $(best bash -c "comm -3 <(sort '$osv') <(sort '$nsv')")"
echo "symvers IMAGE (vmlinux only): $(best "$tmp/kmodscope" symvers "$img")"
echo "symvers IMAGE TREE:           $(best "$tmp/kmodscope" symvers "$img" "$new/lib/modules/$nrel")"
"$tmp/kmodscope" kabi diff "$osv" "$nsv" | tail -1 || true
