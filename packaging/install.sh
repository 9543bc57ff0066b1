#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Build (release) and install newuidmap and newgidmap from source.
# Run packaging/install.sh --help for the options.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  cat <<'EOF'
Usage: packaging/install.sh [--fcaps] [--prefix DIR] [--binaries DIR] [--no-demo]
       packaging/install.sh --uninstall [--prefix DIR]

Build newuidmap and newgidmap (cargo build --release) and install them, with
the subid tool and the man pages, under DIR (default /usr/local). Run as root.

  --fcaps          install the helpers mode 0755 with one file capability each
                   (cap_setuid+ep, cap_setgid+ep) instead of setuid root (4755)
  --prefix DIR     install into DIR/bin and DIR/share/man (default /usr/local)
  --binaries DIR   take prebuilt newuidmap, newgidmap (and subid) from DIR
                   instead of building
  --no-demo        skip the demonstration mapping at the end
  --uninstall      remove what an earlier run installed under DIR, and the
                   directories it created (listed in DIR/share/newidmap/manifest)
  -h, --help       show this text

This route does not replace shadow's helpers: /usr/bin/newuidmap and
/usr/bin/newgidmap (Debian's uidmap package) stay installed and setuid root.
Clients that find the helpers through PATH (podman, buildah, unshare, LXC)
use /usr/local/bin first; anything that calls /usr/bin/newuidmap directly,
or runs with a PATH without /usr/local/bin, still uses shadow's. getsubids
also stays shadow's. Only the Debian package (packaging/deb/build.sh)
replaces them.

The result is verified (mode bits or capabilities), then a mapping is shown
inside a private mount namespace with the fixture users; the host's /etc is
not touched. Running it again is safe.
EOF
}

prefix=/usr/local fcaps=0 uninstall=0 demo=1 built=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --fcaps) fcaps=1; shift ;;
    --binaries) built="${2:?--binaries needs a directory}"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --no-demo) demo=0; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown argument: $1 (see packaging/install.sh --help)" >&2; exit 1 ;;
  esac
done
bindir="$prefix/bin" mandir="$prefix/share/man"
# What this script installed and which directories it created, so that
# --uninstall removes exactly that (and no directory it did not make).
manifest="$prefix/share/newidmap/manifest"
helpers=(newuidmap newgidmap)

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: must run as root (it installs setuid-root or capability binaries)" >&2
  exit 1
fi

if [ "$uninstall" = 1 ]; then
  for f in "$bindir/newuidmap" "$bindir/newgidmap" "$bindir/subid" \
           "$mandir/man1/newuidmap.1" "$mandir/man1/newgidmap.1" "$mandir/man8/subid.8"; do
    if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f"; echo "removed $f"; fi
  done
  if [ -f "$manifest" ]; then
    # Directories created by the install, deepest first; rmdir leaves any
    # that something else has put files into since.
    mapfile -t dirs < <(sed -n 's/^dir //p' "$manifest" | sort -r)
    rm -f "$manifest"
    for d in "${dirs[@]}"; do
      if [ -d "$d" ] && rmdir "$d" 2>/dev/null; then echo "removed $d/"; fi
    done
  fi
  if [ -x /usr/bin/newuidmap ]; then
    echo "clients now use /usr/bin/newuidmap and /usr/bin/newgidmap again"
  fi
  exit 0
fi

# Creates directory $1 (and missing parents) and records each one created.
created_dirs=()
make_dir() {
  local d=$1 missing=()
  while [ ! -d "$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
  for d in "${missing[@]}"; do
    install -d -m 0755 "$d"
    created_dirs+=("$d")
  done
}

# Never overwrite a package manager's copy (e.g. Debian's uidmap with
# --prefix /usr): the next package upgrade would silently put it back. Use
# the .deb or RPM for /usr, or the default /usr/local.
for h in "${helpers[@]}"; do
  if command -v dpkg-query >/dev/null && owner=$(dpkg-query -S "$bindir/$h" 2>/dev/null); then
    case "$owner" in newidmap:*) ;; *)
      echo "install.sh: $bindir/$h belongs to the package ${owner%%:*}; install the newidmap package instead, or use another --prefix (default /usr/local)" >&2
      exit 1 ;;
    esac
  elif command -v rpm >/dev/null && owner=$(rpm -qf "$bindir/$h" 2>/dev/null); then
    echo "install.sh: $bindir/$h belongs to the package $owner; install the newidmap RPM instead, or use another --prefix" >&2
    exit 1
  fi
done

if [ -z "$built" ]; then
  if ! command -v cargo >/dev/null; then
    echo "install.sh: cargo not found (install Rust: https://rustup.rs or apt-get install cargo)" >&2
    exit 1
  fi
  echo "building newuidmap, newgidmap and subid (cargo build --release; a few minutes the first time) ..."
  # shellcheck source=packaging/release-env.sh
  source packaging/release-env.sh
  cargo build --release --locked --quiet
  built=target/release
fi
for h in "${helpers[@]}"; do
  [ -x "$built/$h" ] || { echo "install.sh: $built/$h not found" >&2; exit 1; }
done
if [ "$fcaps" = 1 ] && ! command -v setcap >/dev/null; then
  echo "install.sh: --fcaps needs setcap and getcap (Debian: apt-get install libcap2-bin; Fedora: dnf install libcap)" >&2
  exit 1
fi

make_dir "$bindir"
# setuid bits and file capabilities are ignored on a nosuid mount.
if command -v findmnt >/dev/null && findmnt -no OPTIONS -T "$bindir" | tr ',' '\n' | grep -qx nosuid; then
  echo "install.sh: $bindir is on a filesystem mounted nosuid; the helpers would run unprivileged there. Choose another --prefix." >&2
  exit 1
fi
trap 'rm -f "$bindir/.newuidmap.new" "$bindir/.newgidmap.new"' EXIT
for h in "${helpers[@]}"; do
  # Install under a temporary name and rename, so a running launcher never
  # sees a half-written or unprivileged helper.
  tmp="$bindir/.$h.new"
  install -o root -g root -m 0755 "$built/$h" "$tmp"
  if [ "$fcaps" = 1 ]; then
    case "$h" in newuidmap) cap=cap_setuid ;; newgidmap) cap=cap_setgid ;; esac
    if ! setcap "$cap+ep" "$tmp"; then
      echo "install.sh: cannot set $cap+ep on $bindir/$h: this filesystem does not store file capabilities; install without --fcaps (setuid root)" >&2
      exit 1
    fi
  else
    chmod 4755 "$tmp"
  fi
  mv -f "$tmp" "$bindir/$h"
done
if [ -x "$built/subid" ]; then
  install -o root -g root -m 0755 "$built/subid" "$bindir/subid"
fi
for page in packaging/man/*.[18]; do
  [ -e "$page" ] || continue
  [ "${page##*/}" = subid.8 ] && [ ! -e "$bindir/subid" ] && continue
  section="${page##*.}"
  make_dir "$mandir/man$section"
  install -o root -g root -m 0644 "$page" "$mandir/man$section/"
done

# Record the directories created (keeping those an earlier run recorded).
make_dir "$prefix/share/newidmap"
{
  if [ -f "$manifest" ]; then grep '^dir ' "$manifest" || true; fi
  for d in "${created_dirs[@]}"; do echo "dir $d"; done
} | sort -u >"$manifest.new"
mv -f "$manifest.new" "$manifest"

# Verify what was installed, the way podman and LXC check it.
for h in "${helpers[@]}"; do
  f="$bindir/$h"
  mode=$(stat -c '%a %U:%G' "$f")
  if [ "$fcaps" = 1 ]; then
    caps=$(getcap "$f" | sed 's/^[^ ]* //')
    case "$h" in newuidmap) want=cap_setuid=ep ;; newgidmap) want=cap_setgid=ep ;; esac
    [ "$caps" = "$want" ] || { echo "install.sh: $f has capabilities '$caps', expected $want" >&2; exit 1; }
    [ "$mode" = "755 root:root" ] || { echo "install.sh: $f is $mode, expected 755 root:root" >&2; exit 1; }
    echo "installed $f ($mode, $caps)"
  else
    [ "$mode" = "4755 root:root" ] || { echo "install.sh: $f is $mode, expected 4755 root:root" >&2; exit 1; }
    echo "installed $f ($mode, setuid root)"
  fi
done
if [ -e "$bindir/subid" ]; then
  echo "installed $bindir/subid ($(stat -c '%a %U:%G' "$bindir/subid"))"
fi
for page in "$mandir"/man1/newuidmap.1 "$mandir"/man1/newgidmap.1 "$mandir"/man8/subid.8; do
  if [ -e "$page" ]; then echo "installed $page"; fi
done
case ":$PATH:" in *":$bindir:"*) ;; *)
  echo "note: $bindir is not on root's PATH; clients (podman, unshare, LXC) find the helpers through PATH" ;;
esac
# Which package a file belongs to ("" if none, or no dpkg/rpm).
package_of() {
  { command -v dpkg-query >/dev/null && dpkg-query -S "$1" 2>/dev/null | cut -d: -f1; } ||
    { command -v rpm >/dev/null && rpm -qf "$1" 2>/dev/null; } || true
}
for h in "${helpers[@]}"; do
  if [ "$bindir/$h" != "/usr/bin/$h" ] && [ -e "/usr/bin/$h" ]; then
    owner=$(package_of "/usr/bin/$h")
    [ "$owner" = newidmap ] && continue
    echo "note: /usr/bin/$h is still installed (${owner:+package $owner, }mode $(stat -c '%a %U' "/usr/bin/$h")): clients that call it directly or whose PATH lacks $bindir still use it; only the newidmap package replaces it"
  fi
done
if [ -e /usr/bin/getsubids ] && [ ! -L /usr/bin/getsubids ]; then
  echo "note: getsubids is still shadow's (/usr/bin/getsubids); subid show USER prints the same ranges"
fi

if [ "$demo" = 1 ]; then
  echo
  echo "demonstration (fixture user alice, UID 1000, subordinate UIDs 100000-165535 (65536 IDs)):"
  echo "  unshare --user --map-auto --map-root-user cat /proc/self/uid_map"
  unshare --mount --propagation private bash -c '
    set -e
    mount -t overlay overlay -o lowerdir="$1":/etc /etc
    PATH="$2:/usr/sbin:/usr/bin:/sbin:/bin" setpriv --reuid=1000 --regid=1000 --clear-groups -- \
      unshare --user --map-auto --map-root-user cat /proc/self/uid_map
  ' demo "$PWD/subid-fixtures/basic" "$bindir"
fi
