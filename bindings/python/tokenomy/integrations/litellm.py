"""A LiteLLM callback that meters every call and enforces a tokenomy Budget.

    import litellm, tokenomy
    from tokenomy.integrations.litellm import TokenomyCallback

    budget = tokenomy.Budget(hard_tokens=100_000, hard_usd="5")
    meter = tokenomy.Meter()
    litellm.callbacks = [TokenomyCallback(budget=budget, meter=meter)]

Before a call it reserves the call's estimate on the budget: its input
tokens (the messages counted as tokenomy.token_counter counts them), its
output cap (max_tokens / max_completion_tokens, else default_output_tokens)
and their price from the tokenomy price table.  After a success it commits
what the response's usage says the call used (the rest of the reservation
goes back) and records the call in the meter; after a failure it releases
the reservation.

Where the refusal stops the call: LiteLLM runs async_pre_call_deployment_hook
(litellm.acompletion and the Router's async calls) and, on the proxy,
async_pre_call_hook before the request is sent and lets their exceptions
through, so there a refused reservation raises tokenomy.BudgetError to the
caller and nothing is sent.  The synchronous litellm.completion only calls
log_pre_api_call, whose exceptions LiteLLM catches and logs: there the
refusal is counted (`refused`) and the call's cost is still committed once
it succeeds, so a synchronous program that must not overspend calls
`check(model, messages)` itself before completion().
"""
from __future__ import annotations

import json as _json
import threading
from typing import Any, Dict, List, Optional, Sequence

from litellm.integrations.custom_logger import CustomLogger

from ..compat import _clean, _get, default_prices, token_counter
from ..context import Budget, Reservation
from .._core import TokenomyError
from ..money import Meter, Prices, Usage


class TokenomyCallback(CustomLogger):  # type: ignore[misc]
    """LiteLLM CustomLogger: reserve before a call, commit after it, meter it.

    budget: a tokenomy.Budget to enforce (None: meter only).  meter: a
    tokenomy.Meter each successful call is recorded in (None: none).
    prices: the tokenomy.Prices to price calls with (default: the built-in
    table).  default_output_tokens: the output reserved when a call sets no
    max_tokens.  Safe to share between threads and tasks."""

    def __init__(self, budget: Optional[Budget] = None, meter: Optional[Meter] = None,
                 prices: Optional[Prices] = None, default_output_tokens: int = 1024) -> None:
        super().__init__()
        if budget is not None and not isinstance(budget, Budget):
            raise TypeError("budget must be a tokenomy.Budget, not %s" % type(budget).__name__)
        if meter is not None and not isinstance(meter, Meter):
            raise TypeError("meter must be a tokenomy.Meter, not %s" % type(meter).__name__)
        self.budget, self.meter = budget, meter
        self.prices = prices if prices is not None else default_prices()
        self.default_output_tokens = int(default_output_tokens)
        self._lock = threading.Lock()
        self._open: Dict[str, Reservation] = {}
        #: calls refused by the budget (raised where LiteLLM lets it through)
        self.refused = 0
        #: calls committed, and released after a failure
        self.committed = 0
        self.released = 0

    def __repr__(self) -> str:
        return "<tokenomy TokenomyCallback open=%d committed=%d released=%d refused=%d>" % (
            len(self._open), self.committed, self.released, self.refused)

    # ---- the estimate ------------------------------------------------------
    def _output_cap(self, kwargs: Dict[str, Any]) -> int:
        for src in (kwargs.get("optional_params") or {}, kwargs):
            for k in ("max_completion_tokens", "max_tokens", "max_output_tokens"):
                v = src.get(k)
                if isinstance(v, int) and v > 0:
                    return v
        return self.default_output_tokens

    def _usd(self, model: str, usage: Usage) -> Optional[Any]:
        try:
            return self.prices.cost(model, usage).usd
        except TokenomyError:  # a model the price table does not know: tokens only
            return None

    def _record(self, model: str, usage: Usage, start_time: Any, end_time: Any,
                success: bool) -> None:
        if self.meter is None:
            return
        try:
            cost = self.prices.cost(model, usage).total
        except TokenomyError:
            cost = 0
        try:
            us = max(0, int((end_time - start_time).total_seconds() * 1e6))
        except (TypeError, AttributeError):
            us = 0
        self.meter.record(usage, model, cost=cost, latency_us=us, success=success)

    def estimate(self, model: str, messages: Sequence[Dict[str, Any]],
                 max_tokens: Optional[int] = None) -> Usage:
        """The usage reserved for a call: its messages' tokens and its output cap."""
        try:
            n = token_counter(model=model, messages=list(messages or []))
        except (TokenomyError, TypeError, ValueError):
            n = token_counter(model=model, text=_json.dumps(list(messages or []),
                                                            default=str))
        return Usage(input_tokens=n, output_tokens=max_tokens or self.default_output_tokens)

    def check(self, model: str, messages: Sequence[Dict[str, Any]],
              max_tokens: Optional[int] = None) -> None:
        """Raise tokenomy.BudgetError now if the budget cannot take this call
        (reserves and releases: for synchronous completion(), see the module)."""
        if self.budget is None:
            return
        u = self.estimate(model, messages, max_tokens)
        usd = self._usd(model, u)
        self.budget.reserve(u.input_tokens, u.output_tokens, usd=usd).release()

    def _reserve(self, call_id: Optional[str], model: str, messages: Any,
                 kwargs: Dict[str, Any]) -> None:
        if self.budget is None or not call_id:
            return
        with self._lock:
            if call_id in self._open:  # reserved by an earlier hook of the same call
                return
        u = self.estimate(model, messages or [], self._output_cap(kwargs))
        try:
            r = self.budget.reserve(u.input_tokens, u.output_tokens, usd=self._usd(model, u))
        except TokenomyError:
            with self._lock:
                self.refused += 1
            raise
        with self._lock:
            if call_id in self._open:
                r.release()
            else:
                self._open[call_id] = r

    # ---- before the call ---------------------------------------------------
    def log_pre_api_call(self, model: str, messages: Any, kwargs: Dict[str, Any]) -> None:
        """LiteLLM's pre-call log (every call): reserve the estimate."""
        self._reserve(kwargs.get("litellm_call_id"), model, messages, kwargs)

    async def async_pre_call_deployment_hook(self, kwargs: Dict[str, Any],
                                             call_type: Any) -> Optional[Dict[str, Any]]:
        """acompletion / Router: reserve; a refusal raises BudgetError to the caller."""
        self._reserve(kwargs.get("litellm_call_id"), str(kwargs.get("model") or ""),
                      kwargs.get("messages"), kwargs)
        return None

    async def async_pre_call_hook(self, user_api_key_dict: Any, cache: Any,
                                  data: Dict[str, Any], call_type: Any) -> Optional[Any]:
        """LiteLLM proxy: reserve; a refusal raises BudgetError (the request fails)."""
        self._reserve(data.get("litellm_call_id"), str(data.get("model") or ""),
                      data.get("messages"), data)
        return None

    # ---- after the call ----------------------------------------------------
    def log_success_event(self, kwargs: Dict[str, Any], response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        """Commit what the call used and record it in the meter."""
        model = str(_get(response_obj, "model") or kwargs.get("model") or "")
        raw = _get(response_obj, "usage")
        with self._lock:
            r = self._open.pop(kwargs.get("litellm_call_id") or "", None)
        if raw is None:
            if r is not None:
                r.release()
                self.released += 1
            return
        usage = Usage.parse(_json.dumps(_clean(raw)))
        priced = kwargs.get("model") or model
        usd = self._usd(priced, usage)
        self._record(priced, usage, start_time, end_time, True)
        tokens_in = usage.input_tokens + usage.cache_read_tokens + \
            usage.cache_write_5m_tokens + usage.cache_write_1h_tokens
        if r is not None:
            r.commit(tokens_in, usage.output_tokens, usd=usd)
            self.committed += 1
        elif self.budget is not None:
            self.budget.charge(tokens_in, usage.output_tokens, usd=usd)
            self.committed += 1

    def log_failure_event(self, kwargs: Dict[str, Any], response_obj: Any, start_time: Any,
                          end_time: Any) -> None:
        """Release the call's reservation; the meter records a failed call."""
        self._record(str(kwargs.get("model") or ""), Usage(), start_time, end_time, False)
        with self._lock:
            r = self._open.pop(kwargs.get("litellm_call_id") or "", None)
        if r is not None:
            r.release()
            self.released += 1

    async def async_log_success_event(self, kwargs: Dict[str, Any], response_obj: Any,
                                      start_time: Any, end_time: Any) -> None:
        """As log_success_event (LiteLLM's async calls)."""
        self.log_success_event(kwargs, response_obj, start_time, end_time)

    async def async_log_failure_event(self, kwargs: Dict[str, Any], response_obj: Any,
                                      start_time: Any, end_time: Any) -> None:
        """As log_failure_event (LiteLLM's async calls)."""
        self.log_failure_event(kwargs, response_obj, start_time, end_time)

    @property
    def open_reservations(self) -> List[str]:
        """The call ids still holding a reservation."""
        with self._lock:
            return list(self._open)


__all__ = ["TokenomyCallback"]
