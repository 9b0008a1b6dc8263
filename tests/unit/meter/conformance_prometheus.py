"""Conformance of the meter's Prometheus export with the reference parser of
the official Python client (prometheus_client.parser): the text must parse,
gen_ai_client_token_usage must be a histogram with the GenAI spec's bucket
boundaries, and every series' cumulative buckets, sum and count must match
the calls the helper recorded (which it prints first).

usage: python3 conformance_prometheus.py HELPER_EXE"""
import json
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
          67108864]

out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True).stdout
calls_text, prom_text = out.split("\n----\n")[:2]
calls = [json.loads(line) for line in calls_text.strip().split("\n")]

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


try:
    families = {f.name: f for f in text_string_to_metric_families(prom_text)}
except Exception as e:  # the parser raises ValueError on malformed text
    print("FAIL the Prometheus text does not parse:", e)
    print("0 passed, 1 failed")
    sys.exit(1)

hist = families.get("gen_ai_client_token_usage")
check(hist is not None and hist.type == "histogram", "gen_ai_client_token_usage is a histogram")

expect = {}
for c in calls:
    for kind, v in (("input", c["input"]), ("output", c["output"])):
        e = expect.setdefault((c["model"], kind), {"n": 0, "sum": 0, "le": [0] * len(BOUNDS)})
        e["n"] += 1
        e["sum"] += v
        for i, b in enumerate(BOUNDS):
            if v <= b:
                e["le"][i] += 1

series = {}
for s in hist.samples if hist else []:
    key = (s.labels["gen_ai_request_model"], s.labels["gen_ai_token_type"])
    series.setdefault(key, {})[(s.name, s.labels.get("le"))] = s.value
check(set(series) == set(expect), "one series per model and token type")
for key, e in expect.items():
    got = series.get(key, {})
    les = [le for (name, le) in got if name.endswith("_bucket")]
    check(les == [str(b) for b in BOUNDS] + ["+Inf"], f"bucket boundaries of {key}")
    for i, b in enumerate(BOUNDS):
        check(got.get(("gen_ai_client_token_usage_bucket", str(b))) == e["le"][i], f"le={b} of {key}")
    check(got.get(("gen_ai_client_token_usage_bucket", "+Inf")) == e["n"], f"+Inf of {key}")
    check(got.get(("gen_ai_client_token_usage_count", None)) == e["n"], f"count of {key}")
    check(got.get(("gen_ai_client_token_usage_sum", None)) == e["sum"], f"sum of {key}")

calls_total = families.get("tokenomy_calls")
total = [s for s in calls_total.samples if s.labels.get("by") == "total"] if calls_total else []
check(len(total) == 1 and total[0].value == len(calls), 'tokenomy_calls_total{by="total"}')
for name in ("tokenomy_tokens", "tokenomy_cost_usd", "tokenomy_cache_hit_ratio",
             "tokenomy_validation_pass_ratio", "tokenomy_successes"):
    check(name in families, f"family {name} present")

print(f"meter Prometheus export vs prometheus_client's parser: {len(calls)} calls")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
