#!/usr/bin/env bash
# Times `kmodscope info` against kmod's `modinfo` over every module of a tree,
# in the same run, alternating which goes first, and prints the wall-time ratio.
#
# usage: bench/info-vs-modinfo.sh TREE [RUNS] [-- EXTRA INFO OPTIONS]
#   TREE  a root-like directory (TREE/lib/modules/REL/...), e.g. one made by
#         scripts/fetch-debian-kernel.sh 6.1 amd64 amd64 /var/cache/kmodscope/deb-6.1-amd64
#   RUNS  timed runs of each tool (default 5); the median is compared.
# Both tools get the same absolute paths in the same argument lists (xargs -s
# 2000000: one invocation for a whole Debian tree), and write to /dev/null.
# Outputs are compared once (cmp) first.
set -euo pipefail
tree=${1:?usage: $0 TREE [RUNS]}; runs=${2:-5}; shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
modinfo=$(command -v modinfo || echo /usr/sbin/modinfo)
find "$(cd "$tree" && pwd)/lib/modules" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) -print0 | sort -z > "$tmp/list"
n=$(tr -cd '\0' < "$tmp/list" | wc -c)
[ "$n" -gt 0 ] || { echo "no modules under $tree/lib/modules" >&2; exit 1; }
run_modinfo()   { xargs -0 -s 2000000 "$modinfo" "${extra[@]}" < "$tmp/list"; }
run_kmodscope() { xargs -0 -s 2000000 "$tmp/kmodscope" info "${extra[@]}" < "$tmp/list"; }
run_modinfo > "$tmp/a" 2>/dev/null || true
run_kmodscope > "$tmp/b" 2>/dev/null || true
if cmp -s "$tmp/a" "$tmp/b"; then same=identical; else same=DIFFERENT; fi
t() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
: > "$tmp/tm"; : > "$tmp/tk"
for ((i = 0; i < runs; i++)); do
  if (( i % 2 )); then t run_modinfo >> "$tmp/tm"; t run_kmodscope >> "$tmp/tk"
  else t run_kmodscope >> "$tmp/tk"; t run_modinfo >> "$tmp/tm"; fi
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(med "$tmp/tm"); k=$(med "$tmp/tk")
echo "tree: $tree ($n modules), runs: $runs, options: ${extra[*]:-(none)}, outputs: $same"
echo "modinfo   median wall: $m ms   (runs: $(tr '\n' ' ' < "$tmp/tm"))"
echo "kmodscope median wall: $k ms   (runs: $(tr '\n' ' ' < "$tmp/tk"))"
awk -v k="$k" -v m="$m" 'BEGIN { printf "ratio kmodscope/modinfo: %.3f\n", k / m }'
