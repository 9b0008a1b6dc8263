#!/usr/bin/env python3
"""Compare the shared library's exported functions with the public headers.

usage: check_exports.py LIBRARY INCLUDE_DIR [MACRO]

Every function declared with MACRO (default TKN_API) in INCLUDE_DIR must be
exported, and nothing else may be (besides the version nodes the linker
script adds).  libtokenomy-redis is checked with TKN_REDIS_API.
Exits 1 and lists the differences otherwise.
"""
import pathlib
import re
import subprocess
import sys

lib, include = sys.argv[1], pathlib.Path(sys.argv[2])
macro = sys.argv[3] if len(sys.argv) > 3 else "TKN_API"
declared = set()
for header in sorted(include.rglob("*.h")):
    text = re.sub(r"/\*.*?\*/", " ", header.read_text(), flags=re.S)
    for m in re.finditer(r"\b" + macro + r"\b[^;{]*?\b(tkn_\w+)\s*\(", text):
        declared.add(m.group(1))

out = subprocess.run(["nm", "-D", "--defined-only", lib], check=True,
                     capture_output=True, text=True).stdout
exported = set()
for line in out.splitlines():
    parts = line.split()
    if len(parts) == 3 and parts[1] != "A":
        exported.add(parts[2].split("@")[0])

missing = sorted(declared - exported)
extra = sorted(exported - declared)
for name in missing:
    print(f"declared but not exported: {name}")
for name in extra:
    print(f"exported but not declared: {name}")
print(f"{len(declared)} declared, {len(exported)} exported")
sys.exit(1 if missing or extra else 0)
