#!/usr/bin/env bash
# Re-fetch the foreign-architecture kernel-module test corpus from Debian.
#
# Usage: scripts/fetch-foreign-modules.sh [DEST]   (DEST defaults to testdata/modules)
#
# For each architecture below, this downloads the Debian Packages index,
# picks the newest matching linux-image package (or, where the image package
# is only a meta package, its linux-modules-* companion), downloads the .deb,
# and copies a fixed set of small modules into DEST/<arch>/, keeping their
# original names and compression (.ko or .ko.xz, as shipped).
#
#   mips64el  Debian 12 bookworm  linux-image-6.1.0-*-mips64r2el
#   riscv64   Debian 13 trixie    linux-image-6.12.*+deb13-riscv64
#   loong64   Debian sid          linux-image-*-loong64 + linux-modules-*-loong64
#             (loong64 is in the official archive's sid/forky; debian-ports is
#             not used because it was unreachable from the build environment.)
#
# Integrity: InRelease is checked with gpgv against the Debian archive keyring
# when one is found (set ALLOW_UNSIGNED=1 to continue without a keyring); the
# Packages.xz hash is checked against InRelease and the .deb hash against
# Packages.
#
# Needs: bash, curl, xz, gpgv (optional), sha256sum, dpkg-deb or ar+tar, awk, sort -V.
set -euo pipefail

DEST=${1:-testdata/modules}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
KEYRING=${KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}

# Modules copied for every arch (basename without .ko / .ko.xz).
MODULES=(crc7 crc-itu-t ums-realtek lrw)
# One module with parameters and many aliases: first of these whose shipped
# file is under 1 MB.
BIG_CANDIDATES=(e1000e r8169)
BIG_LIMIT=$((1024 * 1024))
# arch:module pairs known not to be shipped as modules (skipped, not fatal).
# loong64 7.x: CONFIG_CRC7 is not set at all in Debian's loong64 config.
KNOWN_ABSENT=(loong64:crc7)

# arch|suite|regex for the linux-image package name
TARGETS=(
  'mips64el|bookworm|^linux-image-[0-9.]+-[0-9]+-mips64r2el$'
  'riscv64|trixie|^linux-image-6\.12\.[0-9]+\+deb13-riscv64$'
  'loong64|sid|^linux-image-[0-9.]+\+deb[0-9]+-loong64$'
)

WORK=$(mktemp -d "${TMPDIR:-/tmp}/fetch-foreign-modules.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

fetch() { # url outfile
  curl -fsSL --retry 3 -o "$2" "$1" || die "download failed: $1"
}

# verified_release suite -> path of (verified) InRelease
verified_release() {
  local suite=$1 f="$WORK/InRelease.$1"
  if [[ ! -s $f ]]; then
    fetch "$MIRROR/dists/$suite/InRelease" "$f"
    if [[ -r $KEYRING ]] && command -v gpgv >/dev/null; then
      gpgv --keyring "$KEYRING" "$f" 2>/dev/null \
        || die "InRelease signature check failed for $suite"
    elif [[ ${ALLOW_UNSIGNED:-0} == 1 ]]; then
      log "warning: no keyring/gpgv, InRelease for $suite NOT verified"
    else
      die "no keyring at $KEYRING or no gpgv; set ALLOW_UNSIGNED=1 to skip"
    fi
  fi
  printf '%s\n' "$f"
}

# packages_index suite arch -> path of decompressed, hash-checked Packages
packages_index() {
  local suite=$1 arch=$2 rel rel_path want got
  local out="$WORK/Packages.$suite.$arch"
  rel=$(verified_release "$suite")
  rel_path="main/binary-$arch/Packages.xz"
  fetch "$MIRROR/dists/$suite/$rel_path" "$out.xz"
  want=$(awk -v p="$rel_path" '/^SHA256:/{s=1;next} /^[^ ]/{s=0} s && $3==p {print $1}' "$rel")
  [[ -n $want ]] || die "$rel_path not listed in $suite InRelease"
  got=$(sha256sum "$out.xz" | cut -d' ' -f1)
  [[ $want == "$got" ]] || die "hash mismatch for $suite $rel_path"
  xz -dc "$out.xz" >"$out"
  printf '%s\n' "$out"
}

# field_of packages_file package field
field_of() {
  awk -v pkg="$2" -v fld="$3" '
    /^Package: / { inpkg = ($2 == pkg) }
    inpkg && index($0, fld ": ") == 1 { print substr($0, length(fld) + 3); exit }
  ' "$1"
}

# newest_package packages_file regex -> "name version" of the newest match
newest_package() {
  awk -v re="$2" '
    /^Package: / { name = $2 }
    /^Version: / { if (name ~ re) print $2, name }
  ' "$1" | sort -V | tail -n1 | awk '{print $2, $1}'
}

# download_deb packages_file package -> path of hash-checked .deb
download_deb() {
  local pf=$1 pkg=$2 filename want got out
  filename=$(field_of "$pf" "$pkg" Filename)
  want=$(field_of "$pf" "$pkg" SHA256)
  [[ -n $filename && -n $want ]] || die "no Filename/SHA256 for $pkg"
  out="$WORK/${filename##*/}"
  log "  downloading $MIRROR/$filename"
  fetch "$MIRROR/$filename" "$out"
  got=$(sha256sum "$out" | cut -d' ' -f1)
  [[ $want == "$got" ]] || die "hash mismatch for $filename"
  printf '%s\n' "$out"
}

# extract_modules deb dir: unpack only the */kernel/**.ko* files we may want
extract_modules() {
  local deb=$1 dir=$2 m pats=()
  for m in "${MODULES[@]}" "${BIG_CANDIDATES[@]}"; do
    pats+=("*/kernel/*/$m.ko" "*/kernel/*/$m.ko.xz" "*/kernel/*/$m.ko.zst")
  done
  mkdir -p "$dir"
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb --fsys-tarfile "$deb"
  else
    local member
    member=$(ar t "$deb" | grep '^data\.tar')
    (cd "$WORK" && ar x "$deb" "$member" && cat "$member" && rm -f "$member") \
      | case $member in *.xz) xz -dc ;; *.zst) zstd -dc ;; *.gz) gzip -dc ;; *) cat ;; esac
  fi | tar -x -C "$dir" --wildcards --wildcards-match-slash "${pats[@]}" 2>/dev/null || true
}

# find_module dir name -> path (exactly one expected)
find_module() {
  local found
  found=$(find "$1" -type f \( -name "$2.ko" -o -name "$2.ko.xz" -o -name "$2.ko.zst" \))
  [[ -n $found ]] || return 1
  [[ $(wc -l <<<"$found") -eq 1 ]] || die "several files for $2: $found"
  printf '%s\n' "$found"
}

for target in "${TARGETS[@]}"; do
  IFS='|' read -r arch suite regex <<<"$target"
  log "== $arch ($suite)"
  pf=$(packages_index "$suite" "$arch")
  read -r image version < <(newest_package "$pf" "$regex") \
    || die "no package matching $regex in $suite/$arch"
  [[ -n ${image:-} ]] || die "no package matching $regex in $suite/$arch"

  # Newer kernels ship modules in linux-modules-<abi>-<flavour>; the image
  # package is then just a meta package depending on it.
  pkgs=("$image")
  modpkg="linux-modules-${image#linux-image-}"
  if [[ -n $(field_of "$pf" "$modpkg" Version) ]]; then
    pkgs=("$modpkg")
  fi

  tree="$WORK/tree.$arch"
  for pkg in "${pkgs[@]}"; do
    pver=$(field_of "$pf" "$pkg" Version)
    printf '%s\t%s\t%s\t%s\n' "$arch" "$suite" "$pkg" "$pver"
    deb=$(download_deb "$pf" "$pkg")
    extract_modules "$deb" "$tree"
    rm -f "$deb"
  done

  out="$DEST/$arch"
  mkdir -p "$out"
  for m in "${MODULES[@]}"; do
    if ! src=$(find_module "$tree" "$m"); then
      [[ " ${KNOWN_ABSENT[*]} " == *" $arch:$m "* ]] \
        || die "$arch: module $m not found in ${pkgs[*]}"
      log "  note: $m is not shipped for $arch (known), skipped"
      continue
    fi
    install -m 0644 "$src" "$out/"
    log "  $out/${src##*/}"
  done
  big=
  for m in "${BIG_CANDIDATES[@]}"; do
    src=$(find_module "$tree" "$m") || continue
    if (($(stat -c %s "$src") < BIG_LIMIT)); then
      install -m 0644 "$src" "$out/"
      log "  $out/${src##*/}"
      big=$m
      break
    fi
  done
  [[ -n $big ]] || log "  warning: none of ${BIG_CANDIDATES[*]} found under 1 MB for $arch"
  rm -rf "$tree"
done
