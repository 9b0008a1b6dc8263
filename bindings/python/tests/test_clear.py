"""Mask, clear and the cache-economics policy through Pruner.run."""
import json
import unittest

import tokenomy
from tokenomy import Conversation, Tokenizer

PLACEHOLDER = "[old tool result cleared]"


def tools_conv(uses=5, words=60):
    msgs = [{"role": "system", "content": "You help."}]
    for i in range(uses):
        msgs += [
            {"role": "user", "content": "question %d" % i},
            {"role": "assistant", "content": None, "tool_calls": [{
                "id": "c%d" % i, "type": "function",
                "function": {"name": "lookup" if i == 1 else "get",
                             "arguments": json.dumps({"id": "R%dX" % i})}}]},
            {"role": "tool", "tool_call_id": "c%d" % i,
             "content": " ".join(["record field value"] * words)},
            {"role": "assistant", "content": "answer %d" % i}]
    return Conversation(json.dumps(msgs))


def results(conv):
    return [conv.text(i) for i in range(len(conv)) if conv.role(i) == "tool"]


class ClearTest(unittest.TestCase):
    def test_mask_keeps_the_last_uses_and_the_excluded_tool(self):
        tok = Tokenizer.estimator()
        conv = tools_conv()
        n = len(conv)
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="mask", keep_tool_uses=2,
                                       exclude_tools=["lookup"], placeholder="[gone]")
        self.assertEqual(len(conv), n)
        self.assertEqual([r == "[gone]" for r in results(conv)],
                         [True, False, True, False, False])
        self.assertEqual(rep.cleared_messages, 2)
        self.assertEqual(rep.tokens_before - rep.tokens_after, rep.cleared_tokens)
        self.assertEqual(tok.count_conv(conv), rep.tokens_after)
        self.assertIn(("kept", "excluded"), [m[:2] for m in rep.messages])
        self.assertEqual(rep.decision, "none")

    def test_policy_decides_at_the_prices_given(self):
        tok = Tokenizer.estimator()
        conv = tools_conv(words=300)
        # gpt-4o: 2.50 USD in, 1.25 USD cached, per million tokens (picodollars).
        # Two old results behind three recent ones do not pay at this call
        # alone (the default) ...
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="policy",
                                       price_input_per_mtok=2500000000000,
                                       price_cache_read_per_mtok=1250000000000)
        self.assertEqual(rep.decision, "keep")
        self.assertEqual(rep.expected_saving, 0)
        self.assertNotIn(PLACEHOLDER, results(conv))
        # ... but do by the next call
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="policy",
                                       price_input_per_mtok=2500000000000,
                                       price_cache_read_per_mtok=1250000000000,
                                       horizon_calls=1)
        self.assertEqual(rep.decision, "clear")
        self.assertGreater(rep.expected_saving, rep.clearing_cost)
        self.assertEqual(results(conv)[:2], [PLACEHOLDER] * 2)
        # small results behind a long history: it keeps appending instead
        conv = tools_conv(words=3)
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="policy",
                                       price_input_per_mtok=2500000000000,
                                       price_cache_read_per_mtok=1250000000000)
        self.assertIn(rep.decision, ("keep", "none"))
        self.assertNotIn(PLACEHOLDER, results(conv))

    def test_policy_ledger_risks_only_what_was_saved(self):
        tok = Tokenizer.estimator()
        prices = dict(price_input_per_mtok=2500000000000,
                      price_cache_read_per_mtok=1250000000000, horizon_calls=1)
        # a clear that pays back only by the next call: refused on an empty ledger
        conv = tools_conv(words=300)
        ledger = tokenomy.PruneLedger()
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="policy", ledger=ledger,
                                       **prices)
        self.assertEqual(rep.decision, "keep")
        self.assertGreater(rep.clearing_cost, 0)
        self.assertIn("credit", rep.note)
        self.assertNotIn(PLACEHOLDER, results(conv))
        self.assertEqual((ledger.credit, ledger.cleared, ledger.calls), (0, 0, 1))
        # taken once the conversation's clears have banked its cost
        ledger = tokenomy.PruneLedger(credit=rep.clearing_cost, cleared=0, calls=1)
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=0, mode="policy", ledger=ledger,
                                       **prices)
        self.assertEqual(rep.decision, "clear")
        self.assertEqual(results(conv)[:2], [PLACEHOLDER] * 2)
        self.assertEqual(ledger.credit, 0)
        self.assertGreater(ledger.cleared, 0)
        self.assertEqual(ledger.calls, 2)

    def test_policy_ledger_negative_is_refused(self):
        conv = tools_conv()
        with self.assertRaises(tokenomy.TokenomyError) as cm:
            tokenomy.Pruner(Tokenizer.estimator()).run(
                conv, max_tokens=0, mode="policy", price_input_per_mtok=1,
                ledger=tokenomy.PruneLedger(cleared=-1))
        self.assertIn("ledger->cleared", cm.exception.message)
        with self.assertRaises(TypeError):
            tokenomy.Pruner(Tokenizer.estimator()).run(
                conv, max_tokens=0, mode="policy", price_input_per_mtok=1, ledger=object())

    def test_policy_horizon_growth_by_name(self):
        # "growth" is TKN_PRUNE_HORIZON_GROWTH: the horizon of the C constant
        prices = dict(price_input_per_mtok=2500000000000,
                      price_cache_read_per_mtok=1250000000000)
        reps = []
        for hz in ("growth", tokenomy._ffi.TKN_PRUNE_HORIZON_GROWTH):
            conv = tools_conv(uses=6, words=300)
            rep = tokenomy.Pruner(Tokenizer.estimator()).run(
                conv, max_tokens=0, mode="policy", horizon_calls=hz, **prices)
            reps.append((rep.decision, rep.expected_saving, rep.clearing_cost, conv.to_json()))
        self.assertEqual(reps[0], reps[1])
        self.assertEqual(reps[0][0], "clear")
        with self.assertRaises(TypeError):
            tokenomy.Pruner(Tokenizer.estimator()).run(
                tools_conv(), max_tokens=0, mode="policy", horizon_calls="grow", **prices)

    def test_unknown_mode_or_strategy_is_refused_by_name(self):
        # a misspelt strategy used to trim from the oldest end ("first") silently
        conv = tools_conv()
        before = conv.to_json()
        for kw, field in ((dict(mode="masks"), "mode"), (dict(strategy="lst"), "strategy")):
            with self.assertRaises(ValueError) as cm:
                tokenomy.Pruner(Tokenizer.estimator()).run(conv, max_tokens=50, **kw)
            self.assertIn(field, str(cm.exception))
            self.assertEqual(len(str(cm.exception).splitlines()), 1)
        self.assertEqual(conv.to_json(), before)

    def test_policy_without_a_price_is_refused(self):
        conv = tools_conv()
        with self.assertRaises(tokenomy.TokenomyError) as cm:
            tokenomy.Pruner(Tokenizer.estimator()).run(conv, max_tokens=0, mode="policy")
        self.assertIn("price_input_per_mtok", cm.exception.message)


    def test_score_degrades_instead_of_failing(self):
        tok = Tokenizer.estimator()
        conv = tools_conv(uses=4, words=300)
        before = conv.to_json()
        # the last two turns hold results of 300 words: they alone exceed 400 tokens
        with self.assertRaises(tokenomy.BudgetError):
            tokenomy.Pruner(tok).run(conv, max_tokens=400, mode="score", degrade=False)
        self.assertEqual(conv.to_json(), before)
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=400, mode="score")
        self.assertEqual(rep.decision, "degraded")
        self.assertIn("degraded", rep.note)
        self.assertGreater(rep.cleared_messages, 0)
        self.assertLessEqual(tok.count_conv(conv), 400)
        self.assertIn("user", [conv.role(i) for i in range(len(conv))])
        self.assertIn(("cleared", "budget"), [m[:2] for m in rep.messages])


if __name__ == "__main__":
    unittest.main()
