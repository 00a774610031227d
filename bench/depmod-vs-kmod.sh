#!/usr/bin/env bash
# Times kmod's depmod and `kmodscope depmod` in the same run, each on its own
# symlink-farm copy of the same tree, alternating RUNS times (default 3), and
# checks after every round that both wrote identical index files. Prints,
# for both tools, the median wall time and the peak RSS (GNU time -v) of:
#
#   cold          a full run (kmodscope without its cache files)
#   warm-touch    a rerun after touching one module (mtime now)
#   warm-none     a rerun with nothing changed
#   warm-replace  a rerun after replacing one module's bytes by another
#                 module's (every other round: back to its own), so its
#                 aliases, exports and imports change
#
# kmod has no cache: each of its reruns is a full run again.
#
# and the ratios kmodscope/kmod, for wall time and for CPU time (user+sys,
# less sensitive to a loaded machine).
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
	rm -f "$tmp/$d/lib/modules/$rel"/modules.{dep,alias,softdep,symbols,devname,weakdep}{,.bin} \
		"$tmp/$d/lib/modules/$rel"/modules.builtin{,.alias}.bin "$tmp/$d/lib/modules/$rel"/modules.kmodscope-*
done
n=$(find -L "$tmp/kmod/lib/modules/$rel" -type f \( -name '*.ko' -o -name '*.ko.xz' -o -name '*.ko.zst' \) | wc -l)
# The module touched: a private copy in both farms (the shared tree is not touched).
one=$(cd "$tmp/ks/lib/modules/$rel" && find kernel -name '*.ko*' | sort | sed -n 1p)
for d in kmod ks; do cp --remove-destination "$(readlink -f "$tmp/$d/lib/modules/$rel/$one")" "$tmp/$d/lib/modules/$rel/$one"; done
# The replacement: the largest other module in the same directory.
srcdir=$tree/lib/modules/$rel/$(dirname "$one")
other=$srcdir/$(ls -SL "$srcdir" | grep '\.ko' | grep -vxF "$(basename "$one")" | head -1)
own=$(readlink -f "$tree/lib/modules/$rel/$one")

timed() { # timed NAME CMD...: appends "seconds maxrss_kb" to $tmp/NAME
	local name=$1 t0 t1; shift
	t0=$(date +%s%N)
	LC_ALL=C /usr/bin/time -v -o "$tmp/t" "$@" > /dev/null 2> "$tmp/err" || { cat "$tmp/err" >&2; exit 1; }
	t1=$(date +%s%N)
	awk -v ns=$((t1 - t0)) -F': ' '/Maximum resident set size/{m=$2} /(User|System) time \(seconds\)/{c+=$2}
		END{printf "%.3f %s %.2f\n", ns/1e9, m, c}' "$tmp/t" >> "$tmp/$name"
}
same() {
	for f in "$tmp/kmod/lib/modules/$rel"/modules.*; do
		b=$(basename "$f")
		case $b in modules.order|modules.builtin|modules.builtin.modinfo) continue;; esac
		cmp -s "$f" "$tmp/ks/lib/modules/$rel/$b" || { echo "DIFFERENT ($1): $b" >&2; exit 1; }
	done
}
for i in $(seq "$runs"); do
	rm -f "$tmp/ks/lib/modules/$rel"/modules.kmodscope-*
	timed kmod.cold "$depmod" -b "$tmp/kmod" "$rel"
	timed ks.cold "$tmp/kmodscope" depmod -b "$tmp/ks" "$rel"
	same cold
	touch "$tmp/kmod/lib/modules/$rel/$one" "$tmp/ks/lib/modules/$rel/$one"
	timed kmod.warm "$depmod" -b "$tmp/kmod" "$rel"
	timed ks.warm "$tmp/kmodscope" depmod -b "$tmp/ks" "$rel"
	same warm-touch
	timed kmod.none "$depmod" -b "$tmp/kmod" "$rel"
	timed ks.none "$tmp/kmodscope" depmod -b "$tmp/ks" "$rel"
	same warm-none
	src=$other; [ $((i % 2)) = 0 ] && src=$own
	for d in kmod ks; do cp "$src" "$tmp/$d/lib/modules/$rel/$one"; done
	timed kmod.replace "$depmod" -b "$tmp/kmod" "$rel"
	timed ks.replace "$tmp/kmodscope" depmod -b "$tmp/ks" "$rel"
	same warm-replace
done
touch "$tmp/ks/lib/modules/$rel/$one"
"$tmp/kmodscope" depmod --json -b "$tmp/ks" "$rel" > "$tmp/warm.json"
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
col() { cut -d' ' -f"$2" "$tmp/$1" | median; }
peak() { cut -d' ' -f2 "$tmp/$1" | sort -n | tail -1; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a/b}'; }
echo "tree: $tree ($rel), $n modules, $runs runs each, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg), $("$depmod" --version | head -1)"
printf '%-12s %10s %12s %8s   %10s %14s %9s   %12s %16s\n' "" "kmod s" "kmodscope s" "ratio" "kmod CPU s" "kmodscope CPU" "CPU ratio" "kmod RSS KB" "kmodscope RSS KB"
for p in cold warm none replace; do
	k=$(col kmod.$p 1); s=$(col ks.$p 1); kc=$(col kmod.$p 3); sc=$(col ks.$p 3)
	case $p in warm) label=warm-touch;; none|replace) label=warm-$p;; *) label=$p;; esac
	printf '%-12s %10s %12s %7sx   %10s %14s %8sx   %12s %16s\n' "$label" "$k" "$s" "$(ratio "$s" "$k")" \
		"$kc" "$sc" "$(ratio "$sc" "$kc")" "$(peak kmod.$p)" "$(peak ks.$p)"
done
echo "(wall: median elapsed; CPU: median user+sys; RSS: peak, GNU time -v)"
echo "replaced $one by $(basename "$other") and back; all index files identical after every run"
echo "a touch rerun after the last round: $(grep -E '"(read|cached|reused)"' "$tmp/warm.json" | tr -d ' \n')"
