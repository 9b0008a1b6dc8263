"""Prompt assembly and rendering (prompt.h) and the cache planner (cacheplan.h)."""
from __future__ import annotations

import ctypes
import json as _json
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _ffi as ffi
from ._core import (Handle, Parts, Record, Text, check, dec, enc, field_addr, at, lib,
                    new_handle, options, record, take)
from .conv import Conversation, Tokenizer, fmt

KINDS = {"tools": 0, "static": 1, "reference": 2, "history": 3, "dynamic": 4}
STABILITY = {"static": 0, "session": 1, "volatile": 2}
TTLS = {"5m": 0, "1h": 1}
PROVIDERS = {"openai": ffi.TKN_PROVIDER_OPENAI, "anthropic": ffi.TKN_PROVIDER_ANTHROPIC,
             "gemini": ffi.TKN_PROVIDER_GEMINI}


def _name(fn: Any, code: int) -> str:
    return dec(fn(code)) or str(code)


class Finding(Record):
    """A lint finding: rule, segment and message."""


def _finding(f: Any) -> Finding:
    return Finding(kind=_name(lib.tkn_prompt_issue_name, f.kind), segment=f.segment,
                   other=None if f.other == ffi.TKN_PROMPT_NONE else f.other, offset=f.offset,
                   length=f.length)


def lint(text: Text, mask: int = ffi.TKN_LINT_ALL) -> List[Finding]:
    """Volatile content (dates, UUIDs, ids, counters) in a text."""
    b = enc(text)
    arr, n = ctypes.POINTER(ffi.tkn_prompt_finding)(), ctypes.c_size_t()
    check(lib.tkn_prompt_lint(b, len(b), mask, ctypes.byref(arr), ctypes.byref(n)))
    try:
        return [_finding(arr[i]) for i in range(n.value)]
    finally:
        lib.tkn_free(arr)


def min_cache_tokens(provider: str, model: Text) -> int:
    """The documented minimum cacheable prefix of a provider's model, matched
    exactly or by the dated-snapshot and "ft:" rules; an unknown model raises
    (not found), never another model's minimum."""
    b = enc(model)
    out = ctypes.c_int64()
    check(lib.tkn_prompt_min_cache_tokens(PROVIDERS[provider], b, len(b), ctypes.byref(out)))
    return out.value


class Segment(Record):
    """One segment of an assembled prompt: kind, name, stability, tokens."""


class Prompt(Handle):
    """An assembled prompt: immutable, readable from any thread."""

    _ctype = "tkn_prompt"

    _free = "tkn_prompt_free"

    def __init__(self, *args: Any, **kw: Any) -> None:
        # Prompt(12345) read address 12345: a prompt only comes from C
        raise TypeError("a Prompt comes from PromptBuilder.assemble()")

    def segments(self) -> List[Segment]:
        """The assembled segments, in order."""
        out = []
        for i in range(lib.tkn_prompt_segment_count(self)):
            s = ffi.tkn_prompt_segment_info()
            s.version = ffi.TKN_PROMPT_SEGMENT_INFO_VERSION
            check(lib.tkn_prompt_segment(self, i, ctypes.byref(s)))
            r = record(Segment, s, skip=("name", "name_len"))
            r.name = at(field_addr(s, "name"), s.name_len)
            r.kind = _name(lib.tkn_prompt_segment_kind_name, s.kind)
            r.stability = _name(lib.tkn_prompt_stability_name, s.stability)
            out.append(r)
        return out

    def blocks(self) -> List[Tuple[int, int, int]]:
        """(segment, tokens, fingerprint) of every block."""
        out = []
        for i in range(lib.tkn_prompt_block_count(self)):
            s, t, f = ctypes.c_uint32(), ctypes.c_int64(), ctypes.c_uint64()
            check(lib.tkn_prompt_block(self, i, ctypes.byref(s), ctypes.byref(t),
                                       ctypes.byref(f)))
            out.append((s.value, t.value, f.value))
        return out

    @property
    def fingerprint(self) -> int:
        """A fingerprint of the stable prefix (changes when a cache would miss)."""
        return int(lib.tkn_prompt_fingerprint(self))

    @property
    def version(self) -> int:
        """The prompt's version."""
        return int(lib.tkn_prompt_version(self))

    @property
    def tokens(self) -> int:
        """The prompt's tokens."""
        return int(lib.tkn_prompt_tokens(self))

    def findings(self) -> List[Finding]:
        """Lint findings on the prompt."""
        out = []
        for i in range(lib.tkn_prompt_finding_count(self)):
            f = ffi.tkn_prompt_finding()
            f.version = ffi.TKN_PROMPT_FINDING_VERSION
            check(lib.tkn_prompt_finding_get(self, i, ctypes.byref(f)))
            out.append(_finding(f))
        return out

    def diff(self, before: "Prompt") -> Tuple[Optional[int], int]:
        """(first changed segment of self or None, segments changed) since `before`."""
        first, n = ctypes.c_uint32(), ctypes.c_uint32()
        check(lib.tkn_prompt_diff(before, self, ctypes.byref(first), ctypes.byref(n)))
        return (None if first.value == ffi.TKN_PROMPT_NONE else first.value), n.value

    def breakpoints(self, min_cache_tokens: int, max_breakpoints: int = 4
                    ) -> List[Tuple[int, str]]:
        """Where to place cache breakpoints: (segment index, ttl) pairs."""
        blocks = (ctypes.c_uint32 * max_breakpoints)()
        ttls = (ctypes.c_uint32 * max_breakpoints)()
        n = ctypes.c_size_t()
        check(lib.tkn_prompt_breakpoints(self, min_cache_tokens, max_breakpoints, blocks, ttls,
                                         max_breakpoints, ctypes.byref(n)))
        return [(blocks[i], "1h" if ttls[i] else "5m") for i in range(n.value)]

    def render(self, model: Text, format: Union[str, int] = "openai", max_tokens: int = 0,
               cache_key: Optional[Text] = None, min_cache_tokens: int = 0,
               max_breakpoints: int = 4) -> str:
        """The request body as JSON text."""
        m, k = enc(model), enc(cache_key)
        o = options(ffi.tkn_render_options, "tkn_render_options_init",
                    ffi.TKN_RENDER_OPTIONS_VERSION, provider=fmt(format), model=m,
                    model_len=len(m), max_tokens=max_tokens, cache_key=k,
                    cache_key_len=len(k) if k else 0, min_cache_tokens=min_cache_tokens,
                    max_breakpoints=max_breakpoints)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_prompt_render(self, ctypes.byref(o), ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)


class PromptBuilder(Handle):
    """Collects prompt segments (one thread at a time)."""

    _ctype = "tkn_prompt_builder"

    _free = "tkn_prompt_builder_free"

    def __init__(self, strict: bool = False, keep_order: bool = False,
                 lint_mask: Optional[int] = None) -> None:
        o = options(ffi.tkn_prompt_options, "tkn_prompt_options_init",
                    ffi.TKN_PROMPT_OPTIONS_VERSION, strict=int(strict),
                    keep_order=int(keep_order), lint_mask=lint_mask)
        super().__init__(new_handle(lib.tkn_prompt_builder_new, ctypes.byref(o)))

    def _check(self, st: int) -> None:
        check(st)

    def add_text(self, kind: str, text: Text, name: Text = "", stability: str = "static") -> int:
        """Add a text segment (kind: system, instructions, example...; stability: static,
        session, turn); its index."""
        n, t, idx = enc(name), enc(text), ctypes.c_uint32()
        self._check(lib.tkn_prompt_builder_add_text(self, KINDS[kind], STABILITY[stability], n,
                                                    len(n), t, len(t), ctypes.byref(idx)))
        return idx.value

    def add_tool(self, tool: Union[Text, Dict[str, Any]]) -> int:
        """Add a tool definition (JSON text or a dict); its index."""
        if not isinstance(tool, (str, bytes)):
            tool = _json.dumps(tool)
        b, idx = enc(tool), ctypes.c_uint32()
        self._check(lib.tkn_prompt_builder_add_tool(self, b, len(b), ctypes.byref(idx)))
        return idx.value

    def set_history(self, conv: Optional[Conversation], stability: str = "session") -> int:
        """Borrow conv as the history (kept alive by the builder)."""
        idx = ctypes.c_uint32()
        self._check(lib.tkn_prompt_builder_set_history(self, conv, STABILITY[stability],
                                                       ctypes.byref(idx)))
        self._borrow(conv, Conversation, "set_history()")
        return idx.value

    def set_ttl(self, index: int, ttl: str) -> None:
        """Set segment index's cache TTL (5m, 1h)."""
        self._check(lib.tkn_prompt_builder_set_ttl(self, index, TTLS[ttl]))

    def clear(self) -> None:
        """Remove every segment."""
        lib.tkn_prompt_builder_clear(self)

    def assemble(self, tokenizer: Tokenizer) -> Prompt:
        """The Prompt, counted with this tokenizer."""
        out = ctypes.c_void_p()
        self._check(lib.tkn_prompt_assemble(ctypes.byref(out), self, tokenizer))
        return Prompt._adopt(out.value)


class CachePlanResult(Record):
    """A cache plan's figures (fields of tkn_cache_plan_result)."""


class CachePlan(Handle):
    """Simulates one provider's prompt cache over a stream of requests."""

    _ctype = "tkn_cacheplan"

    _free = "tkn_cacheplan_free"

    def __init__(self, price_input: int, provider: str = "openai", model: Optional[Text] = None,
                 **opts: int) -> None:
        m = enc(model)
        o = options(ffi.tkn_cacheplan_options, "tkn_cacheplan_options_init",
                    ffi.TKN_CACHEPLAN_OPTIONS_VERSION, provider=PROVIDERS[provider], model=m,
                    model_len=len(m) if m else 0, price_input=price_input, **opts)
        super().__init__(new_handle(lib.tkn_cacheplan_new, ctypes.byref(o)))

    def _check(self, st: int) -> None:
        check(st)

    def add_prompt(self, time_ms: int, prompt: Prompt) -> None:
        """Add a prompt sent at time_ms."""
        self._check(lib.tkn_cacheplan_add_prompt(self, time_ms, prompt))

    def add_blocks(self, time_ms: int, blocks: Sequence[Tuple[int, int, int, int]]) -> None:
        """blocks: (fingerprint, tokens, flags, segment) each."""
        arr = (ffi.tkn_cacheplan_block * len(blocks))(*blocks)  # type: ignore[misc]
        self._check(lib.tkn_cacheplan_add_blocks(self, time_ms, arr, len(blocks)))

    def result(self) -> CachePlanResult:
        """The plan's figures: cost with and without caching, hits, writes."""
        r = ffi.tkn_cacheplan_result()
        r.version = ffi.TKN_CACHEPLAN_RESULT_VERSION
        self._check(lib.tkn_cacheplan_result_get(self, ctypes.byref(r)))
        return record(CachePlanResult, r)

    def advice(self) -> str:
        """The plan's advice as text."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_cacheplan_advice(self, ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)
