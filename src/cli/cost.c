/* tokenomy cost: the exact cost of one call from a model and a usage object. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

static const char COST_HELP[] =
    "usage: tokenomy cost --model M [--batch] [--prices LITELLM.json] [--json] [USAGE.json]\n"
    "\n"
    "The exact cost of one call: the provider's usage object (OpenAI, Anthropic or\n"
    "Gemini shape, or a whole response holding it) priced for model M from the\n"
    "built-in table or a LiteLLM price file.  --batch prices it at the batch rate.\n"
    "priced_as names the table entry that priced the call (lookup is exact, or one\n"
    "of the rules in prices.h; never another model or provider).  Entries of the\n"
    "file that cannot load are skipped and counted on stderr (`tokenomy prices\n"
    "check FILE` lists them); a skipped model is an error, never priced otherwise.\n";

int cmd_cost(int argc, char **argv) {
  const char *model = NULL, *file = NULL, *prices_file = NULL;
  int batch = 0, json = 0;
  const cli_option opts[] = {{"--model", CLI_STR, &model, NULL, 0, 0, NULL},
                             {"--prices", CLI_STR, &prices_file, NULL, 0, 0, NULL},
                             {"--batch", CLI_FLAG, &batch, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_file("cost", COST_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  if (!model) return CLI_USAGE_ERR("cost", "--model is required (see --help)");
  char err[512];
  tkn_prices *prices = NULL;
  if (prices_file) {
    size_t pl = 0;
    char *pt = cli_read(prices_file, &pl);
    if (!pt) return cli_fail("cost", "cannot read %s", prices_file);
    tkn_prices_options po = TKN_PRICES_OPTIONS_INIT;
    po.skip_invalid = 1;
    int rc = cli_keep_err(tkn_prices_load(&prices, pt, pl, &po), err, sizeof err);
    free(pt);
    if (rc) return cli_fail("cost", "%s: %s", prices_file, err);
    if (tkn_prices_skipped(prices))
      fprintf(stderr, "tokenomy cost: %s: %zu entries skipped (tokenomy prices check lists them)\n",
              prices_file, tkn_prices_skipped(prices));
  } else {
    tkn_prices_new_default(&prices);
  }
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) {
    tkn_prices_free(prices);
    return cli_fail("cost", "cannot read %s", file ? file : "standard input");
  }
  tkn_usage u = TKN_USAGE_INIT;
  if (batch) u.flags |= TKN_USAGE_BATCH;
  int status = 0;
  int rc = cli_keep_err(tkn_usage_parse(&u, TKN_USAGE_AUTO, in, len), err, sizeof err);
  if (rc) {
    status = cli_fail("cost", "usage: %s", err);
  } else {
    tkn_cost c = TKN_COST_INIT;
    tkn_model_price mp = TKN_MODEL_PRICE_INIT;
    rc = tkn_prices_lookup(prices, model, strlen(model), &mp);
    if (rc == TKN_OK) rc = tkn_prices_compute(&mp, &u, &c);
    const char *why = NULL;
    for (size_t i = 0; rc == TKN_ERR_UNSUPPORTED && !why && i < tkn_prices_skipped(prices); i++) {
      const char *key = NULL, *reason = NULL;
      tkn_prices_skipped_at(prices, i, &key, &reason);
      if (key && reason && strcasecmp(key, model) == 0) why = reason;
    }
    if (rc == TKN_ERR_UNSUPPORTED) {
      status = cli_fail("cost", "model '%s' was skipped when the price table loaded%s%s", model,
                        why ? ": " : "", why ? why : "");
    } else if (rc) {
      status = cli_fail("cost", "%s",
                        rc == TKN_ERR_NOT_FOUND
                            ? (batch ? "the model is not in the price table, or has no batch price"
                                     : "the model is not in the price table")
                            : tkn_strerror(rc));
    } else {
      char a[48];
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "model", model);
      cJSON_AddStringToObject(o, "priced_as", mp.name ? mp.name : "");
      cJSON_AddNumberToObject(o, "input_tokens", (double)u.input_tokens);
      cJSON_AddNumberToObject(o, "cache_read_tokens", (double)u.cache_read_tokens);
      cJSON_AddNumberToObject(o, "cache_write_tokens",
                              (double)(u.cache_write_5m_tokens + u.cache_write_1h_tokens));
      cJSON_AddNumberToObject(o, "output_tokens", (double)u.output_tokens);
      cJSON_AddNumberToObject(o, "reasoning_tokens", (double)u.reasoning_tokens);
      cJSON_AddBoolToObject(o, "batch", (c.flags & TKN_COST_BATCH) != 0);
      cJSON_AddBoolToObject(o, "tier", (c.flags & TKN_COST_TIER) != 0);
      cJSON_AddStringToObject(o, "input_usd", cli_usd(c.input, 12, a, sizeof a));
      cJSON_AddStringToObject(o, "cache_read_usd", cli_usd(c.cache_read, 12, a, sizeof a));
      cJSON_AddStringToObject(o, "cache_write_usd", cli_usd(c.cache_write, 12, a, sizeof a));
      cJSON_AddStringToObject(o, "output_usd", cli_usd(c.output + c.reasoning, 12, a, sizeof a));
      cJSON_AddStringToObject(o, "total_usd", cli_usd(c.total, 12, a, sizeof a));
      if (json) {
        cli_print_json(o);
      } else {
        const char *keys[] = {"priced_as",       "input_usd",  "cache_read_usd",
                              "cache_write_usd", "output_usd", "total_usd"};
        for (int k = 0; k < 6; k++)
          printf("%-16s %s\n", keys[k], cJSON_GetObjectItem(o, keys[k])->valuestring);
      }
      cJSON_Delete(o);
    }
  }
  free(in);
  tkn_prices_free(prices);
  return status;
}
