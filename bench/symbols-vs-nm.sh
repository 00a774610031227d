#!/usr/bin/env bash
# Times `kmodscope symbols --nm` against GNU `nm` over every module of a tree,
# in the same run, alternating which goes first, and prints the wall-time ratio.
#
# usage: bench/symbols-vs-nm.sh TREE [RUNS] [-- EXTRA NM OPTIONS]
#   TREE  a root-like directory (TREE/lib/modules/REL/...), e.g. one made by
#         scripts/fetch-debian-kernel.sh 6.1 amd64 amd64 /var/cache/kmodscope/deb-6.1-amd64
#   RUNS  timed runs of each tool (default 5); the median is compared.
# Both tools get the same absolute paths in the same argument lists (xargs -s
# 2000000: one invocation for a whole Debian tree) and write to /dev/null.
# nm cannot read .ko.xz/.ko.zst/.ko.gz, so a compressed tree is first
# decompressed into a temporary directory and both tools read those files.
# Outputs are compared once (cmp) first; the issue asks for a ratio <= 0.5.
set -euo pipefail
tree=${1:?usage: $0 TREE [RUNS]}; runs=${2:-5}; shift $(( $# >= 2 ? 2 : 1 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
nm=$(command -v nm)
root="$(cd "$tree" && pwd)/lib/modules"
find "$root" -type f -name '*.ko' -print0 | sort -z > "$tmp/list"
packed=$(find "$root" -type f \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) | wc -l)
if [ "$packed" -gt 0 ]; then
  echo "decompressing $packed modules (nm reads only plain files) ..." >&2
  find "$root" -type f \( -name '*.ko.xz' -o -name '*.ko.zst' -o -name '*.ko.gz' \) -print0 |
    while IFS= read -r -d '' f; do
      rel=${f#"$root"/}; out="$tmp/plain/${rel%.*}"; mkdir -p "$(dirname "$out")"
      case $f in *.xz) xz -dc "$f" ;; *.zst) zstd -qdc "$f" ;; *.gz) gzip -dc "$f" ;; esac > "$out"
    done
  find "$tmp/plain" -type f -name '*.ko' -print0 | sort -z >> "$tmp/list"
fi
n=$(tr -cd '\0' < "$tmp/list" | wc -c)
[ "$n" -gt 0 ] || { echo "no modules under $root" >&2; exit 1; }
run_nm()        { xargs -0 -s 2000000 "$nm" "${extra[@]}" < "$tmp/list"; }
run_kmodscope() { xargs -0 -s 2000000 "$tmp/kmodscope" symbols --nm "${extra[@]}" < "$tmp/list"; }
run_nm > "$tmp/a" 2>/dev/null || true
run_kmodscope > "$tmp/b" 2>/dev/null || true
if cmp -s "$tmp/a" "$tmp/b"; then same=identical; else same=DIFFERENT; fi
t() { local s e; s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N); echo $(( (e - s) / 1000000 )); }
: > "$tmp/tn"; : > "$tmp/tk"
for ((i = 0; i < runs; i++)); do
  if (( i % 2 )); then t run_nm >> "$tmp/tn"; t run_kmodscope >> "$tmp/tk"
  else t run_kmodscope >> "$tmp/tk"; t run_nm >> "$tmp/tn"; fi
done
med() { sort -n "$1" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
m=$(med "$tmp/tn"); k=$(med "$tmp/tk")
echo "tree: $tree ($n modules), runs: $runs, options: ${extra[*]:-(none)}, outputs: $same ($(wc -c < "$tmp/a") bytes)"
echo "nm        median wall: $m ms   (runs: $(tr '\n' ' ' < "$tmp/tn"))"
echo "kmodscope median wall: $k ms   (runs: $(tr '\n' ' ' < "$tmp/tk"))"
awk -v k="$k" -v m="$m" 'BEGIN { printf "ratio kmodscope/nm: %.3f\n", k / m }'
