/* TKN_NUL_TERMINATED in every (const char *, size_t) pair the host hands the
 * library: each public function's pairs and each options-struct pair
 * (model/model_len, ...).  One table row per pair; each row runs once with
 * the text's byte length and once with TKN_NUL_TERMINATED and must give the
 * same status (TKN_OK) and the same observable result.  check_lengths.py
 * compares the rows with the pairs it finds in the public headers, so a new
 * function or field without a row fails the suite. */
#include "../test_util.h"
#include "listed_codes.h" /* generated: status_lists.py --emit-c */

/* A row: run the call with the pair under test set to (s, len), the other
 * pairs given as byte lengths; write what can be seen of the result in obs. */
typedef int (*case_fn)(const char *s, size_t len, char *obs, size_t cap);
typedef struct lcase {
  const char *where; /* the function, or the options struct */
  const char *param; /* the pointer parameter or field */
  const char *text;
  case_fn run;
} lcase;

/* What a row returns when the failure is its own finding, not a library call's
 * status (a lookup that returned NULL, a result that is not what it should be). */
#define NOT_A_CALL 1000
#define OBS(...) snprintf(obs, cap, __VA_ARGS__)

/* ---- shared set-ups ---- */

static tkn_conv *conv1(void) {
  tkn_conv *c = NULL;
  const char *j = "[{\"role\":\"user\",\"content\":\"hi\"},"
                  "{\"role\":\"assistant\",\"content\":\"ok\","
                  "\"tool_calls\":[{\"id\":\"call_1\",\"type\":\"function\",\"function\":"
                  "{\"name\":\"f\",\"arguments\":\"{}\"}}]},"
                  "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"the tool's result, "
                  "long enough for a placeholder to be shorter than it\"}]";
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, S(j)), TKN_OK);
  return c;
}

static int conv_obs(tkn_conv *c, int rc, char *obs, size_t cap) {
  char *js = NULL;
  size_t n = 0;
  if (rc == TKN_OK) rc = tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &js, &n);
  if (rc == TKN_OK) OBS("%s", js);
  tkn_free(js);
  tkn_conv_free(c);
  return rc;
}

static tkn_tokenizer *o200k(void) {
  tkn_tokenizer *t = NULL;
  return tkn_tokenizer_new_encoding(&t, S("o200k_base")) == TKN_OK ? t : NULL;
}

static const char *ROUTER_JSON =
    "{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\"],\"threshold\":0.8},"
    "{\"name\":\"large\",\"models\":[\"gpt-4o\"],\"threshold\":0.6}],"
    "\"rules\":[{\"when\":{\"attr\":\"kind\",\"eq\":\"x\"},\"tier\":\"small\","
    "\"reason\":\"r\",\"cascade\":true,\"shadow_rate\":1,\"shadow_tier\":\"large\"}],"
    "\"default_tier\":\"large\",\"cascade\":{\"max_escalations\":1,"
    "\"confidence_path\":\"c\"},\"failures\":{\"allowed_fails\":1,\"window_s\":60,"
    "\"cooldown_s\":5}}";

static tkn_router *router1(void) {
  tkn_router *r = NULL;
  assert_int_equal(tkn_router_new_json(&r, S(ROUTER_JSON), NULL), TKN_OK);
  return r;
}

static tkn_toolcache *cache1(void) {
  tkn_toolcache *c = NULL;
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("search"), 1, 60000,
                                            TKN_TOOLCACHE_SCOPE_SESSION), TKN_OK);
  return c;
}

/* ---- common ---- */

static int c_usd_parse(const char *s, size_t len, char *obs, size_t cap) {
  int64_t v = 0;
  int rc = tkn_usd_parse(s, len, &v);
  OBS("%lld", (long long)v);
  return rc;
}

/* ---- conv ---- */

static int c_role_from_name(const char *s, size_t len, char *obs, size_t cap) {
  OBS("%d", tkn_role_from_name(s, len));
  return TKN_OK;
}
static int c_conv_load(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  return conv_obs(c, tkn_conv_load(c, TKN_PROVIDER_OPENAI, s, len), obs, cap);
}
static int c_conv_from_json(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = NULL;
  int rc = tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, s, len);
  return rc ? rc : conv_obs(c, rc, obs, cap);
}
static int c_find_tool_call(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  size_t i = 99;
  int rc = tkn_conv_find_tool_call(c, s, len, &i);
  OBS("%zu", i);
  tkn_conv_free(c);
  return rc;
}
static int c_find_tool_result(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  size_t i = 99;
  int rc = tkn_conv_find_tool_result(c, s, len, &i);
  OBS("%zu", i);
  tkn_conv_free(c);
  return rc;
}
static int c_append_text(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_append_text(c, TKN_ROLE_USER, s, len), obs, cap);
}
static int c_insert_text(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_insert_text(c, 0, TKN_ROLE_SYSTEM, s, len), obs, cap);
}
static int c_insert_json(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, s, len), obs, cap);
}
static int c_replace_json(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_replace_json(c, 0, TKN_PROVIDER_OPENAI, s, len), obs, cap);
}
static int c_set_text(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_set_text(c, 0, s, len), obs, cap);
}
static int c_set_name(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_set_name(c, 0, s, len), obs, cap);
}
static int c_tool_call_id(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_add_tool_call(c, 1, s, len, S("g"), S("{}")), obs, cap);
}
static int c_tool_call_fn(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_add_tool_call(c, 1, S("call_2"), s, len, S("{}")), obs, cap);
}
static int c_tool_call_args(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_add_tool_call(c, 1, S("call_2"), S("g"), s, len), obs, cap);
}
static int c_set_tool_call_id(const char *s, size_t len, char *obs, size_t cap) {
  tkn_conv *c = conv1();
  return conv_obs(c, tkn_conv_set_tool_call_id(c, 2, s, len), obs, cap);
}

/* ---- tokenizer ---- */

static int c_tok_count(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&t), TKN_OK);
  int64_t n = -1;
  int rc = tkn_tokenizer_count(t, s, len, &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_encoding_for_model(const char *s, size_t len, char *obs, size_t cap) {
  const char *e = tkn_tokenizer_encoding_for_model(s, len);
  OBS("%s", e ? e : "(null)");
  return e ? TKN_OK : NOT_A_CALL;
}
static int c_new_encoding(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_new_encoding(&t, s, len);
  int64_t n = -1;
  if (rc == TKN_OK) rc = tkn_tokenizer_count(t, S("hello world"), &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_new_for_model(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_new_for_model(&t, s, len);
  int64_t n = -1;
  if (rc == TKN_OK) rc = tkn_tokenizer_count(t, S("hello world"), &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_new_estimator_for(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_new_estimator_for(&t, s, len);
  int64_t n = -1;
  if (rc == TKN_OK) rc = tkn_tokenizer_count(t, S("hello world, hello world"), &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_encode(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = o200k();
  if (!t) return TKN_ERR_UNAVAILABLE;
  uint32_t ids[64];
  size_t n = 0;
  int rc = tkn_tokenizer_encode(t, s, len, NULL, ids, 64, &n);
  OBS("%zu %u", n, n ? ids[0] : 0u);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_encode_alloc(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = o200k();
  if (!t) return TKN_ERR_UNAVAILABLE;
  uint32_t *ids = NULL;
  size_t n = 0;
  int rc = tkn_tokenizer_encode_alloc(t, s, len, NULL, &ids, &n);
  OBS("%zu %u", n, n ? ids[n - 1] : 0u);
  tkn_free(ids);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_count_limit(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *t = o200k();
  if (!t) return TKN_ERR_UNAVAILABLE;
  int64_t n = -1;
  int rc = tkn_tokenizer_count_limit(t, s, len, 1000, NULL, &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}
static int c_ranks_data(const char *s, size_t len, char *obs, size_t cap) {
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  o.flavor = TKN_BPE_CL100K;
  o.data = s;
  o.len = len;
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_load_ranks(&t, &o);
  int64_t n = -1;
  if (rc == TKN_OK) rc = tkn_tokenizer_count(t, S("ab"), &n);
  OBS("%lld", (long long)n);
  tkn_tokenizer_free(t);
  return rc;
}

/* ---- llm ---- */

static int c_fail_from_name(const char *s, size_t len, char *obs, size_t cap) {
  OBS("%d", (int)tkn_llm_fail_from_name(s, len));
  return TKN_OK;
}
typedef const char *(*resp_get)(const tkn_llm_response *, size_t *);
static int resp_obs(tkn_llm_response *r, int rc, resp_get get, char *obs, size_t cap) {
  size_t n = 0;
  const char *v = rc == TKN_OK ? get(r, &n) : NULL;
  OBS("%.*s", (int)n, v ? v : "");
  tkn_llm_response_free(r);
  return rc;
}
static tkn_llm_response *resp1(void) {
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  return r;
}
static int c_resp_content(const char *s, size_t len, char *obs, size_t cap) {
  tkn_llm_response *r = resp1();
  return resp_obs(r, tkn_llm_response_set_content(r, s, len), tkn_llm_response_content, obs,
                  cap);
}
static int c_resp_tool_calls(const char *s, size_t len, char *obs, size_t cap) {
  tkn_llm_response *r = resp1();
  return resp_obs(r, tkn_llm_response_set_tool_calls(r, s, len), tkn_llm_response_tool_calls,
                  obs, cap);
}
static int c_resp_finish(const char *s, size_t len, char *obs, size_t cap) {
  tkn_llm_response *r = resp1();
  return resp_obs(r, tkn_llm_response_set_finish_reason(r, s, len),
                  tkn_llm_response_finish_reason, obs, cap);
}
static int c_resp_usage(const char *s, size_t len, char *obs, size_t cap) {
  tkn_llm_response *r = resp1();
  return resp_obs(r, tkn_llm_response_set_usage_json(r, TKN_USAGE_OPENAI_CHAT, s, len),
                  tkn_llm_response_usage_json, obs, cap);
}
static int c_resp_error(const char *s, size_t len, char *obs, size_t cap) {
  tkn_llm_response *r = resp1();
  int rc = tkn_llm_response_set_error(r, TKN_LLM_FAIL_SERVER, s, len);
  const char *msg = NULL;
  size_t n = 0;
  int32_t cls = tkn_llm_response_error(r, &msg, &n);
  OBS("%d %.*s", (int)cls, (int)n, msg ? msg : "");
  tkn_llm_response_free(r);
  return rc;
}

/* ---- usage and prices ---- */

static int c_usage_parse(const char *s, size_t len, char *obs, size_t cap) {
  tkn_usage u = TKN_USAGE_INIT;
  int rc = tkn_usage_parse(&u, TKN_USAGE_OPENAI_CHAT, s, len);
  OBS("%lld %lld", (long long)u.input_tokens, (long long)u.output_tokens);
  return rc;
}
static int prices_obs(tkn_prices *p, int rc, const char *model, char *obs, size_t cap) {
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  if (rc == TKN_OK) rc = tkn_prices_lookup(p, model, strlen(model), &mp);
  if (rc == TKN_OK) OBS("%s %lld", mp.name, (long long)mp.input_per_mtok);
  tkn_prices_free(p);
  return rc;
}
static const char *PRICES_JSON =
    "{\"m-1\":{\"input_cost_per_token\":1e-06,\"output_cost_per_token\":2e-06,"
    "\"litellm_provider\":\"openai\"}}";
static int c_prices_load(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prices *p = NULL;
  int rc = tkn_prices_load(&p, s, len, NULL);
  return prices_obs(p, rc, "m-1", obs, cap);
}
static int c_prices_aliases(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.aliases = s;
  o.aliases_len = len;
  tkn_prices *p = NULL;
  int rc = tkn_prices_load(&p, S(PRICES_JSON), &o);
  return prices_obs(p, rc, "my-model", obs, cap);
}
static int c_prices_lookup(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(p, s, len, &mp);
  OBS("%s %lld", rc ? "" : mp.name, (long long)mp.input_per_mtok);
  tkn_prices_free(p);
  return rc;
}
static int c_prices_cost(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 1000;
  u.output_tokens = 10;
  tkn_cost c = TKN_COST_INIT;
  int rc = tkn_prices_cost(p, s, len, &u, &c);
  OBS("%lld", (long long)c.total);
  tkn_prices_free(p);
  return rc;
}
static int c_otel_provider(const char *s, size_t len, char *obs, size_t cap) {
  const char *v = tkn_prices_otel_provider(s, len);
  OBS("%s", v ? v : "(null)");
  return v ? TKN_OK : NOT_A_CALL;
}

/* ---- prompt and cache planning ---- */

static int c_lint(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prompt_finding *f = NULL;
  size_t n = 0;
  int rc = tkn_prompt_lint(s, len, TKN_LINT_ALL, &f, &n);
  OBS("%zu %llu", n, n ? (unsigned long long)f[0].offset : 0ull);
  tkn_free(f);
  return rc;
}
/* Assemble and render a builder's prompt into obs. */
static int prompt_obs(tkn_prompt_builder *b, int rc, const tkn_render_options *ro, char *obs,
                      size_t cap) {
  tkn_prompt *p = NULL;
  char *out = NULL;
  size_t n = 0;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  if (rc == TKN_OK) rc = tkn_prompt_assemble(&p, b, tok);
  tkn_tokenizer_free(tok);
  tkn_render_options def = TKN_RENDER_OPTIONS_INIT;
  def.model = "gpt-4o";
  def.model_len = 6;
  if (rc == TKN_OK) rc = tkn_prompt_render(p, ro ? ro : &def, &out, &n);
  if (rc == TKN_OK) OBS("%s", out);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  return rc;
}
static tkn_prompt_builder *builder1(void) {
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  return b;
}
static int c_pb_text_name(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prompt_builder *b = builder1();
  int rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, s, len,
                                       S("You help."), NULL);
  return prompt_obs(b, rc, NULL, obs, cap);
}
static int c_pb_text(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prompt_builder *b = builder1();
  int rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("sys"), s,
                                       len, NULL);
  return prompt_obs(b, rc, NULL, obs, cap);
}
static const char *TOOL_JSON =
    "{\"type\":\"function\",\"function\":{\"name\":\"search\",\"description\":\"d\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{}}}}";
static int c_pb_tool(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prompt_builder *b = builder1();
  int rc = tkn_prompt_builder_add_tool(b, s, len, NULL);
  if (!rc) rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("sys"),
                                            S("You help."), NULL);
  return prompt_obs(b, rc, NULL, obs, cap);
}
static int render_field(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_prompt_builder *b = builder1();
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                               S("sys"), S("You help."), NULL), TKN_OK);
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.model = "gpt-4o";
  ro.model_len = 6;
  if (which == 0) {
    ro.model = s;
    ro.model_len = len;
  } else {
    ro.cache_key = s;
    ro.cache_key_len = len;
  }
  return prompt_obs(b, TKN_OK, &ro, obs, cap);
}
static int c_render_model(const char *s, size_t len, char *obs, size_t cap) {
  return render_field(0, s, len, obs, cap);
}
static int c_render_cache_key(const char *s, size_t len, char *obs, size_t cap) {
  return render_field(1, s, len, obs, cap);
}
static int c_min_cache(const char *s, size_t len, char *obs, size_t cap) {
  int64_t v = 0;
  int rc = tkn_prompt_min_cache_tokens(TKN_PROVIDER_ANTHROPIC, s, len, &v);
  if (rc == TKN_OK) OBS("%lld", (long long)v);
  return rc;
}
static int c_min_cache_from(const char *s, size_t len, char *obs, size_t cap) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  int64_t v = 0;
  int rc = tkn_prompt_min_cache_tokens_from(p, TKN_PROVIDER_ANTHROPIC, s, len, &v);
  if (rc == TKN_OK) OBS("%lld", (long long)v);
  tkn_prices_free(p);
  return rc;
}
static int c_cacheplan_model(const char *s, size_t len, char *obs, size_t cap) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = s;
  o.model_len = len;
  o.price_input = 3000000;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  char *js = NULL;
  size_t n = 0;
  if (rc == TKN_OK) rc = tkn_cacheplan_advice(c, &js, &n);
  if (rc == TKN_OK) OBS("%s", js);
  tkn_free(js);
  tkn_cacheplan_free(c);
  return rc;
}

/* ---- tool catalogue ---- */

static tkn_toolsel *toolsel1(void) {
  tkn_toolsel *c = NULL;
  assert_int_equal(tkn_toolsel_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"search_flights\",\"description\":\"Find "
                                         "flights.\"}"), NULL), TKN_OK);
  assert_int_equal(tkn_toolsel_add(c, S("{\"name\":\"cancel\",\"description\":\"Cancel a "
                                         "booking.\"}"), NULL), TKN_OK);
  return c;
}
static int c_ts_add(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolsel *c = toolsel1();
  uint32_t idx = 0;
  int rc = tkn_toolsel_add(c, s, len, &idx);
  const char *name = "";
  size_t nl = 0;
  if (!rc) rc = tkn_toolsel_tool(c, idx, &name, &nl, NULL, NULL);
  if (!rc) OBS("%u %.*s", idx, (int)nl, name);
  tkn_toolsel_free(c);
  return rc;
}
static int c_ts_find(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolsel *c = toolsel1();
  uint32_t idx = 99;
  int rc = tkn_toolsel_find(c, s, len, &idx);
  OBS("%u", idx);
  tkn_toolsel_free(c);
  return rc;
}
static int c_ts_scores(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolsel *c = toolsel1();
  double sc[2] = {0, 0};
  int rc = tkn_toolsel_scores(c, s, len, sc, 2);
  OBS("%.9f %.9f", sc[0], sc[1]);
  tkn_toolsel_free(c);
  return rc;
}
static int c_ts_select(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolsel *c = toolsel1();
  uint32_t sel[2] = {9, 9};
  size_t n = 0;
  int rc = tkn_toolsel_select(c, s, len, 1, NULL, 0, sel, 2, &n);
  OBS("%zu %u", n, sel[0]);
  tkn_toolsel_free(c);
  return rc;
}

/* ---- prune ---- */

static int c_prune_placeholder(const char *s, size_t len, char *obs, size_t cap) {
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  tkn_pruner *pr = NULL;
  assert_int_equal(tkn_prune_new(&pr, tok), TKN_OK);
  tkn_conv *c = conv1();
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = TKN_PRUNE_CLEAR;
  o.clear_trigger = 0;
  o.keep_tool_uses = 0;
  o.placeholder = s;
  o.placeholder_len = len;
  int rc = tkn_prune_run(pr, c, &o, NULL);
  tkn_prune_free(pr);
  tkn_tokenizer_free(tok);
  rc = conv_obs(c, rc, obs, cap);
  return rc == TKN_OK && !strstr(obs, "[gone]") ? NOT_A_CALL : rc; /* nothing cleared */
}

/* ---- router ---- */

static int task_obs(tkn_task *t, int rc, char *obs, size_t cap) {
  tkn_router *r = router1();
  char *js = NULL;
  size_t n = 0;
  if (rc == TKN_OK) rc = tkn_router_explain(r, t, &js, &n);
  if (rc == TKN_OK) OBS("%zu %s", tkn_task_count(t), js);
  tkn_free(js);
  tkn_router_free(r);
  tkn_task_free(t);
  return rc;
}
static tkn_task *task1(void) {
  tkn_task *t = NULL;
  assert_int_equal(tkn_task_new(&t), TKN_OK);
  return t;
}
static int c_task_id(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  return task_obs(t, tkn_task_set_id(t, s, len), obs, cap);
}
static int c_task_string_name(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  return task_obs(t, tkn_task_set_string(t, s, len, S("x")), obs, cap);
}
static int c_task_string_value(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  return task_obs(t, tkn_task_set_string(t, S("kind"), s, len), obs, cap);
}
static int c_task_number(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  return task_obs(t, tkn_task_set_number(t, s, len, 5), obs, cap);
}
static int c_task_bool(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  return task_obs(t, tkn_task_set_bool(t, s, len, 1), obs, cap);
}
static int c_task_strings_name(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  const char *v[] = {"a", "b"};
  const size_t l[] = {1, 1};
  return task_obs(t, tkn_task_set_strings(t, s, len, v, l, 2), obs, cap);
}
static int c_task_strings_values(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  const char *v[] = {"a", s};
  const size_t l[] = {1, len};
  return task_obs(t, tkn_task_set_strings(t, S("tags"), v, l, 2), obs, cap);
}
static int c_task_remove(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = task1();
  assert_int_equal(tkn_task_set_string(t, S("kind"), S("x")), TKN_OK);
  return task_obs(t, tkn_task_remove(t, s, len), obs, cap);
}
static int c_task_from_json(const char *s, size_t len, char *obs, size_t cap) {
  tkn_task *t = NULL;
  int rc = tkn_task_from_json(&t, s, len);
  return rc ? rc : task_obs(t, rc, obs, cap);
}
static int router_obs(tkn_router *r, int rc, char *obs, size_t cap) {
  char *js = NULL;
  size_t n = 0;
  tkn_task *t = task1();
  assert_int_equal(tkn_task_set_string(t, S("kind"), S("x")), TKN_OK);
  if (rc == TKN_OK) rc = tkn_router_explain(r, t, &js, &n);
  if (rc == TKN_OK) OBS("%s", js);
  tkn_free(js);
  tkn_task_free(t);
  tkn_router_free(r);
  return rc;
}
static int c_router_new_json(const char *s, size_t len, char *obs, size_t cap) {
  tkn_router *r = NULL;
  int rc = tkn_router_new_json(&r, s, len, NULL);
  return router_obs(r, rc, obs, cap);
}
/* A builder with tiers small and large, a rule, a default and a cascade; one
 * of its strings is (s, len): 0 tier name, 1 a model, 2 default tier, 3
 * cascade path, 4..7 rule when/tier/reason/shadow_tier. */
static int build_with(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_router_builder *b = NULL;
  assert_int_equal(tkn_router_builder_new(&b), TKN_OK);
  const char *m1[] = {"gpt-4o-mini"}, *m2[] = {"gpt-4o"};
  size_t l1[] = {11}, l2[] = {6};
  if (which == 1) {
    m1[0] = s;
    l1[0] = len;
  }
  int rc = which == 0 ? tkn_router_builder_add_tier(b, s, len, m1, l1, 1, 0.8)
                      : tkn_router_builder_add_tier(b, S("small"), m1, l1, 1, 0.8);
  if (!rc) rc = tkn_router_builder_add_tier(b, S("large"), m2, l2, 1, 0.6);
  tkn_router_rule rule = TKN_ROUTER_RULE_INIT;
  const char *when = "{\"attr\":\"kind\",\"eq\":\"x\"}";
  rule.when = when;
  rule.when_len = strlen(when);
  rule.tier = which == 0 ? s : "small";
  rule.tier_len = which == 0 ? len : 5;
  rule.reason = "r";
  rule.reason_len = 1;
  rule.shadow_tier = "large";
  rule.shadow_tier_len = 5;
  rule.shadow_rate = 1;
  if (which == 4) rule.when = s, rule.when_len = len;
  if (which == 5) rule.tier = s, rule.tier_len = len, rule.shadow_tier = NULL;
  if (which == 5) rule.shadow_tier_len = 0, rule.shadow_rate = 0;
  if (which == 6) rule.reason = s, rule.reason_len = len;
  if (which == 7) rule.shadow_tier = s, rule.shadow_tier_len = len;
  if (!rc) rc = tkn_router_builder_add_rule(b, &rule);
  if (!rc)
    rc = which == 2 ? tkn_router_builder_set_default_tier(b, s, len)
                    : tkn_router_builder_set_default_tier(b, S("large"));
  if (!rc)
    rc = which == 3 ? tkn_router_builder_set_cascade(b, 1, s, len)
                    : tkn_router_builder_set_cascade(b, 1, S("c"));
  tkn_router *r = NULL;
  if (!rc) rc = tkn_router_builder_build(b, NULL, &r);
  tkn_router_builder_free(b);
  return router_obs(r, rc, obs, cap);
}
static int c_rb_tier(const char *s, size_t len, char *o, size_t c) {
  return build_with(0, s, len, o, c);
}
static int c_rb_models(const char *s, size_t len, char *o, size_t c) {
  return build_with(1, s, len, o, c);
}
static int c_rb_default(const char *s, size_t len, char *o, size_t c) {
  return build_with(2, s, len, o, c);
}
static int c_rb_cascade(const char *s, size_t len, char *o, size_t c) {
  return build_with(3, s, len, o, c);
}
static int c_rule_when(const char *s, size_t len, char *o, size_t c) {
  return build_with(4, s, len, o, c);
}
static int c_rule_tier(const char *s, size_t len, char *o, size_t c) {
  return build_with(5, s, len, o, c);
}
static int c_rule_reason(const char *s, size_t len, char *o, size_t c) {
  return build_with(6, s, len, o, c);
}
static int c_rule_shadow_tier(const char *s, size_t len, char *o, size_t c) {
  return build_with(7, s, len, o, c);
}
static int c_report_failure(const char *s, size_t len, char *obs, size_t cap) {
  tkn_router *r = router1();
  int32_t cooled = -1;
  int rc = tkn_router_report_failure(r, s, len, TKN_LLM_FAIL_SERVER, &cooled);
  OBS("%d", (int)cooled);
  tkn_router_free(r);
  return rc;
}
static int c_model_cooldown(const char *s, size_t len, char *obs, size_t cap) {
  tkn_router *r = router1();
  assert_int_equal(tkn_router_report_failure(r, S("gpt-4o"), TKN_LLM_FAIL_SERVER, NULL), TKN_OK);
  int64_t until = -1;
  int rc = tkn_router_model_cooldown(r, s, len, &until);
  OBS("%d", until > 0);
  tkn_router_free(r);
  return rc;
}
static int same_text(const char *a, size_t al, const char *b, size_t bl, void *user) {
  (void)user;
  return al == bl && memcmp(a, b, al) == 0;
}
static int shadow(int strong, const char *s, size_t len, char *obs, size_t cap) {
  tkn_router *r = router1();
  int32_t agreed = -1;
  int rc = strong ? tkn_router_shadow_compare(r, 0, S("yes"), s, len, same_text, NULL, &agreed)
                  : tkn_router_shadow_compare(r, 0, s, len, S("yes"), same_text, NULL, &agreed);
  OBS("%d", (int)agreed);
  tkn_router_free(r);
  return rc;
}
static int c_shadow_cheap(const char *s, size_t len, char *o, size_t c) {
  return shadow(0, s, len, o, c);
}
static int c_shadow_strong(const char *s, size_t len, char *o, size_t c) {
  return shadow(1, s, len, o, c);
}
static int c_cascade_report(const char *s, size_t len, char *obs, size_t cap) {
  tkn_router *r = router1();
  tkn_router_cascade *c = NULL;
  assert_int_equal(tkn_router_cascade_new(&c, r, NULL), TKN_OK);
  int32_t tier, st = -1;
  const char *model;
  double conf = -1;
  int rc = tkn_router_cascade_next(c, &tier, &model);
  if (!rc) rc = tkn_router_cascade_report(c, s, len, 1, 5, &st, &conf);
  OBS("%d %g", (int)st, conf);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
  return rc;
}

/* ---- schema ---- */

static int c_schema_compile(const char *s, size_t len, char *obs, size_t cap) {
  tkn_schema *sc = NULL;
  int rc = tkn_schema_compile(&sc, s, len, NULL);
  if (rc == TKN_OK) OBS("%d %d", tkn_schema_check(sc, S("{\"a\":1}")),
                        tkn_schema_check(sc, S("{\"a\":\"x\"}")));
  tkn_schema_free(sc);
  return rc;
}
static tkn_schema *schema1(void) {
  tkn_schema *sc = NULL;
  assert_int_equal(tkn_schema_compile(&sc, S("{\"properties\":{\"a\":{\"type\":\"integer\"}}}"),
                                      NULL), TKN_OK);
  return sc;
}
static int c_schema_validate(const char *s, size_t len, char *obs, size_t cap) {
  tkn_schema *sc = schema1();
  tkn_schema_result *res = NULL;
  assert_int_equal(tkn_schema_result_new(&res), TKN_OK);
  int rc = tkn_schema_validate(sc, s, len, res);
  OBS("%d %zu", tkn_schema_result_status(res), tkn_schema_result_error_count(res));
  tkn_schema_result_free(res);
  tkn_schema_free(sc);
  return rc;
}
static int c_schema_check(const char *s, size_t len, char *obs, size_t cap) {
  tkn_schema *sc = schema1();
  int rc = tkn_schema_check(sc, s, len);
  OBS("%d", rc);
  tkn_schema_free(sc);
  return rc;
}
static int c_near_limit(const char *s, size_t len, char *obs, size_t cap) {
  uint32_t f = 99;
  int rc = tkn_schema_near_limit(s, len, 10, 100, &f);
  OBS("%u", f);
  return rc;
}

/* ---- tool cache ---- */

static int c_tc_policy(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *c = NULL;
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK);
  int rc = tkn_toolcache_set_policy(c, s, len, 1, 1000, TKN_TOOLCACHE_SCOPE_GLOBAL);
  OBS("%d", tkn_toolcache_is_cacheable(c, S("search")));
  tkn_toolcache_free(c);
  return rc;
}
static int c_tc_cacheable(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *c = cache1();
  OBS("%d", tkn_toolcache_is_cacheable(c, s, len));
  tkn_toolcache_free(c);
  return TKN_OK;
}
/* put one entry with (s, len) in position `which` (0 tool, 1 args, 2 scope
 * id, 3 value), then read it back with byte lengths. */
static int tc_put_get(int which, int via_get, const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *c = cache1();
  const char *p[4] = {"search", "{\"q\":1}", "sess", "result"};
  size_t l[4] = {6, 7, 4, 6};
  const char *g[3] = {p[0], p[1], p[2]};
  size_t gl[3] = {l[0], l[1], l[2]};
  /* the pair under test in put or in get, the other one with the byte length */
  p[which] = s;
  l[which] = via_get ? strlen(s) : len;
  if (which < 3) g[which] = s, gl[which] = via_get ? len : strlen(s);
  int rc = tkn_toolcache_put(c, p[0], l[0], p[1], l[1], p[2], l[2], p[3], l[3], 3);
  char *v = NULL;
  size_t n = 0;
  if (!rc) rc = tkn_toolcache_get(c, g[0], gl[0], g[1], gl[1], g[2], gl[2], &v, &n);
  if (!rc) OBS("%.*s", (int)n, v);
  tkn_free(v);
  tkn_toolcache_free(c);
  return rc;
}
static int c_tc_put_tool(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(0, 0, s, len, o, c);
}
static int c_tc_put_args(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(1, 0, s, len, o, c);
}
static int c_tc_put_scope(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(2, 0, s, len, o, c);
}
static int c_tc_put_value(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(3, 0, s, len, o, c);
}
static int c_tc_get_tool(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(0, 1, s, len, o, c);
}
static int c_tc_get_args(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(1, 1, s, len, o, c);
}
static int c_tc_get_scope(const char *s, size_t len, char *o, size_t c) {
  return tc_put_get(2, 1, s, len, o, c);
}
static int c_tc_inv_tool(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *c = cache1();
  assert_int_equal(tkn_toolcache_put(c, S("search"), S("{}"), S("sess"), S("v"), 1), TKN_OK);
  uint64_t removed = 99;
  int rc = tkn_toolcache_invalidate_tool(c, s, len, &removed);
  OBS("%llu", (unsigned long long)removed);
  tkn_toolcache_free(c);
  return rc;
}
static int c_tc_inv_scope(const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *c = cache1();
  assert_int_equal(tkn_toolcache_put(c, S("search"), S("{}"), S("sess"), S("v"), 1), TKN_OK);
  uint64_t removed = 99;
  int rc = tkn_toolcache_invalidate_scope(c, TKN_TOOLCACHE_SCOPE_SESSION, s, len, &removed);
  OBS("%llu", (unsigned long long)removed);
  tkn_toolcache_free(c);
  return rc;
}

/* ---- meter ---- */

static tkn_meter_call call1(void) {
  tkn_meter_call c = TKN_METER_CALL_INIT;
  c.workflow = "wf";
  c.workflow_len = 2;
  c.model = "gpt-4o";
  c.model_len = 6;
  c.usage.input_tokens = 10;
  c.usage.output_tokens = 2;
  c.cost = 7;
  return c;
}
/* Record call1 with field `which` set to (s, len); observe the JSON export. */
static int meter_field(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_meter_call c = call1();
  switch (which) {
    case 0: c.workflow = s, c.workflow_len = len; break;
    case 1: c.tenant = s, c.tenant_len = len; break;
    case 2: c.task_type = s, c.task_type_len = len; break;
    case 3: c.model = s, c.model_len = len; break;
    case 4: c.provider = s, c.provider_len = len; break;
    case 5: c.tier = s, c.tier_len = len; break;
    default: c.routing_reason = s, c.routing_reason_len = len; break;
  }
  int rc = tkn_meter_record(m, &c);
  char *js = NULL, *ot = NULL;
  size_t n = 0;
  if (!rc) rc = tkn_meter_export(m, TKN_METER_JSON, &js, &n);
  if (!rc) rc = tkn_meter_otel_call(&c, &ot, &n);
  if (!rc) OBS("%s %s", js, ot);
  tkn_free(js);
  tkn_free(ot);
  tkn_meter_free(m);
  return rc;
}
static int c_mc_workflow(const char *s, size_t len, char *o, size_t c) {
  return meter_field(0, s, len, o, c);
}
static int c_mc_tenant(const char *s, size_t len, char *o, size_t c) {
  return meter_field(1, s, len, o, c);
}
static int c_mc_task_type(const char *s, size_t len, char *o, size_t c) {
  return meter_field(2, s, len, o, c);
}
static int c_mc_model(const char *s, size_t len, char *o, size_t c) {
  return meter_field(3, s, len, o, c);
}
static int c_mc_provider(const char *s, size_t len, char *o, size_t c) {
  return meter_field(4, s, len, o, c);
}
static int c_mc_tier(const char *s, size_t len, char *o, size_t c) {
  return meter_field(5, s, len, o, c);
}
static int c_mc_reason(const char *s, size_t len, char *o, size_t c) {
  return meter_field(6, s, len, o, c);
}
static tkn_meter *meter1(void) {
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_meter_call c = call1();
  assert_int_equal(tkn_meter_record(m, &c), TKN_OK);
  return m;
}
static int c_meter_stats(const char *s, size_t len, char *obs, size_t cap) {
  tkn_meter *m = meter1();
  tkn_meter_stats st = TKN_METER_STATS_INIT;
  int rc = tkn_meter_stats_get(m, TKN_METER_WORKFLOW, s, len, &st);
  OBS("%llu %lld", (unsigned long long)st.calls, (long long)st.cost);
  tkn_meter_free(m);
  return rc;
}
static int c_meter_pct(const char *s, size_t len, char *obs, size_t cap) {
  tkn_meter *m = meter1();
  tkn_meter_percentiles p = TKN_METER_PERCENTILES_INIT;
  int rc = tkn_meter_percentiles_get(m, s, len, &p);
  OBS("%llu %lld", (unsigned long long)p.count, (long long)p.tokens_p50);
  tkn_meter_free(m);
  return rc;
}

/* ---- stores: a store that keeps the last key it was given ---- */

static char last_key[512];
static void keep_key(const char *key, size_t len) {
  snprintf(last_key, sizeof last_key, "%.*s", (int)len, key);
}
static int st_get(void *u, const char *key, size_t kl, char *buf, size_t c, size_t *len,
                  char *err, size_t el) {
  (void)u, (void)buf, (void)c, (void)len, (void)err, (void)el;
  keep_key(key, kl);
  return TKN_ERR_NOT_FOUND;
}
static int st_set(void *u, const char *key, size_t kl, const char *v, size_t vl, int64_t ttl,
                  char *err, size_t el) {
  (void)u, (void)v, (void)vl, (void)ttl, (void)err, (void)el;
  keep_key(key, kl);
  return TKN_OK;
}
static int st_add(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                  const int64_t *d, int64_t idttl, int64_t *tot, int32_t *dup, char *err,
                  size_t el) {
  (void)u, (void)id, (void)d, (void)idttl, (void)err, (void)el;
  keep_key(key, kl);
  if (dup) *dup = 0;
  if (tot) memset(tot, 0, n * sizeof *tot);
  return TKN_OK;
}
static int st_read(void *u, const char *key, size_t kl, uint32_t n, int64_t *v, char *err,
                   size_t el) {
  (void)u, (void)err, (void)el;
  keep_key(key, kl);
  memset(v, 0, n * sizeof *v);
  return TKN_OK;
}
static int st_reserve(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                      const int64_t *a, const int64_t *lim, int64_t lease, int64_t ttl,
                      int64_t *used, char *err, size_t el) {
  (void)u, (void)id, (void)a, (void)lim, (void)lease, (void)ttl, (void)err, (void)el;
  keep_key(key, kl);
  memset(used, 0, n * sizeof *used);
  return TKN_OK;
}
static int st_commit(void *u, const char *key, size_t kl, const char *id, uint32_t n,
                     const int64_t *a, int64_t idttl, int64_t ttl, int64_t *used, int32_t *dup,
                     char *err, size_t el) {
  (void)u, (void)id, (void)a, (void)idttl, (void)ttl, (void)err, (void)el;
  keep_key(key, kl);
  memset(used, 0, n * sizeof *used);
  *dup = 0;
  return TKN_OK;
}
static int st_release(void *u, const char *key, size_t kl, const char *id, char *err,
                      size_t el) {
  (void)u, (void)id, (void)err, (void)el;
  keep_key(key, kl);
  return TKN_OK;
}
static int st_usage(void *u, const char *key, size_t kl, uint32_t n, int64_t *c, int64_t *r,
                    char *err, size_t el) {
  (void)u, (void)err, (void)el;
  keep_key(key, kl);
  memset(c, 0, n * sizeof *c);
  memset(r, 0, n * sizeof *r);
  return TKN_OK;
}
static tkn_store store1(void) {
  tkn_store s = TKN_STORE_INIT;
  s.get = st_get;
  s.set = st_set;
  s.add = st_add;
  s.read = st_read;
  s.reserve = st_reserve;
  s.commit = st_commit;
  s.release = st_release;
  s.usage = st_usage;
  last_key[0] = '\0';
  return s;
}
static int c_tc_set_store(const char *s, size_t len, char *obs, size_t cap) {
  tkn_store st = store1();
  tkn_toolcache *c = cache1();
  int rc = tkn_toolcache_set_store(c, &st, s, len);
  char *v = NULL;
  size_t n = 0;
  if (!rc) rc = tkn_toolcache_get(c, S("search"), S("{}"), S("sess"), &v, &n);
  if (rc == TKN_ERR_NOT_FOUND) rc = TKN_OK;
  OBS("%s", last_key);
  tkn_free(v);
  tkn_toolcache_free(c);
  return rc;
}
static int c_meter_set_store(const char *s, size_t len, char *obs, size_t cap) {
  tkn_store st = store1();
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  int rc = tkn_meter_set_store(m, &st, s, len);
  tkn_meter_call c = call1();
  if (!rc) rc = tkn_meter_record(m, &c);
  OBS("%s", last_key);
  tkn_meter_free(m);
  return rc;
}
static int c_meter_shared_stats(const char *s, size_t len, char *obs, size_t cap) {
  tkn_store st = store1();
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  int rc = tkn_meter_set_store(m, &st, S("p"));
  tkn_meter_stats out = TKN_METER_STATS_INIT;
  if (!rc) rc = tkn_meter_shared_stats(m, TKN_METER_WORKFLOW, s, len, &out);
  OBS("%s", last_key);
  tkn_meter_free(m);
  return rc;
}
static int c_budget_shared_key(const char *s, size_t len, char *obs, size_t cap) {
  tkn_store st = store1();
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = s;
  so.key_len = len;
  tkn_budget *b = NULL;
  int rc = tkn_budget_new_shared(&b, &o, &so, &st, NULL);
  tkn_budget_amount amt = TKN_BUDGET_AMOUNT_INIT;
  amt.input_tokens = 5;
  if (!rc) rc = tkn_budget_charge(b, &amt);
  OBS("%s", last_key);
  tkn_budget_free(b);
  return rc;
}

/* ---- batch ---- */

static char batch_out[2048];
static int bw_begin(uint32_t i, void *u) {
  (void)i, (void)u;
  return 0;
}
static int bw_write(const char *d, size_t n, void *u) {
  (void)u;
  size_t have = strlen(batch_out);
  snprintf(batch_out + have, sizeof batch_out - have, "%.*s", (int)n, d);
  return 0;
}
static int batch_write(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = bw_begin;
  o.write = bw_write;
  if (which == 0) o.url = s, o.url_len = len;
  batch_out[0] = '\0';
  tkn_batch_writer *w = NULL;
  int rc = tkn_batch_writer_new(&w, &o);
  const char *body = "{\"model\":\"gpt-4o\",\"messages\":[]}";
  if (!rc)
    rc = which == 1 ? tkn_batch_writer_add(w, s, len, S(body))
       : which == 2 ? tkn_batch_writer_add(w, S("id-1"), s, len)
                    : tkn_batch_writer_add(w, S("id-1"), S(body));
  if (!rc) rc = tkn_batch_writer_finish(w);
  OBS("%s", batch_out);
  tkn_batch_writer_free(w);
  return rc;
}
static int c_bw_url(const char *s, size_t len, char *o, size_t c) {
  return batch_write(0, s, len, o, c);
}
static int c_bw_id(const char *s, size_t len, char *o, size_t c) {
  return batch_write(1, s, len, o, c);
}
static int c_bw_body(const char *s, size_t len, char *o, size_t c) {
  return batch_write(2, s, len, o, c);
}
static char batch_seen[256];
static int br_result(const tkn_batch_result *r, void *u) {
  (void)u;
  size_t have = strlen(batch_seen);
  snprintf(batch_seen + have, sizeof batch_seen - have, "%.*s;", (int)r->custom_id_len,
           r->custom_id);
  return 0;
}
static const char *RESULT_LINE =
    "{\"id\":\"b1\",\"custom_id\":\"id-1\",\"response\":{\"status_code\":200,\"body\":"
    "{\"model\":\"gpt-4o\",\"choices\":[],\"usage\":{\"prompt_tokens\":1,"
    "\"completion_tokens\":1}}},\"error\":null}\n";
static int batch_read(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.on_result = br_result;
  batch_seen[0] = '\0';
  tkn_batch_reader *r = NULL;
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  int rc = which == 0 ? tkn_batch_reader_expect(r, s, len)
                      : tkn_batch_reader_expect(r, S("id-1"));
  if (!rc)
    rc = which == 1 ? tkn_batch_reader_feed(r, s, len) : tkn_batch_reader_feed(r, S(RESULT_LINE));
  OBS("%s", batch_seen);
  tkn_batch_reader_free(r);
  return rc;
}
static int c_br_expect(const char *s, size_t len, char *o, size_t c) {
  return batch_read(0, s, len, o, c);
}
static int c_br_feed(const char *s, size_t len, char *o, size_t c) {
  return batch_read(1, s, len, o, c);
}

/* ---- agent: a host that keeps what the request carried ---- */

static char seen_rq[4096];
static int fake_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  (void)user;
  snprintf(seen_rq, sizeof seen_rq, "%.*s|%.*s|%.*s|%.*s|%.*s|%.*s", (int)rq->model_len,
           rq->model, (int)rq->workflow_len, rq->workflow ? rq->workflow : "",
           (int)rq->tenant_len, rq->tenant ? rq->tenant : "", (int)rq->task_type_len,
           rq->task_type ? rq->task_type : "", (int)rq->response_schema_len,
           rq->response_schema ? rq->response_schema : "", (int)rq->body_len, rq->body);
  tkn_llm_response_set_content(resp, S("{\"a\":1}"));
  tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT,
                                  S("{\"prompt_tokens\":10,\"completion_tokens\":3}"));
  return 0;
}
/* A turn where the agent option or turn option `which` is (s, len): 0 model,
 * 1 workflow, 2 tenant, 3 task_type, 4 schema_json, 5 dynamic, 6 cache_key,
 * 7 add_text name, 8 add_text text, 9 add_tool. */
static int agent_turn_with(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = fake_complete;
  o.model = "gpt-4o";
  o.model_len = 6;
  if (which == 0) o.model = s, o.model_len = len;
  if (which == 1) o.workflow = s, o.workflow_len = len;
  if (which == 2) o.tenant = s, o.tenant_len = len;
  tkn_agent *a = NULL;
  int rc = tkn_agent_new(&a, &o);
  if (!rc)
    rc = which == 7 ? tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, s, len,
                                         S("You help."))
       : which == 8 ? tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("sys"), s,
                                         len)
                    : tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("sys"),
                                         S("You help."));
  if (!rc && which == 9) rc = tkn_agent_add_tool(a, s, len);
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  tkn_schema *sc = NULL;
  const char *schema = "{\"properties\":{\"a\":{\"type\":\"integer\"}}}";
  if (which == 3) to.task_type = s, to.task_type_len = len;
  if (which == 4) {
    assert_int_equal(tkn_schema_compile(&sc, S(schema), NULL), TKN_OK);
    to.schema = sc;
    to.schema_json = s;
    to.schema_json_len = len;
  }
  if (which == 5) to.dynamic = s, to.dynamic_len = len;
  if (which == 6) to.cache_key = s, to.cache_key_len = len;
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI,
                                      S("[{\"role\":\"user\",\"content\":\"hi\"}]")), TKN_OK);
  tkn_agent_result *res = NULL;
  seen_rq[0] = '\0';
  if (!rc) rc = tkn_agent_turn(a, c, &to, &res);
  OBS("%s", seen_rq);
  tkn_agent_result_free(res);
  tkn_conv_free(c);
  tkn_schema_free(sc);
  tkn_agent_free(a);
  return rc;
}
static int c_ao_model(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(0, s, len, o, c);
}
static int c_ao_workflow(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(1, s, len, o, c);
}
static int c_ao_tenant(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(2, s, len, o, c);
}
static int c_to_task_type(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(3, s, len, o, c);
}
static int c_to_schema_json(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(4, s, len, o, c);
}
static int c_to_dynamic(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(5, s, len, o, c);
}
static int c_to_cache_key(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(6, s, len, o, c);
}
static int c_agent_text_name(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(7, s, len, o, c);
}
static int c_agent_text(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(8, s, len, o, c);
}
static int c_agent_tool_json(const char *s, size_t len, char *o, size_t c) {
  return agent_turn_with(9, s, len, o, c);
}
static int run_tool(const char *tool, size_t tl, const char *args, size_t al,
                    const char **result, size_t *rl, void *user) {
  static char buf[256];
  (void)user;
  snprintf(buf, sizeof buf, "%.*s(%.*s)", (int)tl, tool, (int)al, args);
  *result = buf;
  *rl = strlen(buf);
  return 0;
}
static int agent_tool_with(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_toolcache *tc = cache1();
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = fake_complete;
  o.model = "gpt-4o";
  o.model_len = 6;
  o.toolcache = tc;
  tkn_agent *a = NULL;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_OK);
  const char *p[3] = {"search", "{\"q\":1}", "sess"};
  size_t l[3] = {6, 7, 4};
  p[which] = s;
  l[which] = len;
  char *v = NULL;
  size_t n = 0;
  int32_t hit = -1;
  int rc = tkn_agent_tool(a, p[0], l[0], p[1], l[1], p[2], l[2], run_tool, NULL, &v, &n, &hit);
  if (!rc) {
    tkn_free(v); /* the first call's value; the second must hit the cache */
    v = NULL;
    rc = tkn_agent_tool(a, p[0], l[0], p[1], l[1], p[2], l[2], run_tool, NULL, &v, &n, &hit);
  }
  if (!rc) OBS("%d %.*s", (int)hit, (int)n, v);
  tkn_free(v);
  tkn_agent_free(a);
  tkn_toolcache_free(tc);
  return rc;
}
static int c_agent_tool_tool(const char *s, size_t len, char *o, size_t c) {
  return agent_tool_with(0, s, len, o, c);
}
static int c_agent_tool_args(const char *s, size_t len, char *o, size_t c) {
  return agent_tool_with(1, s, len, o, c);
}
static int c_agent_tool_scope(const char *s, size_t len, char *o, size_t c) {
  return agent_tool_with(2, s, len, o, c);
}

/* ---- the Redis adapter's options (it does not connect in tkn_redis_new, so
 * only the status can be seen: a length it cannot take is TKN_ERR_INVALID) ---- */
#ifdef TKN_HAVE_REDIS
#include <tokenomy-redis/redis.h>
static int redis_with(int which, const char *s, size_t len, char *obs, size_t cap) {
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.password = "pw";
  o.password_len = 2;
  if (which == 0) o.host = s, o.host_len = len;
  if (which == 1) o.prefix = s, o.prefix_len = len;
  if (which == 2) o.password = s, o.password_len = len;
  if (which == 3) o.user = s, o.user_len = len;
  tkn_redis *r = NULL;
  int rc = tkn_redis_new(&r, &o);
  OBS("%d", rc);
  tkn_redis_free(r);
  return rc;
}
static int c_redis_host(const char *s, size_t len, char *o, size_t c) {
  return redis_with(0, s, len, o, c);
}
static int c_redis_prefix(const char *s, size_t len, char *o, size_t c) {
  return redis_with(1, s, len, o, c);
}
static int c_redis_password(const char *s, size_t len, char *o, size_t c) {
  return redis_with(2, s, len, o, c);
}
static int c_redis_user(const char *s, size_t len, char *o, size_t c) {
  return redis_with(3, s, len, o, c);
}
#endif

/* ---- the table (check_lengths.py reads the rows' first two strings) ---- */

static const char *CONV_JSON = "[{\"role\":\"user\",\"content\":\"hello\"}]";
static const char *MSG_JSON = "{\"role\":\"user\",\"content\":\"new\"}";

static const lcase CASES[] = {
    {"tkn_usd_parse", "text", "$0.003", c_usd_parse},
    {"tkn_role_from_name", "name", "assistant", c_role_from_name},
    {"tkn_conv_load", "json", NULL, c_conv_load},
    {"tkn_conv_from_json", "json", NULL, c_conv_from_json},
    {"tkn_conv_find_tool_call", "id", "call_1", c_find_tool_call},
    {"tkn_conv_find_tool_result", "id", "call_1", c_find_tool_result},
    {"tkn_conv_append_text", "text", "more text", c_append_text},
    {"tkn_conv_insert_text", "text", "be brief", c_insert_text},
    {"tkn_conv_insert_json", "json", NULL, c_insert_json},
    {"tkn_conv_replace_json", "json", NULL, c_replace_json},
    {"tkn_conv_set_text", "text", "changed", c_set_text},
    {"tkn_conv_set_name", "name", "alice", c_set_name},
    {"tkn_conv_add_tool_call", "id", "call_2", c_tool_call_id},
    {"tkn_conv_add_tool_call", "fn_name", "lookup", c_tool_call_fn},
    {"tkn_conv_add_tool_call", "arguments", "{\"x\":1}", c_tool_call_args},
    {"tkn_conv_set_tool_call_id", "id", "call_9", c_set_tool_call_id},
    {"tkn_tokenizer_count", "text", "hello there, world", c_tok_count},
    {"tkn_tokenizer_encoding_for_model", "model", "gpt-4o-mini", c_encoding_for_model},
    {"tkn_tokenizer_new_encoding", "name", "o200k_base", c_new_encoding},
    {"tkn_tokenizer_new_for_model", "model", "gpt-4o", c_new_for_model},
    {"tkn_tokenizer_new_estimator_for", "encoding", "cl100k_base", c_new_estimator_for},
    {"tkn_tokenizer_encode", "text", "hello world", c_encode},
    {"tkn_tokenizer_encode_alloc", "text", "hello world", c_encode_alloc},
    {"tkn_tokenizer_count_limit", "text", "hello world", c_count_limit},
    {"tkn_ranks_options", "data", NULL, c_ranks_data},
    {"tkn_llm_fail_from_name", "name", "timeout", c_fail_from_name},
    {"tkn_llm_response_set_content", "s", "answer", c_resp_content},
    {"tkn_llm_response_set_tool_calls", "json", "[]", c_resp_tool_calls},
    {"tkn_llm_response_set_finish_reason", "s", "stop", c_resp_finish},
    {"tkn_llm_response_set_usage_json", "json", "{\"prompt_tokens\":5,\"completion_tokens\":1}",
     c_resp_usage},
    {"tkn_llm_response_set_error", "msg", "upstream 503", c_resp_error},
    {"tkn_usage_parse", "json", "{\"prompt_tokens\":5,\"completion_tokens\":1}", c_usage_parse},
    {"tkn_prices_load", "json", NULL, c_prices_load},
    {"tkn_prices_options", "aliases", "{\"my-model\":\"m-1\"}", c_prices_aliases},
    {"tkn_prices_lookup", "model", "gpt-4o-mini", c_prices_lookup},
    {"tkn_prices_cost", "model", "gpt-4o-mini", c_prices_cost},
    {"tkn_prices_otel_provider", "litellm_provider", "vertex_ai-language-models", c_otel_provider},
    {"tkn_prompt_lint", "text", "Today is 2026-11-28.", c_lint},
    {"tkn_prompt_builder_add_text", "name", "rules", c_pb_text_name},
    {"tkn_prompt_builder_add_text", "text", "Answer briefly.", c_pb_text},
    {"tkn_prompt_builder_add_tool", "json", NULL, c_pb_tool},
    {"tkn_toolsel_add", "json", "{\"name\":\"refund\",\"description\":\"Refund.\"}",
     c_ts_add},
    {"tkn_toolsel_find", "name", "cancel", c_ts_find},
    {"tkn_toolsel_scores", "query", "cancel my flights", c_ts_scores},
    {"tkn_toolsel_select", "query", "cancel my flights", c_ts_select},
    {"tkn_render_options", "model", "gpt-4o-mini", c_render_model},
    {"tkn_render_options", "cache_key", "user-42", c_render_cache_key},
    {"tkn_prompt_min_cache_tokens", "model", "claude-3-5-haiku-20241022", c_min_cache},
    {"tkn_prompt_min_cache_tokens_from", "model", "claude-3-5-haiku-20241022", c_min_cache_from},
    {"tkn_cacheplan_options", "model", "claude-sonnet-4-20250514", c_cacheplan_model},
    {"tkn_prune_options", "placeholder", "[gone]", c_prune_placeholder},
    {"tkn_task_set_id", "id", "task-7", c_task_id},
    {"tkn_task_set_string", "name", "kind", c_task_string_name},
    {"tkn_task_set_string", "value", "x", c_task_string_value},
    {"tkn_task_set_number", "name", "input_tokens", c_task_number},
    {"tkn_task_set_bool", "name", "needs_tools", c_task_bool},
    {"tkn_task_set_strings", "name", "tags", c_task_strings_name},
    {"tkn_task_set_strings", "values", "legal", c_task_strings_values},
    {"tkn_task_remove", "name", "kind", c_task_remove},
    {"tkn_task_from_json", "json", "{\"kind\":\"x\",\"n\":3}", c_task_from_json},
    {"tkn_router_new_json", "json", NULL, c_router_new_json},
    {"tkn_router_builder_add_tier", "name", "small", c_rb_tier},
    {"tkn_router_builder_add_tier", "models", "gpt-4.1-nano", c_rb_models},
    {"tkn_router_builder_set_default_tier", "name", "small", c_rb_default},
    {"tkn_router_builder_set_cascade", "path", "meta.score", c_rb_cascade},
    {"tkn_router_rule", "when", "{\"attr\":\"kind\",\"eq\":\"y\"}", c_rule_when},
    {"tkn_router_rule", "tier", "large", c_rule_tier},
    {"tkn_router_rule", "reason", "short task", c_rule_reason},
    {"tkn_router_rule", "shadow_tier", "large", c_rule_shadow_tier},
    {"tkn_router_report_failure", "model", "gpt-4o", c_report_failure},
    {"tkn_router_model_cooldown", "model", "gpt-4o", c_model_cooldown},
    {"tkn_router_shadow_compare", "cheap", "yes", c_shadow_cheap},
    {"tkn_router_shadow_compare", "strong", "yes", c_shadow_strong},
    {"tkn_router_cascade_report", "content", "{\"c\":0.9}", c_cascade_report},
    {"tkn_schema_compile", "json", "{\"properties\":{\"a\":{\"type\":\"integer\"}}}",
     c_schema_compile},
    {"tkn_schema_validate", "json", "{\"a\":1}", c_schema_validate},
    {"tkn_schema_check", "json", "{\"a\":1}", c_schema_check},
    {"tkn_schema_near_limit", "stop_reason", "length", c_near_limit},
    {"tkn_toolcache_set_policy", "tool", "search", c_tc_policy},
    {"tkn_toolcache_is_cacheable", "tool", "search", c_tc_cacheable},
    {"tkn_toolcache_put", "tool", "search", c_tc_put_tool},
    {"tkn_toolcache_put", "args", "{\"q\": 2}", c_tc_put_args},
    {"tkn_toolcache_put", "scope_id", "session-9", c_tc_put_scope},
    {"tkn_toolcache_put", "value", "the value", c_tc_put_value},
    {"tkn_toolcache_get", "tool", "search", c_tc_get_tool},
    {"tkn_toolcache_get", "args", "{\"q\": 2}", c_tc_get_args},
    {"tkn_toolcache_get", "scope_id", "session-9", c_tc_get_scope},
    {"tkn_toolcache_invalidate_tool", "tool", "search", c_tc_inv_tool},
    {"tkn_toolcache_invalidate_scope", "scope_id", "sess", c_tc_inv_scope},
    {"tkn_toolcache_set_store", "prefix", "app1", c_tc_set_store},
    {"tkn_meter_call", "workflow", "refund-triage", c_mc_workflow},
    {"tkn_meter_call", "tenant", "acme", c_mc_tenant},
    {"tkn_meter_call", "task_type", "classify", c_mc_task_type},
    {"tkn_meter_call", "model", "gpt-4o-mini", c_mc_model},
    {"tkn_meter_call", "provider", "openai", c_mc_provider},
    {"tkn_meter_call", "tier", "small", c_mc_tier},
    {"tkn_meter_call", "routing_reason", "short task", c_mc_reason},
    {"tkn_meter_stats_get", "key", "wf", c_meter_stats},
    {"tkn_meter_percentiles_get", "workflow", "wf", c_meter_pct},
    {"tkn_meter_set_store", "prefix", "app1", c_meter_set_store},
    {"tkn_meter_shared_stats", "key", "wf", c_meter_shared_stats},
    {"tkn_budget_shared_options", "key", "tenant-a", c_budget_shared_key},
    {"tkn_batch_writer_options", "url", "/v1/embeddings", c_bw_url},
    {"tkn_batch_writer_add", "custom_id", "req-1", c_bw_id},
    {"tkn_batch_writer_add", "body", "{\"model\":\"gpt-4o\",\"messages\":[]}", c_bw_body},
    {"tkn_batch_reader_expect", "custom_id", "id-1", c_br_expect},
    {"tkn_batch_reader_feed", "data", NULL, c_br_feed},
    {"tkn_agent_options", "model", "gpt-4o-mini", c_ao_model},
    {"tkn_agent_options", "workflow", "support", c_ao_workflow},
    {"tkn_agent_options", "tenant", "acme", c_ao_tenant},
    {"tkn_agent_turn_options", "task_type", "classify", c_to_task_type},
    {"tkn_agent_turn_options", "schema_json", "{\"properties\":{\"a\":{\"type\":\"integer\"}}}",
     c_to_schema_json},
    {"tkn_agent_turn_options", "dynamic", "Today is Tuesday.", c_to_dynamic},
    {"tkn_agent_turn_options", "cache_key", "user-42", c_to_cache_key},
    {"tkn_agent_add_text", "name", "rules", c_agent_text_name},
    {"tkn_agent_add_text", "text", "Answer briefly.", c_agent_text},
    {"tkn_agent_add_tool", "json", NULL, c_agent_tool_json},
    {"tkn_agent_tool", "tool", "search", c_agent_tool_tool},
    {"tkn_agent_tool", "args", "{\"q\": 2}", c_agent_tool_args},
    {"tkn_agent_tool", "scope_id", "session-9", c_agent_tool_scope},
#ifdef TKN_HAVE_REDIS
    {"tkn_redis_options", "host", "localhost", c_redis_host},
    {"tkn_redis_options", "prefix", "app1:", c_redis_prefix},
    {"tkn_redis_options", "password", "secret", c_redis_password},
    {"tkn_redis_options", "user", "worker", c_redis_user},
#endif
};

/* Ranks for every byte, then "ab": each byte in base64 and its rank. */
static const char *byte_ranks(void) {
  static char text[4096];
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t n = 0;
  for (int i = 0; i < 256; i++)
    n += (size_t)snprintf(text + n, sizeof text - n, "%c%c== %d\n", b64[i >> 2],
                          b64[(i & 3) << 4], i);
  snprintf(text + n, sizeof text - n, "YWI= 256\n");
  return text;
}

/* Texts too long for a row's initialiser (or shared with a set-up). */
static const char *text_of(const lcase *c) {
  if (c->text) return c->text;
  if (!strcmp(c->where, "tkn_ranks_options")) return byte_ranks();
  if (!strcmp(c->where, "tkn_conv_insert_json") || !strcmp(c->where, "tkn_conv_replace_json"))
    return MSG_JSON;
  if (!strncmp(c->where, "tkn_conv_", 9)) return CONV_JSON;
  if (!strcmp(c->where, "tkn_prices_load")) return PRICES_JSON;
  if (!strcmp(c->where, "tkn_router_new_json")) return ROUTER_JSON;
  if (!strcmp(c->where, "tkn_batch_reader_feed")) return RESULT_LINE;
  return TOOL_JSON; /* add_tool */
}

static void every_pair_takes_nul_terminated(void **state) {
  (void)state;
  size_t skipped = 0, failed = 0;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    const lcase *c = &CASES[i];
    const char *text = text_of(c);
    /* the text in a longer buffer: bytes after its NUL must not be read */
    char buf[4096];
    size_t n = strlen(text);
    assert_true(n + 8 < sizeof buf);
    memcpy(buf, text, n);
    memcpy(buf + n, "\0garbage", 8);
    char a[4096] = "", b[4096] = "";
    int ra = c->run(buf, n, a, sizeof a);
    int rb = c->run(buf, TKN_NUL_TERMINATED, b, sizeof b);
    if (ra == TKN_ERR_UNAVAILABLE && rb == ra) { /* a tokenizer without its ranks */
      skipped++;
      continue;
    }
    if (ra != TKN_OK || rb != TKN_OK || strcmp(a, b) != 0) {
      print_error("%s(%s): with the length %d [%.200s], with TKN_NUL_TERMINATED %d [%.200s]"
                  " (%s)\n", c->where, c->param, ra, a, rb, b,
                  rb ? tkn_error_last()->message : "");
      failed++;
    }
  }
  if (failed) fail_msg("%zu pairs fail", failed);
  print_message("%zu pairs, %zu skipped (no ranks)\n", sizeof CASES / sizeof CASES[0], skipped);
}

/* ---- names with hand-counted lengths (issue 15) ----
 * The length is the name: the library never reads past it, so ("gpt-4o-mini",
 * 6) is "gpt-4o", exactly as ("gpt-4o", 6) is, and prices as gpt-4o, saying
 * so in tkn_model_price.name.  What the library owes the caller: no prefix
 * matching (a name that is not a key, a dated or fine-tune form, or a family
 * name followed by '-' or ':' matches nothing), and a miss that names what
 * was asked, its length, and the longer name it is the start of. */

static void a_cut_encoding_name_is_an_error_that_names_it(void **state) {
  (void)state;
  tkn_tokenizer *t = NULL;
  assert_int_equal(tkn_tokenizer_new_encoding(&t, "cl100k_base", 10), TKN_ERR_NOT_FOUND);
  assert_null(t);
  const char *m = tkn_error_last()->message;
  assert_int_equal(tkn_error_last()->status, TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(m, "\"cl100k_bas\" (10 bytes)"));
  assert_non_null(strstr(m, "start of \"cl100k_base\""));
  assert_int_equal(tkn_tokenizer_new_estimator_for(&t, "o200k_base", 9), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "\"o200k_bas\" (9 bytes)"));
  assert_non_null(strstr(tkn_error_last()->message, "start of \"o200k_base\""));
  /* a name that is not a cut one: no hint */
  assert_int_equal(tkn_tokenizer_new_encoding(&t, S("p50k_base")), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "\"p50k_base\" (9 bytes) is not known"));
  assert_null(strstr(tkn_error_last()->message, "start of"));
  /* the sentinel reads the whole name */
  if (tkn_tokenizer_new_encoding(&t, "cl100k_base", TKN_NUL_TERMINATED) != TKN_ERR_UNAVAILABLE) {
    assert_non_null(t);
    tkn_tokenizer_free(t);
  }
}

static void model_families_match_whole_names_not_prefixes(void **state) {
  (void)state;
  const struct {
    const char *model;
    const char *encoding; /* NULL: not known */
  } cases[] = {
      {"gpt-4o", "o200k_base"},          {"gpt-4o-mini", "o200k_base"},
      {"gpt-4o-2024-08-06", "o200k_base"}, {"ft:gpt-4o-mini:org::id1", "o200k_base"},
      {"gpt-4", "cl100k_base"},          {"gpt-4-turbo", "cl100k_base"},
      {"gpt-4oops", NULL},               {"gpt-4x", NULL},
      {"o1x", NULL},                     {"gpt-", NULL},
      {"o", NULL},                       {"ft:", NULL},
      {"text-embedding-3", NULL},        {"gpt-3", NULL},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    const char *e = tkn_tokenizer_encoding_for_model(cases[i].model, TKN_NUL_TERMINATED);
    if (!cases[i].encoding ? e != NULL : !e || strcmp(e, cases[i].encoding) != 0)
      fail_msg("%s: %s, expected %s", cases[i].model, e ? e : "(none)",
               cases[i].encoding ? cases[i].encoding : "(none)");
  }
  tkn_tokenizer *t = NULL;
  assert_int_equal(tkn_tokenizer_new_for_model(&t, "gpt-4o-mini", 3), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "\"gpt\" (3 bytes)"));
}

static void a_cut_model_name_prices_the_model_it_names_and_says_so(void **state) {
  (void)state;
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_model_price mini = TKN_MODEL_PRICE_INIT, cut = TKN_MODEL_PRICE_INIT;
  assert_int_equal(tkn_prices_lookup(p, "gpt-4o-mini", TKN_NUL_TERMINATED, &mini), TKN_OK);
  assert_string_equal(mini.name, "gpt-4o-mini");
  /* 6 bytes name gpt-4o, a model of its own: priced as such, and named */
  assert_int_equal(tkn_prices_lookup(p, "gpt-4o-mini", 6, &cut), TKN_OK);
  assert_string_equal(cut.name, "gpt-4o");
  assert_true(cut.input_per_mtok > mini.input_per_mtok);
  /* a cut that names no model: NOT_FOUND naming it, its length, the longer key */
  assert_int_equal(tkn_prices_lookup(p, "gpt-4o-mini", 10, &cut), TKN_ERR_NOT_FOUND);
  const char *m = tkn_error_last()->message;
  assert_non_null(strstr(m, "\"gpt-4o-min\" (10 bytes)"));
  assert_non_null(strstr(m, "start of \"gpt-4o-mini"));
  /* never a prefix match: a longer name that is not a key is not its start */
  assert_int_equal(tkn_prices_lookup(p, S("gpt-4o-minix"), &cut), TKN_ERR_NOT_FOUND);
  assert_null(strstr(tkn_error_last()->message, "start of"));
  assert_int_equal(tkn_prices_lookup(p, S("gpt-4o-"), &cut), TKN_ERR_NOT_FOUND);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 1000;
  tkn_cost c = TKN_COST_INIT;
  assert_int_equal(tkn_prices_cost(p, "claude-sonnet-4-5", 13, &u, &c), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "\"claude-sonnet\" (13 bytes)"));
  tkn_prices_free(p);
}

/* The same calls given text they must refuse (invalid UTF-8, a NUL byte
 * inside, an empty or an over-long name): whatever a call returns, a failure
 * is in tkn_error_last() with the same status and a message. */
static void every_failure_through_a_pair_is_recorded(void **state) {
  (void)state;
  static char big[70000];
  memset(big, 'x', sizeof big - 1);
  const struct {
    const char *s;
    size_t len;
  } bad[] = {{"a\xff\xfe", 3}, {"a\0b", 3}, {"", 0}, {big, sizeof big - 1}};
  size_t failures = 0, stale = 0, unlisted = 0;
  for (size_t i = 0; i < sizeof CASES / sizeof CASES[0]; i++) {
    for (size_t j = 0; j < sizeof bad / sizeof bad[0]; j++) {
      char obs[4096] = "";
      tkn_error_clear();
      int rc = CASES[i].run(bad[j].s, bad[j].len, obs, sizeof obs);
      if (rc == TKN_OK || rc == NOT_A_CALL || rc == TKN_ERR_UNAVAILABLE) continue;
      failures++;
      const tkn_error *e = tkn_error_last();
      if (e->status != rc || e->message[0] == '\0') {
        print_error("%s(%s) with bad text %zu: returned %d, tkn_error_last() %d \"%s\"\n",
                    CASES[i].where, CASES[i].param, j, rc, e->status, e->message);
        stale++;
      }
      /* the code is one the function's header lists (status_lists.py); a few
       * rows run a later call whose status they report (the builder's build,
       * the prompt's assembly and render, the tool cache's put before get) */
      static const char *const later[] = {
          "tkn_router_builder_add_tier", "tkn_router_builder_set_default_tier",
          "tkn_router_builder_set_cascade", "tkn_prompt_builder_add_text", "tkn_toolcache_get"};
      unsigned long long listed = tkn_listed_codes(CASES[i].where);
      for (size_t k = 0; k < sizeof later / sizeof later[0]; k++)
        if (strcmp(later[k], CASES[i].where) == 0) listed = 0;
      if (listed && (rc < 0 || rc >= 64 || !(listed & (1ULL << rc)))) {
        print_error("%s(%s) with bad text %zu: returned %d (%s), a code its header does not "
                    "list: %s\n", CASES[i].where, CASES[i].param, j, rc, tkn_strerror(rc),
                    e->message);
        unlisted++;
      }
    }
  }
  print_message("%zu failures, %zu not recorded, %zu with a code the header does not list\n",
                failures, stale, unlisted);
  if (stale) fail_msg("%zu failures not recorded in tkn_error_last()", stale);
  if (unlisted) fail_msg("%zu failures with a code the header does not list", unlisted);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_pair_takes_nul_terminated),
      cmocka_unit_test(every_failure_through_a_pair_is_recorded),
      cmocka_unit_test(a_cut_encoding_name_is_an_error_that_names_it),
      cmocka_unit_test(model_families_match_whole_names_not_prefixes),
      cmocka_unit_test(a_cut_model_name_prices_the_model_it_names_and_says_so),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
