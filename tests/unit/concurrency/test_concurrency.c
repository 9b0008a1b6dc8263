/* Many threads sharing one object of each kind the library declares
 * shareable: a tokenizer (the estimator and a BPE encoding), a compiled
 * schema, a router, a price table (immutable, no locks), and a budget, a tool
 * cache and a meter (internally synchronised).  Each test checks exact
 * results, not just "no crash": every thread's counts equal the
 * single-threaded ones, the budget's hard limit is never passed and its totals
 * add up to what the threads committed, the cache's counters add up, the
 * meter's totals are the sums recorded.  The thread-sanitizer build
 * (tests/run.sh, build-tsan) runs these to catch data races. */
#include <pthread.h>

#include "test_util.h"

#define THREADS 8

typedef void *(*thread_fn)(void *);

static void run_threads(thread_fn fn, void *arg) {
  pthread_t t[THREADS];
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_create(&t[i], NULL, fn, arg), 0);
  for (int i = 0; i < THREADS; i++) assert_int_equal(pthread_join(t[i], NULL), 0);
}

/* ---- one tokenizer ---- */

static const char *const texts[] = {
    "Hello, world! How are you today?",
    "def f(x):\n    return x ** 2  # squares\n",
    "東京は日本の首都です。かなとカナ、한글도 있어요.",
    "1234567890 3.14159 -42 1e10 0x1F",
    "emoji 🎉🎉 and <|endoftext|> as text",
};
#define NTEXTS (sizeof texts / sizeof *texts)

/* special-token text counted as ordinary text */
static const tkn_encode_options plain = {TKN_ENCODE_OPTIONS_VERSION, TKN_SPECIAL_PLAIN};

typedef struct {
  const tkn_tokenizer *tok;
  int64_t expect[NTEXTS];
  int errors;
} tok_job;

static void *count_many(void *arg) {
  tok_job *job = arg;
  for (int round = 0; round < 200; round++) {
    for (size_t i = 0; i < NTEXTS; i++) {
      int64_t n = -1;
      int rc = tkn_tokenizer_count_limit(job->tok, texts[i], strlen(texts[i]), INT64_MAX - 1,
                                         &plain, &n);
      if (rc != TKN_OK || n != job->expect[i]) __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    }
  }
  return NULL;
}

static void check_shared_tokenizer(const tkn_tokenizer *tok) {
  tok_job job = {.tok = tok};
  for (size_t i = 0; i < NTEXTS; i++)
    assert_int_equal(
        tkn_tokenizer_count_limit(tok, texts[i], strlen(texts[i]), INT64_MAX - 1, &plain,
                                  &job.expect[i]),
        TKN_OK);
  run_threads(count_many, &job);
  assert_int_equal(job.errors, 0);
}

static void threads_share_one_estimator(void **state) {
  (void)state;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  check_shared_tokenizer(tok);
  tkn_tokenizer_free(tok);
}

static void threads_share_one_bpe_encoding(void **state) {
  (void)state;
  tkn_tokenizer *tok = NULL;
  int rc = tkn_tokenizer_new_encoding(&tok, S("o200k_base"));
  if (rc == TKN_ERR_UNAVAILABLE) skip(); /* built without embedded ranks */
  assert_int_equal(rc, TKN_OK);
  check_shared_tokenizer(tok);
  tkn_tokenizer_free(tok);
}

/* ---- one budget: reserve and commit under contention ---- */

#define HARD 20000
#define ROUNDS 2000

typedef struct {
  tkn_budget *parent;
  int64_t committed; /* what the threads committed, summed atomically */
  int64_t refused;
  int errors;
} budget_job;

static void *spend(void *arg) {
  budget_job *job = arg;
  tkn_budget *child = NULL;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  if (tkn_budget_new(&child, &o, job->parent) != TKN_OK) {
    __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    return NULL;
  }
  unsigned seed = (unsigned)(uintptr_t)&child;
  for (int i = 0; i < ROUNDS; i++) {
    seed = seed * 1103515245u + 12345u;
    tkn_budget_amount want = TKN_BUDGET_AMOUNT_INIT;
    want.input_tokens = 5 + (seed >> 16) % 20;
    want.output_tokens = 10;
    tkn_budget_reservation *res = NULL;
    int rc = tkn_budget_reserve((seed >> 8) & 1 ? child : job->parent, &want, &res);
    if (rc == TKN_ERR_BUDGET) {
      __atomic_add_fetch(&job->refused, 1, __ATOMIC_RELAXED);
      continue;
    }
    if (rc != TKN_OK) {
      __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
      continue;
    }
    /* (committed and reserved in tkn_budget_status are two atomic reads, not
     * one snapshot: a commit between them can count an amount twice, so the
     * limit is checked by the reserve-only test below, not here) */
    tkn_budget_state st = TKN_BUDGET_STATE_INIT;
    if (tkn_budget_status(job->parent, &st) != TKN_OK)
      __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    if ((seed >> 20) % 5 == 0) {
      tkn_budget_release(res);
      continue;
    }
    tkn_budget_amount used = want;
    used.output_tokens = (int64_t)((seed >> 4) % 11); /* at most what was reserved */
    if (tkn_budget_commit(res, &used) != TKN_OK) {
      __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
      tkn_budget_release(res);
      continue;
    }
    __atomic_add_fetch(&job->committed, used.input_tokens + used.output_tokens,
                       __ATOMIC_RELAXED);
  }
  tkn_budget_free(child);
  return NULL;
}

static void threads_share_one_budget_without_passing_its_hard_limit(void **state) {
  (void)state;
  budget_job job = {0};
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = HARD;
  assert_int_equal(tkn_budget_new(&job.parent, &o, NULL), TKN_OK);
  run_threads(spend, &job);
  assert_int_equal(job.errors, 0);
  assert_true(job.refused > 0); /* the limit was really contended */
  tkn_budget_state st = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(job.parent, &st), TKN_OK);
  assert_int_equal(st.tokens_reserved, 0);
  assert_int_equal(st.tokens_committed, job.committed);
  assert_true(st.tokens_committed <= HARD);
  assert_int_equal(st.tokens_remaining, HARD - st.tokens_committed);
  tkn_budget_free(job.parent);
}

/* Reserve only, never commit or release, until refused: what the threads
 * got together must fit the hard limit, and fill it to within one amount. */
typedef struct {
  tkn_budget *budget;
  int64_t granted;
  int errors;
  tkn_budget_reservation *held[THREADS][HARD / 5 + 2]; /* NULL-terminated rows */
  int next;
} fill_job;

static void *fill(void *arg) {
  fill_job *job = arg;
  int me = __atomic_fetch_add(&job->next, 1, __ATOMIC_RELAXED);
  for (int i = 0;; i++) {
    tkn_budget_amount want = TKN_BUDGET_AMOUNT_INIT;
    want.input_tokens = 5 + (me + i) % 7; /* 5..11 */
    tkn_budget_reservation *res = NULL;
    int rc = tkn_budget_reserve(job->budget, &want, &res);
    if (rc == TKN_ERR_BUDGET) break;
    if (rc != TKN_OK || i > HARD / 5) {
      __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
      break;
    }
    job->held[me][i] = res;
    __atomic_add_fetch(&job->granted, want.input_tokens, __ATOMIC_RELAXED);
  }
  return NULL;
}

static void threads_reserving_at_once_never_pass_the_hard_limit(void **state) {
  (void)state;
  fill_job *job = calloc(1, sizeof *job);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = HARD;
  assert_int_equal(tkn_budget_new(&job->budget, &o, NULL), TKN_OK);
  run_threads(fill, job);
  assert_int_equal(job->errors, 0);
  assert_true(job->granted <= HARD);
  /* a refusal means less than one amount (<= 11) was left, and nothing frees */
  assert_true(job->granted > HARD - 11);
  tkn_budget_state st = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(job->budget, &st), TKN_OK);
  assert_int_equal(st.tokens_reserved, job->granted);
  assert_int_equal(st.tokens_remaining, HARD - job->granted);
  for (int t = 0; t < THREADS; t++)
    for (int i = 0; job->held[t][i]; i++) tkn_budget_release(job->held[t][i]);
  assert_int_equal(tkn_budget_status(job->budget, &st), TKN_OK);
  assert_int_equal(st.tokens_reserved, 0);
  tkn_budget_free(job->budget);
  free(job);
}

/* ---- one tool cache ---- */

typedef struct {
  tkn_toolcache *cache;
  uint64_t gets;
  int errors;
} cache_job;

static void *use_cache(void *arg) {
  cache_job *job = arg;
  char args[64], value[64];
  for (int i = 0; i < 3000; i++) {
    int k = (i * 7) % 97;
    int alen = snprintf(args, sizeof args, "{\"q\":%d, \"lang\":\"en\"}", k);
    int vlen = snprintf(value, sizeof value, "result of %d", k);
    char *got = NULL;
    size_t got_len = 0;
    int rc = tkn_toolcache_get(job->cache, S("search"), args, (size_t)alen, NULL, 0, &got,
                               &got_len);
    __atomic_add_fetch(&job->gets, 1, __ATOMIC_RELAXED);
    if (rc == TKN_OK) {
      if (got_len != (size_t)vlen || memcmp(got, value, got_len) != 0)
        __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
      tkn_free(got);
    } else if (rc == TKN_ERR_NOT_FOUND) {
      if (tkn_toolcache_put(job->cache, S("search"), args, (size_t)alen, NULL, 0, value,
                            (size_t)vlen, 3) != TKN_OK)
        __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    } else {
      __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    }
    if (i % 1000 == 999) tkn_toolcache_purge_expired(job->cache, NULL);
  }
  return NULL;
}

static void threads_share_one_tool_cache(void **state) {
  (void)state;
  for (uint32_t shards = 1; shards <= 4; shards *= 4) {
    cache_job job = {0};
    tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
    o.shards = shards;
    o.max_bytes = 4096; /* small: evictions happen while others read */
    assert_int_equal(tkn_toolcache_new(&job.cache, &o), TKN_OK);
    assert_int_equal(tkn_toolcache_set_policy(job.cache, S("search"), 1, 0,
                                              TKN_TOOLCACHE_SCOPE_GLOBAL),
                     TKN_OK);
    run_threads(use_cache, &job);
    assert_int_equal(job.errors, 0);
    tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
    assert_int_equal(tkn_toolcache_stats_get(job.cache, &st), TKN_OK);
    assert_int_equal(st.hits + st.misses, job.gets);
    assert_int_equal(st.tokens_saved, 3 * st.hits);
    assert_true(st.bytes <= 4096);
    tkn_toolcache_free(job.cache);
  }
}

/* ---- one meter ---- */

#define CALLS 2000

static void *record_calls(void *arg) {
  tkn_meter *m = arg;
  static const char *const workflows[] = {"triage", "refund", "search"};
  for (int i = 0; i < CALLS; i++) {
    tkn_meter_call c = TKN_METER_CALL_INIT;
    c.workflow = workflows[i % 3];
    c.workflow_len = strlen(c.workflow);
    c.model = "gpt-4o";
    c.model_len = 6;
    c.usage.input_tokens = 100 + i % 10;
    c.usage.output_tokens = 7;
    c.cost = 1000;
    c.latency_us = 5;
    c.success = (uint32_t)(i % 4 != 0);
    if (tkn_meter_record(m, &c) != TKN_OK) abort();
    if (i % 500 == 0) {
      tkn_meter_stats st = TKN_METER_STATS_INIT;
      if (tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &st) != TKN_OK) abort();
    }
  }
  return NULL;
}

static void threads_share_one_meter_and_totals_are_exact(void **state) {
  (void)state;
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  run_threads(record_calls, m);
  tkn_meter_stats st = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &st), TKN_OK);
  int64_t input_per_thread = 0;
  for (int i = 0; i < CALLS; i++) input_per_thread += 100 + i % 10;
  assert_int_equal(st.calls, (uint64_t)THREADS * CALLS);
  assert_int_equal(st.successes, (uint64_t)THREADS * (CALLS - CALLS / 4));
  assert_int_equal(st.input_tokens, THREADS * input_per_thread);
  assert_int_equal(st.output_tokens, (int64_t)THREADS * CALLS * 7);
  assert_int_equal(st.cost, (int64_t)THREADS * CALLS * 1000);
  assert_int_equal(st.latency_us_total, (int64_t)THREADS * CALLS * 5);
  assert_int_equal(tkn_meter_key_count(m, TKN_METER_WORKFLOW), 3);
  tkn_meter_free(m);
}

/* ---- immutable objects: schema, router, prices ---- */

typedef struct {
  const tkn_schema *schema;
  const tkn_router *router;
  const tkn_prices *prices;
  int errors;
} shared_job;

static void *read_shared(void *arg) {
  shared_job *job = arg;
  tkn_schema_result *res = NULL;
  tkn_task *task = NULL;
  if (tkn_schema_result_new(&res) != TKN_OK ||
      tkn_task_from_json(&task, S("{\"kind\":\"faq\",\"tokens\":10}")) != TKN_OK) {
    __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
    return NULL;
  }
  for (int i = 0; i < 500; i++) {
    int ok = tkn_schema_validate(job->schema, S("{\"name\":\"Ann\",\"n\":3}"), res) == TKN_OK;
    ok &= tkn_schema_validate(job->schema, S("{\"name\":\"ann\"}"), res) == TKN_ERR_SCHEMA;
    ok &= tkn_schema_result_error_count(res) == 1;
    tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
    ok &= tkn_router_decide(job->router, task, &d) == TKN_OK && d.rule == 0 &&
          strcmp(d.model, "small-model") == 0;
    tkn_cost cost = TKN_COST_INIT;
    tkn_usage u = TKN_USAGE_INIT;
    u.input_tokens = 1000;
    u.output_tokens = 100;
    ok &= tkn_prices_cost(job->prices, S("gpt-4o-2024-08-06"), &u, &cost) == TKN_OK &&
          cost.total == INT64_C(1000) * 2500000 + INT64_C(100) * 10000000;
    if (!ok) __atomic_add_fetch(&job->errors, 1, __ATOMIC_RELAXED);
  }
  tkn_task_free(task);
  tkn_schema_result_free(res);
  return NULL;
}

static void threads_share_immutable_schema_router_and_prices(void **state) {
  (void)state;
  shared_job job = {0};
  tkn_schema *s = NULL;
  tkn_router *r = NULL;
  tkn_prices *p = NULL;
  assert_int_equal(
      tkn_schema_compile(&s,
                         S("{\"type\":\"object\",\"properties\":{\"name\":{\"pattern\":\"^[A-Z]\"},"
                           "\"n\":{\"type\":\"integer\"}},\"required\":[\"name\"]}"),
                         NULL),
      TKN_OK);
  assert_int_equal(
      tkn_router_new_json(&r,
                          S("{\"tiers\":[{\"name\":\"small\",\"models\":[\"small-model\"]},"
                            "{\"name\":\"large\",\"models\":[\"large-model\"]}],"
                            "\"rules\":[{\"when\":{\"attr\":\"kind\",\"in\":[\"faq\"]},"
                            "\"tier\":\"small\"}],\"default_tier\":\"large\"}"),
                          NULL),
      TKN_OK);
  assert_int_equal(tkn_prices_load(&p,
                                   S("{\"gpt-4o\":{\"input_cost_per_token\":2.5e-06,"
                                     "\"output_cost_per_token\":1e-05}}"),
                                   NULL),
                   TKN_OK);
  job.schema = s;
  job.router = r;
  job.prices = p;
  run_threads(read_shared, &job);
  assert_int_equal(job.errors, 0);
  tkn_prices_free(p);
  tkn_router_free(r);
  tkn_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(threads_share_one_estimator),
      cmocka_unit_test(threads_share_one_bpe_encoding),
      cmocka_unit_test(threads_share_one_budget_without_passing_its_hard_limit),
      cmocka_unit_test(threads_reserving_at_once_never_pass_the_hard_limit),
      cmocka_unit_test(threads_share_one_tool_cache),
      cmocka_unit_test(threads_share_one_meter_and_totals_are_exact),
      cmocka_unit_test(threads_share_immutable_schema_router_and_prices),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
