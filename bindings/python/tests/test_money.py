"""One money unit: picodollars everywhere, budgets included, with exact USD
helpers (issue 15: a Budget(hard_money=5_000_000) meant as $5 was $0.000005)."""
import unittest
from decimal import Decimal

import tokenomy
from tokenomy import Budget, Conversation


def complete_costing_3_tenths_of_a_cent(req, resp):
    # gpt-4o: 800 input tokens at $2.50/M + 100 output tokens at $10/M = $0.003
    resp.content = "It ships today."
    resp.set_usage_json({"prompt_tokens": 800, "completion_tokens": 100}, "openai_chat")


class MoneyTest(unittest.TestCase):
    def test_usd_reads_dollars_exactly(self):
        self.assertEqual(tokenomy.usd("5"), 5 * tokenomy.UNITS_PER_USD)
        self.assertEqual(tokenomy.usd(5), 5 * 10**12)
        self.assertEqual(tokenomy.usd("$0.003"), 3 * 10**9)
        self.assertEqual(tokenomy.usd(Decimal("0.10")), 10**11)
        self.assertEqual(tokenomy.usd(Decimal("1E-12")), 1)
        self.assertEqual(tokenomy.to_usd(3 * 10**9), Decimal("0.003"))

    def test_usd_refuses_what_is_not_exact(self):
        with self.assertRaises(TypeError):
            tokenomy.usd(0.1)  # a float is not exact
        with self.assertRaises(tokenomy.UnsupportedError):
            tokenomy.usd("0.0000000000001")
        with self.assertRaises(tokenomy.OverflowError_):
            tokenomy.usd("9223373")  # past int64 picodollars: detected, not wrapped
        with self.assertRaises(tokenomy.ParseError):
            tokenomy.usd("5 USD")

    def test_budget_in_dollars_is_the_unit_the_agent_commits(self):
        budget = Budget(hard_usd="2")
        self.assertEqual(budget.status().money_remaining, 2 * tokenomy.UNITS_PER_USD)
        agent = tokenomy.Agent(complete_costing_3_tenths_of_a_cent, model="gpt-4o",
                               budget=budget)
        for turn in range(3):
            with Conversation('[{"role":"user","content":"Where is my order?"}]') as conv:
                self.assertEqual(agent.turn(conv).finish_reason, "stop", turn)
        st = budget.status()
        self.assertEqual(st.level, "ok")
        self.assertEqual(st.money_committed_usd, Decimal("0.009"))
        self.assertEqual(st.money_remaining_usd, Decimal("1.991"))

    def test_hard_money_and_hard_usd_are_one_limit(self):
        self.assertEqual(Budget(hard_money=5 * tokenomy.UNITS_PER_USD).status(),
                         Budget(hard_usd=Decimal("5")).status())
        with self.assertRaises(ValueError):
            Budget(hard_money=1, hard_usd="1")
        self.assertIsNone(Budget().status().money_remaining_usd)

    def test_reserve_and_commit_take_dollars(self):
        b = Budget(hard_usd="1")
        with b.reserve(input_tokens=10, usd="0.5") as r:
            r.commit(input_tokens=10, usd="0.25")
        self.assertEqual(b.status().money_committed_usd, Decimal("0.25"))
        with self.assertRaises(tokenomy.BudgetError):
            b.reserve(usd="0.76")

    def test_cost_has_usd(self):
        cost = tokenomy.Prices().cost("gpt-4o", tokenomy.Usage(input_tokens=800,
                                                               output_tokens=100))
        self.assertEqual(cost.usd, Decimal("0.003"))


if __name__ == "__main__":
    unittest.main()
