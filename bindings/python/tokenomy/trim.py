"""langchain-core-shaped trim_messages.

    tokenomy.trim_messages(messages, max_tokens=2000, token_counter="gpt-4o",
                           strategy="last", include_system=True, start_on="human")

The same parameters and results as langchain_core.messages.trim_messages
(strategy "first"/"last", include_system, allow_partial, start_on, end_on,
text_splitter), on OpenAI-style message dicts or on LangChain message objects
(whichever it is given, it returns: the same objects, in order; a message cut
by allow_partial is a copy).  token_counter is what langchain takes (a
function of a list of messages, or of one message, or an object with
get_num_tokens_from_messages), or, where tokenomy counts natively, a model
name ("gpt-4o"), a tokenomy Encoding or a Tokenizer: every message is then
counted once, in one C call with OpenAI's per-message overheads
(tkn_tokenizer_count_conv), and the longest fitting run is found from the
running sums instead of recounting lists.

Called without messages it returns a trimmer to use later: a LangChain
Runnable (RunnableLambda) when langchain-core is installed, so it composes in
a chain (`prompt | trimmer | llm`), else a plain function of the messages.
"""
from __future__ import annotations

import copy
import functools
import inspect
from bisect import bisect_right
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union, cast

from .conv import Tokenizer, encoding_name_for_model

#: what start_on / end_on take: a type name ("human", "ai", "system", "tool",
#: or the OpenAI role "user", "assistant"...), a message class, or a list of them
TypeSpec = Union[str, type, Sequence[Union[str, type]]]

# OpenAI roles and LangChain message types, both ways
_LC_TYPE = {"user": "human", "assistant": "ai", "system": "system", "developer": "system",
            "tool": "tool", "function": "function"}
_ROLE = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool",
         "function": "function"}


def _is_dict(m: Any) -> bool:
    return isinstance(m, dict)


def _type_names(m: Any) -> Tuple[str, str]:
    """(LangChain type, OpenAI role) of a message dict or object."""
    if _is_dict(m):
        role = str(m.get("role") or "")
        return _LC_TYPE.get(role, role), role
    t = str(getattr(m, "type", "") or "")
    if t == "chat":
        role = str(getattr(m, "role", "") or "")
        return t, role
    return t, _ROLE.get(t, t)


def _is_type(m: Any, spec: TypeSpec) -> bool:
    types = [spec] if isinstance(spec, (str, type)) else list(spec)
    names = _type_names(m)
    for t in types:
        if isinstance(t, str) and t in names:
            return True
        if isinstance(t, type) and isinstance(m, t):
            return True
    return False


def _is_system(m: Any) -> bool:
    lc, role = _type_names(m)
    return lc == "system" or role in ("system", "developer")


def _content(m: Any) -> Any:
    return m.get("content") if _is_dict(m) else getattr(m, "content", None)


def _with_content(m: Any, content: Any) -> Any:
    """A deep copy of m (dict or message object) with another content."""
    if _is_dict(m):
        out = copy.deepcopy(m)
        out["content"] = content
        return out
    out = m.model_copy(deep=True) if hasattr(m, "model_copy") else copy.deepcopy(m)
    out.content = content
    return out


def _default_text_splitter(text: str) -> List[str]:
    splits = text.split("\n")
    return [s + "\n" for s in splits[:-1]] + splits[-1:]


def _openai_dict(m: Any) -> Dict[str, Any]:
    """A message (dict, or LangChain object) as an OpenAI chat message dict."""
    if _is_dict(m):
        return cast(Dict[str, Any], m)
    lc, role = _type_names(m)
    content = getattr(m, "content", "")
    if isinstance(content, list):
        parts: List[Any] = []
        for b in content:
            if isinstance(b, str):
                parts.append({"type": "text", "text": b})
            elif isinstance(b, dict) and b.get("type") in ("text", "image_url"):
                parts.append({k: v for k, v in b.items() if k in ("type", "text", "image_url")})
        content = parts
    out: Dict[str, Any] = {"role": role, "content": content}
    name = getattr(m, "name", None)
    if name:
        out["name"] = name
    calls = getattr(m, "tool_calls", None)
    if lc == "ai" and calls:
        import json
        out["tool_calls"] = [{"id": c.get("id") or "", "type": "function",
                              "function": {"name": c.get("name") or "",
                                           "arguments": json.dumps(c.get("args") or {})}}
                             for c in calls]
    if lc == "tool":
        out["tool_call_id"] = getattr(m, "tool_call_id", "") or ""
    return out


class _NativeCounter:
    """Counts lists of messages as tkn_tokenizer_count_conv does (OpenAI's
    overheads, 3 to prime the reply), each original message once."""

    def __init__(self, tok: Tokenizer, messages: Sequence[Any]) -> None:
        self.tok = tok
        self.per: Dict[int, int] = {}
        if messages:
            _, per = tok.count_conv([_openai_dict(m) for m in messages],  # type: ignore[misc]
                                    with_messages=True)
            self.per = {id(m): n for m, n in zip(messages, per)}
        self.keep = list(messages)  # the ids above stay valid while counting

    def one(self, m: Any) -> int:
        n = self.per.get(id(m))
        if n is None:
            _, per = self.tok.count_conv([_openai_dict(m)],  # type: ignore[misc]
                                         with_messages=True)
            n = per[0]
        return n

    def __call__(self, messages: Sequence[Any]) -> int:
        if not messages:
            return 0
        return sum(self.one(m) for m in messages) + 3

    def max_prefix(self, messages: Sequence[Any], max_tokens: int) -> int:
        """The longest prefix whose count is <= max_tokens (what langchain's
        binary search over list counts finds), from running sums."""
        sums, s = [], 3
        for m in messages:
            s += self.one(m)
            sums.append(s)
        return bisect_right(sums, max_tokens)


_tokenizers: Dict[str, Tokenizer] = {}


def _native(counter: Any) -> Optional[Tokenizer]:
    from .encoding import Encoding
    if isinstance(counter, Tokenizer):
        return counter
    if isinstance(counter, Encoding):
        return counter.tokenizer
    if isinstance(counter, str) and counter != "approximate":
        name = encoding_name_for_model(counter)
        if name is None:
            if counter in ("o200k_base", "cl100k_base"):
                name = counter
            else:
                raise ValueError("trim_messages: tokenomy has no encoding for model %r; pass "
                                 "an encoding name, a Tokenizer or a counting function"
                                 % counter)
        tok = _tokenizers.get(name)
        if tok is None:
            tok = _tokenizers.setdefault(name, Tokenizer.encoding(name))
        return tok
    return None


def _list_counter(counter: Any) -> Callable[[List[Any]], int]:
    """langchain's reading of token_counter, for the non-native kinds."""
    if counter == "approximate":
        from langchain_core.messages.utils import count_tokens_approximately
        return count_tokens_approximately  # type: ignore[no-any-return]
    fn = getattr(counter, "get_num_tokens_from_messages", None)
    if fn is not None:
        return fn  # type: ignore[no-any-return]
    if not callable(counter):
        raise TypeError("trim_messages: token_counter must be a model name, an Encoding, a "
                        "Tokenizer, a function or an object with get_num_tokens_from_messages, "
                        "not %s" % type(counter).__name__)
    try:
        first = next(iter(inspect.signature(counter).parameters.values()), None)
    except (TypeError, ValueError):
        first = None
    ann = first.annotation if first is not None else None
    if ann is not None and (getattr(ann, "__name__", None) == "BaseMessage"
                            or ann == "BaseMessage"):
        return lambda msgs: sum(counter(m) for m in msgs)
    return counter  # type: ignore[no-any-return]


def _first_text(content: Any) -> Optional[str]:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        for b in content:
            if isinstance(b, str):
                return b
            if isinstance(b, dict) and b.get("type") == "text":
                return str(b.get("text") or "")
    return None


def _first_max_tokens(messages: List[Any], max_tokens: int, count: Callable[[List[Any]], int],
                      splitter: Callable[[str], List[str]], partial: Optional[str],
                      end_on: Optional[TypeSpec]) -> List[Any]:
    if not messages:
        return messages
    if count(messages) <= max_tokens:
        if end_on:
            while messages and not _is_type(messages[-1], end_on):
                messages.pop()
        return messages
    if isinstance(count, _NativeCounter):
        idx = count.max_prefix(messages, max_tokens)
    else:  # langchain's binary search over list counts, as it is
        left, right = 0, len(messages)
        for _ in range(len(messages).bit_length()):
            if left >= right:
                break
            mid = (left + right + 1) // 2
            if count(messages[:mid]) <= max_tokens:
                left = mid
            else:
                right = mid - 1
        idx = left

    if partial and idx < len(messages):
        included = False
        excluded: Any = None
        content = _content(messages[idx])
        if isinstance(content, list):
            blocks = list(reversed(content)) if partial == "last" else list(content)
            excluded = _with_content(messages[idx], blocks)
            for _ in range(1, len(blocks)):
                blocks = blocks[:-1]
                _set_content(excluded, blocks)
                if count([*messages[:idx], excluded]) <= max_tokens:
                    messages = [*messages[:idx], excluded]
                    idx += 1
                    included = True
                    break
            if included and partial == "last":
                _set_content(excluded, list(reversed(blocks)))
        if not included:
            if excluded is None:
                excluded = _with_content(messages[idx], copy.deepcopy(content))
            text = _first_text(_content(excluded))
            if text:
                splits = splitter(text)
                base = count(messages[:idx])
                if partial == "last":
                    splits = list(reversed(splits))
                left, right = 0, len(splits)
                for _ in range(len(splits).bit_length()):
                    if left >= right:
                        break
                    mid = (left + right + 1) // 2
                    _set_content(excluded, "".join(splits[:mid]))
                    if base + count([excluded]) <= max_tokens:
                        left = mid
                    else:
                        right = mid - 1
                if left > 0:
                    kept = splits[:left]
                    if partial == "last":
                        kept = list(reversed(kept))
                    _set_content(excluded, "".join(kept))
                    messages = [*messages[:idx], excluded]
                    idx += 1
    if end_on:
        while idx > 0 and not _is_type(messages[idx - 1], end_on):
            idx -= 1
    return messages[:idx]


def _set_content(m: Any, content: Any) -> None:
    if _is_dict(m):
        m["content"] = content
    else:
        m.content = content


def _trim(messages: Any, *, max_tokens: int, token_counter: Any, strategy: str = "last",
          allow_partial: bool = False, end_on: Optional[TypeSpec] = None,
          start_on: Optional[TypeSpec] = None, include_system: bool = False,
          text_splitter: Optional[Callable[[str], List[str]]] = None) -> List[Any]:
    if start_on and strategy == "first":
        raise ValueError("start_on parameter is only valid with strategy='last'")
    if include_system and strategy == "first":
        raise ValueError("include_system parameter is only valid with strategy='last'")
    if strategy not in ("first", "last"):
        raise ValueError("Unrecognized strategy=%r. Supported strategies are 'last' and "
                         "'first'." % (strategy,))
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise TypeError("trim_messages: max_tokens must be an int")
    if hasattr(messages, "to_messages"):  # a LangChain PromptValue
        messages = messages.to_messages()
    if isinstance(messages, (str, bytes, dict)) or not hasattr(messages, "__iter__"):
        raise TypeError("trim_messages: messages must be a list of message dicts or "
                        "LangChain messages, not %s" % type(messages).__name__)
    msgs = list(messages)
    for m in msgs:
        if not _is_dict(m) and not (hasattr(m, "type") and hasattr(m, "content")):
            raise TypeError("trim_messages: a message must be a dict or a LangChain message, "
                            "not %s" % type(m).__name__)
    splitter = text_splitter or _default_text_splitter
    if hasattr(splitter, "split_text"):
        splitter = getattr(splitter, "split_text")
    tok = _native(token_counter)
    count: Callable[[List[Any]], int] = (_NativeCounter(tok, msgs) if tok is not None
                                         else _list_counter(token_counter))
    if strategy == "first":
        return _first_max_tokens(msgs, max_tokens, count, splitter,
                                 "first" if allow_partial else None, end_on)
    if not msgs:
        return []
    if end_on:
        while msgs and not _is_type(msgs[-1], end_on):
            msgs.pop()
    system = None
    if include_system and msgs and _is_system(msgs[0]):
        system, msgs = msgs[0], msgs[1:]
    remaining = max_tokens
    if system is not None:
        remaining = max(0, max_tokens - count([system]))
    out = _first_max_tokens(msgs[::-1], remaining, count, splitter,
                            "last" if allow_partial else None, start_on)[::-1]
    return [system, *out] if system is not None else out


def trim_messages(messages: Any = None, *, max_tokens: int, token_counter: Any,
                  strategy: str = "last", allow_partial: bool = False,
                  end_on: Optional[TypeSpec] = None, start_on: Optional[TypeSpec] = None,
                  include_system: bool = False,
                  text_splitter: Optional[Callable[[str], List[str]]] = None) -> Any:
    """Trim messages to at most max_tokens, as langchain_core's trim_messages.

    messages: OpenAI-style message dicts or LangChain messages (or a
    PromptValue); the result is a list of the same objects (a message cut by
    allow_partial is a copy).  token_counter: a model name ("gpt-4o") or a
    tokenomy Encoding / Tokenizer to count natively (OpenAI's overheads: 3 a
    message, 1 a name, tool calls; 3 to prime the reply), or what langchain
    accepts (a function of a list of messages or of one message, an object
    with get_num_tokens_from_messages, "approximate").  strategy "last" keeps
    the newest messages (include_system keeps a leading system message;
    start_on drops leading messages until one of that type), "first" the
    oldest; end_on drops trailing messages until one of that type;
    allow_partial cuts the message at the boundary (text split by
    text_splitter, default on newlines).  Without messages: a trimmer with
    these settings (a LangChain Runnable when langchain-core is installed).
    Raises ValueError for inconsistent options, TypeError for wrong types."""
    kw: Dict[str, Any] = dict(max_tokens=max_tokens, token_counter=token_counter,
                              strategy=strategy, allow_partial=allow_partial, end_on=end_on,
                              start_on=start_on, include_system=include_system,
                              text_splitter=text_splitter)
    if messages is not None:
        return _trim(messages, **kw)
    if strategy == "first" and (start_on or include_system):
        _trim([], **kw)  # the same ValueError now, not at first use
    fn = functools.partial(_trim, **kw)
    try:
        from langchain_core.runnables import RunnableLambda
    except ImportError:
        return fn
    return RunnableLambda(fn, name="trim_messages")


__all__ = ["trim_messages"]
