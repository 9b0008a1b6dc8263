#!/usr/bin/env python3
"""Print one closing line over a test run: 'tests: N passed, N failed, N skipped'.

usage: summary.py [--step NAME=pass|fail|skip]... BUILD_DIR...

Counts every meson test result in BUILD_DIR/meson-logs/testlog*.json (the
plain run and those of test setups such as valgrind), plus one test for each
--step: a step of the run that is not a meson test (static analysis,
coverage).  Exits 1 when anything failed, so the line never says 0 failed on
a failed run.
"""
import json
import pathlib
import sys

passed = failed = skipped = 0
builds = []
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
        result = json.loads(line).get("result")
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
