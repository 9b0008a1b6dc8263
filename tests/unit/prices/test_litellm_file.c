/* The real LiteLLM price file (litellm 1.110.2, vendored under
 * tests/data/litellm): what loads, what is skipped and why, and the traps of
 * issue 15 on the real entries.  usage: test_litellm_file PATH/TO/FILE.json */
#include <stdio.h>
#include <stdlib.h>

#include "test_util.h"


static char *g_text;
static size_t g_len;
static tkn_prices *g_prices; /* loaded with skip_invalid */

static tkn_model_price lookup(const char *model, int want_rc) {
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(g_prices, model, strlen(model), &m);
  if (rc != want_rc) fail_msg("%s: status %d, want %d", model, rc, want_rc);
  return m;
}

static void strict_load_names_the_first_fault(void **state) {
  (void)state;
  tkn_prices *p = (tkn_prices *)1;
  char err[512] = "";
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, g_text, g_len, NULL), err, sizeof err), TKN_ERR_UNSUPPORTED);
  assert_null(p);
  assert_non_null(strstr(err, "\"bigmodel/glm-5.3\""));
  assert_non_null(strstr(err, "input_cost_per_token = 1.1428571428571428e-06"));
}

static void every_skip_is_a_price_no_decimal_holds_named_by_key_and_field(void **state) {
  (void)state;
  assert_int_equal(tkn_prices_count(g_prices), 4874);
  assert_int_equal(tkn_prices_skipped(g_prices), 3);
  for (size_t i = 0; i < tkn_prices_skipped(g_prices); i++) {
    const char *key = NULL, *reason = NULL;
    assert_int_equal(tkn_prices_skipped_at(g_prices, i, &key, &reason), TKN_OK);
    /* bigmodel's yuan prices in dollars (8/7 USD per Mtok): no decimal, not
     * even at the 15 digits a double holds */
    if (strncmp(key, "bigmodel/", 9) != 0 || !strstr(reason, key) ||
        !strstr(reason, "not exact at 1e-18 USD per token"))
      fail_msg("skip %zu (%s): %s", i, key, reason);
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(g_prices, key, strlen(key), &m) != TKN_ERR_UNSUPPORTED)
      fail_msg("skipped %s is priced", key);
  }
}

static void doubles_printed_in_full_are_the_prices_they_stand_for(void **state) {
  (void)state;
  /* 33 entries were skipped before for one of these (issue 15's audit) */
  tkn_model_price m = lookup("novita/stepfun/step-3.7-flash", TKN_OK); /* 2.0000000000000002e-07 */
  assert_true(m.input_per_mtok == INT64_C(200000000000));                 /* $0.20 / Mtok */
  m = lookup("databricks/databricks-claude-sonnet-4-1", TKN_OK); /* 2.9999900000000002e-06 */
  assert_true(m.input_per_mtok == INT64_C(2999990000000));
  assert_true(m.output_per_mtok == INT64_C(15000020000000)); /* 1.5000020000000002e-05 */
  m = lookup("opencode_go/qwen3.8-flash", TKN_OK);           /* 4.6999999999999995e-07 */
  assert_true(m.output_per_mtok == INT64_C(470000000000));
}

static void sub_picodollar_prices_load(void **state) {
  (void)state;
  /* 1e-08 USD/token = 10,000 picodollars per token; 5e-09 and finer too */
  tkn_model_price m = lookup("gpt-5-nano", TKN_OK);
  assert_true(m.cache_read_per_mtok == INT64_C(5000000000)); /* $0.005 / Mtok */
  assert_true(m.input_per_mtok == INT64_C(50000000000));
}

static void bare_names_are_the_makers_own_entry(void **state) {
  (void)state;
  tkn_model_price m = lookup("mistral-large-latest", TKN_OK);
  assert_string_equal(m.name, "mistral/mistral-large-latest");
  assert_string_equal(m.provider, "mistral");
  m = lookup("openai/gpt-4o", TKN_OK);
  assert_string_equal(m.name, "gpt-4o");
  lookup("openrouter/openai/gpt-4o", TKN_ERR_NOT_FOUND); /* no such key; never OpenAI's price */
  m = lookup("ft:gpt-4o-mini-2024-07-18:acme::abc", TKN_OK);
  assert_string_equal(m.name, "ft:gpt-4o-mini-2024-07-18");
  m = lookup("bedrock/claude-opus-latest", TKN_OK); /* alias_of */
  assert_string_equal(m.name, "global.anthropic.claude-opus-5-5");
}

static void tiers_of_every_threshold_are_applied(void **state) {
  (void)state;
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 272001;
  u.output_tokens = 1000;
  tkn_cost c = TKN_COST_INIT;
  tkn_model_price m = lookup("gpt-5.4", TKN_OK);
  assert_int_equal(m.tier_count, 1);
  assert_true(m.tiers[0].threshold == 272000);
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_int_equal(c.flags, TKN_COST_TIER);
  assert_true(c.input == 272001 * (m.tiers[0].input_per_mtok / 1000000));
  m = lookup("gemini/gemini-2.5-pro", TKN_OK);
  assert_true(m.tier_count == 1 && m.tiers[0].threshold == 200000);
  m = lookup("empiriolabs/qwen3-5-122b-a10b", TKN_OK); /* above 128k */
  assert_true(m.tier_count == 1 && m.tiers[0].threshold == 128000);
  m = lookup("dashscope/qwen-flash", TKN_OK); /* tiered_pricing ranges */
  assert_true(m.tier_count == 1 && m.tiers[0].threshold == 256000);
}

static void unmodelled_money_fields_are_listed(void **state) {
  (void)state;
  size_t n = tkn_prices_unmodelled(g_prices);
  assert_true(n > 100);
  int audio = 0, priority = 0, flex = 0;
  for (size_t i = 0; i < n; i++) {
    const char *f = NULL;
    size_t entries = 0;
    assert_int_equal(tkn_prices_unmodelled_at(g_prices, i, &f, &entries, NULL), TKN_OK);
    assert_true(entries > 0);
    audio |= !strcmp(f, "input_cost_per_audio_token");
    priority |= !strcmp(f, "input_cost_per_token_priority");
    flex |= !strcmp(f, "input_cost_per_token_flex");
  }
  assert_true(audio && priority && flex);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: test_litellm_file FILE.json\n");
    return 2;
  }
  FILE *f = fopen(argv[1], "rb");
  if (!f) {
    fprintf(stderr, "cannot open %s\n", argv[1]);
    return 2;
  }
  fseek(f, 0, SEEK_END);
  g_len = (size_t)ftell(f);
  rewind(f);
  g_text = malloc(g_len);
  if (!g_text || fread(g_text, 1, g_len, f) != g_len) return 2;
  fclose(f);
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  char err[512] = "";
  if (tt_keep_err(tkn_prices_load(&g_prices, g_text, g_len, &o), err, sizeof err) != TKN_OK) {
    fprintf(stderr, "load: %s\n", err);
    return 1;
  }
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(strict_load_names_the_first_fault),
      cmocka_unit_test(every_skip_is_a_price_no_decimal_holds_named_by_key_and_field),
      cmocka_unit_test(doubles_printed_in_full_are_the_prices_they_stand_for),
      cmocka_unit_test(sub_picodollar_prices_load),
      cmocka_unit_test(bare_names_are_the_makers_own_entry),
      cmocka_unit_test(tiers_of_every_threshold_are_applied),
      cmocka_unit_test(unmodelled_money_fields_are_listed),
  };
  int rc = cmocka_run_group_tests(tests, NULL, NULL);
  tkn_prices_free(g_prices);
  free(g_text);
  return rc;
}
