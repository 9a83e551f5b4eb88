#!/usr/bin/env bash
# Fuzzes one target: run.sh BUILD_DIR TARGET SECONDS [libFuzzer options...]
# Corpus BUILD_DIR/fuzz-corpus/TARGET (seeded by make_seeds.sh, grown by the run); crashes, hangs
# (over 25 s) and inputs that allocate over 2 GB go to BUILD_DIR/fuzz-findings/TARGET/. The run goes
# on after a finding (fork mode), so one run reports all of them; its log is
# BUILD_DIR/fuzz-logs/TARGET.log.
set -euo pipefail
build=$(realpath "$1")
target=$2
seconds=$3
shift 3
mkdir -p "$build/fuzz-findings/$target" "$build/fuzz-logs" "$build/fuzz-corpus/$target" "$build/fuzz-scratch"
# The targets' scratch files (fuzz_input.hpp) go below the build folder.
export TMPDIR=$build/fuzz-scratch
cd "$build/fuzz-findings/$target"
"$build/fuzz/fuzz_$target" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=25 \
    -fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1 \
    -artifact_prefix="$build/fuzz-findings/$target/" -print_final_stats=1 "$@" \
    "$build/fuzz-corpus/$target" 2>&1 | tee "$build/fuzz-logs/$target.log"
rm -rf "$build/fuzz-scratch"
