/* One working object of every opaque handle type, for the generated
 * NULL-argument test (gen_null_args_test.py): each call gets every argument
 * but one filled with something that works, so a failure is about the one
 * argument left NULL.  Made fresh for each call (a call may change them). */
#ifndef TKN_NULL_ARGS_FIXTURES_H
#define TKN_NULL_ARGS_FIXTURES_H

#include "test_util.h"

typedef struct fx {
  tkn_conv *conv;
  tkn_tokenizer *tokenizer;
  tkn_router *router;
  tkn_task *task;
  tkn_router_builder *router_builder;
  tkn_router_cascade *router_cascade;
  tkn_schema *schema;
  tkn_schema_result *schema_result;
  tkn_prices *prices;
  tkn_prompt_builder *prompt_builder;
  tkn_prompt *prompt;
  tkn_cacheplan *cacheplan;
  tkn_pruner *pruner;
  tkn_prune_report *prune_report;
  tkn_meter *meter;
  tkn_budget *budget;
  tkn_budget_reservation *budget_reservation;
  tkn_toolcache *toolcache;
  tkn_toolsel *toolsel;
  tkn_llm_response *llm_response;
  tkn_batch_writer *batch_writer;
  tkn_batch_reader *batch_reader;
  tkn_agent *agent;
  tkn_agent_result *agent_result;
} fx;

static inline int fx_complete(const tkn_llm_request *rq, tkn_llm_response *resp, void *user) {
  (void)rq;
  (void)user;
  return tkn_llm_response_set_content(resp, S("fine"));
}
static inline int fx_begin_file(uint32_t index, void *user) {
  (void)index;
  (void)user;
  return 0;
}
static inline int fx_write(const char *data, size_t len, void *user) {
  (void)data;
  (void)len;
  (void)user;
  return 0;
}
static inline int fx_tool_fn(const char *tool, size_t tool_len, const char *args, size_t args_len,
                      const char **result, size_t *result_len, void *user) {
  (void)tool, (void)tool_len, (void)args, (void)args_len, (void)user;
  *result = "r";
  *result_len = 1;
  return 0;
}
static inline int fx_comparator(const char *cheap, size_t cheap_len, const char *strong,
                         size_t strong_len, void *user) {
  (void)cheap, (void)cheap_len, (void)strong, (void)strong_len, (void)user;
  return 1;
}

#define FX_OK(call)                                                                               \
  do {                                                                                            \
    if ((call) != TKN_OK) fail_msg("fixture: %s: %s", #call, tkn_error_last()->message);         \
  } while (0)

static inline void fx_make(fx *f) {
  memset(f, 0, sizeof *f);
  FX_OK(tkn_conv_from_json(&f->conv, TKN_PROVIDER_AUTO,
                           S("[{\"role\":\"system\",\"content\":\"Be brief.\"},"
                             "{\"role\":\"user\",\"content\":\"Hello there\"}]")));
  FX_OK(tkn_tokenizer_new_estimator(&f->tokenizer));
  FX_OK(tkn_router_new_json(&f->router,
                            S("{\"tiers\":[{\"name\":\"small\",\"models\":[\"gpt-4o-mini\"]},"
                              "{\"name\":\"large\",\"models\":[\"gpt-4o\"]}],"
                              "\"default_tier\":\"large\"}"),
                            NULL));
  FX_OK(tkn_task_new(&f->task));
  FX_OK(tkn_router_builder_new(&f->router_builder));
  FX_OK(tkn_router_cascade_new(&f->router_cascade, f->router, NULL));
  FX_OK(tkn_schema_compile(&f->schema,
                           S("{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
                             "\"string\",\"pattern\":\"^[A-Z]\",\"minLength\":2},\"tags\":"
                             "{\"type\":\"array\",\"uniqueItems\":true}},"
                             "\"required\":[\"name\",\"id\"]}"),
                           NULL));
  FX_OK(tkn_schema_result_new(&f->schema_result));
  FX_OK(tkn_prices_new_default(&f->prices));
  FX_OK(tkn_prompt_builder_new(&f->prompt_builder, NULL));
  FX_OK(tkn_prompt_builder_add_text(f->prompt_builder, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                    S("rules"), S("Answer briefly."), NULL));
  FX_OK(tkn_prompt_builder_set_history(f->prompt_builder, f->conv, TKN_STABILITY_SESSION, NULL));
  FX_OK(tkn_prompt_assemble(&f->prompt, f->prompt_builder, f->tokenizer));
  tkn_cacheplan_options po = TKN_CACHEPLAN_OPTIONS_INIT;
  po.provider = TKN_PROVIDER_ANTHROPIC;
  po.price_input = 3000000;
  FX_OK(tkn_cacheplan_new(&f->cacheplan, &po));
  FX_OK(tkn_prune_new(&f->pruner, f->tokenizer));
  tkn_prune_options pr = TKN_PRUNE_OPTIONS_INIT;
  pr.max_tokens = 1000;
  FX_OK(tkn_prune_run(f->pruner, f->conv, &pr, &f->prune_report));
  FX_OK(tkn_meter_new(&f->meter, NULL));
  tkn_budget_options bo = TKN_BUDGET_OPTIONS_INIT;
  bo.hard_tokens = 1000000;
  FX_OK(tkn_budget_new(&f->budget, &bo, NULL));
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = 1;
  FX_OK(tkn_budget_reserve(f->budget, &a, &f->budget_reservation));
  FX_OK(tkn_toolcache_new(&f->toolcache, NULL));
  FX_OK(tkn_toolsel_new(&f->toolsel, NULL));
  FX_OK(tkn_toolsel_add(f->toolsel, S("{\"name\":\"weather\",\"description\":\"The weather\"}"),
                        NULL));
  FX_OK(tkn_llm_response_new(&f->llm_response));
  tkn_batch_writer_options wo = TKN_BATCH_WRITER_OPTIONS_INIT;
  wo.begin_file = fx_begin_file;
  wo.write = fx_write;
  FX_OK(tkn_batch_writer_new(&f->batch_writer, &wo));
  FX_OK(tkn_batch_reader_new(&f->batch_reader, NULL));
  tkn_agent_options ao = TKN_AGENT_OPTIONS_INIT;
  ao.llm.complete = fx_complete;
  ao.model = "gpt-4o";
  ao.model_len = 6;
  FX_OK(tkn_agent_new(&f->agent, &ao));
  tkn_conv *c = NULL;
  FX_OK(tkn_conv_clone(&c, f->conv));
  FX_OK(tkn_agent_turn(f->agent, c, NULL, &f->agent_result));
  tkn_conv_free(c);
}

static inline void fx_free(fx *f) {
  tkn_agent_result_free(f->agent_result);
  tkn_agent_free(f->agent);
  tkn_batch_reader_free(f->batch_reader);
  tkn_batch_writer_free(f->batch_writer);
  tkn_llm_response_free(f->llm_response);
  tkn_toolsel_free(f->toolsel);
  tkn_toolcache_free(f->toolcache);
  tkn_budget_release(f->budget_reservation);
  tkn_budget_free(f->budget);
  tkn_meter_free(f->meter);
  tkn_prune_report_free(f->prune_report);
  tkn_prune_free(f->pruner);
  tkn_cacheplan_free(f->cacheplan);
  tkn_prompt_free(f->prompt);
  tkn_prompt_builder_free(f->prompt_builder);
  tkn_prices_free(f->prices);
  tkn_schema_result_free(f->schema_result);
  tkn_schema_free(f->schema);
  tkn_router_cascade_free(f->router_cascade);
  tkn_router_builder_free(f->router_builder);
  tkn_task_free(f->task);
  tkn_router_free(f->router);
  tkn_tokenizer_free(f->tokenizer);
  tkn_conv_free(f->conv);
}

#endif
