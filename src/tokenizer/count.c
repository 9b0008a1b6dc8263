/* Counting messages and conversations as the provider bills them: the text
 * the model reads plus the per-message overhead, each message's count cached
 * inside the conversation under (tokenizer id, options). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "conv/conv_count.h"
#include "tokenizer_internal.h"

/* The conversation is read through its public accessors and its count cache
 * through conv_count.h: nothing here depends on how conv lays out a message.
 * A failure goes to tkn_error_last(), not onto the conversation. */
static int fail(tkn_conv *conv, int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
static int fail(tkn_conv *conv, int status, const char *fmt, ...) {
  (void)conv;
  va_list ap;
  va_start(ap, fmt);
  tki_vfail(status, fmt, ap);
  va_end(ap);
  return status;
}

static int add_text(const tkn_tokenizer *tok, tkn_conv *conv, size_t i, const char *what,
                    const char *text, size_t len, int64_t *total) {
  (void)conv;
  int64_t n = 0;
  unsigned long seq = tki_error_seq();
  int rc = tok->vt->count(tok, text ? text : "", len, &n);
  if (rc == TKN_ERR_CALLBACK)
    return fail(conv, rc, "count: messages[%zu].%s: the tokenizer callback failed", i, what);
  if (rc) {
    /* The tokenizer's own record (a special token's byte offset, an invalid
     * byte) is kept, with the message's place put before it. */
    if (tki_error_seq() == seq || tki_error_status() != rc) {
      if (rc == TKN_ERR_UTF8)
        return fail(conv, rc, "count: messages[%zu].%s: invalid UTF-8", i, what);
      return fail(conv, rc, "count: messages[%zu].%s: %s", i, what, tkn_strerror(rc));
    }
    char path[96];
    snprintf(path, sizeof path, "$.messages[%zu].%s", i, what);
    tki_fail_prefix("count: messages[%zu].%s: ", i, what);
    tki_fail_where(-1, path);
    return rc;
  }
  if (tki_add_i64(*total, n, total))
    return fail(conv, TKN_ERR_OVERFLOW, "count: messages[%zu]: count overflows", i);
  return TKN_OK;
}

static int add_n(tkn_conv *conv, size_t i, int64_t n, int64_t *total) {
  (void)conv;
  if (tki_add_i64(*total, n, total))
    return fail(conv, TKN_ERR_OVERFLOW, "count: messages[%zu]: count overflows", i);
  return TKN_OK;
}

static int check_opts(const tkn_count_options *o, tkn_conv *conv) {
  (void)conv;
  if (o->version != TKN_COUNT_OPTIONS_VERSION)
    return fail(conv, TKN_ERR_VERSION, "count: options version %u is not %u",
                (unsigned)o->version, (unsigned)TKN_COUNT_OPTIONS_VERSION);
  if (o->per_message < 0 || o->per_name < 0 || o->reply_priming < 0 || o->per_tool_call < 0)
    return fail(conv, TKN_ERR_INVALID, "count: negative overhead in the options");
  return TKN_OK;
}

static int count_msg(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                     const tkn_count_options *o, int64_t *out) {
  const int32_t key[4] = {o->per_message, o->per_name, o->reply_priming, o->per_tool_call};
  if (tki_conv_count_get(conv, i, tok->id, key, out)) return TKN_OK;
  int64_t total = o->per_message;
  const char *role = tkn_role_name(tkn_conv_role(conv, i));
  int rc = add_text(tok, conv, i, "role", role, strlen(role), &total);
  if (rc) return rc;
  const char *text, *name, *tcid;
  size_t len, name_len, tcid_len;
  if (tkn_conv_text(conv, i, &text, &len))
    return fail(conv, TKN_ERR_NOMEM, "count: out of memory");
  if ((rc = add_text(tok, conv, i, "content", text, len, &total))) return rc;
  tkn_conv_name(conv, i, &name, &name_len);
  if (name) {
    if ((rc = add_text(tok, conv, i, "name", name, name_len, &total))) return rc;
    if ((rc = add_n(conv, i, o->per_name, &total))) return rc;
  }
  size_t ncalls = tkn_conv_tool_call_count(conv, i);
  for (size_t j = 0; j < ncalls; j++) {
    const char *fn, *args;
    size_t fn_len, args_len;
    tkn_conv_tool_call(conv, i, j, NULL, NULL, &fn, &fn_len, &args, &args_len);
    if ((rc = add_text(tok, conv, i, "tool_calls.function.name", fn, fn_len, &total))) return rc;
    if ((rc = add_text(tok, conv, i, "tool_calls.function.arguments", args, args_len, &total)))
      return rc;
    if ((rc = add_n(conv, i, o->per_tool_call, &total))) return rc;
  }
  tkn_conv_tool_call_id(conv, i, &tcid, &tcid_len);
  if (tcid && (rc = add_text(tok, conv, i, "tool_call_id", tcid, tcid_len, &total))) return rc;
  tki_conv_count_put(conv, i, tok->id, key, total);
  *out = total;
  return TKN_OK;
}

int tkn_tokenizer_count_message(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                                const tkn_count_options *opts, int64_t *out) {
  if (!tok || !conv || !out)
    return tki_fail_null("tkn_tokenizer_count_message", !tok ? "tok" : !conv ? "conv" : "out");
  tkn_count_options defaults = TKN_COUNT_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  int rc = check_opts(opts, conv);
  if (rc) return rc;
  size_t n = tkn_conv_count(conv);
  if (i >= n) return fail(conv, TKN_ERR_INVALID, "count: no message %zu (%zu messages)", i, n);
  return count_msg(tok, conv, i, opts, out);
}

int tkn_tokenizer_count_conv(const tkn_tokenizer *tok, tkn_conv *conv,
                             const tkn_count_options *opts, int64_t *total,
                             int64_t *per_message) {
  if (!tok || !conv || !total)
    return tki_fail_null("tkn_tokenizer_count_conv", !tok ? "tok" : !conv ? "conv" : "total");
  tkn_count_options defaults = TKN_COUNT_OPTIONS_INIT;
  if (!opts) opts = &defaults;
  int rc = check_opts(opts, conv);
  if (rc) return rc;
  size_t nmsg = tkn_conv_count(conv);
  int64_t sum = nmsg ? opts->reply_priming : 0;
  for (size_t i = 0; i < nmsg; i++) {
    int64_t n;
    if ((rc = count_msg(tok, conv, i, opts, &n))) return rc;
    if (per_message) per_message[i] = n;
    if (tki_add_i64(sum, n, &sum))
      return fail(conv, TKN_ERR_OVERFLOW, "count: the total overflows");
  }
  *total = sum;
  return TKN_OK;
}
