/* tokenomy prune: a conversation cut to a token budget, tool pairs kept whole. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char PRUNE_HELP[] =
    "usage: tokenomy prune [--max-tokens N] [--mode trim|score|mask|clear|policy]\n"
    "                      [--keep-last N] [--first] [--keep-tools N] [--trigger N]\n"
    "                      [--clear-at-least N] [--exclude NAME,...] [--clear-inputs]\n"
    "                      [--clear-thinking] [--model NAME] [--horizon N|growth]\n"
    "                      [--ledger FILE] [--no-degrade] [--report] [--json] [FILE]\n"
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
    "  --ledger FILE       policy: the conversation's ledger (tkn_prune_ledger), read\n"
    "                      before the run (a missing file: a new conversation) and\n"
    "                      written after it, so a clear may spend what earlier clears\n"
    "                      saved; one file per conversation, the run once per model call.\n"
    "                      Without it a run cannot count on earlier clears' savings\n"
    "  --no-degrade  trim, score: fail (exit 2) when what must be kept exceeds the\n"
    "                budget; by default the run degrades instead: it clears tool results\n"
    "                (oldest first, as few as fit), then drops the oldest turns, and\n"
    "                never leaves nothing (--report: decision \"degraded\" and a note)\n"
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

/* The command's options, as parsed. */
typedef struct prune_args {
  const char *file, *exclude, *model, *horizon, *ledger;
  long long max, keep_last, keep_tools, trigger, at_least;
  int mode, first, report, json, clear_inputs, clear_thinking, no_degrade;
  uint32_t horizon_calls;
  tkn_model_price price; /* policy: the model's prices */
} prune_args;

/* --horizon: a count of calls, or "growth". */
static int parse_horizon(prune_args *a) {
  long long hz = 0;
  if (a->horizon && strcmp(a->horizon, "growth") != 0) {
    char *end = NULL;
    hz = strtoll(a->horizon, &end, 10);
    if (!*a->horizon || *end || hz < 0 || hz > (long long)UINT32_MAX - 1)
      return CLI_USAGE_ERR("prune", "--horizon: expected a count or 'growth', got '%s'",
                           a->horizon);
  }
  a->horizon_calls = a->horizon && !strcmp(a->horizon, "growth") ? TKN_PRUNE_HORIZON_GROWTH
                                                                 : (uint32_t)hz;
  return -1;
}

/* Parse argv into *a; -1 to go on, else the exit status to return at once. */
static int parse_args(prune_args *a, int argc, char **argv) {
  static const cli_choice MODES[] = {{"trim", TKN_PRUNE_TRIM},   {"score", TKN_PRUNE_SCORE},
                                     {"mask", TKN_PRUNE_MASK},   {"clear", TKN_PRUNE_CLEAR},
                                     {"policy", TKN_PRUNE_POLICY}, {NULL, 0}};
  const cli_option opts[] = {
      {"--max-tokens", CLI_INT, &a->max, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--keep-last", CLI_INT, &a->keep_last, "a count", 0, UINT32_MAX, NULL},
      {"--mode", CLI_CHOICE, &a->mode, "trim, score, mask, clear or policy", 0, 0, MODES},
      {"--first", CLI_FLAG, &a->first, NULL, 0, 0, NULL},
      {"--keep-tools", CLI_INT, &a->keep_tools, "a count", 0, UINT32_MAX, NULL},
      {"--trigger", CLI_INT, &a->trigger, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--clear-at-least", CLI_INT, &a->at_least, "a count >= 0", 0, LLONG_MAX, NULL},
      {"--exclude", CLI_STR, &a->exclude, NULL, 0, 0, NULL},
      {"--clear-inputs", CLI_FLAG, &a->clear_inputs, NULL, 0, 0, NULL},
      {"--clear-thinking", CLI_FLAG, &a->clear_thinking, NULL, 0, 0, NULL},
      {"--model", CLI_STR, &a->model, NULL, 0, 0, NULL},
      {"--horizon", CLI_STR, &a->horizon, NULL, 0, 0, NULL},
      {"--no-degrade", CLI_FLAG, &a->no_degrade, NULL, 0, 0, NULL},
      {"--ledger", CLI_STR, &a->ledger, NULL, 0, 0, NULL},
      {"--report", CLI_FLAG, &a->report, NULL, 0, 0, NULL},
      {"--json", CLI_FLAG, &a->json, NULL, 0, 0, NULL},
      CLI_OPT_END};
  int parsed = cli_parse_file("prune", PRUNE_HELP, opts, &a->file, argc, argv);
  if (parsed >= 0) return parsed;
  if (a->max < 0 && (a->mode == TKN_PRUNE_TRIM || a->mode == TKN_PRUNE_SCORE))
    return CLI_USAGE_ERR("prune", "--max-tokens is required in trim and score modes (see --help)");
  if (a->max < 0) a->max = 0;
  int rc = parse_horizon(a);
  if (rc >= 0) return rc;
  if (a->ledger && a->mode != TKN_PRUNE_POLICY)
    return CLI_USAGE_ERR("prune", "--ledger: only with --mode policy");
  if (a->ledger && (!*a->ledger || !strcmp(a->ledger, "-")))
    return CLI_USAGE_ERR("prune", "--ledger: expected a file name (it is read and written)");
  if (a->mode == TKN_PRUNE_POLICY) {
    tkn_prices *pr = NULL;
    int known = tkn_prices_new_default(&pr) == TKN_OK &&
                tkn_prices_lookup(pr, a->model, strlen(a->model), &a->price) == TKN_OK &&
                (a->price.has & TKN_PRICE_INPUT) && a->price.input_per_mtok > 0;
    tkn_prices_free(pr);
    if (!known) return CLI_USAGE_ERR("prune", "--model: no input price for '%s'", a->model);
  }
  return -1;
}

static void prune_options(const prune_args *a, const char **names, long nnames,
                          tkn_prune_options *po) {
  po->mode = a->mode;
  po->max_tokens = a->max;
  po->keep_last_turns = (uint32_t)a->keep_last;
  po->strategy = a->first ? TKN_PRUNE_FIRST : TKN_PRUNE_LAST;
  po->include_system = a->first ? 0 : 1;
  po->keep_tool_uses = (uint32_t)a->keep_tools;
  po->clear_trigger = a->trigger;
  po->clear_at_least = a->at_least;
  po->exclude_tools = names;
  po->exclude_tools_count = (size_t)nnames;
  po->clear_inputs = a->clear_inputs;
  po->clear_thinking = a->clear_thinking;
  po->horizon_calls = a->horizon_calls;
  po->degrade = !a->no_degrade;
  if (a->mode == TKN_PRUNE_POLICY) {
    po->price_input_per_mtok = a->price.input_per_mtok;
    if (a->price.has & TKN_PRICE_CACHE_READ)
      po->price_cache_read_per_mtok = a->price.cache_read_per_mtok;
    if (a->price.has & TKN_PRICE_CACHE_WRITE_5M)
      po->price_cache_write_per_mtok = a->price.cache_write_5m_per_mtok;
  }
}

/* The conversation of `file` and the tokenizer: 0, or the exit status after
 * the error. */
static int load_conv(const char *file, tkn_conv **conv, tkn_tokenizer **tok) {
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) return cli_fail("prune", "cannot read %s", file ? file : "standard input");
  char err[512];
  int rc = cli_keep_err(tkn_conv_from_json(conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
  free(in);
  if (rc) return cli_fail("prune", "%s: %s", file ? file : "standard input", err);
  if ((rc = cli_make_tokenizer("prune", NULL, NULL, tok))) {
    tkn_conv_free(*conv);
    *conv = NULL;
  }
  return rc;
}

/* The ledger's fields in its file: integers >= 0 (credit in picodollars). */
static const char *const LEDGER_KEYS[] = {"credit_picodollars", "cleared_tokens", "calls"};

/* Read --ledger's file into *l (a missing file: a new ledger): 0, or the exit
 * status after a one-line error. */
static int read_ledger(const char *path, tkn_prune_ledger *l) {
  memset(l, 0, sizeof *l);
  size_t len = 0;
  errno = 0;
  char *in = cli_read(path, &len);
  if (!in && errno == ENOENT) return 0; /* its fopen found no file */
  if (!in) return cli_fail("prune", "--ledger: cannot read %s", path);
  cJSON *o = cJSON_ParseWithLength(in, len);
  free(in);
  if (!cJSON_IsObject(o)) {
    cJSON_Delete(o);
    return cli_fail("prune", "--ledger: %s is not a JSON object", path);
  }
  int64_t *dst[] = {&l->credit, &l->cleared, &l->calls};
  for (int k = 0; k < 3; k++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, LEDGER_KEYS[k]);
    double d = cJSON_IsNumber(v) ? v->valuedouble : -1;
    if (!(d >= 0 && d <= 9007199254740992.0 && d == (double)(int64_t)d)) {
      cJSON_Delete(o);
      return cli_fail("prune", "--ledger: %s: \"%s\" must be an integer from 0 to 2^53", path,
                      LEDGER_KEYS[k]);
    }
    *dst[k] = (int64_t)d;
  }
  cJSON_Delete(o);
  return 0;
}

/* The ledger as JSON (its file, and --report's "ledger"). */
static cJSON *ledger_json(const tkn_prune_ledger *l) {
  cJSON *o = cJSON_CreateObject();
  cJSON_AddNumberToObject(o, LEDGER_KEYS[0], (double)l->credit);
  cJSON_AddNumberToObject(o, LEDGER_KEYS[1], (double)l->cleared);
  cJSON_AddNumberToObject(o, LEDGER_KEYS[2], (double)l->calls);
  cJSON_AddNumberToObject(o, "credit_usd", (double)l->credit / 1e12);
  return o;
}

/* Write the ledger to `path` whole or not at all (a temporary file renamed
 * over it): 0, or the exit status after a one-line error. */
static int write_ledger(const char *path, const tkn_prune_ledger *l) {
  cJSON *o = ledger_json(l);
  char *js = o ? cJSON_PrintUnformatted(o) : NULL;
  cJSON_Delete(o);
  size_t n = strlen(path) + 5;
  char *tmp = js ? malloc(n) : NULL;
  int ok = 0;
  if (tmp) {
    snprintf(tmp, n, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    ok = f && fprintf(f, "%s\n", js) > 0;
    if (f && fclose(f) != 0) ok = 0;
    ok = ok && rename(tmp, path) == 0;
    if (!ok) remove(tmp);
  }
  free(tmp);
  free(js);
  return ok ? 0 : cli_fail("prune", "--ledger: cannot write %s", path);
}

/* --report with mask, clear, policy or a degraded run: what was cleared, and
 * the decision (the policy's with its price). */
static void report_cleared(cJSON *o, const tkn_prune_report *rep, int mode) {
  size_t cleared = 0;
  int64_t ctok = 0, saving = 0, cost = 0;
  int32_t decision = 0;
  static const char *const DEC[] = {"none", "keep", "clear", "budget", "degraded"};
  tkn_prune_report_cleared(rep, &cleared, &ctok);
  tkn_prune_report_decision(rep, &decision, &saving, &cost);
  cJSON_AddNumberToObject(o, "cleared_messages", (double)cleared);
  cJSON_AddNumberToObject(o, "cleared_tokens", (double)ctok);
  if (mode < TKN_PRUNE_MASK)
    cJSON_AddStringToObject(o, "decision", decision >= 0 && decision < 5 ? DEC[decision] : "?");
  if (mode == TKN_PRUNE_POLICY) {
    cJSON_AddStringToObject(o, "decision", decision >= 0 && decision < 5 ? DEC[decision] : "?");
    cJSON_AddNumberToObject(o, "expected_saving_usd", (double)saving / 1e12);
    cJSON_AddNumberToObject(o, "clearing_cost_usd", (double)cost / 1e12);
  }
  if (tkn_prune_report_note(rep)[0])
    cJSON_AddStringToObject(o, "note", tkn_prune_report_note(rep));
}

static void print_report(const tkn_prune_report *rep, int mode, const tkn_prune_ledger *l) {
  cJSON *o = cJSON_CreateObject();
  int64_t before = 0, after = 0;
  tkn_prune_report_tokens(rep, &before, &after);
  cJSON_AddNumberToObject(o, "tokens_before", (double)before);
  cJSON_AddNumberToObject(o, "tokens_after", (double)after);
  int32_t decision = 0;
  tkn_prune_report_decision(rep, &decision, NULL, NULL);
  if (mode >= TKN_PRUNE_MASK || decision == TKN_PRUNE_DECISION_DEGRADED)
    report_cleared(o, rep, mode);
  if (l) cJSON_AddItemToObject(o, "ledger", ledger_json(l));
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
}

/* The pruned conversation, in its own format (Anthropic's, else OpenAI's). */
static int print_conv(tkn_conv *conv) {
  int fmt = tkn_conv_source_format(conv);
  char *js = NULL;
  int status = 0;
  if (tkn_conv_to_json(conv, fmt == TKN_PROVIDER_ANTHROPIC ? fmt : TKN_PROVIDER_OPENAI, &js,
                       NULL))
    status = cli_fail("prune", "%s", tkn_error_last()->message);
  else
    puts(js);
  tkn_free(js);
  return status;
}

/* Prune conv as the options say and print the result: the exit status. */
static int prune_and_print(const prune_args *a, tkn_conv *conv, const tkn_tokenizer *tok,
                           const char **names, long nnames) {
  tkn_pruner *p = NULL;
  tkn_prune_report *rep = NULL;
  tkn_prune_options po = TKN_PRUNE_OPTIONS_INIT;
  tkn_prune_ledger ledger;
  prune_options(a, names, nnames, &po);
  int status = a->ledger ? read_ledger(a->ledger, &ledger) : 0;
  if (status) return status;
  if (a->ledger) po.ledger = &ledger;
  int rc = tkn_prune_new(&p, tok);
  if (!rc) rc = tkn_prune_run(p, conv, &po, &rep);
  if (rc)
    status = cli_fail("prune", "%s", p ? tkn_error_last()->message : tkn_strerror(rc));
  else if (a->ledger && (status = write_ledger(a->ledger, &ledger)))
    ; /* nothing printed: the conversation goes with its ledger or not at all */
  else if (a->report)
    print_report(rep, a->mode, a->ledger ? &ledger : NULL);
  else
    status = print_conv(conv);
  tkn_prune_report_free(rep);
  tkn_prune_free(p);
  return status;
}

int cmd_prune(int argc, char **argv) {
  prune_args a;
  memset(&a, 0, sizeof a);
  a.model = "gpt-4o";
  a.max = -1;
  a.keep_last = 2;
  a.keep_tools = 3;
  a.trigger = 100000;
  a.mode = TKN_PRUNE_SCORE;
  a.json = 1;
  tkn_model_price price = TKN_MODEL_PRICE_INIT;
  a.price = price;
  int parsed = parse_args(&a, argc, argv);
  if (parsed >= 0) return parsed;
  char *exclude_buf = a.exclude ? strdup(a.exclude) : NULL;
  const char **names = NULL;
  long nnames = exclude_buf ? split_names(exclude_buf, &names) : 0;
  if ((a.exclude && !exclude_buf) || nnames < 0) {
    free(exclude_buf);
    return cli_fail("prune", "out of memory");
  }
  tkn_conv *conv = NULL;
  tkn_tokenizer *tok = NULL;
  int status = load_conv(a.file, &conv, &tok);
  if (!status) status = prune_and_print(&a, conv, tok, names, nnames);
  tkn_tokenizer_free(tok);
  tkn_conv_free(conv);
  free(names);
  free(exclude_buf);
  return status;
}
