/* libFuzzer harness: the prompt part on arbitrary bytes.  The input is split
 * at the first NUL into a segment text and a tool definition.  Invariants:
 * the linter's findings lie inside the text, in order, without overlap;
 * a refused tool or text says why in one line; whatever assembles renders,
 * for both providers, as JSON the shared reader accepts; assembling twice
 * gives the same fingerprint. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "internal.h"
#include "tokenomy/prompt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int quarter_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)((len + 3) / 4);
  return 0;
}

static void check_lint(const char *text, size_t len) {
  tkn_prompt_finding *f = NULL;
  size_t n = 0;
  int rc = tkn_prompt_lint(text, len, TKN_LINT_ALL, &f, &n);
  if (rc != TKN_OK && rc != TKN_ERR_UTF8) abort();
  uint64_t end = 0;
  for (size_t i = 0; i < n; i++) {
    if (f[i].offset < end || f[i].length == 0 || f[i].offset + f[i].length > len) abort();
    if (!tkn_prompt_issue_name(f[i].kind)) abort();
    end = f[i].offset + f[i].length;
  }
  tkn_free(f);
}

static void check_render(const tkn_prompt *p, uint32_t format) {
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = format;
  o.model = "m";
  o.model_len = 1;
  o.max_tokens = 16;
  o.min_cache_tokens = 1;
  char *out = NULL, err[TKI_ERRLEN];
  size_t len = 0;
  int rc = fz_keep_err(tkn_prompt_render(p, &o, &out, &len), err, sizeof err);
  if (rc) {
    if (!err[0] || strchr(err, '\n')) abort();
    return;
  }
  cJSON *root = NULL;
  if (tki_json_parse(out, len, 1 << 26, 256, "rendering", &root, err) != TKN_OK) abort();
  cJSON_Delete(root);
  tkn_free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *text = (const char *)data;
  const char *nul = memchr(data, 0, size);
  size_t text_len = nul ? (size_t)(nul - text) : size;
  const char *tool = nul ? nul + 1 : "";
  size_t tool_len = nul ? size - text_len - 1 : 0;
  check_lint(text, text_len);

  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  tkn_tokenizer *tok = NULL;
  tkn_prompt_builder *b = NULL;
  if (tkn_tokenizer_new_callback(&tok, &cb, NULL) || tkn_prompt_builder_new(&b, NULL)) abort();
  int rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, text,
                                       text_len, NULL);
  if (rc && (rc != TKN_ERR_UTF8 || !tkn_error_last()->message[0])) abort();
  if (tool_len) {
    rc = tkn_prompt_builder_add_tool(b, tool, tool_len, NULL);
    if (rc && (!tkn_error_last()->message[0] || strchr(tkn_error_last()->message, '\n')))
      abort();
  }
  if (tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "q", 1, "?", 1, NULL))
    abort();
  tkn_prompt *p = NULL, *again = NULL;
  if (tkn_prompt_assemble(&p, b, tok) || tkn_prompt_assemble(&again, b, tok)) abort();
  if (tkn_prompt_fingerprint(p) != tkn_prompt_fingerprint(again)) abort();
  check_render(p, TKN_PROVIDER_OPENAI);
  check_render(p, TKN_PROVIDER_ANTHROPIC);
  tkn_prompt_free(p);
  tkn_prompt_free(again);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
  return 0;
}
