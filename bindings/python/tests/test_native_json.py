"""Everywhere JSON text is taken, the Python value is taken too (dicts,
lists, SDK objects with model_dump), with the same result as the text."""
import json
import unittest

import tokenomy


class FakeSDKUsage:
    """What an OpenAI / litellm usage object offers: model_dump()."""

    def __init__(self, **kw):
        self.kw = kw

    def model_dump(self):
        return dict(self.kw)


USAGE = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
         "prompt_tokens_details": {"cached_tokens": 100}}


class NativeJSONTest(unittest.TestCase):
    def test_usage(self):
        text = tokenomy.Usage.parse(json.dumps(USAGE))
        self.assertEqual(tokenomy.Usage.parse(USAGE), text)
        self.assertEqual(tokenomy.Usage.parse(FakeSDKUsage(**USAGE)), text)
        self.assertEqual(tokenomy.Usage.parse({"usage": USAGE, "model": "gpt-4o"}), text)
        self.assertEqual(text.cache_read_tokens, 100)
        with self.assertRaises(TypeError):
            tokenomy.Usage.parse(object())
        with self.assertRaises(TypeError):
            tokenomy.Usage.parse({"x": float("nan")})
        r = tokenomy.LLMResponse()
        r.usage = USAGE
        self.assertEqual(r.usage, text)
        r.set_usage_json(USAGE)
        self.assertEqual(r.usage, text)

    def test_prices(self):
        table = {"m1": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6,
                        "litellm_provider": "openai", "mode": "chat"}}
        u = tokenomy.Usage(input_tokens=10, output_tokens=5)
        self.assertEqual(tokenomy.Prices(table).cost("m1", u),
                         tokenomy.Prices(json.dumps(table)).cost("m1", u))
        with self.assertRaises(TypeError):
            tokenomy.Prices({1j: 2})

    def test_schema(self):
        s = tokenomy.Schema({"type": "object", "required": ["a"],
                             "properties": {"a": {"type": "integer"}}})
        for doc in ({"a": 1}, {}, {"a": "x"}, [1], 3, None):
            self.assertEqual(s.validate(doc).status, s.validate(json.dumps(doc)).status, doc)
        self.assertTrue(s.validate({"a": 1}))
        self.assertFalse(s.validate({"a": "x"}))
        s.check({"a": 2})
        with self.assertRaises(tokenomy.SchemaError):
            s.check({"a": 2.5})
        self.assertTrue(s.validate(b'{"a": 1}'))  # bytes stay JSON text

    def test_conversation_messages(self):
        c = tokenomy.Conversation([{"role": "user", "content": "hi"}])
        c.append_json({"role": "assistant", "content": "hello"})
        c.insert_json(0, {"role": "system", "content": "be brief"})
        c.replace_json(1, {"role": "user", "content": "hey"})
        c.add_tool_call(2, "call_1", "lookup", {"q": "x"})
        self.assertEqual([m["role"] for m in c], ["system", "user", "assistant"])
        self.assertEqual(c[1]["content"], "hey")
        self.assertEqual(json.loads(c[2]["tool_calls"][0]["function"]["arguments"]),
                         {"q": "x"})
        with self.assertRaises(TypeError):
            c.append_json(["not", "a", "message"])

    def test_tool_cache_values(self):
        c = tokenomy.ToolCache()
        c.set_policy("search", scope="global")
        c.put("search", {"q": "x"}, {"hits": [1, 2]}, tokens=3)
        self.assertEqual(json.loads(c.get("search", {"q": "x"})), {"hits": [1, 2]})
        c.put("search", '{"q": "y"}', "plain text", tokens=2)
        self.assertEqual(c.get("search", {"q": "y"}), "plain text")

    def test_task(self):
        a = tokenomy.Task.from_json({"tokens": 5, "kind": "qa", "tags": ["a", "b"]})
        b = tokenomy.Task.from_json('{"tokens": 5, "kind": "qa", "tags": ["a", "b"]}')
        self.assertEqual(len(a), 3)
        self.assertEqual(len(b), 3)

    def test_batch_lines(self):
        line = {"custom_id": "r1", "response": {"status_code": 200, "body": {
            "model": "gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 2}}},
            "error": None}
        got = []
        for data in (line, [line], json.dumps(line) + "\n"):
            r = tokenomy.BatchReader(on_result=lambda res: got.append(res.custom_id))
            r.expect("r1")
            r.feed(data)
            r.end_file()
            r.finish()
            self.assertEqual(r.summary().succeeded, 1)
        self.assertEqual(got, ["r1"] * 3)


if __name__ == "__main__":
    unittest.main()
