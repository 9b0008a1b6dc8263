"""Hooks into agent frameworks, each importing its framework only when used:

- tokenomy.integrations.litellm.TokenomyCallback: a LiteLLM CustomLogger that
  meters every call and enforces a tokenomy Budget (reserve before, commit
  after, release on failure);
- tokenomy.integrations.langchain.message_trimmer: a LangChain Runnable that
  trims a chain's messages as langchain-core's trim_messages does.
"""
