/* The conversation handle: lifetime, loading and writing, accessors and the
 * calls that change messages.  Every change builds what it needs first and
 * only then touches the conversation, so a failed call leaves it as it was. */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "conv_count.h"
#include "conv_swap.h"
#include "conv_internal.h"

static const char *const g_role_names[] = {"system", "developer", "user", "assistant", "tool"};
#define NROLES 5

const char *tkn_role_name(int role) {
  return role >= 0 && role < NROLES ? g_role_names[role] : NULL;
}

int tkn_role_from_name(const char *name, size_t len) {
  len = tki_len(name, len);
  if (!name) return -1;
  for (int r = 0; r < NROLES; r++)
    if (strlen(g_role_names[r]) == len && memcmp(g_role_names[r], name, len) == 0) return r;
  return -1;
}

/* ---- messages ---- */

static void part_free(tki_part *p) {
  tki_free(p->type);
  tki_free(p->text);
  cJSON_Delete(p->raw);
}

static void call_free(tki_call *c) {
  tki_free(c->id);
  tki_free(c->name);
  tki_free(c->args);
  cJSON_Delete(c->extra);
  cJSON_Delete(c->fn_extra);
}

void tki_msg_touch(tki_msg *m) {
  m->cache_ok = 0;
  tki_free(m->joined);
  m->joined = NULL;
  m->joined_len = 0;
}

/* ---- for pruning (conv_swap.h) ---- */

/* Handles are numbered from 1; 0 is never a handle's. */
static _Atomic uint64_t conv_serials;
static uint64_t next_serial(void) {
  return atomic_fetch_add_explicit(&conv_serials, 1, memory_order_relaxed) + 1;
}

uint64_t tki_conv_serial(const tkn_conv *conv) { return conv->serial; }

void tki_conv_swap(tkn_conv *a, tkn_conv *b) {
  /* the contents move, each handle keeps its number */
  uint64_t sa = a->serial, sb = b->serial;
  tkn_conv t = *a;
  *a = *b;
  *b = t;
  a->serial = sa;
  b->serial = sb;
}

/* ---- for counting (conv_count.h) ---- */

int tki_conv_count_get(const tkn_conv *conv, size_t i, uint64_t tok_id, const int32_t key[4],
                       int64_t *count) {
  const tki_msg *m = &conv->msgs[i];
  if (!m->cache_ok || m->cache_tok != tok_id ||
      memcmp(m->cache_opts, key, sizeof m->cache_opts) != 0)
    return 0;
  *count = m->cache_val;
  return 1;
}

void tki_conv_count_put(tkn_conv *conv, size_t i, uint64_t tok_id, const int32_t key[4],
                        int64_t count) {
  tki_msg *m = &conv->msgs[i];
  m->cache_ok = 1;
  m->cache_tok = tok_id;
  memcpy(m->cache_opts, key, sizeof m->cache_opts);
  m->cache_val = count;
}

void tki_msg_free(tki_msg *m) {
  tki_free(m->text);
  for (size_t j = 0; j < m->nparts; j++) part_free(&m->parts[j]);
  tki_free(m->parts);
  tki_free(m->joined);
  tki_free(m->name);
  for (size_t j = 0; j < m->ncalls; j++) call_free(&m->calls[j]);
  tki_free(m->calls);
  tki_free(m->tcid);
  tki_free(m->order);
  cJSON_Delete(m->extra);
  cJSON_Delete(m->block_extra);
  memset(m, 0, sizeof *m);
}

int tki_msg_text(tki_msg *m, const char **text, size_t *len) {
  if (m->content == TKI_C_STRING) {
    *text = m->text;
    *len = m->text_len;
    return TKN_OK;
  }
  if (m->content != TKI_C_PARTS) {
    *text = "";
    *len = 0;
    return TKN_OK;
  }
  if (!m->joined) {
    size_t total = 0, ntext = 0;
    for (size_t j = 0; j < m->nparts; j++) {
      if (!m->parts[j].text) continue;
      total += m->parts[j].text_len + (ntext ? 1 : 0);
      ntext++;
    }
    char *s = tki_malloc(total + 1);
    if (!s) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    size_t at = 0;
    ntext = 0;
    for (size_t j = 0; j < m->nparts; j++) {
      if (!m->parts[j].text) continue;
      if (ntext++) s[at++] = '\n';
      memcpy(s + at, m->parts[j].text, m->parts[j].text_len);
      at += m->parts[j].text_len;
    }
    s[at] = '\0';
    m->joined = s;
    m->joined_len = at;
  }
  *text = m->joined;
  *len = m->joined_len;
  return TKN_OK;
}

static int dup_str(char **dst, const char *src, size_t len) {
  *dst = NULL;
  if (!src) return TKN_OK;
  *dst = tki_strndup(src, len);
  return *dst ? TKN_OK : TKN_ERR_NOMEM;
}

static int dup_json(cJSON **dst, const cJSON *src) {
  *dst = NULL;
  if (!src) return TKN_OK;
  *dst = cJSON_Duplicate(src, 1);
  return *dst ? TKN_OK : TKN_ERR_NOMEM;
}

static int msg_clone(tki_msg *d, const tki_msg *s) {
  *d = *s;
  d->text = NULL;
  d->parts = NULL;
  d->nparts = 0;
  d->joined = NULL;
  d->joined_len = 0;
  d->name = NULL;
  d->calls = NULL;
  d->ncalls = 0;
  d->tcid = NULL;
  d->order = NULL;
  d->norder = 0;
  d->extra = NULL;
  d->block_extra = NULL;
  int rc = dup_str(&d->text, s->text, s->text_len);
  if (!rc) rc = dup_str(&d->name, s->name, s->name_len);
  if (!rc) rc = dup_str(&d->tcid, s->tcid, s->tcid_len);
  if (!rc) rc = dup_json(&d->extra, s->extra);
  if (!rc) rc = dup_json(&d->block_extra, s->block_extra);
  if (!rc && s->nparts) {
    d->parts = tki_calloc(s->nparts, sizeof *d->parts);
    if (!d->parts) rc = TKN_ERR_NOMEM;
    for (size_t j = 0; !rc && j < s->nparts; j++) {
      const tki_part *sp = &s->parts[j];
      tki_part *dp = &d->parts[j];
      d->nparts = j + 1;
      dp->fmt = sp->fmt;
      dp->text_len = sp->text_len;
      rc = dup_str(&dp->type, sp->type, strlen(sp->type));
      if (!rc) rc = dup_str(&dp->text, sp->text, sp->text_len);
      if (!rc) rc = dup_json(&dp->raw, sp->raw);
    }
  }
  if (!rc && s->ncalls) {
    d->calls = tki_calloc(s->ncalls, sizeof *d->calls);
    if (!d->calls) rc = TKN_ERR_NOMEM;
    for (size_t j = 0; !rc && j < s->ncalls; j++) {
      const tki_call *sc = &s->calls[j];
      tki_call *dc = &d->calls[j];
      d->ncalls = j + 1;
      *dc = *sc;
      dc->id = dc->name = dc->args = NULL;
      dc->extra = dc->fn_extra = NULL;
      rc = dup_str(&dc->id, sc->id, sc->id_len);
      if (!rc) rc = dup_str(&dc->name, sc->name, sc->name_len);
      if (!rc) rc = dup_str(&dc->args, sc->args, sc->args_len);
      if (!rc) rc = dup_json(&dc->extra, sc->extra);
      if (!rc) rc = dup_json(&dc->fn_extra, sc->fn_extra);
    }
  }
  if (!rc && s->norder) {
    d->order = tki_calloc(s->norder, sizeof *d->order);
    if (!d->order) {
      rc = TKN_ERR_NOMEM;
    } else {
      memcpy(d->order, s->order, s->norder * sizeof *d->order);
      d->norder = s->norder;
    }
  }
  if (rc) tki_msg_free(d);
  return rc;
}

/* ---- lifetime ---- */

int tkn_conv_new(tkn_conv **out) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_conv_new: out is NULL");
  *out = tki_calloc(1, sizeof **out);
  if (!*out) return tki_fail(TKN_ERR_NOMEM, "tkn_conv_new: out of memory");
  (*out)->serial = next_serial();
  return TKN_OK;
}

static void conv_release(tkn_conv *conv) {
  tki_conv_index_free(conv);
  for (size_t i = 0; i < conv->n; i++) tki_msg_free(&conv->msgs[i]);
  tki_free(conv->msgs);
  cJSON_Delete(conv->top_extra);
  conv->msgs = NULL;
  conv->n = conv->cap = 0;
  conv->top_extra = NULL;
}

void tkn_conv_free(tkn_conv *conv) {
  if (!conv) return;
  conv_release(conv);
  tki_free(conv);
}

int tkn_conv_clone(tkn_conv **out, const tkn_conv *conv) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_conv_clone: out is NULL");
  *out = NULL;
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_clone: conv is NULL");
  tkn_conv *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_conv_clone: out of memory");
  c->serial = next_serial();
  c->src_fmt = conv->src_fmt;
  c->top_object = conv->top_object;
  c->top_fmt = conv->top_fmt;
  int rc = dup_json(&c->top_extra, conv->top_extra);
  if (!rc && conv->n) {
    c->msgs = tki_calloc(conv->n, sizeof *c->msgs);
    if (!c->msgs) rc = TKN_ERR_NOMEM;
    else c->cap = conv->n;
    for (size_t i = 0; !rc && i < conv->n; i++) {
      rc = msg_clone(&c->msgs[i], &conv->msgs[i]);
      if (!rc) c->n = i + 1;
    }
  }
  if (rc) {
    tkn_conv_free(c);
    return rc;
  }
  *out = c;
  return TKN_OK;
}

/* The reader names the member at fault first ("messages[3].content: expected
 * a string"): give that place as the error's JSON path too ("$.messages[3].content"). */
static void path_from_message(void) {
  const char *msg = tki_error_message();
  const char *colon = strstr(msg, ": ");
  if (!colon || tkn_error_last()->path[0]) return;
  size_t n = (size_t)(colon - msg);
  if (n == 0 || n > 200 || memchr(msg, ' ', n)) return; /* not a member name */
  if (strncmp(msg, "messages", 8) != 0 && strncmp(msg, "message", 7) != 0 &&
      strncmp(msg, "system", 6) != 0)
    return;
  char path[TKI_PATHLEN];
  snprintf(path, sizeof path, "$.%.*s", (int)n, msg);
  tki_fail_where(-1, path);
}


int tkn_conv_load(tkn_conv *conv, int format, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!conv) return tki_fail_null("tkn_conv_load", "conv");
  if (tki_provider_check(format, 1))
    return tki_fail(tki_provider_check(format, 1), "load: provider %d: %s", (int)format,
                   tki_provider_why(format));
  if (!json && len) return tki_fail(TKN_ERR_INVALID, "load: json is NULL with a length");
  tki_conv_data d;
  memset(&d, 0, sizeof d);
  int rc = tki_conv_read(json ? json : "", len, format, &d, NULL);
  if (rc == TKN_ERR_SCHEMA || rc == TKN_ERR_LIMIT) path_from_message();
  if (rc) {
    tki_conv_data_free(&d);
    return rc;
  }
  conv_release(conv);
  conv->msgs = d.msgs;
  conv->n = d.n;
  conv->cap = d.cap;
  conv->src_fmt = d.fmt;
  conv->top_object = d.top_object;
  conv->top_extra = d.top_extra;
  conv->top_fmt = d.fmt;
  return TKN_OK;
}

int tkn_conv_from_json(tkn_conv **out, int32_t format, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!out) return tki_fail_null("tkn_conv_from_json", "out");
  *out = NULL;
  tkn_conv *c;
  int rc = tkn_conv_new(&c);
  if (rc) return rc;
  rc = tkn_conv_load(c, format, json, len);
  if (rc) {
    tkn_conv_free(c);
    return rc;
  }
  *out = c;
  return TKN_OK;
}

int tkn_conv_to_json(tkn_conv *conv, int format, char **out, size_t *out_len) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_conv_to_json: out is NULL");
  *out = NULL;
  if (out_len) *out_len = 0;
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_to_json: conv is NULL");
  if (tki_provider_check(format, 0))
    return tki_fail(tki_provider_check(format, 0), "to_json: provider %d: %s", (int)format,
                   tki_provider_why(format));
  tki_buf b;
  tki_buf_init(&b);
  int rc = tki_conv_write(conv, format, &b);
  if (rc) {
    tki_buf_free(&b);
    return rc;
  }
  return tki_buf_give(&b, out, out_len, "to_json");
}

int tkn_conv_source_format(const tkn_conv *conv) { return conv ? conv->src_fmt : TKN_PROVIDER_AUTO; }

/* ---- reading messages ---- */

size_t tkn_conv_count(const tkn_conv *conv) { return conv ? conv->n : 0; }

int tkn_conv_role(const tkn_conv *conv, size_t i) {
  return conv && i < conv->n ? conv->msgs[i].role : -1;
}

int tkn_conv_text(tkn_conv *conv, size_t i, const char **text, size_t *len) {
  if (!conv || !text || !len)
    return tki_fail_null("tkn_conv_text", !conv ? "conv" : !text ? "text" : "len");
  if (i >= conv->n)
    return tki_fail(TKN_ERR_INVALID, "text: no message %zu (%zu messages)", i,
                   conv->n);
  int rc = tki_msg_text(&conv->msgs[i], text, len);
  if (rc) return tki_fail(rc, "text: out of memory");
  return TKN_OK;
}

int tkn_conv_has_parts(const tkn_conv *conv, size_t i) {
  return conv && i < conv->n && conv->msgs[i].content == TKI_C_PARTS;
}

size_t tkn_conv_part_count(const tkn_conv *conv, size_t i) {
  return conv && i < conv->n ? conv->msgs[i].nparts : 0;
}

/* An index argument `name` of public function `fn` at or past `n` `what`. */
static int index_past_end(const char *fn, const char *name, size_t at, size_t n,
                          const char *what) {
  return tki_fail(TKN_ERR_INVALID, "%s: index %s = %zu past the end (%zu %s)", fn, name, at, n,
                  what);
}

int tkn_conv_part(const tkn_conv *conv, size_t i, size_t j, const char **type, const char **text,
                  size_t *text_len) {
  if (!conv) return tki_fail_null("tkn_conv_part", "conv");
  if (i >= conv->n) return index_past_end("tkn_conv_part", "i", i, conv->n, "messages");
  if (j >= conv->msgs[i].nparts)
    return index_past_end("tkn_conv_part", "j", j, conv->msgs[i].nparts, "parts");
  const tki_part *p = &conv->msgs[i].parts[j];
  if (type) *type = p->type;
  if (text) *text = p->text;
  if (text_len) *text_len = p->text ? p->text_len : 0;
  return TKN_OK;
}

int tkn_conv_name(const tkn_conv *conv, size_t i, const char **name, size_t *len) {
  if (!conv) return tki_fail_null("tkn_conv_name", "conv");
  if (i >= conv->n) return index_past_end("tkn_conv_name", "i", i, conv->n, "messages");
  if (name) *name = conv->msgs[i].name;
  if (len) *len = conv->msgs[i].name ? conv->msgs[i].name_len : 0;
  return TKN_OK;
}

size_t tkn_conv_tool_call_count(const tkn_conv *conv, size_t i) {
  return conv && i < conv->n ? conv->msgs[i].ncalls : 0;
}

int tkn_conv_tool_call(const tkn_conv *conv, size_t i, size_t j, const char **id, size_t *id_len,
                       const char **fn_name, size_t *fn_name_len, const char **arguments,
                       size_t *arguments_len) {
  if (!conv) return tki_fail_null("tkn_conv_tool_call", "conv");
  if (i >= conv->n) return index_past_end("tkn_conv_tool_call", "i", i, conv->n, "messages");
  if (j >= conv->msgs[i].ncalls)
    return index_past_end("tkn_conv_tool_call", "j", j, conv->msgs[i].ncalls, "tool calls");
  const tki_call *c = &conv->msgs[i].calls[j];
  if (id) *id = c->id;
  if (id_len) *id_len = c->id_len;
  if (fn_name) *fn_name = c->name;
  if (fn_name_len) *fn_name_len = c->name_len;
  if (arguments) *arguments = c->args;
  if (arguments_len) *arguments_len = c->args_len;
  return TKN_OK;
}

int tkn_conv_tool_call_id(const tkn_conv *conv, size_t i, const char **id, size_t *len) {
  if (!conv) return tki_fail_null("tkn_conv_tool_call_id", "conv");
  if (i >= conv->n) return index_past_end("tkn_conv_tool_call_id", "i", i, conv->n, "messages");
  if (id) *id = conv->msgs[i].tcid;
  if (len) *len = conv->msgs[i].tcid ? conv->msgs[i].tcid_len : 0;
  return TKN_OK;
}

int tkn_conv_pinned(const tkn_conv *conv, size_t i) {
  return conv && i < conv->n ? conv->msgs[i].pinned : 0;
}

int tkn_conv_message_to_json(tkn_conv *conv, size_t i, int format, char **out, size_t *out_len) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_conv_message_to_json: out is NULL");
  *out = NULL;
  if (out_len) *out_len = 0;
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_message_to_json: conv is NULL");
  if (tki_provider_check(format, 0))
    return tki_fail(tki_provider_check(format, 0), "message_to_json: provider %d: %s", (int)format,
                   tki_provider_why(format));
  if (i >= conv->n)
    return tki_fail(TKN_ERR_INVALID, "message_to_json: no message %zu (%zu messages)",
                   i, conv->n);
  tki_buf b;
  tki_buf_init(&b);
  int rc = tki_conv_write_message(conv, i, format, &b);
  if (rc) {
    tki_buf_free(&b);
    return rc;
  }
  return tki_buf_give(&b, out, out_len, "message_to_json");
}

int tkn_conv_find_tool_call(const tkn_conv *conv, const char *id, size_t len, size_t *index) {
  len = tki_len(id, len);
  if (!conv || !index) return tki_fail_null("tkn_conv_find_tool_call", !conv ? "conv" : "index");
  if (!id && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_conv_find_tool_call: id is NULL with a length");
  int rc = tki_conv_find_id(conv, id, len, 1, index);
  if (rc == TKN_ERR_NOT_FOUND)
    return tki_fail(rc, "conversation: no tool call with id \"%.*s\"",
                    (int)(len > 64 ? 64 : len), id ? id : "");
  return rc;
}

int tkn_conv_find_tool_result(const tkn_conv *conv, const char *id, size_t len, size_t *index) {
  len = tki_len(id, len);
  if (!conv || !index) return tki_fail_null("tkn_conv_find_tool_result", !conv ? "conv" : "index");
  if (!id && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_conv_find_tool_result: id is NULL with a length");
  int rc = tki_conv_find_id(conv, id, len, 0, index);
  if (rc == TKN_ERR_NOT_FOUND)
    return tki_fail(rc, "conversation: no tool result for id \"%.*s\"",
                    (int)(len > 64 ? 64 : len), id ? id : "");
  return rc;
}

/* ---- changing messages ---- */

int tki_conv_insert_msgs(tkn_conv *conv, size_t i, tki_msg *msgs, size_t k) {
  if (i > conv->n)
    return tki_fail(TKN_ERR_INVALID, "insert: index %zu past the end (%zu messages)",
                   i, conv->n);
  if (k > TKN_CONV_MAX_MESSAGES || conv->n > TKN_CONV_MAX_MESSAGES - k)
    return tki_fail(TKN_ERR_LIMIT,
                   "insert: a conversation holds at most %d messages", TKN_CONV_MAX_MESSAGES);
  void *arr = conv->msgs;
  int rc = tki_grow(&arr, &conv->cap, conv->n + k, sizeof *conv->msgs);
  conv->msgs = arr;
  if (rc) return tki_fail(rc, "insert: out of memory");
  memmove(conv->msgs + i + k, conv->msgs + i, (conv->n - i) * sizeof *conv->msgs);
  memcpy(conv->msgs + i, msgs, k * sizeof *msgs);
  conv->n += k;
  tki_conv_ids_changed(conv);
  return TKN_OK;
}

static int check_utf8(tkn_conv *conv, const char *what, const char *s, size_t len) {
  (void)conv;
  size_t bad;
  if (len && !tki_utf8_valid(s, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "%s: invalid UTF-8 at byte %zu", what, bad);
  return TKN_OK;
}

static int text_msg(tkn_conv *conv, tki_msg *m, int role, const char *text, size_t len) {
  memset(m, 0, sizeof *m);
  if (!tkn_role_name(role)) return tki_fail(TKN_ERR_INVALID, "unknown role %d", role);
  if (!text && len) return tki_fail(TKN_ERR_INVALID, "text: NULL with length %zu", len);
  int rc = check_utf8(conv, "text", text, len);
  if (rc) return rc;
  m->role = role;
  m->fmt = TKN_PROVIDER_AUTO;
  m->content = TKI_C_STRING;
  m->is_error = -1;
  m->text = tki_strndup(text ? text : "", len);
  if (!m->text) return tki_fail(TKN_ERR_NOMEM, "text: out of memory");
  m->text_len = len;
  return TKN_OK;
}

int tkn_conv_append_text(tkn_conv *conv, int role, const char *text, size_t len) {
  len = tki_len(text, len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_append_text: conv is NULL");
  return tkn_conv_insert_text(conv, conv->n, role, text, len);
}

int tkn_conv_insert_text(tkn_conv *conv, size_t i, int role, const char *text, size_t len) {
  len = tki_len(text, len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_insert_text: conv is NULL");
  if (i > conv->n)
    return tki_fail(TKN_ERR_INVALID, "insert: index %zu past the end (%zu messages)",
                   i, conv->n);
  tki_msg m;
  int rc = text_msg(conv, &m, role, text, len);
  if (!rc) rc = tki_conv_insert_msgs(conv, i, &m, 1);
  if (rc) tki_msg_free(&m);
  return rc;
}

static int read_one(tkn_conv *conv, int format, const char *json, size_t len, tki_conv_data *d) {
  (void)conv;
  memset(d, 0, sizeof *d);
  if (tki_provider_check(format, 1))
    return tki_fail(tki_provider_check(format, 1), "provider %d: %s", (int)format,
                   tki_provider_why(format));
  if (!json && len) return tki_fail(TKN_ERR_INVALID, "json is NULL with a length");
  int rc = tki_conv_read_message(json ? json : "", len, format, d, NULL);
  if (rc) tki_conv_data_free(d);
  return rc;
}

int tkn_conv_insert_json(tkn_conv *conv, size_t i, int format, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!conv) return tki_fail_null("tkn_conv_insert_json", "conv");
  if (i > conv->n)
    return tki_fail(TKN_ERR_INVALID, "insert: index %zu past the end (%zu messages)",
                   i, conv->n);
  tki_conv_data d;
  int rc = read_one(conv, format, json, len, &d);
  if (rc) return rc;
  rc = tki_conv_insert_msgs(conv, i, d.msgs, d.n);
  if (rc) {
    tki_conv_data_free(&d);
    return rc;
  }
  tki_free(d.msgs);
  cJSON_Delete(d.top_extra);
  return TKN_OK;
}

int tkn_conv_replace_json(tkn_conv *conv, size_t i, int format, const char *json, size_t len) {
  len = tki_len(json, len);
  if (!conv) return tki_fail_null("tkn_conv_replace_json", "conv");
  if (i >= conv->n)
    return tki_fail(TKN_ERR_INVALID, "replace: no message %zu (%zu messages)", i,
                   conv->n);
  tki_conv_data d;
  int rc = read_one(conv, format, json, len, &d);
  if (rc) return rc;
  /* d.n >= 1: take the old slot for the first message, insert the rest after */
  if (d.n > 1) {
    rc = tki_conv_insert_msgs(conv, i + 1, d.msgs + 1, d.n - 1);
    if (rc) {
      tki_conv_data_free(&d);
      return rc;
    }
  }
  tki_msg_free(&conv->msgs[i]);
  conv->msgs[i] = d.msgs[0];
  tki_conv_ids_changed(conv);
  tki_free(d.msgs);
  cJSON_Delete(d.top_extra);
  return TKN_OK;
}

static tki_msg *msg_at(tkn_conv *conv, size_t i, const char *what) {
  if (i < conv->n) return &conv->msgs[i];
  tki_fail(TKN_ERR_INVALID, "%s: no message %zu (%zu messages)", what, i, conv->n);
  return NULL;
}

static void drop_parts(tki_msg *m) {
  for (size_t j = 0; j < m->nparts; j++) part_free(&m->parts[j]);
  tki_free(m->parts);
  m->parts = NULL;
  m->nparts = 0;
  tki_free(m->order);
  m->order = NULL;
  m->norder = 0;
}

int tkn_conv_set_text(tkn_conv *conv, size_t i, const char *text, size_t len) {
  len = tki_len(text, len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_text: conv is NULL");
  tki_msg *m = msg_at(conv, i, "set_text");
  if (!m) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_text: m is NULL");
  if (!text && len) return tki_fail(TKN_ERR_INVALID, "set_text: NULL text");
  int rc = check_utf8(conv, "set_text", text, len);
  if (rc) return rc;
  char *s = tki_strndup(text ? text : "", len);
  if (!s) return tki_fail(TKN_ERR_NOMEM, "set_text: out of memory");
  drop_parts(m);
  tki_free(m->text);
  m->text = s;
  m->text_len = len;
  m->content = TKI_C_STRING;
  tki_msg_touch(m);
  return TKN_OK;
}

int tkn_conv_set_name(tkn_conv *conv, size_t i, const char *name, size_t len) {
  len = tki_len(name, len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_name: conv is NULL");
  tki_msg *m = msg_at(conv, i, "set_name");
  if (!m) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_name: m is NULL");
  char *s = NULL;
  if (name) {
    int rc = check_utf8(conv, "set_name", name, len);
    if (rc) return rc;
    s = tki_strndup(name, len);
    if (!s) return tki_fail(TKN_ERR_NOMEM, "set_name: out of memory");
  } else if (len) {
    return tki_fail(TKN_ERR_INVALID, "set_name: NULL name with length %zu", len);
  }
  tki_free(m->name);
  m->name = s;
  m->name_len = s ? len : 0;
  tki_msg_touch(m);
  return TKN_OK;
}

int tkn_conv_set_pinned(tkn_conv *conv, size_t i, int pinned) {
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_pinned: conv is NULL");
  tki_msg *m = msg_at(conv, i, "set_pinned");
  if (!m) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_pinned: m is NULL");
  m->pinned = pinned != 0;
  return TKN_OK;
}

int tkn_conv_add_tool_call(tkn_conv *conv, size_t i, const char *id, size_t id_len,
                           const char *fn_name, size_t fn_name_len, const char *arguments,
                           size_t arguments_len) {
  id_len = tki_len(id, id_len);
  fn_name_len = tki_len(fn_name, fn_name_len);
  arguments_len = tki_len(arguments, arguments_len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_add_tool_call: conv is NULL");
  tki_msg *m = msg_at(conv, i, "add_tool_call");
  if (!m) return tki_fail(TKN_ERR_INVALID, "tkn_conv_add_tool_call: m is NULL");
  if (m->role != TKN_ROLE_ASSISTANT)
    return tki_fail(TKN_ERR_STATE,
                   "add_tool_call: message %zu is a %s message, not an assistant message", i,
                   tkn_role_name(m->role));
  if (!id || !id_len) return tki_fail(TKN_ERR_INVALID, "add_tool_call: empty id");
  if (!fn_name || !fn_name_len)
    return tki_fail(TKN_ERR_INVALID, "add_tool_call: empty function name");
  if (!arguments && arguments_len)
    return tki_fail(TKN_ERR_INVALID, "add_tool_call: arguments is NULL with a length");
  int rc = check_utf8(conv, "add_tool_call: id", id, id_len);
  if (!rc) rc = check_utf8(conv, "add_tool_call: function name", fn_name, fn_name_len);
  if (!rc) rc = check_utf8(conv, "add_tool_call: arguments", arguments, arguments_len);
  if (rc) return rc;
  tki_call c;
  memset(&c, 0, sizeof c);
  c.fmt = TKN_PROVIDER_AUTO;
  c.id = tki_strndup(id, id_len);
  c.name = tki_strndup(fn_name, fn_name_len);
  c.args = tki_strndup(arguments ? arguments : "", arguments_len);
  c.id_len = id_len;
  c.name_len = fn_name_len;
  c.args_len = arguments_len;
  size_t cap = m->ncalls;
  void *arr = m->calls;
  if (c.id && c.name && c.args) rc = tki_grow(&arr, &cap, m->ncalls + 1, sizeof c);
  else rc = TKN_ERR_NOMEM;
  if (rc) {
    call_free(&c);
    return tki_fail(rc, "add_tool_call: out of memory");
  }
  m->calls = arr;
  m->calls[m->ncalls++] = c;
  tki_conv_ids_changed(conv);
  /* the Anthropic block order no longer describes the message */
  tki_free(m->order);
  m->order = NULL;
  m->norder = 0;
  tki_msg_touch(m);
  return TKN_OK;
}

int tkn_conv_set_tool_call_id(tkn_conv *conv, size_t i, const char *id, size_t len) {
  len = tki_len(id, len);
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_tool_call_id: conv is NULL");
  tki_msg *m = msg_at(conv, i, "set_tool_call_id");
  if (!m) return tki_fail(TKN_ERR_INVALID, "tkn_conv_set_tool_call_id: m is NULL");
  if (m->role != TKN_ROLE_TOOL)
    return tki_fail(TKN_ERR_STATE,
                   "set_tool_call_id: message %zu is a %s message, not a tool message", i,
                   tkn_role_name(m->role));
  if (!id || !len) return tki_fail(TKN_ERR_INVALID, "set_tool_call_id: empty id");
  int rc = check_utf8(conv, "set_tool_call_id", id, len);
  if (rc) return rc;
  char *s = tki_strndup(id, len);
  if (!s) return tki_fail(TKN_ERR_NOMEM, "set_tool_call_id: out of memory");
  tki_free(m->tcid);
  m->tcid = s;
  m->tcid_len = len;
  tki_conv_ids_changed(conv);
  tki_msg_touch(m);
  return TKN_OK;
}

int tkn_conv_remove(tkn_conv *conv, size_t i) {
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_remove: conv is NULL");
  if (!msg_at(conv, i, "remove")) return TKN_ERR_INVALID; /* recorded */
  tki_msg_free(&conv->msgs[i]);
  memmove(conv->msgs + i, conv->msgs + i + 1, (conv->n - i - 1) * sizeof *conv->msgs);
  conv->n--;
  tki_conv_ids_changed(conv);
  return TKN_OK;
}

int tkn_conv_filter(tkn_conv *conv, const uint8_t *keep, size_t n) {
  if (!conv) return tki_fail(TKN_ERR_INVALID, "tkn_conv_filter: conv is NULL");
  if (n != conv->n || (!keep && n))
    return tki_fail(TKN_ERR_INVALID, "filter: %zu flags for %zu messages", n, conv->n);
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    if (keep[i]) {
      if (w != i) conv->msgs[w] = conv->msgs[i];
      w++;
    } else {
      tki_msg_free(&conv->msgs[i]);
    }
  }
  conv->n = w;
  tki_conv_ids_changed(conv);
  return TKN_OK;
}

void tkn_conv_clear(tkn_conv *conv) {
  if (!conv) return;
  conv_release(conv);
  conv->src_fmt = TKN_PROVIDER_AUTO;
  conv->top_object = 0;
}
