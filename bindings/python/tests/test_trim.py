"""trim_messages on its own (tests/peer_agreement.py runs it against
langchain_core's trim_messages on the tau-bench traces)."""
import json
import unittest

import tokenomy

from .util import CONV


def words(msgs):
    """A counter of lists of messages: one token a word, 1 a message."""
    return sum(1 + len((m.get("content") or "").split()) for m in msgs)


MSGS = [
    {"role": "system", "content": "be brief please"},              # 4
    {"role": "user", "content": "one two three"},                  # 4
    {"role": "assistant", "content": "four five"},                 # 3
    {"role": "user", "content": "six seven\neight nine"},          # 5
    {"role": "assistant", "content": "ten\neleven twelve\nthirteen"},  # 5
    {"role": "user", "content": "fourteen"},                       # 2
]


class TrimTest(unittest.TestCase):
    def test_last_keeps_the_newest_that_fit(self):
        out = tokenomy.trim_messages(MSGS, max_tokens=7, token_counter=words)
        self.assertEqual(out, MSGS[4:])
        self.assertIs(out[0], MSGS[4])
        out = tokenomy.trim_messages(MSGS, max_tokens=11, token_counter=words,
                                     include_system=True)
        self.assertEqual(out, [MSGS[0], MSGS[4], MSGS[5]])

    def test_first_keeps_the_oldest(self):
        out = tokenomy.trim_messages(MSGS, max_tokens=11, token_counter=words, strategy="first")
        self.assertEqual(out, MSGS[:3])
        out = tokenomy.trim_messages(MSGS, max_tokens=11, token_counter=words, strategy="first",
                                     end_on="human")
        self.assertEqual(out, MSGS[:2])
        out = tokenomy.trim_messages(MSGS, max_tokens=100, token_counter=words, strategy="first",
                                     end_on=["ai"])
        self.assertEqual(out, MSGS[:5])

    def test_start_on_and_roles(self):
        out = tokenomy.trim_messages(MSGS, max_tokens=12, token_counter=words,
                                     start_on="human")
        self.assertEqual(out, MSGS[3:])
        out = tokenomy.trim_messages(MSGS, max_tokens=10, token_counter=words,
                                     start_on="human")
        self.assertEqual(out, MSGS[5:])
        out2 = tokenomy.trim_messages(MSGS, max_tokens=10, token_counter=words, start_on="user")
        self.assertEqual(out, out2)

    def test_allow_partial_cuts_on_lines(self):
        out = tokenomy.trim_messages(MSGS, max_tokens=4, token_counter=words,
                                     allow_partial=True)
        self.assertEqual(out[-1], MSGS[5])
        self.assertEqual(out[0]["content"], "thirteen")
        self.assertEqual(MSGS[4]["content"], "ten\neleven twelve\nthirteen")  # a copy was cut
        out = tokenomy.trim_messages(MSGS, max_tokens=14, token_counter=words, strategy="first",
                                     allow_partial=True)
        self.assertEqual(len(out), 4)
        self.assertEqual(out[3]["content"], "six seven\n")

    def test_per_message_counter(self):
        def one(m: "BaseMessage") -> int:  # noqa: F821 -- langchain's way of saying so
            return 1 + len((m.get("content") or "").split())
        self.assertEqual(tokenomy.trim_messages(MSGS, max_tokens=7, token_counter=one),
                         tokenomy.trim_messages(MSGS, max_tokens=7, token_counter=words))

    def test_native_count_fits_and_is_longest(self):
        msgs = json.loads(CONV)
        tok = tokenomy.Tokenizer.estimator()
        total = tok.count_conv(msgs)
        for budget in range(0, total + 5):
            out = tokenomy.trim_messages(msgs, max_tokens=budget, token_counter=tok)
            n = len(out)
            self.assertEqual(out, msgs[len(msgs) - n:])
            if n:
                self.assertLessEqual(tok.count_conv(out), budget)
            if n < len(msgs):
                self.assertGreater(tok.count_conv(msgs[len(msgs) - n - 1:]), budget)

    def test_model_name(self):
        try:
            out = tokenomy.trim_messages(json.loads(CONV), max_tokens=30, token_counter="gpt-4o",
                                         include_system=True)
        except tokenomy.UnsupportedError:
            self.skipTest("library built without the BPE ranks")
        self.assertEqual(out[0]["role"], "system")
        with self.assertRaises(ValueError):
            tokenomy.trim_messages(MSGS, max_tokens=5, token_counter="no-such-model")

    def test_misuse(self):
        with self.assertRaises(ValueError):
            tokenomy.trim_messages(MSGS, max_tokens=5, token_counter=words, strategy="first",
                                   include_system=True)
        with self.assertRaises(ValueError):
            tokenomy.trim_messages(MSGS, max_tokens=5, token_counter=words, strategy="middle")
        with self.assertRaises(TypeError):
            tokenomy.trim_messages("hello", max_tokens=5, token_counter=words)
        with self.assertRaises(TypeError):
            tokenomy.trim_messages([1, 2], max_tokens=5, token_counter=words)
        with self.assertRaises(TypeError):
            tokenomy.trim_messages(MSGS, max_tokens="5", token_counter=words)
        with self.assertRaises(TypeError):
            tokenomy.trim_messages(MSGS, max_tokens=5, token_counter=42)
        self.assertEqual(tokenomy.trim_messages([], max_tokens=5, token_counter=words), [])

    def test_without_messages_a_trimmer(self):
        t = tokenomy.trim_messages(max_tokens=7, token_counter=words)
        run = getattr(t, "invoke", t)
        self.assertEqual(run(MSGS), MSGS[4:])


if __name__ == "__main__":
    unittest.main()
