/* The meter: recording calls into per-dimension aggregates under one mutex,
 * reading them back, merging meters.
 *
 * Recording is prepare-then-commit: every allocation (a new key, a grown
 * sketch, a provider name) and every overflow check happens first; only when
 * all succeeded is anything written, so a failed record changes nothing. */
#include <string.h>
#include <time.h>

#include "meter_internal.h"

const char *const tki_dim_names[TKN_METER__DIMENSIONS] = {
    "workflow", "model", "task_type", "tenant", "tier", "routing_reason"};

static const char k_other[] = "(other)";
static const char k_none[] = "(none)";

const int64_t tki_token_bounds[TKI_HIST_BOUNDS] = {
    1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};

int tki_hist_bucket(int64_t tokens) {
  int i = 0;
  while (i < TKI_HIST_BOUNDS && tokens > tki_token_bounds[i]) i++;
  return i;
}

const int64_t tki_duration_bounds_us[TKI_DUR_BOUNDS] = {
    10000,  20000,   40000,   80000,   160000,   320000,   640000,
    1280000, 2560000, 5120000, 10240000, 20480000, 40960000, 81920000};

int tki_dur_bucket(int64_t latency_us) {
  int i = 0;
  while (i < TKI_DUR_BOUNDS && latency_us > tki_duration_bounds_us[i]) i++;
  return i;
}

int64_t tki_meter_now_ns(void) {
  struct timespec ts;
  if (clock_gettime(CLOCK_REALTIME, &ts) != 0) return 0;
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The series key's overflow: five parts "(other)". */
static const char k_series_other[] = "\x00\x07(other)\x00\x07(other)\x00\x07(other)"
                                     "\x00\x07(other)\x00\x07(other)";

void tki_series_part(const tki_entry *e, int i, const char **s, size_t *n) {
  const unsigned char *p = (const unsigned char *)e->key;
  const unsigned char *end = p + e->key_len;
  for (int k = 0; p + 2 <= end; k++) {
    size_t len = ((size_t)p[0] << 8) | p[1];
    if (k == i) {
      *s = (const char *)p + 2;
      *n = len;
      return;
    }
    p += 2 + len;
  }
  *s = "";
  *n = 0;
}

/* The most keys dimension d may hold. */
static size_t dim_cap(uint32_t max_keys, int d) {
  return d == TKI_SERIES ? (size_t)max_keys * TKI_SERIES_FACTOR : max_keys;
}

uint64_t tki_key_hash(const char *key, size_t len) { return tki_hash64(key, len, 0x6d65746572); }

long tki_dim_find(const tki_dim *d, const char *key, size_t len, uint64_t hash) {
  size_t mask = d->icap - 1;
  for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
    uint32_t v = d->index[i];
    if (!v) return -1;
    const tki_entry *e = &d->e[v - 1];
    if (e->hash == hash && e->key_len == len && memcmp(e->key, key, len) == 0) return (long)v - 1;
  }
}

static void dim_insert_index(tki_dim *d, size_t entry) {
  size_t mask = d->icap - 1;
  size_t i = (size_t)d->e[entry].hash & mask;
  while (d->index[i]) i = (i + 1) & mask;
  d->index[i] = (uint32_t)(entry + 1);
}

int64_t tki_ppm(int64_t num, int64_t den) {
  if (den <= 0) return -1;
  __extension__ __int128 v = (__int128)num * 1000000 / den;
  return (int64_t)v;
}

void tki_agg_stats(const tki_agg *a, tkn_meter_stats *out) {
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  s.calls = a->calls;
  s.successes = a->successes;
  s.validated = a->validated;
  s.validation_passed = a->passed;
  s.input_tokens = a->input;
  s.cache_read_tokens = a->cache_read;
  s.cache_write_5m_tokens = a->w5;
  s.cache_write_1h_tokens = a->w1;
  s.output_tokens = a->output;
  s.reasoning_tokens = a->reasoning;
  s.cache_reported_input_tokens = a->reported_input;
  s.cache_unreported_calls = a->unreported;
  s.cost = a->cost;
  s.cost_per_success = a->successes ? a->cost / (int64_t)a->successes : -1;
  s.cache_hit_ppm = a->calls > a->unreported ? tki_ppm(a->reported_read, a->reported_input) : -1;
  s.validation_pass_ppm = a->validated ? tki_ppm((int64_t)a->passed, (int64_t)a->validated) : -1;
  s.latency_us_total = a->latency;
  *out = s;
}

/* Would dst += src overflow?  (Counters are uint64 call counts: no.) */
static int agg_check(const tki_agg *dst, const tki_agg *src) {
  int64_t t;
  if (tki_add_i64(dst->input, src->input, &t) || tki_add_i64(dst->cache_read, src->cache_read, &t) ||
      tki_add_i64(dst->w5, src->w5, &t) || tki_add_i64(dst->w1, src->w1, &t) ||
      tki_add_i64(dst->output, src->output, &t) ||
      tki_add_i64(dst->reasoning, src->reasoning, &t) || tki_add_i64(dst->cost, src->cost, &t) ||
      tki_add_i64(dst->latency, src->latency, &t) ||
      tki_add_i64(dst->reported_input, src->reported_input, &t) ||
      tki_add_i64(dst->reported_read, src->reported_read, &t))
    return TKN_ERR_OVERFLOW;
  return TKN_OK;
}

/* The scalar part of dst += src. */
static void agg_apply_scalars(tki_agg *dst, const tki_agg *src) {
  dst->input += src->input;
  dst->cache_read += src->cache_read;
  dst->w5 += src->w5;
  dst->w1 += src->w1;
  dst->output += src->output;
  dst->reasoning += src->reasoning;
  dst->cost += src->cost;
  dst->latency += src->latency;
  dst->reported_input += src->reported_input;
  dst->reported_read += src->reported_read;
  dst->calls += src->calls;
  dst->successes += src->successes;
  dst->validated += src->validated;
  dst->passed += src->passed;
  dst->unreported += src->unreported;
}

/* dst += src once agg_check said it fits. */
static void agg_apply(tki_agg *dst, const tki_agg *src) {
  agg_apply_scalars(dst, src);
  for (int t = 0; t < 2; t++)
    for (int i = 0; i <= TKI_HIST_BOUNDS; i++) dst->hist[t][i] += src->hist[t][i];
  for (int i = 0; i <= TKI_DUR_BOUNDS; i++) dst->dur[i] += src->dur[i];
}

/* dst += one call, whose histograms hold a single count each. */
static void agg_apply_call(tki_agg *dst, const tki_agg *one, const int bins[3]) {
  agg_apply_scalars(dst, one);
  dst->hist[0][bins[0]]++;
  dst->hist[1][bins[1]]++;
  dst->dur[bins[2]]++;
}

/* dst += src, all or nothing. */
static int agg_add(tki_agg *dst, const tki_agg *src) {
  int rc = agg_check(dst, src);
  if (rc == TKN_OK) agg_apply(dst, src);
  return rc;
}

/* ---- state ---- */

static int state_init(tki_state *st, uint32_t max_keys) {
  memset(st, 0, sizeof *st);
  for (int d = 0; d < TKI_DIMS; d++) {
    size_t icap = 16;
    while (icap < 2 * (dim_cap(max_keys, d) + 1)) icap *= 2;
    st->d[d].index = tki_calloc(icap, sizeof *st->d[d].index);
    if (!st->d[d].index) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    st->d[d].icap = icap;
  }
  return TKN_OK;
}

static void entry_free(tki_entry *e) {
  tki_free(e->key);
  tki_free(e->provider);
  tki_sketch_free(&e->tok);
  tki_sketch_free(&e->cost);
}

/* Forget all keys; the index arrays stay. */
static void state_clear(tki_state *st) {
  for (int d = 0; d < TKI_DIMS; d++) {
    tki_dim *dm = &st->d[d];
    for (size_t i = 0; i < dm->n; i++) entry_free(&dm->e[i]);
    tki_free(dm->e);
    dm->e = NULL;
    dm->n = dm->cap = dm->regular = 0;
    if (dm->index) memset(dm->index, 0, dm->icap * sizeof *dm->index);
  }
  memset(&st->total, 0, sizeof st->total);
}

static void state_free(tki_state *st) {
  state_clear(st);
  for (int d = 0; d < TKI_DIMS; d++) {
    tki_free(st->d[d].index);
    st->d[d].index = NULL;
  }
}

/* ---- options, lifecycle ---- */

TKI_DEFINE_INIT(tkn_meter_options_init, tkn_meter_options, opts, TKN_METER_OPTIONS_VERSION,
                TKN_METER_OPTIONS_INIT)

TKI_DEFINE_INIT(tkn_meter_call_init, tkn_meter_call, call, TKN_METER_CALL_VERSION,
                TKN_METER_CALL_INIT)

TKI_DEFINE_INIT(tkn_meter_stats_init, tkn_meter_stats, stats, TKN_METER_STATS_VERSION,
                TKN_METER_STATS_INIT)

TKI_DEFINE_INIT(tkn_meter_percentiles_init, tkn_meter_percentiles, p, TKN_METER_PERCENTILES_VERSION,
                TKN_METER_PERCENTILES_INIT)

int tkn_meter_new(tkn_meter **out, const tkn_meter_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_meter_new: out is NULL");
  *out = NULL;
  tkn_meter_options o = TKN_METER_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_METER_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_meter_new: unknown version");
    if (opts->max_keys < 1 || opts->max_keys > TKN_METER_MAX_KEYS_LIMIT || opts->reserved ||
        opts->budget_margin_pct > 10000)
      return tki_fail(TKN_ERR_INVALID, "tkn_meter_new: %s",
                      opts->max_keys < 1 || opts->max_keys > TKN_METER_MAX_KEYS_LIMIT
                          ? "opts->max_keys is not in [1, TKN_METER_MAX_KEYS_LIMIT]"
                      : opts->reserved ? "opts->reserved is not 0"
                                       : "opts->budget_margin_pct is more than 10000");
    o = *opts;
  }
  tkn_meter *m = tki_calloc(1, sizeof *m);
  if (!m) return tki_fail(TKN_ERR_NOMEM, "tkn_meter_new: out of memory");
  m->o = o;
  m->start_ns = tki_meter_now_ns();
  if (state_init(&m->st, o.max_keys) != TKN_OK) {
    state_free(&m->st);
    tki_free(m);
    return tki_fail(TKN_ERR_NOMEM, "tkn_meter_new: out of memory");
  }
  if (pthread_mutex_init(&m->mu, NULL) != 0) {
    state_free(&m->st);
    tki_free(m);
    return tki_fail(TKN_ERR_NOMEM, "tkn_meter_new: out of memory");
  }
  *out = m;
  return TKN_OK;
}

void tkn_meter_free(tkn_meter *m) {
  if (!m) return;
  state_free(&m->st);
  if (m->backend) m->backend->free(m->backend_state);
  pthread_mutex_destroy(&m->mu);
  tki_free(m);
}

static void lock(const tkn_meter *m) { pthread_mutex_lock((pthread_mutex_t *)&m->mu); }
static void unlock(const tkn_meter *m) { pthread_mutex_unlock((pthread_mutex_t *)&m->mu); }

static int fail(tkn_meter *m, const char *err, int rc) {
  (void)m;
  return tki_fail(rc, "%s", err);
}

/* ---- backends ---- */

void tki_meter_set_backend(tkn_meter *m, const tki_meter_backend *backend, void *state) {
  if (m->backend) m->backend->free(m->backend_state);
  m->backend = backend;
  m->backend_state = state;
}

int tki_meter_flush(tkn_meter *m) {
  if (!m->backend) return TKN_OK;
  char err[TKI_ERRLEN];
  int rc = m->backend->flush(m->backend_state, err);
  return rc == TKN_OK ? rc : fail(m, err, rc);
}

/* ---- checking a call ---- */

typedef struct key_ref {
  const char *s;
  size_t len;
  uint64_t hash;
} key_ref;

static int check_str(const char *s, size_t len, const char *what, char err[TKI_ERRLEN]) {
  if (!s && len) return tki_err(err, TKN_ERR_INVALID, "meter: %s is NULL with length %zu", what, len);
  if (len > TKN_METER_KEY_MAX)
    return tki_err(err, TKN_ERR_LIMIT, "meter: %s is %zu bytes (at most %d)", what, len,
                   TKN_METER_KEY_MAX);
  size_t bad;
  if (len && !tki_utf8_valid(s, len, &bad))
    return tki_err(err, TKN_ERR_UTF8, "meter: %s is not valid UTF-8 at byte %zu", what, bad);
  return TKN_OK;
}

/* Validate everything but the cost; shared with tkn_meter_otel_call. */
int tki_meter_check_call(const tkn_meter_call *c, char err[TKI_ERRLEN]);
const tkn_meter_call *tki_meter_call_lengths(const tkn_meter_call *c, tkn_meter_call *norm);
/* The call with its TKN_NUL_TERMINATED lengths measured (in *norm). */
const tkn_meter_call *tki_meter_call_lengths(const tkn_meter_call *c, tkn_meter_call *norm) {
  if (!c || c->version != TKN_METER_CALL_VERSION) return c; /* the check reports it */
  *norm = *c;
  norm->workflow_len = tki_len(norm->workflow, norm->workflow_len);
  norm->tenant_len = tki_len(norm->tenant, norm->tenant_len);
  norm->task_type_len = tki_len(norm->task_type, norm->task_type_len);
  norm->model_len = tki_len(norm->model, norm->model_len);
  norm->provider_len = tki_len(norm->provider, norm->provider_len);
  norm->tier_len = tki_len(norm->tier, norm->tier_len);
  norm->routing_reason_len = tki_len(norm->routing_reason, norm->routing_reason_len);
  return norm;
}
int tki_meter_check_call(const tkn_meter_call *c, char err[TKI_ERRLEN]) {
  if (!c) return tki_err(err, TKN_ERR_INVALID, "meter: NULL call");
  if (c->version != TKN_METER_CALL_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "meter: unknown call version %u", (unsigned)c->version);
  if (c->success > 1) return tki_err(err, TKN_ERR_INVALID, "meter: success must be 0 or 1");
  if (c->validation > TKN_METER_VALIDATION_FAILED)
    return tki_err(err, TKN_ERR_INVALID, "meter: unknown validation value %u",
                   (unsigned)c->validation);
  if (c->reserved) return tki_err(err, TKN_ERR_INVALID, "meter: reserved must be 0");
  if (c->latency_us < 0) return tki_err(err, TKN_ERR_INVALID, "meter: negative latency");
  if (c->cost < 0 && c->cost != TKN_METER_COST_COMPUTE)
    return tki_err(err, TKN_ERR_INVALID, "meter: negative cost");
  int rc = tkn_usage_check(&c->usage);
  if (rc != TKN_OK)
    return tki_err(err, rc, "meter: inconsistent usage (negative counts, cached > input or "
                            "reasoning > output)");
  if ((rc = check_str(c->workflow, c->workflow_len, "workflow", err)) ||
      (rc = check_str(c->tenant, c->tenant_len, "tenant", err)) ||
      (rc = check_str(c->task_type, c->task_type_len, "task_type", err)) ||
      (rc = check_str(c->model, c->model_len, "model", err)) ||
      (rc = check_str(c->provider, c->provider_len, "provider", err)) ||
      (rc = check_str(c->tier, c->tier_len, "tier", err)) ||
      (rc = check_str(c->routing_reason, c->routing_reason_len, "routing_reason", err)))
    return rc;
  return TKN_OK;
}

static key_ref make_key(const char *s, size_t len) {
  key_ref k = {s, len, 0};
  if (!len) {
    k.s = k_none;
    k.len = sizeof k_none - 1;
  }
  k.hash = tki_key_hash(k.s, k.len);
  return k;
}

/* The overflow key of dimension d. */
static key_ref other_key(int d) {
  if (d == TKI_SERIES) return make_key(k_series_other, sizeof k_series_other - 1);
  return make_key(k_other, sizeof k_other - 1);
}

/* Append one part to a series key: empty is "(none)", except the provider,
 * which stays empty (unknown). */
static size_t series_put(char *buf, size_t at, const char *s, size_t len, int none) {
  if (!len && none) {
    s = k_none;
    len = sizeof k_none - 1;
  }
  buf[at] = (char)(len >> 8);
  buf[at + 1] = (char)(len & 0xff);
  if (len) memcpy(buf + at + 2, s, len);
  return at + 2 + len;
}

static void call_agg(const tkn_meter_call *c, int64_t cost, tki_agg *a) {
  memset(a, 0, sizeof *a);
  const tkn_usage *u = &c->usage;
  a->calls = 1;
  a->successes = c->success;
  a->validated = c->validation != TKN_METER_VALIDATION_NONE;
  a->passed = c->validation == TKN_METER_VALIDATION_PASSED;
  a->input = u->input_tokens;
  a->cache_read = u->cache_read_tokens;
  a->w5 = u->cache_write_5m_tokens;
  a->w1 = u->cache_write_1h_tokens;
  a->output = u->output_tokens;
  a->reasoning = u->reasoning_tokens;
  if (u->flags & TKN_USAGE_CACHE_REPORTED) {
    a->reported_input = u->input_tokens;
    a->reported_read = u->cache_read_tokens;
  } else {
    a->unreported = 1;
  }
  a->cost = cost;
  a->latency = c->latency_us;
  a->hist[0][tki_hist_bucket(u->input_tokens)] = 1;
  a->hist[1][tki_hist_bucket(u->output_tokens)] = 1;
  a->dur[tki_dur_bucket(c->latency_us)] = 1;
}

/* ---- recording ---- */

typedef struct pending {
  long idx[TKI_DIMS];  /* existing entry, or -1: a new one */
  key_ref key[TKI_DIMS];
  int other[TKI_DIMS];
  char *newkey[TKI_DIMS];
  char *provider; /* for the model entry */
  size_t provider_len;
  uint64_t *tok_bins, *cost_bins;
  int32_t tok_lo, cost_lo;
  uint32_t tok_n, cost_n;
} pending;

static void pending_free(pending *p) {
  for (int d = 0; d < TKI_DIMS; d++) tki_free(p->newkey[d]);
  tki_free(p->provider);
  tki_free(p->tok_bins);
  tki_free(p->cost_bins);
}

static int prepare(tkn_meter *m, const char *prov, size_t prov_len, const tki_agg *one,
                   int tok_idx, int cost_idx, pending *p) {
  tki_state *st = &m->st;
  for (int d = 0; d < TKI_DIMS; d++) {
    tki_dim *dm = &st->d[d];
    key_ref k = p->key[d];
    long idx = tki_dim_find(dm, k.s, k.len, k.hash);
    if (idx < 0 && dm->regular >= dim_cap(m->o.max_keys, d)) {
      k = other_key(d);
      p->key[d] = k;
      p->other[d] = 1;
      idx = tki_dim_find(dm, k.s, k.len, k.hash);
    }
    p->idx[d] = idx;
    if (idx < 0) {
      if (tki_grow((void **)&dm->e, &dm->cap, dm->n + 1, sizeof *dm->e) != TKN_OK) return tki_fail(TKN_ERR_NOMEM, "out of memory");
      if (!(p->newkey[d] = tki_strndup(k.s, k.len))) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    }
    if (idx >= 0) {
      int rc = agg_check(&dm->e[idx].a, one);
      if (rc != TKN_OK) return rc;
    }
  }
  int rc = agg_check(&st->total, one);
  if (rc != TKN_OK) return rc;
  /* the workflow's sketches */
  static const tki_sketch empty;
  long w = p->idx[TKN_METER_WORKFLOW];
  const tki_sketch *ts = w >= 0 ? &st->d[TKN_METER_WORKFLOW].e[w].tok : &empty;
  const tki_sketch *cs = w >= 0 ? &st->d[TKN_METER_WORKFLOW].e[w].cost : &empty;
  if (tki_sketch_reserve(ts, tok_idx, &p->tok_bins, &p->tok_lo, &p->tok_n) ||
      tki_sketch_reserve(cs, cost_idx, &p->cost_bins, &p->cost_lo, &p->cost_n))
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  /* the model's provider */
  long mi = p->idx[TKN_METER_MODEL];
  if (prov_len && (mi < 0 || !st->d[TKN_METER_MODEL].e[mi].provider)) {
    if (!(p->provider = tki_strndup(prov, prov_len))) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    p->provider_len = prov_len;
  }
  return TKN_OK;
}

static void commit(tkn_meter *m, const tkn_meter_call *c, const tki_agg *one, int64_t tok,
                   int tok_idx, int64_t cost, int cost_idx, pending *p) {
  tki_state *st = &m->st;
  const int bins[3] = {tki_hist_bucket(c->usage.input_tokens),
                       tki_hist_bucket(c->usage.output_tokens), tki_dur_bucket(c->latency_us)};
  for (int d = 0; d < TKI_DIMS; d++) {
    tki_dim *dm = &st->d[d];
    long idx = p->idx[d];
    if (idx < 0) {
      idx = (long)dm->n++;
      tki_entry *e = &dm->e[idx];
      memset(e, 0, sizeof *e);
      e->key = p->newkey[d];
      e->key_len = p->key[d].len;
      e->hash = p->key[d].hash;
      e->other = p->other[d];
      p->newkey[d] = NULL;
      if (!e->other) dm->regular++;
      dim_insert_index(dm, (size_t)idx);
      p->idx[d] = idx;
    }
    agg_apply_call(&dm->e[idx].a, one, bins);
  }
  agg_apply_call(&st->total, one, bins);
  tki_entry *w = &st->d[TKN_METER_WORKFLOW].e[p->idx[TKN_METER_WORKFLOW]];
  tki_sketch_commit(&w->tok, p->tok_bins, p->tok_lo, p->tok_n);
  tki_sketch_commit(&w->cost, p->cost_bins, p->cost_lo, p->cost_n);
  p->tok_bins = p->cost_bins = NULL;
  tki_sketch_add(&w->tok, tok, tok_idx);
  tki_sketch_add(&w->cost, cost, cost_idx);
  if (p->provider) {
    tki_entry *me = &st->d[TKN_METER_MODEL].e[p->idx[TKN_METER_MODEL]];
    me->provider = p->provider;
    me->provider_len = p->provider_len;
    p->provider = NULL;
  }
}

int tkn_meter_record(tkn_meter *m, const tkn_meter_call *c) {
  if (!m) return tki_fail_null("tkn_meter_record", "meter");
  char err[TKI_ERRLEN] = "";
  tkn_meter_call norm;
  c = tki_meter_call_lengths(c, &norm);
  int rc = tki_meter_check_call(c, err);
  if (rc != TKN_OK) return fail(m, err, rc);
  int64_t cost = c->cost;
  /* the model's provider: as given, or from the price table when it costs the call */
  const char *prov = c->provider;
  size_t prov_len = c->provider_len;
  if (cost == TKN_METER_COST_COMPUTE) {
    if (!m->o.prices) {
      tki_err(err, TKN_ERR_STATE, "meter: cost to compute but the meter has no price table");
      return fail(m, err, TKN_ERR_STATE);
    }
    tkn_cost co = TKN_COST_INIT;
    tkn_model_price mp = TKN_MODEL_PRICE_INIT;
    rc = c->model_len ? tkn_prices_lookup(m->o.prices, c->model, c->model_len, &mp)
                      : TKN_ERR_NOT_FOUND;
    if (rc == TKN_OK) rc = tkn_prices_compute(&mp, &c->usage, &co);
    if (rc == TKN_OK && !prov_len && (prov = tkn_prices_otel_provider(mp.provider, mp.provider_len)))
      prov_len = strlen(prov);
    if (rc != TKN_OK) {
      tki_err(err, rc, "meter: cannot price model \"%.*s\": %s", (int)c->model_len,
              c->model ? c->model : "", tkn_strerror(rc));
      return fail(m, err, rc);
    }
    cost = co.total;
  }
  int64_t tok;
  if (tki_add_i64(c->usage.input_tokens, c->usage.output_tokens, &tok)) {
    tki_err(err, TKN_ERR_OVERFLOW, "meter: token count out of range");
    return fail(m, err, TKN_ERR_OVERFLOW);
  }
  tki_agg one;
  call_agg(c, cost, &one);
  pending p;
  memset(&p, 0, sizeof p);
  p.key[TKN_METER_WORKFLOW] = make_key(c->workflow, c->workflow_len);
  p.key[TKN_METER_MODEL] = make_key(c->model, c->model_len);
  p.key[TKN_METER_TASK_TYPE] = make_key(c->task_type, c->task_type_len);
  p.key[TKN_METER_TENANT] = make_key(c->tenant, c->tenant_len);
  p.key[TKN_METER_TIER] = make_key(c->tier, c->tier_len);
  p.key[TKN_METER_ROUTING_REASON] = make_key(c->routing_reason, c->routing_reason_len);
  char series[TKI_SERIES_KEY_MAX];
  size_t sn = series_put(series, 0, c->model, c->model_len, 1);
  sn = series_put(series, sn, prov, prov_len, 0);
  sn = series_put(series, sn, c->workflow, c->workflow_len, 1);
  sn = series_put(series, sn, c->tenant, c->tenant_len, 1);
  sn = series_put(series, sn, c->task_type, c->task_type_len, 1);
  p.key[TKI_SERIES] = make_key(series, sn);
  int tok_idx = tki_sketch_index(tok), cost_idx = tki_sketch_index(cost);

  lock(m);
  rc = prepare(m, prov, prov_len, &one, tok_idx, cost_idx, &p);
  if (rc == TKN_OK) {
    commit(m, c, &one, tok, tok_idx, cost, cost_idx, &p);
  } else {
    tki_fail(rc, rc == TKN_ERR_OVERFLOW ? "meter: a sum would overflow int64"
                                               : "meter: out of memory");
  }
  unlock(m);
  pending_free(&p);
  if (rc == TKN_OK && m->backend) m->backend->record(m->backend_state, c, &one);
  return rc;
}

/* ---- reading ---- */

static tki_dim *dim_of(tkn_meter *m, int dimension) {
  return dimension >= 0 && dimension < TKN_METER__DIMENSIONS ? &m->st.d[dimension] : NULL;
}

int tkn_meter_stats_get(tkn_meter *m, int dimension, const char *key, size_t len,
                        tkn_meter_stats *out) {
  len = tki_len(key, len);
  if (!m || !out) return tki_fail_null("tkn_meter_stats_get", !m ? "meter" : "out");
  if (!key && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_meter_stats_get: key is NULL with a length");
  if ((dimension != TKN_METER_TOTAL && !dim_of(m, dimension)))
    return tki_fail(TKN_ERR_INVALID, "tkn_meter_stats_get: dimension %d is not one of the "
                    "meter's", dimension);
  if (out->version != TKN_METER_STATS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_meter_stats_get: unknown version");
  int rc = TKN_OK;
  lock(m);
  if (dimension == TKN_METER_TOTAL) {
    tki_agg_stats(&m->st.total, out);
  } else {
    key_ref k = make_key(key, len);
    long i = tki_dim_find(dim_of(m, dimension), k.s, k.len, k.hash);
    if (i < 0) rc = TKN_ERR_NOT_FOUND;
    else tki_agg_stats(&m->st.d[dimension].e[i].a, out);
  }
  unlock(m);
  if (rc == TKN_ERR_NOT_FOUND)
    return tki_fail(rc, "meter: no calls recorded for key \"%.*s\" in dimension %d",
                    (int)(len > 64 ? 64 : len), key ? key : "", dimension);
  return rc;
}

size_t tkn_meter_key_count(tkn_meter *m, int dimension) {
  if (!m || !dim_of(m, dimension)) return 0;
  lock(m);
  size_t n = m->st.d[dimension].n;
  unlock(m);
  return n;
}

/* p99 x (100 + margin) / 100 rounded up; a suggestion, so it saturates. */
static int64_t budget(int64_t p99, uint32_t margin) {
  __extension__ __int128 v = ((__int128)p99 * (100 + margin) + 99) / 100;
  return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}

int tki_meter_percentiles(const tkn_meter *m, const tki_entry *e, tkn_meter_percentiles *out);
int tki_meter_percentiles(const tkn_meter *m, const tki_entry *e, tkn_meter_percentiles *out) {
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  p.relative_error_ppm = TKI_SKETCH_ERROR_PPM;
  p.count = e->tok.count;
  p.tokens_p50 = tki_sketch_quantile(&e->tok, 0.50);
  p.tokens_p95 = tki_sketch_quantile(&e->tok, 0.95);
  p.tokens_p99 = tki_sketch_quantile(&e->tok, 0.99);
  p.cost_p50 = tki_sketch_quantile(&e->cost, 0.50);
  p.cost_p95 = tki_sketch_quantile(&e->cost, 0.95);
  p.cost_p99 = tki_sketch_quantile(&e->cost, 0.99);
  p.budget_tokens = budget(p.tokens_p99, m->o.budget_margin_pct);
  p.budget_cost = budget(p.cost_p99, m->o.budget_margin_pct);
  *out = p;
  return TKN_OK;
}

int tkn_meter_percentiles_get(tkn_meter *m, const char *workflow, size_t len,
                              tkn_meter_percentiles *out) {
  len = tki_len(workflow, len);
  if (!m || !out) return tki_fail_null("tkn_meter_percentiles_get", !m ? "meter" : "out");
  if (!workflow && len)
    return tki_fail(TKN_ERR_INVALID, "tkn_meter_percentiles_get: workflow is NULL with a length");
  if (out->version != TKN_METER_PERCENTILES_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_meter_percentiles_get: unknown version");
  key_ref k = make_key(workflow, len);
  lock(m);
  const tki_dim *dm = &m->st.d[TKN_METER_WORKFLOW];
  long i = tki_dim_find(dm, k.s, k.len, k.hash);
  int rc = i < 0 ? TKN_ERR_NOT_FOUND : tki_meter_percentiles(m, &dm->e[i], out);
  unlock(m);
  if (rc == TKN_ERR_NOT_FOUND)
    return tki_fail(rc, "meter: no calls recorded for workflow \"%.*s\"",
                    (int)(len > 64 ? 64 : len), workflow ? workflow : "");
  return rc;
}

/* ---- merging and resetting ---- */

static int entry_copy(tki_entry *dst, const tki_entry *src) {
  memset(dst, 0, sizeof *dst);
  *dst = *src;
  dst->key = dst->provider = NULL;
  dst->tok.bins = dst->cost.bins = NULL;
  if (!(dst->key = tki_strndup(src->key, src->key_len))) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  if (src->provider && !(dst->provider = tki_strndup(src->provider, src->provider_len)))
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  if (tki_sketch_copy(&dst->tok, &src->tok) || tki_sketch_copy(&dst->cost, &src->cost))
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  return TKN_OK;
}

/* A deep copy of a state (dst must be initialised with the same max_keys). */
static int state_copy(tki_state *dst, const tki_state *src) {
  dst->total = src->total;
  for (int d = 0; d < TKI_DIMS; d++) {
    const tki_dim *s = &src->d[d];
    tki_dim *t = &dst->d[d];
    if (s->n && tki_grow((void **)&t->e, &t->cap, s->n, sizeof *t->e) != TKN_OK) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < s->n; i++) {
      int rc = entry_copy(&t->e[i], &s->e[i]);
      t->n++; /* counted even on failure so that state_free frees its parts */
      if (rc != TKN_OK) return rc;
    }
    t->regular = s->regular;
    memcpy(t->index, s->index, s->icap * sizeof *s->index);
  }
  return TKN_OK;
}

/* Add one source entry into a state (non-transactional: used on a copy). */
static int merge_entry(tki_state *st, int d, const tki_entry *src, size_t max_keys) {
  tki_dim *dm = &st->d[d];
  key_ref k = {src->key, src->key_len, src->hash};
  int other = src->other;
  long i = other ? -1 : tki_dim_find(dm, k.s, k.len, k.hash);
  if (i < 0 && (other || dm->regular >= max_keys)) {
    k = other_key(d);
    other = 1;
    i = tki_dim_find(dm, k.s, k.len, k.hash);
  }
  if (i < 0) {
    if (tki_grow((void **)&dm->e, &dm->cap, dm->n + 1, sizeof *dm->e) != TKN_OK) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    tki_entry *e = &dm->e[dm->n];
    memset(e, 0, sizeof *e);
    if (!(e->key = tki_strndup(k.s, k.len))) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    e->key_len = k.len;
    e->hash = k.hash;
    e->other = other;
    i = (long)dm->n++;
    if (!other) dm->regular++;
    dim_insert_index(dm, (size_t)i);
  }
  tki_entry *e = &dm->e[i];
  int rc = agg_add(&e->a, &src->a);
  if (rc != TKN_OK) return rc;
  if (tki_sketch_merge(&e->tok, &src->tok) || tki_sketch_merge(&e->cost, &src->cost))
    return tki_fail(TKN_ERR_NOMEM, "out of memory");
  if (!e->provider && src->provider) {
    if (!(e->provider = tki_strndup(src->provider, src->provider_len))) return tki_fail(TKN_ERR_NOMEM, "out of memory");
    e->provider_len = src->provider_len;
  }
  return TKN_OK;
}

int tkn_meter_merge(tkn_meter *dst, tkn_meter *src) {
  if (!dst || !src) return tki_fail_null("tkn_meter_merge", !dst ? "dst" : "src");
  if (dst == src)
    return tki_fail(TKN_ERR_INVALID, "tkn_meter_merge: dst and src are the same meter");
  /* a fixed lock order: two merges in opposite directions cannot deadlock */
  tkn_meter *first = (uintptr_t)dst < (uintptr_t)src ? dst : src;
  tkn_meter *second = first == dst ? src : dst;
  lock(first);
  lock(second);
  tki_state next;
  int rc = state_init(&next, dst->o.max_keys);
  if (rc == TKN_OK) rc = state_copy(&next, &dst->st);
  if (rc == TKN_OK) rc = agg_add(&next.total, &src->st.total);
  for (int d = 0; d < TKI_DIMS && rc == TKN_OK; d++)
    for (size_t i = 0; i < src->st.d[d].n && rc == TKN_OK; i++)
      rc = merge_entry(&next, d, &src->st.d[d].e[i], dim_cap(dst->o.max_keys, d));
  if (rc == TKN_OK) {
    tki_state old = dst->st;
    dst->st = next;
    /* the cumulative series now start when the older of the two did */
    if (src->start_ns && (!dst->start_ns || src->start_ns < dst->start_ns))
      dst->start_ns = src->start_ns;
    state_free(&old);
  } else {
    state_free(&next);
    tki_fail(rc, rc == TKN_ERR_OVERFLOW ? "meter: merge: a sum would overflow int64"
                                                 : "meter: merge: out of memory");
  }
  unlock(second);
  unlock(first);
  return rc;
}

void tkn_meter_reset(tkn_meter *m) {
  if (!m) return;
  lock(m);
  state_clear(&m->st);
  m->start_ns = tki_meter_now_ns();
  unlock(m);
}
