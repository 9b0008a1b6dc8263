/* The store on a real Redis (started by redis_fixture.py): the adapter's
 * operations one by one, then budgets, the tool cache and the meter on it.
 * Outages are simulated by a store wrapper that can refuse calls (down) or
 * run them and then lose the reply (the worst case for double counting). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <hiredis/hiredis.h>

#include "redis_util.h"

static tkn_redis *g_r;
static tkn_store g_st;

/* ---- a store wrapper that fails on demand ---- */

#define UP 0
#define DOWN 1      /* calls fail before reaching Redis */
#define LOST_REPLY 2 /* calls reach Redis, then report failure */
static int g_mode = UP;
static int g_calls;

static int w_fail(char *err, size_t errlen) {
  snprintf(err, errlen, "simulated outage");
  return TKN_ERR_UNAVAILABLE;
}
#define WRAP_PRE                                       \
  g_calls++;                                           \
  if (g_mode == DOWN) return w_fail(err, errlen);
#define WRAP_POST(rc) (g_mode == LOST_REPLY ? w_fail(err, errlen) : (rc))

static int w_reserve(void *u, const char *k, size_t kl, const char *id, uint32_t n,
                     const int64_t *a, const int64_t *l, int64_t lease, int64_t ttl, int64_t *used,
                     char *err, size_t errlen) {
  WRAP_PRE;
  int rc = g_st.reserve(u, k, kl, id, n, a, l, lease, ttl, used, err, errlen);
  return WRAP_POST(rc);
}
static int w_commit(void *u, const char *k, size_t kl, const char *id, uint32_t n,
                    const int64_t *a, int64_t idttl, int64_t ttl, int64_t *used, int32_t *dup,
                    char *err, size_t errlen) {
  WRAP_PRE;
  int rc = g_st.commit(u, k, kl, id, n, a, idttl, ttl, used, dup, err, errlen);
  return WRAP_POST(rc);
}
static int w_release(void *u, const char *k, size_t kl, const char *id, char *err, size_t errlen) {
  WRAP_PRE;
  int rc = g_st.release(u, k, kl, id, err, errlen);
  return WRAP_POST(rc);
}
static int w_usage(void *u, const char *k, size_t kl, uint32_t n, int64_t *c, int64_t *r,
                   char *err, size_t errlen) {
  WRAP_PRE;
  return g_st.usage(u, k, kl, n, c, r, err, errlen);
}
static int w_get(void *u, const char *k, size_t kl, char *buf, size_t cap, size_t *len, char *err,
                 size_t errlen) {
  WRAP_PRE;
  return g_st.get(u, k, kl, buf, cap, len, err, errlen);
}
static int w_set(void *u, const char *k, size_t kl, const char *v, size_t vl, int64_t ttl,
                 char *err, size_t errlen) {
  WRAP_PRE;
  int rc = g_st.set(u, k, kl, v, vl, ttl, err, errlen);
  return WRAP_POST(rc);
}
static int w_add(void *u, const char *k, size_t kl, const char *id, uint32_t n, const int64_t *d,
                 int64_t idttl, int64_t *tot, int32_t *dup, char *err, size_t errlen) {
  WRAP_PRE;
  int rc = g_st.add(u, k, kl, id, n, d, idttl, tot, dup, err, errlen);
  return WRAP_POST(rc);
}
static int w_read(void *u, const char *k, size_t kl, uint32_t n, int64_t *v, char *err,
                  size_t errlen) {
  WRAP_PRE;
  return g_st.read(u, k, kl, n, v, err, errlen);
}

static tkn_store wrapped(void) {
  tkn_store s = g_st;
  s.reserve = w_reserve;
  s.commit = w_commit;
  s.release = w_release;
  s.usage = w_usage;
  s.get = w_get;
  s.set = w_set;
  s.add = w_add;
  s.read = w_read;
  return s;
}

static int setup(void **state) {
  (void)state;
  g_r = tr_client(2, 10);
  assert_int_equal(tkn_redis_store(g_r, &g_st), TKN_OK);
  g_mode = UP;
  return 0;
}
static int teardown(void **state) {
  (void)state;
  tkn_redis_free(g_r);
  g_r = NULL;
  return 0;
}

static size_t K(char *buf, const char *what) {
  tr_key(buf, 128, what);
  return strlen(buf);
}

/* ---- the adapter ---- */

static void options_init_agrees_with_macro(void **state) {
  (void)state;
  tkn_redis_options a = TKN_REDIS_OPTIONS_INIT, b;
  memset(&b, 0xff, sizeof b);
  assert_int_equal(tkn_redis_options_init(&b, TKN_REDIS_OPTIONS_VERSION), TKN_OK);
  assert_memory_equal(&a, &b, sizeof a);
  assert_int_equal(tkn_redis_options_init(&b, 99), TKN_ERR_VERSION);
  assert_int_equal(tkn_redis_options_init(NULL, TKN_REDIS_OPTIONS_VERSION), TKN_ERR_INVALID);
}

static void new_rejects_bad_options_with_a_text(void **state) {
  (void)state;
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.port = 0;
  tkn_redis *r = (tkn_redis *)&o;
  char err[256] = "";
  assert_int_equal(tkn_redis_new(&r, &o, err, sizeof err), TKN_ERR_INVALID);
  assert_null(r);
  assert_non_null(strstr(err, "port"));
  o = (tkn_redis_options)TKN_REDIS_OPTIONS_INIT;
  o.command_timeout_ms = 0;
  assert_int_equal(tkn_redis_new(&r, &o, err, sizeof err), TKN_ERR_INVALID);
  o = (tkn_redis_options)TKN_REDIS_OPTIONS_INIT;
  o.version = 7;
  assert_int_equal(tkn_redis_new(&r, &o, err, sizeof err), TKN_ERR_VERSION);
  assert_int_equal(tkn_redis_new(NULL, NULL, err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(tkn_redis_store(NULL, &g_st), TKN_ERR_INVALID);
  tkn_redis_free(NULL);
}

static void ping_answers(void **state) {
  (void)state;
  assert_int_equal(tkn_redis_ping(g_r), TKN_OK);
  assert_int_equal(tkn_redis_ping(NULL), TKN_ERR_INVALID);
}

static void reserve_grants_within_the_limit_and_refuses_beyond(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "limit");
  int64_t amt[2] = {60, 5}, lim[2] = {100, 10}, used[2];
  assert_int_equal(g_st.reserve(g_r, k, kl, "r1", 2, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(used[0], 60);
  assert_int_equal(used[1], 5);
  assert_int_equal(g_st.reserve(g_r, k, kl, "r2", 2, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_ERR_BUDGET);
  assert_int_equal(used[0], 60); /* the values compared */
  int64_t c[2], r[2];
  assert_int_equal(g_st.usage(g_r, k, kl, 2, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 60);
  assert_int_equal(c[0], 0);
}

static void reserve_is_all_or_nothing_across_counters(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "allornothing");
  int64_t amt[2] = {10, 50}, lim[2] = {100, 40}, used[2], c[2], r[2];
  assert_int_equal(g_st.reserve(g_r, k, kl, "x", 2, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_ERR_BUDGET);
  assert_int_equal(g_st.usage(g_r, k, kl, 2, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 0); /* the first counter was not reserved either */
  assert_int_equal(r[1], 0);
}

static void reserve_twice_with_one_id_reserves_once(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "idem");
  int64_t amt[1] = {30}, lim[1] = {INT64_MAX}, used[1], c[1], r[1];
  assert_int_equal(g_st.reserve(g_r, k, kl, "same", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(g_st.reserve(g_r, k, kl, "same", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(g_st.usage(g_r, k, kl, 1, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 30);
}

static void commit_counts_once_per_id(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "commit");
  int64_t amt[1] = {30}, lim[1] = {100}, act[1] = {25}, used[1], c[1], r[1];
  int32_t dup = -1;
  assert_int_equal(g_st.reserve(g_r, k, kl, "c1", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(
      g_st.commit(g_r, k, kl, "c1", 1, act, 3600, 0, used, &dup, err, sizeof err), TKN_OK);
  assert_int_equal(dup, 0);
  assert_int_equal(used[0], 25);
  assert_int_equal(
      g_st.commit(g_r, k, kl, "c1", 1, act, 3600, 0, used, &dup, err, sizeof err), TKN_OK);
  assert_int_equal(dup, 1);
  assert_int_equal(g_st.usage(g_r, k, kl, 1, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(c[0], 25);
  assert_int_equal(r[0], 0);
  /* and a committed id cannot be reserved again */
  assert_int_equal(g_st.reserve(g_r, k, kl, "c1", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(g_st.usage(g_r, k, kl, 1, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 0);
}

static void commit_without_a_reservation_still_counts(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "charge");
  int64_t act[2] = {7, 3}, used[2], c[2], r[2];
  int32_t dup;
  assert_int_equal(
      g_st.commit(g_r, k, kl, "never-reserved", 2, act, 3600, 0, used, &dup, err, sizeof err),
      TKN_OK);
  assert_int_equal(g_st.usage(g_r, k, kl, 2, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(c[0], 7);
  assert_int_equal(c[1], 3);
}

static void release_frees_the_amount(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "release");
  int64_t amt[1] = {40}, lim[1] = {50}, used[1], c[1], r[1];
  assert_int_equal(g_st.reserve(g_r, k, kl, "a", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(g_st.release(g_r, k, kl, "a", err, sizeof err), TKN_OK);
  assert_int_equal(g_st.release(g_r, k, kl, "not-open", err, sizeof err), TKN_OK);
  assert_int_equal(g_st.usage(g_r, k, kl, 1, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 0);
  assert_int_equal(g_st.reserve(g_r, k, kl, "b", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
}

static void a_lease_that_ends_frees_the_amount(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "lease");
  int64_t amt[1] = {40}, lim[1] = {50}, used[1], c[1], r[1];
  assert_int_equal(g_st.reserve(g_r, k, kl, "crashed", 1, amt, lim, 30, 0, used, err, sizeof err),
                   TKN_OK);
  tr_sleep_ms(120);
  assert_int_equal(g_st.usage(g_r, k, kl, 1, c, r, err, sizeof err), TKN_OK);
  assert_int_equal(r[0], 0);
  /* committing after the lease still records the spend */
  int32_t dup;
  assert_int_equal(
      g_st.commit(g_r, k, kl, "crashed", 1, amt, 3600, 0, used, &dup, err, sizeof err), TKN_OK);
  assert_int_equal(used[0], 40);
}

static void scripts_run_after_the_server_forgot_them(void **state) {
  (void)state;
  redisContext *c = redisConnect("127.0.0.1", tr_port());
  assert_non_null(c);
  assert_int_equal(c->err, 0);
  redisReply *rep = redisCommand(c, "SCRIPT FLUSH");
  assert_non_null(rep);
  freeReplyObject(rep);
  redisFree(c);
  char k[128], err[256];
  size_t kl = K(k, "noscript");
  int64_t amt[1] = {1}, lim[1] = {10}, used[1];
  assert_int_equal(g_st.reserve(g_r, k, kl, "n", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(used[0], 1);
}

static void get_and_set_with_a_ttl(void **state) {
  (void)state;
  char k[128], err[256], buf[8];
  size_t kl = K(k, "kv"), len = 0;
  assert_int_equal(g_st.get(g_r, k, kl, buf, sizeof buf, &len, err, sizeof err),
                   TKN_ERR_NOT_FOUND);
  assert_int_equal(g_st.set(g_r, k, kl, "a\0b", 3, 0, err, sizeof err), TKN_OK);
  assert_int_equal(g_st.get(g_r, k, kl, buf, sizeof buf, &len, err, sizeof err), TKN_OK);
  assert_int_equal(len, 3);
  assert_memory_equal(buf, "a\0b", 3);
  assert_int_equal(g_st.set(g_r, k, kl, "0123456789", 10, 0, err, sizeof err), TKN_OK);
  assert_int_equal(g_st.get(g_r, k, kl, buf, sizeof buf, &len, err, sizeof err),
                   TKN_ERR_TOO_SMALL);
  assert_int_equal(len, 10);
  assert_int_equal(g_st.set(g_r, k, kl, "x", 1, 30, err, sizeof err), TKN_OK);
  tr_sleep_ms(120);
  assert_int_equal(g_st.get(g_r, k, kl, buf, sizeof buf, &len, err, sizeof err),
                   TKN_ERR_NOT_FOUND);
}

static void add_counts_once_per_id_and_read_returns_totals(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "add");
  int64_t d[3] = {1, 20, 0}, tot[3], v[3];
  int32_t dup = -1;
  assert_int_equal(g_st.add(g_r, k, kl, "op1", 3, d, 3600, tot, &dup, err, sizeof err), TKN_OK);
  assert_int_equal(dup, 0);
  assert_int_equal(g_st.add(g_r, k, kl, "op1", 3, d, 3600, tot, &dup, err, sizeof err), TKN_OK);
  assert_int_equal(dup, 1);
  assert_int_equal(g_st.add(g_r, k, kl, NULL, 3, d, 0, tot, NULL, err, sizeof err), TKN_OK);
  assert_int_equal(tot[1], 40);
  assert_int_equal(g_st.read(g_r, k, kl, 3, v, err, sizeof err), TKN_OK);
  assert_int_equal(v[0], 2);
  assert_int_equal(v[1], 40);
  assert_int_equal(v[2], 0);
}

static void amounts_lua_cannot_hold_exactly_are_refused(void **state) {
  (void)state;
  char k[128], err[256];
  size_t kl = K(k, "exact");
  int64_t big[1] = {(int64_t)1 << 53}, neg[1] = {-1}, lim[1] = {INT64_MAX}, used[1];
  assert_int_equal(g_st.reserve(g_r, k, kl, "b", 1, big, lim, 60000, 0, used, err, sizeof err),
                   TKN_ERR_LIMIT);
  assert_non_null(strstr(err, "2^53"));
  assert_int_equal(g_st.reserve(g_r, k, kl, "n", 1, neg, lim, 60000, 0, used, err, sizeof err),
                   TKN_ERR_INVALID);
}

static void an_unreachable_server_is_unavailable_with_its_address(void **state) {
  (void)state;
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.port = 1; /* nothing listens on port 1 */
  o.retries = 1;
  o.retry_delay_ms = 1;
  tkn_redis *r;
  assert_int_equal(tkn_redis_new(&r, &o, NULL, 0), TKN_OK); /* no connection yet */
  tkn_store st;
  tkn_redis_store(r, &st);
  char err[256];
  int64_t amt[1] = {1}, lim[1] = {1}, used[1];
  assert_int_equal(st.reserve(r, "k", 1, "i", 1, amt, lim, 1000, 0, used, err, sizeof err),
                   TKN_ERR_UNAVAILABLE);
  assert_non_null(strstr(err, "127.0.0.1:1"));
  assert_non_null(strstr(err, "unavailable"));
  char msg[256];
  assert_true(tkn_redis_errmsg(r, msg, sizeof msg) > 0);
  assert_string_equal(msg, err);
  assert_int_equal(tkn_redis_ping(r), TKN_ERR_UNAVAILABLE);
  tkn_redis_free(r);
}

static void a_reconnect_follows_a_dropped_connection(void **state) {
  (void)state;
  assert_int_equal(tkn_redis_ping(g_r), TKN_OK);
  uint64_t before = tkn_redis_reconnects(g_r);
  redisContext *c = redisConnect("127.0.0.1", tr_port());
  assert_non_null(c);
  redisReply *rep = redisCommand(c, "CLIENT KILL TYPE normal SKIPME yes");
  assert_non_null(rep);
  freeReplyObject(rep);
  redisFree(c);
  assert_int_equal(tkn_redis_ping(g_r), TKN_OK);
  assert_int_equal(tkn_redis_reconnects(g_r), before + 1);
}

/* ---- budgets on the store ---- */

static tkn_budget *budget_on(const tkn_store *st, const char *key, int64_t hard, int fallback,
                             tkn_budget *parent) {
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = hard;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = key;
  so.key_len = strlen(key);
  so.fallback = (uint32_t)fallback;
  so.fallback_tokens = 100;
  tkn_budget *b = NULL;
  char err[512];
  int rc = tkn_budget_new_shared(&b, &o, &so, st, parent, err, sizeof err);
  if (rc != TKN_OK) fail_msg("tkn_budget_new_shared: %s", err);
  return b;
}

static tkn_budget_amount tokens(int64_t n) {
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = n;
  return a;
}

static void two_workers_share_one_budget(void **state) {
  (void)state;
  char k[128];
  K(k, "share");
  tkn_redis *r2 = tr_client(2, 10);
  tkn_store st2;
  tkn_redis_store(r2, &st2);
  tkn_budget *a = budget_on(&g_st, k, 100, 0, NULL), *b = budget_on(&st2, k, 100, 0, NULL);
  tkn_budget_amount x = tokens(70), y = tokens(40);
  tkn_budget_reservation *ra, *rb;
  assert_int_equal(tkn_budget_reserve(a, &x, &ra), TKN_OK);
  assert_int_equal(tkn_budget_reserve(b, &y, &rb), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_budget_errmsg(b), "across the fleet"));
  assert_non_null(strstr(tkn_budget_errmsg(b), "30 left"));
  assert_int_equal(tkn_budget_commit(ra, &y), TKN_OK); /* used 40 of the 70 */
  assert_int_equal(tkn_budget_reserve(b, &y, &rb), TKN_OK);
  tkn_budget_release(rb);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.tokens_committed, 40);
  assert_int_equal(s.tokens_reserved, 0);
  assert_int_equal(s.tokens_remaining, 60);
  tkn_budget_free(a);
  tkn_budget_free(b);
  tkn_redis_free(r2);
}

static void an_unavailable_store_fails_closed(void **state) {
  (void)state;
  char k[128];
  K(k, "closed");
  tkn_store w = wrapped();
  tkn_budget *b = budget_on(&w, k, 1000, 0, NULL);
  g_mode = DOWN;
  tkn_budget_amount x = tokens(10);
  tkn_budget_reservation *r = (tkn_budget_reservation *)&x;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_ERR_UNAVAILABLE);
  assert_null(r);
  assert_non_null(strstr(tkn_budget_errmsg(b), "fail-closed"));
  assert_non_null(strstr(tkn_budget_errmsg(b), "simulated outage"));
  assert_int_equal(tkn_budget_charge(b, &x), TKN_ERR_UNAVAILABLE);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_ERR_UNAVAILABLE);
  g_mode = UP;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.tokens_committed + s.tokens_reserved, 0);
  tkn_budget_free(b);
}

static void a_commit_that_failed_stays_open_and_counts_once(void **state) {
  (void)state;
  char k[128];
  K(k, "recommit");
  tkn_store w = wrapped();
  tkn_budget *b = budget_on(&w, k, 1000, 0, NULL);
  tkn_budget_amount x = tokens(50), u = tokens(30);
  tkn_budget_reservation *r;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK);
  g_mode = LOST_REPLY; /* Redis records it, the reply is lost */
  assert_int_equal(tkn_budget_commit(r, &u), TKN_ERR_UNAVAILABLE);
  assert_non_null(strstr(tkn_budget_errmsg(b), "stays open"));
  g_mode = DOWN;
  assert_int_equal(tkn_budget_commit(r, &u), TKN_ERR_UNAVAILABLE);
  g_mode = UP;
  assert_int_equal(tkn_budget_commit(r, &u), TKN_OK);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.tokens_committed, 30);
  assert_int_equal(s.tokens_reserved, 0);
  tkn_budget_free(b);
}

static void the_fallback_budget_reserves_locally_and_replays_once(void **state) {
  (void)state;
  char k[128];
  K(k, "fallback");
  tkn_store w = wrapped();
  tkn_budget *b = budget_on(&w, k, 1000, 1, NULL);
  g_mode = DOWN;
  tkn_budget_amount x = tokens(60), u = tokens(45);
  tkn_budget_reservation *r, *r2;
  assert_int_equal(tkn_budget_reserve(b, &x, &r), TKN_OK); /* fallback allowance 100 */
  assert_int_equal(tkn_budget_reserve(b, &x, &r2), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_budget_errmsg(b), "fallback"));
  assert_int_equal(tkn_budget_commit(r, &u), TKN_OK);
  assert_int_equal(tkn_budget_shared_pending(b), 1);
  assert_int_equal(tkn_budget_shared_flush(b), TKN_ERR_UNAVAILABLE);
  g_mode = LOST_REPLY; /* the replay reaches Redis but looks failed */
  assert_int_equal(tkn_budget_shared_flush(b), TKN_ERR_UNAVAILABLE);
  g_mode = UP;
  assert_int_equal(tkn_budget_shared_flush(b), TKN_OK);
  assert_int_equal(tkn_budget_shared_pending(b), 0);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.tokens_committed, 45);
  tkn_budget_free(b);
}

static void an_in_process_child_is_held_by_its_shared_parent(void **state) {
  (void)state;
  char k[128];
  K(k, "parent");
  tkn_budget *p = budget_on(&g_st, k, 100, 0, NULL), *c = NULL;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000;
  assert_int_equal(tkn_budget_new(&c, &o, p, NULL, 0), TKN_OK);
  tkn_budget_amount x = tokens(80), y = tokens(30);
  tkn_budget_reservation *r, *r2;
  assert_int_equal(tkn_budget_reserve(c, &x, &r), TKN_OK);
  assert_int_equal(tkn_budget_reserve(c, &y, &r2), TKN_ERR_BUDGET);
  assert_non_null(strstr(tkn_budget_errmsg(c), "its parent"));
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(c, &s), TKN_OK);
  assert_int_equal(s.tokens_reserved, 80); /* the child's own, in-process */
  assert_int_equal(s.tokens_remaining, 20); /* the parent's, from the store */
  assert_int_equal(tkn_budget_charge(c, &y), TKN_ERR_BUDGET);
  tkn_budget_release(r);
  tkn_budget_free(c);
  tkn_budget_free(p);
}

static int64_t g_now;
static int64_t test_clock(void *user) {
  (void)user;
  return g_now;
}

static void a_daily_budget_starts_afresh_the_next_day(void **state) {
  (void)state;
  char k[128];
  K(k, "daily");
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 100;
  o.period = TKN_BUDGET_PERIOD_DAY;
  o.clock = test_clock;
  g_now = 1700000000;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = k;
  so.key_len = strlen(k);
  tkn_budget *b;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &g_st, NULL, NULL, 0), TKN_OK);
  tkn_budget_amount x = tokens(90);
  assert_int_equal(tkn_budget_charge(b, &x), TKN_OK);
  assert_int_equal(tkn_budget_charge(b, &x), TKN_ERR_BUDGET);
  g_now += 86400;
  assert_int_equal(tkn_budget_charge(b, &x), TKN_OK);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &s), TKN_OK);
  assert_int_equal(s.tokens_committed, 90);
  tkn_budget_free(b);
}

static void new_shared_rejects_what_it_cannot_do(void **state) {
  (void)state;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = "k";
  so.key_len = 1;
  tkn_budget *b = (tkn_budget *)&o;
  char err[512];
  o.period = TKN_BUDGET_PERIOD_ROLLING;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &g_st, NULL, err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_null(b);
  assert_non_null(strstr(err, "rolling"));
  o.period = TKN_BUDGET_PERIOD_NONE;
  so.key_len = 0;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &g_st, NULL, err, sizeof err),
                   TKN_ERR_INVALID);
  so.key_len = 1;
  tkn_store partial = g_st;
  partial.usage = NULL;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &partial, NULL, err, sizeof err),
                   TKN_ERR_INVALID);
  assert_non_null(strstr(err, "usage"));
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, NULL, NULL, err, sizeof err),
                   TKN_ERR_INVALID);
  so.version = 9;
  assert_int_equal(tkn_budget_new_shared(&b, &o, &so, &g_st, NULL, err, sizeof err),
                   TKN_ERR_VERSION);
  tkn_budget_shared_options a = TKN_BUDGET_SHARED_OPTIONS_INIT, c;
  assert_int_equal(tkn_budget_shared_options_init(&c, TKN_BUDGET_SHARED_OPTIONS_VERSION), TKN_OK);
  assert_memory_equal(&a, &c, sizeof a);
  tkn_store s0 = TKN_STORE_INIT, s1;
  assert_int_equal(tkn_store_init(&s1, TKN_STORE_VERSION), TKN_OK);
  assert_memory_equal(&s0, &s1, sizeof s0);
  assert_int_equal(tkn_store_init(&s1, 2), TKN_ERR_VERSION);
}

/* ---- the tool cache on the store ---- */

static tkn_toolcache *cache_on(const tkn_store *st, const char *prefix) {
  tkn_toolcache *c;
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, "search", 6, 1, 60000, TKN_TOOLCACHE_SCOPE_SESSION),
                   TKN_OK);
  assert_int_equal(tkn_toolcache_set_store(c, st, prefix, strlen(prefix)), TKN_OK);
  return c;
}

static void a_result_put_by_one_worker_is_a_hit_for_another(void **state) {
  (void)state;
  char p[128];
  K(p, "tc");
  tkn_toolcache *a = cache_on(&g_st, p), *b = cache_on(&g_st, p);
  assert_int_equal(tkn_toolcache_put(a, "search", 6, "{\"q\":\"x\",\"n\":1}", 15, "s1", 2,
                                     "result", 6, 12),
                   TKN_OK);
  char *v = NULL;
  size_t vl = 0;
  assert_int_equal(tkn_toolcache_get(b, "search", 6, "{\"n\":1.0,\"q\":\"x\"}", 17, "s1", 2, &v, &vl),
                   TKN_OK);
  assert_int_equal(vl, 6);
  assert_string_equal(v, "result");
  tkn_free(v);
  /* another scope is another entry */
  assert_int_equal(tkn_toolcache_get(b, "search", 6, "{\"q\":\"x\",\"n\":1}", 15, "s2", 2, &v, &vl),
                   TKN_ERR_NOT_FOUND);
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  assert_int_equal(tkn_toolcache_stats_get(b, &st), TKN_OK);
  assert_int_equal(st.hits, 1);
  assert_int_equal(st.misses, 1);
  assert_int_equal(st.tokens_saved, 12);
  tkn_toolcache_free(a);
  tkn_toolcache_free(b);
}

static void the_tool_cache_fails_open(void **state) {
  (void)state;
  char p[128];
  K(p, "tcdown");
  tkn_store w = wrapped();
  tkn_toolcache *a = cache_on(&w, p);
  g_mode = DOWN;
  assert_int_equal(tkn_toolcache_put(a, "search", 6, "{}", 2, "s", 1, "v", 1, 1), TKN_OK);
  char *v = NULL, msg[256];
  size_t vl;
  assert_int_equal(tkn_toolcache_get(a, "search", 6, "{}", 2, "s", 1, &v, &vl), TKN_OK); /* local */
  tkn_free(v);
  assert_int_equal(tkn_toolcache_get(a, "search", 6, "{\"a\":1}", 7, "s", 1, &v, &vl),
                   TKN_ERR_NOT_FOUND);
  tkn_toolcache_errmsg(a, msg, sizeof msg);
  assert_non_null(strstr(msg, "simulated outage"));
  g_mode = UP;
  assert_int_equal(tkn_toolcache_set_store(a, NULL, NULL, 0), TKN_OK);
  tkn_store partial = g_st;
  partial.get = NULL;
  assert_int_equal(tkn_toolcache_set_store(a, &partial, "p", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_store(a, &g_st, "", 0), TKN_ERR_INVALID);
  tkn_toolcache_free(a);
}

/* ---- the meter on the store ---- */

static tkn_meter *meter_on(const tkn_store *st, const char *prefix) {
  tkn_meter *m;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  assert_int_equal(tkn_meter_set_store(m, st, prefix, strlen(prefix)), TKN_OK);
  return m;
}

static void record(tkn_meter *m, const char *tenant, int64_t in, int64_t cost) {
  tkn_meter_call c = TKN_METER_CALL_INIT;
  c.tenant = tenant;
  c.tenant_len = strlen(tenant);
  c.model = "gpt-4o";
  c.model_len = 6;
  c.usage.input_tokens = in;
  c.usage.output_tokens = 10;
  c.cost = cost;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
}

static void two_meters_add_up_in_the_store(void **state) {
  (void)state;
  char p[128];
  K(p, "meter");
  tkn_meter *a = meter_on(&g_st, p), *b = meter_on(&g_st, p);
  record(a, "acme", 100, 5000);
  record(b, "acme", 50, 3000);
  record(b, "other", 7, 1);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_shared_stats(a, TKN_METER_TOTAL, NULL, 0, &s), TKN_OK);
  assert_int_equal(s.calls, 3);
  assert_int_equal(s.input_tokens, 157);
  assert_int_equal(s.cost, 8001);
  assert_int_equal(tkn_meter_shared_stats(a, TKN_METER_TENANT, "acme", 4, &s), TKN_OK);
  assert_int_equal(s.calls, 2);
  assert_int_equal(s.output_tokens, 20);
  assert_int_equal(s.cost_per_success, 4000);
  tkn_meter_free(a);
  tkn_meter_free(b);
}

static void meter_records_the_store_missed_are_sent_once_later(void **state) {
  (void)state;
  char p[128];
  K(p, "meterq");
  tkn_store w = wrapped();
  tkn_meter *m = meter_on(&w, p);
  g_mode = LOST_REPLY;
  record(m, "t", 10, 100); /* reaches Redis, looks failed: queued */
  g_mode = DOWN;
  record(m, "t", 20, 200);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_ERR_UNAVAILABLE);
  assert_int_equal(tkn_meter_flush(m), TKN_ERR_UNAVAILABLE);
  g_mode = UP;
  assert_int_equal(tkn_meter_flush(m), TKN_OK);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_OK);
  assert_int_equal(s.calls, 2);
  assert_int_equal(s.input_tokens, 30);
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TENANT, "t", 1, &s), TKN_OK);
  assert_int_equal(s.cost, 300);
  tkn_meter_free(m);
}

static void meter_shared_stats_needs_a_store(void **state) {
  (void)state;
  tkn_meter *m;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_shared_stats(m, TKN_METER_TOTAL, NULL, 0, &s), TKN_ERR_STATE);
  assert_int_equal(tkn_meter_flush(m), TKN_OK);
  tkn_store partial = g_st;
  partial.read = NULL;
  assert_int_equal(tkn_meter_set_store(m, &partial, "p", 1), TKN_ERR_INVALID);
  char msg[256];
  tkn_meter_errmsg(m, msg, sizeof msg);
  assert_non_null(strstr(msg, "read"));
  tkn_meter_free(m);
}

int main(void) {
  tr_port();
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(options_init_agrees_with_macro),
      cmocka_unit_test(new_rejects_bad_options_with_a_text),
      cmocka_unit_test_setup_teardown(ping_answers, setup, teardown),
      cmocka_unit_test_setup_teardown(reserve_grants_within_the_limit_and_refuses_beyond, setup, teardown),
      cmocka_unit_test_setup_teardown(reserve_is_all_or_nothing_across_counters, setup, teardown),
      cmocka_unit_test_setup_teardown(reserve_twice_with_one_id_reserves_once, setup, teardown),
      cmocka_unit_test_setup_teardown(commit_counts_once_per_id, setup, teardown),
      cmocka_unit_test_setup_teardown(commit_without_a_reservation_still_counts, setup, teardown),
      cmocka_unit_test_setup_teardown(release_frees_the_amount, setup, teardown),
      cmocka_unit_test_setup_teardown(a_lease_that_ends_frees_the_amount, setup, teardown),
      cmocka_unit_test_setup_teardown(scripts_run_after_the_server_forgot_them, setup, teardown),
      cmocka_unit_test_setup_teardown(get_and_set_with_a_ttl, setup, teardown),
      cmocka_unit_test_setup_teardown(add_counts_once_per_id_and_read_returns_totals, setup, teardown),
      cmocka_unit_test_setup_teardown(amounts_lua_cannot_hold_exactly_are_refused, setup, teardown),
      cmocka_unit_test(an_unreachable_server_is_unavailable_with_its_address),
      cmocka_unit_test_setup_teardown(a_reconnect_follows_a_dropped_connection, setup, teardown),
      cmocka_unit_test_setup_teardown(two_workers_share_one_budget, setup, teardown),
      cmocka_unit_test_setup_teardown(an_unavailable_store_fails_closed, setup, teardown),
      cmocka_unit_test_setup_teardown(a_commit_that_failed_stays_open_and_counts_once, setup, teardown),
      cmocka_unit_test_setup_teardown(the_fallback_budget_reserves_locally_and_replays_once, setup, teardown),
      cmocka_unit_test_setup_teardown(an_in_process_child_is_held_by_its_shared_parent, setup, teardown),
      cmocka_unit_test_setup_teardown(a_daily_budget_starts_afresh_the_next_day, setup, teardown),
      cmocka_unit_test_setup_teardown(new_shared_rejects_what_it_cannot_do, setup, teardown),
      cmocka_unit_test_setup_teardown(a_result_put_by_one_worker_is_a_hit_for_another, setup, teardown),
      cmocka_unit_test_setup_teardown(the_tool_cache_fails_open, setup, teardown),
      cmocka_unit_test_setup_teardown(two_meters_add_up_in_the_store, setup, teardown),
      cmocka_unit_test_setup_teardown(meter_records_the_store_missed_are_sent_once_later, setup, teardown),
      cmocka_unit_test_setup_teardown(meter_shared_stats_needs_a_store, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
