#!/usr/bin/env python3
"""tokenomy's Python surface against the real peers, side by side (meson test
`python-peers`, run by tests/peer-run.sh in a virtualenv holding tiktoken,
litellm and langchain-core at pinned versions).

- Encoding vs tiktoken: encode, encode_ordinary, decode, n_vocab and the
  allowed_special / disallowed_special outcomes (ids, or ValueError on both
  sides) on a corpus: every message text of the bundled tau-bench traces,
  edge cases, and seeded random Unicode strings.
- token_counter vs litellm.token_counter: the traces' conversations (whole
  and truncated) under several models, and texts.
- completion_cost vs litellm.completion_cost: models x usages, both sides
  pricing from litellm's own bundled price file.
- trim_messages vs langchain_core.messages.trim_messages: the traces'
  conversations (tool calls included) at several budgets under seven
  settings (strategy, include_system, start_on, end_on, allow_partial).
  Twice: with one counting function given to both sides (the same
  algorithm: must agree on every case, on message dicts and on LangChain
  messages), and natively (token_counter="gpt-4o", tokenomy's exact counts)
  against langchain with langchain-openai's ChatOpenAI counter, the counter
  a LangChain user passes (differences listed: the two count tool calls and
  tool results differently).
It prints the agreement counts and each class of disagreement.  It fails on
any difference from tiktoken, on a text count that differs from litellm's
(its chunking turned off: litellm counts long texts in fixed-size character
chunks, which overcounts where a chunk boundary splits a word), and when
completion_cost agrees on fewer than 95% of the cases.  Message counts that
differ are listed, not failed: litellm and tokenomy account differently for
tool calls (tokenomy adds OpenAI's per-call overhead, TKN_COUNT_OPTIONS) and
litellm counts some Claude models its own way.
"""
import json
import os
import random
import sys
from collections import Counter

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")


def tiktoken_cache(ranks_dir):
    """tiktoken reads its rank files from a cache keyed by the sha1 of their
    URL: fill one from the verified files the build embeds (.cache/ranks),
    so neither tiktoken nor litellm (which sets TIKTOKEN_CACHE_DIR from
    CUSTOM_TIKTOKEN_CACHE_DIR) downloads anything."""
    import hashlib
    import shutil
    import tempfile
    d = tempfile.mkdtemp(prefix="tokenomy-tiktoken-")
    for name in ("cl100k_base", "o200k_base"):
        url = "https://openaipublic.blob.core.windows.net/encodings/%s.tiktoken" % name
        shutil.copy(os.path.join(ranks_dir, name + ".tiktoken"),
                    os.path.join(d, hashlib.sha1(url.encode()).hexdigest()))
    os.environ["TIKTOKEN_CACHE_DIR"] = os.environ["CUSTOM_TIKTOKEN_CACHE_DIR"] = d
    return d

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import tokenomy  # noqa: E402

SOURCE_ROOT = os.environ.get("TKN_SOURCE_ROOT") or os.path.normpath(
    os.path.join(HERE, "..", "..", ".."))
TRACES = os.path.join(SOURCE_ROOT, "data", "traces", "tau-airline-dev.json")

failures = []


def report(name, agree, total, diffs):
    print("%-52s %6d / %-6d agree" % (name, agree, total))
    for k, v in diffs.most_common(8):
        print("    differs: %-40s x%d" % (k, v))


def conversations():
    with open(TRACES) as f:
        d = json.load(f)
    out = []
    for t in d["trajectories"]:
        msgs = [m for m in t["messages"] if isinstance(m.get("content"), (str, type(None)))]
        out.append(msgs)
    return out


def corpus(convs):
    texts = []
    for c in convs:
        for m in c:
            if m.get("content"):
                texts.append(m["content"])
    texts += ["", " ", "\n\n\n", "hello world", "  leading and trailing  ", "x" * 5000,
              "naïve café — ‘quotes’", "日本語のテキストです。", "🙂👍🏽 emoji", "\u200b\u200d",
              "a <|endoftext|> b", "<|endofprompt|><|endoftext|>",
              "<|fim_prefix|>x<|fim_suffix|>",
              "12345678901234567890", "def f(x):\n    return x ** 2\n", "\r\n\r\n", "a\0b"]
    rng = random.Random(19)
    ranges = [(0x20, 0x7e), (0xa0, 0x24f), (0x370, 0x3ff), (0x400, 0x4ff), (0x4e00, 0x4fff),
              (0x1f300, 0x1f64f), (0x600, 0x6ff), (0x900, 0x97f)]
    for _ in range(600):
        n = rng.randint(1, 60)
        s = []
        for _ in range(n):
            lo, hi = rng.choice(ranges)
            s.append(chr(rng.randint(lo, hi)) if rng.random() < 0.8 else rng.choice(" \n\t.,'"))
        texts.append("".join(s))
    return texts


def outcome(fn):
    try:
        return ("ok", fn())
    except ValueError:
        return ("ValueError", None)


def check_tiktoken(texts):
    import tiktoken
    for name in ("o200k_base", "cl100k_base"):
        ours, theirs = tokenomy.get_encoding(name), tiktoken.get_encoding(name)
        if ours.n_vocab != theirs.n_vocab:
            failures.append("%s n_vocab %d vs %d" % (name, ours.n_vocab, theirs.n_vocab))
        if ours.special_tokens_set != theirs.special_tokens_set:
            failures.append("%s special tokens differ" % name)
        cases = [
            ("encode", {}),
            ("encode", {"allowed_special": "all"}),
            ("encode", {"allowed_special": {"<|endoftext|>"}}),
            ("encode", {"allowed_special": {"<|endoftext|>"}, "disallowed_special": ()}),
            ("encode", {"disallowed_special": ()}),
            ("encode_ordinary", {}),
        ]
        for meth, kw in cases:
            agree, diffs = 0, Counter()
            for t in texts:
                a = outcome(lambda: getattr(ours, meth)(t, **kw))
                b = outcome(lambda: getattr(theirs, meth)(t, **kw))
                if a == b:
                    agree += 1
                else:
                    diffs["%s vs %s" % (a[0], b[0]) if a[0] != b[0] else "ids"] += 1
            report("%s %s(%s)" % (name, meth, ",".join("%s=%s" % (k, "all" if v == "all" else
                                                                   sorted(v)) for k, v in
                                                        kw.items())), agree, len(texts), diffs)
            if diffs:
                failures.append("%s %s %r: %d differ" % (name, meth, kw, sum(diffs.values())))
        agree = 0
        for t in texts:
            ids = theirs.encode_ordinary(t)
            agree += ours.decode(ids) == theirs.decode(ids)
        report("%s decode" % name, agree, len(texts), Counter())
        if agree != len(texts):
            failures.append("%s decode" % name)
        batch = texts[:200]
        if ours.encode_batch(batch) != theirs.encode_batch(batch):
            failures.append("%s encode_batch" % name)
        print("%-52s %s" % ("%s encode_batch (200 texts)" % name,
                            "same" if "%s encode_batch" % name not in failures else "differs"))


# litellm counts with tiktoken; models it maps to another tokenizer (Hugging
# Face files for Claude 2, Llama, Cohere...) are out of scope and not probed.
MODELS = ["gpt-4o", "gpt-4o-mini", "gpt-4", "gpt-3.5-turbo", "gpt-4.1", "o3-mini", "gpt-5",
          "claude-3-5-sonnet-20240620", "claude-sonnet-4-5", "gemini/gemini-2.5-flash", ""]


def unchunked(litellm):
    """litellm counts text in fixed-size character chunks
    (TIKTOKEN_ENCODE_CHUNK_SIZE_CHARS), which splits words at the chunk
    boundaries and overcounts long texts against tiktoken's own count.  This
    turns the chunking off (one chunk), leaving litellm's accounting as it is."""
    from litellm.litellm_core_utils import token_counter as tc
    fn = tc._get_tiktoken_count_function
    saved = fn.__defaults__
    fn.__defaults__ = (1 << 62,)
    return lambda: setattr(fn, "__defaults__", saved)


def check_token_counter(convs):
    import litellm
    import tiktoken
    cases = []
    for c in convs[:40]:
        for cut in (2, 5, len(c)):
            for model in MODELS:
                cases.append((model, {"messages": c[:cut]}))
    for t in corpus_texts[:100]:
        for model in ("gpt-4o", "gpt-4", ""):
            cases.append((model, {"text": t}))
    ours = [tokenomy.token_counter(model=m, **kw) for m, kw in cases]
    as_is = [litellm.token_counter(model=m, **kw) for m, kw in cases]
    restore = unchunked(litellm)
    try:
        exact = [litellm.token_counter(model=m, **kw) for m, kw in cases]
    finally:
        restore()
    results = []
    for label, theirs in (("token_counter vs litellm.token_counter", as_is),
                          ("token_counter vs litellm.token_counter, unchunked", exact)):
        agree, diffs = 0, Counter()
        for (m, kw), a, b in zip(cases, ours, theirs):
            if a == b:
                agree += 1
                continue
            kind = "messages" if "messages" in kw else "text"
            diffs["%s %s (tokenomy %+d)" % (m or "(no model)", kind, a - b)] += 1
        report(label, agree, len(cases), diffs)
        results.append((agree, len(cases), diffs))
    bad_text = [(m, kw) for (m, kw), a, c in zip(cases, ours, exact) if "text" in kw and a != c]
    if bad_text:
        failures.append("token_counter(text=) differs from litellm's unchunked count on %d texts"
                        % len(bad_text))
    # where they differ as is, is litellm's chunking the whole reason?
    chunking = sum(1 for a, b, c in zip(ours, as_is, exact) if a != b and a == c)
    print("    of the %d differences, %d are litellm's chunked counting (tokenomy = "
          "tiktoken's count)" % (sum(1 for a, b in zip(ours, as_is) if a != b), chunking))
    return results[1]


USAGES = [
    {"prompt_tokens": 1000, "completion_tokens": 200, "total_tokens": 1200},
    {"prompt_tokens": 12345, "completion_tokens": 1, "total_tokens": 12346},
    {"prompt_tokens": 1, "completion_tokens": 99999, "total_tokens": 100000},
    {"prompt_tokens": 250000, "completion_tokens": 4000, "total_tokens": 254000},
    {"prompt_tokens": 5000, "completion_tokens": 300, "total_tokens": 5300,
     "prompt_tokens_details": {"cached_tokens": 4000}},
]


def check_completion_cost():
    import litellm
    path = os.path.join(os.path.dirname(litellm.__file__),
                        "model_prices_and_context_window_backup.json")
    with open(path) as f:
        table = json.load(f)
    prices = tokenomy.Prices(json.dumps(table), skip_invalid=True)
    models = sorted(k for k, v in table.items()
                    if isinstance(v, dict) and v.get("mode") == "chat"
                    and v.get("litellm_provider") in ("openai", "anthropic")
                    and "input_cost_per_token" in v and "output_cost_per_token" in v)
    agree, total, diffs = 0, 0, Counter()
    for model in models:
        for u in USAGES:
            resp = litellm.ModelResponse(model=model, usage=dict(u))
            try:
                b = litellm.completion_cost(completion_response=resp, model=model)
            except Exception as e:
                diffs["litellm raises %s" % type(e).__name__] += 1
                total += 1
                continue
            total += 1
            try:
                a = tokenomy.completion_cost(usage=u, model=model, prices=prices)
            except tokenomy.TokenomyError as e:
                diffs["tokenomy raises %s" % type(e).__name__] += 1
                continue
            if abs(a - b) <= 1e-9 * max(1.0, abs(b)):
                agree += 1
            else:
                key = "tiered/long-context" if any(
                    "above" in k for k in table[model]) else "other"
                diffs["%s (e.g. %s: %.6g vs %.6g)" % (key, model, a, b)] += 1
    report("completion_cost vs litellm.completion_cost (%d models)" % len(models),
           agree, total, diffs)
    return agree, total, diffs


TRIM_BUDGETS = [100, 250, 500, 1000, 2000, 4000, 8000]
TRIM_SETTINGS = [
    {"strategy": "last"},
    {"strategy": "last", "include_system": True, "start_on": "human"},
    {"strategy": "last", "include_system": True, "end_on": ["human", "tool"]},
    {"strategy": "last", "include_system": True, "allow_partial": True},
    {"strategy": "first"},
    {"strategy": "first", "end_on": "ai"},
    {"strategy": "first", "allow_partial": True},
]


def _trim_key(result, originals):
    """A trimmed list as comparable values: each kept message's index in the
    original list (or its cut content)."""
    out = []
    for m in result:
        i = next((j for j, o in enumerate(originals) if o is m), None)
        c = m["content"] if isinstance(m, dict) else m.content
        out.append(i if i is not None else ("cut", c))
    return out


def check_trim(convs):
    import tiktoken
    from langchain_core.messages import convert_to_messages
    from langchain_core.messages import trim_messages as lc_trim
    from langchain_openai import ChatOpenAI
    enc = tiktoken.get_encoding("o200k_base")

    def text(m):
        c = m.get("content") if isinstance(m, dict) else m.content
        if isinstance(c, list):
            c = "".join(b.get("text", "") if isinstance(b, dict) else b for b in c)
        return c or ""

    def counter(msgs):  # a user's counter, the same function on both sides
        return sum(3 + len(enc.encode(text(m))) for m in msgs) + 3 if msgs else 0
    chat = ChatOpenAI(model="gpt-4o", api_key="unused")
    cases = [(c, b, s) for c in convs for b in TRIM_BUDGETS for s in TRIM_SETTINGS]
    same = [0, 0]
    native, ndiffs = 0, Counter()
    for c, budget, st in cases:
        lc = convert_to_messages(c)
        theirs = _trim_key(lc_trim(lc, max_tokens=budget, token_counter=counter, **st), lc)
        ours = _trim_key(tokenomy.trim_messages(c, max_tokens=budget, token_counter=counter,
                                                **st), c)
        ours_lc = _trim_key(tokenomy.trim_messages(lc, max_tokens=budget, token_counter=counter,
                                                   **st), lc)
        same[0] += ours == theirs
        same[1] += ours_lc == theirs
        theirs = _trim_key(lc_trim(lc, max_tokens=budget,
                                   token_counter=chat.get_num_tokens_from_messages, **st), lc)
        ours = _trim_key(tokenomy.trim_messages(c, max_tokens=budget, token_counter="gpt-4o",
                                                **st), c)
        if ours == theirs:
            native += 1
        else:
            kind = "kept %+d message(s)" % (len(ours) - len(theirs)) if len(ours) != len(
                theirs) else "same length, other cut"
            ndiffs["%s, %s" % (",".join("%s=%s" % kv for kv in sorted(st.items())), kind)] += 1
    report("trim_messages, same counter, message dicts", same[0], len(cases), Counter())
    report("trim_messages, same counter, LangChain messages", same[1], len(cases), Counter())
    report("trim_messages gpt-4o vs ChatOpenAI counter", native, len(cases), ndiffs)
    # why: the two counters message by message (ChatOpenAI's count of one
    # message includes the 3 tokens priming the reply)
    tok = tokenomy.Tokenizer.encoding("o200k_base")
    kinds = {}
    for c in convs:
        _, per = tok.count_conv(c, with_messages=True)
        for m, ours_n, lm in zip(c, per, convert_to_messages(c)):
            kind = m["role"] + (" with tool calls" if m.get("tool_calls") else "")
            kinds.setdefault(kind, []).append(ours_n - (
                chat.get_num_tokens_from_messages([lm]) - 3))
    for kind, d in sorted(kinds.items()):
        print("    per message, %-26s tokenomy - ChatOpenAI: %d same, range %+d..%+d, "
              "mean %+.1f (%d messages)" % (kind, d.count(0), min(d), max(d),
                                            sum(d) / len(d), len(d)))
    if same[0] != len(cases) or same[1] != len(cases):
        failures.append("trim_messages differs from langchain's with the same counter")
    return native, len(cases), ndiffs


if __name__ == "__main__":
    import shutil
    cache = tiktoken_cache(os.environ.get("TKN_RANKS_DIR")
                           or os.path.join(SOURCE_ROOT, ".cache", "ranks"))
    import tiktoken
    import litellm
    print("peers: tiktoken %s, litellm %s" % (tiktoken.__version__ if hasattr(
        tiktoken, "__version__") else "?", getattr(litellm, "__version__", None) or
        __import__("importlib.metadata").metadata.version("litellm")))
    convs = conversations()
    corpus_texts = corpus(convs)
    print("corpus: %d texts (tau-bench trace messages, edge cases, 600 seeded random)"
          % len(corpus_texts))
    check_tiktoken(corpus_texts)
    tc = check_token_counter(convs)
    cc = check_completion_cost()
    check_trim(convs)
    if cc[0] * 100 < cc[1] * 95:
        failures.append("completion_cost agrees on under 95%")
    shutil.rmtree(cache, ignore_errors=True)
    if failures:
        print("FAILED:\n  " + "\n  ".join(failures))
        sys.exit(1)
