#!/usr/bin/env python3
"""The layers test: each part of the library may call only the parts that
src/meson.build declares for it.

For every part (a static library of the build) it reads the objects' symbols
with nm: a symbol a part uses (undefined in it) and another part defines is an
edge part -> other, and an edge that is not declared fails the test.  It also
reads the part's sources: an #include that resolves to another part's folder
(its internal headers) must follow a declared edge too.  The declared table
itself must have no cycle, so that "declared" still means "below".

It prints each part's declared parts and the ones its objects really use.
usage: check_layers.py --nm NM --src SRC_DIR (--part NAME LIB DEPS)...
"""
import argparse
import os
import re
import subprocess
import sys


def symbols(nm, lib):
    """(defined, undefined) global symbol names of a static library."""
    out = subprocess.run([nm, "-P", "-g", lib], capture_output=True, text=True, check=True).stdout
    defined, undefined = set(), set()
    for line in out.splitlines():
        f = line.split()
        if len(f) < 2 or f[0].endswith(":") or line.endswith(":"):
            continue
        name, kind = f[0], f[1]
        if kind == "U":
            undefined.add(name)
        elif kind in "TDBRCVWGS" or kind in "i":
            defined.add(name)
    return defined, undefined


INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def part_of(path, src):
    """The part a path under src/ belongs to (src/internal.h is core's)."""
    rel = os.path.relpath(os.path.realpath(path), os.path.realpath(src))
    if rel.startswith(".."):
        return None
    head = rel.split(os.sep)[0]
    return "core" if head == "internal.h" else head


def include_edges(src, part):
    """(file, included, other part) for each #include of another part's file."""
    edges = []
    folder = os.path.join(src, part)
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for inc in INCLUDE.findall(text):
            for base in (folder, src):
                cand = os.path.join(base, inc)
                if os.path.exists(cand):
                    other = part_of(cand, src)
                    if other and other != part:
                        edges.append((f"src/{part}/{name}", inc, other))
                    break
    return edges


def find_cycle(deps):
    state = {}

    def visit(p, stack):
        state[p] = 1
        for q in deps.get(p, []):
            if state.get(q) == 1:
                return stack + [p, q]
            if q not in state:
                c = visit(q, stack + [p])
                if c:
                    return c
        state[p] = 2
        return None

    for p in deps:
        if p not in state:
            c = visit(p, [])
            if c:
                return c
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nm", default="nm")
    ap.add_argument("--src", required=True)
    ap.add_argument("--part", nargs=3, action="append", metavar=("NAME", "LIB", "DEPS"),
                    required=True)
    a = ap.parse_args()

    order = [p[0] for p in a.part]
    libs = {p[0]: p[1] for p in a.part}
    deps = {p[0]: [d for d in p[2].split(",") if d] for p in a.part}
    bad = []
    for p, ds in deps.items():
        for d in ds:
            if d not in deps:
                bad.append(f"{p}: declares unknown part {d}")
    cycle = find_cycle(deps)
    if cycle:
        bad.append("declared parts form a cycle: " + " -> ".join(cycle))

    defined, undefined = {}, {}
    for p in order:
        defined[p], undefined[p] = symbols(a.nm, libs[p])
    owner = {}
    for p in order:
        for s in defined[p]:
            if s in owner and owner[s] != p:
                bad.append(f"symbol {s} is defined by both {owner[s]} and {p}")
            owner.setdefault(s, p)

    print("part       declared (src/meson.build)            used by its objects")
    for p in order:
        used = {}
        for s in sorted(undefined[p]):
            q = owner.get(s)
            if q and q != p:
                used.setdefault(q, []).append(s)
        for q, syms in sorted(used.items()):
            if q not in deps[p]:
                shown = ", ".join(syms[:5]) + (", ..." if len(syms) > 5 else "")
                bad.append(f"{p} -> {q} is not declared: {p} uses {shown}")
        for f, inc, q in include_edges(a.src, p):
            if q not in deps[p]:
                bad.append(f'{p} -> {q} is not declared: {f} includes "{inc}"')
        shown = lambda xs: ", ".join(xs) if xs else "-"
        print(f"{p:10} {shown(deps[p]):37} {shown([q for q in deps[p] if q in used])}")
    if bad:
        print(f"\nlayers: {len(bad)} problem(s):")
        for b in bad:
            print("  " + b)
        return 1
    print(f"\nlayers: {len(order)} parts, every edge declared, no cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main())
