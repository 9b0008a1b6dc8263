#!/bin/sh
# Conformance: tokenomy's OpenAI and Anthropic renderings are accepted by the
# official TypeScript SDKs' request types (tsc --strict), and deliberately
# wrong renderings are refused, so the check is known to be able to fail.
# usage: sdk_types.sh RENDER_SAMPLES_EXE NPM_PEER_SH
set -u
samples=$1
npm_peer=$2
if ! command -v npm >/dev/null 2>&1 || ! command -v node >/dev/null 2>&1; then
  echo "SKIP: node/npm not installed"; exit 77
fi
dir=$(sh "$npm_peer" prompt-sdk typescript@5.9.3 openai@5.23.2 @anthropic-ai/sdk@0.79.0) || {
  echo "SKIP: npm packages could not be installed (no registry?)"; exit 77; }
work="$dir/prompt-conformance"
rm -rf "$work" && mkdir -p "$work" || exit 1
"$samples" "$work" || exit 1
tsc() {
  node "$dir/node_modules/typescript/bin/tsc" --noEmit --strict --target es2022 \
    --module nodenext --moduleResolution nodenext --skipLibCheck "$@"
}
status=0
if tsc "$work/samples.ts" >"$work/samples.log" 2>&1; then
  echo "ok: samples.ts type-checks against openai@5.23.2 and @anthropic-ai/sdk@0.79.0"
else
  echo "FAIL: the renderings do not type-check:"; cat "$work/samples.log"; status=1
fi
for wrong in wrong_provider wrong_ttl wrong_tool; do
  if tsc "$work/$wrong.ts" >"$work/$wrong.log" 2>&1; then
    echo "FAIL: $wrong.ts type-checks, but it is wrong"; status=1
  elif grep -q "error TS" "$work/$wrong.log"; then
    echo "ok: $wrong.ts is refused: $(grep -m1 'error TS' "$work/$wrong.log" | cut -c1-160)"
  else
    echo "FAIL: tsc failed on $wrong.ts without a type error:"; cat "$work/$wrong.log"; status=1
  fi
done
# context editing and tool deferral (Anthropic beta types), 24h retention
# (an OpenAI SDK that knows prompt_cache_retention)
if tsc "$work/beta.ts" >"$work/beta.log" 2>&1; then
  echo "ok: beta.ts (context_management, defer_loading, tool search) type-checks against @anthropic-ai/sdk@0.79.0"
else
  echo "FAIL: the beta rendering does not type-check:"; cat "$work/beta.log"; status=1
fi
next=$(sh "$npm_peer" prompt-sdk-next typescript@5.9.3 openai@7.59.0) || {
  echo "SKIP: openai@7.59.0 could not be installed (no registry?)"; exit 77; }
tsc_next() {
  node "$next/node_modules/typescript/bin/tsc" --noEmit --strict --target es2022 \
    --module nodenext --moduleResolution nodenext --skipLibCheck "$@"
}
cp "$work/retention.ts" "$work/wrong_retention.ts" "$next/" || exit 1
if tsc_next "$next/retention.ts" >"$work/retention.log" 2>&1; then
  echo "ok: retention.ts (prompt_cache_retention 24h) type-checks against openai@7.59.0"
else
  echo "FAIL: the 24h-retention rendering does not type-check:"; cat "$work/retention.log"; status=1
fi
for wrong in wrong_beta wrong_retention; do
  if [ $wrong = wrong_beta ]; then run="tsc $work/$wrong.ts"; else run="tsc_next $next/$wrong.ts"; fi
  if $run >"$work/$wrong.log" 2>&1; then
    echo "FAIL: $wrong.ts type-checks, but it is wrong"; status=1
  elif grep -q "error TS" "$work/$wrong.log"; then
    echo "ok: $wrong.ts is refused: $(grep -m1 'error TS' "$work/$wrong.log" | cut -c1-160)"
  else
    echo "FAIL: tsc failed on $wrong.ts without a type error:"; cat "$work/$wrong.log"; status=1
  fi
done
exit $status
