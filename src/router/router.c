/* The router at run time: decisions, failover through cooldowns, retries per
 * failure class, shadow sampling and agreement counters, calibration.  The
 * compiled config is never written after construction; cooldowns are atomics
 * written under the router's mutex, shadow counters are atomics. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "router_internal.h"

TKI_DEFINE_INIT(tkn_router_options_init, tkn_router_options, opts, TKN_ROUTER_OPTIONS_VERSION,
                TKN_ROUTER_OPTIONS_INIT)

TKI_DEFINE_INIT(tkn_router_decision_init, tkn_router_decision, d, TKN_ROUTER_DECISION_VERSION,
                TKN_ROUTER_DECISION_INIT)

void tkn_router_free(tkn_router *r) { tki_router_destroy(r); }

size_t tkn_router_tier_count(const tkn_router *r) { return r ? r->n_tiers : 0; }
size_t tkn_router_rule_count(const tkn_router *r) { return r ? r->n_rules : 0; }

const char *tkn_router_tier_name(const tkn_router *r, size_t i) {
  return r && i < r->n_tiers ? r->tiers[i].name.s : NULL;
}

size_t tkn_router_model_count(const tkn_router *r) { return r ? r->n_models : 0; }

const char *tkn_router_model_name(const tkn_router *r, size_t i) {
  return r && i < r->n_models ? r->models[i].name.s : NULL;
}

int tkn_router_tier_threshold(const tkn_router *r, size_t i, double *out) {
  if (!r || !out) return tki_fail_null("tkn_router_tier_threshold", !r ? "router" : "out");
  if (i >= r->n_tiers)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_tier_threshold: tier index i = %zu past the "
                    "end (%zu tiers)", i, r->n_tiers);
  *out = r->tiers[i].threshold;
  return TKN_OK;
}

int tkn_router_tier_model(const tkn_router *r, size_t i, int32_t *tier, const char **model) {
  if (!r || !tier || !model)
    return tki_fail_null("tkn_router_tier_model", !r ? "router" : !tier ? "tier" : "model");
  if (i >= r->n_tiers)
    return tki_fail(TKN_ERR_INVALID, "router tier model: no tier %zu (%zu tiers)", i, r->n_tiers);
  uint32_t m;
  if (tki_router_pick(r, (int32_t)i, tki_router_now(r), tier, &m))
    return tki_fail(TKN_ERR_UNAVAILABLE,
                    "router tier model: every model from tier '%s' up is cooling down",
                    r->tiers[i].name.s);
  *model = r->models[m].name.s;
  return TKN_OK;
}

int64_t tki_router_now(const tkn_router *r) {
  if (r->opts.now_ms) return r->opts.now_ms(r->opts.clock_user);
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int tki_router_pick(const tkn_router *r, int32_t from, int64_t now, int32_t *tier,
                    uint32_t *model) {
  for (size_t t = (size_t)from; t < r->n_tiers; t++) {
    const tki_tier *ti = &r->tiers[t];
    for (size_t k = 0; k < ti->n_models; k++) {
      uint32_t m = ti->models[k];
      if (atomic_load_explicit(&r->models[m].cool_until, memory_order_relaxed) <= now) {
        *tier = (int32_t)t;
        *model = m;
        return TKN_OK;
      }
    }
  }
  return TKN_ERR_UNAVAILABLE;
}

static int64_t now_if_needed(const tkn_router *r) {
  /* No cooldown was ever set: every cool_until is 0, skip the clock. */
  return atomic_load_explicit(&r->cool_any, memory_order_acquire) ? tki_router_now(r) : 0;
}

int tkn_router_decide(const tkn_router *r, const tkn_task *t, tkn_router_decision *d) {
  if (!r || !d) return tki_fail_null("tkn_router_decide", !r ? "router" : "d");
  if (d->version != TKN_ROUTER_DECISION_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_router_decide: unknown version");
  int32_t rule = tki_router_match(r, t);
  int32_t rt = rule >= 0 ? r->rules[rule].tier : r->default_tier;
  int64_t now = now_if_needed(r);
  int32_t tier;
  uint32_t model;
  int rc = tki_router_pick(r, rt, now, &tier, &model);
  if (rc) return rc;
  d->rule = rule;
  d->rule_tier = rt;
  d->tier = tier;
  d->tier_name = r->tiers[tier].name.s;
  d->model = r->models[model].name.s;
  d->reason = rule >= 0 ? r->rules[rule].reason : "default";
  d->cascade = rule >= 0 ? r->rules[rule].cascade : 0;
  d->shadow = 0;
  d->shadow_tier = -1;
  d->shadow_model = NULL;
  if (rule < 0 || !t || !t->has_id) return TKN_OK;
  tki_rule *ru = &r->rules[rule];
  if (!ru->shadow_cut || ru->shadow_tier <= tier) return TKN_OK;
  uint64_t h = tki_hash64(t->id, t->id_len, r->opts.shadow_seed);
  if ((h >> 11) >= ru->shadow_cut) return TKN_OK;
  int32_t st;
  uint32_t sm;
  if (tki_router_pick(r, ru->shadow_tier, now, &st, &sm)) return TKN_OK;
  d->shadow = 1;
  d->shadow_tier = st;
  d->shadow_model = r->models[sm].name.s;
  atomic_fetch_add_explicit(&ru->sampled, 1, memory_order_relaxed);
  return TKN_OK;
}

/* ---- failures ---- */

static tki_model *find_model(const tkn_router *r, const char *name, size_t len) {
  if (!name) return NULL;
  uint64_t h = tki_hash64(name, len, 0);
  for (size_t i = 0; i < r->n_models; i++) {
    tki_model *m = &r->models[i];
    if (m->name.hash == h && m->name.len == len && memcmp(m->name.s, name, len) == 0) return m;
  }
  return NULL;
}

int tkn_router_report_failure(const tkn_router *r, const char *model, size_t len, int32_t cls,
                              int32_t *cooled) {
  len = tki_len(model, len);
  if (cooled) *cooled = 0;
  if (!r || cls < 0 || cls >= TKN_LLM_FAIL__COUNT)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_report_failure: %s",
                    r ? "unknown failure class" : "router is NULL");
  tki_model *m = find_model(r, model, len);
  if (!m)
    return tki_fail(TKN_ERR_NOT_FOUND, "router: model \"%.*s\" is in no tier",
                    (int)(len > 128 ? 128 : len), model ? model : "");
  if (cls == TKN_LLM_FAIL_BAD_REQUEST || cls == TKN_LLM_FAIL_CONTENT_POLICY) return TKN_OK;
  int64_t now = tki_router_now(r);
  pthread_mutex_t *lock = (pthread_mutex_t *)&r->lock;
  pthread_mutex_lock(lock);
  size_t cap = (size_t)r->allowed_fails;
  m->fails[m->head] = now;
  m->head = (m->head + 1) % cap;
  if (m->n_fails < cap) m->n_fails++;
  size_t recent = 0;
  for (size_t i = 0; i < m->n_fails; i++)
    if (now - m->fails[i] < r->window_ms) recent++;
  if (recent >= cap) {
    atomic_store_explicit(&m->cool_until, now + r->cooldown_ms, memory_order_relaxed);
    atomic_store_explicit((_Atomic int *)&r->cool_any, 1, memory_order_release);
    m->n_fails = 0;
    m->head = 0;
    if (cooled) *cooled = 1;
  }
  pthread_mutex_unlock(lock);
  return TKN_OK;
}

int tkn_router_model_cooldown(const tkn_router *r, const char *model, size_t len,
                              int64_t *until_ms) {
  len = tki_len(model, len);
  if (!r || !until_ms)
    return tki_fail_null("tkn_router_model_cooldown", !r ? "router" : "until_ms");
  *until_ms = 0;
  tki_model *m = find_model(r, model, len);
  if (!m) return tki_fail(TKN_ERR_NOT_FOUND, "tkn_router_model_cooldown: not found");
  int64_t until = atomic_load_explicit(&m->cool_until, memory_order_relaxed);
  if (until && until > tki_router_now(r)) *until_ms = until;
  return TKN_OK;
}

int tkn_router_retries(const tkn_router *r, int32_t cls, int32_t *out) {
  if (!r || !out || cls < 0 || cls >= TKN_LLM_FAIL__COUNT)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_retries: %s",
                    !r ? "router is NULL" : !out ? "out is NULL" : "unknown failure class");
  *out = r->retries[cls];
  return TKN_OK;
}

/* ---- shadow evaluation ---- */

int tkn_router_shadow_compare(const tkn_router *r, int32_t rule, const char *cheap,
                              size_t cheap_len, const char *strong, size_t strong_len,
                              tkn_router_comparator cmp, void *user, int32_t *agreed) {
  cheap_len = tki_len(cheap, cheap_len);
  strong_len = tki_len(strong, strong_len);
  if (agreed) *agreed = 0;
  if (!r || !cmp) return tki_fail_null("tkn_router_shadow_compare", !r ? "router" : "cmp");
  if (rule < 0 || (size_t)rule >= r->n_rules)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_shadow_compare: rule %d is not a rule (%zu)",
                    (int)rule, r->n_rules);
  if ((!cheap && cheap_len) || (!strong && strong_len))
    return tki_fail(TKN_ERR_INVALID, "tkn_router_shadow_compare: %s is NULL with a length",
                    !cheap && cheap_len ? "cheap" : "strong");
  int v = cmp(cheap ? cheap : "", cheap_len, strong ? strong : "", strong_len, user);
  if (v < 0) return tki_fail(TKN_ERR_CALLBACK, "tkn_router_shadow_compare: a host callback failed");
  tki_rule *ru = &r->rules[rule];
  atomic_fetch_add_explicit(&ru->compared, 1, memory_order_relaxed);
  if (v > 0) atomic_fetch_add_explicit(&ru->agreed, 1, memory_order_relaxed);
  if (agreed) *agreed = v > 0;
  return TKN_OK;
}

int tkn_router_shadow_stats(const tkn_router *r, int32_t rule, uint64_t *sampled,
                            uint64_t *compared, uint64_t *agreed) {
  if (!r) return tki_fail_null("tkn_router_shadow_stats", "router");
  if (rule < 0 || (size_t)rule >= r->n_rules)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_shadow_stats: rule %d is not a rule (%zu)",
                    (int)rule, r->n_rules);
  tki_rule *ru = &r->rules[rule];
  if (sampled) *sampled = atomic_load_explicit(&ru->sampled, memory_order_relaxed);
  if (compared) *compared = atomic_load_explicit(&ru->compared, memory_order_relaxed);
  if (agreed) *agreed = atomic_load_explicit(&ru->agreed, memory_order_relaxed);
  return TKN_OK;
}

int tkn_router_shadow_report(const tkn_router *r, char **out, size_t *out_len) {
  if (!r || !out) return tki_fail_null("tkn_router_shadow_report", !r ? "router" : "out");
  *out = NULL;
  if (out_len) *out_len = 0;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"rules\":[");
  int first = 1;
  for (size_t i = 0; i < r->n_rules; i++) {
    tki_rule *ru = &r->rules[i];
    if (!ru->shadow_cut) continue;
    uint64_t s = atomic_load(&ru->sampled), c = atomic_load(&ru->compared),
             a = atomic_load(&ru->agreed);
    tki_buf_printf(&b, "%s{\"index\":%zu,\"tier\":", first ? "" : ",", i);
    first = 0;
    tki_buf_json_string(&b, r->tiers[ru->tier].name.s, r->tiers[ru->tier].name.len);
    tki_buf_puts(&b, ",\"shadow_tier\":");
    tki_buf_json_string(&b, r->tiers[ru->shadow_tier].name.s,
                        r->tiers[ru->shadow_tier].name.len);
    tki_buf_puts(&b, ",\"rate\":");
    tki_buf_double(&b, ru->shadow_rate);
    tki_buf_printf(&b, ",\"sampled\":%llu,\"compared\":%llu,\"agreed\":%llu,\"agreement\":",
                   (unsigned long long)s, (unsigned long long)c, (unsigned long long)a);
    if (c) tki_buf_double(&b, (double)a / (double)c);
    else tki_buf_puts(&b, "null");
    tki_buf_putc(&b, '}');
  }
  tki_buf_puts(&b, "]}");
  return tki_buf_give(&b, out, out_len, "tkn_router_shadow_report");
}

/* ---- calibration ---- */

static int cmp_desc(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? 1 : x > y ? -1 : 0;
}

int tkn_router_calibrate(const double *scores, size_t n, const double *shares, size_t n_tiers,
                         double *thresholds) {
  if (!scores || !shares || !thresholds)
    return tki_fail_null("tkn_router_calibrate",
                         !scores ? "scores" : !shares ? "shares" : "thresholds");
  if (n == 0 || n_tiers == 0)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_calibrate: %s is 0", n ? "n_tiers" : "n");
  double sum = 0;
  for (size_t i = 0; i < n_tiers; i++) {
    if (!(shares[i] >= 0 && shares[i] <= 1))
      return tki_fail(TKN_ERR_INVALID, "tkn_router_calibrate: shares[%zu] is not in [0, 1]", i);
    sum += shares[i];
  }
  if (fabs(sum - 1.0) > 1e-6)
    return tki_fail(TKN_ERR_INVALID, "tkn_router_calibrate: shares sum to %g, not 1", sum);
  for (size_t i = 0; i < n; i++)
    if (!isfinite(scores[i]))
      return tki_fail(TKN_ERR_INVALID, "tkn_router_calibrate: scores[%zu] is not finite", i);
  if (n > SIZE_MAX / sizeof(double)) return tki_fail(TKN_ERR_OVERFLOW, "tkn_router_calibrate: integer overflow");
  double *d = tki_malloc(n * sizeof *d);
  if (!d) return tki_fail(TKN_ERR_NOMEM, "tkn_router_calibrate: out of memory");
  memcpy(d, scores, n * sizeof *d);
  qsort(d, n, sizeof *d, cmp_desc);
  /* Tiers 0..i together take the top cum_i of the sample: the threshold of
   * tier i is the score of the last task in that top slice. */
  double cum = 0;
  for (size_t i = 0; i + 1 < n_tiers; i++) {
    cum += shares[i];
    double want = cum * (double)n;
    size_t k = want >= (double)n ? n : (size_t)llround(want);
    thresholds[i] = k == 0 ? HUGE_VAL : d[k - 1];
  }
  thresholds[n_tiers - 1] = -HUGE_VAL;
  tki_free(d);
  return TKN_OK;
}
