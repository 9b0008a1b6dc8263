"""Budgets (budget.h) and pruning (prune.h)."""
from __future__ import annotations

import ctypes
from decimal import Decimal
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from . import _ffi as ffi
from ._core import (Handle, Parts, Record, Text, _park, at, check, enc, ftype, lib,
                    new_handle, options, record, reraise_parked)
from .conv import Conversation, Tokenizer, count_options, fmt, role_code
from .money import USDAmount, to_usd, usd as _usd

LEVELS = ["ok", "soft", "hard"]
PERIODS = {"none": 0, "rolling": 1, "day": 2}


class BudgetState(Record):
    """A budget's state; money fields in picodollars, *_usd as exact Decimals
    (money_remaining_usd is None when nothing along the chain limits money)."""

    @property
    def money_committed_usd(self) -> Decimal:
        """Money committed, as an exact Decimal number of dollars."""
        return to_usd(self.money_committed)

    @property
    def money_reserved_usd(self) -> Decimal:
        """Money reserved, as an exact Decimal number of dollars."""
        return to_usd(self.money_reserved)

    @property
    def money_remaining_usd(self) -> Optional[Decimal]:
        """Money left, as an exact Decimal (None when nothing limits money)."""
        if self.money_remaining == ffi.TKN_BUDGET_UNLIMITED:
            return None
        return to_usd(self.money_remaining)


def _money(money: int, usd: Optional[USDAmount]) -> int:
    if usd is None:
        return money
    if money:
        raise ValueError("give money (picodollars) or usd, not both")
    return _usd(usd)


def _amount(input_tokens: int, output_tokens: int, money: int,
            usd: Optional[USDAmount] = None) -> Any:
    a = ffi.tkn_budget_amount(ffi.TKN_BUDGET_AMOUNT_VERSION, input_tokens, output_tokens,
                              _money(money, usd))
    return a


def _usd_limits(limits: Dict[str, Any]) -> Dict[str, Any]:
    """hard_usd / soft_usd / turn_usd as the picodollar limits hard_money, ..."""
    out = dict(limits)
    for dim in ("hard", "soft", "turn"):
        v = out.pop(dim + "_usd", None)
        if v is None:
            continue
        if dim + "_money" in out:
            raise ValueError("give %s_money (picodollars) or %s_usd, not both" % (dim, dim))
        out[dim + "_money"] = _usd(v)
    return out


class Reservation:
    """A reservation: commit() what the call used, or release(); as a context
    manager it is released on exit unless committed.  It holds a reference
    on its budget (closing the budget meanwhile defers its free).  Ending it
    twice raises ValueError; one thread at a time."""

    def __init__(self, budget: "Budget", ptr: ctypes.c_void_p) -> None:
        self._budget: Optional[Budget] = budget
        self._ptr: Optional[ctypes.c_void_p] = ptr
        budget._acquire()

    def _end(self) -> Optional[ctypes.c_void_p]:
        ptr, self._ptr = self._ptr, None
        return ptr

    def _done(self) -> None:
        b, self._budget = self._budget, None
        if b is not None:
            b._release()

    def commit(self, input_tokens: int = 0, output_tokens: int = 0, money: int = 0,
               usd: Optional[USDAmount] = None) -> None:
        """money in picodollars, or usd as a Decimal / str / int number of dollars."""
        if not self._ptr:
            raise ValueError("reservation already ended")
        a = _amount(input_tokens, output_tokens, money, usd)
        ptr = self._end()
        try:
            check(lib.tkn_budget_commit(ptr, ctypes.byref(a)))
        finally:
            self._done()

    def release(self) -> None:
        """Give the reservation back unused (no-op once ended)."""
        ptr = self._end()
        if ptr:
            try:
                lib.tkn_budget_release(ptr)
            finally:
                self._done()
            reraise_parked()

    @property
    def ended(self) -> bool:
        """Whether the reservation was committed or released."""
        return self._ptr is None

    def __repr__(self) -> str:
        return "<tokenomy.Reservation %s>" % ("ended" if self._ptr is None else "open")

    def __enter__(self) -> "Reservation":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def __del__(self) -> None:
        try:
            ptr = self._end()
            if ptr:
                lib.tkn_budget_release(ptr)
            self._done()
        except Exception:
            pass


class Budget(Handle):
    """Token and money limits; safe for concurrent use from any thread."""

    _ctype = "tkn_budget"

    _free = "tkn_budget_free"

    def __init__(self, parent: Optional["Budget"] = None, period: str = "none",
                 clock: Optional[Callable[[], int]] = None,
                 on_limit: Optional[Callable[[str, str], None]] = None,
                 store: Any = None, key: Optional[Text] = None, fallback: bool = False,
                 shared: Optional[Dict[str, Any]] = None, **limits: Any) -> None:
        """limits: hard_tokens, soft_tokens, turn_tokens, output_tokens,
        hard_usd, soft_usd, turn_usd (dollars: Decimal, str or int, exact),
        or hard_money, soft_money, turn_money (picodollars, 10**12 per
        dollar: the unit of every money amount in tokenomy), period_seconds,
        slice_seconds, utc_offset_seconds.  clock: seconds since the epoch.  on_limit(level,
        dimension) when a soft/hard limit is first reached.  With a store
        (tokenomy.Store or RedisStore) and a key, the budget is shared by
        every process using that store and key (tkn_budget_new_shared;
        shared: fallback_tokens, fallback_money, lease_ms, id_ttl_seconds)."""
        opts = options(ffi.tkn_budget_options, "tkn_budget_options_init",
                       ffi.TKN_BUDGET_OPTIONS_VERSION, period=PERIODS[period],
                       **_usd_limits(limits))
        keep: List[Any] = []
        parts = Parts()
        parts.take(parent, Budget, "Budget(parent=)")
        if clock is not None:
            def ctramp(user: Any) -> int:
                try:
                    return int(clock())
                except BaseException as e:
                    _park(e)
                    return 0
            cfn = ftype(ffi.tkn_budget_options, "clock")(ctramp)
            opts.clock = cfn
            keep.append(cfn)
        if on_limit is not None:
            def ltramp(b: Any, level: int, dim: int, user: Any) -> None:
                try:
                    on_limit(LEVELS[level], "tokens" if dim == 0 else "money")
                except BaseException as e:
                    _park(e)
            lfn = ftype(ffi.tkn_budget_options, "on_limit")(ltramp)
            opts.on_limit = lfn
            keep.append(lfn)
        out = ctypes.c_void_p()
        if store is None:
            check(lib.tkn_budget_new(ctypes.byref(out), ctypes.byref(opts), parent))
        else:
            k = enc(key)
            if not k:
                raise ValueError("a shared budget needs its key in the store")
            sh = options(ffi.tkn_budget_shared_options, "tkn_budget_shared_options_init",
                         ffi.TKN_BUDGET_SHARED_OPTIONS_VERSION, key=k, key_len=len(k),
                         fallback=1 if fallback else 0, **(shared or {}))
            table, tkeep = store._c()
            keep += tkeep
            parts.hold(tkeep)
            check(lib.tkn_budget_new_shared(ctypes.byref(out), ctypes.byref(opts),
                                            ctypes.byref(sh), ctypes.byref(table), parent))
        super().__init__(out.value, keep, parts)

    @property
    def pending(self) -> int:
        """Commits made on a shared budget's fallback not yet in the store."""
        return int(lib.tkn_budget_shared_pending(self))

    @property
    def dropped(self) -> int:
        """Fallback commits the store refused outright when replayed (dropped
        from the queue, still counted against the local allowance)."""
        return int(lib.tkn_budget_shared_dropped(self))

    def flush(self) -> None:
        """Replay a shared budget's fallback commits to the store."""
        check(lib.tkn_budget_shared_flush(self))


    def set_parent(self, parent: Optional["Budget"]) -> None:
        """Charge this budget's use to a parent budget as well (None detaches)."""
        if parent is not None:
            Parts.checked(parent, Budget, "set_parent()")
        check(lib.tkn_budget_set_parent(self, parent))
        self._borrow(parent, Budget, "set_parent()")

    def reserve(self, input_tokens: int = 0, output_tokens: int = 0, money: int = 0,
                usd: Optional[USDAmount] = None) -> Reservation:
        """money in picodollars, or usd as a Decimal / str / int number of dollars."""
        a, out = _amount(input_tokens, output_tokens, money, usd), ctypes.c_void_p()
        check(lib.tkn_budget_reserve(self, ctypes.byref(a), ctypes.byref(out)))
        return Reservation(self, out)

    def charge(self, input_tokens: int = 0, output_tokens: int = 0, money: int = 0,
               usd: Optional[USDAmount] = None) -> None:
        """Commit usage without a reservation (money in picodollars, or usd)."""
        a = _amount(input_tokens, output_tokens, money, usd)
        check(lib.tkn_budget_charge(self, ctypes.byref(a)))

    def status(self) -> BudgetState:
        """The budget's state: committed, reserved, remaining and level."""
        s = ffi.tkn_budget_state()
        s.version = ffi.TKN_BUDGET_STATE_VERSION
        check(lib.tkn_budget_status(self, ctypes.byref(s)))
        r = record(BudgetState, s)
        r.level = LEVELS[r.level]
        return r


# ---- pruning ---------------------------------------------------------------

MODES = {"trim": ffi.TKN_PRUNE_TRIM, "score": ffi.TKN_PRUNE_SCORE,
         "summarise": ffi.TKN_PRUNE_SUMMARISE, "mask": ffi.TKN_PRUNE_MASK,
         "clear": ffi.TKN_PRUNE_CLEAR, "policy": ffi.TKN_PRUNE_POLICY}
ACTIONS = ["kept", "dropped", "cut", "summarised", "cleared"]
WHY = ["fits", "system", "pinned", "recent", "score", "tool_unit", "budget", "start_on", "end_on",
       "provider", "orphan", "partial", "old_tool", "recent_tool", "excluded", "thinking",
       "not_worth", "cleared_before"]
SUMMARY = ["none", "added", "failed", "too_long", "invalid"]
DECISIONS = ["none", "keep", "clear", "budget", "degraded"]


class PruneReport:
    """What one pruning run did (a plain copy; no handle to close)."""

    def __init__(self, ptr: ctypes.c_void_p, summary_error: Optional[BaseException]) -> None:
        b, a = ctypes.c_int64(), ctypes.c_int64()
        check(lib.tkn_prune_report_tokens(ptr, ctypes.byref(b), ctypes.byref(a)))
        self.tokens_before, self.tokens_after = b.value, a.value
        self.messages: List[Tuple[str, str, int]] = []
        for i in range(lib.tkn_prune_report_count(ptr)):
            act, why, tok = ctypes.c_int32(), ctypes.c_int32(), ctypes.c_int64()
            check(lib.tkn_prune_report_message(ptr, i, ctypes.byref(act), ctypes.byref(why),
                                               ctypes.byref(tok)))
            self.messages.append((ACTIONS[act.value], WHY[why.value], tok.value))
        self.kept = self._indices(lib.tkn_prune_report_kept, ptr)
        self.dropped = self._indices(lib.tkn_prune_report_dropped, ptr)
        st, tok, idx = ctypes.c_int32(), ctypes.c_int64(), ctypes.c_size_t()
        check(lib.tkn_prune_report_summary(ptr, ctypes.byref(st), ctypes.byref(tok),
                                           ctypes.byref(idx)))
        self.summary = SUMMARY[st.value]
        self.summary_tokens = tok.value
        self.summary_index = idx.value if st.value == ffi.TKN_PRUNE_SUMMARY_ADDED else None
        self.note = lib.tkn_prune_report_note(ptr).decode("utf-8", "replace")
        # mask / clear / policy: what was cleared; the policy's decision and
        # its figures (picodollars)
        cm, ct = ctypes.c_size_t(), ctypes.c_int64()
        check(lib.tkn_prune_report_cleared(ptr, ctypes.byref(cm), ctypes.byref(ct)))
        self.cleared_messages, self.cleared_tokens = cm.value, ct.value
        d, sv, co = ctypes.c_int32(), ctypes.c_int64(), ctypes.c_int64()
        check(lib.tkn_prune_report_decision(ptr, ctypes.byref(d), ctypes.byref(sv),
                                            ctypes.byref(co)))
        self.decision = DECISIONS[d.value]
        self.expected_saving, self.clearing_cost = sv.value, co.value
        #: the exception the Python summariser raised, if any (the run then
        #: dropped the messages, as C does for a failed summariser)
        self.summary_error = summary_error

    def __repr__(self) -> str:
        return "<tokenomy.PruneReport %d -> %d tokens, kept %d, dropped %d, summary %s>" % (
            self.tokens_before, self.tokens_after, len(self.kept), len(self.dropped),
            self.summary)

    @staticmethod
    def _indices(fn: Any, ptr: ctypes.c_void_p) -> List[int]:
        arr, n = ctypes.POINTER(ctypes.c_size_t)(), ctypes.c_size_t()
        check(fn(ptr, ctypes.byref(arr), ctypes.byref(n)))
        return arr[:n.value] if n.value else []


class PruneLedger:
    """The policy's ledger for one conversation (prune.h tkn_prune_ledger):
    what its clears so far saved, so a later clear may risk that much on a
    payback still to come.  A fresh one is a new conversation; keep one per
    conversation and pass it to every Pruner.run(mode="policy") on it (it is
    updated in place, and only by a run that succeeds); credit, cleared and
    calls can be stored with the conversation and given back to the
    constructor."""

    __slots__ = ("_c",)

    def __init__(self, credit: int = 0, cleared: int = 0, calls: int = 0) -> None:
        self._c = ffi.tkn_prune_ledger(credit, cleared, calls)

    @property
    def credit(self) -> int:
        """Picodollars saved by the clears so far, less what later clears risked."""
        return int(self._c.credit)

    @property
    def cleared(self) -> int:
        """Tokens the conversation's clears so far shed."""
        return int(self._c.cleared)

    @property
    def calls(self) -> int:
        """Policy runs on this conversation so far."""
        return int(self._c.calls)

    def __repr__(self) -> str:
        return "<tokenomy.PruneLedger credit %d, cleared %d, calls %d>" % (
            self.credit, self.cleared, self.calls)


class Pruner(Handle):
    """Tool-pair-safe pruning; one thread at a time."""

    _ctype = "tkn_pruner"

    _free = "tkn_prune_free"

    def __init__(self, tokenizer: Tokenizer) -> None:
        parts = Parts()
        parts.take(tokenizer, Tokenizer, "Pruner(tokenizer)")
        super().__init__(new_handle(lib.tkn_prune_new, tokenizer), parts=parts)

    def run(self, conv: Conversation, max_tokens: int, mode: str = "trim",
            score: Optional[Callable[[Conversation, int], float]] = None,
            summarise: Optional[Callable[[Conversation, List[int], int], str]] = None,
            text_splitter: Optional[Callable[[str], Sequence[str]]] = None,
            provider: str = "auto", strategy: str = "last",
            start_on: Sequence[str] = (), end_on: Sequence[str] = (),
            summary_role: str = "user", count: Optional[Dict[str, Any]] = None,
            exclude_tools: Sequence[str] = (), placeholder: Optional[str] = None,
            ledger: Optional[PruneLedger] = None, **opts: Any) -> PruneReport:
        """Prune conv in place (whole conversation in one call).  Callbacks:
        score(conv, i) -> float; summarise(conv, dropped_indices, max_tokens)
        -> str; text_splitter(text) -> pieces covering the text in order.
        Other options are tkn_prune_options fields (keep_last_turns,
        include_system, allow_partial, weight_recency, and for modes mask,
        clear and policy keep_tool_uses, clear_trigger, clear_at_least,
        clear_inputs, clear_thinking, price_input_per_mtok, horizon_calls (a count,
        or "growth": as many calls as so far), ...; degrade=False:
        trim, score and summarise raise BudgetError when what must be kept
        exceeds max_tokens, instead of degrading: clearing tool results, then
        dropping the oldest turns, never leaving nothing, the report's
        decision then "degraded"); ledger: the conversation's PruneLedger (mode
        "policy")."""
        if mode not in MODES:
            raise ValueError("Pruner.run: mode must be one of %s, got %r"
                             % (", ".join(MODES), mode))
        if opts.get("horizon_calls") == "growth":  # TKN_PRUNE_HORIZON_GROWTH
            opts["horizon_calls"] = ffi.TKN_PRUNE_HORIZON_GROWTH
        if strategy not in ("last", "first"):
            raise ValueError("Pruner.run: strategy must be last or first, got %r" % (strategy,))
        o = options(ffi.tkn_prune_options, "tkn_prune_options_init",
                    ffi.TKN_PRUNE_OPTIONS_VERSION, mode=MODES[mode], max_tokens=max_tokens,
                    provider=fmt(provider), strategy=0 if strategy == "last" else 1,
                    start_on=sum(1 << role_code(r) for r in start_on),
                    end_on=sum(1 << role_code(r) for r in end_on),
                    summary_role=role_code(summary_role), **{
                        k: (int(v) if isinstance(v, bool) else v) for k, v in opts.items()})
        if count:
            o.count = count_options(**count)
        keep: List[Any] = []
        if exclude_tools:
            names = [enc(n) for n in exclude_tools]
            arr = (ctypes.c_char_p * len(names))(*names)
            keep.append(arr)
            o.exclude_tools = ctypes.cast(arr, type(o.exclude_tools))
            o.exclude_tools_count = len(names)
        if ledger is not None:
            if not isinstance(ledger, PruneLedger):
                raise TypeError("Pruner.run: ledger must be a PruneLedger")
            o.ledger = ctypes.pointer(ledger._c)
            keep.append(ledger)
        if placeholder is not None:
            ph = enc(placeholder) or b""
            keep.append(ph)
            o.placeholder = ph
            o.placeholder_len = len(ph)
        summary_exc: List[BaseException] = []
        if score is not None:
            def stramp(c: Any, i: int, out: Any, user: Any) -> int:
                try:
                    out[0] = float(score(conv, i))
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_prune_options, "score")(stramp))
            o.score = keep[-1]
        if summarise is not None:
            def mtramp(c: Any, dropped: Any, n: int, mx: int, text: Any, ln: Any,
                       user: Any) -> int:
                try:
                    s = enc(summarise(conv, list(dropped[:n]), mx)) or b""
                    buf = ctypes.create_string_buffer(s, len(s))
                    keep.append(buf)  # valid until the run returns
                    text[0] = ctypes.cast(buf, ctypes.c_void_p).value
                    ln[0] = len(s)
                    return 0
                except BaseException as e:  # C drops the messages; kept on the report
                    summary_exc.append(e)
                    return 1
            keep.append(ftype(ffi.tkn_prune_options, "summarise")(mtramp))
            o.summarise = keep[-1]
        if text_splitter is not None:
            state: Dict[str, Any] = {}

            def ptramp(text: Any, n: int, pos: int, end: Any, last: Any, user: Any) -> int:
                try:
                    raw = ctypes.string_at(text, n)
                    if state.get("raw") != raw:
                        pieces = [enc(p) or b"" for p in text_splitter(raw.decode("utf-8"))]
                        if b"".join(pieces) != raw:
                            raise ValueError("text_splitter pieces do not cover the text")
                        ends, acc = [], 0
                        for p in pieces:
                            acc += len(p)
                            ends.append(acc)
                        state.update(raw=raw, ends=ends or [0])
                    ends = state["ends"]
                    k = next(j for j, e in enumerate(ends) if e > pos or j == len(ends) - 1)
                    end[0] = max(ends[k], pos)
                    last[0] = 1 if k == len(ends) - 1 else 0
                    return 0
                except BaseException as e:
                    _park(e)
                    return 1
            keep.append(ftype(ffi.tkn_prune_options, "text_splitter")(ptramp))
            o.text_splitter = keep[-1]
        rep = ctypes.c_void_p()
        st = lib.tkn_prune_run(self, conv, ctypes.byref(o), ctypes.byref(rep))
        check(st)
        try:
            return PruneReport(rep, summary_exc[0] if summary_exc else None)
        finally:
            lib.tkn_prune_report_free(rep)
