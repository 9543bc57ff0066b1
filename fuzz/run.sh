#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0 OR MIT
# Runs each fuzz target for SECONDS (default 60) on stable Rust.
#
#   fuzz/run.sh SECONDS [TARGET...]      (targets: argv subid; default both)
#
# Why not `cargo fuzz`: cargo-fuzz passes -Zsanitizer=address, which needs a
# nightly compiler (or RUSTC_BOOTSTRAP=1, which turns stable into nightly and
# is not something a security project should depend on). The parsers fuzzed
# here are safe Rust (unsafe_code is denied outside src/sys.rs), so AddressSanitizer adds
# little; what matters is coverage feedback, and that part of libFuzzer's
# instrumentation (SanitizerCoverage) is reachable through stable -C flags.
# So this script builds the libfuzzer-sys targets with exactly those flags on
# stable rustc and runs them with -max_total_time. Crashes (a panic, an
# overflow: the release profile keeps overflow checks and debug assertions)
# land in fuzz/artifacts/TARGET/; the corpus grows in fuzz/corpus/TARGET/.
# Runs at nice 19 on one core per target, one target after another.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-60}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(argv subid)

export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 \
 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table \
 -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts, which cannot link
# against the coverage hooks.
triple=$(rustc -vV | sed -n 's/^host: //p')
nice -n 19 cargo build --release --locked --bins --target "$triple"
bin="target/$triple/release"

for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  seeds="seeds/$t"
  echo "== $t for ${seconds}s"
  # -print_final_stats reports the executions; exit status is non-zero on a crash.
  nice -n 19 "$bin/$t" -max_total_time="$seconds" -print_final_stats=1 \
    -timeout=10 -rss_limit_mb=1024 -artifact_prefix="artifacts/$t/" \
    "corpus/$t" $( [ -d "$seeds" ] && echo "$seeds" ) 2>&1 | tail -n 25
done
