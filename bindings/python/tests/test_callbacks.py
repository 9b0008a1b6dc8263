"""An exception raised in a Python callback becomes an error status in C and
is raised again to the caller: never a crash, never swallowed."""
import unittest

import tokenomy
from tokenomy import Conversation, Tokenizer

from .util import CONV


class Boom(Exception):
    pass


def boom(*args):
    raise Boom("from python")


class CallbackErrorTest(unittest.TestCase):
    def assertReraised(self, cm, status=tokenomy.ffi.TKN_ERR_CALLBACK):
        self.assertEqual(str(cm.exception), "from python")
        self.assertIsInstance(cm.exception.__cause__, tokenomy.TokenomyError)
        self.assertEqual(cm.exception.__cause__.status, status)

    def test_tokenizer_count(self):
        tok = Tokenizer.from_callback(boom)
        with self.assertRaises(Boom) as cm:
            tok.count("text")
        self.assertReraised(cm)

    def test_tokenizer_inside_a_conversation_count(self):
        conv = Conversation(CONV)
        with self.assertRaises(Boom) as cm:
            Tokenizer.from_callback(boom).count_conv(conv)
        self.assertReraised(cm)
        self.assertIn("messages[0]", cm.exception.__cause__.message)

    def test_tokenizer_reached_through_the_tool_cache(self):
        c = tokenomy.ToolCache(tokenizer=Tokenizer.from_callback(boom))
        c.set_policy("t")
        with self.assertRaises(Boom):
            c.put("t", {}, "value", scope_id="s", tokens=-1)
        self.assertEqual(c.stats().entries, 0)

    def test_callback_returning_garbage_fails_cleanly(self):
        tok = Tokenizer.from_callback(lambda s: -5)
        with self.assertRaises(ValueError):
            tok.count("x")

    def test_the_next_call_is_not_affected(self):
        calls = []

        def flaky(s):
            calls.append(s)
            if len(calls) == 1:
                raise Boom("from python")
            return 7
        tok = Tokenizer.from_callback(flaky)
        with self.assertRaises(Boom):
            tok.count("a")
        self.assertEqual(tok.count("a"), 7)

    def test_prune_score_leaves_the_conversation_untouched(self):
        conv = Conversation(CONV)
        before = conv.to_json()
        with self.assertRaises(Boom) as cm:
            tokenomy.Pruner(Tokenizer.estimator()).run(conv, 50, mode="score", score=boom,
                                                        keep_last_turns=0)
        self.assertReraised(cm)
        self.assertEqual(conv.to_json(), before)

    def test_prune_summariser_failure_is_on_the_report(self):
        conv = Conversation(CONV)
        conv.insert(1, "user", "old question " * 20)
        rep = tokenomy.Pruner(Tokenizer.estimator()).run(
            conv, 100, mode="summarise", summarise=boom, keep_last_turns=1, summary_max_tokens=20)
        self.assertEqual(rep.summary, "failed")
        self.assertIsInstance(rep.summary_error, Boom)

    def test_router_comparator_and_scorer(self):
        r = tokenomy.Router({"tiers": [{"name": "a", "models": ["m"], "threshold": 0.5},
                                       {"name": "b", "models": ["n"]}],
                             "rules": [{"tier": "a", "shadow_rate": 1}]})
        with self.assertRaises(Boom) as cm:
            r.shadow_compare(0, "x", "y", boom)
        self.assertReraised(cm)
        self.assertEqual(r.shadow_stats(0)[1], 0)
        c = r.cascade(score=boom)
        c.next()
        with self.assertRaises(Boom):
            c.report("answer")
        self.assertEqual(c.attempts, 0)

    def test_clock_exception_is_raised_after_the_call(self):
        r = tokenomy.Router({"tiers": [{"name": "a", "models": ["m"]}]}, clock=boom)
        with self.assertRaises(Boom):
            for _ in range(10):
                r.report_failure("m", "server")

    def test_budget_limit_callback(self):
        b = tokenomy.Budget(hard_tokens=10, on_limit=boom)
        with self.assertRaises(Boom):
            b.charge(input_tokens=10)
        self.assertEqual(b.status().tokens_committed, 10)  # the charge itself went through

    def test_batch_writer_sink(self):
        w = tokenomy.BatchWriter(write=boom)
        with self.assertRaises(Boom) as cm:
            w.add("a", {"model": "m"})
        self.assertReraised(cm, tokenomy.ffi.TKN_ERR_IO)
        with self.assertRaises(tokenomy.StateError):
            w.add("b", {"model": "m"})

    def test_batch_reader_result_callback(self):
        r = tokenomy.BatchReader(on_result=boom)
        r.expect("r1")
        with self.assertRaises(Boom) as cm:
            r.feed('{"custom_id":"r1","response":{"status_code":200,"body":{}},"error":null}\n')
        self.assertReraised(cm)

    def test_keyboard_interrupt_in_a_callback_also_comes_back(self):
        def interrupt(s):
            raise KeyboardInterrupt
        with self.assertRaises(KeyboardInterrupt):
            Tokenizer.from_callback(interrupt).count("x")


if __name__ == "__main__":
    unittest.main()
