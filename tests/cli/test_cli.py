#!/usr/bin/env python3
"""The `tokenomy` command-line tool: every subcommand's output and errors.

usage: test_cli.py PATH/TO/tokenomy

Each check runs the tool as a user would (files and standard input), and
looks at its exit status, standard output and standard error.  Expected
numbers are computed here from the inputs (token prices, counts), never
copied from the tool's own output.
"""
import json
import os
import subprocess
import sys
import tempfile

TOOL = sys.argv[1]
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


def one_line_error(name, rc, err, code=2, needle=None):
    lines = err.strip().splitlines()
    check(name + " (exit)", rc == code, f"exit {rc}, want {code}; stderr {err!r}")
    check(name + " (one line)", len(lines) == 1 and lines[0].startswith("tokenomy"), repr(err))
    if needle:
        check(name + " (says why)", needle in err, f"{needle!r} not in {err!r}")


tmp = tempfile.mkdtemp(prefix="tokenomy-cli-")


def write(name, content):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(content if isinstance(content, str) else json.dumps(content))
    return path


# ---- help and dispatch ----
for cmd in ["count", "prune", "route", "assemble", "cache-sim", "batch", "validate", "cost",
            "simulate", "replay", "report", "tools"]:
    rc, out, err = run([cmd, "--help"])
    check(f"{cmd} --help", rc == 0 and out.startswith("usage: tokenomy " + cmd), out[:80])
for sub in ["make", "join"]:
    rc, out, _ = run(["batch", sub, "--help"])
    check(f"batch {sub} --help", rc == 0 and "batch " + sub in out)
rc, out, err = run(["--help"])
check("tokenomy --help lists the commands", rc == 0 and "simulate" in out and "cache-sim" in out)
rc, out, err = run(["frobnicate"])
check("unknown command fails", rc == 1 and "unknown command" in err and out == "")
rc, out, err = run(["count", "--bogus"])
one_line_error("unknown option", rc, err, 1, "--bogus")
# the shared option table (src/cli/options.c): every command fails the same way
rc, out, err = run(["count", "--model"], stdin="x")
one_line_error("an option without its value", rc, err, 1, "--model needs a value")
rc, out, err = run(["count", "--json=yes"], stdin="x")
one_line_error("a flag given a value", rc, err, 1, "--json takes no value")
rc, out, err = run(["prune", "--max-tokens", "99999999999999999999"], stdin="[]")
one_line_error("a count past the integer range", rc, err, 1, "--max-tokens: expected")
rc, out, err = run(["prune", "--max-tokens=10", "--keep-last", "4294967296"], stdin="[]")
one_line_error("--keep-last past 32 bits", rc, err, 1, "--keep-last: expected")
rc, out, err = run(["simulate", "extra"])
one_line_error("simulate takes no file", rc, err, 1, "unknown option 'extra'")

# ---- count ----
rc, out, err = run(["count", "--json"], stdin="hello world")
j = json.loads(out)
check("count text", rc == 0 and j["tokens"] == 2 and j["tokenizer"] in ("o200k_base", "estimator"), out)
conv = [{"role": "system", "content": "Be brief."},
        {"role": "user", "content": "What is the capital of France?"},
        {"role": "assistant", "content": "Paris."}]
convf = write("conv.json", conv)
rc, out, err = run(["count", "--json", convf])
j = json.loads(out)
per = [m["tokens"] for m in j["messages"]]
check("count conversation: one count per message", rc == 0 and len(per) == 3, out)
check("count conversation: the sum plus reply priming", j["tokens"] == sum(per) + 3, out)
rc, out, err = run(["count", "--text", "--json", convf])
check("count --text counts the JSON as text", rc == 0 and "messages" not in json.loads(out))
rc, out, err = run(["count", "--encoding", "estimator"], stdin="hello world")
check("count table form", rc == 0 and out.strip() == "2 tokens (estimator)", out)
rc, out, err = run(["count"], stdin='[{"role":"wizard","content":"x"}]')
one_line_error("count bad role", rc, err, 2, "wizard")
rc, out, err = run(["count"], stdin='[{"role":"user",')
one_line_error("count malformed JSON", rc, err, 2, "line 1")
rc, out, err = run(["count", "--encoding", "nope"], stdin="x")
one_line_error("count unknown encoding", rc, err, 1, "nope")
rc, out, err = run(["count", os.path.join(tmp, "missing.txt")])
one_line_error("count missing file", rc, err, 2, "cannot read")
# issue 15: text that mentions a special token was refused, with no offset
# and no option; it is counted as text by default, as providers read it.
spec = "What does <|endoftext|> mean?"
rc, out, err = run(["count", "--json", "--model", "gpt-4o", "--text"], stdin=spec)
plain = json.loads(out)["tokens"] if rc == 0 else None
check("count: a special token in text is counted as text by default", rc == 0 and plain > 6,
      out + err)
rc, out, err = run(["count", "--json", "--model", "gpt-4o", "--special", "plain"], stdin=spec)
check("count --special plain is the default", rc == 0 and json.loads(out)["tokens"] == plain,
      out + err)
rc, out, err = run(["count", "--json", "--model", "gpt-4o", "--special", "allow"], stdin=spec)
check("count --special allow counts one special token", rc == 0 and
      json.loads(out)["tokens"] < plain, out + err)
rc, out, err = run(["count", "--model", "gpt-4o", "--special", "refuse"], stdin=spec)
one_line_error("count --special refuse names the byte offset", rc, err, 2,
               "byte 10: special token <|endoftext|>")
# In a conversation: the message field and the byte offset in its text
# (tkn_error_last()->path and ->offset), not a bare status.
conv_spec = [{"role": "user", "content": "hi"}, {"role": "user", "content": spec}]
rc, out, err = run(["count", "--model", "gpt-4o", "--special", "refuse"],
                   stdin=json.dumps(conv_spec))
one_line_error("count --special refuse in a conversation names message and offset", rc, err, 2,
               "messages[1].content, byte %d: special token <|endoftext|>"
               % spec.encode().index(b"<|"))
p = subprocess.run([TOOL, "count", "--model", "gpt-4o", "--text"], input=b"ab\xffc",
                   capture_output=True, timeout=300)
one_line_error("count: invalid UTF-8 names its byte offset", p.returncode,
               p.stderr.decode(), 2, "byte 2: not valid UTF-8")
rc, out, err = run(["count", "--special", "sometimes"], stdin=spec)
one_line_error("count --special with a bad mode", rc, err, 1, "plain, allow or refuse")
rc, out, err = run(["count", "--json"],
                   stdin=json.dumps([{"role": "user", "content": spec}]))
check("count: a conversation that mentions a special token counts", rc == 0, out + err)

# ---- prune ----
long_conv = [{"role": "system", "content": "You help customers."}]
for i in range(8):
    long_conv.append({"role": "user", "content": f"Question {i}: " + "tell me more " * 12})
    long_conv.append({"role": "assistant", "content": f"Answer {i}: " + "here is more " * 12})
longf = write("long.json", long_conv)
rc, out, err = run(["prune", "--max-tokens", "250", longf])
pruned = json.loads(out)
check("prune shortens", rc == 0 and 1 < len(pruned) < len(long_conv), f"{len(pruned)} messages")
check("prune keeps the system prompt and the last message",
      pruned[0]["role"] == "system" and pruned[-1] == long_conv[-1])
rc2, out2, _ = run(["count", "--json"], stdin=out)
check("prune result fits the budget", json.loads(out2)["tokens"] <= 250, out2)
rc, out, err = run(["prune", "--max-tokens", "250", "--mode", "trim", "--report", longf])
rep = json.loads(out)
check("prune --report covers every message",
      rc == 0 and len(rep["messages"]) == len(long_conv) and rep["tokens_after"] <= 250)
check("prune --report says why", {m["action"] for m in rep["messages"]} == {"kept", "dropped"})
# mask / clear / policy: old tool results replaced in place, tool units whole
tools_conv = [{"role": "system", "content": "You help."}]
for i in range(6):
    tools_conv += [
        {"role": "user", "content": f"question {i}"},
        {"role": "assistant", "content": None, "tool_calls": [{"id": f"c{i}", "type": "function",
         "function": {"name": "lookup" if i == 1 else "get", "arguments": '{"id": "R%dX"}' % i}}]},
        {"role": "tool", "tool_call_id": f"c{i}", "content": " ".join(["record field value"] * 60)},
        {"role": "assistant", "content": f"answer {i}"}]
toolsf = write("tools.json", tools_conv)
rc, out, err = run(["prune", "--mode", "mask", "--keep-tools", "2", "--exclude", "lookup", toolsf])
masked = json.loads(out) if rc == 0 else []
results = [m["content"] for m in masked if m.get("role") == "tool"]
check("prune --mode mask clears the old results but the excluded tool's",
      len(masked) == len(tools_conv) and
      [r == "[old tool result cleared]" for r in results] == [True, False, True, True, False, False],
      out + err)
rc, out, err = run(["prune", "--mode", "policy", "--report", toolsf])
rep = json.loads(out) if rc == 0 else {}
# three old results behind ~1,300 tokens: clearing does not pay at this call alone
check("prune --mode policy keeps what does not pay at once",
      rep.get("decision") == "keep" and rep.get("cleared_messages") == 0 and
      rep["clearing_cost_usd"] > rep["expected_saving_usd"] == 0, out + err)
rc, out, err = run(["prune", "--mode", "policy", "--horizon", "1", "--report", toolsf])
rep = json.loads(out) if rc == 0 else {}
check("prune --mode policy reports its decision and what it cleared",
      rep.get("decision") == "clear" and rep.get("cleared_messages") == 3 and
      rep["tokens_before"] - rep["tokens_after"] == rep["cleared_tokens"], out + err)
# --ledger: the same clear waits for credit, and spends it once the file holds some
ledgerf = os.path.join(tmp, "ledger.json")
rc, out, err = run(["prune", "--mode", "policy", "--horizon", "1", "--ledger", ledgerf,
                    "--report", toolsf])
rep = json.loads(out) if rc == 0 else {}
led = json.load(open(ledgerf)) if os.path.exists(ledgerf) else {}
check("prune --ledger: a new conversation has no credit to risk, and its file is written",
      rep.get("decision") == "keep" and "credit" in rep.get("note", "") and
      led.get("calls") == 1 and led.get("credit_picodollars") == 0 and
      rep.get("ledger", {}).get("calls") == 1, out + err)
with open(ledgerf, "w") as f:
    json.dump({"credit_picodollars": 10**11, "cleared_tokens": 0, "calls": 3}, f)
rc, out, err = run(["prune", "--mode", "policy", "--horizon", "1", "--ledger", ledgerf,
                    "--report", toolsf])
rep = json.loads(out) if rc == 0 else {}
led = json.load(open(ledgerf))
check("prune --ledger: the credit pays for the clear, which is banked in the file",
      rep.get("decision") == "clear" and rep.get("cleared_messages") == 3 and
      led["calls"] == 4 and led["cleared_tokens"] == rep["cleared_tokens"] and
      led["credit_picodollars"] == 10**11 - round(rep["clearing_cost_usd"] * 1e12), out + err)
with open(ledgerf, "w") as f:
    f.write('{"credit_picodollars": -1, "cleared_tokens": 0, "calls": 0}')
rc, out, err = run(["prune", "--mode", "policy", "--ledger", ledgerf, toolsf])
one_line_error("prune --ledger with a negative credit", rc, err, 2, "credit_picodollars")
check("prune --ledger refused: nothing printed, the file left as it was",
      out == "" and open(ledgerf).read().startswith('{"credit_picodollars": -1'), out)
rc, out, err = run(["prune", "--max-tokens", "100", "--ledger", ledgerf, toolsf])
one_line_error("prune --ledger outside policy mode", rc, err, 1, "only with --mode policy")
rc, out, err = run(["prune", "--mode", "policy", "--ledger", "-", toolsf])
one_line_error("prune --ledger - (standard input cannot be written back)", rc, err, 1,
               "expected a file name")
rc, out, err = run(["prune", "--mode", "clear", "--trigger", "100000", "--report", toolsf])
rep = json.loads(out) if rc == 0 else {}
check("prune --mode clear below its trigger changes nothing",
      rep.get("cleared_messages") == 0 and "not_worth" in {m["why"] for m in rep["messages"]},
      out + err)
rc, out, err = run(["prune", "--mode", "policy", "--model", "no-such-model", toolsf])
one_line_error("prune --mode policy with an unknown model", rc, err, 1, "no input price")
rc, out, err = run(["prune", "--mode", "policy", "--horizon", "soon", toolsf])
one_line_error("prune --horizon that is not a count", rc, err, 1, "expected a count or 'growth'")
rc, out, err = run(["prune", longf])
one_line_error("prune without --max-tokens", rc, err, 1, "--max-tokens")
rc, out, err = run(["prune", "--max-tokens", "-3", longf])
one_line_error("prune negative budget", rc, err, 1, "--max-tokens")
rc, out, err = run(["prune", "--max-tokens", "5", "--mode", "score", "--no-degrade", longf])
one_line_error("prune --no-degrade: must-keep does not fit", rc, err, 2)
rc, out, err = run(["prune", "--max-tokens", "5", "--mode", "score", "--report", longf])
rep = json.loads(out) if rc == 0 else {}
check("prune degrades by default where must-keep does not fit: says so, never nothing",
      rc == 0 and rep.get("decision") == "degraded" and "degraded" in rep.get("note", "") and
      any(m["action"] != "dropped" and m["why"] != "system" for m in rep.get("messages", [])),
      out[:400] + err)

# ---- route ----
router = {"tiers": [{"name": "small", "models": ["gpt-4o-mini"], "threshold": 0.8},
                    {"name": "large", "models": ["gpt-4o"]}],
          "rules": [{"when": {"attr": "kind", "eq": "classify"}, "tier": "small",
                     "reason": "short task"}],
          "default_tier": "large"}
routerf = write("router.json", router)
rc, out, err = run(["route", "--config", routerf], stdin='{"kind":"classify"}')
d = json.loads(out)
check("route by rule", rc == 0 and d["tier"] == "small" and d["model"] == "gpt-4o-mini"
      and d["reason"] == "short task", out)
rc, out, err = run(["route", "--config", routerf], stdin='{"kind":"chat"}')
check("route by default", json.loads(out)["tier"] == "large", out)
rc, out, err = run(["route", "--config", routerf, "--explain"], stdin='{"kind":"chat"}')
check("route --explain lists the rules", rc == 0 and len(json.loads(out)["rules"]) == 1, out)
badrouter = write("badrouter.json", {"tiers": [{"name": "a", "models": ["m"]}], "tier": 1})
rc, out, err = run(["route", "--config", badrouter], stdin="{}")
one_line_error("route bad config", rc, err, 2, "$.tier")
rc, out, err = run(["route"], stdin="{}")
one_line_error("route without config", rc, err, 1, "--config")
rc, out, err = run(["route", "--config", routerf], stdin='{"kind":[1]}')
one_line_error("route bad task", rc, err, 2, "task")

# ---- assemble ----
spec = {"model": "gpt-4o", "max_tokens": 300,
        "tools": [{"name": "lookup", "parameters": {"type": "object"}}],
        "dynamic": "Today is 2026-11-28.",
        "system": "You are a support agent.",
        "messages": [{"role": "user", "content": "Where is my order?"}]}
specf = write("spec.json", spec)
rc, out, err = run(["assemble", specf])
body = json.loads(out)
check("assemble renders OpenAI", rc == 0 and body["model"] == "gpt-4o"
      and body["tools"][0]["function"]["name"] == "lookup"
      and body["max_completion_tokens"] == 300, out[:200])
text = json.dumps(body)
check("assemble puts the static prefix first and the dynamic tail last",
      text.index("support agent") < text.index("Where is my order") < text.index("2026-11-28"))
rc, out, err = run(["assemble", "--format", "anthropic", specf])
body = json.loads(out)
check("assemble renders Anthropic", rc == 0 and body["max_tokens"] == 300 and "system" in body)
spec_bad = dict(spec, system="Generated at 2026-11-28 14:05.")
rc, out, err = run(["assemble", "--segments", write("spec2.json", spec_bad)])
seg = json.loads(out)
check("assemble --segments lints the static prefix",
      rc == 0 and any(f["kind"] in ("date", "timestamp") for f in seg["findings"]), out)
check("assemble --segments orders tools first", seg["segments"][0]["kind"] == "tools", out)
rc, out, err = run(["assemble"], stdin='{"messages":[]}')
one_line_error("assemble without model", rc, err, 2, "spec.model")
rc, out, err = run(["assemble"], stdin='{"model":"gpt-4o","max_tokens":1e300}')
one_line_error("assemble with a huge max_tokens", rc, err, 2, "spec.max_tokens")
rc, out, err = run(["assemble", "--format", "gemini", specf])
one_line_error("assemble bad format", rc, err, 1, "--format")
# issue 15: assemble counted with the estimator even for gpt-4o (1,248 exact
# tokens counted 1,377).  A model with an encoding is counted exactly, the
# same as `count --model`, and the output names the counter.
exact_text = " ".join(f"Refunds of order {i} follow policy section {i % 7}." for i in range(60))
rc, out, err = run(["count", "--json", "--text", "--model", "gpt-4o"], stdin=exact_text)
exact_n = json.loads(out)["tokens"] if rc == 0 else None
rc, out, err = run(["count", "--json", "--text", "--encoding", "estimator"], stdin=exact_text)
estimated_n = json.loads(out)["tokens"] if rc == 0 else None
check("assemble test: the estimator and the encoding differ on the text", exact_n and
      estimated_n and exact_n != estimated_n, f"{exact_n} vs {estimated_n}")
rc, out, err = run(["assemble", "--segments", write("exact.json", {"model": "gpt-4o",
                                                                    "system": exact_text})])
seg = json.loads(out) if rc == 0 else {"segments": [{}]}
check("assemble counts gpt-4o exactly and says so", seg.get("counter") == "exact o200k_base"
      and seg["segments"][0].get("tokens") == exact_n, out[:300])
rc, out, err = run(["assemble", "--segments", write("claude.json", {
    "model": "claude-sonnet-4-5", "max_tokens": 10, "system": exact_text})])
seg = json.loads(out) if rc == 0 else {"segments": [{}]}
check("assemble names the estimator where the model has no encoding",
      seg.get("counter", "").startswith("estimator") and seg["segments"][0].get("tokens")
      == estimated_n, out[:300])
rc, out, err = run(["assemble", write("exact.json", {"model": "gpt-4o", "system": exact_text})])
check("assemble names the counter on stderr", rc == 0 and "o200k_base" in err, err)
rc, out, err = run(["cache-sim", "--json", write("exactlog.json", [
    {"time_ms": 0, "model": "gpt-4o", "system": exact_text}])])
r = json.loads(out) if rc == 0 else {}
check("cache-sim counts gpt-4o exactly and says so", r.get("counter") == "exact o200k_base"
      and r.get("input_tokens", 0) >= exact_n and r["input_tokens"] < exact_n + 20, out[:300])

# ---- cache-sim ----
big_system = "Policy. " + " ".join(f"rule{i} applies to every order" for i in range(400))
log = [dict(time_ms=1000 * i, model="gpt-4o", system=big_system,
            messages=[{"role": "user", "content": f"question {i}"}]) for i in range(5)]
logf = write("log.json", log)
rc, out, err = run(["cache-sim", "--json", logf])
r = json.loads(out)
check("cache-sim finds the repeated prefix", rc == 0 and r["requests"] == 5
      and r["cached_tokens"] > 0 and 0 < r["hit_rate"] < 1, out[:300])
check("cache-sim: caching costs less", float(r["cost_with_usd"]) < float(r["cost_without_usd"]))
rc, out, err = run(["cache-sim", logf])
check("cache-sim table and advice", rc == 0 and "hit rate" in out)
rc, out, err = run(["cache-sim", write("badlog.json", [{"model": "gpt-4o"}])])
one_line_error("cache-sim without time", rc, err, 2, "time_ms")
rc, out, err = run(["cache-sim", write("hugetime.json", [dict(log[0], time_ms=1e300)])])
one_line_error("cache-sim with a time past 2^53", rc, err, 2, "time_ms")
# the provider's own model by default: never gpt-4o's rate for Anthropic
rc, out, err = run(["cache-sim", "--provider", "anthropic", "--json", logf])
r = json.loads(out)
# claude-sonnet-4-5: $3 per million input tokens (Anthropic's list price)
check("cache-sim --provider anthropic prices at an Anthropic model", rc == 0
      and r["model"] == "claude-sonnet-4-5" and r["price_input_usd_per_mtok"] == "3.000000"
      and abs(float(r["cost_without_usd"]) - r["input_tokens"] * 3e-6) < 1e-9, out[:300])
rc, out, err = run(["cache-sim", "--provider", "anthropic", logf])
check("cache-sim names the model and price it used",
      rc == 0 and out.startswith("model           claude-sonnet-4-5 (anthropic), input at "
                                 "3.000000"),
      out[:200])
rc, out, err = run(["cache-sim", "--provider", "anthropic", "--model", "gpt-4o", logf])
one_line_error("cache-sim refuses another provider's model", rc, err, 1, "openai")
rc, out, err = run(["cache-sim", "--json", logf])
check("cache-sim --provider openai stays at gpt-4o", json.loads(out)["model"] == "gpt-4o",
      out[:200])
rc, out, err = run(["cache-sim", "--model", "no-such-model", logf])
one_line_error("cache-sim unknown model", rc, err, 1, "--price-input")
rc, out, err = run(["cache-sim", "--model", "no-such-model", "--price-input", "3", logf])
one_line_error("cache-sim: a model without a documented minimum cacheable length", rc, err, 2,
               "no-such-model")
rc, out, err = run(["cache-sim", "--model", "no-such-model", "--price-input", "3",
                    "--min-cache-tokens", "1024", "--json", logf])
check("cache-sim with an explicit price and minimum", rc == 0 and
      json.loads(out)["cached_tokens"] > 0, out + err)

# ---- batch ----
reqs = [{"custom_id": f"r{i}", "body": {"model": "gpt-4o-mini",
         "messages": [{"role": "user", "content": f"hi {i}"}]}} for i in range(3)]
reqf = write("reqs.json", reqs)
rc, out, err = run(["batch", "make", reqf])
lines = [json.loads(l) for l in out.splitlines()]
check("batch make writes one line per request", rc == 0 and len(lines) == 3
      and lines[0]["custom_id"] == "r0" and lines[0]["url"] == "/v1/chat/completions", out[:200])
check("batch make reports on stderr", "3 requests" in err, err)
prefix = os.path.join(tmp, "batch")
rc, out, err = run(["batch", "make", "--provider", "anthropic", "--out", prefix, reqf])
with open(prefix + "-0.jsonl") as f:
    alines = [json.loads(l) for l in f]
check("batch make --out writes files (Anthropic shape)", rc == 0 and out == ""
      and alines[2]["params"]["model"] == "gpt-4o-mini")
dup = write("dup.json", [reqs[0], reqs[0]])
rc, out, err = run(["batch", "make", dup])
one_line_error("batch make duplicate id", rc, err, 2, "requests[1]")
results = "\n".join(json.dumps({"id": f"b{i}", "custom_id": f"r{i}", "error": None,
                                "response": {"status_code": 200, "body": {
                                    "model": "gpt-4o-mini",
                                    "choices": [{"message": {"role": "assistant", "content": "x"}}],
                                    "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}}})
                    for i in range(2)) + "\n"
resf = write("results.jsonl", results)
rc, out, err = run(["batch", "join", "--requests", reqf, resf])
s = json.loads(out)
# gpt-4o-mini batch: $0.075 / $0.30 per million tokens
want = 2 * (1000 * 0.075e-6 + 100 * 0.30e-6)
check("batch join joins and costs at batch prices", s["succeeded"] == 2
      and abs(float(s["cost_usd"]) - want) < 1e-12, out[:300])
check("batch join dead-letters the missing one", s["missing"] == 1
      and s["dead_letters"][0]["custom_id"] == "r2", out)
check("batch join exits 3 when there are dead letters", rc == 3 and "1 dead letter" in err,
      f"exit {rc}, {err!r}")
fullreqf = write("full-reqs.json", reqs[:2])
rc, out, err = run(["batch", "join", "--requests", fullreqf, resf])
check("batch join exits 0 when every result joined", rc == 0 and json.loads(out)["missing"] == 0,
      f"exit {rc}, {err!r}")
# without --requests: the ids come from the results, and they are priced by their model
rc, out, err = run(["batch", "join", resf])
s = json.loads(out)
check("batch join without --requests joins and prices", rc == 0 and s["succeeded"] == 2
      and s["priced"] == 2 and abs(float(s["cost_usd"]) - want) < 1e-12
      and not s["requests_given"], out[:300])
check("batch join without --requests says missing results cannot be seen",
      "missing result cannot be noticed" in err, err)
nomodel = write("nomodel.jsonl", "\n".join(json.dumps(
    {"custom_id": f"n{i}", "error": None, "response": {"status_code": 200, "body": {
        "choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 1}}}})
    for i in range(2)) + "\n" + json.dumps(
    {"custom_id": "n9", "error": {"code": "server_error", "message": "boom"}, "response": None})
    + "\n")
rc, out, err = run(["batch", "join", nomodel])
s = json.loads(out)
check("batch join says what it could not price", rc == 3 and s["unpriced"] == 2
      and s["priced"] == 0 and "names no model" in s["unpriced_reason"]
      and "could not be priced" in err, f"exit {rc} {out[:300]} {err!r}")
check("batch join: an errored result is a dead letter", s["errored"] == 1
      and s["dead_letters"][0]["reason"] == "errored", out[:400])
rc, out, err = run(["batch", "join", write("garbage.jsonl", "{not json}\n")])
one_line_error("batch join malformed line", rc, err, 2, "line 1")
rc, out, err = run(["batch", "join"])
one_line_error("batch join without files", rc, err, 1)
rc, out, err = run(["batch", "frob"])
one_line_error("batch unknown subcommand", rc, err, 1, "frob")

# ---- validate ----
schema = {"type": "object", "properties": {"label": {"enum": ["a", "b"]}},
          "required": ["label"], "additionalProperties": False}
schemaf = write("schema.json", schema)
rc, out, err = run(["validate", "--schema", schemaf], stdin='{"label":"a"}')
check("validate valid", rc == 0 and out.splitlines()[0] == "valid", out)
check("validate prints the output cap it promises", "output cap:" in out and "o200k_base" in out,
      out)
rc, out, err = run(["validate", "--schema", schemaf], stdin='{"label":"c"}')
check("validate invalid: exit 3 and the error", rc == 3 and "invalid at /label" in out, out)
rc, out, err = run(["validate", "--schema", schemaf, "--json"], stdin='{"label":"a","x":1}')
v = json.loads(out)
check("validate --json", rc == 3 and not v["valid"] and v["errors"][0]["keyword"]
      == "additionalProperties" and v["output_cap"] > 0, out)
rc, out, err = run(["validate", "--schema", write("bad.json", {"minLength": -1})], stdin="{}")
one_line_error("validate bad schema", rc, err, 2, "minLength")
rc, out, err = run(["validate", "--schema", schemaf], stdin='{"label":')
one_line_error("validate malformed document", rc, err, 2)
rc, out, err = run(["validate", "--schema", schemaf, schemaf, schemaf])
one_line_error("validate takes one document", rc, err, 1, "one document")
rc, out, err = run(["validate", "--schema", schemaf, "--json"], stdin='{"label":"a"}')
v = json.loads(out)
check("validate --json names the cap's encoding", rc == 0 and v["valid"]
      and v["output_cap_encoding"] == "o200k_base", out)
rc, out, err = run(["validate", "--schema", schemaf, "--encoding", "nope"], stdin='{}')
one_line_error("validate unknown encoding", rc, err, 1, "nope")

# ---- cost ----
usage = {"prompt_tokens": 1000, "completion_tokens": 100,
         "prompt_tokens_details": {"cached_tokens": 400}}
usagef = write("usage.json", usage)
rc, out, err = run(["cost", "--model", "gpt-4o", "--json", usagef])
c = json.loads(out)
# gpt-4o: input $2.50, cached $1.25, output $10 per million tokens
want = 600 * 2.5e-6 + 400 * 1.25e-6 + 100 * 10e-6
check("cost exact", rc == 0 and c["total_usd"] == f"{want:.12f}", out)
rc, out, err = run(["cost", "--model", "gpt-4o", "--batch", "--json", usagef])
check("cost --batch halves it", rc == 0 and json.loads(out)["total_usd"] == f"{want / 2:.12f}", out)
rc, out, err = run(["cost", "--model", "gpt-4o"], stdin=json.dumps(usage))
check("cost table", rc == 0 and "total_usd" in out)
rc, out, err = run(["cost", "--model", "no-such-model", usagef])
one_line_error("cost unknown model", rc, err, 2, "price table")
rc, out, err = run(["cost", "--model", "gpt-4o"], stdin='{"prompt_tokens":1}')
one_line_error("cost bad usage", rc, err, 2, "usage")
rc, out, err = run(["cost", usagef])
one_line_error("cost without model", rc, err, 1, "--model")

# ---- simulate ----
rc, out, err = run(["simulate", "--dump-workload", "--workload", "support-agent"])
wl = json.loads(out)
check("simulate --dump-workload", rc == 0 and wl["name"] == "support-agent"
      and len(wl["workflows"]) == 40)
rc2, out2, _ = run(["simulate", "--dump-workload", "--workload", "support-agent"])
check("bundled workloads are generated deterministically", out == out2)
rc3, out3, _ = run(["simulate", "--dump-workload", "--seed", "2"])
check("another seed, another workload", out3 != out)
small = dict(wl, workflows=wl["workflows"][:6])
smallf = write("small-workload.json", small)
meterf = os.path.join(tmp, "meter.json")
rc, out, err = run(["simulate", "--json", "--seeds", "2", "--workload", smallf, "--export-meter", meterf])
sim = json.loads(out) if rc == 0 else {"configurations": []}
cfg = {c["key"]: c for c in sim["configurations"]}
first = {k: c["first_seed"] for k, c in cfg.items()}
turns = sum(len(w["turns"]) for w in small["workflows"])
mean = lambda k, f: cfg[k][f]["mean"]
check("simulate: every configuration", rc == 0 and {"baseline", "worst_case", "cheap", "optimised",
      "optimised_no_cascade", "routing_cascade", "routing_no_cascade", "cheap_plus_rest"} <= set(cfg)
      and len(cfg) == 8 + 6, out[:300])
check("simulate replays every turn", all(c["turns"]["mean"] == turns for c in cfg.values()), out[:300])
check("simulate: two seeds", sim["seeds"] == 2 and all(
      c["cost_usd"]["min"] <= c["cost_usd"]["mean"] <= c["cost_usd"]["max"] for c in cfg.values()))
check("simulate: the stable baseline gets the provider's automatic caching",
      first["baseline"]["cached_tokens"] > 0 and first["worst_case"]["cached_tokens"] == 0)
check("simulate: the worst case costs more than the baseline",
      mean("worst_case", "cost_usd") > mean("baseline", "cost_usd"))
check("simulate: the cheapest model costs less than the baseline and gets more wrong",
      mean("cheap", "cost_usd") < mean("baseline", "cost_usd")
      and mean("cheap", "wrong_answers") > mean("baseline", "wrong_answers"))
check("simulate: the baseline uses only the frontier model",
      first["baseline"]["calls_by_model"]["gpt-4o"] == first["baseline"]["calls"])
check("simulate: the cheap baseline uses only the cheapest model", sim["cheapest_model"] == "gpt-4o-mini"
      and first["cheap"]["calls_by_model"]["gpt-4o-mini"] == first["cheap"]["calls"])
check("simulate: the optimised run costs less and routes to cheaper tiers",
      mean("optimised", "cost_usd") < mean("baseline", "cost_usd")
      and first["optimised"]["calls_by_model"]["gpt-4o-mini"] > 0)
check("simulate: the cascade escalates, routing alone does not",
      first["routing_cascade"]["escalations"] > 0 and first["routing_no_cascade"]["escalations"] == 0)
check("simulate: cost per correct answer is cost over right answers",
      abs(cfg["baseline"]["cost_per_correct_usd"]["mean"] -
          first["baseline"]["cost"] / 1e12 / (turns - first["baseline"]["wrong_answers"])) < 1e-3)
check("simulate: something is on the Pareto front", any(c["pareto"] for c in cfg.values()))
check("simulate: no stderr output when stderr is not a terminal", err == "", err)
nb = first["without_3"]["batchable_cost"]
check("simulate: batch halves the latency-insensitive turns",
      nb > 0 and 0.49 < first["optimised"]["batchable_cost"] / nb < 0.51,
      f'{first["optimised"]["batchable_cost"]} vs {nb}')
check("simulate: structured output shortens structured answers",
      first["optimised"]["structured_output_tokens"] < first["without_4"]["structured_output_tokens"])
check("simulate: the tool cache serves re-fetches", first["optimised"]["tool_cache_hits"] > 0
      and first["without_5"]["tool_cache_hits"] == 0)
at = sim["attribution"]
check("simulate: leave-one-out with the interaction remainder", at["method"] == "leave-one-out" and
      abs(sum(t["saving_usd"] for t in at["techniques"]) + at["interaction_remainder_usd"]
          - at["total_saving_usd"]) < 1e-9)
with open(meterf) as f:
    meter = json.load(f)
check("simulate --export-meter matches the first seed's optimised run",
      meter["total"]["calls"] == first["optimised"]["calls"]
      and meter["total"]["cost"] == first["optimised"]["cost"])
# quality can fall: an uninformative confidence, and caps that cut answers
weak = dict(small, confidence_auroc=0.5)
rc, out, err = run(["simulate", "--json", "--seeds", "2", "--workload", write("weak.json", weak)])
wc = {c["key"]: c for c in json.loads(out)["configurations"]} if rc == 0 else {}
check("simulate: quality falls with routing on a weak confidence signal",
      rc == 0 and wc["optimised"]["wrong_answers"]["mean"] > wc["baseline"]["wrong_answers"]["mean"], err)
rc, out, err = run(["simulate", "--json", "--seeds", "1"])
full = {c["key"]: c["first_seed"] for c in json.loads(out)["configurations"]} if rc == 0 else {}
check("simulate: the confidence separates right from wrong about as well as the default AUROC 0.7",
      rc == 0 and all(0.6 < full[k]["confidence_auroc_realised"] < 0.8 for k in ["baseline", "optimised"]),
      {k: full[k]["confidence_auroc_realised"] for k in ["baseline", "optimised"]} if full else err)
sharp = dict(small, confidence_auroc=0.97)
rc, out, err = run(["simulate", "--json", "--seeds", "1", "--workload", write("sharp.json", sharp)])
sc = {c["key"]: c["first_seed"] for c in json.loads(out)["configurations"]} if rc == 0 else {}
check("simulate: an oracle-like confidence is a parameter, not the default",
      rc == 0 and sc["baseline"]["confidence_auroc_realised"] > 0.88, err)
tight = dict(small, caps={"reply": 5, "summarise": 5})
rc, out, err = run(["simulate", "--json", "--seeds", "1", "--workload", write("tight.json", tight)])
tc = {c["key"]: c for c in json.loads(out)["configurations"]} if rc == 0 else {}
check("simulate: answers cut by a cap count as wrong",
      rc == 0 and tc["optimised"]["degraded_answers"]["mean"] > 0 and
      tc["optimised"]["wrong_answers"]["mean"] > tc["without_4"]["wrong_answers"]["mean"], err)
tiny = dict(wl, workflows=wl["workflows"][:2])
rc, out, err = run(["simulate", "--json", "--seeds", "1", "--shapley", "--workload", write("tiny.json", tiny)])
sh = json.loads(out)["attribution"] if rc == 0 else {}
check("simulate --shapley: exact shares add up to the total saving", rc == 0 and sh["method"] == "shapley"
      and abs(sh["interaction_remainder_usd"]) < 1e-9 and abs(sh["interaction_remainder_wrong"]) < 1e-9, err)
rc, out, err = run(["simulate", "--workload", smallf, "--seeds", "2"])
check("simulate table", rc == 0 and "naive agent, stable prompt (BASELINE)" in out and "worst case" in out
      and "cheapest model everywhere" in out and "Pareto" in out and "interaction remainder" in out,
      out[:200])
rc2, out2, _ = run(["simulate", "--workload", smallf, "--seeds", "2"])
check("simulate is deterministic", out == out2)
rc, out, err = run(["simulate", "--workload", write("bad-wl.json", dict(small, system=3))])
one_line_error("simulate bad workload", rc, err, 2, "$.system")
bad_turn = json.loads(json.dumps(small))
bad_turn["workflows"][1]["turns"][0]["needs"] = ["nope"]
rc, out, err = run(["simulate", "--workload", write("bad-wl2.json", bad_turn)])
one_line_error("simulate unknown fact", rc, err, 2, "workflows[1].turns[0]")
rc, out, err = run(["simulate", "--workload", "no-such-workload"])
one_line_error("simulate unknown workload", rc, err, 2, "no-such-workload")
rc, out, err = run(["simulate", "--seed", "x"])
one_line_error("simulate bad seed", rc, err, 1, "--seed")
rc, out, err = run(["simulate", "--seeds", "0"])
one_line_error("simulate bad seeds", rc, err, 1, "--seeds")
rc, out, err = run(["simulate", "--workload", write("bad-auroc.json", dict(small, confidence_auroc=2))])
one_line_error("simulate bad auroc", rc, err, 2, "confidence_auroc")
for name in ["document-pipeline", "code-reviewer"]:
    rc, out, err = run(["simulate", "--dump-workload", "--workload", name])
    check(f"bundled {name}", rc == 0 and json.loads(out)["name"] == name)

# ---- report ----
rc, out, err = run(["report", meterf])
check("report table", rc == 0 and out.startswith("total:") and "| gpt-4o-mini" in out, out[:200])
rc, out, err = run(["report", "--html"], stdin=open(meterf).read())
check("report --html is one page with its charts", rc == 0 and out.startswith("<!DOCTYPE html>")
      and 'class="bars"' in out and 'id="percentiles"' in out
      and out.rstrip().endswith("</html>"))
check("report --html uses no external assets", "src=" not in out and "<link" not in out
      and "@import" not in out and "url(" not in out)
basef = os.path.join(tmp, "meter-base.json")
rc, out, err = run(["simulate", "--seeds", "1", "--workload", smallf, "--export-meter",
                    os.path.join(tmp, "meter-opt.json"), "--export-baseline-meter", basef])
check("simulate --export-baseline-meter", rc == 0 and json.load(open(basef))["total"]["calls"] > 0)
rc, out, err = run(["report", "--baseline", basef, os.path.join(tmp, "meter-opt.json")])
check("report --baseline: side by side", rc == 0 and "baseline vs optimised" in out
      and "| cost (USD)" in out and "per workflow" in out, out[:300])
rc, out, err = run(["report", "--json", "--baseline", basef, os.path.join(tmp, "meter-opt.json")])
rj = json.loads(out) if rc == 0 else {}
check("report --json", rc == 0 and rj["baseline_vs_optimised"]["cost"]["baseline"]
      == json.load(open(basef))["total"]["cost"] and "p99" in
      next(iter(rj["workflows"].values()))["tokens"], out[:300])
rc, out, err = run(["report", "--json", "--html", meterf])
one_line_error("report --json --html", rc, err, 1, "not both")
rc, out, err = run(["report"], stdin='{"total":{}}')
one_line_error("report not an export", rc, err, 2, "meter export")
rc, out, err = run(["report"], stdin="nope")
one_line_error("report not JSON", rc, err, 2)
rc, out, err = run(["report", write("broken.json", '{"total":\n  {"calls": 3,,}}')])
one_line_error("report names the file, line and column of bad JSON", rc, err, 2,
               "broken.json: not JSON (line 2, column")
rc, out, err = run(["report", os.path.join(tmp, "absent.json")])
one_line_error("report of a missing file", rc, err, 2, "cannot read")

# ---- version ----
with open(os.path.join(os.environ.get("TKN_SOURCE_ROOT", os.path.join(os.path.dirname(__file__), "..", "..")),
                       "meson.build")) as f:
    want_version = next(l.split("'")[1] for l in f if l.strip().startswith("version:"))
rc, out, err = run(["--version"])
check("--version prints the library's version", rc == 0 and out.strip() == "tokenomy " + want_version,
      out)

# ---- issue 21 item 8: bad bytes and out-of-range numbers, one line each ----
# a NUL byte in JSON lines used to end the input there: 3 requests in, 1 out,
# exit 0
nul_lines = "\n".join(json.dumps(r) for r in reqs)
nul_lines = nul_lines.replace("\n", "\n\0", 1) + "\n"
rc, out, err = run(["batch", "make"], stdin=nul_lines)
one_line_error("batch make refuses a NUL byte", rc, err, 2, "line 2")
check("batch make writes nothing for it", out == "", out[:100])
esc = [dict(reqs[0], custom_id="abc\u0000def"), reqs[1]]
rc, out, err = run(["batch", "make", write("esc-nul.json", esc)])
one_line_error("batch make refuses an escaped NUL", rc, err, 2, "\\u0000")
rc, out, err = run(["batch", "join", "--requests", write("esc-nul2.json", esc), resf])
one_line_error("batch join refuses an escaped NUL in the requests", rc, err, 2, "\\u0000")
rc, out, err = run(["batch", "make"], stdin=json.dumps(reqs) + json.dumps(reqs))
one_line_error("batch make refuses text after the array", rc, err, 2, "line 1")
rc, out, err = run(["assemble", "--segments"], stdin='{"system":"a"} {"system":"b"}')
one_line_error("a JSON input with a second value is refused", rc, err, 2, "not JSON")
# workload numbers the simulator turns into integers: checked first (the
# cast of 1e300 was undefined behaviour, UBSan aborted)
for where, patch in [("optimise.max_context_tokens", {"optimise": {"max_context_tokens": 1e300}}),
                     ("optimise.keep_last_turns", {"optimise": {"keep_last_turns": 2 ** 40}}),
                     ("tool_ttl_ms", {"tool_ttl_ms": 1e19}),
                     ("caps", {"caps": {"support": 1e300}})]:
    bad_wl = dict(small, **patch)
    rc, out, err = run(["simulate", "--seeds", "1", "--workload", write("bad-wl.json", bad_wl)])
    one_line_error(f"simulate refuses {where} out of range", rc, err, 2, where.split(".")[-1])
bad_wl = dict(small, workflows=[dict(small["workflows"][0], gap_ms=2 ** 60)])
rc, out, err = run(["simulate", "--seeds", "1", "--workload", write("bad-wl.json", bad_wl)])
one_line_error("simulate refuses a gap out of range", rc, err, 2, "gap_ms")
with open(meterf) as f:
    bad_export = json.load(f)
bad_export["total"]["calls"] = 1e300
rc, out, err = run(["report", write("bad-export.json", bad_export)])
one_line_error("report refuses a count outside int64", rc, err, 2, "calls")

# ---- --json on every command that prints figures ----
json_runs = {
    "count": (["count", "--json", convf], None),
    "prune": (["prune", "--json", "--max-tokens", "250", "--report", longf], None),
    "route": (["route", "--json", "--config", routerf], '{"kind":"chat"}'),
    "assemble": (["assemble", "--json", "--segments", specf], None),
    "cache-sim": (["cache-sim", "--json", logf], None),
    "batch make": (["batch", "make", "--json", "--out", os.path.join(tmp, "jb"), reqf], None),
    "batch join": (["batch", "join", "--json", "--requests", fullreqf, resf], None),
    "validate": (["validate", "--json", "--schema", schemaf], '{"label":"a"}'),
    "cost": (["cost", "--json", "--model", "gpt-4o", usagef], None),
    "simulate": (["simulate", "--json", "--seeds", "1", "--workload", smallf], None),
    "report": (["report", "--json", meterf], None),
}
for name, (args, stdin) in json_runs.items():
    rc, out, err = run(args, stdin=stdin)
    try:
        ok = rc == 0 and isinstance(json.loads(out), (dict, list))
    except ValueError:
        ok = False
    check(f"{name} --json prints JSON", ok, f"exit {rc} {out[:120]!r} {err[:200]!r}")

# ---- tools select: a catalogue search, in catalogue order ----
toolsf = write("tools.json", {"tools": [
    {"type": "function", "function": {"name": "search_flights",
                                      "description": "Search flights between two cities."}},
    {"name": "cancel_reservation", "description": "Cancel a reservation.",
     "input_schema": {"type": "object", "properties": {"reservation_id": {"type": "string"}}}},
    {"name": "get_weather", "description": "Current weather for a city."},
    {"name": "think", "description": "Think about something."}]})
rc, out, err = run(["tools", "select", "--json", "--k", "2", "--always", "think",
                    "--query", "cancel my reservation, and flights to Paris?", toolsf])
sel = json.loads(out)["selected"] if rc == 0 else []
check("tools select: the 2 matching tools and the always-tool, in catalogue order",
      [t["name"] for t in sel] == ["search_flights", "cancel_reservation", "think"], (rc, out, err))
check("tools select: ranked by BM25 (the two-term match scores higher)",
      len(sel) == 3 and sel[1]["score"] > sel[0]["score"] > 0 and sel[2]["score"] == 0, sel)
rc, out, err = run(["tools", "select", "--k", "1", "--query", "weather", toolsf])
check("tools select: a table naming the tool", rc == 0 and "get_weather" in out
      and "search_flights" not in out, out)
rc, out, err = run(["tools", "select", "--query", "x", "--always", "nope", toolsf])
one_line_error("tools select: an unknown --always tool", rc, err, 2, "nope")
rc, out, err = run(["tools", "select", toolsf])
one_line_error("tools select: --query is required", rc, err, 1, "--query")
rc, out, err = run(["tools", "pick", "--query", "x", toolsf])
one_line_error("tools: an unknown subcommand", rc, err, 1, "pick")
rc, out, err = run(["tools", "select", "--query", "x"], stdin='[{"name": 1}]')
one_line_error("tools select: a tool without a name", rc, err, 2, "name")

print(f"{checks - len(failures)}/{checks} checks passed")
sys.exit(1 if failures else 0)
