"""Native lists and dicts beside JSON text; the tiktoken-shaped Encoding on
its own (tests/peer_agreement.py checks it against tiktoken itself)."""
import json
import unittest

import tokenomy

from .util import CONV


class ListsTest(unittest.TestCase):
    def test_conversation_from_and_to_lists(self):
        msgs = json.loads(CONV)
        c = tokenomy.Conversation(msgs)
        self.assertEqual(len(c), 5)
        self.assertEqual(c[1]["content"], msgs[1]["content"])
        self.assertEqual(c[-1]["role"], "assistant")
        self.assertEqual([m["role"] for m in c], [m["role"] for m in msgs])
        self.assertEqual(c.to_list()[3]["tool_call_id"], "call_1")
        self.assertIn("5 messages", repr(c))

    def test_count_conv_takes_a_list(self):
        tok = tokenomy.Tokenizer.estimator()
        msgs = json.loads(CONV)
        with tokenomy.Conversation(CONV) as c:
            self.assertEqual(tok.count_conv(msgs), tok.count_conv(c))
            self.assertEqual(tok.count_conv(msgs, with_messages=True),
                             tok.count_conv(c, with_messages=True))


class EncodingTest(unittest.TestCase):
    def setUp(self):
        try:
            self.enc = tokenomy.encoding_for_model("gpt-4o")
        except tokenomy.UnsupportedError:
            self.skipTest("library built without the BPE ranks")

    def test_shape(self):
        e = self.enc
        self.assertEqual(e.name, "o200k_base")
        self.assertIs(tokenomy.get_encoding("o200k_base"), e)
        self.assertIn("<|endoftext|>", e.special_tokens_set)
        self.assertEqual(e.n_vocab, e.max_token_value + 1)
        self.assertEqual(repr(e), "<Encoding 'o200k_base'>")
        with self.assertRaises(KeyError):
            tokenomy.encoding_for_model("no-such-model-xyz")
        with self.assertRaises(ValueError):
            tokenomy.get_encoding("r50k_base")

    def test_specials(self):
        e, t = self.enc, "a <|endoftext|> b <|endofprompt|>"
        with self.assertRaises(ValueError):
            e.encode(t)
        with self.assertRaises(ValueError):  # only endofprompt disallowed
            e.encode(t, allowed_special={"<|endoftext|>"})
        both = e.encode(t, allowed_special="all")
        self.assertIn(e.eot_token, both)
        one = e.encode(t, allowed_special={"<|endoftext|>"}, disallowed_special=())
        self.assertIn(e.eot_token, one)
        self.assertEqual(e.encode(t, disallowed_special=()), e.encode_ordinary(t))
        self.assertNotIn(e.eot_token, e.encode_ordinary(t))
        for ids in (both, one):
            self.assertEqual(e.decode(ids), t)

    def test_batch_and_bytes(self):
        e = self.enc
        texts = ["hello", "wörld", "", "x" * 3000]
        self.assertEqual(e.encode_batch(texts), [e.encode(t) for t in texts])
        self.assertEqual(e.encode_batch(texts, num_threads=1), [e.encode(t) for t in texts])
        ids = e.encode("é")
        self.assertEqual(e.decode_bytes(ids), "é".encode())


if __name__ == "__main__":
    unittest.main()
