#!/bin/sh
# Estimator calibration report: install tokenx (pinned) into the build tree,
# then run estimator_eval.mjs.  usage: estimator_eval.sh ESTIMATOR_EVAL EVAL_MJS
set -eu
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test --benchmark)}
npm_dir=$(sh "$root/tests/tools/npm-peer.sh" tokenx tokenx@2.2.0)
exec node "$2" "$npm_dir" "$1" "${TKN_BUILD_ROOT:-$(mktemp -d)}/estimator-eval"
