"""The host's model callbacks (llm.h) and the agent turn (agent.h)."""
from __future__ import annotations

import ctypes
import json as _json
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Union

from . import _ffi as ffi
from ._core import (JSON, json_text,
                    Handle, Parts, Record, Text, _park, at, check, dec, enc, field_addr, ftype,
                    holding, lib, new_handle, options, record, take)
from .conv import Conversation, Tokenizer, fmt
from .money import Usage, USAGE_FORMATS, Prices, Meter
from .context import Budget, MODES
from .route import Router, Schema, Task
from .tools import ToolCache
from .toolsel import ToolCatalogue
from .prompt import KINDS, STABILITY

PURPOSES = ["turn", "retry", "cascade", "summary"]
FAIL_CLASSES = {"rate_limit": 0, "timeout": 1, "server": 2, "bad_request": 3, "auth": 4,
                "content_policy": 5}


def fail_name(cls: int) -> Optional[str]:
    """A failure class's name from its code, or None."""
    return dec(lib.tkn_llm_fail_name(cls))


class ModelError(Exception):
    """Raise it from complete() for a failed model call: cls is the error
    class ("rate_limit", "timeout", "server", "bad_request", "auth",
    "content_policy"), which decides retries and cooldowns.  It is an
    expected outcome (the turn goes on or ends with finish reason "error"),
    not re-raised to the caller like other exceptions."""

    def __init__(self, cls: Union[str, int], message: str = "") -> None:
        super().__init__(message)
        self.cls = FAIL_CLASSES[cls] if isinstance(cls, str) else cls
        self.message = message


class LLMRequest(Record):
    """One model call (a copy of tkn_llm_request): model, body (the provider
    request JSON, ready to POST), format, max_output_tokens, response_schema,
    workflow, tenant, task_type, tier, purpose, attempt, batch, input_tokens."""


class LLMResponse(Handle):
    """A tkn_llm_response.  Inside complete() it is tokenomy's (borrowed:
    fill it, do not keep it); LLMResponse() makes one of your own (to test
    callbacks).  Setters copy their arguments."""

    _ctype = "tkn_llm_response"

    _free: Optional[str] = "tkn_llm_response_free"

    def __init__(self) -> None:
        super().__init__(new_handle(lib.tkn_llm_response_new))

    @classmethod
    def _lent(cls, ptr: int) -> "LLMResponse":
        """tokenomy's response inside complete(): never freed here.  (Not a
        constructor argument: LLMResponse(12345) would write to address 12345.)"""
        r = cls._adopt(ptr)
        r._free = None
        return r

    def _check(self, st: int) -> None:
        check(st)

    def _set(self, fn: Any, s: Text) -> None:
        b = enc(s) or b""
        self._check(fn(self, b, len(b)))

    @property
    def content(self) -> str:
        """The answer's text."""
        n = ctypes.c_size_t()
        p = lib.tkn_llm_response_content(self, ctypes.byref(n))
        return p.decode("utf-8", "replace") if p else ""

    @content.setter
    def content(self, s: Text) -> None:
        self._set(lib.tkn_llm_response_set_content, s)

    @property
    def tool_calls(self) -> Optional[str]:
        """The answer's tool calls as JSON text, or None."""
        n = ctypes.c_size_t()
        p = lib.tkn_llm_response_tool_calls(self, ctypes.byref(n))
        return p.decode("utf-8", "replace") if p else None

    @tool_calls.setter
    def tool_calls(self, json: Union[Text, List[Any]]) -> None:
        if not isinstance(json, (str, bytes)):
            json = _json.dumps(json)
        self._set(lib.tkn_llm_response_set_tool_calls, json)

    @property
    def finish_reason(self) -> Optional[str]:
        """Why the model stopped, or None."""
        n = ctypes.c_size_t()
        p = lib.tkn_llm_response_finish_reason(self, ctypes.byref(n))
        return p.decode() if p else None

    @finish_reason.setter
    def finish_reason(self, s: Text) -> None:
        self._set(lib.tkn_llm_response_set_finish_reason, s)

    def set_usage_json(self, json: Union[Text, Dict[str, Any]], format: str = "auto") -> None:
        """The provider's usage object (or whole response), normalised by tokenomy."""
        if not isinstance(json, (str, bytes)):
            json = _json.dumps(json)
        b = enc(json) or b""
        self._check(lib.tkn_llm_response_set_usage_json(self, USAGE_FORMATS[format], b, len(b)))

    @property
    def usage_json(self) -> Optional[str]:
        """The usage JSON given with the response, or None."""
        n = ctypes.c_size_t()
        p = lib.tkn_llm_response_usage_json(self, ctypes.byref(n))
        return p.decode() if p else None

    @property
    def usage(self) -> Optional[Usage]:
        """The normalised usage, or None; set a Usage, a dict or usage JSON."""
        u = options(ffi.tkn_usage, "tkn_usage_init", ffi.TKN_USAGE_VERSION)
        st = lib.tkn_llm_response_usage(self, ctypes.byref(u))
        if st == ffi.TKN_ERR_NOT_FOUND:
            return None
        self._check(st)
        return Usage._from(u)

    @usage.setter
    def usage(self, usage: Union[Usage, JSON]) -> None:
        if not isinstance(usage, Usage):
            usage = Usage.parse(usage)
        self._check(lib.tkn_llm_response_set_usage(self, ctypes.byref(usage._c())))

    def set_batched(self, batched: bool = True) -> None:
        """Mark the call as made through a batch API (batch prices)."""
        self._check(lib.tkn_llm_response_set_batched(self, 1 if batched else 0))

    def set_error(self, cls: Union[str, int], message: Text = "") -> None:
        """Mark the call failed with a failure class and message."""
        c = FAIL_CLASSES[cls] if isinstance(cls, str) else cls
        b = enc(message) or b""
        self._check(lib.tkn_llm_response_set_error(self, c, b, len(b)))

    @property
    def error(self) -> Tuple[Optional[str], str]:
        """(failure class name or None, message)."""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        c = lib.tkn_llm_response_error(self, ctypes.byref(p), ctypes.byref(n))
        return (None if c < 0 else fail_name(c)), at(p.value, n.value)

    def clear(self) -> None:
        """Reset the response for the next call."""
        lib.tkn_llm_response_clear(self)


def _request(r: Any) -> LLMRequest:
    def s(name: str) -> Optional[str]:
        a = field_addr(r, name)
        return at(a, getattr(r, name + "_len")) if a else None
    names = {ffi.TKN_PROVIDER_OPENAI: "openai", ffi.TKN_PROVIDER_ANTHROPIC: "anthropic"}
    return LLMRequest(format=names.get(r.provider, r.provider),
                      model=s("model"), body=s("body"), max_output_tokens=r.max_output_tokens,
                      response_schema=s("response_schema"), workflow=s("workflow"),
                      tenant=s("tenant"), task_type=s("task_type"), tier=s("tier"),
                      purpose=PURPOSES[r.purpose] if r.purpose < len(PURPOSES) else r.purpose,
                      attempt=r.attempt, batch=bool(r.batch), input_tokens=r.input_tokens)


def _fill(resp: LLMResponse, out: Any) -> None:
    """What complete()/summarise() returned: None (they filled resp), a str
    (the content), or a dict with content, tool_calls, finish_reason, usage
    (a Usage or the provider's usage JSON), batched."""
    if out is None:
        return
    if isinstance(out, (str, bytes)):
        resp.content = out
        return
    for k, v in dict(out).items():
        if k == "usage":
            if isinstance(v, Usage):
                resp.usage = v
            else:
                resp.set_usage_json(v)
        elif k == "batched":
            resp.set_batched(bool(v))
        elif k in ("content", "tool_calls", "finish_reason"):
            setattr(resp, k, v)
        else:
            raise ValueError("unknown reply field %r" % k)


class AgentStats(Record):
    """An agent's counters (fields of tkn_agent_stats)."""


class AgentResult:
    """What one turn did: content, tool_calls, finish_reason, model,
    trace (dict), stats (AgentStats)."""

    def __init__(self, ptr: ctypes.c_void_p) -> None:
        n = ctypes.c_size_t()
        p = lib.tkn_agent_result_content(ptr, ctypes.byref(n))
        self.content = p.decode("utf-8", "replace") if p else ""
        p = lib.tkn_agent_result_tool_calls(ptr, ctypes.byref(n))
        self.tool_calls = _json.loads(p.decode()) if p else None
        self.finish_reason = dec(lib.tkn_agent_result_finish_reason(ptr))
        self.model = dec(lib.tkn_agent_result_model(ptr))
        p = lib.tkn_agent_result_trace(ptr, ctypes.byref(n))
        self.trace = _json.loads(p.decode()) if p else None
        s = ffi.tkn_agent_stats()
        s.version = ffi.TKN_AGENT_STATS_VERSION
        check(lib.tkn_agent_result_stats(ptr, ctypes.byref(s)))
        self.stats = record(AgentStats, s)

    def __repr__(self) -> str:
        return "AgentResult(finish_reason=%r, model=%r, content=%r)" % (
            self.finish_reason, self.model, self.content[:60])


class Agent(Handle):
    """The agent turn (one thread at a time).  complete(request, response)
    makes the model call: fill `response` (or return the content as a str, or
    a dict with content/tool_calls/finish_reason/usage), raise ModelError for
    a failed call.  Parts (router, budget, meter, tool cache, prices,
    tokenizer) are borrowed and kept alive by the agent."""

    _ctype = "tkn_agent"

    _free = "tkn_agent_free"

    def __init__(self, complete: Callable[[LLMRequest, LLMResponse], Any],
                 model: Optional[Text] = None, router: Optional[Router] = None,
                 tokenizer: Optional[Tokenizer] = None, budget: Optional[Budget] = None,
                 prices: Optional[Prices] = None, meter: Optional[Meter] = None,
                 toolcache: Optional[ToolCache] = None, prune: Optional[Dict[str, Any]] = None,
                 retry: Optional[Dict[str, int]] = None, format: str = "openai",
                 count_tokens: Optional[Callable[[str, str], int]] = None,
                 summarise: Optional[Callable[[str, int, LLMResponse], Any]] = None,
                 sleep: Optional[Callable[[int], None]] = None,
                 cascade_score: Optional[Callable[[str], float]] = None,
                 workflow: Optional[Text] = None, tenant: Optional[Text] = None,
                 toolsel: Optional[ToolCatalogue] = None, toolsel_k: int = 3,
                 toolsel_always: Iterable[Union[int, Text]] = (),
                 **opts: Any) -> None:
        """opts: max_context_tokens, output_cap, cascade (bool), append_reply (bool).
        toolsel: a ToolCatalogue; each turn then sends the toolsel_k best tools
        for the last two turns plus toolsel_always (names or indices):
        only those for OpenAI, the rest deferred for Anthropic (off by default,
        see agent.h)."""
        for what, fn in (("complete", complete), ("count_tokens", count_tokens),
                         ("summarise", summarise), ("sleep", sleep),
                         ("cascade_score", cascade_score)):
            if not callable(fn) and (fn is not None or what == "complete"):
                raise TypeError("Agent(%s=): expected a callable, got %s"
                                % (what, type(fn).__name__))
        m, w, t = enc(model), enc(workflow), enc(tenant)
        o = options(ffi.tkn_agent_options, "tkn_agent_options_init", ffi.TKN_AGENT_OPTIONS_VERSION,
                    provider=fmt(format), model=m, model_len=len(m) if m else 0, workflow=w,
                    workflow_len=len(w) if w else 0, tenant=t, tenant_len=len(t) if t else 0,
                    **{k: (int(v) if isinstance(v, bool) else v) for k, v in opts.items()})
        keep: List[Any] = []
        parts = Parts()
        for attr, part, cls in (("tokenizer", tokenizer, Tokenizer), ("router", router, Router),
                                ("budget", budget, Budget), ("prices", prices, Prices),
                                ("meter", meter, Meter), ("toolcache", toolcache, ToolCache)):
            if part is not None:
                setattr(o, attr, parts.take(part, cls, "Agent(%s=)" % attr))
        if toolsel is not None:
            o.toolsel = parts.take(toolsel, ToolCatalogue, "Agent(toolsel=)")
            idx = [a if isinstance(a, int) else toolsel.find(a) for a in toolsel_always]
            al = (ctypes.c_uint32 * max(len(idx), 1))(*idx)
            keep.append(al)
            o.toolsel_k, o.toolsel_always, o.toolsel_always_n = toolsel_k, al, len(idx)
        cbs = o.llm

        def ctramp(req: Any, resp: Any, user: Any) -> int:
            r = LLMResponse._lent(resp)
            try:
                _fill(r, complete(_request(req[0]), r))
                return 0
            except ModelError as e:
                try:
                    r.set_error(e.cls, e.message)
                except BaseException as e2:
                    _park(e2)
                return 1
            except BaseException as e:
                _park(e)
                return 1
            finally:
                r.close()  # tokenomy's: unusable once the callback returns
        keep.append(ftype(ffi.tkn_llm_callbacks, "complete")(ctramp))
        cbs.complete = keep[-1]
        if count_tokens is not None:
            def ntramp(model: int, mn: int, text: int, n: int, out: Any, user: Any) -> int:
                try:
                    out[0] = int(count_tokens(at(model, mn), at(text, n)))
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_llm_callbacks, "count_tokens")(ntramp))
            cbs.count_tokens = keep[-1]
        if summarise is not None:
            def stramp(text: int, n: int, mx: int, resp: Any, user: Any) -> int:
                r = LLMResponse._lent(resp)
                try:
                    _fill(r, summarise(at(text, n), mx, r))
                    return 0
                except ModelError as e:
                    r.set_error(e.cls, e.message)
                    return 1
                except BaseException as e:
                    _park(e)
                    return 1
                finally:
                    r.close()
            keep.append(ftype(ffi.tkn_llm_callbacks, "summarise")(stramp))
            cbs.summarise = keep[-1]
        if sleep is not None:
            def sltramp(ms: int, user: Any) -> None:
                try:
                    sleep(ms)
                except BaseException as e:
                    _park(e)
            keep.append(ftype(ffi.tkn_agent_options, "sleep_ms")(sltramp))
            o.sleep_ms = keep[-1]
        if cascade_score is not None:
            def sctramp(text: int, n: int, out: Any, user: Any) -> int:
                try:
                    out[0] = float(cascade_score(at(text, n)))
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_agent_options, "cascade_score")(sctramp))
            o.cascade_score = keep[-1]
        if prune:
            if "mode" in prune and prune["mode"] not in MODES:
                raise ValueError("Agent: prune mode must be one of %s, got %r"
                                 % (", ".join(MODES), prune["mode"]))
            po = options(ffi.tkn_prune_options, "tkn_prune_options_init",
                         ffi.TKN_PRUNE_OPTIONS_VERSION, **{
                             k: (MODES[v] if k == "mode" else int(v) if isinstance(v, bool) else v)
                             for k, v in prune.items()})
            keep.append(po)
            o.prune = ctypes.pointer(po)
        if retry:
            for k, v in retry.items():
                setattr(o.retry, k, v)
        out = ctypes.c_void_p()
        check(lib.tkn_agent_new(ctypes.byref(out), ctypes.byref(o)))
        super().__init__(out.value, keep, parts)

    def _check(self, st: int) -> None:
        check(st)

    def add_text(self, kind: str, text: Text, name: Text = "", stability: str = "static") -> None:
        """Add a text segment to the agent's prompt (as PromptBuilder.add_text)."""
        n, t = enc(name) or b"", enc(text) or b""
        self._check(lib.tkn_agent_add_text(self, KINDS[kind], STABILITY[stability], n, len(n), t,
                                           len(t)))

    def add_tool(self, tool: Union[Text, Dict[str, Any]]) -> None:
        """Add a tool definition (JSON text or a dict) to the agent's prompt."""
        if not isinstance(tool, (str, bytes)):
            tool = _json.dumps(tool)
        b = enc(tool) or b""
        self._check(lib.tkn_agent_add_tool(self, b, len(b)))

    def turn(self, conv: Conversation, task: Optional[Union[Task, Dict[str, Any]]] = None,
             schema: Optional[Schema] = None, dynamic: Optional[Text] = None,
             task_type: Optional[Text] = None, output_cap: int = 0,
             cache_key: Optional[Text] = None, batch: bool = False) -> AgentResult:
        """Run one turn on conv (ending with the user's message).  Model
        failures, budget refusals and invalid answers are finish reasons."""
        if task is not None and not isinstance(task, Task):
            task = Task(task)
        if schema is not None:
            Parts.checked(schema, Schema, "turn(schema=)")
        tt, dy, ck = enc(task_type), enc(dynamic), enc(cache_key)
        sj = enc(schema.source) if schema is not None else None
        o = options(ffi.tkn_agent_turn_options, "tkn_agent_turn_options_init",
                    ffi.TKN_AGENT_TURN_OPTIONS_VERSION, batch=1 if batch else 0,
                    task_type=tt, task_type_len=len(tt) if tt else 0, dynamic=dy,
                    dynamic_len=len(dy) if dy else 0, output_cap=output_cap, cache_key=ck,
                    cache_key_len=len(ck) if ck else 0, schema_json=sj,
                    schema_json_len=len(sj) if sj else 0)
        out = ctypes.c_void_p()
        with holding(task, Task, "turn(task=)") as tp, \
                holding(schema, Schema, "turn(schema=)") as sp:
            o.task, o.schema = tp, sp
            st = lib.tkn_agent_turn(self, conv, ctypes.byref(o), ctypes.byref(out))
        try:
            self._check(st)
            return AgentResult(out)
        finally:
            if out.value:
                lib.tkn_agent_result_free(out)

    def tool(self, tool: Text, args: Union[Text, Dict[str, Any], None],
             run: Callable[[str, str], Text], scope_id: Text = "") -> Tuple[str, bool]:
        """A tool call through the agent's tool cache: (result, hit)."""
        if args is None:
            args = "{}"
        if not isinstance(args, (str, bytes)):
            args = _json.dumps(args)
        t, a, s = enc(tool) or b"", enc(args) or b"", enc(scope_id) or b""
        bufs: List[Any] = []

        def rtramp(tp: int, tn: int, ap: int, an: int, res: Any, rn: Any, user: Any) -> int:
            try:
                v = enc(run(at(tp, tn), at(ap, an))) or b""
                buf = ctypes.create_string_buffer(v, len(v) + 1)
                bufs.append(buf)  # valid until tkn_agent_tool returns
                res[0] = ctypes.cast(buf, ctypes.c_void_p).value
                rn[0] = len(v)
                return 0
            except BaseException as e:
                _park(e)
                return 1
        fn = ffi.tkn_agent_tool_fn(rtramp)
        out, n, hit = ctypes.c_void_p(), ctypes.c_size_t(), ctypes.c_int32()
        self._check(lib.tkn_agent_tool(self, t, len(t), a, len(a), s, len(s), fn, None,
                                       ctypes.byref(out), ctypes.byref(n), ctypes.byref(hit)))
        return take(out, n.value), bool(hit.value)
