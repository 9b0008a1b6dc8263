/* The turn's tool selection (agent options version 2): which tools of the
 * host's catalogue a turn sends, chosen for its last user message. */
#include <string.h>

#include "agent_internal.h"

/* The text of the conversation's last user message ("" without one). */
static int last_user_text(tkn_conv *conv, const char **text, size_t *len) {
  *text = "";
  *len = 0;
  for (size_t i = tkn_conv_count(conv); i-- > 0;)
    if (tkn_conv_role(conv, i) == TKN_ROLE_USER) return tkn_conv_text(conv, i, text, len);
  return TKN_OK;
}

int tki_agent_tools_select(const tkn_agent *a, tkn_conv *conv, uint32_t **sel, size_t *n) {
  *sel = NULL;
  *n = 0;
  const tkn_toolsel *cat = a->o.toolsel;
  const char *q = NULL;
  size_t ql = 0;
  int rc = last_user_text(conv, &q, &ql);
  if (rc) return tki_fail(rc, "cannot read the last user message: %s", tki_error_message());
  size_t count = tkn_toolsel_count(cat);
  size_t k = a->o.toolsel_k < count ? a->o.toolsel_k : count;
  size_t cap = k + a->o.toolsel_always_n;
  if (cap) {
    *sel = tki_calloc(cap, sizeof **sel);
    if (!*sel) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  rc = tkn_toolsel_select(cat, q, ql, a->o.toolsel_k, a->o.toolsel_always,
                          a->o.toolsel_always_n, *sel, cap, n);
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
