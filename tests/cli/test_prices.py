#!/usr/bin/env python3
"""`tokenomy prices check` and `tokenomy cost --prices` on the real LiteLLM file.

usage: test_prices.py PATH/TO/tokenomy PATH/TO/model_prices_and_context_window.json

Expected numbers come from the file itself (read here with Python's Decimal),
never from the tool's own output.
"""
import json
import os
import subprocess
import sys
import tempfile
from decimal import ROUND_HALF_UP, Context, Decimal

TOOL, LITELLM = sys.argv[1], sys.argv[2]
failures = []
checks = 0


def run(args, stdin=None):
    p = subprocess.run([TOOL] + args, input=stdin, capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name} {detail}")
    else:
        print(f"ok   {name}")


def one_line_error(name, rc, err, code, needle):
    lines = err.strip().splitlines()
    check(name, rc == code and len(lines) == 1 and lines[0].startswith("tokenomy")
          and needle in err, f"exit {rc}; stderr {err!r}")


with open(LITELLM) as f:
    table = json.load(f, parse_float=Decimal)
tmp = tempfile.mkdtemp(prefix="tokenomy-prices-")


def write(name, content):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


rc, out, err = run(["prices", "--help"])
check("prices --help", rc == 0 and out.startswith("usage: tokenomy prices check"), out[:80])
rc, out, err = run(["--help"])
check("tokenomy --help lists prices", rc == 0 and "prices check" in out)

# ---- prices check ----
rc, out, err = run(["prices", "check", "--json", LITELLM])
j = json.loads(out)
skipped = {s["key"]: s["reason"] for s in j["skipped"]}
models = [k for k, v in table.items() if k != "sample_spec"]
check("check: every entry is loaded or skipped",
      rc == 0 and j["loaded"] + j["skipped_count"] == len(models) and len(skipped) == j["skipped_count"],
      f"{j['loaded']} + {j['skipped_count']} vs {len(models)}")


def on_grid(v):  # exact at 1e-18 USD per token
    return (v * 10 ** 18) == (v * 10 ** 18).to_integral_value()


def refused(v):  # not exact, even read at the 15 significant digits a double holds
    return (isinstance(v, Decimal) and not on_grid(v)
            and not on_grid(Context(prec=15, rounding=ROUND_HALF_UP).plus(v)))


want = {k for k, v in table.items() if isinstance(v, dict) and any(
    refused(x) for f, x in v.items() if f in ("input_cost_per_token", "output_cost_per_token",
                                             "cache_read_input_token_cost",
                                             "cache_creation_input_token_cost"))}
check("check: the skipped entries are exactly those whose price is no 15-digit decimal",
      set(skipped) == want and 0 < len(want) < 10, f"{sorted(set(skipped) ^ want)[:5]}")
check("check: each reason names the key and field",
      all(f'"{k}"' in r and "_cost" in r for k, r in skipped.items()))
check("check: the strict load's error is the first fault",
      j["strict_error"] == skipped[next(k for k in models if k in skipped)], j["strict_error"])
fields = {u["field"]: u["entries"] for u in j["unmodelled"]}
n_priority = sum(1 for v in table.values() if isinstance(v, dict)
                 and v.get("input_cost_per_token_priority") is not None)
check("check: unmodelled money fields are counted",
      fields.get("input_cost_per_token_priority") == n_priority and "input_cost_per_audio_token" in fields,
      str(fields.get("input_cost_per_token_priority")))
check("check: modelled fields are not listed",
      not {"input_cost_per_token", "cache_read_input_token_cost",
           "input_cost_per_token_above_200k_tokens"} & set(fields))
rc, out, err = run(["prices", "check", LITELLM])
check("check: the table form", rc == 0 and "models loaded" in out and "strict load:" in out
      and "skipped (never priced by another entry)" in out, out[:200])
rc, out, err = run(["prices", "check", "--strict", LITELLM])
check("check --strict fails when entries are skipped", rc == 2)
rc, out, err = run(["prices", "check", "--strict", write("ok.json", {"m": {"input_cost_per_token": 1e-6}})])
check("check --strict passes a clean file", rc == 0 and "strict load: ok" in out, out)
rc, out, err = run(["prices", "check", write("bad.json", "{")])
one_line_error("check: malformed JSON", rc, err, 2, "line")
rc, out, err = run(["prices"])
one_line_error("prices without a subcommand", rc, err, 1, "check")
rc, out, err = run(["prices", "frob"])
one_line_error("prices: unknown subcommand", rc, err, 1, "frob")

# ---- cost --prices: which entry priced it, and skipped models ----
usage = write("usage.json", {"prompt_tokens": 1000, "completion_tokens": 100})
rc, out, err = run(["cost", "--json", "--prices", LITELLM, "--model", "mistral-large-latest", usage])
c = json.loads(out) if rc == 0 else {}
e = table["mistral/mistral-large-latest"]
want = 1000 * e["input_cost_per_token"] + 100 * e["output_cost_per_token"]
check("cost: a bare name is priced by the maker's own entry",
      c.get("priced_as") == "mistral/mistral-large-latest" and Decimal(c["total_usd"]) == want, out)
check("cost: skipped entries are counted on stderr", "entries skipped" in err, err)
key = sorted(skipped)[0]
rc, out, err = run(["cost", "--prices", LITELLM, "--model", key, usage])
lines = err.strip().splitlines()
check("cost: a skipped model is an error with its reason, never another price",
      rc == 2 and out == "" and "was skipped" in lines[-1] and "not exact" in lines[-1], err)
# a price written as a double printed in full (2.0000000000000002e-07) is the
# price it was meant to be ($0.20 / Mtok), not a skipped model
art = "novita/stepfun/step-3.7-flash"
rc, out, err = run(["cost", "--json", "--prices", LITELLM, "--model", art, usage])
c = json.loads(out) if rc == 0 else {}
e = table[art]
want = 1000 * Decimal("2e-7") + 100 * Context(prec=15).plus(e["output_cost_per_token"])
check("cost: a double's artefact is read at 15 digits",
      str(e["input_cost_per_token"]) == "2.0000000000000002E-7" and c.get("priced_as") == art
      and Decimal(c.get("total_usd", "-1")) == want, out + err)
rc, out, err = run(["cost", "--json", "--prices", LITELLM, "--model", "openrouter/openai/gpt-4o", usage])
check("cost: another provider's prefix is not stripped", rc == 2 and "not in the price table" in err, err)

print(f"{checks - len(failures)}/{checks} checks passed")
sys.exit(1 if failures else 0)
