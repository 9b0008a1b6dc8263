"""Usage (usage.h), prices (prices.h) and the meter (meter.h)."""
from __future__ import annotations

import ctypes
from decimal import Decimal
from typing import Any, Dict, List, Optional, Tuple, Union

from . import _ffi as ffi
from ._core import (JSON, json_text,
                    Handle, Parts, Record, Text, check, dec, enc, field_addr, lib, new_handle,
                    options, record, take)

USAGE_FORMATS = {"auto": ffi.TKN_USAGE_AUTO, "openai_chat": ffi.TKN_USAGE_OPENAI_CHAT,
                 "openai_responses": ffi.TKN_USAGE_OPENAI_RESPONSES,
                 "anthropic": ffi.TKN_USAGE_ANTHROPIC, "gemini": ffi.TKN_USAGE_GEMINI}
UNITS_PER_USD = ffi.TKN_MONEY_UNITS_PER_USD


class Usage(Record):
    """Normalised token usage of one call (fields of tkn_usage)."""

    def __init__(self, input_tokens: int = 0, output_tokens: int = 0, cache_read_tokens: int = 0,
                 cache_write_5m_tokens: int = 0, cache_write_1h_tokens: int = 0,
                 reasoning_tokens: int = 0, flags: int = 0) -> None:
        super().__init__(flags=flags, input_tokens=input_tokens,
                         cache_read_tokens=cache_read_tokens,
                         cache_write_5m_tokens=cache_write_5m_tokens,
                         cache_write_1h_tokens=cache_write_1h_tokens,
                         output_tokens=output_tokens, reasoning_tokens=reasoning_tokens)
        self._c()  # TypeError / OverflowError now, not at first use

    def _c(self) -> ffi.tkn_usage:
        u = options(ffi.tkn_usage, "tkn_usage_init", ffi.TKN_USAGE_VERSION, **self.__dict__)
        return u

    @classmethod
    def _from(cls, u: ffi.tkn_usage) -> "Usage":
        return record(cls, u)

    @classmethod
    def parse(cls, json: JSON, format: str = "auto", batch: bool = False) -> "Usage":
        """Normalise a provider's usage (or a whole response holding it): JSON
        text, a dict, or an SDK object (an OpenAI / Anthropic / litellm usage
        or response, through its model_dump())."""
        b = enc(json_text(json, "Usage.parse"))
        u = options(ffi.tkn_usage, "tkn_usage_init", ffi.TKN_USAGE_VERSION,
                    flags=ffi.TKN_USAGE_BATCH if batch else 0)
        check(lib.tkn_usage_parse(ctypes.byref(u), USAGE_FORMATS[format], b, len(b)))
        return cls._from(u)

    def check(self) -> None:
        """Raise InvalidError if the usage is inconsistent (negative, or parts above totals)."""
        check(lib.tkn_usage_check(ctypes.byref(self._c())), "inconsistent usage")


class Cost(Record):
    """Cost of one call in picodollars (1e-12 USD) by kind of token."""

    @property
    def usd(self) -> Decimal:
        """The total as an exact Decimal number of dollars."""
        return to_usd(self.total)


class ModelPrice(Record):
    """One model's prices in picodollars per MILLION tokens (tkn_model_price);
    tiers is a list of dicts (threshold, has, input_per_mtok, ...)."""

    def _c(self) -> ffi.tkn_model_price:
        kw = {k: v for k, v in self.__dict__.items() if k not in (
            "name", "provider", "name_len", "provider_len", "tiers")}
        c = options(ffi.tkn_model_price, "tkn_model_price_init", ffi.TKN_MODEL_PRICE_VERSION,
                    **kw)
        for i, t in enumerate(getattr(self, "tiers", [])):
            for k, v in t.items():
                setattr(c.tiers[i], k, v)
        return c

    @classmethod
    def _from(cls, c: ffi.tkn_model_price) -> "ModelPrice":
        m = record(cls, c, skip=("name_len", "provider_len", "tiers"))
        m.tiers = [{k: getattr(t, k) for k, _ in t._fields_ if k != "reserved"}
                   for t in c.tiers[:c.tier_count]]
        return m

    def compute(self, usage: Usage) -> Cost:
        """The cost of a usage at this model's prices."""
        out = options(ffi.tkn_cost, "tkn_cost_init", ffi.TKN_COST_VERSION)
        check(lib.tkn_prices_compute(ctypes.byref(self._c()), ctypes.byref(usage._c()),
                                     ctypes.byref(out)))
        return record(Cost, out)


class Prices(Handle):
    """A price table: immutable, shareable by any number of threads."""

    _ctype = "tkn_prices"

    _free = "tkn_prices_free"

    def __init__(self, json: Optional[JSON] = None, skip_invalid: bool = False,
                 aliases: Optional[JSON] = None, max_bytes: Optional[int] = None) -> None:
        """The built-in table without json; else a table in LiteLLM's format
        (JSON text or the dict), aliases likewise."""
        if json is None:
            super().__init__(new_handle(lib.tkn_prices_new_default))
            return
        b = enc(json_text(json, "Prices"))
        a = enc(json_text(aliases, "Prices(aliases=)")) if aliases is not None else None
        opts = options(ffi.tkn_prices_options, "tkn_prices_options_init",
                       ffi.TKN_PRICES_OPTIONS_VERSION, skip_invalid=1 if skip_invalid else 0,
                       max_bytes=max_bytes, aliases=a, aliases_len=len(a) if a else 0)
        super().__init__(new_handle(lib.tkn_prices_load, b, len(b), ctypes.byref(opts)))

    @staticmethod
    def default_json() -> str:
        """The built-in price table as JSON text (LiteLLM's format)."""
        n = ctypes.c_size_t()
        return str(lib.tkn_prices_default_json(ctypes.byref(n)).decode())

    def __len__(self) -> int:
        return int(lib.tkn_prices_count(self))

    @property
    def skipped(self) -> int:
        """Entries skipped as invalid when the table was loaded with skip_invalid."""
        return int(lib.tkn_prices_skipped(self))

    def skipped_entries(self) -> List[Tuple[str, str]]:
        """(key, reason) of each entry a skip_invalid load skipped."""
        out = []
        for i in range(lib.tkn_prices_skipped(self)):
            k, r = ctypes.c_void_p(), ctypes.c_void_p()
            check(lib.tkn_prices_skipped_at(self, i, ctypes.byref(k), ctypes.byref(r)))
            out.append((ctypes.string_at(k.value or 0).decode(),
                        ctypes.string_at(r.value or 0).decode()))
        return out

    def unmodelled(self) -> List[Tuple[str, int, str]]:
        """(field, entries, first key) of each money field the table does not model."""
        out = []
        for i in range(lib.tkn_prices_unmodelled(self)):
            f, k, n = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
            check(lib.tkn_prices_unmodelled_at(self, i, ctypes.byref(f), ctypes.byref(n),
                                               ctypes.byref(k)))
            out.append((ctypes.string_at(f.value or 0).decode(), n.value,
                        ctypes.string_at(k.value or 0).decode()))
        return out

    def lookup(self, model: Text) -> ModelPrice:
        """A model's prices; NotFoundError for a model the table lacks."""
        b = enc(model)
        out = options(ffi.tkn_model_price, "tkn_model_price_init", ffi.TKN_MODEL_PRICE_VERSION)
        check(lib.tkn_prices_lookup(self, b, len(b), ctypes.byref(out)),
              "no price for model %r" % model)
        return ModelPrice._from(out)

    def cost(self, model: Text, usage: Union[Usage, JSON]) -> Cost:
        """The exact cost of `usage` (a Usage, or what Usage.parse reads: a
        provider's usage as a dict, JSON text or SDK object) for `model`."""
        if not isinstance(usage, Usage):
            usage = Usage.parse(usage)  # TypeError for what is no usage at all
        b = enc(model)
        out = options(ffi.tkn_cost, "tkn_cost_init", ffi.TKN_COST_VERSION)
        check(lib.tkn_prices_cost(self, b, len(b), ctypes.byref(usage._c()), ctypes.byref(out)),
              "cannot cost model %r" % model)
        return record(Cost, out)


def format_usd(units: int) -> str:
    """Picodollars as exact decimal USD text with 12 fractional digits."""
    buf = ctypes.create_string_buffer(ffi.TKN_USD_BUFLEN)
    check(lib.tkn_usd_format(units, buf, ctypes.sizeof(buf), None))
    return buf.value.decode()


def parse_usd(text: Text) -> int:
    """Decimal USD text ("2", "$2", "0.003", "3e-06") as picodollars, exactly."""
    b, out = enc(text), ctypes.c_int64()
    check(lib.tkn_usd_parse(b, len(b), ctypes.byref(out)), "bad USD amount %r" % text)
    return out.value


USDAmount = Union[Decimal, str, int]


def usd(amount: USDAmount) -> int:
    """A dollar amount (Decimal, decimal text or a whole number of dollars) as
    picodollars, the library's money unit: usd("5") == usd(5) == 5 * UNITS_PER_USD.
    Exact: finer than 1e-12 USD raises UnsupportedError, beyond the int64
    range OverflowError_.  A float is refused (TypeError): it is not exact."""
    if isinstance(amount, bool) or not isinstance(amount, (Decimal, str, int)):
        raise TypeError("a USD amount is a Decimal, a str or an int, not %s"
                        % type(amount).__name__)
    text = str(amount) if not isinstance(amount, Decimal) else format(amount, "f")
    return parse_usd(text)


def to_usd(units: int) -> Decimal:
    """Picodollars as an exact Decimal number of dollars."""
    return Decimal(format_usd(units))


def otel_provider(litellm_provider: Text) -> Optional[str]:
    """The OpenTelemetry gen_ai.provider.name for a LiteLLM provider name, or None."""
    b = enc(litellm_provider)
    return dec(lib.tkn_prices_otel_provider(b, len(b)))


# ---- meter ------------------------------------------------------------------

DIMENSIONS = {"total": ffi.TKN_METER_TOTAL, "workflow": ffi.TKN_METER_WORKFLOW,
              "model": ffi.TKN_METER_MODEL, "task_type": ffi.TKN_METER_TASK_TYPE,
              "tenant": ffi.TKN_METER_TENANT, "tier": ffi.TKN_METER_TIER,
              "routing_reason": ffi.TKN_METER_ROUTING_REASON}
EXPORTS = {"json": ffi.TKN_METER_JSON, "prometheus": ffi.TKN_METER_PROMETHEUS,
           "otel": ffi.TKN_METER_OTEL}
VALIDATION = {None: 0, "none": 0, "passed": 1, "failed": 2, True: 1, False: 2}


def _call(usage: Usage, cost: Optional[int], latency_us: int, success: bool,
          validation: Any, **keys: Optional[Text]) -> ffi.tkn_meter_call:
    c = options(ffi.tkn_meter_call, "tkn_meter_call_init", ffi.TKN_METER_CALL_VERSION,
                success=1 if success else 0, validation=VALIDATION[validation],
                cost=ffi.TKN_METER_COST_COMPUTE if cost is None else cost,
                latency_us=latency_us)
    c.usage = usage._c()
    for k, v in keys.items():
        b = enc(v)
        if b is not None:
            setattr(c, k, b)
            setattr(c, k + "_len", len(b))
    return c


class Stats(Record):
    """A meter's aggregates for one key (fields of tkn_meter_stats; money in picodollars)."""


class Percentiles(Record):
    """Percentiles of a workflow's calls (fields of tkn_meter_percentiles)."""


class Meter(Handle):
    """Cost and usage aggregates; internally synchronised (any thread)."""

    _ctype = "tkn_meter"

    _free = "tkn_meter_free"

    def __init__(self, prices: Optional[Prices] = None, max_keys: Optional[int] = None,
                 budget_margin_pct: Optional[int] = None) -> None:
        opts = options(ffi.tkn_meter_options, "tkn_meter_options_init",
                       ffi.TKN_METER_OPTIONS_VERSION, max_keys=max_keys,
                       budget_margin_pct=budget_margin_pct)
        parts = Parts()
        opts.prices = parts.take(prices, Prices, "Meter(prices=)")
        super().__init__(new_handle(lib.tkn_meter_new, ctypes.byref(opts)), parts=parts)


    def record(self, usage: Usage, model: Optional[Text] = None, cost: Optional[int] = None,
               latency_us: int = 0, success: bool = True, validation: Any = None,
               workflow: Optional[Text] = None, tenant: Optional[Text] = None,
               task_type: Optional[Text] = None, provider: Optional[Text] = None,
               tier: Optional[Text] = None, routing_reason: Optional[Text] = None) -> None:
        """Record one call; cost None computes it from the meter's prices."""
        c = _call(usage, cost, latency_us, success, validation, workflow=workflow,
                  tenant=tenant, task_type=task_type, model=model, provider=provider, tier=tier,
                  routing_reason=routing_reason)
        check(lib.tkn_meter_record(self, ctypes.byref(c)))

    def stats(self, dimension: str = "total", key: Text = "") -> Stats:
        """Aggregates of a dimension's key (total, model, provider, workflow, tenant, task_type,
        tier...)."""
        b = enc(key)
        out = options(ffi.tkn_meter_stats, "tkn_meter_stats_init", ffi.TKN_METER_STATS_VERSION)
        check(lib.tkn_meter_stats_get(self, DIMENSIONS[dimension], b, len(b), ctypes.byref(out)),
              "no key %r in %s" % (key, dimension))
        return record(Stats, out)

    def set_store(self, store: Any, prefix: Text = "meter:") -> None:
        """Also add every record to fleet-wide totals in a store (Store or
        RedisStore); None detaches.  Call before sharing the meter."""
        if store is None:
            check(lib.tkn_meter_set_store(self, None, None, 0))
            return
        p = enc(prefix)
        table, keep = store._c()
        check(lib.tkn_meter_set_store(self, ctypes.byref(table), p, len(p)))
        self._keep += keep
        for o in keep:
            if isinstance(o, Handle):
                self._borrow(o, Handle, "set_store()")

    def flush(self) -> None:
        """Send the records the store has not taken yet."""
        check(lib.tkn_meter_flush(self))

    @property
    def shared_dropped(self) -> int:
        """Store adds dropped: refused outright by the store, beyond the
        65536 kept, or out of memory (each record makes 7)."""
        return int(lib.tkn_meter_shared_dropped(self))

    def shared_stats(self, dimension: str = "total", key: Text = "") -> Stats:
        """Fleet-wide statistics from the store."""
        b = enc(key)
        out = options(ffi.tkn_meter_stats, "tkn_meter_stats_init", ffi.TKN_METER_STATS_VERSION)
        check(lib.tkn_meter_shared_stats(self, DIMENSIONS[dimension], b, len(b),
                                         ctypes.byref(out)))
        return record(Stats, out)

    def key_count(self, dimension: str) -> int:
        """How many keys a dimension holds."""
        return int(lib.tkn_meter_key_count(self, DIMENSIONS[dimension]))

    def percentiles(self, workflow: Text) -> Percentiles:
        """Token and cost percentiles of a workflow's calls."""
        b = enc(workflow)
        out = options(ffi.tkn_meter_percentiles, "tkn_meter_percentiles_init",
                      ffi.TKN_METER_PERCENTILES_VERSION)
        check(lib.tkn_meter_percentiles_get(self, b, len(b), ctypes.byref(out)),
              "no workflow %r" % workflow)
        return record(Percentiles, out)

    def merge(self, other: "Meter") -> None:
        """Add another meter's records to this one."""
        check(lib.tkn_meter_merge(self, other))

    def reset(self) -> None:
        """Forget every record."""
        lib.tkn_meter_reset(self)

    def export(self, format: str = "json") -> str:
        """Everything recorded, as text: json, prometheus or otel."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_meter_export(self, EXPORTS[format], ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)

    @staticmethod
    def otel_call(usage: Usage, model: Optional[Text] = None, cost: Optional[int] = None,
                  latency_us: int = 0, success: bool = True, validation: Any = None,
                  **keys: Optional[Text]) -> str:
        """The OpenTelemetry GenAI span attributes of one call, as JSON text."""
        c = _call(usage, cost, latency_us, success, validation, model=model, **keys)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_meter_otel_call(ctypes.byref(c), ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)


__all__ = ["Usage", "Cost", "ModelPrice", "Prices", "Meter", "Stats", "Percentiles",
           "format_usd", "parse_usd", "usd", "to_usd", "otel_provider", "UNITS_PER_USD",
           "field_addr"]
