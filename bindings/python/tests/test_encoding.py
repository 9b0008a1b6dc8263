"""The tiktoken-shaped Encoding's hot path (one ctypes call into a pooled
buffer, special tokens refused by C) against its general path and against
tokenomy.Tokenizer.encode (the checked C call): the same ids, the same
errors, on every size (the pooled buffer and the allocated array), from many
threads at once and re-entered on one thread."""
import random
import threading
import unittest

import tokenomy
from tokenomy import encoding as E
from tokenomy.conv import Tokenizer

SPECIALS = ("<|endoftext|>", "<|endofprompt|>")


def corpus():
    rng = random.Random(20)
    texts = ["", "a", " ", "What is the weather in Paris today?", "héllo wörld 😀",
             "漢字かな交じり文", "def f(x):\n    return x ** 2\n", "\0nul\0", "<|", "|>",
             "<|endoftext", "a <|endoftext|> b", "<|endofprompt|>", "x<|endoftext|>",
             "<|endoftext|><|endofprompt|>"]
    for n in (E._SHORT - 1, E._SHORT, E._SHORT + 1, 3 * E._SHORT):
        texts.append("".join(rng.choice("ab cd\n.é") for _ in range(n))[:n])
    # rare CJK: about one id per byte, the most ids a buffer ever holds
    texts.append("".join(chr(rng.randint(0x20000, 0x2A6DF)) for _ in range(E._SHORT // 4)))
    texts.append(texts[-1] + "<|endoftext|>")
    for _ in range(200):
        texts.append("".join(chr(rng.choice((rng.randint(32, 126), rng.randint(0xA0, 0x2FFF),
                                             rng.randint(0x4E00, 0x9FFF))))
                             for _ in range(rng.randint(0, 60))))
    return texts


def outcome(fn):
    try:
        return ("ok", fn())
    except ValueError as e:
        return ("ValueError", str(e))


class HotPath(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.enc = tokenomy.get_encoding("o200k_base")
            cls.tok = Tokenizer.encoding("o200k_base")
        except tokenomy.UnsupportedError:
            raise unittest.SkipTest("library built without the BPE ranks")
        cls.texts = corpus()

    def test_same_ids_as_the_checked_call(self):
        e, tok = self.enc, self.tok
        for t in self.texts:
            with self.subTest(text=t[:40], n=len(t)):
                has = any(s in t for s in SPECIALS)
                self.assertEqual(e.encode_ordinary(t), tok.encode(t, "plain"))
                self.assertEqual(e.encode(t, disallowed_special=()), tok.encode(t, "plain"))
                self.assertEqual(e.encode(t, allowed_special="all"), tok.encode(t, "allow"))
                self.assertEqual(e.count(t, allowed_special="all"), len(tok.encode(t, "allow")))
                self.assertEqual(e.count(t, disallowed_special=()), len(tok.encode(t, "plain")))
                if has:
                    with self.assertRaises(ValueError):
                        e.encode(t)
                    with self.assertRaises(ValueError):
                        e.count(t)
                else:
                    self.assertEqual(e.encode(t), tok.encode(t, "plain"))
                    self.assertEqual(e.count(t), len(tok.encode(t, "plain")))
                self.assertEqual(e.encode_ordinary(t.encode()), e.encode_ordinary(t))
                if not has:
                    self.assertEqual(e.encode(t.encode()), e.encode(t))

    def test_same_outcomes_as_the_general_path(self):
        e = self.enc
        kws = ({}, {"allowed_special": "all"}, {"disallowed_special": ()},
               {"allowed_special": {"<|endoftext|>"}, "disallowed_special": ()},
               {"allowed_special": {"<|endoftext|>"}})
        for t in self.texts[:40] + ["a\ud800b", "<|endoftext|>\udfff"]:
            for kw in kws:
                with self.subTest(text=t[:40], kw=kw):
                    general = outcome(lambda: e._encode_general(
                        t, kw.get("allowed_special", frozenset()),
                        kw.get("disallowed_special", "all")))
                    self.assertEqual(outcome(lambda: e.encode(t, **kw)), general)
                    self.assertEqual(outcome(lambda: e.count(t, **kw)),
                                     (general[0], len(general[1])) if general[0] == "ok"
                                     else general)

    def test_errors(self):
        e = self.enc
        with self.assertRaisesRegex(ValueError, "disallowed special token '<\\|endofprompt\\|>'"):
            e.encode("a <|endofprompt|> b <|endoftext|>")
        with self.assertRaisesRegex(ValueError, "'<\\|endoftext\\|>'"):
            e.count("x" * (2 * E._SHORT) + "<|endoftext|>")
        for f in (e.encode, e.encode_ordinary, e.count):
            with self.subTest(f=f.__name__):
                with self.assertRaises(tokenomy.Utf8Error):
                    f("a\ud800b")  # a lone surrogate: not UTF-8
                with self.assertRaises(tokenomy.Utf8Error):
                    f(b"\xff")
                for bad in (None, 5, 1.5, ["a"]):
                    with self.assertRaises(TypeError):
                        f(bad)

    def test_threads(self):
        e, texts = self.enc, self.texts
        want = [e.encode_ordinary(t) for t in texts]
        counts = [len(w) for w in want]
        bad = []

        def work(seed):
            rng = random.Random(seed)
            for _ in range(300):
                i = rng.randrange(len(texts))
                if e.encode_ordinary(texts[i]) != want[i] or \
                        e.count(texts[i], disallowed_special=()) != counts[i]:
                    bad.append(i)
        ts = [threading.Thread(target=work, args=(s,)) for s in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])
        self.assertEqual(e.encode_ordinary_batch(texts, num_threads=4), want)

    def test_reentered_on_one_thread(self):
        # another encode on the same thread between the C call and the read
        # of its result, as a signal handler can run there: it must not
        # touch the outer call's buffer
        e = self.enc
        outer, inner = "What is the weather in Paris today?", "漢字 " * 20
        want_outer, want_inner = e.encode(outer), e.encode(inner)
        real, got_inner = E._ENCODE, []

        def reentering(*args):
            st = real(*args)
            if not got_inner:
                got_inner.append(None)
                got_inner.append(e.encode(inner))
            return st
        E._ENCODE = reentering
        try:
            got = e.encode(outer)
        finally:
            E._ENCODE = real
        self.assertEqual(got_inner, [None, want_inner])
        self.assertEqual(got, want_outer)

    def test_closing_the_tokenizer_leaves_the_encoding(self):
        e = E.Encoding("cl100k_base")  # not the shared one
        want = e.encode("hello world")
        e.tokenizer.close()
        with self.assertRaises(ValueError):
            e.tokenizer.count("x")
        self.assertEqual(e.encode("hello world"), want)
        self.assertEqual(e.count("hello world"), len(want))
        self.assertEqual(e.decode(want), "hello world")


class TokenizerCount(unittest.TestCase):
    """Tokenizer.count's hot path (one C call, its cells from a pool)."""

    def test_reentered_from_a_callback(self):
        # a callback tokenizer whose callback counts with another tokenizer:
        # the inner count runs inside the outer C call
        est = Tokenizer.estimator()
        inner = "lorem ipsum dolor sit amet " * 7
        want_inner = est.count(inner)
        seen = []

        def cb(text):
            seen.append(est.count(inner))
            return 1000 + len(text)
        tok = Tokenizer.from_callback(cb)
        self.assertEqual(tok.count("abc"), 1003)
        self.assertEqual(seen, [want_inner])

        def failing(text):
            raise KeyError("from the callback")
        with self.assertRaises(KeyError):
            Tokenizer.from_callback(failing).count("x")

    def test_threads_and_types(self):
        tok = Tokenizer.estimator()
        texts = ["x" * i + " word" * (i % 7) for i in range(200)]
        want = [tok.count(t) for t in texts]
        bad = []

        def work(seed):
            rng = random.Random(seed)
            for _ in range(500):
                i = rng.randrange(len(texts))
                if tok.count(texts[i]) != want[i]:
                    bad.append(i)
        ts = [threading.Thread(target=work, args=(s,)) for s in range(8)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(bad, [])
        self.assertEqual(tok.count(b"hello"), tok.count("hello"))
        for bad_arg in (None, 3, ["a"]):
            with self.assertRaises(TypeError):
                tok.count(bad_arg)
        with self.assertRaises(tokenomy.Utf8Error):
            tok.count(b"\xff")


if __name__ == "__main__":
    unittest.main()
