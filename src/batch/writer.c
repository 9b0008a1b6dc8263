/* The batch request writer: one checked JSON line per request, streamed to the
 * host's callbacks, split into files at the provider's limits. */
#include <string.h>

#include "../internal.h"
#include "idset.h"
#include "jscan.h"
#include "tokenomy/batch.h"

struct tkn_batch_writer {
  tkn_batch_writer_options opts;
  char *url;
  size_t url_len;
  tki_idset ids;
  tki_buf line;
  char *model; /* OpenAI: the one model of this writer */
  size_t model_len;
  uint32_t files;      /* files begun */
  int file_open;
  uint64_t file_requests, file_bytes;
  uint64_t requests, bytes;
  int finished, broken;
};

static const char *provider_name(uint32_t p) { return p == TKN_PROVIDER_ANTHROPIC ? "Anthropic" : "OpenAI"; }

TKI_DEFINE_INIT(tkn_batch_writer_options_init, tkn_batch_writer_options, opts, TKN_BATCH_WRITER_OPTIONS_VERSION,
                TKN_BATCH_WRITER_OPTIONS_INIT)

int tkn_batch_writer_new(tkn_batch_writer **out, const tkn_batch_writer_options *opts) {
  if (!out) return tki_fail_null("tkn_batch_writer_new", "out");
  *out = NULL;
  if (!opts) return tki_fail_null("tkn_batch_writer_new", "opts");
  if (opts->version != TKN_BATCH_WRITER_OPTIONS_VERSION)
    return tki_fail(TKN_ERR_VERSION, "batch writer: unknown options version %u",
                    (unsigned)opts->version);
  if (!opts->begin_file || !opts->write)
    return tki_fail(TKN_ERR_INVALID, "batch writer: begin_file and write are required");
  if (tki_provider_check(opts->provider, 0))
    return tki_fail(tki_provider_check(opts->provider, 0), "batch writer: provider %d: %s",
                    (int)opts->provider, tki_provider_why(opts->provider));
  const char *url = opts->url ? opts->url : "/v1/chat/completions";
  size_t url_len = opts->url ? tki_len(opts->url, opts->url_len) : strlen(url);
  if (url_len == 0 || url_len > 1024 || !tki_utf8_valid(url, url_len, NULL))
    return tki_fail(TKN_ERR_INVALID, "tkn_batch_writer_new: opts->url is %s",
                    url_len == 0 ? "empty" : url_len > 1024 ? "longer than 1024 bytes"
                                                            : "not valid UTF-8");
  tkn_batch_writer *w = tki_calloc(1, sizeof *w);
  if (!w) return tki_fail(TKN_ERR_NOMEM, "tkn_batch_writer_new: out of memory");
  w->opts = *opts;
  if (!w->opts.max_requests_per_file)
    w->opts.max_requests_per_file = opts->provider == TKN_PROVIDER_OPENAI
                                        ? TKN_BATCH_OPENAI_MAX_REQUESTS
                                        : TKN_BATCH_ANTHROPIC_MAX_REQUESTS;
  if (!w->opts.max_bytes_per_file)
    w->opts.max_bytes_per_file = opts->provider == TKN_PROVIDER_OPENAI ? TKN_BATCH_OPENAI_MAX_BYTES
                                                                    : TKN_BATCH_ANTHROPIC_MAX_BYTES;
  w->url = tki_strndup(url, url_len);
  if (!w->url) {
    tki_free(w);
    return tki_fail(TKN_ERR_NOMEM, "tkn_batch_writer_new: out of memory");
  }
  w->url_len = url_len;
  tki_idset_init(&w->ids);
  tki_buf_init(&w->line);
  *out = w;
  return TKN_OK;
}

void tkn_batch_writer_free(tkn_batch_writer *w) {
  if (!w) return;
  tki_idset_free(&w->ids);
  tki_buf_free(&w->line);
  tki_free(w->url);
  tki_free(w->model);
  tki_free(w);
}

static int anthropic_id_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

static int check_id(tkn_batch_writer *w, const char *id, size_t len) {
  if (!id || len == 0) return tki_fail(TKN_ERR_INVALID, "batch writer: custom_id is NULL or empty");
  if (w->opts.provider == TKN_PROVIDER_ANTHROPIC) {
    if (len > 64)
      return tki_fail(TKN_ERR_INVALID, "batch writer: Anthropic custom id longer than 64 bytes");
    for (size_t i = 0; i < len; i++)
      if (!anthropic_id_char((unsigned char)id[i]))
        return tki_fail(TKN_ERR_INVALID,
                       "batch writer: Anthropic custom id has a character outside [A-Za-z0-9_-] at byte %zu", i);
  } else {
    if (len > TKN_BATCH_MAX_ID)
      return tki_fail(TKN_ERR_INVALID, "batch writer: custom id longer than %d bytes", TKN_BATCH_MAX_ID);
    size_t bad;
    if (!tki_utf8_valid(id, len, &bad))
      return tki_fail(TKN_ERR_UTF8, "batch writer: custom id is not UTF-8 at byte %zu", bad);
  }
  if (tki_idset_find(&w->ids, id, len) != (size_t)-1)
    return tki_fail(TKN_ERR_DUPLICATE, "batch writer: custom id \"%.*s\" written twice",
                   (int)(len > 100 ? 100 : len), id);
  return TKN_OK;
}

static unsigned hex4(const char *p) {
  unsigned v = 0;
  for (int k = 0; k < 4; k++) {
    char c = p[k];
    v = v * 16 + (unsigned)(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

/* The offset of the first \u escape of a surrogate that is not a high half
 * followed by an escaped low half, or (size_t)-1.  The skim checks the bytes,
 * not what escapes mean; but JSON readers (ours, cJSON, the providers')
 * reject an unpaired surrogate, so the line would not parse.  `s` has passed
 * the skim: a backslash only stands in a string and starts a whole escape. */
static size_t unpaired_surrogate(const char *s, size_t len) {
  const char *end = s + len;
  for (const char *p = s; (p = memchr(p, '\\', (size_t)(end - p))) != NULL;) {
    if (p[1] != 'u') {
      p += 2;
      continue;
    }
    unsigned u = hex4(p + 2);
    if (u >= 0xDC00 && u <= 0xDFFF) return (size_t)(p - s);
    if (u >= 0xD800 && u <= 0xDBFF) {
      unsigned lo;
      if (end - p < 12 || p[6] != '\\' || p[7] != 'u' || (lo = hex4(p + 8)) < 0xDC00 || lo > 0xDFFF)
        return (size_t)(p - s);
      p += 12;
      continue;
    }
    p += 6;
  }
  return (size_t)-1;
}

/* Validate the body; *model gets the span of its "model" string. */
static int check_body(tkn_batch_writer *w, const char *id, size_t id_len, const char *body,
                      size_t len, tki_span *model) {
  int idl = (int)(id_len > 100 ? 100 : id_len);
  if (!body && len) return tki_fail(TKN_ERR_INVALID, "batch writer: NULL body");
  size_t bad;
  const char *why;
  static const tki_jpath paths[] = {{{"model"}, 1}};
  if (tki_jscan_extract(body, len, TKN_BATCH_MAX_DEPTH, paths, 1, model, &bad, &why))
    return tki_fail(why == TKI_JSCAN_BAD_UTF8 ? TKN_ERR_UTF8 : TKN_ERR_PARSE, "batch writer: body of \"%.*s\": %s at byte %zu", idl, id,
                   why, bad);
  if ((bad = unpaired_surrogate(body, len)) != (size_t)-1)
    return tki_fail(TKN_ERR_UTF8, "batch writer: body of \"%.*s\": unpaired surrogate escape at byte %zu",
                   idl, id, bad);
  size_t first = 0;
  while (body[first] == ' ' || body[first] == '\t' || body[first] == '\n' || body[first] == '\r') first++;
  if (body[first] != '{')
    return tki_fail(TKN_ERR_SCHEMA, "batch writer: body of \"%.*s\" is not a JSON object", idl, id);
  if (model->len < 2 || body[model->off] != '"')
    return tki_fail(TKN_ERR_SCHEMA, "batch writer: body of \"%.*s\" has no string \"model\"",
                   idl, id);
  if (w->opts.provider == TKN_PROVIDER_OPENAI && w->model &&
      (model->len != w->model_len || memcmp(body + model->off, w->model, w->model_len) != 0))
    return tki_fail(TKN_ERR_SCHEMA,
                   "batch writer: request \"%.*s\" uses model %.*s but this OpenAI file holds %.*s "
                   "(one model per file)",
                   idl, id, (int)(model->len > 100 ? 100 : model->len), body + model->off,
                   (int)(w->model_len > 100 ? 100 : w->model_len), w->model);
  return TKN_OK;
}

static int build_line(tkn_batch_writer *w, const char *id, size_t id_len, const char *body,
                      size_t len) {
  tki_buf *b = &w->line;
  b->len = 0;
  b->failed = 0;
  if (tki_buf_reserve(b, len + id_len + w->url_len + 64)) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  tki_buf_append(b, "{\"custom_id\":", 13);
  tki_buf_json_string(b, id, id_len);
  if (w->opts.provider == TKN_PROVIDER_OPENAI) {
    tki_buf_append(b, ",\"method\":\"POST\",\"url\":", 23);
    tki_buf_json_string(b, w->url, w->url_len);
    tki_buf_append(b, ",\"body\":", 8);
  } else {
    tki_buf_append(b, ",\"params\":", 10);
  }
  size_t at = b->len;
  tki_buf_append(b, body, len);
  /* a raw line break can only be whitespace between tokens: make it a space */
  for (char *p = b->data + at, *end = b->data + b->len;
       (p = memchr(p, '\n', (size_t)(end - p))) != NULL;)
    *p = ' ';
  for (char *p = b->data + at, *end = b->data + b->len;
       (p = memchr(p, '\r', (size_t)(end - p))) != NULL;)
    *p = ' ';
  tki_buf_append(b, "}\n", 2);
  if (b->failed) {
    b->failed = 0;
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  }
  return TKN_OK;
}

static int io_fail(tkn_batch_writer *w, const char *what) {
  w->broken = 1;
  return tki_fail(TKN_ERR_IO, "batch writer: the %s callback failed (file %u)", what,
                 w->files ? w->files - 1 : 0);
}

static int end_file(tkn_batch_writer *w) {
  if (!w->file_open) return TKN_OK;
  w->file_open = 0;
  if (w->opts.end_file &&
      w->opts.end_file(w->files - 1, w->file_requests, w->file_bytes, w->opts.user) != 0)
    return io_fail(w, "end_file");
  return TKN_OK;
}

static int begin_file(tkn_batch_writer *w) {
  if (w->opts.begin_file(w->files, w->opts.user) != 0) {
    w->files++;
    return io_fail(w, "begin_file");
  }
  w->files++;
  w->file_open = 1;
  w->file_requests = 0;
  w->file_bytes = 0;
  return TKN_OK;
}

int tkn_batch_writer_add(tkn_batch_writer *w, const char *custom_id, size_t custom_id_len,
                         const char *body, size_t body_len) {
  custom_id_len = tki_len(custom_id, custom_id_len);
  body_len = tki_len(body, body_len);
  if (!w) return tki_fail_null("tkn_batch_writer_add", "w");
  if (w->broken) return tki_fail(TKN_ERR_STATE, "batch writer: a callback failed earlier");
  if (w->finished) return tki_fail(TKN_ERR_STATE, "batch writer: already finished");
  int rc = check_id(w, custom_id, custom_id_len);
  if (rc) return rc;
  tki_span model;
  rc = check_body(w, custom_id, custom_id_len, body, body_len, &model);
  if (rc) return rc;
  rc = build_line(w, custom_id, custom_id_len, body, body_len);
  if (rc) return tki_fail(rc, "batch writer: out of memory building a line");
  size_t n = w->line.len;
  if (n > w->opts.max_bytes_per_file)
    return tki_fail(TKN_ERR_LIMIT,
                   "batch writer: the line of \"%.*s\" (%zu bytes) exceeds the %s file limit of %llu bytes",
                   (int)(custom_id_len > 100 ? 100 : custom_id_len), custom_id, n,
                   provider_name(w->opts.provider), (unsigned long long)w->opts.max_bytes_per_file);
  /* everything that can fail for lack of memory happens before any output */
  char *first_model = NULL;
  if (w->opts.provider == TKN_PROVIDER_OPENAI && !w->model) {
    first_model = tki_strndup(body + model.off, model.len);
    if (!first_model) return tki_fail(TKN_ERR_NOMEM, "batch writer: out of memory");
  }
  if (tki_idset_reserve(&w->ids, custom_id_len)) {
    tki_free(first_model);
    return tki_fail(TKN_ERR_NOMEM, "batch writer: out of memory recording a custom id");
  }
  if (w->file_open && (w->file_requests + 1 > w->opts.max_requests_per_file ||
                       w->file_bytes + n > w->opts.max_bytes_per_file))
    rc = end_file(w);
  if (!rc && !w->file_open) rc = begin_file(w);
  if (!rc && w->opts.write(w->line.data, n, w->opts.user) != 0) rc = io_fail(w, "write");
  if (rc) {
    tki_free(first_model);
    return rc;
  }
  if (first_model) {
    w->model = first_model;
    w->model_len = model.len;
  }
  tki_idset_add(&w->ids, custom_id, custom_id_len);
  w->file_requests++;
  w->file_bytes += n;
  w->requests++;
  w->bytes += n;
  return TKN_OK;
}

int tkn_batch_writer_finish(tkn_batch_writer *w) {
  if (!w) return tki_fail(TKN_ERR_INVALID, "tkn_batch_writer_finish: w is NULL");
  if (w->broken) return tki_fail(TKN_ERR_STATE, "batch writer: a callback failed earlier");
  w->finished = 1;
  return end_file(w);
}

int tkn_batch_writer_counts(const tkn_batch_writer *w, uint32_t *files, uint64_t *requests,
                            uint64_t *bytes) {
  if (!w) return tki_fail(TKN_ERR_INVALID, "tkn_batch_writer_counts: w is NULL");
  if (files) *files = w->files;
  if (requests) *requests = w->requests;
  if (bytes) *bytes = w->bytes;
  return TKN_OK;
}


/* For the reader: the ids this writer wrote. */
const tki_idset *tki_batch_writer_ids(const tkn_batch_writer *w) { return &w->ids; }
