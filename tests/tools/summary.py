#!/usr/bin/env python3
"""Print one closing line over a test run: 'tests: N passed, N failed, N skipped'.

usage: summary.py [--step NAME=pass|fail|skip]... BUILD_DIR...

Counts every meson test result in BUILD_DIR/meson-logs/testlog*.json (the
plain run and those of test setups such as valgrind), plus one test for each
--step: a step of the run that is not a meson test (static analysis,
coverage).  Exits 1 when anything failed, so the line never says 0 failed on
a failed run.  Cases skipped inside a test that passed (cmocka's skip(),
unittest's skipTest, Go's t.Skip) are listed on a line of their own before
the closing line, so that a pass never hides them.
"""
import json
import pathlib
import re
import sys

# how each framework reports the cases it skipped, in a test's output
INNER_SKIPS = [
    re.compile(r"^\[  SKIPPED \] (\d+) test\(s\)", re.M),  # cmocka's summary
    re.compile(r"\bskipped=(\d+)"),                          # unittest: OK (skipped=N)
]
GO_SKIP = re.compile(r"^\s*--- SKIP: ", re.M)


def inner_skips(entry):
    out = (entry.get("stdout") or "") + "\n" + (entry.get("stderr") or "")
    n = sum(int(m.group(1)) for rx in INNER_SKIPS for m in rx.finditer(out))
    return n + len(GO_SKIP.findall(out))

passed = failed = skipped = 0
builds = []
inner = []  # passed tests that skipped some of their cases
args = sys.argv[1:]
while args:
    arg = args.pop(0)
    if arg == "--step":
        name, _, result = args.pop(0).partition("=")
        if result == "pass":
            passed += 1
        elif result == "skip":
            skipped += 1
        else:
            failed += 1
            print(f"step failed: {name}")
    else:
        builds.append(arg)
for build in builds:
    logs = sorted((pathlib.Path(build) / "meson-logs").glob("testlog*.json"))
    if not logs:
        failed += 1  # a build that never ran its tests counts as a failure
        print(f"no test log in {build}")
        continue
    for line in (l for log in logs for l in log.read_text().splitlines()):
        entry = json.loads(line)
        result = entry.get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
            n = inner_skips(entry)
            if n:
                inner.append(f"{entry.get('name', '?')}: {n}")
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
if inner:
    print(f"cases skipped inside passing tests: {'; '.join(inner)}")
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
