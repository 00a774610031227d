#!/usr/bin/env bash
# Times `kmodscope check --with-deps` over every module of a tree against its
# own kernel, in one invocation (the target model is loaded once), and the
# target-model load alone (a check of one tiny module): cold, with an empty
# cache (the kernel image is decompressed to find its certificates), then
# warm, with the cache that run left ($XDG_CACHE_HOME/kmodscope/kimage, here
# a fresh temporary one, so the user's cache neither helps nor changes), best
# of 3 each. Then prints the time per module and how many modules were
# predicted to load.
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
export XDG_CACHE_HOME="$tmp/cache"
unset KMODSCOPE_NO_CACHE
one_check() { local s e; s=$(ms); "$tmp/kmodscope" check -b "$tree" -k "$rel" "$one" > /dev/null || true; e=$(ms); echo $((e - s)); }
cold=999999; warm=999999
for _ in 1 2 3; do
	rm -rf "$XDG_CACHE_HOME"; t=$(one_check); [ "$t" -lt "$cold" ] && cold=$t
	t=$(one_check); [ "$t" -lt "$warm" ] && warm=$t
done
load=$warm
s=$(ms); /usr/bin/time -f '%U %S' -o "$tmp/cpu" xargs -s 2000000 -a "$tmp/list" "$tmp/kmodscope" check --json --with-deps -b "$tree" -k "$rel" > "$tmp/out.json" || true; e=$(ms); all=$((e - s))
cpu=$(awk '{printf "%d", ($1 + $2) * 1000}' "$tmp/cpu")
loads=$(grep -c '^      "loads": true' "$tmp/out.json" || true)
echo "tree: $tree ($rel), $n modules"
echo "target model load + one module, cold (no cache): $cold ms"
echo "target model load + one module, warm (image cache): $warm ms"
echo "all modules with --with-deps, one invocation (warm): $all ms, $(awk -v a="$all" -v l="$load" -v n="$n" 'BEGIN{printf "%.2f", (a-l)/n}') ms per module after the target load"
echo "  CPU (user+sys, all cores): $cpu ms, $(awk -v c="$cpu" -v n="$n" 'BEGIN{printf "%.2f", c/n}') ms per module including the target load; machine load: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores"
echo "predicted to load: $loads of $n"
