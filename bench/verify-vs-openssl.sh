#!/usr/bin/env bash
# Time `kmodscope sig verify` over every plain .ko of a complete tree against
# the honest shell peer: a loop running `openssl cms -verify` on each module
# (PKCS#7 blob and signed content cut out with dd/head), trusting the
# certificate built into the tree's kernel.
#
# Usage: bench/verify-vs-openssl.sh TREE [RUNS]
#   TREE  root-like tree: TREE/lib/modules/REL and TREE/boot/vmlinuz-REL
#   RUNS  timed runs of each side, alternating which goes first (default 3)
# Environment: KMODSCOPE=path to a kmodscope binary (default: build one).
#
# Both sides get the same file list (find, outside the timing; the peer is
# also given each file's size by find for free). kmodscope's time includes
# reading the certificate out of vmlinuz; extracting it for openssl
# (kmodscope certs + openssl x509) is not timed. Prints the median wall
# times, the ratio, CPU times, and whether both sides found every module
# valid.
set -euo pipefail

tree=${1:?usage: $0 TREE [RUNS]}
runs=${2:-3}
tree=$(cd "$tree" && pwd)
rels=("$tree"/lib/modules/*/)
[ -d "${rels[0]}" ] || { echo "no $tree/lib/modules/REL" >&2; exit 2; }
rel=$(basename "${rels[0]}")

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

kms=${KMODSCOPE:-}
if [ -z "$kms" ]; then
	here=$(cd "$(dirname "$0")/.." && pwd)
	(cd "$here" && go build -o "$work/kmodscope" ./cmd/kmodscope)
	kms=$work/kmodscope
fi

image=
for n in vmlinuz vmlinux Image; do
	[ -f "$tree/boot/$n-$rel" ] && { image=$tree/boot/$n-$rel; break; }
done
[ -n "$image" ] || { echo "no $tree/boot/vmlinuz-$rel" >&2; exit 2; }
"$kms" certs --out "$work/certs" "$image" >/dev/null
cat "$work"/certs/*.der | openssl x509 -inform DER -out "$work/cert.pem"

find "$tree/lib/modules/$rel" -type f -name '*.ko' -printf '%s %p\n' | sort -k2 >"$work/list"
cut -d' ' -f2- "$work/list" >"$work/files"
total=$(wc -l <"$work/files")
[ "$total" -gt 0 ] || { echo "no plain .ko modules in $tree" >&2; exit 2; }
echo "tree $tree, release $rel, $total plain modules, kernel $(basename "$image")"
echo "kmodscope: $kms"
echo "openssl:   $(openssl version)"

run_kms() {
	xargs -a "$work/files" -d '\n' -n 1000 "$kms" sig verify -b "$tree" -k "$rel" |
		grep -c ': valid: ' >"$work/kms.valid" || true
}

run_openssl() {
	local size f n ok=0
	while read -r size f; do
		n=$(($(od -An -tu4 --endian=big -j $((size - 32)) -N4 "$f")))
		if openssl cms -verify -binary -inform DER \
			-in <(dd if="$f" iflag=skip_bytes,count_bytes skip=$((size - 40 - n)) count="$n" status=none) \
			-content <(head -c $((size - 40 - n)) "$f") \
			-certfile "$work/cert.pem" -nointern -noverify -out /dev/null 2>/dev/null; then
			ok=$((ok + 1))
		fi
	done <"$work/list"
	echo "$ok" >"$work/openssl.valid"
}

# timeit NAME: run run_NAME, append "real user+sys" to $work/NAME.times.
timeit() {
	local t0 t1 c0 c1
	cpu_to "$work/c0"
	t0=$(date +%s.%N)
	"run_$1"
	t1=$(date +%s.%N)
	cpu_to "$work/c1"
	c0=$(cat "$work/c0")
	c1=$(cat "$work/c1")
	echo "$(echo "$t1 - $t0" | bc) $(echo "$c1 - $c0" | bc)" >>"$work/$1.times"
	printf '  %-8s %7.2fs wall, %7.2fs CPU, %s valid\n' "$1" "$(echo "$t1 - $t0" | bc)" "$(echo "$c1 - $c0" | bc)" "$(cat "$work/$1.valid")"
}

# cpu prints the user+sys seconds of this shell's finished children
# (`times` must run in this shell, not in a $(...) subshell).
cpu_to() {
	times >"$work/times"
	tail -1 "$work/times" | awk '{
		split($1, u, /m|s/); split($2, s, /m|s/)
		printf "%.3f\n", u[1]*60 + u[2] + s[1]*60 + s[2]
	}' >"$1"
}

median() {
	sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else printf "%.3f\n", (a[NR/2]+a[NR/2+1])/2}'
}

agree=yes
for i in $(seq 1 "$runs"); do
	echo "run $i:"
	if [ $((i % 2)) -eq 1 ]; then order="kms openssl"; else order="openssl kms"; fi
	for side in $order; do
		timeit "$side"
		[ "$(cat "$work/$side.valid")" -eq "$total" ] || agree=no
	done
done

k=$(cut -d' ' -f1 "$work/kms.times" | median)
o=$(cut -d' ' -f1 "$work/openssl.times" | median)
kc=$(cut -d' ' -f2 "$work/kms.times" | median)
oc=$(cut -d' ' -f2 "$work/openssl.times" | median)
echo
echo "median over $runs run(s), $total modules:"
printf '  kmodscope sig verify: %8.2fs wall  %8.2fs CPU  (%.0f modules/s)\n' "$k" "$kc" "$(echo "$total / $k" | bc -l)"
printf '  openssl cms loop:     %8.2fs wall  %8.2fs CPU  (%.0f modules/s)\n' "$o" "$oc" "$(echo "$total / $o" | bc -l)"
printf '  ratio openssl/kmodscope: %.1fx wall, %.1fx CPU\n' "$(echo "$o / $k" | bc -l)" "$(echo "$oc / $kc" | bc -l)"
echo "  both found all $total modules valid in every run: $agree"
[ "$agree" = yes ]
