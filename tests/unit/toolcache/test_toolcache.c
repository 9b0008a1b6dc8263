/* The tool-result cache: keys, policies, scopes, TTL, LRU, stats, threads, OOM. */
#include <pthread.h>

#include "test_util.h"

static tt_clock clk;

static tkn_toolcache *make_cache(uint64_t max_bytes) {
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_bytes = max_bytes;
  o.clock = tt_clock_read;
  o.clock_user = &clk;
  clk.now = 1000;
  tkn_toolcache *c = NULL;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  return c;
}

static tkn_toolcache_stats stats_of(tkn_toolcache *c) {
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  assert_int_equal(tkn_toolcache_stats_get(c, &st), TKN_OK);
  return st;
}

/* get and compare with the expected value; NULL expects a miss */
static void expect_get(tkn_toolcache *c, const char *tool, const char *args, const char *sid,
                       const char *want) {
  char *v = (char *)1;
  size_t n = 99;
  int rc = tkn_toolcache_get(c, S(tool), args, strlen(args), sid, strlen(sid), &v, &n);
  if (!want) {
    assert_int_equal(rc, TKN_ERR_NOT_FOUND);
    assert_null(v);
    assert_int_equal(n, 0);
    return;
  }
  assert_int_equal(rc, TKN_OK);
  assert_int_equal(n, strlen(want));
  assert_string_equal(v, want);
  tkn_free(v);
}

static void put(tkn_toolcache *c, const char *tool, const char *args, const char *sid,
                const char *value, int64_t tokens) {
  assert_int_equal(tkn_toolcache_put(c, S(tool), S(args), S(sid), S(value), tokens), TKN_OK);
}

static void test_new_rejects_bad_options(void **state) {
  (void)state;
  tkn_toolcache *c = (tkn_toolcache *)1;
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_bytes = 0;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_ERR_INVALID);
  assert_null(c);
  o = (tkn_toolcache_options)TKN_TOOLCACHE_OPTIONS_INIT;
  o.shards = TKN_TOOLCACHE_MAX_SHARDS + 1;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_ERR_INVALID);
  o.shards = 8;
  o.max_bytes = 7;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_ERR_INVALID);
  o = (tkn_toolcache_options)TKN_TOOLCACHE_OPTIONS_INIT;
  o.version = 7;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_ERR_VERSION);
  assert_int_equal(tkn_toolcache_new(NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK); /* defaults, system clock */
  assert_int_equal(tkn_toolcache_set_policy(c, S("t"), 1, 60000, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "t", "{}", "", "v", 1);
  expect_get(c, "t", "{}", "", "v");
  tkn_toolcache_free(c);
  tkn_toolcache_free(NULL);
}

static void test_unregistered_tool_is_never_cached(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_put(c, S("send_mail"), S("{}"), S("s1"), S("ok"), 1), TKN_ERR_STATE);
  char msg[256];
  tt_copy_err(msg, sizeof msg);
  assert_non_null(strstr(msg, "send_mail"));
  expect_get(c, "send_mail", "{}", "s1", NULL);
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.bypassed, 1);
  assert_int_equal(st.misses, 0);
  assert_int_equal(st.entries, 0);
  assert_int_equal(tkn_toolcache_is_cacheable(c, S("send_mail")), 0);
  tkn_toolcache_free(c);
}

static void test_side_effecting_tool_marked_not_cacheable_drops_entries(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("write"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  assert_int_equal(tkn_toolcache_is_cacheable(c, S("write")), 1);
  put(c, "write", "{\"f\":1}", "s1", "done", 1);
  assert_int_equal(tkn_toolcache_set_policy(c, S("write"), 0, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  assert_int_equal(tkn_toolcache_is_cacheable(c, S("write")), 0);
  expect_get(c, "write", "{\"f\":1}", "s1", NULL);
  assert_int_equal(tkn_toolcache_put(c, S("write"), S("{}"), S("s1"), S("x"), 1), TKN_ERR_STATE);
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.invalidations, 1);
  assert_int_equal(st.bypassed, 1);
  tkn_toolcache_free(c);
}

static void test_hit_returns_a_copy_and_counts_savings(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("search"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  expect_get(c, "search", "{\"q\":\"cats\"}", "s1", NULL);
  put(c, "search", "{\"q\":\"cats\"}", "s1", "3 results", 42);
  expect_get(c, "search", "{\"q\":\"cats\"}", "s1", "3 results");
  expect_get(c, "search", "{\"q\":\"cats\"}", "s1", "3 results");
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.hits, 2);
  assert_int_equal(st.misses, 1);
  assert_int_equal(st.puts, 1);
  assert_int_equal(st.entries, 1);
  assert_int_equal(st.bytes_saved, 2 * strlen("3 results"));
  assert_int_equal(st.tokens_saved, 84);
  assert_true(st.bytes > strlen("3 results"));
  tkn_toolcache_free(c);
}

static void test_key_is_canonical_json(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{\"b\": [1, 2.0], \"a\": {\"y\": 1e2, \"x\": null}}", "", "R", 1);
  expect_get(c, "f", "{\"a\":{\"x\":null,\"y\":100},\"b\":[1,2]}", "", "R");
  expect_get(c, "f", "\n{ \"a\" : { \"y\" : 100.0 , \"x\" : null } , \"b\" : [ 1.0 , 2 ] }\t", "", "R");
  expect_get(c, "f", "{\"a\":{\"x\":null,\"y\":100},\"b\":[2,1]}", "", NULL); /* order of arrays counts */
  expect_get(c, "f", "{\"a\":{\"x\":null,\"y\":101},\"b\":[1,2]}", "", NULL);
  tkn_toolcache_free(c);
}

/* issue 21: one order's data was served for another (ids rounded through a
 * double, strings cut at an escaped NUL). */
static void test_key_keeps_big_integers_and_escaped_nuls_apart(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{\"id\":1234567890123456700}", "", "order 700", 1);
  put(c, "f", "{\"id\":\"abc\"}", "", "order abc", 1);
  expect_get(c, "f", "{\"id\":1234567890123456789}", "", NULL);
  expect_get(c, "f", "{\"id\":\"abc\\u0000def\"}", "", NULL);
  expect_get(c, "f", "{\"id\":1234567890123456700.0}", "", "order 700");
  tkn_toolcache_free(c);
}

static void test_empty_arguments_equal_empty_object(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("now"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_put(c, S("now"), NULL, 0, NULL, 0, S("v"), 1), TKN_OK);
  expect_get(c, "now", "{ }", "", "v");
  tkn_toolcache_free(c);
}

static void test_tool_name_is_part_of_the_key(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("a"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("b"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "a", "{}", "", "from a", 1);
  expect_get(c, "b", "{}", "", NULL);
  put(c, "b", "{}", "", "from b", 1);
  expect_get(c, "a", "{}", "", "from a");
  expect_get(c, "b", "{}", "", "from b");
  tkn_toolcache_free(c);
}

static void test_scope_id_separates_sessions(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  put(c, "f", "{}", "session-1", "one", 1);
  expect_get(c, "f", "{}", "session-2", NULL);
  put(c, "f", "{}", "session-2", "two", 1);
  expect_get(c, "f", "{}", "session-1", "one");
  expect_get(c, "f", "{}", "session-2", "two");
  tkn_toolcache_free(c);
}

static void test_global_scope_ignores_scope_id(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{}", "run-1", "g", 1);
  expect_get(c, "f", "{}", "run-2", "g");
  expect_get(c, "f", "{}", "", "g");
  tkn_toolcache_free(c);
}

static void test_non_global_scope_needs_a_scope_id(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_RUN), TKN_OK);
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("{}"), "", 0, S("v"), 1), TKN_ERR_INVALID);
  char *v;
  size_t n;
  assert_int_equal(tkn_toolcache_get(c, S("f"), S("{}"), "", 0, &v, &n), TKN_ERR_INVALID);
  char msg[256];
  tt_copy_err(msg, sizeof msg);
  assert_non_null(strstr(msg, "scope id"));
  tkn_toolcache_free(c);
}

static void test_scope_kind_is_part_of_the_key(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_RUN), TKN_OK);
  put(c, "f", "{}", "x", "run value", 1);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_NAMESPACE), TKN_OK);
  expect_get(c, "f", "{}", "x", NULL); /* same id, other kind of scope */
  tkn_toolcache_free(c);
}

static void test_ttl_expires_with_the_host_clock(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 500, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{}", "", "v", 1);
  clk.now += 499;
  expect_get(c, "f", "{}", "", "v");
  clk.now += 1;
  expect_get(c, "f", "{}", "", NULL);
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.expirations, 1);
  assert_int_equal(st.misses, 1);
  assert_int_equal(st.entries, 0);
  tkn_toolcache_free(c);
}

static void test_zero_ttl_never_expires(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{}", "", "v", 1);
  clk.now += (int64_t)1 << 50;
  expect_get(c, "f", "{}", "", "v");
  tkn_toolcache_free(c);
}

static void test_put_refreshes_value_and_ttl(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 100, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{}", "", "old", 1);
  clk.now += 80;
  put(c, "f", "{}", "", "new", 1);
  clk.now += 80;
  expect_get(c, "f", "{}", "", "new");
  assert_int_equal(stats_of(c).entries, 1);
  tkn_toolcache_free(c);
}

static void test_lru_evicts_least_recently_used(void **state) {
  (void)state;
  /* room for exactly three entries of this size */
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{\"k\":1}", "", "value-1", 1);
  uint64_t one = stats_of(c).bytes;
  tkn_toolcache_free(c);
  c = make_cache(3 * one);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{\"k\":1}", "", "value-1", 1);
  put(c, "f", "{\"k\":2}", "", "value-2", 1);
  put(c, "f", "{\"k\":3}", "", "value-3", 1);
  expect_get(c, "f", "{\"k\":1}", "", "value-1"); /* 1 is now the most recent; 2 the least */
  put(c, "f", "{\"k\":4}", "", "value-4", 1);
  expect_get(c, "f", "{\"k\":2}", "", NULL);
  expect_get(c, "f", "{\"k\":1}", "", "value-1");
  expect_get(c, "f", "{\"k\":3}", "", "value-3");
  expect_get(c, "f", "{\"k\":4}", "", "value-4");
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.evictions, 1);
  assert_int_equal(st.entries, 3);
  assert_true(st.bytes <= 3 * one);
  tkn_toolcache_free(c);
}

static void test_entry_larger_than_capacity_is_refused(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(200);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{\"k\":0}", "", "small", 1);
  char big[300];
  memset(big, 'x', sizeof big);
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("{\"k\":1}"), "", 0, big, sizeof big, 1), TKN_ERR_LIMIT);
  expect_get(c, "f", "{\"k\":0}", "", "small"); /* the cache is as it was */
  char msg[256];
  tt_copy_err(msg, sizeof msg);
  assert_non_null(strstr(msg, "capacity"));
  tkn_toolcache_free(c);
}

static void test_invalidate_tool(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("a"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("ab"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  put(c, "a", "{\"i\":1}", "s", "1", 1);
  put(c, "a", "{\"i\":2}", "t", "2", 1);
  put(c, "ab", "{\"i\":1}", "s", "3", 1);
  uint64_t n = 99;
  assert_int_equal(tkn_toolcache_invalidate_tool(c, S("a"), &n), TKN_OK);
  assert_int_equal(n, 2);
  expect_get(c, "a", "{\"i\":1}", "s", NULL);
  expect_get(c, "ab", "{\"i\":1}", "s", "3");
  assert_int_equal(stats_of(c).invalidations, 2);
  assert_int_equal(tkn_toolcache_invalidate_tool(c, "", 0, &n), TKN_ERR_INVALID);
  tkn_toolcache_free(c);
}

static void test_invalidate_scope(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("r"), 1, 0, TKN_TOOLCACHE_SCOPE_RUN), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("s"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("g"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "r", "{}", "run-1", "r1", 1);
  put(c, "r", "{}", "run-2", "r2", 1);
  put(c, "s", "{}", "run-1", "s1", 1); /* same id, session kind */
  put(c, "g", "{}", "", "g", 1);
  uint64_t n;
  assert_int_equal(tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_RUN, S("run-1"), &n), TKN_OK);
  assert_int_equal(n, 1);
  expect_get(c, "r", "{}", "run-1", NULL);
  expect_get(c, "r", "{}", "run-2", "r2");
  expect_get(c, "s", "{}", "run-1", "s1");
  assert_int_equal(tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_GLOBAL, NULL, 0, &n), TKN_OK);
  assert_int_equal(n, 1);
  expect_get(c, "g", "{}", "", NULL);
  assert_int_equal(tkn_toolcache_invalidate_scope(c, 9, S("x"), &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_RUN, "", 0, &n), TKN_ERR_INVALID);
  tkn_toolcache_free(c);
}

static void test_purge_expired_and_clear(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("short"), 1, 10, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("long"), 1, 1000, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "short", "{\"i\":1}", "", "a", 1);
  put(c, "short", "{\"i\":2}", "", "b", 1);
  put(c, "long", "{}", "", "c", 1);
  clk.now += 10;
  uint64_t n;
  assert_int_equal(tkn_toolcache_purge_expired(c, &n), TKN_OK);
  assert_int_equal(n, 2);
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.expirations, 2);
  assert_int_equal(st.entries, 1);
  assert_int_equal(tkn_toolcache_clear(c), TKN_OK);
  st = stats_of(c);
  assert_int_equal(st.entries, 0);
  assert_int_equal(st.bytes, 0);
  assert_int_equal(tkn_toolcache_is_cacheable(c, S("long")), 1); /* policies stay */
  tkn_toolcache_free(c);
}

static void test_bad_arguments_fail_with_position(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  char *v;
  size_t n;
  assert_int_equal(tkn_toolcache_get(c, S("f"), S("{\"a\":\n  tru}"), "", 0, &v, &n), TKN_ERR_PARSE);
  char msg[256];
  tt_copy_err(msg, sizeof msg);
  assert_non_null(strstr(msg, "tool arguments"));
  assert_non_null(strstr(msg, "line 2"));
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("[1,"), "", 0, S("v"), 1), TKN_ERR_PARSE);
  assert_int_equal(tkn_toolcache_get(c, S("f"), S("\"\xff\""), "", 0, &v, &n), TKN_ERR_UTF8);
  assert_int_equal(tkn_toolcache_get(c, S("f\xc3"), S("{}"), "", 0, &v, &n), TKN_ERR_UTF8);
  assert_int_equal(tkn_toolcache_stats_get(c, &(tkn_toolcache_stats)TKN_TOOLCACHE_STATS_INIT), TKN_OK);
  assert_int_equal(stats_of(c).entries, 0);
  tkn_toolcache_free(c);
}

static void test_arguments_over_the_limit_fail(void **state) {
  (void)state;
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_args_bytes = 16;
  tkn_toolcache *c;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  char *v;
  size_t n;
  assert_int_equal(tkn_toolcache_get(c, S("f"), S("{\"q\":\"0123456789\"}"), "", 0, &v, &n), TKN_ERR_LIMIT);
  /* nesting deeper than 64 */
  char deep[200];
  memset(deep, '[', 100);
  memset(deep + 100, ']', 100);
  o.max_args_bytes = 1 << 20;
  tkn_toolcache_free(c);
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_get(c, S("f"), deep, sizeof deep, "", 0, &v, &n), TKN_ERR_LIMIT);
  tkn_toolcache_free(c);
}

static void test_null_and_bad_arguments(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  char *v;
  size_t n;
  assert_int_equal(tkn_toolcache_get(NULL, S("f"), S("{}"), "", 0, &v, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_get(c, S("f"), S("{}"), "", 0, NULL, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_get(c, NULL, 3, S("{}"), "", 0, &v, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_get(c, S("f"), NULL, 2, "", 0, &v, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_put(NULL, S("f"), S("{}"), "", 0, S("v"), 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("{}"), "", 0, NULL, 1, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("{}"), "", 0, S("v"), -2), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(NULL, S("f"), 1, 0, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(c, "", 0, 1, 0, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 2, 0, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, -1, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, 4), TKN_ERR_INVALID);
  char longname[TKN_TOOLCACHE_MAX_NAME + 1];
  memset(longname, 'n', sizeof longname);
  assert_int_equal(tkn_toolcache_set_policy(c, longname, sizeof longname, 1, 0, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_set_policy(c, longname, sizeof longname - 1, 1, 0, 0), TKN_OK);
  assert_int_equal(tkn_toolcache_is_cacheable(NULL, S("f")), 0);
  assert_int_equal(tkn_toolcache_invalidate_tool(NULL, S("f"), NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_invalidate_scope(NULL, 0, S("f"), NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_purge_expired(NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_clear(NULL), TKN_ERR_INVALID);
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  assert_int_equal(tkn_toolcache_stats_get(NULL, &st), TKN_ERR_INVALID);
  assert_int_equal(tkn_toolcache_stats_get(c, NULL), TKN_ERR_INVALID);
  st.version = 5;
  assert_int_equal(tkn_toolcache_stats_get(c, &st), TKN_ERR_VERSION);
  tkn_toolcache_free(c);
}

static void test_failures_are_reported_in_the_last_error(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  tkn_error_clear();
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, -5, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_INVALID);
  assert_true(strlen(tkn_error_last()->message) > 0);
  tkn_toolcache_free(c);
}

/* a host tokenizer: one token per space-separated word */
static int count_words(const char *text, size_t len, int64_t *out, void *user) {
  (void)user;
  int64_t n = 0;
  for (size_t i = 0; i < len; i++)
    if (text[i] != ' ' && (i == 0 || text[i - 1] == ' ')) n++;
  *out = n;
  return 0;
}

static void test_tokens_counted_with_the_tokenizer(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = count_words;
  tkn_tokenizer *tok;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_OK);
  const char *value = "The quick brown fox jumps over the lazy dog.";
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.tokenizer = tok;
  tkn_toolcache *c;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  put(c, "f", "{}", "", value, -1);
  expect_get(c, "f", "{}", "", value);
  expect_get(c, "f", "{}", "", value);
  assert_int_equal(stats_of(c).tokens_saved, 2 * 9);
  tkn_toolcache_free(c);
  tkn_tokenizer_free(tok);
}

static void test_tokens_minus_one_needs_a_tokenizer(void **state) {
  (void)state;
  tkn_toolcache *c = make_cache(1 << 20);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_put(c, S("f"), S("{}"), "", 0, S("v"), -1), TKN_ERR_INVALID);
  tkn_toolcache_free(c);
}

/* ---- threads ---- */

typedef struct {
  tkn_toolcache *c;
  int id;
  long gets, hits, bad;
} worker_arg;

static void *worker(void *p) {
  worker_arg *w = p;
  uint32_t x = 12345u + (uint32_t)w->id * 7919u;
  for (int i = 0; i < 20000; i++) {
    x = x * 1103515245u + 12345u;
    unsigned k = (x >> 16) % 64;
    char args[64], val[64];
    snprintf(args, sizeof args, "{\"k\": %u}", k);
    snprintf(val, sizeof val, "value of %u", k);
    const char *sid = (x & 0x100) ? "s1" : "s2";
    char *v;
    size_t n;
    int rc = tkn_toolcache_get(w->c, S("f"), S(args), S(sid), &v, &n);
    w->gets++;
    if (rc == TKN_OK) {
      w->hits++;
      if (strcmp(v, val) != 0) w->bad++;
      tkn_free(v);
    } else if (rc == TKN_ERR_NOT_FOUND) {
      if (tkn_toolcache_put(w->c, S("f"), S(args), S(sid), S(val), 3) != TKN_OK) w->bad++;
    } else {
      w->bad++;
    }
    if (i % 5000 == 4999) tkn_toolcache_invalidate_scope(w->c, TKN_TOOLCACHE_SCOPE_SESSION, S("s2"), NULL);
  }
  return NULL;
}

static void hammer(uint32_t shards) {
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.shards = shards;
  o.max_bytes = 40 * (TKN_TOOLCACHE_ENTRY_OVERHEAD + 40); /* fewer entries than keys: evictions */
  tkn_toolcache *c;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  enum { N = 4 };
  pthread_t th[N];
  worker_arg wa[N];
  for (int i = 0; i < N; i++) {
    wa[i] = (worker_arg){c, i, 0, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, worker, &wa[i]), 0);
  }
  long gets = 0, hits = 0;
  for (int i = 0; i < N; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(wa[i].bad, 0);
    gets += wa[i].gets;
    hits += wa[i].hits;
  }
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.hits, hits);
  assert_int_equal(st.hits + st.misses, gets);
  assert_true(st.bytes <= o.max_bytes);
  assert_true(st.evictions > 0);
  /* puts that replaced an entry count too, hence <= */
  assert_true(st.entries <= st.puts - st.evictions - st.invalidations - st.expirations);
  tkn_toolcache_free(c);
}

static void test_threads_hammering_one_cache(void **state) {
  (void)state;
  hammer(1);
}

static void test_threads_hammering_a_sharded_cache(void **state) {
  (void)state;
  hammer(4);
}

static void test_sharded_cache_serves_and_stays_within_capacity(void **state) {
  (void)state;
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.shards = 8;
  o.max_bytes = 1 << 20;
  tkn_toolcache *c;
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_NAMESPACE), TKN_OK);
  char args[32], val[32];
  for (int i = 0; i < 500; i++) {
    snprintf(args, sizeof args, "{\"i\":%d}", i);
    snprintf(val, sizeof val, "v%d", i);
    put(c, "f", args, "ns", val, 1);
  }
  for (int i = 0; i < 500; i++) {
    snprintf(args, sizeof args, "{\"i\":%d}", i);
    snprintf(val, sizeof val, "v%d", i);
    expect_get(c, "f", args, "ns", val);
  }
  tkn_toolcache_stats st = stats_of(c);
  assert_int_equal(st.entries, 500);
  assert_int_equal(st.hits, 500);
  uint64_t n;
  assert_int_equal(tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_NAMESPACE, S("ns"), &n), TKN_OK);
  assert_int_equal(n, 500); /* across every shard */
  tkn_toolcache_free(c);
  /* a small sharded cache: each shard evicts on its own, the total stays bounded */
  o.max_bytes = 8 * 3 * (TKN_TOOLCACHE_ENTRY_OVERHEAD + 16);
  assert_int_equal(tkn_toolcache_new(&c, &o), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  for (int i = 0; i < 500; i++) {
    snprintf(args, sizeof args, "{\"i\":%d}", i);
    put(c, "f", args, "", "v", 1);
  }
  st = stats_of(c);
  assert_true(st.bytes <= o.max_bytes);
  assert_true(st.evictions > 0);
  assert_int_equal(st.entries, 500 - st.evictions);
  tkn_toolcache_free(c);
}

/* ---- out of memory ---- */

static int oom_scenario(void) {
  tkn_toolcache *c = NULL;
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.shards = 3;
  int rc = tkn_toolcache_new(&c, &o);
  if (rc) return rc;
  rc = tkn_toolcache_set_policy(c, S("f"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION);
  for (int i = 0; i < 80 && !rc; i++) {
    char args[64];
    snprintf(args, sizeof args, "{\"b\":[%d,{\"x\":1.50}],\"a\":\"y\"}", i);
    rc = tkn_toolcache_put(c, S("f"), S(args), S("s"), S("result"), 2);
  }
  if (!rc) {
    char *v;
    size_t n;
    rc = tkn_toolcache_get(c, S("f"), S("{\"a\":\"y\",\"b\":[79,{\"x\":1.5}]}"), S("s"), &v, &n);
    if (!rc) tkn_free(v);
  }
  if (!rc) {
    tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
    tkn_toolcache_stats_get(c, &st);
    if (st.entries != 80) rc = -1;
  }
  tkn_toolcache_free(c);
  return rc;
}

static void test_out_of_memory_loop(void **state) {
  (void)state;
  int rc = -1;
  long n;
  for (n = 1; n < 100000; n++) {
    tt_alloc_install(n);
    rc = oom_scenario();
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    assert_int_equal(live, 0);
    if (!failed) break;
    /* The core JSON reader reports an allocation refused inside cJSON as a
     * parse error when the allocation right after it succeeds (it probes),
     * which only this one-shot failing allocator does; accept that here. */
    assert_true(rc == TKN_OK || rc == TKN_ERR_NOMEM || rc == TKN_ERR_PARSE);
  }
  assert_int_equal(rc, TKN_OK);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_new_rejects_bad_options),
      cmocka_unit_test(test_unregistered_tool_is_never_cached),
      cmocka_unit_test(test_side_effecting_tool_marked_not_cacheable_drops_entries),
      cmocka_unit_test(test_hit_returns_a_copy_and_counts_savings),
      cmocka_unit_test(test_key_is_canonical_json),
      cmocka_unit_test(test_key_keeps_big_integers_and_escaped_nuls_apart),
      cmocka_unit_test(test_empty_arguments_equal_empty_object),
      cmocka_unit_test(test_tool_name_is_part_of_the_key),
      cmocka_unit_test(test_scope_id_separates_sessions),
      cmocka_unit_test(test_global_scope_ignores_scope_id),
      cmocka_unit_test(test_non_global_scope_needs_a_scope_id),
      cmocka_unit_test(test_scope_kind_is_part_of_the_key),
      cmocka_unit_test(test_ttl_expires_with_the_host_clock),
      cmocka_unit_test(test_zero_ttl_never_expires),
      cmocka_unit_test(test_put_refreshes_value_and_ttl),
      cmocka_unit_test(test_lru_evicts_least_recently_used),
      cmocka_unit_test(test_entry_larger_than_capacity_is_refused),
      cmocka_unit_test(test_invalidate_tool),
      cmocka_unit_test(test_invalidate_scope),
      cmocka_unit_test(test_purge_expired_and_clear),
      cmocka_unit_test(test_bad_arguments_fail_with_position),
      cmocka_unit_test(test_arguments_over_the_limit_fail),
      cmocka_unit_test(test_null_and_bad_arguments),
      cmocka_unit_test(test_failures_are_reported_in_the_last_error),
      cmocka_unit_test(test_tokens_counted_with_the_tokenizer),
      cmocka_unit_test(test_tokens_minus_one_needs_a_tokenizer),
      cmocka_unit_test(test_threads_hammering_one_cache),
      cmocka_unit_test(test_threads_hammering_a_sharded_cache),
      cmocka_unit_test(test_sharded_cache_serves_and_stays_within_capacity),
      cmocka_unit_test(test_out_of_memory_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
