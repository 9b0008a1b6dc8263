/* Routing: tasks, conditions, first-match rules, explain, config errors with
 * JSON paths, the builder, failover through cooldowns, retries, shadow
 * sampling and agreement, cascades and calibration, threads, out-of-memory. */
#include <math.h>
#include <pthread.h>

#include "test_util.h"

#include "internal.h"

/* ---- helpers ---- */

static char errbuf[TKI_ERRLEN];

static tkn_router *router_from(const char *json, const tkn_router_options *opts) {
  tkn_router *r = NULL;
  int rc = tt_keep_err(tkn_router_new_json(&r, json, strlen(json), opts), errbuf, sizeof errbuf);
  if (rc) fail_msg("config rejected (%d): %s", rc, errbuf);
  return r;
}

static char *example_text(void) {
  char *s = tt_read_file(tt_src_path("tests/unit/router/example-config.json"), NULL);
  assert_non_null(s);
  return s;
}

static tkn_router *example(const tkn_router_options *opts) {
  char *s = example_text();
  tkn_router *r = router_from(s, opts);
  free(s);
  return r;
}

static tkn_task *task_json(const char *json) {
  tkn_task *t = NULL;
  int rc = tt_keep_err(tkn_task_from_json(&t, json, strlen(json)), errbuf, sizeof errbuf);
  if (rc) fail_msg("task rejected (%d): %s", rc, errbuf);
  return t;
}

static tkn_router_decision decide(const tkn_router *r, const tkn_task *t) {
  tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
  assert_int_equal(tkn_router_decide(r, t, &d), TKN_OK);
  return d;
}

static tt_clock clk;

static tkn_router_options fake_clock_opts(void) {
  tkn_router_options o = TKN_ROUTER_OPTIONS_INIT;
  o.now_ms = tt_clock_read;
  o.clock_user = &clk;
  clk.now = 1000000;
  return o;
}


/* ---- tasks ---- */

static void task_set_replaces_attribute_of_same_name(void **state) {
  (void)state;
  tkn_task *t;
  assert_int_equal(tkn_task_new(&t), TKN_OK);
  assert_int_equal(tkn_task_set_string(t, S("kind"), S("chat")), TKN_OK);
  assert_int_equal(tkn_task_set_number(t, S("n"), 3), TKN_OK);
  assert_int_equal(tkn_task_set_bool(t, S("b"), 7), TKN_OK);
  const char *v[] = {"x", "y"};
  size_t l[] = {1, 1};
  assert_int_equal(tkn_task_set_strings(t, S("tags"), v, l, 2), TKN_OK);
  assert_int_equal(tkn_task_set_strings(t, S("none"), NULL, NULL, 0), TKN_OK);
  assert_int_equal(tkn_task_count(t), 5);
  assert_int_equal(tkn_task_set_number(t, S("kind"), 1), TKN_OK); /* replaces */
  assert_int_equal(tkn_task_count(t), 5);
  assert_int_equal(tkn_task_set_id(t, S("req-1")), TKN_OK);
  assert_int_equal(tkn_task_set_id(t, S("req-2")), TKN_OK);
  tkn_task_free(t);
  tkn_task_free(NULL);
  assert_int_equal(tkn_task_count(NULL), 0);
}

static void task_rejects_bad_input_and_stays_unchanged(void **state) {
  (void)state;
  tkn_task *t;
  assert_int_equal(tkn_task_new(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_new(&t), TKN_OK);
  assert_int_equal(tkn_task_set_string(t, "", 0, S("x")), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "empty attribute name"));
  assert_int_equal(tkn_task_set_string(t, "\xff", 1, S("x")), TKN_ERR_UTF8);
  assert_int_equal(tkn_task_set_string(t, S("a"), "\xc3", 1), TKN_ERR_UTF8);
  assert_int_equal(tkn_task_set_string(t, S("a"), NULL, 3), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_number(t, S("a"), NAN), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "not finite"));
  assert_int_equal(tkn_task_set_number(t, S("a"), INFINITY), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_bool(t, NULL, 0, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_strings(t, S("a"), NULL, NULL, 2), TKN_ERR_INVALID);
  const char *v[] = {"ok", "\xff"};
  size_t l[] = {2, 1};
  assert_int_equal(tkn_task_set_strings(t, S("a"), v, l, 2), TKN_ERR_UTF8);
  assert_int_equal(tkn_task_set_id(t, NULL, 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_count(t), 0);
  assert_int_equal(tkn_task_set_string(NULL, S("a"), S("x")), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_number(NULL, S("a"), 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_bool(NULL, S("a"), 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_strings(NULL, S("a"), NULL, NULL, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_set_id(NULL, S("a")), TKN_ERR_INVALID);
  assert_int_equal(tkn_task_remove(NULL, S("a")), TKN_ERR_INVALID);
  tkn_task_free(t);
}

static void task_limits_are_enforced(void **state) {
  (void)state;
  tkn_task *t;
  assert_int_equal(tkn_task_new(&t), TKN_OK);
  char name[16];
  for (int i = 0; i < 1024; i++) {
    snprintf(name, sizeof name, "a%d", i);
    assert_int_equal(tkn_task_set_number(t, S(name), i), TKN_OK);
  }
  assert_int_equal(tkn_task_set_number(t, S("one-more"), 1), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "more than 1024 attributes"));
  assert_int_equal(tkn_task_set_number(t, S("a5"), 1), TKN_OK); /* replacing is fine */
  assert_int_equal(tkn_task_count(t), 1024);
  static const char *vals[65537];
  static size_t lens[65537];
  for (int i = 0; i < 65537; i++) {
    vals[i] = "v";
    lens[i] = 1;
  }
  assert_int_equal(tkn_task_set_strings(t, S("a1"), vals, lens, 65537), TKN_ERR_LIMIT);
  assert_int_equal(tkn_task_set_strings(t, S("a1"), vals, lens, 65536), TKN_OK);
  tkn_task_free(t);
}

static void task_remove_drops_one_attribute(void **state) {
  (void)state;
  tkn_task *t = task_json("{\"a\":1,\"b\":2,\"c\":3}");
  assert_int_equal(tkn_task_remove(t, S("b")), TKN_OK);
  assert_int_equal(tkn_task_count(t), 2);
  assert_int_equal(tkn_task_remove(t, S("b")), TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(tkn_error_last()->message, "'b'"));
  tkn_router *r = router_from("{\"tiers\":[{\"name\":\"t\",\"models\":[\"m\"]},"
                              "{\"name\":\"u\",\"models\":[\"n\"]}],"
                              "\"rules\":[{\"when\":{\"attr\":\"c\",\"eq\":3},\"tier\":\"t\"}]}",
                              NULL);
  assert_int_equal(decide(r, t).rule, 0);
  assert_int_equal(tkn_task_remove(t, S("c")), TKN_OK);
  assert_int_equal(decide(r, t).rule, -1);
  tkn_router_free(r);
  tkn_task_free(t);
}

static void task_from_json_reads_every_type_and_the_id(void **state) {
  (void)state;
  tkn_task *t = task_json("{\"$id\":\"r1\",\"s\":\"x\",\"n\":2.5,\"b\":false,\"l\":[\"p\",\"q\"]}");
  assert_int_equal(tkn_task_count(t), 4);
  tkn_router *r = router_from(
      "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\",\"models\":[\"n\"]}],"
      "\"rules\":[{\"when\":{\"all\":[{\"attr\":\"s\",\"eq\":\"x\"},{\"attr\":\"n\",\"eq\":2.5},"
      "{\"attr\":\"b\",\"eq\":false},{\"attr\":\"l\",\"contains\":\"q\"}]},\"tier\":\"a\","
      "\"shadow_rate\":1}]}",
      NULL);
  tkn_router_decision d = decide(r, t);
  assert_int_equal(d.rule, 0);
  assert_int_equal(d.shadow, 1); /* the id was read: rate 1 samples it */
  tkn_router_free(r);
  tkn_task_free(t);
}

static void task_from_json_errors_name_the_member(void **state) {
  (void)state;
  static const struct {
    const char *json;
    int status;
    const char *msg;
  } cases[] = {
      {"[1]", TKN_ERR_SCHEMA, "$: expected an object"},
      {"{\"a\":{}}", TKN_ERR_SCHEMA, "$.a: expected a string, number"},
      {"{\"a\":null}", TKN_ERR_SCHEMA, "$.a:"},
      {"{\"a\":[\"x\",1]}", TKN_ERR_SCHEMA, "$.a[1]: expected a string"},
      {"{\"$id\":5}", TKN_ERR_SCHEMA, "$.$id"},
      {"{\"a\":1,\"a\":2}", TKN_ERR_DUPLICATE, "$.a: duplicate"},
      {"{\"a\":", TKN_ERR_PARSE, "line 1"},
      {"{\"\":1}", TKN_ERR_INVALID, "empty attribute name"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tkn_task *t = (tkn_task *)1;
    char e[256] = "";
    assert_int_equal(tt_keep_err(tkn_task_from_json(&t, S(cases[i].json)), e, sizeof e), cases[i].status);
    assert_null(t);
    if (!strstr(e, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e, cases[i].msg);
  }
  assert_int_equal(tkn_task_from_json(NULL, S("{}")), TKN_ERR_INVALID);
}

/* ---- options ---- */

/* ---- config and decisions ---- */

static void example_config_compiles_with_its_settings(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  assert_int_equal(tkn_router_tier_count(r), 3);
  assert_int_equal(tkn_router_rule_count(r), 4);
  assert_string_equal(tkn_router_tier_name(r, 0), "small");
  assert_string_equal(tkn_router_tier_name(r, 2), "large");
  assert_null(tkn_router_tier_name(r, 3));
  assert_int_equal(tkn_router_model_count(r), 6);
  assert_string_equal(tkn_router_model_name(r, 0), "gpt-4o-mini");
  assert_string_equal(tkn_router_model_name(r, 1), "claude-3-5-haiku");
  assert_string_equal(tkn_router_model_name(r, 5), "claude-opus-4");
  assert_null(tkn_router_model_name(r, 6));
  assert_int_equal(tkn_router_model_count(NULL), 0);
  assert_null(tkn_router_model_name(NULL, 0));
  double th;
  assert_int_equal(tkn_router_tier_threshold(r, 0, &th), TKN_OK);
  assert_true(th == 0.8);
  assert_int_equal(tkn_router_tier_threshold(r, 2, &th), TKN_OK);
  assert_true(th == 0.6);
  assert_int_equal(tkn_router_tier_threshold(r, 3, &th), TKN_ERR_INVALID);
  int32_t n;
  assert_int_equal(tkn_router_retries(r, TKN_LLM_FAIL_SERVER, &n), TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(tkn_router_retries(r, TKN_LLM_FAIL_RATE_LIMIT, &n), TKN_OK);
  assert_int_equal(n, 2);
  assert_int_equal(tkn_router_retries(r, 6, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_retries(NULL, 0, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_tier_count(NULL), 0);
  assert_int_equal(tkn_router_rule_count(NULL), 0);
  tkn_router_free(r);
  tkn_router_free(NULL);
}

static void defaults_apply_to_thresholds_and_retries(void **state) {
  (void)state;
  tkn_router *r = router_from("{\"tiers\":[{\"name\":\"t\",\"models\":[\"m\"]}]}", NULL);
  double th;
  assert_int_equal(tkn_router_tier_threshold(r, 0, &th), TKN_OK);
  assert_true(th == 0.5); /* the default threshold */
  static const int32_t want[] = {2, 2, 2, 0, 0, 0};
  for (int32_t c = 0; c < TKN_LLM_FAIL__COUNT; c++) {
    int32_t n = -1;
    assert_int_equal(tkn_router_retries(r, c, &n), TKN_OK);
    assert_int_equal(n, want[c]);
  }
  tkn_router_free(r);
}

static void first_matching_rule_wins_else_default(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  /* matches rules 1 and 3: rule 1 wins */
  tkn_task *t = task_json("{\"input_tokens\":100,\"priority\":\"high\"}");
  tkn_router_decision d = decide(r, t);
  assert_int_equal(d.rule, 1);
  assert_int_equal(d.tier, 0);
  assert_int_equal(d.rule_tier, 0);
  assert_string_equal(d.tier_name, "small");
  assert_string_equal(d.model, "gpt-4o-mini");
  assert_string_equal(d.reason, "small prompt");
  assert_int_equal(d.cascade, 1);
  tkn_task_free(t);
  t = task_json("{\"input_tokens\":100,\"tags\":[\"legal\"],\"customer\":\"enterprise:acme\"}");
  d = decide(r, t);
  assert_int_equal(d.rule, 2);
  assert_string_equal(d.model, "gpt-4o");
  assert_int_equal(d.cascade, 0);
  tkn_task_free(t);
  t = task_json("{\"input_tokens\":5000}");
  d = decide(r, t);
  assert_int_equal(d.rule, -1);
  assert_string_equal(d.tier_name, "medium");
  assert_string_equal(d.reason, "default");
  tkn_task_free(t);
  d = decide(r, NULL); /* no task: no attribute */
  assert_int_equal(d.rule, -1);
  tkn_router_decision bad = TKN_ROUTER_DECISION_INIT;
  bad.version = 9;
  assert_int_equal(tkn_router_decide(r, NULL, &bad), TKN_ERR_VERSION);
  assert_int_equal(tkn_router_decide(r, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_decide(NULL, NULL, &d), TKN_ERR_INVALID);
  tkn_router_free(r);
}

static void default_tier_is_the_last_when_not_set(void **state) {
  (void)state;
  tkn_router *r = router_from("{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},"
                              "{\"name\":\"b\",\"models\":[\"n\"]}]}",
                              NULL);
  assert_string_equal(decide(r, NULL).tier_name, "b");
  tkn_router_free(r);
}

/* One condition against one task: does the single rule match? */
static int matches(const char *cond, const char *task) {
  char cfg[1024];
  snprintf(cfg, sizeof cfg,
           "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\",\"models\":[\"n\"]}],"
           "\"rules\":[{\"when\":%s,\"tier\":\"a\"}]}",
           cond);
  tkn_router *r = router_from(cfg, NULL);
  tkn_task *t = task_json(task);
  int m = decide(r, t).rule == 0;
  tkn_task_free(t);
  tkn_router_free(r);
  return m;
}

static void operators_follow_their_documented_semantics(void **state) {
  (void)state;
  static const struct {
    const char *cond, *task;
    int want;
  } cases[] = {
      {"{\"attr\":\"k\",\"eq\":\"x\"}", "{\"k\":\"x\"}", 1},
      {"{\"attr\":\"k\",\"eq\":\"x\"}", "{\"k\":\"xy\"}", 0},
      {"{\"attr\":\"k\",\"eq\":\"x\"}", "{}", 0},
      {"{\"attr\":\"k\",\"eq\":1}", "{\"k\":\"1\"}", 0},
      {"{\"attr\":\"k\",\"eq\":1}", "{\"k\":1.0}", 1},
      {"{\"attr\":\"k\",\"eq\":true}", "{\"k\":true}", 1},
      {"{\"attr\":\"k\",\"eq\":true}", "{\"k\":false}", 0},
      {"{\"attr\":\"k\",\"eq\":\"x\"}", "{\"k\":[\"x\"]}", 0},
      {"{\"attr\":\"k\",\"ne\":\"x\"}", "{\"k\":\"y\"}", 1},
      {"{\"attr\":\"k\",\"ne\":\"x\"}", "{\"k\":\"x\"}", 0},
      {"{\"attr\":\"k\",\"ne\":\"x\"}", "{}", 1},
      {"{\"attr\":\"k\",\"in\":[\"a\",2,false]}", "{\"k\":2}", 1},
      {"{\"attr\":\"k\",\"in\":[\"a\",2,false]}", "{\"k\":false}", 1},
      {"{\"attr\":\"k\",\"in\":[\"a\",2,false]}", "{\"k\":\"b\"}", 0},
      {"{\"attr\":\"k\",\"in\":[\"a\",\"b\"]}", "{\"k\":[\"z\",\"b\"]}", 1},
      {"{\"attr\":\"k\",\"in\":[\"a\",\"b\"]}", "{\"k\":[]}", 0},
      {"{\"attr\":\"k\",\"in\":[\"a\"]}", "{}", 0},
      {"{\"attr\":\"k\",\"not_in\":[\"a\"]}", "{}", 1},
      {"{\"attr\":\"k\",\"not_in\":[\"a\"]}", "{\"k\":\"a\"}", 0},
      {"{\"attr\":\"k\",\"not_in\":[\"a\"]}", "{\"k\":\"b\"}", 1},
      {"{\"attr\":\"k\",\"lt\":5}", "{\"k\":4.9}", 1},
      {"{\"attr\":\"k\",\"lt\":5}", "{\"k\":5}", 0},
      {"{\"attr\":\"k\",\"le\":5}", "{\"k\":5}", 1},
      {"{\"attr\":\"k\",\"le\":5}", "{\"k\":5.1}", 0},
      {"{\"attr\":\"k\",\"gt\":5}", "{\"k\":5}", 0},
      {"{\"attr\":\"k\",\"gt\":5}", "{\"k\":6}", 1},
      {"{\"attr\":\"k\",\"ge\":5}", "{\"k\":5}", 1},
      {"{\"attr\":\"k\",\"ge\":5}", "{\"k\":-5}", 0},
      {"{\"attr\":\"k\",\"lt\":5}", "{\"k\":\"4\"}", 0},
      {"{\"attr\":\"k\",\"lt\":5}", "{}", 0},
      {"{\"attr\":\"k\",\"exists\":true}", "{\"k\":false}", 1},
      {"{\"attr\":\"k\",\"exists\":true}", "{}", 0},
      {"{\"attr\":\"k\",\"exists\":false}", "{}", 1},
      {"{\"attr\":\"k\",\"contains\":\"ell\"}", "{\"k\":\"hello\"}", 1},
      {"{\"attr\":\"k\",\"contains\":\"elo\"}", "{\"k\":\"hello\"}", 0},
      {"{\"attr\":\"k\",\"contains\":\"\"}", "{\"k\":\"\"}", 1},
      {"{\"attr\":\"k\",\"contains\":\"lo\"}", "{\"k\":\"lol lo\"}", 1},
      {"{\"attr\":\"k\",\"contains\":\"b\"}", "{\"k\":[\"a\",\"b\"]}", 1},
      {"{\"attr\":\"k\",\"contains\":\"b\"}", "{\"k\":[\"a\",\"bc\"]}", 0},
      {"{\"attr\":\"k\",\"contains\":\"1\"}", "{\"k\":1}", 0},
      {"{\"attr\":\"k\",\"prefix\":\"he\"}", "{\"k\":\"hello\"}", 1},
      {"{\"attr\":\"k\",\"prefix\":\"lo\"}", "{\"k\":\"hello\"}", 0},
      {"{\"attr\":\"k\",\"prefix\":\"hello!\"}", "{\"k\":\"hello\"}", 0},
      {"{\"attr\":\"k\",\"prefix\":\"b\"}", "{\"k\":[\"a\",\"bc\"]}", 1},
      {"{\"all\":[]}", "{}", 1},
      {"{\"all\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"b\",\"eq\":2}]}", "{\"a\":1,\"b\":2}", 1},
      {"{\"all\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"b\",\"eq\":2}]}", "{\"a\":1,\"b\":3}", 0},
      {"{\"all\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"b\",\"eq\":2}]}", "{\"a\":0,\"b\":2}", 0},
      {"{\"any\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"b\",\"eq\":2}]}", "{\"a\":0,\"b\":2}", 1},
      {"{\"any\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"b\",\"eq\":2}]}", "{\"a\":0,\"b\":0}", 0},
      {"{\"not\":{\"attr\":\"a\",\"eq\":1}}", "{\"a\":1}", 0},
      {"{\"not\":{\"attr\":\"a\",\"eq\":1}}", "{}", 1},
      {"{\"any\":[{\"all\":[]},{\"attr\":\"a\",\"eq\":1}]}", "{}", 1},
      {"{\"all\":[{\"all\":[]},{\"attr\":\"a\",\"eq\":1}]}", "{\"a\":1}", 1},
      {"{\"all\":[{\"any\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"a\",\"eq\":2}]},"
       "{\"not\":{\"any\":[{\"attr\":\"b\",\"eq\":1},{\"attr\":\"c\",\"eq\":1}]}}]}",
       "{\"a\":2,\"b\":0,\"c\":0}", 1},
      {"{\"all\":[{\"any\":[{\"attr\":\"a\",\"eq\":1},{\"attr\":\"a\",\"eq\":2}]},"
       "{\"not\":{\"any\":[{\"attr\":\"b\",\"eq\":1},{\"attr\":\"c\",\"eq\":1}]}}]}",
       "{\"a\":2,\"b\":0,\"c\":1}", 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    if (matches(cases[i].cond, cases[i].task) != cases[i].want)
      fail_msg("case %zu: %s on %s should be %d", i, cases[i].cond, cases[i].task,
               cases[i].want);
}

static void config_errors_name_the_json_path(void **state) {
  (void)state;
#define T2 "\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\",\"models\":[\"n\"]}]"
  static const struct {
    const char *json;
    int status;
    const char *msg;
  } cases[] = {
      {"[]", TKN_ERR_SCHEMA, "$: expected an object"},
      {"{}", TKN_ERR_SCHEMA, "$.tiers: missing"},
      {"{\"tiers\":[]}", TKN_ERR_SCHEMA, "$.tiers: no tier"},
      {"{\"tiers\":{}}", TKN_ERR_SCHEMA, "$.tiers: expected an array, got an object"},
      {"{" T2 ",\"tier\":1}", TKN_ERR_SCHEMA, "$.tier: unknown key"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"],\"x\":1}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].x: unknown key"},
      {"{\"tiers\":[{\"models\":[\"m\"]}]}", TKN_ERR_SCHEMA, "$.tiers[0].name: missing"},
      {"{\"tiers\":[{\"name\":7,\"models\":[\"m\"]}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].name: expected a string, got a number"},
      {"{\"tiers\":[{\"name\":\"\",\"models\":[\"m\"]}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].name: empty string"},
      {"{\"tiers\":[{\"name\":\"a\"}]}", TKN_ERR_SCHEMA, "$.tiers[0].models: missing"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[]}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].models: no model"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\",3]}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].models[1]: expected a string"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\",\"m\"]}]}", TKN_ERR_DUPLICATE,
       "$.tiers[0].models[1]: model 'm' listed twice"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"a\",\"models\":[\"n\"]}]}",
       TKN_ERR_DUPLICATE, "$.tiers[1].name: tier 'a' defined twice"},
      {"{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"],\"threshold\":1.5}]}", TKN_ERR_SCHEMA,
       "$.tiers[0].threshold: expected a number in [0, 1]"},
      {"{\"tiers\":[{\"name\":\"a\",\"name\":\"b\",\"models\":[\"m\"]}]}", TKN_ERR_DUPLICATE,
       "$.tiers[0].name: duplicate key"},
      {"{" T2 ",\"default_tier\":\"c\"}", TKN_ERR_NOT_FOUND, "$.default_tier: unknown tier 'c'"},
      {"{" T2 ",\"default_tier\":1}", TKN_ERR_SCHEMA, "$.default_tier: expected a string"},
      {"{" T2 ",\"rules\":{}}", TKN_ERR_SCHEMA, "$.rules: expected an array"},
      {"{" T2 ",\"rules\":[3]}", TKN_ERR_SCHEMA, "$.rules[0]: expected an object"},
      {"{" T2 ",\"rules\":[{}]}", TKN_ERR_SCHEMA, "$.rules[0].tier: missing"},
      {"{" T2 ",\"rules\":[{\"tier\":\"z\"}]}", TKN_ERR_NOT_FOUND,
       "$.rules[0].tier: unknown tier 'z'"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"why\":1}]}", TKN_ERR_SCHEMA,
       "$.rules[0].why: unknown key"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"reason\":1}]}", TKN_ERR_SCHEMA,
       "$.rules[0].reason: expected a string"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"cascade\":1}]}", TKN_ERR_SCHEMA,
       "$.rules[0].cascade: expected a boolean"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"shadow_rate\":2}]}", TKN_ERR_SCHEMA,
       "$.rules[0].shadow_rate: expected a number in [0, 1]"},
      {"{" T2 ",\"rules\":[{\"tier\":\"b\",\"shadow_rate\":0.5}]}", TKN_ERR_SCHEMA,
       "$.rules[0].shadow_rate: no stronger tier"},
      {"{" T2 ",\"rules\":[{\"tier\":\"b\",\"shadow_tier\":\"a\"}]}", TKN_ERR_SCHEMA,
       "$.rules[0].shadow_tier: 'a' is not stronger"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"shadow_tier\":\"q\"}]}", TKN_ERR_NOT_FOUND,
       "$.rules[0].shadow_tier: unknown tier 'q'"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":[]}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when: expected a condition object, got an array"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when: empty condition"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\"}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when: missing an operator"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"eq\":1}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when: expected \"attr\""},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"eq\":1,\"ne\":2}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.ne: more than one operator"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"like\":1}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.like: unknown key"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":3,\"eq\":1}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when.attr: expected a string"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"all\":[{\"attr\":\"x\",\"lt\":\"5\"}]}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.all[0].lt: expected a number, got a string"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"exists\":1}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.exists: expected a boolean"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"prefix\":1}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.prefix: expected a string"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"in\":\"a\"}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.in: expected an array"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"in\":[]}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.in: empty list"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"in\":[\"a\",null]}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.in[1]: expected a string, number or boolean, got null"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"eq\":[1]}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.eq: expected a string, number or boolean"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"all\":{}}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when.all: expected an array of conditions"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"all\":[],\"x\":1}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when.x: a combinator must be the only key"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"eq\":1,\"not\":{}}}]}",
       TKN_ERR_SCHEMA, "$.rules[0].when.not: a combinator must be the only key"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"not\":[]}}]}", TKN_ERR_SCHEMA,
       "$.rules[0].when.not: expected a condition object"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"attr\":\"y\",\"eq\":1}}]}",
       TKN_ERR_DUPLICATE, "$.rules[0].when.attr: duplicate key"},
      /* rules that can never match */
      {"{" T2 ",\"rules\":[{\"tier\":\"a\"},{\"tier\":\"b\"}]}", TKN_ERR_STATE,
       "$.rules[1]: can never match: $.rules[0] always matches"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"attr\":\"x\",\"eq\":1}},"
       "{\"tier\":\"a\",\"when\":{\"all\":[]}},{\"tier\":\"b\",\"when\":{\"attr\":\"y\",\"eq\":1}}]}",
       TKN_ERR_STATE, "$.rules[2]: can never match: $.rules[1] always matches"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"not\":{\"any\":[]}}},{\"tier\":\"b\"}]}",
       TKN_ERR_STATE, "$.rules[1]: can never match: $.rules[0] always matches"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"any\":[{\"attr\":\"x\",\"eq\":1},"
       "{\"all\":[]}]}},{\"tier\":\"b\"}]}",
       TKN_ERR_STATE, "$.rules[1]: can never match: $.rules[0] always matches"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"any\":[]}}]}", TKN_ERR_STATE,
       "$.rules[0].when: the condition is never true"},
      {"{" T2 ",\"rules\":[{\"tier\":\"a\",\"when\":{\"all\":[{\"attr\":\"x\",\"eq\":1},"
       "{\"not\":{\"all\":[]}}]}}]}",
       TKN_ERR_STATE, "$.rules[0].when: the condition is never true"},
      /* cascade and failures */
      {"{" T2 ",\"cascade\":[]}", TKN_ERR_SCHEMA, "$.cascade: expected an object"},
      {"{" T2 ",\"cascade\":{\"max\":1}}", TKN_ERR_SCHEMA, "$.cascade.max: unknown key"},
      {"{" T2 ",\"cascade\":{\"max_escalations\":1.5}}", TKN_ERR_SCHEMA,
       "$.cascade.max_escalations: expected an integer"},
      {"{" T2 ",\"cascade\":{\"max_escalations\":-1}}", TKN_ERR_SCHEMA,
       "$.cascade.max_escalations: expected an integer in [0, 64]"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":3}}", TKN_ERR_SCHEMA,
       "$.cascade.confidence_path: expected a string"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a..b\"}}", TKN_ERR_SCHEMA,
       "$.cascade.confidence_path: malformed path 'a..b'"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\".a\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a.\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a[x]\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a[1\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a]\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"cascade\":{\"confidence_path\":\"a[0]b\"}}", TKN_ERR_SCHEMA, "malformed path"},
      {"{" T2 ",\"failures\":1}", TKN_ERR_SCHEMA, "$.failures: expected an object"},
      {"{" T2 ",\"failures\":{\"allowed\":1}}", TKN_ERR_SCHEMA, "$.failures.allowed: unknown key"},
      {"{" T2 ",\"failures\":{\"allowed_fails\":0}}", TKN_ERR_SCHEMA,
       "$.failures.allowed_fails: expected an integer in [1, 1000]"},
      {"{" T2 ",\"failures\":{\"window_s\":\"60\"}}", TKN_ERR_SCHEMA,
       "$.failures.window_s: expected an integer, got a string"},
      {"{" T2 ",\"failures\":{\"cooldown_s\":-1}}", TKN_ERR_SCHEMA,
       "$.failures.cooldown_s: expected a number in [0, 86400]"},
      {"{" T2 ",\"failures\":{\"retries\":[]}}", TKN_ERR_SCHEMA,
       "$.failures.retries: expected an object"},
      {"{" T2 ",\"failures\":{\"retries\":{\"network\":1}}}", TKN_ERR_SCHEMA,
       "$.failures.retries.network: unknown key"},
      {"{" T2 ",\"failures\":{\"retries\":{\"timeout\":-1}}}", TKN_ERR_SCHEMA,
       "$.failures.retries.timeout: expected an integer in [0, 100]"},
      /* unreadable text */
      {"{\"tiers\":", TKN_ERR_PARSE, "router config: malformed JSON at line 1"},
      {"{\"tiers\":\"\xff\"}", TKN_ERR_UTF8, "invalid UTF-8"},
  };
#undef T2
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tkn_router *r = (tkn_router *)1;
    char e[TKI_ERRLEN] = "";
    int rc = tt_keep_err(tkn_router_new_json(&r, S(cases[i].json), NULL), e, sizeof e);
    if (rc != cases[i].status)
      fail_msg("case %zu: status %d, want %d (%s)", i, rc, cases[i].status, e);
    assert_null(r);
    if (!strstr(e, cases[i].msg)) fail_msg("case %zu: '%s' lacks '%s'", i, e, cases[i].msg);
  }
}

static void config_limits_are_enforced(void **state) {
  (void)state;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]}],\"rules\":[");
  for (int i = 0; i <= 256; i++)
    tki_buf_printf(&b, "%s{\"tier\":\"a\",\"when\":{\"attr\":\"x%d\",\"eq\":1}}", i ? "," : "", i);
  tki_buf_puts(&b, "]}");
  tkn_router *r;
  char e[TKI_ERRLEN];
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, b.data, b.len, NULL), e, sizeof e), TKN_ERR_LIMIT);
  assert_non_null(strstr(e, "$.rules[256].when.eq: more than 256 distinct attributes"));
  tki_buf_free(&b);
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"tiers\":[");
  for (int i = 0; i <= 64; i++) tki_buf_printf(&b, "%s{\"name\":\"t%d\",\"models\":[\"m\"]}", i ? "," : "", i);
  tki_buf_puts(&b, "]}");
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, b.data, b.len, NULL), e, sizeof e), TKN_ERR_LIMIT);
  assert_non_null(strstr(e, "$.tiers: more than 64 tiers"));
  tki_buf_free(&b);
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"tiers\":[{\"name\":\"a\",\"models\":[");
  for (int i = 0; i <= 64; i++) tki_buf_printf(&b, "%s\"m%d\"", i ? "," : "", i);
  tki_buf_puts(&b, "]}]}");
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, b.data, b.len, NULL), e, sizeof e), TKN_ERR_LIMIT);
  assert_non_null(strstr(e, "$.tiers[0].models: more than 64 models"));
  tki_buf_free(&b);
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]}],\"rules\":[{\"tier\":"
                   "\"a\",\"when\":{\"attr\":\"x\",\"in\":[");
  for (int i = 0; i <= 4096; i++) tki_buf_printf(&b, "%s%d", i ? "," : "", i);
  tki_buf_puts(&b, "]}}]}");
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, b.data, b.len, NULL), e, sizeof e), TKN_ERR_LIMIT);
  assert_non_null(strstr(e, "$.rules[0].when.in: more than 4096 values"));
  tki_buf_free(&b);
  tki_buf_init(&b);
  tki_buf_puts(&b, "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]}],\"rules\":[{\"tier\":"
                   "\"a\",\"when\":{\"any\":[");
  for (int i = 0; i <= 4096; i++) tki_buf_printf(&b, "%s{\"attr\":\"x\",\"eq\":%d}", i ? "," : "", i);
  tki_buf_puts(&b, "]}}]}");
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, b.data, b.len, NULL), e, sizeof e), TKN_ERR_LIMIT);
  assert_non_null(strstr(e, "condition has more than 4096 nodes"));
  tki_buf_free(&b);
  assert_int_equal(tkn_router_new_json(NULL, S("{}"), NULL), TKN_ERR_INVALID);
  tkn_router_options o = TKN_ROUTER_OPTIONS_INIT;
  o.version = 2;
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, S("{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]}]}"),
                                       &o), e, sizeof e),
                   TKN_ERR_VERSION);
  assert_null(r);
}

/* ---- explain ---- */

static void explain_says_which_condition_failed_and_why(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  tkn_task *t = task_json("{\"kind\":\"chat\",\"input_tokens\":100,\"tags\":[\"legal\"],"
                          "\"customer\":\"acme\",\"needs_tools\":true}");
  char *s;
  size_t len;
  assert_int_equal(tkn_router_explain(r, t, &s, &len), TKN_OK);
  assert_int_equal(strlen(s), len);
  cJSON *j = cJSON_Parse(s);
  assert_non_null(j);
  assert_int_equal(cJSON_GetObjectItem(j, "rule")->valueint, 2);
  assert_string_equal(cJSON_GetObjectItem(j, "tier")->valuestring, "medium");
  assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "gpt-4o");
  cJSON *rules = cJSON_GetObjectItem(j, "rules");
  assert_int_equal(cJSON_GetArraySize(rules), 4);
  cJSON *r0 = cJSON_GetArrayItem(rules, 0);
  assert_false(cJSON_IsTrue(cJSON_GetObjectItem(r0, "matched")));
  cJSON *f0 = cJSON_GetArrayItem(cJSON_GetObjectItem(r0, "failed"), 0);
  assert_string_equal(cJSON_GetObjectItem(f0, "path")->valuestring, "$.rules[0].when");
  assert_string_equal(cJSON_GetObjectItem(f0, "op")->valuestring, "in");
  assert_string_equal(cJSON_GetObjectItem(f0, "actual")->valuestring, "chat");
  assert_string_equal(cJSON_GetObjectItem(f0, "why")->valuestring,
                      "\"chat\" is not in [\"classify\",\"extract\",\"route\"]");
  /* rule 1 failed only on its "not contains legal" part */
  cJSON *r1 = cJSON_GetArrayItem(rules, 1);
  cJSON *fl = cJSON_GetObjectItem(r1, "failed");
  assert_int_equal(cJSON_GetArraySize(fl), 1);
  cJSON *f1 = cJSON_GetArrayItem(fl, 0);
  assert_string_equal(cJSON_GetObjectItem(f1, "path")->valuestring, "$.rules[1].when.all[1]");
  assert_string_equal(cJSON_GetObjectItem(f1, "op")->valuestring, "not");
  cJSON *r2 = cJSON_GetArrayItem(rules, 2);
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r2, "matched")));
  assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r2, "chosen")));
  cJSON *r3 = cJSON_GetArrayItem(rules, 3);
  cJSON *f3 = cJSON_GetArrayItem(cJSON_GetObjectItem(r3, "failed"), 0);
  assert_true(cJSON_IsNull(cJSON_GetObjectItem(f3, "actual")));
  assert_string_equal(cJSON_GetObjectItem(f3, "why")->valuestring,
                      "attribute 'priority' is missing");
  cJSON_Delete(j);
  tkn_free(s);
  tkn_task_free(t);
  assert_int_equal(tkn_router_explain(NULL, NULL, &s, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_explain(r, NULL, NULL, NULL), TKN_ERR_INVALID);
  tkn_router_free(r);
}

static void explain_reports_type_mismatch_and_numbers(void **state) {
  (void)state;
  tkn_router *r = router_from(
      "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\",\"models\":[\"n\"]}],"
      "\"rules\":[{\"tier\":\"a\",\"when\":{\"any\":[{\"attr\":\"n\",\"lt\":5},"
      "{\"attr\":\"s\",\"ge\":2.5},{\"attr\":\"s\",\"exists\":false}]}}]}",
      NULL);
  tkn_task *t = task_json("{\"n\":9,\"s\":\"x\"}");
  char *s;
  assert_int_equal(tkn_router_explain(r, t, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "\"why\":\"9 is not < 5\""));
  assert_non_null(strstr(s, "\"why\":\"\\\"x\\\" is not a number\""));
  assert_non_null(strstr(s, "\"why\":\"attribute 's' is present\""));
  assert_non_null(strstr(s, "\"expected\":2.5"));
  assert_non_null(strstr(s, "\"rule\":-1"));
  tkn_free(s);
  tkn_router_free(r);
  /* an empty "any" inside a live condition explains itself */
  r = router_from(
      "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\",\"models\":[\"n\"]}],"
      "\"rules\":[{\"tier\":\"a\",\"when\":{\"any\":[{\"any\":[]},{\"attr\":\"n\",\"eq\":1}]}}]}",
      NULL);
  assert_int_equal(tkn_router_explain(r, t, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "{\"path\":\"$.rules[0].when.any[0]\",\"op\":\"any\",\"why\":\"no alternative\"}"));
  assert_non_null(strstr(s, "\"why\":\"9 is not equal to 1\""));
  tkn_free(s);
  tkn_task_free(t);
  tkn_router_free(r);
}

/* decide (bytecode) and explain (tree walk) are two evaluators of the same
 * conditions: on random conditions and tasks they must agree. */
static uint64_t rng = 88172645463325252ull;
static uint64_t next_rand(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

static void random_cond(tki_buf *b, int depth) {
  static const char *const leaves[] = {
      "{\"attr\":\"a\",\"eq\":1}",         "{\"attr\":\"a\",\"lt\":2}",
      "{\"attr\":\"b\",\"ne\":\"x\"}",     "{\"attr\":\"b\",\"in\":[\"x\",\"y\"]}",
      "{\"attr\":\"c\",\"exists\":true}",  "{\"attr\":\"l\",\"contains\":\"p\"}",
      "{\"attr\":\"b\",\"prefix\":\"x\"}", "{\"attr\":\"a\",\"not_in\":[0,3]}",
      "{\"attr\":\"a\",\"ge\":1}",         "{\"all\":[]}",
      "{\"attr\":\"l\",\"in\":[\"p\",\"z\"]}", "{\"attr\":\"l\",\"prefix\":\"q\"}",
      "{\"attr\":\"b\",\"contains\":\"y\"}", "{\"attr\":\"a\",\"in\":[1,\"x\",true]}",
      "{\"attr\":\"c\",\"exists\":false}", "{\"attr\":\"c\",\"eq\":true}",
      "{\"attr\":\"a\",\"le\":2}",         "{\"attr\":\"a\",\"gt\":0}",
      "{\"attr\":\"b\",\"not_in\":[\"y\"]}", "{\"attr\":\"l\",\"eq\":\"p\"}"};
  int k = depth > 3 ? 0 : (int)(next_rand() % 4);
  if (k == 0) {
    tki_buf_puts(b, leaves[next_rand() % (sizeof leaves / sizeof *leaves)]);
  } else if (k == 3) {
    tki_buf_puts(b, "{\"not\":");
    random_cond(b, depth + 1);
    tki_buf_putc(b, '}');
  } else {
    tki_buf_puts(b, k == 1 ? "{\"all\":[" : "{\"any\":[");
    int n = 1 + (int)(next_rand() % 3);
    for (int i = 0; i < n; i++) {
      if (i) tki_buf_putc(b, ',');
      random_cond(b, depth + 1);
    }
    tki_buf_puts(b, "]}");
  }
}

static void decide_and_explain_agree_on_random_conditions(void **state) {
  (void)state;
  int compiled = 0;
  for (int round = 0; round < 300; round++) {
    tki_buf b;
    tki_buf_init(&b);
    tki_buf_puts(&b, "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m\"]},{\"name\":\"b\","
                     "\"models\":[\"n\"]}],\"rules\":[");
    for (int i = 0; i < 4; i++) {
      tki_buf_printf(&b, "%s{\"tier\":\"a\",\"when\":", i ? "," : "");
      random_cond(&b, 0);
      tki_buf_putc(&b, '}');
    }
    tki_buf_puts(&b, "]}");
    tkn_router *r;
    /* constant rules are rejected; those rounds are skipped */
    if (tkn_router_new_json(&r, b.data, b.len, NULL) != TKN_OK) {
      tki_buf_free(&b);
      continue;
    }
    compiled++;
    for (int k = 0; k < 20; k++) {
      tkn_task *t;
      assert_int_equal(tkn_task_new(&t), TKN_OK);
      if (next_rand() % 3) tkn_task_set_number(t, S("a"), (double)(next_rand() % 4));
      static const char *const bs[] = {"x", "xy", "y", "z"};
      if (next_rand() % 3) tkn_task_set_string(t, S("b"), S(bs[next_rand() % 4]));
      if (next_rand() % 2) tkn_task_set_bool(t, S("c"), (int32_t)(next_rand() % 2));
      else if (next_rand() % 2) tkn_task_set_string(t, S("c"), S("true"));
      const char *ls[] = {"p", "q"};
      size_t ll[] = {1, 1};
      if (next_rand() % 2) tkn_task_set_strings(t, S("l"), ls + next_rand() % 2, ll, 1);
      else if (next_rand() % 2) tkn_task_set_string(t, S("l"), S(bs[next_rand() % 4]));
      tkn_router_decision d = decide(r, t);
      char *s;
      assert_int_equal(tkn_router_explain(r, t, &s, NULL), TKN_OK);
      cJSON *j = cJSON_Parse(s);
      int first = -1;
      cJSON *rules = cJSON_GetObjectItem(j, "rules");
      for (int i = cJSON_GetArraySize(rules) - 1; i >= 0; i--)
        if (cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(rules, i), "matched"))) first = i;
      if (d.rule != first) fail_msg("decide %d, explain %d on %s", d.rule, first, b.data);
      cJSON_Delete(j);
      tkn_free(s);
      tkn_task_free(t);
    }
    tkn_router_free(r);
    tki_buf_free(&b);
  }
  assert_true(compiled > 100);
}

/* ---- builder ---- */

static void builder_builds_what_the_json_config_builds(void **state) {
  (void)state;
  tkn_router_builder *b;
  assert_int_equal(tkn_router_builder_new(&b), TKN_OK);
  const char *small[] = {"gpt-4o-mini", "claude-3-5-haiku"}, *med[] = {"gpt-4o", "claude-sonnet-4"},
             *large[] = {"o3", "claude-opus-4"};
  size_t sl[] = {11, 16}, ml[] = {6, 15}, ll[] = {2, 13};
  assert_int_equal(tkn_router_builder_add_tier(b, S("small"), small, sl, 2, 0.8), TKN_OK);
  assert_int_equal(tkn_router_builder_add_tier(b, S("medium"), med, ml, 2, 0.7), TKN_OK);
  assert_int_equal(tkn_router_builder_add_tier(b, S("large"), large, ll, 2, 0.6), TKN_OK);
  tkn_router_rule ru = TKN_ROUTER_RULE_INIT;
  ru.when = "{\"attr\": \"kind\", \"in\": [\"classify\", \"extract\", \"route\"]}";
  ru.when_len = strlen(ru.when);
  ru.tier = "small";
  ru.tier_len = 5;
  ru.reason = "short structured task";
  ru.reason_len = strlen(ru.reason);
  ru.shadow_rate = 0.05;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_OK);
  ru = (tkn_router_rule)TKN_ROUTER_RULE_INIT;
  ru.when = "{\"all\": [{\"attr\": \"input_tokens\", \"lt\": 2000},"
            "{\"not\": {\"attr\": \"tags\", \"contains\": \"legal\"}}]}";
  ru.when_len = strlen(ru.when);
  ru.tier = "small";
  ru.tier_len = 5;
  ru.reason = "small prompt";
  ru.reason_len = strlen(ru.reason);
  ru.cascade = 1;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_OK);
  ru = (tkn_router_rule)TKN_ROUTER_RULE_INIT;
  ru.when = "{\"any\": [{\"attr\": \"customer\", \"prefix\": \"enterprise:\"},"
            "{\"attr\": \"needs_tools\", \"eq\": true}]}";
  ru.when_len = strlen(ru.when);
  ru.tier = "medium";
  ru.tier_len = 6;
  ru.reason = "enterprise or tool use";
  ru.reason_len = strlen(ru.reason);
  ru.shadow_rate = 0.1;
  ru.shadow_tier = "large";
  ru.shadow_tier_len = 5;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_OK);
  ru = (tkn_router_rule)TKN_ROUTER_RULE_INIT;
  ru.when = "{\"attr\": \"priority\", \"exists\": true}";
  ru.when_len = strlen(ru.when);
  ru.tier = "large";
  ru.tier_len = 5;
  ru.reason = "flagged";
  ru.reason_len = 7;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_OK);
  assert_int_equal(tkn_router_builder_set_default_tier(b, S("medium")), TKN_OK);
  assert_int_equal(tkn_router_builder_set_cascade(b, 2, S("confidence")), TKN_OK);
  assert_int_equal(tkn_router_builder_set_failures(b, 3, 60, 5), TKN_OK);
  static const int32_t retries[] = {2, 2, 1, 0, 0, 0};
  for (int32_t c = 0; c < TKN_LLM_FAIL__COUNT; c++)
    assert_int_equal(tkn_router_builder_set_retries(b, c, retries[c]), TKN_OK);
  tkn_router *rb, *rj = example(NULL);
  assert_int_equal(tkn_router_builder_build(b, NULL, &rb), TKN_OK);
  /* the same config: canonical JSON of both documents is equal */
  char *bj;
  size_t bl;
  assert_int_equal(tkn_router_builder_to_json(b, &bj, &bl), TKN_OK);
  assert_int_equal(strlen(bj), bl);
  char *ex = example_text(), e[TKI_ERRLEN];
  tki_buf c1, c2;
  tki_buf_init(&c1);
  tki_buf_init(&c2);
  assert_int_equal(tki_json_canonicalize(bj, bl, 1 << 20, 64, "b", &c1, e), TKN_OK);
  assert_int_equal(tki_json_canonicalize(ex, strlen(ex), 1 << 20, 64, "j", &c2, e), TKN_OK);
  assert_string_equal(c1.data, c2.data);
  tki_buf_free(&c1);
  tki_buf_free(&c2);
  free(ex);
  tkn_free(bj);
  const char *tasks[] = {"{\"kind\":\"route\"}", "{\"input_tokens\":3}",
                         "{\"needs_tools\":true}", "{\"priority\":1}", "{}"};
  for (size_t i = 0; i < 5; i++) {
    tkn_task *t = task_json(tasks[i]);
    tkn_router_decision d1 = decide(rb, t), d2 = decide(rj, t);
    assert_int_equal(d1.rule, d2.rule);
    assert_string_equal(d1.model, d2.model);
    tkn_task_free(t);
  }
  /* the builder may build again */
  tkn_router *again;
  assert_int_equal(tkn_router_builder_build(b, NULL, &again), TKN_OK);
  tkn_router_free(again);
  tkn_router_free(rb);
  tkn_router_free(rj);
  tkn_router_builder_free(b);
  tkn_router_builder_free(NULL);
}

static void builder_errors_leave_it_unchanged(void **state) {
  (void)state;
  tkn_router_builder *b;
  assert_int_equal(tkn_router_builder_new(&b), TKN_OK);
  const char *m[] = {"m"};
  size_t ml[] = {1};
  assert_int_equal(tkn_router_builder_add_tier(b, S("a"), m, ml, 1, 0.5), TKN_OK);
  char *before, *after;
  assert_int_equal(tkn_router_builder_to_json(b, &before, NULL), TKN_OK);
  assert_int_equal(tkn_router_builder_add_tier(b, "a\0b", 3, m, ml, 1, 0.5), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "NUL"));
  assert_int_equal(tkn_router_builder_add_tier(b, "\xff", 1, m, ml, 1, 0.5), TKN_ERR_UTF8);
  assert_int_equal(tkn_router_builder_add_tier(b, S("c"), NULL, NULL, 1, 0.5), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_add_tier(b, S("c"), m, ml, 1, NAN), TKN_ERR_INVALID);
  tkn_router_rule ru = TKN_ROUTER_RULE_INIT;
  ru.when = "{\"attr\":";
  ru.when_len = strlen(ru.when);
  ru.tier = "a";
  ru.tier_len = 1;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_ERR_PARSE);
  assert_non_null(strstr(tkn_error_last()->message, "rule condition"));
  ru.when = NULL;
  ru.when_len = 0;
  ru.shadow_rate = NAN;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_ERR_INVALID);
  ru.shadow_rate = 0;
  ru.version = 5;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_ERR_VERSION);
  assert_int_equal(tkn_router_builder_set_retries(b, 17, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_failures(b, 3, 60, INFINITY), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_default_tier(b, NULL, 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_cascade(b, 1, "\xff", 1), TKN_ERR_UTF8);
  assert_int_equal(tkn_router_builder_to_json(b, &after, NULL), TKN_OK);
  assert_string_equal(before, after);
  tkn_free(before);
  tkn_free(after);
  /* build-time errors name the JSON path of the collected config */
  ru = (tkn_router_rule)TKN_ROUTER_RULE_INIT;
  ru.tier = "nope";
  ru.tier_len = 4;
  assert_int_equal(tkn_router_builder_add_rule(b, &ru), TKN_OK);
  tkn_router *r = (tkn_router *)1;
  assert_int_equal(tkn_router_builder_build(b, NULL, &r), TKN_ERR_NOT_FOUND);
  assert_null(r);
  assert_string_equal(tkn_error_last()->message,
                      "router config: $.rules[0].tier: unknown tier 'nope'");
  assert_int_equal(tkn_router_builder_set_failures(b, 0, 60, 5), TKN_OK);
  assert_int_equal(tkn_router_builder_build(b, NULL, &r), TKN_ERR_SCHEMA);
  assert_non_null(strstr(tkn_error_last()->message, "$.failures.allowed_fails"));
  /* NULL handles */
  assert_int_equal(tkn_router_builder_new(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_add_tier(NULL, S("a"), m, ml, 1, 0.5), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_add_rule(b, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_default_tier(NULL, S("a")), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_cascade(NULL, 1, NULL, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_failures(NULL, 1, 1, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_set_retries(NULL, 0, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_to_json(NULL, &after, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_build(NULL, NULL, &r), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_builder_build(b, NULL, NULL), TKN_ERR_INVALID);
  tkn_router_builder_free(b);
}

/* ---- failures ---- */

static void fail_class_names_round_trip(void **state) {
  (void)state;
  static const char *const names[] = {"rate_limit", "timeout", "server", "bad_request", "auth",
                                      "content_policy"};
  for (int32_t c = 0; c < TKN_LLM_FAIL__COUNT; c++) {
    assert_string_equal(tkn_llm_fail_name(c), names[c]);
    assert_int_equal(tkn_llm_fail_from_name(S(names[c])), c);
  }
  assert_string_equal(tkn_llm_fail_name(TKN_LLM_FAIL_NONE), "none");
  assert_null(tkn_llm_fail_name(-2));
  assert_null(tkn_llm_fail_name(TKN_LLM_FAIL__COUNT));
  assert_int_equal(tkn_llm_fail_from_name(S("network")), -1);
  assert_int_equal(tkn_llm_fail_from_name("timeou", 6), -1);
  assert_int_equal(tkn_llm_fail_from_name(NULL, 0), -1);
}

static void model_cools_down_after_allowed_fails_within_a_minute(void **state) {
  (void)state;
  tkn_router_options o = fake_clock_opts();
  tkn_router *r = example(&o);
  tkn_task *t = task_json("{\"kind\":\"classify\"}");
  int32_t cooled;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(tkn_router_report_failure(r, S("gpt-4o-mini"), TKN_LLM_FAIL_TIMEOUT,
                                               &cooled),
                     TKN_OK);
    assert_int_equal(cooled, 0);
    clk.now += 1000;
  }
  assert_string_equal(decide(r, t).model, "gpt-4o-mini");
  assert_int_equal(tkn_router_report_failure(r, S("gpt-4o-mini"), TKN_LLM_FAIL_SERVER,
                                             &cooled),
                   TKN_OK);
  assert_int_equal(cooled, 1);
  int64_t until;
  assert_int_equal(tkn_router_model_cooldown(r, S("gpt-4o-mini"), &until), TKN_OK);
  assert_int_equal(until, clk.now + 5000);
  /* the next model of the tier takes over */
  tkn_router_decision d = decide(r, t);
  assert_string_equal(d.model, "claude-3-5-haiku");
  assert_int_equal(d.tier, 0);
  clk.now += 4999;
  assert_string_equal(decide(r, t).model, "claude-3-5-haiku");
  clk.now += 1;
  assert_string_equal(decide(r, t).model, "gpt-4o-mini");
  assert_int_equal(tkn_router_model_cooldown(r, S("gpt-4o-mini"), &until), TKN_OK);
  assert_int_equal(until, 0);
  tkn_task_free(t);
  tkn_router_free(r);
}

/* tkn_router_tier_model names what a cascade started at the tier would call
 * (the agent used to build and free a cascade to learn it). */
static void tier_model_is_the_first_model_not_cooling_down(void **state) {
  (void)state;
  tkn_router_options o = fake_clock_opts();
  tkn_router *r = example(&o);
  int32_t tier = -1;
  const char *model = NULL;
  assert_int_equal(tkn_router_tier_model(r, 1, &tier, &model), TKN_OK);
  assert_string_equal(model, "gpt-4o");
  assert_int_equal(tier, 1);
  int32_t cooled;
  const char *small[] = {"gpt-4o-mini", "claude-3-5-haiku"};
  for (int k = 0; k < 2; k++) {
    for (int i = 0; i < 3; i++)
      assert_int_equal(tkn_router_report_failure(r, S(small[k]), TKN_LLM_FAIL_SERVER, &cooled),
                       TKN_OK);
    assert_int_equal(cooled, 1);
    assert_int_equal(tkn_router_tier_model(r, 0, &tier, &model), TKN_OK);
    assert_string_equal(model, k == 0 ? "claude-3-5-haiku" : "gpt-4o"); /* then one tier up */
    assert_int_equal(tier, k == 0 ? 0 : 1);
  }
  assert_int_equal(tkn_router_tier_model(r, 3, &tier, &model), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "no tier 3"));
  assert_int_equal(tkn_router_tier_model(r, 0, NULL, &model), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_tier_model(NULL, 0, &tier, &model), TKN_ERR_INVALID);
  tkn_router_free(r);
}

static void failures_outside_the_window_do_not_count(void **state) {
  (void)state;
  tkn_router_options o = fake_clock_opts();
  tkn_router *r = example(&o);
  int32_t cooled;
  for (int i = 0; i < 10; i++) {
    assert_int_equal(tkn_router_report_failure(r, S("o3"), TKN_LLM_FAIL_RATE_LIMIT, &cooled),
                     TKN_OK);
    assert_int_equal(cooled, 0);
    clk.now += 30001; /* 3 failures never fall within 60 s */
  }
  /* failures that are the request's fault never count */
  for (int i = 0; i < 5; i++) {
    assert_int_equal(tkn_router_report_failure(r, S("o3"), TKN_LLM_FAIL_BAD_REQUEST, &cooled),
                     TKN_OK);
    assert_int_equal(tkn_router_report_failure(r, S("o3"), TKN_LLM_FAIL_CONTENT_POLICY,
                                               &cooled),
                     TKN_OK);
    assert_int_equal(cooled, 0);
  }
  int64_t until;
  assert_int_equal(tkn_router_model_cooldown(r, S("o3"), &until), TKN_OK);
  assert_int_equal(until, 0);
  tkn_router_free(r);
}

static void a_cooling_tier_hands_over_to_the_next_tier(void **state) {
  (void)state;
  tkn_router_options o = fake_clock_opts();
  tkn_router *r = example(&o);
  tkn_task *t = task_json("{\"kind\":\"classify\"}");
  for (int i = 0; i < 3; i++) {
    tkn_router_report_failure(r, S("gpt-4o-mini"), TKN_LLM_FAIL_AUTH, NULL);
    tkn_router_report_failure(r, S("claude-3-5-haiku"), TKN_LLM_FAIL_TIMEOUT, NULL);
  }
  tkn_router_decision d = decide(r, t);
  assert_int_equal(d.rule, 0);
  assert_int_equal(d.rule_tier, 0);
  assert_int_equal(d.tier, 1);
  assert_string_equal(d.tier_name, "medium");
  assert_string_equal(d.model, "gpt-4o");
  char *s;
  assert_int_equal(tkn_router_explain(r, t, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "\"failover_tier\":\"medium\""));
  tkn_free(s);
  /* everything from medium up cooling: unavailable */
  const char *rest[] = {"gpt-4o", "claude-sonnet-4", "o3", "claude-opus-4"};
  for (int k = 0; k < 4; k++)
    for (int i = 0; i < 3; i++) tkn_router_report_failure(r, S(rest[k]), TKN_LLM_FAIL_SERVER, NULL);
  d = (tkn_router_decision)TKN_ROUTER_DECISION_INIT;
  assert_int_equal(tkn_router_decide(r, t, &d), TKN_ERR_UNAVAILABLE);
  assert_null(d.model);
  assert_int_equal(tkn_router_explain(r, t, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "\"model\":null"));
  tkn_free(s);
  clk.now += 5000;
  assert_string_equal(decide(r, t).model, "gpt-4o-mini");
  tkn_task_free(t);
  tkn_router_free(r);
}

static void failure_reports_reject_unknown_models_and_classes(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  int32_t cooled = 7;
  assert_int_equal(tkn_router_report_failure(r, S("gpt-5"), 0, &cooled), TKN_ERR_NOT_FOUND);
  assert_int_equal(cooled, 0);
  assert_int_equal(tkn_router_report_failure(r, S("o3"), 6, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_report_failure(r, S("o3"), -1, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_report_failure(NULL, S("o3"), 0, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_report_failure(r, NULL, 0, 0, NULL), TKN_ERR_NOT_FOUND);
  int64_t until;
  assert_int_equal(tkn_router_model_cooldown(r, S("gpt-5"), &until), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_router_model_cooldown(r, S("o3"), NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_model_cooldown(NULL, S("o3"), &until), TKN_ERR_INVALID);
  /* the real clock works too: a cooldown is in the future */
  for (int i = 0; i < 3; i++) tkn_router_report_failure(r, S("o3"), 0, NULL);
  assert_int_equal(tkn_router_model_cooldown(r, S("o3"), &until), TKN_OK);
  assert_true(until > 0);
  tkn_router_free(r);
}

/* ---- shadow evaluation ---- */

static void shadow_sampling_is_the_documented_hash_of_the_id(void **state) {
  (void)state;
  tkn_router_options o = TKN_ROUTER_OPTIONS_INIT;
  o.shadow_seed = 42;
  tkn_router *r = example(&o);
  tkn_task *t = task_json("{\"kind\":\"extract\"}"); /* rule 0: rate 0.05 */
  int sampled = 0;
  for (int i = 0; i < 4000; i++) {
    char id[32];
    snprintf(id, sizeof id, "req-%d", i);
    assert_int_equal(tkn_task_set_id(t, S(id)), TKN_OK);
    tkn_router_decision d = decide(r, t);
    int want = (tki_hash64(id, strlen(id), 42) >> 11) < (uint64_t)(0.05 * 9007199254740992.0);
    assert_int_equal(d.shadow, want);
    if (d.shadow) {
      assert_int_equal(d.shadow_tier, 1);
      assert_string_equal(d.shadow_model, "gpt-4o");
    } else {
      assert_int_equal(d.shadow_tier, -1);
      assert_null(d.shadow_model);
    }
    sampled += d.shadow;
    /* deterministic: the same id gives the same answer */
    assert_int_equal(decide(r, t).shadow, d.shadow);
    sampled += d.shadow;
  }
  assert_true(sampled > 2 * 120 && sampled < 2 * 290); /* ~5% of 4000, twice */
  uint64_t s;
  assert_int_equal(tkn_router_shadow_stats(r, 0, &s, NULL, NULL), TKN_OK);
  assert_int_equal(s, (uint64_t)sampled);
  tkn_task_free(t);
  tkn_router_free(r);
}

static void shadow_needs_an_id_and_honours_rate_and_tier(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  tkn_task *t = task_json("{\"needs_tools\":true}"); /* rule 2: 0.1 to "large" */
  assert_int_equal(decide(r, t).shadow, 0);        /* no id: never */
  int n = 0;
  for (int i = 0; i < 1000; i++) {
    char id[16];
    snprintf(id, sizeof id, "%d", i);
    tkn_task_set_id(t, S(id));
    tkn_router_decision d = decide(r, t);
    if (d.shadow) {
      n++;
      assert_int_equal(d.shadow_tier, 2);
      assert_string_equal(d.shadow_model, "o3");
    }
  }
  assert_true(n > 50 && n < 150);
  tkn_task_free(t);
  /* rule 1 has no rate: never sampled */
  t = task_json("{\"$id\":\"x\",\"input_tokens\":1}");
  assert_int_equal(decide(r, t).shadow, 0);
  tkn_task_free(t);
  tkn_router_free(r);
}

static int same_text(const char *a, size_t al, const char *b, size_t bl, void *user) {
  (*(int *)user)++;
  return al == bl && memcmp(a, b, al) == 0;
}

static int broken_cmp(const char *a, size_t al, const char *b, size_t bl, void *user) {
  (void)a, (void)al, (void)b, (void)bl, (void)user;
  return -1;
}

static void shadow_agreement_is_kept_per_rule(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  int calls = 0;
  int32_t agreed;
  assert_int_equal(tkn_router_shadow_compare(r, 0, S("yes"), S("yes"), same_text, &calls, &agreed),
                   TKN_OK);
  assert_int_equal(agreed, 1);
  assert_int_equal(tkn_router_shadow_compare(r, 0, S("yes"), S("no"), same_text, &calls, &agreed),
                   TKN_OK);
  assert_int_equal(agreed, 0);
  assert_int_equal(tkn_router_shadow_compare(r, 0, S("a"), S("a"), same_text, &calls, NULL),
                   TKN_OK);
  assert_int_equal(tkn_router_shadow_compare(r, 2, NULL, 0, NULL, 0, same_text, &calls, NULL),
                   TKN_OK);
  assert_int_equal(calls, 4);
  assert_int_equal(tkn_router_shadow_compare(r, 0, S("a"), S("a"), broken_cmp, NULL, &agreed),
                   TKN_ERR_CALLBACK);
  assert_int_equal(tkn_router_shadow_compare(r, 4, S("a"), S("a"), same_text, &calls, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_compare(r, -1, S("a"), S("a"), same_text, &calls, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_compare(r, 0, NULL, 1, S("a"), same_text, &calls, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_compare(r, 0, S("a"), S("a"), NULL, NULL, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_compare(NULL, 0, S("a"), S("a"), same_text, &calls, NULL),
                   TKN_ERR_INVALID);
  uint64_t s, c, a;
  assert_int_equal(tkn_router_shadow_stats(r, 0, &s, &c, &a), TKN_OK);
  assert_int_equal(c, 3);
  assert_int_equal(a, 2);
  assert_int_equal(s, 0);
  assert_int_equal(tkn_router_shadow_stats(r, 2, NULL, &c, &a), TKN_OK);
  assert_int_equal(c, 1);
  assert_int_equal(a, 1);
  assert_int_equal(tkn_router_shadow_stats(r, 9, &s, &c, &a), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_stats(NULL, 0, &s, &c, &a), TKN_ERR_INVALID);
  char *js;
  size_t jl;
  assert_int_equal(tkn_router_shadow_report(r, &js, &jl), TKN_OK);
  assert_string_equal(js,
                      "{\"rules\":[{\"index\":0,\"tier\":\"small\",\"shadow_tier\":\"medium\","
                      "\"rate\":0.05,\"sampled\":0,\"compared\":3,\"agreed\":2,"
                      "\"agreement\":0.66666666666666663},{\"index\":2,\"tier\":\"medium\","
                      "\"shadow_tier\":\"large\",\"rate\":0.1,\"sampled\":0,\"compared\":1,"
                      "\"agreed\":1,\"agreement\":1}]}");
  assert_int_equal(strlen(js), jl);
  tkn_free(js);
  assert_int_equal(tkn_router_shadow_report(NULL, &js, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_shadow_report(r, NULL, NULL), TKN_ERR_INVALID);
  tkn_router_free(r);
}

/* ---- cascades ---- */

static tkn_router_cascade *cascade(const tkn_router *r, const tkn_router_cascade_options *o) {
  tkn_router_cascade *c;
  assert_int_equal(tkn_router_cascade_new(&c, r, o), TKN_OK);
  return c;
}

static int32_t attempt(tkn_router_cascade *c, const char *content, int32_t valid, int64_t cost,
                       int32_t want_tier, const char *want_model) {
  int32_t tier, st;
  const char *model;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
  assert_int_equal(tier, want_tier);
  assert_string_equal(model, want_model);
  assert_int_equal(tkn_router_cascade_report(c, S(content), valid, cost, &st, NULL), TKN_OK);
  return st;
}

static void cascade_accepts_when_confidence_reaches_the_threshold(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  tkn_router_cascade *c = cascade(r, NULL);
  assert_int_equal(tkn_router_cascade_state(c), TKN_ROUTER_CASCADE_RUNNING);
  assert_int_equal(attempt(c, "{\"answer\":1,\"confidence\":0.8}", 1, 120, 0, "gpt-4o-mini"),
                   TKN_ROUTER_CASCADE_ACCEPTED);
  assert_int_equal(tkn_router_cascade_state(c), TKN_ROUTER_CASCADE_ACCEPTED);
  assert_int_equal(tkn_router_cascade_attempts(c), 1);
  assert_int_equal(tkn_router_cascade_total_cost(c), 120);
  int32_t tier;
  const char *model;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_ERR_STATE);
  assert_non_null(strstr(tkn_error_last()->message, "already accepted"));
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

static void cascade_escalates_then_accepts_and_records_every_attempt(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  tkn_router_cascade *c = cascade(r, NULL);
  assert_int_equal(attempt(c, "{\"confidence\":0.79}", 1, 100, 0, "gpt-4o-mini"),
                   TKN_ROUTER_CASCADE_ESCALATE);
  assert_int_equal(attempt(c, "not json", 1, 400, 1, "gpt-4o"), TKN_ROUTER_CASCADE_ESCALATE);
  assert_int_equal(attempt(c, "{\"confidence\":0.65}", 1, 2000, 2, "o3"),
                   TKN_ROUTER_CASCADE_ACCEPTED);
  assert_int_equal(tkn_router_cascade_total_cost(c), 2500);
  char *s;
  size_t len;
  assert_int_equal(tkn_router_cascade_to_json(c, &s, &len), TKN_OK);
  assert_string_equal(
      s, "{\"state\":\"accepted\",\"total_cost\":2500,\"best\":0,\"attempts\":["
         "{\"tier\":\"small\",\"model\":\"gpt-4o-mini\",\"confidence\":0.79,\"valid\":true,"
         "\"source\":\"field\",\"cost\":100,\"outcome\":\"escalate\"},"
         "{\"tier\":\"medium\",\"model\":\"gpt-4o\",\"confidence\":0,\"valid\":true,"
         "\"source\":\"not_json\",\"cost\":400,\"outcome\":\"escalate\"},"
         "{\"tier\":\"large\",\"model\":\"o3\",\"confidence\":0.65,\"valid\":true,"
         "\"source\":\"field\",\"cost\":2000,\"outcome\":\"accepted\"}]}");
  assert_int_equal(strlen(s), len);
  tkn_free(s);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

static void cascade_stops_after_max_escalations(void **state) {
  (void)state;
  tkn_router *r = router_from(
      "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m1\"],\"threshold\":0.9},"
      "{\"name\":\"b\",\"models\":[\"m2\"],\"threshold\":0.9},"
      "{\"name\":\"c\",\"models\":[\"m3\"],\"threshold\":0.9}],"
      "\"cascade\":{\"max_escalations\":1}}",
      NULL);
  tkn_router_cascade *c = cascade(r, NULL);
  assert_int_equal(attempt(c, "{\"confidence\":0.1}", 1, 1, 0, "m1"), TKN_ROUTER_CASCADE_ESCALATE);
  assert_int_equal(attempt(c, "{\"confidence\":0.2}", 1, 1, 1, "m2"), TKN_ROUTER_CASCADE_EXHAUSTED);
  int32_t tier;
  const char *model;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_ERR_STATE);
  char *s;
  assert_int_equal(tkn_router_cascade_to_json(c, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "\"state\":\"exhausted\""));
  assert_non_null(strstr(s, "\"best\":1"));
  tkn_free(s);
  tkn_router_cascade_free(c);
  /* starting at the last tier, a low score exhausts at once */
  tkn_router_cascade_options o = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  o.start_tier = 2;
  c = cascade(r, &o);
  assert_int_equal(attempt(c, "{\"confidence\":0.1}", 1, 1, 2, "m3"), TKN_ROUTER_CASCADE_EXHAUSTED);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

static void cascade_counts_invalid_and_missing_confidence_as_zero(void **state) {
  (void)state;
  tkn_router *r = router_from(
      "{\"tiers\":[{\"name\":\"a\",\"models\":[\"m1\"],\"threshold\":0},"
      "{\"name\":\"b\",\"models\":[\"m2\"]}],"
      "\"cascade\":{\"confidence_path\":\"meta.scores[1]\"}}",
      NULL);
  static const struct {
    const char *content;
    int32_t valid;
    const char *source;
  } cases[] = {
      {"{\"meta\":{\"scores\":[0.1,0.9]}}", 0, "invalid"},
      {"{\"meta\":{\"scores\":[0.1]}}", 1, "missing"},
      {"{\"meta\":{\"scores\":[0.1,\"0.9\"]}}", 1, "missing"},
      {"{\"meta\":[0.1,0.9]}", 1, "missing"},
      {"{\"meta\":{\"scores\":{\"1\":0.9}}}", 1, "missing"},
      {"```json", 1, "not_json"},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tkn_router_cascade *c = cascade(r, NULL);
    int32_t tier, st;
    const char *model;
    double conf = -1;
    assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
    assert_int_equal(
        tkn_router_cascade_report(c, S(cases[i].content), cases[i].valid, 5, &st, &conf), TKN_OK);
    assert_true(conf == 0);
    /* threshold 0: a zero still reaches it */
    assert_int_equal(st, TKN_ROUTER_CASCADE_ACCEPTED);
    char *s;
    assert_int_equal(tkn_router_cascade_to_json(c, &s, NULL), TKN_OK);
    char want[64];
    snprintf(want, sizeof want, "\"source\":\"%s\"", cases[i].source);
    if (!strstr(s, want)) fail_msg("case %zu: %s lacks %s", i, s, want);
    tkn_free(s);
    tkn_router_cascade_free(c);
  }
  tkn_router_cascade *c = cascade(r, NULL);
  int32_t tier, st;
  const char *model;
  double conf;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
  assert_int_equal(tkn_router_cascade_report(c, S("{\"meta\":{\"scores\":[0.1,0.9]}}"), 1, 5, &st,
                                             &conf),
                   TKN_OK);
  assert_true(conf == 0.9);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

static int score_len(const char *content, size_t len, double *conf, void *user) {
  (void)content;
  (*(int *)user)++;
  *conf = len >= 10 ? 0.95 : 0.1;
  return 0;
}

static int score_fail(const char *content, size_t len, double *conf, void *user) {
  (void)content, (void)len, (void)conf, (void)user;
  return 1;
}

static int score_nan(const char *content, size_t len, double *conf, void *user) {
  (void)content, (void)len, (void)user;
  *conf = NAN;
  return 0;
}

static void cascade_uses_the_host_scorer(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  int calls = 0;
  tkn_router_cascade_options o = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  o.score = score_len;
  o.score_user = &calls;
  tkn_router_cascade *c = cascade(r, &o);
  assert_int_equal(attempt(c, "short", 1, 1, 0, "gpt-4o-mini"), TKN_ROUTER_CASCADE_ESCALATE);
  /* an invalid response is 0 without asking the scorer */
  assert_int_equal(attempt(c, "a long enough answer", 0, 1, 1, "gpt-4o"),
                   TKN_ROUTER_CASCADE_ESCALATE);
  assert_int_equal(attempt(c, "a long enough answer", 1, 1, 2, "o3"),
                   TKN_ROUTER_CASCADE_ACCEPTED);
  assert_int_equal(calls, 2);
  char *s;
  assert_int_equal(tkn_router_cascade_to_json(c, &s, NULL), TKN_OK);
  assert_non_null(strstr(s, "\"source\":\"scorer\""));
  assert_non_null(strstr(s, "\"valid\":false,\"source\":\"invalid\""));
  tkn_free(s);
  tkn_router_cascade_free(c);
  /* a failing scorer leaves the cascade as it was */
  o.score = score_fail;
  c = cascade(r, &o);
  int32_t tier, st = -1;
  const char *model;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
  assert_int_equal(tkn_router_cascade_report(c, S("x"), 1, 5, &st, NULL), TKN_ERR_CALLBACK);
  assert_non_null(strstr(tkn_error_last()->message, "scorer failed"));
  assert_int_equal(st, -1);
  assert_int_equal(tkn_router_cascade_attempts(c), 0);
  assert_int_equal(tkn_router_cascade_total_cost(c), 0);
  o.score = score_nan;
  tkn_router_cascade *c2 = cascade(r, &o);
  assert_int_equal(tkn_router_cascade_next(c2, &tier, &model), TKN_OK);
  assert_int_equal(tkn_router_cascade_report(c2, S("x"), 1, 5, &st, NULL), TKN_ERR_CALLBACK);
  tkn_router_cascade_free(c2);
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

static void cascade_rejects_misuse(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  tkn_router_cascade *c;
  tkn_router_cascade_options o = TKN_ROUTER_CASCADE_OPTIONS_INIT;
  o.start_tier = 3;
  assert_int_equal(tkn_router_cascade_new(&c, r, &o), TKN_ERR_INVALID);
  assert_null(c);
  o.start_tier = -1;
  assert_int_equal(tkn_router_cascade_new(&c, r, &o), TKN_ERR_INVALID);
  o.start_tier = 0;
  o.version = 2;
  assert_int_equal(tkn_router_cascade_new(&c, r, &o), TKN_ERR_VERSION);
  assert_int_equal(tkn_router_cascade_new(&c, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_new(NULL, r, NULL), TKN_ERR_INVALID);
  c = cascade(r, NULL);
  int32_t st, tier;
  const char *model;
  assert_int_equal(tkn_router_cascade_report(c, S("{}"), 1, 1, &st, NULL), TKN_ERR_STATE);
  assert_non_null(strstr(tkn_error_last()->message, "without a pending call"));
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
  assert_int_equal(tkn_router_cascade_report(c, S("{}"), 1, -1, &st, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_report(c, NULL, 3, 1, 1, &st, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_report(c, S("{\"confidence\":0}"), 1, INT64_MAX, &st, NULL),
                   TKN_OK);
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_OK);
  assert_int_equal(tkn_router_cascade_report(c, S("{}"), 1, 1, &st, NULL), TKN_ERR_OVERFLOW);
  assert_int_equal(tkn_router_cascade_attempts(c), 1);
  assert_int_equal(tkn_router_cascade_total_cost(c), INT64_MAX);
  assert_int_equal(tkn_router_cascade_next(NULL, &tier, &model), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_next(c, NULL, &model), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_report(NULL, S("{}"), 1, 1, &st, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_to_json(NULL, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_cascade_state(NULL), TKN_ROUTER_CASCADE_RUNNING);
  assert_int_equal(tkn_router_cascade_attempts(NULL), 0);
  assert_int_equal(tkn_router_cascade_total_cost(NULL), 0);
  tkn_router_cascade_free(c);
  tkn_router_cascade_free(NULL);
  tkn_router_free(r);
}

static void cascade_skips_models_that_are_cooling_down(void **state) {
  (void)state;
  tkn_router_options o = fake_clock_opts();
  tkn_router *r = example(&o);
  for (int i = 0; i < 3; i++) {
    tkn_router_report_failure(r, S("gpt-4o-mini"), 0, NULL);
    tkn_router_report_failure(r, S("claude-3-5-haiku"), 0, NULL);
    tkn_router_report_failure(r, S("gpt-4o"), 0, NULL);
  }
  tkn_router_cascade *c = cascade(r, NULL);
  /* small is cooling: medium's second model serves the first attempt */
  assert_int_equal(attempt(c, "{\"confidence\":0.1}", 1, 1, 1, "claude-sonnet-4"),
                   TKN_ROUTER_CASCADE_ESCALATE);
  assert_int_equal(attempt(c, "{\"confidence\":0.9}", 1, 1, 2, "o3"), TKN_ROUTER_CASCADE_ACCEPTED);
  tkn_router_cascade_free(c);
  for (int i = 0; i < 3; i++) {
    tkn_router_report_failure(r, S("claude-sonnet-4"), 0, NULL);
    tkn_router_report_failure(r, S("o3"), 0, NULL);
    tkn_router_report_failure(r, S("claude-opus-4"), 0, NULL);
  }
  c = cascade(r, NULL);
  int32_t tier;
  const char *model;
  assert_int_equal(tkn_router_cascade_next(c, &tier, &model), TKN_ERR_UNAVAILABLE);
  assert_non_null(strstr(tkn_error_last()->message, "cooling down"));
  tkn_router_cascade_free(c);
  tkn_router_free(r);
}

/* ---- calibration ---- */

/* Share of scores routed to each tier by the thresholds. */
static void shares_of(const double *x, size_t n, const double *th, size_t nt, double *out) {
  for (size_t k = 0; k < nt; k++) out[k] = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (!(x[i] >= th[k])) k++;
    out[k] += 1.0 / (double)n;
  }
}

static void calibration_splits_a_uniform_sample_at_its_quantiles(void **state) {
  (void)state;
  enum { N = 1000 };
  double x[N];
  for (int i = 0; i < N; i++) x[(i * 7919) % N] = (i + 0.5) / N; /* shuffled grid */
  double shares[] = {0.5, 0.3, 0.2}, th[3], got[3];
  assert_int_equal(tkn_router_calibrate(x, N, shares, 3, th), TKN_OK);
  /* the top half scores >= 0.5005, the next 30% >= 0.2005 */
  assert_true(fabs(th[0] - 0.5005) < 1e-12);
  assert_true(fabs(th[1] - 0.2005) < 1e-12);
  assert_true(isinf(th[2]) && th[2] < 0);
  shares_of(x, N, th, 3, got);
  for (int k = 0; k < 3; k++) assert_true(fabs(got[k] - shares[k]) < 1e-9);
}

static void calibration_matches_an_exponential_distribution(void **state) {
  (void)state;
  /* inverse CDF of Exp(1) on a fine grid: quantile q at -ln(1-q) */
  enum { N = 100000 };
  static double x[N];
  for (int i = 0; i < N; i++) x[i] = -log(1.0 - (i + 0.5) / N);
  double shares[] = {0.1, 0.2, 0.3, 0.4}, th[4], got[4];
  assert_int_equal(tkn_router_calibrate(x, N, shares, 4, th), TKN_OK);
  /* tier 0 takes the top 10%: its threshold is the 0.9 quantile, etc. */
  assert_true(fabs(th[0] - (-log(0.1))) < 1e-3);
  assert_true(fabs(th[1] - (-log(0.3))) < 1e-3);
  assert_true(fabs(th[2] - (-log(0.6))) < 1e-3);
  assert_true(th[0] >= th[1] && th[1] >= th[2]);
  shares_of(x, N, th, 4, got);
  for (int k = 0; k < 4; k++) assert_true(fabs(got[k] - shares[k]) < 1e-4);
}

static void calibration_edge_cases_and_errors(void **state) {
  (void)state;
  double x[] = {0.3, 0.9, 0.1, 0.6};
  double th[3];
  double none_first[] = {0, 0.5, 0.5};
  assert_int_equal(tkn_router_calibrate(x, 4, none_first, 3, th), TKN_OK);
  assert_true(isinf(th[0]) && th[0] > 0); /* nothing goes to tier 0 */
  assert_true(th[1] == 0.6);
  double all_first[] = {1, 0, 0};
  assert_int_equal(tkn_router_calibrate(x, 4, all_first, 3, th), TKN_OK);
  assert_true(th[0] == 0.1 && th[1] == 0.1);
  double one[] = {1};
  assert_int_equal(tkn_router_calibrate(x, 4, one, 1, th), TKN_OK);
  assert_true(isinf(th[0]) && th[0] < 0);
  double bad_sum[] = {0.5, 0.4};
  assert_int_equal(tkn_router_calibrate(x, 4, bad_sum, 2, th), TKN_ERR_INVALID);
  double neg[] = {1.5, -0.5};
  assert_int_equal(tkn_router_calibrate(x, 4, neg, 2, th), TKN_ERR_INVALID);
  double nan_share[] = {NAN, 1};
  assert_int_equal(tkn_router_calibrate(x, 4, nan_share, 2, th), TKN_ERR_INVALID);
  double xn[] = {0.1, NAN};
  assert_int_equal(tkn_router_calibrate(xn, 2, one, 1, th), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_calibrate(x, 0, one, 1, th), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_calibrate(NULL, 4, one, 1, th), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_calibrate(x, 4, NULL, 1, th), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_calibrate(x, 4, one, 0, th), TKN_ERR_INVALID);
  assert_int_equal(tkn_router_calibrate(x, 4, one, 1, NULL), TKN_ERR_INVALID);
}

/* ---- threads ---- */

typedef struct worker {
  tkn_router *r;
  int id;
  int agreed;
} worker;

static void *work(void *p) {
  worker *w = p;
  tkn_task *t;
  if (tkn_task_new(&t)) return NULL;
  tkn_task_set_string(t, S("kind"), S("classify"));
  for (int i = 0; i < 2000; i++) {
    char id[32];
    snprintf(id, sizeof id, "%d-%d", w->id, i);
    tkn_task_set_id(t, S(id));
    tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
    if (tkn_router_decide(w->r, t, &d) == TKN_OK && d.shadow) {
      int32_t a;
      int calls = 0;
      tkn_router_shadow_compare(w->r, d.rule, S("x"), S(i % 2 ? "x" : "y"), same_text, &calls,
                                &a);
      w->agreed += a;
    }
    if (i % 100 == 0) tkn_router_report_failure(w->r, S("gpt-4o-mini"), 0, NULL);
  }
  tkn_task_free(t);
  return NULL;
}

static void one_router_serves_many_threads(void **state) {
  (void)state;
  tkn_router *r = example(NULL);
  pthread_t th[4];
  worker w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker){r, i, 0};
    assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);
  }
  int agreed = 0;
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    agreed += w[i].agreed;
  }
  uint64_t s, c, a;
  assert_int_equal(tkn_router_shadow_stats(r, 0, &s, &c, &a), TKN_OK);
  assert_int_equal(s, c); /* every sampled decision was compared, none lost */
  assert_int_equal(a, (uint64_t)agreed);
  assert_true(s > 0);
  tkn_router_free(r);
}

/* ---- out of memory ---- */

/* Compile the example, decide and explain: every allocation failure gives an
 * error and leaks nothing. */
static char oom_out[4096];
static int oom_scenario(const char *cfg) {
  oom_out[0] = '\0';
  tkn_router *r;
  int rc = tkn_router_new_json(&r, cfg, strlen(cfg), NULL);
  if (rc) return rc;
  tkn_task *t = NULL;
  const char *tj = "{\"$id\":\"q\",\"kind\":\"chat\",\"tags\":[\"a\",\"b\"],\"input_tokens\":5}";
  rc = tkn_task_from_json(&t, tj, strlen(tj));
  if (!rc) {
    tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
    rc = tkn_router_decide(r, t, &d);
  }
  char *s = NULL;
  if (!rc) rc = tkn_router_explain(r, t, &s, NULL);
  char explained[2048] = "";
  if (!rc) snprintf(explained, sizeof explained, "%s", s);
  tkn_free(s);
  s = NULL;
  if (!rc) rc = tkn_router_shadow_report(r, &s, NULL);
  tkn_free(s);
  tkn_router_cascade *c = NULL;
  if (!rc) rc = tkn_router_cascade_new(&c, r, NULL);
  int32_t tier, st;
  const char *model;
  if (!rc) rc = tkn_router_cascade_next(c, &tier, &model);
  if (!rc) rc = tkn_router_cascade_report(c, "{\"confidence\":0.1}", 18, 1, 3, &st, NULL);
  s = NULL;
  if (!rc) rc = tkn_router_cascade_to_json(c, &s, NULL);
  if (!rc) snprintf(oom_out, sizeof oom_out, "%s|%s", explained, s);
  tkn_free(s);
  double x[] = {1, 2, 3}, sh[] = {0.5, 0.5}, th[2];
  if (!rc) rc = tkn_router_calibrate(x, 3, sh, 2, th);
  tkn_router_cascade_free(c);
  tkn_task_free(t);
  tkn_router_free(r);
  return rc;
}

static void out_of_memory_fails_cleanly_everywhere(void **state) {
  (void)state;
  char *cfg = example_text();
  assert_int_equal(oom_scenario(cfg), TKN_OK);
  char want[sizeof oom_out];
  memcpy(want, oom_out, sizeof want);
  long n;
  for (n = 1; n < 100000; n++) {
    tt_alloc_install(n);
    int rc = oom_scenario(cfg);
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    if (live != 0) fail_msg("allocation %ld: %ld blocks leaked", n, live);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
    /* a response parse that lost an allocation is retried once (cJSON cannot
     * tell that from bad syntax): success then must be the whole result */
    if (rc == TKN_OK && strcmp(oom_out, want) != 0)
      fail_msg("allocation %ld failed and the result differs: %s", n, oom_out);
  }
  assert_true(n > 50);
  free(cfg);
}

static int builder_step(tkn_router_builder *b, int k) {
  const char *m[] = {"m1", "m2"};
  size_t ml[] = {2, 2};
  tkn_router_rule ru = TKN_ROUTER_RULE_INIT;
  ru.when = "{\"attr\":\"x\",\"eq\":1}";
  ru.when_len = strlen(ru.when);
  ru.tier = "a";
  ru.tier_len = 1;
  ru.reason = "r";
  ru.reason_len = 1;
  switch (k) {
    case 0: return tkn_router_builder_add_tier(b, "a", 1, m, ml, 2, 0.5);
    case 1: return tkn_router_builder_add_tier(b, "b", 1, m, ml, 1, 0.5);
    case 2: return tkn_router_builder_add_rule(b, &ru);
    case 3: return tkn_router_builder_set_default_tier(b, "a", 1);
    case 4: return tkn_router_builder_set_cascade(b, 1, "c", 1);
    case 5: return tkn_router_builder_set_failures(b, 2, 10, 1);
    case 6: return tkn_router_builder_set_retries(b, 0, 1);
    default: return -1;
  }
}

/* 999: a failed step changed the builder. */
static int oom_builder(void) {
  tkn_router_builder *b;
  int rc = tkn_router_builder_new(&b);
  if (rc) return rc;
  for (int k = 0; !rc && k < 7; k++) {
    char *before = NULL, *after = NULL;
    rc = tkn_router_builder_to_json(b, &before, NULL);
    if (!rc) {
      rc = builder_step(b, k);
      if (rc && tkn_router_builder_to_json(b, &after, NULL) == TKN_OK && strcmp(before, after))
        rc = 999;
    }
    tkn_free(before);
    tkn_free(after);
  }
  tkn_router *r = NULL;
  if (!rc) rc = tkn_router_builder_build(b, NULL, &r);
  tkn_router_free(r);
  tkn_router_builder_free(b);
  return rc;
}

static void out_of_memory_in_the_builder_fails_cleanly(void **state) {
  (void)state;
  for (long n = 1; n < 100000; n++) {
    tt_alloc_install(n);
    int rc = oom_builder();
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    assert_int_not_equal(rc, 999);
    if (live != 0) fail_msg("allocation %ld: %ld blocks leaked", n, live);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      return;
    }
  }
  fail_msg("the builder scenario never completed");
}

static void out_of_memory_in_tasks_fails_cleanly(void **state) {
  (void)state;
  for (long n = 1; n < 10000; n++) {
    tt_alloc_install(n);
    tkn_task *t;
    int rc = tkn_task_new(&t);
    if (!rc) {
      const char *v[] = {"a", "b", "c"};
      size_t l[] = {1, 1, 1};
      rc = tkn_task_set_strings(t, "l", 1, v, l, 3);
      if (!rc) rc = tkn_task_set_string(t, "s", 1, "x", 1);
      if (!rc) rc = tkn_task_set_string(t, "s", 1, "y", 1);
      if (!rc) rc = tkn_task_set_id(t, "i", 1);
      if (!rc) rc = tkn_task_set_number(t, "n", 1, 2);
      tkn_task_free(t);
    }
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    if (live != 0) fail_msg("allocation %ld: %ld blocks leaked", n, live);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      return;
    }
    assert_int_equal(rc, TKN_ERR_NOMEM);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(task_set_replaces_attribute_of_same_name),
      cmocka_unit_test(task_rejects_bad_input_and_stays_unchanged),
      cmocka_unit_test(task_limits_are_enforced),
      cmocka_unit_test(task_remove_drops_one_attribute),
      cmocka_unit_test(task_from_json_reads_every_type_and_the_id),
      cmocka_unit_test(task_from_json_errors_name_the_member),
      cmocka_unit_test(example_config_compiles_with_its_settings),
      cmocka_unit_test(defaults_apply_to_thresholds_and_retries),
      cmocka_unit_test(first_matching_rule_wins_else_default),
      cmocka_unit_test(default_tier_is_the_last_when_not_set),
      cmocka_unit_test(operators_follow_their_documented_semantics),
      cmocka_unit_test(config_errors_name_the_json_path),
      cmocka_unit_test(config_limits_are_enforced),
      cmocka_unit_test(explain_says_which_condition_failed_and_why),
      cmocka_unit_test(explain_reports_type_mismatch_and_numbers),
      cmocka_unit_test(decide_and_explain_agree_on_random_conditions),
      cmocka_unit_test(builder_builds_what_the_json_config_builds),
      cmocka_unit_test(builder_errors_leave_it_unchanged),
      cmocka_unit_test(fail_class_names_round_trip),
      cmocka_unit_test(model_cools_down_after_allowed_fails_within_a_minute),
      cmocka_unit_test(tier_model_is_the_first_model_not_cooling_down),
      cmocka_unit_test(failures_outside_the_window_do_not_count),
      cmocka_unit_test(a_cooling_tier_hands_over_to_the_next_tier),
      cmocka_unit_test(failure_reports_reject_unknown_models_and_classes),
      cmocka_unit_test(shadow_sampling_is_the_documented_hash_of_the_id),
      cmocka_unit_test(shadow_needs_an_id_and_honours_rate_and_tier),
      cmocka_unit_test(shadow_agreement_is_kept_per_rule),
      cmocka_unit_test(cascade_accepts_when_confidence_reaches_the_threshold),
      cmocka_unit_test(cascade_escalates_then_accepts_and_records_every_attempt),
      cmocka_unit_test(cascade_stops_after_max_escalations),
      cmocka_unit_test(cascade_counts_invalid_and_missing_confidence_as_zero),
      cmocka_unit_test(cascade_uses_the_host_scorer),
      cmocka_unit_test(cascade_rejects_misuse),
      cmocka_unit_test(cascade_skips_models_that_are_cooling_down),
      cmocka_unit_test(calibration_splits_a_uniform_sample_at_its_quantiles),
      cmocka_unit_test(calibration_matches_an_exponential_distribution),
      cmocka_unit_test(calibration_edge_cases_and_errors),
      cmocka_unit_test(one_router_serves_many_threads),
      cmocka_unit_test(out_of_memory_fails_cleanly_everywhere),
      cmocka_unit_test(out_of_memory_in_the_builder_fails_cleanly),
      cmocka_unit_test(out_of_memory_in_tasks_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
