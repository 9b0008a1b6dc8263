"""Shared stores (store.h): budgets, the tool cache and the meter across a
fleet of processes, over a store written in Python or the Redis adapter."""
from __future__ import annotations

import ctypes
from typing import Any, List, Optional, Sequence, Tuple

from . import _ffi as ffi
from ._core import (Handle, Parts, Text, TokenomyError, _park, check, enc, ftype, lib,
                    redis_lib)

_CALLBACKS = ("reserve", "commit", "release", "usage", "get", "set", "add", "read")


def _fail(err: int, errlen: int, status: int, msg: str) -> int:
    if err and errlen:
        b = msg.encode("utf-8", "replace")[:errlen - 1] + b"\0"
        ctypes.memmove(err, b, len(b))
    return status


class Store:
    """A tkn_store whose operations are Python methods.  Subclass it and
    implement what the parts you share need (budgets: reserve, commit,
    release, usage; the tool cache: get, set, add, read; the meter: add,
    read), with the semantics of store.h:

      reserve(key, id, amounts, limits, lease_ms, ttl_seconds) -> (ok, used)
      commit(key, id, actual, id_ttl_seconds, ttl_seconds) -> (used, duplicate)
      release(key, id) -> None
      usage(key, n) -> (committed, reserved)
      get(key) -> bytes or None (absent)
      set(key, value, ttl_ms) -> None
      add(key, id or None, deltas, id_ttl_seconds) -> (totals, duplicate)
      read(key, n) -> values

    Keys and values are bytes.  Raise UnavailableError when the service
    cannot be reached (the parts then fail closed or open as store.h says);
    another TokenomyError returns its status; any other exception fails the
    operation and is raised again to whoever called the part.  The parts call
    these from many threads at once: make them thread-safe."""

    def _table(self) -> Tuple[ffi.tkn_store, List[Any]]:
        t = ffi.tkn_store()
        check(lib.tkn_store_init(ctypes.byref(t), ffi.TKN_STORE_VERSION))
        keep: List[Any] = []
        for name in _CALLBACKS:
            if getattr(type(self), name, None) is getattr(Store, name, None):
                continue  # not implemented: NULL in the table
            fn = ftype(ffi.tkn_store, name)(self._tramp(name))
            setattr(t, name, fn)
            keep.append(fn)
        return t, keep

    def _tramp(self, name: str) -> Any:
        method = getattr(self, name)

        def guarded(body: Any, err: int, errlen: int) -> int:
            try:
                return int(body())
            except TokenomyError as e:
                return _fail(err, errlen, e.status, e.message)
            except BaseException as e:
                _park(e)
                return _fail(err, errlen, ffi.TKN_ERR_CALLBACK, "store: %s: %r" % (name, e))

        def key(k: int, n: int) -> bytes:
            return ctypes.string_at(k, n)

        def sid(p: int) -> Optional[str]:
            return ctypes.string_at(p).decode() if p else None

        if name == "reserve":
            def cb(u, k, kn, i, n, amounts, limits, lease, ttl, used, err, errlen):  # type: ignore
                def body() -> int:
                    ok, got = method(key(k, kn), sid(i), amounts[:n], limits[:n], lease, ttl)
                    for j in range(n):
                        used[j] = got[j]
                    return 0 if ok else ffi.TKN_ERR_BUDGET
                return guarded(body, err, errlen)
        elif name == "commit":
            def cb(u, k, kn, i, n, actual, id_ttl, ttl, used, dup, err, errlen):  # type: ignore
                def body() -> int:
                    got, d = method(key(k, kn), sid(i), actual[:n], id_ttl, ttl)
                    for j in range(n):
                        used[j] = got[j]
                    dup[0] = 1 if d else 0
                    return 0
                return guarded(body, err, errlen)
        elif name == "release":
            def cb(u, k, kn, i, err, errlen):  # type: ignore
                def body() -> int:
                    method(key(k, kn), sid(i))
                    return 0
                return guarded(body, err, errlen)
        elif name == "usage":
            def cb(u, k, kn, n, committed, reserved, err, errlen):  # type: ignore
                def body() -> int:
                    c, r = method(key(k, kn), n)
                    for j in range(n):
                        committed[j], reserved[j] = c[j], r[j]
                    return 0
                return guarded(body, err, errlen)
        elif name == "get":
            def cb(u, k, kn, buf, cap, vlen, err, errlen):  # type: ignore
                def body() -> int:
                    v = method(key(k, kn))
                    if v is None:
                        return ffi.TKN_ERR_NOT_FOUND
                    v = enc(v) or b""
                    vlen[0] = len(v)
                    if len(v) > cap:
                        return ffi.TKN_ERR_TOO_SMALL
                    ctypes.memmove(buf, v, len(v))
                    return 0
                return guarded(body, err, errlen)
        elif name == "set":
            def cb(u, k, kn, v, vn, ttl, err, errlen):  # type: ignore
                def body() -> int:
                    method(key(k, kn), ctypes.string_at(v, vn), ttl)
                    return 0
                return guarded(body, err, errlen)
        elif name == "add":
            def cb(u, k, kn, i, n, deltas, id_ttl, totals, dup, err, errlen):  # type: ignore
                def body() -> int:
                    got, d = method(key(k, kn), sid(i), deltas[:n], id_ttl)
                    if totals:
                        for j in range(n):
                            totals[j] = got[j]
                    if dup:
                        dup[0] = 1 if d else 0
                    return 0
                return guarded(body, err, errlen)
        else:  # read
            def cb(u, k, kn, n, values, err, errlen):  # type: ignore
                def body() -> int:
                    got = method(key(k, kn), n)
                    for j in range(n):
                        values[j] = got[j]
                    return 0
                return guarded(body, err, errlen)
        return cb

    # the operations (not implemented: NULL in the table)
    def reserve(self, key: bytes, id: Optional[str], amounts: List[int], limits: List[int],
                lease_ms: int, ttl_seconds: int) -> Tuple[bool, Sequence[int]]:
        """Reserve amounts under limits for a lease: (ok, used).  Implement in a subclass."""
        raise NotImplementedError

    def commit(self, key: bytes, id: Optional[str], actual: List[int], id_ttl_seconds: int,
               ttl_seconds: int) -> Tuple[Sequence[int], bool]:
        """Commit a reservation's actual use: (used, duplicate).  Implement in a subclass."""
        raise NotImplementedError

    def release(self, key: bytes, id: Optional[str]) -> None:
        """Drop a reservation.  Implement in a subclass."""
        raise NotImplementedError

    def usage(self, key: bytes, n: int) -> Tuple[Sequence[int], Sequence[int]]:
        """(committed, reserved) of a key.  Implement in a subclass."""
        raise NotImplementedError

    def get(self, key: bytes) -> Optional[bytes]:
        """A key's value, or None.  Implement in a subclass."""
        raise NotImplementedError

    def set(self, key: bytes, value: bytes, ttl_ms: int) -> None:
        """Set a key's value with a TTL.  Implement in a subclass."""
        raise NotImplementedError

    def add(self, key: bytes, id: Optional[str], deltas: List[int], id_ttl_seconds: int
            ) -> Tuple[Sequence[int], bool]:
        """Add deltas to a key's counters once per id: (totals, duplicate).  Implement in a
        subclass."""
        raise NotImplementedError

    def read(self, key: bytes, n: int) -> Sequence[int]:
        """A key's n counters.  Implement in a subclass."""
        raise NotImplementedError

    def __repr__(self) -> str:
        ops = [n for n in ("reserve", "commit", "release", "usage", "get", "set", "add", "read")
               if getattr(type(self), n) is not getattr(Store, n)]
        return "<tokenomy.Store %s: %s>" % (type(self).__name__, ", ".join(ops) or "no operations")

    def _c(self) -> Tuple[ffi.tkn_store, List[Any]]:
        """The C table and what keeps it alive (the parts copy the table)."""
        t, keep = self._table()
        return t, keep + [self]


class RedisStore(Handle):
    """The Redis adapter (libtokenomy-redis): safe for concurrent use; one
    per process (not usable across fork())."""

    _ctype = "tkn_redis"

    _free = None  # freed through libtokenomy-redis, see close()

    def __init__(self, host: Optional[Text] = None, port: Optional[int] = None,
                 prefix: Optional[Text] = None, password: Optional[Text] = None,
                 user: Optional[Text] = None, **opts: Any) -> None:
        """opts: the other fields of tkn_redis_options by name (db, pool_size,
        call_timeout_ms, on_state_loss, tls, tls_ca_file, ...)."""
        r = redis_lib()
        h, p, pw, u = enc(host), enc(prefix), enc(password), enc(user)
        o = ffi.tkn_redis_options()
        check(r.tkn_redis_options_init(ctypes.byref(o), ffi.TKN_REDIS_OPTIONS_VERSION))
        if port is not None:
            o.port = port
        if h:
            o.host, o.host_len = h, len(h)
        if p:
            o.prefix, o.prefix_len = p, len(p)
        if pw:
            o.password, o.password_len = pw, len(pw)
        if u:
            o.user, o.user_len = u, len(u)
        for k, v in opts.items():
            if not hasattr(ffi.tkn_redis_options, k):
                raise TypeError("unknown option %r" % k)
            setattr(o, k, enc(v) if isinstance(v, str) else v)
        out = ctypes.c_void_p()
        check(r.tkn_redis_new(ctypes.byref(out), ctypes.byref(o)))
        super().__init__(out.value)
        self._r = r

    def _free_c(self, ptr: int) -> None:
        self._r.tkn_redis_free(ctypes.c_void_p(ptr))


    def ping(self) -> None:
        """Raise UnavailableError unless the server answers."""
        check(self._r.tkn_redis_ping(self))

    @property
    def reconnects(self) -> int:
        """Reconnections made so far."""
        return int(self._r.tkn_redis_reconnects(self))

    @property
    def state_losses(self) -> int:
        """Times the server was found to have lost its state (its epoch)."""
        return int(self._r.tkn_redis_state_losses(self))

    def accept_state_loss(self) -> None:
        """Serve calls again after StateError: the spend counted before is gone."""
        check(self._r.tkn_redis_accept_state_loss(self))

    def _c(self) -> Tuple[ffi.tkn_store, List[Any]]:
        t = ffi.tkn_store()
        check(self._r.tkn_redis_store(self, ctypes.byref(t)))
        return t, [self]
