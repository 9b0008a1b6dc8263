#!/usr/bin/env python3
"""Print line and branch coverage per part (src/<part>/) from a gcovr JSON summary.

usage: coverage_parts.py COVERAGE.json   (gcovr --json-summary)
"""
import json
import sys
from collections import defaultdict

data = json.load(open(sys.argv[1]))
parts = defaultdict(lambda: [0, 0, 0, 0])  # lines total, covered, branches total, covered
for f in data["files"]:
    name = f["filename"].split("/")
    part = name[1] if len(name) > 2 else "(src)"
    p = parts[part]
    p[0] += f["line_total"]; p[1] += f["line_covered"]
    p[2] += f["branch_total"]; p[3] += f["branch_covered"]


def pct(covered, total):
    return f"{100.0 * covered / total:5.1f}%" if total else "   --"


print(f"{'part':<12} {'lines':>15} {'':>6} {'branches':>15} {'':>6}")
tot = [0, 0, 0, 0]
for part in sorted(parts):
    p = parts[part]
    tot = [a + b for a, b in zip(tot, p)]
    print(f"{part:<12} {p[1]:>7}/{p[0]:<7} {pct(p[1], p[0])} {p[3]:>7}/{p[2]:<7} {pct(p[3], p[2])}")
print(f"{'total':<12} {tot[1]:>7}/{tot[0]:<7} {pct(tot[1], tot[0])} {tot[3]:>7}/{tot[2]:<7} {pct(tot[3], tot[2])}")
