"""The library, its errors and the plumbing every wrapper shares."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple, Type, Union

from . import _ffi as ffi

Text = Union[str, bytes]


# ---- loading -------------------------------------------------------------

def _load() -> ctypes.CDLL:
    explicit = os.environ.get("TOKENOMY_LIBRARY")
    if explicit:
        return ctypes.CDLL(explicit)
    candidates: List[str] = []
    found = ctypes.util.find_library("tokenomy")
    if found:
        candidates.append(found)
    candidates += ["libtokenomy.so.1", "libtokenomy.so", "libtokenomy.1.dylib", "libtokenomy.dylib"]
    errors = []
    for name in candidates:
        try:
            return ctypes.CDLL(name)
        except OSError as e:  # try the next spelling
            errors.append(str(e))
    raise ImportError("tokenomy: cannot load the C library (set TOKENOMY_LIBRARY to its path): "
                      + "; ".join(errors))


class _Lib:
    """The raw C API: every TKN_API function of the headers, with its ctypes
    prototype.  Functions the loaded library lacks (an older build) are
    listed in `missing` and raise AttributeError when used."""

    def __init__(self, dll: ctypes.CDLL) -> None:
        self._dll = dll
        self.missing: List[str] = []
        for name, (restype, argtypes, _header) in ffi.FUNCTIONS.items():
            try:
                fn = getattr(dll, name)
            except AttributeError:
                self.missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)


lib = _Lib(_load())

_redis: Optional[_Lib] = None


def redis_lib() -> _Lib:
    """libtokenomy-redis (the Redis store adapter), loaded on first use from
    $TOKENOMY_REDIS_LIBRARY, else the installed one."""
    global _redis
    if _redis is None:
        path = os.environ.get("TOKENOMY_REDIS_LIBRARY")
        names = [path] if path else [n for n in (ctypes.util.find_library("tokenomy-redis"),
                                                 "libtokenomy-redis.so.1") if n]
        dll, errors = None, []
        for name in names:
            try:
                dll = ctypes.CDLL(name)
                break
            except OSError as e:
                errors.append(str(e))
        if dll is None:
            raise ImportError("tokenomy: cannot load libtokenomy-redis (set "
                              "TOKENOMY_REDIS_LIBRARY): " + "; ".join(errors))
        r = _Lib.__new__(_Lib)
        r._dll, r.missing = dll, []
        for name, (restype, argtypes, _h) in ffi.REDIS_FUNCTIONS.items():
            fn = getattr(dll, name)
            fn.restype, fn.argtypes = restype, argtypes
            setattr(r, name, fn)
        _redis = r
    return _redis


def strerror(status: int) -> str:
    return lib.tkn_strerror(status).decode()


def version() -> str:
    """The version of the C library actually loaded."""
    return lib.tkn_version_string().decode()


def version_number() -> int:
    """MAJOR*10000 + MINOR*100 + PATCH of the C library actually loaded."""
    return lib.tkn_version_number()


# ---- errors --------------------------------------------------------------

class TokenomyError(Exception):
    """A tokenomy call failed: `status` is the C status code (TKN_ERR_*),
    `message` the one-line detail the C library recorded in tkn_error_last()
    (or the code's text), `offset` the byte offset in the input (-1 if not
    known) and `path` the JSON path of the offending member ("" if not known)."""

    status: int = -1

    def __init__(self, status: int, message: str = "", offset: int = -1, path: str = "") -> None:
        self.status = status
        self.message = message or strerror(status)
        self.offset = offset
        self.path = path
        super().__init__(self.message)

    def __str__(self) -> str:
        return "%s (%s)" % (self.message, _STATUS_NAMES.get(self.status, self.status))


def _err(name: str, code: int, *bases: type) -> Type[TokenomyError]:
    cls = type(name, (TokenomyError,) + bases, {"status": code, "__module__": "tokenomy"})
    return cls


NoMemoryError = _err("NoMemoryError", ffi.TKN_ERR_NOMEM, MemoryError)
InvalidError = _err("InvalidError", ffi.TKN_ERR_INVALID, ValueError)
ParseError = _err("ParseError", ffi.TKN_ERR_PARSE, ValueError)
Utf8Error = _err("Utf8Error", ffi.TKN_ERR_UTF8, ValueError)
LimitError = _err("LimitError", ffi.TKN_ERR_LIMIT, ValueError)
NotFoundError = _err("NotFoundError", ffi.TKN_ERR_NOT_FOUND, LookupError)
BudgetError = _err("BudgetError", ffi.TKN_ERR_BUDGET)
CallbackError = _err("CallbackError", ffi.TKN_ERR_CALLBACK)
UnsupportedError = _err("UnsupportedError", ffi.TKN_ERR_UNSUPPORTED)
SchemaError = _err("SchemaError", ffi.TKN_ERR_SCHEMA, ValueError)
StateError = _err("StateError", ffi.TKN_ERR_STATE)
OverflowError_ = _err("OverflowError", ffi.TKN_ERR_OVERFLOW, OverflowError)
DuplicateError = _err("DuplicateError", ffi.TKN_ERR_DUPLICATE, ValueError)
IOError_ = _err("IOError", ffi.TKN_ERR_IO, OSError)
SpecialTokenError = _err("SpecialTokenError", ffi.TKN_ERR_SPECIAL_TOKEN, ValueError)
VersionError = _err("VersionError", ffi.TKN_ERR_VERSION)
TooSmallError = _err("TooSmallError", ffi.TKN_ERR_TOO_SMALL)
UnavailableError = _err("UnavailableError", ffi.TKN_ERR_UNAVAILABLE)
CancelledError = _err("CancelledError", ffi.TKN_ERR_CANCELLED)
AuthError = _err("AuthError", ffi.TKN_ERR_AUTH, PermissionError)

ERRORS: Dict[int, Type[TokenomyError]] = {c.status: c for c in (
    NoMemoryError, InvalidError, ParseError, Utf8Error, LimitError, NotFoundError, BudgetError,
    CallbackError, UnsupportedError, SchemaError, StateError, OverflowError_, DuplicateError,
    IOError_, SpecialTokenError, VersionError, TooSmallError, UnavailableError, CancelledError,
    AuthError)}
_STATUS_NAMES = {v: k for k, v in vars(ffi).items()
                 if k.startswith("TKN_ERR_") and not k.startswith("TKN_ERR__")}


def error_for(status: int, message: str = "", offset: int = -1, path: str = "") -> TokenomyError:
    return ERRORS.get(status, TokenomyError)(status, message, offset, path)


def last_error(status: int) -> TokenomyError:
    """The error for a call that just returned `status` on this thread, from
    the C library's thread-local tkn_error_last() (ctypes calls run on the
    calling thread, so nothing can come between the call and this read but
    Python code of the same thread)."""
    e = lib.tkn_error_last().contents
    if e.status != status:  # not recorded by that call: only the code is known
        return error_for(status)
    return error_for(status, (e.message or b"").decode("utf-8", "replace"), e.offset,
                     (e.path or b"").decode("utf-8", "replace"))


# ---- callbacks -----------------------------------------------------------
# A Python exception must never unwind through C.  Each trampoline catches it,
# parks it here (per thread: C calls a callback on the thread that called C)
# and returns a failure to C; the wrapper that made the C call then raises it.

class _Parked(threading.local):
    exc: Optional[BaseException] = None  # a class default: reading it is fast


_tls = _Parked()


def _park(exc: BaseException) -> None:
    if _tls.exc is None:
        _tls.exc = exc


def _take_parked() -> Optional[BaseException]:
    exc = _tls.exc
    if exc is not None:
        _tls.exc = None
    return exc


def check(status: int, message: Optional[str] = None) -> None:
    """Raise for a failed status (and re-raise a callback's exception).  Call
    it right after the C call: the detail comes from tkn_error_last(), unless
    a message is given (for failures the binding itself detects)."""
    parked = _tls.exc
    if status == 0 and parked is None:
        return
    if parked is not None:
        _tls.exc = None
    if status == 0:
        raise parked  # type: ignore[misc]
    err = error_for(status, message) if message else last_error(status)
    if parked is not None:
        raise parked from err
    raise err


def reraise_parked() -> None:
    exc = _take_parked()
    if exc is not None:
        raise exc


# ---- strings -------------------------------------------------------------

def enc(s: Optional[Text]) -> Optional[bytes]:
    if s is None:
        return None
    if isinstance(s, str):
        return s.encode("utf-8", "surrogatepass")
    if isinstance(s, (bytes, bytearray, memoryview)):
        return bytes(s)
    raise TypeError("expected str or bytes, got %s" % type(s).__name__)


def dec(b: Optional[bytes]) -> Optional[str]:
    return None if b is None else b.decode("utf-8", "replace")


def at(addr: Optional[int], n: int) -> str:
    """n bytes at a C address, decoded."""
    if not addr or n == 0:
        return ""
    return ctypes.string_at(addr, n).decode("utf-8", "replace")


def take(ptr: ctypes.c_void_p, n: Optional[int] = None) -> str:
    """Decode library-allocated text and give it back with tkn_free."""
    if not ptr.value:
        return ""
    try:
        raw = ctypes.string_at(ptr.value, n) if n is not None else ctypes.string_at(ptr.value)
    finally:
        lib.tkn_free(ptr)
    return raw.decode("utf-8", "replace")


def field_addr(struct: ctypes.Structure, name: str) -> Optional[int]:
    """The raw address held in a char* field (ctypes would copy up to a NUL)."""
    off = getattr(type(struct), name).offset
    return ctypes.c_void_p.from_buffer(struct, off).value


def ftype(struct_type: type, name: str) -> Any:
    """The ctypes type of a struct field (function-pointer fields)."""
    return dict(struct_type._fields_)[name]


# ---- handles -------------------------------------------------------------

class _Closed:
    """Stands in for a closed handle's pointer: passing it to C raises."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def _as_parameter_(self) -> int:
        raise ValueError("%s is closed" % self.name)


class Handle:
    """Owns one C object: freed exactly once, by close(), `with`, or the
    garbage collector.  Objects it borrows are kept in _keep so they outlive it.
    The object itself is passed to C (ctypes reads _as_parameter_, a plain
    attribute for speed; a closed handle raises ValueError instead)."""

    _free: Optional[str] = None
    _ptr: Optional[int] = None

    def __init__(self, ptr: Optional[int], keep: Iterable[Any] = ()) -> None:
        self._ptr = ptr
        self._as_parameter_: Any = ptr if ptr else _Closed(type(self).__name__)
        self._keep: List[Any] = list(keep)

    def raw(self) -> int:
        """The C pointer (for struct fields); ValueError once closed."""
        if not self._ptr:
            raise ValueError("%s is closed" % type(self).__name__)
        return self._ptr

    @property
    def closed(self) -> bool:
        return not self._ptr

    def close(self) -> None:
        ptr, self._ptr = self._ptr, None
        self._as_parameter_ = _Closed(type(self).__name__)
        if ptr and self._free:
            getattr(lib, self._free)(ptr)
        self._keep = []

    def __enter__(self):
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass


def new_handle(fn: Callable[..., int], *args: Any) -> int:
    out = ctypes.c_void_p()
    st = fn(ctypes.byref(out), *args)
    check(st)
    return out.value  # type: ignore[return-value]


def options(struct_type: type, init: str, version: int, **kw: Any) -> Any:
    """A versioned options struct filled by its C init function, then kw."""
    s = struct_type()
    check(getattr(lib, init)(ctypes.byref(s), version))
    for k, v in kw.items():
        if v is None:
            continue
        if not hasattr(struct_type, k) or k == "version":
            raise TypeError("unknown option %r" % k)
        setattr(s, k, v)
    return s


class Record:
    """A plain read-only copy of a C result struct."""

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % kv for kv in self.__dict__.items()))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def _asdict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def record(cls: Type[Record], s: ctypes.Structure, skip: Tuple[str, ...] = ()) -> Any:
    vals = {}
    for name, t in s._fields_:
        if name in ("version", "reserved") or name in skip:
            continue
        v = getattr(s, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        vals[name] = v
    return cls(**vals)
