#!/usr/bin/env bash
# Times `kmodscope check --with-deps` over every module of a tree against its
# own kernel, in one invocation (the target model is loaded once), and the
# target-model load alone (a check of one tiny module), then prints the time
# per module and how many modules were predicted to load.
#
# usage: bench/check-tree.sh TREE      (e.g. /var/cache/kmodscope/deb-6.1-amd64)
set -euo pipefail
tree=$(cd "${1:?usage: $0 TREE}" && pwd)
rel=$(basename "$(ls -d "$tree"/lib/modules/*/ | head -1)")
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
find "$tree/lib/modules" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) | sort > "$tmp/list"
n=$(wc -l < "$tmp/list")
one=$(grep -m1 -E '/crc7\.ko' "$tmp/list" || head -1 "$tmp/list")
ms() { echo $(( $(date +%s%N) / 1000000 )); }
s=$(ms); "$tmp/kmodscope" check -b "$tree" -k "$rel" "$one" > /dev/null || true; e=$(ms); load=$((e - s))
s=$(ms); xargs -s 2000000 -a "$tmp/list" "$tmp/kmodscope" check --json --with-deps -b "$tree" -k "$rel" > "$tmp/out.json" || true; e=$(ms); all=$((e - s))
loads=$(grep -c '^      "loads": true' "$tmp/out.json" || true)
echo "tree: $tree ($rel), $n modules"
echo "target model load + one module: $load ms"
echo "all modules with --with-deps, one invocation: $all ms, $(awk -v a="$all" -v l="$load" -v n="$n" 'BEGIN{printf "%.2f", (a-l)/n}') ms per module after the target load"
echo "predicted to load: $loads of $n"
