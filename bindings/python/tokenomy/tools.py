"""The tool-result cache (toolcache.h) and batch files (batch.h)."""
from __future__ import annotations

import ctypes
import json as _json
from typing import Any, Callable, Dict, List, Optional, Sequence, Union, cast

from . import _ffi as ffi
from ._core import (JSON, json_text,
                    Handle, Parts, Record, Text, _park, at, check, enc, field_addr, ftype, lib,
                    new_handle, options, record, take)
from .conv import Tokenizer
from .money import Cost, Prices, Usage

SCOPES = {"run": 0, "session": 1, "namespace": 2, "global": 3}
PROVIDERS = {"openai": ffi.TKN_PROVIDER_OPENAI, "anthropic": ffi.TKN_PROVIDER_ANTHROPIC}


def _args(args: Union[Text, Dict[str, Any], None]) -> bytes:
    if args is None:
        return b"{}"
    if not isinstance(args, (str, bytes)):
        args = _json.dumps(args)
    return enc(args)


class ToolCacheStats(Record):
    """A tool cache's counters (fields of tkn_toolcache_stats)."""


class ToolCache(Handle):
    """Tool results by (tool, canonical arguments, scope); internally
    synchronised: any number of threads may use one cache."""

    _ctype = "tkn_toolcache"

    _free = "tkn_toolcache_free"

    def __init__(self, max_bytes: Optional[int] = None, shards: Optional[int] = None,
                 max_args_bytes: Optional[int] = None, clock: Optional[Callable[[], int]] = None,
                 tokenizer: Optional[Tokenizer] = None) -> None:
        opts = options(ffi.tkn_toolcache_options, "tkn_toolcache_options_init",
                       ffi.TKN_TOOLCACHE_OPTIONS_VERSION, max_bytes=max_bytes, shards=shards,
                       max_args_bytes=max_args_bytes)
        keep: List[Any] = []
        parts = Parts()
        opts.tokenizer = parts.take(tokenizer, Tokenizer, "ToolCache(tokenizer=)")
        if clock is not None:
            def tramp(user: Any) -> int:
                try:
                    return int(clock())
                except BaseException as e:
                    _park(e)
                    return 0
            keep.append(ftype(ffi.tkn_toolcache_options, "clock")(tramp))
            opts.clock = keep[-1]
        super().__init__(new_handle(lib.tkn_toolcache_new, ctypes.byref(opts)), keep, parts)


    def set_policy(self, tool: Text, cacheable: bool = True, ttl_ms: int = 0,
                   scope: str = "session") -> None:
        """Make a tool cacheable (or not), with a TTL and a scope (session, user, global)."""
        b = enc(tool)
        check(lib.tkn_toolcache_set_policy(self, b, len(b), 1 if cacheable else 0, ttl_ms,
                                           SCOPES[scope]))

    def is_cacheable(self, tool: Text) -> bool:
        """Whether a tool is registered cacheable."""
        b = enc(tool)
        return bool(lib.tkn_toolcache_is_cacheable(self, b, len(b)))

    def get(self, tool: Text, args: Union[Text, Dict[str, Any], None] = None,
            scope_id: Text = "") -> Optional[str]:
        """The cached result, or None on a miss (or a tool not cacheable)."""
        t, a, s = enc(tool), _args(args), enc(scope_id)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        st = lib.tkn_toolcache_get(self, t, len(t), a, len(a), s, len(s), ctypes.byref(out),
                                   ctypes.byref(n))
        if st == ffi.TKN_ERR_NOT_FOUND:
            return None
        check(st)
        return take(out, n.value)

    def put(self, tool: Text, args: Union[Text, Dict[str, Any], None], value: JSON,
            scope_id: Text = "", tokens: int = -1) -> None:
        """Cache a tool's result for these arguments: the value as text, or a
        dict / list stored as its JSON text."""
        t, a, s = enc(tool), _args(args), enc(scope_id)
        v = enc(json_text(value, "put()"))
        check(lib.tkn_toolcache_put(self, t, len(t), a, len(a), s, len(s), v, len(v), tokens))

    def invalidate_tool(self, tool: Text) -> int:
        """Drop a tool's entries; how many."""
        b, n = enc(tool), ctypes.c_uint64()
        check(lib.tkn_toolcache_invalidate_tool(self, b, len(b), ctypes.byref(n)))
        return n.value

    def invalidate_scope(self, scope: str, scope_id: Text = "") -> int:
        """Drop a scope's entries; how many."""
        b, n = enc(scope_id), ctypes.c_uint64()
        check(lib.tkn_toolcache_invalidate_scope(self, SCOPES[scope], b, len(b), ctypes.byref(n)))
        return n.value

    def purge_expired(self) -> int:
        """Drop expired entries; how many."""
        n = ctypes.c_uint64()
        check(lib.tkn_toolcache_purge_expired(self, ctypes.byref(n)))
        return n.value

    def clear(self) -> None:
        """Drop every entry."""
        check(lib.tkn_toolcache_clear(self))

    def set_store(self, store: Any, prefix: Text = "toolcache:") -> None:
        """Share entries through a store (Store or RedisStore); None detaches.
        Call before the cache is shared between threads."""
        if store is None:
            check(lib.tkn_toolcache_set_store(self, None, None, 0))
            return
        p = enc(prefix)
        table, keep = store._c()
        check(lib.tkn_toolcache_set_store(self, ctypes.byref(table), p, len(p)))
        self._keep += keep
        for o in keep:
            if isinstance(o, Handle):
                self._borrow(o, Handle, "set_store()")

    def stats(self) -> ToolCacheStats:
        """Hits, misses, entries and bytes."""
        s = ffi.tkn_toolcache_stats()
        s.version = ffi.TKN_TOOLCACHE_STATS_VERSION
        check(lib.tkn_toolcache_stats_get(self, ctypes.byref(s)))
        return record(ToolCacheStats, s)


# ---- batch -----------------------------------------------------------------

class BatchWriter(Handle):
    """Batch request files, one JSON line per request, handed to Python
    callables (one thread at a time).  write(data: bytes) receives whole
    lines; begin_file(index) and end_file(index, requests, bytes) frame files.
    An exception in a callback stops the writer (IOError status) and is
    raised again to the caller."""

    _ctype = "tkn_batch_writer"

    _free = "tkn_batch_writer_free"

    def __init__(self, write: Callable[[bytes], None],
                 begin_file: Optional[Callable[[int], None]] = None,
                 end_file: Optional[Callable[[int, int, int], None]] = None,
                 provider: str = "openai", max_requests_per_file: Optional[int] = None,
                 max_bytes_per_file: Optional[int] = None, url: Optional[Text] = None) -> None:
        for what, fn in (("write", write), ("begin_file", begin_file), ("end_file", end_file)):
            if not callable(fn) and (fn is not None or what == "write"):
                raise TypeError("BatchWriter(%s=): expected a callable, got %s"
                                % (what, type(fn).__name__))
        u = enc(url)
        opts = options(ffi.tkn_batch_writer_options, "tkn_batch_writer_options_init",
                       ffi.TKN_BATCH_WRITER_OPTIONS_VERSION, provider=PROVIDERS[provider],
                       max_requests_per_file=max_requests_per_file,
                       max_bytes_per_file=max_bytes_per_file, url=u,
                       url_len=len(u) if u else 0)

        def guard(fn: Callable[..., Any]) -> Callable[..., int]:
            def tramp(*a: Any) -> int:
                try:
                    fn(*a[:-1])
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            return tramp
        keep = [ftype(ffi.tkn_batch_writer_options, "begin_file")(
                    guard(begin_file or (lambda i: None))),
                ftype(ffi.tkn_batch_writer_options, "write")(
                    guard(lambda d, n: write(ctypes.string_at(d, n)))),
                ftype(ffi.tkn_batch_writer_options, "end_file")(
                    guard(end_file or (lambda i, r, b: None)))]
        opts.begin_file, opts.write, opts.end_file = keep
        super().__init__(new_handle(lib.tkn_batch_writer_new, ctypes.byref(opts)), keep)

    def _check(self, st: int) -> None:
        check(st)

    def add(self, custom_id: Text, body: Union[Text, Dict[str, Any]]) -> None:
        """Add one request (its body as JSON text or a dict) under a custom id."""
        if not isinstance(body, (str, bytes)):
            body = _json.dumps(body)
        i, b = enc(custom_id), enc(body)
        self._check(lib.tkn_batch_writer_add(self, i, len(i), b, len(b)))

    def finish(self) -> None:
        """Flush the last lines."""
        self._check(lib.tkn_batch_writer_finish(self))

    def counts(self) -> Dict[str, int]:
        """Requests, bytes and files written so far."""
        f, r, b = ctypes.c_uint32(), ctypes.c_uint64(), ctypes.c_uint64()
        self._check(lib.tkn_batch_writer_counts(self, ctypes.byref(f), ctypes.byref(r),
                                                ctypes.byref(b)))
        return {"files": f.value, "requests": r.value, "bytes": b.value}


STATUSES = {1: "succeeded", 2: "errored", 3: "canceled", 4: "expired"}
DL_REASONS = {1: "missing", 2: "duplicate", 3: "unknown", 4: "errored", 5: "canceled",
              6: "expired"}


class BatchResult(Record):
    """One result line of a batch: custom id, status, usage and cost."""


class BatchSummary(Record):
    """Counts of a batch (fields of tkn_batch_summary)."""


class BatchReader(Handle):
    """Joins result files back to the submitted ids (one thread at a time).
    on_result(BatchResult) is called for each joined result."""

    _ctype = "tkn_batch_reader"

    _free = "tkn_batch_reader_free"

    def __init__(self, on_result: Optional[Callable[[BatchResult], None]] = None,
                 provider: str = "openai", prices: Optional[Prices] = None,
                 max_line_bytes: Optional[int] = None) -> None:
        if on_result is not None and not callable(on_result):
            raise TypeError("BatchReader(on_result=): expected a callable, got %s"
                            % type(on_result).__name__)
        opts = options(ffi.tkn_batch_reader_options, "tkn_batch_reader_options_init",
                       ffi.TKN_BATCH_READER_OPTIONS_VERSION, provider=PROVIDERS[provider],
                       max_line_bytes=max_line_bytes)
        keep: List[Any] = []
        parts = Parts()
        opts.prices = parts.take(prices, Prices, "BatchReader(prices=)")
        if on_result is not None:
            def tramp(rp: Any, user: Any) -> int:
                try:
                    r = rp[0]

                    def s(name: str) -> str:
                        return at(field_addr(r, name), getattr(r, name + "_len"))
                    on_result(BatchResult(
                        status=STATUSES.get(r.status, r.status), custom_id=s("custom_id"),
                        model=s("model"), body=s("body"), usage_json=s("usage"),
                        error=s("error"), http_status=r.http_status, file=r.file, line=r.line,
                        meter_status=r.meter_status,
                        usage=Usage._from(r.tokens[0]) if r.tokens else None,
                        cost=record(Cost, r.cost[0]) if r.cost else None,
                        meter_error=(r.meter_error or b"").decode("utf-8", "replace")))
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_batch_reader_options, "on_result")(tramp))
            opts.on_result = keep[-1]
        super().__init__(new_handle(lib.tkn_batch_reader_new, ctypes.byref(opts)), keep, parts)

    def _check(self, st: int) -> None:
        check(st)

    def expect(self, *custom_ids: Text) -> None:
        """Custom ids the batch must answer (the rest are unknown)."""
        for cid in custom_ids:
            b = enc(cid)
            self._check(lib.tkn_batch_reader_expect(self, b, len(b)))

    def expect_writer(self, writer: BatchWriter) -> None:
        """Expect every custom id a BatchWriter wrote."""
        self._check(lib.tkn_batch_reader_expect_writer(self, writer))

    def feed(self, data: Union[Text, Dict[str, Any], Sequence[Dict[str, Any]]]) -> None:
        """Push the next bytes of the current file (whole files in one call is
        best); a result line as a dict, or a list of them, is written as JSONL."""
        if isinstance(data, dict):
            data = [data]
        if not isinstance(data, (str, bytes)):
            data = "".join(_json.dumps(d, ensure_ascii=False) + "\n" for d in data)
        b = enc(data)
        self._check(lib.tkn_batch_reader_feed(self, b, len(b)))

    def end_file(self) -> None:
        """End the current result file."""
        self._check(lib.tkn_batch_reader_end_file(self))

    def finish(self) -> None:
        """End the batch: expected ids without a result become missing."""
        self._check(lib.tkn_batch_reader_finish(self))

    def summary(self) -> BatchSummary:
        """Counts of the batch read so far (succeeded, errored, missing...)."""
        s = ffi.tkn_batch_summary()
        s.version = ffi.TKN_BATCH_SUMMARY_VERSION
        self._check(lib.tkn_batch_reader_summary(self, ctypes.byref(s)))
        return record(BatchSummary, s)

    def dead_letters(self) -> List[Dict[str, Any]]:
        """Every dead letter (failed or malformed line) as a dict."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_batch_reader_dead_letters_json(self, ctypes.byref(out),
                                                           ctypes.byref(n)))
        return cast(List[Dict[str, Any]], _json.loads(take(out, n.value)))

    def dead_letter(self, i: int) -> Dict[str, Any]:
        """Dead letter i as a dict."""
        d = ffi.tkn_batch_dead_letter()
        d.version = ffi.TKN_BATCH_DEAD_LETTER_VERSION
        self._check(lib.tkn_batch_reader_dead_letter(self, i, ctypes.byref(d)))
        return {"reason": DL_REASONS.get(d.reason, d.reason),
                "custom_id": at(field_addr(d, "custom_id"), d.custom_id_len),
                "detail": at(field_addr(d, "detail"), d.detail_len), "file": d.file,
                "line": d.line}

    @property
    def dead_letter_count(self) -> int:
        """How many dead letters there are."""
        return int(lib.tkn_batch_reader_dead_letter_count(self))
