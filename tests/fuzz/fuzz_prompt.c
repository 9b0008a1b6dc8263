/* libFuzzer harness: what prompt assembly reads from outside: a tool
 * definition (JSON, any of the three accepted shapes), a static text segment
 * (linted for volatile content) and a conversation used as history.  The input
 * is "tool \n--\n text \n--\n conversation".  Invariants: failures say why in
 * one line and leave the builder usable; lint findings lie inside the text in
 * order; assembling twice gives the same fingerprint (diff: nothing changed);
 * the blocks' tokens add up to the total; every successful rendering is JSON
 * that the shared reader accepts. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/prompt.h"

static tkn_tokenizer *estimator;

static void check_render(const tkn_prompt *p, uint32_t format) {
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.format = format;
  ro.model = "claude-sonnet-4-5";
  ro.model_len = strlen(ro.model);
  ro.max_tokens = 1024;
  ro.min_cache_tokens = 1;
  char *out = NULL;
  size_t len = 0;
  char err[512];
  int rc = tkn_prompt_render(p, &ro, &out, &len, err, sizeof err);
  if (rc != TKN_OK) {
    FZ_CHECK(out == NULL);
    fz_one_line(err);
    if (rc != TKN_ERR_STATE && rc != TKN_ERR_UNSUPPORTED && rc != TKN_ERR_SCHEMA &&
        rc != TKN_ERR_PARSE)
      fprintf(stderr, "render %u: status %d: %s\n", format, rc, err);
    /* PARSE: tool-call arguments that are not a JSON object (Anthropic input) */
    FZ_CHECK(rc == TKN_ERR_STATE || rc == TKN_ERR_UNSUPPORTED || rc == TKN_ERR_SCHEMA ||
             rc == TKN_ERR_PARSE);
    return;
  }
  cJSON *j = NULL;
  char jerr[TKI_ERRLEN];
  rc = tki_json_parse(out, len, (size_t)1 << 30, 1000, "rendering", &j, jerr);
  if (rc != TKN_OK) {
    fprintf(stderr, "rendering is not JSON: %s\n%.*s\n", jerr, (int)len, out);
    abort();
  }
  cJSON_Delete(j);
  tkn_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!estimator && tkn_tokenizer_new_estimator(&estimator) != TKN_OK) abort();
  const char *tool, *rest, *text, *conv_text;
  size_t tool_len, rest_len, text_len, conv_len;
  fz_split(data, size, &tool, &tool_len, &rest, &rest_len);
  fz_split((const uint8_t *)rest, rest_len, &text, &text_len, &conv_text, &conv_len);

  /* The linter alone. */
  tkn_prompt_finding *f = NULL;
  size_t nf = 0;
  int rc = tkn_prompt_lint(text, text_len, TKN_LINT_ALL, &f, &nf);
  FZ_CHECK(rc == TKN_OK || rc == TKN_ERR_UTF8);
  for (size_t i = 0; i < nf; i++) {
    FZ_CHECK(f[i].offset + f[i].length <= text_len && f[i].length > 0);
    FZ_CHECK(tkn_prompt_issue_name(f[i].kind) != NULL);
    if (i) FZ_CHECK(f[i].offset >= f[i - 1].offset);
  }
  tkn_free(f);

  tkn_prompt_builder *b = NULL;
  FZ_CHECK(tkn_prompt_builder_new(&b, NULL) == TKN_OK);
  FZ_CHECK(tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "q", 1,
                                       "question", 8, NULL) == TKN_OK);
  if (tool_len) {
    rc = tkn_prompt_builder_add_tool(b, tool, tool_len, NULL);
    if (rc != TKN_OK) fz_one_line(tkn_prompt_builder_errmsg(b));
  }
  rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "sys", 3, text,
                                   text_len, NULL);
  if (rc != TKN_OK) fz_one_line(tkn_prompt_builder_errmsg(b));
  tkn_conv *conv = NULL;
  if (conv_len) {
    char cerr[256];
    if (tkn_conv_from_json(&conv, TKN_FORMAT_AUTO, conv_text, conv_len, cerr, sizeof cerr) ==
        TKN_OK)
      FZ_CHECK(tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL) == TKN_OK);
  }

  tkn_prompt *p1 = NULL, *p2 = NULL;
  rc = tkn_prompt_assemble(&p1, b, estimator);
  if (rc != TKN_OK) {
    FZ_CHECK(p1 == NULL);
    fz_one_line(tkn_prompt_builder_errmsg(b));
  } else {
    FZ_CHECK(tkn_prompt_assemble(&p2, b, estimator) == TKN_OK);
    FZ_CHECK(tkn_prompt_fingerprint(p1) == tkn_prompt_fingerprint(p2));
    FZ_CHECK(tkn_prompt_version(p1) == tkn_prompt_version(p2));
    uint32_t first = 0, changed = 7;
    FZ_CHECK(tkn_prompt_diff(p1, p2, &first, &changed) == TKN_OK);
    FZ_CHECK(first == TKN_PROMPT_NONE && changed == 0);
    int64_t sum = 0;
    for (size_t i = 0; i < tkn_prompt_block_count(p1); i++) {
      int64_t tk = -1;
      FZ_CHECK(tkn_prompt_block(p1, i, NULL, &tk, NULL) == TKN_OK);
      FZ_CHECK(tk >= 0);
      sum += tk;
    }
    FZ_CHECK(sum == tkn_prompt_tokens(p1));
    check_render(p1, TKN_FORMAT_OPENAI);
    check_render(p1, TKN_FORMAT_ANTHROPIC);
  }
  tkn_prompt_free(p1);
  tkn_prompt_free(p2);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  return 0;
}
