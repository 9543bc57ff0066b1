#!/usr/bin/env bash
# Build (release) and install the helpers the way distributions do.
#
#   packaging/install.sh [--prefix DIR] [--fcaps] [--binaries DIR] [--uninstall] [--no-demo]
#
# Installs newuidmap and newgidmap into DIR/bin (default /usr/local/bin),
# setuid root (4755) by default or, with --fcaps, mode 0755 plus
# cap_setuid+ep / cap_setgid+ep; the unprivileged `subid` tool (0755) and the
# man pages when present. --binaries takes prebuilt binaries from a directory
# instead of running `cargo build --release`. Verifies the result, then
# demonstrates a mapping inside a private mount namespace with the fixture
# users (the host's /etc is not touched). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

prefix=/usr/local fcaps=0 uninstall=0 demo=1 built=""
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) prefix="${2:?--prefix needs a directory}"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; shift ;;
    --fcaps) fcaps=1; shift ;;
    --binaries) built="${2:?--binaries needs a directory}"; shift 2 ;;
    --uninstall) uninstall=1; shift ;;
    --no-demo) demo=0; shift ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "install.sh: unknown argument: $1" >&2; exit 1 ;;
  esac
done
bindir="$prefix/bin" mandir="$prefix/share/man"
helpers=(newuidmap newgidmap)

if [ "$(id -u)" != 0 ]; then
  echo "install.sh: must run as root (it installs setuid-root or capability binaries)" >&2
  exit 1
fi

if [ "$uninstall" = 1 ]; then
  for f in "$bindir/newuidmap" "$bindir/newgidmap" "$bindir/subid" "$bindir/getsubids-newidmap" \
           "$mandir/man1/newuidmap.1" "$mandir/man1/newgidmap.1" "$mandir/man8/subid.8"; do
    if [ -e "$f" ] || [ -L "$f" ]; then rm -f "$f"; echo "removed $f"; fi
  done
  exit 0
fi

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

install -d -m 0755 "$bindir"
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
  install -d -m 0755 "$mandir/man$section"
  install -o root -g root -m 0644 "$page" "$mandir/man$section/"
done

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

if [ "$demo" = 1 ]; then
  echo
  echo "demonstration (fixture user alice, UID 1000, subordinate UIDs 100000-165535):"
  echo "  unshare --user --map-auto --map-root-user cat /proc/self/uid_map"
  unshare --mount --propagation private bash -c '
    set -e
    mount -t overlay overlay -o lowerdir="$1":/etc /etc
    PATH="$2:/usr/sbin:/usr/bin:/sbin:/bin" setpriv --reuid=1000 --regid=1000 --clear-groups -- \
      unshare --user --map-auto --map-root-user cat /proc/self/uid_map
  ' demo "$PWD/subid-fixtures/basic" "$bindir"
fi
