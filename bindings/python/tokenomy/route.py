"""Routing (router.h) and structured output (schema.h)."""
from __future__ import annotations

import ctypes
import json as _json
from typing import (Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union,
                    cast)

from . import _ffi as ffi
from ._core import (JSON, json_text,
                    Handle, Parts, ftype, Record, Text, _park, at, check, dec, enc, last_error, lib,
                    new_handle, options, record, take)
from .conv import Tokenizer

CASCADE_STATES = ["running", "accepted", "escalate", "exhausted"]


def _fail_class(cls: Union[str, int]) -> int:
    if isinstance(cls, int):
        return cls
    b = enc(cls)
    code = lib.tkn_llm_fail_from_name(b, len(b))
    if code < 0:
        raise ValueError("unknown failure class %r" % cls)
    return int(code)


def fail_class_name(cls: int) -> Optional[str]:
    """"rate_limit", "timeout", ... for a class code (None if unknown)."""
    return dec(lib.tkn_llm_fail_name(cls))


def _clock_fn(fn_type: Any, clock: Callable[[], int]) -> Any:
    def tramp(user: Any) -> int:
        try:
            return int(clock())
        except BaseException as e:  # a clock cannot fail in C: 0, then raised
            _park(e)
            return 0
    return fn_type(tramp)


def _strings(values: Sequence[Text]) -> Tuple[Any, Any, List[bytes]]:
    bs = [enc(v) for v in values]
    arr = (ctypes.c_char_p * len(bs))(*bs)
    lens = (ctypes.c_size_t * len(bs))(*(len(b) for b in bs))
    return arr, lens, bs


class Task(Handle):
    """A task's attributes for routing (one thread at a time)."""

    _ctype = "tkn_task"

    _free = "tkn_task_free"

    def __init__(self, attrs: Optional[Mapping[str, Any]] = None, id: Optional[Text] = None
                 ) -> None:
        if attrs is not None and not isinstance(attrs, Mapping):
            raise TypeError("Task(attrs): expected a mapping of attributes, got %s"
                            % type(attrs).__name__)
        super().__init__(new_handle(lib.tkn_task_new))
        if id is not None:
            self.set_id(id)
        for k, v in (attrs or {}).items():
            self[k] = v

    @classmethod
    def from_json(cls, json: Union[Text, Mapping[str, Any]]) -> "Task":
        """A task from its JSON (text or a dict)."""
        b = enc(json_text(json, "Task.from_json"))
        self = cls.__new__(cls)
        Handle.__init__(self, new_handle(lib.tkn_task_from_json, b, len(b)))
        return self

    def _check(self, st: int) -> None:
        check(st)

    def set_id(self, id: Text) -> None:
        """Set the task's id."""
        b = enc(id)
        self._check(lib.tkn_task_set_id(self, b, len(b)))

    def __setitem__(self, name: str, value: Any) -> None:
        n = enc(name)
        if isinstance(value, bool):
            self._check(lib.tkn_task_set_bool(self, n, len(n), 1 if value else 0))
        elif isinstance(value, (int, float)):
            self._check(lib.tkn_task_set_number(self, n, len(n), float(value)))
        elif isinstance(value, (str, bytes)):
            v = enc(value)
            self._check(lib.tkn_task_set_string(self, n, len(n), v, len(v)))
        else:
            arr, lens, _keep = _strings(list(value))
            self._check(lib.tkn_task_set_strings(self, n, len(n), arr, lens, len(_keep)))

    def __delitem__(self, name: str) -> None:
        n = enc(name)
        self._check(lib.tkn_task_remove(self, n, len(n)))

    def __len__(self) -> int:
        return int(lib.tkn_task_count(self))


class Decision(Record):
    """The router's decision for a task: tier, model, rule and reason."""


def _task(task: Union[Task, Mapping[str, Any]]) -> Task:
    return task if isinstance(task, Task) else Task(task)


class Router(Handle):
    """A compiled router: every method may be called from any thread at once."""

    _ctype = "tkn_router"

    _free = "tkn_router_free"

    def __init__(self, config: Union[Text, Mapping[str, Any]],
                 clock: Optional[Callable[[], int]] = None, shadow_seed: int = 0) -> None:
        """Compile a router from its JSON config (text or a dict).  clock:
        milliseconds on a monotonic clock (default CLOCK_MONOTONIC)."""
        if not isinstance(config, (str, bytes)):
            config = _json.dumps(config)
        b = enc(config)
        opts, keep = self._options(clock, shadow_seed)
        super().__init__(new_handle(lib.tkn_router_new_json, b, len(b), ctypes.byref(opts)),
                         keep=keep)

    @staticmethod
    def _options(clock: Optional[Callable[[], int]], seed: int) -> Tuple[Any, List[Any]]:
        opts = options(ffi.tkn_router_options, "tkn_router_options_init",
                       ffi.TKN_ROUTER_OPTIONS_VERSION, shadow_seed=seed)
        keep: List[Any] = []
        if clock is not None:
            fn = _clock_fn(ftype(ffi.tkn_router_options, "now_ms"), clock)
            opts.now_ms = fn
            keep.append(fn)
        return opts, keep

    @classmethod
    def _wrap(cls, ptr: int, keep: List[Any]) -> "Router":
        self = cls.__new__(cls)
        Handle.__init__(self, ptr, keep)
        return self

    @property
    def tiers(self) -> List[str]:
        """The tier names, cheapest first."""
        return [dec(lib.tkn_router_tier_name(self, i)) or ""
                for i in range(lib.tkn_router_tier_count(self))]

    @property
    def rule_count(self) -> int:
        """How many rules the router has."""
        return int(lib.tkn_router_rule_count(self))

    def tier_threshold(self, i: int) -> float:
        """Tier i's confidence threshold (cascades escalate below it)."""
        out = ctypes.c_double()
        check(lib.tkn_router_tier_threshold(self, i, ctypes.byref(out)))
        return out.value

    def decide(self, task: Union[Task, Mapping[str, Any]]) -> Decision:
        """The tier and model for a task (a Task or a dict of attributes)."""
        t = _task(task)
        d = ffi.tkn_router_decision()
        check(lib.tkn_router_decision_init(ctypes.byref(d), ffi.TKN_ROUTER_DECISION_VERSION))
        check(lib.tkn_router_decide(self, t, ctypes.byref(d)), "no model available")
        return record(Decision, d)

    def explain(self, task: Union[Task, Mapping[str, Any]]) -> Dict[str, Any]:
        """Why the router decides as it does for a task: every rule tried, as a dict."""
        t = _task(task)
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_router_explain(self, t, ctypes.byref(out), ctypes.byref(n)))
        return cast(Dict[str, Any], _json.loads(take(out, n.value)))

    def report_failure(self, model: Text, cls: Union[str, int]) -> bool:
        """Report a failed call; True if it started a cooldown."""
        b, cooled = enc(model), ctypes.c_int32()
        check(lib.tkn_router_report_failure(self, b, len(b), _fail_class(cls),
                                            ctypes.byref(cooled)), "unknown model %r" % model)
        return bool(cooled.value)

    def model_cooldown(self, model: Text) -> int:
        """Milliseconds left of a model's cooldown after failures (0: usable)."""
        b, out = enc(model), ctypes.c_int64()
        check(lib.tkn_router_model_cooldown(self, b, len(b), ctypes.byref(out)),
              "unknown model %r" % model)
        return out.value

    def retries(self, cls: Union[str, int]) -> int:
        """The retries allowed for a failure class."""
        out = ctypes.c_int32()
        check(lib.tkn_router_retries(self, _fail_class(cls), ctypes.byref(out)))
        return out.value

    def shadow_compare(self, rule: int, cheap: Text, strong: Text,
                       compare: Callable[[str, str], bool]) -> bool:
        """Compare a cheap and a strong answer for a shadowed rule with compare(cheap, strong);
        whether they agreed."""
        def tramp(a: int, an: int, b: int, bn: int, user: Any) -> int:
            try:
                return 1 if compare(at(a, an), at(b, bn)) else 0
            except BaseException as e:
                _park(e)
                return -1
        cfn = ffi.tkn_router_comparator(tramp)
        c, s, agreed = enc(cheap), enc(strong), ctypes.c_int32()
        check(lib.tkn_router_shadow_compare(self, rule, c, len(c), s, len(s), cfn, None,
                                            ctypes.byref(agreed)))
        return bool(agreed.value)

    def shadow_stats(self, rule: int) -> Tuple[int, int, int]:
        """A shadowed rule's (sampled, compared, agreed) counts."""
        a, b, c = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint64()
        check(lib.tkn_router_shadow_stats(self, rule, ctypes.byref(a), ctypes.byref(b),
                                          ctypes.byref(c)))
        return a.value, b.value, c.value

    def shadow_report(self) -> Dict[str, Any]:
        """Every shadowed rule's agreement figures, as a dict."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_router_shadow_report(self, ctypes.byref(out), ctypes.byref(n)))
        return cast(Dict[str, Any], _json.loads(take(out, n.value)))

    def cascade(self, start_tier: int = 0,
                score: Optional[Callable[[str], float]] = None) -> "Cascade":
        """A cascade over the tiers from start_tier; score(answer) gives an answer's confidence."""
        return Cascade(self, start_tier, score)


def calibrate(scores: Sequence[float], shares: Sequence[float]) -> List[float]:
    """Thresholds sending the given shares of tasks to each tier, from sample scores."""
    s = (ctypes.c_double * len(scores))(*scores)
    h = (ctypes.c_double * len(shares))(*shares)
    out = (ctypes.c_double * len(shares))()
    check(lib.tkn_router_calibrate(s, len(scores), h, len(shares), out))
    return list(out)


class RouterBuilder(Handle):
    """The router config piece by piece (one thread at a time)."""

    _ctype = "tkn_router_builder"

    _free = "tkn_router_builder_free"

    def __init__(self) -> None:
        super().__init__(new_handle(lib.tkn_router_builder_new))

    def _check(self, st: int) -> None:
        check(st)

    def add_tier(self, name: Text, models: Sequence[Text], threshold: float = 0.0) -> None:
        """Add a tier of models (cheapest first) with its confidence threshold."""
        n = enc(name)
        arr, lens, keep = _strings(models)
        self._check(lib.tkn_router_builder_add_tier(self, n, len(n), arr, lens, len(keep),
                                                    threshold))

    def add_rule(self, tier: Text, when: Optional[Union[Text, Mapping[str, Any]]] = None,
                 reason: Optional[Text] = None, shadow_rate: float = 0.0,
                 shadow_tier: Optional[Text] = None, cascade: bool = False) -> None:
        """Add a rule sending tasks matching `when` to a tier."""
        if when is not None and not isinstance(when, (str, bytes)):
            when = _json.dumps(when)
        w, t, r, s = enc(when), enc(tier), enc(reason), enc(shadow_tier)
        rule = options(ffi.tkn_router_rule, "tkn_router_rule_init", ffi.TKN_ROUTER_RULE_VERSION,
                       when=w, when_len=len(w) if w else 0, tier=t, tier_len=len(t),
                       reason=r, reason_len=len(r) if r else 0, shadow_rate=shadow_rate,
                       shadow_tier=s, shadow_tier_len=len(s) if s else 0,
                       cascade=1 if cascade else 0)
        self._check(lib.tkn_router_builder_add_rule(self, ctypes.byref(rule)))

    def set_default_tier(self, name: Text) -> None:
        """The tier for tasks no rule matches."""
        b = enc(name)
        self._check(lib.tkn_router_builder_set_default_tier(self, b, len(b)))

    def set_cascade(self, max_escalations: int = -1, path: Text = "") -> None:
        """How far cascades may escalate (-1: to the last tier), and the tier path."""
        b = enc(path)
        self._check(lib.tkn_router_builder_set_cascade(self, max_escalations, b, len(b)))

    def set_failures(self, allowed_fails: int, window_s: int, cooldown_s: float) -> None:
        """Cool a model down for cooldown_s after allowed_fails failures within window_s."""
        self._check(lib.tkn_router_builder_set_failures(self, allowed_fails, window_s,
                                                        cooldown_s))

    def set_retries(self, cls: Union[str, int], retries: int) -> None:
        """The retries allowed for a failure class."""
        self._check(lib.tkn_router_builder_set_retries(self, _fail_class(cls), retries))

    def to_json(self) -> str:
        """The configuration built so far, as JSON text (Router takes it)."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_router_builder_to_json(self, ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)

    def build(self, clock: Optional[Callable[[], int]] = None, shadow_seed: int = 0) -> Router:
        """The Router (clock: milliseconds, for tests; shadow_seed: sampling seed)."""
        opts, keep = Router._options(clock, shadow_seed)
        out = ctypes.c_void_p()
        self._check(lib.tkn_router_builder_build(self, ctypes.byref(opts), ctypes.byref(out)))
        return Router._wrap(out.value, keep)  # type: ignore[arg-type]


class Cascade(Handle):
    """One task's cascade over tiers (one thread at a time)."""

    _ctype = "tkn_router_cascade"

    _free = "tkn_router_cascade_free"

    def __init__(self, router: Router, start_tier: int = 0,
                 score: Optional[Callable[[str], float]] = None) -> None:
        opts = options(ffi.tkn_router_cascade_options, "tkn_router_cascade_options_init",
                       ffi.TKN_ROUTER_CASCADE_OPTIONS_VERSION, start_tier=start_tier)
        keep: List[Any] = []
        parts = Parts()
        parts.take(router, Router, "Cascade(router)")
        if score is not None:
            def tramp(text: int, n: int, conf: Any, user: Any) -> int:
                try:
                    conf[0] = float(score(at(text, n)))
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            cfn = ftype(ffi.tkn_router_cascade_options, "score")(tramp)
            opts.score = cfn
            keep.append(cfn)
        super().__init__(new_handle(lib.tkn_router_cascade_new, router, ctypes.byref(opts)),
                         keep, parts)

    def _check(self, st: int) -> None:
        check(st)

    def next(self) -> Tuple[int, str]:
        """The next attempt: (tier index, model)."""
        tier, model = ctypes.c_int32(), ctypes.c_void_p()
        self._check(lib.tkn_router_cascade_next(self, ctypes.byref(tier), ctypes.byref(model)))
        return tier.value, ctypes.string_at(model.value).decode() if model.value else ""

    def report(self, content: Text, valid: bool = True, cost: int = 0) -> Tuple[str, float]:
        """Report an attempt's answer: (state after it, its confidence score)."""
        b, state, conf = enc(content), ctypes.c_int32(), ctypes.c_double()
        self._check(lib.tkn_router_cascade_report(self, b, len(b), 1 if valid else 0, cost,
                                                  ctypes.byref(state), ctypes.byref(conf)))
        return CASCADE_STATES[state.value], conf.value

    @property
    def state(self) -> str:
        """The cascade's state (running, accepted, exhausted...)."""
        return str(CASCADE_STATES[lib.tkn_router_cascade_state(self)])

    @property
    def attempts(self) -> int:
        """Attempts made so far."""
        return int(lib.tkn_router_cascade_attempts(self))

    @property
    def total_cost(self) -> int:
        """The cost reported over all attempts."""
        return int(lib.tkn_router_cascade_total_cost(self))

    def to_json(self) -> str:
        """The cascade's attempts and outcome as JSON text."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_router_cascade_to_json(self, ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)


# ---- schema -------------------------------------------------------------------

class ValidationError(Record):
    """One error of a validation: instance_path, keyword, schema_path, message."""


class Validation:
    """What one validation found."""

    def __init__(self, status: int, errors: List[ValidationError], message: str,
                 reask: Optional[str]) -> None:
        self.status, self.errors, self.message, self.reask = status, errors, message, reask

    @property
    def valid(self) -> bool:
        """Whether the document is valid."""
        return self.status == 0

    def __bool__(self) -> bool:
        return self.valid

    def __repr__(self) -> str:
        return "Validation(valid=%r, errors=%r)" % (self.valid, self.errors)


class Schema(Handle):
    """A compiled JSON Schema: immutable, any number of threads may validate."""

    _ctype = "tkn_schema"

    _free = "tkn_schema_free"

    def __init__(self, schema: Union[Text, Mapping[str, Any]], **limits: int) -> None:
        if not isinstance(schema, (str, bytes)):
            schema = _json.dumps(schema)
        b = enc(schema)
        #: the schema's text, as given (the agent hands it to the host)
        self.source = b.decode("utf-8")
        opts = options(ffi.tkn_schema_options, "tkn_schema_options_init",
                       ffi.TKN_SCHEMA_OPTIONS_VERSION, **limits)
        super().__init__(new_handle(lib.tkn_schema_compile, b, len(b), ctypes.byref(opts)))

    def validate(self, document: JSON) -> Validation:
        """Validate a document, given as JSON text (str or bytes) or as the
        Python value (dict, list, number...); the result lists every error
        (not raised)."""
        b = enc(json_text(document, "validate()"))
        res = ctypes.c_void_p()
        check(lib.tkn_schema_result_new(ctypes.byref(res)))
        try:
            st = lib.tkn_schema_validate(self, b, len(b), res)
            msg = last_error(st).message if st else ""
            if st not in (0, ffi.TKN_ERR_SCHEMA, ffi.TKN_ERR_PARSE, ffi.TKN_ERR_UTF8,
                          ffi.TKN_ERR_LIMIT):
                check(st)
            errors = []
            for i in range(lib.tkn_schema_result_error_count(res)):
                p = [ctypes.c_void_p() for _ in range(4)]
                check(lib.tkn_schema_result_error(res, i, *(ctypes.byref(x) for x in p)))
                f = [ctypes.string_at(x.value).decode("utf-8", "replace") if x.value else ""
                     for x in p]
                errors.append(ValidationError(instance_path=f[0], keyword=f[1],
                                              schema_path=f[2], message=f[3]))
            if errors:  # the first error in full (the last error names only its place)
                e0 = errors[0]
                msg = "at %s: %s: %s (schema %s)" % (e0.instance_path or "(root)", e0.keyword,
                                                     e0.message, e0.schema_path)
            reask = None
            if st != 0:
                out, n = ctypes.c_void_p(), ctypes.c_size_t()
                if lib.tkn_schema_result_reask(res, ctypes.byref(out), ctypes.byref(n)) == 0:
                    reask = take(out, n.value)
            return Validation(lib.tkn_schema_result_status(res), errors, msg, reask)
        finally:
            lib.tkn_schema_result_free(res)

    def check(self, document: JSON) -> None:
        """Raise SchemaError (or ParseError, ...) naming the first problem;
        document as validate() takes it."""
        b = enc(json_text(document, "check()"))
        check(lib.tkn_schema_check(self, b, len(b)))

    def output_cap(self, tokenizer: Tokenizer, tokens_per_code_point: int = 1
                   ) -> Optional[int]:
        """Largest valid output in tokens; None when unbounded."""
        opts = options(ffi.tkn_schema_cap_options, "tkn_schema_cap_options_init",
                       ffi.TKN_SCHEMA_CAP_OPTIONS_VERSION,
                       tokens_per_code_point=tokens_per_code_point)
        mx, flags = ctypes.c_int64(), ctypes.c_uint32()
        check(lib.tkn_schema_output_cap(self, tokenizer, ctypes.byref(opts), ctypes.byref(mx),
                                        ctypes.byref(flags)))
        return None if flags.value & ffi.TKN_SCHEMA_CAP_UNBOUNDED else mx.value


def near_limit(stop_reason: Optional[Text], used: int, cap: int = 0) -> Dict[str, bool]:
    """Whether an answer stopped at or near its output cap: {'truncated', 'near'}."""
    b, flags = enc(stop_reason), ctypes.c_uint32()
    check(lib.tkn_schema_near_limit(b, len(b) if b else 0, used, cap, ctypes.byref(flags)))
    return {"stopped": bool(flags.value & ffi.TKN_SCHEMA_NEAR_STOPPED),
            "ratio": bool(flags.value & ffi.TKN_SCHEMA_NEAR_RATIO)}


class RetryStep(Record):
    """What to do after a failure: retry or not, and the delay."""


RETRY_ACTIONS = {ffi.TKN_SCHEMA_RETRY_SAME_TIER: "same_tier",
                 ffi.TKN_SCHEMA_RETRY_ESCALATE: "escalate", ffi.TKN_SCHEMA_RETRY_GIVE_UP: "give_up"}


def retry_next(failures: int, **opts: int) -> RetryStep:
    """The retry step after this many failures (base_ms, max_ms, max_retries, ... as opts)."""
    o = options(ffi.tkn_schema_retry_options, "tkn_schema_retry_options_init",
                ffi.TKN_SCHEMA_RETRY_OPTIONS_VERSION, **opts)
    step = ffi.tkn_schema_retry_step()
    check(lib.tkn_schema_retry_next(ctypes.byref(o), failures, ctypes.byref(step)))
    r = record(RetryStep, step)
    r.action = RETRY_ACTIONS.get(r.action, r.action)
    return r
