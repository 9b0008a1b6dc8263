"""Tool selection per turn (toolsel.h): a deferred tool catalogue with search."""
from __future__ import annotations

import ctypes
import json as _json
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Union

from . import _ffi as ffi
from ._core import Handle, Text, _park, at, check, enc, ftype, lib, new_handle, options
from .prompt import PromptBuilder

Tool = Union[Text, Dict[str, Any]]


class ToolCatalogue(Handle):
    """Tool definitions in the order added, ranked for a query by BM25 over
    names, descriptions and parameter names (or by `search`, a callable
    (query, n) -> n scores >= 0).  select() returns catalogue indices in
    catalogue order, so the same set always gives the same prompt prefix.
    Adding is one thread at a time; selecting may run on many at once."""

    _ctype = "tkn_toolsel"

    _free = "tkn_toolsel_free"

    def __init__(self, tools: Iterable[Tool] = (), k1: Optional[float] = None,
                 b: Optional[float] = None,
                 search: Optional[Callable[[str, int], Sequence[float]]] = None) -> None:
        opts = options(ffi.tkn_toolsel_options, "tkn_toolsel_options_init",
                       ffi.TKN_TOOLSEL_OPTIONS_VERSION, k1=k1, b=b)
        keep: List[Any] = []
        if search is not None:
            def tramp(cat: Any, q: Any, ql: int, scores: Any, n: int, user: Any) -> int:
                try:
                    vals = list(search(ctypes.string_at(q, ql).decode("utf-8"), n))
                    if len(vals) != n:
                        raise ValueError("search: %d scores for %d tools" % (len(vals), n))
                    for i, v in enumerate(vals):
                        scores[i] = float(v)
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_toolsel_options, "search")(tramp))
            opts.search = keep[-1]
        super().__init__(new_handle(lib.tkn_toolsel_new, ctypes.byref(opts)), keep)
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> int:
        """Add a definition (OpenAI, Anthropic or neutral form); its index."""
        if not isinstance(tool, (str, bytes)):
            tool = _json.dumps(tool)
        t, idx = enc(tool), ctypes.c_uint32()
        check(lib.tkn_toolsel_add(self, t, len(t), ctypes.byref(idx)))
        return idx.value

    def __len__(self) -> int:
        return int(lib.tkn_toolsel_count(self))

    def names(self) -> List[str]:
        """The tools' names, in catalogue order."""
        out = []
        for i in range(len(self)):
            p, n = ctypes.c_void_p(), ctypes.c_size_t()
            check(lib.tkn_toolsel_tool(self, i, ctypes.byref(p), ctypes.byref(n), None, None))
            out.append(at(p.value, n.value))
        return out

    def find(self, name: Text) -> int:
        """The index of a tool by name (NotFoundError if there is none)."""
        b, idx = enc(name), ctypes.c_uint32()
        check(lib.tkn_toolsel_find(self, b, len(b), ctypes.byref(idx)))
        return idx.value

    def scores(self, query: Text) -> List[float]:
        """The BM25 score of every tool for the query, in catalogue order."""
        q, n = enc(query), len(self)
        arr = (ctypes.c_double * max(n, 1))()
        check(lib.tkn_toolsel_scores(self, q, len(q), arr, n))
        return list(arr[:n])

    def select(self, query: Text, k: int = 3,
               always: Iterable[Union[int, Text]] = ()) -> List[int]:
        """The k best tools that match the query plus `always` (names or
        indices), as catalogue indices in catalogue order."""
        idx = [a if isinstance(a, int) else self.find(a) for a in always]
        al = (ctypes.c_uint32 * max(len(idx), 1))(*idx)
        q, n = enc(query), len(self)
        out, got = (ctypes.c_uint32 * max(n, 1))(), ctypes.c_size_t()
        check(lib.tkn_toolsel_select(self, q, len(q), k, al, len(idx), out, n,
                                     ctypes.byref(got)))
        return list(out[:got.value])

    def add_to_builder(self, builder: PromptBuilder, selected: Sequence[int],
                       defer_rest: bool = True) -> None:
        """Add the catalogue to a prompt builder: `selected` as they are, the
        others deferred (Anthropic: defer_loading and its tool search tool;
        OpenAI: left out) or, with defer_rest=False, not at all."""
        arr = (ctypes.c_uint32 * max(len(selected), 1))(*selected)
        mode = ffi.TKN_TOOLSEL_DEFER_REST if defer_rest else ffi.TKN_TOOLSEL_ONLY_SELECTED
        check(lib.tkn_toolsel_add_to_builder(builder, self, arr, len(selected), mode))
