/* Prices, usage normalisation and exact costs: the behaviour prices.h and
 * usage.h promise, including the cost bugs other tools have shipped. */
#include <pthread.h>

#include "test_util.h"

#define USD(x) ((int64_t)(x))
/* picodollars per token -> the table's unit, picodollars per million tokens */
#define PT(x) ((int64_t)(x) * 1000000)

static tkn_prices *load_ok(const char *json) {
  tkn_prices *p = NULL;
  char err[256] = "";
  int rc = tt_keep_err(tkn_prices_load(&p, json, strlen(json), NULL), err, sizeof err);
  if (rc != TKN_OK) fail_msg("load failed: %s", err);
  return p;
}

static int load_err(const char *json, char *err, size_t errlen) {
  tkn_prices *p = (tkn_prices *)1;
  int rc = tt_keep_err(tkn_prices_load(&p, json, strlen(json), NULL), err, errlen);
  assert_null(p);
  return rc;
}

/* ---- options and value structs ---- */

/* ---- exact money text ---- */

static void parse_usd_is_exact_for_every_spelling(void **state) {
  (void)state;
  static const struct {
    const char *text;
    int64_t units;
  } cases[] = {
      {"3e-06", 3000000},        {"0.000003", 3000000},     {"30e-7", 3000000},
      {"3E-6", 3000000},         {"3e-6", 3000000},         {"0.3e-5", 3000000},
      {"1.5e-7", 150000},        {"2.5e-06", 2500000},      {"0.0000001", 100000},
      {"1.875e-05", 18750000},   {"5.46875e-07", 546875},   {"1e-12", 1},
      {"0", 0},                  {"0.0", 0},                {"-0", 0},
      {"0e-400", 0},             {"12.5", 12500000000000},  {"-0.25", -250000000000},
      {"1e+2", 100000000000000}, {"1.0000000000000", 1000000000000},
      {"9223372.036854775807", INT64_MAX},
      {"-9223372.036854775808", INT64_MIN},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int64_t v = -42;
    int rc = tkn_usd_parse(cases[i].text, strlen(cases[i].text), &v);
    if (rc != TKN_OK || v != cases[i].units)
      fail_msg("%s -> rc %d, %lld (want %lld)", cases[i].text, rc, (long long)v,
               (long long)cases[i].units);
  }
}

static void parse_usd_rejects_what_is_not_exact_or_not_a_number(void **state) {
  (void)state;
  int64_t v = 7;
  assert_int_equal(tkn_usd_parse(S("1e-13"), &v), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_usd_parse(S("0.0000000000015"), &v), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_usd_parse(S("9223372.036854775808"), &v), TKN_ERR_OVERFLOW);
  assert_int_equal(tkn_usd_parse(S("1e400"), &v), TKN_ERR_OVERFLOW);
  assert_int_equal(tkn_usd_parse(S("1e9999999"), &v), TKN_ERR_OVERFLOW);
  assert_int_equal(tkn_usd_parse(S("12345678901234567890123"), &v), TKN_ERR_OVERFLOW);
  const char *bad[] = {"", "+1", "01", "1.", ".5", "1e", "1e+", "abc", "1 ", "--1", "1.2.3",
                       "0x10", "-", "NaN"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (tkn_usd_parse(bad[i], strlen(bad[i]), &v) != TKN_ERR_PARSE)
      fail_msg("\"%s\" was accepted", bad[i]);
  assert_int_equal(v, 7);
  assert_int_equal(tkn_usd_parse(NULL, 0, &v), TKN_ERR_INVALID);
  assert_int_equal(tkn_usd_parse(S("1"), NULL), TKN_ERR_INVALID);
}

static void format_usd_writes_every_digit(void **state) {
  (void)state;
  char buf[TKN_USD_BUFLEN];
  size_t n = 0;
  assert_int_equal(tkn_usd_format(123450000, buf, sizeof buf, &n), TKN_OK);
  assert_string_equal(buf, "0.000123450000");
  assert_int_equal(n, 14);
  assert_int_equal(tkn_usd_format(-1500000000000, buf, sizeof buf, NULL), TKN_OK);
  assert_string_equal(buf, "-1.500000000000");
  assert_int_equal(tkn_usd_format(INT64_MIN, buf, sizeof buf, &n), TKN_OK);
  assert_string_equal(buf, "-9223372.036854775808");
  assert_int_equal(tkn_usd_format(INT64_MAX, buf, sizeof buf, NULL), TKN_OK);
  assert_string_equal(buf, "9223372.036854775807");
  /* round trip */
  int64_t back;
  assert_int_equal(tkn_usd_parse(buf, strlen(buf), &back), TKN_OK);
  assert_true(back == INT64_MAX);
  char small[8];
  assert_int_equal(tkn_usd_format(1, small, sizeof small, NULL), TKN_ERR_TOO_SMALL);
  assert_int_equal(tkn_usd_format(1, NULL, 10, NULL), TKN_ERR_INVALID);
}

/* ---- loading ---- */

static const char k_table[] =
    "{\n"
    "  \"sample_spec\": {\"input_cost_per_token\": \"float\", \"max_input_tokens\": \"text\"},\n"
    "  \"m-basic\": {\"input_cost_per_token\": 3e-06, \"output_cost_per_token\": 0.000015,\n"
    "     \"notes\": \"a \\\"quoted\\\" }, value]\", \"supported_regions\": [\"a\", {\"x\": [1,2]}],\n"
    "     \"search_context_cost_per_query\": {\"search_context_size_low\": 0.01},\n"
    "     \"cache_read_input_token_cost\": 3.0e-7, \"litellm_provider\": \"Anthropic\",\n"
    "     \"max_input_tokens\": 200000, \"max_output_tokens\": 64000, \"prompt_cache_min_tokens\": 1024,\n"
    "     \"mode\": \"chat\", \"supports_vision\": true, \"deprecation_date\": null,\n"
    "     \"cache_creation_input_token_cost\": 3.75e-06,\n"
    "     \"cache_creation_input_token_cost_above_1hr\": 6e-06,\n"
    "     \"output_cost_per_reasoning_token\": null}\n"
    "}\n";

static void load_reads_prices_exactly_and_ignores_the_rest(void **state) {
  (void)state;
  tkn_prices *p = load_ok(k_table);
  assert_int_equal(tkn_prices_count(p), 1);
  assert_int_equal(tkn_prices_skipped(p), 0);
  assert_int_equal(tkn_prices_skipped_at(p, 0, NULL, NULL), TKN_ERR_INVALID);
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("m-basic"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(3000000));
  assert_true(m.output_per_mtok == PT(15000000));
  assert_true(m.cache_read_per_mtok == PT(300000));
  assert_true(m.cache_write_5m_per_mtok == PT(3750000));
  assert_true(m.cache_write_1h_per_mtok == PT(6000000));
  assert_int_equal(m.tier_count, 0);
  assert_true(m.max_input_tokens == 200000);
  assert_true(m.max_output_tokens == 64000);
  assert_true(m.prompt_cache_min_tokens == 1024);
  assert_int_equal(m.has, TKN_PRICE_INPUT | TKN_PRICE_OUTPUT | TKN_PRICE_CACHE_READ |
                              TKN_PRICE_CACHE_WRITE_5M | TKN_PRICE_CACHE_WRITE_1H |
                              TKN_PRICE_MAX_INPUT | TKN_PRICE_MAX_OUTPUT | TKN_PRICE_CACHE_MIN);
  assert_string_equal(m.name, "m-basic");
  assert_int_equal(m.name_len, 7);
  assert_string_equal(m.provider, "anthropic");
  assert_int_equal(m.provider_len, 9);
  tkn_prices_free(p);
  tkn_prices_free(NULL);
}

static void load_reads_every_listed_field(void **state) {
  (void)state;
  tkn_prices *p = load_ok(
      "{\"m\": {\"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 2e-06,"
      "\"output_cost_per_reasoning_token\": 3e-06, \"cache_read_input_token_cost\": 4e-06,"
      "\"cache_creation_input_token_cost\": 5e-06, \"cache_creation_input_token_cost_above_1hr\": 6e-06,"
      "\"input_cost_per_token_batches\": 7e-06, \"output_cost_per_token_batches\": 8e-06,"
      "\"input_cost_per_token_above_200k_tokens\": 9e-06, \"output_cost_per_token_above_200k_tokens\": 1e-05,"
      "\"cache_read_input_token_cost_above_200k_tokens\": 1.1e-05,"
      "\"cache_creation_input_token_cost_above_200k_tokens\": 1.2e-05,"
      "\"cache_creation_input_token_cost_above_1hr_above_200k_tokens\": 1.3e-05,"
      "\"max_input_tokens\": 14, \"max_output_tokens\": 15, \"prompt_cache_min_tokens\": 16}}");
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("m"), &m), TKN_OK);
  int64_t got[] = {m.input_per_mtok, m.output_per_mtok, m.reasoning_per_mtok,
                   m.cache_read_per_mtok, m.cache_write_5m_per_mtok, m.cache_write_1h_per_mtok,
                   m.input_batch_per_mtok, m.output_batch_per_mtok, m.tiers[0].input_per_mtok,
                   m.tiers[0].output_per_mtok, m.tiers[0].cache_read_per_mtok,
                   m.tiers[0].cache_write_5m_per_mtok, m.tiers[0].cache_write_1h_per_mtok};
  for (int i = 0; i < 13; i++) assert_true(got[i] == PT((int64_t)(i + 1) * 1000000));
  assert_true(m.max_input_tokens == 14 && m.max_output_tokens == 15 && m.prompt_cache_min_tokens == 16);
  assert_int_equal(m.has, 0xE0FFu);
  assert_int_equal(m.tier_count, 1);
  assert_true(m.tiers[0].threshold == 200000);
  assert_int_equal(m.tiers[0].has, TKN_PRICE_INPUT | TKN_PRICE_OUTPUT | TKN_PRICE_CACHE_READ |
                                       TKN_PRICE_CACHE_WRITE_5M | TKN_PRICE_CACHE_WRITE_1H);
  assert_string_equal(m.provider, "");
  tkn_prices_free(p);
}

static void load_errors_name_the_model_and_field(void **state) {
  (void)state;
  char err[256];
  assert_int_equal(load_err("{\"m\": {\"input_cost_per_token\": -3e-06}}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "\"m\""));
  assert_non_null(strstr(err, "input_cost_per_token"));
  assert_non_null(strstr(err, "negative"));
  assert_int_equal(load_err("{\"m\": {\"output_cost_per_token\": 1e-19}}", err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "output_cost_per_token"));
  assert_int_equal(load_err("{\"m\": {\"output_cost_per_token\": 10}}", err, sizeof err),
                   TKN_ERR_OVERFLOW);
  assert_int_equal(load_err("{\"m\": {\"input_cost_per_token\": \"3e-06\"}}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "not a number"));
  assert_int_equal(load_err("{\"m\": {\"max_input_tokens\": 1.5}}", err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_int_equal(load_err("{\"m\": {\"max_output_tokens\": -1}}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_int_equal(load_err("{\"m\": {\"litellm_provider\": 3}}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(load_err("{\"m\": [1, 2]}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "not a JSON object"));
  assert_int_equal(load_err("[1]", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(load_err("{\"\": {}}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(load_err("{\"m\": {\"input_cost_per_token\": 1e-06,}}", err, sizeof err),
                   TKN_ERR_PARSE);
  assert_non_null(strstr(err, "line"));
  assert_int_equal(load_err("{\"m\": \"\xff\"}", err, sizeof err), TKN_ERR_UTF8);
}

static void load_checks_its_arguments(void **state) {
  (void)state;
  char err[256] = "";
  tkn_prices *p = NULL;
  assert_int_equal(tt_keep_err(tkn_prices_load(NULL, S("{}"), NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, NULL, 3, NULL), err, sizeof err), TKN_ERR_INVALID);
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.version = 42;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S("{}"), &o), err, sizeof err), TKN_ERR_VERSION);
  o.version = TKN_PRICES_OPTIONS_VERSION;
  o.skip_invalid = 2;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S("{}"), &o), err, sizeof err), TKN_ERR_INVALID);
  o.skip_invalid = 0;
  o.max_bytes = 10;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S("{\"a\": {}, \"b\": {}}"), &o), err, sizeof err),
                   TKN_ERR_LIMIT);
  assert_null(p);
  /* an empty table is valid */
  assert_int_equal(tkn_prices_load(&p, S("{}"), NULL), TKN_OK);
  assert_int_equal(tkn_prices_count(p), 0);
  tkn_prices_free(p);
  assert_int_equal(tkn_prices_count(NULL), 0);
  assert_int_equal(tkn_prices_skipped(NULL), 0);
  assert_int_equal(tkn_prices_skipped_at(NULL, 0, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_unmodelled(NULL), 0);
  assert_int_equal(tkn_prices_unmodelled_at(NULL, 0, NULL, NULL, NULL), TKN_ERR_INVALID);
}

static void skip_invalid_keeps_the_good_entries_and_counts_the_rest(void **state) {
  (void)state;
  const char *json = "{\"bad\": {\"input_cost_per_token\": -1}, \"good\": {\"input_cost_per_token\": 1e-06},"
                     " \"odd\": 5, \"fine\": {\"output_cost_per_token\": 2e-06}}";
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_load(&p, json, strlen(json), &o), TKN_OK);
  assert_int_equal(tkn_prices_count(p), 2);
  assert_int_equal(tkn_prices_skipped(p), 2);
  const char *key = NULL, *reason = NULL;
  assert_int_equal(tkn_prices_skipped_at(p, 0, &key, &reason), TKN_OK);
  assert_string_equal(key, "bad");
  assert_non_null(strstr(reason, "\"bad\""));
  assert_non_null(strstr(reason, "input_cost_per_token"));
  assert_int_equal(tkn_prices_skipped_at(p, 1, &key, &reason), TKN_OK);
  assert_string_equal(key, "odd");
  assert_int_equal(tkn_prices_skipped_at(p, 2, &key, &reason), TKN_ERR_INVALID);
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("good"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(1000000));
  assert_int_equal(tkn_prices_lookup(p, S("fine"), &m), TKN_OK);
  assert_true(m.output_per_mtok == PT(2000000));
  assert_int_equal(tkn_prices_lookup(p, S("bad"), &m), TKN_ERR_UNSUPPORTED);
  tkn_prices_free(p);
}

static void a_later_duplicate_key_wins(void **state) {
  (void)state;
  tkn_prices *p = load_ok("{\"M\": {\"input_cost_per_token\": 1e-06}, \"m\": {\"input_cost_per_token\": 2e-06}}");
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("m"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(2000000));
  tkn_prices_free(p);
}

/* The fuzz harness's crash (a skip_invalid table whose first entry is a
 * tombstone): a later duplicate key wins whether it loaded or was skipped, so
 * the lookup of a key follows its last entry, never an earlier one. */
static void a_later_duplicate_key_wins_over_a_skipped_one_and_back(void **state) {
  (void)state;
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  tkn_prices *p = NULL;
  const char *skipped_last = "{\"m\": {\"input_cost_per_token\": 1e-06}, \"M\": {\"input_cost_per_token\": -1}}";
  assert_int_equal(tkn_prices_load(&p, skipped_last, strlen(skipped_last), &o), TKN_OK);
  assert_int_equal(tkn_prices_skipped(p), 1);
  assert_int_equal(tkn_prices_lookup(p, S("m"), &m), TKN_ERR_UNSUPPORTED);
  tkn_prices_free(p);
  const char *loaded_last = "{\"M\": {\"input_cost_per_token\": -1}, \"m\": {\"input_cost_per_token\": 1e-06}}";
  assert_int_equal(tkn_prices_load(&p, loaded_last, strlen(loaded_last), &o), TKN_OK);
  assert_int_equal(tkn_prices_lookup(p, S("M"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(1000000));
  assert_string_equal(m.name, "m");
  tkn_prices_free(p);
}

/* ---- lookup ---- */

static const char k_names[] =
    "{\"claude-sonnet-4-5\": {\"litellm_provider\": \"anthropic\", \"input_cost_per_token\": 3e-06},"
    " \"gpt-4.1\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 2e-06},"
    " \"gpt-4o\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 2.5e-06},"
    " \"gpt-4o-2024-05-13\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 5e-06},"
    " \"vertex_ai/gemini-2.5-pro\": {\"litellm_provider\": \"vertex_ai-language-models\", \"input_cost_per_token\": 9e-06},"
    " \"gemini/gemini-2.5-pro\": {\"litellm_provider\": \"gemini\", \"input_cost_per_token\": 1.25e-06},"
    " \"gemini-2.0-flash\": {\"litellm_provider\": \"vertex_ai-language-models\", \"input_cost_per_token\": 1e-07},"
    " \"claude-3-5-haiku\": {\"litellm_provider\": \"anthropic\", \"input_cost_per_token\": 8e-07},"
    " \"ft:gpt-4o-mini-2024-07-18\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 3e-07},"
    " \"gpt-4o-mini-2024-07-18\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 1.5e-07}}";

static int64_t input_of(const tkn_prices *p, const char *name) {
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(p, name, strlen(name), &m);
  return rc == TKN_OK ? m.input_per_mtok / 1000000 : -rc;
}

static void lookup_follows_the_documented_rules(void **state) {
  (void)state;
  tkn_prices *p = load_ok(k_names);
  assert_true(input_of(p, "claude-sonnet-4-5") == 3000000);               /* 1 exact */
  assert_true(input_of(p, "Claude-Sonnet-4-5") == 3000000);               /* case */
  assert_true(input_of(p, "claude-sonnet-4-5-20250929") == 3000000);      /* 3 date */
  assert_true(input_of(p, "gpt-4.1-2025-04-14") == 2000000);              /* 3 OpenAI date */
  assert_true(input_of(p, "ft:gpt-4o-mini-2024-07-18:acme::abc123") == 300000); /* 2 ft: */
  assert_true(input_of(p, "ft:gpt-4o-2024-08-06:acme::abc123") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "anthropic/claude-sonnet-4-5") == 3000000);     /* 4 own provider */
  assert_true(input_of(p, "anthropic/claude-sonnet-4-5-20250929") == 3000000);
  assert_true(input_of(p, "openai/gpt-4o") == 2500000);
  assert_true(input_of(p, "vertex_ai/gemini-2.0-flash") == 100000);       /* provider family */
  assert_true(input_of(p, "gemini-2.5-pro") == 1250000);                  /* 5 the maker's API */
  /* never another model or provider: */
  assert_true(input_of(p, "claude-3-5-haiku-latest") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "gemini-2.0-flash-001") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "claude-sonnet-4.5") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "openrouter/anthropic/claude-sonnet-4-5") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "openrouter/gpt-4o") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "azure/gpt-4o") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "openai/claude-sonnet-4-5") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "vertex_ai/gemini-2.5-pro") == 9000000);        /* exact wins */
  assert_true(input_of(p, "gpt-4o-2024-05-13") == 5000000);               /* dated price kept */
  assert_true(input_of(p, "gpt-4o-2024-08-06") == 2500000);
  assert_true(input_of(p, "gpt-4") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "claude-sonnet") == -TKN_ERR_NOT_FOUND);
  assert_true(input_of(p, "anthropic/") == -TKN_ERR_NOT_FOUND);
  char longname[300];
  memset(longname, 'a', sizeof longname - 1);
  longname[sizeof longname - 1] = '\0';
  assert_true(input_of(p, longname) == -TKN_ERR_NOT_FOUND);
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, "gpt-4o", 0, &m), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_lookup(NULL, S("gpt-4o"), &m), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_lookup(p, NULL, 3, &m), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_lookup(p, S("gpt-4o"), NULL), TKN_ERR_INVALID);
  m.version = 0;
  assert_int_equal(tkn_prices_lookup(p, S("gpt-4o"), &m), TKN_ERR_VERSION);
  tkn_prices_free(p);
}

static void aliases_map_names_to_models(void **state) {
  (void)state;
  static const char aliases[] = "{\"Prod-Fast\": \"openai/GPT-4o-2024-08-06\", \"cheap\": \"gemini-2.5-pro\","
                                " \"gpt-4.1\": \"gpt-4o\", \"again\": \"gpt-4o\", \"again\": \"gpt-4.1\"}";
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.aliases = aliases;
  o.aliases_len = sizeof aliases - 1;
  tkn_prices *p = NULL;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S(k_names), &o), err, sizeof err), TKN_OK);
  assert_true(input_of(p, "prod-fast") == 2500000);
  assert_true(input_of(p, "azure/prod-fast") == -TKN_ERR_NOT_FOUND); /* not Azure's price */
  assert_true(input_of(p, "cheap") == 1250000);
  assert_true(input_of(p, "gpt-4.1") == 2000000);             /* a table key wins */
  assert_true(input_of(p, "again") == 2000000);               /* the last alias wins */
  tkn_prices_free(p);
  static const struct {
    const char *json;
    int rc;
    const char *needle;
  } bad[] = {
      {"{\"x\": \"no-such-model\"}", TKN_ERR_NOT_FOUND, "no-such-model"},
      {"{\"x\": 5}", TKN_ERR_SCHEMA, "not a string"},
      {"[\"x\"]", TKN_ERR_SCHEMA, "not a JSON object"},
      {"{\"x\": \"gpt-4o\", \"y\": \"x\"}", TKN_ERR_NOT_FOUND, "\"x\""}, /* no chains */
      {"{\"x\": ", TKN_ERR_PARSE, "aliases"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    o.aliases = bad[i].json;
    o.aliases_len = strlen(bad[i].json);
    p = (tkn_prices *)1;
    int rc = tt_keep_err(tkn_prices_load(&p, S(k_names), &o), err, sizeof err);
    if (rc != bad[i].rc || p || !strstr(err, bad[i].needle))
      fail_msg("aliases case %zu: rc %d, err \"%s\"", i, rc, err);
  }
  o.aliases = NULL;
  o.aliases_len = 3;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S(k_names), &o), err, sizeof err), TKN_ERR_INVALID);
}

/* ---- the built-in table ---- */

static void default_table_covers_current_models(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  assert_true(tkn_prices_count(p) >= 20);
  const char *models[] = {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano",
                          "gpt-5", "gpt-5-mini", "gpt-5-nano", "o3", "o4-mini",
                          "claude-opus-4-1", "claude-opus-4-5", "claude-sonnet-4-5",
                          "claude-sonnet-4-20250514", "claude-haiku-4-5-20251001",
                          "gemini-2.5-pro", "gemini/gemini-2.5-flash", "gemini-2.5-flash-lite"};
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(p, models[i], strlen(models[i]), &m) != TKN_OK)
      fail_msg("%s missing", models[i]);
    uint32_t need = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT | TKN_PRICE_CACHE_READ |
                    TKN_PRICE_INPUT_BATCH | TKN_PRICE_OUTPUT_BATCH;
    if ((m.has & need) != need) fail_msg("%s lacks a price", models[i]);
    if (strcmp(m.provider, "anthropic") == 0 &&
        !(m.has & TKN_PRICE_CACHE_WRITE_5M && m.has & TKN_PRICE_CACHE_WRITE_1H))
      fail_msg("%s lacks cache write prices", models[i]);
  }
  /* spot checks against the published per-Mtok prices */
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("claude-sonnet-4-5"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(3000000) && m.cache_write_5m_per_mtok == PT(3750000) &&
              m.cache_write_1h_per_mtok == PT(6000000) && m.cache_read_per_mtok == PT(300000) &&
              m.output_per_mtok == PT(15000000) && m.tier_count == 1 &&
              m.tiers[0].threshold == 200000 && m.tiers[0].input_per_mtok == PT(6000000));
  assert_int_equal(tkn_prices_lookup(p, S("gpt-4o-mini"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(150000) && m.cache_read_per_mtok == PT(75000) &&
              m.output_per_mtok == PT(600000));
  size_t n = 0;
  const char *text = tkn_prices_default_json(&n);
  assert_non_null(text);
  assert_int_equal(n, strlen(text));
  assert_non_null(tkn_prices_default_json(NULL));
  tkn_prices_free(p);
}

static void litellm_providers_map_to_opentelemetry_names(void **state) {
  (void)state;
  static const char *const pairs[][2] = {
      {"openai", "openai"},         {"anthropic", "anthropic"},
      {"gemini", "gcp.gemini"},     {"vertex_ai-language-models", "gcp.vertex_ai"},
      {"bedrock_converse", "aws.bedrock"}, {"azure", "azure.ai.openai"},
      {"azure_ai", "azure.ai.inference"}, {"mistral", "mistral_ai"},
      {"xai", "x_ai"},              {"cohere_chat", "cohere"},
      {"watsonx", "ibm.watsonx.ai"},
  };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
    const char *got = tkn_prices_otel_provider(pairs[i][0], strlen(pairs[i][0]));
    if (!got || strcmp(got, pairs[i][1])) fail_msg("%s -> %s", pairs[i][0], got ? got : "NULL");
  }
  assert_null(tkn_prices_otel_provider(S("openrouter")));
  assert_null(tkn_prices_otel_provider(S("azur")));
  assert_null(tkn_prices_otel_provider(NULL, 0));
}

/* ---- costs ---- */

static tkn_model_price price_of(const tkn_prices *p, const char *model) {
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, model, strlen(model), &m), TKN_OK);
  return m;
}

static tkn_usage parse_usage(uint32_t format, const char *json) {
  tkn_usage u = TKN_USAGE_INIT;
  char err[256] = "";
  if (tt_keep_err(tkn_usage_parse(&u, format, json, strlen(json)), err, sizeof err) != TKN_OK)
    fail_msg("usage: %s", err);
  return u;
}

static void cached_tokens_are_not_billed_as_plain_input(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = parse_usage(TKN_USAGE_OPENAI_CHAT,
                            "{\"prompt_tokens\": 10000, \"completion_tokens\": 500,"
                            " \"prompt_tokens_details\": {\"cached_tokens\": 8000}}");
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("gpt-4o"), &u, &c), TKN_OK);
  /* 2,000 plain at $2.50/M + 8,000 cached at $1.25/M + 500 out at $10/M */
  assert_true(c.input == 2000 * USD(2500000));
  assert_true(c.cache_read == 8000 * USD(1250000));
  assert_true(c.output == 500 * USD(10000000));
  assert_true(c.total == USD(5000000000) + USD(10000000000) + USD(5000000000));
  assert_int_equal(c.flags, 0);
  /* billing every prompt token as plain input would have cost more */
  assert_true(c.total < 10000 * USD(2500000) + 500 * USD(10000000));
  tkn_prices_free(p);
}

static void batch_and_cache_discounts_stack(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.flags = TKN_USAGE_BATCH;
  u = parse_usage(TKN_USAGE_OPENAI_RESPONSES,
                  "{\"input_tokens\": 4000, \"output_tokens\": 100,"
                  " \"input_tokens_details\": {\"cached_tokens\": 3000}}");
  u.flags |= TKN_USAGE_BATCH;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("gpt-4.1"), &u, &c), TKN_OK);
  /* batch input $1/M; cached $0.50/M halved to $0.25/M; output batch $4/M */
  assert_true(c.input == 1000 * USD(1000000));
  assert_true(c.cache_read == 3000 * USD(250000));
  assert_true(c.output == 100 * USD(4000000));
  assert_int_equal(c.flags, TKN_COST_BATCH);
  /* Anthropic: cache writes and reads are halved in a batch too */
  tkn_usage a = parse_usage(TKN_USAGE_ANTHROPIC,
                            "{\"input_tokens\": 10, \"output_tokens\": 20,"
                            " \"cache_read_input_tokens\": 1000, \"cache_creation_input_tokens\": 300,"
                            " \"cache_creation\": {\"ephemeral_5m_input_tokens\": 200,"
                            " \"ephemeral_1h_input_tokens\": 100}}");
  a.flags |= TKN_USAGE_BATCH;
  assert_int_equal(tkn_prices_cost(p, S("claude-sonnet-4-5"), &a, &c), TKN_OK);
  assert_true(c.input == 10 * USD(1500000));
  assert_true(c.cache_read == 1000 * USD(150000));
  assert_true(c.cache_write == 200 * USD(1875000) + 100 * USD(3000000));
  assert_true(c.output == 20 * USD(7500000));
  tkn_prices_free(p);
}

static void anthropic_cache_writes_are_billed_by_ttl(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = parse_usage(TKN_USAGE_AUTO,
                            "{\"id\": \"msg_1\", \"type\": \"message\", \"usage\": {"
                            "\"input_tokens\": 100, \"output_tokens\": 50,"
                            " \"cache_read_input_tokens\": 1000, \"cache_creation_input_tokens\": 2500,"
                            " \"cache_creation\": {\"ephemeral_5m_input_tokens\": 2000,"
                            " \"ephemeral_1h_input_tokens\": 500}}}");
  assert_true(u.input_tokens == 3600);
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("claude-sonnet-4-5-20250929"), &u, &c), TKN_OK);
  assert_true(c.input == 100 * USD(3000000));
  assert_true(c.cache_read == 1000 * USD(300000));
  assert_true(c.cache_write == 2000 * USD(3750000) + 500 * USD(6000000));
  assert_true(c.output == 50 * USD(15000000));
  assert_true(c.total == c.input + c.cache_read + c.cache_write + c.output);
  tkn_prices_free(p);
}

static void prompts_above_200k_bill_every_token_at_the_tier_price(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_model_price m = price_of(p, "claude-sonnet-4-5");
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 200000;
  u.output_tokens = 1000;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_int_equal(c.flags, 0);
  assert_true(c.input == 200000 * USD(3000000));
  u.input_tokens = 200001;
  u.cache_read_tokens = 100000;
  u.cache_write_1h_tokens = 1;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_int_equal(c.flags, TKN_COST_TIER);
  assert_true(c.input == 100000 * USD(6000000));
  assert_true(c.cache_read == 100000 * USD(600000));
  assert_true(c.cache_write == USD(12000000));
  assert_true(c.output == 1000 * USD(22500000));
  /* tier and batch together: tier prices at the batch ratio */
  u.flags = TKN_USAGE_BATCH;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_int_equal(c.flags, TKN_COST_TIER | TKN_COST_BATCH);
  assert_true(c.input == 100000 * USD(3000000));
  assert_true(c.output == 1000 * USD(11250000));
  /* Gemini 2.5 Pro */
  m = price_of(p, "gemini-2.5-pro");
  tkn_usage g = TKN_USAGE_INIT;
  g.input_tokens = 300000;
  g.output_tokens = 10;
  g.flags = 0;
  assert_int_equal(tkn_prices_compute(&m, &g, &c), TKN_OK);
  assert_true(c.input == 300000 * USD(2500000) && c.output == 10 * USD(15000000));
  tkn_prices_free(p);
}

static void missing_prices_fall_back_as_documented(void **state) {
  (void)state;
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  m.has = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT;
  m.input_per_mtok = PT(10);
  m.output_per_mtok = PT(100);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 7;
  u.cache_read_tokens = 1;
  u.cache_write_5m_tokens = 2;
  u.cache_write_1h_tokens = 3;
  u.output_tokens = 5;
  u.reasoning_tokens = 4;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input == 10 && c.cache_read == 10 && c.cache_write == 50);
  assert_true(c.output == 100 && c.reasoning == 400 && c.total == 570);
  m.has |= TKN_PRICE_CACHE_WRITE_5M | TKN_PRICE_REASONING;
  m.cache_write_5m_per_mtok = PT(20);
  m.reasoning_per_mtok = PT(1000);
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.cache_write == 2 * 20 + 3 * 20); /* 1h falls back to the 5m price */
  assert_true(c.reasoning == 4000);
}

static void compute_rejects_bad_input_and_overflow(void **state) {
  (void)state;
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  m.has = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT;
  m.input_per_mtok = PT(1);
  m.output_per_mtok = PT(1);
  tkn_usage u = TKN_USAGE_INIT;
  tkn_cost c = TKN_COST_INIT;
  c.total = 99;
  u.input_tokens = 5;
  u.cache_read_tokens = 6;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_INVALID);
  u.cache_read_tokens = 0;
  u.output_tokens = 1;
  u.reasoning_tokens = 2;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_INVALID);
  u.reasoning_tokens = -1;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_INVALID);
  u.reasoning_tokens = 0;
  u.flags = TKN_USAGE_BATCH;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_NOT_FOUND);
  u.flags = 0;
  m.has = TKN_PRICE_INPUT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_INVALID);
  m.has = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT;
  m.input_per_mtok = INT64_MAX;
  u.input_tokens = INT64_C(1) << 53; /* the most tkn_usage_check allows */
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_OVERFLOW); /* one part */
  m.input_per_mtok = PT(1000000);
  m.output_per_mtok = PT(1000000);
  u.input_tokens = INT64_C(6000000000000); /* 6e18 picodollars each: the sum leaves int64 */
  u.output_tokens = INT64_C(6000000000000);
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_OVERFLOW);
  u.output_tokens = 1;
  m.tier_count = TKN_PRICE_MAX_TIERS + 1;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_INVALID);
  m.tier_count = 0;
  assert_true(c.total == 99);
  m.version = 3;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_ERR_VERSION);
  m.version = TKN_MODEL_PRICE_VERSION;
  assert_int_equal(tkn_prices_compute(NULL, &u, &c), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_compute(&m, NULL, &c), TKN_ERR_INVALID);
  assert_int_equal(tkn_prices_compute(&m, &u, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_usage_check(NULL), TKN_ERR_INVALID);
  u.version = 0;
  assert_int_equal(tkn_usage_check(&u), TKN_ERR_VERSION);
}

static void prices_cost_reports_unknown_models(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("no-such-model"), &u, &c), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_prices_cost(NULL, S("gpt-4o"), &u, &c), TKN_ERR_INVALID);
  tkn_prices_free(p);
}

/* ---- the traps of the real LiteLLM file (issue 15) ---- */

static void sub_picodollar_rates_load_exactly_in_strict_mode(void **state) {
  (void)state;
  /* gemini-1.5-flash-exp-0827 costs 4,687.5 picodollars per token: refused before */
  tkn_prices *p = load_ok(
      "{\"gemini-1.5-flash-exp-0827\": {\"litellm_provider\": \"vertex_ai-language-models\","
      " \"input_cost_per_token\": 4.6875e-09, \"output_cost_per_token\": 4.6875e-09}}");
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("gemini-1.5-flash-exp-0827"), &m), TKN_OK);
  assert_true(m.input_per_mtok == INT64_C(4687500000));
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 3;
  u.output_tokens = 1;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.total == 18750); /* 4 x 4,687.5 */
  tkn_prices_free(p);
}

static void a_cost_is_rounded_once(void **state) {
  (void)state;
  /* 0.4 picodollars per token of each kind: each part rounds to 0, the total of 1.2 to 1 */
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  m.has = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT | TKN_PRICE_CACHE_READ;
  m.input_per_mtok = m.output_per_mtok = m.cache_read_per_mtok = 400000;
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 2;
  u.cache_read_tokens = 1;
  u.output_tokens = 1;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input == 0 && c.cache_read == 0 && c.output == 0);
  assert_true(c.total == 1);
  u.input_tokens = 5; /* 4 plain x 0.4 + 0.4 + 0.4 = 2.4: 2; half rounds up: 2.5 -> 3 */
  u.output_tokens = 1;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input == 2 && c.total == 2);
  m.output_per_mtok = 500000;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.total == 3 && c.output == 1);
}

/* The fuzz_prices find: 2.5 picodollars per token, 298,993 plain input
 * tokens and 7 one-hour writes at the input price: each part rounds its half
 * up (747,483 + 18), the exact total 747,500 is whole.  The parts may miss
 * the total by at most 2 picodollars, either way. */
static void the_parts_of_a_cost_miss_its_total_by_at_most_two(void **state) {
  (void)state;
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  m.has = TKN_PRICE_INPUT | TKN_PRICE_OUTPUT;
  m.input_per_mtok = 2500000;
  m.output_per_mtok = 2500000;
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 299000;
  u.cache_write_1h_tokens = 7;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input == 747483 && c.cache_write == 18 && c.total == 747500);
  /* five parts of 2.5 each: 3 x 5 = 15 against 12.5 -> 13 */
  m.has |= TKN_PRICE_CACHE_READ | TKN_PRICE_REASONING;
  m.cache_read_per_mtok = m.reasoning_per_mtok = 2500000;
  u.input_tokens = 3;
  u.cache_read_tokens = 1;
  u.cache_write_1h_tokens = 1;
  u.output_tokens = 2;
  u.reasoning_tokens = 1;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input + c.cache_read + c.cache_write + c.output + c.reasoning == 15);
  assert_true(c.total == 13);
  /* five parts of 0.4 each: 0 x 5 = 0 against 2 */
  m.input_per_mtok = m.output_per_mtok = m.cache_read_per_mtok = m.reasoning_per_mtok = 400000;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input + c.cache_read + c.cache_write + c.output + c.reasoning == 0);
  assert_true(c.total == 2);
}

static void a_skipped_model_is_never_priced_by_a_fallback(void **state) {
  (void)state;
  /* a price no decimal holds ($2/7 per Mtok, written 2.857142857142857e-07)
   * is a fault of that entry; its gemini/ sibling and a dated name must not
   * price it */
  const char *json =
      "{\"gemini-1.5-flash-exp-0827\": {\"litellm_provider\": \"vertex_ai-language-models\","
      " \"input_cost_per_token\": 2.857142857142857e-07, \"output_cost_per_token\": 1e-06},"
      " \"gemini/gemini-1.5-flash-exp-0827\": {\"litellm_provider\": \"gemini\","
      " \"input_cost_per_token\": 0, \"output_cost_per_token\": 0},"
      " \"gpt-x-2025-01-01\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 1e-19,"
      " \"output_cost_per_token\": 1e-06},"
      " \"gpt-x\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 1e-06,"
      " \"output_cost_per_token\": 1e-06}}";
  char err[512] = "";
  tkn_prices *p = NULL;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, json, strlen(json), NULL), err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "gemini-1.5-flash-exp-0827"));
  assert_non_null(strstr(err, "input_cost_per_token"));
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, json, strlen(json), &o), err, sizeof err), TKN_OK);
  assert_int_equal(tkn_prices_count(p), 2);
  assert_int_equal(tkn_prices_skipped(p), 2);
  const char *key = NULL;
  assert_int_equal(tkn_prices_skipped_at(p, 1, &key, NULL), TKN_OK);
  assert_string_equal(key, "gpt-x-2025-01-01");
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("gemini-1.5-flash-exp-0827"), &m), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_prices_lookup(p, S("gpt-x-2025-01-01"), &m), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_prices_lookup(p, S("gemini/gemini-1.5-flash-exp-0827"), &m), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 1000;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("gemini-1.5-flash-exp-0827"), &u, &c),
                   TKN_ERR_UNSUPPORTED);
  tkn_prices_free(p);
}

static void a_double_printed_in_full_is_read_at_fifteen_digits(void **state) {
  (void)state;
  /* LiteLLM's file is written from doubles: $0.20 / Mtok can come out as
   * 2.0000000000000002e-07.  More digits than a double holds (15) are read at
   * 15, rounded half up; what is still not exact at 1e-18 USD/token is a fault. */
  static const struct {
    const char *text;
    int64_t want; /* picodollars per Mtok; -1: TKN_ERR_UNSUPPORTED */
  } cases[] = {
      {"2.0000000000000002e-07", INT64_C(200000000000)},
      {"9.499999999999999e-07", INT64_C(950000000000)},
      {"0.0000029999900000000002", INT64_C(2999990000000)},
      {"3.0001999999999996E-7", INT64_C(300020000000)},
      {"9.9999999999999999e-07", INT64_C(1000000000000)}, /* the carry ripples through */
      {"1.2345678901234e-13", -1},                          /* 14 digits: not a double's */
      {"2.857142857142857e-07", -1},                        /* 16 digits, no decimal */
      {"1.1428571428571428e-06", -1},                       /* 17 digits, no decimal */
      {"1.00000000000000001e-19", -1},                      /* 1e-19 is still too fine */
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    char json[160], err[256] = "";
    snprintf(json, sizeof json, "{\"m\": {\"input_cost_per_token\": %s}}", cases[i].text);
    tkn_prices *p = NULL;
    int rc = tt_keep_err(tkn_prices_load(&p, json, strlen(json), NULL), err, sizeof err);
    if (cases[i].want < 0) {
      if (rc != TKN_ERR_UNSUPPORTED || !strstr(err, cases[i].text))
        fail_msg("%s: status %d (%s), want a fault naming it", cases[i].text, rc, err);
      continue;
    }
    if (rc != TKN_OK) fail_msg("%s: status %d (%s)", cases[i].text, rc, err);
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    assert_int_equal(tkn_prices_lookup(p, S("m"), &m), TKN_OK);
    if (m.input_per_mtok != cases[i].want)
      fail_msg("%s: %lld, want %lld", cases[i].text, (long long)m.input_per_mtok,
               (long long)cases[i].want);
    tkn_prices_free(p);
  }
}

static void a_bare_name_is_the_makers_own_entry(void **state) {
  (void)state;
  /* resellers come first in the file; the bare name is Mistral's own API */
  tkn_prices *p = load_ok(
      "{\"azure_ai/mistral-large-latest\": {\"litellm_provider\": \"azure_ai\","
      " \"input_cost_per_token\": 8e-06, \"output_cost_per_token\": 2.4e-05},"
      " \"azure/mistral-large-latest\": {\"litellm_provider\": \"azure\","
      " \"input_cost_per_token\": 8e-06, \"output_cost_per_token\": 2.4e-05},"
      " \"mistral/mistral-large-latest\": {\"litellm_provider\": \"mistral\","
      " \"input_cost_per_token\": 2e-06, \"output_cost_per_token\": 6e-06},"
      " \"together_ai/llama-9\": {\"litellm_provider\": \"together_ai\","
      " \"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 1e-06}}");
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("mistral-large-latest"), &m), TKN_OK);
  assert_string_equal(m.name, "mistral/mistral-large-latest");
  assert_true(m.input_per_mtok == PT(2000000));
  /* a model only resellers sell has no bare name */
  assert_int_equal(tkn_prices_lookup(p, S("llama-9"), &m), TKN_ERR_NOT_FOUND);
  tkn_prices_free(p);
}

static void tiers_above_128k_and_several_thresholds_apply(void **state) {
  (void)state;
  tkn_prices *p = load_ok(
      "{\"g15\": {\"input_cost_per_token\": 1.25e-06, \"output_cost_per_token\": 5e-06,"
      " \"input_cost_per_token_above_128k_tokens\": 2.5e-06,"
      " \"output_cost_per_token_above_128k_tokens\": 1e-05},"
      " \"q\": {\"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 2e-06,"
      " \"cache_read_input_token_cost\": 1e-07,"
      " \"input_cost_per_token_above_256k_tokens\": 4e-06,"
      " \"input_cost_per_token_above_32k_tokens\": 2e-06,"
      " \"cache_read_input_token_cost_above_32k_tokens\": 2e-07,"
      " \"output_cost_per_token_above_32k_tokens\": 3e-06},"
      " \"ali\": {\"litellm_provider\": \"dashscope\", \"tiered_pricing\": ["
      "   {\"input_cost_per_token\": 5e-08, \"output_cost_per_token\": 4e-07, \"range\": [0, 256000.0]},"
      "   {\"input_cost_per_token\": 2.5e-07, \"output_cost_per_token\": 2e-06, \"range\": [256000.0, 1000000.0]}]}}");
  tkn_usage u = TKN_USAGE_INIT;
  u.output_tokens = 10;
  tkn_cost c = TKN_COST_INIT;
  u.input_tokens = 128000;
  assert_int_equal(tkn_prices_cost(p, S("g15"), &u, &c), TKN_OK);
  assert_true(c.input == 128000 * USD(1250000) && c.flags == 0);
  u.input_tokens = 128001;
  assert_int_equal(tkn_prices_cost(p, S("g15"), &u, &c), TKN_OK);
  assert_true(c.input == 128001 * USD(2500000) && c.output == 10 * USD(10000000));
  assert_int_equal(c.flags, TKN_COST_TIER);
  /* two thresholds: the highest one exceeded; a kind it lacks takes the lower tier's */
  u.input_tokens = 300000;
  u.cache_read_tokens = 100000;
  assert_int_equal(tkn_prices_cost(p, S("q"), &u, &c), TKN_OK);
  assert_true(c.input == 200000 * USD(4000000));
  assert_true(c.cache_read == 100000 * USD(200000));
  assert_true(c.output == 10 * USD(3000000));
  u.input_tokens = 40000;
  u.cache_read_tokens = 0;
  assert_int_equal(tkn_prices_cost(p, S("q"), &u, &c), TKN_OK);
  assert_true(c.input == 40000 * USD(2000000));
  /* Alibaba-style ranges */
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("ali"), &m), TKN_OK);
  assert_true(m.input_per_mtok == PT(50000) && m.tier_count == 1 && m.tiers[0].threshold == 256000);
  u.input_tokens = 256001;
  assert_int_equal(tkn_prices_compute(&m, &u, &c), TKN_OK);
  assert_true(c.input == 256001 * USD(250000) && c.output == 10 * USD(2000000));
  tkn_prices_free(p);
}

static void the_files_batch_cache_prices_win_over_the_stacked_discount(void **state) {
  (void)state;
  /* LiteLLM: Gemini 2.5 Flash's batch cache read is not halved */
  tkn_prices *p = load_ok(
      "{\"f\": {\"input_cost_per_token\": 3e-07, \"output_cost_per_token\": 2.5e-06,"
      " \"cache_read_input_token_cost\": 3e-08, \"input_cost_per_token_batches\": 1.5e-07,"
      " \"output_cost_per_token_batches\": 1.25e-06, \"cache_read_input_token_cost_batches\": 3e-08,"
      " \"cache_creation_input_token_cost\": 1e-06, \"cache_creation_input_token_cost_batches\": 7e-07}}");
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 4000;
  u.cache_read_tokens = 1000;
  u.cache_write_5m_tokens = 1000;
  u.output_tokens = 10;
  u.flags = TKN_USAGE_BATCH;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, S("f"), &u, &c), TKN_OK);
  assert_true(c.cache_read == 1000 * USD(30000));   /* not 15,000 per token */
  assert_true(c.cache_write == 1000 * USD(700000)); /* not 500,000 */
  assert_true(c.input == 2000 * USD(150000));
  assert_int_equal(tkn_prices_unmodelled(p), 0);
  tkn_prices_free(p);
}

static void unmodelled_money_fields_are_listed(void **state) {
  (void)state;
  tkn_prices *p = load_ok(
      "{\"a\": {\"input_cost_per_token\": 1e-06, \"input_cost_per_audio_token\": 1e-05,"
      " \"input_cost_per_token_priority\": 2e-06, \"supports_vision\": true, \"mode\": \"chat\"},"
      " \"b\": {\"input_cost_per_token_priority\": 3e-06, \"input_cost_per_token_flex\": null,"
      " \"search_context_cost_per_query\": {\"search_context_size_low\": 0.01}}}");
  assert_int_equal(tkn_prices_unmodelled(p), 3);
  const char *field = NULL, *first = NULL;
  size_t n = 0;
  assert_int_equal(tkn_prices_unmodelled_at(p, 0, &field, &n, &first), TKN_OK);
  assert_string_equal(field, "input_cost_per_audio_token");
  assert_int_equal(n, 1);
  assert_string_equal(first, "a");
  assert_int_equal(tkn_prices_unmodelled_at(p, 1, &field, &n, &first), TKN_OK);
  assert_string_equal(field, "input_cost_per_token_priority");
  assert_int_equal(n, 2);
  assert_int_equal(tkn_prices_unmodelled_at(p, 2, &field, NULL, NULL), TKN_OK);
  assert_string_equal(field, "search_context_cost_per_query");
  assert_int_equal(tkn_prices_unmodelled_at(p, 3, &field, NULL, NULL), TKN_ERR_INVALID);
  tkn_prices_free(p);
}

static void alias_of_entries_price_as_their_target(void **state) {
  (void)state;
  const char *json =
      "{\"bedrock/claude-latest\": {\"alias_of\": \"anthropic.claude-9\", \"mode\": \"chat\"},"
      " \"anthropic.claude-9\": {\"litellm_provider\": \"bedrock\", \"input_cost_per_token\": 3e-06,"
      " \"output_cost_per_token\": 1.5e-05},"
      " \"dangling\": {\"alias_of\": \"nowhere\"}}";
  char err[512] = "";
  tkn_prices *p = NULL;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, json, strlen(json), NULL), err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "\"dangling\""));
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, json, strlen(json), &o), err, sizeof err), TKN_OK);
  tkn_model_price m = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, S("bedrock/claude-latest"), &m), TKN_OK);
  assert_string_equal(m.name, "anthropic.claude-9");
  assert_true(m.input_per_mtok == PT(3000000));
  assert_int_equal(tkn_prices_lookup(p, S("dangling"), &m), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_prices_skipped(p), 1);
  tkn_prices_free(p);
}

/* ---- usage normalisation ---- */

static void chat_usage_keeps_not_reported_apart_from_zero(void **state) {
  (void)state;
  tkn_usage u = parse_usage(TKN_USAGE_AUTO, "{\"prompt_tokens\": 12, \"completion_tokens\": 3}");
  assert_true(u.input_tokens == 12 && u.output_tokens == 3 && u.cache_read_tokens == 0);
  assert_int_equal(u.flags, 0);
  u = parse_usage(TKN_USAGE_AUTO,
                  "{\"object\": \"chat.completion\", \"usage\": {\"prompt_tokens\": 12,"
                  " \"completion_tokens\": 30, \"prompt_tokens_details\": {\"cached_tokens\": 0},"
                  " \"completion_tokens_details\": {\"reasoning_tokens\": 20}}}");
  assert_int_equal(u.flags, TKN_USAGE_CACHE_REPORTED | TKN_USAGE_REASONING_REPORTED);
  assert_true(u.cache_read_tokens == 0 && u.reasoning_tokens == 20 && u.output_tokens == 30);
}

static void gateway_cache_writes_in_openai_shapes_are_read(void **state) {
  (void)state;
  tkn_usage u = parse_usage(TKN_USAGE_OPENAI_CHAT,
                            "{\"prompt_tokens\": 100, \"completion_tokens\": 1, \"prompt_tokens_details\":"
                            " {\"cached_tokens\": 20, \"cache_write_tokens\": 30}}");
  assert_true(u.cache_read_tokens == 20 && u.cache_write_5m_tokens == 30 && u.input_tokens == 100);
  assert_int_equal(u.flags, TKN_USAGE_CACHE_REPORTED | TKN_USAGE_CACHE_WRITE_REPORTED);
  u = parse_usage(TKN_USAGE_OPENAI_RESPONSES,
                  "{\"input_tokens\": 100, \"output_tokens\": 1, \"input_tokens_details\":"
                  " {\"cache_write_tokens\": 30}}");
  assert_true(u.cache_write_5m_tokens == 30 && u.cache_read_tokens == 0);
  assert_int_equal(u.flags, TKN_USAGE_CACHE_WRITE_REPORTED);
}

static void responses_usage_is_read(void **state) {
  (void)state;
  tkn_usage u = parse_usage(TKN_USAGE_AUTO,
                            "{\"object\": \"response\", \"usage\": {\"input_tokens\": 100,"
                            " \"input_tokens_details\": {\"cached_tokens\": 64}, \"output_tokens\": 9,"
                            " \"output_tokens_details\": {\"reasoning_tokens\": 4}}}");
  assert_true(u.input_tokens == 100 && u.cache_read_tokens == 64 && u.output_tokens == 9 &&
              u.reasoning_tokens == 4);
  assert_int_equal(u.flags, TKN_USAGE_CACHE_REPORTED | TKN_USAGE_REASONING_REPORTED);
}

static void anthropic_input_is_made_inclusive(void **state) {
  (void)state;
  tkn_usage u = parse_usage(TKN_USAGE_ANTHROPIC,
                            "{\"input_tokens\": 5, \"output_tokens\": 7,"
                            " \"cache_read_input_tokens\": 40, \"cache_creation_input_tokens\": 30}");
  assert_true(u.input_tokens == 75 && u.cache_read_tokens == 40);
  assert_true(u.cache_write_5m_tokens == 30 && u.cache_write_1h_tokens == 0);
  assert_int_equal(u.flags, TKN_USAGE_CACHE_REPORTED | TKN_USAGE_CACHE_WRITE_REPORTED);
  /* a split that does not cover the total: the rest has the default TTL */
  u = parse_usage(TKN_USAGE_ANTHROPIC,
                  "{\"input_tokens\": 5, \"output_tokens\": 7, \"cache_creation_input_tokens\": 30,"
                  " \"cache_creation\": {\"ephemeral_1h_input_tokens\": 10}}");
  assert_true(u.cache_write_5m_tokens == 20 && u.cache_write_1h_tokens == 10);
  assert_int_equal(u.flags, TKN_USAGE_CACHE_WRITE_REPORTED);
  /* no cache fields at all: not reported */
  u = parse_usage(TKN_USAGE_ANTHROPIC, "{\"input_tokens\": 5, \"output_tokens\": 7}");
  assert_int_equal(u.flags, 0);
}

static void gemini_thoughts_are_output_and_tools_are_input(void **state) {
  (void)state;
  tkn_usage u = parse_usage(TKN_USAGE_AUTO,
                            "{\"candidates\": [], \"usageMetadata\": {\"promptTokenCount\": 1000,"
                            " \"cachedContentTokenCount\": 600, \"candidatesTokenCount\": 50,"
                            " \"thoughtsTokenCount\": 200, \"toolUsePromptTokenCount\": 10,"
                            " \"totalTokenCount\": 1260}}");
  assert_true(u.input_tokens == 1010 && u.cache_read_tokens == 600);
  assert_true(u.output_tokens == 250 && u.reasoning_tokens == 200);
  /* Gemini omits zero counts: absent cachedContentTokenCount is a reported 0 */
  u = parse_usage(TKN_USAGE_GEMINI, "{\"promptTokenCount\": 8}");
  assert_true(u.input_tokens == 8 && u.output_tokens == 0);
  assert_true(u.flags & TKN_USAGE_CACHE_REPORTED);
}

/* issue 15: TKN_FORMAT_ANTHROPIC (2) was TKN_USAGE_OPENAI_RESPONSES, so an
 * Anthropic usage object read as input 100 / cache_read 0 with TKN_OK. */
static void usage_parse_refuses_a_provider_constant(void **state) {
  (void)state;
  const char *json = "{\"input_tokens\":100,\"cache_read_input_tokens\":900,"
                     "\"cache_creation_input_tokens\":0,\"output_tokens\":20}";
  for (int32_t p = TKN_PROVIDER_OPENAI; p <= TKN_PROVIDER_GEMINI; p++) {
    tkn_usage u = TKN_USAGE_INIT;
    assert_int_equal(tkn_usage_parse(&u, (uint32_t)p, json, strlen(json)),
                     TKN_ERR_INVALID);
    assert_true(u.input_tokens == 0);
  }
  tkn_usage u = TKN_USAGE_INIT;
  assert_int_equal(tkn_usage_parse(&u, TKN_USAGE_ANTHROPIC, json, strlen(json)), TKN_OK);
  assert_true(u.input_tokens == 1000 && u.cache_read_tokens == 900);
}

static void usage_parse_keeps_the_batch_flag(void **state) {
  (void)state;
  tkn_usage u = TKN_USAGE_INIT;
  u.flags = TKN_USAGE_BATCH | TKN_USAGE_CACHE_REPORTED;
  assert_int_equal(tkn_usage_parse(&u, TKN_USAGE_OPENAI_CHAT,
                                   S("{\"prompt_tokens\": 1, \"completion_tokens\": 1}")),
                   TKN_OK);
  assert_int_equal(u.flags, TKN_USAGE_BATCH);
}

static void usage_parse_errors_leave_the_record_alone(void **state) {
  (void)state;
  static const struct {
    uint32_t format;
    const char *json;
    int rc;
    const char *needle;
  } cases[] = {
      {TKN_USAGE_OPENAI_CHAT, "{\"completion_tokens\": 1}", TKN_ERR_SCHEMA, "prompt_tokens is missing"},
      {TKN_USAGE_OPENAI_CHAT, "{\"prompt_tokens\": -1, \"completion_tokens\": 1}", TKN_ERR_SCHEMA,
       "prompt_tokens"},
      {TKN_USAGE_OPENAI_CHAT, "{\"prompt_tokens\": 1.5, \"completion_tokens\": 1}", TKN_ERR_SCHEMA,
       "token count"},
      {TKN_USAGE_OPENAI_CHAT, "{\"prompt_tokens\": \"3\", \"completion_tokens\": 1}", TKN_ERR_SCHEMA,
       "prompt_tokens"},
      {TKN_USAGE_OPENAI_CHAT,
       "{\"prompt_tokens\": 3, \"completion_tokens\": 1, \"prompt_tokens_details\": {\"cached_tokens\": 4}}",
       TKN_ERR_SCHEMA, "exceed"},
      {TKN_USAGE_OPENAI_RESPONSES,
       "{\"input_tokens\": 3, \"output_tokens\": 1, \"output_tokens_details\": {\"reasoning_tokens\": 4}}",
       TKN_ERR_SCHEMA, "reasoning"},
      {TKN_USAGE_ANTHROPIC,
       "{\"input_tokens\": 3, \"output_tokens\": 1, \"cache_creation_input_tokens\": 5,"
       " \"cache_creation\": {\"ephemeral_5m_input_tokens\": 4, \"ephemeral_1h_input_tokens\": 4}}",
       TKN_ERR_SCHEMA, "exceeds"},
      {TKN_USAGE_GEMINI, "{\"candidatesTokenCount\": 3}", TKN_ERR_SCHEMA, "promptTokenCount"},
      {TKN_USAGE_OPENAI_CHAT, "{\"prompt_tokens\": 1e300, \"completion_tokens\": 1}", TKN_ERR_SCHEMA,
       "2^53"},
      {TKN_USAGE_AUTO, "[1]", TKN_ERR_SCHEMA, "not a JSON object"},
      {TKN_USAGE_AUTO, "{\"prompt_tokens\": }", TKN_ERR_PARSE, "line 1"},
      {9, "{}", TKN_ERR_INVALID, "format"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    tkn_usage u = TKN_USAGE_INIT;
    u.input_tokens = 77;
    char err[256] = "";
    int rc = tt_keep_err(tkn_usage_parse(&u, cases[i].format, cases[i].json, strlen(cases[i].json)), err, sizeof err);
    if (rc != cases[i].rc || !strstr(err, cases[i].needle) || u.input_tokens != 77)
      fail_msg("case %zu: rc %d, err \"%s\"", i, rc, err);
  }
  tkn_usage u = TKN_USAGE_INIT;
  assert_int_equal(tkn_usage_parse(NULL, 0, S("{}")), TKN_ERR_INVALID);
  assert_int_equal(tkn_usage_parse(&u, 0, NULL, 4), TKN_ERR_INVALID);
  u.version = 5;
  assert_int_equal(tkn_usage_parse(&u, 0, S("{}")), TKN_ERR_VERSION);
}

/* ---- sharing ---- */

typedef struct reader {
  const tkn_prices *p;
  int64_t sum;
  int errors;
} reader;

static void *read_prices(void *arg) {
  reader *r = arg;
  static const char *const models[] = {"gpt-4o", "claude-sonnet-4-5-20250929", "gemini-2.5-pro",
                                       "anthropic/claude-haiku-4-5", "o3"};
  for (int i = 0; i < 20000; i++) {
    tkn_usage u = TKN_USAGE_INIT;
    u.input_tokens = 1000 + i % 100;
    u.cache_read_tokens = i % 100;
    u.output_tokens = 10;
    tkn_cost c = TKN_COST_INIT;
    const char *m = models[i % 5];
    if (tkn_prices_cost(r->p, m, strlen(m), &u, &c) != TKN_OK) r->errors++;
    r->sum += c.total;
  }
  return NULL;
}

static void one_table_is_shared_by_threads_without_locks(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  reader alone = {p, 0, 0};
  read_prices(&alone);
  pthread_t t[4];
  reader r[4];
  for (int i = 0; i < 4; i++) {
    r[i] = (reader){p, 0, 0};
    assert_int_equal(pthread_create(&t[i], NULL, read_prices, &r[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_int_equal(r[i].errors, 0);
    assert_true(r[i].sum == alone.sum);
  }
  tkn_prices_free(p);
}

/* ---- out of memory ---- */

static void price_load_survives_every_allocation_failure(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    tkn_prices *p = NULL;
    char err[256];
    int rc = tkn_prices_new_default(&p);
    if (rc == TKN_OK) {
      tkn_usage u = TKN_USAGE_INIT;
      rc = tt_keep_err(tkn_usage_parse(&u, TKN_USAGE_AUTO, S(k_table)), err, sizeof err);
      assert_true(rc == TKN_OK || rc == TKN_ERR_NOMEM || rc == TKN_ERR_SCHEMA);
    } else {
      assert_int_equal(rc, TKN_ERR_NOMEM);
      assert_null(p);
    }
    int done = !tt_alloc.failed;
    tkn_prices_free(p);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) break;
    assert_true(n < 100000);
  }
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
    o.aliases = "{\"a\": \"gpt-4o\", \"b\": \"gemini-2.5-pro\"}";
    o.aliases_len = strlen(o.aliases);
    o.skip_invalid = 1;
    tkn_prices *p = NULL;
    int rc = tkn_prices_load(&p, S(k_names), &o);
    assert_true(rc == TKN_OK || rc == TKN_ERR_NOMEM);
    int done = !tt_alloc.failed;
    if (rc == TKN_OK) assert_true(input_of(p, "b") == 1250000);
    tkn_prices_free(p);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) break;
  }
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    tkn_usage u = TKN_USAGE_INIT;
    int rc = tkn_usage_parse(&u, TKN_USAGE_AUTO,
                             S("{\"usage\": {\"input_tokens\": 5, \"output_tokens\": 7,"
                               " \"cache_creation\": {\"ephemeral_1h_input_tokens\": 1}}}"));
    assert_true(rc == TKN_OK || rc == TKN_ERR_NOMEM);
    int done = !tt_alloc.failed;
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (done) {
      assert_int_equal(rc, TKN_OK);
      assert_true(u.input_tokens == 6);
      break;
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(parse_usd_is_exact_for_every_spelling),
      cmocka_unit_test(parse_usd_rejects_what_is_not_exact_or_not_a_number),
      cmocka_unit_test(format_usd_writes_every_digit),
      cmocka_unit_test(load_reads_prices_exactly_and_ignores_the_rest),
      cmocka_unit_test(load_reads_every_listed_field),
      cmocka_unit_test(load_errors_name_the_model_and_field),
      cmocka_unit_test(load_checks_its_arguments),
      cmocka_unit_test(skip_invalid_keeps_the_good_entries_and_counts_the_rest),
      cmocka_unit_test(a_later_duplicate_key_wins),
      cmocka_unit_test(a_later_duplicate_key_wins_over_a_skipped_one_and_back),
      cmocka_unit_test(lookup_follows_the_documented_rules),
      cmocka_unit_test(aliases_map_names_to_models),
      cmocka_unit_test(default_table_covers_current_models),
      cmocka_unit_test(litellm_providers_map_to_opentelemetry_names),
      cmocka_unit_test(cached_tokens_are_not_billed_as_plain_input),
      cmocka_unit_test(batch_and_cache_discounts_stack),
      cmocka_unit_test(anthropic_cache_writes_are_billed_by_ttl),
      cmocka_unit_test(prompts_above_200k_bill_every_token_at_the_tier_price),
      cmocka_unit_test(missing_prices_fall_back_as_documented),
      cmocka_unit_test(compute_rejects_bad_input_and_overflow),
      cmocka_unit_test(prices_cost_reports_unknown_models),
      cmocka_unit_test(sub_picodollar_rates_load_exactly_in_strict_mode),
      cmocka_unit_test(a_cost_is_rounded_once),
      cmocka_unit_test(the_parts_of_a_cost_miss_its_total_by_at_most_two),
      cmocka_unit_test(a_skipped_model_is_never_priced_by_a_fallback),
      cmocka_unit_test(a_double_printed_in_full_is_read_at_fifteen_digits),
      cmocka_unit_test(a_bare_name_is_the_makers_own_entry),
      cmocka_unit_test(tiers_above_128k_and_several_thresholds_apply),
      cmocka_unit_test(unmodelled_money_fields_are_listed),
      cmocka_unit_test(the_files_batch_cache_prices_win_over_the_stacked_discount),
      cmocka_unit_test(alias_of_entries_price_as_their_target),
      cmocka_unit_test(chat_usage_keeps_not_reported_apart_from_zero),
      cmocka_unit_test(responses_usage_is_read),
      cmocka_unit_test(gateway_cache_writes_in_openai_shapes_are_read),
      cmocka_unit_test(anthropic_input_is_made_inclusive),
      cmocka_unit_test(gemini_thoughts_are_output_and_tools_are_input),
      cmocka_unit_test(usage_parse_keeps_the_batch_flag),
      cmocka_unit_test(usage_parse_errors_leave_the_record_alone),
      cmocka_unit_test(usage_parse_refuses_a_provider_constant),
      cmocka_unit_test(one_table_is_shared_by_threads_without_locks),
      cmocka_unit_test(price_load_survives_every_allocation_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
