/* Out-of-memory injection across the parts, in the manner of SQLite: each
 * scenario sets up a handle with memory to spare, then runs one operation
 * with allocation number N refused, for N = 1, 2, ... until the operation
 * completes without a refusal.  Every run must return an error (or succeed
 * despite the refusal where the part documents a fallback), leave the handle
 * usable (the scenario's check runs with memory to spare afterwards and must
 * give the same answer as without any failure), and leak nothing (every block
 * freed once the handles are).
 *
 * The parts' own tests have OOM loops for their constructors and readers;
 * these scenarios add the operations on long-lived shared handles, where
 * "usable after" matters: a conversation's count cache, a schema result
 * reused across documents, a router and a budget shared by threads, a tool
 * cache, a meter, a prompt builder and a cache planner.
 *
 * Found by these loops and fixed: a refused allocation inside cJSON was
 * reported as "malformed JSON" (TKN_ERR_PARSE) whenever the next allocation
 * succeeded (core's probe); the conversation, tool-cache and prompt scenarios
 * below are its regression tests (they require TKN_ERR_NOMEM). */
#include "test_util.h"


typedef struct scenario {
  const char *name;
  void *(*setup)(void);         /* with memory to spare */
  int (*op)(void *ctx);         /* run with allocation N refused */
  void (*verify)(void *ctx);    /* with memory to spare again: the handle works */
  void (*teardown)(void *ctx);
} scenario;

static void oom_loop(const scenario *s) {
  long n;
  for (n = 1; n < 1000000; n++) {
    tt_alloc_install(0);
    void *ctx = s->setup();
    assert_non_null(ctx);
    tt_alloc.failed = 0;
    tt_alloc.fail_at = tt_alloc.count + n;
    int rc = s->op(ctx);
    int failed = tt_alloc.failed;
    tt_alloc.fail_at = 0;
    if (rc != TKN_OK) {
      if (!failed) fail_msg("%s: status %d with no allocation refused (N=%ld)", s->name, rc, n);
      if (rc != TKN_ERR_NOMEM)
        fail_msg("%s: allocation %ld refused gave status %d, not TKN_ERR_NOMEM", s->name, n, rc);
    }
    s->verify(ctx);
    s->teardown(ctx);
    if (tt_alloc.live != 0) fail_msg("%s: %ld blocks leaked (N=%ld)", s->name, tt_alloc.live, n);
    tt_alloc_restore();
    if (!failed) break; /* the operation ran to the end with no refusal */
  }
  assert_true(n > 1); /* the operation allocated at least once */
}

/* ---- conversation: a failed load keeps the old messages; counting caches ---- */

static const char conv_json[] =
    "[{\"role\":\"system\",\"content\":\"Be brief.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris?\"}],"
    "\"name\":\"ann\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
    "\"function\":{\"name\":\"weather\",\"arguments\":\"{\\\"city\\\":\\\"Paris\\\"}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"18C\"}]";

typedef struct {
  tkn_conv *conv;
  tkn_tokenizer *tok;
} conv_ctx;

static void *conv_setup(void) {
  conv_ctx *c = calloc(1, sizeof *c);
  assert_int_equal(tkn_conv_new(&c->conv), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c->conv, TKN_ROLE_USER, S("old")), TKN_OK);
  assert_int_equal(tkn_tokenizer_new_estimator(&c->tok), TKN_OK);
  return c;
}
static void conv_teardown(void *p) {
  conv_ctx *c = p;
  tkn_conv_free(c->conv);
  tkn_tokenizer_free(c->tok);
  free(c);
}
static int conv_load_op(void *p) {
  conv_ctx *c = p;
  return tkn_conv_load(c->conv, TKN_PROVIDER_AUTO, S(conv_json));
}
static void conv_load_verify(void *p) {
  conv_ctx *c = p;
  size_t n = tkn_conv_count(c->conv);
  assert_true(n == 1 || n == 4); /* the old conversation, or the new one: nothing between */
  if (n == 1) assert_int_equal(tkn_conv_load(c->conv, TKN_PROVIDER_AUTO, S(conv_json)), TKN_OK);
  char *out = NULL;
  assert_int_equal(tkn_conv_to_json(c->conv, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_OK);
  tkn_free(out);
}
static void conversation_load_keeps_the_old_messages_on_failure(void **state) {
  (void)state;
  scenario s = {"conv load", conv_setup, conv_load_op, conv_load_verify, conv_teardown};
  oom_loop(&s);
}

static int64_t conv_expected_tokens;
static void *conv_loaded_setup(void) {
  conv_ctx *c = conv_setup();
  assert_int_equal(tkn_conv_load(c->conv, TKN_PROVIDER_AUTO, S(conv_json)), TKN_OK);
  return c;
}
static int conv_count_op(void *p) {
  conv_ctx *c = p;
  int64_t total = 0;
  int rc = tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &total, NULL);
  if (rc == TKN_OK) assert_int_equal(total, conv_expected_tokens);
  return rc;
}
static void conv_count_verify(void *p) {
  conv_ctx *c = p;
  int64_t total = 0;
  assert_int_equal(tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &total, NULL), TKN_OK);
  assert_int_equal(total, conv_expected_tokens);
  tkn_conv_append_text(c->conv, TKN_ROLE_USER, S("more")); /* the cache follows changes */
  assert_int_equal(tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &total, NULL), TKN_OK);
  assert_true(total > conv_expected_tokens);
}
static void counting_a_conversation_stays_exact_after_failures(void **state) {
  (void)state;
  conv_ctx *c = conv_loaded_setup();
  assert_int_equal(tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &conv_expected_tokens, NULL),
                   TKN_OK);
  conv_teardown(c);
  scenario s = {"conv count", conv_loaded_setup, conv_count_op, conv_count_verify,
                conv_teardown};
  oom_loop(&s);
}

/* ---- schema: one result object reused across documents ---- */

typedef struct {
  tkn_schema *schema;
  tkn_schema_result *res;
} schema_ctx;

static void *schema_setup(void) {
  schema_ctx *c = calloc(1, sizeof *c);
  assert_int_equal(
      tkn_schema_compile(&c->schema,
                         S("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\","
                           "\"pattern\":\"^[A-Z]\",\"minLength\":2},\"tags\":{\"type\":\"array\","
                           "\"uniqueItems\":true}},\"required\":[\"name\",\"id\"]}"),
                         NULL),
      TKN_OK);
  assert_int_equal(tkn_schema_result_new(&c->res), TKN_OK);
  return c;
}
static void schema_teardown(void *p) {
  schema_ctx *c = p;
  tkn_schema_result_free(c->res);
  tkn_schema_free(c->schema);
  free(c);
}
static int schema_op(void *p) {
  schema_ctx *c = p;
  int rc = tkn_schema_validate(c->schema, S("{\"name\":\"a\",\"tags\":[1,1]}"), c->res);
  if (rc != TKN_ERR_SCHEMA) return rc;
  char *reask = NULL;
  rc = tkn_schema_result_reask(c->res, &reask, NULL);
  tkn_free(reask);
  return rc;
}
static void schema_verify(void *p) {
  schema_ctx *c = p;
  assert_int_equal(tkn_schema_validate(c->schema, S("{\"name\":\"a\",\"tags\":[1,1]}"), c->res),
                   TKN_ERR_SCHEMA);
  assert_int_equal(tkn_schema_result_error_count(c->res), 4);
  assert_int_equal(tkn_schema_validate(c->schema, S("{\"name\":\"Ab\",\"id\":1}"), c->res), TKN_OK);
}
static void schema_result_is_reusable_after_failures(void **state) {
  (void)state;
  scenario s = {"schema validate", schema_setup, schema_op, schema_verify, schema_teardown};
  oom_loop(&s);
}

/* ---- router: explain on a shared router ---- */

typedef struct {
  tkn_router *router;
  tkn_task *task;
} router_ctx;

static void *router_setup(void) {
  router_ctx *c = calloc(1, sizeof *c);
  assert_int_equal(
      tkn_router_new_json(&c->router,
                          S("{\"tiers\":[{\"name\":\"small\",\"models\":[\"s1\",\"s2\"]},"
                            "{\"name\":\"large\",\"models\":[\"l1\"]}],"
                            "\"rules\":[{\"when\":{\"all\":[{\"attr\":\"n\",\"lt\":5},"
                            "{\"attr\":\"k\",\"in\":[\"a\",\"b\"]}]},\"tier\":\"small\"}],"
                            "\"default_tier\":\"large\"}"),
                          NULL),
      TKN_OK);
  assert_int_equal(tkn_task_from_json(&c->task, S("{\"n\":9,\"k\":\"a\"}")), TKN_OK);
  return c;
}
static void router_teardown(void *p) {
  router_ctx *c = p;
  tkn_task_free(c->task);
  tkn_router_free(c->router);
  free(c);
}
static int router_op(void *p) {
  router_ctx *c = p;
  char *out = NULL;
  int rc = tkn_router_explain(c->router, c->task, &out, NULL);
  if (rc == TKN_OK) assert_non_null(strstr(out, "\"failed\""));
  tkn_free(out);
  if (rc) return rc;
  return tkn_router_report_failure(c->router, S("s1"), TKN_LLM_FAIL_SERVER, NULL);
}
static void router_verify(void *p) {
  router_ctx *c = p;
  tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
  assert_int_equal(tkn_router_decide(c->router, c->task, &d), TKN_OK);
  assert_int_equal(d.rule, -1);
  assert_string_equal(d.model, "l1");
  char *out = NULL;
  assert_int_equal(tkn_router_explain(c->router, c->task, &out, NULL), TKN_OK);
  tkn_free(out);
}
static void router_explains_and_reports_after_failures(void **state) {
  (void)state;
  scenario s = {"router explain", router_setup, router_op, router_verify, router_teardown};
  oom_loop(&s);
}

/* ---- budget: a chain of budgets ---- */

typedef struct {
  tkn_budget *parent, *child;
} budget_ctx;

static void *budget_setup(void) {
  budget_ctx *c = calloc(1, sizeof *c);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000;
  o.period = TKN_BUDGET_PERIOD_ROLLING;
  assert_int_equal(tkn_budget_new(&c->parent, &o, NULL), TKN_OK);
  return c;
}
static void budget_teardown(void *p) {
  budget_ctx *c = p;
  tkn_budget_free(c->child);
  tkn_budget_free(c->parent);
  free(c);
}
static int budget_op(void *p) {
  budget_ctx *c = p;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 500;
  int rc = tkn_budget_new(&c->child, &o, c->parent);
  if (rc) return rc;
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = 100;
  a.output_tokens = 50;
  tkn_budget_reservation *res = NULL;
  if ((rc = tkn_budget_reserve(c->child, &a, &res))) return rc;
  if ((rc = tkn_budget_commit(res, &a))) {
    tkn_budget_release(res);
    return rc;
  }
  return tkn_budget_charge(c->parent, &a);
}
static void budget_verify(void *p) {
  budget_ctx *c = p;
  tkn_budget_state st = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(c->parent, &st), TKN_OK);
  assert_int_equal(st.tokens_reserved, 0);
  /* each step that succeeded counted once, a failed one not at all */
  assert_true(st.tokens_committed == 0 || st.tokens_committed == 150 ||
              st.tokens_committed == 300);
  assert_int_equal(tkn_budget_charge(c->parent, &(tkn_budget_amount){TKN_BUDGET_AMOUNT_VERSION,
                                                                     10, 0, 0}),
                   TKN_OK);
}
static void budget_reserves_and_commits_after_failures(void **state) {
  (void)state;
  scenario s = {"budget", budget_setup, budget_op, budget_verify, budget_teardown};
  oom_loop(&s);
}

/* ---- tool cache ---- */

static void *cache_setup(void) {
  tkn_toolcache *c = NULL;
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("search"), 1, 0, TKN_TOOLCACHE_SCOPE_RUN),
                   TKN_OK);
  assert_int_equal(tkn_toolcache_put(c, S("search"), S("{\"q\":1}"), S("run-1"), S("one"), 1),
                   TKN_OK);
  return c;
}
static void cache_teardown(void *p) { tkn_toolcache_free(p); }
static int cache_op(void *p) {
  tkn_toolcache *c = p;
  int rc = tkn_toolcache_put(c, S("search"), S("{\"b\":[1,2],\"a\":{\"x\":1.0}}"), S("run-1"),
                             S("two"), 1);
  if (rc) return rc;
  char *v = NULL;
  size_t vl = 0;
  rc = tkn_toolcache_get(c, S("search"), S("{\"a\":{\"x\":1},\"b\":[1,2]}"), S("run-1"), &v, &vl);
  tkn_free(v);
  if (rc) return rc;
  return tkn_toolcache_set_policy(c, S("fetch"), 1, 1000, TKN_TOOLCACHE_SCOPE_GLOBAL);
}
static void cache_verify(void *p) {
  tkn_toolcache *c = p;
  char *v = NULL;
  size_t vl = 0;
  assert_int_equal(tkn_toolcache_get(c, S("search"), S("{\"q\":1}"), S("run-1"), &v, &vl), TKN_OK);
  assert_string_equal(v, "one");
  tkn_free(v);
  assert_int_equal(tkn_toolcache_put(c, S("search"), S("{\"q\":2}"), S("run-1"), S("x"), 1),
                   TKN_OK);
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  assert_int_equal(tkn_toolcache_stats_get(c, &st), TKN_OK);
  assert_true(st.entries >= 2 && st.entries <= 3);
}
static void tool_cache_works_after_failures(void **state) {
  (void)state;
  scenario s = {"toolcache", cache_setup, cache_op, cache_verify, cache_teardown};
  oom_loop(&s);
}

/* ---- meter: new keys, export ---- */

static void *meter_setup(void) {
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  return m;
}
static void meter_teardown(void *p) { tkn_meter_free(p); }
static int meter_record(tkn_meter *m, const char *wf, const char *model) {
  tkn_meter_call c = TKN_METER_CALL_INIT;
  c.workflow = wf;
  c.workflow_len = strlen(wf);
  c.model = model;
  c.model_len = strlen(model);
  c.tenant = "acme";
  c.tenant_len = 4;
  c.usage.input_tokens = 100;
  c.usage.output_tokens = 10;
  c.cost = 5;
  return tkn_meter_record(m, &c);
}
static int meter_op(void *p) {
  tkn_meter *m = p;
  int rc = meter_record(m, "triage", "gpt-4o");
  if (rc) return rc;
  if ((rc = meter_record(m, "refund", "claude-sonnet-4-5"))) return rc;
  char *out = NULL;
  rc = tkn_meter_export(m, TKN_METER_PROMETHEUS, &out, NULL);
  tkn_free(out);
  return rc;
}
static void meter_verify(void *p) {
  tkn_meter *m = p;
  tkn_meter_stats before = TKN_METER_STATS_INIT, after = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &before), TKN_OK);
  assert_true(before.calls <= 2);
  assert_int_equal(before.input_tokens, 100 * (int64_t)before.calls); /* no half-recorded call */
  assert_int_equal(meter_record(m, "triage", "gpt-4o"), TKN_OK);
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &after), TKN_OK);
  assert_int_equal(after.calls, before.calls + 1);
  char *out = NULL;
  assert_int_equal(tkn_meter_export(m, TKN_METER_JSON, &out, NULL), TKN_OK);
  tkn_free(out);
}
static void meter_records_and_exports_after_failures(void **state) {
  (void)state;
  scenario s = {"meter", meter_setup, meter_op, meter_verify, meter_teardown};
  oom_loop(&s);
}

/* ---- prompt builder, assembly, rendering and the cache planner ---- */

typedef struct {
  tkn_prompt_builder *b;
  tkn_tokenizer *tok;
  tkn_conv *conv;
  tkn_cacheplan *plan;
} prompt_ctx;

static void *prompt_setup(void) {
  prompt_ctx *c = calloc(1, sizeof *c);
  assert_int_equal(tkn_prompt_builder_new(&c->b, NULL), TKN_OK);
  assert_int_equal(tkn_tokenizer_new_estimator(&c->tok), TKN_OK);
  assert_int_equal(tkn_conv_from_json(&c->conv, TKN_PROVIDER_AUTO, S(conv_json)), TKN_OK);
  tkn_cacheplan_options po = TKN_CACHEPLAN_OPTIONS_INIT;
  po.provider = TKN_PROVIDER_ANTHROPIC;
  po.price_input = 3000000;
  po.min_cache_tokens = 1;
  assert_int_equal(tkn_cacheplan_new(&c->plan, &po), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_text(c->b, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                               S("rules"), S("Answer briefly."), NULL),
                   TKN_OK);
  return c;
}
static void prompt_teardown(void *p) {
  prompt_ctx *c = p;
  tkn_cacheplan_free(c->plan);
  tkn_prompt_builder_free(c->b);
  tkn_conv_free(c->conv);
  tkn_tokenizer_free(c->tok);
  free(c);
}
static int prompt_op(void *p) {
  prompt_ctx *c = p;
  int rc = tkn_prompt_builder_add_tool(
      c->b, S("{\"name\":\"weather\",\"input_schema\":{\"type\":\"object\"}}"), NULL);
  if (rc && rc != TKN_ERR_DUPLICATE) return rc;
  if ((rc = tkn_prompt_builder_set_history(c->b, c->conv, TKN_STABILITY_SESSION, NULL)))
    return rc;
  tkn_prompt *pr = NULL;
  if ((rc = tkn_prompt_assemble(&pr, c->b, c->tok))) return rc;
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = TKN_PROVIDER_ANTHROPIC;
  ro.model = "claude-sonnet-4-5";
  ro.model_len = strlen(ro.model);
  ro.max_tokens = 100;
  ro.min_cache_tokens = 1;
  char *out = NULL;
  rc = tkn_prompt_render(pr, &ro, &out, NULL);
  tkn_free(out);
  if (!rc) rc = tkn_cacheplan_add_prompt(c->plan, 1000, pr);
  if (!rc) {
    rc = tkn_cacheplan_advice(c->plan, &out, NULL);
    tkn_free(out);
  }
  tkn_prompt_free(pr);
  return rc;
}
static void prompt_verify(void *p) {
  prompt_ctx *c = p;
  int rc = tkn_prompt_builder_add_tool(
      c->b, S("{\"name\":\"weather\",\"input_schema\":{\"type\":\"object\"}}"), NULL);
  assert_true(rc == TKN_OK || rc == TKN_ERR_DUPLICATE);
  assert_int_equal(tkn_prompt_builder_set_history(c->b, c->conv, TKN_STABILITY_SESSION, NULL),
                   TKN_OK);
  tkn_prompt *pr = NULL;
  assert_int_equal(tkn_prompt_assemble(&pr, c->b, c->tok), TKN_OK);
  assert_int_equal(tkn_prompt_segment_count(pr), 3);
  assert_int_equal(tkn_cacheplan_add_prompt(c->plan, 2000, pr), TKN_OK);
  tkn_cacheplan_result r;
  memset(&r, 0, sizeof r);
  r.version = TKN_CACHEPLAN_RESULT_VERSION;
  assert_int_equal(tkn_cacheplan_result_get(c->plan, &r), TKN_OK);
  assert_true(r.requests == 1 || r.requests == 2);
  tkn_prompt_free(pr);
}
static void prompt_assembly_and_planning_work_after_failures(void **state) {
  (void)state;
  scenario s = {"prompt", prompt_setup, prompt_op, prompt_verify, prompt_teardown};
  oom_loop(&s);
}

/* ---- pruning a conversation ---- */

typedef struct {
  tkn_pruner *pr;
  tkn_tokenizer *tok;
  tkn_conv *conv;
} prune_ctx;

static void *prune_setup(void) {
  prune_ctx *c = calloc(1, sizeof *c);
  assert_int_equal(tkn_tokenizer_new_estimator(&c->tok), TKN_OK);
  assert_int_equal(tkn_prune_new(&c->pr, c->tok), TKN_OK);
  assert_int_equal(tkn_conv_from_json(&c->conv, TKN_PROVIDER_AUTO, S(conv_json)), TKN_OK);
  for (int i = 0; i < 6; i++)
    assert_int_equal(tkn_conv_append_text(c->conv, i % 2 ? TKN_ROLE_ASSISTANT : TKN_ROLE_USER,
                                          S("Some words that take a few tokens each turn.")),
                     TKN_OK);
  return c;
}
static void prune_teardown(void *p) {
  prune_ctx *c = p;
  tkn_prune_free(c->pr);
  tkn_conv_free(c->conv);
  tkn_tokenizer_free(c->tok);
  free(c);
}
static int prune_op(void *p) {
  prune_ctx *c = p;
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.mode = TKN_PRUNE_SCORE;
  o.max_tokens = 100;
  tkn_prune_report *rep = NULL;
  int rc = tkn_prune_run(c->pr, c->conv, &o, &rep);
  tkn_prune_report_free(rep);
  return rc;
}
static void prune_verify(void *p) {
  prune_ctx *c = p;
  /* untouched (all 10 messages, 4 + 6), or pruned to fit: never half done */
  int64_t total = 0;
  assert_int_equal(tkn_tokenizer_count_conv(c->tok, c->conv, NULL, &total, NULL), TKN_OK);
  assert_true(tkn_conv_count(c->conv) == 10 || total <= 100);
  tkn_prune_options o = TKN_PRUNE_OPTIONS_INIT;
  o.max_tokens = 90;
  tkn_prune_report *rep = NULL;
  assert_int_equal(tkn_prune_run(c->pr, c->conv, &o, &rep), TKN_OK);
  int64_t before = 0, after = 0;
  assert_int_equal(tkn_prune_report_tokens(rep, &before, &after), TKN_OK);
  assert_true(after <= 90);
  tkn_prune_report_free(rep);
}
static void pruner_works_after_failures(void **state) {
  (void)state;
  scenario s = {"prune", prune_setup, prune_op, prune_verify, prune_teardown};
  oom_loop(&s);
}

/* ---- tool-call lookups: documented never to fail for want of memory ---- */

static void tool_call_lookups_never_fail_for_want_of_memory(void **state) {
  (void)state;
  for (long n = 1; n <= 4; n++) {
    tt_alloc_install(0);
    tkn_conv *c = NULL;
    assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, S(conv_json)), TKN_OK);
    tt_alloc.failed = 0;
    tt_alloc.fail_at = tt_alloc.count + n; /* the index cannot be built: they scan */
    size_t at = 99;
    assert_int_equal(tkn_conv_find_tool_call(c, S("c1"), &at), TKN_OK);
    assert_int_equal(at, 2);
    assert_int_equal(tkn_conv_find_tool_result(c, S("c1"), &at), TKN_OK);
    assert_int_equal(at, 3);
    assert_int_equal(tkn_conv_find_tool_result(c, S("c2"), &at), TKN_ERR_NOT_FOUND);
    assert_int_equal(tkn_conv_find_tool_call(c, S("nope"), &at), TKN_ERR_NOT_FOUND);
    tt_alloc.fail_at = 0;
    assert_int_equal(tkn_conv_find_tool_call(c, S("c1"), &at), TKN_OK);
    assert_int_equal(at, 2);
    tkn_conv_free(c);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(conversation_load_keeps_the_old_messages_on_failure),
      cmocka_unit_test(counting_a_conversation_stays_exact_after_failures),
      cmocka_unit_test(schema_result_is_reusable_after_failures),
      cmocka_unit_test(router_explains_and_reports_after_failures),
      cmocka_unit_test(budget_reserves_and_commits_after_failures),
      cmocka_unit_test(tool_cache_works_after_failures),
      cmocka_unit_test(meter_records_and_exports_after_failures),
      cmocka_unit_test(prompt_assembly_and_planning_work_after_failures),
      cmocka_unit_test(pruner_works_after_failures),
      cmocka_unit_test(tool_call_lookups_never_fail_for_want_of_memory),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
