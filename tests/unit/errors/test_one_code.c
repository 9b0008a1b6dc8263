/* One fault, one code (issue 15): the same fault reached through different
 * functions is the same status.  Tool-call arguments that are not a JSON
 * object, when an Anthropic request needs them as tool_use "input": the
 * conversation's writer and the prompt renderer both answer TKN_ERR_SCHEMA
 * (they were TKN_ERR_SCHEMA and TKN_ERR_PARSE), whether the arguments are JSON
 * of another type or not JSON at all, and the message names the fault. */
#include "../test_util.h"

static tkn_conv *with_args(const char *args) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, S("look it up")), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, S("")), TKN_OK);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, S("toolu_1"), S("search"), args,
                                          TKN_NUL_TERMINATED), TKN_OK);
  return c;
}

static int render_anthropic(tkn_conv *c) {
  tkn_tokenizer *tok = NULL;
  tkn_prompt_builder *b = NULL;
  tkn_prompt *p = NULL;
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                               S("sys"), S("You help."), NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_set_history(b, c, TKN_STABILITY_SESSION, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_OK);
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = TKN_PROVIDER_ANTHROPIC;
  ro.model = "claude-sonnet-4-5";
  ro.model_len = TKN_NUL_TERMINATED;
  ro.max_tokens = 100;
  int rc = tkn_prompt_render(p, &ro, &out, &n);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
  return rc;
}

static void tool_call_arguments_not_an_object_are_one_code(void **state) {
  (void)state;
  const char *bad[] = {"[1, 2]", "\"text\"", "42", "{not json", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tkn_conv *c = with_args(bad[i]);
    char *out = NULL;
    size_t n = 0;
    int a = tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, &n);
    int a_status = tkn_error_last()->status;
    tkn_free(out);
    int b = render_anthropic(c);
    int b_status = tkn_error_last()->status;
    const char *msg = tkn_error_last()->message;
    if (a != TKN_ERR_SCHEMA || b != TKN_ERR_SCHEMA || a_status != a || b_status != b ||
        !strstr(msg, "arguments"))
      fail_msg("arguments %s: tkn_conv_to_json %d (recorded %d), tkn_prompt_render %d "
               "(recorded %d: %s)", bad[i], a, a_status, b, b_status, msg);
    tkn_conv_free(c);
  }
  /* an object goes through both */
  tkn_conv *c = with_args("{\"q\": 1}");
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, &n), TKN_OK);
  tkn_free(out);
  assert_int_equal(render_anthropic(c), TKN_OK);
  tkn_conv_free(c);
}

/* ---- the audit: one code per class of fault, across every part ----------
 * ARCHITECTURE.md ("Error model") lists the classes.  Each probe below feeds
 * one public function a fault of one class; the table says which code every
 * probe must answer.  Each probe also has a good input that must pass, so a
 * probe cannot pass by failing for some other reason. */

typedef int (*text_probe)(const char *text, size_t len);

static int p_conv_from_json(const char *t, size_t n) {
  tkn_conv *c = NULL;
  int rc = tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, t, n);
  tkn_conv_free(c);
  return rc;
}
static int p_conv_insert_json(const char *t, size_t n) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  int rc = tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, t, n);
  tkn_conv_free(c);
  return rc;
}
static int p_prices_load(const char *t, size_t n) {
  tkn_prices *p = NULL;
  int rc = tkn_prices_load(&p, t, n, NULL);
  tkn_prices_free(p);
  return rc;
}
static int p_router_new_json(const char *t, size_t n) {
  tkn_router *r = NULL;
  int rc = tkn_router_new_json(&r, t, n, NULL);
  tkn_router_free(r);
  return rc;
}
static int p_task_from_json(const char *t, size_t n) {
  tkn_task *k = NULL;
  int rc = tkn_task_from_json(&k, t, n);
  tkn_task_free(k);
  return rc;
}
static int p_schema_compile(const char *t, size_t n) {
  tkn_schema *s = NULL;
  int rc = tkn_schema_compile(&s, t, n, NULL);
  tkn_schema_free(s);
  return rc;
}
static int p_schema_check(const char *t, size_t n) {
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, S("{\"type\": \"object\"}"), NULL), TKN_OK);
  int rc = tkn_schema_check(s, t, n);
  tkn_schema_free(s);
  return rc;
}
static int p_usage_parse(const char *t, size_t n) {
  tkn_usage u = TKN_USAGE_INIT;
  return tkn_usage_parse(&u, TKN_USAGE_OPENAI_CHAT, t, n);
}
static int p_llm_usage_json(const char *t, size_t n) {
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  int rc = tkn_llm_response_set_usage_json(r, TKN_USAGE_OPENAI_CHAT, t, n);
  tkn_llm_response_free(r);
  return rc;
}
static int p_llm_tool_calls(const char *t, size_t n) {
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  int rc = tkn_llm_response_set_tool_calls(r, t, n);
  tkn_llm_response_free(r);
  return rc;
}
static int p_prompt_add_tool(const char *t, size_t n) {
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  int rc = tkn_prompt_builder_add_tool(b, t, n, NULL);
  tkn_prompt_builder_free(b);
  return rc;
}
static int p_toolsel_add(const char *t, size_t n) {
  tkn_toolsel *s = NULL;
  assert_int_equal(tkn_toolsel_new(&s, NULL), TKN_OK);
  int rc = tkn_toolsel_add(s, t, n, NULL);
  tkn_toolsel_free(s);
  return rc;
}
static int p_batch_reader_line(const char *t, size_t n) {
  tkn_batch_reader *r = NULL;
  assert_int_equal(tkn_batch_reader_new(&r, NULL), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect(r, S("r1")), TKN_OK);
  int rc = tkn_batch_reader_feed(r, t, n);
  if (!rc) rc = tkn_batch_reader_end_file(r);
  tkn_batch_reader_free(r);
  return rc;
}

static const char k_tool[] =
    "{\"type\": \"function\", \"function\": {\"name\": \"f\", \"description\": \"d\","
    " \"parameters\": {\"type\": \"object\"}}}";
static const struct {
  const char *name;
  text_probe probe;
  const char *good;
} k_json_probes[] = {
    {"tkn_conv_from_json", p_conv_from_json, "[{\"role\": \"user\", \"content\": \"hi\"}]"},
    {"tkn_conv_insert_json", p_conv_insert_json, "{\"role\": \"user\", \"content\": \"hi\"}"},
    {"tkn_prices_load", p_prices_load,
     "{\"m\": {\"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 2e-06}}"},
    {"tkn_router_new_json", p_router_new_json,
     "{\"tiers\": [{\"name\": \"a\", \"models\": [\"gpt-4o-mini\"]}], \"default_tier\": \"a\"}"},
    {"tkn_task_from_json", p_task_from_json, "{\"kind\": \"chat\"}"},
    {"tkn_schema_compile", p_schema_compile, "{\"type\": \"object\"}"},
    {"tkn_schema_check", p_schema_check, "{\"a\": 1}"},
    {"tkn_usage_parse", p_usage_parse, "{\"prompt_tokens\": 10, \"completion_tokens\": 2}"},
    {"tkn_llm_response_set_usage_json", p_llm_usage_json,
     "{\"prompt_tokens\": 10, \"completion_tokens\": 2}"},
    {"tkn_llm_response_set_tool_calls", p_llm_tool_calls,
     "[{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"f\","
     " \"arguments\": \"{}\"}}]"},
    {"tkn_prompt_builder_add_tool", p_prompt_add_tool, k_tool},
    {"tkn_toolsel_add", p_toolsel_add, k_tool},
    {"tkn_batch_reader_feed", p_batch_reader_line,
     "{\"custom_id\": \"r1\", \"response\": {\"status_code\": 200, \"body\": {}}}\n"},
};

/* The faults of JSON text, each with its one code. */
static const struct {
  const char *fault;
  const char *text;
  int code;
} k_json_faults[] = {
    {"malformed JSON", "{\"a\": ", TKN_ERR_PARSE},
    {"malformed JSON (trailing text)", "{} x", TKN_ERR_PARSE},
    {"invalid UTF-8 inside JSON", "{\"a\": \"\xff\"}", TKN_ERR_UTF8},
    {"JSON of the wrong type (a number)", "42", TKN_ERR_SCHEMA},
    {"JSON of the wrong type (an array of numbers)", "[1, 2]", TKN_ERR_SCHEMA},
};

static void one_fault_one_code_for_json_text(void **state) {
  (void)state;
  size_t bad = 0;
  for (size_t i = 0; i < sizeof k_json_probes / sizeof k_json_probes[0]; i++) {
    int rc = k_json_probes[i].probe(k_json_probes[i].good, strlen(k_json_probes[i].good));
    if (rc != TKN_OK) {
      print_error("%s: its good input fails with %d: %s\n", k_json_probes[i].name, rc,
                  tkn_error_last()->message);
      bad++;
    }
    for (size_t f = 0; f < sizeof k_json_faults / sizeof k_json_faults[0]; f++) {
      char text[64];
      /* a batch results file is lines: the fault is one line */
      int line = k_json_probes[i].probe == p_batch_reader_line;
      snprintf(text, sizeof text, "%s%s", k_json_faults[f].text, line ? "\n" : "");
      tkn_error_clear();
      rc = k_json_probes[i].probe(text, strlen(text));
      if (rc != k_json_faults[f].code || tkn_error_last()->status != rc) {
        print_error("%s, %s: %d (%s), want %d (%s): %s\n", k_json_probes[i].name,
                    k_json_faults[f].fault, rc, tkn_strerror(rc), k_json_faults[f].code,
                    tkn_strerror(k_json_faults[f].code), tkn_error_last()->message);
        bad++;
      }
    }
  }
  if (bad) fail_msg("%zu probes answered another code than their fault class's", bad);
}

/* A model name nothing knows: TKN_ERR_NOT_FOUND wherever a model is looked up. */
typedef int (*model_probe)(const char *model);
static int m_prices_lookup(const char *m) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  int rc = tkn_prices_lookup(p, m, TKN_NUL_TERMINATED, &mp);
  tkn_prices_free(p);
  return rc;
}
static int m_prices_cost(const char *m) {
  tkn_prices *p = NULL;
  assert_int_equal(tkn_prices_new_default(&p), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 10;
  tkn_cost c = TKN_COST_INIT;
  int rc = tkn_prices_cost(p, m, TKN_NUL_TERMINATED, &u, &c);
  tkn_prices_free(p);
  return rc;
}
static int m_tokenizer_for_model(const char *m) {
  tkn_tokenizer *t = NULL;
  int rc = tkn_tokenizer_new_for_model(&t, m, TKN_NUL_TERMINATED);
  tkn_tokenizer_free(t);
  return rc;
}
static int m_min_cache(const char *m) {
  int64_t v = 0;
  return tkn_prompt_min_cache_tokens(TKN_PROVIDER_ANTHROPIC, m, TKN_NUL_TERMINATED, &v);
}
static int m_cacheplan(const char *m) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = m;
  o.model_len = TKN_NUL_TERMINATED;
  o.price_input = 3000000;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  tkn_cacheplan_free(c);
  return rc;
}

static void one_fault_one_code_for_an_unknown_model(void **state) {
  (void)state;
  static const struct {
    const char *name;
    model_probe probe;
    const char *good;
  } probes[] = {
      {"tkn_prices_lookup", m_prices_lookup, "gpt-4o"},
      {"tkn_prices_cost", m_prices_cost, "gpt-4o"},
      {"tkn_tokenizer_new_for_model", m_tokenizer_for_model, "gpt-4o"},
      {"tkn_prompt_min_cache_tokens", m_min_cache, "claude-sonnet-4-5"},
      {"tkn_cacheplan_new", m_cacheplan, "claude-sonnet-4-5"},
  };
  /* (a name that continues a family with '-', "gpt-4o-mini-x", is the
   * family's encoding by tokenizer.h's documented rule, and priced by no rule:
   * not a fault of one class, so not here) */
  static const char *const unknown[] = {"no-such-model-x", "my-gpt-4o-clone", "claude-sonnet-4-5x"};
  size_t bad = 0;
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    if (probes[i].probe(probes[i].good) != TKN_OK) {
      print_error("%s: %s fails: %s\n", probes[i].name, probes[i].good, tkn_error_last()->message);
      bad++;
    }
    for (size_t u = 0; u < sizeof unknown / sizeof unknown[0]; u++) {
      int rc = probes[i].probe(unknown[u]);
      if (rc != TKN_ERR_NOT_FOUND || !strstr(tkn_error_last()->message, unknown[u])) {
        print_error("%s(\"%s\"): %d (%s), want TKN_ERR_NOT_FOUND naming it: %s\n",
                    probes[i].name, unknown[u], rc, tkn_strerror(rc), tkn_error_last()->message);
        bad++;
      }
    }
  }
  if (bad) fail_msg("%zu probes answered another code than TKN_ERR_NOT_FOUND", bad);
}

/* A value outside the provider family (or of the usage-shape family where a
 * provider is wanted, and the other way round): TKN_ERR_INVALID everywhere. */
typedef int (*family_probe)(int32_t value);
static int f_conv_from_json(int32_t v) {
  tkn_conv *c = NULL;
  int rc = tkn_conv_from_json(&c, v, S("[{\"role\": \"user\", \"content\": \"hi\"}]"));
  tkn_conv_free(c);
  return rc;
}
static int f_conv_to_json(int32_t v) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, S("[{\"role\": \"user\", "
                                                              "\"content\": \"hi\"}]")), TKN_OK);
  char *out = NULL;
  int rc = tkn_conv_to_json(c, v, &out, NULL);
  tkn_free(out);
  tkn_conv_free(c);
  return rc;
}
static int f_min_cache(int32_t v) {
  int64_t n = 0;
  return tkn_prompt_min_cache_tokens(v, S("gpt-4o"), &n);
}
static int f_cacheplan(int32_t v) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = v;
  o.price_input = 3000000;
  tkn_cacheplan *c = NULL;
  int rc = tkn_cacheplan_new(&c, &o);
  tkn_cacheplan_free(c);
  return rc;
}
static int f_batch_reader(int32_t v) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = v;
  tkn_batch_reader *r = NULL;
  int rc = tkn_batch_reader_new(&r, &o);
  tkn_batch_reader_free(r);
  return rc;
}
static int f_render(int32_t v) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, S("[{\"role\": \"user\", "
                                                              "\"content\": \"hi\"}]")), TKN_OK);
  tkn_tokenizer *tok = NULL;
  tkn_prompt_builder *b = NULL;
  tkn_prompt *p = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_set_history(b, c, TKN_STABILITY_SESSION, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_OK);
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = v;
  ro.model = "gpt-4o";
  ro.model_len = TKN_NUL_TERMINATED;
  ro.max_tokens = 100;
  char *out = NULL;
  int rc = tkn_prompt_render(p, &ro, &out, NULL);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
  tkn_conv_free(c);
  return rc;
}
/* usage shapes: a provider constant is of the other family */
static int f_usage_parse(int32_t v) {
  tkn_usage u = TKN_USAGE_INIT;
  return tkn_usage_parse(&u, (uint32_t)v, S("{\"prompt_tokens\": 10, \"completion_tokens\": 2}"));
}
static int f_llm_usage_json(int32_t v) {
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  int rc = tkn_llm_response_set_usage_json(r, (uint32_t)v,
                                           S("{\"prompt_tokens\": 10, \"completion_tokens\": 2}"));
  tkn_llm_response_free(r);
  return rc;
}

static void one_fault_one_code_for_a_value_of_another_family(void **state) {
  (void)state;
  static const struct {
    const char *name;
    family_probe probe;
    int32_t good;
    int32_t wrong[4]; /* 0 ends the list early */
  } probes[] = {
      {"tkn_conv_from_json", f_conv_from_json, TKN_PROVIDER_OPENAI,
       {42, -1, TKN_USAGE_ANTHROPIC, 0}},
      {"tkn_conv_to_json", f_conv_to_json, TKN_PROVIDER_OPENAI, {42, -1, TKN_USAGE_ANTHROPIC, 0}},
      {"tkn_prompt_min_cache_tokens", f_min_cache, TKN_PROVIDER_OPENAI,
       {42, -1, TKN_USAGE_OPENAI_CHAT, 0}},
      {"tkn_cacheplan_new", f_cacheplan, TKN_PROVIDER_OPENAI, {42, -1, TKN_USAGE_OPENAI_CHAT, 0}},
      {"tkn_batch_reader_new", f_batch_reader, TKN_PROVIDER_OPENAI,
       {42, -1, TKN_USAGE_OPENAI_CHAT, 0}},
      {"tkn_prompt_render", f_render, TKN_PROVIDER_OPENAI, {42, -1, TKN_USAGE_OPENAI_CHAT, 0}},
      {"tkn_usage_parse", f_usage_parse, TKN_USAGE_OPENAI_CHAT,
       {TKN_PROVIDER_OPENAI, TKN_PROVIDER_ANTHROPIC, TKN_PROVIDER_GEMINI, 42}},
      {"tkn_llm_response_set_usage_json", f_llm_usage_json, TKN_USAGE_OPENAI_CHAT,
       {TKN_PROVIDER_OPENAI, TKN_PROVIDER_ANTHROPIC, TKN_PROVIDER_GEMINI, 42}},
  };
  size_t bad = 0;
  for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) {
    if (probes[i].probe(probes[i].good) != TKN_OK) {
      print_error("%s(%d): fails: %s\n", probes[i].name, (int)probes[i].good,
                  tkn_error_last()->message);
      bad++;
    }
    for (size_t w = 0; w < 4 && probes[i].wrong[w]; w++) {
      int rc = probes[i].probe(probes[i].wrong[w]);
      if (rc != TKN_ERR_INVALID || tkn_error_last()->status != rc) {
        print_error("%s(%d): %d (%s), want TKN_ERR_INVALID: %s\n", probes[i].name,
                    (int)probes[i].wrong[w], rc, tkn_strerror(rc), tkn_error_last()->message);
        bad++;
      }
    }
  }
  if (bad) fail_msg("%zu probes answered another code than TKN_ERR_INVALID", bad);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tool_call_arguments_not_an_object_are_one_code),
      cmocka_unit_test(one_fault_one_code_for_json_text),
      cmocka_unit_test(one_fault_one_code_for_an_unknown_model),
      cmocka_unit_test(one_fault_one_code_for_a_value_of_another_family),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
