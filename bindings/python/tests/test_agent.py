import json
import os
import unittest

import tokenomy
from tokenomy import Conversation, Tokenizer

from .util import SOURCE_ROOT


def usage(req, out=5):
    return {"prompt_tokens": req.input_tokens, "completion_tokens": out,
            "total_tokens": req.input_tokens + out}


def conversation():
    return Conversation('[{"role":"user","content":"Where is my order 1234?"}]')


class AgentTest(unittest.TestCase):
    def test_turn_calls_python_with_the_rendered_request(self):
        seen = []

        def complete(req, resp):
            seen.append(req)
            resp.content = "It ships today."
            resp.set_usage_json(usage(req))
        agent = tokenomy.Agent(complete, model="gpt-4o-mini", workflow="support")
        agent.add_text("static", "You are a support agent.", name="system")
        conv = conversation()
        r = agent.turn(conv, task_type="order")
        self.assertEqual((r.finish_reason, r.content, r.model), ("stop", "It ships today.", "gpt-4o-mini"))
        body = json.loads(seen[0].body)
        self.assertEqual(body["model"], "gpt-4o-mini")
        self.assertEqual(body["messages"][0]["role"], "system")
        self.assertEqual((seen[0].purpose, seen[0].workflow, seen[0].task_type), ("turn", "support", "order"))
        self.assertEqual(len(conv), 2)
        self.assertEqual(r.stats.calls, 1)
        self.assertGreater(r.stats.cost, 0)
        self.assertIn("call", [s["step"] for s in r.trace["steps"]])

    def test_model_error_is_a_finish_reason_not_an_exception(self):
        def complete(req, resp):
            raise tokenomy.ModelError("server", "HTTP 503")
        r = tokenomy.Agent(complete, model="m").turn(conversation())
        self.assertEqual(r.finish_reason, "error")
        self.assertGreaterEqual(r.stats.failed_calls, 1)

    def test_other_exceptions_come_back_to_the_caller(self):
        def complete(req, resp):
            raise KeyError("bug in the host")
        conv = conversation()
        with self.assertRaises(KeyError):
            tokenomy.Agent(complete, model="m").turn(conv)

    def test_unknown_prune_mode_is_refused_by_name(self):
        def complete(req, resp):
            raise AssertionError("not called")
        with self.assertRaises(ValueError) as cm:
            tokenomy.Agent(complete, model="m", prune={"mode": "polcy"})
        self.assertIn("prune mode", str(cm.exception))

    def test_invalid_answer_is_retried_with_python_sleep(self):
        answers = iter(['{"ok": "no"}', '{"ok": true}'])
        slept = []

        def complete(req, resp):
            self.assertIsNotNone(req.response_schema)
            return {"content": next(answers), "usage": usage(req)}
        agent = tokenomy.Agent(complete, model="m", sleep=slept.append, retry={"seed": 7})
        schema = tokenomy.Schema({"type": "object", "properties": {"ok": {"type": "boolean"}},
                                  "required": ["ok"]})
        r = agent.turn(conversation(), schema=schema)
        self.assertEqual((r.finish_reason, json.loads(r.content)), ("stop", {"ok": True}))
        self.assertEqual((r.stats.retries, r.stats.validated), (1, 1))
        self.assertEqual(len(slept), 1)

    def test_hard_budget_closes_without_a_model_call(self):
        calls = []

        def complete(req, resp):
            calls.append(req.purpose)
            return {"content": "summary", "usage": usage(req)}
        budget = tokenomy.Budget(hard_tokens=10)
        budget.charge(input_tokens=10)
        r = tokenomy.Agent(complete, model="m", budget=budget).turn(conversation())
        self.assertEqual(r.finish_reason, "budget_exceeded")
        self.assertNotIn("turn", calls)

    def test_a_summariser_failure_class_reaches_the_trace(self):
        # issue 21: a ModelError raised in summarise() vanished; the extract
        # stood in and nothing said the summariser had failed
        def complete(req, resp):
            return {"content": "never", "usage": usage(req)}

        def summarise(text, max_tokens, resp):
            raise tokenomy.ModelError("rate_limit", "HTTP 429")
        budget = tokenomy.Budget(hard_tokens=10)
        budget.charge(input_tokens=10)
        r = tokenomy.Agent(complete, model="m", budget=budget, summarise=summarise).turn(conversation())
        self.assertEqual(r.finish_reason, "budget_exceeded")
        steps = [s for s in r.trace["steps"] if s["step"] == "host_summariser"]
        self.assertEqual(len(steps), 1)
        self.assertEqual((steps[0]["ok"], steps[0]["error_class"], steps[0]["error"]),
                         (False, "rate_limit", "HTTP 429"))

    def test_a_summariser_bug_comes_back_to_the_caller(self):
        def complete(req, resp):
            return {"content": "never", "usage": usage(req)}

        def summarise(text, max_tokens, resp):
            raise KeyError("bug in the summariser")
        budget = tokenomy.Budget(hard_tokens=10)
        budget.charge(input_tokens=10)
        with self.assertRaises(KeyError):
            tokenomy.Agent(complete, model="m", budget=budget, summarise=summarise).turn(conversation())

    def test_router_meter_and_tool_cache(self):
        router = tokenomy.Router({"tiers": [{"name": "small", "models": ["gpt-4o-mini"]},
                                            {"name": "large", "models": ["gpt-4o"]}],
                                  "rules": [{"when": {"attr": "hard", "eq": True}, "tier": "large"}],
                                  "default_tier": "small"})
        meter = tokenomy.Meter(tokenomy.Prices())
        cache = tokenomy.ToolCache()
        cache.set_policy("lookup", ttl_ms=60000, scope="global")
        agent = tokenomy.Agent(lambda req, resp: {"content": req.model, "usage": usage(req)},
                               router=router, meter=meter, toolcache=cache, workflow="wf")
        self.assertEqual(agent.turn(conversation(), task={"hard": True}).content, "gpt-4o")
        self.assertEqual(agent.turn(conversation(), task={"hard": False}).content, "gpt-4o-mini")
        self.assertEqual(meter.stats("workflow", "wf").calls, 2)
        runs = []
        for _ in range(2):
            value, hit = agent.tool("lookup", {"id": 1}, lambda t, a: runs.append(a) or "found")
            self.assertEqual(value, "found")
        self.assertEqual((len(runs), hit), (1, True))


class LLMResponseTest(unittest.TestCase):
    def test_setters_and_getters(self):
        r = tokenomy.LLMResponse()
        r.content = "hi"
        r.finish_reason = "stop"
        r.tool_calls = [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
        r.set_usage_json({"input_tokens": 3, "output_tokens": 1})
        self.assertEqual((r.content, r.finish_reason), ("hi", "stop"))
        self.assertEqual(json.loads(r.tool_calls)[0]["id"], "c1")
        self.assertEqual(r.usage.input_tokens, 3)
        r.set_error("rate_limit", "slow down")
        self.assertEqual(r.error, ("rate_limit", "slow down"))
        with self.assertRaises(tokenomy.Utf8Error):
            r.content = b"\xff"
        r.close()
        r.close()


class ExactEncodingTest(unittest.TestCase):
    def setUp(self):
        try:
            self.tok = Tokenizer.encoding("cl100k_base")
        except tokenomy.UnavailableError:
            self.skipTest("library built without embedded ranks")

    def test_counts_encodes_and_decodes_exactly(self):
        self.assertEqual(self.tok.name, "cl100k_base")
        self.assertEqual(self.tok.encode("hello world"), [15339, 1917])
        self.assertEqual(self.tok.count("hello world"), 2)
        self.assertEqual(self.tok.decode(self.tok.encode("naïve 日本語")), "naïve 日本語")
        self.assertEqual(self.tok.count_limit("hello world " * 100, 5), 6)

    def test_special_tokens_follow_the_option(self):
        with self.assertRaises(tokenomy.SpecialTokenError):
            self.tok.encode("<|endoftext|>")
        self.assertEqual(self.tok.encode("<|endoftext|>", special="allow"), [100257])
        self.assertGreater(len(self.tok.encode("<|endoftext|>", special="plain")), 1)

    def test_model_names_pick_the_encoding(self):
        self.assertEqual(tokenomy.encoding_name_for_model("gpt-4o"), "o200k_base")
        self.assertEqual(tokenomy.encoding_for_model("gpt-4o").name, "o200k_base")
        self.assertEqual(Tokenizer.for_model("gpt-4").name, "cl100k_base")
        with self.assertRaises(tokenomy.NotFoundError):
            Tokenizer.for_model("no-such-model")

    def test_rank_file_loads(self):
        path = os.path.join(SOURCE_ROOT, ".cache", "ranks", "cl100k_base.tiktoken")
        if not os.path.exists(path):
            self.skipTest("no rank file in .cache/ranks")
        tok = Tokenizer.load_ranks("cl100k_base", path=path)
        self.assertEqual(tok.encode("hello world"), [15339, 1917])
        with self.assertRaises(tokenomy.ParseError):
            Tokenizer.load_ranks("cl100k_base", data=b"not a rank file\n")


class BorrowedResponseTest(unittest.TestCase):
    def test_a_response_kept_past_the_callback_is_closed(self):
        kept = []

        def complete(req, resp):
            kept.append(resp)
            return {"content": "ok", "usage": usage(req)}
        tokenomy.Agent(complete, model="m").turn(conversation())
        self.assertTrue(kept[0].closed)
        with self.assertRaisesRegex(Exception, "closed"):
            kept[0].content = "late"


if __name__ == "__main__":
    unittest.main()
