#!/bin/sh
# Conformance of the meter's exports.
#   conformance.sh semconv HELPER SCRIPT: OpenTelemetry names vs the pinned
#     @opentelemetry/semantic-conventions (npm, via tests/tools/npm-peer.sh);
#   conformance.sh prometheus HELPER SCRIPT: the text format vs the official
#     Python client's parser (Debian python3-prometheus-client);
#   conformance.sh otlp HELPER SCRIPT: the OTLP JSON vs the protobuf types of
#     opentelemetry-proto (PyPI, via tests/tools/py-peer.sh).
#   conformance.sh collector HELPER DIR: the OTLP JSON through the OpenTelemetry
#     Collector's own decoder (go.opentelemetry.io/collector/pdata from the Go
#     module proxy), the program in DIR built in a module of the build tree.
# Skips (77) when the peer cannot be had.
set -u
what=$1 helper=$2 script=$3
case $what in
semconv)
  command -v node >/dev/null 2>&1 || { echo "SKIP: node is not installed"; exit 77; }
  root=${TKN_SOURCE_ROOT:-$(dirname "$0")/../../..}
  peer=$(sh "$root/tests/tools/npm-peer.sh" otel-semconv @opentelemetry/semantic-conventions@1.45.0) ||
    { echo "SKIP: cannot install @opentelemetry/semantic-conventions"; exit 77; }
  exec node "$script" "$peer" "$helper" ;;
prometheus)
  # Debian's python3 (the package installs there), not another one on PATH.
  py=/usr/bin/python3
  $py -c 'import prometheus_client' 2>/dev/null ||
    { echo "SKIP: python3-prometheus-client is not installed (.ci/setup installs it)"; exit 77; }
  exec $py "$script" "$helper" ;;
otlp)
  root=${TKN_SOURCE_ROOT:-$(dirname "$0")/../../..}
  py=$(sh "$root/tests/tools/py-peer.sh" otlp opentelemetry-proto==1.45.2) ||
    { echo "SKIP: cannot install opentelemetry-proto from PyPI"; exit 77; }
  exec "$py" "$script" "$helper" ;;
collector)
  command -v go >/dev/null 2>&1 || { echo "SKIP: go is not installed"; exit 77; }
  base=${TKN_BUILD_ROOT:-$(mktemp -d)}
  mod=$base/go/otlp-collector
  mkdir -p "$mod"
  cp "$script/main.go" "$mod/main.go"
  if [ ! -f "$mod/go.sum" ]; then
    printf 'module tokenomy.test/otlpcollector\n\ngo 1.22\n\nrequire go.opentelemetry.io/collector/pdata v1.71.0\n' \
      >"$mod/go.mod"
    (cd "$mod" && go mod tidy >&2) ||
      { rm -f "$mod/go.sum"; echo "SKIP: cannot fetch go.opentelemetry.io/collector/pdata"; exit 77; }
  fi
  helper=$(cd "$(dirname "$helper")" && pwd)/$(basename "$helper")
  cd "$mod" && exec go run . "$helper" ;;
esac
echo "usage: conformance.sh semconv|prometheus|otlp|collector HELPER SCRIPT" >&2
exit 2
