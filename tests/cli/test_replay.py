#!/usr/bin/env python3
"""`tokenomy replay`: hand-checked conversations, the cache model, the
information proxy, determinism, the JSON shape, the vendored real traces, and
one-line errors.

usage: test_replay.py PATH/TO/tokenomy PATH/TO/traces.json

Expected figures are computed here: token counts of single texts come from
`tokenomy count` (the tokenizer has its own conformance suite against
tiktoken), prices from `tokenomy cost`; the prefix caching, the sums, the
costs and the proxy are worked out independently in this file.
"""
import json
import os
import subprocess
import sys
import tempfile

TOOL, TRACES = sys.argv[1], sys.argv[2]
failures = []
checks = 0
tmp = tempfile.mkdtemp(prefix="tokenomy-replay-")


def run(args, stdin=None):
    p = subprocess.run([TOOL] + args, input=stdin, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(f"{name}: {detail}")
        print(f"FAIL {name} {detail}")
    else:
        print(f"ok   {name}")


def write(name, obj):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    return path


def count_text(text):
    rc, out, _ = run(["count", "--text", "--json"], text)
    return json.loads(out)["tokens"]


def count_messages(msgs):
    rc, out, _ = run(["count", "--json"], json.dumps(msgs))
    return [m["tokens"] for m in json.loads(out)["messages"]]


def price(model):
    """Picodollars per token: input, cache read, output."""
    def cost(cached):
        usage = {"prompt_tokens": 10**6, "completion_tokens": 10**6,
                 "prompt_tokens_details": {"cached_tokens": cached}}
        rc, out, _ = run(["cost", "--model", model, "--json"], json.dumps(usage))
        return json.loads(out)
    usd = lambda j, k: round(float(j[k]) * 10**12) // 10**6
    plain, cached = cost(0), cost(10**6)
    return usd(plain, "input_usd"), usd(cached, "cache_read_usd"), usd(plain, "output_usd")


def openai_cached(shared_prefix_tokens):
    """OpenAI automatic caching: prefixes of 1024+ tokens, hits in 128-token steps."""
    if shared_prefix_tokens < 1024:
        return 0
    return 1024 + (shared_prefix_tokens - 1024) // 128 * 128


def replay(path, *extra):
    rc, out, err = run(["replay", "--json", *extra, path])
    check(f"replay {os.path.basename(path)} {' '.join(extra)} exits 0", rc == 0, err)
    return json.loads(out) if rc == 0 else {"strategies": []}


def strat(j, key):
    return next((s for s in j["strategies"] if s["key"] == key), None)


# ---- a hand-checked conversation: two calls, the second reads a cached prefix ----
system = "word" + " word" * 1199
conv = [
    {"role": "system", "content": system},
    {"role": "user", "content": "Book flight HAT123 please"},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function",
         "function": {"name": "search", "arguments": json.dumps({"flight": "HAT123", "date": "2024-05-20"})}}]},
    {"role": "tool", "tool_call_id": "call_1", "content": "ok"},
    {"role": "assistant", "content": "Done."},
]
sys_tokens = count_text(system)
check("hand count: 1200 words are 1200 tokens", sys_tokens == 1200, sys_tokens)
per = count_messages(conv[1:])  # user, assistant, tool, assistant (overheads included)
call1_in = sys_tokens + per[0]
call2_in = sys_tokens + per[0] + per[1] + per[2]
cached = openai_cached(call1_in)  # call 2 shares call 1's whole input as its prefix
output = per[1] + per[3]
p_in, p_read, p_out = price("gpt-4o")
j = replay(write("hand.json", [conv]), "--strategies", "trim-50,trim-50-fail")
rec = strat(j, "recorded")
check("hand: two calls", j.get("calls") == 2 and rec and rec["calls"] == 2, j.get("calls"))
check("hand: input tokens", rec and rec["input_tokens"] == call1_in + call2_in,
      (rec and rec["input_tokens"], call1_in + call2_in))
check("hand: cached tokens (OpenAI: 1024 + 128-token steps)", rec and rec["cached_tokens"] == cached,
      (rec and rec["cached_tokens"], cached))
check("hand: output tokens are the recorded answers'", rec and rec["output_tokens"] == output,
      (rec and rec["output_tokens"], output))
want = (call1_in + call2_in - cached) * p_in + cached * p_read + output * p_out
check("hand: cost at gpt-4o prices with the cache read discounted", rec and rec["cost"] == want,
      (rec and rec["cost"], want))
check("hand: cost without the cache",
      j.get("cost_without_cache") == (call1_in + call2_in) * p_in + output * p_out, j.get("cost_without_cache"))
# "HAT123" is held by the user message and passed at call 1; "2024-05-20" is
# new at that call; nothing is passed later: one needed value, kept.
check("hand: one needed value, kept as recorded", rec and (rec["values_needed"], rec["values_kept"]) == (1, 1),
      rec and (rec["values_needed"], rec["values_kept"]))
t50 = strat(j, "trim-50-fail")
# the system prompt alone is over half of each call's tokens: trim keeps no
# message, so with degrade 0 both calls are sent unpruned and cost as recorded
check("hand: an unmeetable budget is sent unpruned and counted",
      t50 and t50["calls_unmet"] == 2 and t50["calls_degraded"] == 0 and
      t50["cost"] == rec["cost"], t50)
# degrading (the default), each call is the system prompt and its last turn,
# here every message: over the budget, counted as unmet and degraded
d50 = strat(j, "trim-50")
check("hand: degrading, the last turn goes over an unmeetable budget, counted",
      d50 and d50["calls_unmet"] == 2 and d50["calls_degraded"] == 2 and
      d50["input_tokens"] == rec["input_tokens"], d50)

# ---- pruning that drops the message holding a value the model needs later ----
filler = " ".join(["the order policy will be checked by the team"] * 30)
conv2 = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "My user id is mia_li_3668. " + filler},
    {"role": "assistant", "content": "Noted."},
    {"role": "user", "content": "Book it."},
    {"role": "assistant", "content": None, "tool_calls": [
        {"id": "c1", "type": "function",
         "function": {"name": "book", "arguments": json.dumps({"user_id": "mia_li_3668", "n": 1})}}]},
]
j2 = replay(write("lose.json", {"conversations": [{"messages": conv2}]}), "--strategies", "trim-50,score-50")
rec2, t2 = strat(j2, "recorded"), strat(j2, "trim-50")
# calls: at message 2 (input: system, user 1) and at message 4 (input: all
# four before it).  mia_li_3668 is needed at both.  Trim at 50% cannot keep
# user 1 at either: at call 1 nothing but the system prompt would be left
# (unmet, sent unpruned: kept); at call 2 it keeps [system, user 2]: lost.
check("lose: needed twice as recorded, both kept", rec2 and (rec2["values_needed"], rec2["values_kept"]) == (2, 2),
      rec2 and (rec2["values_needed"], rec2["values_kept"]))
check("lose: trim at 50% loses the id at the second call", t2 and (t2["values_needed"], t2["values_kept"]) == (2, 1),
      t2 and (t2["values_needed"], t2["values_kept"]))
check("lose: trim at 50% sends fewer input tokens", t2 and t2["input_tokens"] < rec2["input_tokens"], t2)
check("lose: and one call unmet", t2 and t2["calls_unmet"] == 1, t2)

# ---- cache misses are paid: pruning that breaks a long cached prefix costs more ----
long_sys = "word" + " word" * 1099
conv3 = [{"role": "system", "content": long_sys}]
for i in range(10):
    conv3 += [{"role": "user", "content": f"question {i} " + filler},
              {"role": "assistant", "content": f"answer {i}"}]
j3 = replay(write("miss.json", [conv3]), "--strategies", "score-75")
r3, s3 = strat(j3, "recorded"), strat(j3, "score-75")
check("cache: the recorded calls read most of their input from the cache",
      r3 and r3["cached_tokens"] * 2 > r3["input_tokens"], r3)
check("cache: every strategy is billed through the same cache model",
      s3 and 0 < s3["cached_tokens"] <= s3["input_tokens"], s3)
check("cache: a call that costs more than as recorded is counted",
      s3 and s3["calls_costlier"] > 0, s3)

# ---- Anthropic records ----
anth = {"system": "Be brief.", "messages": [
    {"role": "user", "content": "Find flight HAT123"},
    {"role": "assistant", "content": [{"type": "tool_use", "id": "tu1", "name": "search",
                                       "input": {"flight": "HAT123"}}]},
    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "tu1", "content": "found"}]},
    {"role": "assistant", "content": [{"type": "text", "text": "It departs at noon."}]}],
    "tools": [{"name": "search", "description": "Search flights.",
               "input_schema": {"type": "object", "properties": {"flight": {"type": "string"}}}}]}
ja = replay(write("anth.json", [anth]), "--format", "anthropic", "--strategies", "score-50")
ra = strat(ja, "recorded")
check("anthropic: one call per assistant message", ja.get("calls") == 2, ja.get("calls"))
check("anthropic: the tool argument is a needed value", ra and ra["values_needed"] == 1, ra)

# ---- tool selection: the tools sent, and whether the called tool was among them ----
def fn(name, desc, props):
    return {"type": "function", "function": {
        "name": name, "description": desc,
        "parameters": {"type": "object", "properties": {p: {"type": "string"} for p in props}}}}


tools = [fn("search_flights", "Search flights between two cities.", ["origin", "destination"]),
         fn("cancel_reservation", "Cancel a reservation.", ["reservation_id"]),
         fn("get_weather", "Current weather for a city.", ["city"])]
# a tool's tokens: its canonical JSON (sorted keys, no spaces), as prompt.h counts it
tok = {t["function"]["name"]: count_text(json.dumps(t["function"], sort_keys=True,
                                                    separators=(",", ":"))) for t in tools}
call = lambda i, name: {"role": "assistant", "content": None, "tool_calls": [
    {"id": f"call_{i}", "type": "function", "function": {"name": name, "arguments": "{}"}}]}
conv4 = [
    {"role": "system", "content": "You book flights."},
    {"role": "user", "content": "cancel my reservation please"},
    call(1, "cancel_reservation"),                      # call 1: BM25 sends cancel_reservation
    {"role": "tool", "tool_call_id": "call_1", "content": "cancelled"},
    {"role": "assistant", "content": "Done."},          # call 2: the same user message
    {"role": "user", "content": "thanks, and the weather in Paris?"},
    call(2, "search_flights"),                          # call 3: get_weather sent: a miss
    {"role": "tool", "tool_call_id": "call_2", "content": "[]"},
    {"role": "assistant", "content": "None."},          # call 4
]
j4 = replay(write("tools.json", {"tools": tools, "conversations": [{"messages": conv4}]}),
            "--strategies", "layout,tools-3,tools-3-sticky")
lay, t3, sticky = strat(j4, "layout"), strat(j4, "tools-3"), strat(j4, "tools-3-sticky")
c, w, f = tok["cancel_reservation"], tok["get_weather"], tok["search_flights"]
check("tools: all tools are sent at every call", lay and lay["tool_tokens"] == 4 * (c + w + f),
      (lay and lay["tool_tokens"], 4 * (c + w + f)))
check("tools: tools-3 sends only the tools matching the last user message",
      t3 and t3["tool_tokens"] == 2 * c + 2 * w, (t3 and t3["tool_tokens"], 2 * c + 2 * w))
check("tools: a sticky selection keeps the tools chosen before",
      sticky and sticky["tool_tokens"] == 2 * c + 2 * (c + w), sticky and sticky["tool_tokens"])
check("tools: all tools offer every called tool",
      lay and (lay["calls_calling_tools"], lay["calls_called_tools_sent"]) == (2, 2), lay)
check("tools: tools-3 misses the tool called after an unrelated user message",
      t3 and (t3["calls_calling_tools"], t3["calls_called_tools_sent"]) == (2, 1), t3)
check("tools: fewer tool tokens, fewer input tokens",
      t3 and lay and lay["input_tokens"] - t3["input_tokens"] == lay["tool_tokens"] - t3["tool_tokens"],
      (t3, lay))

# the query: the last user message (tools-3), the turn so far without the tool results
# (tools-3-turn), the last two turns (tools-3-recent)
conv5 = [
    {"role": "system", "content": "You book flights."},
    {"role": "user", "content": "what is the weather in Paris?"},
    call(1, "get_weather"),                             # A: every query sends get_weather
    {"role": "tool", "tool_call_id": "call_1", "content": "cancel reservation flights"},
    {"role": "assistant", "content": "Sunny. Shall I cancel your reservation?"},  # B
    {"role": "user", "content": "yes go ahead"},
    call(2, "cancel_reservation"),                      # C: only the last two turns name it
    {"role": "tool", "tool_call_id": "call_2", "content": "ok"},
    {"role": "assistant", "content": "Cancelled."},     # D: the turn holds the call's name
]
j5 = replay(write("query.json", {"tools": tools, "conversations": [{"messages": conv5}]}),
            "--strategies", "layout,tools-3,tools-3-turn,tools-3-recent")
q_user, q_turn, q_recent = strat(j5, "tools-3"), strat(j5, "tools-3-turn"), strat(j5, "tools-3-recent")
check("tools query: the last user message alone (A, B: weather; C, D: nothing)",
      q_user and q_user["tool_tokens"] == 2 * w, q_user and q_user["tool_tokens"])
check("tools query: the turn so far holds the agent's tool calls, not the tool results",
      q_turn and q_turn["tool_tokens"] == 2 * w + c, q_turn and q_turn["tool_tokens"])
check("tools query: the last two turns hold the agent's question",
      q_recent and q_recent["tool_tokens"] == 2 * w + 2 * (w + c),
      q_recent and q_recent["tool_tokens"])
check("tools query: only the last two turns offer the tool the user agreed to",
      q_user and q_recent and (q_user["calls_called_tools_sent"], q_recent["calls_called_tools_sent"])
      == (1, 2), (q_user, q_recent))

# per turn (as the agent selects): the selection made at a turn's first call stays for the
# turn, though the agent's tool calls in it would change the query
conv6 = [
    {"role": "system", "content": "You book flights."},
    {"role": "user", "content": "what is the weather in Paris?"},
    call(1, "get_weather"),                             # A
    {"role": "tool", "tool_call_id": "call_1", "content": "sunny"},
    {"role": "assistant", "content": "Sunny."},         # B
    {"role": "user", "content": "thanks"},
    call(2, "search_flights"),                          # C: a new turn, the same query's tools
    {"role": "tool", "tool_call_id": "call_2", "content": "[]"},
    {"role": "assistant", "content": "No flights."},    # D: per call, the call's name counts
]
j6 = replay(write("perturn.json", {"tools": tools, "conversations": [{"messages": conv6}]}),
            "--strategies", "tools-3-recent,tools-3-recent-per-turn,tools-3-per-turn")
per_call, per_turn = strat(j6, "tools-3-recent"), strat(j6, "tools-3-recent-per-turn")
check("tools per turn: the turn's first selection stays for the turn",
      per_turn and per_turn["tool_tokens"] == 4 * w, per_turn and per_turn["tool_tokens"])
check("tools per call: the agent's tool call in the turn enters the query",
      per_call and per_call["tool_tokens"] == 4 * w + f, per_call and per_call["tool_tokens"])
check("tools per turn, the last user message: 'thanks' selects nothing",
      strat(j6, "tools-3-per-turn")["tool_tokens"] == 2 * w, strat(j6, "tools-3-per-turn"))

# --extra-tools: distractors after the record's own tools; --catalogue-sizes: one replay per size
extra = [fn("get_stock_price", "The price of a stock.", ["symbol"]),
         fn("send_email", "Send an email.", ["to", "body"])]
s_tok, e_tok = [count_text(json.dumps(t["function"], sort_keys=True, separators=(",", ":")))
                for t in extra]
xfile = write("extra.json", extra)
f4 = write("tools4.json", {"tools": tools, "conversations": [{"messages": conv4}]})
jx = replay(f4, "--strategies", "layout,tools-3", "--extra-tools", xfile)
lx = strat(jx, "layout")
check("extra tools: sent with the record's own at every call",
      lx and lx["tool_tokens"] == 4 * (c + w + f + s_tok + e_tok), lx and lx["tool_tokens"])
check("extra tools: a selection among them too", strat(jx, "tools-3")["tool_tokens"] == 2 * c + 2 * w)
jz = replay(f4, "--strategies", "tools-3", "--extra-tools", write("extra-obj.json", {"tools": extra}),
            "--catalogue-sizes", "3,4,5")
sizes = jz.get("catalogue_sizes", [])
lay_tok = [next((x["tool_tokens"] for x in e["strategies"] if x["key"] == "layout"), None)
           for e in sizes]
check("catalogue sizes: one replay per size, all tools beside the selection",
      [e["tools"] for e in sizes] == [3, 4, 5] and
      lay_tok == [4 * (c + w + f), 4 * (c + w + f + s_tok), 4 * (c + w + f + s_tok + e_tok)],
      (sizes, lay_tok))
check("catalogue sizes: each size starts afresh (the same selection, the same cost)",
      len({json.dumps(next(x for x in e["strategies"] if x["key"] == "tools-3"))
           for e in sizes}) == 1, sizes)
rc, out, err = run(["replay", "--strategies", "tools-3", "--extra-tools", xfile,
                    "--catalogue-sizes", "3,5", f4])
check("catalogue sizes: one table, a row per size and strategy",
      rc == 0 and "|     3 | all tools, stable" in out and "|     5 | tools: BM25" in out, out + err)

# ---- the real traces: determinism, JSON shape, orderings ----
args = ["--limit", "6"]
rc, out1, err = run(["replay", "--json", *args, TRACES])
rc2, out2, _ = run(["replay", "--json", *args, TRACES])
check("traces: exit 0", rc == 0 and rc2 == 0, err)
check("traces: deterministic (byte-identical JSON)", out1 == out2)
jt = json.loads(out1) if rc == 0 else {"strategies": []}
keys = {"key": str, "name": str, "budget_pct": (int, float), "calls": (int, float),
        "input_tokens": (int, float), "cached_tokens": (int, float), "output_tokens": (int, float),
        "cost": (int, float), "cost_usd": str, "cost_vs_recorded": (int, float),
        "side_input_tokens": (int, float), "side_output_tokens": (int, float), "side_cost": (int, float),
        "values_needed": (int, float), "values_kept": (int, float), "calls_costlier": (int, float),
        "calls_unmet": (int, float)}
shape = all(isinstance(s.get(k), t) for s in jt["strategies"] for k, t in keys.items())
check("traces: JSON schema of every strategy", shape and len(jt["strategies"]) >= 11)
for k in ["input", "model", "summary_model", "tokenizer", "cache", "gap_ms", "conversations", "calls",
          "cost_without_cache", "cost_without_cache_usd"]:
    check(f"traces: top-level {k}", k in jt)
check("traces: o200k counts", jt.get("tokenizer") == "o200k_base")
rt = strat(jt, "recorded")
check("traces: the cache saves on the recorded calls", rt and rt["cost"] < jt["cost_without_cache"])
check("traces: as recorded keeps every value", rt and rt["values_kept"] == rt["values_needed"] > 0, rt)
same = all(s["calls"] == rt["calls"] and s["output_tokens"] == rt["output_tokens"] for s in jt["strategies"])
check("traces: every strategy replays every call with the recorded outputs", same)
check("traces: pruning keeps no more values than the recording",
      all(s["values_kept"] <= s["values_needed"] for s in jt["strategies"]))
check("traces: summarising pays for its summaries",
      all(s["side_cost"] > 0 for s in jt["strategies"] if s["key"].startswith("summarise") and
          s["calls_unmet"] < s["calls"]))
rc, out, err = run(["replay", "--limit", "2", "--html", os.path.join(tmp, "r.html"), TRACES])
html = open(os.path.join(tmp, "r.html")).read() if rc == 0 else ""
check("traces: --html writes a page with the table", rc == 0 and "<table>" in html and "as recorded" in html, err)
check("traces: table on stdout", "| as recorded" in out, out[:200])

rc, out, err = run(["replay", "--limit", "3", "--json", "--strategies", "policy,mask-1",
                    "--policy-keep", "1", "--policy-horizon", "growth", TRACES])
jp = {s["key"]: s for s in json.loads(out)["strategies"]} if rc == 0 else {}
check("traces: --policy-* set the policy row and its label",
      rc == 0 and jp["policy"]["name"].startswith("policy: keep 1, >= 0, h growth"), out[:300] + err)
rc, out, err = run(["replay", "--limit", "3", "--json", "--strategies", "policy",
                    "--policy-at-least", "1000000000", TRACES])
check("traces: --policy-at-least above every clear: nothing cleared",
      rc == 0 and json.loads(out)["strategies"][-1]["cleared_messages"] == 0, out[:300] + err)

rc, out, err = run(["replay", "--limit", "5", "--json", "--strategies",
                    "trim-50,trim-50-fail,policy,policy-75,policy-50,policy-25", TRACES])
jb = {s["key"]: s for s in json.loads(out)["strategies"]} if rc == 0 else {}
check("traces: the policy under a budget degrades: it drops more as the budget tightens",
      rc == 0 and jb["policy-75"]["input_tokens"] > jb["policy-50"]["input_tokens"] >
      jb["policy-25"]["input_tokens"] and jb["policy-25"]["calls_degraded"] > 0 and
      jb["policy-75"]["input_tokens"] < jb["policy"]["input_tokens"], out[:300] + err)
check("traces: a degrading row is never sent unpruned: it sends fewer tokens than trim's "
      "unmet calls would, and meets more budgets", rc == 0 and
      jb["policy-50"]["input_tokens"] < jb["trim-50-fail"]["input_tokens"] and
      jb["trim-50"]["input_tokens"] < jb["trim-50-fail"]["input_tokens"] and
      jb["trim-50"]["calls_unmet"] < jb["trim-50-fail"]["calls_unmet"] and
      jb["trim-50"]["calls_degraded"] > 0 == jb["trim-50-fail"]["calls_degraded"],
      out[:300] + err)
check("traces: rows without a budget count no unmet or degraded call",
      rc == 0 and jb["policy"]["calls_unmet"] == 0 and jb["policy"]["calls_degraded"] == 0)

# ---- errors: one line, exit 2 (bad input) or 1 (bad usage) ----
def one_line(name, args, code, needle):
    rc, out, err = run(args)
    lines = err.strip().splitlines()
    check(name, rc == code and len(lines) == 1 and lines[0].startswith("tokenomy replay") and needle in err,
          f"exit {rc}, stderr {err!r}")


one_line("error: missing file", ["replay", os.path.join(tmp, "nope.json")], 2, "cannot read")
one_line("error: not JSON", ["replay", write("bad.json", "{not json")], 2, "not JSON")
one_line("error: no model calls", ["replay", write("none.json", [[{"role": "user", "content": "hi"}]])], 2,
         "no assistant messages")
one_line("error: a bad message", ["replay", write("badmsg.json", [[{"role": "wizard", "content": "x"}]])], 2,
         "conversation 0")
one_line("error: unknown strategy", ["replay", "--strategies", "nope", TRACES], 1, "unknown strategy")
one_line("error: unknown model", ["replay", "--model", "no-such-model", TRACES], 2, "no price")
one_line("error: bad --gap-ms", ["replay", "--gap-ms", "x", TRACES], 1, "--gap-ms")
one_line("error: bad --policy-horizon", ["replay", "--policy-horizon", "soon", TRACES], 1,
         "expected a count or 'growth'")
one_line("error: --policy-prices of an unknown model", ["replay", "--policy-prices", "nope", TRACES],
         2, "no input price")

one_line("error: --catalogue-sizes without --extra-tools",
         ["replay", "--catalogue-sizes", "3", f4], 1, "needs --extra-tools")
one_line("error: bad --catalogue-sizes", ["replay", "--extra-tools", xfile, "--catalogue-sizes",
                                          "3,x", f4], 1, "expected up to 64 tool counts")
one_line("error: a catalogue size below the record's tools",
         ["replay", "--extra-tools", xfile, "--catalogue-sizes", "2", f4], 2, "is not between")
one_line("error: a catalogue size beyond the extra tools",
         ["replay", "--extra-tools", xfile, "--catalogue-sizes", "6", f4], 2, "is not between")
one_line("error: --extra-tools not tools", ["replay", "--extra-tools", write("x.json", {"a": 1}), f4],
         2, "expected a JSON array of tool definitions")
one_line("error: --extra-tools missing", ["replay", "--extra-tools", os.path.join(tmp, "no.json"), f4],
         2, "cannot read")
one_line("error: an extra tool named as one of the record's",
         ["replay", "--extra-tools", write("dup.json", [tools[0]]), f4], 2, "already among")

print(f"\n{checks - len(failures)}/{checks} checks passed")
sys.exit(1 if failures else 0)
