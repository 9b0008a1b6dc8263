/* Budgets on a store: the hard limits are enforced by the store's atomic
 * reserve, so no interleaving of workers across the fleet passes them.
 *
 * This file is a budget backend (budget_internal.h): budget.c calls the
 * table below for each shared level of a chain, without naming the store.
 * The budget's own counters (d[]) mirror the store as last seen, which keeps
 * its status, level and limit callback working unchanged.
 *
 * Failure: fail closed by default (the store unreachable: nothing reserved,
 * TKN_ERR_UNAVAILABLE).  With the fallback option, a reservation is made on a
 * local budget of the fallback limits instead; its commit is kept in a queue
 * and replayed to the store (an idempotent commit with the reservation's id)
 * at the next store call that gets through, so it is counted exactly once;
 * once replayed it no longer counts against the local allowance, which thus
 * bounds the spend the store has not seen.  A replay the store refuses
 * outright (e.g. its counter would pass int64: not an outage, it would be
 * refused again) is dropped from the queue and counted
 * (tkn_budget_shared_dropped), so it never holds back the commits behind
 * it; it stays counted against the local allowance, as spend the fleet never
 * saw.
 * A commit that fails leaves the reservation open: committing it again sends
 * the same id, which the store counts at most once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../budget/budget_internal.h"
#include "store_internal.h"

#define DAY 86400
#define KEY_ROOM 32 /* ":d" + a day number */

typedef struct pending {
  struct pending *next;
  char id[TKN_STORE_ID_MAX + 1];
  int64_t actual[NDIM];
  size_t key_len;
  char key[];
} pending;

struct tki_bshared {
  tkn_store st;
  char *key;
  size_t key_len;
  int32_t period; /* NONE or DAY (the budget itself runs without a period) */
  int64_t utc_offset;
  int64_t lease_ms, id_ttl;
  tkn_budget *fb; /* the fallback budget, or NULL: fail closed */
  pthread_mutex_t mu; /* the replay queue */
  pending *head, *tail;
  atomic_size_t npending;
  _Atomic uint64_t dropped; /* replays the store refused outright */
};

struct tki_budget_res {
  char id[TKN_STORE_ID_MAX + 1];
  tkn_budget_reservation *fb; /* made on the fallback budget */
  size_t key_len;
  char key[]; /* the store key it was made on (the day's, for DAY periods) */
};

static const tki_budget_backend store_backend;

/* The store's state of a budget, NULL when the budget is not on a store. */
static struct tki_bshared *shared_of(const tkn_budget *b) {
  return b && b->backend == &store_backend ? b->backend_state : NULL;
}

/* ---- keys ---- */

static int64_t now_s(const tkn_budget *b) {
  if (b->o.clock) return b->o.clock(b->o.clock_user);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec;
}

static int64_t day_of(int64_t t) { return t >= 0 ? t / DAY : -((-t + DAY - 1) / DAY); }

/* The store key of the current period into buf (TKN_STORE_KEY_MAX + 1):
 * key ":all" without a period, key ":d" day with one.  The text after the
 * last ':' says which (a word, or 'd' and digits), so budget "acme:d20000"
 * (key "acme:d20000:all") never shares counters with budget "acme" on day
 * 20000 (key "acme:d20000"). */
static size_t period_key(const tkn_budget *b, char *buf) {
  const struct tki_bshared *s = shared_of(b);
  memcpy(buf, s->key, s->key_len);
  size_t n = s->key_len;
  if (s->period == TKN_BUDGET_PERIOD_DAY) {
    int64_t t = now_s(b), local;
    if (tki_add_i64(t, s->utc_offset, &local) != TKN_OK) local = t;
    n += (size_t)snprintf(buf + n, KEY_ROOM, ":d%lld", (long long)day_of(local));
  } else {
    memcpy(buf + n, ":all", 4);
    n += 4;
  }
  buf[n] = '\0';
  return n;
}

static int64_t key_ttl(const struct tki_bshared *s) {
  return s->period == TKN_BUDGET_PERIOD_DAY ? 2 * DAY : 0;
}

static void mirror_used(tkn_budget *c, const int64_t used[NDIM]) {
  for (int k = 0; k < NDIM; k++) atomic_store(&c->d[k].used, used[k]);
}

static const char *key_text(const struct tki_bshared *s, int *len) {
  *len = (int)(s->key_len > 200 ? 200 : s->key_len);
  return s->key;
}

/* ---- the replay queue of fallback commits ---- */

static int enqueue(struct tki_bshared *s, const struct tki_budget_res *r,
                   const int64_t actual[NDIM]) {
  pending *p = tki_malloc(sizeof *p + r->key_len + 1);
  if (!p) return tki_fail(TKN_ERR_NOMEM, "out of memory");
  p->next = NULL;
  memcpy(p->id, r->id, sizeof p->id);
  memcpy(p->actual, actual, sizeof p->actual);
  p->key_len = r->key_len;
  memcpy(p->key, r->key, r->key_len + 1);
  pthread_mutex_lock(&s->mu);
  if (s->tail) s->tail->next = p;
  else s->head = p;
  s->tail = p;
  atomic_fetch_add(&s->npending, 1);
  pthread_mutex_unlock(&s->mu);
  return TKN_OK;
}

/* Replay queued commits in order; stop at the first that may get through
 * later, dropping (and counting) those the store refuses outright.  TKN_OK
 * when the queue is empty and nothing was dropped; else the status of the
 * failure that stopped it, or of the last drop. */
static int flush(struct tki_bshared *s, char err[TKI_ERRLEN]) {
  if (atomic_load(&s->npending) == 0) return TKN_OK;
  int status = TKN_OK;
  pthread_mutex_lock(&s->mu);
  while (s->head) {
    pending *p = s->head;
    int64_t used[NDIM];
    int32_t dup = 0;
    char se[256] = "";
    int rc = s->st.commit(s->st.user, p->key, p->key_len, p->id, NDIM, p->actual, s->id_ttl,
                          key_ttl(s), used, &dup, se, sizeof se);
    if (rc != TKN_OK && tki_store_retryable(rc)) {
      status = tki_err(err, rc, "replaying a fallback commit: %s", se);
      break;
    }
    s->head = p->next;
    if (!s->head) s->tail = NULL;
    atomic_fetch_sub(&s->npending, 1);
    if (rc != TKN_OK) {
      /* refused outright: sending it again cannot help; it stays counted
       * against the local allowance */
      atomic_fetch_add(&s->dropped, 1);
      status = tki_err(err, rc,
                       "replaying a fallback commit: the store refused it (%s), dropped; it stays "
                       "counted against the local fallback allowance: %s",
                       tkn_strerror(rc), se);
      tki_free(p);
      continue;
    }
    /* the store counts it now: it no longer uses the local allowance */
    for (int k = 0; k < NDIM; k++) {
      atomic_fetch_sub(&s->fb->d[k].committed, p->actual[k]);
      atomic_fetch_sub(&s->fb->d[k].used, p->actual[k]);
    }
    tki_free(p);
  }
  pthread_mutex_unlock(&s->mu);
  return status;
}

/* ---- hooks called by budget.c ---- */

static int shared_reserve(tkn_budget *c, const int64_t amt[NDIM], struct tki_budget_res **out,
                        char err[TKI_ERRLEN]) {
  struct tki_bshared *s = shared_of(c);
  char ignored[TKI_ERRLEN];
  *out = NULL;
  char key[TKN_STORE_KEY_MAX + 1];
  size_t klen = period_key(c, key);
  struct tki_budget_res *r = tki_malloc(sizeof *r + klen + 1);
  if (!r) return tki_err(err, TKN_ERR_NOMEM, "out of memory reserving on a shared budget");
  memset(r, 0, sizeof *r);
  r->key_len = klen;
  memcpy(r->key, key, klen + 1);
  tki_store_id(r->id);
  (void)flush(s, ignored); /* best effort: the store may be back */
  int64_t used[NDIM] = {0, 0};
  char se[256] = "";
  int rc = s->st.reserve(s->st.user, key, klen, r->id, NDIM, amt, c->hard, s->lease_ms,
                         key_ttl(s), used, se, sizeof se);
  int kl;
  const char *kt = key_text(s, &kl);
  if (rc == TKN_OK) {
    mirror_used(c, used);
    *out = r;
    return TKN_OK;
  }
  if (rc == TKN_ERR_BUDGET) {
    mirror_used(c, used);
    tki_free(r);
    for (int k = 0; k < NDIM; k++) {
      if (used[k] > c->hard[k] - amt[k]) {
        int64_t left = c->hard[k] - used[k];
        return tki_err(err, TKN_ERR_BUDGET,
                       "hard %s limit %lld of shared budget \"%.*s\" refuses %lld: %lld committed "
                       "or reserved across the fleet, %lld left",
                       k ? "money" : "token", (long long)c->hard[k], kl, kt, (long long)amt[k],
                       (long long)used[k], (long long)(left > 0 ? left : 0));
      }
    }
    return tki_err(err, TKN_ERR_BUDGET, "shared budget \"%.*s\" refuses the reservation: %s", kl,
                   kt, se);
  }
  if (rc == TKN_ERR_UNAVAILABLE && s->fb) {
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = amt[0];
    a.money = amt[1];
    int frc = tkn_budget_reserve(s->fb, &a, &r->fb);
    if (frc == TKN_OK) {
      *out = r;
      return TKN_OK;
    }
    tki_free(r);
    return tki_err(err, frc,
                   "shared budget \"%.*s\": store unavailable (%s) and the local fallback budget "
                   "refuses: %s",
                   kl, kt, se, tki_error_message());
  }
  tki_free(r);
  if (rc == TKN_ERR_UNAVAILABLE)
    return tki_err(err, rc, "shared budget \"%.*s\": store unavailable, nothing reserved "
                   "(fail-closed): %s", kl, kt, se);
  return tki_err(err, rc, "shared budget \"%.*s\": store reserve failed (%s): %s", kl, kt,
                 tkn_strerror(rc), se);
}

static int shared_commit(tkn_budget *c, struct tki_budget_res *r, const int64_t actual[NDIM],
                       char err[TKI_ERRLEN]) {
  struct tki_bshared *s = shared_of(c);
  int kl;
  const char *kt = key_text(s, &kl);
  if (r->fb) {
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = actual[0];
    a.money = actual[1];
    /* queue first: once the fallback commit is made it must reach the store */
    if (enqueue(s, r, actual) != TKN_OK)
      return tki_err(err, TKN_ERR_NOMEM, "out of memory queueing a fallback commit");
    int rc = tkn_budget_commit(r->fb, &a);
    if (rc != TKN_OK) {
      /* the queued entry stays: committing again queues the same id, which
       * the store counts once */
      return tki_err(err, rc, "shared budget \"%.*s\": fallback commit failed: %s", kl, kt,
                     tki_error_message());
    }
    char ignored[TKI_ERRLEN];
    (void)flush(s, ignored);
    tki_free(r);
    return TKN_OK;
  }
  int64_t used[NDIM];
  int32_t dup = 0;
  char se[256] = "";
  char ignored[TKI_ERRLEN];
  (void)flush(s, ignored);
  int rc = s->st.commit(s->st.user, r->key, r->key_len, r->id, NDIM, actual, s->id_ttl,
                        key_ttl(s), used, &dup, se, sizeof se);
  if (rc == TKN_OK) {
    mirror_used(c, used);
    tki_free(r);
    return TKN_OK;
  }
  if (rc == TKN_ERR_UNAVAILABLE)
    return tki_err(err, rc,
                   "shared budget \"%.*s\": store unavailable, commit not recorded; the "
                   "reservation stays open (commit it again: it is counted once): %s",
                   kl, kt, se);
  return tki_err(err, rc, "shared budget \"%.*s\": store commit failed (%s): %s", kl, kt,
                 tkn_strerror(rc), se);
}

static void shared_release(tkn_budget *c, struct tki_budget_res *r) {
  if (!r) return;
  struct tki_bshared *s = shared_of(c);
  if (r->fb) {
    tkn_budget_release(r->fb);
  } else {
    /* unreachable: the lease frees the amount when it ends */
    char se[256];
    (void)s->st.release(s->st.user, r->key, r->key_len, r->id, se, sizeof se);
  }
  tki_free(r);
}

static int shared_refresh(tkn_budget *c, char err[TKI_ERRLEN]) {
  struct tki_bshared *s = shared_of(c);
  char ignored[TKI_ERRLEN];
  (void)flush(s, ignored);
  char key[TKN_STORE_KEY_MAX + 1];
  size_t klen = period_key(c, key);
  int64_t committed[NDIM] = {0, 0}, reserved[NDIM] = {0, 0};
  char se[256] = "";
  int rc = s->st.usage(s->st.user, key, klen, NDIM, committed, reserved, se, sizeof se);
  int kl;
  const char *kt = key_text(s, &kl);
  if (rc != TKN_OK)
    return tki_err(err, rc, "shared budget \"%.*s\": cannot read the store (%s): %s", kl, kt,
                   tkn_strerror(rc), se);
  for (int k = 0; k < NDIM; k++) {
    atomic_store(&c->d[k].committed, committed[k]);
    atomic_store(&c->d[k].reserved, reserved[k]);
    atomic_store(&c->d[k].used, committed[k] + reserved[k]);
  }
  return TKN_OK;
}

static void shared_free(void *state) {
  struct tki_bshared *s = state;
  if (!s) return;
  for (pending *p = s->head, *next; p; p = next) {
    next = p->next;
    tki_free(p);
  }
  tkn_budget_free(s->fb);
  pthread_mutex_destroy(&s->mu);
  tki_free(s->key);
  tki_free(s);
}

static const tki_budget_backend store_backend = {
    shared_reserve, shared_commit, shared_release, shared_refresh, shared_free,
};

/* ---- public ---- */

TKI_DEFINE_INIT(tkn_budget_shared_options_init, tkn_budget_shared_options, opts, TKN_BUDGET_SHARED_OPTIONS_VERSION,
                TKN_BUDGET_SHARED_OPTIONS_INIT)

static int check_shared(const tkn_budget_options *opts, const tkn_budget_shared_options *so,
                        const tkn_store *st, char err[TKI_ERRLEN]) {
  int rc = tki_store_check(st, "rclu", "shared budget", err);
  if (rc != TKN_OK) return rc;
  if (!opts || !so)
    return tki_err(err, TKN_ERR_INVALID, "shared budget: %s is NULL", opts ? "shared" : "opts");
  if (so->version != TKN_BUDGET_SHARED_OPTIONS_VERSION)
    return tki_err(err, TKN_ERR_VERSION, "shared budget options version %u is not %u",
                   so->version, TKN_BUDGET_SHARED_OPTIONS_VERSION);
  size_t key_len = tki_len(so->key, so->key_len);
  if (!so->key || key_len == 0 || key_len > TKN_STORE_KEY_MAX - KEY_ROOM)
    return tki_err(err, TKN_ERR_INVALID, "shared budget: key must be 1 to %d bytes (got %zu)",
                   TKN_STORE_KEY_MAX - KEY_ROOM, so->key ? key_len : 0);
  if (so->fallback > 1)
    return tki_err(err, TKN_ERR_INVALID, "shared budget: fallback must be 0 or 1 (got %u)",
                   so->fallback);
  if (so->fallback_tokens < 0 || so->fallback_money < 0)
    return tki_err(err, TKN_ERR_INVALID, "shared budget: negative fallback limit");
  if (so->lease_ms <= 0 || so->id_ttl_seconds <= 0)
    return tki_err(err, TKN_ERR_INVALID,
                   "shared budget: lease_ms and id_ttl_seconds must be > 0 (got %lld, %lld)",
                   (long long)so->lease_ms, (long long)so->id_ttl_seconds);
  if (opts->version == TKN_BUDGET_OPTIONS_VERSION && opts->period == TKN_BUDGET_PERIOD_ROLLING)
    return tki_err(err, TKN_ERR_UNSUPPORTED,
                   "shared budget: rolling periods are not supported on a store (use NONE or DAY)");
  if (opts->version == TKN_BUDGET_OPTIONS_VERSION && opts->period == TKN_BUDGET_PERIOD_DAY &&
      (opts->utc_offset_seconds <= -DAY || opts->utc_offset_seconds >= DAY))
    return tki_err(err, TKN_ERR_INVALID, "utc_offset_seconds %lld is not within a day",
                   (long long)opts->utc_offset_seconds);
  return TKN_OK;
}

int tkn_budget_new_shared(tkn_budget **out, const tkn_budget_options *opts,
                          const tkn_budget_shared_options *so, const tkn_store *store,
                          tkn_budget *parent) {
  if (out) *out = NULL;
  int rc = out ? check_shared(opts, so, store, NULL)
               : tki_fail(TKN_ERR_INVALID, "tkn_budget_new_shared: out is NULL");
  if (rc != TKN_OK) return rc;
  /* the budget itself runs without a period: the store's key carries the day */
  tkn_budget_options local = *opts;
  local.period = TKN_BUDGET_PERIOD_NONE;
  tkn_budget *b = NULL;
  if ((rc = tkn_budget_new(&b, &local, parent)) != TKN_OK) return rc;
  struct tki_bshared *s = tki_calloc(1, sizeof *s);
  if (!s || !(s->key = tki_strndup(so->key, tki_len(so->key, so->key_len)))) {
    tki_free(s);
    tkn_budget_free(b);
    return tki_fail(TKN_ERR_NOMEM, "out of memory allocating a shared budget");
  }
  s->st = *store;
  s->key_len = tki_len(so->key, so->key_len);
  s->period = opts->period;
  s->utc_offset = opts->utc_offset_seconds;
  s->lease_ms = so->lease_ms;
  s->id_ttl = so->id_ttl_seconds;
  atomic_init(&s->npending, 0);
  atomic_init(&s->dropped, 0);
  pthread_mutex_init(&s->mu, NULL);
  if (so->fallback) {
    tkn_budget_options fo = TKN_BUDGET_OPTIONS_INIT;
    fo.hard_tokens = so->fallback_tokens;
    fo.hard_money = so->fallback_money;
    if ((rc = tkn_budget_new(&s->fb, &fo, NULL)) != TKN_OK) {
      shared_free(s);
      tkn_budget_free(b);
      return rc;
    }
  }
  b->backend = &store_backend;
  b->backend_state = s;
  *out = b;
  return TKN_OK;
}

uint64_t tkn_budget_shared_pending(tkn_budget *budget) {
  return budget && shared_of(budget) ? (uint64_t)atomic_load(&shared_of(budget)->npending) : 0;
}

uint64_t tkn_budget_shared_dropped(tkn_budget *budget) {
  return budget && shared_of(budget) ? atomic_load(&shared_of(budget)->dropped) : 0;
}

int tkn_budget_shared_flush(tkn_budget *budget) {
  if (!budget) return tki_fail(TKN_ERR_INVALID, "tkn_budget_shared_flush: budget is NULL");
  if (!shared_of(budget)) return TKN_OK;
  return flush(shared_of(budget), NULL);
}
