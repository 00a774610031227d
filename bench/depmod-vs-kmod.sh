#!/usr/bin/env bash
# Times kmod's depmod and `kmodscope depmod` in the same run, each on its own
# symlink-farm copy of the same tree, alternating RUNS times (default 3),
# checks that both wrote identical files, and prints the median wall times,
# the ratio kmodscope/kmod and both peak RSS values. Then, with --cache: one
# cold run to fill the cache, `touch` of one module, and a warm rerun, timed
# against kmod's rerun after the same touch.
#
# usage: bench/depmod-vs-kmod.sh TREE [RUNS]   (e.g. /var/cache/kmodscope/deb-6.1-amd64)
set -euo pipefail
tree=$(cd "${1:?usage: $0 TREE [RUNS]}" && pwd)
runs=${2:-3}
rel=$(basename "$(ls -d "$tree"/lib/modules/*/ | head -1)")
here=$(cd "$(dirname "$0")/.." && pwd)
depmod=$(command -v depmod || echo /usr/sbin/depmod)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
(cd "$here" && go build -o "$tmp/kmodscope" ./cmd/kmodscope)
for d in kmod ks; do
	mkdir -p "$tmp/$d/lib/modules"
	cp -as "$tree/lib/modules/$rel" "$tmp/$d/lib/modules/"
	rm -f "$tmp/$d/lib/modules/$rel"/modules.{dep,alias,softdep,symbols,devname}{,.bin} \
		"$tmp/$d/lib/modules/$rel"/modules.builtin{,.alias}.bin
done
n=$(find -L "$tmp/kmod/lib/modules/$rel" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) | wc -l)
run() { # run NAME CMD...: appends "seconds maxrss_kb" to $tmp/NAME.times
	local name=$1; shift
	/usr/bin/time -f "%e %M" -o "$tmp/t" "$@" > /dev/null 2>&1
	cat "$tmp/t" >> "$tmp/$name.times"
}
for i in $(seq "$runs"); do
	run kmod "$depmod" -b "$tmp/kmod" "$rel"
	run ks "$tmp/kmodscope" depmod -b "$tmp/ks" "$rel"
done
for f in "$tmp/kmod/lib/modules/$rel"/modules.*; do
	b=$(basename "$f")
	case $b in modules.order|modules.builtin|modules.builtin.modinfo) continue;; esac
	cmp -s "$f" "$tmp/ks/lib/modules/$rel/$b" || { echo "DIFFERENT: $b" >&2; exit 1; }
done
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
kt=$(cut -d' ' -f1 "$tmp/kmod.times" | median); st=$(cut -d' ' -f1 "$tmp/ks.times" | median)
km=$(cut -d' ' -f2 "$tmp/kmod.times" | sort -n | tail -1); sm=$(cut -d' ' -f2 "$tmp/ks.times" | sort -n | tail -1)
echo "tree: $tree ($rel), $n modules, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
echo "kmod depmod:      ${kt} s (median), peak RSS ${km} KB"
echo "kmodscope depmod: ${st} s (median), peak RSS ${sm} KB"
echo "ratio kmodscope/kmod: $(awk -v a="$st" -v b="$kt" 'BEGIN{printf "%.2f", a/b}')x (all index files identical)"

# Incremental: fill the cache, replace one module's symlink by a copy (a new
# inode; the shared tree is not touched), time the warm rerun.
"$tmp/kmodscope" depmod --cache -b "$tmp/ks" "$rel" > /dev/null 2>&1
one=$(find "$tmp/ks/lib/modules/$rel/kernel" -name '*.ko*' -print -quit)
cp --remove-destination "$(readlink -f "$one")" "$one"
/usr/bin/time -f "%e" -o "$tmp/kt" "$depmod" -b "$tmp/kmod" "$rel" > /dev/null 2>&1
/usr/bin/time -f "%e" -o "$tmp/st" "$tmp/kmodscope" depmod --cache --json -b "$tmp/ks" "$rel" > "$tmp/warm.json" 2>/dev/null
for f in "$tmp/kmod/lib/modules/$rel"/modules.*; do
	b=$(basename "$f")
	case $b in modules.order|modules.builtin|modules.builtin.modinfo) continue;; esac
	cmp -s "$f" "$tmp/ks/lib/modules/$rel/$b" || { echo "DIFFERENT after --cache: $b" >&2; exit 1; }
done
kt=$(cat "$tmp/kt"); st=$(cat "$tmp/st")
echo "after replacing one module: kmod ${kt} s, kmodscope --cache ${st} s ($(grep -E '"(read|cached)"' "$tmp/warm.json" | tr -d ' \n')), ratio $(awk -v a="$st" -v b="$kt" 'BEGIN{printf "%.3f", a/b}')x"
