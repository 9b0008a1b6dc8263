"""Conformance of the meter's Prometheus export with the reference parser of
the official Python client (prometheus_client.parser): the text must parse;
gen_ai_client_token_usage and gen_ai_client_operation_duration_seconds must be
histograms with the GenAI spec's bucket boundaries whose buckets, sums and
counts match the calls the helper recorded (it prints them first), series by
series (model, provider, workflow, tenant, task type); and every family must
count each call once: summing a family over all its series gives the number
of calls (or the tokens, cost, validations those calls had), never a multiple.

usage: python3 conformance_prometheus.py HELPER_EXE"""
import json
import subprocess
import sys

from prometheus_client.parser import text_string_to_metric_families

BOUNDS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
          67108864]
DUR_BOUNDS = ["0.01", "0.02", "0.04", "0.08", "0.16", "0.32", "0.64", "1.28", "2.56", "5.12",
              "10.24", "20.48", "40.96", "81.92"]
LABELS = ("gen_ai_request_model", "gen_ai_provider_name", "tokenomy_workflow",
          "tokenomy_tenant", "tokenomy_task_type")

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


def series_of(c):
    return (c["model"], c["provider"], c["workflow"], c["tenant"] or "(none)",
            c["task_type"] or "(none)")


def key_of(labels):
    return tuple(labels[k] for k in LABELS)


def fam_sum(name, sample=None, **match):
    f = families.get(name)
    if f is None:
        return None
    return sum(s.value for s in f.samples
               if (sample is None or s.name == sample)
               and all(s.labels.get(k) == v for k, v in match.items()))


# ---- gen_ai_client_token_usage: per series and token type ----
hist = families.get("gen_ai_client_token_usage")
check(hist is not None and hist.type == "histogram", "gen_ai_client_token_usage is a histogram")
expect = {}
for c in calls:
    for kind, v in (("input", c["input"]), ("output", c["output"])):
        e = expect.setdefault(series_of(c) + (kind,), {"n": 0, "sum": 0, "le": [0] * len(BOUNDS)})
        e["n"] += 1
        e["sum"] += v
        for i, b in enumerate(BOUNDS):
            if v <= b:
                e["le"][i] += 1
series = {}
for s in hist.samples if hist else []:
    key = key_of(s.labels) + (s.labels["gen_ai_token_type"],)
    series.setdefault(key, {})[(s.name, s.labels.get("le"))] = s.value
check(set(series) == set(expect),
      "one token-usage series per model, provider, workflow, tenant, task type and token type")
for key, e in expect.items():
    got = series.get(key, {})
    les = [le for (name, le) in got if name.endswith("_bucket")]
    check(les == [str(b) for b in BOUNDS] + ["+Inf"], f"bucket boundaries of {key}")
    for i, b in enumerate(BOUNDS):
        check(got.get(("gen_ai_client_token_usage_bucket", str(b))) == e["le"][i], f"le={b} of {key}")
    check(got.get(("gen_ai_client_token_usage_bucket", "+Inf")) == e["n"], f"+Inf of {key}")
    check(got.get(("gen_ai_client_token_usage_count", None)) == e["n"], f"count of {key}")
    check(got.get(("gen_ai_client_token_usage_sum", None)) == e["sum"], f"sum of {key}")

# ---- gen_ai_client_operation_duration_seconds: per series ----
dur = families.get("gen_ai_client_operation_duration_seconds")
check(dur is not None and dur.type == "histogram",
      "gen_ai_client_operation_duration_seconds is a histogram")
dexpect = {}
for c in calls:
    e = dexpect.setdefault(series_of(c), {"n": 0, "sum": 0, "le": [0] * len(DUR_BOUNDS)})
    e["n"] += 1
    e["sum"] += c["latency_us"]
    for i, b in enumerate(DUR_BOUNDS):
        if c["latency_us"] <= round(float(b) * 1e6):
            e["le"][i] += 1
dseries = {}
for s in dur.samples if dur else []:
    dseries.setdefault(key_of(s.labels), {})[(s.name, s.labels.get("le"))] = s.value
check(set(dseries) == set(dexpect), "one duration series per label combination")
for key, e in dexpect.items():
    got = dseries.get(key, {})
    les = [le for (name, le) in got if name.endswith("_bucket")]
    check(les == DUR_BOUNDS + ["+Inf"], f"duration bucket boundaries of {key}")
    for i, b in enumerate(DUR_BOUNDS):
        check(got.get(("gen_ai_client_operation_duration_seconds_bucket", b)) == e["le"][i],
              f"duration le={b} of {key}")
    check(got.get(("gen_ai_client_operation_duration_seconds_count", None)) == e["n"],
          f"duration count of {key}")
    check(abs(got.get(("gen_ai_client_operation_duration_seconds_sum", None), -1)
              - e["sum"] / 1e6) < 1e-6, f"duration sum of {key}")

# ---- each family counts each call once ----
n = len(calls)
for f in families.values():
    for s in f.samples:
        if "by" in s.labels or "key" in s.labels:
            check(False, f"{s.name} has a generic by/key label")
            break
check(fam_sum("tokenomy_calls", "tokenomy_calls_total") == n, "sum(tokenomy_calls_total) == calls")
check(fam_sum("tokenomy_calls", "tokenomy_calls_total", outcome="success")
      == sum(c["success"] for c in calls), "successes")
check(fam_sum("gen_ai_client_operation_duration_seconds",
              "gen_ai_client_operation_duration_seconds_count") == n,
      "sum(gen_ai_client_operation_duration_seconds_count) == calls")
check(fam_sum("gen_ai_client_token_usage", "gen_ai_client_token_usage_count",
              gen_ai_token_type="input") == n,
      'sum(gen_ai_client_token_usage_count{gen_ai_token_type="input"}) == calls')
check(fam_sum("tokenomy_tokens", "tokenomy_tokens_total")
      == sum(c["input"] + c["output"] for c in calls), "sum(tokenomy_tokens_total) == all tokens")
check(fam_sum("tokenomy_tokens", "tokenomy_tokens_total", kind="cache_read")
      == sum(c["cache_read"] for c in calls), "cache_read tokens")
check(fam_sum("tokenomy_tokens", "tokenomy_tokens_total", kind="reasoning")
      == sum(c["reasoning"] for c in calls), "reasoning tokens")
cost = fam_sum("tokenomy_cost_usd", "tokenomy_cost_usd_total")
check(cost is not None and abs(cost - sum(c["cost"] for c in calls) / 1e12) < 1e-9,
      "sum(tokenomy_cost_usd_total) == the calls' cost")
check(fam_sum("tokenomy_validations", "tokenomy_validations_total")
      == sum(1 for c in calls if c["validation"]), "sum(tokenomy_validations_total) == validated")
check(fam_sum("tokenomy_validations", "tokenomy_validations_total", result="passed")
      == sum(1 for c in calls if c["validation"] == 1), "validations passed")
for name in ("tokenomy_workflow_tokens_per_call", "tokenomy_workflow_cost_usd_per_call"):
    f = families.get(name)
    check(f is not None and f.type == "summary", f"{name} is a summary")
    check(fam_sum(name, name + "_count") == n, f"sum({name}_count) == calls")
    qs = {s.labels.get("quantile") for s in f.samples if s.name == name} if f else set()
    check(qs == {"0.5", "0.95", "0.99"}, f"{name} quantiles")
wf = fam_sum("tokenomy_workflow_tokens_per_call", "tokenomy_workflow_tokens_per_call_sum")
check(wf == sum(c["input"] + c["output"] for c in calls), "tokens-per-call sums add up")
for name in ("tokenomy_workflow_suggested_budget_tokens", "tokenomy_workflow_suggested_budget_usd"):
    f = families.get(name)
    check(f is not None and f.type == "gauge" and
          {s.labels["tokenomy_workflow"] for s in f.samples} == {c["workflow"] for c in calls},
          f"{name}: one gauge per workflow")

print(f"meter Prometheus export vs prometheus_client's parser: {len(calls)} calls, "
      f"{len(dexpect)} series")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
