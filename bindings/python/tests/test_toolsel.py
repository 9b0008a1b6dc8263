"""Tool selection per turn through ToolCatalogue (toolsel.h)."""
import json
import math
import unittest

import tokenomy
from tokenomy import PromptBuilder, ToolCatalogue, Tokenizer

TOOLS = [
    {"type": "function", "function": {
        "name": "search_flights", "description": "Search flights between two cities.",
        "parameters": {"type": "object", "properties": {"origin": {"type": "string"}}}}},
    {"name": "cancel_reservation", "description": "Cancel a reservation.",
     "input_schema": {"type": "object", "properties": {"reservation_id": {"type": "string"}}}},
    {"name": "get_weather", "description": "Current weather for a city."},
    {"name": "think", "description": "Think about something."},
]


class ToolCatalogueTest(unittest.TestCase):
    def test_select_is_in_catalogue_order_with_the_always_list(self):
        cat = ToolCatalogue(TOOLS)
        self.assertEqual(len(cat), 4)
        self.assertEqual(cat.names()[1], "cancel_reservation")
        q = "cancel my reservation, and flights to Paris?"
        s = cat.scores(q)
        self.assertGreater(s[1], s[0])
        self.assertGreater(s[0], 0)
        self.assertEqual(s[2:], [0.0, 0.0])
        self.assertEqual(cat.select(q, k=2, always=["think"]), [0, 1, 3])
        self.assertEqual(cat.select(q, k=1), [1])
        self.assertEqual(cat.select("zebra"), [])

    def test_bm25_constants_are_options(self):
        cat = ToolCatalogue([{"name": "a", "description": "flight"},
                             {"name": "b", "description": "flight flight"}], k1=0.0)
        s = cat.scores("flight")
        self.assertEqual(s[0], s[1])
        idf = math.log(1 + 0.5 / 2.5)
        self.assertAlmostEqual(s[0], idf, places=12)

    def test_a_host_search_replaces_bm25_and_its_errors_surface(self):
        seen = []

        def search(query, n):
            seen.append(query)
            return [0.0, 0.0, 5.0, 1.0][:n]
        cat = ToolCatalogue(TOOLS, search=search)
        self.assertEqual(cat.select("anything", k=1), [2])
        self.assertEqual(seen, ["anything"])

        def broken(query, n):
            raise KeyError("index down")
        cat = ToolCatalogue(TOOLS, search=broken)
        with self.assertRaises(KeyError):
            cat.select("x")
        cat = ToolCatalogue(TOOLS, search=lambda q, n: [-1.0] * n)
        with self.assertRaises(tokenomy.CallbackError):
            cat.select("x")

    def test_errors_are_exceptions(self):
        cat = ToolCatalogue(TOOLS)
        with self.assertRaises(tokenomy.DuplicateError):
            cat.add({"name": "think"})
        with self.assertRaises(tokenomy.NotFoundError):
            cat.select("x", always=["nope"])
        with self.assertRaises(tokenomy.TokenomyError):
            cat.add("{\"description\": \"no name\"}")
        self.assertEqual(len(cat), 4)
        with self.assertRaises(tokenomy.InvalidError):
            ToolCatalogue(b=2.0)

    def test_deferred_for_anthropic_left_out_for_openai(self):
        cat = ToolCatalogue(TOOLS)
        sel = cat.select("weather in Paris", k=1)
        b = PromptBuilder()
        cat.add_to_builder(b, sel)
        b.add_text("dynamic", "weather in Paris", stability="volatile")
        p = b.assemble(Tokenizer.encoding("o200k_base"))
        anth = json.loads(p.render("claude-sonnet-4-5", "anthropic", max_tokens=100))
        names = [t.get("name") for t in anth["tools"]]
        self.assertEqual(names, ["search_flights", "cancel_reservation", "get_weather", "think",
                                 "tool_search_tool_bm25"])
        self.assertEqual([t.get("defer_loading", False) for t in anth["tools"][:4]],
                         [True, True, False, True])
        oa = json.loads(p.render("gpt-4o", "openai"))
        self.assertEqual([t["function"]["name"] for t in oa["tools"]], ["get_weather"])
        b2 = PromptBuilder()
        cat.add_to_builder(b2, sel, defer_rest=False)
        b2.add_text("dynamic", "weather in Paris", stability="volatile")
        anth2 = json.loads(b2.assemble(Tokenizer.encoding("o200k_base")).render(
            "claude-sonnet-4-5", "anthropic", max_tokens=100))
        self.assertEqual([t["name"] for t in anth2["tools"]], ["get_weather"])

    def test_an_agent_sends_the_tools_selected_for_the_last_user_message(self):
        bodies = []

        def complete(req, resp):
            bodies.append(json.loads(req.body))
            resp.content = "ok"
        cat = ToolCatalogue(TOOLS)
        conv = tokenomy.Conversation(
            '[{"role":"user","content":"Cancel my reservation ABC123"}]')
        agent = tokenomy.Agent(complete, model="gpt-4o", toolsel=cat, toolsel_k=1,
                               toolsel_always=["think"])
        r = agent.turn(conv)
        sent = [t["function"]["name"] for t in bodies[0]["tools"]]
        self.assertEqual(sent, ["cancel_reservation", "think"])
        step = [s for s in r.trace["steps"] if s["step"] == "tools"][0]
        self.assertEqual((step["mode"], step["selected"]),
                         ("only_selected", ["cancel_reservation", "think"]))
        agent = tokenomy.Agent(complete, model="claude-sonnet-4-5", format="anthropic",
                               toolsel=cat, toolsel_k=1)
        agent.turn(conv)
        deferred = {t["name"]: t.get("defer_loading", False) for t in bodies[1]["tools"]}
        self.assertFalse(deferred.pop("cancel_reservation"))
        self.assertFalse(deferred.pop("tool_search_tool_bm25"))
        self.assertTrue(all(deferred.values()) and len(deferred) == 3)
        with self.assertRaises(tokenomy.InvalidError):
            tokenomy.Agent(complete, model="gpt-4o", toolsel=cat, toolsel_k=0)


if __name__ == "__main__":
    unittest.main()
