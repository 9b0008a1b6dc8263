/* Counting messages and conversations as the provider bills them: the text
 * the model reads plus the per-message overhead, each message's count cached
 * inside the conversation under (tokenizer id, options). */
#include <string.h>

#include "conv/conv_internal.h"
#include "tokenizer_internal.h"

static int add_text(const tkn_tokenizer *tok, tkn_conv *conv, size_t i, const char *what,
                    const char *text, size_t len, int64_t *total) {
  int64_t n = 0;
  int rc = tok->vt->count(tok, text ? text : "", len, &n);
  if (rc == TKN_ERR_UTF8)
    return tki_err(conv->err, rc, "count: messages[%zu].%s: invalid UTF-8", i, what);
  if (rc == TKN_ERR_CALLBACK)
    return tki_err(conv->err, rc, "count: messages[%zu].%s: the tokenizer callback failed", i,
                   what);
  if (rc) return tki_err(conv->err, rc, "count: messages[%zu].%s: %s", i, what, tkn_strerror(rc));
  if (tki_add_i64(*total, n, total))
    return tki_err(conv->err, TKN_ERR_OVERFLOW, "count: messages[%zu]: count overflows", i);
  return TKN_OK;
}

static int add_n(tkn_conv *conv, size_t i, int64_t n, int64_t *total) {
  if (tki_add_i64(*total, n, total))
    return tki_err(conv->err, TKN_ERR_OVERFLOW, "count: messages[%zu]: count overflows", i);
  return TKN_OK;
}

static int check_opts(const tkn_count_options *o, tkn_conv *conv) {
  if (o->version != TKN_COUNT_OPTIONS_VERSION)
    return tki_err(conv->err, TKN_ERR_VERSION, "count: options version %u is not %u",
                   (unsigned)o->version, (unsigned)TKN_COUNT_OPTIONS_VERSION);
  if (o->per_message < 0 || o->per_name < 0 || o->reply_priming < 0 || o->per_tool_call < 0)
    return tki_err(conv->err, TKN_ERR_INVALID, "count: negative overhead in the options");
  return TKN_OK;
}

static int count_msg(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                     const tkn_count_options *o, int64_t *out) {
  tki_msg *m = &conv->msgs[i];
  const int32_t key[4] = {o->per_message, o->per_name, o->reply_priming, o->per_tool_call};
  if (m->cache_ok && m->cache_tok == tok->id && memcmp(m->cache_opts, key, sizeof key) == 0) {
    *out = m->cache_val;
    return TKN_OK;
  }
  int64_t total = o->per_message;
  const char *role = tkn_role_name(m->role);
  int rc = add_text(tok, conv, i, "role", role, strlen(role), &total);
  if (rc) return rc;
  const char *text;
  size_t len;
  if (tki_msg_text(m, &text, &len)) return tki_err(conv->err, TKN_ERR_NOMEM, "count: out of memory");
  if ((rc = add_text(tok, conv, i, "content", text, len, &total))) return rc;
  if (m->name) {
    if ((rc = add_text(tok, conv, i, "name", m->name, m->name_len, &total))) return rc;
    if ((rc = add_n(conv, i, o->per_name, &total))) return rc;
  }
  for (size_t j = 0; j < m->ncalls; j++) {
    const tki_call *c = &m->calls[j];
    if ((rc = add_text(tok, conv, i, "tool_calls.function.name", c->name, c->name_len, &total)))
      return rc;
    if ((rc = add_text(tok, conv, i, "tool_calls.function.arguments", c->args, c->args_len,
                       &total)))
      return rc;
    if ((rc = add_n(conv, i, o->per_tool_call, &total))) return rc;
  }
  if (m->tcid && (rc = add_text(tok, conv, i, "tool_call_id", m->tcid, m->tcid_len, &total)))
    return rc;
  m->cache_ok = 1;
  m->cache_tok = tok->id;
  memcpy(m->cache_opts, key, sizeof key);
  m->cache_val = total;
  *out = total;
  return TKN_OK;
}

int tkn_tokenizer_count_message(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                                const tkn_count_options *opts, int64_t *out) {
  if (!tok || !conv || !out) return TKN_ERR_INVALID;
  tkn_count_options defaults = TKN_COUNT_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  int rc = check_opts(opts, conv);
  if (rc) return rc;
  if (i >= conv->n)
    return tki_err(conv->err, TKN_ERR_INVALID, "count: no message %zu (%zu messages)", i,
                   conv->n);
  return count_msg(tok, conv, i, opts, out);
}

int tkn_tokenizer_count_conv(const tkn_tokenizer *tok, tkn_conv *conv,
                             const tkn_count_options *opts, int64_t *total,
                             int64_t *per_message) {
  if (!tok || !conv || !total) return TKN_ERR_INVALID;
  tkn_count_options defaults = TKN_COUNT_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  int rc = check_opts(opts, conv);
  if (rc) return rc;
  int64_t sum = conv->n ? opts->reply_priming : 0;
  for (size_t i = 0; i < conv->n; i++) {
    int64_t n;
    if ((rc = count_msg(tok, conv, i, opts, &n))) return rc;
    if (per_message) per_message[i] = n;
    if (tki_add_i64(sum, n, &sum))
      return tki_err(conv->err, TKN_ERR_OVERFLOW, "count: the total overflows");
  }
  *total = sum;
  return TKN_OK;
}
