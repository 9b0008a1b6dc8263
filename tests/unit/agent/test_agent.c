/* The agent turn and the host's model callbacks, against a fake host that
 * answers from a script and records every request it gets. */
#include "test_util.h"

#include <cjson/cJSON.h>


/* ---- the fake host ---- */

typedef struct scripted {
  int rc;              /* what complete() returns */
  int32_t cls;         /* error class when rc != 0 */
  const char *content;
  const char *finish;
  const char *usage;   /* provider usage JSON (Chat Completions), NULL: none */
  const char *tool_calls;
} scripted;

typedef struct seen {
  char model[64];
  char tier[32];
  char task_type[32];
  char *body;
  int64_t cap;
  uint32_t purpose;
  uint32_t attempt;
  int has_schema;
} seen;

typedef struct host {
  const scripted *script;
  size_t n_script;
  size_t next;
  seen calls[32];
  size_t n_calls;
  int summarised;
} host;

static void copy_field(char *dst, size_t cap, const char *s, size_t len) {
  if (!s) len = 0;
  if (len >= cap) len = cap - 1;
  memcpy(dst, s ? s : "", len);
  dst[len] = '\0';
}

static int fake_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  host *h = user;
  assert_int_equal(rq->version, TKN_LLM_REQUEST_VERSION);
  assert_true(h->n_calls < 32);
  seen *s = &h->calls[h->n_calls++];
  copy_field(s->model, sizeof s->model, rq->model, rq->model_len);
  copy_field(s->tier, sizeof s->tier, rq->tier, rq->tier_len);
  copy_field(s->task_type, sizeof s->task_type, rq->task_type, rq->task_type_len);
  s->body = strndup(rq->body, rq->body_len);
  s->cap = rq->max_output_tokens;
  s->purpose = rq->purpose;
  s->attempt = rq->attempt;
  s->has_schema = rq->response_schema != NULL;
  const scripted *sc = &h->script[h->next < h->n_script ? h->next : h->n_script - 1];
  h->next++;
  if (sc->rc) {
    tkn_llm_response_set_error(resp, sc->cls, S("scripted failure"));
    return sc->rc;
  }
  /* a setter fails only for want of memory (the OOM test): report it as a
   * failed call, as a real host would */
  if ((sc->content && tkn_llm_response_set_content(resp, S(sc->content))) ||
      (sc->finish && tkn_llm_response_set_finish_reason(resp, S(sc->finish))) ||
      (sc->tool_calls && tkn_llm_response_set_tool_calls(resp, S(sc->tool_calls))) ||
      (sc->usage && tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT, S(sc->usage)))) {
    assert_true(tt_alloc.failed);
    return 1;
  }
  return 0;
}

static void host_reset(host *h, const scripted *script, size_t n) {
  for (size_t i = 0; i < h->n_calls; i++) free(h->calls[i].body);
  memset(h, 0, sizeof *h);
  h->script = script;
  h->n_script = n;
}

static host H;

static tkn_agent_options base_opts(void) {
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = fake_complete;
  o.llm.user = &H;
  o.model = "gpt-4o";
  o.model_len = 6;
  o.workflow = "support";
  o.workflow_len = 7;
  o.tenant = "acme";
  o.tenant_len = 4;
  return o;
}

static tkn_agent *agent_with(const tkn_agent_options *o) {
  tkn_agent *a = NULL;
  char err[256];
  int rc = tt_keep_err(tkn_agent_new(&a, o), err, sizeof err);
  if (rc) fail_msg("agent rejected (%d): %s", rc, err);
  return a;
}


static const char *ONE_TURN = "[{\"role\":\"user\",\"content\":\"Where is my order ORD-7731?\"}]";

static const char *ROUTER =
    "{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\"],\"threshold\":0.8},"
    "{\"name\":\"medium\",\"models\":[\"gpt-4.1-mini\"],\"threshold\":0.7},"
    "{\"name\":\"large\",\"models\":[\"gpt-4o\"],\"threshold\":0.5}],"
    "\"rules\":[{\"when\":{\"attr\":\"kind\",\"eq\":\"classify\"},\"tier\":\"small\","
    "\"reason\":\"classification\",\"cascade\":true},"
    "{\"when\":{\"attr\":\"kind\",\"eq\":\"extract\"},\"tier\":\"small\",\"reason\":\"extraction\"}],"
    "\"default_tier\":\"large\","
    "\"cascade\":{\"max_escalations\":2,\"confidence_path\":\"confidence\"},"
    "\"failures\":{\"allowed_fails\":1,\"window_s\":60,\"cooldown_s\":30,"
    "\"retries\":{\"rate_limit\":1,\"timeout\":1,\"server\":0,\"bad_request\":0,\"auth\":0,"
    "\"content_policy\":0}}}";

static tkn_router *router(void) {
  tkn_router *r = NULL;
  char err[256];
  int rc = tt_keep_err(tkn_router_new_json(&r, ROUTER, strlen(ROUTER), NULL), err, sizeof err);
  if (rc) fail_msg("router rejected: %s", err);
  return r;
}

static tkn_task *task_kind(const char *kind) {
  tkn_task *t = NULL;
  assert_int_equal(tkn_task_new(&t), TKN_OK);
  assert_int_equal(tkn_task_set_string(t, S("kind"), S(kind)), TKN_OK);
  return t;
}

static const char *LABEL_SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"label\":{\"enum\":[\"refund\",\"shipping\"]},"
    "\"confidence\":{\"type\":\"number\",\"minimum\":0,\"maximum\":1}},"
    "\"required\":[\"label\",\"confidence\"],\"additionalProperties\":false}";

static tkn_schema *label_schema(void) {
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, LABEL_SCHEMA, strlen(LABEL_SCHEMA), NULL),
                   TKN_OK);
  return s;
}

static cJSON *trace_json(const tkn_agent_result *r) {
  size_t len = 0;
  const char *t = tkn_agent_result_trace(r, &len);
  cJSON *j = cJSON_ParseWithLength(t, len);
  if (!j) fail_msg("trace is not JSON: %s", t);
  return j;
}

/* Number of steps named `name` in the trace. */
static int count_steps(const tkn_agent_result *r, const char *name) {
  cJSON *j = trace_json(r);
  int n = 0;
  cJSON *s;
  cJSON_ArrayForEach(s, cJSON_GetObjectItem(j, "steps")) {
    cJSON *k = cJSON_GetObjectItem(s, "step");
    if (cJSON_IsString(k) && !strcmp(k->valuestring, name)) n++;
  }
  cJSON_Delete(j);
  return n;
}

static tkn_agent_stats stats_of(const tkn_agent_result *r) {
  tkn_agent_stats st = TKN_AGENT_STATS_INIT;
  assert_int_equal(tkn_agent_result_stats(r, &st), TKN_OK);
  return st;
}

static int teardown(void **state) {
  (void)state;
  host_reset(&H, NULL, 0);
  return 0;
}

/* ---- options ---- */

/* (every init against its macro: tests/unit/options) */
static void options_init_agree_with_macros(void **state) {
  (void)state;
  tkn_agent_options a;
  assert_int_equal(tkn_agent_options_init(&a, TKN_AGENT_OPTIONS_VERSION), TKN_OK);
  assert_int_equal(a.context_target_tokens, 0); /* documented: 0 = half of max_context_tokens */
  assert_int_equal(a.output_cap, 1024);
}

static void new_refuses_missing_complete_model_and_bad_values(void **state) {
  (void)state;
  tkn_agent *a = (tkn_agent *)1;
  char err[256];
  tkn_agent_options o = base_opts();
  o.llm.complete = NULL;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_null(a);
  assert_non_null(strstr(err, "complete"));
  o = base_opts();
  o.model = NULL;
  o.model_len = 0;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "router or a model"));
  o = base_opts();
  o.output_cap = 0;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  o = base_opts();
  o.provider = 7;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  o = base_opts();
  o.version = 42;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_VERSION);
  o = base_opts();
  o.retry.max_attempts = 0;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  o = base_opts();
  o.llm.version = 9;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_VERSION);
  assert_non_null(strstr(err, "llm callbacks"));
  o = base_opts();
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.version = 9;
  o.prune = &po;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_VERSION);
  assert_non_null(strstr(err, "prune options"));
  assert_null(a);
  assert_int_equal(tkn_agent_new(NULL, &o), TKN_ERR_INVALID);
  tkn_agent_free(NULL);
}

/* ---- the response object ---- */

static void response_setters_copy_and_getters_read(void **state) {
  (void)state;
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  char buf[16];
  strcpy(buf, "hello");
  assert_int_equal(tkn_llm_response_set_content(r, buf, 5), TKN_OK);
  strcpy(buf, "XXXXX"); /* the host's buffer dies: the response kept a copy */
  size_t len = 0;
  assert_string_equal(tkn_llm_response_content(r, &len), "hello");
  assert_int_equal(len, 5);
  assert_int_equal(tkn_llm_response_set_finish_reason(r, S("stop")), TKN_OK);
  assert_string_equal(tkn_llm_response_finish_reason(r, NULL), "stop");
  assert_int_equal(tkn_llm_response_set_tool_calls(r, S("[]")), TKN_OK);
  assert_string_equal(tkn_llm_response_tool_calls(r, NULL), "[]");
  tkn_usage u = TKN_USAGE_INIT;
  assert_int_equal(tkn_llm_response_usage(r, &u), TKN_ERR_NOT_FOUND);
  const char *usage = "{\"prompt_tokens\":100,\"completion_tokens\":7,"
                      "\"prompt_tokens_details\":{\"cached_tokens\":64}}";
  assert_int_equal(tkn_llm_response_set_usage_json(r, TKN_USAGE_AUTO, S(usage)), TKN_OK);
  assert_int_equal(tkn_llm_response_usage(r, &u), TKN_OK);
  assert_int_equal(u.input_tokens, 100);
  assert_int_equal(u.cache_read_tokens, 64);
  assert_int_equal(u.output_tokens, 7);
  assert_false(u.flags & TKN_USAGE_BATCH);
  assert_string_equal(tkn_llm_response_usage_json(r, NULL), usage);
  assert_int_equal(tkn_llm_response_set_batched(r, 1), TKN_OK);
  assert_int_equal(tkn_llm_response_usage(r, &u), TKN_OK);
  assert_true(u.flags & TKN_USAGE_BATCH);
  assert_int_equal(tkn_llm_response_error(r, NULL, NULL), TKN_LLM_FAIL_NONE);
  assert_int_equal(tkn_llm_response_set_error(r, TKN_LLM_FAIL_RATE_LIMIT, S("429")), TKN_OK);
  const char *m = NULL;
  assert_int_equal(tkn_llm_response_error(r, &m, &len), TKN_LLM_FAIL_RATE_LIMIT);
  assert_string_equal(m, "429");
  tkn_llm_response_clear(r);
  assert_string_equal(tkn_llm_response_content(r, &len), "");
  assert_int_equal(len, 0);
  assert_int_equal(tkn_llm_response_error(r, NULL, NULL), TKN_LLM_FAIL_NONE);
  assert_int_equal(tkn_llm_response_usage(r, &u), TKN_ERR_NOT_FOUND);
  tkn_llm_response_free(r);
  tkn_llm_response_free(NULL);
}

static void response_setters_refuse_bad_input_and_keep_the_old_value(void **state) {
  (void)state;
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  assert_int_equal(tkn_llm_response_set_content(r, S("ok")), TKN_OK);
  assert_int_equal(tkn_llm_response_set_content(r, "a\xff", 2), TKN_ERR_UTF8);
  assert_non_null(strstr(tkn_error_last()->message, "byte 1"));
  assert_string_equal(tkn_llm_response_content(r, NULL), "ok");
  assert_int_equal(tkn_llm_response_set_content(r, NULL, 3), TKN_ERR_INVALID);
  assert_int_equal(tkn_llm_response_set_content(NULL, "x", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_llm_response_set_usage_json(r, TKN_USAGE_OPENAI_CHAT, S("{\"x\":")),
                   TKN_ERR_PARSE);
  assert_non_null(strstr(tkn_error_last()->message, "usage"));
  assert_int_equal(tkn_llm_response_set_usage_json(r, TKN_USAGE_OPENAI_CHAT,
                                                   S("{\"prompt_tokens\":1}")),
                   TKN_ERR_SCHEMA);
  tkn_usage bad = TKN_USAGE_INIT;
  bad.input_tokens = 5;
  bad.cache_read_tokens = 9;
  assert_int_equal(tkn_llm_response_set_usage(r, &bad), TKN_ERR_INVALID);
  assert_int_equal(tkn_llm_response_set_usage(r, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_llm_response_set_error(r, 17, NULL, 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_llm_response_set_batched(NULL, 1), TKN_ERR_INVALID);
  tkn_usage u = TKN_USAGE_INIT;
  assert_int_equal(tkn_llm_response_usage(r, &u), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_llm_response_usage(NULL, &u), TKN_ERR_INVALID);
  assert_string_equal(tkn_llm_response_content(NULL, NULL), "");
  tkn_llm_response_free(r);
}

/* The host may hand over counts it read itself instead of usage JSON. */
static void response_usage_set_from_counts_reads_back(void **state) {
  (void)state;
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 300;
  u.cache_read_tokens = 200;
  u.output_tokens = 40;
  assert_int_equal(tkn_llm_response_set_usage(r, &u), TKN_OK);
  tkn_usage got = TKN_USAGE_INIT;
  assert_int_equal(tkn_llm_response_usage(r, &got), TKN_OK);
  assert_int_equal(got.input_tokens, 300);
  assert_int_equal(got.cache_read_tokens, 200);
  assert_int_equal(got.output_tokens, 40);
  assert_string_equal(tkn_llm_response_usage_json(r, NULL), ""); /* no JSON was given */
  assert_int_equal(tkn_llm_response_set_usage(NULL, &u), TKN_ERR_INVALID);
  tkn_llm_response_free(r);
}

/* Every getter of a NULL response reads as empty, with a zero length. */
static void response_getters_of_null_read_empty(void **state) {
  (void)state;
  size_t len = 7;
  assert_string_equal(tkn_llm_response_tool_calls(NULL, &len), "");
  assert_int_equal(len, 0);
  len = 7;
  assert_string_equal(tkn_llm_response_finish_reason(NULL, &len), "");
  assert_int_equal(len, 0);
  len = 7;
  assert_string_equal(tkn_llm_response_usage_json(NULL, &len), "");
  assert_int_equal(len, 0);
  len = 7;
  const char *m = NULL;
  assert_int_equal(tkn_llm_response_error(NULL, &m, &len), TKN_LLM_FAIL_NONE);
  assert_string_equal(m, "");
  assert_int_equal(len, 0);
}

/* A field longer than TKN_LLM_MAX_FIELD is refused before it is read. */
static void response_field_over_the_limit_is_refused(void **state) {
  (void)state;
  tkn_llm_response *r = NULL;
  assert_int_equal(tkn_llm_response_new(&r), TKN_OK);
  assert_int_equal(tkn_llm_response_set_content(r, S("kept")), TKN_OK);
  assert_int_equal(tkn_llm_response_set_content(r, "x", TKN_LLM_MAX_FIELD + 1), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "more than"));
  assert_string_equal(tkn_llm_response_content(r, NULL), "kept");
  tkn_llm_response_free(r);
}

static void fail_names_cover_every_class(void **state) {
  (void)state;
  assert_string_equal(tkn_llm_fail_name(TKN_LLM_FAIL_NONE), "none");
  assert_string_equal(tkn_llm_fail_name(TKN_LLM_FAIL_RATE_LIMIT), "rate_limit");
  assert_string_equal(tkn_llm_fail_name(TKN_LLM_FAIL_CONTENT_POLICY), "content_policy");
  /* the same numbers and names as the router's failure classes */
  for (int32_t c = 0; c <= TKN_LLM_FAIL_CONTENT_POLICY; c++)
    assert_string_equal(tkn_llm_fail_name(c), tkn_llm_fail_name(c));
  assert_null(tkn_llm_fail_name(6));
  assert_null(tkn_llm_fail_name(-2));
}

/* ---- one turn ---- */

static void turn_calls_the_model_and_appends_the_answer(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "It ships tomorrow.", "stop",
                                 "{\"prompt_tokens\":50,\"completion_tokens\":5}", NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  assert_int_equal(tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"),
                                      S("You are the support agent of Acme.")),
                   TKN_OK);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_content(r, NULL), "It ships tomorrow.");
  assert_string_equal(tkn_agent_result_finish_reason(r), "stop");
  assert_string_equal(tkn_agent_result_model(r), "gpt-4o");
  assert_int_equal(H.n_calls, 1);
  assert_string_equal(H.calls[0].model, "gpt-4o");
  assert_non_null(strstr(H.calls[0].body, "You are the support agent of Acme."));
  assert_non_null(strstr(H.calls[0].body, "ORD-7731"));
  assert_int_equal(H.calls[0].cap, 1024);
  assert_int_equal(H.calls[0].purpose, TKN_LLM_PURPOSE_TURN);
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_ASSISTANT);
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.calls, 1);
  assert_int_equal(st.input_tokens, 50);
  assert_int_equal(st.output_tokens, 5);
  /* gpt-4o: $2.50 / $10 per million tokens */
  assert_int_equal(st.cost, 50 * INT64_C(2500000) + 5 * INT64_C(10000000));
  /* the trace says which price-table entry priced the call */
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL), "\"priced_as\":\"gpt-4o\""));
  assert_int_equal(count_steps(r, "budget"), 1);
  assert_int_equal(count_steps(r, "route"), 1);
  assert_int_equal(count_steps(r, "assemble"), 1);
  assert_int_equal(count_steps(r, "call"), 1);
  assert_int_equal(count_steps(r, "commit"), 1);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void turn_without_host_usage_counts_with_its_tokenizer(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "Four words are here.", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.append_reply = 0;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  tkn_agent_stats st = stats_of(r);
  assert_true(st.input_tokens > 0);
  assert_true(st.output_tokens >= 4);
  assert_int_equal(st.cached_tokens, 0);
  assert_int_equal(tkn_conv_count(c), 1); /* append_reply off */
  cJSON *j = trace_json(r);
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL), "\"usage_reported\":false"));
  cJSON_Delete(j);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* Without a tokenizer the agent estimates with the estimator of its model's
 * encoding: a reply in Chinese costs a cl100k_base model (gpt-4) more tokens
 * than an o200k_base one (gpt-4o), each as that encoding's estimator counts. */
static void turn_estimates_with_the_calibration_of_its_model(void **state) {
  (void)state;
  static const char reply[] = "\xe6\x95\xb0\xe6\x8d\xae\xe5\xba\x93\xe8\xbf\x9e\xe6\x8e\xa5"
                              "\xe5\xa4\xb1\xe8\xb4\xa5\xef\xbc\x8c\xe8\xaf\xb7\xe7\xa8\x8d"
                              "\xe5\x90\x8e\xe9\x87\x8d\xe8\xaf\x95\xe3\x80\x82";
  static const scripted sc[] = {{0, 0, reply, "stop", NULL, NULL}};
  const char *models[] = {"gpt-4", "gpt-4o"}, *encs[] = {"cl100k_base", "o200k_base"};
  int64_t got[2];
  for (int m = 0; m < 2; m++) {
    host_reset(&H, sc, 1);
    tkn_agent_options o = base_opts();
    o.model = models[m];
    o.model_len = strlen(models[m]);
    o.append_reply = 0;
    tkn_agent *a = agent_with(&o);
    tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
    tkn_agent_result *r = NULL;
    assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
    got[m] = stats_of(r).output_tokens;
    tkn_tokenizer *est = NULL;
    int64_t want = 0;
    assert_int_equal(tkn_tokenizer_new_estimator_for(&est, encs[m], strlen(encs[m])), TKN_OK);
    assert_int_equal(tkn_tokenizer_count(est, reply, sizeof reply - 1, &want), TKN_OK);
    assert_int_equal(got[m], want);
    tkn_tokenizer_free(est);
    tkn_agent_result_free(r);
    tkn_conv_free(c);
    tkn_agent_free(a);
  }
  assert_true(got[0] > got[1]);
}

static void turn_refuses_bad_arguments_and_leaves_conv(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "x", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = (tkn_agent_result *)1;
  assert_int_equal(tkn_agent_turn(a, NULL, NULL, &r), TKN_ERR_INVALID);
  assert_null(r);
  assert_int_equal(tkn_agent_turn(NULL, c, NULL, &r), TKN_ERR_INVALID);
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  tkn_schema *s = label_schema();
  to.schema = s; /* without its text */
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "schema_json"));
  to = (tkn_agent_turn_options)TKN_AGENT_TURN_OPTIONS_INIT;
  to.version = 9;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_ERR_VERSION);
  assert_int_equal(H.n_calls, 0);
  assert_int_equal(tkn_conv_count(c), 1);
  tkn_schema_free(s);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void pieces_are_checked_when_added(void **state) {
  (void)state;
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  const char *tool = "{\"name\":\"lookup_order\",\"parameters\":{\"type\":\"object\"}}";
  assert_int_equal(tkn_agent_add_tool(a, S(tool)), TKN_OK);
  assert_int_equal(tkn_agent_add_tool(a, S(tool)), TKN_ERR_DUPLICATE);
  assert_int_equal(tkn_agent_add_tool(a, S("{\"name\":")), TKN_ERR_PARSE);
  assert_int_equal(tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("s"), "\xff", 1),
                   TKN_ERR_UTF8);
  assert_int_equal(tkn_agent_add_text(a, TKN_SEG_STATIC, 0, NULL, 3, "x", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_agent_add_tool(NULL, S(tool)), TKN_ERR_INVALID);
  tkn_agent_free(a);
}

static void tools_come_first_in_the_rendered_request(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  assert_int_equal(tkn_agent_add_text(a, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, S("date"),
                                      S("Today is a day.")),
                   TKN_OK);
  assert_int_equal(tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"),
                                      S("Be brief.")),
                   TKN_OK);
  assert_int_equal(tkn_agent_add_tool(a, S("{\"name\":\"lookup\"}")), TKN_OK);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.dynamic = "Retrieved: order ORD-7731 left the warehouse.";
  to.dynamic_len = strlen(to.dynamic);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  const char *b = H.calls[0].body;
  assert_non_null(strstr(b, "\"tools\""));
  /* static instructions before the history, the dynamic parts after it */
  assert_true(strstr(b, "Be brief.") < strstr(b, "Where is my order"));
  assert_true(strstr(b, "Where is my order") < strstr(b, "Today is a day."));
  assert_true(strstr(b, "Where is my order") < strstr(b, "left the warehouse"));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* ---- tool selection (opt-in) ---- */

static const char *CATALOGUE[] = {
    "{\"name\":\"get_weather\",\"description\":\"Current weather for a city\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}",
    "{\"name\":\"track_order\",\"description\":\"Where an order is: its shipping status\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"string\"}}}}",
    "{\"name\":\"cancel_order\",\"description\":\"Cancel an order that has not shipped\","
    "\"parameters\":{\"type\":\"object\",\"properties\":{\"order_id\":{\"type\":\"string\"}}}}",
    "{\"name\":\"send_email\",\"description\":\"Send an email to a customer\"}",
    "{\"name\":\"handoff\",\"description\":\"Hand the customer to a human\"}"};

static tkn_toolsel *catalogue(void) {
  tkn_toolsel *cat = NULL;
  assert_int_equal(tkn_toolsel_new(&cat, NULL), TKN_OK);
  for (size_t i = 0; i < sizeof CATALOGUE / sizeof *CATALOGUE; i++)
    assert_int_equal(tkn_toolsel_add(cat, S(CATALOGUE[i]), NULL), TKN_OK);
  return cat;
}

/* The names of the tools a rendered body carries, and whether each is deferred. */
static size_t body_tools(const char *body, char names[][32], int *deferred, size_t cap) {
  cJSON *j = cJSON_Parse(body);
  assert_non_null(j);
  cJSON *tools = cJSON_GetObjectItemCaseSensitive(j, "tools");
  size_t n = 0;
  cJSON *t = NULL;
  cJSON_ArrayForEach(t, tools) {
    cJSON *fn = cJSON_GetObjectItemCaseSensitive(t, "function");
    cJSON *name = cJSON_GetObjectItemCaseSensitive(fn ? fn : t, "name");
    assert_true(cJSON_IsString(name));
    assert_true(n < cap);
    snprintf(names[n], 32, "%s", name->valuestring);
    deferred[n] = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "defer_loading"));
    n++;
  }
  cJSON_Delete(j);
  return n;
}

/* The query is the last two turns: the user's answer ("Yes please") names no tool, the
 * agent's question and tool call before it do; the first turn (weather) is out of it, and
 * so is the tool result (which says "weather"). */
static void turn_sends_the_tools_selected_for_the_last_two_turns(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  tkn_toolsel *cat = catalogue();
  uint32_t always[] = {4}; /* handoff */
  static const char *conv_json =
      "[{\"role\":\"user\",\"content\":\"What is the weather in Paris?\"},"
      "{\"role\":\"assistant\",\"content\":\"Sunny.\"},"
      "{\"role\":\"user\",\"content\":\"Hello again, about ORD-7731\"},"
      "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
      "\"type\":\"function\",\"function\":{\"name\":\"track_order\","
      "\"arguments\":\"{\\\"order_id\\\":\\\"ORD-7731\\\"}\"}}]},"
      "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"held by the weather\"},"
      "{\"role\":\"assistant\",\"content\":\"It has not shipped. Shall I cancel it?\"},"
      "{\"role\":\"user\",\"content\":\"Yes please\"}]";
  char names[8][32];
  int deferred[8];

  /* OpenAI: only the selected tools, in catalogue order, the always-list beside k */
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.toolsel = cat;
  o.toolsel_k = 3; /* only two match: the weather of the first turn and of the result do not */
  o.toolsel_always = always;
  o.toolsel_always_n = 1;
  tkn_agent *a = agent_with(&o);
  always[0] = 0; /* copied: the agent keeps its own */
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, conv_json);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_int_equal(H.n_calls, 1);
  size_t n = body_tools(H.calls[0].body, names, deferred, 8);
  assert_int_equal(n, 3);
  assert_string_equal(names[0], "track_order");
  assert_string_equal(names[1], "cancel_order");
  assert_string_equal(names[2], "handoff");
  for (size_t i = 0; i < n; i++) assert_false(deferred[i]);
  assert_null(strstr(H.calls[0].body, "get_weather"));
  const char *tr = tkn_agent_result_trace(r, NULL);
  assert_non_null(strstr(tr, "{\"step\":\"tools\",\"catalogue\":5,\"k\":3,\"always\":1,"
                             "\"mode\":\"only_selected\","
                             "\"selected\":[\"track_order\",\"cancel_order\",\"handoff\"]}"));
  /* the tools step comes before the call it shapes */
  assert_true(strstr(tr, "\"step\":\"tools\"") < strstr(tr, "\"step\":\"call\""));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);

  /* Anthropic: the whole catalogue, the others deferred behind the tool search tool */
  host_reset(&H, sc, 1);
  o = base_opts();
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = "claude-sonnet-4-5";
  o.model_len = strlen(o.model);
  o.toolsel = cat;
  o.toolsel_k = 1;
  a = agent_with(&o);
  c = tt_conv(TKN_PROVIDER_OPENAI, conv_json);
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  n = body_tools(H.calls[0].body, names, deferred, 8);
  assert_int_equal(n, 6); /* five tools and the search tool */
  size_t sent = 0;
  for (size_t i = 0; i < 5; i++) {
    int want_deferred = strcmp(names[i], "cancel_order") != 0;
    assert_int_equal(deferred[i], want_deferred);
    sent += !deferred[i];
  }
  assert_int_equal(sent, 1);
  assert_string_equal(names[5], "tool_search_tool_bm25");
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL),
                         "\"mode\":\"defer_rest\",\"selected\":[\"cancel_order\"]"));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_toolsel_free(cat);
}

static void tool_selection_is_off_by_default_and_checked(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_toolsel *cat = catalogue();
  /* a version 1 struct (no tool selection fields) still makes an agent */
  tkn_agent_options v1;
  memset(&v1, 0xab, sizeof v1);
  assert_int_equal(tkn_agent_options_init(&v1, 1), TKN_OK);
  assert_int_equal(v1.version, 1);
  assert_int_equal(v1.toolsel_k, 0xabababab); /* not written: not part of version 1 */
  v1.llm.complete = fake_complete;
  v1.llm.user = &H;
  v1.model = "gpt-4o";
  v1.model_len = 6;
  tkn_agent *a = agent_with(&v1);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_null(strstr(tkn_agent_result_trace(r, NULL), "\"step\":\"tools\""));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);

  tkn_agent_options o = base_opts();
  assert_null(o.toolsel);
  o.toolsel = cat;
  a = NULL;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_ERR_INVALID); /* k 0 */
  o.toolsel_k = 3;
  o.toolsel_always_n = 1;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_ERR_INVALID); /* NULL always with a count */
  uint32_t bad[] = {5};
  o.toolsel_always = bad;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_ERR_INVALID); /* out of the catalogue */
  assert_non_null(strstr(tkn_error_last()->message, "toolsel_always[0] = 5"));
  assert_null(a);

  /* a catalogue tool the agent also holds fails the turn, the conversation unchanged */
  o.toolsel_always = NULL;
  o.toolsel_always_n = 0;
  a = agent_with(&o);
  assert_int_equal(tkn_agent_add_tool(a, S(CATALOGUE[1])), TKN_OK);
  c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_ERR_DUPLICATE);
  assert_null(r);
  assert_int_equal(tkn_conv_count(c), 1);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_toolsel_free(cat);
}

/* ---- validation, retries, escalation ---- */

static void invalid_answer_is_reasked_then_accepted(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "{\"label\":\"refund\"", "stop", NULL, NULL},
      {0, 0, "{\"label\":\"refund\",\"confidence\":0.9}", "stop", NULL, NULL}};
  host_reset(&H, sc, 2);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_schema *s = label_schema();
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.schema = s;
  to.schema_json = LABEL_SCHEMA;
  to.schema_json_len = strlen(LABEL_SCHEMA);
  to.task_type = "classify";
  to.task_type_len = 8;
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "stop");
  assert_string_equal(tkn_agent_result_content(r, NULL), "{\"label\":\"refund\",\"confidence\":0.9}");
  assert_int_equal(H.n_calls, 2);
  assert_int_equal(H.calls[1].purpose, TKN_LLM_PURPOSE_RETRY);
  assert_int_equal(H.calls[1].attempt, 2);
  assert_true(H.calls[0].has_schema);
  assert_string_equal(H.calls[0].task_type, "classify");
  /* the re-ask carries the invalid answer and the request to fix it */
  assert_non_null(strstr(H.calls[1].body, "{\\\"label\\\":\\\"refund\\\""));
  assert_non_null(strstr(H.calls[0].body, "response_format"));
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.retries, 1);
  assert_int_equal(st.validation_failures, 1);
  assert_int_equal(st.validated, 1);
  assert_int_equal(count_steps(r, "validate"), 2);
  assert_int_equal(count_steps(r, "retry"), 1);
  /* the conversation gets the accepted answer only, not the re-ask */
  assert_int_equal(tkn_conv_count(c), 2);
  tkn_agent_result_free(r);
  tkn_schema_free(s);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void bounded_schema_sets_a_tight_output_cap(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "{\"label\":\"refund\"}", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  const char *js = "{\"type\":\"object\",\"properties\":{\"label\":{\"enum\":[\"refund\","
                   "\"shipping\"]}},\"required\":[\"label\"],\"additionalProperties\":false}";
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, S(js), NULL), TKN_OK);
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  int64_t bound = 0;
  uint32_t flags = 0;
  assert_int_equal(tkn_schema_output_cap(s, tok, NULL, &bound, &flags), TKN_OK);
  assert_int_equal(flags, 0);
  tkn_agent_options o = base_opts();
  o.tokenizer = tok;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.schema = s;
  to.schema_json = js;
  to.schema_json_len = strlen(js);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_int_equal(H.calls[0].cap, bound + 8);
  assert_int_equal(stats_of(r).validated, 1);
  tkn_agent_result_free(r);
  /* an explicit cap wins */
  host_reset(&H, sc, 1);
  to.output_cap = 5;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_int_equal(H.calls[0].cap, 5);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_tokenizer_free(tok);
  tkn_schema_free(s);
}

static void retry_plan_escalates_a_tier_then_gives_up(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "not json", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_router *rt = router();
  tkn_agent_options o = base_opts();
  o.router = rt;
  o.retry.max_attempts = 4;
  o.retry.escalate_after = 2;
  o.retry.max_escalations = 1;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_schema *s = label_schema();
  tkn_task *task = task_kind("extract");
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.task = task;
  to.schema = s;
  to.schema_json = LABEL_SCHEMA;
  to.schema_json_len = strlen(LABEL_SCHEMA);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "validation_failed");
  assert_int_equal(H.n_calls, 4);
  assert_string_equal(H.calls[0].model, "gpt-4o-mini");
  assert_string_equal(H.calls[1].model, "gpt-4o-mini");
  assert_string_equal(H.calls[2].model, "gpt-4.1-mini");
  assert_string_equal(H.calls[2].tier, "medium");
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.validation_failures, 4);
  assert_int_equal(st.escalations, 1);
  assert_int_equal(st.validated, 0);
  assert_int_equal(tkn_conv_count(c), 1); /* nothing accepted: nothing appended */
  tkn_agent_result_free(r);
  tkn_task_free(task);
  tkn_schema_free(s);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(rt);
}

/* ---- routing and the cascade ---- */

static void router_picks_the_tier_and_cascade_escalates_on_low_confidence(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "{\"label\":\"refund\",\"confidence\":0.4}", "stop", NULL, NULL},
      {0, 0, "{\"label\":\"shipping\",\"confidence\":0.95}", "stop", NULL, NULL}};
  host_reset(&H, sc, 2);
  tkn_router *rt = router();
  tkn_agent_options o = base_opts();
  o.router = rt;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_task *task = task_kind("classify");
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.task = task;
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_int_equal(H.n_calls, 2);
  assert_string_equal(H.calls[0].model, "gpt-4o-mini");
  assert_string_equal(H.calls[1].model, "gpt-4.1-mini");
  assert_int_equal(H.calls[1].purpose, TKN_LLM_PURPOSE_CASCADE);
  assert_string_equal(tkn_agent_result_model(r), "gpt-4.1-mini");
  assert_string_equal(tkn_agent_result_content(r, NULL), "{\"label\":\"shipping\",\"confidence\":0.95}");
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.escalations, 1);
  assert_int_equal(st.tier, 1);
  assert_true(st.confidence > 0.9);
  assert_int_equal(count_steps(r, "cascade"), 2);
  tkn_agent_result_free(r);
  tkn_task_free(task);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(rt);
}

static void default_tier_serves_tasks_no_rule_matches(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "A long, careful answer.", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_router *rt = router();
  tkn_agent_options o = base_opts();
  o.router = rt;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(H.calls[0].model, "gpt-4o");
  assert_string_equal(H.calls[0].tier, "large");
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL), "\"reason\":\"default\""));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(rt);
}

/* ---- host failures ---- */

static void rate_limit_is_retried_and_bad_request_is_not(void **state) {
  (void)state;
  static const scripted sc[] = {{1, TKN_LLM_FAIL_RATE_LIMIT, NULL, NULL, NULL, NULL},
                                {0, 0, "fine", "stop", NULL, NULL}};
  host_reset(&H, sc, 2);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "stop");
  assert_int_equal(H.n_calls, 2);
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.failed_calls, 1);
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL), "\"error_class\":\"rate_limit\""));
  tkn_agent_result_free(r);

  static const scripted bad[] = {{1, TKN_LLM_FAIL_BAD_REQUEST, NULL, NULL, NULL, NULL},
                                 {0, 0, "never", "stop", NULL, NULL}};
  host_reset(&H, bad, 2);
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "error");
  assert_int_equal(H.n_calls, 1);
  assert_int_equal(tkn_conv_count(c), 2); /* the first turn's answer only */
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void failing_model_cools_down_and_the_router_fails_over(void **state) {
  (void)state;
  /* server errors: no retry on the same model (config), cooldown after one */
  static const scripted sc[] = {{1, TKN_LLM_FAIL_SERVER, NULL, NULL, NULL, NULL},
                                {0, 0, "from the next tier", "stop", NULL, NULL}};
  host_reset(&H, sc, 2);
  tkn_router *rt = router();
  tkn_agent_options o = base_opts();
  o.router = rt;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_task *task = task_kind("extract");
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.task = task;
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "stop");
  assert_int_equal(H.n_calls, 2);
  assert_string_equal(H.calls[0].model, "gpt-4o-mini");
  assert_string_equal(H.calls[1].model, "gpt-4.1-mini");
  assert_int_equal(count_steps(r, "failover"), 1);
  tkn_agent_result_free(r);
  tkn_task_free(task);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(rt);
}

/* ---- budgets and pruning ---- */

static const char *LONG_CONV =
    "[{\"role\":\"system\",\"content\":\"You help customers.\"},"
    "{\"role\":\"user\",\"content\":\"My order ORD-1111 arrived broken, the box was crushed and "
    "the lamp inside is cracked along the base, which is a shame.\"},"
    "{\"role\":\"assistant\",\"content\":\"I am sorry to hear that. Could you send a photo of the "
    "damage so that I can open a claim with the carrier for you?\"},"
    "{\"role\":\"user\",\"content\":\"Here it is, I uploaded the photo to the portal an hour ago "
    "and also sent it by email to your support address.\"},"
    "{\"role\":\"assistant\",\"content\":\"Thank you, the claim is open. A replacement will be "
    "sent once the carrier confirms, usually within two working days.\"},"
    "{\"role\":\"user\",\"content\":\"Can I get a refund instead?\"}]";

/* A model the price table does not know costs 0 a call: under a hard money
 * limit the agent would spend without bound ("gpt-4o-typo").  Refused at
 * creation; a token-only budget or a priced model is fine. */
static void an_unpriced_model_under_a_money_limit_is_refused(void **state) {
  (void)state;
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  assert_int_equal(tkn_usd_parse("0.01", TKN_NUL_TERMINATED, &bo.hard_money), TKN_OK);
  tkn_budget *money = NULL, *tokens = NULL, *child = NULL;
  assert_int_equal(tkn_budget_new(&money, &bo, NULL), TKN_OK);
  tkn_budget_options co = TKN_BUDGET_OPTIONS_INIT; /* no limit of its own */
  assert_int_equal(tkn_budget_new(&child, &co, money), TKN_OK);
  co.hard_tokens = 1000;
  assert_int_equal(tkn_budget_new(&tokens, &co, NULL), TKN_OK);
  tkn_agent_options o = base_opts();
  o.model = "gpt-4o-typo";
  o.model_len = TKN_NUL_TERMINATED;
  tkn_agent *a = (tkn_agent *)1;
  char err[320];
  o.budget = money;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_NOT_FOUND);
  assert_null(a);
  assert_non_null(strstr(err, "\"gpt-4o-typo\" has no price"));
  o.budget = child; /* the parent's limit counts */
  assert_int_equal(tkn_agent_new(&a, &o), TKN_ERR_NOT_FOUND);
  o.budget = tokens;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_OK);
  tkn_agent_free(a);
  o.budget = money;
  o.model = "gpt-4o-mini";
  assert_int_equal(tkn_agent_new(&a, &o), TKN_OK);
  tkn_agent_free(a);
  /* a router: every model of every tier, fallbacks included, must be priced */
  static const char *R =
      "{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\",\"gpt-4o-mini-typo\"]},"
      "{\"name\":\"large\",\"models\":[\"gpt-4o\"]}],\"default_tier\":\"large\"}";
  tkn_router *r = NULL;
  assert_int_equal(tkn_router_new_json(&r, R, TKN_NUL_TERMINATED, NULL), TKN_OK);
  o.model = NULL;
  o.model_len = 0;
  o.router = r;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_NOT_FOUND);
  assert_null(a);
  assert_non_null(strstr(err, "router model \"gpt-4o-mini-typo\" has no price"));
  o.budget = tokens; /* no money limit: nothing to check */
  assert_int_equal(tkn_agent_new(&a, &o), TKN_OK);
  tkn_agent_free(a);
  tkn_router_free(r);
  o.budget = money;
  r = router(); /* every tier priced */
  o.router = r;
  assert_int_equal(tkn_agent_new(&a, &o), TKN_OK);
  tkn_agent_free(a);
  tkn_router_free(r);
  tkn_budget_free(child);
  tkn_budget_free(tokens);
  tkn_budget_free(money);
}

static void hard_budget_closes_with_a_summary_and_no_call(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "never", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.hard_tokens = 100;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
  tkn_budget_amount spent = TKN_BUDGET_AMOUNT_INIT;
  spent.input_tokens = 100;
  assert_int_equal(tkn_budget_charge(b, &spent), TKN_OK);
  tkn_agent_options o = base_opts();
  o.budget = b;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "budget_exceeded");
  assert_int_equal(H.n_calls, 0);
  assert_non_null(strstr(tkn_agent_result_content(r, NULL), "ORD-1111"));
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.budget_level, TKN_BUDGET_HARD);
  assert_int_equal(st.summaries, 1);
  assert_int_equal(tkn_conv_count(c), 6); /* unchanged */
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_budget_free(b);
}

static void refused_reservation_closes_the_turn(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "never", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.hard_tokens = 500; /* the call's input + the 1024-token cap do not fit */
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
  tkn_agent_options o = base_opts();
  o.budget = b;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "budget_exceeded");
  assert_int_equal(H.n_calls, 0);
  assert_int_equal(count_steps(r, "budget_refused"), 1);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_budget_free(b);
}

static void soft_budget_summarises_through_the_cheap_tier_and_halves_the_cap(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "Summary: ORD-1111 broken lamp, claim open.", "stop",
       "{\"prompt_tokens\":120,\"completion_tokens\":12}", NULL},
      {0, 0, "Yes, a refund is possible.", "stop",
       "{\"prompt_tokens\":80,\"completion_tokens\":8}", NULL}};
  host_reset(&H, sc, 2);
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.soft_tokens = 10;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
  tkn_budget_amount spent = TKN_BUDGET_AMOUNT_INIT;
  spent.input_tokens = 20;
  assert_int_equal(tkn_budget_charge(b, &spent), TKN_OK);
  tkn_router *rt = router();
  tkn_agent_options o = base_opts();
  o.budget = b;
  o.router = rt;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SCORE;
  po.keep_last_turns = 1;
  o.prune = &po;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "stop");
  assert_int_equal(H.n_calls, 2);
  assert_int_equal(H.calls[0].purpose, TKN_LLM_PURPOSE_SUMMARY);
  assert_string_equal(H.calls[0].model, "gpt-4o-mini"); /* the cheapest tier */
  assert_string_equal(H.calls[1].model, "gpt-4o");
  assert_int_equal(H.calls[1].cap, 512); /* halved */
  if (!strstr(H.calls[1].body, "Summary: ORD-1111")) fail_msg("%s", tkn_agent_result_trace(r, NULL));
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.budget_level, TKN_BUDGET_SOFT);
  assert_true(st.pruned_messages > 0);
  assert_int_equal(st.summaries, 1);
  assert_true(st.context_tokens_after < st.context_tokens_before);
  assert_int_equal(st.calls, 2);
  /* the caller's conversation is pruned the same way, then answered */
  size_t n = tkn_conv_count(c);
  assert_true(n < 7);
  const char *txt = NULL;
  size_t len = 0;
  int found = 0;
  for (size_t i = 0; i < n; i++) {
    tkn_conv_text(c, i, &txt, &len);
    if (strstr(txt, "Summary: ORD-1111")) found = 1;
  }
  assert_true(found);
  tkn_budget_state bs = TKN_BUDGET_STATE_INIT;
  assert_int_equal(tkn_budget_status(b, &bs), TKN_OK);
  assert_int_equal(bs.tokens_committed, 20 + 132 + 88); /* both calls committed */
  assert_int_equal(bs.tokens_reserved, 0);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(rt);
  tkn_budget_free(b);
}

static void long_history_is_pruned_to_max_context(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.max_context_tokens = 60;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SCORE;
  po.keep_last_turns = 1;
  o.prune = &po;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  tkn_agent_stats st = stats_of(r);
  assert_true(st.context_tokens_before > 60);
  assert_true(st.context_tokens_after <= 60);
  assert_true(st.pruned_messages > 0);
  assert_null(strstr(H.calls[0].body, "crushed"));
  assert_non_null(strstr(H.calls[0].body, "refund instead"));
  assert_int_equal(tkn_conv_count(c), 6 - st.pruned_messages + 1);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* A host summariser that, like small models often do, drops identifiers. */
static int lossy_summarise(const char *text, size_t len, int64_t max_tokens,
                           tkn_llm_response *resp, void *user) {
  (void)text;
  (void)len;
  (void)max_tokens;
  ((host *)user)->summarised++;
  return tkn_llm_response_set_content(resp, S("The customer had a problem; it was handled.")) != 0;
}

/* A host summariser that answers far past its limit and reports its usage. */
static int verbose_summarise(const char *text, size_t len, int64_t max_tokens,
                             tkn_llm_response *resp, void *user) {
  (void)text;
  (void)len;
  (void)max_tokens;
  ((host *)user)->summarised++;
  static char big[200001];
  for (size_t i = 0; i < sizeof big - 1; i++) big[i] = "word "[i % 5];
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 1000;
  u.output_tokens = 40000;
  return tkn_llm_response_set_content(resp, big, sizeof big - 1) != 0 ||
         tkn_llm_response_set_usage(resp, &u) != 0;
}

/* issue 21: at a hard limit a 20 MB summary became the content, and the host
 * summariser's usage was never metered nor charged. */
static void host_summary_is_cut_to_its_limit_and_metered(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "never", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.hard_tokens = 100;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
  tkn_budget_amount spent = TKN_BUDGET_AMOUNT_INIT;
  spent.input_tokens = 100;
  assert_int_equal(tkn_budget_charge(b, &spent), TKN_OK);
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_agent_options o = base_opts();
  o.budget = b;
  o.meter = m;
  o.llm.summarise = verbose_summarise;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "budget_exceeded");
  assert_int_equal(H.summarised, 1);
  size_t cl = 0;
  tkn_agent_result_content(r, &cl);
  assert_true(cl < 4000); /* 256 tokens of prose plus the kept identifiers, not 200 KB */
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(st.input_tokens, 1000);
  assert_int_equal(st.output_tokens, 40000);
  assert_true(st.cost > 0);
  tkn_meter_stats ms = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_WORKFLOW, S("support"), &ms), TKN_OK);
  assert_int_equal(ms.calls, 1);
  assert_int_equal(ms.output_tokens, 40000);
  assert_int_equal(ms.cost, st.cost);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_meter_free(m);
  tkn_budget_free(b);
}

/* issue 21: 2^53 input tokens cost more picodollars than int64 holds; the
 * call was recorded as free, "model not in the price table". */
static void a_call_whose_cost_overflows_fails_the_turn(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "hi", "stop", "{\"prompt_tokens\":9007199254740992,\"completion_tokens\":1}", NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_ERR_OVERFLOW);
  assert_null(r);
  assert_non_null(strstr(tkn_error_last()->message, "does not fit"));
  assert_int_equal(tkn_conv_count(c), 1);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* issue 21: a usage count past 2^53 was taken by the struct setter (the JSON
 * one refused it) and overflowed the turn's sums. */
static void usage_setter_bounds_counts_like_the_json_one(void **state) {
  (void)state;
  tkn_llm_response *resp = NULL;
  assert_int_equal(tkn_llm_response_new(&resp), TKN_OK);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = INT64_MAX;
  assert_int_equal(tkn_llm_response_set_usage(resp, &u), TKN_ERR_INVALID);
  u.input_tokens = (int64_t)1 << 53;
  assert_int_equal(tkn_llm_response_set_usage(resp, &u), TKN_OK);
  u.output_tokens = ((int64_t)1 << 53) + 1;
  assert_int_equal(tkn_llm_response_set_usage(resp, &u), TKN_ERR_INVALID);
  tkn_llm_response_free(resp);
}

static tkn_agent *reentrant_agent;
static int reentrant_rc;
static int reentrant_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = (tkn_agent_result *)1;
  reentrant_rc = tkn_agent_turn(reentrant_agent, c, NULL, &r);
  assert_null(r);
  assert_int_equal(tkn_agent_add_text(reentrant_agent, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                      S("x"), S("y")),
                   TKN_ERR_STATE);
  tkn_conv_free(c);
  return fake_complete(rq, resp, user);
}

/* issue 21: a turn started from the agent's own callback ran unnoticed and
 * vanished from the outer turn's stats. */
static void a_turn_from_inside_a_turn_is_refused(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "fine", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.llm.complete = reentrant_complete;
  tkn_agent *a = agent_with(&o);
  reentrant_agent = a;
  reentrant_rc = 0;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_int_equal(reentrant_rc, TKN_ERR_STATE);
  assert_int_equal(H.n_calls, 1);
  assert_int_equal(stats_of(r).calls, 1);
  tkn_agent_result_free(r);
  /* and once the turn is over the agent takes the next one */
  o.llm.complete = fake_complete;
  host_reset(&H, sc, 1);
  tkn_agent_free(a);
  a = agent_with(&o);
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void context_target_must_lie_under_the_limit(void **state) {
  (void)state;
  tkn_agent_options o = base_opts();
  tkn_agent *a = NULL;
  char err[256] = "";
  o.max_context_tokens = 100;
  o.context_target_tokens = 101;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_null(a);
  assert_non_null(strstr(err, "context_target_tokens"));
  o.context_target_tokens = -1;
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
  o.max_context_tokens = 0;
  o.context_target_tokens = 10; /* a target without a limit */
  assert_int_equal(tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err), TKN_ERR_INVALID);
}

static void pruning_cuts_to_half_the_limit_so_the_next_turn_is_not_pruned(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.max_context_tokens = 100;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SCORE;
  po.keep_last_turns = 1;
  o.prune = &po;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  tkn_agent_stats st = stats_of(r);
  assert_true(st.context_tokens_before > 100);
  assert_true(st.context_tokens_after <= 50);
  tkn_agent_result_free(r);
  /* the next turn adds a little: under the limit, the history is sent as it
   * is (a prefix of the next request), not pruned again */
  size_t n1 = tkn_conv_count(c);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, S("And the lamp model?")), TKN_OK);
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_int_equal(count_steps(r, "prune"), 0);
  assert_int_equal(stats_of(r).pruned_messages, 0);
  assert_int_equal(tkn_conv_count(c), n1 + 2);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static void summary_keeps_the_identifiers_the_summariser_dropped(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.llm.summarise = lossy_summarise;
  o.max_context_tokens = 100;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SUMMARISE;
  po.keep_last_turns = 1;
  o.prune = &po;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_int_equal(H.summarised, 1);
  assert_int_equal(count_steps(r, "ledger"), 1);
  assert_null(strstr(H.calls[0].body, "crushed")); /* the message was summarised */
  if (!strstr(H.calls[0].body, "Kept verbatim: ORD-1111"))
    fail_msg("%s", tkn_agent_result_trace(r, NULL));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

static const char *TOOL_CONV =
    "[{\"role\":\"system\",\"content\":\"You help customers.\"},"
    "{\"role\":\"user\",\"content\":\"Where is order ORD-2222?\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"lookup_order\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"{\\\"order_id\\\":"
    "\\\"ORD-2222\\\",\\\"tracking\\\":\\\"1Z999AA10123456784\\\",\\\"events\\\":"
    "\\\"label created, picked up at the depot, arrived at the regional facility, departed the "
    "regional facility, in transit to the destination facility, arrived at the destination "
    "facility, out for delivery with the driver, delivery attempted but nobody was home, "
    "notice left at the door, held at the local facility for pickup by the customer\\\"}\"},"
    "{\"role\":\"assistant\",\"content\":\"It is held at the local facility.\"},"
    "{\"role\":\"user\",\"content\":\"Thanks. Can I pick it up today?\"}]";

static void last_turns_too_big_for_the_target_keep_only_the_current_turn(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  o.llm.summarise = lossy_summarise;
  o.max_context_tokens = 150;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SUMMARISE;
  po.keep_last_turns = 2; /* the previous turn holds the big tool result */
  o.prune = &po;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, TOOL_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  tkn_agent_stats st = stats_of(r);
  assert_true(st.context_tokens_before > 150);
  assert_true(st.pruned_messages > 0);
  assert_int_equal(st.summaries, 1);
  const char *body = H.calls[0].body;
  assert_null(strstr(body, "nobody was home")); /* the old tool result went into the summary */
  assert_non_null(strstr(body, "Can I pick it up today?"));
  /* its identifiers did not: the tracking number is still there */
  if (!strstr(body, "1Z999AA10123456784")) fail_msg("%s", tkn_agent_result_trace(r, NULL));
  assert_non_null(strstr(tkn_agent_result_trace(r, NULL), "\"keep_last_turns\":1"));
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* The current turn alone (its tool result) is over max_context_tokens: with
 * degrade on (the default), score mode clears the result inside the kept turn
 * rather than grow its target past the host's limit. */
static const char *BIG_LAST_TURN =
    "[{\"role\":\"system\",\"content\":\"You help customers.\"},"
    "{\"role\":\"user\",\"content\":\"Hello\"},"
    "{\"role\":\"assistant\",\"content\":\"Hello, how can I help?\"},"
    "{\"role\":\"user\",\"content\":\"Where is order ORD-2222?\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"lookup_order\",\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"label created, picked up at "
    "the depot, arrived at the regional facility, departed the regional facility, in transit to "
    "the destination facility, arrived at the destination facility, out for delivery with the "
    "driver, delivery attempted but nobody was home, notice left at the door, held at the local "
    "facility for pickup by the customer\"}]";

static void current_turn_over_the_limit_degrades_within_it(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "ok", "stop", NULL, NULL}};
  for (int degrade = 0; degrade <= 1; degrade++) {
    host_reset(&H, sc, 1);
    tkn_agent_options o = base_opts();
    o.max_context_tokens = 80;
    tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
    po.mode = TKN_PRUNE_SCORE;
    po.degrade = degrade;
    o.prune = &po;
    tkn_agent *a = agent_with(&o);
    tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, BIG_LAST_TURN);
    tkn_agent_result *r = NULL;
    assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
    tkn_agent_stats st = stats_of(r);
    assert_true(st.context_tokens_before > 80);
    const char *body = H.calls[0].body;
    assert_non_null(strstr(body, "Where is order ORD-2222?"));
    if (degrade) {
      /* within the limit: the result inside the kept turn is the placeholder */
      if (st.context_tokens_after > 80) fail_msg("%s", tkn_agent_result_trace(r, NULL));
      assert_null(strstr(body, "nobody was home"));
    } else {
      /* degrade 0: the turn is kept whole, over the limit (the old contract) */
      assert_true(st.context_tokens_after > 80);
      assert_non_null(strstr(body, "nobody was home"));
    }
    tkn_agent_result_free(r);
    tkn_conv_free(c);
    tkn_agent_free(a);
  }
}

static void halved_cap_comes_with_a_length_instruction(void **state) {
  (void)state;
  static const scripted sc[] = {{0, 0, "Summary: ORD-1111.", "stop", NULL, NULL},
                                {0, 0, "Yes.", "stop", NULL, NULL}};
  host_reset(&H, sc, 2);
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.soft_tokens = 10;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
  tkn_budget_amount spent = TKN_BUDGET_AMOUNT_INIT;
  spent.input_tokens = 20;
  assert_int_equal(tkn_budget_charge(b, &spent), TKN_OK);
  tkn_agent_options o = base_opts();
  o.budget = b;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_int_equal(H.n_calls, 2);
  assert_int_equal(H.calls[1].cap, 512);
  /* 3/5 of the cap in words: the answer ends before the cap cuts it */
  assert_non_null(strstr(H.calls[1].body, "Answer in at most 307 words"));
  assert_null(strstr(H.calls[0].body, "Answer in at most")); /* not in the summary request */
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_budget_free(b);
}

/* ---- metering ---- */

static void every_call_is_metered_with_its_attribution(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "bad", "stop", "{\"prompt_tokens\":100,\"completion_tokens\":3}", NULL},
      {0, 0, "{\"label\":\"refund\",\"confidence\":0.9}", "stop",
       "{\"prompt_tokens\":130,\"completion_tokens\":12,"
       "\"prompt_tokens_details\":{\"cached_tokens\":100}}",
       NULL}};
  host_reset(&H, sc, 2);
  tkn_meter *m = NULL;
  assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
  tkn_agent_options o = base_opts();
  o.meter = m;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_schema *s = label_schema();
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.schema = s;
  to.schema_json = LABEL_SCHEMA;
  to.schema_json_len = strlen(LABEL_SCHEMA);
  to.task_type = "classify";
  to.task_type_len = 8;
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, &to, &r), TKN_OK);
  tkn_meter_stats ms = TKN_METER_STATS_INIT;
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TASK_TYPE, S("classify"), &ms), TKN_OK);
  assert_int_equal(ms.calls, 2);
  assert_int_equal(ms.validated, 2);
  assert_int_equal(ms.validation_passed, 1);
  assert_int_equal(ms.cache_read_tokens, 100);
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_TENANT, S("acme"), &ms), TKN_OK);
  assert_int_equal(tkn_meter_stats_get(m, TKN_METER_WORKFLOW, S("support"), &ms), TKN_OK);
  tkn_agent_stats st = stats_of(r);
  assert_int_equal(ms.cost, st.cost);
  assert_int_equal(st.cached_tokens, 100);
  tkn_agent_result_free(r);
  tkn_schema_free(s);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_meter_free(m);
}

static void tool_calls_finish_the_turn_and_join_the_history(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "", "tool_calls", NULL,
       "[{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","
       "\"arguments\":\"{\\\"order\\\":\\\"ORD-7731\\\"}\"}}]"}};
  host_reset(&H, sc, 1);
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, ONE_TURN);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  assert_string_equal(tkn_agent_result_finish_reason(r), "tool_calls");
  assert_non_null(strstr(tkn_agent_result_tool_calls(r, NULL), "call_1"));
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_tool_call_count(c, 1), 1);
  tkn_agent_result_free(r);
  tkn_conv_free(c);
  tkn_agent_free(a);
}

/* What the fake host's requests would cost at gpt-4o's prices (2.50 USD
 * input, 1.25 cached, per million tokens: here 2 and 1 per token) with
 * OpenAI's automatic caching simulated: each request reads from the cache the
 * longest prefix it shares with the one before, in 128-token blocks, from
 * 1,024 tokens on. */
static int64_t simulated_cost(const tkn_tokenizer *tok) {
  int64_t cost = 0;
  for (size_t i = 0; i < H.n_calls; i++) {
    const char *b = H.calls[i].body, *p = i ? H.calls[i - 1].body : "";
    size_t len = strlen(b), l = 0;
    while (i && b[l] && b[l] == p[l]) l++;
    int64_t total = 0, pre = 0;
    assert_int_equal(tkn_tokenizer_count(tok, b, len, &total), TKN_OK);
    assert_int_equal(tkn_tokenizer_count(tok, b, l, &pre), TKN_OK);
    int64_t cached = pre >= 1024 ? pre / 128 * 128 : 0;
    cost += (total - cached) * 2 + cached;
  }
  return cost;
}

/* A tool-heavy conversation: at each turn the model calls a tool and the
 * host appends its long result.  Returns the conversation after `turns`. */
static tkn_conv *tool_heavy_run(tkn_agent *a, int turns) {
  static scripted sc[24];
  static char calls[24][160];
  assert_true(turns <= 24);
  for (int i = 0; i < turns; i++) {
    snprintf(calls[i], sizeof calls[i],
             "[{\"id\":\"call_%d\",\"type\":\"function\",\"function\":{\"name\":\"lookup\","
             "\"arguments\":\"{\\\"record\\\":\\\"R-%d\\\"}\"}}]", i, i);
    sc[i] = (scripted){0, 0, "", "tool_calls", NULL, calls[i]};
  }
  host_reset(&H, sc, (size_t)turns);
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI,
                        "[{\"role\":\"system\",\"content\":\"You look records up.\"},"
                        "{\"role\":\"user\",\"content\":\"Check every record from R-0 on.\"}]");
  static char result[8192];
  for (int i = 0; i < turns; i++) {
    tkn_agent_result *r = NULL;
    assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
    assert_string_equal(tkn_agent_result_finish_reason(r), "tool_calls");
    tkn_agent_result_free(r);
    size_t w = 0;
    for (int k = 0; k < 80; k++)
      w += (size_t)snprintf(result + w, sizeof result - w, "R-%d field%d value%d; ", i, k, k * i);
    char id[32];
    snprintf(id, sizeof id, "call_%d", i);
    assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_TOOL, result, w), TKN_OK);
    assert_int_equal(tkn_conv_set_tool_call_id(c, tkn_conv_count(c) - 1, S(id)), TKN_OK);
  }
  return c;
}

static void policy_is_the_default_and_clears_what_pays(void **state) {
  (void)state;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  /* no pruning options, one priced model: the policy */
  tkn_agent_options o = base_opts();
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tool_heavy_run(a, 16);
  int64_t policy_cost = simulated_cost(tok);
  size_t n = tkn_conv_count(c), cleared = 0;
  for (size_t i = 0; i < n; i++) {
    if (tkn_conv_role(c, i) != TKN_ROLE_TOOL) continue;
    const char *text = NULL, *id = NULL;
    size_t len = 0, id_len = 0, at = 0;
    assert_int_equal(tkn_conv_text(c, i, &text, &len), TKN_OK);
    cleared += len == strlen(TKN_PRUNE_PLACEHOLDER) && !memcmp(text, S(TKN_PRUNE_PLACEHOLDER));
    /* the tool pairs are intact: every result still answers its call */
    assert_int_equal(tkn_conv_tool_call_id(c, i, &id, &id_len), TKN_OK);
    assert_int_equal(tkn_conv_find_tool_call(c, id, id_len, &at), TKN_OK);
    assert_true(at < i);
  }
  assert_true(cleared > 0);
  /* the last 3 results are kept */
  for (size_t i = n, seen_tools = 0; i-- > 0 && seen_tools < 3;) {
    if (tkn_conv_role(c, i) != TKN_ROLE_TOOL) continue;
    const char *text = NULL;
    size_t len = 0;
    assert_int_equal(tkn_conv_text(c, i, &text, &len), TKN_OK);
    assert_true(len > strlen(TKN_PRUNE_PLACEHOLDER));
    seen_tools++;
  }
  /* the last request held the placeholder: the clears were sent */
  assert_non_null(strstr(H.calls[H.n_calls - 1].body, TKN_PRUNE_PLACEHOLDER));
  tkn_conv_free(c);
  tkn_agent_free(a);
  /* the default keeps a ledger and lets a clear count on the next call: no
   * dearer here than the policy that makes every clear pay at once */
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_POLICY;
  po.price_input_per_mtok = 2500000000000;
  po.price_cache_read_per_mtok = 1250000000000;
  o.prune = &po;
  a = agent_with(&o);
  c = tool_heavy_run(a, 16);
  int64_t at_once_cost = simulated_cost(tok);
  print_message("simulated cost: policy with a ledger %lld, paying at once %lld\n",
                (long long)policy_cost, (long long)at_once_cost);
  assert_true(policy_cost <= at_once_cost);
  tkn_conv_free(c);
  tkn_agent_free(a);
  /* the same run in score mode without a context limit never prunes ... */
  po = (tkn_prune_options)TKN_PRUNE_OPTIONS_INIT;
  po.mode = TKN_PRUNE_SCORE;
  o.prune = &po;
  a = agent_with(&o);
  c = tool_heavy_run(a, 16);
  int64_t score_cost = simulated_cost(tok);
  assert_int_equal(tkn_conv_count(c), n);
  assert_null(strstr(H.calls[H.n_calls - 1].body, TKN_PRUNE_PLACEHOLDER));
  /* ... and costs more through the provider's cache */
  print_message("simulated cost: policy %lld, score %lld\n", (long long)policy_cost,
                (long long)score_cost);
  assert_true(policy_cost < score_cost);
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_tokenizer_free(tok);
}

/* The policy's credit after one more turn on c (the prune step's
 * "ledger_credit" in the trace), -1 if the turn traced no prune step (the
 * policy cleared nothing). */
static long long credit_after_a_turn(tkn_agent *a, tkn_conv *c) {
  static scripted done[1] = {{0, 0, "done", "stop", NULL, NULL}};
  host_reset(&H, done, 1);
  tkn_agent_result *r = NULL;
  assert_int_equal(tkn_agent_turn(a, c, NULL, &r), TKN_OK);
  const char *at = strstr(tkn_agent_result_trace(r, NULL), "\"ledger_credit\":");
  long long credit = at ? strtoll(at + strlen("\"ledger_credit\":"), NULL, 10) : -1;
  tkn_agent_result_free(r);
  return credit;
}

/* The agent's own ledger belongs to one conversation handle: a handle made
 * after that one is freed starts afresh, even where the allocator puts it at
 * the freed one's address with the same messages (a stale credit could let a
 * clear risk savings that conversation never made). */
static void ledger_starts_afresh_on_a_new_conversation(void **state) {
  (void)state;
  tkn_agent_options o = base_opts();
  /* the same run twice: one goes on, one is freed and read back */
  tkn_agent *a1 = agent_with(&o), *a2 = agent_with(&o);
  tkn_conv *c1 = tool_heavy_run(a1, 16);
  long long going_on = credit_after_a_turn(a1, c1);
  tkn_conv *c2 = tool_heavy_run(a2, 16);
  char *json = NULL;
  size_t len = 0;
  assert_int_equal(tkn_conv_to_json(c2, TKN_PROVIDER_OPENAI, &json, &len), TKN_OK);
  const void *old = c2;
  tkn_conv_free(c2);
  tkn_conv *again = NULL; /* the next handle made: where the allocator reuses blocks, there */
  assert_int_equal(tkn_conv_new(&again), TKN_OK);
  assert_int_equal(tkn_conv_load(again, TKN_PROVIDER_OPENAI, json, len), TKN_OK);
  tkn_free(json);
  long long fresh = credit_after_a_turn(a2, again);
  print_message("credit: going on %lld, a new handle %lld (%s address)\n", going_on, fresh,
                (const void *)again == old ? "the freed handle's" : "another");
  /* going on, the ledger's credit lets the turn clear; afresh, it clears
   * nothing (no prune step) or with less credit */
  assert_true(going_on > 0);
  assert_true(fresh < going_on);
  tkn_conv_free(again);
  tkn_conv_free(c1);
  tkn_agent_free(a1);
  tkn_agent_free(a2);
}

/* With a router and no pruning options the policy is the default too, at the
 * prices of the router's dearest model (gpt-4o here): the turn prunes before
 * it routes. */
static void a_routed_agent_clears_old_tool_results_by_default(void **state) {
  (void)state;
  tkn_agent_options o = base_opts();
  tkn_router *r = router();
  o.router = r;
  o.model = NULL;
  o.model_len = 0;
  tkn_agent *a = agent_with(&o);
  tkn_conv *c = tool_heavy_run(a, 16);
  size_t n = tkn_conv_count(c), cleared = 0;
  for (size_t i = 0; i < n; i++) {
    const char *text = NULL, *id = NULL;
    size_t len = 0, id_len = 0, at = 0;
    if (tkn_conv_role(c, i) != TKN_ROLE_TOOL) continue;
    assert_int_equal(tkn_conv_text(c, i, &text, &len), TKN_OK);
    cleared += len == strlen(TKN_PRUNE_PLACEHOLDER) && !memcmp(text, S(TKN_PRUNE_PLACEHOLDER));
    assert_int_equal(tkn_conv_tool_call_id(c, i, &id, &id_len), TKN_OK);
    assert_int_equal(tkn_conv_find_tool_call(c, id, id_len, &at), TKN_OK);
    assert_true(at < i);
  }
  assert_true(cleared > 0);
  assert_non_null(strstr(H.calls[H.n_calls - 1].body, TKN_PRUNE_PLACEHOLDER));
  tkn_conv_free(c);
  tkn_agent_free(a);
  /* a router whose models have no cache-read price: score mode, nothing cleared */
  static const char *UNPRICED =
      "{\"tiers\":[{\"name\":\"only\",\"models\":[\"my-local-model\"]}],\"rules\":[],"
      "\"default_tier\":\"only\"}";
  tkn_prices *pr = NULL;
  assert_int_equal(tkn_prices_load(&pr,
                                   S("{\"my-local-model\":{\"input_cost_per_token\":1e-06,"
                                     "\"output_cost_per_token\":2e-06}}"),
                                   NULL),
                   TKN_OK);
  tkn_router *r2 = NULL;
  assert_int_equal(tkn_router_new_json(&r2, UNPRICED, TKN_NUL_TERMINATED, NULL), TKN_OK);
  o.router = r2;
  o.prices = pr;
  a = agent_with(&o);
  c = tool_heavy_run(a, 16);
  assert_null(strstr(H.calls[H.n_calls - 1].body, TKN_PRUNE_PLACEHOLDER));
  tkn_conv_free(c);
  tkn_agent_free(a);
  tkn_router_free(r2);
  tkn_prices_free(pr);
  tkn_router_free(r);
}

/* ---- the tool cache ---- */

static int tool_runs;
static int run_tool(const char *tool, size_t tool_len, const char *args, size_t args_len,
                    const char **result, size_t *result_len, void *user) {
  (void)tool;
  (void)tool_len;
  (void)args;
  (void)args_len;
  (void)user;
  tool_runs++;
  *result = "{\"status\":\"shipped\"}";
  *result_len = strlen(*result);
  return 0;
}
static int fail_tool(const char *tool, size_t tool_len, const char *args, size_t args_len,
                     const char **result, size_t *result_len, void *user) {
  (void)tool, (void)tool_len, (void)args, (void)args_len, (void)result, (void)result_len,
      (void)user;
  return 1;
}

static void tool_results_are_served_from_the_cache(void **state) {
  (void)state;
  tkn_toolcache *tc = NULL;
  assert_int_equal(tkn_toolcache_new(&tc, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(tc, S("lookup"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION),
                   TKN_OK);
  tkn_agent_options o = base_opts();
  o.toolcache = tc;
  tkn_agent *a = agent_with(&o);
  tool_runs = 0;
  char *v = NULL;
  size_t vl = 0;
  int32_t hit = -1;
  assert_int_equal(tkn_agent_tool(a, S("lookup"), S("{\"b\":1,\"a\":2}"), S("s1"), run_tool, NULL,
                                  &v, &vl, &hit),
                   TKN_OK);
  assert_int_equal(hit, 0);
  assert_string_equal(v, "{\"status\":\"shipped\"}");
  tkn_free(v);
  /* same arguments in another order: a hit, the tool does not run again */
  assert_int_equal(tkn_agent_tool(a, S("lookup"), S("{\"a\":2,\"b\":1}"), S("s1"), run_tool, NULL,
                                  &v, &vl, &hit),
                   TKN_OK);
  assert_int_equal(hit, 1);
  assert_int_equal(tool_runs, 1);
  tkn_free(v);
  /* a tool without a policy always runs */
  assert_int_equal(tkn_agent_tool(a, S("send_mail"), S("{}"), S("s1"), run_tool, NULL, &v, &vl,
                                  &hit),
                   TKN_OK);
  assert_int_equal(hit, 0);
  assert_int_equal(tool_runs, 2);
  tkn_free(v);
  assert_int_equal(tkn_agent_tool(a, S("other"), S("{}"), S("s1"), fail_tool, NULL, &v, &vl, &hit),
                   TKN_ERR_CALLBACK);
  assert_null(v);
  assert_int_equal(tkn_agent_tool(a, S("lookup"), S("{}"), S("s1"), NULL, NULL, &v, &vl, &hit),
                   TKN_ERR_INVALID);
  tkn_agent_free(a);
  tkn_toolcache_free(tc);
}

/* A cacheable tool whose arguments the cache cannot key (not JSON) fails
 * with the cache's reason, and the tool does not run. */
static void tool_with_unkeyable_arguments_fails_without_running(void **state) {
  (void)state;
  tkn_toolcache *tc = NULL;
  assert_int_equal(tkn_toolcache_new(&tc, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(tc, S("lookup"), 1, 0, TKN_TOOLCACHE_SCOPE_SESSION),
                   TKN_OK);
  tkn_agent_options o = base_opts();
  o.toolcache = tc;
  tkn_agent *a = agent_with(&o);
  tool_runs = 0;
  char *v = NULL;
  size_t vl = 0;
  int32_t hit = -1;
  int rc = tkn_agent_tool(a, S("lookup"), S("{\"a\":"), S("s1"), run_tool, NULL, &v, &vl, &hit);
  assert_int_not_equal(rc, TKN_OK);
  assert_null(v);
  assert_int_equal(tool_runs, 0);
  assert_non_null(strstr(tkn_error_last()->message, "cache lookup failed"));
  tkn_agent_free(a);
  tkn_toolcache_free(tc);
}

/* Creating an agent and adding its pieces under every allocation failure:
 * each failure is reported, leaks nothing, and leaves the agent usable. */
static void new_and_pieces_survive_every_allocation_failure(void **state) {
  (void)state;
  int done = 0;
  for (long n = 1; !done && n < 10000; n++) {
    tt_alloc_install(n);
    tkn_agent_options o = base_opts();
    tkn_agent *a = NULL;
    char err[256] = "";
    int rc = tt_keep_err(tkn_agent_new(&a, &o), err, sizeof err);
    if (rc == TKN_OK)
      rc = tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"), S("Be brief."));
    if (rc == TKN_OK) rc = tkn_agent_add_tool(a, S("{\"name\":\"lookup\"}"));
    if (rc == TKN_OK) {
      assert_false(tt_alloc.failed);
      done = 1;
    } else {
      assert_int_equal(rc, TKN_ERR_NOMEM);
      assert_true(tt_alloc.failed);
      assert_true(strlen(a ? tkn_error_last()->message : err) > 0);
    }
    tkn_agent_free(a);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
  }
  assert_true(done);
}

/* ---- results ---- */

static void result_accessors_handle_null(void **state) {
  (void)state;
  size_t len = 9;
  assert_string_equal(tkn_agent_result_content(NULL, &len), "");
  assert_int_equal(len, 0);
  assert_string_equal(tkn_agent_result_tool_calls(NULL, NULL), "");
  assert_string_equal(tkn_agent_result_finish_reason(NULL), "");
  assert_string_equal(tkn_agent_result_model(NULL), "");
  assert_string_equal(tkn_agent_result_trace(NULL, NULL), "");
  tkn_agent_stats st = TKN_AGENT_STATS_INIT;
  assert_int_equal(tkn_agent_result_stats(NULL, &st), TKN_ERR_INVALID);
  tkn_agent_result_free(NULL);
}

/* ---- out of memory ---- */

static void turn_survives_every_allocation_failure(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "x", "stop", NULL, NULL},
      {0, 0, "{\"label\":\"refund\",\"confidence\":0.3}", "stop",
       "{\"prompt_tokens\":50,\"completion_tokens\":5}", NULL},
      {0, 0, "{\"label\":\"refund\",\"confidence\":0.9}", "stop", NULL, NULL}};
  int done = 0;
  long iterations = 0;
  for (long n = 1; !done && n < 200000; n++) {
    iterations = n;
    host_reset(&H, sc, 3);
    tt_alloc_install(0);
    tkn_router *rt = router();
    tkn_schema *s = label_schema();
    tkn_task *task = task_kind("classify");
    tkn_meter *m = NULL;
    assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
    tkn_agent_options o = base_opts();
    o.router = rt;
    o.meter = m;
    tkn_agent *a = agent_with(&o);
    assert_int_equal(tkn_agent_add_text(a, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"),
                                        S("Classify the ticket.")),
                     TKN_OK);
    tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
    tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
    to.task = task;
    to.schema = s;
    to.schema_json = LABEL_SCHEMA;
    to.schema_json_len = strlen(LABEL_SCHEMA);
    long before = tt_alloc.count;
    tt_alloc.fail_at = before + n;
    tkn_agent_result *r = NULL;
    int rc = tkn_agent_turn(a, c, &to, &r);
    tt_alloc.fail_at = 0;
    if (rc == TKN_OK) {
      if (!tt_alloc.failed) done = 1;
      tkn_agent_result_free(r);
    } else {
      assert_null(r);
      assert_true(tt_alloc.failed);
      assert_true(strlen(tkn_error_last()->message) > 0);
      assert_int_equal(tkn_conv_count(c), 6);
    }
    tkn_conv_free(c);
    tkn_agent_free(a);
    tkn_meter_free(m);
    tkn_task_free(task);
    tkn_schema_free(s);
    tkn_router_free(rt);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
  }
  assert_true(done);
  print_message("out-of-memory loop: %ld allocation points\n", iterations);
}

/* A soft-budget turn summarises through the cheap tier before it answers.
 * Each allocation it makes may fail: the turn then fails with the error (out
 * of memory is never hidden behind the extractive summary), leaks nothing,
 * and leaves the caller's conversation as it was. */
static void summary_turn_reports_every_allocation_failure(void **state) {
  (void)state;
  static const scripted sc[] = {
      {0, 0, "Summary: ORD-1111 broken lamp, claim open.", "stop",
       "{\"prompt_tokens\":120,\"completion_tokens\":12}", NULL},
      {0, 0, "Yes, a refund is possible.", "stop",
       "{\"prompt_tokens\":80,\"completion_tokens\":8}", NULL}};
  int done = 0;
  long iterations = 0;
  for (long n = 1; !done && n < 200000; n++) {
    iterations = n;
    host_reset(&H, sc, 2);
    tt_alloc_install(0);
    tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
    bo.soft_tokens = 10;
    tkn_budget *b = NULL;
    assert_int_equal(tkn_budget_new(&b, &bo, NULL), TKN_OK);
    tkn_budget_amount spent = TKN_BUDGET_AMOUNT_INIT;
    spent.input_tokens = 20;
    assert_int_equal(tkn_budget_charge(b, &spent), TKN_OK);
    tkn_router *rt = router();
    tkn_meter *m = NULL;
    assert_int_equal(tkn_meter_new(&m, NULL), TKN_OK);
    tkn_agent_options o = base_opts();
    o.budget = b;
    o.router = rt;
    o.meter = m;
    tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
    po.mode = TKN_PRUNE_SCORE;
    po.keep_last_turns = 1;
    o.prune = &po;
    tkn_agent *a = agent_with(&o);
    tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, LONG_CONV);
    size_t before_n = tkn_conv_count(c);
    long before = tt_alloc.count;
    tt_alloc.fail_at = before + n;
    tkn_agent_result *r = NULL;
    int rc = tkn_agent_turn(a, c, NULL, &r);
    tt_alloc.fail_at = 0;
    if (rc == TKN_OK) {
      /* only an optional allocation (the pruner's feature cache) may fail
       * here: the summary still comes from the cheap tier, not the extract */
      if (H.n_calls != 2 || H.calls[0].purpose != TKN_LLM_PURPOSE_SUMMARY)
        fail_msg("allocation %ld failed, yet the turn succeeded without asking for the summary", n);
      assert_int_equal(stats_of(r).summaries, 1);
      if (!tt_alloc.failed) done = 1;
      tkn_agent_result_free(r);
    } else {
      assert_null(r);
      assert_true(tt_alloc.failed);
      assert_true(strlen(tkn_error_last()->message) > 0);
      assert_int_equal(tkn_conv_count(c), before_n);
    }
    tkn_conv_free(c);
    tkn_agent_free(a);
    tkn_meter_free(m);
    tkn_router_free(rt);
    tkn_budget_free(b);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
  }
  assert_true(done);
  print_message("out-of-memory loop: %ld allocation points\n", iterations);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(options_init_agree_with_macros, teardown),
      cmocka_unit_test_teardown(new_refuses_missing_complete_model_and_bad_values, teardown),
      cmocka_unit_test_teardown(response_setters_copy_and_getters_read, teardown),
      cmocka_unit_test_teardown(response_setters_refuse_bad_input_and_keep_the_old_value, teardown),
      cmocka_unit_test_teardown(response_usage_set_from_counts_reads_back, teardown),
      cmocka_unit_test_teardown(response_getters_of_null_read_empty, teardown),
      cmocka_unit_test_teardown(response_field_over_the_limit_is_refused, teardown),
      cmocka_unit_test_teardown(fail_names_cover_every_class, teardown),
      cmocka_unit_test_teardown(turn_calls_the_model_and_appends_the_answer, teardown),
      cmocka_unit_test_teardown(turn_without_host_usage_counts_with_its_tokenizer, teardown),
      cmocka_unit_test_teardown(turn_estimates_with_the_calibration_of_its_model, teardown),
      cmocka_unit_test_teardown(turn_refuses_bad_arguments_and_leaves_conv, teardown),
      cmocka_unit_test_teardown(pieces_are_checked_when_added, teardown),
      cmocka_unit_test_teardown(tools_come_first_in_the_rendered_request, teardown),
      cmocka_unit_test_teardown(turn_sends_the_tools_selected_for_the_last_two_turns,
                                teardown),
      cmocka_unit_test_teardown(tool_selection_is_off_by_default_and_checked, teardown),
      cmocka_unit_test_teardown(invalid_answer_is_reasked_then_accepted, teardown),
      cmocka_unit_test_teardown(bounded_schema_sets_a_tight_output_cap, teardown),
      cmocka_unit_test_teardown(retry_plan_escalates_a_tier_then_gives_up, teardown),
      cmocka_unit_test_teardown(router_picks_the_tier_and_cascade_escalates_on_low_confidence,
                                teardown),
      cmocka_unit_test_teardown(default_tier_serves_tasks_no_rule_matches, teardown),
      cmocka_unit_test_teardown(rate_limit_is_retried_and_bad_request_is_not, teardown),
      cmocka_unit_test_teardown(failing_model_cools_down_and_the_router_fails_over, teardown),
      cmocka_unit_test_teardown(hard_budget_closes_with_a_summary_and_no_call, teardown),
      cmocka_unit_test_teardown(refused_reservation_closes_the_turn, teardown),
      cmocka_unit_test_teardown(soft_budget_summarises_through_the_cheap_tier_and_halves_the_cap,
                                teardown),
      cmocka_unit_test_teardown(long_history_is_pruned_to_max_context, teardown),
      cmocka_unit_test_teardown(context_target_must_lie_under_the_limit, teardown),
      cmocka_unit_test_teardown(pruning_cuts_to_half_the_limit_so_the_next_turn_is_not_pruned,
                                teardown),
      cmocka_unit_test_teardown(summary_keeps_the_identifiers_the_summariser_dropped, teardown),
      cmocka_unit_test_teardown(host_summary_is_cut_to_its_limit_and_metered, teardown),
      cmocka_unit_test_teardown(a_call_whose_cost_overflows_fails_the_turn, teardown),
      cmocka_unit_test(usage_setter_bounds_counts_like_the_json_one),
      cmocka_unit_test(an_unpriced_model_under_a_money_limit_is_refused),
      cmocka_unit_test_teardown(a_turn_from_inside_a_turn_is_refused, teardown),
      cmocka_unit_test_teardown(last_turns_too_big_for_the_target_keep_only_the_current_turn,
                                teardown),
      cmocka_unit_test_teardown(current_turn_over_the_limit_degrades_within_it, teardown),
      cmocka_unit_test_teardown(halved_cap_comes_with_a_length_instruction, teardown),
      cmocka_unit_test_teardown(every_call_is_metered_with_its_attribution, teardown),
      cmocka_unit_test_teardown(tool_calls_finish_the_turn_and_join_the_history, teardown),
      cmocka_unit_test_teardown(policy_is_the_default_and_clears_what_pays, teardown),
      cmocka_unit_test_teardown(ledger_starts_afresh_on_a_new_conversation, teardown),
      cmocka_unit_test_teardown(a_routed_agent_clears_old_tool_results_by_default, teardown),
      cmocka_unit_test_teardown(tool_results_are_served_from_the_cache, teardown),
      cmocka_unit_test_teardown(tool_with_unkeyable_arguments_fails_without_running, teardown),
      cmocka_unit_test_teardown(new_and_pieces_survive_every_allocation_failure, teardown),
      cmocka_unit_test_teardown(result_accessors_handle_null, teardown),
      cmocka_unit_test_teardown(turn_survives_every_allocation_failure, teardown),
      cmocka_unit_test_teardown(summary_turn_reports_every_allocation_failure, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
