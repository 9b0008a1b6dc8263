"""LiteLLM-shaped helpers: token_counter and completion_cost.

    tokenomy.token_counter(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    tokenomy.completion_cost(completion_response=response)      # float USD

Same arguments and results as litellm's functions of those names for the
OpenAI-style cases (tests/peer_agreement.py runs litellm side by side and
counts the agreements), computed by the C library: messages are counted with
the model's exact encoding and OpenAI's overheads (tkn_tokenizer_count_conv),
costs from the price table in LiteLLM's format (tkn_prices_cost).
"""
from __future__ import annotations

import json as _json
import threading
from decimal import Decimal
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union

from .conv import Conversation, Tokenizer, encoding_name_for_model
from .money import Prices, Usage

_lock = threading.Lock()
_tokenizers: Dict[str, Tokenizer] = {}
_prices: Optional[Prices] = None

#: the encoding litellm falls back to for a model it cannot map
DEFAULT_ENCODING = "cl100k_base"


def _tokenizer(model: str) -> Tokenizer:
    name = encoding_name_for_model(model) if model else None
    name = name or DEFAULT_ENCODING
    tok = _tokenizers.get(name)
    if tok is None:
        with _lock:
            tok = _tokenizers.get(name)
            if tok is None:
                tok = _tokenizers[name] = Tokenizer.encoding(name)
    return tok


def token_counter(model: str = "", text: Optional[Union[str, List[str]]] = None,
                  messages: Optional[Sequence[Mapping[str, Any]]] = None,
                  count_response_tokens: bool = False, **_ignored: Any) -> int:
    """Tokens of `messages` (OpenAI chat messages: 3 per message, 1 per name,
    3 to prime the reply, as litellm counts them) or of `text`, with the
    model's encoding (cl100k_base for a model tokenomy cannot map, as
    litellm).  count_response_tokens: text is a response, no overhead."""
    tok = _tokenizer(model)
    if messages is not None:
        if count_response_tokens:
            return sum(tok.count(m.get("content") or "") for m in messages)
        with Conversation([dict(m) for m in messages], "openai") as conv:
            return int(tok.count_conv(conv))  # type: ignore[arg-type]
    if text is None:
        raise ValueError("token_counter: give messages or text")
    if isinstance(text, list):
        return sum(tok.count(t) for t in text)
    return tok.count(text)


def _get(obj: Any, key: str) -> Any:
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def _usage_dict(usage: Any) -> Dict[str, Any]:
    if isinstance(usage, Mapping):
        return dict(usage)
    for attr in ("model_dump", "dict"):
        fn = getattr(usage, attr, None)
        if callable(fn):
            try:
                return dict(fn())
            except Exception:
                pass
    return {k: v for k, v in vars(usage).items() if not k.startswith("_")}


def _clean(v: Any) -> Any:
    """A usage object as plain JSON values (None and nested objects handled)."""
    if isinstance(v, Mapping):
        return {k: _clean(x) for k, x in v.items() if x is not None}
    if hasattr(v, "model_dump") or hasattr(v, "__dict__") and not isinstance(v, (int, float, str)):
        return _clean(_usage_dict(v))
    return v


def default_prices() -> Prices:
    """The built-in price table, loaded once."""
    global _prices
    if _prices is None:
        with _lock:
            if _prices is None:
                _prices = Prices()
    return _prices


def completion_cost(completion_response: Any = None, model: Optional[str] = None,
                    prices: Optional[Prices] = None, usage: Any = None,
                    **_ignored: Any) -> float:
    """The USD cost of one completion, as litellm.completion_cost: from the
    response's usage (OpenAI chat, OpenAI responses, Anthropic or Gemini
    shape: dict or SDK object) and its model (or `model`).  prices: a
    tokenomy.Prices (default: the built-in table).  A float, as litellm's;
    completion_cost_exact gives the exact Decimal."""
    return float(completion_cost_exact(completion_response, model, prices, usage))


def completion_cost_exact(completion_response: Any = None, model: Optional[str] = None,
                          prices: Optional[Prices] = None, usage: Any = None) -> Decimal:
    """completion_cost as an exact Decimal number of dollars."""
    if usage is None:
        if completion_response is None:
            raise ValueError("completion_cost: give completion_response or usage")
        usage = _get(completion_response, "usage") or _get(completion_response,
                                                            "usage_metadata")
    if usage is None:
        raise ValueError("completion_cost: the response has no usage")
    m = model or _get(completion_response, "model") or _get(completion_response,
                                                             "model_version")
    if not m:
        raise ValueError("completion_cost: no model in the response; pass model=")
    u = usage if isinstance(usage, Usage) else Usage.parse(_json.dumps(_clean(usage)))
    return (prices or default_prices()).cost(m, u).usd


__all__ = ["token_counter", "completion_cost", "completion_cost_exact", "default_prices"]
