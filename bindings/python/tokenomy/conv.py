"""Conversations (conv.h) and token counting (tokenizer.h)."""
from __future__ import annotations

import ctypes
import json as _json
import os
from typing import (Any, Callable, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple,
                    Union)

from . import _ffi as ffi
from ._core import _tls
from ._core import (Handle, Parts, ftype, Text, at, check, dec, enc, id_array, lib, new_handle,
                    options, take, _park)

_c_int64, _byref = ctypes.c_int64, ctypes.byref
_count, _count_conv = lib.tkn_tokenizer_count, lib.tkn_tokenizer_count_conv
# Tokenizer.count's hot path: a function object with no argtypes (ctypes
# converts nothing: the arguments are ctypes objects of the exact C types,
# and bytes), its length and result cells from a pool (pop and append are
# atomic: never shared by two calls, on two threads or re-entered on one)
_count_raw = lib._dll["tkn_tokenizer_count"]
_count_raw.restype = ctypes.c_int


class _CountCells:
    __slots__ = ("len", "out", "out_ref")

    def __init__(self) -> None:
        self.len = ctypes.c_size_t()
        self.out = _c_int64()
        self.out_ref = _byref(self.out)


_count_cells: List[_CountCells] = []
_load = lib.tkn_conv_load

FORMATS = {"auto": ffi.TKN_PROVIDER_AUTO, "openai": ffi.TKN_PROVIDER_OPENAI,
           "anthropic": ffi.TKN_PROVIDER_ANTHROPIC}
Format = Union[str, int]
Role = Union[str, int]
#: a conversation as JSON text or as the provider's list of message dicts
Messages = Union[Text, Sequence[Dict[str, Any]]]


def _json_text(v: Any) -> Text:
    """JSON text as given, or a list/dict serialised."""
    if isinstance(v, (str, bytes, bytearray, memoryview)):
        return v  # type: ignore[return-value]
    if isinstance(v, (list, tuple, dict)):
        return _json.dumps(v, ensure_ascii=False)
    raise TypeError("expected JSON text or a list/dict, got %s" % type(v).__name__)


def _message_text(v: Any) -> Text:
    """One message: JSON text, or a message dict."""
    if isinstance(v, (str, bytes)):
        return v
    if isinstance(v, dict):
        return _json.dumps(v, ensure_ascii=False)
    raise TypeError("expected a message as JSON text or a dict, got %s" % type(v).__name__)


def fmt(f: Format) -> int:
    """A conversation format's code from its name (auto, openai, anthropic) or the code itself."""
    if isinstance(f, int):
        return f
    try:
        return FORMATS[f]
    except KeyError:
        raise ValueError("unknown format %r (auto, openai, anthropic)" % f) from None


def role_code(role: Role) -> int:
    """A role's code from its name (system, user, assistant, tool...) or the code itself."""
    if isinstance(role, int):
        return role
    b = enc(role)
    r = lib.tkn_role_from_name(b, len(b))
    if r < 0:
        raise ValueError("unknown role %r" % role)
    return int(r)


def role_name(code: int) -> Optional[str]:
    """A role's name from its code, or None."""
    return dec(lib.tkn_role_name(code))


class ToolCall:
    """One tool call of an assistant message: id, function name, arguments as JSON text."""
    __slots__ = ("id", "name", "arguments")

    def __init__(self, id: str, name: str, arguments: str) -> None:
        self.id, self.name, self.arguments = id, name, arguments

    def __repr__(self) -> str:
        return "ToolCall(id=%r, name=%r, arguments=%r)" % (self.id, self.name, self.arguments)

    def __eq__(self, o: object) -> bool:
        return isinstance(o, ToolCall) and (o.id, o.name, o.arguments) == (
            self.id, self.name, self.arguments)


class Conversation(Handle):
    """A tkn_conv: one thread at a time (reads included)."""

    _ctype = "tkn_conv"

    _free = "tkn_conv_free"

    def __init__(self, json: Optional[Messages] = None, format: Format = "auto") -> None:
        """json: the provider's messages as JSON text or as a list of dicts
        (OpenAI or Anthropic shape; format "auto" tells them apart)."""
        super().__init__(new_handle(lib.tkn_conv_new))
        if json is not None:
            self.load(json, format)

    @classmethod
    def _wrap(cls, ptr: int) -> "Conversation":
        self = cls.__new__(cls)
        Handle.__init__(self, ptr)
        return self


    def _check(self, st: int) -> None:
        check(st)

    def load(self, json: Messages, format: Format = "auto") -> None:
        """Replace the whole conversation with `json`, text or a list of
        message dicts (one call, whole input)."""
        b = (json.encode("utf-8", "surrogatepass") if type(json) is str
             else enc(_json_text(json)))
        st = _load(self, FORMATS[format] if type(format) is str else format, b, len(b))
        if st:
            self._check(st)

    def to_json(self, format: Format = "openai") -> str:
        """The conversation as JSON text in a provider's format (openai, anthropic)."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_conv_to_json(self, fmt(format), ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)

    def to_list(self, format: Format = "openai") -> List[Dict[str, Any]]:
        """The messages as a list of dicts in the provider's shape."""
        return _json.loads(self.to_json(format))  # type: ignore[no-any-return]

    def __getitem__(self, i: int) -> Dict[str, Any]:
        """Message i as an OpenAI-shaped dict (negative indices count from the end)."""
        return _json.loads(self.message_json(i))  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        for i in range(len(self)):
            yield self[i]

    def __repr__(self) -> str:
        if self.closed:
            return "<tokenomy.Conversation closed>"
        return "<tokenomy.Conversation open, %d messages>" % len(self)

    def clone(self) -> "Conversation":
        """A deep copy, independent of this conversation."""
        return Conversation._wrap(new_handle(lib.tkn_conv_clone, self))

    @property
    def source_format(self) -> str:
        """The format the conversation was loaded from (openai, anthropic, or auto when built by
        hand)."""
        f = lib.tkn_conv_source_format(self)
        return {v: k for k, v in FORMATS.items()}.get(f, str(f))

    def __len__(self) -> int:
        return int(lib.tkn_conv_count(self))

    def _idx(self, i: int) -> int:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("message index %d out of range (%d messages)" % (i, n))
        return i

    def role(self, i: int) -> str:
        """The role of message i (system, user, assistant, tool...)."""
        return role_name(lib.tkn_conv_role(self, self._idx(i))) or ""

    def text(self, i: int) -> str:
        """The text of message i (text parts joined with newlines)."""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_conv_text(self, self._idx(i), ctypes.byref(p), ctypes.byref(n)))
        return at(p.value, n.value)

    def name(self, i: int) -> Optional[str]:
        """The name of message i, or None."""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_conv_name(self, self._idx(i), ctypes.byref(p), ctypes.byref(n)))
        return at(p.value, n.value) if p.value else None

    def has_parts(self, i: int) -> bool:
        """Whether message i holds content parts rather than one string."""
        return bool(lib.tkn_conv_has_parts(self, self._idx(i)))

    def parts(self, i: int) -> List[Tuple[str, Optional[str]]]:
        """The content parts of message i as (type, text or None) pairs."""
        i = self._idx(i)
        out = []
        for j in range(lib.tkn_conv_part_count(self, i)):
            t, x, n = ctypes.c_void_p(), ctypes.c_void_p(), ctypes.c_size_t()
            self._check(lib.tkn_conv_part(self, i, j, ctypes.byref(t), ctypes.byref(x),
                                          ctypes.byref(n)))
            typ = ctypes.string_at(t.value).decode() if t.value else ""
            out.append((typ, at(x.value, n.value) if x.value else None))
        return out

    def tool_calls(self, i: int) -> List[ToolCall]:
        """The tool calls of assistant message i (ToolCall: id, name, arguments JSON)."""
        i = self._idx(i)
        out = []
        for j in range(lib.tkn_conv_tool_call_count(self, i)):
            a = [ctypes.c_void_p() for _ in range(3)]
            n = [ctypes.c_size_t() for _ in range(3)]
            self._check(lib.tkn_conv_tool_call(self, i, j, ctypes.byref(a[0]), ctypes.byref(n[0]),
                                               ctypes.byref(a[1]), ctypes.byref(n[1]),
                                               ctypes.byref(a[2]), ctypes.byref(n[2])))
            out.append(ToolCall(*(at(a[k].value, n[k].value) for k in range(3))))
        return out

    def tool_call_id(self, i: int) -> Optional[str]:
        """The tool-call id tool result i answers, or None."""
        p, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_conv_tool_call_id(self, self._idx(i), ctypes.byref(p),
                                              ctypes.byref(n)))
        return at(p.value, n.value) if p.value else None

    def pinned(self, i: int) -> bool:
        """Whether message i is pinned (pruning keeps it)."""
        return bool(lib.tkn_conv_pinned(self, self._idx(i)))

    def message_json(self, i: int, format: Format = "openai") -> str:
        """Message i alone as JSON text in a provider's format."""
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        self._check(lib.tkn_conv_message_to_json(self, self._idx(i), fmt(format),
                                                 ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)

    def find_tool_call(self, id: Text) -> int:
        """The index of the assistant message holding tool call `id`; NotFoundError if none."""
        b, out = enc(id), ctypes.c_size_t()
        check(lib.tkn_conv_find_tool_call(self, b, len(b), ctypes.byref(out)),
              "no tool call %r" % id)
        return out.value

    def find_tool_result(self, id: Text) -> int:
        """The index of the tool result answering tool call `id`; NotFoundError if none."""
        b, out = enc(id), ctypes.c_size_t()
        check(lib.tkn_conv_find_tool_result(self, b, len(b), ctypes.byref(out)),
              "no tool result for %r" % id)
        return out.value

    # ---- changes ----
    def append(self, role: Role, text: Text) -> None:
        """Append a text message with this role."""
        b = enc(text)
        self._check(lib.tkn_conv_append_text(self, role_code(role), b, len(b)))

    def insert(self, i: int, role: Role, text: Text) -> None:
        """Insert a text message with this role before index i."""
        b = enc(text)
        self._check(lib.tkn_conv_insert_text(self, i, role_code(role), b, len(b)))

    def insert_json(self, i: int, message: Union[Text, Dict[str, Any]],
                    format: Format = "openai") -> None:
        """Insert one message (JSON text or a message dict) before index i."""
        b = enc(_message_text(message))
        self._check(lib.tkn_conv_insert_json(self, i, fmt(format), b, len(b)))

    def append_json(self, message: Union[Text, Dict[str, Any]],
                    format: Format = "openai") -> None:
        """Append one message (JSON text or a message dict)."""
        self.insert_json(len(self), message, format)

    def replace_json(self, i: int, message: Union[Text, Dict[str, Any]],
                     format: Format = "openai") -> None:
        """Replace message i with one message (JSON text or a message dict)."""
        b = enc(_message_text(message))
        self._check(lib.tkn_conv_replace_json(self, self._idx(i), fmt(format), b, len(b)))

    def set_text(self, i: int, text: Text) -> None:
        """Replace the text of message i."""
        b = enc(text)
        self._check(lib.tkn_conv_set_text(self, self._idx(i), b, len(b)))

    def set_name(self, i: int, name: Optional[Text]) -> None:
        """Set (or, with None, remove) the name of message i."""
        b = enc(name)
        self._check(lib.tkn_conv_set_name(self, self._idx(i), b, len(b) if b else 0))

    def set_pinned(self, i: int, pinned: bool = True) -> None:
        """Pin message i (pruning keeps it) or unpin it."""
        self._check(lib.tkn_conv_set_pinned(self, self._idx(i), 1 if pinned else 0))

    def add_tool_call(self, i: int, id: Text, name: Text,
                      arguments: Union[Text, Dict[str, Any]] = "{}") -> None:
        """Add a tool call to assistant message i; arguments as JSON text or a dict."""
        a, b = enc(id), enc(name)
        c = enc(arguments if isinstance(arguments, (str, bytes)) else
                _json.dumps(arguments, ensure_ascii=False))
        self._check(lib.tkn_conv_add_tool_call(self, self._idx(i), a, len(a), b, len(b), c,
                                               len(c)))

    def set_tool_call_id(self, i: int, id: Text) -> None:
        """Set the tool-call id tool result i answers."""
        b = enc(id)
        self._check(lib.tkn_conv_set_tool_call_id(self, self._idx(i), b, len(b)))

    def remove(self, i: int) -> None:
        """Remove message i."""
        self._check(lib.tkn_conv_remove(self, self._idx(i)))

    def filter(self, keep: Sequence[bool]) -> None:
        """Keep message i where keep[i] is true, in one pass."""
        arr = (ctypes.c_uint8 * len(keep))(*(1 if k else 0 for k in keep))
        self._check(lib.tkn_conv_filter(self, arr, len(keep)))

    def clear(self) -> None:
        """Remove every message."""
        lib.tkn_conv_clear(self)


# ---- tokenizers ------------------------------------------------------------

def count_options(per_message: Optional[int] = None, per_name: Optional[int] = None,
                  reply_priming: Optional[int] = None,
                  per_tool_call: Optional[int] = None) -> ffi.tkn_count_options:
    """A tkn_count_options with OpenAI's defaults, any overhead given replaced."""
    return options(ffi.tkn_count_options, "tkn_count_options_init", ffi.TKN_COUNT_OPTIONS_VERSION,
                   per_message=per_message, per_name=per_name, reply_priming=reply_priming,
                   per_tool_call=per_tool_call)


class Tokenizer(Handle):
    """A tkn_tokenizer: immutable, shareable by any number of threads."""

    _ctype = "tkn_tokenizer"

    _free = "tkn_tokenizer_free"

    def __init__(self, *args: Any, **kw: Any) -> None:
        # Tokenizer(12345) read address 12345: a tokenizer only comes from C
        raise TypeError("a Tokenizer comes from Tokenizer.for_model(), .encoding(), "
                        ".estimator(), .load_ranks() or .from_callback()")

    @classmethod
    def estimator(cls, encoding: Optional[str] = None) -> "Tokenizer":
        """The built-in estimator (no data file); calibrated for `encoding`
        ("cl100k_base" or "o200k_base") when given."""
        if encoding is None:
            return cls._adopt(new_handle(lib.tkn_tokenizer_new_estimator))
        b = enc(encoding) or b""
        return cls._adopt(new_handle(lib.tkn_tokenizer_new_estimator_for, b, len(b)))

    @classmethod
    def from_callback(cls, count: Callable[[str], int]) -> "Tokenizer":
        """The host's tokenizer: count(text) -> int, called from the thread
        that counts.  An exception in it fails that count (CallbackError
        status in C) and is raised again to the caller."""

        def tramp(text: int, n: int, out: Any, user: Any) -> int:
            try:
                v = int(count(at(text, n)))
                if v < 0:
                    raise ValueError("tokenizer callback returned %d" % v)
                out[0] = v
                return 0
            except BaseException as e:  # never unwind into C
                _park(e)
                return 1

        cb_type = ftype(ffi.tkn_tokenizer_callbacks, "count")
        cfn = cb_type(tramp)
        cbs = ffi.tkn_tokenizer_callbacks()
        check(lib.tkn_tokenizer_callbacks_init(ctypes.byref(cbs),
                                               ffi.TKN_TOKENIZER_CALLBACKS_VERSION))
        cbs.count = cfn
        ptr = new_handle(lib.tkn_tokenizer_new_callback, ctypes.byref(cbs), None)
        return cls._adopt(ptr, keep=[cfn, count])

    @classmethod
    def encoding(cls, name: str) -> "Tokenizer":
        """An exact BPE encoding (cl100k_base, o200k_base); needs a library
        built with the BPE part."""
        b = enc(name)
        out = ctypes.c_void_p()
        check(lib.tkn_tokenizer_new_encoding(ctypes.byref(out), b, len(b)))
        return cls._adopt(out.value)

    @classmethod
    def for_model(cls, model: str) -> "Tokenizer":
        """The tokenizer a model uses: its exact encoding when tokenomy has it, else the
        estimator."""
        b = enc(model)
        out = ctypes.c_void_p()
        check(lib.tkn_tokenizer_new_for_model(ctypes.byref(out), b, len(b)))
        return cls._adopt(out.value)

    @classmethod
    def load_ranks(cls, flavor: str, path: Optional[str] = None, data: Optional[bytes] = None,
                   special: str = "refuse") -> "Tokenizer":
        """A BPE tokenizer from a tiktoken rank file (path) or its bytes
        (data); neither: the embedded ranks.  flavor: "cl100k_base" or
        "o200k_base" (the pattern and special tokens)."""
        o = options(ffi.tkn_ranks_options, "tkn_ranks_options_init", ffi.TKN_RANKS_OPTIONS_VERSION,
                    flavor={"cl100k_base": ffi.TKN_BPE_CL100K, "o200k_base": ffi.TKN_BPE_O200K}[
                        flavor], special=_special(special))
        if path is not None:
            o.path = os.fsencode(path)
        if data is not None:
            o.data, o.len = bytes(data), len(data)
        out = ctypes.c_void_p()
        check(lib.tkn_tokenizer_load_ranks(ctypes.byref(out), ctypes.byref(o)))
        return cls._adopt(out.value)

    @property
    def name(self) -> str:
        """The tokenizer's name (an encoding name, or the estimator's)."""
        return dec(lib.tkn_tokenizer_name(self)) or ""

    _cp: Optional[ctypes.c_void_p] = None  # the C pointer as ctypes passes it (count)

    def count(self, text: Text) -> int:
        # the hot path: one C call, no helper calls unless something failed
        """Tokens of a text (str or UTF-8 bytes)."""
        b = text.encode("utf-8", "surrogatepass") if type(text) is str else enc(text)
        if b is None:
            raise TypeError("expected str or bytes, got None")
        refs = self._refs  # a reference for the call, as every call holds (Handle)
        refs.append(None)
        try:
            if self._ptr is None:
                raise ValueError("%s is closed" % type(self).__name__)
            cp = self._cp
            if cp is None:
                cp = self._cp = ctypes.c_void_p(self._ptr)
            try:
                c = _count_cells.pop()
            except IndexError:
                c = _CountCells()
            c.len.value = len(b)
            st = _count_raw(cp, b, c.len, c.out_ref)
            n = c.out.value
            _count_cells.append(c)
        finally:
            refs.pop()
            if self._ptr is None and not refs:
                self._destroy()
        if st or _tls.exc is not None:
            check(st)
        return n

    def count_message(self, conv: Conversation, i: int, **overheads: int) -> int:
        """Tokens of message i as the provider counts it (overheads: per_message, per_name,
        per_tool_call)."""
        Parts.checked(conv, Conversation, "count_message()")
        opts = count_options(**overheads) if overheads else None
        out = ctypes.c_int64()
        check(lib.tkn_tokenizer_count_message(self, conv, conv._idx(i),
                                              ctypes.byref(opts) if opts else None,
                                              ctypes.byref(out)))
        return out.value

    def count_conv(self, conv: Union[Conversation, Sequence[Dict[str, Any]]],
                   with_messages: bool = False,
                   **overheads: int) -> Union[int, Tuple[int, List[int]]]:
        """Tokens of the whole conversation (a Conversation, or a list of
        message dicts), in one call; with with_messages, (total, [tokens of
        each message])."""
        if not isinstance(conv, Conversation) and isinstance(conv, (list, tuple)):
            with Conversation(conv) as c:
                return self.count_conv(c, with_messages, **overheads)
        opts = _byref(count_options(**overheads)) if overheads else None
        total = _c_int64()
        arr = (ctypes.c_int64 * len(conv))() if with_messages else None
        st = _count_conv(self, conv, opts, _byref(total), arr)
        if st or _tls.exc is not None:
            check(st)
        if with_messages:
            return total.value, list(arr)  # type: ignore[arg-type]
        return total.value

    # ---- exact encodings (BPE part) ----
    def encode(self, text: Text, special: str = "refuse") -> List[int]:
        """Token ids of a text (exact encodings only); special: refuse, allow or plain."""
        b = enc(text)
        opts = options(ffi.tkn_encode_options, "tkn_encode_options_init",
                       ffi.TKN_ENCODE_OPTIONS_VERSION, special=_special(special))
        ids, n = ctypes.POINTER(ctypes.c_uint32)(), ctypes.c_size_t()
        check(lib.tkn_tokenizer_encode_alloc(self, b, len(b), ctypes.byref(opts),
                                             ctypes.byref(ids), ctypes.byref(n)))
        try:
            return ids[:n.value] if n.value else []
        finally:
            lib.tkn_free(ids)

    def decode(self, ids: Sequence[int]) -> str:
        """The text of token ids (exact encodings only)."""
        arr = id_array(ids, "decode: token id")
        out, n = ctypes.c_void_p(), ctypes.c_size_t()
        check(lib.tkn_tokenizer_decode(self, arr, len(arr), ctypes.byref(out), ctypes.byref(n)))
        return take(out, n.value)

    def count_limit(self, text: Text, limit: int, special: str = "refuse") -> int:
        """Tokens of a text, counting stops once past limit (a cheap 'does it fit' test)."""
        b = enc(text)
        opts = options(ffi.tkn_encode_options, "tkn_encode_options_init",
                       ffi.TKN_ENCODE_OPTIONS_VERSION, special=_special(special))
        out = ctypes.c_int64()
        check(lib.tkn_tokenizer_count_limit(self, b, len(b), limit, ctypes.byref(opts),
                                            ctypes.byref(out)))
        return out.value

    @property
    def vocab_size(self) -> int:
        """The number of token ids (0 for the estimator)."""
        return int(lib.tkn_tokenizer_vocab_size(self))


def _special(s: str) -> int:
    return {"refuse": 0, "allow": 1, "plain": 2}[s]


def encoding_name_for_model(model: str) -> Optional[str]:
    """The name of the encoding a model uses ("o200k_base", "cl100k_base"),
    or None when tokenomy does not know the model."""
    b = enc(model) or b""
    return dec(lib.tkn_tokenizer_encoding_for_model(b, len(b)))
