#!/bin/sh
# Run one libFuzzer harness for SECONDS over its seeds, writing what it finds to
# a corpus folder in the build tree (never into the source tree).
# Inputs may grow to FUZZ_MAX_LEN bytes (default 1 MiB: the parsers take
# more, and quadratic costs only show on large inputs); one input taking
# more than FUZZ_TIMEOUT seconds (default 10) is a failure (a super-linear
# input), saved like a crash.
# A crash, a failed invariant (abort), a timeout or an out-of-memory exits 1:
# libFuzzer's own default for a crash is 77, which meson reads as "skipped",
# so a harness that found a bug used to pass as a skip.  The input that failed
# is written to the work folder (crash-*, timeout-*, oom-*).
# usage: run.sh HARNESS SECONDS SEED_DIR WORK_DIR
set -eu
exe=$1 seconds=$2 seeds=$3 work=$4
mkdir -p "$work"
exec "$exe" -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-1048576}" \
  -timeout="${FUZZ_TIMEOUT:-10}" -rss_limit_mb=2048 -print_final_stats=1 \
  -error_exitcode=1 -timeout_exitcode=1 -artifact_prefix="$work/" "$work" "$seeds"
