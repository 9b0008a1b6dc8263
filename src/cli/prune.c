/* tokenomy prune: a conversation cut to a token budget, tool pairs kept whole. */
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "cli.h"

static const char PRUNE_HELP[] =
    "usage: tokenomy prune [--max-tokens N] [--mode trim|score|mask|clear|policy]\n"
    "                      [--keep-last N] [--first] [--keep-tools N] [--trigger N]\n"
    "                      [--clear-at-least N] [--exclude NAME,...] [--clear-inputs]\n"
    "                      [--clear-thinking] [--model NAME] [--horizon N|growth]\n"
    "                      [--report] [--json] [FILE]\n"
    "\n"
    "Cut a conversation (OpenAI or Anthropic JSON) to N tokens, keeping each tool\n"
    "call with its results.  Writes the pruned conversation in its own format, or\n"
    "with --report what was kept, dropped or cleared and why.\n"
    "  --mode trim   keep the newest messages that fit (LangChain's trimMessages)\n"
    "  --mode score  keep system, pinned and the last turns, then the best-scored (default)\n"
    "  --mode mask   replace every tool result but the last --keep-tools by a placeholder\n"
    "  --mode clear  the same, only above --trigger tokens and if >= --clear-at-least go\n"
    "                (Anthropic's clear_tool_uses_20250919, client-side)\n"
    "  --mode policy clear only when it pays for the cache prefix it breaks, at --model's\n"
    "                prices; with --max-tokens it degrades to meet the budget\n"
    "  --max-tokens N the budget (required for trim and score; policy: optional)\n"
    "  --keep-last N turns always kept in score mode (2)\n"
    "  --first       trim mode: keep the oldest messages instead\n"
    "  --keep-tools N  mask, clear, policy: tool uses whose results stay (3)\n"
    "  --trigger N     clear: act only above N tokens (100000)\n"
    "  --clear-at-least N  clear, policy: clear nothing unless N tokens go (0)\n"
    "  --exclude NAMES     tools whose results are never cleared (comma-separated)\n"
    "  --clear-inputs      a cleared use's arguments become {}\n"
    "  --clear-thinking    thinking blocks of older assistant messages go too\n"
    "  --model NAME        policy: the prices (gpt-4o)\n"
    "  --horizon N|growth  policy: calls a clear may take to pay back (0: at once)\n"
    "  --json        accepted: the output is JSON (the conversation, or the report)\n";

static const char *const WHY[] = {"fits",     "system",      "pinned",     "recent",
                                  "score",    "tool_unit",   "budget",     "start_on",
                                  "end_on",   "provider",    "orphan",     "partial",
                                  "old_tool", "recent_tool", "excluded",   "thinking",
                                  "not_worth", "cleared_before"};
#define NWHY ((int)(sizeof WHY / sizeof WHY[0]))

/* Split a comma-separated list into *names (pointers into `list`, which is
 * modified); returns the count, or -1 when out of memory. */
static long split_names(char *list, const char ***names) {
  size_t n = 1;
  for (const char *c = list; *c; c++) n += *c == ',';
  const char **v = calloc(n, sizeof *v);
  if (!v) return -1;
  size_t k = 0;
  for (char *tok = list; tok;) {
    char *comma = strchr(tok, ',');
    if (comma) *comma = '\0';
    if (*tok) v[k++] = tok;
    tok = comma ? comma + 1 : NULL;
  }
  *names = v;
  return (long)k;
}

int cmd_prune(int argc, char **argv) {
  const char *file = NULL;
  const char *exclude = NULL, *model = "gpt-4o", *horizon = NULL;
  long long max = -1, keep_last = 2, keep_tools = 3, trigger = 100000, at_least = 0;
  int mode = TKN_PRUNE_SCORE, first = 0, report = 0, json = 1, clear_inputs = 0;
  int clear_thinking = 0;
  static const cli_choice MODES[] = {{"trim", TKN_PRUNE_TRIM},   {"score", TKN_PRUNE_SCORE},
                                     {"mask", TKN_PRUNE_MASK},   {"clear", TKN_PRUNE_CLEAR},
                                     {"policy", TKN_PRUNE_POLICY}, {NULL, 0}};
  const cli_option opts[] = {
      {"--max-tokens", CLI_INT, &max, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--keep-last", CLI_INT, &keep_last, "a count", 0, UINT32_MAX, NULL},
      {"--mode", CLI_CHOICE, &mode, "trim, score, mask, clear or policy", 0, 0, MODES},
      {"--first", CLI_FLAG, &first, NULL, 0, 0, NULL},
      {"--keep-tools", CLI_INT, &keep_tools, "a count", 0, UINT32_MAX, NULL},
      {"--trigger", CLI_INT, &trigger, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--clear-at-least", CLI_INT, &at_least, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--exclude", CLI_STR, &exclude, NULL, 0, 0, NULL},
      {"--clear-inputs", CLI_FLAG, &clear_inputs, NULL, 0, 0, NULL},
      {"--clear-thinking", CLI_FLAG, &clear_thinking, NULL, 0, 0, NULL},
      {"--model", CLI_STR, &model, NULL, 0, 0, NULL},
      {"--horizon", CLI_STR, &horizon, NULL, 0, 0, NULL},
      {"--report", CLI_FLAG, &report, NULL, 0, 0, NULL},
      {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int parsed = cli_parse_file("prune", PRUNE_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
  if (max < 0 && (mode == TKN_PRUNE_TRIM || mode == TKN_PRUNE_SCORE))
    return CLI_USAGE_ERR("prune", "--max-tokens is required in trim and score modes (see --help)");
  if (max < 0) max = 0;
  long long hz = 0;
  if (horizon && strcmp(horizon, "growth") != 0) {
    char *end = NULL;
    hz = strtoll(horizon, &end, 10);
    if (!*horizon || *end || hz < 0 || hz > (long long)UINT32_MAX - 1)
      return CLI_USAGE_ERR("prune", "--horizon: expected a count or 'growth', got '%s'", horizon);
  }
  tkn_model_price price = TKN_MODEL_PRICE_INIT;
  if (mode == TKN_PRUNE_POLICY) {
    tkn_prices *pr = NULL;
    int known = tkn_prices_new_default(&pr) == TKN_OK &&
                tkn_prices_lookup(pr, model, strlen(model), &price) == TKN_OK &&
                (price.has & TKN_PRICE_INPUT) && price.input_per_mtok > 0;
    tkn_prices_free(pr);
    if (!known) return CLI_USAGE_ERR("prune", "--model: no input price for '%s'", model);
  }
  char *exclude_buf = exclude ? strdup(exclude) : NULL;
  const char **names = NULL;
  long nnames = exclude_buf ? split_names(exclude_buf, &names) : 0;
  if ((exclude && !exclude_buf) || nnames < 0) {
    free(exclude_buf);
    return cli_fail("prune", "out of memory");
  }
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) {
    free(names);
    free(exclude_buf);
    return cli_fail("prune", "cannot read %s", file ? file : "standard input");
  }
  char err[512];
  tkn_conv *conv = NULL;
  int rc = cli_keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
  free(in);
  tkn_tokenizer *tok = NULL;
  if (rc) {
    rc = cli_fail("prune", "%s: %s", file ? file : "standard input", err);
  } else if ((rc = cli_make_tokenizer("prune", NULL, NULL, &tok))) {
    tkn_conv_free(conv);
  }
  if (rc) {
    free(names);
    free(exclude_buf);
    return rc;
  }
  tkn_pruner *p = NULL;
  tkn_prune_report *rep = NULL;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  po.mode = mode;
  po.max_tokens = max;
  po.keep_last_turns = (uint32_t)keep_last;
  po.strategy = first ? TKN_PRUNE_FIRST : TKN_PRUNE_LAST;
  po.include_system = first ? 0 : 1;
  po.keep_tool_uses = (uint32_t)keep_tools;
  po.clear_trigger = trigger;
  po.clear_at_least = at_least;
  po.exclude_tools = names;
  po.exclude_tools_count = (size_t)nnames;
  po.clear_inputs = clear_inputs;
  po.clear_thinking = clear_thinking;
  po.horizon_calls = horizon && !strcmp(horizon, "growth") ? TKN_PRUNE_HORIZON_GROWTH
                                                           : (uint32_t)hz;
  if (mode == TKN_PRUNE_POLICY) {
    po.price_input_per_mtok = price.input_per_mtok;
    if (price.has & TKN_PRICE_CACHE_READ) po.price_cache_read_per_mtok = price.cache_read_per_mtok;
    if (price.has & TKN_PRICE_CACHE_WRITE_5M)
      po.price_cache_write_per_mtok = price.cache_write_5m_per_mtok;
  }
  int status = 0;
  rc = tkn_prune_new(&p, tok);
  if (!rc) rc = tkn_prune_run(p, conv, &po, &rep);
  if (rc) {
    status = cli_fail("prune", "%s", p ? tkn_error_last()->message : tkn_strerror(rc));
  } else if (report) {
    cJSON *o = cJSON_CreateObject();
    int64_t before = 0, after = 0;
    tkn_prune_report_tokens(rep, &before, &after);
    cJSON_AddNumberToObject(o, "tokens_before", (double)before);
    cJSON_AddNumberToObject(o, "tokens_after", (double)after);
    if (mode >= TKN_PRUNE_MASK) {
      size_t cleared = 0;
      int64_t ctok = 0, saving = 0, cost = 0;
      int32_t decision = 0;
      static const char *const DEC[] = {"none", "keep", "clear", "budget", "degraded"};
      tkn_prune_report_cleared(rep, &cleared, &ctok);
      cJSON_AddNumberToObject(o, "cleared_messages", (double)cleared);
      cJSON_AddNumberToObject(o, "cleared_tokens", (double)ctok);
      if (mode == TKN_PRUNE_POLICY) {
        tkn_prune_report_decision(rep, &decision, &saving, &cost);
        cJSON_AddStringToObject(o, "decision", decision >= 0 && decision < 5 ? DEC[decision] : "?");
        cJSON_AddNumberToObject(o, "expected_saving_usd", (double)saving / 1e12);
        cJSON_AddNumberToObject(o, "clearing_cost_usd", (double)cost / 1e12);
      }
      if (tkn_prune_report_note(rep)[0])
        cJSON_AddStringToObject(o, "note", tkn_prune_report_note(rep));
    }
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    for (size_t i = 0; i < tkn_prune_report_count(rep); i++) {
      int32_t action = 0, reason = 0;
      int64_t tokens = 0;
      tkn_prune_report_message(rep, i, &action, &reason, &tokens);
      cJSON *m = cJSON_CreateObject();
      static const char *const ACT[] = {"kept", "dropped", "cut", "summarised", "cleared"};
      cJSON_AddStringToObject(m, "action", action >= 0 && action < 5 ? ACT[action] : "?");
      cJSON_AddStringToObject(m, "why", reason >= 0 && reason < NWHY ? WHY[reason] : "?");
      cJSON_AddNumberToObject(m, "tokens", (double)tokens);
      cJSON_AddItemToArray(msgs, m);
    }
    cli_print_json(o);
    cJSON_Delete(o);
  } else {
    int fmt = tkn_conv_source_format(conv);
    char *js = NULL;
    rc = tkn_conv_to_json(conv, fmt == TKN_PROVIDER_ANTHROPIC ? fmt : TKN_PROVIDER_OPENAI, &js,
                          NULL);
    if (rc) status = cli_fail("prune", "%s", tkn_error_last()->message);
    else puts(js);
    tkn_free(js);
  }
  tkn_prune_report_free(rep);
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  tkn_conv_free(conv);
  free(names);
  free(exclude_buf);
  return status;
}
