#!/bin/sh
# mypy --strict over the package (meson test python-mypy): mypy from PyPI,
# pinned, in a virtualenv of the build tree (tests/tools/py-peer.sh).  The
# configuration is pyproject.toml's [tool.mypy].
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=${TKN_SOURCE_ROOT:-$(cd "$here/../../.." && pwd)}
py=$(sh "$root/tests/tools/py-peer.sh" py-mypy mypy==2.4.1) ||
  { echo "mypy-run: cannot install mypy" >&2; exit 77; }
cd "$here/.."
exec "$py" -m mypy --strict --no-incremental tokenomy
