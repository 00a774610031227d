#!/bin/bash
# Fetches Debian's static busybox for another architecture (package busybox-static:DEBARCH) and
# unpacks it into DEST (default /var/cache/kmodscope/busybox-DEBARCH), so that the real-kernel
# harness (internal/realkernel) can put it into the initramfs of an arm64/s390x/ppc64el guest.
# Nothing is installed: the .deb is unpacked with dpkg-deb -x; the binary is DEST/bin/busybox.
#
# usage: fetch-busybox-static.sh DEBARCH [DEST]
#   DEBARCH arm64 | s390x | ppc64el | ...
# example:
#   fetch-busybox-static.sh arm64     -> /var/cache/kmodscope/busybox-arm64/bin/busybox
# Prints the binary's path on stdout. Needs root (dpkg --add-architecture, apt-get update).
set -euo pipefail
ARCH=$1
DEST=${2:-/var/cache/kmodscope/busybox-$ARCH}
[ -x "$DEST/bin/busybox" ] && [ -f "$DEST/.complete" ] && { echo "$DEST/bin/busybox"; exit 0; }
apt_update() {
  local i
  for i in 1 2 3; do apt-get update -qq >&2 && return 0; sleep 10; done
  echo "apt-get update kept failing; going on with the indexes it has" >&2
}
if [ "$ARCH" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$ARCH"; then
  dpkg --add-architecture "$ARCH"; apt_update
fi
apt-cache show "busybox-static:$ARCH" >/dev/null 2>&1 || apt_update
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
( cd "$tmp" && chmod 0755 . && apt-get download -qq "busybox-static:$ARCH" >&2 )
mkdir -p "$DEST"
dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
# bookworm ships /bin/busybox; newer releases /usr/bin/busybox.
bb=""
for c in "$tmp"/x/bin/busybox "$tmp"/x/usr/bin/busybox; do [ -f "$c" ] && { bb=$c; break; }; done
[ -n "$bb" ] || { echo "busybox-static:$ARCH has no busybox binary" >&2; exit 1; }
mkdir -p "$DEST/bin"; install -m 0755 "$bb" "$DEST/bin/busybox"
touch "$DEST/.complete"; echo "$DEST/bin/busybox"
