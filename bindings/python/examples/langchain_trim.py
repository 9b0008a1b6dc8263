"""A LangChain chain whose history is trimmed by tokenomy to a token limit
before it reaches the model (a fake chat model here, so it runs offline).

    python langchain_trim.py
"""
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder
from langchain_core.runnables import RunnableLambda

from tokenomy.integrations.langchain import message_trimmer

history = []
for i in range(20):
    history.append(("human", "Question %d: what is the baggage allowance on flight %d?"
                    % (i, 100 + i)))
    history.append(("ai", "Flight %d allows two checked bags of 23 kg each." % (100 + i)))

prompt = ChatPromptTemplate.from_messages([
    ("system", "You are an airline agent. Be brief."),
    MessagesPlaceholder("history"),
    ("human", "{question}"),
])
trimmer = message_trimmer(max_tokens=120, token_counter="gpt-4o", include_system=True,
                          start_on="human")
sent = []


def seen(messages):
    sent.append(messages)
    return messages


chain = prompt | trimmer | RunnableLambda(seen) | FakeListChatModel(responses=["Two bags."])
reply = chain.invoke({"history": history, "question": "And on flight 120?"})
print("prompt: %d messages; sent to the model: %d, starting with %s then %s" % (
    len(history) + 2, len(sent[0]), sent[0][0].type, sent[0][1].type))
print("reply:", reply.content)
