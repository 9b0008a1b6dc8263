import ctypes
import gc
import json
import threading
import unittest

import tokenomy
from tokenomy import Conversation, Tokenizer

from .util import CONV


class ConversationTest(unittest.TestCase):
    def setUp(self):
        self.conv = Conversation(CONV)

    def tearDown(self):
        self.conv.close()

    def test_reads_messages_roles_names_and_tool_calls(self):
        c = self.conv
        self.assertEqual(len(c), 5)
        self.assertEqual([c.role(i) for i in range(5)],
                         ["system", "user", "assistant", "tool", "assistant"])
        self.assertEqual(c.name(1), "ann")
        self.assertIsNone(c.name(0))
        self.assertEqual(c.tool_calls(2), [tokenomy.ToolCall("call_1", "weather", '{"city":"Paris"}')])
        self.assertEqual(c.tool_call_id(3), "call_1")
        self.assertEqual(c.find_tool_call("call_1"), 2)
        self.assertEqual(c.find_tool_result("call_1"), 3)
        self.assertEqual(c.text(-1), "18C and cloudy.")
        self.assertEqual(c.source_format, "openai")

    def test_unknown_tool_call_id_raises_not_found(self):
        with self.assertRaises(tokenomy.NotFoundError):
            self.conv.find_tool_call("nope")

    def test_index_out_of_range_raises_index_error(self):
        with self.assertRaises(IndexError):
            self.conv.text(5)

    def test_converts_to_anthropic_and_back(self):
        a = json.loads(self.conv.to_json("anthropic"))
        self.assertEqual(a["system"], "You are terse.")
        self.assertEqual(a["messages"][1]["content"][0]["type"], "tool_use")
        back = Conversation(json.dumps(a))
        self.assertEqual(back.source_format, "anthropic")
        self.assertEqual(back.role(0), "system")
        self.assertEqual(back.tool_calls(2)[0].id, "call_1")

    def test_text_round_trips_non_ascii_and_embedded_nul_free_utf8(self):
        c = Conversation()
        c.append("user", "naïve 日本語 😀")
        self.assertEqual(c.text(0), "naïve 日本語 😀")
        self.assertEqual(json.loads(c.to_json())[0]["content"], "naïve 日本語 😀")

    def test_editing_changes_the_written_json(self):
        c = self.conv
        c.set_text(4, "Cloudy.")
        c.set_pinned(1)
        c.remove(0)
        c.append_json('{"role":"user","content":"thanks"}')
        out = json.loads(c.to_json())
        self.assertEqual(out[3]["content"], "Cloudy.")
        self.assertEqual(out[-1]["content"], "thanks")
        self.assertTrue(c.pinned(0))

    def test_filter_keeps_the_marked_messages(self):
        self.conv.filter([True, False, False, False, True])
        self.assertEqual([self.conv.role(i) for i in range(len(self.conv))], ["system", "assistant"])

    def test_tool_message_without_id_cannot_be_written(self):
        c = Conversation()
        c.append("tool", "result")
        with self.assertRaises(tokenomy.StateError) as cm:
            c.to_json()
        self.assertTrue(cm.exception.message)

    def test_bad_utf8_bytes_are_refused(self):
        with self.assertRaises(tokenomy.Utf8Error):
            Conversation().append("user", b"\xff\xfe")

    def test_clone_is_independent(self):
        d = self.conv.clone()
        d.remove(0)
        self.assertEqual(len(self.conv), 5)
        self.assertEqual(len(d), 4)


class TokenizerTest(unittest.TestCase):
    def test_conversation_total_is_its_messages_plus_priming(self):
        tok = Tokenizer.estimator()
        conv = Conversation(CONV)
        total, per = tok.count_conv(conv, with_messages=True)
        self.assertEqual(total, sum(per) + 3)
        self.assertEqual(per[1], tok.count_message(conv, 1))
        self.assertEqual(tok.count_conv(conv, reply_priming=0, per_message=0, per_name=0,
                                        per_tool_call=0), total - 3 - 5 * 3 - 1 - 3)

    def test_message_count_follows_the_documented_formula(self):
        tok = Tokenizer.estimator()
        conv = Conversation(CONV)
        want = 3 + tok.count("user") + tok.count("What is the weather in Paris?") + tok.count("ann") + 1
        self.assertEqual(tok.count_message(conv, 1), want)

    def test_negative_overhead_is_invalid(self):
        with self.assertRaises(tokenomy.InvalidError):
            Tokenizer.estimator().count_conv(Conversation(CONV), per_message=-1)

    def test_callback_tokenizer_counts_with_python(self):
        words = Tokenizer.from_callback(lambda s: len(s.split()))
        self.assertEqual(words.name, "callback")
        self.assertEqual(words.count("one two three"), 3)
        conv = Conversation('[{"role":"user","content":"a b c d"}]')
        self.assertEqual(words.count_conv(conv), 3 + 1 + 4 + 3)

    def test_estimator_calibrated_for_an_encoding(self):
        text = "The quick brown fox jumps over the lazy dog. " * 20
        a = Tokenizer.estimator("cl100k_base").count(text)
        b = Tokenizer.estimator("o200k_base").count(text)
        self.assertGreater(a, 0)
        self.assertGreater(b, 0)
        with self.assertRaises(tokenomy.NotFoundError):
            Tokenizer.estimator("no_such_encoding")

    def test_estimator_rejects_invalid_utf8(self):
        with self.assertRaises(tokenomy.Utf8Error):
            Tokenizer.estimator().count(b"ok \xc3")

    def test_one_tokenizer_counts_from_many_threads(self):
        tok = Tokenizer.estimator()
        text = "The quick brown fox jumps over the lazy dog. " * 50
        want = tok.count(text)
        got = []

        def work():
            got.append(all(tok.count(text) == want for _ in range(200)))
        ts = [threading.Thread(target=work) for _ in range(4)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        self.assertEqual(got, [True] * 4)


class HandleTest(unittest.TestCase):
    def test_close_twice_is_harmless_and_use_after_close_raises(self):
        tok = Tokenizer.estimator()
        tok.close()
        tok.close()
        self.assertTrue(tok.closed)
        with self.assertRaisesRegex((ValueError, ctypes.ArgumentError), "closed"):
            tok.count("x")

    def test_context_manager_closes(self):
        with Conversation(CONV) as c:
            self.assertEqual(len(c), 5)
        self.assertTrue(c.closed)

    def test_garbage_collection_frees_without_error(self):
        for _ in range(100):
            Tokenizer.from_callback(len).count("abc")
            Conversation(CONV)
        gc.collect()

    def test_borrowed_objects_outlive_their_python_names(self):
        tok = Tokenizer.from_callback(lambda s: len(s))
        pruner = tokenomy.Pruner(tok)
        del tok
        gc.collect()
        conv = Conversation(CONV)
        rep = pruner.run(conv, max_tokens=10 ** 6)
        self.assertEqual(rep.dropped, [])


if __name__ == "__main__":
    unittest.main()
