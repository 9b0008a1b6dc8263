/* A field or a scalar argument out of its range: the one-line error names it
 * as the header does ("opts->price_input", "shares[1]", "i"), not "invalid
 * argument".  One row per check that used to share a generic text (the
 * NULL pointers are the null-args test's); each row changes one field of a
 * call that works, so the failure can only be that field's. */
#include "test_util.h"

typedef struct row {
  const char *what; /* the call and the field made bad */
  int (*call)(void);
  const char *names; /* must appear in tkn_error_last()->message */
} row;

static int cacheplan_price(void) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.price_input = 0;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  tkn_cacheplan_free(c);
  return rc;
}
static int cacheplan_provider(void) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = 77;
  o.price_input = 3000000;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  tkn_cacheplan_free(c);
  return rc;
}
static int cacheplan_storage(void) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_GEMINI;
  o.price_input = 3000000;
  o.price_storage_hour = -1;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  tkn_cacheplan_free(c);
  return rc;
}
static int toolcache_max_bytes(void) {
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_bytes = 0;
  tkn_toolcache *c = NULL;
  int rc = tkn_toolcache_new(&c, &o);
  tkn_toolcache_free(c);
  return rc;
}
static int meter_max_keys(void) {
  tkn_meter_options o = TKN_METER_OPTIONS_INIT;
  o.max_keys = 0;
  tkn_meter *m = NULL;
  int rc = tkn_meter_new(&m, &o);
  tkn_meter_free(m);
  return rc;
}
static int meter_margin(void) {
  tkn_meter_options o = TKN_METER_OPTIONS_INIT;
  o.budget_margin_pct = 20000;
  tkn_meter *m = NULL;
  int rc = tkn_meter_new(&m, &o);
  tkn_meter_free(m);
  return rc;
}
static int meter_format(void) {
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  char *out = NULL;
  int rc = tkn_meter_export(m, 99, &out, NULL);
  tkn_free(out);
  tkn_meter_free(m);
  return rc;
}
static int builder_keep_order(void) {
  tkn_prompt_options o = TKN_PROMPT_OPTIONS_INIT;
  o.keep_order = 2;
  tkn_prompt_builder *b = NULL;
  int rc = tkn_prompt_builder_new(&b, &o);
  tkn_prompt_builder_free(b);
  return rc;
}
static tkn_router *router(void) {
  tkn_router *r = NULL;
  assert_int_equal(tkn_router_new_json(&r,
                                       S("{\"tiers\":[{\"name\":\"small\",\"models\":[\"a\"]}],"
                                         "\"default_tier\":\"small\"}"),
                                       NULL),
                   TKN_OK);
  return r;
}
static int cascade_start_tier(void) {
  tkn_router *r = router();
  tkn_router_cascade_options o = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  o.start_tier = 3;
  tkn_router_cascade *c = NULL;
  int rc = tkn_router_cascade_new(&c, r, &o);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
  return rc;
}
static int tier_threshold_index(void) {
  tkn_router *r = router();
  double t = 0;
  int rc = tkn_router_tier_threshold(r, 5, &t);
  tkn_router_free(r);
  return rc;
}
static int calibrate_shares(void) {
  double scores[3] = {0.1, 0.5, 0.9}, shares[2] = {0.5, 1.5}, th[2];
  return tkn_router_calibrate(scores, 3, shares, 2, th);
}
static int calibrate_sum(void) {
  double scores[3] = {0.1, 0.5, 0.9}, shares[2] = {0.5, 0.2}, th[2];
  return tkn_router_calibrate(scores, 3, shares, 2, th);
}
static int retry_attempts(void) {
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  o.max_attempts = 0;
  tkn_schema_retry_step st;
  memset(&st, 0, sizeof st);
  return tkn_schema_retry_next(&o, 1, &st);
}
static int retry_failures(void) {
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  tkn_schema_retry_step st;
  memset(&st, 0, sizeof st);
  return tkn_schema_retry_next(&o, 0, &st);
}
static int near_limit_used(void) {
  uint32_t flags = 0;
  return tkn_schema_near_limit(S("stop"), -1, 100, &flags);
}
static int writer_begin_write(const char *d, size_t l, void *u) {
  (void)d, (void)l, (void)u;
  return 0;
}
static int writer_begin(uint32_t i, void *u) {
  (void)i, (void)u;
  return 0;
}
static int writer_url(void) {
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = writer_begin;
  o.write = writer_begin_write;
  o.url = "";
  o.url_len = 0;
  tkn_batch_writer *w = NULL;
  int rc = tkn_batch_writer_new(&w, &o);
  tkn_batch_writer_free(w);
  return rc;
}
static int callback_count(void) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_new_callback(&t, &cb, NULL);
  tkn_tokenizer_free(t);
  return rc;
}
static int conv_part_index(void) {
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"hi\"}]");
  const char *type = NULL;
  int rc = tkn_conv_part(c, 4, 0, &type, NULL, NULL);
  tkn_conv_free(c);
  return rc;
}
static int conv_name_index(void) {
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"hi\"}]");
  int rc = tkn_conv_name(c, 1, NULL, NULL);
  tkn_conv_free(c);
  return rc;
}
static int count_limit_negative(void) {
  tkn_tokenizer *t = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&t), TKN_OK);
  int64_t n = 0;
  int rc = tkn_tokenizer_count_limit(t, S("hello"), -2, NULL, &n);
  tkn_tokenizer_free(t);
  return rc;
}
static int meter_merge_self(void) {
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  int rc = tkn_meter_merge(m, m);
  tkn_meter_free(m);
  return rc;
}
static int prices_lookup_empty(void) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(p, "gpt-4o", 0, &mp);
  tkn_prices_free(p);
  return rc;
}

static const row rows[] = {
    {"tkn_cacheplan_new, price_input 0", cacheplan_price, "opts->price_input"},
    {"tkn_cacheplan_new, provider 77", cacheplan_provider, "opts->provider"},
    {"tkn_cacheplan_new, price_storage_hour -1", cacheplan_storage, "opts->price_storage_hour"},
    {"tkn_toolcache_new, max_bytes 0", toolcache_max_bytes, "opts->max_bytes"},
    {"tkn_meter_new, max_keys 0", meter_max_keys, "opts->max_keys"},
    {"tkn_meter_new, budget_margin_pct 20000", meter_margin, "opts->budget_margin_pct"},
    {"tkn_meter_export, format 99", meter_format, "format"},
    {"tkn_prompt_builder_new, keep_order 2", builder_keep_order, "opts->keep_order"},
    {"tkn_router_cascade_new, start_tier 3", cascade_start_tier, "opts->start_tier"},
    {"tkn_router_tier_threshold, i 5", tier_threshold_index, "i = 5"},
    {"tkn_router_calibrate, a share of 1.5", calibrate_shares, "shares[1]"},
    {"tkn_router_calibrate, shares summing to 0.7", calibrate_sum, "shares sum"},
    {"tkn_schema_retry_next, max_attempts 0", retry_attempts, "opts->max_attempts"},
    {"tkn_schema_retry_next, failures 0", retry_failures, "failures"},
    {"tkn_schema_near_limit, used -1", near_limit_used, "used"},
    {"tkn_batch_writer_new, url empty", writer_url, "opts->url"},
    {"tkn_tokenizer_new_callback, no count", callback_count, "cb->count"},
    {"tkn_conv_part, i 4 of 1 message", conv_part_index, "i = 4"},
    {"tkn_conv_name, i 1 of 1 message", conv_name_index, "i = 1"},
    {"tkn_tokenizer_count_limit, limit -2", count_limit_negative, "limit"},
    {"tkn_meter_merge, dst == src", meter_merge_self, "dst and src"},
    {"tkn_prices_lookup, an empty model", prices_lookup_empty, "model"},
};

static void a_bad_field_is_named_in_the_message(void **state) {
  (void)state;
  size_t bad = 0;
  for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
    tkn_error_clear();
    int rc = rows[i].call();
    const tkn_error *e = tkn_error_last();
    if (rc != TKN_ERR_INVALID || e->status != rc || !strstr(e->message, rows[i].names)) {
      print_error("%s: status %d, \"%s\" (want TKN_ERR_INVALID naming %s)\n", rows[i].what, rc,
                  e->message, rows[i].names);
      bad++;
    }
  }
  if (bad) fail_msg("%zu of %zu bad fields not named", bad, sizeof rows / sizeof rows[0]);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(a_bad_field_is_named_in_the_message)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
