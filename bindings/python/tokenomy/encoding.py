"""tiktoken's Encoding interface over tokenomy's exact BPE encodings.

    enc = tokenomy.encoding_for_model("gpt-4o")      # or tokenomy.get_encoding("o200k_base")
    ids = enc.encode("hello <|endoftext|>", allowed_special={"<|endoftext|>"})
    enc.decode(ids)

encode, encode_ordinary, encode_batch, decode, decode_bytes, n_vocab,
special_tokens_set, eot_token and the allowed_special / disallowed_special
rules are tiktoken's (tests/test_encoding.py runs tiktoken side by side on a
corpus and counts the agreements).  Nothing is re-implemented: the ids come
from the C library (tkn_tokenizer_encode_alloc).
"""
from __future__ import annotations

import ctypes
import re
from concurrent.futures import ThreadPoolExecutor
from typing import AbstractSet, Collection, Dict, FrozenSet, List, Literal, Sequence, Union

from . import _ffi as ffi
from ._core import Text, check, enc as _enc, id_array, lib
from .conv import Tokenizer, encoding_name_for_model

AllowedSpecial = Union[Literal["all"], AbstractSet[str]]
DisallowedSpecial = Union[Literal["all"], Collection[str]]

# the special tokens tiktoken defines for the encodings tokenomy has; each is
# confirmed against the library (it must encode to one id) when loaded
_SPECIAL_CANDIDATES = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_middle|>", "<|fim_suffix|>",
                       "<|endofprompt|>")


class Encoding:
    """One BPE encoding ("cl100k_base", "o200k_base"), shaped like
    tiktoken.Encoding.  Immutable; any number of threads may share one."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._tok = Tokenizer.encoding(name)
        self._special: Dict[str, int] = {}
        for s in _SPECIAL_CANDIDATES:
            ids = self._encode(s.encode(), ffi.TKN_SPECIAL_ALLOW)
            if len(ids) == 1 and len(self._encode(s.encode(), ffi.TKN_SPECIAL_PLAIN)) > 1:
                self._special[s] = ids[0]
        self._special_re = (re.compile("|".join(re.escape(s) for s in self._special))
                            if self._special else None)

    def __repr__(self) -> str:
        return "<Encoding %r>" % self.name

    # ---- the C calls ----
    def _encode(self, b: bytes, special: int) -> List[int]:
        opts = ffi.tkn_encode_options(ffi.TKN_ENCODE_OPTIONS_VERSION, special)
        ids, n = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_size_t()
        check(lib.tkn_tokenizer_encode_alloc(self._tok, b, len(b), ctypes.byref(opts),
                                             ctypes.byref(ids), ctypes.byref(n)))
        try:
            return ids[:n.value] if n.value else []
        finally:
            lib.tkn_free(ids)

    # ---- tiktoken's interface ----
    @property
    def n_vocab(self) -> int:
        """The number of ids: the largest id + 1 (as tiktoken's n_vocab)."""
        return int(lib.tkn_tokenizer_vocab_size(self._tok))

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
        return self._encode(_text(text), ffi.TKN_SPECIAL_PLAIN)

    def encode(self, text: str, *, allowed_special: AllowedSpecial = frozenset(),
               disallowed_special: DisallowedSpecial = "all") -> List[int]:
        """As tiktoken: text spelling an allowed special token becomes its id;
        one spelling a disallowed one raises ValueError (by default every
        special token not allowed is disallowed); any other is ordinary text."""
        allowed = self.special_tokens_set if allowed_special == "all" else \
            frozenset(allowed_special)
        if disallowed_special == "all":
            disallowed = self.special_tokens_set - allowed
        else:
            disallowed = frozenset(disallowed_special)
        b = _text(text)
        if disallowed and self._special_re is not None:
            s = text if isinstance(text, str) else b.decode("utf-8", "surrogatepass")
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
        s = text if isinstance(text, str) else b.decode("utf-8", "surrogatepass")
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
                     allowed_special: AllowedSpecial = frozenset(),
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
        check(lib.tkn_tokenizer_decode(self._tok, arr, len(arr), ctypes.byref(out),
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

    def count(self, text: str, *, allowed_special: AllowedSpecial = frozenset(),
              disallowed_special: DisallowedSpecial = "all") -> int:
        """len(encode(text, ...))."""
        return len(self.encode(text, allowed_special=allowed_special,
                               disallowed_special=disallowed_special))

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
