#!/usr/bin/env python3
"""Print one closing line over meson test logs: 'tests: N passed, N failed, N skipped'.

usage: summary.py BUILD_DIR...   (reads BUILD_DIR/meson-logs/testlog*.json: the
plain run and those of test setups such as valgrind)
"""
import json
import pathlib
import sys

passed = failed = skipped = 0
for build in sys.argv[1:]:
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
