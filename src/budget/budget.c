/* Token and money budgets: a hard limit that concurrent reservations can never
 * pass, soft / per-turn / output limits, a parent chain charged as a whole,
 * and rolling or calendar-day periods read through the host's clock.
 *
 * Each budget keeps, per dimension (tokens, money), `used` = committed +
 * reserved in one atomic word.  A reservation is a compare-and-swap loop that
 * refuses when used + amount would pass the hard limit, so no interleaving of
 * threads can overshoot.  A chain is reserved level by level and rolled back
 * if one level refuses; other threads may see the transient reservation on a
 * lower level, which can only make them more conservative.
 *
 * Periods: committed amounts are also added to a ring of slices; when the
 * clock enters a new slice, the expired slices are subtracted from committed
 * and used.  The ring is guarded by a mutex (commits and slice changes only).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "budget_internal.h"

#define DAY_SECONDS 86400

static pthread_mutex_t g_topology = PTHREAD_MUTEX_INITIALIZER;
static const char *const g_dim_name[NDIM] = {"token", "money"};

/* ---- helpers ---- */

static void budget_ref(tkn_budget *b) { atomic_fetch_add(&b->refs, 1); }

static void budget_destroy(tkn_budget *b) {
  if (b->backend) b->backend->free(b->backend_state);
  pthread_mutex_destroy(&b->mu);
  for (int k = 0; k < NDIM; k++) tki_free(b->ring[k]);
  tki_free(b);
}

/* Drop one reference; destroying a budget drops its reference on the parent. */
static void budget_unref(tkn_budget *b) {
  while (b && atomic_fetch_sub(&b->refs, 1) == 1) {
    tkn_budget *parent = b->parent;
    budget_destroy(b);
    b = parent;
  }
}

static int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
  return q;
}

/* Ring slot of slice x: a true modulo, so negative clocks stay consistent. */
static size_t slot_of(int64_t x, size_t n) {
  int64_t m = x % (int64_t)n;
  return (size_t)(m < 0 ? m + (int64_t)n : m);
}

static int64_t read_clock(const tkn_budget *b) {
  if (b->o.clock) return b->o.clock(b->o.clock_user);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

static int64_t slice_of(const tkn_budget *b, int64_t t) {
  if (b->o.period == TKN_BUDGET_PERIOD_DAY) {
    /* |offset| < one day, so the sum cannot overflow for any sane clock;
     * saturate rather than wrap if the host's clock is absurd. */
    int64_t local;
    if (tki_add_i64(t, b->o.utc_offset_seconds, &local) != TKN_OK) local = t;
    return floor_div(local, DAY_SECONDS);
  }
  return floor_div(t, b->o.slice_seconds);
}

/* Subtract the slices that left the window; re-arm callbacks whose usage is
 * back under the limit.  Caller holds b->mu. */
static void advance_locked(tkn_budget *b, int64_t now) {
  int64_t cur = atomic_load(&b->cur_slice);
  if (now <= cur) return;
  uint64_t steps = (uint64_t)now - (uint64_t)cur;
  size_t n = b->nslices;
  size_t expire = steps >= n ? n : (size_t)steps;
  for (size_t s = 1; s <= expire; s++) {
    /* the slot about to hold slice cur + s held slice cur + s - n */
    size_t slot = slot_of(cur + (int64_t)s, n);
    for (int k = 0; k < NDIM; k++) {
      int64_t v = b->ring[k][slot];
      if (v) {
        atomic_fetch_sub(&b->d[k].committed, v);
        atomic_fetch_sub(&b->d[k].used, v);
        b->ring[k][slot] = 0;
      }
    }
  }
  atomic_store(&b->cur_slice, now);
  for (int k = 0; k < NDIM; k++) {
    int64_t u = atomic_load(&b->d[k].used);
    if (u < b->soft[k]) atomic_fetch_and(&b->fired, ~(1u << (k * 2)));
    if (u < b->hard[k]) atomic_fetch_and(&b->fired, ~(1u << (k * 2 + 1)));
  }
}

/* Bring the period up to date; lock-free unless a slice boundary passed. */
static void advance(tkn_budget *b) {
  if (b->o.period == TKN_BUDGET_PERIOD_NONE) return;
  int64_t now = slice_of(b, read_clock(b));
  if (now <= atomic_load(&b->cur_slice)) return;
  pthread_mutex_lock(&b->mu);
  advance_locked(b, now);
  pthread_mutex_unlock(&b->mu);
}

/* used += amt unless that passes `limit`: TKN_OK, TKN_ERR_BUDGET (nothing
 * added) or TKN_ERR_OVERFLOW.  *seen receives the value compared. */
static int cas_add_limited(_Atomic int64_t *used, int64_t amt, int64_t limit, int64_t *seen) {
  int64_t old = atomic_load(used), next;
  for (;;) {
    *seen = old;
    if (tki_add_i64(old, amt, &next) != TKN_OK) return TKN_ERR_OVERFLOW;
    if (next > limit) return TKN_ERR_BUDGET;
    if (atomic_compare_exchange_weak(used, &old, next)) return TKN_OK;
  }
}

static int cas_add_checked(_Atomic int64_t *v, int64_t amt) {
  int64_t old = atomic_load(v), next;
  for (;;) {
    if (tki_add_i64(old, amt, &next) != TKN_OK) return TKN_ERR_OVERFLOW;
    if (atomic_compare_exchange_weak(v, &old, next)) return TKN_OK;
  }
}

static const char *level_name(int depth, char buf[32]) {
  if (depth == 0) return "this budget";
  if (depth == 1) return "its parent";
  snprintf(buf, 32, "ancestor %d", depth);
  return buf;
}

/* Fire the limit callback for every limit of b newly reached. */
static void fire_crossings(tkn_budget *b) {
  if (!b->o.on_limit) return;
  for (int k = 0; k < NDIM; k++) {
    int64_t u = atomic_load(&b->d[k].used);
    static const int32_t levels[2] = {TKN_BUDGET_SOFT, TKN_BUDGET_HARD};
    for (int l = 0; l < 2; l++) {
      int64_t lim = l == 0 ? b->soft[k] : b->hard[k];
      if (lim == TKN_BUDGET_UNLIMITED || u < lim) continue;
      unsigned bit = 1u << (k * 2 + l);
      if (atomic_fetch_or(&b->fired, bit) & bit) continue;
      b->o.on_limit(b, levels[l], k, b->o.on_limit_user);
    }
  }
}

static int check_options(const tkn_budget_options *o, char err[TKI_ERRLEN]) {
  if (o->version != TKN_BUDGET_OPTIONS_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "budget options version %u is not %u", o->version,
                   TKN_BUDGET_OPTIONS_VERSION);
  const struct {
    const char *name;
    int64_t v;
  } lim[] = {{"hard_tokens", o->hard_tokens}, {"soft_tokens", o->soft_tokens},
             {"turn_tokens", o->turn_tokens}, {"output_tokens", o->output_tokens},
             {"hard_money", o->hard_money},   {"soft_money", o->soft_money},
             {"turn_money", o->turn_money}};
  for (size_t i = 0; i < sizeof lim / sizeof lim[0]; i++)
    if (lim[i].v < 0)
      return tki_err(err, TKN_ERR_INVALID, "budget option %s is negative (%lld)", lim[i].name,
                     (long long)lim[i].v);
  if (o->soft_tokens != TKN_BUDGET_UNLIMITED && o->soft_tokens > o->hard_tokens)
    return tki_err(err, TKN_ERR_INVALID, "soft_tokens %lld is above hard_tokens %lld",
                   (long long)o->soft_tokens, (long long)o->hard_tokens);
  if (o->soft_money != TKN_BUDGET_UNLIMITED && o->soft_money > o->hard_money)
    return tki_err(err, TKN_ERR_INVALID, "soft_money %lld is above hard_money %lld",
                   (long long)o->soft_money, (long long)o->hard_money);
  switch (o->period) {
  case TKN_BUDGET_PERIOD_NONE:
    break;
  case TKN_BUDGET_PERIOD_ROLLING:
    if (o->period_seconds <= 0 || o->slice_seconds <= 0)
      return tki_err(err, TKN_ERR_INVALID,
                     "rolling period needs period_seconds > 0 and slice_seconds > 0 (got %lld, "
                     "%lld)",
                     (long long)o->period_seconds, (long long)o->slice_seconds);
    if (o->period_seconds % o->slice_seconds != 0)
      return tki_err(err, TKN_ERR_INVALID,
                     "slice_seconds %lld does not divide period_seconds %lld",
                     (long long)o->slice_seconds, (long long)o->period_seconds);
    if (o->period_seconds / o->slice_seconds > TKN_BUDGET_MAX_SLICES)
      return tki_err(err, TKN_ERR_LIMIT, "rolling period has %lld slices, more than %d",
                     (long long)(o->period_seconds / o->slice_seconds), TKN_BUDGET_MAX_SLICES);
    break;
  case TKN_BUDGET_PERIOD_DAY:
    if (o->utc_offset_seconds <= -DAY_SECONDS || o->utc_offset_seconds >= DAY_SECONDS)
      return tki_err(err, TKN_ERR_INVALID, "utc_offset_seconds %lld is not within a day",
                     (long long)o->utc_offset_seconds);
    break;
  default:
    return tki_err(err, TKN_ERR_INVALID, "unknown budget period %d", (int)o->period);
  }
  return TKN_OK;
}

static int chain_depth(const tkn_budget *b) {
  int n = 0;
  for (; b; b = b->parent) n++;
  return n;
}

/* ---- public ---- */

TKI_DEFINE_INIT(tkn_budget_options_init, tkn_budget_options, opts, TKN_BUDGET_OPTIONS_VERSION,
                TKN_BUDGET_OPTIONS_INIT)

int tkn_budget_new(tkn_budget **out, const tkn_budget_options *opts, tkn_budget *parent) {
  char err[TKI_ERRLEN] = "";
  int rc;
  if (out) *out = NULL;
  if (!out || !opts) {
    rc = tki_err(err, TKN_ERR_INVALID, "tkn_budget_new: %s is NULL", out ? "opts" : "out");
    goto fail;
  }
  if ((rc = check_options(opts, err)) != TKN_OK) goto fail;
  tkn_budget *b = tki_calloc(1, sizeof *b);
  if (!b) {
    rc = tki_err(err, TKN_ERR_NOMEM, "out of memory allocating a budget");
    goto fail;
  }
  b->o = *opts;
  b->hard[0] = opts->hard_tokens;
  b->soft[0] = opts->soft_tokens;
  b->hard[1] = opts->hard_money;
  b->soft[1] = opts->soft_money;
  if (opts->period != TKN_BUDGET_PERIOD_NONE) {
    b->nslices = opts->period == TKN_BUDGET_PERIOD_DAY
                     ? 1
                     : (size_t)(opts->period_seconds / opts->slice_seconds);
    for (int k = 0; k < NDIM; k++) {
      b->ring[k] = tki_calloc(b->nslices, sizeof(int64_t));
      if (!b->ring[k]) {
        for (int j = 0; j < k; j++) tki_free(b->ring[j]);
        tki_free(b);
        rc = tki_err(err, TKN_ERR_NOMEM, "out of memory allocating a budget period");
        goto fail;
      }
    }
  }
  atomic_init(&b->refs, 1);
  atomic_init(&b->fired, 0);
  for (int k = 0; k < NDIM; k++) {
    atomic_init(&b->d[k].used, 0);
    atomic_init(&b->d[k].reserved, 0);
    atomic_init(&b->d[k].committed, 0);
  }
  pthread_mutex_init(&b->mu, NULL);
  atomic_init(&b->cur_slice, opts->period == TKN_BUDGET_PERIOD_NONE ? 0 : slice_of(b, read_clock(b)));
  if (parent) {
    pthread_mutex_lock(&g_topology);
    int depth = chain_depth(parent);
    if (depth + 1 > TKN_BUDGET_MAX_DEPTH) {
      pthread_mutex_unlock(&g_topology);
      budget_destroy(b);
      rc = tki_err(err, TKN_ERR_LIMIT, "budget chain would be %d deep, more than %d", depth + 1,
                   TKN_BUDGET_MAX_DEPTH);
      goto fail;
    }
    budget_ref(parent);
    b->parent = parent;
    pthread_mutex_unlock(&g_topology);
  }
  *out = b;
  return TKN_OK;
fail:
  return rc;
}

void tkn_budget_free(tkn_budget *budget) { budget_unref(budget); }

int tkn_budget_set_parent(tkn_budget *budget, tkn_budget *parent) {
  if (!budget) return tki_fail(TKN_ERR_INVALID, "tkn_budget_set_parent: budget is NULL");
  pthread_mutex_lock(&g_topology);
  for (const tkn_budget *p = parent; p; p = p->parent) {
    if (p == budget) {
      pthread_mutex_unlock(&g_topology);
      return tki_fail(TKN_ERR_INVALID,
                     "set_parent refused: the new parent is this budget or one of its "
                     "descendants (a cycle)");
    }
  }
  int depth = chain_depth(parent) + 1;
  if (depth > TKN_BUDGET_MAX_DEPTH) {
    pthread_mutex_unlock(&g_topology);
    return tki_fail(TKN_ERR_LIMIT, "set_parent refused: chain would be %d deep, more than %d",
                   depth, TKN_BUDGET_MAX_DEPTH);
  }
  tkn_budget *old = budget->parent;
  if (parent) budget_ref(parent);
  budget->parent = parent;
  pthread_mutex_unlock(&g_topology);
  budget_unref(old);
  return TKN_OK;
}

/* Validate an amount; tokens = input + output. */
static int read_amount(tkn_budget *b, const tkn_budget_amount *a, const char *what,
                       int64_t amt[NDIM]) {
  (void)b;
  /* the parameter as the header names it: commit's is `actual` */
  if (!a) return tki_fail_null(what, strcmp(what, "commit") ? "amount" : "actual");
  if (a->version != TKN_BUDGET_AMOUNT_VERSION)
    return tki_fail(TKN_ERR_VERSION, "%s: amount version %u is not %u", what, a->version,
                   TKN_BUDGET_AMOUNT_VERSION);
  if (a->input_tokens < 0 || a->output_tokens < 0 || a->money < 0)
    return tki_fail(TKN_ERR_INVALID,
                   "%s: negative amount (input_tokens %lld, output_tokens %lld, money %lld)", what,
                   (long long)a->input_tokens, (long long)a->output_tokens, (long long)a->money);
  if (tki_add_i64(a->input_tokens, a->output_tokens, &amt[0]) != TKN_OK)
    return tki_fail(TKN_ERR_OVERFLOW, "%s: input_tokens + output_tokens overflows", what);
  amt[1] = a->money;
  return TKN_OK;
}

/* Snapshot the chain with a reference on each budget. */
static int take_chain(tkn_budget *b, tkn_budget *chain[TKN_BUDGET_MAX_DEPTH], int *depth) {
  int n = 0;
  for (tkn_budget *p = b; p; p = p->parent) {
    if (n == TKN_BUDGET_MAX_DEPTH) {
      for (int i = 0; i < n; i++) budget_unref(chain[i]);
      return tki_fail(TKN_ERR_LIMIT, "budget chain is deeper than %d", TKN_BUDGET_MAX_DEPTH);
    }
    budget_ref(p);
    chain[n++] = p;
  }
  *depth = n;
  return TKN_OK;
}

static void drop_chain(tkn_budget **chain, int depth) {
  for (int i = 0; i < depth; i++) budget_unref(chain[i]);
}

/* Per-turn and output limits of every level. */
static int check_turn(tkn_budget *b, tkn_budget **chain, int depth, const tkn_budget_amount *a,
                      const int64_t amt[NDIM]) {
  (void)b;
  char nb[32];
  for (int i = 0; i < depth; i++) {
    const tkn_budget_options *o = &chain[i]->o;
    if (a->output_tokens > o->output_tokens)
      return tki_fail(TKN_ERR_BUDGET, "output cap %lld tokens exceeds the output limit %lld of %s",
                     (long long)a->output_tokens, (long long)o->output_tokens, level_name(i, nb));
    if (amt[0] > o->turn_tokens)
      return tki_fail(TKN_ERR_BUDGET, "one call of %lld tokens exceeds the per-turn limit %lld of %s",
                     (long long)amt[0], (long long)o->turn_tokens, level_name(i, nb));
    if (amt[1] > o->turn_money)
      return tki_fail(TKN_ERR_BUDGET, "one call of %lld money exceeds the per-turn limit %lld of %s",
                     (long long)amt[1], (long long)o->turn_money, level_name(i, nb));
  }
  return TKN_OK;
}

/* Undo the reservation of amt on levels [0, n). */
static void unreserve_levels(tkn_budget **chain, struct tki_budget_res **sres, int n,
                             const int64_t amt[NDIM]) {
  for (int l = n - 1; l >= 0; l--) {
    if (chain[l]->backend) {
      chain[l]->backend->release(chain[l], sres[l]);
      sres[l] = NULL;
      continue;
    }
    for (int j = 0; j < NDIM; j++) {
      atomic_fetch_sub(&chain[l]->d[j].reserved, amt[j]);
      atomic_fetch_sub(&chain[l]->d[j].used, amt[j]);
    }
  }
}

/* Reserve amt on every level, all or nothing (a level with a backend on it). */
static int reserve_chain(tkn_budget *b, tkn_budget **chain, struct tki_budget_res **sres,
                         int depth, const int64_t amt[NDIM]) {
  (void)b;
  char nb[32];
  for (int i = 0; i < depth; i++) {
    tkn_budget *c = chain[i];
    if (c->backend) {
      char se[TKI_ERRLEN];
      int rc = c->backend->reserve(c, amt, &sres[i], se);
      if (rc != TKN_OK) {
        unreserve_levels(chain, sres, i, amt);
        return tki_fail(rc, "%s: %s", level_name(i, nb), se);
      }
      continue;
    }
    advance(c);
    for (int k = 0; k < NDIM; k++) {
      int64_t seen;
      int rc = cas_add_limited(&c->d[k].used, amt[k], c->hard[k], &seen);
      if (rc != TKN_OK) {
        /* roll back this level's earlier dimensions and every lower level */
        for (int j = k - 1; j >= 0; j--) atomic_fetch_sub(&c->d[j].used, amt[j]);
        unreserve_levels(chain, sres, i, amt);
        if (rc == TKN_ERR_OVERFLOW)
          return tki_fail(rc, "reserving %lld %s on %s overflows its total %lld", (long long)amt[k],
                         g_dim_name[k], level_name(i, nb), (long long)seen);
        int64_t left = c->hard[k] - seen;
        return tki_fail(TKN_ERR_BUDGET,
                       "hard %s limit %lld of %s refuses %lld: %lld committed or reserved, %lld left",
                       g_dim_name[k], (long long)c->hard[k], level_name(i, nb), (long long)amt[k],
                       (long long)seen, (long long)(left > 0 ? left : 0));
      }
    }
    for (int k = 0; k < NDIM; k++) atomic_fetch_add(&c->d[k].reserved, amt[k]);
  }
  return TKN_OK;
}

int tkn_budget_reserve(tkn_budget *budget, const tkn_budget_amount *amount,
                       tkn_budget_reservation **out) {
  if (out) *out = NULL;
  if (!budget) return tki_fail(TKN_ERR_INVALID, "tkn_budget_reserve: budget is NULL");
  if (!out) return tki_fail(TKN_ERR_INVALID, "reserve: out is NULL");
  int64_t amt[NDIM];
  int rc = read_amount(budget, amount, "reserve", amt);
  if (rc != TKN_OK) return rc;
  tkn_budget_reservation *r = tki_calloc(1, sizeof *r);
  if (!r) return tki_fail(TKN_ERR_NOMEM, "reserve: out of memory");
  if ((rc = take_chain(budget, r->chain, &r->depth)) != TKN_OK ||
      (rc = check_turn(budget, r->chain, r->depth, amount, amt)) != TKN_OK ||
      (rc = reserve_chain(budget, r->chain, r->sres, r->depth, amt)) != TKN_OK) {
    drop_chain(r->chain, r->depth);
    tki_free(r);
    return rc;
  }
  memcpy(r->amt, amt, sizeof r->amt);
  for (int i = 0; i < r->depth; i++) fire_crossings(r->chain[i]);
  *out = r;
  return TKN_OK;
}

/* Turn a reservation of `reserved` into a commit of `actual` on one level. */
static int commit_level(tkn_budget *c, const int64_t reserved[NDIM], const int64_t actual[NDIM]) {
  int periodic = c->o.period != TKN_BUDGET_PERIOD_NONE;
  if (periodic) {
    pthread_mutex_lock(&c->mu);
    advance_locked(c, slice_of(c, read_clock(c)));
  }
  int k, rc = TKN_OK;
  for (k = 0; k < NDIM; k++) {
    if ((rc = cas_add_checked(&c->d[k].committed, actual[k])) != TKN_OK) break;
    if ((rc = cas_add_checked(&c->d[k].used, actual[k] - reserved[k])) != TKN_OK) {
      atomic_fetch_sub(&c->d[k].committed, actual[k]);
      break;
    }
  }
  if (rc != TKN_OK) {
    for (int j = k - 1; j >= 0; j--) {
      atomic_fetch_sub(&c->d[j].committed, actual[j]);
      atomic_fetch_sub(&c->d[j].used, actual[j] - reserved[j]);
    }
  } else {
    for (k = 0; k < NDIM; k++) {
      atomic_fetch_sub(&c->d[k].reserved, reserved[k]);
      if (periodic) c->ring[k][slot_of(atomic_load(&c->cur_slice), c->nslices)] += actual[k];
    }
  }
  if (periodic) pthread_mutex_unlock(&c->mu);
  return rc;
}

static void uncommit_level(tkn_budget *c, const int64_t reserved[NDIM], const int64_t actual[NDIM]) {
  int periodic = c->o.period != TKN_BUDGET_PERIOD_NONE;
  if (periodic) pthread_mutex_lock(&c->mu);
  for (int k = 0; k < NDIM; k++) {
    atomic_fetch_sub(&c->d[k].committed, actual[k]);
    atomic_fetch_sub(&c->d[k].used, actual[k] - reserved[k]);
    atomic_fetch_add(&c->d[k].reserved, reserved[k]);
    if (periodic) {
      /* the slot may have expired meanwhile; only take back what is there */
      int64_t *slot = &c->ring[k][slot_of(atomic_load(&c->cur_slice), c->nslices)];
      *slot -= actual[k] <= *slot ? actual[k] : *slot;
    }
  }
  if (periodic) pthread_mutex_unlock(&c->mu);
}

/* In-process levels first, then those with a backend (whose commit cannot be
 * taken back): a backend that fails undoes the in-process levels and leaves
 * the reservation open; backend levels already committed are not committed
 * again (sres[i] NULL). */
static int commit_chain(tkn_budget *b, tkn_budget **chain, struct tki_budget_res **sres,
                        int depth, const int64_t reserved[NDIM], const int64_t actual[NDIM]) {
  (void)b;
  char nb[32];
  for (int i = 0; i < depth; i++) {
    if (chain[i]->backend) continue;
    if (commit_level(chain[i], reserved, actual) != TKN_OK) {
      for (int l = i - 1; l >= 0; l--)
        if (!chain[l]->backend) uncommit_level(chain[l], reserved, actual);
      return tki_fail(TKN_ERR_OVERFLOW, "commit of %lld tokens, %lld money overflows the totals of %s",
                     (long long)actual[0], (long long)actual[1], level_name(i, nb));
    }
  }
  for (int i = 0; i < depth; i++) {
    if (!chain[i]->backend || !sres[i]) continue;
    char se[TKI_ERRLEN];
    int rc = chain[i]->backend->commit(chain[i], sres[i], actual, se);
    if (rc != TKN_OK) {
      for (int l = depth - 1; l >= 0; l--)
        if (!chain[l]->backend) uncommit_level(chain[l], reserved, actual);
      return tki_fail(rc, "%s: %s", level_name(i, nb), se);
    }
    sres[i] = NULL;
  }
  for (int i = 0; i < depth; i++) fire_crossings(chain[i]);
  return TKN_OK;
}

int tkn_budget_commit(tkn_budget_reservation *res, const tkn_budget_amount *actual) {
  if (!res) return tki_fail_null("tkn_budget_commit", "res");
  tkn_budget *b = res->chain[0];
  int64_t amt[NDIM];
  int rc = read_amount(b, actual, "commit", amt);
  if (rc != TKN_OK) return rc;
  if ((rc = commit_chain(b, res->chain, res->sres, res->depth, res->amt, amt)) != TKN_OK)
    return rc;
  drop_chain(res->chain, res->depth);
  tki_free(res);
  return TKN_OK;
}

void tkn_budget_release(tkn_budget_reservation *res) {
  if (!res) return;
  unreserve_levels(res->chain, res->sres, res->depth, res->amt);
  drop_chain(res->chain, res->depth);
  tki_free(res);
}

int tkn_budget_charge(tkn_budget *budget, const tkn_budget_amount *amount) {
  if (!budget) return tki_fail(TKN_ERR_INVALID, "tkn_budget_charge: budget is NULL");
  int64_t amt[NDIM];
  int rc = read_amount(budget, amount, "charge", amt);
  if (rc != TKN_OK) return rc;
  tkn_budget *chain[TKN_BUDGET_MAX_DEPTH];
  struct tki_budget_res *sres[TKN_BUDGET_MAX_DEPTH] = {NULL};
  int depth = 0;
  if ((rc = take_chain(budget, chain, &depth)) != TKN_OK) return rc;
  if ((rc = check_turn(budget, chain, depth, amount, amt)) == TKN_OK &&
      (rc = reserve_chain(budget, chain, sres, depth, amt)) == TKN_OK) {
    rc = commit_chain(budget, chain, sres, depth, amt, amt);
    if (rc != TKN_OK) unreserve_levels(chain, sres, depth, amt);
  }
  drop_chain(chain, depth);
  return rc;
}

static int level_of(const tkn_budget *c) {
  int level = TKN_BUDGET_OK;
  for (int k = 0; k < NDIM; k++) {
    int64_t u = atomic_load(&c->d[k].used);
    if (c->hard[k] != TKN_BUDGET_UNLIMITED && u >= c->hard[k]) return TKN_BUDGET_HARD;
    if (c->soft[k] != TKN_BUDGET_UNLIMITED && u >= c->soft[k]) level = TKN_BUDGET_SOFT;
  }
  return level;
}

int tkn_budget_status(tkn_budget *budget, tkn_budget_state *state) {
  if (!budget) return tki_fail(TKN_ERR_INVALID, "tkn_budget_status: budget is NULL");
  if (!state) return tki_fail(TKN_ERR_INVALID, "status: state is NULL");
  if (state->version != TKN_BUDGET_STATE_VERSION)
    return tki_fail(TKN_ERR_VERSION, "status: state version %u is not %u", state->version,
                   TKN_BUDGET_STATE_VERSION);
  tkn_budget *chain[TKN_BUDGET_MAX_DEPTH];
  int depth = 0;
  int rc = take_chain(budget, chain, &depth);
  if (rc != TKN_OK) return rc;
  int level = TKN_BUDGET_OK;
  int64_t remaining[NDIM] = {TKN_BUDGET_UNLIMITED, TKN_BUDGET_UNLIMITED};
  for (int i = 0; i < depth; i++) {
    tkn_budget *c = chain[i];
    char se[TKI_ERRLEN];
    if (c->backend && (rc = c->backend->refresh(c, se)) != TKN_OK) {
      char nb[32];
      drop_chain(chain, depth);
      return tki_fail(rc, "status: %s: %s", level_name(i, nb), se);
    }
    advance(c);
    int l = level_of(c);
    if (l > level) level = l;
    for (int k = 0; k < NDIM; k++) {
      if (c->hard[k] == TKN_BUDGET_UNLIMITED) continue;
      int64_t left = c->hard[k] - atomic_load(&c->d[k].used);
      if (left < 0) left = 0;
      if (left < remaining[k]) remaining[k] = left;
    }
  }
  state->level = level;
  state->tokens_committed = atomic_load(&budget->d[0].committed);
  state->tokens_reserved = atomic_load(&budget->d[0].reserved);
  state->tokens_remaining = remaining[0];
  state->money_committed = atomic_load(&budget->d[1].committed);
  state->money_reserved = atomic_load(&budget->d[1].reserved);
  state->money_remaining = remaining[1];
  drop_chain(chain, depth);
  return TKN_OK;
}
