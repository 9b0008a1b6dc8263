"""Conformance of the meter's OpenTelemetry export with OTLP itself: the JSON
must parse, with the protobuf library's strict JSON parser, into the
ExportMetricsServiceRequest that an OpenTelemetry Collector's OTLP/HTTP
receiver takes (opentelemetry-proto from PyPI: unknown fields, wrong types or
a bare metrics array are refused); and what it holds must match the calls the
helper recorded: one data point per series (model, provider, workflow,
tenant, task type), sums that count each call once, the GenAI histograms'
bucket boundaries, cumulative temporality and start/end times.

usage: python conformance_otlp.py HELPER_EXE   (a python with opentelemetry-proto)"""
import json
import subprocess
import sys

from google.protobuf import json_format
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest)
from opentelemetry.proto.metrics.v1.metrics_pb2 import AggregationTemporality

out = subprocess.run([sys.argv[1]], capture_output=True, text=True, check=True).stdout
parts = out.split("\n----\n")
calls = [json.loads(line) for line in parts[0].strip().split("\n")]
otlp_text = parts[2]

passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        print("FAIL", what)


req = ExportMetricsServiceRequest()
try:
    json_format.Parse(otlp_text, req)  # strict: unknown fields raise
except json_format.ParseError as e:
    print("FAIL the export is not an OTLP ExportMetricsServiceRequest:", e)
    print("0 passed, 1 failed")
    sys.exit(1)
check(len(req.resource_metrics) == 1, "one ResourceMetrics")
sm = req.resource_metrics[0].scope_metrics
check(len(sm) == 1 and sm[0].scope.name == "tokenomy", "one ScopeMetrics, scope tokenomy")
metrics = {m.name: m for m in sm[0].metrics}

# the parser refuses a bare metrics array; show it does, so the check above can fail
try:
    json_format.Parse(json.dumps({"metrics": []}), ExportMetricsServiceRequest())
    check(False, "a bare metrics array is refused")
except json_format.ParseError:
    check(True, "a bare metrics array is refused")

SERIES_ATTRS = ("gen_ai.request.model", "gen_ai.provider.name", "tokenomy.workflow",
                "tokenomy.tenant", "tokenomy.task_type")


def attrs(dp):
    return {a.key: a.value.string_value for a in dp.attributes}


def series_of(c):
    return (c["model"], c["provider"], c["workflow"], c["tenant"] or "(none)",
            c["task_type"] or "(none)")


def key_of(a):
    return tuple(a.get(k, "") for k in SERIES_ATTRS)


n = len(calls)
want = {}
for c in calls:
    want.setdefault(series_of(c), []).append(c)

for name, bounds, value in (
        ("gen_ai.client.token.usage",
         [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
          67108864], None),
        ("gen_ai.client.operation.duration",
         [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96,
          81.92], "latency_us")):
    m = metrics.get(name)
    check(m is not None and m.WhichOneof("data") == "histogram", f"{name} is a histogram")
    if m is None:
        continue
    h = m.histogram
    check(h.aggregation_temporality == AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
          f"{name} is cumulative")
    seen = {}
    for dp in h.data_points:
        a = attrs(dp)
        check(a.get("gen_ai.operation.name") == "chat", f"{name}: gen_ai.operation.name")
        check(list(dp.explicit_bounds) == bounds, f"{name}: explicit bounds")
        check(sum(dp.bucket_counts) == dp.count, f"{name}: buckets add up to the count")
        check(0 < dp.start_time_unix_nano <= dp.time_unix_nano, f"{name}: start <= time")
        kind = a.get("gen_ai.token.type", "")
        seen[key_of(a) + (kind,)] = dp
    for key, cs in want.items():
        kinds = ("input", "output") if value is None else ("",)
        for kind in kinds:
            dp = seen.get(key + (kind,))
            check(dp is not None, f"{name}: a data point for {key} {kind}")
            if dp is None:
                continue
            vals = [c[kind] if value is None else c[value] for c in cs]
            scale = 1 if value is None else 1e6
            check(dp.count == len(cs), f"{name}: count of {key} {kind}")
            check(abs(dp.sum - sum(vals) / scale) < 1e-6, f"{name}: sum of {key} {kind}")
            counts = [0] * (len(bounds) + 1)
            for v in vals:
                i = 0
                while i < len(bounds) and v > round(bounds[i] * scale):
                    i += 1
                counts[i] += 1
            check(list(dp.bucket_counts) == counts, f"{name}: buckets of {key} {kind}")
    check(len(seen) == len(want) * (2 if value is None else 1), f"{name}: no other data points")


def total(name, **match):
    m = metrics.get(name)
    if m is None or m.WhichOneof("data") != "sum":
        check(False, f"{name} is a sum")
        return None
    check(m.sum.is_monotonic and m.sum.aggregation_temporality ==
          AggregationTemporality.AGGREGATION_TEMPORALITY_CUMULATIVE,
          f"{name} is a monotonic cumulative sum")
    t = 0
    for dp in m.sum.data_points:
        a = attrs(dp)
        if all(a.get(k) == v for k, v in match.items()):
            t += dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double
    return t


check(total("tokenomy.calls") == n, "sum of tokenomy.calls == calls")
check(total("tokenomy.calls", **{"tokenomy.outcome": "success"})
      == sum(c["success"] for c in calls), "tokenomy.calls successes")
check(total("tokenomy.tokens") == sum(c["input"] + c["output"] for c in calls),
      "sum of tokenomy.tokens == all tokens")
check(total("tokenomy.tokens", **{"tokenomy.token.kind": "cache_read"})
      == sum(c["cache_read"] for c in calls), "cache_read tokens")
cost = total("tokenomy.cost")
check(cost is not None and abs(cost - sum(c["cost"] for c in calls) / 1e12) < 1e-9,
      "sum of tokenomy.cost == the calls' cost in USD")
check(total("tokenomy.validations") == sum(1 for c in calls if c["validation"]),
      "sum of tokenomy.validations == validated calls")
for name in ("tokenomy.workflow.tokens_per_call", "tokenomy.workflow.cost_per_call"):
    m = metrics.get(name)
    check(m is not None and m.WhichOneof("data") == "summary", f"{name} is a summary")
    if m is None:
        continue
    check(sum(dp.count for dp in m.summary.data_points) == n, f"{name}: counts add up to calls")
    for dp in m.summary.data_points:
        qs = [q.quantile for q in dp.quantile_values]
        vs = [q.value for q in dp.quantile_values]
        check(qs == [0.5, 0.95, 0.99] and vs == sorted(vs), f"{name}: p50 <= p95 <= p99")
for name in ("tokenomy.workflow.suggested_budget.tokens",
             "tokenomy.workflow.suggested_budget.cost"):
    m = metrics.get(name)
    check(m is not None and m.WhichOneof("data") == "gauge", f"{name} is a gauge")
    if m is not None:
        check({attrs(dp)["tokenomy.workflow"] for dp in m.gauge.data_points}
              == {c["workflow"] for c in calls}, f"{name}: one point per workflow")

print(f"meter OTLP JSON export vs opentelemetry-proto's ExportMetricsServiceRequest: "
      f"{n} calls, {len(want)} series")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
