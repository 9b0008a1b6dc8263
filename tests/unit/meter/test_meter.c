/* The meter: aggregation by dimension, rates that keep "not reported" apart,
 * percentiles within the documented 1%, bounded keys, merging, exports, and
 * recording from several threads at once. */
#include <math.h>
#include <pthread.h>

#include "test_util.h"

#include <cjson/cJSON.h>


static tkn_meter_call call_of(const char *workflow, const char *model, int64_t in, int64_t out,
                              int64_t cost) {
  tkn_meter_call c = TKN_METER_CALL_INIT;
  c.workflow = workflow;
  c.workflow_len = workflow ? strlen(workflow) : 0;
  c.model = model;
  c.model_len = model ? strlen(model) : 0;
  c.usage.input_tokens = in;
  c.usage.output_tokens = out;
  c.cost = cost;
  return c;
}

static tkn_meter_stats stats_of(tkn_meter *m, int dim, const char *key) {
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  int rc = tkn_meter_stats_get(m, dim, key, key ? strlen(key) : 0, &s);
  if (rc != TKN_OK) fail_msg("stats of %s: %d", key ? key : "(total)", rc);
  return s;
}

static tkn_meter *new_meter(uint32_t max_keys, const tkn_prices *prices) {
  tkn_meter_options o = TKN_METER_OPTIONS_INIT;
  o.max_keys = max_keys;
  o.prices = prices;
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_OK);
  return m;
}

/* ---- structs ---- */

static void new_checks_its_options(void **state) {
  (void)state;
  tkn_meter *m = (tkn_meter *)1;
  tkn_meter_options o = TKN_METER_OPTIONS_INIT;
  o.max_keys = 0;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_ERR_INVALID);
  assert_null(m);
  o.max_keys = TKN_METER_MAX_KEYS_LIMIT + 1;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_ERR_INVALID);
  o.max_keys = 4;
  o.reserved = 1;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_ERR_INVALID);
  o.reserved = 0;
  o.budget_margin_pct = 10001;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_ERR_INVALID);
  o.budget_margin_pct = 20;
  o.version = 5;
  assert_int_equal(tkn_meter_new(&m, &o), TKN_ERR_VERSION);
  assert_int_equal(tkn_meter_new(NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_meter_free(m);
  tkn_meter_free(NULL);
}

/* ---- aggregation ---- */

static void calls_are_aggregated_by_every_dimension(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  tkn_meter_call a = call_of("triage", "gpt-4o", 1000, 100, 5000);
  a.tenant = "acme";
  a.tenant_len = 4;
  a.task_type = "classify";
  a.task_type_len = 8;
  a.tier = "small";
  a.tier_len = 5;
  a.routing_reason = "short-input";
  a.routing_reason_len = 11;
  a.usage.cache_read_tokens = 600;
  a.usage.cache_write_5m_tokens = 100;
  a.usage.cache_write_1h_tokens = 50;
  a.usage.reasoning_tokens = 40;
  a.usage.flags = TKN_USAGE_CACHE_REPORTED;
  a.latency_us = 300;
  assert_int_equal(tkn_meter_record(m, &a), TKN_OK);
  tkn_meter_call b = a;
  b.model = "claude-haiku-4-5";
  b.model_len = strlen(b.model);
  b.tenant = "globex";
  b.tenant_len = 6;
  b.success = 0;
  b.cost = 7000;
  b.latency_us = 100;
  assert_int_equal(tkn_meter_record(m, &b), TKN_OK);

  tkn_meter_stats s = stats_of(m, TKN_METER_WORKFLOW, "triage");
  assert_true(s.calls == 2 && s.successes == 1);
  assert_true(s.input_tokens == 2000 && s.cache_read_tokens == 1200 && s.output_tokens == 200);
  assert_true(s.cache_write_5m_tokens == 200 && s.cache_write_1h_tokens == 100);
  assert_true(s.reasoning_tokens == 80 && s.cost == 12000 && s.latency_us_total == 400);
  s = stats_of(m, TKN_METER_MODEL, "gpt-4o");
  assert_true(s.calls == 1 && s.cost == 5000);
  s = stats_of(m, TKN_METER_TENANT, "globex");
  assert_true(s.calls == 1 && s.successes == 0 && s.cost == 7000);
  s = stats_of(m, TKN_METER_TASK_TYPE, "classify");
  assert_true(s.calls == 2);
  s = stats_of(m, TKN_METER_TIER, "small");
  assert_true(s.calls == 2);
  s = stats_of(m, TKN_METER_ROUTING_REASON, "short-input");
  assert_true(s.calls == 2);
  s = stats_of(m, TKN_METER_TOTAL, NULL);
  assert_true(s.calls == 2 && s.cost == 12000);
  assert_int_equal(tkn_meter_key_count(m, TKN_METER_MODEL), 2);
  assert_int_equal(tkn_meter_key_count(m, TKN_METER_WORKFLOW), 1);
  assert_int_equal(tkn_meter_key_count(m, 6), 0);
  assert_int_equal(tkn_meter_key_count(NULL, 0), 0);

  tkn_meter_stats x = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_MODEL, S("gpt-5"), &x), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_meter_stats_get(m, 7, S("gpt-5"), &x), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_MODEL, NULL, 3, &x), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_stats_get(NULL, TKN_METER_MODEL, S("a"), &x), TKN_ERR_INVALID);
  x.version = 0;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &x), TKN_ERR_VERSION);
  tkn_meter_free(m);
}

static void cost_per_success_includes_failed_calls(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  tkn_meter_call c = call_of("w", "m", 10, 10, 300);
  c.success = 0;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_true(stats_of(m, TKN_METER_TOTAL, NULL).cost_per_success == -1);
  c.success = 1;
  c.cost = 100;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  /* (300 + 100 + 100) / 2 successes */
  assert_true(stats_of(m, TKN_METER_WORKFLOW, "w").cost_per_success == 250);
  tkn_meter_free(m);
}

static void cache_hit_rate_keeps_not_reported_apart_from_zero(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  tkn_meter_call c = call_of("w", "unreported", 1000, 1, 0);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  tkn_meter_stats s = stats_of(m, TKN_METER_TOTAL, NULL);
  assert_true(s.cache_hit_ppm == -1 && s.cache_unreported_calls == 1);
  c = call_of("w", "reported", 1000, 1, 0);
  c.usage.flags = TKN_USAGE_CACHE_REPORTED; /* a real miss */
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_true(stats_of(m, TKN_METER_MODEL, "reported").cache_hit_ppm == 0);
  c.usage.cache_read_tokens = 750;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  /* reported calls only: 750 / 2000; the unreported 1000 input does not dilute it */
  s = stats_of(m, TKN_METER_WORKFLOW, "w");
  assert_true(s.cache_hit_ppm == 375000);
  assert_true(s.cache_reported_input_tokens == 2000 && s.input_tokens == 3000);
  assert_true(stats_of(m, TKN_METER_MODEL, "unreported").cache_hit_ppm == -1);
  tkn_meter_free(m);
}

static void validation_pass_rate_counts_validated_calls_only(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  tkn_meter_call c = call_of("w", "m", 1, 1, 0);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_true(stats_of(m, TKN_METER_TOTAL, NULL).validation_pass_ppm == -1);
  c.validation = TKN_METER_VALIDATION_PASSED;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  c.validation = TKN_METER_VALIDATION_FAILED;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  tkn_meter_stats s = stats_of(m, TKN_METER_TOTAL, NULL);
  assert_true(s.validated == 3 && s.validation_passed == 2 && s.validation_pass_ppm == 666666);
  tkn_meter_free(m);
}

static void cost_can_be_computed_from_the_price_table(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_meter *m = new_meter(16, p);
  tkn_meter_call c = call_of("w", "gpt-4o-mini", 2000, 100, TKN_METER_COST_COMPUTE);
  c.usage.cache_read_tokens = 1000;
  c.usage.flags = TKN_USAGE_CACHE_REPORTED;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  /* 1000 x $0.15/M + 1000 x $0.075/M + 100 x $0.60/M */
  assert_true(stats_of(m, TKN_METER_TOTAL, NULL).cost ==
              1000 * INT64_C(150000) + 1000 * INT64_C(75000) + 100 * INT64_C(600000));
  /* the provider comes from the table, as its OpenTelemetry name */
  char *json = NULL;
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, &json, NULL), TKN_OK);
  assert_non_null(strstr(json, "\"gpt-4o-mini\":{"));
  assert_non_null(strstr(json, "\"provider\":\"openai\""));
  tkn_free(json);
  c.model = "gemini-2.5-flash";
  c.model_len = strlen(c.model);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_int_equal(tkn_meter_export(m, TKN_METER_PROMETHEUS, &json, NULL), TKN_OK);
  assert_non_null(strstr(json, "gen_ai_request_model=\"gemini-2.5-flash\","
                               "gen_ai_provider_name=\"gcp.gemini\""));
  tkn_free(json);
  c.model = "unknown-model";
  c.model_len = strlen(c.model);
  assert_int_equal(tkn_meter_record(m, &c), TKN_ERR_NOT_FOUND);
  char err[256];
  tt_copy_err(err, sizeof err);
  assert_non_null(strstr(err, "unknown-model"));
  tkn_meter_free(m);
  tkn_prices_free(p);
}

static void a_failed_record_changes_nothing(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  tkn_meter_call ok = call_of("w", "m", 5, 5, INT64_MAX - 10);
  assert_int_equal(tkn_meter_record(m, &ok), TKN_OK);
  char longkey[TKN_METER_KEY_MAX + 2];
  memset(longkey, 'k', sizeof longkey);
  struct {
    tkn_meter_call c;
    int rc;
    const char *needle;
  } cases[12];
  int n = 0;
  for (int i = 0; i < 12; i++) cases[i].c = call_of("w2", "m2", 1, 1, 1);
  cases[n].c.version = 9, cases[n].rc = TKN_ERR_VERSION, cases[n++].needle = "version";
  cases[n].c.success = 2, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "success";
  cases[n].c.validation = 3, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "validation";
  cases[n].c.latency_us = -1, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "latency";
  cases[n].c.cost = -5, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "cost";
  cases[n].c.usage.cache_read_tokens = 2, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "usage";
  cases[n].c.tenant = longkey, cases[n].c.tenant_len = sizeof longkey, cases[n].rc = TKN_ERR_LIMIT,
  cases[n++].needle = "tenant";
  cases[n].c.tier = "\xc3(", cases[n].c.tier_len = 2, cases[n].rc = TKN_ERR_UTF8,
  cases[n++].needle = "tier";
  cases[n].c.routing_reason = NULL, cases[n].c.routing_reason_len = 3, cases[n].rc = TKN_ERR_INVALID,
  cases[n++].needle = "routing_reason";
  cases[n].c.cost = TKN_METER_COST_COMPUTE, cases[n].rc = TKN_ERR_STATE, cases[n++].needle = "price";
  cases[n].c.cost = 11, cases[n].c.workflow = "w", cases[n].c.workflow_len = 1,
  cases[n].rc = TKN_ERR_OVERFLOW, cases[n++].needle = "overflow";
  cases[n].c.reserved = 1, cases[n].rc = TKN_ERR_INVALID, cases[n++].needle = "reserved";
  char before[2048], after[2048];
  char *json = NULL;
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, &json, NULL), TKN_OK);
  snprintf(before, sizeof before, "%s", json);
  tkn_free(json);
  for (int i = 0; i < n; i++) {
    int rc = tkn_meter_record(m, &cases[i].c);
    char err[256];
    tt_copy_err(err, sizeof err);
    if (rc != cases[i].rc || !strstr(err, cases[i].needle))
      fail_msg("case %d: rc %d, err \"%s\"", i, rc, err);
  }
  assert_int_equal(tkn_meter_record(m, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_record(NULL, &ok), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, &json, NULL), TKN_OK);
  snprintf(after, sizeof after, "%s", json);
  tkn_free(json);
  assert_string_equal(before, after);
  assert_int_equal(tkn_meter_key_count(m, TKN_METER_WORKFLOW), 1);
  tkn_meter_free(m);
}

static void keys_beyond_the_cap_go_to_other(void **state) {
  (void)state;
  tkn_meter *m = new_meter(2, NULL);
  const char *w[] = {"a", "b", "c", "d", "a"};
  for (int i = 0; i < 5; i++) {
    tkn_meter_call c = call_of(w[i], "m", 1, 1, 1);
    assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  }
  assert_int_equal(tkn_meter_key_count(m, TKN_METER_WORKFLOW), 3);
  assert_true(stats_of(m, TKN_METER_WORKFLOW, "a").calls == 2);
  assert_true(stats_of(m, TKN_METER_WORKFLOW, "(other)").calls == 2);
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_WORKFLOW, S("c"), &s), TKN_ERR_NOT_FOUND);
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  assert_int_equal(tkn_meter_percentiles_get(m, S("(other)"), &p), TKN_OK);
  assert_true(p.count == 2);
  tkn_meter_free(m);
}

static void empty_keys_are_filed_under_none(void **state) {
  (void)state;
  tkn_meter *m = new_meter(4, NULL);
  tkn_meter_call c = call_of(NULL, "m", 1, 1, 1);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  assert_true(stats_of(m, TKN_METER_WORKFLOW, "(none)").calls == 1);
  assert_true(stats_of(m, TKN_METER_WORKFLOW, "").calls == 1);
  assert_true(stats_of(m, TKN_METER_TENANT, "(none)").calls == 1);
  tkn_meter_free(m);
}

/* ---- percentiles ---- */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static void assert_within_1pct(int64_t got, int64_t want, const char *what) {
  double tol = 0.01 * (double)want + 1.0; /* +1: the integer rounding of the estimate */
  if (fabs((double)got - (double)want) > tol)
    fail_msg("%s: %lld not within 1%% of %lld", what, (long long)got, (long long)want);
}

static void percentiles_are_within_the_documented_error(void **state) {
  (void)state;
  tkn_meter *m = new_meter(4, NULL);
  enum { N = 5000 };
  static int64_t toks[N], costs[N];
  uint64_t x = 88172645463325252u;
  for (int i = 0; i < N; i++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    /* heavy-tailed: most calls small, a few very large */
    int64_t in = 50 + (int64_t)(x % 2000) * (int64_t)((x >> 20) % 7 == 0 ? 100 : 1);
    int64_t out = (int64_t)((x >> 32) % 500);
    tkn_meter_call c = call_of("wf", "m", in, out, in * 3000000 + out * 15000000);
    assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
    toks[i] = in + out;
    costs[i] = c.cost;
  }
  qsort(toks, N, sizeof toks[0], cmp_i64);
  qsort(costs, N, sizeof costs[0], cmp_i64);
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  assert_int_equal(tkn_meter_percentiles_get(m, S("wf"), &p), TKN_OK);
  assert_int_equal(p.relative_error_ppm, 10000);
  assert_true(p.count == N);
  const double q[3] = {0.50, 0.95, 0.99};
  int64_t gt[3] = {p.tokens_p50, p.tokens_p95, p.tokens_p99};
  int64_t gc[3] = {p.cost_p50, p.cost_p95, p.cost_p99};
  for (int k = 0; k < 3; k++) {
    size_t r = (size_t)floor(q[k] * (N - 1));
    assert_within_1pct(gt[k], toks[r], "tokens");
    assert_within_1pct(gc[k], costs[r], "cost");
  }
  /* the budget is p99 with the default 20% margin, rounded up */
  assert_true(p.budget_tokens == (p.tokens_p99 * 120 + 99) / 100);
  assert_true(p.budget_cost == (p.cost_p99 * 120 + 99) / 100);
  assert_true(p.tokens_p50 <= p.tokens_p95 && p.tokens_p95 <= p.tokens_p99);

  assert_int_equal(tkn_meter_percentiles_get(m, S("nope"), &p), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_meter_percentiles_get(m, NULL, 2, &p), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_percentiles_get(NULL, S("wf"), &p), TKN_ERR_INVALID);
  p.version = 0;
  assert_int_equal(tkn_meter_percentiles_get(m, S("wf"), &p), TKN_ERR_VERSION);
  tkn_meter_free(m);
}

static void zero_values_have_their_own_bucket(void **state) {
  (void)state;
  tkn_meter *m = new_meter(4, NULL);
  for (int i = 0; i < 20; i++) {
    tkn_meter_call c = call_of("free", "m", i < 10 ? 0 : 1000, 0, 0);
    assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  }
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  assert_int_equal(tkn_meter_percentiles_get(m, S("free"), &p), TKN_OK);
  /* ranks 9.5 (p50) and 18.05 (p95) of 10 zeros then 10 x 1000 */
  assert_true(p.tokens_p50 == 0 && p.cost_p99 == 0 && p.budget_cost == 0);
  assert_within_1pct(p.tokens_p95, 1000, "p95");
  tkn_meter_free(m);
}

/* ---- merge and reset ---- */

static void merging_two_meters_equals_recording_into_one(void **state) {
  (void)state;
  tkn_meter *a = new_meter(8, NULL), *b = new_meter(8, NULL), *all = new_meter(8, NULL);
  for (int i = 0; i < 300; i++) {
    tkn_meter_call c = call_of(i % 3 ? "x" : "y", i % 2 ? "m1" : "m2", 10 + i * 37, i, i * 1000);
    c.provider = "openai";
    c.provider_len = 6;
    c.usage.flags = i % 5 ? TKN_USAGE_CACHE_REPORTED : 0;
    assert_int_equal(tkn_meter_record(i < 120 ? a : b, &c), TKN_OK);
    assert_int_equal(tkn_meter_record(all, &c), TKN_OK);
  }
  assert_int_equal(tkn_meter_merge(a, b), TKN_OK);
  char *ja = NULL, *jall = NULL;
  assert_int_equal(tkn_meter_export(a, TKN_METER_JSON, &ja, NULL), TKN_OK);
  assert_int_equal(tkn_meter_export(all, TKN_METER_JSON, &jall, NULL), TKN_OK);
  /* the same keys arrive in a different order; compare per key */
  const char *keys[] = {"x", "y"};
  for (int k = 0; k < 2; k++) {
    tkn_meter_percentiles p1 = TKN_METER_PERCENTILES_INIT, p2 = TKN_METER_PERCENTILES_INIT;
    assert_int_equal(tkn_meter_percentiles_get(a, keys[k], 1, &p1), TKN_OK);
    assert_int_equal(tkn_meter_percentiles_get(all, keys[k], 1, &p2), TKN_OK);
    assert_memory_equal(&p1, &p2, sizeof p1);
    tkn_meter_stats s1 = stats_of(a, TKN_METER_WORKFLOW, keys[k]);
    tkn_meter_stats s2 = stats_of(all, TKN_METER_WORKFLOW, keys[k]);
    assert_memory_equal(&s1, &s2, sizeof s1);
  }
  tkn_meter_stats t1 = stats_of(a, TKN_METER_TOTAL, NULL), t2 = stats_of(all, TKN_METER_TOTAL, NULL);
  assert_memory_equal(&t1, &t2, sizeof t1);
  tkn_free(ja);
  tkn_free(jall);
  /* src is unchanged; a meter cannot merge into itself */
  assert_true(stats_of(b, TKN_METER_TOTAL, NULL).calls == 180);
  assert_int_equal(tkn_meter_merge(a, a), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_merge(NULL, a), TKN_ERR_INVALID);
  /* merging into a smaller meter respects its cap */
  tkn_meter *small = new_meter(1, NULL);
  assert_int_equal(tkn_meter_merge(small, all), TKN_OK);
  assert_int_equal(tkn_meter_key_count(small, TKN_METER_WORKFLOW), 2);
  assert_true(stats_of(small, TKN_METER_WORKFLOW, "(other)").calls ==
              stats_of(all, TKN_METER_WORKFLOW, "x").calls);
  assert_true(stats_of(small, TKN_METER_TOTAL, NULL).calls == 300);
  tkn_meter_free(small);
  /* reset forgets everything */
  tkn_meter_reset(a);
  tkn_meter_reset(NULL);
  assert_true(stats_of(a, TKN_METER_TOTAL, NULL).calls == 0);
  assert_int_equal(tkn_meter_key_count(a, TKN_METER_WORKFLOW), 0);
  tkn_meter_call c = call_of("x", "m", 1, 1, 1);
  assert_int_equal(tkn_meter_record(a, &c), TKN_OK);
  assert_true(stats_of(a, TKN_METER_WORKFLOW, "x").calls == 1);
  tkn_meter_free(a);
  tkn_meter_free(b);
  tkn_meter_free(all);
}

/* The sum of a Prometheus family's samples named `name` (lines "name{...} v"). */
static double prom_sum(const char *text, const char *name) {
  double t = 0;
  size_t n = strlen(name);
  for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
    if (strncmp(l, name, n) != 0 || l[n] != '{') continue;
    const char *v = strstr(l, "} ");
    if (v) t += strtod(v + 2, NULL);
  }
  return t;
}

static void series_count_each_call_once_even_beyond_the_cap(void **state) {
  (void)state;
  /* max_keys 1: at most 4 series, then the "(other)" series */
  tkn_meter *m = new_meter(1, NULL);
  static const char *const tenants[] = {"a", "b", "c", "d", "e", "f", "g"};
  for (int i = 0; i < 14; i++) {
    tkn_meter_call c = call_of("w", i % 2 ? "m1" : "m2", 10, 5, 100);
    c.tenant = tenants[i % 7];
    c.tenant_len = 1;
    c.latency_us = 20000 * i;
    assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  }
  tkn_meter *m2 = new_meter(1, NULL);
  assert_int_equal(tkn_meter_merge(m2, m), TKN_OK);
  assert_int_equal(tkn_meter_merge(m2, m), TKN_OK);
  tkn_meter *ms[2] = {m, m2};
  for (int k = 0; k < 2; k++) {
    char *text = NULL;
    assert_int_equal(tkn_meter_export(ms[k], TKN_METER_PROMETHEUS, &text, NULL), TKN_OK);
    double n = k ? 28 : 14;
    assert_true(prom_sum(text, "tokenomy_calls_total") == n);
    assert_true(prom_sum(text, "gen_ai_client_operation_duration_seconds_count") == n);
    assert_true(prom_sum(text, "tokenomy_tokens_total") == 15 * n);
    assert_true(prom_sum(text, "tokenomy_cost_usd_total") * 1e12 - 100 * n < 1e-3);
    assert_true(prom_sum(text, "tokenomy_workflow_tokens_per_call_count") == n);
    assert_non_null(strstr(text, "tokenomy_tenant=\"(other)\""));
    /* 4 series and (other): 5 x 2 outcomes */
    size_t lines = 0;
    for (const char *l = strstr(text, "\ntokenomy_calls_total{"); l;
         l = strstr(l + 1, "\ntokenomy_calls_total{"))
      lines++;
    assert_int_equal(lines, 10);
    tkn_free(text);
  }
  tkn_meter_free(m);
  tkn_meter_free(m2);
}

static void merge_overflow_leaves_dst_unchanged(void **state) {
  (void)state;
  tkn_meter *a = new_meter(4, NULL), *b = new_meter(4, NULL);
  tkn_meter_call c = call_of("x", "m", 1, 1, INT64_MAX - 1);
  assert_int_equal(tkn_meter_record(a, &c), TKN_OK);
  assert_int_equal(tkn_meter_record(b, &c), TKN_OK);
  assert_int_equal(tkn_meter_merge(a, b), TKN_ERR_OVERFLOW);
  assert_true(stats_of(a, TKN_METER_TOTAL, NULL).calls == 1);
  /* a suggested budget beyond int64 saturates rather than failing */
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  assert_int_equal(tkn_meter_percentiles_get(a, S("x"), &p), TKN_OK);
  assert_true(p.budget_cost == INT64_MAX);
  char err[128];
  tt_copy_err(err, sizeof err);
  assert_non_null(strstr(err, "overflow"));
  tkn_meter_free(a);
  tkn_meter_free(b);
}

/* ---- exports ---- */

static tkn_meter *sample_meter(void) {
  tkn_meter *m = new_meter(8, NULL);
  tkn_meter_call c = call_of("triage", "gpt-4o", 3, 70000, 1234567);
  c.provider = "openai";
  c.provider_len = 6;
  c.usage.flags = TKN_USAGE_CACHE_REPORTED;
  c.usage.cache_read_tokens = 1;
  c.latency_us = 1500000;
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  c = call_of("triage", "we\"ird", 100, 1, 0);
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  return m;
}

static void json_export_holds_stats_rates_and_percentiles(void **state) {
  (void)state;
  tkn_meter *m = sample_meter();
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, &text, &len), TKN_OK);
  assert_int_equal(len, strlen(text));
  cJSON *root = cJSON_Parse(text);
  assert_non_null(root);
  cJSON *total = cJSON_GetObjectItem(root, "total");
  assert_int_equal(cJSON_GetObjectItem(total, "calls")->valueint, 2);
  assert_string_equal(cJSON_GetObjectItem(total, "cost_usd")->valuestring, "0.000001234567");
  assert_int_equal((int)cJSON_GetObjectItem(total, "cost")->valuedouble, 1234567);
  cJSON *gpt = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "by_model"), "gpt-4o");
  assert_non_null(gpt);
  assert_string_equal(cJSON_GetObjectItem(gpt, "provider")->valuestring, "openai");
  assert_true(fabs(cJSON_GetObjectItem(gpt, "cache_hit_rate")->valuedouble - 0.333333) < 1e-9);
  cJSON *weird = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "by_model"), "we\"ird");
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(weird, "cache_hit_rate")));
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(weird, "validation_pass_rate")));
  cJSON *wf = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "by_workflow"), "triage");
  cJSON *pct = cJSON_GetObjectItem(wf, "percentiles");
  assert_int_equal(cJSON_GetObjectItem(pct, "count")->valueint, 2);
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  assert_int_equal(tkn_meter_percentiles_get(m, S("triage"), &p), TKN_OK);
  assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(pct, "tokens"), "p99")->valuedouble,
                   (double)p.tokens_p99);
  cJSON *bud = cJSON_GetObjectItem(pct, "suggested_budget");
  assert_int_equal(cJSON_GetObjectItem(bud, "tokens")->valuedouble, (double)p.budget_tokens);
  for (int d = 0; d < 6; d++) {
    static const char *names[] = {"by_workflow", "by_model", "by_task_type", "by_tenant",
                                  "by_tier", "by_routing_reason"};
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(root, names[d])));
  }
  cJSON_Delete(root);
  tkn_free(text);
  assert_int_equal(tkn_meter_export(m, 0, &text, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_export(m, 4, &text, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_export(NULL, TKN_METER_JSON, &text, NULL), TKN_ERR_INVALID);
  tkn_meter_free(m);
}

static void prometheus_export_has_the_genai_histogram(void **state) {
  (void)state;
  tkn_meter *m = sample_meter();
  char *text = NULL;
  assert_int_equal(tkn_meter_export(m, TKN_METER_PROMETHEUS, &text, NULL), TKN_OK);
  assert_non_null(strstr(text, "# TYPE gen_ai_client_token_usage histogram\n"));
  const char *lbl = "{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"gpt-4o\","
                    "gen_ai_provider_name=\"openai\",tokenomy_workflow=\"triage\","
                    "tokenomy_tenant=\"(none)\",tokenomy_task_type=\"(none)\",gen_ai_token_type=";
  char line[512];
  /* input 3: not in le=1, in le=4; output 70000: first in le=262144 */
  snprintf(line, sizeof line, "gen_ai_client_token_usage_bucket%s\"input\",le=\"1\"} 0\n", lbl);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_token_usage_bucket%s\"input\",le=\"4\"} 1\n", lbl);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_token_usage_bucket%s\"output\",le=\"65536\"} 0\n", lbl);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_token_usage_bucket%s\"output\",le=\"262144\"} 1\n", lbl);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_token_usage_bucket%s\"output\",le=\"+Inf\"} 1\n", lbl);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_token_usage_sum%s\"output\"} 70000\n", lbl);
  assert_non_null(strstr(text, line));
  /* every boundary of the spec, in order */
  static const char *const bounds[] = {"1", "4", "16", "64", "256", "1024", "4096", "16384",
                                       "65536", "262144", "1048576", "4194304", "16777216",
                                       "67108864", "+Inf"};
  const char *at = text;
  for (int k = 0; k < 15; k++) {
    snprintf(line, sizeof line, "le=\"%s\"}", bounds[k]);
    at = strstr(at, line);
    if (!at) fail_msg("bucket %s missing or out of order", bounds[k]);
  }
  assert_non_null(strstr(text, "gen_ai_request_model=\"we\\\"ird\""));
  /* one family per measure, labelled by the series: no generic by/key labels */
  assert_null(strstr(text, "by=\""));
  const char *gpt = "{gen_ai_operation_name=\"chat\",gen_ai_request_model=\"gpt-4o\","
                    "gen_ai_provider_name=\"openai\",tokenomy_workflow=\"triage\","
                    "tokenomy_tenant=\"(none)\",tokenomy_task_type=\"(none)\"";
  snprintf(line, sizeof line, "tokenomy_cost_usd_total%s} 0.000001234567\n", gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "tokenomy_calls_total%s,outcome=\"success\"} 1\n", gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "tokenomy_tokens_total%s,kind=\"cache_read\"} 1\n", gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "tokenomy_tokens_total%s,kind=\"input_uncached\"} 2\n", gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "tokenomy_cache_reported_input_tokens_total%s} 3\n", gpt);
  assert_non_null(strstr(text, line));
  /* the call took 1.5 s: in le=1.28? no; le=2.56: yes */
  snprintf(line, sizeof line, "gen_ai_client_operation_duration_seconds_bucket%s,le=\"1.28\"} 0\n",
           gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_operation_duration_seconds_bucket%s,le=\"2.56\"} 1\n",
           gpt);
  assert_non_null(strstr(text, line));
  snprintf(line, sizeof line, "gen_ai_client_operation_duration_seconds_sum%s} 1.500000\n", gpt);
  assert_non_null(strstr(text, line));
  /* the workflow's percentiles and suggested budget */
  assert_non_null(strstr(text, "# TYPE tokenomy_workflow_tokens_per_call summary\n"));
  assert_non_null(
      strstr(text, "tokenomy_workflow_tokens_per_call_count{tokenomy_workflow=\"triage\"} 2\n"));
  assert_non_null(
      strstr(text, "tokenomy_workflow_suggested_budget_tokens{tokenomy_workflow=\"triage\"} "));
  tkn_free(text);
  tkn_meter_free(m);
}

static void otel_export_uses_the_genai_names_and_buckets(void **state) {
  (void)state;
  tkn_meter *m = sample_meter();
  char *text = NULL;
  assert_int_equal(tkn_meter_export(m, TKN_METER_OTEL, &text, NULL), TKN_OK);
  cJSON *root = cJSON_Parse(text);
  assert_non_null(root);
  cJSON *rm = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "resourceMetrics"), 0);
  cJSON *sm = cJSON_GetArrayItem(cJSON_GetObjectItem(rm, "scopeMetrics"), 0);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(sm, "scope"), "name")->valuestring,
                      "tokenomy");
  cJSON *metric = cJSON_GetArrayItem(cJSON_GetObjectItem(sm, "metrics"), 0);
  assert_string_equal(cJSON_GetObjectItem(metric, "name")->valuestring, "gen_ai.client.token.usage");
  assert_string_equal(cJSON_GetObjectItem(metric, "unit")->valuestring, "{token}");
  cJSON *points = cJSON_GetObjectItem(cJSON_GetObjectItem(metric, "histogram"), "dataPoints");
  assert_int_equal(cJSON_GetArraySize(points), 4); /* 2 models x input/output */
  cJSON *pt = cJSON_GetArrayItem(points, 1);
  static const double bounds[] = {1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576,
                                  4194304, 16777216, 67108864};
  cJSON *eb = cJSON_GetObjectItem(pt, "explicitBounds");
  assert_int_equal(cJSON_GetArraySize(eb), 14);
  for (int k = 0; k < 14; k++) assert_true(cJSON_GetArrayItem(eb, k)->valuedouble == bounds[k]);
  cJSON *bc = cJSON_GetObjectItem(pt, "bucketCounts");
  assert_int_equal(cJSON_GetArraySize(bc), 15);
  assert_string_equal(cJSON_GetArrayItem(bc, 9)->valuestring, "1"); /* 70000 <= 262144 */
  cJSON *attrs = cJSON_GetObjectItem(pt, "attributes");
  int seen = 0;
  cJSON *a;
  cJSON_ArrayForEach(a, attrs) {
    const char *k = cJSON_GetObjectItem(a, "key")->valuestring;
    const char *v = cJSON_GetObjectItem(cJSON_GetObjectItem(a, "value"), "stringValue")->valuestring;
    if (!strcmp(k, "gen_ai.request.model")) seen += !strcmp(v, "gpt-4o");
    if (!strcmp(k, "gen_ai.provider.name")) seen += !strcmp(v, "openai");
    if (!strcmp(k, "gen_ai.token.type")) seen += !strcmp(v, "output");
  }
  assert_int_equal(seen, 3);
  cJSON *dur = cJSON_GetArrayItem(cJSON_GetObjectItem(sm, "metrics"), 1);
  assert_string_equal(cJSON_GetObjectItem(dur, "name")->valuestring,
                      "gen_ai.client.operation.duration");
  assert_string_equal(cJSON_GetObjectItem(dur, "unit")->valuestring, "s");
  cJSON *dp = cJSON_GetArrayItem(
      cJSON_GetObjectItem(cJSON_GetObjectItem(dur, "histogram"), "dataPoints"), 0);
  assert_true(cJSON_GetObjectItem(dp, "sum")->valuedouble == 1.5);
  cJSON_Delete(root);
  tkn_free(text);
  tkn_meter_free(m);
}

static void otel_call_attributes_follow_what_was_reported(void **state) {
  (void)state;
  tkn_meter_call c = call_of("triage", "claude-sonnet-4-5", 3600, 50, 12345);
  c.provider = "anthropic";
  c.provider_len = 9;
  c.usage.cache_read_tokens = 1000;
  c.usage.cache_write_5m_tokens = 2000;
  c.usage.cache_write_1h_tokens = 500;
  c.usage.flags = TKN_USAGE_CACHE_REPORTED | TKN_USAGE_CACHE_WRITE_REPORTED;
  c.validation = TKN_METER_VALIDATION_PASSED;
  c.usage.output_tokens = 50;
  c.usage.reasoning_tokens = 30;
  c.usage.flags |= TKN_USAGE_REASONING_REPORTED;
  char *text = NULL;
  size_t len = 0;
  assert_int_equal(tkn_meter_otel_call(&c, &text, &len), TKN_OK);
  cJSON *o = cJSON_Parse(text);
  assert_non_null(o);
  assert_string_equal(cJSON_GetObjectItem(o, "gen_ai.provider.name")->valuestring, "anthropic");
  assert_string_equal(cJSON_GetObjectItem(o, "gen_ai.request.model")->valuestring, "claude-sonnet-4-5");
  assert_int_equal(cJSON_GetObjectItem(o, "gen_ai.usage.input_tokens")->valueint, 3600);
  assert_int_equal(cJSON_GetObjectItem(o, "gen_ai.usage.output_tokens")->valueint, 50);
  assert_int_equal(cJSON_GetObjectItem(o, "gen_ai.usage.cache_read.input_tokens")->valueint, 1000);
  assert_int_equal(cJSON_GetObjectItem(o, "gen_ai.usage.cache_creation.input_tokens")->valueint, 2500);
  assert_int_equal(cJSON_GetObjectItem(o, "gen_ai.usage.reasoning.output_tokens")->valueint, 30);
  assert_string_equal(cJSON_GetObjectItem(o, "tokenomy.cost.usd")->valuestring, "0.000000012345");
  assert_string_equal(cJSON_GetObjectItem(o, "tokenomy.validation")->valuestring, "passed");
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(o, "tokenomy.success")));
  assert_null(cJSON_GetObjectItem(o, "error.type"));
  cJSON_Delete(o);
  tkn_free(text);
  /* cache not reported: no cache attributes at all (not a false 0) */
  c.usage.cache_read_tokens = c.usage.cache_write_5m_tokens = c.usage.cache_write_1h_tokens = 0;
  c.usage.reasoning_tokens = 0;
  c.usage.flags = 0;
  c.success = 0;
  c.cost = TKN_METER_COST_COMPUTE;
  assert_int_equal(tkn_meter_otel_call(&c, &text, NULL), TKN_OK);
  o = cJSON_Parse(text);
  assert_null(cJSON_GetObjectItem(o, "gen_ai.usage.cache_read.input_tokens"));
  assert_null(cJSON_GetObjectItem(o, "gen_ai.usage.cache_creation.input_tokens"));
  assert_null(cJSON_GetObjectItem(o, "tokenomy.cost.usd"));
  assert_null(cJSON_GetObjectItem(o, "gen_ai.usage.reasoning.output_tokens"));
  assert_string_equal(cJSON_GetObjectItem(o, "error.type")->valuestring, "_OTHER");
  cJSON_Delete(o);
  tkn_free(text);
  c.latency_us = -1;
  assert_int_equal(tkn_meter_otel_call(&c, &text, NULL), TKN_ERR_INVALID);
  assert_null(text);
  assert_int_equal(tkn_meter_otel_call(NULL, &text, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_meter_otel_call(&c, NULL, NULL), TKN_ERR_INVALID);
}

/* ---- threads ---- */

enum { THREADS = 4, PER_THREAD = 20000 };

typedef struct worker {
  tkn_meter *m;
  int id;
  int failures;
} worker;

static void *record_many(void *arg) {
  worker *w = arg;
  static const char *const flows[] = {"a", "b", "c"};
  for (int i = 0; i < PER_THREAD; i++) {
    tkn_meter_call c = call_of(flows[i % 3], w->id % 2 ? "m1" : "m2", 100 + i % 50, 10, 1000 + i % 7);
    c.success = (uint32_t)(i % 4 != 0);
    c.usage.flags = TKN_USAGE_CACHE_REPORTED;
    c.usage.cache_read_tokens = 10;
    if (tkn_meter_record(w->m, &c) != TKN_OK) w->failures++;
  }
  return NULL;
}

static void concurrent_records_add_up_exactly(void **state) {
  (void)state;
  tkn_meter *m = new_meter(16, NULL);
  pthread_t t[THREADS];
  worker w[THREADS];
  for (int i = 0; i < THREADS; i++) {
    w[i] = (worker){m, i, 0};
    assert_int_equal(pthread_create(&t[i], NULL, record_many, &w[i]), 0);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(w[i].failures, 0);
  }
  int64_t in = 0, cost = 0;
  uint64_t succ = 0;
  for (int i = 0; i < PER_THREAD; i++) {
    in += 100 + i % 50;
    cost += 1000 + i % 7;
    succ += i % 4 != 0;
  }
  tkn_meter_stats s = stats_of(m, TKN_METER_TOTAL, NULL);
  assert_true(s.calls == (uint64_t)THREADS * PER_THREAD);
  assert_true(s.input_tokens == THREADS * in);
  assert_true(s.cost == THREADS * cost);
  assert_true(s.successes == THREADS * succ);
  assert_true(s.cache_read_tokens == (int64_t)THREADS * PER_THREAD * 10);
  uint64_t per_flow = 0;
  const char *flows[] = {"a", "b", "c"};
  for (int f = 0; f < 3; f++) {
    tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
    assert_int_equal(tkn_meter_percentiles_get(m, flows[f], 1, &p), TKN_OK);
    per_flow += p.count;
  }
  assert_true(per_flow == s.calls);
  assert_true(stats_of(m, TKN_METER_MODEL, "m1").calls == (uint64_t)THREADS / 2 * PER_THREAD);
  tkn_meter_free(m);
}

/* ---- out of memory ---- */

static int record_set(tkn_meter *m, int round) {
  static const char *const flows[] = {"alpha", "beta", "gamma", "delta"};
  for (int i = 0; i < 4; i++) {
    tkn_meter_call c = call_of(flows[(i + round) % 4], i % 2 ? "m1" : "m2",
                               (int64_t)1 << (i * 9 + round), 5 << i, (int64_t)1000 << (i * 7));
    c.provider = "p";
    c.provider_len = 1;
    c.tenant = flows[i];
    c.tenant_len = strlen(flows[i]);
    uint64_t before = 0;
    tkn_meter_stats s = TKN_METER_STATS_INIT;
    tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &s);
    before = s.calls;
    int rc = tkn_meter_record(m, &c);
    tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &s);
    if (rc != TKN_OK) {
      assert_int_equal(rc, TKN_ERR_NOMEM);
      assert_true(s.calls == before); /* nothing half-recorded */
      return rc;
    }
    assert_true(s.calls == before + 1);
  }
  return TKN_OK;
}

static void meter_survives_every_allocation_failure(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    tkn_meter *m = NULL, *other = NULL;
    int rc = tkn_meter_new(&m, NULL);
    if (rc == TKN_OK) rc = record_set(m, 0);
    if (rc == TKN_OK) rc = record_set(m, 1);
    if (rc == TKN_OK) rc = tkn_meter_new(&other, NULL);
    if (rc == TKN_OK) rc = record_set(other, 2);
    if (rc == TKN_OK) {
      tkn_meter_stats s = TKN_METER_STATS_INIT;
      tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &s);
      rc = tkn_meter_merge(m, other);
      tkn_meter_stats s2 = TKN_METER_STATS_INIT;
      tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &s2);
      assert_true(rc == TKN_OK ? s2.calls == s.calls + 4 : s2.calls == s.calls);
    }
    for (int f = TKN_METER_JSON; f <= TKN_METER_OTEL && rc == TKN_OK; f++) {
      char *text = NULL;
      rc = tkn_meter_export(m, f, &text, NULL);
      if (rc != TKN_OK) assert_null(text);
      tkn_free(text);
    }
    if (rc == TKN_OK) {
      char *text = NULL;
      tkn_meter_call c = call_of("w", "m", 1, 1, 1);
      rc = tkn_meter_otel_call(&c, &text, NULL);
      tkn_free(text);
    }
    if (rc != TKN_OK) assert_int_equal(rc, TKN_ERR_NOMEM);
    int done = !tt_alloc.failed;
    tkn_meter_free(m);
    tkn_meter_free(other);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
    assert_true(n < 100000);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(new_checks_its_options),
      cmocka_unit_test(calls_are_aggregated_by_every_dimension),
      cmocka_unit_test(cost_per_success_includes_failed_calls),
      cmocka_unit_test(cache_hit_rate_keeps_not_reported_apart_from_zero),
      cmocka_unit_test(validation_pass_rate_counts_validated_calls_only),
      cmocka_unit_test(cost_can_be_computed_from_the_price_table),
      cmocka_unit_test(a_failed_record_changes_nothing),
      cmocka_unit_test(keys_beyond_the_cap_go_to_other),
      cmocka_unit_test(empty_keys_are_filed_under_none),
      cmocka_unit_test(percentiles_are_within_the_documented_error),
      cmocka_unit_test(zero_values_have_their_own_bucket),
      cmocka_unit_test(merging_two_meters_equals_recording_into_one),
      cmocka_unit_test(merge_overflow_leaves_dst_unchanged),
      cmocka_unit_test(series_count_each_call_once_even_beyond_the_cap),
      cmocka_unit_test(json_export_holds_stats_rates_and_percentiles),
      cmocka_unit_test(prometheus_export_has_the_genai_histogram),
      cmocka_unit_test(otel_export_uses_the_genai_names_and_buckets),
      cmocka_unit_test(otel_call_attributes_follow_what_was_reported),
      cmocka_unit_test(concurrent_records_add_up_exactly),
      cmocka_unit_test(meter_survives_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
