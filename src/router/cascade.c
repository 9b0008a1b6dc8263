/* Cascades: try a cheap tier, read the response's confidence, accept or
 * escalate.  Every attempt is kept with its confidence, where that came from,
 * its cost and its outcome, so the host can audit what the cascade spent. */
#include <math.h>
#include <string.h>

#include "router_internal.h"

enum { SRC_FIELD, SRC_SCORER, SRC_INVALID, SRC_NOT_JSON, SRC_MISSING };
static const char *const src_names[] = {"field", "scorer", "invalid", "not_json", "missing"};
static const char *const state_names[] = {"running", "accepted", "escalate", "exhausted"};

typedef struct attempt {
  int32_t tier;
  uint32_t model;
  double confidence;
  int valid;
  int source;
  int64_t cost;
  int32_t outcome;
} attempt;

struct tkn_router_cascade {
  const tkn_router *r;
  tkn_router_cascade_options opts;
  int32_t state;
  int32_t tier;        /* where the next pick starts */
  int32_t escalations;
  int pending;
  int32_t p_tier;
  uint32_t p_model;
  attempt *att;
  size_t n, cap;
  int64_t total;
};

TKI_DEFINE_INIT(tkn_router_cascade_options_init, tkn_router_cascade_options, opts, TKN_ROUTER_CASCADE_OPTIONS_VERSION,
                TKN_ROUTER_CASCADE_OPTIONS_INIT)

int tkn_router_cascade_new(tkn_router_cascade **out, const tkn_router *r,
                           const tkn_router_cascade_options *opts) {
  if (!out) return tki_fail_null("tkn_router_cascade_new", "out");
  *out = NULL;
  if (!r) return tki_fail_null("tkn_router_cascade_new", "router");
  tkn_router_cascade_options o = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_ROUTER_CASCADE_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_router_cascade_new: unknown version");
    o = *opts;
  }
  if (o.start_tier < 0 || (size_t)o.start_tier >= r->n_tiers)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_cascade_new: opts->start_tier %d is not a tier "
                    "(the router has %zu)", (int)o.start_tier, r->n_tiers);
  tkn_router_cascade *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_router_cascade_new: out of memory");
  c->r = r;
  c->opts = o;
  c->tier = o.start_tier;
  c->state = TKN_ROUTER_CASCADE_RUNNING;
  *out = c;
  return TKN_OK;
}

void tkn_router_cascade_free(tkn_router_cascade *c) {
  if (!c) return;
  tki_free(c->att);
  tki_free(c);
}

static int finished(const tkn_router_cascade *c) {
  return c->state == TKN_ROUTER_CASCADE_ACCEPTED || c->state == TKN_ROUTER_CASCADE_EXHAUSTED;
}

int tkn_router_cascade_next(tkn_router_cascade *c, int32_t *tier, const char **model) {
  if (!c || !tier || !model)
    return tki_fail_null("tkn_router_cascade_next", !c ? "c" : !tier ? "tier" : "model");
  if (finished(c))
    return tki_fail(TKN_ERR_STATE, "cascade: already %s", state_names[c->state]);
  const tkn_router *r = c->r;
  int32_t t;
  uint32_t m;
  if (tki_router_pick(r, c->tier, tki_router_now(r), &t, &m))
    return tki_fail(TKN_ERR_UNAVAILABLE,
                   "cascade: every model from tier '%s' up is cooling down",
                   r->tiers[c->tier].name.s);
  c->pending = 1;
  c->p_tier = t;
  c->p_model = m;
  *tier = t;
  *model = r->models[m].name.s;
  return TKN_OK;
}

/* The number at the router's confidence path, or a source saying why not. */
static int read_field(tkn_router_cascade *c, const char *content, size_t len, double *conf,
                      int *source) {
  const tkn_router *r = c->r;
  cJSON *root = NULL;
  char err[TKI_ERRLEN];
  int rc = tki_json_parse(content, len, 64u << 20, 128, "response", &root, err);
  /* cJSON reports a failed allocation as a syntax error: a second parse
   * tells a transient allocation failure from text that is not JSON. */
  if (rc == TKN_ERR_PARSE)
    rc = tki_json_parse(content, len, 64u << 20, 128, "response", &root, err);
  *conf = 0;
  if (rc == TKN_ERR_NOMEM) return tki_fail(rc, "cascade: out of memory");
  if (rc) {
    *source = SRC_NOT_JSON;
    return TKN_OK;
  }
  const cJSON *j = root;
  for (size_t i = 0; j && i < r->n_path; i++) {
    const tki_pstep *st = &r->path[i];
    if (st->key)
      j = cJSON_IsObject(j) ? cJSON_GetObjectItemCaseSensitive(j, st->key) : NULL;
    else
      j = cJSON_IsArray(j) && st->index < (size_t)cJSON_GetArraySize(j)
              ? cJSON_GetArrayItem(j, (int)st->index)
              : NULL;
  }
  if (j && cJSON_IsNumber(j) && isfinite(j->valuedouble)) {
    *conf = j->valuedouble;
    *source = SRC_FIELD;
  } else {
    *source = SRC_MISSING;
  }
  cJSON_Delete(root);
  return TKN_OK;
}

int tkn_router_cascade_report(tkn_router_cascade *c, const char *content, size_t len,
                              int32_t valid, int64_t cost, int32_t *state, double *confidence) {
  len = tki_len(content, len);
  if (!c) return tki_fail(TKN_ERR_INVALID, "tkn_router_cascade_report: c is NULL");
  if (!content && len) return tki_fail(TKN_ERR_INVALID, "cascade: NULL content");
  if (cost < 0) return tki_fail(TKN_ERR_INVALID, "cascade: negative cost");
  if (!c->pending)
    return tki_fail(TKN_ERR_STATE, "cascade: report without a pending call (call next)");
  if (!content) content = "";
  double conf = 0;
  int source = SRC_INVALID, rc;
  if (!valid) {
    source = SRC_INVALID;
  } else if (c->opts.score) {
    if (c->opts.score(content, len, &conf, c->opts.score_user) != 0)
      return tki_fail(TKN_ERR_CALLBACK, "cascade: the scorer failed");
    if (!isfinite(conf))
      return tki_fail(TKN_ERR_CALLBACK, "cascade: the scorer returned a non-finite score");
    source = SRC_SCORER;
  } else if ((rc = read_field(c, content, len, &conf, &source))) {
    return rc;
  }
  int64_t total;
  if (tki_add_i64(c->total, cost, &total))
    return tki_fail(TKN_ERR_OVERFLOW, "cascade: total cost overflows");
  if (tki_grow((void **)&c->att, &c->cap, c->n + 1, sizeof *c->att))
    return tki_fail(TKN_ERR_NOMEM, "cascade: out of memory");
  const tkn_router *r = c->r;
  int32_t next;
  if (conf >= r->tiers[c->p_tier].threshold) {
    next = TKN_ROUTER_CASCADE_ACCEPTED;
  } else if (c->escalations < r->max_escalations && (size_t)c->p_tier + 1 < r->n_tiers) {
    next = TKN_ROUTER_CASCADE_ESCALATE;
    c->escalations++;
    c->tier = c->p_tier + 1;
  } else {
    next = TKN_ROUTER_CASCADE_EXHAUSTED;
  }
  attempt *a = &c->att[c->n++];
  a->tier = c->p_tier;
  a->model = c->p_model;
  a->confidence = conf;
  a->valid = valid != 0;
  a->source = source;
  a->cost = cost;
  a->outcome = next;
  c->total = total;
  c->state = next;
  c->pending = 0;
  if (state) *state = next;
  if (confidence) *confidence = conf;
  return TKN_OK;
}

int32_t tkn_router_cascade_state(const tkn_router_cascade *c) {
  return c ? c->state : TKN_ROUTER_CASCADE_RUNNING;
}
size_t tkn_router_cascade_attempts(const tkn_router_cascade *c) { return c ? c->n : 0; }
int64_t tkn_router_cascade_total_cost(const tkn_router_cascade *c) { return c ? c->total : 0; }

int tkn_router_cascade_to_json(const tkn_router_cascade *c, char **out, size_t *out_len) {
  if (!c || !out) return tki_fail_null("tkn_router_cascade_to_json", !c ? "c" : "out");
  *out = NULL;
  if (out_len) *out_len = 0;
  const tkn_router *r = c->r;
  size_t best = 0;
  for (size_t i = 1; i < c->n; i++)
    if (c->att[i].confidence > c->att[best].confidence) best = i;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_printf(&b, "{\"state\":\"%s\",\"total_cost\":%lld,\"best\":", state_names[c->state],
                 (long long)c->total);
  if (c->n) tki_buf_printf(&b, "%zu", best);
  else tki_buf_puts(&b, "null");
  tki_buf_puts(&b, ",\"attempts\":[");
  for (size_t i = 0; i < c->n; i++) {
    const attempt *a = &c->att[i];
    tki_buf_puts(&b, i ? ",{\"tier\":" : "{\"tier\":");
    tki_buf_json_string(&b, r->tiers[a->tier].name.s, r->tiers[a->tier].name.len);
    tki_buf_puts(&b, ",\"model\":");
    tki_buf_json_string(&b, r->models[a->model].name.s, r->models[a->model].name.len);
    tki_buf_puts(&b, ",\"confidence\":");
    tki_buf_double(&b, a->confidence);
    tki_buf_printf(&b, ",\"valid\":%s,\"source\":\"%s\",\"cost\":%lld,\"outcome\":\"%s\"}",
                   a->valid ? "true" : "false", src_names[a->source], (long long)a->cost,
                   state_names[a->outcome]);
  }
  tki_buf_puts(&b, "]}");
  return tki_buf_give(&b, out, out_len, "tkn_router_cascade_to_json");
}
