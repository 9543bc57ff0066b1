#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# The whole test suite, from a fresh Debian machine: installs what the tests
# need (as root, with apt-get), then runs the formatting and lint gates and
# `cargo test`. Run it as root so the end-to-end tests run; without root they
# skip with a visible message (under CI=true they fail instead).
#
# Gates, in order, with their cost measured on the 2-core CI machine
# (CONTRIBUTING.md keeps the table): rustfmt; clippy (mandatory under
# CI=true, installed with rustup when missing); cargo-deny (bans, licences,
# sources offline; advisories when the RustSec database can be fetched;
# installed with `cargo install --locked cargo-deny` when missing); the
# .deb; cargo test; a fuzz smoke run (5 s per target, so the fuzz targets
# keep building); packaging/repro.sh (two clean release builds and two .deb
# builds compared byte for byte); and the compliance run (the end-to-end
# cases against shadow's helpers, after cargo test). NEWIDMAP_SKIP_REPRO=1
# skips the reproducibility check outside CI.
set -euo pipefail
cd "$(dirname "$0")/.."

# Debian packages the tests use: setcap/getcap, strace (privilege-order
# proof), setpriv/unshare (util-linux), a C compiler for the test target and
# test NSS module, python3 (pidfd and syslog listener), shadow's uidmap
# package (getsubids and the reference helpers), dpkg-dev/lintian and rpm
# (rpmbuild) for the packages, g++ for libFuzzer (the fuzz smoke run), git
# (packaging/repro.sh clones the tree), and the real clients.
packages=(libcap2-bin strace util-linux gcc g++ git libc6-dev python3 uidmap man-db groff-base dpkg-dev lintian rpm)
clients=(podman rootlesskit lxc buildah)
# The real central-subid stack of tests/e2e_sssd.rs: sssd's ipa provider and
# libsubid_sss.so, an OpenLDAP server, an MIT KDC and SASL/GSSAPI. Their
# daemons are never started on the host (see install_quietly).
stack=(sssd-common sssd-ipa slapd ldap-utils krb5-kdc krb5-admin-server krb5-user libsasl2-modules-gssapi-mit)

# Files that the stack's postinst scripts rewrite and that change how THIS
# host resolves users and authenticates: libnss-sss adds `sss` to
# nsswitch.conf, libpam-sss runs pam-auth-update, which writes pam_sss into
# /etc/pam.d/common-* and records what it wrote in /var/lib/pam (restored
# too, so a later pam-auth-update sees no "local changes"), krb5-config may
# write /etc/krb5.conf. Saved before apt-get, put back byte for byte
# afterwards and compared; a file that did not exist is removed again.
guarded=(/etc/nsswitch.conf /etc/pam.d/common-account /etc/pam.d/common-auth
  /etc/pam.d/common-password /etc/pam.d/common-session
  /etc/pam.d/common-session-noninteractive /etc/krb5.conf
  /var/lib/pam/seen /var/lib/pam/account /var/lib/pam/auth /var/lib/pam/password
  /var/lib/pam/session /var/lib/pam/session-noninteractive)
# Services the packages enable for the next boot (systemd units, or SysV
# links that systemd turns into units): slapd would listen with its default
# database. Those not enabled before the install are disabled again.
services=(sssd slapd krb5-kdc krb5-admin-server)

# apt-get install with no daemon started on the host: invoke-rc.d asks
# /usr/sbin/policy-rc.d, and 101 means "action forbidden". An existing
# policy-rc.d (container images ship one) is put back afterwards.
install_quietly() {
  local save rc=0 policy=/usr/sbin/policy-rc.d f
  save=$(mktemp -d)
  for f in sssd slapd krb5kdc kadmind; do pidof -q "$f" && echo "$f"; done >"$save.running"
  [ -e "$policy" ] && cp -a "$policy" "$save/policy-rc.d"
  for f in "${guarded[@]}"; do
    if [ -e "$f" ]; then mkdir -p "$save$(dirname "$f")" && cp -a "$f" "$save$f"; fi
  done
  for f in "${services[@]}"; do
    ls /etc/rc2.d/S*"$f" /etc/systemd/system/*.wants/"$f".service >/dev/null 2>&1 && echo "$f"
  done >"$save.enabled"
  printf '#!/bin/sh\n# packaging/test.sh: no daemon starts during the install\nexit 101\n' >"$policy"
  chmod 0755 "$policy"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || rc=$?
  rm -f "$policy"
  [ -e "$save/policy-rc.d" ] && cp -a "$save/policy-rc.d" "$policy"
  for f in "${guarded[@]}"; do
    if [ -e "$save$f" ]; then
      cp -a "$save$f" "$f"
      cmp -s "$save$f" "$f" || { echo "test.sh: could not restore $f" >&2; rc=1; }
    else
      rm -f "$f"
    fi
  done
  for f in "${services[@]}"; do
    grep -qx "$f" "$save.enabled" && continue
    update-rc.d "$f" disable >/dev/null 2>&1 || true
    deb-systemd-helper disable "$f.service" >/dev/null 2>&1 || true
  done
  rm -rf "$save" "$save.enabled"
  # A daemon a postinst started anyway (bypassing invoke-rc.d) is reported.
  for daemon in sssd slapd krb5kdc kadmind; do
    if pidof -q "$daemon" && ! grep -qx "$daemon" "$save.running"; then
      echo "test.sh: warning: the install started $daemon on the host" >&2
    fi
  done
  rm -f "$save.running"
  return "$rc"
}

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  for p in "${packages[@]}" "${clients[@]}" "${stack[@]}"; do
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
    install_quietly "${stack[@]}"
  fi
fi

ci=${CI:-}
# A gate that cannot run is a failure under CI=true and a visible skip else.
missing_gate() {
  if [ "$ci" = true ]; then
    echo "test.sh: $1 (CI=true: failing)" >&2
    exit 1
  fi
  echo "test.sh: $1; SKIPPED" >&2
}

# unsafe code lives in src/sys.rs alone. Cargo.toml's [lints] denies
# unsafe_code crate-wide, but `deny` (unlike `forbid`) yields to a local
# #[allow]: so the only allow is the one on `mod sys` in src/lib.rs, and no
# other file has an unsafe block, fn, impl or extern block.
unsafe_elsewhere=$(grep -rnE '\bunsafe[[:space:]]*(\{|fn|impl|extern|trait)|#!?\[[^]]*allow\([^)]*unsafe_code' src --include='*.rs' \
  | grep -vE '^src/sys\.rs:|^src/lib\.rs:[0-9]+:#\[allow\(unsafe_code\)\]$' || true)
if [ -n "$unsafe_elsewhere" ]; then
  echo "test.sh: unsafe code outside src/sys.rs:" >&2
  echo "$unsafe_elsewhere" >&2
  exit 1
fi

cargo fmt --all -- --check

if ! cargo clippy --version >/dev/null 2>&1 && command -v rustup >/dev/null; then
  echo "test.sh: installing clippy (rustup component add clippy)"
  rustup component add clippy >/dev/null 2>&1 || true
fi
if cargo clippy --version >/dev/null 2>&1; then
  cargo clippy --all-targets --locked -- -D warnings
else
  missing_gate "cargo clippy is not available and rustup could not add it"
fi

# Supply chain (deny.toml). bans, licenses and sources need only Cargo.lock
# and the local registry; advisories needs the RustSec database from the
# network, so it runs whenever that can be fetched and says so when not
# (the network is not the tree's fault; the other three always run).
if ! cargo deny --version >/dev/null 2>&1; then
  echo "test.sh: installing cargo-deny (cargo install --locked cargo-deny; several minutes)"
  cargo install --locked --quiet cargo-deny
fi
cargo deny --frozen check bans licenses sources
if cargo deny fetch db >/dev/null 2>&1; then
  cargo deny --frozen check advisories
else
  echo "test.sh: could not fetch the RustSec advisory database; advisories NOT checked" >&2
fi
# The fuzz targets keep building and survive a few seconds each.
bash fuzz/run.sh 5

if [ "${NEWIDMAP_SKIP_REPRO:-}" = 1 ] && [ "$ci" != true ]; then
  echo "test.sh: NEWIDMAP_SKIP_REPRO=1: reproducibility check SKIPPED" >&2
else
  bash packaging/repro.sh
fi

# The Debian package (release build): tests/e2e_packaging.rs installs this
# very file with dpkg in a private mount namespace.
NEWIDMAP_DEB=$(bash packaging/deb/build.sh | tail -n1)
export NEWIDMAP_DEB
# --all-targets leaves out the doc tests, among them the compile_fail
# proofs that only the checks can build a VerifiedTarget or an Approved map.
cargo test --locked --doc
cargo test --locked --all-targets
# The compliance run: the same end-to-end cases against Debian's shadow
# helpers (uidmap); every difference is listed in tests/common/compliance.rs
# and must still fail there, every other case must pass (README). Every e2e
# file but e2e_packaging, which tests our package, not a helper.
compliance=()
for f in tests/e2e_*.rs; do
  t=$(basename "$f" .rs)
  [ "$t" = e2e_packaging ] || compliance+=(--test "$t")
done
IDMAP_UNDER_TEST=shadow cargo test --locked --no-fail-fast "${compliance[@]}"
