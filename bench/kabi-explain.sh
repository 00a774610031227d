#!/usr/bin/env bash
# Benchmarks for `kmodscope kabi explain` and `kmodscope kabi matrix`:
#  1. explain of two 6.1 images: every vmlinux symbol whose CRC differs between
#     the headers' Module.symvers (target: <= 3 s wall and <= 300 MB RSS);
#  2. matrix of 3 kernels x every module of a complete tree (one invocation,
#     each kernel's target model built once), with --html.
# Time and peak RSS come from /usr/bin/time -v.
#
# usage: bench/kabi-explain.sh OLDTREE NEWTREE [TREE3]
#   e.g. bench/kabi-explain.sh /var/cache/kmodscope/abi-6.1.0-54-amd64 \
#        /var/cache/kmodscope/abi-6.1.0-55-amd64 /var/cache/kmodscope/deb-6.1-amd64
set -euo pipefail
old=$(cd "${1:?usage: $0 OLDTREE NEWTREE [TREE3]}" && pwd)
new=$(cd "${2:?usage: $0 OLDTREE NEWTREE [TREE3]}" && pwd)
third=${3:-}
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
rel() { basename "$(ls -d "$1"/lib/modules/*/ | head -1)"; }
img() { ls "$1"/boot/vmlinuz-* | head -1; }
sv() { ls "$1"/usr/src/linux-headers-"$(rel "$1")"/Module.symvers; }
measure() { # label, command...
	local label=$1; shift
	/usr/bin/time -v "$@" > "$tmp/out" 2> "$tmp/time" || true
	local wall rss
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
	rss=$(awk -F': ' '/Maximum resident set size/ {printf "%.0f", $2/1024}' "$tmp/time")
	user=$(awk -F': ' '/User time/ {print $2}' "$tmp/time")
	sys=$(awk -F': ' '/System time/ {print $2}' "$tmp/time")
	echo "$label: wall $wall, user ${user}s, sys ${sys}s, peak RSS ${rss} MB"
}
echo "load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs"
measure "explain $(rel "$old") -> $(rel "$new") (all changed CRCs)" \
	"$tmp/kmodscope" kabi explain --json -E "$(sv "$old")" -E "$(sv "$new")" "$(img "$old")" "$(img "$new")"
python3 - "$tmp/out" <<'PY' || true
import json, sys, collections
d = json.load(open(sys.argv[1]))
c = collections.Counter((s["certainty"], s.get("note", "")) for s in d["symbols"])
print("  symbols: %d; %s; shared core %d types, %d changed" % (len(d["symbols"]),
      ", ".join("%s %s: %d" % (a, b, n) for (a, b), n in sorted(c.items())), d["shared_types"], len(d["shared"])))
PY
measure "explain one symbol (seq_buf_printf)" "$tmp/kmodscope" kabi explain "$(img "$old")" "$(img "$new")" seq_buf_printf
if [ -n "$third" ]; then
	third=$(cd "$third" && pwd)
	n=$(find "$third/lib/modules" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) | wc -l)
	measure "matrix 3 kernels x $n modules of $(rel "$third") (--with-deps, --html)" \
		"$tmp/kmodscope" kabi matrix --json --html "$tmp/m.html" -b "$old" -b "$new" -b "$third" "$third/lib/modules/$(rel "$third")/kernel"
	python3 - "$tmp/out" <<'PY' || true
import json, sys
d = json.load(open(sys.argv[1]))
print("  cells: %d; summary %s" % (len(d["cells"]), d["summary"]))
PY
	echo "  page: $(du -h "$tmp/m.html" | cut -f1)"
fi
