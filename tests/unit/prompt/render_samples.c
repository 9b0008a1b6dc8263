/* Writes TypeScript files that assign tokenomy's renderings to the official
 * SDKs' request types, for tsc to check (the 'conformance' suite):
 *   OUT/samples.ts: several prompts rendered for OpenAI and Anthropic; must
 *                   type-check;
 *   OUT/wrong_*.ts: deliberately wrong renderings; each must fail, which
 *                   proves the check can fail.
 * usage: prompt_render_samples OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static int quarter_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)((len + 3) / 4);
  return 0;
}

static void die(const char *what, const char *detail) {
  fprintf(stderr, "render_samples: %s: %s\n", what, detail);
  exit(1);
}

static void check(int rc, const char *what, tkn_prompt_builder *b) {
  if (rc) die(what, b ? tkn_error_last()->message : tkn_strerror(rc));
}

static char *render(const tkn_prompt *p, uint32_t format, int64_t min_cache, const char *key) {
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = format;
  o.model = format == TKN_PROVIDER_ANTHROPIC ? "claude-sonnet-4-5" : "gpt-4o";
  o.model_len = strlen(o.model);
  o.max_tokens = 1024;
  o.min_cache_tokens = min_cache;
  o.cache_key = key;
  o.cache_key_len = key ? strlen(key) : 0;
  char *out = NULL, err[256];
  if (keep_err(tkn_prompt_render(p, &o, &out, NULL), err, sizeof err)) die("render", err);
  return out;
}

static const char *k_tools[] = {
    ("{\"name\":\"get_weather\",\"description\":\"Current weather for a city\",\"parameters\":"
     "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"unit\":{\"enum\":"
     "[\"c\",\"f\"]}},\"required\":[\"city\"]}}"),
    ("{\"type\":\"function\",\"function\":{\"name\":\"list_orders\",\"parameters\":{\"type\":"
     "\"object\",\"properties\":{\"limit\":{\"type\":\"integer\",\"minimum\":1}}}}}"),
    ("{\"name\":\"ping\"}")
};

static const char *k_history =
    "[{\"role\":\"system\",\"content\":\"Conversation note.\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Weather in Paris\"},"
    "{\"type\":\"text\",\"text\":\"and Lyon?\"}]},"
    "{\"role\":\"assistant\",\"content\":\"Checking.\",\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\":"
    "\\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Lyon\\\"}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"21C\"},"
    "{\"role\":\"assistant\",\"content\":\"Paris 18C, Lyon 21C.\",\"name\":\"helper\"},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Thanks, and this?\"},"
    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/bag.png\"}}]}]";

/* A long instruction text, so that the prefix reaches the cacheable minimum. */
static char *instructions(size_t n) {
  const char *s = "Answer politely and cite the policy sections precisely. ";
  size_t k = strlen(s);
  char *out = malloc(n + 1);
  if (!out) die("malloc", "out of memory");
  for (size_t i = 0; i < n; i++) out[i] = s[i % k];
  out[n] = '\0';
  return out;
}

/* Variant v of the sample prompts. */
static tkn_prompt *sample(int v, tkn_tokenizer *tok, tkn_conv *conv) {
  tkn_prompt_builder *b = NULL;
  check(tkn_prompt_builder_new(&b, NULL), "builder", NULL);
  if (v != 1)
    for (size_t i = 0; i < sizeof k_tools / sizeof *k_tools; i++)
      check(tkn_prompt_builder_add_tool(b, k_tools[i], strlen(k_tools[i]), NULL), "tool", b);
  char *sys = instructions(v == 2 ? 200 : 9000);
  uint32_t si;
  check(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, sys,
                                    strlen(sys), &si),
        "system", b);
  free(sys);
  if (v == 0) {
    check(tkn_prompt_builder_set_ttl(b, 0, TKN_CACHE_TTL_1H), "ttl", b);
    check(tkn_prompt_builder_set_ttl(b, si, TKN_CACHE_TTL_1H), "ttl", b);
    const char *docs = "Refund policy: 30 days. \"Quoted\" text, tabs\tand\nnewlines, and \xc3\xa9.";
    check(tkn_prompt_builder_add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_STATIC, "docs", 4, docs,
                                      strlen(docs), NULL),
          "docs", b);
  }
  if (v != 2) check(tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL), "history", b);
  const char *now = "Current time: 2026-11-28T14:05:09Z.";
  const char *q = "What should I pack?";
  check(tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "now", 3, now,
                                    strlen(now), NULL),
        "now", b);
  if (v != 1)
    check(tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", 5, q,
                                      strlen(q), NULL),
          "query", b);
  tkn_prompt *p = NULL;
  check(tkn_prompt_assemble(&p, b, tok), "assemble", b);
  tkn_prompt_builder_free(b);
  return p;
}

static FILE *open_ts(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write", path);
  fputs("import type { ChatCompletionCreateParamsNonStreaming } from "
        "'openai/resources/chat/completions';\n"
        "import type { MessageCreateParamsNonStreaming } from "
        "'@anthropic-ai/sdk/resources/messages';\n\n",
        f);
  return f;
}

static FILE *fopen_in(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "w");
  if (!f) die("cannot write", path);
  return f;
}

/* Replace the first `from` in s by `to` (same or shorter length not required). */
static char *replace(const char *s, const char *from, const char *to) {
  const char *at = strstr(s, from);
  if (!at) die("replace", from);
  size_t n = strlen(s) - strlen(from) + strlen(to);
  char *out = malloc(n + 1);
  if (!out) die("malloc", "out of memory");
  size_t pre = (size_t)(at - s);
  memcpy(out, s, pre);
  strcpy(out + pre, to);
  strcat(out, at + strlen(from));
  return out;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
    return 2;
  }
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  tkn_tokenizer *tok = NULL;
  check(tkn_tokenizer_new_callback(&tok, &cb, NULL), "tokenizer", NULL);
  tkn_conv *conv = NULL;
  char err[256];
  if (keep_err(tkn_conv_from_json(&conv, TKN_PROVIDER_OPENAI, k_history, strlen(k_history)), err, sizeof err))
    die("conversation", err);

  FILE *f = open_ts(argv[1], "samples.ts");
  char *an0 = NULL, *oa0 = NULL;
  size_t breakpoints = 0;
  for (int v = 0; v < 3; v++) {
    tkn_prompt *p = sample(v, tok, conv);
    char *oa = render(p, TKN_PROVIDER_OPENAI, 0, v == 0 ? "tenant-42" : NULL);
    char *an = render(p, TKN_PROVIDER_ANTHROPIC, v == 2 ? 0 : 1024, NULL);
    for (const char *s = strstr(an, "\"cache_control\""); s; s = strstr(s + 1, "\"cache_control\""))
      breakpoints++;
    fprintf(f, "export const openai%d: ChatCompletionCreateParamsNonStreaming = %s;\n\n", v, oa);
    fprintf(f, "export const anthropic%d: MessageCreateParamsNonStreaming = %s;\n\n", v, an);
    if (v == 0) {
      oa0 = oa;
      an0 = an;
    } else {
      tkn_free(oa);
      tkn_free(an);
    }
    tkn_prompt_free(p);
  }
  fclose(f);
  if (breakpoints == 0) die("samples", "no cache_control breakpoint was rendered");
  if (!strstr(an0, "\"ttl\":\"1h\"")) die("samples", "no 1-hour breakpoint was rendered");

  /* wrong renderings: each must be refused by tsc */
  f = open_ts(argv[1], "wrong_provider.ts"); /* an Anthropic body as an OpenAI request */
  fprintf(f, "export const bad: ChatCompletionCreateParamsNonStreaming = %s;\n", an0);
  fclose(f);
  f = open_ts(argv[1], "wrong_ttl.ts");
  char *bad = replace(an0, "\"ttl\":\"1h\"", "\"ttl\":\"2h\"");
  fprintf(f, "export const bad: MessageCreateParamsNonStreaming = %s;\n", bad);
  free(bad);
  fclose(f);
  f = open_ts(argv[1], "wrong_tool.ts");
  bad = replace(oa0, "{\"type\":\"function\",\"function\":", "{\"type\":\"tool\",\"function\":");
  fprintf(f, "export const bad: ChatCompletionCreateParamsNonStreaming = %s;\n", bad);
  free(bad);
  fclose(f);
  /* context editing and tool deferral: the Anthropic beta request type */
  {
    tkn_prompt_builder *b = NULL;
    check(tkn_prompt_builder_new(&b, NULL), "builder", NULL);
    const char *deferred = "{\"name\":\"list_orders\",\"description\":\"Orders of a customer\","
                           "\"parameters\":{\"type\":\"object\",\"properties\":{\"limit\":"
                           "{\"type\":\"integer\"}}}}";
    /* the tools through a catalogue (toolsel.h): the weather tool is selected,
     * list_orders deferred */
    tkn_toolsel *cat = NULL;
    uint32_t sel[2];
    size_t nsel = 0;
    check(tkn_toolsel_new(&cat, NULL), "catalogue", b);
    check(tkn_toolsel_add(cat, k_tools[0], strlen(k_tools[0]), NULL), "catalogue", b);
    check(tkn_toolsel_add(cat, deferred, strlen(deferred), NULL), "catalogue", b);
    check(tkn_toolsel_select(cat, "weather in Paris?", 17, 1, NULL, 0, sel, 2, &nsel), "select",
          b);
    if (nsel != 1 || sel[0] != 0) die("select", "the weather tool is not the one selected");
    check(tkn_toolsel_add_to_builder(b, cat, sel, nsel, TKN_TOOLSEL_DEFER_REST), "tools", b);
    tkn_toolsel_free(cat);
    check(tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL), "history", b);
    tkn_prompt *p = NULL;
    check(tkn_prompt_assemble(&p, b, tok), "assemble", b);
    tkn_prompt_builder_free(b);
    tkn_prune_options edits = TKN_PRUNE_OPTIONS_INIT;
    static const char *const keep_tools[] = {"ping"};
    edits.mode = TKN_PRUNE_CLEAR;
    edits.clear_trigger = 30000;
    edits.keep_tool_uses = 2;
    edits.clear_at_least = 5000;
    edits.exclude_tools = keep_tools;
    edits.exclude_tools_count = 1;
    edits.clear_inputs = 1;
    edits.clear_thinking = 1;
    tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
    o.provider = TKN_PROVIDER_ANTHROPIC;
    o.model = "claude-sonnet-4-5";
    o.model_len = strlen(o.model);
    o.max_tokens = 1024;
    o.context_edits = &edits;
    char *beta = NULL;
    if (keep_err(tkn_prompt_render(p, &o, &beta, NULL), err, sizeof err)) die("render", err);
    if (!strstr(beta, "\"defer_loading\":true") || !strstr(beta, "tool_search_tool_bm25") ||
        !strstr(beta, "clear_tool_uses_20250919") || !strstr(beta, "clear_thinking_20251015"))
      die("beta", "the rendering lacks defer_loading, tool search or context edits");
    /* OpenAI: the deferred tool is left out; 24h retention */
    o.provider = TKN_PROVIDER_OPENAI;
    o.model = "gpt-4o";
    o.model_len = strlen(o.model);
    o.context_edits = NULL;
    o.cache_retention = TKN_CACHE_RETENTION_24H;
    o.cache_key = "tenant-42";
    o.cache_key_len = strlen(o.cache_key);
    char *oa = NULL;
    if (keep_err(tkn_prompt_render(p, &o, &oa, NULL), err, sizeof err)) die("render", err);
    if (strstr(oa, "list_orders") || !strstr(oa, "\"prompt_cache_retention\":\"24h\""))
      die("openai", "the deferred tool is sent, or the retention is missing");
    tkn_prompt_free(p);
    f = fopen_in(argv[1], "beta.ts");
    fputs("import type { MessageCreateParamsNonStreaming } from "
          "'@anthropic-ai/sdk/resources/beta/messages/messages';\n\n", f);
    fprintf(f, "export const beta: MessageCreateParamsNonStreaming = %s;\n", beta);
    fclose(f);
    f = fopen_in(argv[1], "wrong_beta.ts");
    fputs("import type { MessageCreateParamsNonStreaming } from "
          "'@anthropic-ai/sdk/resources/beta/messages/messages';\n\n", f);
    bad = replace(beta, "clear_tool_uses_20250919", "clear_tool_uses_20990101");
    fprintf(f, "export const bad: MessageCreateParamsNonStreaming = %s;\n", bad);
    free(bad);
    fclose(f);
    f = fopen_in(argv[1], "retention.ts");
    fputs("import type { ChatCompletionCreateParamsNonStreaming } from "
          "'openai/resources/chat/completions';\n\n", f);
    fprintf(f, "export const retention: ChatCompletionCreateParamsNonStreaming = %s;\n", oa);
    fclose(f);
    f = fopen_in(argv[1], "wrong_retention.ts");
    fputs("import type { ChatCompletionCreateParamsNonStreaming } from "
          "'openai/resources/chat/completions';\n\n", f);
    bad = replace(oa, "\"24h\"", "\"48h\"");
    fprintf(f, "export const bad: ChatCompletionCreateParamsNonStreaming = %s;\n", bad);
    free(bad);
    fclose(f);
    tkn_free(beta);
    tkn_free(oa);
  }
  tkn_free(oa0);
  tkn_free(an0);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  printf("render_samples: wrote samples.ts (%zu breakpoints), beta.ts, retention.ts and 5 wrong "
         "renderings\n",
         breakpoints);
  return 0;
}
