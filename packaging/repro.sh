#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Proves the build reproducible: two clean clones of HEAD in two different
# directories (different path lengths), each built into its own target directory by the same
# toolchain, must give byte-identical newuidmap, newgidmap and subid, none
# of which may contain the build directory or CARGO_HOME; and the .deb
# built from each clone (SOURCE_DATE_EPOCH from the commit) must be
# byte-identical too. Each clone is built by packaging/deb/build.sh (cargo
# build --release --locked with packaging/release-env.sh's flags, then
# dpkg-deb), as a packager would.
#
#   packaging/repro.sh [--keep]     (--keep leaves the clones for inspection)
#
# Checks the committed tree (HEAD): uncommitted changes are not in the clones.
# Cost: two clean release builds (LTO, one codegen unit) one after the other.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
keep=0
[ "${1:-}" = --keep ] && keep=1

commit=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
  echo "repro.sh: note: uncommitted changes are not checked (clones of $commit)" >&2
fi
base=$(mktemp -d "${TMPDIR:-/tmp}/newidmap-repro.XXXXXX")
[ $keep = 1 ] || trap 'rm -rf "$base"' EXIT
dirs=("$base/a/newidmap" "$base/second-clone/in/a/deeper/directory/newidmap-$commit")
cargo_home=${CARGO_HOME:-$HOME/.cargo}
debs=()

for i in 0 1; do
  d=${dirs[$i]}
  git clone -q --no-checkout "$repo" "$d"
  git -C "$d" checkout -q --detach "$commit"
  echo "repro.sh: building in $d"
  # The packager's path: build.sh builds (cargo build --release --locked,
  # flags from packaging/release-env.sh) and packages. Nothing inherited
  # that could differ or be shared between the two builds.
  deb=$(cd "$d" && env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS \
          -u SOURCE_DATE_EPOCH CARGO_TARGET_DIR="$d/target" \
          nice -n 10 bash packaging/deb/build.sh --out "$base/deb-$i" | tail -n1)
  debs+=("$deb")
done

status=0
for b in newuidmap newgidmap subid; do
  one="${dirs[0]}/target/release/$b" two="${dirs[1]}/target/release/$b"
  if cmp -s "$one" "$two"; then
    echo "repro.sh: $b identical ($(sha256sum <"$one" | cut -c1-16)..., $(stat -c %s "$one") bytes)"
  else
    echo "repro.sh: $b DIFFERS between the two builds:" >&2
    cmp "$one" "$two" | head -n1 >&2 || true
    status=1
  fi
  # A path in the binary would make builds in other directories differ.
  for p in "$base" "$cargo_home"; do
    if grep -aqF "$p" "$one"; then
      echo "repro.sh: $b contains the path $p:" >&2
      grep -aoF "$p" "$one" | head -n3 >&2 || true
      status=1
    fi
  done
done

if cmp -s "${debs[0]}" "${debs[1]}"; then
  echo "repro.sh: ${debs[0]##*/} identical ($(sha256sum <"${debs[0]}" | cut -c1-16)...)"
else
  echo "repro.sh: the .deb DIFFERS between the two clones:" >&2
  cmp "${debs[0]}" "${debs[1]}" >&2 || true
  status=1
fi
[ $keep = 1 ] && echo "repro.sh: clones kept in $base"
exit $status
