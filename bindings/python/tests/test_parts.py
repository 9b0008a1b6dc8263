import json
import unittest

import tokenomy
from tokenomy import Conversation, Tokenizer

from .util import CONV

ROUTER = {"tiers": [{"name": "small", "models": ["gpt-4o-mini"], "threshold": 0.7},
                    {"name": "large", "models": ["gpt-4o", "claude-sonnet-4-5"]}],
          "rules": [{"when": {"attr": "kind", "eq": "chat"}, "tier": "small",
                     "reason": "chit-chat"}],
          "default_tier": "large"}


class RouterTest(unittest.TestCase):
    def setUp(self):
        self.now = [1000]
        self.router = tokenomy.Router(ROUTER, clock=lambda: self.now[0])

    def test_first_matching_rule_chooses_the_tier(self):
        d = self.router.decide({"kind": "chat"})
        self.assertEqual((d.rule, d.tier_name, d.model, d.reason), (0, "small", "gpt-4o-mini", "chit-chat"))
        d = self.router.decide(tokenomy.Task({"kind": "code", "n": 3, "tags": ["a"], "hot": True}))
        self.assertEqual((d.rule, d.tier_name, d.model), (-1, "large", "gpt-4o"))

    def test_explain_lists_every_rule(self):
        e = self.router.explain({"kind": "code"})
        self.assertEqual(len(e["rules"]), 1)
        self.assertFalse(e["rules"][0]["matched"])

    def test_config_errors_name_the_path(self):
        with self.assertRaises(tokenomy.NotFoundError) as cm:
            tokenomy.Router({"tiers": [{"name": "a", "models": ["m"]}], "default_tier": "zzz"})
        self.assertIn("$", cm.exception.message)

    def test_failures_cool_a_model_on_the_injected_clock(self):
        cooled = [self.router.report_failure("gpt-4o", "server") for _ in range(10)]
        self.assertIn(True, cooled)
        self.assertGreater(self.router.model_cooldown("gpt-4o"), self.now[0])
        self.assertEqual(self.router.decide({"kind": "code"}).model, "claude-sonnet-4-5")

    def test_builder_builds_the_same_router(self):
        b = tokenomy.RouterBuilder()
        b.add_tier("small", ["gpt-4o-mini"], 0.7)
        b.add_tier("large", ["gpt-4o"])
        b.add_rule("small", when={"attr": "kind", "eq": "chat"}, reason="chit-chat")
        b.set_default_tier("large")
        r = b.build()
        self.assertEqual(r.tiers, ["small", "large"])
        self.assertEqual(r.decide({"kind": "chat"}).reason, "chit-chat")
        self.assertIn('"tiers"', b.to_json())

    def test_cascade_escalates_below_threshold(self):
        c = self.router.cascade(score=lambda text: 0.2 if text == "meh" else 0.9)
        self.assertEqual(c.next(), (0, "gpt-4o-mini"))
        self.assertEqual(c.report("meh", cost=5), ("escalate", 0.2))
        tier, model = c.next()
        self.assertEqual(tier, 1)
        state, _ = c.report("great", cost=7)
        self.assertEqual(state, "accepted")
        self.assertEqual((c.attempts, c.total_cost), (2, 12))

    def test_failure_classes_by_name(self):
        self.assertEqual(tokenomy.fail_class_name(1), "timeout")
        self.assertEqual(self.router.retries("rate_limit"), self.router.retries(0))
        with self.assertRaises(ValueError):
            self.router.retries("meteor")

    def test_calibrate_gives_non_increasing_thresholds(self):
        th = tokenomy.calibrate([0.1, 0.4, 0.6, 0.9], [0.5, 0.5])
        self.assertEqual(len(th), 2)
        self.assertGreaterEqual(th[0], th[1])


class SchemaTest(unittest.TestCase):
    SCHEMA = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 5}},
              "required": ["name"], "additionalProperties": False}

    def test_validate_lists_errors_and_a_reask(self):
        s = tokenomy.Schema(self.SCHEMA)
        self.assertTrue(s.validate('{"name":"bob"}').valid)
        v = s.validate('{"name":"bobbybob","x":1}')
        self.assertFalse(v.valid)
        self.assertEqual({e.keyword for e in v.errors}, {"maxLength", "additionalProperties"})
        self.assertTrue(v.reask)
        with self.assertRaises(tokenomy.SchemaError):
            s.check('{}')

    def test_unsupported_keyword_is_refused_at_compile(self):
        with self.assertRaises(tokenomy.UnsupportedError) as cm:
            tokenomy.Schema({"$dynamicRef": "#x"})
        self.assertIn("$dynamicRef", cm.exception.message)

    def test_output_cap_is_bounded_only_with_max_lengths(self):
        tok = Tokenizer.estimator()
        self.assertGreater(tokenomy.Schema(self.SCHEMA).output_cap(tok), 5)
        self.assertIsNone(tokenomy.Schema({"type": "string"}).output_cap(tok))

    def test_retry_plan_ends(self):
        steps = [tokenomy.retry_next(f, seed=1).action for f in range(1, 5)]
        self.assertEqual(steps[-1], "give_up")
        self.assertEqual(tokenomy.near_limit("length", 10, 100)["stopped"], True)


class MoneyTest(unittest.TestCase):
    def test_usage_parse_normalises_anthropic(self):
        u = tokenomy.Usage.parse('{"input_tokens":10,"cache_read_input_tokens":90,'
                                 '"cache_creation_input_tokens":0,"output_tokens":5}')
        self.assertEqual((u.input_tokens, u.cache_read_tokens, u.output_tokens), (100, 90, 5))

    def test_cost_is_exact_picodollars(self):
        p = tokenomy.Prices()
        price = p.lookup("gpt-4o")
        cost = p.cost("gpt-4o", tokenomy.Usage(input_tokens=1000, output_tokens=100))
        # rates are picodollars per million tokens; the cost is rounded once
        exact = 1000 * price.input_per_mtok + 100 * price.output_per_mtok
        self.assertEqual(cost.total, (exact + 500000) // 1000000)
        self.assertEqual(price.name, "gpt-4o")
        self.assertEqual(price.compute(tokenomy.Usage(input_tokens=1000, output_tokens=100)), cost)
        self.assertEqual(tokenomy.parse_usd(tokenomy.format_usd(cost.total)), cost.total)

    def test_unknown_model_is_not_found(self):
        with self.assertRaises(tokenomy.NotFoundError):
            tokenomy.Prices().lookup("no-such-model")

    def test_meter_aggregates_and_exports(self):
        prices = tokenomy.Prices()
        m = tokenomy.Meter(prices)
        for i in range(10):
            m.record(tokenomy.Usage(input_tokens=100 + i, output_tokens=10), model="gpt-4o",
                     workflow="triage", latency_us=5)
        st = m.stats("workflow", "triage")
        self.assertEqual(st.calls, 10)
        self.assertEqual(st.cost, m.stats().cost)
        self.assertGreater(m.percentiles("triage").tokens_p99, 100)
        self.assertIn("triage", json.loads(m.export())["by_workflow"])
        self.assertIn("gen_ai_client_token_usage", m.export("prometheus"))
        with self.assertRaises(tokenomy.NotFoundError):
            m.record(tokenomy.Usage(input_tokens=1), model="no-such-model")


class BudgetPruneTest(unittest.TestCase):
    def test_reservation_commits_or_releases(self):
        b = tokenomy.Budget(hard_tokens=1000, soft_tokens=500)
        with b.reserve(input_tokens=300, output_tokens=100) as r:
            self.assertEqual(b.status().tokens_reserved, 400)
            r.commit(input_tokens=300, output_tokens=50)
        self.assertEqual(b.status().tokens_committed, 350)
        with b.reserve(input_tokens=100):
            pass
        self.assertEqual(b.status().tokens_reserved, 0)
        with self.assertRaises(tokenomy.BudgetError) as cm:
            b.reserve(input_tokens=900)
        self.assertTrue(cm.exception.message)

    def test_limit_callback_and_parent_chain(self):
        seen = []
        parent = tokenomy.Budget(hard_tokens=100, on_limit=lambda lvl, dim: seen.append((lvl, dim)))
        child = tokenomy.Budget(parent=parent)
        child.charge(input_tokens=100)
        self.assertEqual(seen, [("hard", "tokens")])
        self.assertEqual(child.status().level, "hard")

    @staticmethod
    def _long():
        conv = Conversation(CONV)
        conv.insert(1, "user", "Tell me a long story about dragons. " * 5)
        conv.insert(2, "assistant", "Once upon a time there was a dragon. " * 10)
        return conv

    def test_prune_drops_the_old_turn_and_keeps_the_tool_pair(self):
        tok = Tokenizer.estimator()
        conv = self._long()
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=80, mode="score", keep_last_turns=1)
        self.assertLessEqual(rep.tokens_after, 80)
        self.assertEqual(tok.count_conv(conv), rep.tokens_after)
        self.assertEqual(rep.dropped, [1, 2])
        self.assertEqual(conv.find_tool_result("call_1"), conv.find_tool_call("call_1") + 1)

    def test_prune_refuses_when_the_must_keep_set_does_not_fit(self):
        conv = self._long()
        with self.assertRaises(tokenomy.BudgetError) as cm:
            tokenomy.Pruner(Tokenizer.estimator()).run(conv, max_tokens=40, mode="score",
                                                       degrade=False)
        self.assertIn("needs", cm.exception.message)
        self.assertEqual(len(conv), 7)

    def test_summarise_inserts_the_python_summary(self):
        conv = self._long()
        got = []

        def summarise(c, dropped, max_tokens):
            got.append(dropped)
            return "Asked about Paris weather."
        rep = tokenomy.Pruner(Tokenizer.estimator()).run(conv, max_tokens=100, mode="summarise",
                                                          summarise=summarise, keep_last_turns=1,
                                                          summary_max_tokens=30)
        self.assertEqual(rep.summary, "added")
        self.assertEqual(conv.text(rep.summary_index), "Asked about Paris weather.")
        self.assertEqual(got[0], rep.dropped)

    def test_trim_with_python_splitter_cuts_partially(self):
        conv = Conversation('[{"role":"user","content":"one two three four five six seven"}]')
        tok = Tokenizer.from_callback(lambda s: len(s.split()))
        rep = tokenomy.Pruner(tok).run(conv, max_tokens=3 + 1 + 3 + 3, allow_partial=True,
                                       text_splitter=lambda t: [w + " " for w in t.split(" ")[:-1]]
                                       + [t.split(" ")[-1]])
        self.assertEqual(rep.messages[0][0], "cut")
        self.assertEqual(len(conv.text(0).split()), 3)


class ToolsTest(unittest.TestCase):
    def test_toolcache_hits_on_canonical_arguments_and_expires(self):
        now = [0]
        c = tokenomy.ToolCache(clock=lambda: now[0], tokenizer=Tokenizer.estimator())
        c.set_policy("search", ttl_ms=1000, scope="session")
        c.put("search", {"q": "x", "n": 2.0}, "result text", scope_id="s1")
        self.assertEqual(c.get("search", '{"n":2,"q":"x"}', scope_id="s1"), "result text")
        self.assertIsNone(c.get("search", {"q": "x", "n": 2}, scope_id="s2"))
        now[0] = 5000
        self.assertIsNone(c.get("search", {"q": "x", "n": 2}, scope_id="s1"))
        st = c.stats()
        self.assertEqual((st.hits, st.misses, st.expirations), (1, 2, 1))
        with self.assertRaises(tokenomy.StateError):
            c.put("send_mail", {}, "x", scope_id="s1")

    def test_batch_round_trip_joins_results(self):
        lines = []
        w = tokenomy.BatchWriter(write=lines.append)
        for i in (1, 2):
            w.add("r%d" % i, {"model": "gpt-4o-mini", "messages": []})
        w.finish()
        self.assertEqual(w.counts()["requests"], 2)
        self.assertEqual(json.loads(lines[0])["custom_id"], "r1")
        got = []
        r = tokenomy.BatchReader(on_result=got.append, prices=tokenomy.Prices())
        r.expect_writer(w)
        r.feed(json.dumps({"id": "b1", "custom_id": "r1", "error": None, "response": {
            "status_code": 200, "body": {"model": "gpt-4o-mini", "usage": {
                "prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}}}}) + "\n")
        r.finish()
        self.assertEqual([(x.custom_id, x.status, x.usage.input_tokens) for x in got],
                         [("r1", "succeeded", 12)])
        self.assertGreater(got[0].cost.total, 0)
        self.assertEqual(r.summary().missing, 1)
        self.assertEqual(r.dead_letters()[0]["custom_id"], "r2")
        self.assertEqual(r.dead_letter(0)["reason"], "missing")

    def test_batch_writer_refuses_duplicate_ids(self):
        w = tokenomy.BatchWriter(write=lambda d: None)
        w.add("a", {"model": "m"})
        with self.assertRaises(tokenomy.DuplicateError):
            w.add("a", {"model": "m"})


class PromptTest(unittest.TestCase):
    def _prompt(self, query):
        b = tokenomy.PromptBuilder()
        b.add_tool({"name": "weather", "description": "Weather", "parameters": {"type": "object"}})
        b.add_text("static", "You are terse. " * 200, name="system")
        b.set_history(Conversation('[{"role":"user","content":"hi"}]'))
        b.add_text("dynamic", query, name="query", stability="volatile")
        return b.assemble(Tokenizer.estimator())

    def test_assembles_renders_and_diffs(self):
        p1, p2 = self._prompt("weather?"), self._prompt("rain?")
        self.assertEqual([s.kind for s in p1.segments()], ["tools", "static", "history", "dynamic"])
        self.assertEqual(p1.version, p2.version)
        self.assertNotEqual(p1.fingerprint, p2.fingerprint)
        self.assertEqual(p2.diff(p1), (3, 1))
        body = json.loads(p1.render("claude-sonnet-4-5", "anthropic", max_tokens=100,
                                    min_cache_tokens=100))
        self.assertIn("cache_control", json.dumps(body["system"]))
        self.assertEqual(sum(t for _, t, _ in p1.blocks()), p1.tokens)

    def test_lint_finds_a_date(self):
        f = tokenomy.lint("Today is 2026-11-28.")
        self.assertEqual(f[0].kind, "date")
        self.assertEqual(f[0].offset, 9)

    def test_min_cache_tokens_is_exact(self):
        self.assertEqual(tokenomy.min_cache_tokens("anthropic", "claude-haiku-4-5-20251001"), 4096)
        with self.assertRaises(tokenomy.TokenomyError) as e:
            tokenomy.min_cache_tokens("anthropic", "my-claude-haiku-4-5")
        self.assertIn("my-claude-haiku-4-5", str(e.exception))

    def test_cacheplan_counts_hits(self):
        plan = tokenomy.CachePlan(price_input=3_000_000, provider="openai", min_cache_tokens=1)
        for t in range(3):
            plan.add_prompt(t * 1000, self._prompt("q%d" % t))
        r = plan.result()
        self.assertEqual(r.requests, 3)
        self.assertGreater(r.cached_tokens, 0)
        self.assertIn("%", plan.advice())


class ConcurrencyTest(unittest.TestCase):
    def test_meter_and_tool_cache_shared_by_threads(self):
        import threading
        meter = tokenomy.Meter()
        cache = tokenomy.ToolCache(shards=4)
        cache.set_policy("t", scope="global")
        errors = []

        def work(k):
            try:
                for i in range(200):
                    meter.record(tokenomy.Usage(input_tokens=10, output_tokens=1), model="m", cost=3)
                    cache.put("t", {"k": k, "i": i % 10}, "v%d" % i, tokens=1)
                    cache.get("t", {"k": k, "i": i % 10})
            except Exception as e:  # collected: a thread's failure fails the test
                errors.append(e)
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        self.assertEqual(meter.stats().calls, 800)
        self.assertEqual(meter.stats().cost, 2400)
        self.assertEqual(cache.stats().puts, 800)


if __name__ == "__main__":
    unittest.main()
