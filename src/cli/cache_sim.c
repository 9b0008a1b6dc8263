/* tokenomy cache-sim: a provider's prompt cache simulated over a request log. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char CACHE_HELP[] =
    "usage: tokenomy cache-sim [--provider openai|anthropic|gemini] [--model M]\n"
    "                          [--price-input USD_PER_MTOK] [--min-cache-tokens N] [--json]\n"
    "                          [LOG.json]\n"
    "\n"
    "Simulate a provider's prompt cache over a request log and print the hit rate,\n"
    "the input cost with and without the cache, and advice.  LOG: a JSON array of\n"
    "{\"time_ms\": T, ...assemble spec (see tokenomy assemble --help)}.\n"
    "The model defaults to the provider's: gpt-4o (openai), claude-sonnet-4-5\n"
    "(anthropic), gemini-2.5-pro (gemini); a --model of another provider is refused.\n"
    "The input price defaults to the model's price in the built-in table; the\n"
    "output names the model and the price it used.\n"
    "Tokens are counted exactly with the model's encoding (gpt-4o: o200k_base), with\n"
    "the estimator only for a model without one; the output names the counter.\n"
    "The minimum cacheable prefix is the model's documented one (a model without\n"
    "one is refused): --min-cache-tokens N sets it.\n";

/* The simulation's result: hit rate, cost with and without the cache, advice. */
static void print_result(tkn_cacheplan *plan, const tkn_cacheplan_options *opts,
                         const char *pname, const char *model, const char *counter,
                         int json) {
  tkn_cacheplan_result r;
  memset(&r, 0, sizeof r);
  r.version = TKN_CACHEPLAN_RESULT_VERSION;
  tkn_cacheplan_result_get(plan, &r);
  char *advice = NULL;
  tkn_cacheplan_advice(plan, &advice, NULL);
  if (json) {
    cJSON *o2 = cJSON_CreateObject();
    char usd[48];
    cJSON_AddStringToObject(o2, "provider", pname);
    cJSON_AddStringToObject(o2, "model", model);
    cJSON_AddStringToObject(o2, "price_input_usd_per_mtok",
                            cli_usd(opts->price_input * 1000000, 6, usd, sizeof usd));
    cJSON_AddNumberToObject(o2, "requests", (double)r.requests);
    cJSON_AddNumberToObject(o2, "input_tokens", (double)r.input_tokens);
    cJSON_AddNumberToObject(o2, "cached_tokens", (double)r.cached_tokens);
    cJSON_AddNumberToObject(o2, "written_tokens", (double)r.written_tokens);
    cJSON_AddNumberToObject(o2, "hit_rate", (double)r.hit_rate_ppm / 1e6);
    cJSON_AddStringToObject(o2, "cost_without_usd", cli_usd(r.cost_without, 12, usd, sizeof usd));
    cJSON_AddStringToObject(o2, "cost_with_usd", cli_usd(r.cost_with, 12, usd, sizeof usd));
    cJSON_AddNumberToObject(o2, "prefix_changes", (double)r.prefix_changes);
    cJSON_AddStringToObject(o2, "advice", advice ? advice : "");
    cJSON_AddStringToObject(o2, "counter", counter);
    cli_print_json(o2);
    cJSON_Delete(o2);
  } else {
    char a[48], b[48], pm[48];
    printf("model           %s (%s), input at %s USD per million tokens\n", model, pname,
           cli_usd(opts->price_input * 1000000, 6, pm, sizeof pm));
    printf("tokens counted  %s\n", counter);
    printf("requests        %lld\ninput tokens    %lld\ncached tokens   %lld\nhit rate        "
           "%.1f%%\ncost without    %s USD\ncost with       %s USD\n\n%s\n",
           (long long)r.requests, (long long)r.input_tokens, (long long)r.cached_tokens,
           (double)r.hit_rate_ppm / 1e4, cli_usd(r.cost_without, 6, a, sizeof a),
           cli_usd(r.cost_with, 6, b, sizeof b), advice ? advice : "");
  }
  tkn_free(advice);
}

int cmd_cache_sim(int argc, char **argv) {
  const char *file = NULL, *model = NULL, *price = NULL;
  long long min_cache = 0;
  int json = 0, provider = TKN_PROVIDER_OPENAI;
  static const cli_choice PROVIDERS[] = {{"openai", TKN_PROVIDER_OPENAI},
                                         {"anthropic", TKN_PROVIDER_ANTHROPIC},
                                         {"gemini", TKN_PROVIDER_GEMINI},
                                         {NULL, 0}};
  const cli_option opts[] = {
      {"--provider", CLI_CHOICE, &provider, "openai, anthropic or gemini", 0, 0, PROVIDERS},
      {"--model", CLI_STR, &model, NULL, 0, 0, NULL},
      {"--price-input", CLI_STR, &price, NULL, 0, 0, NULL},
      {"--min-cache-tokens", CLI_INT, &min_cache, "a count > 0", 1, LLONG_MAX, NULL},
      {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int parsed = cli_parse_file("cache-sim", CACHE_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  static const char *const DEFAULT_MODEL[][2] = {
      {"openai", "gpt-4o"}, {"anthropic", "claude-sonnet-4-5"}, {"gemini", "gemini-2.5-pro"}};
  const char *pname = provider == TKN_PROVIDER_ANTHROPIC ? "anthropic"
                      : provider == TKN_PROVIDER_GEMINI  ? "gemini"
                                                         : "openai";
  for (size_t k = 0; !model && k < 3; k++)
    if (!strcmp(DEFAULT_MODEL[k][0], pname)) model = DEFAULT_MODEL[k][1];
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = (uint32_t)provider;
  o.model = model;
  o.model_len = strlen(model);
  /* the built-in table gives the minimum cacheable length and, without
   * --price-input, the price */
  tkn_prices *pr = NULL;
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  tkn_prices_new_default(&pr);
  int64_t min = 0; /* unknown model: tkn_cacheplan_new names it */
  if (min_cache > 0)
    o.min_cache_tokens = min_cache;
  else if (tkn_prompt_min_cache_tokens_from(pr, o.provider, model, strlen(model), &min) == TKN_OK)
    o.min_cache_tokens = min;
  int known = tkn_prices_lookup(pr, model, strlen(model), &mp) == TKN_OK && mp.input_per_mtok > 0;
  /* a model the table files under another provider would be priced at the
   * wrong provider's rates and cache rules */
  char mprov[64] = "";
  if (known) snprintf(mprov, sizeof mprov, "%.*s", (int)mp.provider_len, mp.provider);
  tkn_prices_free(pr);
  if (known && *mprov && strcmp(mprov, pname) != 0)
    return CLI_USAGE_ERR("cache-sim", "model '%s' is %s's, not %s's: give --model of %s or "
                         "--provider %s", model, mprov, pname, pname, mprov);
  if (price) {
    int64_t units = 0;
    if (tkn_usd_parse(price, strlen(price), &units) || units <= 0)
      return CLI_USAGE_ERR("cache-sim", "--price-input: expected a positive USD amount, got '%s'",
                           price);
    /* USD per million tokens -> picodollars per token (cacheplan.h) */
    o.price_input = units / 1000000 > 0 ? units / 1000000 : 1;
  } else {
    if (!known)
      return CLI_USAGE_ERR(
          "cache-sim", "model '%s' is not in the built-in price table: give --price-input", model);
    /* picodollars per million tokens -> per token (cacheplan.h), rounded */
    o.price_input =
        (mp.input_per_mtok + 500000) / 1000000 > 0 ? (mp.input_per_mtok + 500000) / 1000000 : 1;
    if (mp.has & TKN_PRICE_CACHE_READ)
      o.price_cache_read = (mp.cache_read_per_mtok + 500000) / 1000000;
  }
  cJSON *log = cli_read_json("cache-sim", file, NULL);
  if (!log) return 2;
  if (!cJSON_IsArray(log)) {
    cJSON_Delete(log);
    return cli_fail("cache-sim", "log: expected a JSON array of requests");
  }
  tkn_cacheplan *plan = NULL;
  if (tkn_cacheplan_new(&plan, &o)) {
    cJSON_Delete(log);
    return cli_fail("cache-sim", "%s", tkn_error_last()->message);
  }
  tkn_tokenizer *tok = NULL;
  char counter[96];
  if (cli_model_tokenizer("cache-sim", model, &tok, counter, sizeof counter)) {
    cJSON_Delete(log);
    tkn_cacheplan_free(plan);
    return 2;
  }
  int status = 0, i = 0, n = cJSON_GetArraySize(log);
  const cJSON *req;
  cJSON_ArrayForEach(req, log) {
    cli_progress("cache-sim", (size_t)i, (size_t)n);
    char where[48];
    snprintf(where, sizeof where, "cache-sim: log[%d]", i);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "time_ms");
    /* milliseconds may come with a fraction (dropped); the range is checked first */
    if (!cJSON_IsNumber(t) || !(fabs(t->valuedouble) < 9007199254740992.0)) {
      status = cli_fail("cache-sim", "log[%d].time_ms: expected a number of ms within 2^53", i);
      break;
    }
    tkn_conv *conv = NULL;
    tkn_prompt *p = NULL;
    if ((status = cli_assemble_spec(where, req, tok, &conv, &p))) {
      tkn_conv_free(conv);
      break;
    }
    int rc = tkn_cacheplan_add_prompt(plan, (int64_t)t->valuedouble, p);
    tkn_prompt_free(p);
    tkn_conv_free(conv);
    if (rc) {
      status = cli_fail("cache-sim", "log[%d]: %s", i, tkn_error_last()->message);
      break;
    }
    i++;
  }
  cli_progress("cache-sim", (size_t)n, (size_t)n);
  if (!status) print_result(plan, &o, pname, model, counter, json);
  tkn_tokenizer_free(tok);
  tkn_cacheplan_free(plan);
  cJSON_Delete(log);
  return status;
}
