"""The library, its errors and the plumbing every wrapper shares."""
from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from typing import (TYPE_CHECKING, Any, Callable, Dict, Iterable, List, Optional, Tuple, Type,
                    TypeVar, Union, cast, overload)

from . import _ffi as ffi

Text = Union[str, bytes]
#: JSON given as text (str / bytes) or as the Python value it encodes (dict,
#: list, and SDK objects with model_dump(), e.g. an OpenAI or litellm Usage)
JSON = Union[str, bytes, Dict[str, Any], List[Any], Any]


def json_text(v: Any, what: str = "JSON") -> Text:
    """JSON text as given (str, bytes), or a Python value serialised: dict,
    list, tuple, a number, bool or None, or an object with model_dump() /
    to_dict() (pydantic models of the provider SDKs).  TypeError otherwise."""
    import json as _json
    if isinstance(v, (str, bytes)):
        return v
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    for attr in ("model_dump", "to_dict"):
        fn = getattr(v, attr, None)
        if callable(fn) and not isinstance(v, (dict, list, tuple)):
            v = fn()
            break
    try:
        return _json.dumps(v, ensure_ascii=False, allow_nan=False, default=_plain)
    except (TypeError, ValueError) as e:
        raise TypeError("%s: expected JSON text or a JSON-like value, got %s (%s)"
                        % (what, type(v).__name__, e)) from None


def _plain(o: Any) -> Any:
    for attr in ("model_dump", "to_dict"):
        fn = getattr(o, attr, None)
        if callable(fn):
            return fn()
    raise TypeError("%s is not JSON serialisable" % type(o).__name__)


# ---- loading -------------------------------------------------------------

_HERE = os.path.dirname(os.path.abspath(__file__))
_BUNDLED = os.path.join(_HERE, "_lib")
#: where the C library was loaded from (a path, or the name the loader resolved)
library_path = ""


def _load_bundled() -> Optional[ctypes.CDLL]:
    """The library a wheel carries (tokenomy/_lib, see _backend/tokenomy_build.py):
    its dependencies first, loaded by path, so the dynamic loader finds them
    by soname when it loads libtokenomy.so.1."""
    order = os.path.join(_BUNDLED, "ORDER")
    if not os.path.isfile(order):
        return None
    with open(order) as f:
        names = [n.strip() for n in f if n.strip()]
    dll = None
    for n in names:
        dll = ctypes.CDLL(os.path.join(_BUNDLED, n), mode=ctypes.RTLD_GLOBAL)
    return dll


def _load() -> ctypes.CDLL:
    """$TOKENOMY_LIBRARY, else the library bundled in the wheel, else the
    installed one."""
    global library_path
    explicit = os.environ.get("TOKENOMY_LIBRARY")
    if explicit:
        library_path = explicit
        return ctypes.CDLL(explicit)
    bundled = _load_bundled()
    if bundled is not None:
        library_path = os.path.join(_BUNDLED, "libtokenomy.so.1")
        return bundled
    candidates: List[str] = []
    found = ctypes.util.find_library("tokenomy")
    if found:
        candidates.append(found)
    candidates += ["libtokenomy.so.1", "libtokenomy.so", "libtokenomy.1.dylib", "libtokenomy.dylib"]
    errors = []
    for name in candidates:
        try:
            dll = ctypes.CDLL(name)
            library_path = name
            return dll
        except OSError as e:  # try the next spelling
            errors.append(str(e))
    raise ImportError("tokenomy: cannot load the C library (set TOKENOMY_LIBRARY to its path): "
                      + "; ".join(errors))


# ---- argument checks -------------------------------------------------------
# ctypes alone takes any int or bytes where a handle is expected, wraps
# out-of-range integers silently and cuts text at a NUL.  Every function of
# the C API is therefore called through a guard built from its declaration:
# a handle parameter takes only an open handle of its type (TypeError,
# ValueError once closed) and holds a reference on it for the duration of the
# call (so close() on another thread defers the free, see Handle); an integer
# parameter takes only a value its C type holds (OverflowError); a
# NUL-terminated string parameter (no length after it) refuses an embedded NUL.
# ctypes.c_void_p instances pass through unchecked: that is how the binding
# (and a caller of the raw `lib` who knows what it does) passes a pointer it
# owns, such as a result object C just returned.

_INT_RANGES: Dict[Any, Tuple[int, int]] = {}
for _t, _signed in ((ctypes.c_int8, True), (ctypes.c_int16, True), (ctypes.c_int32, True),
                    (ctypes.c_int64, True), (ctypes.c_int, True), (ctypes.c_uint8, False),
                    (ctypes.c_uint16, False), (ctypes.c_uint32, False), (ctypes.c_uint64, False),
                    (ctypes.c_uint, False), (ctypes.c_size_t, False)):
    _bits = ctypes.sizeof(_t) * 8
    _INT_RANGES[_t] = ((-(1 << (_bits - 1)), (1 << (_bits - 1)) - 1) if _signed
                       else (0, (1 << _bits) - 1))


def check_int(value: Any, ctype: Any, what: str) -> int:
    """value as an int for a C integer of type ctype: TypeError for a
    non-integer, OverflowError outside the type's range."""
    lo, hi = _INT_RANGES[ctype]
    if type(value) is not int:
        if isinstance(value, bool):
            value = int(value)
        elif hasattr(value, "__index__"):
            value = value.__index__()
        else:
            raise TypeError("%s: expected an integer, got %s" % (what, type(value).__name__))
    if not lo <= value <= hi:
        raise OverflowError("%s: %d is out of range for %s [%d, %d]"
                            % (what, value, ctype.__name__, lo, hi))
    return int(value)


def id_array(ids: Iterable[Any], what: str) -> Any:
    """Token ids as a C uint32_t array, each checked: ctypes would wrap
    2**32 + 65 to 65 and decode a token nobody asked for."""
    vals = [check_int(v, ctypes.c_uint32, what) for v in ids]
    return (ctypes.c_uint32 * len(vals))(*vals)


def check_cstr(value: Any, what: str) -> Any:
    """A NUL-terminated string: an embedded NUL would silently cut it."""
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    if isinstance(value, (bytes, bytearray)) and b"\0" in value:
        raise ValueError("%s: embedded NUL character" % what)
    return value


def _closed_error(h: Any) -> ValueError:
    return ValueError("%s is closed" % type(h).__name__)


def _type_error(name: str, i: int, want: str, got: Any) -> TypeError:
    return TypeError("%s argument %d: expected %s, got %s" % (
        name, i + 1, _PY_NAMES.get(want, want), type(got).__name__))


def _guard(name: str, fn: Any, argtypes: List[Any], handles: Tuple[Tuple[int, str], ...]) -> Any:
    """fn behind the checks, as straight-line Python generated for its
    signature (a loop over the arguments would double the cost of a short
    call).  A handle reference is an entry in the handle's _refs list:
    append and pop are atomic under the GIL, no lock on the fast path."""
    hidx = dict(handles)
    n = len(argtypes)
    args = ", ".join("a%d" % i for i in range(n))
    env: Dict[str, Any] = {"fn": fn, "check_int": check_int, "check_cstr": check_cstr,
                           "void_p": ctypes.c_void_p, "_closed_error": _closed_error,
                           "_type_error": _type_error, "NAME": name}
    pre: List[str] = []
    for i, t in enumerate(argtypes):
        if t in _INT_RANGES and i not in hidx:
            lo, hi = _INT_RANGES[t]
            env["T%d" % i] = t
            pre.append("    if type(a%d) is not int or not %d <= a%d <= %d:\n"
                       "        a%d = check_int(a%d, T%d, '%s argument %d')"
                       % (i, lo, i, hi, i, i, i, name, i + 1))
        elif t is ctypes.c_char_p and (i + 1 >= n or argtypes[i + 1] is not ctypes.c_size_t):
            pre.append("    a%d = check_cstr(a%d, '%s argument %d')" % (i, i, name, i + 1))
    if not handles and not pre:
        return fn
    body = list(pre)
    for i, want in handles:
        body.append(
            "    h{i} = None\n"
            "    if a{i} is not None and type(a{i}) is not void_p:\n"
            "        if getattr(type(a{i}), '_ctype', None) != {w!r}:\n"
            "            raise _type_error(NAME, {i}, {w!r}, a{i})\n"
            "        h{i} = a{i}\n"
            "        h{i}._refs.append(None)\n"
            "        a{i} = h{i}._ptr\n"
            "        if a{i} is None:\n"
            "            h{i}._release()\n"
            "            raise _closed_error(h{i})".format(i=i, w=want))
    if handles:
        body.append("    try:\n        return fn(%s)\n    finally:" % args)
        for i, _w in handles:
            body.append("        if h{i} is not None:\n"
                        "            h{i}._refs.pop()\n"
                        "            if h{i}._ptr is None and not h{i}._refs:\n"
                        "                h{i}._destroy()".format(i=i))
    else:
        body.append("    return fn(%s)" % args)
    src = "def %s(%s):\n%s\n" % (name, args, "\n".join(body))
    exec(compile(src, "<tokenomy guard %s>" % name, "exec"), env)
    call = env[name]
    call.__doc__ = "%s (C, through the binding's argument checks)" % name
    return call


#: C handle type -> the Python class that owns it (filled as classes are defined)
_PY_NAMES: Dict[str, str] = {}


class _Lib:
    """The raw C API: every TKN_API function of the headers, with its ctypes
    prototype, called through the argument checks above.  Functions the
    loaded library lacks (an older build) are listed in `missing` and raise
    AttributeError when used."""

    def __init__(self, dll: ctypes.CDLL, functions: Optional[Dict[str, Any]] = None) -> None:
        self._dll = dll
        self.missing: List[str] = []
        for name, (restype, argtypes, _header) in (functions or ffi.FUNCTIONS).items():
            try:
                fn = getattr(dll, name)
            except AttributeError:
                self.missing.append(name)
                continue
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, _guard(name, fn, cast(List[Any], argtypes),
                                       tuple(ffi.HANDLE_PARAMS.get(name, ()))))

    if TYPE_CHECKING:  # the functions are set per name above: any name, for mypy
        def __getattr__(self, name: str) -> Any: ...


def check_version(number: int, where: str = "") -> None:
    """Refuse a C library whose ABI is not the binding's: another major
    version, or, while the major is 0 (no ABI promise between 0.x
    releases), another minor.  `number` is the library's
    tkn_version_number() (MAJOR*10000 + MINOR*100 + PATCH)."""
    major, minor = number // 10000, number // 100 % 100
    want_major, want_minor = ffi.TKN_VERSION_MAJOR, ffi.TKN_VERSION_MINOR
    if major != want_major or (want_major == 0 and minor != want_minor):
        raise ImportError(
            "tokenomy: the C library%s is version %d.%d.%d, this binding needs %d.%d.x (%s); "
            "install the matching libtokenomy or set TOKENOMY_LIBRARY"
            % (" " + where if where else "", major, minor, number % 100, want_major,
               want_minor, "older library" if number < ffi.TKN_VERSION_NUMBER
               else "newer library"))


def _load_checked() -> ctypes.CDLL:
    dll = _load()
    try:
        fn = dll.tkn_version_number
    except AttributeError:
        raise ImportError("tokenomy: %s is not libtokenomy (no tkn_version_number)"
                          % library_path) from None
    fn.restype = ctypes.c_uint
    fn.argtypes = []
    check_version(fn(), "at " + library_path)
    return dll


lib = _Lib(_load_checked())


# ---- checked structs -------------------------------------------------------
# The same checks for the fields of every struct of the API: an integer field
# takes only what its type holds (OverflowError), a NUL-terminated char*
# field (no <name>_len beside it) refuses an embedded NUL (ValueError).

def _struct_checks(st: type) -> None:
    fields = dict(st._fields_)  # type: ignore[attr-defined]
    names = [f for f, _t in st._fields_]  # type: ignore[attr-defined]
    ints = {f: t for f, t in fields.items() if t in _INT_RANGES}
    cstrs = {f for f, t in fields.items() if t is ctypes.c_char_p and f + "_len" not in fields}
    base_setattr = ctypes.Structure.__setattr__
    base_init = ctypes.Structure.__init__
    where = st.__name__

    def __setattr__(self: Any, name: str, value: Any) -> None:
        t = ints.get(name)
        if t is not None:
            lo, hi = _INT_RANGES[t]
            if type(value) is not int or not lo <= value <= hi:
                value = check_int(value, t, "%s.%s" % (where, name))
        elif name in cstrs:
            value = check_cstr(value, "%s.%s" % (where, name))
        base_setattr(self, name, value)

    def __init__(self: Any, *args: Any, **kw: Any) -> None:
        base_init(self)
        if len(args) > len(names):
            raise TypeError("%s takes at most %d fields" % (where, len(names)))
        for name, value in zip(names, args):
            __setattr__(self, name, value)
        for name, value in kw.items():
            if name not in fields:
                raise TypeError("%s has no field %r" % (where, name))
            __setattr__(self, name, value)

    st.__setattr__ = __setattr__  # type: ignore[assignment]
    setattr(st, "__init__", __init__)


for _v in list(vars(ffi).values()):
    if isinstance(_v, type) and issubclass(_v, ctypes.Structure) and _v is not ctypes.Structure:
        _struct_checks(_v)

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
        r = _Lib(dll, ffi.REDIS_FUNCTIONS)
        if r.missing:
            raise ImportError("tokenomy: libtokenomy-redis lacks " + ", ".join(r.missing))
        _redis = r
    return _redis


def strerror(status: int) -> str:
    """The one-line description of a status code."""
    return str(lib.tkn_strerror(status).decode())


def version() -> str:
    """The version of the C library actually loaded."""
    return str(lib.tkn_version_string().decode())


def version_number() -> int:
    """MAJOR*10000 + MINOR*100 + PATCH of the C library actually loaded."""
    return int(lib.tkn_version_number())


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
    cname = next((k for k, v in vars(ffi).items()
                  if k.startswith("TKN_ERR_") and not k.startswith("TKN_ERR__") and v == code),
                 str(code))
    doc = "Raised for status %s (%d)%s." % (cname, code, "; also a %s" % ", ".join(
        b.__name__ for b in bases) if bases else "")
    cls = type(name, (TokenomyError,) + bases, {"status": code, "__module__": "tokenomy",
                                                "__doc__": doc})
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
    """The TokenomyError subclass instance for a status code."""
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

@overload
def enc(s: Text) -> bytes: ...
@overload
def enc(s: None) -> None: ...
@overload
def enc(s: Optional[Text]) -> Optional[bytes]: ...


def enc(s: Optional[Text]) -> Optional[bytes]:
    """UTF-8 bytes of a str (bytes as they are; None stays None)."""
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
    return dict(getattr(struct_type, "_fields_"))[name]


# ---- handles -------------------------------------------------------------

class Handle:
    """Owns one C object, freed exactly once: by close(), `with`, or the
    garbage collector.

    Safety against misuse, all in the binding:
    - only an open handle of the right class is accepted where C expects one
      (TypeError otherwise, ValueError once closed);
    - every C call holds a reference on the handles it is given, and every
      object that borrows a handle (an Agent its budget, a Pruner its
      tokenizer, a Budget its parent...) holds one for as long as it lives.
      close() on a handle still referenced closes it for Python at once (any
      further use raises ValueError) and defers the C free until the last
      reference is dropped: the call in flight on another thread returns,
      the borrower is closed or collected.  close() never raises for that
      and never blocks.
    Callables and buffers C points into are kept in _keep so they outlive it."""

    _free: Optional[str] = None
    _ctype: str = ""  # the C handle type this class owns, e.g. "tkn_budget"
    _ptr: Optional[int] = None

    def __init_subclass__(cls, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        if cls.__dict__.get("_ctype"):
            _PY_NAMES.setdefault(cls._ctype, "tokenomy." + cls.__name__)

    def __init__(self, ptr: Optional[int], keep: Iterable[Any] = (),
                 parts: Optional["Parts"] = None) -> None:
        # _refs: one entry per reference (a call in flight, a borrower);
        # list.append/pop are atomic under the GIL.  _cbox holds the C
        # pointer until it is freed: pop() takes it exactly once.
        self._refs: List[None] = []
        self._ptr = ptr or None
        self._cbox: List[int] = [ptr] if ptr else []
        self._keep: List[Any] = list(keep)
        self._parts: List["Handle"] = parts.hand_over() if parts is not None else []

    @classmethod
    def _adopt(cls: Type[_H], ptr: Optional[int], keep: Iterable[Any] = ()) -> _H:
        """A cls owning the C pointer `ptr`, made by the binding itself: the
        classes whose only source is a C call (Tokenizer, Prompt) refuse a
        pointer from the user, where an int would be dereferenced."""
        self = cls.__new__(cls)
        Handle.__init__(self, ptr, keep)
        return self

    # -- references --
    def _acquire(self) -> int:
        """A reference for one C call or one borrower: the pointer, or
        ValueError once closed.  (Take the reference, then look: close()
        sets _ptr first, then looks at the references.)"""
        self._refs.append(None)
        p = self._ptr
        if p is None:
            self._release()
            raise _closed_error(self)
        return p

    def _release(self) -> None:
        self._refs.pop()
        if self._ptr is None and not self._refs:
            self._destroy()

    def _borrow(self, part: Any, cls: Type["Handle"], what: str) -> Optional[int]:
        """Hold a reference on `part` (None allowed) for as long as self
        lives; its pointer, for C to keep."""
        if part is None:
            return None
        p = Parts.checked(part, cls, what)._acquire()
        self._parts.append(part)
        return p

    def _free_c(self, ptr: int) -> None:
        if self._free:
            getattr(lib, self._free)(ctypes.c_void_p(ptr))

    def _destroy(self) -> None:
        try:
            ptr = self._cbox.pop()
        except (IndexError, AttributeError):
            return  # freed already (or never made)
        self._free_c(ptr)
        parts, self._parts = self._parts, []
        for part in parts:
            part._release()
        self._keep = []

    def raw(self) -> int:
        """The C pointer (for struct fields); ValueError once closed.  Not a
        reference: see _borrow for a pointer stored where C keeps it."""
        p = self._ptr
        if not p:
            raise ValueError("%s is closed" % type(self).__name__)
        return p

    @property
    def closed(self) -> bool:
        return not self._ptr

    def close(self) -> None:
        """Free the C object now, or as soon as the calls in flight and the
        objects borrowing it are done (see the class docstring).  Further
        use of this object raises ValueError; closing again does nothing."""
        if "_cbox" not in self.__dict__:  # __init__ never ran (a constructor failed early)
            return
        self._ptr = None
        if not self._refs:
            self._destroy()

    def __enter__(self: "_H") -> "_H":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # interpreter shutdown: nothing sensible to do
            pass

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return "<tokenomy.%s %s>" % (type(self).__name__, state)


_H = TypeVar("_H", bound=Handle)


class Parts:
    """References taken on the parts a new object will borrow, before that
    object exists (the part's pointer goes into its options).  Handed over to
    the new Handle; dropped (references released) if construction fails."""

    def __init__(self) -> None:
        self._held: List[Handle] = []

    @staticmethod
    def checked(part: Any, cls: Type[_H], what: str) -> _H:
        if not isinstance(part, cls):
            raise TypeError("%s: expected tokenomy.%s, got %s" % (
                what, cls.__name__, type(part).__name__))
        return part

    def take(self, part: Any, cls: Type[Handle], what: str) -> Optional[int]:
        """part's pointer (None for None), referenced until the borrower dies;
        TypeError for another type, ValueError for a closed handle."""
        if part is None:
            return None
        p = self.checked(part, cls, what)._acquire()
        self._held.append(part)
        return p

    def hold(self, objs: Iterable[Any]) -> None:
        """References on the handles among objs (a store's keep list)."""
        for o in objs:
            if isinstance(o, Handle):
                o._acquire()
                self._held.append(o)

    def hand_over(self) -> List[Handle]:
        held, self._held = self._held, []
        return held

    def __del__(self) -> None:
        for h in self.hand_over():
            try:
                h._release()
            except Exception:
                pass


class holding:
    """`with holding(h, cls, what) as ptr:` a reference on h for a block
    (a handle C uses only during one call, through a struct field)."""

    def __init__(self, h: Any, cls: Type[Handle], what: str) -> None:
        self._h = Parts.checked(h, cls, what) if h is not None else None

    def __enter__(self) -> Optional[int]:
        return self._h._acquire() if self._h is not None else None

    def __exit__(self, *exc: Any) -> None:
        if self._h is not None:
            self._h._release()


def new_handle(fn: Callable[..., int], *args: Any) -> int:
    out = ctypes.c_void_p()
    st = fn(ctypes.byref(out), *args)
    check(st)
    return out.value  # type: ignore[return-value]


_S = TypeVar("_S", bound=ctypes.Structure)
_R = TypeVar("_R", bound="Record")


def options(struct_type: Type[_S], init: str, version: int, **kw: Any) -> _S:
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

    if TYPE_CHECKING:  # the fields are the struct's, set per instance
        def __getattr__(self, name: str) -> Any: ...
        def __setattr__(self, name: str, value: Any) -> None: ...

    def __init__(self, **fields: Any) -> None:
        self.__dict__.update(fields)

    def __repr__(self) -> str:
        return "%s(%s)" % (type(self).__name__,
                           ", ".join("%s=%r" % kv for kv in self.__dict__.items()))

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.__dict__ == self.__dict__

    def _asdict(self) -> Dict[str, Any]:
        return dict(self.__dict__)


def record(cls: Type[_R], s: ctypes.Structure, skip: Tuple[str, ...] = ()) -> _R:
    """A Record of class cls holding the fields of struct s (bytes decoded)."""
    vals = {}
    for name, *_ in s._fields_:
        if name in ("version", "reserved") or name in skip:
            continue
        v = getattr(s, name)
        if isinstance(v, bytes):
            v = v.decode("utf-8", "replace")
        vals[name] = v
    return cls(**vals)
