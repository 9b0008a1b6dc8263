#!/usr/bin/env python3
"""The framework hooks against the real packages (meson test python-hooks,
run by tests/peer-run.sh in the virtualenv holding litellm and langchain-core
at pinned versions): the LiteLLM callback through litellm.completion and
acompletion with mock_response (no network), the LangChain trimmer in a real
chain beside langchain's own trimmer, and the two example files as written."""
import asyncio
import os
import subprocess
import sys
import time
import unittest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, ROOT)
import litellm  # noqa: E402

import tokenomy  # noqa: E402
from tokenomy.integrations.litellm import TokenomyCallback  # noqa: E402

MSGS = [{"role": "user", "content": "Name one airline alliance."}]
# litellm's mock responses report 10 prompt and 20 completion tokens
MOCK_IN, MOCK_OUT = 10, 20


def reset_callbacks():
    """litellm copies litellm.callbacks into lists of its own: empty them all
    so one test's callback does not see the next test's calls."""
    mgr = getattr(litellm, "logging_callback_manager", None)
    if mgr is not None and hasattr(mgr, "_reset_all_callbacks"):
        mgr._reset_all_callbacks()
    litellm.callbacks = []


def settle(cb, n=None):
    """LiteLLM logs in a thread or task of its own: wait until it has."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if not cb.open_reservations and (n is None or cb.committed + cb.released >= n):
            return
        time.sleep(0.01)
    raise AssertionError("litellm never logged the call: %r" % cb)


async def asettle(cb, n):
    for _ in range(3000):
        if not cb.open_reservations and cb.committed + cb.released >= n:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("litellm never logged the call: %r" % cb)


class LiteLLMTest(unittest.TestCase):
    def setUp(self):
        reset_callbacks()
        self.prices = tokenomy.Prices()
        self.cost = self.prices.cost("gpt-4o", tokenomy.Usage(input_tokens=MOCK_IN,
                                                              output_tokens=MOCK_OUT))

    def tearDown(self):
        reset_callbacks()

    def test_sync_commits_meters_and_releases(self):
        budget, meter = tokenomy.Budget(hard_tokens=10000), tokenomy.Meter()
        cb = TokenomyCallback(budget=budget, meter=meter, prices=self.prices)
        litellm.callbacks = [cb]
        r = litellm.completion(model="gpt-4o", messages=MSGS, max_tokens=50,
                               mock_response="Star Alliance.")
        self.assertEqual(r.choices[0].message.content, "Star Alliance.")
        settle(cb, 1)
        st = budget.status()
        self.assertEqual((st.tokens_committed, st.tokens_reserved), (MOCK_IN + MOCK_OUT, 0))
        self.assertEqual(st.money_committed, self.cost.total)
        s = meter.stats()
        self.assertEqual((s.calls, s.successes, s.input_tokens, s.output_tokens, s.cost),
                         (1, 1, MOCK_IN, MOCK_OUT, self.cost.total))
        with self.assertRaises(Exception):
            litellm.completion(model="gpt-4o", messages=MSGS, mock_response=Exception("boom"))
        settle(cb, 2)
        self.assertEqual(cb.released, 1)
        st = budget.status()
        self.assertEqual((st.tokens_committed, st.tokens_reserved), (MOCK_IN + MOCK_OUT, 0))
        self.assertEqual((meter.stats().calls, meter.stats().successes), (2, 1))

    def test_sync_refusal_is_counted_and_check_raises(self):
        budget = tokenomy.Budget(hard_tokens=100)
        cb = TokenomyCallback(budget=budget)
        litellm.callbacks = [cb]
        with self.assertRaises(tokenomy.BudgetError):
            cb.check("gpt-4o", MSGS, max_tokens=500)
        # litellm catches what log_pre_api_call raises: the call goes ahead,
        # the refusal is counted and what it used is charged
        litellm.completion(model="gpt-4o", messages=MSGS, max_tokens=500, mock_response="x")
        settle(cb, 1)
        self.assertEqual(cb.refused, 1)
        self.assertEqual(budget.status().tokens_committed, MOCK_IN + MOCK_OUT)

    def test_async_refusal_stops_the_call(self):
        budget, meter = tokenomy.Budget(hard_tokens=200), tokenomy.Meter()
        cb = TokenomyCallback(budget=budget, meter=meter, prices=self.prices)
        litellm.callbacks = [cb]

        async def run():
            got = []
            for i in range(5):
                try:
                    r = await litellm.acompletion(model="gpt-4o", messages=MSGS, max_tokens=100,
                                                  mock_response="ok %d" % i)
                    got.append(r.choices[0].message.content)
                except tokenomy.BudgetError:
                    got.append(None)
                await asettle(cb, len([g for g in got if g]))
            return got
        got = asyncio.run(run())
        # each call reserves its input (12 tokens) + 100 and commits 30
        self.assertEqual(got, ["ok 0", "ok 1", "ok 2", None, None])
        self.assertEqual(cb.refused, 2)
        st = budget.status()
        self.assertEqual((st.tokens_committed, st.tokens_reserved), (3 * (MOCK_IN + MOCK_OUT), 0))
        self.assertEqual(st.money_committed, 3 * self.cost.total)
        self.assertEqual(meter.stats().successes, 3)

    def test_proxy_hook_reserves_and_refuses(self):
        budget = tokenomy.Budget(hard_tokens=150)
        cb = TokenomyCallback(budget=budget, default_output_tokens=100)
        data = {"model": "gpt-4o", "messages": MSGS, "litellm_call_id": "a"}
        asyncio.run(cb.async_pre_call_hook(None, None, data, "completion"))
        self.assertEqual(cb.open_reservations, ["a"])
        self.assertGreater(budget.status().tokens_reserved, 100)
        with self.assertRaises(tokenomy.BudgetError):
            asyncio.run(cb.async_pre_call_hook(None, None, dict(data, litellm_call_id="b"),
                                               "completion"))
        cb.log_failure_event({"litellm_call_id": "a", "model": "gpt-4o"}, None, None, None)
        self.assertEqual(budget.status().tokens_reserved, 0)

    def test_misuse(self):
        with self.assertRaises(TypeError):
            TokenomyCallback(budget=tokenomy.Meter())
        with self.assertRaises(TypeError):
            TokenomyCallback(meter="m")
        self.assertIn("TokenomyCallback", repr(TokenomyCallback()))


class LangChainTest(unittest.TestCase):
    def test_chain_trims_as_langchain(self):
        from langchain_core.messages import trim_messages as lc_trim
        from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
        from langchain_core.runnables import RunnableLambda
        from tokenomy.integrations.langchain import message_trimmer
        import tiktoken  # noqa: F401  (the counter below)
        history = []
        for i in range(30):
            history += [("human", "question %d about flight %d" % (i, i * 7)),
                        ("ai", "answer %d: two bags\nof 23 kg" % i)]
        prompt = ChatPromptTemplate.from_messages([
            ("system", "Be brief."), MessagesPlaceholder("h"), ("human", "{q}")])

        def words(msgs):
            return sum(2 + len(str(m.content).split()) for m in msgs)
        ident = RunnableLambda(lambda m: m)
        for kw in ({"include_system": True, "start_on": "human"},
                   {"strategy": "first", "allow_partial": True},
                   {"allow_partial": True, "end_on": "human"}):
            for budget in (20, 60, 200):
                ours = prompt | message_trimmer(max_tokens=budget, token_counter=words,
                                                **kw) | ident
                theirs = prompt | lc_trim(max_tokens=budget, token_counter=words, **kw) | ident
                inp = {"h": history, "q": "and flight 9?"}
                self.assertEqual(ours.invoke(inp), theirs.invoke(inp), (kw, budget))
                self.assertEqual(ours.batch([inp, inp]), theirs.batch([inp, inp]))
        native = prompt | message_trimmer(max_tokens=60, token_counter="gpt-4o",
                                          include_system=True, start_on="human")
        out = native.invoke({"h": history, "q": "and flight 9?"})
        self.assertEqual(out[0].type, "system")
        self.assertEqual(out[1].type, "human")
        self.assertLessEqual(tokenomy.token_counter(
            model="gpt-4o", messages=[{"role": {"human": "user", "ai": "assistant"}.get(
                m.type, m.type), "content": m.content} for m in out]), 60 + 3)
        with self.assertRaises(ValueError):
            message_trimmer(max_tokens=5, strategy="first", include_system=True)


class ExamplesTest(unittest.TestCase):
    def run_example(self, name):
        env = dict(os.environ, PYTHONPATH=ROOT)
        p = subprocess.run([sys.executable, os.path.join(ROOT, "examples", name)],
                           capture_output=True, text=True, env=env, timeout=600)
        self.assertEqual(p.returncode, 0, p.stderr[-2000:])
        return p.stdout

    def test_litellm_budget(self):
        out = self.run_example("litellm_budget.py").splitlines()
        self.assertEqual(out[:3], ["call 1: Star Alliance.", "call 2: Star Alliance.",
                                   "call 3: Star Alliance."])
        self.assertTrue(out[3].startswith("call 4: refused (hard token limit 200"), out[3])
        self.assertIn("metered 5 calls (3 succeeded), 30 input + 60 output tokens", out[5])
        self.assertEqual(out[6], "budget: 90 tokens committed, 0 reserved, 2 refused")

    def test_langchain_trim(self):
        out = self.run_example("langchain_trim.py").splitlines()
        self.assertRegex(out[0], r"^prompt: 42 messages; sent to the model: \d+, starting "
                                 r"with system then human$")
        self.assertEqual(out[1], "reply: Two bags.")


if __name__ == "__main__":
    unittest.main(verbosity=2)
