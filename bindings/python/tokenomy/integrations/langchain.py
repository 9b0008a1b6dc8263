"""A LangChain message trimmer: tokenomy.trim_messages as a Runnable.

    from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
    from tokenomy.integrations.langchain import message_trimmer

    chain = prompt | message_trimmer(max_tokens=2000, token_counter="gpt-4o",
                                     include_system=True, start_on="human") | llm

The trimmer takes what langchain_core.messages.trim_messages takes (see
tokenomy.trim_messages) and composes like the Runnable langchain's returns
when it is called without messages: invoke, batch, ainvoke, stream, `|`.
"""
from __future__ import annotations

from typing import Any

from ..trim import trim_messages


def message_trimmer(*, max_tokens: int, token_counter: Any = "gpt-4o",
                    **options: Any) -> Any:
    """A langchain_core Runnable (RunnableLambda) trimming its input messages
    (a list of messages or a PromptValue) to max_tokens; options as
    tokenomy.trim_messages.  Raises ImportError without langchain-core,
    ValueError / TypeError for bad options (now, not at the first call)."""
    from langchain_core.runnables import Runnable
    r = trim_messages(None, max_tokens=max_tokens, token_counter=token_counter, **options)
    if not isinstance(r, Runnable):  # pragma: no cover - langchain imported above
        raise ImportError("langchain-core is needed for a Runnable trimmer")
    return r


__all__ = ["message_trimmer"]
