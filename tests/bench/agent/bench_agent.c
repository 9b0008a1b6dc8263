/* What one agent turn costs on the CPU, the model call excluded: a fake host
 * answers at once, so the time is tokenomy's own (budget, routing, assembly
 * and rendering, validation, cascade, metering, trace).  Compared side by side
 * with assembling and rendering the same prompt alone, the least any host
 * does to send a request.
 *
 * Input: a 3-tool, ~2,000-token static prefix, conversations of 20 turns
 * (the history grows to 40 messages), structured answers validated against a
 * schema, a 3-tier router with a cascade rule, a meter and a budget.
 * Rerun: meson test -C build --benchmark --suite bench -v agent
 *        (or build/tests/bench/agent/bench_agent [turns]) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

#define S(x) (x), strlen(x)

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int fake(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  (void)user;
  static const char a[] = "{\"label\":\"refund\",\"confidence\":0.93}";
  char usage[128];
  snprintf(usage, sizeof usage,
           "{\"prompt_tokens\":%lld,\"completion_tokens\":12,"
           "\"prompt_tokens_details\":{\"cached_tokens\":%lld}}",
           (long long)rq->input_tokens, (long long)(rq->input_tokens / 2));
  tkn_llm_response_set_content(resp, a, sizeof a - 1);
  tkn_llm_response_set_finish_reason(resp, "stop", 4);
  tkn_llm_response_set_usage_json(resp, TKN_USAGE_OPENAI_CHAT, usage, strlen(usage));
  return 0;
}

static const char *ROUTER =
    "{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\"],\"threshold\":0.8},"
    "{\"name\":\"medium\",\"models\":[\"gpt-4.1-mini\"],\"threshold\":0.7},"
    "{\"name\":\"large\",\"models\":[\"gpt-4o\"]}],"
    "\"rules\":[{\"when\":{\"attr\":\"kind\",\"eq\":\"classify\"},\"tier\":\"small\","
    "\"reason\":\"classification\",\"cascade\":true}],\"default_tier\":\"large\","
    "\"cascade\":{\"max_escalations\":2,\"confidence_path\":\"confidence\"}}";
static const char *SCHEMA =
    "{\"type\":\"object\",\"properties\":{\"label\":{\"enum\":[\"refund\",\"shipping\"]},"
    "\"confidence\":{\"type\":\"number\"}},\"required\":[\"label\",\"confidence\"]}";

int main(int argc, char **argv) {
  int turns = argc > 1 ? atoi(argv[1]) : 2000;
  if (turns < 20) turns = 20;
  char *system = malloc(16384);
  size_t off = 0;
  for (int i = 0; i < 200; i++)
    off += (size_t)snprintf(system + off, 16384 - off, "Policy rule %d: orders ship in two days. ", i);
  tkn_router *router = NULL;
  tkn_router_new_json(&router, ROUTER, strlen(ROUTER), NULL);
  tkn_schema *schema = NULL;
  tkn_schema_compile(&schema, SCHEMA, strlen(SCHEMA), NULL);
  tkn_meter *meter = NULL;
  tkn_meter_new(&meter, NULL);
  tkn_budget *budget = NULL;
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  tkn_budget_new(&budget, &bo, NULL);
  tkn_tokenizer *tok = NULL;
  tkn_tokenizer_new_estimator(&tok);
  tkn_agent_options o = TKN_AGENT_OPTIONS_INIT;
  o.llm.complete = fake;
  o.router = router;
  o.meter = meter;
  o.budget = budget;
  o.tokenizer = tok;
  tkn_agent *agent = NULL;
  if (tkn_agent_new(&agent, &o)) return 1;
  const char *tools[] = {"{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\"}}",
                         "{\"name\":\"refund\",\"parameters\":{\"type\":\"object\"}}",
                         "{\"name\":\"search\",\"parameters\":{\"type\":\"object\"}}"};
  for (int i = 0; i < 3; i++) tkn_agent_add_tool(agent, S(tools[i]));
  tkn_agent_add_text(agent, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"), system, off);
  tkn_task *task = NULL;
  tkn_task_new(&task);
  tkn_task_set_string(task, S("kind"), S("classify"));
  tkn_agent_turn_options to = TKN_AGENT_TURN_OPTIONS_INIT;
  to.task = task;
  to.schema = schema;
  to.schema_json = SCHEMA;
  to.schema_json_len = strlen(SCHEMA);
  const char *user = "My order ORD-12345 arrived damaged and I would like my money back please.";

  /* the full turn */
  tkn_conv *conv = NULL;
  double t0 = now();
  for (int i = 0; i < turns; i++) {
    if (i % 20 == 0) {
      tkn_conv_free(conv);
      tkn_conv_new(&conv);
    }
    tkn_conv_append_text(conv, TKN_ROLE_USER, user, strlen(user));
    tkn_agent_result *r = NULL;
    if (tkn_agent_turn(agent, conv, &to, &r)) return 1;
    tkn_agent_result_free(r);
  }
  double full = (now() - t0) / turns;

  /* assembling and rendering the same prompts alone */
  tkn_conv_free(conv);
  conv = NULL;
  t0 = now();
  for (int i = 0; i < turns; i++) {
    if (i % 20 == 0) {
      tkn_conv_free(conv);
      tkn_conv_new(&conv);
    }
    tkn_conv_append_text(conv, TKN_ROLE_USER, user, strlen(user));
    tkn_prompt_builder *b = NULL;
    tkn_prompt_builder_new(&b, NULL);
    for (int k = 0; k < 3; k++) tkn_prompt_builder_add_tool(b, S(tools[k]), NULL);
    tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("system"), system, off, NULL);
    tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
    tkn_prompt *p = NULL;
    tkn_prompt_assemble(&p, b, tok);
    tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
    ro.model = "gpt-4o-mini";
    ro.model_len = 11;
    char *body = NULL;
    tkn_prompt_render(p, &ro, &body, NULL);
    tkn_free(body);
    tkn_prompt_free(p);
    tkn_prompt_builder_free(b);
    /* what the agent appends to the history */
    tkn_conv_append_text(conv, TKN_ROLE_ASSISTANT, S("{\"label\":\"refund\",\"confidence\":0.93}"));
  }
  double render = (now() - t0) / turns;
  tkn_conv_free(conv);

  printf("agent turn overhead (model call excluded), %d turns, conversations of 20 turns,\n"
         "~2,000-token static prefix, 3 tools, schema validation, router + cascade, meter, budget\n"
         "rerun: meson test -C build --benchmark --suite bench -v agent\n\n", turns);
  printf("| %-40s | %12s |\n", "what", "us per turn");
  printf("|------------------------------------------|--------------|\n");
  printf("| %-40s | %12.1f |\n", "tkn_agent_turn (everything)", full * 1e6);
  printf("| %-40s | %12.1f |\n", "assemble + render alone", render * 1e6);
  printf("| %-40s | %11.2fx |\n", "ratio turn / render", full / render);
  tkn_task_free(task);
  tkn_agent_free(agent);
  tkn_tokenizer_free(tok);
  tkn_budget_free(budget);
  tkn_meter_free(meter);
  tkn_schema_free(schema);
  tkn_router_free(router);
  free(system);
  return 0;
}
