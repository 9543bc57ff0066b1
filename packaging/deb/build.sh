#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Build the Debian package from a staged tree with dpkg-deb (no debhelper,
# no cargo-deb: nothing to compile beyond the project itself).
#
#   packaging/deb/build.sh [--binaries DIR] [--out DIR] [--fast]
#
# --binaries DIR  take newuidmap, newgidmap (and subid, if there) from DIR
#                 instead of running `cargo build --release --locked`
# --out DIR       where to write newidmap_VERSION_ARCH.deb (default target/debian)
# --fast          gzip -1 instead of xz (for tests that build throwaway packages)
#
# Prints the path of the package on the last line of stdout.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

bindir="" out="$repo/target/debian" compress=(-Zxz)
while [ $# -gt 0 ]; do
  case "$1" in
    --binaries) bindir="${2:?--binaries needs a directory}"; shift 2 ;;
    --out) out="${2:?--out needs a directory}"; shift 2 ;;
    --fast) compress=(-Zgzip -z1); shift ;;
    -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $1" >&2; exit 1 ;;
  esac
done

if [ -z "$bindir" ]; then
  # shellcheck source=packaging/release-env.sh
  source packaging/release-env.sh
  cargo build --release --locked --quiet
  bindir="$repo/target/release"
fi
for b in newuidmap newgidmap; do
  [ -x "$bindir/$b" ] || { echo "build.sh: $bindir/$b not found" >&2; exit 1; }
done

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
license=$(sed -n 's/^license *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
repository=$(sed -n 's/^repository *= *"\(.*\)"/\1/p' Cargo.toml | head -n1)
debversion="$version-1"
arch=$(dpkg --print-architecture)
# Reproducible: every timestamp comes from the last commit.
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}"

stage=$(mktemp -d "${TMPDIR:-/tmp}/newidmap-deb.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root="$stage/root"
install -d -m 0755 "$root/DEBIAN" "$root/usr/bin" "$root/usr/share/doc/newidmap"

# The helpers ship 0755 without privilege; postinst adds the file capability
# (or, where the filesystem cannot store one, the setuid bit).
for b in newuidmap newgidmap subid; do
  [ -x "$bindir/$b" ] || continue
  install -m 0755 "$bindir/$b" "$root/usr/bin/$b"
done
# subid answers to the name getsubids exactly as shadow's does, so the
# package can stand in for all of uidmap (which also ships getsubids).
if [ -e "$root/usr/bin/subid" ]; then
  ln -s subid "$root/usr/bin/getsubids"
fi
if command -v strip >/dev/null; then
  for b in "$root"/usr/bin/*; do
    [ -L "$b" ] || strip --strip-unneeded --remove-section=.comment --remove-section=.note "$b"
  done
fi

for page in packaging/man/*.[18]; do
  [ -e "$page" ] || continue
  name=${page##*/} section=${page##*.}
  [ "$name" = subid.8 ] && [ ! -e "$root/usr/bin/subid" ] && continue
  install -d -m 0755 "$root/usr/share/man/man$section"
  gzip -9n <"$page" >"$root/usr/share/man/man$section/$name.gz"
  chmod 0644 "$root/usr/share/man/man$section/$name.gz"
done
if [ -e "$root/usr/bin/getsubids" ] && [ -e "$root/usr/share/man/man8/subid.8.gz" ]; then
  install -d -m 0755 "$root/usr/share/man/man1"
  ln -s ../man8/subid.8.gz "$root/usr/share/man/man1/getsubids.1.gz"
fi

# copyright (machine-readable, DEP-5). Cargo.toml's SPDX expression in
# DEP-5 spelling ("OR" becomes "or"); the MIT text in full, Apache-2.0 by
# reference to common-licenses (as Debian policy 12.5 asks).
[ -n "$license" ] || { echo "build.sh: Cargo.toml declares no license" >&2; exit 1; }
# The Rust crates linked into the binaries (normal dependencies only: build
# and dev dependencies are not shipped), with their licences as declared.
crates=$(cargo tree --locked --offline -e normal --prefix none --format '{p}: {l}' 2>/dev/null \
  | sed -e 's/ (.*)//' -e 's/^\([^ ]*\) v/\1 /' | grep -v '^newidmap ' | LC_ALL=C sort -u || true)
# Years of authorship: from the first release (2026) to the commit's year
# (SOURCE_DATE_EPOCH, so the file stays reproducible). lintian wants a year.
years=2026 last=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y)
[ "$last" -gt "$years" ] && years="$years-$last"
{
  echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
  echo "Upstream-Name: newidmap"
  [ -n "$repository" ] && echo "Source: $repository"
  echo
  echo "Files: *"
  echo "Copyright: $years The newidmap developers"
  echo "License: ${license// OR / or }"
  if [ -n "$crates" ]; then
    echo "Comment: The binaries also contain, linked statically, the Rust standard"
    echo " library (MIT or Apache-2.0) and these crates (name version: licence):"
    printf '%s\n' "$crates" | sed 's/^/ /'
  fi
  echo
  echo "License: Apache-2.0"
  echo " Licensed under the Apache License, Version 2.0 (the \"License\"); you may"
  echo " not use this file except in compliance with the License."
  echo " ."
  echo " On Debian systems, the complete text of the Apache License, Version 2.0"
  echo " can be found in \"/usr/share/common-licenses/Apache-2.0\"."
  echo
  echo "License: MIT"
  # LICENSE-MIT from its permission notice on, blank lines as DEP-5's " .".
  sed -n '/^Permission is hereby granted/,$p' LICENSE-MIT | sed -e 's/^$/./' -e 's/^/ /'
} >"$root/usr/share/doc/newidmap/copyright"
date=$(date -u -R -d "@$SOURCE_DATE_EPOCH")
cat >"$stage/changelog.Debian" <<EOF
newidmap ($debversion) unstable; urgency=medium

  * Package upstream release $version: memory-safe newuidmap/newgidmap.

 -- newidmap maintainers <newidmap@packages.invalid>  $date
EOF
gzip -9n <"$stage/changelog.Debian" >"$root/usr/share/doc/newidmap/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/newidmap/"*

# Not an archive upload, so there is no ITP bug to close.
install -d -m 0755 "$root/usr/share/lintian/overrides"
printf '%s\n' "newidmap: initial-upload-closes-no-bugs [usr/share/doc/newidmap/changelog.Debian.gz:1]" \
  >"$root/usr/share/lintian/overrides/newidmap"
chmod 0644 "$root/usr/share/lintian/overrides/newidmap"

install -m 0755 packaging/deb/postinst "$root/DEBIAN/postinst"

depends="libc6"
if command -v dpkg-shlibdeps >/dev/null; then
  # dpkg-shlibdeps wants a source tree; give it a minimal one.
  mkdir -p "$stage/src/debian"
  printf 'Source: newidmap\n\nPackage: newidmap\nArchitecture: any\n' >"$stage/src/debian/control"
  shlibs=$(cd "$stage/src" && dpkg-shlibdeps -O "$root"/usr/bin/* 2>/dev/null | sed -n 's/^shlibs:Depends=//p')
  [ -n "$shlibs" ] && depends="$shlibs"
fi
size=$(du -k -s --apparent-size --exclude=DEBIAN "$root" | cut -f1)

sed -e "s/@VERSION@/$debversion/" -e "s/@ARCH@/$arch/" -e "s/@DEPENDS@/$depends/" \
    -e "s/@SIZE@/$size/" packaging/deb/control.in >"$root/DEBIAN/control"
if [ -n "$repository" ]; then
  sed -i "/^Description:/i Homepage: $repository" "$root/DEBIAN/control"
fi
(cd "$root" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
chmod 0644 "$root/DEBIAN/control" "$root/DEBIAN/md5sums"
find "$root" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$out"
deb="$out/newidmap_${debversion}_${arch}.deb"
dpkg-deb --root-owner-group "${compress[@]}" --build "$root" "$deb" >/dev/null
echo "$deb"
