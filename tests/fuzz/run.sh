#!/bin/sh
# Run one libFuzzer harness for SECONDS over its seeds, writing what it finds to
# a corpus folder in the build tree (never into the source tree).
# usage: run.sh HARNESS SECONDS SEED_DIR WORK_DIR
set -eu
exe=$1 seconds=$2 seeds=$3 work=$4
mkdir -p "$work"
exec "$exe" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
  "$work" "$seeds"
