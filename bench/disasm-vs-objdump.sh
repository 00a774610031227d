#!/usr/bin/env bash
# Times `kmodscope disasm --objdump` against binutils' `objdump -d -r` on the
# same modules in the same run (alternating which goes first) and prints the
# wall-time ratio. Outputs are compared once (cmp) first.
#
# usage: bench/disasm-vs-objdump.sh TREE [N] [RUNS]
#   TREE  a root-like directory (TREE/lib/modules/REL/...), e.g.
#         /var/cache/kmodscope/deb-6.1-amd64
#   N     modules to use, spread evenly over the sorted list (default: all).
#         Only plain .ko files: objdump cannot read .ko.xz/.ko.zst.
#   RUNS  timed runs of each tool (default 3); the median is compared.
# Both tools get the same absolute paths in one invocation (xargs -s 2000000)
# and write to /dev/null. kmodscope runs on GOMAXPROCS cores (default: all),
# objdump on one.
set -euo pipefail
tree=${1:?usage: $0 TREE [N] [RUNS]}; want=${2:-0}; runs=${3:-3}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
objdump=$(command -v objdump)
find "$(cd "$tree" && pwd)/lib/modules" -type f -name '*.ko' | sort > "$tmp/all"
total=$(wc -l < "$tmp/all")
[ "$total" -gt 0 ] || { echo "no .ko files under $tree/lib/modules" >&2; exit 1; }
if [ "$want" -gt 0 ] && [ "$want" -lt "$total" ]; then
  awk -v n="$want" -v t="$total" 'BEGIN{srand(0)} { if (int((NR-1)*n/t) != int(NR*n/t)) print }' "$tmp/all" > "$tmp/list"
else
  cp "$tmp/all" "$tmp/list"
fi
n=$(wc -l < "$tmp/list")
bytes=$(xargs -a "$tmp/list" cat | wc -c)
run_objdump()   { xargs -a "$tmp/list" -s 2000000 "$objdump" -d -r; }
run_kmodscope() { xargs -a "$tmp/list" -s 2000000 "$tmp/kmodscope" disasm --objdump; }
run_objdump > "$tmp/a" 2>/dev/null || true
run_kmodscope > "$tmp/b" 2>/dev/null || true
if cmp -s "$tmp/a" "$tmp/b"; then same=identical; else same="DIFFERENT ($(diff "$tmp/a" "$tmp/b" | grep -c '^<' || true) objdump lines differ)"; fi
lines=$(wc -l < "$tmp/a")
# t appends "wall-ms cpu-ms" (cpu = user + sys of the tool and its children).
t() {
  local s e c0 c1
  c0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  s=$(date +%s%N); "$@" > /dev/null 2>&1 || true; e=$(date +%s%N)
  c1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
  echo "$(( (e - s) / 1000000 )) $(( (c1 - c0) * 1000 / $(getconf CLK_TCK) ))"
}
: > "$tmp/to"; : > "$tmp/tk"
for ((i = 0; i < runs; i++)); do
  if (( i % 2 )); then t run_objdump >> "$tmp/to"; t run_kmodscope >> "$tmp/tk"
  else t run_kmodscope >> "$tmp/tk"; t run_objdump >> "$tmp/to"; fi
done
med() { cut -d' ' -f"$2" "$1" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
o=$(med "$tmp/to" 1); k=$(med "$tmp/tk" 1); oc=$(med "$tmp/to" 2); kc=$(med "$tmp/tk" 2)
echo "tree: $tree: $n of $total modules ($bytes bytes, $lines lines of objdump -d -r), runs: $runs, outputs: $same"
echo "objdump -d -r      median wall: $o ms, cpu: $oc ms   (wall cpu per run: $(tr '\n' ',' < "$tmp/to"))"
echo "kmodscope disasm   median wall: $k ms, cpu: $kc ms   (wall cpu per run: $(tr '\n' ',' < "$tmp/tk") $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
awk -v k="$k" -v o="$o" -v kc="$kc" -v oc="$oc" 'BEGIN { printf "ratio kmodscope/objdump: wall %.3f (target <= 0.5), cpu %.3f\n", k / o, kc / oc }'
