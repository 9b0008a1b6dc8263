"""tiktoken's Encoding interface over tokenomy's exact BPE encodings.

    enc = tokenomy.encoding_for_model("gpt-4o")      # or tokenomy.get_encoding("o200k_base")
    ids = enc.encode("hello <|endoftext|>", allowed_special={"<|endoftext|>"})
    enc.decode(ids)

encode, encode_ordinary, encode_batch, decode, decode_bytes, n_vocab,
special_tokens_set, eot_token and the allowed_special / disallowed_special
rules are tiktoken's (tests/peer_agreement.py runs tiktoken side by side on a
corpus and counts the agreements; tests/test_encoding.py holds the hot path
to the general one).  Nothing is re-implemented: the ids come from the C
library (tkn_tokenizer_encode, tkn_tokenizer_encode_alloc).
"""
from __future__ import annotations

import ctypes
import re
from array import array
from concurrent.futures import ThreadPoolExecutor
from ctypes import byref as _byref, c_int64, c_size_t, c_uint32, c_void_p
from typing import (Any, AbstractSet, Collection, Dict, FrozenSet, List, Literal, Optional,
                    Sequence, Union)

from . import _ffi as ffi
from ._core import Text, check, enc as _enc, id_array, lib
from .conv import Tokenizer, encoding_name_for_model

AllowedSpecial = Union[Literal["all"], AbstractSet[str]]
DisallowedSpecial = Union[Literal["all"], Collection[str]]

# the special tokens tiktoken defines for the encodings tokenomy has; each is
# confirmed against the library (it must encode to one id) when loaded
_SPECIAL_CANDIDATES = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                       "<|endofprompt|>")

# ---- the hot path ----------------------------------------------------------
# encode / encode_ordinary / count of one short text is a few hundred
# nanoseconds of C; the rest was the binding.  The hot path is one ctypes call
# of a function object with no argtypes (ctypes then converts nothing: every
# argument is already a ctypes object of the exact C type, or bytes for the
# text), with the options structs made once, into a buffer from a pool, on a
# tokenizer handle the Encoding owns alone (nobody can close it while the
# Encoding lives: no reference counting per call), and with no Python-side
# special-token scan: the C library refuses special-token text itself
# (TKN_SPECIAL_REFUSE).  When that call fails (special-token text, invalid
# UTF-8), the general path runs instead and raises what it always raised.
#
# The pool is a list of scratch objects: pop() and append() are atomic, so a
# scratch is never used by two calls at once, whether on two threads (the C
# call releases the GIL) or re-entered on one (a signal handler).

#: texts up to this many bytes encode into a pooled buffer of as many ids (an
#: id covers at least one byte: TKN_ENCODE_IDS_BOUND); longer ones into an
#: array C allocates (tkn_tokenizer_encode_alloc)
_SHORT = 8192
_NO_LIMIT = c_int64((1 << 63) - 2)  # tkn_tokenizer_count_limit: count everything


def _raw(name: str, restype: Any = ctypes.c_int) -> Any:
    """A function object of its own for `name`, with no argtypes."""
    fn = lib._dll[name]
    fn.restype = restype
    return fn


_ENCODE = _raw("tkn_tokenizer_encode")
_ENCODE_ALLOC = _raw("tkn_tokenizer_encode_alloc")
_COUNT_LIMIT = _raw("tkn_tokenizer_count_limit")
_FREE = _raw("tkn_free", None)


def _options(special: int) -> Any:
    opts = ffi.tkn_encode_options(ffi.TKN_ENCODE_OPTIONS_VERSION, special)
    return _byref(opts)  # the reference keeps opts alive; C only reads it


_REFUSE, _ALLOW, _PLAIN = (_options(ffi.TKN_SPECIAL_REFUSE), _options(ffi.TKN_SPECIAL_ALLOW),
                           _options(ffi.TKN_SPECIAL_PLAIN))


#: the array / memoryview type code of uint32_t
_U32: Literal["I", "L"] = "I" if array("I").itemsize == 4 else "L"


class _Scratch:
    """What one hot-path call writes: the ids (an array('I'): slicing it and
    tolist() is the cheapest way to a list), the length and count cells."""
    __slots__ = ("ids", "buf", "cap", "len", "n", "n_ref", "count", "count_ref")
    # byref() objects are passed as they are; a ctypes instance (buf, cap,
    # len) gets a new argument object on every call

    def __init__(self) -> None:
        self.ids = array(_U32, bytes(4 * _SHORT))
        self.buf = _byref((c_uint32 * _SHORT).from_buffer(self.ids))  # C's view of it
        self.cap = c_size_t(_SHORT)
        self.len = c_size_t()
        self.n = c_size_t()
        self.n_ref = _byref(self.n)
        self.count = c_int64()
        self.count_ref = _byref(self.count)


_pool: List[_Scratch] = []
_take, _give = _pool.pop, _pool.append


def _id_list(addr: int, n: int) -> List[int]:
    """n uint32 ids at a C address as a list, in one call."""
    return memoryview((c_uint32 * n).from_address(addr)).cast("B").cast(_U32).tolist()


#: allowed_special's default: the hot path knows it by identity
_NONE_ALLOWED: FrozenSet[str] = frozenset()


class Encoding:
    """One BPE encoding ("cl100k_base", "o200k_base"), shaped like
    tiktoken.Encoding.  Immutable; any number of threads may share one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tok = Tokenizer.encoding(name)  # the user's (.tokenizer)
        # the Encoding's own handle, for every call below (see "the hot
        # path"): closing .tokenizer does not break the shared Encoding
        self._own = Tokenizer.encoding(name)
        self._p = c_void_p(self._own.raw())
        self._special: Dict[str, int] = {}
        for s in _SPECIAL_CANDIDATES:
            ids = self._encode(s.encode(), ffi.TKN_SPECIAL_ALLOW)
            if len(ids) == 1 and len(self._encode(s.encode(), ffi.TKN_SPECIAL_PLAIN)) > 1:
                self._special[s] = ids[0]
        self._special_re = (re.compile("|".join(re.escape(s) for s in self._special))
                            if self._special else None)
        # the hot path leaves refusing special-token text to C: when C
        # refuses every one this class knows (it does: they come from it)
        self._refuse = _REFUSE if all(self._run(s.encode(), _REFUSE) is None
                                      for s in self._special) else None

    def __repr__(self) -> str:
        return "<Encoding %r>" % self.name

    # ---- the C calls ----
    def _encode(self, b: bytes, special: int) -> List[int]:
        """The general path: the checked call; raises what C reports."""
        opts = ffi.tkn_encode_options(ffi.TKN_ENCODE_OPTIONS_VERSION, special)
        ids, n = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_size_t()
        check(lib.tkn_tokenizer_encode_alloc(self._own, b, len(b), ctypes.byref(opts),
                                             ctypes.byref(ids), ctypes.byref(n)))
        try:
            return _id_list(ctypes.addressof(ids.contents), n.value) if n.value else []
        finally:
            lib.tkn_free(ids)

    def _run(self, b: bytes, opts: Any) -> Optional[List[int]]:
        """The hot path: the ids of b in one C call, or None when that call
        failed (the caller then takes the general path, which raises)."""
        k = len(b)
        if k > _SHORT:
            return self._run_long(b, opts)
        try:
            s = _take()
        except IndexError:
            s = _Scratch()
        s.len.value = k
        ids = (None if _ENCODE(self._p, b, s.len, opts, s.buf, s.cap, s.n_ref)
               else s.ids[:s.n.value].tolist())
        _give(s)
        return ids

    def _run_long(self, b: bytes, opts: Any) -> Optional[List[int]]:
        out, n = ctypes.POINTER(c_uint32)(), c_size_t()
        if _ENCODE_ALLOC(self._p, b, c_size_t(len(b)), opts, _byref(out), _byref(n)):
            return None
        try:
            return _id_list(ctypes.addressof(out.contents), n.value) if n.value else []
        finally:
            _FREE(out)

    def _count(self, b: bytes, opts: Any) -> int:
        """The hot path of count: one C call; -1 when it failed."""
        try:
            s = _take()
        except IndexError:
            s = _Scratch()
        s.len.value = len(b)
        n = -1 if _COUNT_LIMIT(self._p, b, s.len, _NO_LIMIT, opts, s.count_ref) else \
            s.count.value
        _give(s)
        return n

    # ---- tiktoken's interface ----
    @property
    def n_vocab(self) -> int:
        """The number of ids: the largest id + 1 (as tiktoken's n_vocab)."""
        return int(lib.tkn_tokenizer_vocab_size(self._own))

    @property
    def max_token_value(self) -> int:
        """The largest token id (as tiktoken's)."""
        return self.n_vocab - 1

    @property
    def special_tokens_set(self) -> FrozenSet[str]:
        """The special tokens' spellings (as tiktoken's)."""
        return frozenset(self._special)

    @property
    def eot_token(self) -> int:
        """The id of <|endoftext|> (as tiktoken's)."""
        return self._special["<|endoftext|>"]

    def encode_ordinary(self, text: str) -> List[int]:
        """Every special token's text encoded as ordinary text."""
        b = text.encode("utf-8", "surrogatepass") if type(text) is str else _text(text)
        ids = self._run(b, _PLAIN)
        return ids if ids is not None else self._encode(b, ffi.TKN_SPECIAL_PLAIN)

    def encode(self, text: str, *, allowed_special: AllowedSpecial = _NONE_ALLOWED,
               disallowed_special: DisallowedSpecial = "all") -> List[int]:
        """As tiktoken: text spelling an allowed special token becomes its id;
        one spelling a disallowed one raises ValueError (by default every
        special token not allowed is disallowed); any other is ordinary text."""
        if allowed_special is _NONE_ALLOWED:
            opts = (self._refuse if disallowed_special == "all" else
                    _PLAIN if disallowed_special == () else None)
        else:
            opts = _ALLOW if allowed_special == "all" and disallowed_special == "all" else None
        if opts is not None:
            b = text.encode("utf-8", "surrogatepass") if type(text) is str else _text(text)
            ids = self._run(b, opts)
            if ids is not None:
                return ids
        return self._encode_general(text, allowed_special, disallowed_special)

    def _str(self, b: bytes) -> str:
        """UTF-8 text given as bytes, as str; invalid UTF-8 raises the
        library's Utf8Error (with its byte offset), as str text does."""
        try:
            return b.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            self._encode(b, ffi.TKN_SPECIAL_PLAIN)  # raises
            raise

    def _encode_general(self, text: Text, allowed_special: Any,
                        disallowed_special: Any) -> List[int]:
        """encode() of any arguments: the Python-side special-token rules
        around the checked C call."""
        allowed = self.special_tokens_set if allowed_special == "all" else \
            frozenset(allowed_special)
        if disallowed_special == "all":
            disallowed = self.special_tokens_set - allowed
        else:
            disallowed = frozenset(disallowed_special)
        b = _text(text)
        if disallowed and self._special_re is not None:
            s = text if isinstance(text, str) else self._str(b)
            for m in self._special_re.finditer(s):
                if m.group() in disallowed:
                    raise ValueError(
                        "Encountered text corresponding to disallowed special token %r.\n"
                        "Pass it to allowed_special to encode it as a special token, or to "
                        "disallowed_special (or use encode_ordinary) to encode it as text."
                        % m.group())
        if not allowed or self._special_re is None:
            return self._encode(b, ffi.TKN_SPECIAL_PLAIN)
        if allowed >= self.special_tokens_set:
            return self._encode(b, ffi.TKN_SPECIAL_ALLOW)
        # some specials allowed: split at them, as tiktoken does before its regex
        s = text if isinstance(text, str) else self._str(b)
        out: List[int] = []
        pos = 0
        for m in self._special_re.finditer(s):
            if m.group() not in allowed:
                continue
            out += self._encode(_text(s[pos:m.start()]), ffi.TKN_SPECIAL_PLAIN)
            out.append(self._special[m.group()])
            pos = m.end()
        out += self._encode(_text(s[pos:]), ffi.TKN_SPECIAL_PLAIN)
        return out

    def encode_batch(self, text: Sequence[str], *, num_threads: int = 8,
                     allowed_special: AllowedSpecial = _NONE_ALLOWED,
                     disallowed_special: DisallowedSpecial = "all") -> List[List[int]]:
        """encode() of each text, on up to num_threads threads (the C calls
        release the GIL)."""
        def one(t: str) -> List[int]:
            return self.encode(t, allowed_special=allowed_special,
                               disallowed_special=disallowed_special)
        if num_threads <= 1 or len(text) < 2:
            return [one(t) for t in text]
        with ThreadPoolExecutor(num_threads) as ex:
            return list(ex.map(one, text))

    def encode_ordinary_batch(self, text: Sequence[str], *, num_threads: int = 8
                              ) -> List[List[int]]:
        """encode_ordinary over many texts (as tiktoken's)."""
        return self.encode_batch(text, num_threads=num_threads, disallowed_special=())

    def decode_bytes(self, tokens: Sequence[int]) -> bytes:
        """The bytes of the ids (they may split a UTF-8 sequence)."""
        arr = id_array(tokens, "decode: token id")
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_tokenizer_decode(self._own, arr, len(arr), ctypes.byref(out),
                                       ctypes.byref(n)))
        try:
            return ctypes.string_at(out.value or 0, n.value) if n.value else b""
        finally:
            lib.tkn_free(out)

    def decode(self, tokens: Sequence[int], errors: str = "replace") -> str:
        """The text of the ids; errors as bytes.decode (tiktoken's default: replace)."""
        return self.decode_bytes(tokens).decode("utf-8", errors=errors)

    def decode_single_token_bytes(self, token: int) -> bytes:
        """The bytes of one token id (as tiktoken's); KeyError for an unknown id."""
        return self.decode_bytes([token])

    def count(self, text: str, *, allowed_special: AllowedSpecial = _NONE_ALLOWED,
              disallowed_special: DisallowedSpecial = "all") -> int:
        """len(encode(text, ...)), without making the list."""
        if allowed_special is _NONE_ALLOWED:
            opts = (self._refuse if disallowed_special == "all" else
                    _PLAIN if disallowed_special == () else None)
        else:
            opts = _ALLOW if allowed_special == "all" and disallowed_special == "all" else None
        if opts is not None:
            b = text.encode("utf-8", "surrogatepass") if type(text) is str else _text(text)
            n = self._count(b, opts)
            if n >= 0:
                return n
        return len(self._encode_general(text, allowed_special, disallowed_special))

    @property
    def tokenizer(self) -> Tokenizer:
        """The underlying tokenomy.Tokenizer (for count_conv, Pruner, Agent...)."""
        return self._tok


def _text(t: Text) -> bytes:
    b = _enc(t)
    if b is None:
        raise TypeError("expected str, got None")
    return b


_cache: Dict[str, Encoding] = {}


def get_encoding(encoding_name: str) -> Encoding:
    """The Encoding by name (one instance per name, as tiktoken caches them);
    ValueError for an encoding tokenomy does not have."""
    e = _cache.get(encoding_name)
    if e is None:
        if encoding_name not in ("cl100k_base", "o200k_base"):
            raise ValueError("Unknown encoding %r (tokenomy has cl100k_base and o200k_base)"
                             % encoding_name)
        e = _cache.setdefault(encoding_name, Encoding(encoding_name))
    return e


def encoding_for_model(model_name: str) -> Encoding:
    """The Encoding a model uses, as tiktoken.encoding_for_model (KeyError
    for a model tokenomy cannot map; encoding_name_for_model gives the name)."""
    name = encoding_name_for_model(model_name)
    if name is None:
        raise KeyError("Could not automatically map %r to a tokeniser. Please use "
                       "tokenomy.get_encoding to explicitly get the tokeniser you expect."
                       % model_name)
    return get_encoding(name)


def list_encoding_names() -> List[str]:
    """The encodings tokenomy has (as tiktoken.list_encoding_names)."""
    return ["cl100k_base", "o200k_base"]


__all__ = ["Encoding", "get_encoding", "encoding_for_model", "encoding_name_for_model",
           "list_encoding_names"]
