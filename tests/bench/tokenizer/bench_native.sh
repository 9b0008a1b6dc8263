#!/bin/sh
# The native-peer benchmark's driver: the Python peers (tiktoken, tokenizers;
# pinned, in a virtualenv of the build tree), the Rust peers (bpe-openai,
# tiktoken-rs; pinned by native-peers/Cargo.lock, built in the build tree
# when cargo is there), the corpus, then bench_native.py.
# usage: bench_native.sh BENCH_BPE
set -eu
bench=$1
root=${TKN_SOURCE_ROOT:?TKN_SOURCE_ROOT is not set (run through meson test --benchmark)}
build=${TKN_BUILD_ROOT:-$(mktemp -d)}
work=$build/bench-native
mkdir -p "$work"
py=$(sh "$root/tests/tools/py-peer.sh" bench-peers tiktoken==0.14.0 tokenizers==0.23.3)
rs=""
if command -v cargo >/dev/null 2>&1; then
  mkdir -p "$work/rust"
  cp "$root/tests/bench/tokenizer/native-peers/Cargo.toml" "$root/tests/bench/tokenizer/native-peers/Cargo.lock" "$work/rust/"
  mkdir -p "$work/rust/src"
  cp "$root/tests/bench/tokenizer/native-peers/src/main.rs" "$work/rust/src/"
  if (cd "$work/rust" && cargo build --release --locked --quiet >&2); then
    rs=${CARGO_TARGET_DIR:-$work/rust/target}/release/tokenomy-bench-peers
  else
    echo "bench_native: the Rust peers did not build; they are left out" >&2
  fi
else
  echo "bench_native: no cargo; the Rust peers are left out" >&2
fi
# the project's shared folder lies beside the clone (TKN_SHARED_DIR overrides)
traces=${TKN_SHARED_DIR:-$root/../shared}/traces/tau-airline-dev.json
node "$root/tests/bench/tokenizer/bench_native_corpus.mjs" "$work" "$traces"
versions=$("$py" -c 'import json, tiktoken, tokenizers; print(json.dumps({"tiktoken (PyPI, native)": tiktoken.__version__, "tokenizers (PyPI)": tokenizers.__version__}))')
if [ -n "$rs" ]; then
  versions=$(python3 -c 'import json, re, sys
v = json.loads(sys.argv[1])
lock = open(sys.argv[2]).read()
for name in ("bpe-openai", "tiktoken-rs"):
    m = re.search(r"name = \"%s\"\nversion = \"([^\"]+)\"" % name, lock)
    v[name + " (crates.io)"] = m.group(1)
print(json.dumps(v))' "$versions" "$root/tests/bench/tokenizer/native-peers/Cargo.lock")
fi
echo "rerun: meson test -C <builddir> --benchmark --suite bench -v tokenizer_bpe_native"
exec "$py" "$root/tests/bench/tokenizer/bench_native.py" "$work" "$bench" "$root/.cache/ranks" "$py" "$rs" "$versions"
