/* The turn's tool selection (agent options version 2): which tools of the
 * host's catalogue a turn sends, chosen for the conversation's last two turns. */
#include <string.h>

#include "agent_internal.h"

/* Append a piece of the query, a space before it. */
static void query_put(tki_buf *q, const char *p, size_t len) {
  if (!len) return;
  if (q->len) tki_buf_putc(q, ' ');
  tki_buf_append(q, p, len);
}

/* The search query: the last two turns, from the user message before the
 * last one on (the whole conversation with fewer), its user and assistant
 * messages' text and the assistant's tool calls (function names and
 * arguments), not the tool results.  Measured on the recorded airline traces
 * (tokenomy replay, tools-3-per-turn against tools-3-recent-per-turn, k=3,
 * one selection per turn as here): the tool the model then called was among
 * those sent in 51.9% of tool-calling calls instead of 33.7% with the last
 * user message alone (14 tools; 42.8% instead of 26.9% with 88 MCP tools
 * added), at -1.9% instead of -7.7% of the cost of sending all 14 tools
 * (-66.1% instead of -67.0% at 102).  A user's answer ("yes, go ahead")
 * rarely names the tool; the agent's question before it often does.  Tool
 * results are left out: their JSON made the query worse.  Over
 * TKN_TOOLSEL_MAX_QUERY bytes, the end is kept. */
static int turn_query(tkn_conv *conv, tki_buf *q) {
  size_t n = tkn_conv_count(conv), from = 0, users = 0;
  for (size_t i = n; i-- > 0 && users < 2;)
    if (tkn_conv_role(conv, i) == TKN_ROLE_USER) from = i, users++;
  for (size_t i = from; i < n; i++) {
    int role = tkn_conv_role(conv, i);
    if (role != TKN_ROLE_USER && role != TKN_ROLE_ASSISTANT) continue;
    const char *t = NULL;
    size_t tl = 0;
    int rc = tkn_conv_text(conv, i, &t, &tl);
    if (rc) return tki_fail(rc, "cannot read message %zu: %s", i, tki_error_message());
    query_put(q, t, tl);
    for (size_t j = 0; role == TKN_ROLE_ASSISTANT && j < tkn_conv_tool_call_count(conv, i); j++) {
      const char *id, *fn, *args;
      size_t il, fl, al;
      rc = tkn_conv_tool_call(conv, i, j, &id, &il, &fn, &fl, &args, &al);
      if (rc) return tki_fail(rc, "cannot read a tool call of message %zu", i);
      query_put(q, fn, fl);
      query_put(q, args, al);
    }
  }
  if (q->failed) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  return TKN_OK;
}

int tki_agent_tools_select(const tkn_agent *a, tkn_conv *conv, uint32_t **sel, size_t *n) {
  *sel = NULL;
  *n = 0;
  const tkn_toolsel *cat = a->o.toolsel;
  tki_buf qb;
  tki_buf_init(&qb);
  int rc = turn_query(conv, &qb);
  if (rc) {
    tki_buf_free(&qb);
    return rc;
  }
  const char *q = qb.data ? qb.data : "";
  size_t ql = qb.len;
  if (ql > TKN_TOOLSEL_MAX_QUERY) { /* the end, from a character boundary */
    size_t cut = ql - TKN_TOOLSEL_MAX_QUERY;
    while (cut < ql && ((unsigned char)q[cut] & 0xC0) == 0x80) cut++;
    q += cut;
    ql -= cut;
  }
  size_t count = tkn_toolsel_count(cat);
  size_t k = a->o.toolsel_k < count ? a->o.toolsel_k : count;
  size_t cap = k + a->o.toolsel_always_n;
  if (cap) {
    *sel = tki_calloc(cap, sizeof **sel);
    if (!*sel) {
      tki_buf_free(&qb);
      return tki_fail(TKN_ERR_NOMEM, "out of memory");
    }
  }
  rc = tkn_toolsel_select(cat, q, ql, a->o.toolsel_k, a->o.toolsel_always,
                          a->o.toolsel_always_n, *sel, cap, n);
  tki_buf_free(&qb);
  if (rc) {
    tki_free(*sel);
    *sel = NULL;
    *n = 0;
    return tki_fail(rc, "%s", tki_error_message());
  }
  return TKN_OK;
}

static uint32_t tools_mode(const tkn_agent *a) {
  return a->o.provider == TKN_PROVIDER_ANTHROPIC ? TKN_TOOLSEL_DEFER_REST
                                                 : TKN_TOOLSEL_ONLY_SELECTED;
}

int tki_agent_tools_add(const tkn_agent *a, tkn_prompt_builder *b, const uint32_t *sel,
                        size_t n) {
  return tkn_toolsel_add_to_builder(b, a->o.toolsel, sel, n, tools_mode(a));
}

void tki_agent_tools_trace(const tkn_agent *a, const uint32_t *sel, size_t n, tki_buf *trace) {
  tki_buf_printf(trace, ",\"catalogue\":%zu,\"k\":%u,\"always\":%zu,\"mode\":\"%s\",\"selected\":[",
                 tkn_toolsel_count(a->o.toolsel), (unsigned)a->o.toolsel_k,
                 a->o.toolsel_always_n,
                 tools_mode(a) == TKN_TOOLSEL_DEFER_REST ? "defer_rest" : "only_selected");
  for (size_t i = 0; i < n; i++) {
    const char *name = NULL;
    size_t len = 0;
    if (i) tki_buf_puts(trace, ",");
    if (tkn_toolsel_tool(a->o.toolsel, sel[i], &name, &len, NULL, NULL) == TKN_OK)
      tki_buf_json_string(trace, name, len);
    else
      tki_buf_puts(trace, "null");
  }
  tki_buf_puts(trace, "]");
}
