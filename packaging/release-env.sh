# SPDX-License-Identifier: Apache-2.0 OR MIT
# Sourced (bash) by every release build of the project: packaging/deb/build.sh,
# packaging/install.sh and bench/run.sh (packaging/repro.sh goes through
# build.sh), so they share one set of flags and one target/release.
#
# Registry crates are compiled from absolute paths under CARGO_HOME, and
# their panic locations (e.g. nix's src/unistd.rs) end up in the binaries as
# strings: /root/.cargo/registry/src/index.crates.io-.../nix-0.31.3/src/...
# Remapped to /cargo, a build under another CARGO_HOME (another user, a
# builder's scratch HOME) gives the same bytes. The project's own sources are
# already relative (src/...), and std's are /rustc/COMMIT/... .
# (Cargo's profile.trim-paths would do this, but is not stable in 1.95.)
newidmap_cargo_home=${CARGO_HOME:-${HOME:?}/.cargo}
case "$newidmap_cargo_home" in
  *[[:space:]]*)
    echo "note: CARGO_HOME contains white space; the binaries will name it (not reproducible elsewhere)" >&2 ;;
  *)
    export RUSTFLAGS="${RUSTFLAGS:+$RUSTFLAGS }--remap-path-prefix=$newidmap_cargo_home=/cargo" ;;
esac
unset newidmap_cargo_home
