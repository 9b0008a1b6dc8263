/* The batch result reader: a line splitter over host chunks that keeps at
 * most one partial line, a skim of each line for the few fields it needs, and
 * the join on custom_id with the dead-letter list. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../internal.h"
#include "idset.h"
#include "jscan.h"
#include "tokenomy/batch.h"

typedef struct dl_rec {
  int32_t reason;
  size_t id_off, id_len, detail_off, detail_len; /* into dl_arena */
  uint32_t file;
  uint64_t line;
} dl_rec;

struct tkn_batch_reader {
  tkn_batch_reader_options opts;
  tki_idset ids;
  tki_buf partial;    /* the line being assembled across chunks */
  tki_buf scratch;    /* decoded id and model of the current line */
  dl_rec *dls;
  size_t ndl, dlcap;
  tki_buf dl_arena;
  uint32_t file;      /* current input file */
  uint64_t line;      /* lines started in the current file */
  uint64_t file_off;  /* byte offset in the current file of the next unread byte */
  uint64_t line_off;  /* byte offset of the partial line's start */
  int fed, failed, finished;
  tkn_batch_summary sum;
};

#define DETAIL_MAX 2048

TKI_DEFINE_INIT(tkn_batch_reader_options_init, tkn_batch_reader_options, opts, TKN_BATCH_READER_OPTIONS_VERSION,
                TKN_BATCH_READER_OPTIONS_INIT)

int tkn_batch_reader_new(tkn_batch_reader **out, const tkn_batch_reader_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_batch_reader_new: out is NULL");
  *out = NULL;
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_BATCH_READER_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_batch_reader_new: unknown version");
    o = *opts;
  }
  if (tki_provider_check(o.provider, 0))
    return tki_fail(tki_provider_check(o.provider, 0), "batch reader: provider %d: %s",
                    (int)o.provider, tki_provider_why(o.provider));
  if (!o.max_line_bytes) return tki_fail(TKN_ERR_INVALID, "batch reader: max_line_bytes is 0");
  tkn_batch_reader *r = tki_calloc(1, sizeof *r);
  if (!r) return tki_fail(TKN_ERR_NOMEM, "tkn_batch_reader_new: out of memory");
  r->opts = o;
  tki_idset_init(&r->ids);
  tki_buf_init(&r->partial);
  tki_buf_init(&r->scratch);
  tki_buf_init(&r->dl_arena);
  tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
  r->sum = s;
  *out = r;
  return TKN_OK;
}

void tkn_batch_reader_free(tkn_batch_reader *r) {
  if (!r) return;
  tki_idset_free(&r->ids);
  tki_buf_free(&r->partial);
  tki_buf_free(&r->scratch);
  tki_buf_free(&r->dl_arena);
  tki_free(r->dls);
  tki_free(r);
}

int tkn_batch_reader_expect(tkn_batch_reader *r, const char *id, size_t len) {
  len = tki_len(id, len);
  if (!r) return tki_fail_null("tkn_batch_reader_expect", "r");
  if (r->fed || r->finished)
    return tki_fail(TKN_ERR_STATE, "batch reader: ids must be declared before any input");
  if (!id || len == 0) return tki_fail(TKN_ERR_INVALID, "batch reader: custom_id is NULL or empty");
  if (len > TKN_BATCH_MAX_ID)
    return tki_fail(TKN_ERR_INVALID, "batch reader: custom id longer than %d bytes", TKN_BATCH_MAX_ID);
  size_t bad;
  if (!tki_utf8_valid(id, len, &bad))
    return tki_fail(TKN_ERR_UTF8, "batch reader: custom id is not UTF-8 at byte %zu", bad);
  if (tki_idset_find(&r->ids, id, len) != (size_t)-1)
    return tki_fail(TKN_ERR_DUPLICATE, "batch reader: custom id \"%.*s\" declared twice",
                   (int)(len > 100 ? 100 : len), id);
  if (tki_idset_reserve(&r->ids, len))
    return tki_fail(TKN_ERR_NOMEM, "batch reader: out of memory");
  tki_idset_add(&r->ids, id, len);
  r->sum.expected++;
  return TKN_OK;
}

int tkn_batch_reader_expect_writer(tkn_batch_reader *r, const tkn_batch_writer *w) {
  if (!r || !w) return tki_fail_null("tkn_batch_reader_expect_writer", !r ? "r" : "w");
  const tki_idset *ids = tki_batch_writer_ids(w);
  size_t before = r->ids.n;
  for (size_t i = 0; i < ids->n; i++) {
    int rc = tkn_batch_reader_expect(r, tki_idset_str(ids, i), ids->ents[i].len);
    if (rc) {
      /* leave the reader as it was: forget the ids added by this call */
      tki_idset tmp = r->ids;
      tki_idset_init(&r->ids);
      size_t keep = before;
      int rc2 = TKN_OK;
      for (size_t j = 0; j < keep && !rc2; j++) {
        rc2 = tki_idset_reserve(&r->ids, tmp.ents[j].len);
        if (!rc2) tki_idset_add(&r->ids, tki_idset_str(&tmp, j), tmp.ents[j].len);
      }
      if (rc2) { /* could not rebuild: keep the larger set, report the failure */
        tki_idset_free(&r->ids);
        r->ids = tmp;
        return rc;
      }
      tki_idset_free(&tmp);
      r->sum.expected = keep;
      return rc;
    }
  }
  return TKN_OK;
}

/* ---- dead letters ---- */

static int dl_add(tkn_batch_reader *r, int32_t reason, const char *id, size_t id_len,
                  const char *detail, size_t detail_len, uint32_t file, uint64_t line) {
  if (detail_len > DETAIL_MAX) detail_len = DETAIL_MAX;
  size_t mark = r->dl_arena.len;
  if (tki_grow((void **)&r->dls, &r->dlcap, r->ndl + 1, sizeof *r->dls) ||
      tki_buf_reserve(&r->dl_arena, id_len + detail_len + 2)) {
    r->dl_arena.failed = 0;
    return tki_fail(TKN_ERR_NOMEM, "batch reader: out of memory recording a dead letter");
  }
  dl_rec *d = &r->dls[r->ndl++];
  d->reason = reason;
  d->id_off = mark;
  d->id_len = id_len;
  tki_buf_append(&r->dl_arena, id, id_len);
  tki_buf_putc(&r->dl_arena, '\0');
  d->detail_off = r->dl_arena.len;
  d->detail_len = detail_len;
  tki_buf_append(&r->dl_arena, detail, detail_len);
  tki_buf_putc(&r->dl_arena, '\0');
  d->file = file;
  d->line = line;
  return TKN_OK;
}

static const char *reason_name(int32_t reason) {
  switch (reason) {
    case TKN_BATCH_DL_MISSING: return "missing";
    case TKN_BATCH_DL_DUPLICATE: return "duplicate";
    case TKN_BATCH_DL_UNKNOWN: return "unknown";
    case TKN_BATCH_DL_ERRORED: return "errored";
    case TKN_BATCH_DL_CANCELED: return "canceled";
    default: return "expired";
  }
}

/* ---- one line ---- */

/* A failure naming the line: every bad-input message goes through here. */
static int line_fail(tkn_batch_reader *r, int status, uint64_t line_off, const char *fmt,
                     const char *detail, size_t at) {
  char what[256];
  snprintf(what, sizeof what, fmt, detail);
  r->failed = 1;
  if (at == (size_t)-1)
    return tki_fail(status, "batch results: file %u, line %llu (byte %llu): %s", r->file,
                   (unsigned long long)r->line, (unsigned long long)line_off, what);
  return tki_fail(status, "batch results: file %u, line %llu (byte %llu): %s at byte %llu",
                 r->file, (unsigned long long)r->line, (unsigned long long)line_off, what,
                 (unsigned long long)(line_off + at));
}

/* Decode the JSON string at span v into r->scratch (appended, NUL-terminated;
 * an escaped NUL is kept, *len counts it); *off gets where it starts.  -1 if
 * v is not a string, -2 out of memory, -3 an escape that is not a character
 * (a lone surrogate: the skim checks the bytes, not what escapes mean). */
static int decode_string(tkn_batch_reader *r, const char *s, tki_span v, size_t *off, size_t *len) {
  if (v.len < 2 || s[v.off] != '"') return -1;
  *off = r->scratch.len;
  const char *body = s + v.off + 1;
  size_t n = v.len - 2;
  if (!memchr(body, '\\', n)) {
    tki_buf_append(&r->scratch, body, n);
    *len = n;
  } else {
    cJSON *j = NULL;
    char err[TKI_ERRLEN];
    int rc = tki_json_parse(s + v.off, v.len, v.len, 1, "a string", &j, err);
    if (rc == TKN_ERR_NOMEM) return -2;
    if (rc != TKN_OK || !cJSON_IsString(j)) {
      cJSON_Delete(j);
      return -3;
    }
    *len = tki_json_unmask_nuls(j->valuestring, strlen(j->valuestring));
    tki_buf_append(&r->scratch, j->valuestring, *len);
    cJSON_Delete(j);
  }
  tki_buf_putc(&r->scratch, '\0');
  return r->scratch.failed ? -2 : 0;
}

static int span_is(const char *s, tki_span v, const char *lit) {
  size_t n = strlen(lit);
  return v.len == n && memcmp(s + v.off, lit, n) == 0;
}

static int is_object(const char *s, tki_span v) { return v.len >= 2 && s[v.off] == '{'; }

typedef struct line_view {
  int32_t status;
  int32_t http;
  tki_span id, model, body, usage, error;
} line_view;

enum { OA_ID, OA_RESP, OA_ERR, OA_CODE, OA_BODY, OA_MODEL, OA_USAGE, OA_BODY_ERR, OA_ERR_CODE, OA_N };
static const tki_jpath OA_PATHS[OA_N] = {
    [OA_ID] = {{"custom_id"}, 1},
    [OA_RESP] = {{"response"}, 1},
    [OA_ERR] = {{"error"}, 1},
    [OA_CODE] = {{"response", "status_code"}, 2},
    [OA_BODY] = {{"response", "body"}, 2},
    [OA_MODEL] = {{"response", "body", "model"}, 3},
    [OA_USAGE] = {{"response", "body", "usage"}, 3},
    [OA_BODY_ERR] = {{"response", "body", "error"}, 3},
    [OA_ERR_CODE] = {{"error", "code"}, 2},
};

_Static_assert(OA_N <= 16, "span array");
enum { AN_ID, AN_RESULT, AN_TYPE, AN_MSG, AN_MODEL, AN_USAGE, AN_ERR, AN_N };
_Static_assert(AN_N <= 16, "span array");
static const tki_jpath AN_PATHS[AN_N] = {
    [AN_ID] = {{"custom_id"}, 1},
    [AN_RESULT] = {{"result"}, 1},
    [AN_TYPE] = {{"result", "type"}, 2},
    [AN_MSG] = {{"result", "message"}, 2},
    [AN_MODEL] = {{"result", "message", "model"}, 3},
    [AN_USAGE] = {{"result", "message", "usage"}, 3},
    [AN_ERR] = {{"result", "error"}, 2},
};

static int read_openai(tkn_batch_reader *r, const char *s, const tki_span *f, line_view *v,
                       uint64_t off) {
  v->id = f[OA_ID];
  tki_span resp = f[OA_RESP], err = f[OA_ERR];
  if (err.len && !tki_jscan_is_null(s, err)) {
    v->error = err;
    v->status = TKN_BATCH_ERRORED;
    tki_span code = f[OA_ERR_CODE];
    if (span_is(s, code, "\"batch_expired\"")) v->status = TKN_BATCH_EXPIRED;
    else if (span_is(s, code, "\"batch_cancelled\"") || span_is(s, code, "\"batch_canceled\""))
      v->status = TKN_BATCH_CANCELED;
  }
  if (resp.len && !tki_jscan_is_null(s, resp)) {
    if (!is_object(s, resp))
      return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "\"response\" is not an object", resp.off);
    long code = 0;
    tki_span c = f[OA_CODE];
    if (c.len) {
      char tmp[16];
      if (c.len >= sizeof tmp || s[c.off] < '0' || s[c.off] > '9')
        return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "\"status_code\" is not a status number", c.off);
      memcpy(tmp, s + c.off, c.len);
      tmp[c.len] = '\0';
      code = strtol(tmp, NULL, 10);
    }
    v->http = (int32_t)code;
    v->body = f[OA_BODY];
    if (is_object(s, f[OA_BODY])) {
      v->model = f[OA_MODEL];
      if (is_object(s, f[OA_USAGE])) v->usage = f[OA_USAGE];
      if (!v->error.len && code / 100 != 2) v->error = f[OA_BODY_ERR].len ? f[OA_BODY_ERR] : f[OA_BODY];
    }
    if (!v->status) v->status = code / 100 == 2 ? TKN_BATCH_SUCCEEDED : TKN_BATCH_ERRORED;
  }
  if (!v->status)
    return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "a result line has neither \"response\" nor \"error\"",
                     (size_t)-1);
  return TKN_OK;
}

static int read_anthropic(tkn_batch_reader *r, const char *s, const tki_span *f, line_view *v,
                          uint64_t off) {
  v->id = f[AN_ID];
  if (!is_object(s, f[AN_RESULT]))
    return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "\"result\" is missing or not an object", (size_t)-1);
  tki_span t = f[AN_TYPE];
  if (span_is(s, t, "\"succeeded\"")) v->status = TKN_BATCH_SUCCEEDED;
  else if (span_is(s, t, "\"errored\"")) v->status = TKN_BATCH_ERRORED;
  else if (span_is(s, t, "\"canceled\"")) v->status = TKN_BATCH_CANCELED;
  else if (span_is(s, t, "\"expired\"")) v->status = TKN_BATCH_EXPIRED;
  else
    return line_fail(r, TKN_ERR_SCHEMA, off, "%s",
                     "result \"type\" is not succeeded, errored, canceled or expired",
                     t.len ? t.off : (size_t)-1);
  if (v->status == TKN_BATCH_SUCCEEDED) {
    if (!is_object(s, f[AN_MSG]))
      return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "a succeeded result has no \"message\" object",
                       (size_t)-1);
    v->body = f[AN_MSG];
    v->model = f[AN_MODEL];
    if (is_object(s, f[AN_USAGE])) v->usage = f[AN_USAGE];
  }
  if (f[AN_ERR].len && !tki_jscan_is_null(s, f[AN_ERR])) v->error = f[AN_ERR];
  return TKN_OK;
}

/* ---- metering one result at the batch price ---- */

typedef struct meter {
  int32_t status;
  const tkn_usage *tokens; /* &usage when normalised */
  const tkn_cost *cost;    /* &cost when priced */
  tkn_usage usage;
  tkn_cost cost_v;
  char error[256];
} meter;

static int meter_result(tkn_batch_reader *r, const char *s, const line_view *v,
                        const char *model, size_t model_len, meter *m) {
  memset(m, 0, sizeof *m);
  tkn_usage u = TKN_USAGE_INIT;
  tkn_cost c = TKN_COST_INIT;
  m->usage = u;
  m->cost_v = c;
  if (!v->usage.len) {
    m->status = TKN_ERR_NOT_FOUND;
    snprintf(m->error, sizeof m->error, "the result has no usage object");
    return TKN_OK;
  }
  m->usage.flags = TKN_USAGE_BATCH;
  uint32_t fmt = r->opts.provider == TKN_PROVIDER_ANTHROPIC ? TKN_USAGE_ANTHROPIC : TKN_USAGE_AUTO;
  m->status = tkn_usage_parse(&m->usage, fmt, s + v->usage.off, v->usage.len);
  if (m->status) snprintf(m->error, sizeof m->error, "%s", tki_error_message());
  if (m->status == TKN_ERR_NOMEM)
    return tki_fail(TKN_ERR_NOMEM, "batch results: out of memory reading a usage object");
  if (m->status) return TKN_OK;
  m->tokens = &m->usage;
  if (!r->opts.prices) {
    m->status = TKN_ERR_UNAVAILABLE;
    snprintf(m->error, sizeof m->error, "no price table was given to the reader");
    return TKN_OK;
  }
  if (!model_len) {
    m->status = TKN_ERR_NOT_FOUND;
    snprintf(m->error, sizeof m->error, "the result names no model");
    return TKN_OK;
  }
  m->status = tkn_prices_cost(r->opts.prices, model, model_len, &m->usage, &m->cost_v);
  if (m->status == TKN_ERR_NOMEM)
    return tki_fail(TKN_ERR_NOMEM, "batch results: out of memory costing a result");
  if (m->status == TKN_ERR_NOT_FOUND)
    snprintf(m->error, sizeof m->error,
             "model \"%.*s\" is not in the price table or has no batch prices",
             (int)(model_len > 100 ? 100 : model_len), model);
  else if (m->status)
    snprintf(m->error, sizeof m->error, "costing model \"%.*s\" failed: %s",
             (int)(model_len > 100 ? 100 : model_len), model, tkn_strerror(m->status));
  else
    m->cost = &m->cost_v;
  return TKN_OK;
}

static int add_tokens(tkn_batch_summary *s, const tkn_usage *u) {
  return tki_add_i64(s->input_tokens, u->input_tokens, &s->input_tokens) ||
         tki_add_i64(s->cache_read_tokens, u->cache_read_tokens, &s->cache_read_tokens) ||
         tki_add_i64(s->cache_write_tokens, u->cache_write_5m_tokens, &s->cache_write_tokens) ||
         tki_add_i64(s->cache_write_tokens, u->cache_write_1h_tokens, &s->cache_write_tokens) ||
         tki_add_i64(s->output_tokens, u->output_tokens, &s->output_tokens) ||
         tki_add_i64(s->reasoning_tokens, u->reasoning_tokens, &s->reasoning_tokens);
}

static int process_line(tkn_batch_reader *r, const char *s, size_t len, uint64_t off) {
  r->line++;
  /* the limit counts every byte before the \n (a \r, a blank line's white
   * space), and a line over it is not read: a line coming in pieces is
   * refused so (partial_too_long) before its end shows whether it ends in
   * \r or is blank, and whole lines must fare the same */
  if (len > r->opts.max_line_bytes) {
    char lim[32];
    snprintf(lim, sizeof lim, "%llu", (unsigned long long)r->opts.max_line_bytes);
    return line_fail(r, TKN_ERR_LIMIT, off, "line longer than the limit of %s bytes", lim, (size_t)-1);
  }
  if (len && s[len - 1] == '\r') len--;
  size_t i = 0;
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  if (i == len) return TKN_OK; /* blank line */
  r->sum.lines++;
  size_t bad;
  const char *why;
  int anthropic = r->opts.provider == TKN_PROVIDER_ANTHROPIC;
  tki_span f[16]; /* OA_N and AN_N both fit */
  if (tki_jscan_extract(s, len, TKN_BATCH_MAX_DEPTH, anthropic ? AN_PATHS : OA_PATHS,
                        anthropic ? AN_N : OA_N, f, &bad, &why))
    return why == TKI_JSCAN_BAD_UTF8 ? line_fail(r, TKN_ERR_UTF8, off, "%s", why, bad)
                                     : line_fail(r, TKN_ERR_PARSE, off, "malformed JSON: %s", why, bad);
  if (s[i] != '{')
    return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "a result line is not a JSON object", (size_t)-1);
  line_view v;
  memset(&v, 0, sizeof v);
  int rc = anthropic ? read_anthropic(r, s, f, &v, off) : read_openai(r, s, f, &v, off);
  if (rc) return rc;
  r->scratch.len = 0;
  r->scratch.failed = 0;
  size_t id_off, id_len, m_off = 0, m_len = 0;
  int d = decode_string(r, s, v.id, &id_off, &id_len);
  if (d == -1 || (d == 0 && id_len == 0))
    return line_fail(r, TKN_ERR_SCHEMA, off, "%s", "no string \"custom_id\"", (size_t)-1);
  if (d == -3)
    return line_fail(r, TKN_ERR_PARSE, off, "%s",
                     "\"custom_id\" holds an escape that is not a character (a lone surrogate)",
                     v.id.off);
  if (d == 0 && v.model.len) {
    d = decode_string(r, s, v.model, &m_off, &m_len);
    if (d == -3)
      return line_fail(r, TKN_ERR_PARSE, off, "%s",
                       "\"model\" holds an escape that is not a character (a lone surrogate)",
                       v.model.off);
    if (d == -1) d = 0; /* not a string: no model */
  }
  if (d == -2) {
    r->scratch.failed = 0;
    return tki_fail(TKN_ERR_NOMEM, "batch results: out of memory");
  }
  const char *id = r->scratch.data + id_off;
  size_t idx = tki_idset_find(&r->ids, id, id_len);
  if (idx == (size_t)-1) {
    r->sum.unknown++;
    static const char msg[] = "a result for a custom id that was not submitted";
    return dl_add(r, TKN_BATCH_DL_UNKNOWN, id, id_len, msg, sizeof msg - 1, r->file, r->line);
  }
  if (r->ids.ents[idx].seen) {
    r->sum.duplicates++;
    static const char msg[] = "a second result for this custom id (the first one counts)";
    return dl_add(r, TKN_BATCH_DL_DUPLICATE, id, id_len, msg, sizeof msg - 1, r->file, r->line);
  }
  meter m;
  rc = meter_result(r, s, &v, m_len ? r->scratch.data + m_off : "", m_len, &m);
  if (rc) return rc;
  tkn_batch_summary sum = r->sum; /* committed only when nothing below fails */
  if (m.tokens && (add_tokens(&sum, m.tokens) ||
                   (m.cost && tki_add_i64(sum.cost, m.cost->total, &sum.cost)))) {
    r->failed = 1;
    return tki_fail(TKN_ERR_OVERFLOW,
                   "batch results: file %u, line %llu: the batch totals overflow int64", r->file,
                   (unsigned long long)r->line);
  }
  if (m.tokens) sum.metered++;
  if (m.cost) sum.priced++;
  switch (v.status) {
    case TKN_BATCH_SUCCEEDED: sum.succeeded++; sum.unpriced += !m.cost; break;
    case TKN_BATCH_ERRORED: sum.errored++; break;
    case TKN_BATCH_CANCELED: sum.canceled++; break;
    default: sum.expired++; break;
  }
  if (v.status != TKN_BATCH_SUCCEEDED) {
    static const char canceled[] = "the batch was canceled before this request ran";
    static const char expired[] = "the batch expired before this request ran";
    static const char errored[] = "the provider reported an error";
    const char *detail = v.error.len ? s + v.error.off
                         : v.status == TKN_BATCH_CANCELED ? canceled
                         : v.status == TKN_BATCH_EXPIRED  ? expired
                                                          : errored;
    size_t dlen = v.error.len ? v.error.len : strlen(detail);
    int32_t reason = v.status == TKN_BATCH_ERRORED    ? TKN_BATCH_DL_ERRORED
                     : v.status == TKN_BATCH_CANCELED ? TKN_BATCH_DL_CANCELED
                                                      : TKN_BATCH_DL_EXPIRED;
    rc = dl_add(r, reason, id, id_len, detail, dlen, r->file, r->line);
    if (rc) return rc;
  }
  r->ids.ents[idx].seen = 1;
  r->sum = sum;
  if (r->opts.on_result) {
    tkn_batch_result res;
    memset(&res, 0, sizeof res);
    res.version = TKN_BATCH_RESULT_VERSION;
    res.status = v.status;
    res.custom_id = id;
    res.custom_id_len = id_len;
    res.model = m_len ? r->scratch.data + m_off : "";
    res.model_len = m_len;
    res.body = v.body.len ? s + v.body.off : "";
    res.body_len = v.body.len;
    res.usage = v.usage.len ? s + v.usage.off : "";
    res.usage_len = v.usage.len;
    res.error = v.error.len ? s + v.error.off : "";
    res.error_len = v.error.len;
    res.http_status = v.http;
    res.meter_status = m.status;
    res.tokens = m.tokens;
    res.cost = m.cost;
    res.meter_error = m.error;
    res.file = r->file;
    res.line = r->line;
    if (r->opts.on_result(&res, r->opts.user) != 0) {
      r->failed = 1;
      return tki_fail(TKN_ERR_CALLBACK,
                     "batch results: the on_result callback failed at file %u, line %llu", r->file,
                     (unsigned long long)r->line);
    }
  }
  return TKN_OK;
}

/* ---- feeding ---- */

static int check_open(tkn_batch_reader *r) {
  if (r->failed) return tki_fail(TKN_ERR_STATE, "batch results: an earlier error stopped this reader");
  if (r->finished) return tki_fail(TKN_ERR_STATE, "batch results: already finished");
  return TKN_OK;
}

static int partial_too_long(tkn_batch_reader *r, size_t more) {
  if (r->partial.len + more <= r->opts.max_line_bytes) return 0;
  r->line++;
  r->failed = 1;
  tki_fail(TKN_ERR_LIMIT,
          "batch results: file %u, line %llu (byte %llu): line longer than the limit of %llu bytes",
          r->file, (unsigned long long)r->line, (unsigned long long)r->line_off,
          (unsigned long long)r->opts.max_line_bytes);
  return 1;
}

int tkn_batch_reader_feed(tkn_batch_reader *r, const char *data, size_t len) {
  len = tki_len(data, len);
  if (!r) return tki_fail(TKN_ERR_INVALID, "tkn_batch_reader_feed: r is NULL");
  int rc = check_open(r);
  if (rc) return rc;
  if (!data && len) return tki_fail(TKN_ERR_INVALID, "batch results: NULL data");
  r->fed = 1;
  while (len) {
    const char *nl = memchr(data, '\n', len);
    size_t n = nl ? (size_t)(nl - data) : len;
    if (!nl) { /* keep the partial line for the next chunk */
      if (r->partial.len == 0) r->line_off = r->file_off; /* before a limit failure names it */
      if (partial_too_long(r, n)) return TKN_ERR_LIMIT; /* recorded */
      if (tki_buf_append(&r->partial, data, n)) {
        r->partial.failed = 0;
        r->failed = 1; /* earlier lines of this chunk are consumed: no retry */
        return tki_fail(TKN_ERR_NOMEM, "batch results: out of memory holding a line");
      }
      r->file_off += n;
      return TKN_OK;
    }
    if (r->partial.len == 0) {
      rc = process_line(r, data, n, r->file_off);
    } else {
      if (partial_too_long(r, n)) return TKN_ERR_LIMIT; /* recorded */
      if (tki_buf_append(&r->partial, data, n)) {
        r->partial.failed = 0;
        r->failed = 1; /* earlier lines of this chunk are consumed: no retry */
        return tki_fail(TKN_ERR_NOMEM, "batch results: out of memory holding a line");
      }
      rc = process_line(r, r->partial.data, r->partial.len, r->line_off);
      r->partial.len = 0;
    }
    if (rc) {
      r->failed = 1;
      return rc;
    }
    r->file_off += n + 1;
    data += n + 1;
    len -= n + 1;
  }
  return TKN_OK;
}

int tkn_batch_reader_end_file(tkn_batch_reader *r) {
  if (!r) return tki_fail(TKN_ERR_INVALID, "tkn_batch_reader_end_file: r is NULL");
  int rc = check_open(r);
  if (rc) return rc;
  if (r->partial.len) {
    rc = process_line(r, r->partial.data, r->partial.len, r->line_off);
    r->partial.len = 0;
    if (rc) {
      r->failed = 1;
      return rc;
    }
  }
  r->sum.files++;
  r->file++;
  r->line = 0;
  r->file_off = 0;
  return TKN_OK;
}

int tkn_batch_reader_finish(tkn_batch_reader *r) {
  if (!r) return tki_fail(TKN_ERR_INVALID, "tkn_batch_reader_finish: r is NULL");
  if (r->finished) return TKN_OK;
  int rc = TKN_OK;
  if (r->partial.len || r->line) rc = tkn_batch_reader_end_file(r);
  else rc = check_open(r);
  if (rc) return rc;
  size_t mark = r->ndl;
  uint64_t missing = 0;
  for (size_t i = 0; i < r->ids.n; i++) {
    if (r->ids.ents[i].seen) continue;
    static const char msg[] = "submitted but no result in any file";
    rc = dl_add(r, TKN_BATCH_DL_MISSING, tki_idset_str(&r->ids, i), r->ids.ents[i].len, msg,
                sizeof msg - 1, 0, 0);
    if (rc) {
      r->ndl = mark; /* as it was: finish may be called again */
      return rc;
    }
    missing++;
  }
  r->sum.missing = missing;
  r->finished = 1;
  return TKN_OK;
}

int tkn_batch_reader_summary(const tkn_batch_reader *r, tkn_batch_summary *summary) {
  if (!r || !summary) return tki_fail_null("tkn_batch_reader_summary", !r ? "r" : "summary");
  if (summary->version != TKN_BATCH_SUMMARY_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_batch_reader_summary: unknown version");
  *summary = r->sum;
  return TKN_OK;
}

size_t tkn_batch_reader_dead_letter_count(const tkn_batch_reader *r) { return r ? r->ndl : 0; }

int tkn_batch_reader_dead_letter(const tkn_batch_reader *r, size_t i, tkn_batch_dead_letter *out) {
  if (!r || !out) return tki_fail_null("tkn_batch_reader_dead_letter", !r ? "r" : "out");
  if (out->version != TKN_BATCH_DEAD_LETTER_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_batch_reader_dead_letter: unknown version");
  if (i >= r->ndl) return tki_fail(TKN_ERR_NOT_FOUND, "tkn_batch_reader_dead_letter: not found");
  const dl_rec *d = &r->dls[i];
  out->reason = d->reason;
  out->custom_id = r->dl_arena.data + d->id_off;
  out->custom_id_len = d->id_len;
  out->detail = r->dl_arena.data + d->detail_off;
  out->detail_len = d->detail_len;
  out->file = d->file;
  out->line = d->line;
  return TKN_OK;
}

int tkn_batch_reader_dead_letters_json(const tkn_batch_reader *r, char **out, size_t *len) {
  if (out) *out = NULL;
  if (len) *len = 0;
  if (!r || !out) return tki_fail_null("tkn_batch_reader_dead_letters_json", !r ? "r" : "out");
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_putc(&b, '[');
  for (size_t i = 0; i < r->ndl; i++) {
    const dl_rec *d = &r->dls[i];
    if (i) tki_buf_putc(&b, ',');
    tki_buf_puts(&b, "{\"custom_id\":");
    tki_buf_json_string(&b, r->dl_arena.data + d->id_off, d->id_len);
    tki_buf_printf(&b, ",\"reason\":\"%s\",\"detail\":", reason_name(d->reason));
    tki_buf_json_string(&b, r->dl_arena.data + d->detail_off, d->detail_len);
    tki_buf_printf(&b, ",\"file\":%u,\"line\":%llu}", d->file, (unsigned long long)d->line);
  }
  tki_buf_putc(&b, ']');
  return tki_buf_give(&b, out, len, "tkn_batch_reader_dead_letters_json");
}

