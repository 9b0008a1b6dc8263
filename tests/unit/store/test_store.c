/* Budgets, the tool cache and the meter on a fake in-memory store: what the
 * library does with a store, independent of Redis (the Redis tests are in
 * tests/redis).  The fake keeps one budget, a few values and counters, and
 * can be switched to answer TKN_ERR_UNAVAILABLE or another error. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include <tokenomy.h>

#include "test_util.h"

/* ---- the fake store ---- */

#define MAXR 64
#define MAXKV 16
static struct {
  int fail; /* status every call returns, 0: work */
  int64_t c[2], r[2];
  struct { char id[64]; int64_t a[2]; int open; } res[MAXR];
  char done[MAXR][64];
  int nres, ndone;
  char kv_key[MAXKV][256], kv_val[MAXKV][8192];
  size_t kv_len[MAXKV];
  int nkv;
  char ctr_key[MAXKV][256];
  int64_t ctr[MAXKV][16];
  int nctr;
  void (*on_set)(void); /* called (once) as a set starts */
  int64_t refuse_from;  /* > 0: commits of an amount >= it are refused (TKN_ERR_INVALID) */
} F;

static int is_done(const char *id) {
  for (int i = 0; i < F.ndone; i++)
    if (!strcmp(F.done[i], id)) return 1;
  return 0;
}
static int find_res(const char *id) {
  for (int i = 0; i < F.nres; i++)
    if (F.res[i].open && !strcmp(F.res[i].id, id)) return i;
  return -1;
}
#define FAIL_PRE                                          \
  if (F.fail) {                                           \
    snprintf(err, errlen, "fake store says %d", F.fail);  \
    return F.fail;                                        \
  }                                                       \
  (void)user;                                             \
  (void)key;                                              \
  (void)key_len;

static int f_reserve(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                     const int64_t *a, const int64_t *lim, int64_t lease, int64_t ttl,
                     int64_t *used, char *err, size_t errlen) {
  FAIL_PRE;
  (void)lease;
  (void)ttl;
  assert_int_equal(n, 2);
  for (int k = 0; k < 2; k++) used[k] = F.c[k] + F.r[k];
  if (find_res(id) >= 0 || is_done(id)) return TKN_OK;
  for (int k = 0; k < 2; k++)
    if (used[k] + a[k] > lim[k]) return TKN_ERR_BUDGET;
  assert_true(F.nres < MAXR);
  snprintf(F.res[F.nres].id, 64, "%s", id);
  F.res[F.nres].open = 1;
  for (int k = 0; k < 2; k++) {
    F.res[F.nres].a[k] = a[k];
    F.r[k] += a[k];
    used[k] += a[k];
  }
  F.nres++;
  return TKN_OK;
}
static int f_commit(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                    const int64_t *a, int64_t idttl, int64_t ttl, int64_t *used, int32_t *dup,
                    char *err, size_t errlen) {
  FAIL_PRE;
  (void)n;
  (void)idttl;
  (void)ttl;
  for (int k = 0; k < 2; k++) {
    if (F.refuse_from > 0 && a[k] >= F.refuse_from) {
      snprintf(err, errlen, "amount %lld is not below 2^53", (long long)a[k]);
      return TKN_ERR_INVALID;
    }
  }
  *dup = is_done(id);
  if (!*dup) {
    int i = find_res(id);
    if (i >= 0) {
      F.res[i].open = 0;
      for (int k = 0; k < 2; k++) F.r[k] -= F.res[i].a[k];
    }
    for (int k = 0; k < 2; k++) F.c[k] += a[k];
    snprintf(F.done[F.ndone++], 64, "%s", id);
  }
  for (int k = 0; k < 2; k++) used[k] = F.c[k] + F.r[k];
  return TKN_OK;
}
static int f_release(void *user, const char *key, size_t key_len, const char *id, char *err,
                     size_t errlen) {
  FAIL_PRE;
  int i = find_res(id);
  if (i >= 0) {
    F.res[i].open = 0;
    for (int k = 0; k < 2; k++) F.r[k] -= F.res[i].a[k];
  }
  return TKN_OK;
}
static int f_usage(void *user, const char *key, size_t key_len, uint32_t n, int64_t *c,
                   int64_t *r, char *err, size_t errlen) {
  FAIL_PRE;
  (void)n;
  memcpy(c, F.c, sizeof F.c);
  memcpy(r, F.r, sizeof F.r);
  return TKN_OK;
}
static int kv_find(const char *key, size_t len) {
  for (int i = 0; i < F.nkv; i++)
    if (strlen(F.kv_key[i]) == len && !memcmp(F.kv_key[i], key, len)) return i;
  return -1;
}
static int f_get(void *user, const char *key, size_t key_len, char *buf, size_t cap,
                 size_t *len, char *err, size_t errlen) {
  FAIL_PRE;
  int i = kv_find(key, key_len);
  if (i < 0) return TKN_ERR_NOT_FOUND;
  *len = F.kv_len[i];
  if (*len > cap) return TKN_ERR_TOO_SMALL;
  memcpy(buf, F.kv_val[i], *len);
  return TKN_OK;
}
static int f_set(void *user, const char *key, size_t key_len, const char *v, size_t vl,
                 int64_t ttl, char *err, size_t errlen) {
  FAIL_PRE;
  (void)ttl;
  if (F.on_set) {
    void (*hook)(void) = F.on_set;
    F.on_set = NULL;
    hook();
  }
  assert_true(key_len < 256 && vl <= sizeof F.kv_val[0]);
  int i = kv_find(key, key_len);
  if (i < 0) {
    assert_true(F.nkv < MAXKV);
    i = F.nkv++;
    memcpy(F.kv_key[i], key, key_len);
    F.kv_key[i][key_len] = '\0';
  }
  memcpy(F.kv_val[i], v, vl);
  F.kv_len[i] = vl;
  return TKN_OK;
}
static int ctr_find(const char *key, size_t len, int make) {
  for (int i = 0; i < F.nctr; i++)
    if (strlen(F.ctr_key[i]) == len && !memcmp(F.ctr_key[i], key, len)) return i;
  if (!make) return -1;
  assert_true(F.nctr < MAXKV && len < 256);
  memcpy(F.ctr_key[F.nctr], key, len);
  F.ctr_key[F.nctr][len] = '\0';
  return F.nctr++;
}
static int f_add(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                 const int64_t *d, int64_t idttl, int64_t *tot, int32_t *dup, char *err,
                 size_t errlen) {
  FAIL_PRE;
  (void)idttl;
  int i = ctr_find(key, key_len, 1);
  int again = id && is_done(id);
  if (dup) *dup = again;
  if (!again) {
    for (uint32_t k = 0; k < n; k++) F.ctr[i][k] += d[k];
    if (id) snprintf(F.done[F.ndone++], 64, "%s", id);
  }
  if (tot) memcpy(tot, F.ctr[i], n * sizeof *tot);
  return TKN_OK;
}
static int f_read(void *user, const char *key, size_t key_len, uint32_t n, int64_t *v,
                  char *err, size_t errlen) {
  FAIL_PRE;
  int i = ctr_find(key, key_len, 0);
  for (uint32_t k = 0; k < n; k++) v[k] = i < 0 ? 0 : F.ctr[i][k];
  return TKN_OK;
}

static tkn_store fake(void) {
  memset(&F, 0, sizeof F);
  tkn_store s = TKN_STORE_INIT;
  s.reserve = f_reserve;
  s.commit = f_commit;
  s.release = f_release;
  s.usage = f_usage;
  s.get = f_get;
  s.set = f_set;
  s.add = f_add;
  s.read = f_read;
  return s;
}

static int new_budget(tkn_budget **b, const tkn_store *st, int fallback) {
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "tenant";
  so.key_len = 6;
  so.fallback = (uint32_t)fallback;
  so.fallback_tokens = 500;
  return tkn_budget_new_shared(b, &o, &so, st, NULL);
}

static tkn_budget_amount tokens(int64_t n) {
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = n;
  return a;
}

/* ---- tests ---- */

static void new_shared_checks_its_arguments(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "k";
  so.key_len = 1;
  char err[512];
  tkn_budget *b;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(NULL, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, NULL, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, NULL, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  so.lease_ms = 0;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_non_null(strstr(err, "lease_ms"));
  so.lease_ms = 1000;
  so.fallback = 2;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  so.fallback = 1;
  so.fallback_money = -1;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  so.fallback_money = 0;
  o.hard_tokens = -5; /* checked by tkn_budget_new */
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_non_null(strstr(err, "hard_tokens"));
  st.version = 3;
  o.hard_tokens = 10;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_VERSION);
}

static void a_budget_without_a_store_has_nothing_pending(void **state) {
  (void)state;
  tkn_budget *b;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  assert_int_equal(tkn_budget_shared_pending(b), 0);
  assert_int_equal(tkn_budget_shared_flush(b), TKN_OK);
  assert_int_equal(tkn_budget_shared_pending(NULL), 0);
  assert_int_equal(tkn_budget_shared_flush(NULL), TKN_ERR_INVALID);
  tkn_budget_free(b);
}

/* Issue 21 item 8: a fallback commit the store refuses outright when it is
 * replayed (here an amount of 2^53, as the Redis adapter once refused) is
 * dropped and counted; it used to stay at the head of the queue for good,
 * holding back every commit behind it. */
static void a_replay_the_store_refuses_is_dropped_not_blocking(void **state) {
  (void)state;
  tkn_store st = fake();
  const int64_t p53 = (int64_t)1 << 53;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_money = INT64_MAX - 1;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "tenant";
  so.key_len = 6;
  so.fallback = 1;
  so.fallback_money = p53 + 100;
  tkn_budget *b;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &st, NULL), TKN_OK);
  F.fail = TKN_ERR_UNAVAILABLE;
  const int64_t amounts[2] = {p53, 10};
  for (int i = 0; i < 2; i++) {
    tkn_budget_amount x = TKN_BUDGET_AMOUNT_INIT;
    x.money = amounts[i];
    tkn_budget_reservation *r;
    assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK); /* on the fallback */
    assert_int_equal(tkn_budget_commit(r, &x), TKN_OK);
  }
  assert_int_equal(tkn_budget_shared_pending(b), 2);
  F.fail = 0;
  F.refuse_from = p53;
  assert_int_equal(tkn_budget_shared_flush(b), TKN_ERR_INVALID); /* the drop, said once */
  assert_non_null(strstr(tkn_error_last()->message, "dropped"));
  assert_non_null(strstr(tkn_error_last()->message, "not below 2^53"));
  assert_int_equal(tkn_budget_shared_pending(b), 0);
  assert_int_equal(tkn_budget_shared_dropped(b), 1);
  assert_int_equal(F.c[1], 10); /* the commit behind it got through */
  assert_int_equal(tkn_budget_shared_flush(b), TKN_OK);
  /* the dropped amount stays against the local allowance: 2^53 of its
   * 2^53 + 100, so the next outage allows 100 more, not 2^53 + 100 */
  F.fail = TKN_ERR_UNAVAILABLE;
  tkn_budget_amount x = TKN_BUDGET_AMOUNT_INIT;
  x.money = 101;
  tkn_budget_reservation *r;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_ERR_BUDGET);
  x.money = 100;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK);
  tkn_budget_release(r);
  F.fail = 0;
  assert_int_equal(tkn_budget_shared_dropped(NULL), 0);
  tkn_budget_free(b);
}

/* The meter's queue the same way: an add the store refuses outright is
 * dropped and counted, the ones behind it are sent. */
static int64_t g_refuse_cost;
static int f_add_refusing(void *user, const char *key, size_t key_len, const char *id,
                          uint32_t n, const int64_t *d, int64_t idttl, int64_t *tot,
                          int32_t *dup, char *err, size_t errlen) {
  if (!F.fail && n > 11 && d[11] == g_refuse_cost) {
    snprintf(err, errlen, "counter would overflow");
    return TKN_ERR_OVERFLOW;
  }
  return f_add(user, key, key_len, id, n, d, idttl, tot, dup, err, errlen);
}

static void a_meter_add_the_store_refuses_is_dropped_not_blocking(void **state) {
  (void)state;
  tkn_store st = fake();
  st.add = f_add_refusing;
  g_refuse_cost = 666;
  tkn_meter *m;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  assert_int_equal(tkn_meter_set_store(m, &st, "p", 1), TKN_OK);
  tkn_meter_call c = TKN_METER_CALL_INIT;
  c.usage.input_tokens = 5;
  F.fail = TKN_ERR_UNAVAILABLE;
  c.cost = 666; /* queued by the outage, refused once it is over */
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  c.cost = 9;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  F.fail = 0;
  assert_int_equal(tkn_meter_flush(m), TKN_ERR_OVERFLOW);
  assert_non_null(strstr(tkn_error_last()->message, "dropped"));
  assert_int_equal(tkn_meter_shared_dropped(m), 7);
  assert_int_equal(tkn_meter_flush(m), TKN_OK);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_OK);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.cost, 9);
  /* a fresh add it refuses is dropped at once, not queued */
  c.cost = 666;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_int_equal(tkn_meter_shared_dropped(m), 14);
  assert_int_equal(tkn_meter_flush(m), TKN_OK);
  tkn_meter_free(m);
}

static void a_store_error_is_reported_as_such(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_budget *b;
  assert_int_equal(new_budget(&b, &st, 1), TKN_OK);
  F.fail = TKN_ERR_IO; /* not an outage: no fallback either */
  tkn_budget_amount x = tokens(5);
  tkn_budget_reservation *r;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_ERR_IO);
  assert_non_null(strstr(tkn_error_last()->message, "store reserve failed"));
  assert_non_null(strstr(tkn_error_last()->message, "fake store says"));
  F.fail = 0;
  tkn_budget_free(b);
}

static void released_reservations_give_their_amount_back(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_budget *b;
  assert_int_equal(new_budget(&b, &st, 0), TKN_OK);
  tkn_budget_amount x = tokens(700);
  tkn_budget_reservation *r;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK);
  assert_int_equal(F.r[0], 700);
  tkn_budget_release(r);
  assert_int_equal(F.r[0], 0);
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK);
  assert_int_equal(tkn_budget_commit(r, &x), TKN_OK);
  assert_int_equal(F.c[0], 700);
  tkn_budget_free(b);
}

static void the_limit_callback_fires_on_fleet_wide_use(void **state) {
  (void)state;
  (void)state;
  tkn_store st = fake();
  F.c[0] = 950; /* other workers spent this */
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000;
  o.soft_tokens = 900;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "k";
  so.key_len = 1;
  tkn_budget *b;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &st, NULL), TKN_OK);
  tkn_budget_amount x = tokens(10);
  assert_int_equal(tkn_budget_charge(b, &x), TKN_OK);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.level, TKN_BUDGET_SOFT);
  assert_int_equal(s.tokens_committed, 960);
  assert_int_equal(s.tokens_remaining, 40);
  tkn_budget_free(b);
}

/* Every allocation of a scenario fails in turn: an error each time (or a
 * fail-open success), nothing leaked, and the store's books stay right. */
static void budget_scenario_survives_out_of_memory(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tkn_store st = fake();
    tt_alloc_install(n);
    tkn_budget *b = NULL;
    int done = 0;
    if (new_budget(&b, &st, 1) == TKN_OK) {
      tkn_budget_amount x = tokens(100), u = tokens(60);
      tkn_budget_reservation *r;
      if (tkn_budget_reserve(b, &x, &r) == TKN_OK) {
        if (tkn_budget_commit(r, &u) != TKN_OK) tkn_budget_release(r);
        else assert_int_equal(F.c[0], 60);
      }
      F.fail = TKN_ERR_UNAVAILABLE; /* on the fallback now */
      if (tkn_budget_reserve(b, &x, &r) == TKN_OK) {
        int rc = tkn_budget_commit(r, &u);
        if (rc != TKN_OK) {
          assert_int_equal(rc, TKN_ERR_NOMEM);
          tkn_budget_release(r);
        }
      }
      F.fail = 0;
      if (tkn_budget_shared_flush(b) == TKN_OK) assert_int_equal(tkn_budget_shared_pending(b), 0);
      done = !tt_alloc.failed;
      if (done) assert_int_equal(F.c[0], 120);
      tkn_budget_free(b);
    }
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) break;
  }
}

static void tool_cache_scenario_survives_out_of_memory(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tkn_store st = fake();
    tt_alloc_install(n);
    tkn_toolcache *a = NULL, *b = NULL;
    int done = 0;
    if (tkn_toolcache_new(&a, NULL) == TKN_OK && tkn_toolcache_new(&b, NULL) == TKN_OK &&
        tkn_toolcache_set_policy(a, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL) == TKN_OK &&
        tkn_toolcache_set_policy(b, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL) == TKN_OK &&
        tkn_toolcache_set_store(a, &st, "p", 1) == TKN_OK &&
        tkn_toolcache_set_store(b, &st, "p", 1) == TKN_OK &&
        tkn_toolcache_put(a, "t", 1, "{\"x\":1}", 7, NULL, 0, "value", 5, 3) == TKN_OK) {
      char *v = NULL;
      size_t vl;
      int rc = tkn_toolcache_get(b, "t", 1, "{\"x\":1}", 7, NULL, 0, &v, &vl);
      if (rc == TKN_OK) {
        assert_string_equal(v, "value");
        tkn_free(v);
      }
      done = !tt_alloc.failed && rc == TKN_OK;
    }
    tkn_toolcache_free(a);
    tkn_toolcache_free(b);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) break;
  }
}

static void a_store_value_for_another_key_is_a_miss(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_toolcache *a;
  assert_int_equal(tkn_toolcache_new(&a, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(a, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(a, &st, "p", 1), TKN_OK);
  assert_int_equal(tkn_toolcache_put(a, "t", 1, "{\"x\":1}", 7, NULL, 0, "value", 5, 3), TKN_OK);
  tkn_toolcache *b;
  assert_int_equal(tkn_toolcache_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(b, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(b, &st, "p", 1), TKN_OK);
  /* a collision of store keys: the stored blob names another call */
  assert_int_equal(F.nkv, 1);
  char *at = NULL;
  for (size_t i = 0; i + 7 <= F.kv_len[0] && !at; i++)
    if (!memcmp(F.kv_val[0] + i, "{\"x\":1}", 7)) at = F.kv_val[0] + i;
  assert_non_null(at);
  at[5] = '2';
  char *v = NULL;
  size_t vl;
  assert_int_equal(tkn_toolcache_get(b, "t", 1, "{\"x\":1}", 7, NULL, 0, &v, &vl),
                   TKN_ERR_NOT_FOUND);
  assert_null(v);
  tkn_toolcache_free(a);
  tkn_toolcache_free(b);
}

/* Issue 21 item 5, on the fake store: a put that read the invalidation
 * counters before another process invalidated the tool, and wrote after,
 * is not served (its value may predate the invalidation). */
static tkn_toolcache *g_other;
static void invalidate_in_another_process(void) {
  assert_int_equal(tkn_toolcache_invalidate_tool(g_other, "t", 1, NULL), TKN_OK);
}

static void a_put_overtaken_by_an_invalidation_is_not_served(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_toolcache *a, *b;
  assert_int_equal(tkn_toolcache_new(&a, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(a, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(b, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(a, &st, "p", 1), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(b, &st, "p", 1), TKN_OK);
  g_other = b;
  F.on_set = invalidate_in_another_process;
  assert_int_equal(tkn_toolcache_put(a, "t", 1, "{}", 2, NULL, 0, "stale", 5, 3), TKN_OK);
  assert_null(F.on_set); /* the invalidation ran between the put's read and its write */
  char *v = NULL;
  size_t vl;
  assert_int_equal(tkn_toolcache_get(b, "t", 1, "{}", 2, NULL, 0, &v, &vl), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_toolcache_get(a, "t", 1, "{}", 2, NULL, 0, &v, &vl), TKN_ERR_NOT_FOUND);
  assert_null(v);
  /* put again, now after it: served */
  assert_int_equal(tkn_toolcache_put(a, "t", 1, "{}", 2, NULL, 0, "fresh", 5, 3), TKN_OK);
  assert_int_equal(tkn_toolcache_get(b, "t", 1, "{}", 2, NULL, 0, &v, &vl), TKN_OK);
  assert_string_equal(v, "fresh");
  tkn_free(v);
  /* the counters need the store's add and read */
  tkn_store partial = st;
  partial.add = NULL;
  assert_int_equal(tkn_toolcache_set_store(a, &partial, "p", 1), TKN_ERR_INVALID);
  partial = st;
  partial.read = NULL;
  assert_int_equal(tkn_toolcache_set_store(a, &partial, "p", 1), TKN_ERR_INVALID);
  tkn_toolcache_free(a);
  tkn_toolcache_free(b);
}

static void meter_scenario_survives_out_of_memory(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tkn_store st = fake();
    tt_alloc_install(n);
    tkn_meter *m = NULL;
    int done = 0;
    if (tkn_meter_new(&m, NULL) == TKN_OK && tkn_meter_set_store(m, &st, "p", 1) == TKN_OK) {
      tkn_meter_call c = TKN_METER_CALL_INIT;
      c.usage.input_tokens = 5;
      c.cost = 9;
      if (tkn_meter_record(m, &c) == TKN_OK) {
        tkn_meter_stats s = TKN_METER_STATS_INIT;
        int rc = tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s);
        done = !tt_alloc.failed;
        if (done) {
          assert_int_equal(rc, TKN_OK);
          assert_int_equal(s.cost, 9);
        } else if (rc != TKN_OK) {
          assert_int_equal(rc, TKN_ERR_NOMEM);
        }
      }
    }
    tkn_meter_free(m);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) break;
  }
}

static void a_failed_store_commit_leaves_the_reservation_to_commit_again(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_budget *b;
  assert_int_equal(new_budget(&b, &st, 0), TKN_OK);
  tkn_budget_amount x = tokens(300);
  tkn_budget_reservation *r;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK);
  F.fail = TKN_ERR_IO;
  tkn_budget_amount spent = tokens(250);
  assert_int_equal(tkn_budget_commit(r, &spent), TKN_ERR_IO);
  assert_non_null(strstr(tkn_error_last()->message, "store commit failed"));
  assert_int_equal(F.c[0], 0);
  F.fail = 0;
  assert_int_equal(tkn_budget_commit(r, &spent), TKN_OK); /* counted once, now */
  assert_int_equal(F.c[0], 250);
  assert_int_equal(F.r[0], 0);
  tkn_budget_free(b);
}

static void a_daily_shared_budget_wants_an_offset_within_a_day(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.period = TKN_BUDGET_PERIOD_DAY;
  o.utc_offset_seconds = 86400;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "k";
  so.key_len = 1;
  char err[512];
  tkn_budget *b = NULL;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_null(b);
  assert_non_null(strstr(err, "utc_offset_seconds"));
  o.utc_offset_seconds = -3600;
  assert_int_equal(tt_keep_err(tkn_budget_new_shared(&b, &o, &so, &st, NULL), err, sizeof err), TKN_OK);
  tkn_budget_free(b);
}

/* The first read of a stored value takes a few KiB; a longer value is read
 * again with room for it, whole. */
static void a_stored_value_longer_than_the_first_read_comes_back_whole(void **state) {
  (void)state;
  tkn_store st = fake();
  static char big[6000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)('a' + i % 26);
  tkn_toolcache *a, *b;
  assert_int_equal(tkn_toolcache_new(&a, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(a, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(b, "t", 1, 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(a, &st, "p", 1), TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(b, &st, "p", 1), TKN_OK);
  assert_int_equal(tkn_toolcache_put(a, "t", 1, "{}", 2, NULL, 0, big, sizeof big, 1500), TKN_OK);
  char *v = NULL;
  size_t vl = 0;
  assert_int_equal(tkn_toolcache_get(b, "t", 1, "{}", 2, NULL, 0, &v, &vl), TKN_OK); /* via the store */
  assert_int_equal(vl, sizeof big);
  assert_memory_equal(v, big, sizeof big);
  tkn_free(v);
  tkn_toolcache_free(a);
  tkn_toolcache_free(b);
}

static void meter_store_arguments_are_checked(void **state) {
  (void)state;
  tkn_store st = fake();
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_ERR_STATE);
  assert_int_equal(tkn_meter_set_store(m, &st, NULL, 0), TKN_ERR_INVALID);
  char why[256];
  tt_copy_err(why, sizeof why);
  assert_non_null(strstr(why, "prefix"));
  static char long_prefix[300];
  memset(long_prefix, 'p', sizeof long_prefix);
  assert_int_equal(tkn_meter_set_store(m, &st, long_prefix, sizeof long_prefix), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_set_store(m, &st, "p", 1), TKN_OK);
  s.version = 99;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_ERR_VERSION);
  s.version = TKN_METER_STATS_VERSION;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER__DIMENSIONS, NULL, 0, &s), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 3, &s), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, long_prefix, sizeof long_prefix, &s),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_OK);
  tkn_meter_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(new_shared_checks_its_arguments),
      cmocka_unit_test(a_budget_without_a_store_has_nothing_pending),
      cmocka_unit_test(a_store_error_is_reported_as_such),
      cmocka_unit_test(released_reservations_give_their_amount_back),
      cmocka_unit_test(the_limit_callback_fires_on_fleet_wide_use),
      cmocka_unit_test(budget_scenario_survives_out_of_memory),
      cmocka_unit_test(tool_cache_scenario_survives_out_of_memory),
      cmocka_unit_test(a_store_value_for_another_key_is_a_miss),
      cmocka_unit_test(a_put_overtaken_by_an_invalidation_is_not_served),
      cmocka_unit_test(a_replay_the_store_refuses_is_dropped_not_blocking),
      cmocka_unit_test(a_meter_add_the_store_refuses_is_dropped_not_blocking),
    cmocka_unit_test(a_put_overtaken_by_an_invalidation_is_not_served),
      cmocka_unit_test(meter_scenario_survives_out_of_memory),
      cmocka_unit_test(a_failed_store_commit_leaves_the_reservation_to_commit_again),
      cmocka_unit_test(a_daily_shared_budget_wants_an_offset_within_a_day),
      cmocka_unit_test(a_stored_value_longer_than_the_first_read_comes_back_whole),
      cmocka_unit_test(meter_store_arguments_are_checked),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
