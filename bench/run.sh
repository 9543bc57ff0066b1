#!/bin/bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Benchmark of newuidmap/newgidmap (issue 8): ours vs shadow's vs a setuid floor.
#
#   sudo bench/run.sh [--quick] [--out FILE] [--rev REV | --ours DIR]
#
# By default ours is the working tree, built with cargo build --release.
# --rev REV builds that commit instead (git archive into a scratch dir, so
# uncommitted edits in the tree do not matter); --ours DIR takes prebuilt
# DIR/newuidmap and DIR/newgidmap.
#
# Must run as root. Builds ours (cargo build --release), installs setuid-root
# copies of ours, shadow's (Debian package uidmap) and a static no-op "floor"
# in a temp dir, generates fixture passwd/group/subuid/subgid files, and runs
# bench/driver.c as an unprivileged fixture user inside a private mount
# namespace with the fixtures overlaid on /etc. The host's /etc is never
# touched. Prints a markdown table (also written to FILE with --out).
# --quick finishes within about a minute (fewer rounds, shadow's slowest
# cases skipped); the full run takes about 6 minutes on 2 cores.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)

FIX_USER=nidbench
FIX_UID=4242
FIX_GID=4343

if [[ ${1:-} == --inner ]]; then
    # --- inside the private mount namespace (root) ---------------------------
    shift
    WORK=$1 MODE=$2
    RES=$WORK/results.tsv
    mount -t overlay overlay -o "lowerdir=$WORK/etc:/etc" /etc
    as_user() { setpriv --reuid="$FIX_UID" --regid="$FIX_GID" --clear-groups "$@"; }
    B=$WORK/bin
    # run_lat SIZE KEY KIND LINES ROUNDS SHADOW?(yes/no)
    run_lat() {
        local size=$1 key=$2 kind=$3 lines=$4 rounds=$5 with_shadow=$6
        local shadow=$B/shadow-new${kind}map
        [[ $with_shadow == yes ]] || shadow=-
        printf '  %-3s %7s entries, key %-4s, %3s-line request: %3s rounds%s\n' \
            "$kind" "$size" "$key" "$lines" "$rounds" \
            "$([[ $with_shadow == yes ]] || echo ' (shadow skipped)')" >&2
        as_user "$WORK/driver" lat "$kind" "$lines" "$rounds" \
            "$kind:$size:$key:$lines" "$B/ours-new${kind}map" "$shadow" "$B/floor" >>"$RES"
    }
    sizes=(1 1000 100000 1000000)
    for size in "${sizes[@]}"; do
        for key in name uid; do
            f=$WORK/subid/$size.$key
            mount --bind "$f" /etc/subuid
            mount --bind "$f" /etc/subgid
            # Warm the page cache: the fixtures were just written, as on a
            # real machine where the file is read on every container start.
            cat /etc/subuid >/dev/null
            if [[ $size == 1 && $key == name ]]; then
                if [[ $MODE == quick ]]; then rr=51; else rr=201; fi
                echo "  start-up references: $rr rounds" >&2
                as_user "$WORK/driver" ref "$rr" "floor=$B/floor" "c-dynamic=$B/noop-c-dynamic" \
                    "rust-dynamic=$B/noop-rust" "ours=$B/ours-newuidmap" >>"$RES"
                if [[ $MODE == quick ]]; then tsec=1 trounds=1; else tsec=2 trounds=7; fi
                for npar in 2 16; do
                    echo "  throughput, $npar parallel callers: $trounds x ${tsec}s per helper" >&2
                    as_user "$WORK/driver" tput uid 2 "$npar" "$tsec" "$trounds" \
                        "uid:$size:$key:2" "$B/ours-newuidmap" "$B/shadow-newuidmap" "$B/floor" >>"$RES"
                done
            fi
            for kind in uid gid; do
                for lines in 1 2 340; do
                    shadow=yes
                    if [[ $MODE == quick ]]; then
                        case $size in
                            1) r=51 ;;
                            1000) r=21 ;;
                            100000) r=5; [[ $lines == 340 ]] && r=2 ;;
                            *) r=1; [[ $lines == 340 ]] && shadow=no ;;
                        esac
                        # gid at 1,000,000 costs shadow as much as uid; one kind is enough here.
                        [[ $size == 1000000 && $kind == gid ]] && shadow=no
                    else
                        case $size in
                            1|1000) r=201 ;;
                            100000) r=25; [[ $lines == 340 ]] && r=9 ;;
                            *) r=9; [[ $lines == 340 ]] && r=5 ;;
                        esac
                    fi
                    run_lat "$size" "$key" "$kind" "$lines" "$r" "$shadow"
                done
            done
            umount /etc/subgid
            umount /etc/subuid
        done
    done
    umount /etc
    exit 0
fi

# --- outside: setup ------------------------------------------------------------
MODE=full OUT= REV= OURS_DIR=
while (($#)); do
    case $1 in
        --quick) MODE=quick ;;
        --out) OUT=$2; shift ;;
        --rev) REV=$2; shift ;;
        --ours) OURS_DIR=$(cd "$2" && pwd); shift ;;
        -h|--help) awk 'NR > 2 && !/^#/ { exit } NR > 2' "$0"; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
[[ $(id -u) == 0 ]] || { echo "run.sh: must run as root (it installs setuid copies and mounts fixtures in a private namespace)" >&2; exit 2; }
for tool in cc unshare setpriv python3 cargo rustc; do
    command -v $tool >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 2; }
done
[[ -x /usr/bin/newuidmap && -x /usr/bin/newgidmap ]] || {
    echo "run.sh: shadow's helpers are missing: apt-get install uidmap" >&2; exit 2; }

WORK=$(mktemp -d "${TMPDIR:-/var/tmp}/newidmap-bench.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
chmod 755 "$WORK"
if [[ -n $OURS_DIR ]]; then
    ours_version="prebuilt $OURS_DIR"
elif [[ -n $REV ]]; then
    ours_version=$(cd "$REPO" && git rev-parse --short "$REV")
    echo "building ours at $ours_version (git archive + cargo build --release)..." >&2
    mkdir "$WORK/src"
    (cd "$REPO" && git archive "$REV") | tar -x -C "$WORK/src"
    (cd "$WORK/src" && CARGO_TARGET_DIR="${TMPDIR:-/var/tmp}/newidmap-bench-target" \
        cargo build --release --quiet --bin newuidmap --bin newgidmap)
    OURS_DIR=${TMPDIR:-/var/tmp}/newidmap-bench-target/release
else
    ours_version=$(cd "$REPO" && git describe --always --dirty 2>/dev/null || echo unknown)
    echo "building ours (cargo build --release)..." >&2
    # The flags packaging/deb/build.sh uses, so target/release is shared.
    (cd "$REPO" && source packaging/release-env.sh && cargo build --release --quiet --bin newuidmap --bin newgidmap)
    OURS_DIR=$REPO/target/release
fi
if findmnt -no OPTIONS -T "$WORK" | grep -qw nosuid; then
    echo "run.sh: $WORK is on a nosuid filesystem; set TMPDIR elsewhere" >&2; exit 2
fi
mkdir -m 755 "$WORK/bin" "$WORK/etc" "$WORK/subid"
B=$WORK/bin
for k in uid gid; do
    cp "$OURS_DIR/new${k}map" "$B/ours-new${k}map"
    cp "/usr/bin/new${k}map" "$B/shadow-new${k}map"
done
cc -static -O2 -o "$B/floor" "$BENCH_DIR/floor.c" || {
    echo "run.sh: static link failed: apt-get install libc6-dev" >&2; exit 2; }
# Start-up references (the ref table): the same no-op linked against libc.so,
# and a Rust no-op built like the helpers (see build.rs and src/sys.rs).
cc -O2 -o "$B/noop-c-dynamic" "$BENCH_DIR/floor.c"
mkdir "$WORK/unwinder"
ln -s "$(cc -print-file-name=libgcc_eh.a)" "$WORK/unwinder/libgcc_s.a"
rustc --edition 2024 -O -C panic=abort -C strip=symbols -L "native=$WORK/unwinder" \
    -o "$B/noop-rust" "$BENCH_DIR/noop.rs"
chown root:root "$B"/*
chmod 4755 "$B"/*
cc -static -O2 -Wall -o "$WORK/driver" "$BENCH_DIR/driver.c"
chmod 755 "$WORK/driver"

E=$WORK/etc
cat >"$E/passwd" <<P
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
$FIX_USER:x:$FIX_UID:$FIX_GID:benchmark:/nonexistent:/usr/sbin/nologin
P
cat >"$E/group" <<G
root:x:0:
nogroup:x:65534:
$FIX_USER:x:$FIX_GID:
G
printf 'passwd: files\ngroup: files\nshadow: files\n' >"$E/nsswitch.conf"
if [[ -f /etc/login.defs ]]; then cp /etc/login.defs "$E/login.defs"; else : >"$E/login.defs"; fi
echo "generating subid fixtures..." >&2
# N-1 other users' entries, then the caller's (keyed by name or by UID) last.
for size in 1 1000 100000 1000000; do
    for key in name uid; do
        owner=$FIX_USER; [[ $key == uid ]] && owner=$FIX_UID
        awk -v n="$size" -v owner="$owner" 'BEGIN {
            for (i = 1; i < n; i++) printf "u%d:%.0f:4096\n", i, 200000 + (i - 1) * 4096
            printf "%s:10000:65536\n", owner }' >"$WORK/subid/$size.$key"
    done
done
: >"$E/subuid"; : >"$E/subgid"
chown -R root:root "$E" "$WORK/subid"
chmod 644 "$E"/* "$WORK/subid"/*

echo "running ($MODE) as $FIX_USER ($FIX_UID:$FIX_GID) in a private mount namespace..." >&2
: >"$WORK/results.tsv"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
unshare -m --propagation private "$BENCH_DIR/run.sh" --inner "$WORK" "$MODE"

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
shadow_version=$(dpkg-query -W -f='${Version}' uidmap 2>/dev/null || echo unknown)
python3 "$BENCH_DIR/report.py" "$WORK/results.tsv" \
    --mode "$MODE" --load "$load_before -> $load_after" --shadow-version "$shadow_version" --ours-version "$ours_version" \
    ${OUT:+--out "$OUT"}
if [[ -n ${KEEP_RESULTS:-} ]]; then cp "$WORK/results.tsv" "$KEEP_RESULTS"; fi
