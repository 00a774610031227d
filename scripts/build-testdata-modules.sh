#!/bin/sh
# Build the test modules of testdata/src/ with the real Kbuild of an
# installed linux-headers package and copy the .ko files to OUTDIR (default
# testdata/modules/amd64/built). kmsdebug, kmsuser and kmsdata (strip tests)
# carry debug info; kmsgpl, kmsprop, kmsns and kmsnons are the check tests'
# out-of-tree modules (docs/check.md, "Modules built from source").
#
#   scripts/build-testdata-modules.sh [OUTDIR]
#   KDIR=/usr/src/linux-headers-6.1.0-57-amd64 scripts/build-testdata-modules.sh /tmp/out
#
# Needs: make, gcc, linux-headers-amd64 (which pulls linux-kbuild-6.1).
# The sources are copied to a scratch directory so testdata/src stays clean;
# kmsuser is built against kmsdebug's Module.symvers (KBUILD_EXTRA_SYMBOLS),
# so its __versions entry for kmsdebug_add carries the real CRC.
# kmsprop (proprietary, calls the GPL-only ktime_get) and kmsnons (uses
# dma_buf_get of namespace DMA_BUF without importing it) are refused by
# modpost; they are built the way a vendor works around that: against a
# shadow of KDIR (symlinks) whose Module.symvers is a copy with ktime_get
# made an ordinary EXPORT_SYMBOL and dma_buf_get's namespace removed (CRCs
# unchanged). The kernel still knows better at load time.
set -eu
here=$(cd "$(dirname "$0")/.." && pwd)
# Default: the newest installed Debian 6.1 amd64 headers (CI installs
# linux-headers-amd64, the release scripts/fetch-debian-kernel.sh fetches).
if [ -z "${KDIR:-}" ]; then
	KDIR=$(ls -d /usr/src/linux-headers-6.1.*-amd64 2>/dev/null | sort -V | tail -1)
fi
out=${1:-$here/testdata/modules/amd64/built}
if [ ! -f "$KDIR/Makefile" ]; then
	echo "build-testdata-modules: no kernel headers at $KDIR (apt-get install linux-headers-amd64)" >&2
	exit 1
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/kmstest.XXXXXX")
trap 'rm -rf "$work"' EXIT
# Fixed build paths, so DW_AT_comp_dir does not depend on the scratch dir.
cp -r "$here/testdata/src/." "$work/"
mkdir -p "$out"
build() {
	dir=$1; shift
	# Only the build's errors and warnings are shown.
	if ! make -s -C "$KDIR" M="$work/$dir" "$@" modules >"$work/$dir.log" 2>&1; then
		cat "$work/$dir.log" >&2
		echo "build-testdata-modules: building $dir failed" >&2
		exit 1
	fi
	cp "$work/$dir/$dir.ko" "$out/$dir.ko"
}
build kmsdebug
build kmsuser KBUILD_EXTRA_SYMBOLS="$work/kmsdebug/Module.symvers"
build kmsdata
# kmsparam (module parameters of every type) is booted on the real kernels:
# once for 6.1 (KDIR) and, when its headers are installed (KDIR612, default
# the newest linux-headers-6.12.*-amd64), for 6.12 as kmsparam-6.12.ko.
# Debug info is stripped as Debian strips its modules.
build kmsparam
strip --strip-debug "$out/kmsparam.ko"
if [ -z "${KDIR612:-}" ]; then
	KDIR612=$(ls -d /usr/src/linux-headers-6.12.*-amd64 2>/dev/null | sort -V | tail -1)
fi
if [ -n "$KDIR612" ] && [ -f "$KDIR612/Makefile" ]; then
	if ! make -s -C "$KDIR612" M="$work/kmsparam" clean >/dev/null 2>&1 ||
		! make -s -C "$KDIR612" M="$work/kmsparam" modules >"$work/kmsparam612.log" 2>&1; then
		cat "$work/kmsparam612.log" >&2
		echo "build-testdata-modules: building kmsparam for 6.12 failed" >&2
		exit 1
	fi
	cp "$work/kmsparam/kmsparam.ko" "$out/kmsparam-6.12.ko"
	strip --strip-debug "$out/kmsparam-6.12.ko"
fi
build kmsgpl
build kmsns
# The vendor's workaround: a KDIR whose Module.symvers lies.
vendor=$work/vendor-kdir
mkdir "$vendor"
for e in "$KDIR"/.[!.]* "$KDIR"/*; do
	b=$(basename "$e")
	[ "$b" = Module.symvers ] || ln -s "$e" "$vendor/$b"
done
awk -F'\t' 'BEGIN { OFS = "\t" }
	$2 == "ktime_get" { $4 = "EXPORT_SYMBOL" }
	$2 == "dma_buf_get" { $5 = "" }
	{ print }' "$KDIR/Module.symvers" >"$vendor/Module.symvers"
if cmp -s "$KDIR/Module.symvers" "$vendor/Module.symvers"; then
	echo "build-testdata-modules: ktime_get/dma_buf_get not in $KDIR/Module.symvers" >&2
	exit 1
fi
KDIR=$vendor build kmsprop
KDIR=$vendor build kmsnons
echo "built: $(cd "$out" && ls kmsdebug.ko kmsuser.ko kmsdata.ko kmsparam*.ko kmsgpl.ko kmsns.ko kmsprop.ko kmsnons.ko | tr '\n' ' ')in $out"
