/* The per-part subcommands: count, prune, route, assemble, cache-sim, batch
 * make / join, validate, cost.  Each reads a file or standard input, writes
 * JSON or a table to standard output, and fails with one line on stderr. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli.h"

#define USAGE_ERR(cmd, ...) (cli_fail(cmd, __VA_ARGS__), 1)

static int help(const char *text) {
  fputs(text, stdout);
  return 0;
}

static void print_json(cJSON *o) {
  char *s = cJSON_Print(o);
  puts(s ? s : "null");
  free(s);
}

/* A tokenizer by name: "estimator", an encoding, or a model's encoding.
 * The default is o200k_base when the library has it, else the estimator. */
/* An exact tokenizer whose count() treats special-token text as `special`
 * (TKN_SPECIAL_*), for an encoding or a model's encoding. */
static int make_tokenizer_special(const char *cmd, const char *name, const char *model,
                                  uint32_t special, tkn_tokenizer **out) {
  if (name && !strcmp(name, "estimator"))
    return USAGE_ERR(cmd, "--special needs an exact encoding, not the estimator");
  const char *enc = name ? name : "o200k_base";
  if (model) {
    enc = tkn_tokenizer_encoding_for_model(model, strlen(model));
    if (!enc) return USAGE_ERR(cmd, "--model %s: no known encoding", model);
  }
  tkn_ranks_options ro = TKN_RANKS_OPTIONS_INIT;
  ro.flavor = !strcmp(enc, "cl100k_base") ? TKN_BPE_CL100K
              : !strcmp(enc, "o200k_base") ? TKN_BPE_O200K
                                           : 0;
  if (!ro.flavor) return USAGE_ERR(cmd, "--encoding %s: not known (cl100k_base, o200k_base)", enc);
  ro.special = special;
  char err[256] = "";
  int rc = cli_keep_err(tkn_tokenizer_load_ranks(out, &ro), err, sizeof err);
  if (rc) return USAGE_ERR(cmd, "%s: %s", enc, err[0] ? err : tkn_strerror(rc));
  return 0;
}

static int make_tokenizer(const char *cmd, const char *name, const char *model,
                          tkn_tokenizer **out) {
  char err[256] = "";
  int rc;
  if (model) {
    rc = cli_keep_err(tkn_tokenizer_new_for_model(out, model, strlen(model)), err, sizeof err);
    if (rc) return USAGE_ERR(cmd, "--model %s: %s", model, err[0] ? err : tkn_strerror(rc));
    return 0;
  }
  if (name && !strcmp(name, "estimator")) return tkn_tokenizer_new_estimator(out) ? 2 : 0;
  rc = cli_keep_err(tkn_tokenizer_new_encoding(out, name ? name : "o200k_base", strlen(name ? name : "o200k_base")), err, sizeof err);
  if (rc == TKN_ERR_UNAVAILABLE && !name) return tkn_tokenizer_new_estimator(out) ? 2 : 0;
  if (rc) return USAGE_ERR(cmd, "--encoding %s: %s", name, err[0] ? err : tkn_strerror(rc));
  return 0;
}

/* The first non-space byte: '[' or '{' means JSON. */
static int looks_json(const char *s) {
  while (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') s++;
  return *s == '[' || *s == '{';
}

/* ---- count ---- */

static const char COUNT_HELP[] =
    "usage: tokenomy count [--encoding E | --model M] [--special S] [--text] [--json] [FILE]\n"
    "\n"
    "Count the tokens of a text, or of a conversation (OpenAI or Anthropic JSON:\n"
    "each message with the provider's per-message overhead).  Input that starts\n"
    "with [ or { is read as a conversation unless --text is given.\n"
    "  --encoding E  o200k_base (default), cl100k_base, or estimator\n"
    "  --model M     the encoding of model M (e.g. gpt-4o)\n"
    "  --special S   text that spells a special token such as <|endoftext|>:\n"
    "                plain (default: ordinary text, as providers read user text),\n"
    "                allow (the special token's id) or refuse (an error with its offset)\n"
    "  --json        {\"tokens\":N,\"tokenizer\":..,\"messages\":[..]}\n";

int cmd_count(int argc, char **argv) {
  const char *enc = NULL, *model = NULL, *file = NULL, *special = NULL;
  int json = 0, text_only = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(COUNT_HELP);
    if ((v = cli_opt(argc, argv, &i, "--encoding")))
      enc = v;
    else if ((v = cli_opt(argc, argv, &i, "--model")))
      model = v;
    else if ((v = cli_opt(argc, argv, &i, "--special")))
      special = v;
    else if (cli_is(argv[i], "--json", NULL))
      json = 1;
    else if (cli_is(argv[i], "--text", NULL))
      text_only = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("count", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  tkn_tokenizer *tok = NULL;
  int rc;
  if (special) {
    uint32_t mode = !strcmp(special, "plain")   ? TKN_SPECIAL_PLAIN
                    : !strcmp(special, "allow")  ? TKN_SPECIAL_ALLOW
                    : !strcmp(special, "refuse") ? TKN_SPECIAL_REFUSE
                                                 : UINT32_MAX;
    if (mode == UINT32_MAX)
      return USAGE_ERR("count", "--special %s: want plain, allow or refuse", special);
    rc = make_tokenizer_special("count", enc, model, mode, &tok);
  } else {
    rc = make_tokenizer("count", enc, model, &tok);
  }
  if (rc) return rc;
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) {
    tkn_tokenizer_free(tok);
    return cli_fail("count", "cannot read %s", file ? file : "standard input");
  }
  int status = 0;
  cJSON *out = cJSON_CreateObject();
  int64_t total = 0;
  if (!text_only && looks_json(in)) {
    tkn_conv *conv = NULL;
    char err[512];
    rc = cli_keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
    if (rc) {
      status = cli_fail("count", "%s: %s", file ? file : "standard input", err);
    } else {
      size_t n = tkn_conv_count(conv);
      int64_t *per = calloc(n ? n : 1, sizeof *per);
      rc = per ? tkn_tokenizer_count_conv(tok, conv, NULL, &total, per) : TKN_ERR_NOMEM;
      if (rc) {
        status = cli_fail("count", "%s", tkn_error_last()->message);
      } else {
        cJSON *msgs = cJSON_AddArrayToObject(out, "messages");
        for (size_t i = 0; i < n; i++) {
          cJSON *m = cJSON_CreateObject();
          cJSON_AddStringToObject(m, "role", tkn_role_name(tkn_conv_role(conv, i)));
          cJSON_AddNumberToObject(m, "tokens", (double)per[i]);
          cJSON_AddItemToArray(msgs, m);
        }
      }
      free(per);
      tkn_conv_free(conv);
    }
  } else {
    rc = tkn_tokenizer_count(tok, in, len, &total);
    if (rc) status = cli_fail("count", "%s", rc == TKN_ERR_UTF8 ? "the input is not valid UTF-8"
                                        : rc == TKN_ERR_SPECIAL_TOKEN ? tkn_error_last()->message
                                                                      : tkn_strerror(rc));
  }
  if (!status) {
    cJSON_AddNumberToObject(out, "tokens", (double)total);
    cJSON_AddStringToObject(out, "tokenizer", tkn_tokenizer_name(tok));
    if (json) {
      print_json(out);
    } else {
      const cJSON *msgs = cJSON_GetObjectItem(out, "messages");
      const cJSON *m;
      int i = 0;
      cJSON_ArrayForEach(m, msgs) {
        printf("%4d  %-10s %8d\n", i++, cJSON_GetObjectItem(m, "role")->valuestring,
               (int)cJSON_GetObjectItem(m, "tokens")->valuedouble);
      }
      printf("%lld tokens (%s)\n", (long long)total, tkn_tokenizer_name(tok));
    }
  }
  cJSON_Delete(out);
  free(in);
  tkn_tokenizer_free(tok);
  return status;
}

/* ---- prune ---- */

static const char PRUNE_HELP[] =
    "usage: tokenomy prune --max-tokens N [--mode trim|score] [--keep-last N]\n"
    "                      [--first] [--report] [FILE]\n"
    "\n"
    "Cut a conversation (OpenAI or Anthropic JSON) to N tokens, keeping each tool\n"
    "call with its results.  Writes the pruned conversation in its own format, or\n"
    "with --report what was kept and dropped and why.\n"
    "  --mode trim   keep the newest messages that fit (LangChain's trimMessages)\n"
    "  --mode score  keep system, pinned and the last turns, then the best-scored (default)\n"
    "  --keep-last N turns always kept in score mode (2)\n"
    "  --first       trim mode: keep the oldest messages instead\n";

static const char *const WHY[] = {"fits", "system", "pinned", "recent", "score", "tool_unit",
                                  "budget", "start_on", "end_on", "provider", "orphan", "partial"};

int cmd_prune(int argc, char **argv) {
  const char *file = NULL;
  long long max = -1, keep_last = 2;
  int mode = TKN_PRUNE_SCORE, first = 0, report = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    char *end = NULL;
    if (cli_is(argv[i], "--help", "-h")) return help(PRUNE_HELP);
    if ((v = cli_opt(argc, argv, &i, "--max-tokens"))) {
      max = strtoll(v, &end, 10);
      if (!*v || *end || max < 0) return USAGE_ERR("prune", "--max-tokens: expected a count >= 0, got '%s'", v);
    } else if ((v = cli_opt(argc, argv, &i, "--keep-last"))) {
      keep_last = strtoll(v, &end, 10);
      if (!*v || *end || keep_last < 0) return USAGE_ERR("prune", "--keep-last: expected a count, got '%s'", v);
    } else if ((v = cli_opt(argc, argv, &i, "--mode"))) {
      if (!strcmp(v, "trim"))
        mode = TKN_PRUNE_TRIM;
      else if (!strcmp(v, "score"))
        mode = TKN_PRUNE_SCORE;
      else
        return USAGE_ERR("prune", "--mode: expected trim or score, got '%s'", v);
    } else if (cli_is(argv[i], "--first", NULL)) {
      first = 1;
    } else if (cli_is(argv[i], "--report", NULL)) {
      report = 1;
    } else if (argv[i][0] == '-' && argv[i][1]) {
      return USAGE_ERR("prune", "unknown option '%s' (see --help)", argv[i]);
    } else {
      file = argv[i];
    }
  }
  if (max < 0) return USAGE_ERR("prune", "--max-tokens is required (see --help)");
  size_t len = 0;
  char *in = cli_read(file, &len);
  if (!in) return cli_fail("prune", "cannot read %s", file ? file : "standard input");
  char err[512];
  tkn_conv *conv = NULL;
  int rc = cli_keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, in, len), err, sizeof err);
  free(in);
  if (rc) return cli_fail("prune", "%s: %s", file ? file : "standard input", err);
  tkn_tokenizer *tok = NULL;
  if ((rc = make_tokenizer("prune", NULL, NULL, &tok))) {
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
    print_json(o);
    cJSON_Delete(o);
  } else {
    int fmt = tkn_conv_source_format(conv);
    char *js = NULL;
    rc = tkn_conv_to_json(conv, fmt == TKN_PROVIDER_ANTHROPIC ? fmt : TKN_PROVIDER_OPENAI, &js, NULL);
    if (rc)
      status = cli_fail("prune", "%s", tkn_error_last()->message);
    else
      puts(js);
    tkn_free(js);
  }
  tkn_prune_report_free(rep);
  tkn_prune_free(p);
  tkn_tokenizer_free(tok);
  tkn_conv_free(conv);
  return status;
}

/* ---- route ---- */

static const char ROUTE_HELP[] =
    "usage: tokenomy route --config ROUTER.json [--explain] [TASK.json]\n"
    "\n"
    "Route a task (a JSON object of attributes) through a router config and print\n"
    "the tier, model and rule; --explain prints every rule's evaluation as JSON.\n";

int cmd_route(int argc, char **argv) {
  const char *config = NULL, *file = NULL;
  int explain = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(ROUTE_HELP);
    if ((v = cli_opt(argc, argv, &i, "--config")))
      config = v;
    else if (cli_is(argv[i], "--explain", NULL))
      explain = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("route", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  if (!config) return USAGE_ERR("route", "--config is required (see --help)");
  size_t clen = 0, tlen = 0;
  char *ctext = cli_read(config, &clen);
  if (!ctext) return cli_fail("route", "cannot read %s", config);
  char err[512];
  tkn_router *r = NULL;
  int rc = cli_keep_err(tkn_router_new_json(&r, ctext, clen, NULL), err, sizeof err);
  free(ctext);
  if (rc) return cli_fail("route", "%s: %s", config, err);
  char *ttext = cli_read(file, &tlen);
  if (!ttext) {
    tkn_router_free(r);
    return cli_fail("route", "cannot read %s", file ? file : "standard input");
  }
  tkn_task *task = NULL;
  rc = cli_keep_err(tkn_task_from_json(&task, ttext, tlen), err, sizeof err);
  free(ttext);
  int status = 0;
  if (rc) {
    status = cli_fail("route", "task: %s", err);
  } else if (explain) {
    char *js = NULL;
    rc = tkn_router_explain(r, task, &js, NULL);
    if (rc)
      status = cli_fail("route", "%s", tkn_strerror(rc));
    else
      puts(js);
    tkn_free(js);
  } else {
    tkn_router_decision d = TKN_ROUTER_DECISION_INIT;
    rc = tkn_router_decide(r, task, &d);
    if (rc) {
      status = cli_fail("route", "%s", rc == TKN_ERR_UNAVAILABLE ? "every model is cooling down"
                                                                 : tkn_strerror(rc));
    } else {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddStringToObject(o, "tier", d.tier_name);
      cJSON_AddStringToObject(o, "model", d.model);
      cJSON_AddNumberToObject(o, "rule", d.rule);
      cJSON_AddStringToObject(o, "reason", d.reason);
      cJSON_AddBoolToObject(o, "cascade", d.cascade);
      print_json(o);
      cJSON_Delete(o);
    }
  }
  tkn_task_free(task);
  tkn_router_free(r);
  return status;
}

/* ---- assemble ---- */

static const char ASSEMBLE_HELP[] =
    "usage: tokenomy assemble [--format openai|anthropic] [--segments] [SPEC.json]\n"
    "\n"
    "Assemble a prompt in cache-friendly order and render the provider request.\n"
    "SPEC: {\"model\": \"gpt-4o\", \"max_tokens\": 512, \"tools\": [..], \"system\": \"..\",\n"
    "       \"reference\": \"..\", \"messages\": [conversation], \"dynamic\": \"..\"}\n"
    "  --segments  print the segments (kind, stability, tokens, fingerprint) and the\n"
    "              linter's findings instead of the request\n";

/* Build and assemble the prompt of a spec; *conv holds the history. */
static int assemble_spec(const char *cmd, const cJSON *spec, const tkn_tokenizer *tok,
                         tkn_conv **conv, tkn_prompt **out) {
  tkn_prompt_builder *b = NULL;
  int rc = tkn_prompt_builder_new(&b, NULL);
  if (rc) return cli_fail(cmd, "out of memory");
  const cJSON *t;
  cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(spec, "tools")) {
    char *js = cJSON_PrintUnformatted(t);
    rc = js ? tkn_prompt_builder_add_tool(b, js, strlen(js), NULL) : TKN_ERR_NOMEM;
    free(js);
    if (rc) break;
  }
  static const struct {
    const char *key;
    uint32_t kind, stability;
  } TEXTS[] = {{"system", TKN_SEG_STATIC, TKN_STABILITY_STATIC},
               {"reference", TKN_SEG_REFERENCE, TKN_STABILITY_STATIC},
               {"dynamic", TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE}};
  for (int k = 0; k < 3 && !rc; k++) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(spec, TEXTS[k].key);
    if (!v) continue;
    if (!cJSON_IsString(v)) {
      tkn_prompt_builder_free(b);
      return cli_fail(cmd, "spec.%s: expected a string", TEXTS[k].key);
    }
    rc = tkn_prompt_builder_add_text(b, TEXTS[k].kind, TEXTS[k].stability, TEXTS[k].key,
                                     strlen(TEXTS[k].key), v->valuestring, strlen(v->valuestring), NULL);
  }
  const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(spec, "messages");
  if (!rc && msgs) {
    char *js = cJSON_PrintUnformatted(msgs);
    char err[512];
    rc = js ? cli_keep_err(tkn_conv_from_json(conv, TKN_PROVIDER_AUTO, js, strlen(js)), err, sizeof err) : TKN_ERR_NOMEM;
    free(js);
    if (rc) {
      tkn_prompt_builder_free(b);
      return cli_fail(cmd, "spec.messages: %s", err);
    }
    rc = tkn_prompt_builder_set_history(b, *conv, TKN_STABILITY_SESSION, NULL);
  }
  if (!rc) rc = tkn_prompt_assemble(out, b, tok);
  int status = rc ? cli_fail(cmd, "%s", tkn_error_last()->message) : 0;
  tkn_prompt_builder_free(b);
  return status;
}

int cmd_assemble(int argc, char **argv) {
  const char *file = NULL, *format = "openai";
  int segments = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(ASSEMBLE_HELP);
    if ((v = cli_opt(argc, argv, &i, "--format")))
      format = v;
    else if (cli_is(argv[i], "--segments", NULL))
      segments = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("assemble", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  uint32_t fmt;
  if (!strcmp(format, "openai"))
    fmt = TKN_PROVIDER_OPENAI;
  else if (!strcmp(format, "anthropic"))
    fmt = TKN_PROVIDER_ANTHROPIC;
  else
    return USAGE_ERR("assemble", "--format: expected openai or anthropic, got '%s'", format);
  cJSON *spec = cli_read_json("assemble", file, NULL);
  if (!spec) return 2;
  if (!cJSON_IsObject(spec)) {
    cJSON_Delete(spec);
    return cli_fail("assemble", "spec: expected a JSON object");
  }
  const cJSON *model = cJSON_GetObjectItemCaseSensitive(spec, "model");
  if (!cJSON_IsString(model)) {
    cJSON_Delete(spec);
    return cli_fail("assemble", "spec.model: expected a string");
  }
  tkn_tokenizer *tok = NULL;
  tkn_tokenizer_new_estimator(&tok);
  tkn_conv *conv = NULL;
  tkn_prompt *p = NULL;
  int status = assemble_spec("assemble", spec, tok, &conv, &p);
  if (!status && segments) {
    cJSON *o = cJSON_CreateObject();
    cJSON *segs = cJSON_AddArrayToObject(o, "segments");
    for (size_t i = 0; i < tkn_prompt_segment_count(p); i++) {
      tkn_prompt_segment_info si;
      memset(&si, 0, sizeof si);
      si.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
      tkn_prompt_segment(p, i, &si);
      cJSON *s = cJSON_CreateObject();
      cJSON_AddStringToObject(s, "name", si.name);
      cJSON_AddStringToObject(s, "kind", tkn_prompt_segment_kind_name(si.kind));
      cJSON_AddStringToObject(s, "stability", tkn_prompt_stability_name(si.stability));
      cJSON_AddNumberToObject(s, "tokens", (double)si.tokens);
      char fp[24];
      snprintf(fp, sizeof fp, "%016llx", (unsigned long long)si.fingerprint);
      cJSON_AddStringToObject(s, "fingerprint", fp);
      cJSON_AddItemToArray(segs, s);
    }
    cJSON *f = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < tkn_prompt_finding_count(p); i++) {
      tkn_prompt_finding pf;
      memset(&pf, 0, sizeof pf);
      pf.version = TKN_PROMPT_FINDING_VERSION;
      tkn_prompt_finding_get(p, i, &pf);
      cJSON *x = cJSON_CreateObject();
      cJSON_AddStringToObject(x, "kind", tkn_prompt_issue_name(pf.kind));
      cJSON_AddNumberToObject(x, "segment", pf.segment);
      cJSON_AddNumberToObject(x, "offset", (double)pf.offset);
      cJSON_AddItemToArray(f, x);
    }
    cJSON_AddNumberToObject(o, "tokens", (double)tkn_prompt_tokens(p));
    print_json(o);
    cJSON_Delete(o);
  } else if (!status) {
    tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
    ro.provider = fmt;
    ro.model = model->valuestring;
    ro.model_len = strlen(model->valuestring);
    const cJSON *mt = cJSON_GetObjectItemCaseSensitive(spec, "max_tokens");
    ro.max_tokens = cJSON_IsNumber(mt) ? (int64_t)mt->valuedouble : (fmt == TKN_PROVIDER_ANTHROPIC ? 1024 : 0);
    if (fmt == TKN_PROVIDER_ANTHROPIC) { /* breakpoints: the price table's minimum where known */
      tkn_prices *pr = NULL;
      tkn_prices_new_default(&pr);
      int64_t min = tkn_prompt_min_cache_tokens_from(pr, TKN_PROVIDER_ANTHROPIC, ro.model,
                                                     ro.model_len);
      tkn_prices_free(pr);
      if (min > 0) ro.min_cache_tokens = min;
    }
    char *js = NULL, err[512];
    int rc = cli_keep_err(tkn_prompt_render(p, &ro, &js, NULL), err, sizeof err);
    if (rc)
      status = cli_fail("assemble", "render: %s", err);
    else
      puts(js);
    tkn_free(js);
  }
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  cJSON_Delete(spec);
  return status;
}

/* ---- cache-sim ---- */

static const char CACHE_HELP[] =
    "usage: tokenomy cache-sim [--provider openai|anthropic|gemini] [--model M]\n"
    "                          [--price-input USD_PER_MTOK] [--json] [LOG.json]\n"
    "\n"
    "Simulate a provider's prompt cache over a request log and print the hit rate,\n"
    "the input cost with and without the cache, and advice.  LOG: a JSON array of\n"
    "{\"time_ms\": T, ...assemble spec (see tokenomy assemble --help)}.\n"
    "The input price defaults to the model's price in the built-in table.\n";

int cmd_cache_sim(int argc, char **argv) {
  const char *file = NULL, *provider = "openai", *model = "gpt-4o", *price = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(CACHE_HELP);
    if ((v = cli_opt(argc, argv, &i, "--provider")))
      provider = v;
    else if ((v = cli_opt(argc, argv, &i, "--model")))
      model = v;
    else if ((v = cli_opt(argc, argv, &i, "--price-input")))
      price = v;
    else if (cli_is(argv[i], "--json", NULL))
      json = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("cache-sim", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  if (!strcmp(provider, "openai"))
    o.provider = TKN_PROVIDER_OPENAI;
  else if (!strcmp(provider, "anthropic"))
    o.provider = TKN_PROVIDER_ANTHROPIC;
  else if (!strcmp(provider, "gemini"))
    o.provider = TKN_PROVIDER_GEMINI;
  else
    return USAGE_ERR("cache-sim", "--provider: expected openai, anthropic or gemini, got '%s'", provider);
  o.model = model;
  o.model_len = strlen(model);
  /* the built-in table gives the minimum cacheable length and, without
   * --price-input, the price */
  tkn_prices *pr = NULL;
  tkn_model_price mp = TKN_MODEL_PRICE_INIT;
  tkn_prices_new_default(&pr);
  int64_t min = tkn_prompt_min_cache_tokens_from(pr, o.provider, model, strlen(model));
  if (min > 0) o.min_cache_tokens = min;
  int known = tkn_prices_lookup(pr, model, strlen(model), &mp) == TKN_OK && mp.input_per_mtok > 0;
  tkn_prices_free(pr);
  if (price) {
    int64_t units = 0;
    if (tkn_usd_parse(price, strlen(price), &units) || units <= 0)
      return USAGE_ERR("cache-sim", "--price-input: expected a positive USD amount, got '%s'", price);
    /* USD per million tokens -> picodollars per token (cacheplan.h) */
    o.price_input = units / 1000000 > 0 ? units / 1000000 : 1;
  } else {
    if (!known)
      return USAGE_ERR("cache-sim", "model '%s' is not in the built-in price table: give --price-input", model);
    /* picodollars per million tokens -> per token (cacheplan.h), rounded */
    o.price_input = (mp.input_per_mtok + 500000) / 1000000 > 0 ? (mp.input_per_mtok + 500000) / 1000000 : 1;
    if (mp.has & TKN_PRICE_CACHE_READ) o.price_cache_read = (mp.cache_read_per_mtok + 500000) / 1000000;
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
    return cli_fail("cache-sim", "bad options");
  }
  tkn_tokenizer *tok = NULL;
  tkn_tokenizer_new_estimator(&tok);
  int status = 0, i = 0, n = cJSON_GetArraySize(log);
  const cJSON *req;
  cJSON_ArrayForEach(req, log) {
    cli_progress("cache-sim", (size_t)i, (size_t)n);
    char where[48];
    snprintf(where, sizeof where, "cache-sim: log[%d]", i);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(req, "time_ms");
    if (!cJSON_IsNumber(t)) {
      status = cli_fail("cache-sim", "log[%d].time_ms: expected a number", i);
      break;
    }
    tkn_conv *conv = NULL;
    tkn_prompt *p = NULL;
    if ((status = assemble_spec(where, req, tok, &conv, &p))) {
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
  if (!status) {
    tkn_cacheplan_result r;
    memset(&r, 0, sizeof r);
    r.version = TKN_CACHEPLAN_RESULT_VERSION;
    tkn_cacheplan_result_get(plan, &r);
    char *advice = NULL;
    tkn_cacheplan_advice(plan, &advice, NULL);
    if (json) {
      cJSON *o2 = cJSON_CreateObject();
      char usd[48];
      cJSON_AddNumberToObject(o2, "requests", (double)r.requests);
      cJSON_AddNumberToObject(o2, "input_tokens", (double)r.input_tokens);
      cJSON_AddNumberToObject(o2, "cached_tokens", (double)r.cached_tokens);
      cJSON_AddNumberToObject(o2, "written_tokens", (double)r.written_tokens);
      cJSON_AddNumberToObject(o2, "hit_rate", (double)r.hit_rate_ppm / 1e6);
      cJSON_AddStringToObject(o2, "cost_without_usd", cli_usd(r.cost_without, 12, usd, sizeof usd));
      cJSON_AddStringToObject(o2, "cost_with_usd", cli_usd(r.cost_with, 12, usd, sizeof usd));
      cJSON_AddNumberToObject(o2, "prefix_changes", (double)r.prefix_changes);
      cJSON_AddStringToObject(o2, "advice", advice ? advice : "");
      print_json(o2);
      cJSON_Delete(o2);
    } else {
      char a[48], b[48];
      printf("requests        %lld\ninput tokens    %lld\ncached tokens   %lld\nhit rate        "
             "%.1f%%\ncost without    %s USD\ncost with       %s USD\n\n%s\n",
             (long long)r.requests, (long long)r.input_tokens, (long long)r.cached_tokens,
             (double)r.hit_rate_ppm / 1e4, cli_usd(r.cost_without, 6, a, sizeof a),
             cli_usd(r.cost_with, 6, b, sizeof b), advice ? advice : "");
    }
    tkn_free(advice);
  }
  tkn_tokenizer_free(tok);
  tkn_cacheplan_free(plan);
  cJSON_Delete(log);
  return status;
}

/* ---- batch ---- */

static const char BATCH_HELP[] =
    "usage: tokenomy batch make [--provider openai|anthropic] [--out PREFIX] [REQUESTS]\n"
    "       tokenomy batch join [--provider openai|anthropic] [--requests REQUESTS]\n"
    "                           RESULTS.jsonl...\n"
    "\n"
    "make: REQUESTS is a JSON array (or JSON lines) of {\"custom_id\": .., \"body\": {..}};\n"
    "      writes the provider's batch JSONL to standard output, or to PREFIX-0.jsonl,\n"
    "      PREFIX-1.jsonl, ... when files split at the provider's limits.\n"
    "join: reads result files, joins them to the submitted ids (from REQUESTS), costs\n"
    "      them at batch prices (built-in table) and prints a summary with the dead\n"
    "      letters as JSON.\n";

typedef struct wctx {
  const char *prefix;
  FILE *f;
} wctx;

static int w_begin(uint32_t index, void *user) {
  wctx *w = user;
  if (!w->prefix) return 0;
  char path[1024];
  snprintf(path, sizeof path, "%s-%u.jsonl", w->prefix, index);
  if (w->f) fclose(w->f);
  w->f = fopen(path, "wb");
  return w->f ? 0 : 1;
}
static int w_write(const char *data, size_t len, void *user) {
  wctx *w = user;
  return fwrite(data, 1, len, w->f ? w->f : stdout) == len ? 0 : 1;
}

/* Requests as a cJSON array, from a JSON array or JSON lines. */
static cJSON *read_requests(const char *cmd, const char *file) {
  size_t len = 0;
  char *text = cli_read(file, &len);
  if (!text) {
    cli_fail(cmd, "cannot read %s", file ? file : "standard input");
    return NULL;
  }
  cJSON *arr = NULL;
  if (looks_json(text) && (arr = cJSON_ParseWithLength(text, len)) && cJSON_IsArray(arr)) {
    free(text);
    return arr;
  }
  cJSON_Delete(arr);
  arr = cJSON_CreateArray();
  char *line = text;
  int lineno = 1;
  while (line && *line) {
    char *nl = strchr(line, '\n');
    size_t ll = nl ? (size_t)(nl - line) : strlen(line);
    if (ll && !(ll == 1 && line[0] == '\r')) {
      cJSON *j = cJSON_ParseWithLength(line, ll);
      if (!j) {
        cli_fail(cmd, "%s line %d: not JSON", file ? file : "standard input", lineno);
        cJSON_Delete(arr);
        free(text);
        return NULL;
      }
      cJSON_AddItemToArray(arr, j);
    }
    line = nl ? nl + 1 : NULL;
    lineno++;
  }
  free(text);
  return arr;
}

static uint32_t batch_provider(const char *p) {
  return !strcmp(p, "openai") ? TKN_PROVIDER_OPENAI : !strcmp(p, "anthropic") ? TKN_PROVIDER_ANTHROPIC : 0;
}

static int batch_make(int argc, char **argv) {
  const char *file = NULL, *provider = "openai", *prefix = NULL;
  for (int i = 2; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(BATCH_HELP);
    if ((v = cli_opt(argc, argv, &i, "--provider")))
      provider = v;
    else if ((v = cli_opt(argc, argv, &i, "--out")))
      prefix = v;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("batch make", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  uint32_t prov = batch_provider(provider);
  if (!prov) return USAGE_ERR("batch make", "--provider: expected openai or anthropic, got '%s'", provider);
  cJSON *reqs = read_requests("batch make", file);
  if (!reqs) return 2;
  wctx wc = {prefix, NULL};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.provider = prov;
  o.begin_file = w_begin;
  o.write = w_write;
  o.user = &wc;
  tkn_batch_writer *w = NULL;
  int status = tkn_batch_writer_new(&w, &o) ? cli_fail("batch make", "cannot make the writer") : 0;
  int i = 0;
  const cJSON *r;
  cJSON_ArrayForEach(r, reqs) {
    if (status) break;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(r, "custom_id");
    const cJSON *body = cJSON_GetObjectItemCaseSensitive(r, prov == TKN_PROVIDER_OPENAI ? "body" : "params");
    if (!body) body = cJSON_GetObjectItemCaseSensitive(r, "body");
    if (!cJSON_IsString(id) || !body) {
      status = cli_fail("batch make", "requests[%d]: expected {\"custom_id\": string, \"body\": object}", i);
      break;
    }
    char *js = cJSON_PrintUnformatted(body);
    int rc = js ? tkn_batch_writer_add(w, id->valuestring, strlen(id->valuestring), js, strlen(js))
                : TKN_ERR_NOMEM;
    free(js);
    if (rc) status = cli_fail("batch make", "requests[%d]: %s", i, tkn_error_last()->message);
    i++;
  }
  if (!status && tkn_batch_writer_finish(w))
    status = cli_fail("batch make", "%s", tkn_error_last()->message);
  if (!status) {
    uint32_t files = 0;
    uint64_t n = 0, bytes = 0;
    tkn_batch_writer_counts(w, &files, &n, &bytes);
    fprintf(stderr, "batch make: %llu requests, %u file(s), %llu bytes\n", (unsigned long long)n,
            files, (unsigned long long)bytes);
  }
  if (wc.f) fclose(wc.f);
  tkn_batch_writer_free(w);
  cJSON_Delete(reqs);
  return status;
}

static int batch_join(int argc, char **argv) {
  const char *provider = "openai", *requests = NULL;
  const char *files[256];
  int nfiles = 0;
  for (int i = 2; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(BATCH_HELP);
    if ((v = cli_opt(argc, argv, &i, "--provider")))
      provider = v;
    else if ((v = cli_opt(argc, argv, &i, "--requests")))
      requests = v;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("batch join", "unknown option '%s' (see --help)", argv[i]);
    else if (nfiles < 256)
      files[nfiles++] = argv[i];
  }
  uint32_t prov = batch_provider(provider);
  if (!prov) return USAGE_ERR("batch join", "--provider: expected openai or anthropic, got '%s'", provider);
  if (!nfiles) return USAGE_ERR("batch join", "give at least one result file (see --help)");
  tkn_prices *prices = NULL;
  tkn_prices_new_default(&prices);
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = prov;
  o.prices = prices;
  tkn_batch_reader *r = NULL;
  int status = tkn_batch_reader_new(&r, &o) ? cli_fail("batch join", "cannot make the reader") : 0;
  if (!status && requests) {
    cJSON *reqs = read_requests("batch join", requests);
    if (!reqs) status = 2;
    const cJSON *q;
    cJSON_ArrayForEach(q, reqs) {
      const cJSON *id = cJSON_GetObjectItemCaseSensitive(q, "custom_id");
      if (!status && (!cJSON_IsString(id) ||
                      tkn_batch_reader_expect(r, id->valuestring, strlen(id->valuestring))))
        status = cli_fail("batch join", "%s: a request without a usable custom_id (%s)", requests,
                          tkn_error_last()->message);
    }
    cJSON_Delete(reqs);
  }
  for (int i = 0; i < nfiles && !status; i++) {
    size_t len = 0;
    char *text = cli_read(files[i], &len);
    if (!text) {
      status = cli_fail("batch join", "cannot read %s", files[i]);
      break;
    }
    if (tkn_batch_reader_feed(r, text, len) || tkn_batch_reader_end_file(r))
      status = cli_fail("batch join", "%s: %s", files[i], tkn_error_last()->message);
    free(text);
  }
  if (!status && tkn_batch_reader_finish(r)) status = cli_fail("batch join", "%s", tkn_error_last()->message);
  if (!status) {
    tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
    tkn_batch_reader_summary(r, &s);
    cJSON *out = cJSON_CreateObject();
    char usd[48];
    cJSON_AddNumberToObject(out, "lines", (double)s.lines);
    cJSON_AddNumberToObject(out, "expected", (double)s.expected);
    cJSON_AddNumberToObject(out, "succeeded", (double)s.succeeded);
    cJSON_AddNumberToObject(out, "errored", (double)s.errored);
    cJSON_AddNumberToObject(out, "missing", (double)s.missing);
    cJSON_AddNumberToObject(out, "unknown", (double)s.unknown);
    cJSON_AddNumberToObject(out, "input_tokens", (double)s.input_tokens);
    cJSON_AddNumberToObject(out, "output_tokens", (double)s.output_tokens);
    cJSON_AddNumberToObject(out, "priced", (double)s.priced);
    cJSON_AddStringToObject(out, "cost_usd", cli_usd(s.cost, 12, usd, sizeof usd));
    char *dl = NULL;
    if (tkn_batch_reader_dead_letters_json(r, &dl, NULL) == TKN_OK)
      cJSON_AddItemToObject(out, "dead_letters", cJSON_Parse(dl));
    tkn_free(dl);
    print_json(out);
    cJSON_Delete(out);
  }
  tkn_batch_reader_free(r);
  tkn_prices_free(prices);
  return status;
}

int cmd_batch(int argc, char **argv) {
  if (argc < 2 || cli_is(argv[1], "--help", "-h")) {
    fputs(BATCH_HELP, argc < 2 ? stderr : stdout);
    return argc < 2 ? 1 : 0;
  }
  if (!strcmp(argv[1], "make")) return batch_make(argc, argv);
  if (!strcmp(argv[1], "join")) return batch_join(argc, argv);
  return USAGE_ERR("batch", "unknown batch command '%s' (make or join)", argv[1]);
}

/* ---- validate ---- */

static const char VALIDATE_HELP[] =
    "usage: tokenomy validate --schema SCHEMA.json [--json] [DOCUMENT.json]\n"
    "\n"
    "Validate a JSON document against a JSON Schema (draft 2020-12).  Exit status\n"
    "0 when valid, 3 when not (each error printed), 2 for unreadable input.\n"
    "Also prints the largest output the schema allows, in tokens (the output cap).\n";

int cmd_validate(int argc, char **argv) {
  const char *schema_file = NULL, *file = NULL;
  int json = 0;
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(VALIDATE_HELP);
    if ((v = cli_opt(argc, argv, &i, "--schema")))
      schema_file = v;
    else if (cli_is(argv[i], "--json", NULL))
      json = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("validate", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  if (!schema_file) return USAGE_ERR("validate", "--schema is required (see --help)");
  size_t slen = 0, dlen = 0;
  char *stext = cli_read(schema_file, &slen);
  if (!stext) return cli_fail("validate", "cannot read %s", schema_file);
  char err[512];
  tkn_schema *s = NULL;
  int rc = cli_keep_err(tkn_schema_compile(&s, stext, slen, NULL), err, sizeof err);
  free(stext);
  if (rc) return cli_fail("validate", "%s: %s", schema_file, err);
  char *doc = cli_read(file, &dlen);
  if (!doc) {
    tkn_schema_free(s);
    return cli_fail("validate", "cannot read %s", file ? file : "standard input");
  }
  tkn_schema_result *res = NULL;
  tkn_schema_result_new(&res);
  rc = tkn_schema_validate(s, doc, dlen, res);
  int status = 0;
  if (rc != TKN_OK && rc != TKN_ERR_SCHEMA) {
    status = cli_fail("validate", "%s: %s", file ? file : "standard input", tkn_error_last()->message);
  } else {
    tkn_tokenizer *tok = NULL;
    tkn_tokenizer_new_estimator(&tok);
    int64_t cap = 0;
    uint32_t flags = 0;
    tkn_schema_output_cap(s, tok, NULL, &cap, &flags);
    tkn_tokenizer_free(tok);
    size_t n = tkn_schema_result_error_count(res);
    if (json) {
      cJSON *o = cJSON_CreateObject();
      cJSON_AddBoolToObject(o, "valid", rc == TKN_OK);
      cJSON *errs = cJSON_AddArrayToObject(o, "errors");
      for (size_t i = 0; i < n; i++) {
        const char *ip = NULL, *kw = NULL, *sp = NULL, *msg = NULL;
        tkn_schema_result_error(res, i, &ip, &kw, &sp, &msg);
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "instance_path", ip ? ip : "");
        cJSON_AddStringToObject(e, "keyword", kw ? kw : "");
        cJSON_AddStringToObject(e, "schema_path", sp ? sp : "");
        cJSON_AddStringToObject(e, "message", msg ? msg : "");
        cJSON_AddItemToArray(errs, e);
      }
      if (flags & TKN_SCHEMA_CAP_UNBOUNDED)
        cJSON_AddNullToObject(o, "output_cap");
      else
        cJSON_AddNumberToObject(o, "output_cap", (double)cap);
      print_json(o);
      cJSON_Delete(o);
    } else if (rc == TKN_OK) {
      printf("valid\n");
    } else {
      for (size_t i = 0; i < n; i++) {
        const char *ip = NULL, *msg = NULL;
        tkn_schema_result_error(res, i, &ip, NULL, NULL, &msg);
        printf("invalid at %s: %s\n", ip && *ip ? ip : "(root)", msg ? msg : "");
      }
    }
    if (rc != TKN_OK) status = 3;
  }
  tkn_schema_result_free(res);
  tkn_schema_free(s);
  free(doc);
  return status;
}

/* ---- cost ---- */

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
  for (int i = 1; i < argc; i++) {
    const char *v;
    if (cli_is(argv[i], "--help", "-h")) return help(COST_HELP);
    if ((v = cli_opt(argc, argv, &i, "--model")))
      model = v;
    else if ((v = cli_opt(argc, argv, &i, "--prices")))
      prices_file = v;
    else if (cli_is(argv[i], "--batch", NULL))
      batch = 1;
    else if (cli_is(argv[i], "--json", NULL))
      json = 1;
    else if (argv[i][0] == '-' && argv[i][1])
      return USAGE_ERR("cost", "unknown option '%s' (see --help)", argv[i]);
    else
      file = argv[i];
  }
  if (!model) return USAGE_ERR("cost", "--model is required (see --help)");
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
      status = cli_fail("cost", "%s", rc == TKN_ERR_NOT_FOUND
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
        print_json(o);
      } else {
        const char *keys[] = {"priced_as", "input_usd", "cache_read_usd", "cache_write_usd",
                              "output_usd", "total_usd"};
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
