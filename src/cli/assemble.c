/* tokenomy assemble: a prompt spec assembled in cache-friendly order and
 * rendered as the provider request. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char ASSEMBLE_HELP[] =
    "usage: tokenomy assemble [--format openai|anthropic] [--segments] [--json] [SPEC.json]\n"
    "\n"
    "Assemble a prompt in cache-friendly order and render the provider request.\n"
    "SPEC: {\"model\": \"gpt-4o\", \"max_tokens\": 512, \"tools\": [..], \"system\": \"..\",\n"
    "       \"reference\": \"..\", \"messages\": [conversation], \"dynamic\": \"..\"}\n"
    "Tokens are counted exactly with the model's encoding (gpt-4o: o200k_base), with\n"
    "the estimator only for a model without one (Claude, Gemini); which counter was\n"
    "used is on stderr (with --segments: \"counter\" in the JSON).\n"
    "  --segments  print the segments (kind, stability, tokens, fingerprint) and the\n"
    "              linter's findings instead of the request\n"
    "  --json      accepted: the output is JSON either way\n";

int cli_assemble_spec(const char *cmd, const cJSON *spec, const tkn_tokenizer *tok, tkn_conv **conv,
                      tkn_prompt **out) {
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
                                     strlen(TEXTS[k].key), v->valuestring, strlen(v->valuestring),
                                     NULL);
  }
  const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(spec, "messages");
  if (!rc && msgs) {
    char *js = cJSON_PrintUnformatted(msgs);
    char err[512];
    rc = js ? cli_keep_err(tkn_conv_from_json(conv, TKN_PROVIDER_AUTO, js, strlen(js)), err,
                           sizeof err)
            : TKN_ERR_NOMEM;
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
  const char *file = NULL;
  int segments = 0, fmt = TKN_PROVIDER_OPENAI, json = 1;
  static const cli_choice FORMATS[] = {
      {"openai", TKN_PROVIDER_OPENAI}, {"anthropic", TKN_PROVIDER_ANTHROPIC}, {NULL, 0}};
  const cli_option opts[] = {{"--format", CLI_CHOICE, &fmt, "openai or anthropic", 0, 0, FORMATS},
                             {"--segments", CLI_FLAG, &segments, NULL, 0, 0, NULL},
                             {"--json", CLI_FLAG, &json, NULL, 0, 0, NULL},
                             CLI_OPT_END};
  int parsed = cli_parse_file("assemble", ASSEMBLE_HELP, opts, &file, argc, argv);
  if (parsed >= 0) return parsed;
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
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(spec, "max_tokens");
  int64_t max_tokens = fmt == TKN_PROVIDER_ANTHROPIC ? 1024 : 0;
  if (cJSON_IsNumber(mt) && !cli_json_int(mt, 0, INT64_C(1) << 53, &max_tokens)) {
    cJSON_Delete(spec);
    return cli_fail("assemble", "spec.max_tokens: expected a whole number from 0 to 2^53");
  }
  tkn_tokenizer *tok = NULL;
  char counter[96];
  if (cli_model_tokenizer("assemble", model->valuestring, &tok, counter, sizeof counter)) {
    cJSON_Delete(spec);
    return 2;
  }
  tkn_conv *conv = NULL;
  tkn_prompt *p = NULL;
  int status = cli_assemble_spec("assemble", spec, tok, &conv, &p);
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
    cJSON_AddStringToObject(o, "counter", counter);
    cli_print_json(o);
    cJSON_Delete(o);
  } else if (!status) {
    tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
    ro.provider = (uint32_t)fmt;
    ro.model = model->valuestring;
    ro.model_len = strlen(model->valuestring);
    ro.max_tokens = max_tokens;
    if (fmt == TKN_PROVIDER_ANTHROPIC) { /* breakpoints: the price table's minimum where known */
      tkn_prices *pr = NULL;
      tkn_prices_new_default(&pr);
      int64_t min = 0; /* unknown model: 0, and the render names it */
      if (tkn_prompt_min_cache_tokens_from(pr, TKN_PROVIDER_ANTHROPIC, ro.model, ro.model_len,
                                           &min) == TKN_OK)
        ro.min_cache_tokens = min;
      tkn_prices_free(pr);
    }
    char *js = NULL, err[512];
    int rc = cli_keep_err(tkn_prompt_render(p, &ro, &js, NULL), err, sizeof err);
    if (rc) status = cli_fail("assemble", "render: %s", err);
    else {
      puts(js); /* the request body: which counter chose the breakpoints goes to stderr */
      fprintf(stderr, "assemble: tokens counted with %s for %s\n", counter,
              model->valuestring);
    }
    tkn_free(js);
  }
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  cJSON_Delete(spec);
  return status;
}
