#!/usr/bin/env bash
# Times `kmodscope check --with-deps` over every module of a tree against its
# own kernel, in one invocation (the target model is loaded once), and the
# target-model load alone (a check of one tiny module): cold, with an empty
# cache (the kernel image is decompressed, up to the end of its builtin
# certificate list, to find its certificates and banner), then warm, with the
# cache that run left ($XDG_CACHE_HOME/kmodscope/kimage, here a fresh
# temporary one, so the user's cache neither helps nor changes). Each is run
# RUNS times (default 3); the median and the best are printed, wall time and
# CPU (user+sys), with the machine's load. Then the time per module and how
# many modules were predicted to load.
#
# usage: bench/check-tree.sh TREE      (e.g. /var/cache/kmodscope/deb-6.1-amd64)
set -euo pipefail
tree=$(cd "${1:?usage: $0 TREE}" && pwd)
runs=${RUNS:-3}
rel=$(basename "$(ls -d "$tree"/lib/modules/*/ | head -1)")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
find "$tree/lib/modules" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) | sort > "$tmp/list"
n=$(wc -l < "$tmp/list")
one=$(grep -m1 -E '/crc7\.ko' "$tmp/list" || head -1 "$tmp/list")
export XDG_CACHE_HOME="$tmp/cache"
unset KMODSCOPE_NO_CACHE
# timed NAME CMD...: runs CMD, appends "wall_ms cpu_ms" to $tmp/NAME.
timed() {
	local name=$1 s e; shift
	s=$(date +%s%N)
	/usr/bin/time -f '%U %S' -o "$tmp/cpu" "$@" > "$tmp/out" || true
	e=$(date +%s%N)
	echo "$(( (e - s) / 1000000 )) $(awk '{printf "%d", ($1 + $2) * 1000}' "$tmp/cpu")" >> "$tmp/$name"
}
# stat NAME COLUMN: "median (best N)" of a column of $tmp/NAME.
stat() { sort -n -k"$2" "$tmp/$1" | awk -v c="$2" '{v[NR]=$c} END {printf "%d ms (best %d)", v[int((NR+1)/2)], v[1]}'; }
med() { sort -n -k"$2" "$tmp/$1" | awk -v c="$2" '{v[NR]=$c} END {print v[int((NR+1)/2)]}'; }
load0=$(cut -d' ' -f1-3 /proc/loadavg)
for _ in $(seq "$runs"); do
	rm -rf "$XDG_CACHE_HOME"
	timed cold "$tmp/kmodscope" check -b "$tree" -k "$rel" "$one"
	timed warm "$tmp/kmodscope" check -b "$tree" -k "$rel" "$one"
done
for _ in $(seq "$runs"); do
	timed all xargs -s 2000000 -a "$tmp/list" "$tmp/kmodscope" check --json --with-deps -b "$tree" -k "$rel"
done
load=$(med warm 1)
all=$(med all 1)
cpu=$(med all 2)
loads=$(grep -c '^      "loads": true' "$tmp/out" || true)
echo "tree: $tree ($rel), $n modules; $runs runs each, median (best)"
echo "target model load + one module, cold (no cache; decompression stops after the certificate list): wall $(stat cold 1), CPU $(stat cold 2)"
echo "target model load + one module, warm (image cache): wall $(stat warm 1), CPU $(stat warm 2)"
echo "all modules with --with-deps, one invocation (warm): wall $(stat all 1), $(awk -v a="$all" -v l="$load" -v n="$n" 'BEGIN{printf "%.2f", (a-l)/n}') ms per module after the target load"
echo "  CPU (user+sys, all cores): $(stat all 2), $(awk -v c="$cpu" -v n="$n" 'BEGIN{printf "%.2f", c/n}') ms per module including the target load"
echo "machine load (1/5/15 min) before: $load0, after: $(cut -d' ' -f1-3 /proc/loadavg), on $(nproc) cores"
echo "predicted to load: $loads of $n"
