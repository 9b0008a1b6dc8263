/* tokenomy prune: a conversation cut to a token budget, tool pairs kept whole. */
#include <stdlib.h>
#include <limits.h>
#include <string.h>

#include "cli.h"

static const char PRUNE_HELP[] =
    "usage: tokenomy prune --max-tokens N [--mode trim|score] [--keep-last N]\n"
    "                      [--first] [--report] [--json] [FILE]\n"
    "\n"
    "Cut a conversation (OpenAI or Anthropic JSON) to N tokens, keeping each tool\n"
    "call with its results.  Writes the pruned conversation in its own format, or\n"
    "with --report what was kept and dropped and why.\n"
    "  --mode trim   keep the newest messages that fit (LangChain's trimMessages)\n"
    "  --mode score  keep system, pinned and the last turns, then the best-scored (default)\n"
    "  --keep-last N turns always kept in score mode (2)\n"
    "  --first       trim mode: keep the oldest messages instead\n"
    "  --json        accepted: the output is JSON (the conversation, or the report)\n";

static const char *const WHY[] = {"fits",   "system",   "pinned", "recent",   "score",  "tool_unit",
                                  "budget", "start_on", "end_on", "provider", "orphan", "partial"};

int cmd_prune(int argc, char **argv) {
  const char *file = NULL;
  long long max = -1, keep_last = 2;
  int mode = TKN_PRUNE_SCORE, first = 0, report = 0, json = 1;
  static const cli_choice MODES[] = {
      {"trim", TKN_PRUNE_TRIM}, {"score", TKN_PRUNE_SCORE}, {NULL, 0}};
  const cli_option opts[] = {{"--max-tokens", CLI_INT, &max, "a count >= 0", 0, LLONG_MAX, NULL},
                             {"--keep-last", CLI_INT, &keep_last, "a count", 0, UINT32_MAX, NULL},
                             {"--mode", CLI_CHOICE, &mode, "trim or score", 0, 0, MODES},
                             {"--first", CLI_FLAG, &first, NULL, 0, 0, NULL},
                             {"--report", CLI_FLAG, &report, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             {NULL, CLI_FLAG, NULL, NULL, 0, 0, NULL}};
  const cli_command c = {"prune", PRUNE_HELP, opts, 1, &file, NULL, 0, NULL, NULL};
  int parsed = cli_parse(&c, argc, argv);
  if (parsed >= 0) return parsed;
  if (max < 0) return CLI_USAGE_ERR("prune", "--max-tokens is required (see --help)");
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) return cli_fail("prune", "cannot read %s", file ? file : "standard input");
  char err[512];
  tkn_conv *conv = NULL;
  int rc = cli_keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
  free(in);
  if (rc) return cli_fail("prune", "%s: %s", file ? file : "standard input", err);
  tkn_tokenizer *tok = NULL;
  if ((rc = cli_make_tokenizer("prune", NULL, NULL, &tok))) {
    tkn_conv_free(conv);
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
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    for (size_t i = 0; i < tkn_prune_report_count(rep); i++) {
      int32_t action = 0, reason = 0;
      int64_t tokens = 0;
      tkn_prune_report_message(rep, i, &action, &reason, &tokens);
      cJSON *m = cJSON_CreateObject();
      static const char *const ACT[] = {"kept", "dropped", "cut", "summarised"};
      cJSON_AddStringToObject(m, "action", action >= 0 && action < 4 ? ACT[action] : "?");
      cJSON_AddStringToObject(m, "why", reason >= 0 && reason < 12 ? WHY[reason] : "?");
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
  return status;
}
