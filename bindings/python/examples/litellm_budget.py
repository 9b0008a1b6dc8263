"""LiteLLM under a tokenomy budget: every call metered, refused once the
budget cannot take its estimate.  mock_response stands in for the provider,
so this runs offline; drop it to call the model for real.

    python litellm_budget.py
"""
import asyncio
import os

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # offline: its bundled prices
import litellm  # noqa: E402

import tokenomy  # noqa: E402
from tokenomy.integrations.litellm import TokenomyCallback  # noqa: E402


async def settled(callback: TokenomyCallback) -> None:
    """LiteLLM logs a success in a task of its own: wait for the commit."""
    for _ in range(500):
        if not callback.open_reservations:
            return
        await asyncio.sleep(0.01)


async def main() -> None:
    budget = tokenomy.Budget(hard_tokens=200)
    meter = tokenomy.Meter()
    callback = TokenomyCallback(budget=budget, meter=meter)
    litellm.callbacks = [callback]
    messages = [{"role": "user", "content": "Name one airline alliance."}]
    for i in range(5):
        try:
            r = await litellm.acompletion(model="gpt-4o", messages=messages, max_tokens=100,
                                          mock_response="Star Alliance.")
            print("call %d: %s" % (i + 1, r.choices[0].message.content))
        except tokenomy.BudgetError as e:
            print("call %d: refused (%s)" % (i + 1, e))
        await settled(callback)
    s, st = meter.stats(), budget.status()
    print("metered %d calls (%d succeeded), %d input + %d output tokens, $%s" % (
        s.calls, s.successes, s.input_tokens, s.output_tokens, tokenomy.to_usd(s.cost)))
    print("budget: %d tokens committed, %d reserved, %d refused" % (
        st.tokens_committed, st.tokens_reserved, callback.refused))


if __name__ == "__main__":
    asyncio.run(main())
