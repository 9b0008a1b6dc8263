#!/bin/sh
# Runs a script of this folder with the Python peers (pinned, installed once
# into a virtualenv of the build tree by tests/tools/py-peer.sh).
# usage: peer-run.sh SCRIPT [ARGS...]   (env: TKN_SOURCE_ROOT, TKN_BUILD_ROOT)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${TKN_SOURCE_ROOT:-$(cd "$here/../../.." && pwd)}
py=$(sh "$root/tests/tools/py-peer.sh" py-api tiktoken==0.14.0 litellm==1.110.2 \
  langchain-core==1.7.7 langchain-openai==1.7.4 jsonschema==4.26.0 fastjsonschema==2.22.3) ||
  { echo "peer-run: cannot install the Python peers" >&2; exit 77; }
script=$1; shift
exec "$py" "$here/$script" "$@"
