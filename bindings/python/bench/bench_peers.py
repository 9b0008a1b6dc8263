#!/usr/bin/env python3
"""The Python API against the peers a Python user would reach for, side by
side in one run (meson benchmark `python-peers`, suite bench: `make bench`).
CPU time (time.process_time), best of 5 runs (the short-string rows: best
of 15), tokenomy's and the peer's runs interleaved (on a shared machine a
change of load then hits both sides alike); ratios are peer / tokenomy.
Nothing here asserts a time.

- counting: tokenomy Encoding.encode / encode_ordinary / count vs tiktoken
  (native Rust core; its count is len(encode)), and
  tokenomy.token_counter vs litellm.token_counter on whole conversations;
- trimming to a token limit: tokenomy.trim_messages (langchain-shaped,
  counting natively: each message once, in one C call) and the tokenomy
  Pruner (mode "trim", strategy last) vs langchain_core trim_messages with a
  competent token counter (tiktoken, and a per-message cache keyed by the
  message object, so a message is counted once however often trim_messages
  asks);
- cost: tokenomy.completion_cost vs litellm.completion_cost;
- schema validation: tokenomy.Schema vs jsonschema and fastjsonschema
  (compiled once, outside the timing, on every side).
The inputs are the bundled tau-bench traces (data/traces).
"""
import json
import os
import sys
import time

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests"))
sys.path.insert(0, os.path.dirname(HERE))
import peer_agreement as pa  # noqa: E402  (the tiktoken cache helper, the traces)

RUNS = 5


def pair(ours, peer, n, runs=15):
    """The best CPU time per call of each, over `runs` rounds that run
    `n` calls of one, then `n` of the other."""
    best = [None, None]
    for _ in range(runs):
        for i, fn in enumerate((ours, peer)):
            t = time.process_time()
            for _ in range(n):
                fn()
            d = (time.process_time() - t) / n
            best[i] = d if best[i] is None else min(best[i], d)
    return best


def fmt(s):
    return "%.1f us" % (s * 1e6) if s < 1e-3 else "%.2f ms" % (s * 1e3)


def row(what, ours, peer, peer_name):
    print("| %s | %s | %s (%s) | %.1fx |" % (what, fmt(ours), fmt(peer), peer_name, peer / ours))


def main():
    cache = pa.tiktoken_cache(os.environ.get("TKN_RANKS_DIR")
                              or os.path.join(pa.SOURCE_ROOT, ".cache", "ranks"))
    import tiktoken
    import litellm
    import tokenomy
    from langchain_core.messages import (AIMessage, HumanMessage, SystemMessage, ToolMessage,
                                         trim_messages)
    convs = pa.conversations()
    texts = [m["content"] for c in convs for m in c if m.get("content")]
    big = "\n".join(texts)
    print("inputs: %d conversations, %d messages, %d bytes of text" % (
        len(convs), sum(len(c) for c in convs), len(big.encode())))
    print()
    print("| operation | tokenomy | peer | peer / tokenomy |")
    print("|---|---|---|---|")

    ours, theirs = tokenomy.get_encoding("o200k_base"), tiktoken.get_encoding("o200k_base")
    assert ours.encode_ordinary(big) == theirs.encode_ordinary(big)
    row("encode all trace text (o200k_base)", *pair(lambda: ours.encode_ordinary(big),
                                                    lambda: theirs.encode_ordinary(big), 1, RUNS),
        "tiktoken")
    short = "What is the weather in Paris today?"
    assert ours.encode(short) == theirs.encode(short)
    row("encode a short string", *pair(lambda: ours.encode(short),
                                       lambda: theirs.encode(short), 2000), "tiktoken")
    row("encode_ordinary, the same string", *pair(lambda: ours.encode_ordinary(short),
                                                  lambda: theirs.encode_ordinary(short), 2000),
        "tiktoken")
    row("count the same string (tiktoken: len(encode))",
        *pair(lambda: ours.count(short), lambda: len(theirs.encode(short)), 2000), "tiktoken")
    sample = convs[:20]
    row("token_counter, 20 conversations", *pair(
        lambda: [tokenomy.token_counter(model="gpt-4o", messages=c) for c in sample],
        lambda: [litellm.token_counter(model="gpt-4o", messages=c) for c in sample], 1, RUNS),
        "litellm")

    # trimming: the same limit, the same counter (tiktoken o200k text counts)
    def lc_messages(c):
        out = []
        for m in c:
            text = m.get("content") or ""
            if m["role"] == "system":
                out.append(SystemMessage(text))
            elif m["role"] == "user":
                out.append(HumanMessage(text))
            elif m["role"] == "tool":
                out.append(ToolMessage(text, tool_call_id=m.get("tool_call_id", "x")))
            else:
                out.append(AIMessage(text))
        return out
    plain = [[{"role": m["role"] if m["role"] != "tool" else "user",
               "content": m.get("content") or ""} for m in c] for c in convs]
    lc = [lc_messages(c) for c in plain]
    cache_ids = {}

    def lc_counter(msgs):
        n = 0
        for m in msgs:
            k = id(m)
            v = cache_ids.get(k)
            if v is None:
                v = cache_ids[k] = 3 + len(theirs.encode_ordinary(m.content))
            n += v
        return n + 3
    limit = 2000
    tok = ours.tokenizer
    pruner = tokenomy.Pruner(tok)
    loaded = [tokenomy.Conversation(c) for c in plain]

    def ours_trim():
        for c in plain:
            with tokenomy.Conversation(c) as conv:
                pruner.run(conv, limit, mode="trim", include_system=True)

    def lc_trim():
        cache_ids.clear()
        for m in lc:
            trim_messages(m, max_tokens=limit, token_counter=lc_counter, strategy="last",
                          include_system=True)

    def ours_trim_messages():
        for c in plain:
            tokenomy.trim_messages(c, max_tokens=limit, token_counter="gpt-4o",
                                   strategy="last", include_system=True)

    def ours_trim_lc():
        for m in lc:
            tokenomy.trim_messages(m, max_tokens=limit, token_counter="gpt-4o",
                                   strategy="last", include_system=True)
    row("trim_messages, %d conversations to %d tokens (dicts)" % (len(plain), limit),
        *pair(ours_trim_messages, lc_trim, 1, RUNS), "langchain_core trim_messages")
    row("trim_messages, the same on LangChain messages", *pair(ours_trim_lc, lc_trim, 1, RUNS),
        "langchain_core trim_messages")
    row("Pruner trim, the same conversations and limit", *pair(ours_trim, lc_trim, 1, RUNS),
        "langchain_core trim_messages")
    for c in loaded:
        c.close()

    usage = {"prompt_tokens": 1234, "completion_tokens": 56, "total_tokens": 1290}
    resp = litellm.ModelResponse(model="gpt-4o", usage=dict(usage))
    row("completion_cost, one response", *pair(
        lambda: tokenomy.completion_cost(usage=usage, model="gpt-4o"),
        lambda: litellm.completion_cost(completion_response=resp), 500, RUNS), "litellm")

    schema = {"type": "object", "required": ["user_id", "reservations"],
              "properties": {"user_id": {"type": "string", "pattern": "^[a-z_0-9]+$"},
                             "reservations": {"type": "array", "items": {
                                 "type": "object", "required": ["id", "cabin"],
                                 "properties": {"id": {"type": "string", "minLength": 6},
                                                "cabin": {"enum": ["basic_economy", "economy",
                                                                   "business"]}}}}}}
    doc = {"user_id": "mia_li_3668", "reservations": [
        {"id": "NO6JO%d" % i, "cabin": "economy"} for i in range(20)]}
    text = json.dumps(doc)
    s = tokenomy.Schema(schema)
    assert s.validate(text).status == 0
    try:
        import jsonschema
        v = jsonschema.Draft202012Validator(schema)
        row("validate a 20-item document (from JSON text)", *pair(
            lambda: s.validate(text), lambda: v.is_valid(json.loads(text)), 500, RUNS),
            "jsonschema")
    except ImportError:
        print("| validate | - | jsonschema not installed | - |")
    try:
        import fastjsonschema
        f = fastjsonschema.compile(schema)
        row("validate a 20-item document (from JSON text)", *pair(
            lambda: s.validate(text), lambda: f(json.loads(text)), 500, RUNS),
            "fastjsonschema")
    except ImportError:
        print("| validate | - | fastjsonschema not installed | - |")
    import shutil
    shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    main()
