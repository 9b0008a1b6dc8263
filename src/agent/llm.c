/* The host's model callbacks: the response object the host fills through
 * copying setters, so no pointer the host hands over must outlive its call. */
#include <string.h>

#include "internal.h"
#include "tokenomy/llm.h"

#include "agent_internal.h"

TKI_DEFINE_INIT(tkn_llm_callbacks_init, tkn_llm_callbacks, cb, TKN_LLM_CALLBACKS_VERSION,
                TKN_LLM_CALLBACKS_INIT)

int tkn_llm_response_new(tkn_llm_response **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_llm_response_new: out is NULL");
  *out = tki_calloc(1, sizeof **out);
  if (!*out) return tki_fail(TKN_ERR_NOMEM, "tkn_llm_response_new: out of memory");
  tkn_llm_response_clear(*out);
  return TKN_OK;
}

static void str_free(tki_lstr *s) {
  tki_free(s->s);
  s->s = NULL;
  s->len = 0;
}

void tkn_llm_response_clear(tkn_llm_response *r) {
  if (!r) return;
  str_free(&r->content);
  str_free(&r->tool_calls);
  str_free(&r->finish);
  str_free(&r->usage_json);
  str_free(&r->error_msg);
  tkn_usage u = TKN_USAGE_INIT;
  r->usage = u;
  r->has_usage = 0;
  r->batched = 0;
  r->error = TKN_LLM_FAIL_NONE;
}

void tkn_llm_response_free(tkn_llm_response *r) {
  if (!r) return;
  tkn_llm_response_clear(r);
  tki_free(r);
}

/* The argument checks of a public setter `fn` of a text named `param`. */
static int check_text(const tkn_llm_response *r, const char *s, size_t len, const char *fn,
                      const char *param) {
  if (!r) return tki_fail_null(fn, "resp");
  if (!s && len) return tki_fail(TKN_ERR_INVALID, "%s: %s is NULL with a length", fn, param);
  return TKN_OK;
}

/* Copy [s, s+len) into *dst after the checks every setter shares. */
static int set_str(tkn_llm_response *r, tki_lstr *dst, const char *what, const char *s,
                   size_t len) {
  if (!r) return tki_fail(TKN_ERR_INVALID, "%s: the response is NULL", what);
  if (!s && len) return tki_fail(TKN_ERR_INVALID, "%s: NULL text with length %zu", what, len);
  if (len > TKN_LLM_MAX_FIELD)
    return tki_fail(TKN_ERR_LIMIT, "%s: %zu bytes, more than the %zu allowed", what, len,
                   TKN_LLM_MAX_FIELD);
  size_t bad = 0;
  if (len && !tki_utf8_valid(s, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "%s: invalid UTF-8 at byte %zu", what, bad);
  char *copy = tki_strndup(s ? s : "", len);
  if (!copy) return tki_fail(TKN_ERR_NOMEM, "%s: out of memory", what);
  tki_free(dst->s);
  dst->s = copy;
  dst->len = len;
  return TKN_OK;
}

int tkn_llm_response_set_content(tkn_llm_response *r, const char *s, size_t len) {
  len = tki_len(s, len);
  int rc = check_text(r, s, len, "tkn_llm_response_set_content", "s");
  return rc ? rc : set_str(r, &r->content, "content", s, len);
}

/* The tool calls are written into the conversation as they are, so they are
 * checked here, with the codes every part gives JSON text: TKN_ERR_PARSE for
 * malformed JSON, TKN_ERR_UTF8, TKN_ERR_SCHEMA for JSON that is not an array
 * of objects (one fault, one code; ARCHITECTURE.md). */
int tkn_llm_response_set_tool_calls(tkn_llm_response *r, const char *json, size_t len) {
  len = tki_len(json, len);
  int checked = check_text(r, json, len, "tkn_llm_response_set_tool_calls", "json");
  if (checked) return checked;
  if (json && len && len <= TKN_LLM_MAX_FIELD) {
    cJSON *v = NULL;
    char err[TKI_ERRLEN];
    int rc = tki_json_parse(json, len, TKN_LLM_MAX_FIELD, 64, "tool_calls", &v, err);
    if (rc) return rc;
    int ok = cJSON_IsArray(v);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
      if (!cJSON_IsObject(e)) ok = 0;
    }
    cJSON_Delete(v);
    if (!ok)
      return tki_fail(TKN_ERR_SCHEMA, "tool_calls: expected a JSON array of tool-call "
                                      "objects (OpenAI \"tool_calls\")");
  }
  return set_str(r, r ? &r->tool_calls : NULL, "tool_calls", json, len);
}

int tkn_llm_response_set_finish_reason(tkn_llm_response *r, const char *s, size_t len) {
  len = tki_len(s, len);
  int rc = check_text(r, s, len, "tkn_llm_response_set_finish_reason", "s");
  return rc ? rc : set_str(r, &r->finish, "finish_reason", s, len);
}

int tkn_llm_response_set_usage_json(tkn_llm_response *r, uint32_t format, const char *json,
                                    size_t len) {
  len = tki_len(json, len);
  if (!r) return tki_fail_null("tkn_llm_response_set_usage_json", "resp");
  if (!json) return tki_fail_null("tkn_llm_response_set_usage_json", "json");
  tkn_usage u = TKN_USAGE_INIT;
  int rc = tkn_usage_parse(&u, format, json, len);
  if (rc) return tki_fail_prefix("usage: ");
  tki_lstr keep = {NULL, 0};
  rc = set_str(r, &keep, "usage", json, len);
  if (rc) return rc;
  str_free(&r->usage_json);
  r->usage_json = keep;
  r->usage = u;
  r->has_usage = 1;
  return TKN_OK;
}

int tkn_llm_response_set_usage(tkn_llm_response *r, const tkn_usage *usage) {
  if (!r) return tki_fail_null("tkn_llm_response_set_usage", "resp");
  if (!usage) return tki_fail_null("tkn_llm_response_set_usage", "usage");
  int rc = tkn_usage_check(usage);
  if (rc) return tki_fail(rc, "usage: inconsistent counts (see tkn_usage_check)");
  r->usage = *usage;
  r->has_usage = 1;
  return TKN_OK;
}

int tkn_llm_response_set_batched(tkn_llm_response *r, int32_t batched) {
  if (!r) return tki_fail_null("tkn_llm_response_set_batched", "resp");
  r->batched = batched ? 1 : 0;
  return TKN_OK;
}

int tkn_llm_response_set_error(tkn_llm_response *r, int32_t cls, const char *msg, size_t len) {
  len = tki_len(msg, len);
  if (!r) return tki_fail_null("tkn_llm_response_set_error", "resp");
  if (cls != TKN_LLM_FAIL_NONE && !tkn_llm_fail_name(cls))
    return tki_fail(TKN_ERR_INVALID, "error class %d is not a TKN_LLM_FAIL_ value",
                   (int)cls);
  int rc = set_str(r, &r->error_msg, "error message", msg, msg ? len : 0);
  if (rc) return rc;
  r->error = cls;
  return TKN_OK;
}

static const char *get_str(const tki_lstr *s, size_t *len) {
  if (len) *len = s->s ? s->len : 0;
  return s->s ? s->s : "";
}

const char *tkn_llm_response_content(const tkn_llm_response *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return get_str(&r->content, len);
}

const char *tkn_llm_response_tool_calls(const tkn_llm_response *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return get_str(&r->tool_calls, len);
}

const char *tkn_llm_response_finish_reason(const tkn_llm_response *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return get_str(&r->finish, len);
}

const char *tkn_llm_response_usage_json(const tkn_llm_response *r, size_t *len) {
  if (!r) {
    if (len) *len = 0;
    return "";
  }
  return get_str(&r->usage_json, len);
}

int tkn_llm_response_usage(const tkn_llm_response *r, tkn_usage *out) {
  if (!r || !out) return tki_fail_null("tkn_llm_response_usage", !r ? "resp" : "out");
  if (!r->has_usage) return tki_fail(TKN_ERR_NOT_FOUND, "tkn_llm_response_usage: not found");
  *out = r->usage;
  if (r->batched) out->flags |= TKN_USAGE_BATCH;
  return TKN_OK;
}

int32_t tkn_llm_response_error(const tkn_llm_response *r, const char **msg, size_t *len) {
  if (!r) {
    if (msg) *msg = "";
    if (len) *len = 0;
    return TKN_LLM_FAIL_NONE;
  }
  const char *m = get_str(&r->error_msg, len);
  if (msg) *msg = m;
  return r->error;
}

