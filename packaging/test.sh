#!/usr/bin/env bash
# The whole test suite, from a fresh Debian machine: installs what the tests
# need (as root, with apt-get), then runs the formatting and lint gates and
# `cargo test`. Run it as root so the end-to-end tests run; without root they
# skip with a visible message (under CI=true they fail instead).
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: setcap/getcap, strace (privilege-order
# proof), setpriv/unshare (util-linux), a C compiler for the test target and
# test NSS module, python3 (pidfd and syslog listener), shadow's uidmap
# package (getsubids and the reference helpers), dpkg-dev/lintian and rpm
# (rpmbuild) for the packages, and the real clients.
packages=(libcap2-bin strace util-linux gcc libc6-dev python3 uidmap man-db groff-base dpkg-dev lintian rpm)
clients=(podman rootlesskit lxc buildah)

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${packages[@]}" "${clients[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
    # The clients are proven where they install; their tests say why when not.
    for c in "${clients[@]}"; do
      apt-get install -y -qq --no-install-recommends "$c" >/dev/null 2>&1 \
        || echo "test.sh: could not install $c; its test will report the skip"
    done
  fi
fi

cargo fmt --all -- --check
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets --locked -- -D warnings
fi
# The Debian package (release build): tests/e2e_packaging.rs installs this
# very file with dpkg in a private mount namespace.
NEWIDMAP_DEB=$(bash packaging/deb/build.sh | tail -n1)
export NEWIDMAP_DEB
cargo test --locked --all-targets
