/* Prompt assembly, linting, fingerprints, rendering with cache breakpoints,
 * and the prompt-cache planner. */
#include "test_util.h"

#include "internal.h"
#include "prompt/prompt_internal.h"

/* ---- helpers ---- */

/* A tokenizer with a predictable count: one token per 4 bytes, rounded up. */
static int quarter_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)((len + 3) / 4);
  return 0;
}

static int failing_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)len;
  (void)out;
  (void)user;
  return 1;
}

static tkn_tokenizer *make_tok(void) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_OK);
  return tok;
}

static tkn_prompt_builder *make_builder(int strict, int keep_order) {
  tkn_prompt_options o = TKN_PROMPT_OPTIONS_INIT;
  o.strict = strict;
  o.keep_order = keep_order;
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, &o), TKN_OK);
  return b;
}

static uint32_t add_text(tkn_prompt_builder *b, uint32_t kind, uint32_t stab, const char *name,
                         const char *text) {
  uint32_t idx = 0;
  int rc = tkn_prompt_builder_add_text(b, kind, stab, name, strlen(name), text, strlen(text), &idx);
  if (rc) fprintf(stderr, "add_text: %s\n", tkn_error_last()->message);
  assert_int_equal(rc, TKN_OK);
  return idx;
}

static void add_tool(tkn_prompt_builder *b, const char *json) {
  int rc = tkn_prompt_builder_add_tool(b, json, strlen(json), NULL);
  if (rc) fprintf(stderr, "add_tool: %s\n", tkn_error_last()->message);
  assert_int_equal(rc, TKN_OK);
}

static tkn_prompt *assemble(tkn_prompt_builder *b, tkn_tokenizer *tok) {
  tkn_prompt *p = NULL;
  int rc = tkn_prompt_assemble(&p, b, tok);
  if (rc) fprintf(stderr, "assemble: %s\n", tkn_error_last()->message);
  assert_int_equal(rc, TKN_OK);
  return p;
}


/* n bytes of ordinary instructions (no volatile content). */
static char *instructions(size_t n) {
  static const char *const words[] = {"Answer ", "the ", "customer ", "politely ", "and ",
                                      "cite ", "the ", "policy ", "sections ", "precisely. "};
  char *s = malloc(n + 1);
  size_t len = 0, w = 0;
  while (len < n) {
    const char *word = words[w++ % 10];
    size_t k = strlen(word);
    if (len + k > n) k = n - len;
    memcpy(s + len, word, k);
    len += k;
  }
  s[n] = '\0';
  return s;
}

static char *render(const tkn_prompt *p, uint32_t format, int64_t min_cache) {
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = format;
  o.model = format == TKN_PROVIDER_ANTHROPIC ? "claude-sonnet-4-5" : "gpt-4o";
  o.model_len = strlen(o.model);
  o.max_tokens = 512;
  o.min_cache_tokens = min_cache;
  char *out = NULL, err[256] = "";
  size_t len = 0;
  int rc = tt_keep_err(tkn_prompt_render(p, &o, &out, &len), err, sizeof err);
  if (rc) fprintf(stderr, "render: %s\n", err);
  assert_int_equal(rc, TKN_OK);
  assert_int_equal(strlen(out), len);
  return out;
}

static cJSON *parse(const char *s) {
  cJSON *j = cJSON_Parse(s);
  assert_non_null(j);
  return j;
}

static size_t count_substr(const char *s, const char *sub) {
  size_t n = 0;
  for (const char *p = strstr(s, sub); p; p = strstr(p + 1, sub)) n++;
  return n;
}

/* ---- options ---- */

static void builder_rejects_bad_options(void **state) {
  (void)state;
  tkn_prompt_builder *b = (void *)1;
  tkn_prompt_options o = TKN_PROMPT_OPTIONS_INIT;
  o.version = 7;
  assert_int_equal(tkn_prompt_builder_new(&b, &o), TKN_ERR_VERSION);
  assert_null(b);
  o.version = TKN_PROMPT_OPTIONS_VERSION;
  o.strict = 2;
  assert_int_equal(tkn_prompt_builder_new(&b, &o), TKN_ERR_INVALID);
  o.strict = 0;
  o.lint_mask = 1u << 20;
  assert_int_equal(tkn_prompt_builder_new(&b, &o), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_builder_new(NULL, NULL), TKN_ERR_INVALID);
  tkn_prompt_builder_free(NULL);
  tkn_prompt_free(NULL);
  tkn_cacheplan_free(NULL);
}

static void names_of_kinds_are_static(void **state) {
  (void)state;
  assert_string_equal(tkn_prompt_issue_name(TKN_LINT_TIMESTAMP), "timestamp");
  assert_string_equal(tkn_prompt_issue_name(TKN_ISSUE_ORDER), "order");
  assert_null(tkn_prompt_issue_name(99));
  assert_string_equal(tkn_prompt_segment_kind_name(TKN_SEG_HISTORY), "history");
  assert_null(tkn_prompt_segment_kind_name(5));
  assert_string_equal(tkn_prompt_stability_name(TKN_STABILITY_SESSION), "session");
  assert_null(tkn_prompt_stability_name(3));
}

/* ---- the linter ---- */

/* Lint `text`; expect exactly one finding of `kind` covering `what`. */
static void expect_one(const char *text, uint32_t kind, const char *what) {
  tkn_prompt_finding *f = NULL;
  size_t n = 0;
  assert_int_equal(tkn_prompt_lint(text, strlen(text), TKN_LINT_ALL, &f, &n), TKN_OK);
  if (n != 1) fprintf(stderr, "lint \"%s\": %zu findings\n", text, n);
  assert_int_equal(n, 1);
  if (f[0].kind != kind) fprintf(stderr, "lint \"%s\": kind %u\n", text, f[0].kind);
  assert_int_equal(f[0].kind, kind);
  const char *at = strstr(text, what);
  assert_int_equal(f[0].offset, (uint64_t)(at - text));
  assert_int_equal(f[0].length, strlen(what));
  assert_int_equal(f[0].other, TKN_PROMPT_NONE);
  tkn_free(f);
}

static void expect_none(const char *text) {
  tkn_prompt_finding *f = NULL;
  size_t n = 9;
  assert_int_equal(tkn_prompt_lint(text, strlen(text), TKN_LINT_ALL, &f, &n), TKN_OK);
  if (n) fprintf(stderr, "lint \"%s\": unexpected kind %u at %llu\n", text, f[0].kind,
                 (unsigned long long)f[0].offset);
  assert_int_equal(n, 0);
  assert_null(f);
}

static void lint_finds_iso_dates_and_timestamps(void **state) {
  (void)state;
  expect_one("Today is 2026-11-28.", TKN_LINT_DATE, "2026-11-28");
  expect_one("Now: 2026-11-28T14:05:09Z, be quick", TKN_LINT_TIMESTAMP, "2026-11-28T14:05:09Z");
  expect_one("at 2026-11-28 14:05:09.123+01:00 sharp", TKN_LINT_TIMESTAMP,
             "2026-11-28 14:05:09.123+01:00");
  expect_one("date 2026/11/28 ok", TKN_LINT_DATE, "2026/11/28");
}

static void lint_finds_written_and_numeric_dates(void **state) {
  (void)state;
  expect_one("It is November 28, 2026 today.", TKN_LINT_DATE, "November 28, 2026");
  expect_one("It is 28 Nov 2026 today.", TKN_LINT_DATE, "28 Nov 2026");
  expect_one("Due Dec 3rd.", TKN_LINT_DATE, "Dec 3rd");
  expect_one("Le 28/11/2026 il pleut", TKN_LINT_DATE, "28/11/2026");
  expect_one("am 28.11.2026 um", TKN_LINT_DATE, "28.11.2026");
}

static void lint_finds_times(void **state) {
  (void)state;
  expect_one("The time is 14:05 now", TKN_LINT_TIME, "14:05");
  expect_one("Meet at 2:05 pm please", TKN_LINT_TIME, "2:05 pm");
  expect_one("clock 23:59:58 ticks", TKN_LINT_TIME, "23:59:58");
}

static void lint_finds_ids(void **state) {
  (void)state;
  expect_one("session 3f2b8c1e-9d4a-4e7b-8c1d-2a3b4c5d6e7f open", TKN_LINT_UUID,
             "3f2b8c1e-9d4a-4e7b-8c1d-2a3b4c5d6e7f");
  expect_one("commit 9fceb02d0ae598e95dc970b74767f19372d61af8 fixed", TKN_LINT_HEX_ID,
             "9fceb02d0ae598e95dc970b74767f19372d61af8");
  expect_one("token dGhpcyBpc2EgdGVzdDEyMw7Zq9X2== end", TKN_LINT_BASE64_ID,
             "dGhpcyBpc2EgdGVzdDEyMw7Zq9X2==");
  expect_one("epoch 1764338709 seconds", TKN_LINT_TIMESTAMP, "1764338709");
  expect_one("epoch 1764338709123 ms", TKN_LINT_TIMESTAMP, "1764338709123");
}

static void lint_finds_request_counters(void **state) {
  (void)state;
  expect_one("This is request #42 of the day", TKN_LINT_COUNTER, "request #42");
  expect_one("Turn 7: answer briefly", TKN_LINT_COUNTER, "Turn 7");
  expect_one("attempt: 3", TKN_LINT_COUNTER, "attempt: 3");
  expect_one("call no. 12 follows", TKN_LINT_COUNTER, "call no. 12");
}

static void lint_leaves_ordinary_instructions_alone(void **state) {
  (void)state;
  expect_none("You are a helpful assistant. Follow steps 1 to 3. Use Python 3.11 and "
              "version v1.2.3 of the API. Run the tests. Step 1: read the file "
              "src/tokenizer/BpeMergeTables.c; call getUserAccountIdentifier. "
              "Prices are 3.50 USD; ratio 16:9 images. Reply in May if asked.");
  expect_none("");
}

static void lint_mask_selects_detectors(void **state) {
  (void)state;
  const char *t = "on 2026-11-28 at 14:05 for request #3";
  tkn_prompt_finding *f = NULL;
  size_t n = 0;
  assert_int_equal(tkn_prompt_lint(t, strlen(t), 1u << TKN_LINT_TIME, &f, &n), TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(f[0].kind, TKN_LINT_TIME);
  tkn_free(f);
  assert_int_equal(tkn_prompt_lint(t, strlen(t), TKN_LINT_ALL, &f, &n), TKN_OK);
  assert_int_equal(n, 3);
  tkn_free(f);
  assert_int_equal(tkn_prompt_lint(t, strlen(t), 0, &f, &n), TKN_OK);
  assert_int_equal(n, 0);
}

static void lint_rejects_bad_input(void **state) {
  (void)state;
  tkn_prompt_finding *f = NULL;
  size_t n = 0;
  assert_int_equal(tkn_prompt_lint("a\xff", 2, TKN_LINT_ALL, &f, &n), TKN_ERR_UTF8);
  assert_int_equal(tkn_prompt_lint(NULL, 3, TKN_LINT_ALL, &f, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_lint("x", 1, TKN_LINT_ALL, NULL, &n), TKN_ERR_INVALID);
}

static void fast_json_strings_match_the_core_writer(void **state) {
  (void)state;
  static const char alphabet[] = "ab \"\\\n\t\r\b\f\x01\x1f\x7f\xc3\xa9/<>";
  unsigned seed = 12345;
  for (int round = 0; round < 500; round++) {
    char s[80];
    size_t len = (size_t)(round % 80);
    for (size_t i = 0; i < len; i++) {
      seed = seed * 1103515245u + 12345u;
      s[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
    }
    tki_buf a, b;
    tki_buf_init(&a);
    tki_buf_init(&b);
    assert_int_equal(tki_prompt_json_string(&a, s, len), TKN_OK);
    assert_int_equal(tki_buf_json_string(&b, s, len), TKN_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    tki_buf_free(&a);
    tki_buf_free(&b);
  }
}

/* ---- the builder ---- */

static void add_text_rejects_bad_segments(void **state) {
  (void)state;
  tkn_prompt_builder *b = make_builder(0, 0);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_TOOLS, 0, "x", 1, "t", 1, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, 3, "x", 1, "t", 1, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(
      tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, 0, "sys", 3, "ok\xc3(", 5, NULL),
      TKN_ERR_UTF8);
  assert_non_null(strstr(tkn_error_last()->message, "`sys`"));
  assert_non_null(strstr(tkn_error_last()->message, "byte 2"));
  char name[TKN_PROMPT_MAX_NAME + 2];
  memset(name, 'n', sizeof name);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, 0, name, sizeof name, "t", 1, NULL),
                   TKN_ERR_LIMIT);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, 0, "x", 1, NULL, 4, NULL),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_builder_set_ttl(b, 0, TKN_CACHE_TTL_1H), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_builder_set_history(b, NULL, 7, NULL), TKN_ERR_INVALID);
  tkn_prompt_builder_free(b);
}

static void tools_in_any_form_serialise_identically(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  const char *forms[3] = {
      ("{\"name\":\"get_weather\",\"description\":\"Weather now\",\"parameters\":"
       "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":"
       "\"integer\",\"maximum\":1e1}}}}"),
      ("{ \"type\": \"function\", \"function\": { \"parameters\": { \"properties\": { \"days\": "
       "{\"maximum\": 10.0, \"type\": \"integer\"}, \"city\": {\"type\": \"string\"} }, \"type\": "
       "\"object\" }, \"name\": \"get_weather\", \"description\": \"Weather now\" } }"),
      ("{\"input_schema\":{\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"type\":"
       "\"integer\",\"maximum\":10}},\"type\":\"object\"},\"description\":\"Weather now\","
       "\"name\":\"get_weather\"}")
  };
  uint64_t fps[3];
  for (int i = 0; i < 3; i++) {
    tkn_prompt_builder *b = make_builder(0, 0);
    add_tool(b, forms[i]);
    tkn_prompt *p = assemble(b, tok);
    fps[i] = tkn_prompt_fingerprint(p);
    tkn_prompt_free(p);
    tkn_prompt_builder_free(b);
  }
  assert_true(fps[0] == fps[1] && fps[1] == fps[2]);
  /* the block bytes are the canonical JSON */
  const char *canon = "{\"description\":\"Weather now\",\"name\":\"get_weather\",\"parameters\":"
                      "{\"properties\":{\"city\":{\"type\":\"string\"},\"days\":{\"maximum\":10,"
                      "\"type\":\"integer\"}},\"type\":\"object\"}}";
  assert_true(fps[0] == tki_hash64(canon, strlen(canon), 0));
  tkn_tokenizer_free(tok);
}

static void add_tool_reports_bad_definitions(void **state) {
  (void)state;
  tkn_prompt_builder *b = make_builder(0, 0);
  add_tool(b, "{\"name\":\"a\"}");
  const char *dup = "{\"name\":\"a\",\"description\":\"again\"}";
  assert_int_equal(tkn_prompt_builder_add_tool(b, dup, strlen(dup), NULL), TKN_ERR_DUPLICATE);
  assert_non_null(strstr(tkn_error_last()->message, "`a`"));
  const char *noname = "{\"description\":\"x\"}";
  assert_int_equal(tkn_prompt_builder_add_tool(b, noname, strlen(noname), NULL), TKN_ERR_SCHEMA);
  const char *bad = "{\"name\":\"b\",\n \"parameters\": [1,}";
  assert_int_equal(tkn_prompt_builder_add_tool(b, bad, strlen(bad), NULL), TKN_ERR_PARSE);
  assert_non_null(strstr(tkn_error_last()->message, "line 2"));
  const char *arr = "{\"name\":\"c\",\"parameters\":[1]}";
  assert_int_equal(tkn_prompt_builder_add_tool(b, arr, strlen(arr), NULL), TKN_ERR_SCHEMA);
  const char *notobj = "[1,2]";
  assert_int_equal(tkn_prompt_builder_add_tool(b, notobj, strlen(notobj), NULL), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_prompt_builder_add_tool(b, NULL, 0, NULL), TKN_ERR_INVALID);
  tkn_prompt_builder_free(b);
}

static uint32_t seg_kind(const tkn_prompt *p, size_t i, const char **name) {
  tkn_prompt_segment_info info;
  info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  assert_int_equal(tkn_prompt_segment(p, i, &info), TKN_OK);
  if (name) *name = info.name;
  return info.kind;
}

static void assembly_puts_segments_in_prefix_order(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"hi\"}]");
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "What now?");
  assert_int_equal(tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL), TKN_OK);
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_STATIC, "docs", "Policy text.");
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief.");
  add_tool(b, "{\"name\":\"lookup\"}");
  tkn_prompt *p = assemble(b, tok);
  assert_int_equal(tkn_prompt_segment_count(p), 5);
  const uint32_t want[5] = {TKN_SEG_TOOLS, TKN_SEG_STATIC, TKN_SEG_REFERENCE, TKN_SEG_HISTORY,
                            TKN_SEG_DYNAMIC};
  for (size_t i = 0; i < 5; i++) assert_int_equal(seg_kind(p, i, NULL), want[i]);
  assert_int_equal(tkn_prompt_finding_count(p), 0);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  /* keep_order: text segments as added, tools still first */
  b = make_builder(0, 1);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "What now?");
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief.");
  add_tool(b, "{\"name\":\"lookup\"}");
  p = assemble(b, tok);
  const char *name;
  assert_int_equal(seg_kind(p, 0, &name), TKN_SEG_TOOLS);
  assert_int_equal(seg_kind(p, 1, &name), TKN_SEG_DYNAMIC);
  assert_string_equal(name, "query");
  /* ... and the volatile query before the static system prompt is reported */
  assert_int_equal(tkn_prompt_finding_count(p), 1);
  tkn_prompt_finding f = {TKN_PROMPT_FINDING_VERSION, 0, 0, 0, 0, 0};
  assert_int_equal(tkn_prompt_finding_get(p, 0, &f), TKN_OK);
  assert_int_equal(f.kind, TKN_ISSUE_ORDER);
  assert_int_equal(f.segment, 1);
  assert_int_equal(f.other, 2);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void assembly_reports_volatile_before_stable(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"hi\"}]");
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief.");
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_VOLATILE, "retrieved", "Doc of the moment.");
  tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
  tkn_prompt *p = assemble(b, tok);
  assert_int_equal(tkn_prompt_finding_count(p), 1);
  tkn_prompt_finding f = {TKN_PROMPT_FINDING_VERSION, 0, 0, 0, 0, 0};
  assert_int_equal(tkn_prompt_finding_get(p, 0, &f), TKN_OK);
  assert_int_equal(f.kind, TKN_ISSUE_ORDER);
  const char *a, *o;
  seg_kind(p, f.segment, &a);
  seg_kind(p, f.other, &o);
  assert_string_equal(a, "retrieved");
  assert_string_equal(o, "history");
  f.version = 99;
  assert_int_equal(tkn_prompt_finding_get(p, 0, &f), TKN_ERR_VERSION);
  f.version = TKN_PROMPT_FINDING_VERSION;
  assert_int_equal(tkn_prompt_finding_get(p, 1, &f), TKN_ERR_INVALID);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void assembly_lints_only_static_segments(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "now", "Today is 2026-11-28.");
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief. Date: 2026-11-28.");
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_SESSION, "user", "User id 1764338709.");
  tkn_prompt *p = assemble(b, tok);
  assert_int_equal(tkn_prompt_finding_count(p), 1);
  tkn_prompt_finding f = {TKN_PROMPT_FINDING_VERSION, 0, 0, 0, 0, 0};
  tkn_prompt_finding_get(p, 0, &f);
  assert_int_equal(f.kind, TKN_LINT_DATE);
  const char *name;
  seg_kind(p, f.segment, &name);
  assert_string_equal(name, "system");
  assert_int_equal(f.offset, 16);
  assert_int_equal(f.length, 10);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

static void strict_mode_refuses_volatile_static_content(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(1, 0);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Now: 2026-11-28T14:05:09Z. Be brief.");
  tkn_prompt *p = (void *)1;
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_ERR_SCHEMA);
  assert_null(p);
  const char *msg = tkn_error_last()->message;
  assert_non_null(strstr(msg, "`system`"));
  assert_non_null(strstr(msg, "timestamp"));
  assert_non_null(strstr(msg, "byte 5"));
  /* the builder is intact: fixed, it assembles */
  tkn_prompt_builder_clear(b);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief.");
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "now", "Now: 2026-11-28T14:05:09Z.");
  p = assemble(b, tok);
  tkn_prompt_free(p);
  /* strict also refuses volatile content before stable content */
  tkn_prompt_builder_clear(b);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_VOLATILE, "a", "x");
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "b", "y");
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_ERR_SCHEMA);
  assert_non_null(strstr(tkn_error_last()->message, "`a` (volatile)"));
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

static void assemble_reports_tokenizer_failure(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = failing_count;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_OK);
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief.");
  tkn_prompt *p = NULL;
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_ERR_CALLBACK);
  assert_null(p);
  assert_int_equal(tkn_prompt_assemble(&p, b, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_assemble(NULL, b, tok), TKN_ERR_INVALID);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

/* ---- fingerprints ---- */

static void fingerprints_chain_xxh64_over_blocks(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "abc");
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_SESSION, "docs", "defg");
  tkn_prompt *p = assemble(b, tok);
  /* XXH64("abc", seed 0), the published test value */
  assert_true(tkn_prompt_version(p) == 0x44BC2CF5AD770999ULL);
  uint64_t fp1 = 0;
  int64_t tokens = 0;
  uint32_t seg = 9;
  assert_int_equal(tkn_prompt_block(p, 1, &seg, &tokens, &fp1), TKN_OK);
  assert_int_equal(seg, 1);
  assert_int_equal(tokens, 1);
  assert_true(fp1 == tki_hash64("defg", 4, 0x44BC2CF5AD770999ULL));
  assert_true(tkn_prompt_fingerprint(p) == fp1);
  assert_int_equal(tkn_prompt_tokens(p), 2);
  assert_int_equal(tkn_prompt_block(p, 2, NULL, NULL, NULL), TKN_ERR_INVALID);
  tkn_prompt_segment_info info;
  info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  assert_int_equal(tkn_prompt_segment(p, 1, &info), TKN_OK);
  assert_true(info.content_hash == tki_hash64("defg", 4, 0));
  assert_int_equal(info.bytes, 4);
  assert_int_equal(info.added_index, 1);
  info.version = 2;
  assert_int_equal(tkn_prompt_segment(p, 1, &info), TKN_ERR_VERSION);
  info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  assert_int_equal(tkn_prompt_segment(p, 2, &info), TKN_ERR_INVALID);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

static tkn_prompt *simple_prompt(tkn_tokenizer *tok, const char *sys, const char *docs,
                                 const char *query) {
  tkn_prompt_builder *b = make_builder(0, 0);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", sys);
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_STATIC, "docs", docs);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", query);
  tkn_prompt *p = assemble(b, tok);
  tkn_prompt_builder_free(b);
  return p;
}

static void diff_names_the_changed_segment(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt *a = simple_prompt(tok, "Be brief.", "Policy.", "Q1");
  tkn_prompt *same = simple_prompt(tok, "Be brief.", "Policy.", "Q1");
  tkn_prompt *q = simple_prompt(tok, "Be brief.", "Policy.", "Q2");
  tkn_prompt *d = simple_prompt(tok, "Be brief.", "Policy v2.", "Q1");
  uint32_t first = 0, changed = 0;
  assert_int_equal(tkn_prompt_diff(a, same, &first, &changed), TKN_OK);
  assert_int_equal(first, TKN_PROMPT_NONE);
  assert_int_equal(changed, 0);
  assert_true(tkn_prompt_fingerprint(a) == tkn_prompt_fingerprint(same));
  assert_int_equal(tkn_prompt_diff(a, q, &first, &changed), TKN_OK);
  assert_int_equal(first, 2);
  assert_int_equal(changed, 1);
  assert_true(tkn_prompt_version(a) == tkn_prompt_version(q));
  assert_int_equal(tkn_prompt_diff(a, d, &first, &changed), TKN_OK);
  assert_int_equal(first, 1);
  assert_int_equal(changed, 1); /* the query after it is unchanged in content */
  assert_true(tkn_prompt_version(a) != tkn_prompt_version(d));
  assert_int_equal(tkn_prompt_diff(a, NULL, &first, &changed), TKN_ERR_INVALID);
  tkn_prompt_free(a);
  tkn_prompt_free(same);
  tkn_prompt_free(q);
  tkn_prompt_free(d);
  tkn_tokenizer_free(tok);
}

/* ---- rendering ---- */

static const char *k_history =
    "[{\"role\":\"system\",\"content\":\"Conv system note.\"},"
    "{\"role\":\"user\",\"content\":\"Weather in Paris?\"},"
    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_1\",\"type\":"
    "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"city\\\": "
    "\\\"Paris\\\"}\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":"
    "\"get_weather\",\"arguments\":\"{\\\"city\\\":\\\"Lyon\\\"}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"21C\"},"
    "{\"role\":\"assistant\",\"content\":\"Paris 18C, Lyon 21C.\"}]";

static tkn_prompt *full_prompt(tkn_tokenizer *tok, tkn_conv *conv, size_t sys_bytes) {
  tkn_prompt_builder *b = make_builder(0, 0);
  add_tool(b, "{\"name\":\"get_weather\",\"description\":\"Weather now\",\"parameters\":"
              "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
              "\"required\":[\"city\"]}}");
  char *sys = instructions(sys_bytes);
  uint32_t si = add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", sys);
  free(sys);
  assert_int_equal(tkn_prompt_builder_set_ttl(b, si, TKN_CACHE_TTL_1H), TKN_OK);
  if (conv) tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "And tomorrow?");
  tkn_prompt *p = assemble(b, tok);
  tkn_prompt_builder_free(b);
  return p;
}

static void openai_rendering_has_the_documented_shape(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt *p = full_prompt(tok, conv, 200);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.model = "gpt-4o";
  o.model_len = 6;
  o.cache_key = "tenant-7";
  o.cache_key_len = 8;
  o.max_tokens = 300;
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(tkn_prompt_render(p, &o, &out, &len), TKN_OK);
  cJSON *j = parse(out);
  assert_string_equal(cJSON_GetObjectItem(j, "model")->valuestring, "gpt-4o");
  assert_string_equal(cJSON_GetObjectItem(j, "prompt_cache_key")->valuestring, "tenant-7");
  assert_int_equal(cJSON_GetObjectItem(j, "max_completion_tokens")->valueint, 300);
  cJSON *msgs = cJSON_GetObjectItem(j, "messages");
  assert_int_equal(cJSON_GetArraySize(msgs), 1 + 6 + 1);
  cJSON *m0 = cJSON_GetArrayItem(msgs, 0);
  assert_string_equal(cJSON_GetObjectItem(m0, "role")->valuestring, "system");
  assert_true(cJSON_IsArray(cJSON_GetObjectItem(m0, "content")));
  cJSON *m3 = cJSON_GetArrayItem(msgs, 3);
  assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(m3, "tool_calls")), 2);
  cJSON *last = cJSON_GetArrayItem(msgs, 7);
  assert_string_equal(cJSON_GetObjectItem(last, "role")->valuestring, "user");
  cJSON *part = cJSON_GetArrayItem(cJSON_GetObjectItem(last, "content"), 0);
  assert_string_equal(cJSON_GetObjectItem(part, "text")->valuestring, "And tomorrow?");
  cJSON *tool = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 0);
  assert_string_equal(cJSON_GetObjectItem(tool, "type")->valuestring, "function");
  assert_string_equal(
      cJSON_GetObjectItem(cJSON_GetObjectItem(tool, "function"), "name")->valuestring,
      "get_weather");
  assert_null(strstr(out, "cache_control"));
  cJSON_Delete(j);
  /* rendering is deterministic */
  char *again = render(p, TKN_PROVIDER_OPENAI, 0);
  char *first = render(p, TKN_PROVIDER_OPENAI, 0);
  assert_string_equal(again, first);
  tkn_free(again);
  tkn_free(first);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void anthropic_rendering_converts_the_history(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt *p = full_prompt(tok, conv, 200);
  char *out = render(p, TKN_PROVIDER_ANTHROPIC, 100000); /* too short to cache */
  cJSON *j = parse(out);
  assert_int_equal(cJSON_GetObjectItem(j, "max_tokens")->valueint, 512);
  cJSON *sys = cJSON_GetObjectItem(j, "system");
  assert_int_equal(cJSON_GetArraySize(sys), 2); /* the static segment + the conv's system note */
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(sys, 1), "text")->valuestring,
                      "Conv system note.");
  cJSON *msgs = cJSON_GetObjectItem(j, "messages");
  /* user, assistant(tool_use x2), user(tool_result x2 merged), assistant, user(query) */
  assert_int_equal(cJSON_GetArraySize(msgs), 5);
  cJSON *as = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 1), "content");
  assert_int_equal(cJSON_GetArraySize(as), 2);
  cJSON *use = cJSON_GetArrayItem(as, 0);
  assert_string_equal(cJSON_GetObjectItem(use, "type")->valuestring, "tool_use");
  assert_string_equal(
      cJSON_GetObjectItem(cJSON_GetObjectItem(use, "input"), "city")->valuestring, "Paris");
  cJSON *res = cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 2), "content");
  assert_int_equal(cJSON_GetArraySize(res), 2);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "tool_use_id")->valuestring,
                      "call_2");
  cJSON *tool = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "tools"), 0);
  assert_non_null(cJSON_GetObjectItem(tool, "input_schema"));
  assert_null(strstr(out, "cache_control"));
  cJSON_Delete(j);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void anthropic_breakpoints_end_the_longest_stable_prefixes(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt *p = full_prompt(tok, conv, 8000); /* ~2000 tokens of instructions */
  uint32_t blocks[4], ttls[4];
  size_t n = 0;
  assert_int_equal(tkn_prompt_breakpoints(p, 1024, 4, blocks, ttls, 4, &n), TKN_OK);
  /* tools are below the minimum; the static prefix (1h) and the history end (5m) */
  assert_int_equal(n, 2);
  assert_int_equal(blocks[0], 1);
  assert_int_equal(ttls[0], TKN_CACHE_TTL_1H);
  assert_int_equal(blocks[1], 1 + 1 + 5); /* the last history message */
  assert_int_equal(ttls[1], TKN_CACHE_TTL_5M);
  char *out = render(p, TKN_PROVIDER_ANTHROPIC, 1024);
  assert_int_equal(count_substr(out, "\"cache_control\""), 2);
  assert_int_equal(count_substr(out, "\"ttl\":\"1h\""), 1);
  assert_true(strstr(out, "\"ttl\":\"1h\"") < strstr(out, "{\"type\":\"ephemeral\"}"));
  cJSON *j = parse(out);
  cJSON *msgs = cJSON_GetObjectItem(j, "messages");
  cJSON *lastconv = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(msgs, 3), "content"), 0);
  assert_non_null(cJSON_GetObjectItem(lastconv, "cache_control"));
  cJSON_Delete(j);
  tkn_free(out);
  /* one breakpoint allowed: the longest stable prefix wins */
  assert_int_equal(tkn_prompt_breakpoints(p, 1024, 1, blocks, ttls, 4, &n), TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(blocks[0], 7);
  /* a minimum low enough for the tools too: three breakpoints */
  assert_int_equal(tkn_prompt_breakpoints(p, 10, 4, blocks, ttls, 4, &n), TKN_OK);
  assert_int_equal(n, 3);
  assert_int_equal(blocks[0], 0);
  assert_int_equal(ttls[0], TKN_CACHE_TTL_5M);
  assert_int_equal(ttls[1], TKN_CACHE_TTL_5M); /* 1h may not follow a 5m entry */
  assert_int_equal(tkn_prompt_breakpoints(p, 0, 4, blocks, ttls, 4, &n), TKN_ERR_INVALID);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void breakpoints_skip_prefixes_after_volatile_content(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 1);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_VOLATILE, "now", "Now: 14:05.");
  char *sys = instructions(8000);
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", sys);
  free(sys);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "Q");
  tkn_prompt *p = assemble(b, tok);
  size_t n = 9;
  uint32_t blocks[4], ttls[4];
  assert_int_equal(tkn_prompt_breakpoints(p, 1024, 4, blocks, ttls, 4, &n), TKN_OK);
  assert_int_equal(n, 0);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

static int64_t min_of(int32_t provider, const char *model) {
  int64_t v = -7;
  int rc = tkn_prompt_min_cache_tokens(provider, model, TKN_NUL_TERMINATED, &v);
  return rc == TKN_OK ? v : -rc;
}

static void min_cache_tokens_follow_the_docs(void **state) {
  (void)state;
  const int32_t OA = TKN_PROVIDER_OPENAI, AN = TKN_PROVIDER_ANTHROPIC, GE = TKN_PROVIDER_GEMINI;
  assert_int_equal(min_of(OA, "gpt-4o"), 1024);
  assert_int_equal(min_of(AN, "claude-sonnet-4-5"), 1024);
  assert_int_equal(min_of(AN, "claude-3-5-haiku-latest"), 2048);
  assert_int_equal(min_of(AN, "claude-haiku-4-5"), 4096);
  assert_int_equal(min_of(AN, "claude-opus-4-5"), 4096);
  assert_int_equal(min_of(GE, "gemini-2.5-pro"), 4096);
  assert_int_equal(min_of(GE, "gemini-2.5-flash"), 1024);
  /* the documented rules: dated snapshots, the provider's own prefix, fine-tunes, case */
  assert_int_equal(min_of(AN, "claude-haiku-4-5-20251001"), 4096);
  assert_int_equal(min_of(AN, "claude-3-5-haiku-20241022"), 2048);
  assert_int_equal(min_of(AN, "anthropic/claude-opus-4-5"), 4096);
  assert_int_equal(min_of(OA, "gpt-4o-mini-2024-07-18"), 1024);
  assert_int_equal(min_of(OA, "ft:gpt-4o-mini-2024-07-18:acme::abc123"), 1024);
  assert_int_equal(min_of(AN, "Claude-Haiku-4-5"), 4096);
}

/* issue 15: the minimum was found by substring, so a name that merely
 * contains a known one ("my-gpt-4o-clone", a "pro" inside a Flash name, a
 * "haiku" inside anything) got another model's minimum without a word.  Now
 * the name is matched exactly or by the documented rules, and anything else
 * is TKN_ERR_NOT_FOUND naming it. */
static void min_cache_tokens_never_match_a_part_of_the_name(void **state) {
  (void)state;
  const int32_t OA = TKN_PROVIDER_OPENAI, AN = TKN_PROVIDER_ANTHROPIC, GE = TKN_PROVIDER_GEMINI;
  static const struct {
    int32_t provider;
    const char *model;
  } traps[] = {
      {OA, "my-gpt-4o-clone"},           /* contains gpt-4o */
      {OA, "gpt-3.5-turbo"},             /* does not cache at all */
      {AN, "my-claude-haiku-4-5"},       /* contains claude-haiku-4-5 (4096) */
      {AN, "claude-haiku-4-5-beta"},     /* not a dated snapshot */
      {AN, "haiku"},                     /* was 2048 through "haiku" */
      {AN, "claude-opus-4-5x"},          /* was 4096 through "opus-4-5" */
      {AN, "openai/claude-opus-4-5"},    /* another provider's prefix */
      {GE, "gemini-2.5-flash-prompter"}, /* was 4096 through "pro" */
      {GE, "gemini-2.5-pro-clone"},
      {OA, "ft:"},
      {AN, "claude-sonnet-4-5-2025"},    /* a short date is not a date */
  };
  for (size_t i = 0; i < sizeof traps / sizeof traps[0]; i++) {
    int64_t v = -7;
    int rc = tkn_prompt_min_cache_tokens(traps[i].provider, traps[i].model, TKN_NUL_TERMINATED, &v);
    if (rc != TKN_ERR_NOT_FOUND)
      fail_msg("%s: rc %d, value %lld", traps[i].model, rc, (long long)v);
    assert_int_equal(v, -7); /* unchanged */
    assert_int_equal(tkn_error_last()->status, TKN_ERR_NOT_FOUND);
    assert_non_null(strstr(tkn_error_last()->message, traps[i].model));
  }
  int64_t v = 0;
  assert_int_equal(tkn_prompt_min_cache_tokens(42, "gpt-4o", 6, &v), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_min_cache_tokens(AN, NULL, 0, &v), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_min_cache_tokens(AN, "", 0, &v), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_min_cache_tokens(AN, "claude-opus-4-5", 15, NULL), TKN_ERR_INVALID);
  /* the planner and the renderer refuse an unknown model rather than guess */
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = AN;
  o.model = "my-claude-haiku-4-5";
  o.model_len = TKN_NUL_TERMINATED;
  o.price_input = 3000000;
  tkn_cacheplan *c = NULL;
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_ERR_NOT_FOUND);
  assert_null(c);
  assert_non_null(strstr(tkn_error_last()->message, "my-claude-haiku-4-5"));
  o.min_cache_tokens = 2048; /* said by the host: no lookup */
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_OK);
  tkn_cacheplan_free(c);
}

/* tkn_prompt_min_cache_tokens_from: the price table's prompt_cache_min_tokens
 * where the table has it, the documented default otherwise; and the value
 * moves the Anthropic breakpoints and the planner's minimum. */
static void min_cache_tokens_come_from_the_price_table_where_known(void **state) {
  (void)state;
  const char *json =
      "{\"claude-test-5\": {\"litellm_provider\": \"anthropic\", \"input_cost_per_token\": 3e-06,"
      " \"output_cost_per_token\": 1.5e-05, \"prompt_cache_min_tokens\": 3000},"
      " \"claude-haiku-test\": {\"litellm_provider\": \"anthropic\","
      " \"input_cost_per_token\": 1e-06, \"output_cost_per_token\": 5e-06},"
      " \"gpt-test\": {\"litellm_provider\": \"openai\", \"input_cost_per_token\": 2e-06,"
      " \"output_cost_per_token\": 8e-06, \"prompt_cache_min_tokens\": 3000}}";
  tkn_prices *t = NULL;
  char err[256];
  assert_int_equal(tt_keep_err(tkn_prices_load(&t, json, strlen(json), NULL), err, sizeof err), TKN_OK);
  const uint32_t AN = TKN_PROVIDER_ANTHROPIC; /* the provider; render() takes the format */
  /* the table's value, also through the lookup rules (a dated snapshot) */
  int64_t v = 0;
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-test-5", 13, &v), TKN_OK);
  assert_int_equal(v, 3000);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-test-5-20260101", 22, &v),
                   TKN_OK);
  assert_int_equal(v, 3000);
  /* in the table without the field, or absent: the documented value for the
   * name, found by the same exact rules (no "haiku" substring) */
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-haiku-test", 17, &v),
                   TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-opus-4-5", 15, &v), TKN_OK);
  assert_int_equal(v, 4096);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-sonnet-4-5", 17, &v), TKN_OK);
  assert_int_equal(v, 1024);
  /* no table, no model, an unknown provider */
  assert_int_equal(tkn_prompt_min_cache_tokens_from(NULL, AN, "claude-test-5", 13, &v),
                   TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, NULL, 0, &v), TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, 42, "claude-test-5", 13, &v),
                   TKN_ERR_INVALID);
  /* the built-in table */
  tkn_prices *def = NULL;
  assert_int_equal(tkn_prices_new_default(&def), TKN_OK);
  assert_int_equal(tkn_prompt_min_cache_tokens_from(def, TKN_PROVIDER_OPENAI, "gpt-4o", 6, &v),
                   TKN_OK);
  assert_int_equal(v, 1024);
  tkn_prices_free(def);
  int64_t from_table = 0;
  assert_int_equal(tkn_prompt_min_cache_tokens_from(t, AN, "claude-test-5", 13, &from_table),
                   TKN_OK);

  /* breakpoints: ~2000 tokens of instructions reach 1024 but not 3000 */
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt *p = full_prompt(tok, conv, 8000);
  char *with_default = render(p, TKN_PROVIDER_ANTHROPIC, 0);
  assert_int_equal(count_substr(with_default, "\"cache_control\""), 2);
  char *with_table =
      render(p, TKN_PROVIDER_ANTHROPIC, from_table);
  assert_int_equal(count_substr(with_table, "\"cache_control\""), 0);
  tkn_free(with_default);
  tkn_free(with_table);
  /* the planner: the same prompt twice hits with the default, not with 3000 */
  for (int use_table = 0; use_table < 2; use_table++) {
    tkn_cacheplan_options po = TKN_CACHEPLAN_OPTIONS_INIT;
    po.price_input = 2000000;
    po.min_cache_tokens =
        use_table ? from_table : 0;
    tkn_cacheplan *c = NULL;
    assert_int_equal(tkn_cacheplan_new(&c, &po), TKN_OK);
    assert_int_equal(tkn_cacheplan_add_prompt(c, 0, p), TKN_OK);
    assert_int_equal(tkn_cacheplan_add_prompt(c, 1000, p), TKN_OK);
    tkn_cacheplan_result r = {.version = TKN_CACHEPLAN_RESULT_VERSION};
    assert_int_equal(tkn_cacheplan_result_get(c, &r), TKN_OK);
    if (use_table)
      assert_int_equal(r.cached_tokens, 0);
    else
      assert_true(r.cached_tokens > 0);
    tkn_cacheplan_free(c);
  }
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  tkn_prices_free(t);
}

static void render_reports_bad_requests(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 0);
  tkn_prompt *empty = assemble(b, tok);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  char *out = (void *)1, err[128] = "";
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_null(out);
  assert_non_null(strstr(err, "model"));
  o.model = "claude-sonnet-4-5"; /* a model with a documented minimum */
  o.model_len = TKN_NUL_TERMINATED;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_STATE);
  assert_non_null(strstr(err, "nothing to send"));
  o.provider = TKN_PROVIDER_ANTHROPIC;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "max_tokens"));
  o.max_tokens = 10;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_STATE);
  o.provider = 9;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_INVALID);
  o.provider = TKN_PROVIDER_OPENAI;
  o.max_breakpoints = 5;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_INVALID);
  o.max_breakpoints = 4;
  o.version = 3;
  assert_int_equal(tt_keep_err(tkn_prompt_render(empty, &o, &out, NULL), err, sizeof err), TKN_ERR_VERSION);
  assert_int_equal(tkn_prompt_render(NULL, &o, &out, NULL), TKN_ERR_INVALID);
  tkn_prompt_free(empty);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

/* Version 2 render options: 24h retention (OpenAI only), context edits
 * (Anthropic only, mode CLEAR), deferred tools; version 1 still accepted. */
static void render_retention_edits_and_deferred_tools(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 0);
  const char *t1 = "{\"name\":\"a\"}", *t2 = "{\"name\":\"b\",\"defer_loading\":true}";
  const char *bad = "{\"name\":\"c\",\"defer_loading\":1}";
  assert_int_equal(tkn_prompt_builder_add_tool(b, t1, strlen(t1), NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_tool(b, t2, strlen(t2), NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_tool(b, bad, strlen(bad), NULL), TKN_ERR_SCHEMA);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "Q");
  tkn_prompt *p = assemble(b, tok);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.model = "claude-sonnet-4-5"; /* a model with a documented minimum */
  o.model_len = TKN_NUL_TERMINATED;
  o.max_tokens = 10;
  o.cache_retention = TKN_CACHE_RETENTION_24H;
  char *out = NULL;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_OK);
  assert_non_null(strstr(out, "\"prompt_cache_retention\":\"24h\""));
  assert_non_null(strstr(out, "\"name\":\"a\""));
  assert_null(strstr(out, "\"name\":\"b\"")); /* deferred: left out for OpenAI */
  tkn_free(out);
  o.cache_retention = 2;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_ERR_INVALID);
  o.cache_retention = TKN_CACHE_RETENTION_24H;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_ERR_UNSUPPORTED);
  o.cache_retention = TKN_CACHE_RETENTION_DEFAULT;
  tkn_prune_options e = TKN_PRUNE_OPTIONS_INIT;
  e.mode = TKN_PRUNE_MASK;
  o.context_edits = &e;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_ERR_INVALID);
  e.mode = TKN_PRUNE_CLEAR;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_OK);
  assert_non_null(strstr(out, "\"context_management\":{\"edits\":[{\"type\":"
                              "\"clear_tool_uses_20250919\",\"trigger\":{\"type\":\"input_tokens\","
                              "\"value\":100000},\"keep\":{\"type\":\"tool_uses\",\"value\":3}}]}"));
  assert_non_null(strstr(out, "\"name\":\"b\""));
  assert_non_null(strstr(out, "\"defer_loading\":true"));
  assert_non_null(strstr(out, "\"type\":\"tool_search_tool_bm25_20251119\""));
  tkn_free(out);
  o.provider = TKN_PROVIDER_OPENAI;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_ERR_UNSUPPORTED);
  /* a version 1 struct: the fields after `reserved` are not read */
  tkn_render_options v1;
  memset(&v1, 0xab, sizeof v1);
  assert_int_equal(tkn_render_options_init(&v1, 1), TKN_OK);
  v1.model = "claude-sonnet-4-5";
  v1.model_len = TKN_NUL_TERMINATED; /* measured in a version 1 struct too */
  assert_int_equal(tkn_prompt_render(p, &v1, &out, NULL), TKN_OK);
  assert_null(strstr(out, "prompt_cache_retention"));
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

/* The same body as tkn_prompt_render, in the caller's buffer; a short buffer
 * gets TKN_ERR_TOO_SMALL with the length needed. */
static void render_into_fills_a_caller_buffer_or_says_how_big(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt *p = full_prompt(tok, conv, 8000);
  for (int f = 0; f < 2; f++) {
    tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
    o.provider = f ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
    o.model = "claude-sonnet-4-5";
    o.model_len = strlen(o.model);
    o.max_tokens = 512;
    o.cache_key = f ? NULL : "tenant-7";
    o.cache_key_len = f ? 0 : 8;
    char *ref = NULL, err[256] = "";
    size_t ref_len = 0, len = 7;
    assert_int_equal(tkn_prompt_render(p, &o, &ref, &ref_len), TKN_OK);
    if (f) assert_int_equal(count_substr(ref, "\"cache_control\""), 2);
    /* a sizing call */
    assert_int_equal(tt_keep_err(tkn_prompt_render_into(p, &o, NULL, 0, &len), err, sizeof err),
                     TKN_ERR_TOO_SMALL);
    assert_int_equal(len, ref_len);
    assert_non_null(strstr(err, "bytes"));
    char *buf = malloc(ref_len + 64);
    /* one byte short: no room for the NUL */
    len = 0;
    assert_int_equal(tkn_prompt_render_into(p, &o, buf, ref_len, &len), TKN_ERR_TOO_SMALL);
    assert_int_equal(len, ref_len);
    assert_int_equal(tkn_prompt_render_into(p, &o, buf, 10, &len), TKN_ERR_TOO_SMALL);
    assert_int_equal(len, ref_len);
    /* exactly enough, and more than enough: the same bytes, NUL-terminated */
    for (size_t extra = 1; extra <= 64; extra += 63) {
      memset(buf, 'x', ref_len + 64);
      len = 0;
      assert_int_equal(tkn_prompt_render_into(p, &o, buf, ref_len + extra, &len), TKN_OK);
      assert_int_equal(len, ref_len);
      assert_int_equal(buf[len], '\0');
      assert_memory_equal(buf, ref, ref_len);
    }
    free(buf);
    tkn_free(ref);
  }
  /* argument and content errors come before the size */
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.model = "claude-sonnet-4-5"; /* a model with a documented minimum */
  o.model_len = TKN_NUL_TERMINATED;
  char buf[16], err[256] = "";
  size_t len = 99;
  assert_int_equal(tkn_prompt_render_into(p, &o, buf, sizeof buf, NULL), TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_prompt_render_into(p, &o, NULL, 5, &len), err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(len, 0);
  assert_int_equal(tkn_prompt_render_into(NULL, &o, buf, sizeof buf, &len),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_prompt_render_into(p, NULL, buf, sizeof buf, &len),
                   TKN_ERR_INVALID);
  o.provider = TKN_PROVIDER_ANTHROPIC; /* without max_tokens */
  assert_int_equal(tt_keep_err(tkn_prompt_render_into(p, &o, NULL, 0, &len), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "max_tokens"));
  tkn_prompt_builder *b = make_builder(0, 0);
  tkn_prompt *empty = assemble(b, tok);
  o.provider = TKN_PROVIDER_OPENAI;
  assert_int_equal(tt_keep_err(tkn_prompt_render_into(empty, &o, NULL, 0, &len), err, sizeof err),
                   TKN_ERR_STATE);
  assert_non_null(strstr(err, "nothing to send"));
  tkn_prompt_free(empty);
  tkn_prompt_builder_free(b);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

/* A text that escapes to six times its length: tkn_prompt_render's size
 * estimate falls short and the body is rendered again into a larger buffer. */
static void render_grows_past_its_estimate(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_prompt_builder *b = make_builder(0, 0);
  char ctl[3001];
  memset(ctl, 1, 3000);
  ctl[3000] = '\0';
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "ctl", ctl);
  tkn_prompt *p = assemble(b, tok);
  char *out = render(p, TKN_PROVIDER_OPENAI, 0);
  assert_int_equal(count_substr(out, "\\u0001"), 3000);
  cJSON *j = parse(out);
  cJSON *part = cJSON_GetArrayItem(
      cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0), "content"), 0);
  assert_string_equal(cJSON_GetObjectItem(part, "text")->valuestring, ctl);
  cJSON_Delete(j);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
}

/* Two assembled prompts are the same: blocks, fingerprints, tokens,
 * segments, findings and both renderings. */
static void assert_same_prompt(const tkn_prompt *a, const tkn_prompt *b) {
  assert_int_equal(tkn_prompt_block_count(a), tkn_prompt_block_count(b));
  assert_int_equal(tkn_prompt_segment_count(a), tkn_prompt_segment_count(b));
  assert_true(tkn_prompt_fingerprint(a) == tkn_prompt_fingerprint(b));
  assert_true(tkn_prompt_version(a) == tkn_prompt_version(b));
  assert_int_equal(tkn_prompt_tokens(a), tkn_prompt_tokens(b));
  for (size_t i = 0; i < tkn_prompt_block_count(a); i++) {
    uint32_t sa, sb;
    int64_t ta, tb;
    uint64_t fa, fb;
    assert_int_equal(tkn_prompt_block(a, i, &sa, &ta, &fa), TKN_OK);
    assert_int_equal(tkn_prompt_block(b, i, &sb, &tb, &fb), TKN_OK);
    assert_true(sa == sb && ta == tb && fa == fb);
  }
  for (size_t i = 0; i < tkn_prompt_segment_count(a); i++) {
    tkn_prompt_segment_info x = {.version = TKN_PROMPT_SEGMENT_INFO_VERSION};
    tkn_prompt_segment_info y = {.version = TKN_PROMPT_SEGMENT_INFO_VERSION};
    assert_int_equal(tkn_prompt_segment(a, i, &x), TKN_OK);
    assert_int_equal(tkn_prompt_segment(b, i, &y), TKN_OK);
    assert_string_equal(x.name, y.name);
    assert_true(x.kind == y.kind && x.stability == y.stability && x.ttl == y.ttl &&
                x.bytes == y.bytes && x.content_hash == y.content_hash);
  }
  assert_int_equal(tkn_prompt_finding_count(a), tkn_prompt_finding_count(b));
  for (size_t i = 0; i < tkn_prompt_finding_count(a); i++) {
    tkn_prompt_finding x = {.version = TKN_PROMPT_FINDING_VERSION};
    tkn_prompt_finding y = {.version = TKN_PROMPT_FINDING_VERSION};
    assert_int_equal(tkn_prompt_finding_get(a, i, &x), TKN_OK);
    assert_int_equal(tkn_prompt_finding_get(b, i, &y), TKN_OK);
    assert_memory_equal(&x, &y, sizeof x);
  }
  if (!tkn_prompt_block_count(a)) return;
  for (int f = 0; f < 2; f++) {
    char *ra = render(a, f ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI, 1);
    char *rb = render(b, f ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI, 1);
    assert_string_equal(ra, rb);
    tkn_free(ra);
    tkn_free(rb);
  }
}

/* Assembling into an earlier prompt gives what a fresh assembly gives, when
 * the new prompt is larger, smaller or from another builder; a failure frees
 * the prompt; nothing leaks. */
static void assemble_into_reuses_an_earlier_prompt(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI, k_history);
  tkn_prompt_builder *b = make_builder(0, 0);
  add_tool(b, "{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}");
  add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", "Be brief. Today is 2026-11-28.");
  tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "And tomorrow?");
  tkn_prompt *p = NULL;
  assert_int_equal(tkn_prompt_assemble_into(&p, b, tok), TKN_OK); /* from NULL */
  assert_non_null(p);
  tkn_prompt *fresh = assemble(b, tok);
  assert_same_prompt(p, fresh);
  assert_int_equal(tkn_prompt_finding_count(p), 1); /* the date */
  tkn_prompt_free(fresh);
  /* larger: more tools, a long reference, a longer conversation */
  const tkn_prompt *before = p;
  add_tool(b, "{\"name\":\"refund\",\"description\":\"Refund\","
              "\"parameters\":{\"type\":\"object\"}}");
  char *ref = instructions(20000);
  add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_SESSION, "docs", ref);
  free(ref);
  assert_int_equal(tkn_conv_append_text(conv, TKN_ROLE_USER, "More?", 5), TKN_OK);
  assert_int_equal(tkn_prompt_assemble_into(&p, b, tok), TKN_OK);
  assert_ptr_equal(p, before); /* the same handle, its memory reused or grown */
  fresh = assemble(b, tok);
  assert_same_prompt(p, fresh);
  tkn_prompt_free(fresh);
  /* smaller, from another builder, with more findings than before */
  tkn_prompt_builder *small = make_builder(0, 0);
  add_text(small, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "s", "At 10:00 on 2026-11-28, turn 7.");
  add_text(small, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "q", "Q?");
  assert_int_equal(tkn_prompt_assemble_into(&p, small, tok), TKN_OK);
  fresh = assemble(small, tok);
  assert_same_prompt(p, fresh);
  assert_true(tkn_prompt_finding_count(p) >= 3);
  tkn_prompt_free(fresh);
  /* empty */
  tkn_prompt_builder_clear(small);
  assert_int_equal(tkn_prompt_assemble_into(&p, small, tok), TKN_OK);
  assert_int_equal(tkn_prompt_segment_count(p), 0);
  assert_int_equal(tkn_prompt_fingerprint(p), 0);
  /* and back to the large one */
  assert_int_equal(tkn_prompt_assemble_into(&p, b, tok), TKN_OK);
  fresh = assemble(b, tok);
  assert_same_prompt(p, fresh);
  tkn_prompt_free(fresh);
  /* a failure frees the prompt and says why */
  tkn_prompt_builder *strict = make_builder(1, 0);
  add_text(strict, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "s", "Today is 2026-11-28.");
  assert_int_equal(tkn_prompt_assemble_into(&p, strict, tok), TKN_ERR_SCHEMA);
  assert_null(p);
  assert_non_null(strstr(tkn_error_last()->message, "date"));
  assert_int_equal(tkn_prompt_assemble_into(&p, b, tok), TKN_OK);
  assert_int_equal(tkn_prompt_assemble_into(&p, b, NULL), TKN_ERR_INVALID);
  assert_null(p);
  assert_int_equal(tkn_prompt_assemble_into(&p, b, tok), TKN_OK);
  assert_int_equal(tkn_prompt_assemble_into(&p, NULL, tok), TKN_ERR_INVALID);
  assert_null(p);
  assert_int_equal(tkn_prompt_assemble_into(NULL, b, tok), TKN_ERR_INVALID);
  tkn_prompt_builder_free(strict);
  tkn_prompt_builder_free(small);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  long live = tt_alloc.live;
  tt_alloc_restore();
  assert_int_equal(live, 0);
}

static void anthropic_refuses_a_system_message_mid_conversation(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv =
      tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"system\","
                                   "\"content\":\"late\"}]");
  tkn_prompt *p = full_prompt(tok, conv, 100);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = "claude-sonnet-4-5";
  o.model_len = strlen(o.model);
  o.max_tokens = 5;
  char *out = NULL, err[256];
  assert_int_equal(tt_keep_err(tkn_prompt_render(p, &o, &out, NULL), err, sizeof err), TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "history message 1"));
  o.provider = TKN_PROVIDER_OPENAI;
  assert_int_equal(tt_keep_err(tkn_prompt_render(p, &o, &out, NULL), err, sizeof err), TKN_OK);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void history_messages_are_canonical_openai_json(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv =
      tt_conv(TKN_PROVIDER_OPENAI,
              "[{\"content\":\"hi \\\"there\\\"\",\"name\":\"bob\",\"role\":\"user\"}]");
  tkn_prompt_builder *b = make_builder(0, 0);
  tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
  tkn_prompt *p = assemble(b, tok);
  const char *want = "{\"content\":\"hi \\\"there\\\"\",\"name\":\"bob\",\"role\":\"user\"}";
  uint64_t fp;
  int64_t tokens;
  assert_int_equal(tkn_prompt_block(p, 0, NULL, &tokens, &fp), TKN_OK);
  assert_true(fp == tki_hash64(want, strlen(want), 0));
  /* role "user" (1) + text (3) + name (1) + per-message 3 + per-name 1 */
  assert_int_equal(tokens, 1 + 3 + 1 + 3 + 1);
  tkn_prompt_free(p);
  /* removing the history drops the segment */
  tkn_prompt_builder_set_history(b, NULL, TKN_STABILITY_SESSION, NULL);
  p = assemble(b, tok);
  assert_int_equal(tkn_prompt_segment_count(p), 0);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void images_in_the_history_are_rendered_for_both_providers(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv =
      tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":"
                                   "\"look\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
                                   "\"https://example.com/a.png\"}}]}]");
  tkn_prompt *p = full_prompt(tok, conv, 100);
  char *oa = render(p, TKN_PROVIDER_OPENAI, 0);
  assert_non_null(strstr(oa, "{\"image_url\":{\"url\":\"https://example.com/a.png\"},\"type\":"
                             "\"image_url\"}"));
  char *an = render(p, TKN_PROVIDER_ANTHROPIC, 1);
  cJSON *j = parse(an);
  cJSON *content = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "messages"), 0),
                                       "content");
  assert_int_equal(cJSON_GetArraySize(content), 2);
  cJSON *img = cJSON_GetArrayItem(content, 1);
  assert_string_equal(cJSON_GetObjectItem(img, "type")->valuestring, "image");
  /* the history's end is a breakpoint: it sits on the image block */
  assert_non_null(cJSON_GetObjectItem(img, "cache_control"));
  cJSON_Delete(j);
  tkn_free(oa);
  tkn_free(an);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void anthropic_refuses_tool_arguments_that_are_not_an_object(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = tt_conv(TKN_PROVIDER_OPENAI,
                           "[{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{\"id\":"
                           "\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
                           "\"arguments\":\"not json\"}}]}]");
  tkn_prompt *p = full_prompt(tok, conv, 100);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = "claude-sonnet-4-5";
  o.model_len = strlen(o.model);
  o.max_tokens = 5;
  char *out = NULL, err[256];
  assert_int_equal(tt_keep_err(tkn_prompt_render(p, &o, &out, NULL), err, sizeof err), TKN_ERR_SCHEMA); /* as tkn_conv_to_json */
  assert_non_null(strstr(err, "history message 0: the arguments of tool call 0"));
  /* OpenAI sends arguments as text: fine */
  char *oa = render(p, TKN_PROVIDER_OPENAI, 0);
  assert_non_null(strstr(oa, "\"arguments\":\"not json\""));
  tkn_free(oa);
  tkn_prompt_free(p);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}


/* ---- the cache planner ---- */

static tkn_cacheplan *make_plan(uint32_t provider) {
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  o.provider = provider;
  o.price_input = 3000000; /* $3.00 per million tokens */
  tkn_cacheplan *c = NULL;
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_OK);
  return c;
}

static tkn_cacheplan_result result(tkn_cacheplan *c) {
  tkn_cacheplan_result r;
  memset(&r, 0, sizeof r);
  r.version = TKN_CACHEPLAN_RESULT_VERSION;
  assert_int_equal(tkn_cacheplan_result_get(c, &r), TKN_OK);
  return r;
}

/* The seed case: a system prompt carrying the current time. */
static tkn_prompt *seed_prompt(tkn_tokenizer *tok, int static_first, int minute) {
  char now[64];
  snprintf(now, sizeof now, "Current time: 2026-11-28T14:%02d:00Z.\n", minute);
  char *rules = instructions(9000);
  tkn_prompt_builder *b = make_builder(0, 0);
  if (static_first) {
    add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", rules);
    add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "now", now);
  } else {
    size_t n = strlen(now) + strlen(rules);
    char *sys = malloc(n + 1);
    snprintf(sys, n + 1, "%s%s", now, rules);
    add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", sys);
    free(sys);
  }
  add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", "Where is my order?");
  free(rules);
  tkn_prompt *p = assemble(b, tok);
  tkn_prompt_builder_free(b);
  return p;
}

static void run_seed(uint32_t provider, int static_first, tkn_cacheplan_result *r, char **advice) {
  tkn_tokenizer *tok = make_tok();
  tkn_cacheplan *c = make_plan(provider);
  for (int i = 0; i < 30; i++) {
    tkn_prompt *p = seed_prompt(tok, static_first, i);
    if (i == 0) {
      /* the linter flags the timestamp exactly when it sits in the static segment */
      assert_int_equal(tkn_prompt_finding_count(p), static_first ? 0 : 1);
    }
    assert_int_equal(tkn_cacheplan_add_prompt(c, (int64_t)i * 60000, p), TKN_OK);
    tkn_prompt_free(p);
  }
  *r = result(c);
  assert_int_equal(tkn_cacheplan_advice(c, advice, NULL), TKN_OK);
  tkn_cacheplan_free(c);
  tkn_tokenizer_free(tok);
}

static void seed_case_timestamp_in_system_prompt_never_hits(void **state) {
  (void)state;
  uint32_t providers[2] = {TKN_PROVIDER_OPENAI, TKN_PROVIDER_ANTHROPIC};
  for (int k = 0; k < 2; k++) {
    tkn_cacheplan_result r;
    char *advice = NULL;
    run_seed(providers[k], 0, &r, &advice);
    assert_int_equal(r.requests, 30);
    assert_true(r.hit_rate_ppm < 10000); /* under 1% */
    assert_int_equal(r.prefix_changes, 29);
    assert_true(r.cost_with >= r.cost_without);
    assert_non_null(strstr(advice, "static prefix changed in 96.6% of requests: segment `system` "
                                   "holds a timestamp"));
    tkn_free(advice);
  }
}

static void seed_case_static_first_hits_at_least_90_percent(void **state) {
  (void)state;
  uint32_t providers[2] = {TKN_PROVIDER_OPENAI, TKN_PROVIDER_ANTHROPIC};
  for (int k = 0; k < 2; k++) {
    tkn_cacheplan_result r;
    char *advice = NULL;
    run_seed(providers[k], 1, &r, &advice);
    if (r.hit_rate_ppm < 900000) fprintf(stderr, "%s", advice);
    assert_true(r.hit_rate_ppm >= 900000);
    assert_int_equal(r.prefix_changes, 0);
    assert_true(r.cost_with < r.cost_without);
    assert_null(strstr(advice, "changed"));
    assert_non_null(strstr(advice, "token-weighted hit rate"));
    tkn_free(advice);
  }
}

static tkn_cacheplan_block blk(uint64_t fp, int64_t tokens, uint32_t flags) {
  tkn_cacheplan_block b = {fp, tokens, flags, 0};
  return b;
}

static void openai_hits_in_128_token_steps_and_expire_when_idle(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_OPENAI);
  tkn_cacheplan_block b[2] = {blk(11, 1500, TKN_CACHEPLAN_STATIC_END), blk(12, 100, 0)};
  assert_int_equal(tkn_cacheplan_add_blocks(c, 0, b, 2), TKN_OK);
  b[1] = blk(13, 100, 0);
  assert_int_equal(tkn_cacheplan_add_blocks(c, 1000, b, 2), TKN_OK);
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.cached_tokens, 1408); /* 1500 rounded down to 128s */
  assert_int_equal(r.input_tokens, 3200);
  /* cached at half price by default */
  assert_int_equal(r.cost_without, 3200LL * 3000000);
  assert_int_equal(r.cost_with, 1408LL * 1500000 + (3200LL - 1408) * 3000000);
  /* after more than the idle expiry (10 min) it misses */
  assert_int_equal(tkn_cacheplan_add_blocks(c, 1000 + 600001, b, 2), TKN_OK);
  r = result(c);
  assert_int_equal(r.cached_tokens, 1408);
  assert_int_equal(r.expired, 1);
  tkn_cacheplan_free(c);
}

static void openai_ignores_prefixes_below_the_minimum(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_OPENAI);
  tkn_cacheplan_block b[1] = {blk(5, 1000, TKN_CACHEPLAN_STATIC_END)};
  for (int i = 0; i < 5; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i, b, 1), TKN_OK);
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.cached_tokens, 0);
  char *advice = NULL;
  assert_int_equal(tkn_cacheplan_advice(c, &advice, NULL), TKN_OK);
  assert_non_null(strstr(advice, "below the minimum cacheable length of 1024 tokens"));
  tkn_free(advice);
  tkn_cacheplan_free(c);
}

static void anthropic_bills_writes_and_reads_at_their_multipliers(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_ANTHROPIC);
  tkn_cacheplan_block b[3] = {blk(1, 2000, TKN_CACHEPLAN_BREAKPOINT | TKN_CACHEPLAN_TTL_1H),
                              blk(2, 1000, TKN_CACHEPLAN_BREAKPOINT), blk(3, 50, 0)};
  assert_int_equal(tkn_cacheplan_add_blocks(c, 0, b, 3), TKN_OK);
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.cached_tokens, 0);
  assert_int_equal(r.written_tokens, 3000);
  /* 2000 at 2x (1h), 1000 at 1.25x (5m), 50 at 1x */
  assert_int_equal(r.cost_with, 2000LL * 6000000 + 1000LL * 3750000 + 50LL * 3000000);
  b[2] = blk(4, 50, 0);
  assert_int_equal(tkn_cacheplan_add_blocks(c, 60000, b, 3), TKN_OK);
  r = result(c);
  assert_int_equal(r.cached_tokens, 3000);
  assert_int_equal(r.cost_with, 2000LL * 6000000 + 1000LL * 3750000 + 50LL * 3000000 +
                                    3000LL * 300000 + 50LL * 3000000);
  assert_int_equal(r.hit_rate_ppm, (int64_t)(3000LL * 1000000 / 6100));
  tkn_cacheplan_free(c);
}

static void anthropic_ttl_is_refreshed_by_each_hit(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_ANTHROPIC);
  tkn_cacheplan_block b[2] = {blk(1, 2000, TKN_CACHEPLAN_BREAKPOINT), blk(2, 10, 0)};
  /* every 4 minutes for 40 minutes: always within 5 minutes of the last hit */
  for (int i = 0; i <= 10; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i * 240000LL, b, 2), TKN_OK);
  assert_int_equal(result(c).cached_tokens, 10 * 2000);
  tkn_cacheplan_free(c);
  /* every 6 minutes: each request finds the entry expired */
  c = make_plan(TKN_PROVIDER_ANTHROPIC);
  for (int i = 0; i <= 10; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i * 360000LL, b, 2), TKN_OK);
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.cached_tokens, 0);
  assert_int_equal(r.expired, 10);
  char *advice = NULL;
  assert_int_equal(tkn_cacheplan_advice(c, &advice, NULL), TKN_OK);
  assert_non_null(strstr(advice, "1-hour TTL"));
  assert_non_null(strstr(advice, "its writes at $"));
  tkn_free(advice);
  tkn_cacheplan_free(c);
  /* OpenAI, every 15 minutes: past its idle expiry; the advice names 24h retention */
  c = make_plan(TKN_PROVIDER_OPENAI);
  for (int i = 0; i <= 10; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i * 900000LL, b, 2), TKN_OK);
  assert_int_equal(result(c).cached_tokens, 0);
  assert_int_equal(tkn_cacheplan_advice(c, &advice, NULL), TKN_OK);
  assert_non_null(strstr(advice, "prompt_cache_retention \"24h\""));
  tkn_free(advice);
  tkn_cacheplan_free(c);
  /* the same stream with a 1-hour breakpoint hits */
  c = make_plan(TKN_PROVIDER_ANTHROPIC);
  b[0].flags |= TKN_CACHEPLAN_TTL_1H;
  for (int i = 0; i <= 10; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i * 360000LL, b, 2), TKN_OK);
  assert_int_equal(result(c).cached_tokens, 10 * 2000);
  tkn_cacheplan_free(c);
}

static void gemini_explicit_cache_pays_for_itself_with_enough_requests(void **state) {
  (void)state;
  tkn_cacheplan_block b[2] = {blk(1, 100000, TKN_CACHEPLAN_STATIC_END), blk(2, 100, 0)};
  /* input $3, read 25% ($0.75), storage $1 per million tokens per hour: n requests per
   * hour save when n * (3 - 0.75) > 3 + 1, i.e. from 2 requests */
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_GEMINI);
  assert_int_equal(tkn_cacheplan_add_blocks(c, 0, b, 2), TKN_OK);
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.breakeven_requests, 2);
  assert_int_equal(r.cached_tokens, 0); /* creating the cache is no hit */
  /* one request: created (1x) + read (0.25x) + an hour of storage ($1/M) */
  assert_int_equal(r.storage_cost, 100000LL * 1000000);
  assert_int_equal(r.cost_with, 100000LL * 3000000 + 100000LL * 750000 + 100LL * 3000000 +
                                    100000LL * 1000000);
  assert_true(r.cost_with > r.cost_without);
  char *advice = NULL;
  assert_int_equal(tkn_cacheplan_advice(c, &advice, NULL), TKN_OK);
  assert_non_null(strstr(advice, "pays for itself from 2 requests per cache"));
  assert_non_null(strstr(advice, "more than not caching"));
  tkn_free(advice);
  /* ten requests within the hour: it saves */
  for (int i = 1; i < 10; i++) assert_int_equal(tkn_cacheplan_add_blocks(c, i * 60000LL, b, 2), TKN_OK);
  r = result(c);
  assert_true(r.cost_with < r.cost_without);
  assert_int_equal(r.cached_tokens, 9 * 100000LL); /* the first request created it */
  assert_int_equal(r.written_tokens, 100000);
  tkn_cacheplan_free(c);
}

static void gemini_cache_is_replaced_when_the_prefix_changes(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_GEMINI);
  tkn_cacheplan_block b[1] = {blk(1, 10000, TKN_CACHEPLAN_STATIC_END)};
  assert_int_equal(tkn_cacheplan_add_blocks(c, 0, b, 1), TKN_OK);
  b[0].fingerprint = 2;
  assert_int_equal(tkn_cacheplan_add_blocks(c, 1800000, b, 1), TKN_OK); /* half an hour later */
  tkn_cacheplan_result r = result(c);
  assert_int_equal(r.written_tokens, 20000);
  assert_int_equal(r.prefix_changes, 1);
  /* the first cache is billed for half an hour, the live one for its full hour */
  assert_int_equal(r.storage_cost, 10000LL * 1000000 / 2 + 10000LL * 1000000);
  tkn_cacheplan_free(c);
}

static void hit_rate_is_weighted_by_tokens(void **state) {
  (void)state;
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_ANTHROPIC);
  tkn_cacheplan_block big[2] = {blk(1, 9000, TKN_CACHEPLAN_BREAKPOINT), blk(2, 1000, 0)};
  tkn_cacheplan_block small[1] = {blk(7, 100, 0)};
  assert_int_equal(tkn_cacheplan_add_blocks(c, 0, big, 2), TKN_OK);
  assert_int_equal(tkn_cacheplan_add_blocks(c, 1, big, 2), TKN_OK);   /* 90% hit */
  assert_int_equal(tkn_cacheplan_add_blocks(c, 2, small, 1), TKN_OK); /* 0% hit */
  tkn_cacheplan_result r = result(c);
  /* 9000 of 20100 tokens, not the mean of 0%, 90% and 0% */
  assert_int_equal(r.hit_rate_ppm, 9000LL * 1000000 / 20100);
  tkn_cacheplan_free(c);
}

static void planner_rejects_bad_input_and_stays_unchanged(void **state) {
  (void)state;
  tkn_cacheplan_options o = TKN_CACHEPLAN_OPTIONS_INIT;
  tkn_cacheplan *c = NULL;
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_ERR_INVALID); /* no price */
  o.price_input = 1;
  o.provider = 7;
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_ERR_INVALID);
  o.provider = TKN_PROVIDER_OPENAI;
  o.version = 9;
  assert_int_equal(tkn_cacheplan_new(&c, &o), TKN_ERR_VERSION);
  assert_int_equal(tkn_cacheplan_new(&c, NULL), TKN_ERR_INVALID);
  c = make_plan(TKN_PROVIDER_ANTHROPIC);
  tkn_cacheplan_block b[5] = {blk(1, 2000, 1), blk(2, 10, 1), blk(3, 10, 1), blk(4, 10, 1),
                              blk(5, 10, 1)};
  assert_int_equal(tkn_cacheplan_add_blocks(c, 100, b, 2), TKN_OK);
  tkn_cacheplan_result before = result(c);
  assert_int_equal(tkn_cacheplan_add_blocks(c, 50, b, 2), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "before the previous one"));
  assert_int_equal(tkn_cacheplan_add_blocks(c, 200, b, 5), TKN_ERR_INVALID); /* 5 breakpoints */
  b[1].tokens = -1;
  assert_int_equal(tkn_cacheplan_add_blocks(c, 200, b, 2), TKN_ERR_INVALID);
  b[1].tokens = INT64_MAX;
  assert_int_equal(tkn_cacheplan_add_blocks(c, 200, b, 2), TKN_ERR_OVERFLOW);
  b[0].tokens = 1;
  b[1].tokens = INT64_MAX / 2;
  assert_int_equal(tkn_cacheplan_add_blocks(c, 200, b, 2), TKN_ERR_OVERFLOW); /* cost overflows */
  assert_int_equal(tkn_cacheplan_add_blocks(c, 200, NULL, 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_cacheplan_add_prompt(c, 200, NULL), TKN_ERR_INVALID);
  tkn_cacheplan_result after = result(c);
  assert_memory_equal(&before, &after, sizeof before);
  tkn_cacheplan_result bad;
  bad.version = 5;
  assert_int_equal(tkn_cacheplan_result_get(c, &bad), TKN_ERR_VERSION);
  tkn_cacheplan_free(c);
}

static void anthropic_reads_the_previous_turn_as_the_conversation_grows(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_conv *conv = NULL;
  assert_int_equal(tkn_conv_new(&conv), TKN_OK);
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_ANTHROPIC);
  char *turn = instructions(2000); /* 500 tokens a message */
  int64_t prev_tokens = 0, reads = 0;
  for (int t = 0; t < 10; t++) {
    assert_int_equal(tkn_conv_append_text(conv, TKN_ROLE_USER, turn, strlen(turn)), TKN_OK);
    tkn_prompt *p = full_prompt(tok, conv, 8000);
    assert_int_equal(tkn_cacheplan_add_prompt(c, t * 30000LL, p), TKN_OK);
    tkn_cacheplan_result r = result(c);
    if (t > 0) {
      /* everything up to the end of the previous turn's history is read */
      assert_int_equal(r.cached_tokens - reads, prev_tokens);
    }
    reads = r.cached_tokens;
    /* this turn's prefix through the history, for the next turn */
    uint32_t blocks[4], ttls[4];
    size_t n = 0;
    assert_int_equal(tkn_prompt_breakpoints(p, 1024, 4, blocks, ttls, 4, &n), TKN_OK);
    prev_tokens = 0;
    for (uint32_t k = 0; k <= blocks[n - 1]; k++) {
      int64_t bt;
      tkn_prompt_block(p, k, NULL, &bt, NULL);
      prev_tokens += bt;
    }
    tkn_prompt_free(p);
    assert_int_equal(tkn_conv_append_text(conv, TKN_ROLE_ASSISTANT, "Noted.", 6), TKN_OK);
  }
  free(turn);
  tkn_cacheplan_free(c);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void advice_names_a_volatile_segment_before_stable_ones(void **state) {
  (void)state;
  tkn_tokenizer *tok = make_tok();
  tkn_cacheplan *c = make_plan(TKN_PROVIDER_OPENAI);
  for (int i = 0; i < 3; i++) {
    tkn_prompt_builder *b = make_builder(0, 0);
    char *sys = instructions(8000);
    add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", sys);
    free(sys);
    char doc[32];
    snprintf(doc, sizeof doc, "doc %d", i);
    add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_VOLATILE, "retrieved", doc);
    add_text(b, TKN_SEG_REFERENCE, TKN_STABILITY_STATIC, "manual", "The manual.");
    tkn_prompt *p = assemble(b, tok);
    assert_int_equal(tkn_cacheplan_add_prompt(c, i, p), TKN_OK);
    tkn_prompt_free(p);
    tkn_prompt_builder_free(b);
  }
  char *advice = NULL;
  size_t len = 0;
  assert_int_equal(tkn_cacheplan_advice(c, &advice, &len), TKN_OK);
  assert_int_equal(strlen(advice), len);
  assert_non_null(strstr(advice, "segment `retrieved` is volatile but sits before the static "
                                 "segment `manual`"));
  tkn_free(advice);
  assert_int_equal(tkn_cacheplan_advice(c, NULL, NULL), TKN_ERR_INVALID);
  tkn_cacheplan_free(c);
  tkn_tokenizer_free(tok);
}

/* ---- out of memory ---- */

static int oom_scenario(void) {
  tkn_tokenizer *tok = NULL;
  tkn_conv *conv = NULL;
  tkn_prompt_builder *b = NULL;
  tkn_prompt *p = NULL;
  tkn_cacheplan *c = NULL;
  char *out = NULL, *advice = NULL;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  int rc = tkn_tokenizer_new_callback(&tok, &cb, NULL);
  if (!rc) rc = tkn_conv_from_json(&conv, TKN_PROVIDER_OPENAI, k_history, strlen(k_history));
  if (!rc) rc = tkn_prompt_builder_new(&b, NULL);
  const char *tool = "{\"name\":\"get_weather\",\"parameters\":{\"type\":\"object\"}}";
  if (!rc) rc = tkn_prompt_builder_add_tool(b, tool, strlen(tool), NULL);
  if (!rc) rc = tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, 0, "system", 6, "Be brief at 10:00.", 18, NULL);
  if (!rc) rc = tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL);
  if (!rc) rc = tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, 2, "q", 1, "Q?", 2, NULL);
  if (!rc) rc = tkn_prompt_assemble(&p, b, tok);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.model = "claude-sonnet-4-5"; /* a model with a documented minimum */
  o.model_len = TKN_NUL_TERMINATED;
  o.max_tokens = 5;
  o.min_cache_tokens = 1;
  if (!rc) rc = tkn_prompt_render(p, &o, &out, NULL);
  tkn_free(out);
  out = NULL;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  if (!rc) rc = tkn_prompt_render(p, &o, &out, NULL);
  tkn_free(out);
  out = NULL;
  /* reassembly into the same prompt, grown by a text that escapes to six
   * times its length (the renderer's estimate falls short), then into a
   * buffer of the caller's */
  char ctl[600];
  memset(ctl, 1, sizeof ctl);
  if (!rc) rc = tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, 2, "ctl", 3, ctl, sizeof ctl, NULL);
  if (!rc) rc = tkn_prompt_assemble_into(&p, b, tok);
  if (!rc) rc = tkn_prompt_render(p, &o, &out, NULL);
  size_t need = 0;
  if (!rc) rc = tkn_prompt_render_into(p, &o, NULL, 0, &need);
  if (rc == TKN_ERR_TOO_SMALL) {
    char *buf = malloc(need + 1);
    size_t len = 0;
    rc = tkn_prompt_render_into(p, &o, buf, need + 1, &len);
    if (!rc && (len != need || strcmp(buf, out) != 0)) rc = TKN_ERR_STATE;
    free(buf);
  } else if (!rc) {
    rc = TKN_ERR_STATE; /* a sizing call must say TOO_SMALL */
  }
  tkn_cacheplan_options po = TKN_CACHEPLAN_OPTIONS_INIT;
  po.provider = TKN_PROVIDER_ANTHROPIC;
  po.price_input = 1000;
  po.min_cache_tokens = 1;
  if (!rc) rc = tkn_cacheplan_new(&c, &po);
  for (int i = 0; i < 3 && !rc; i++) rc = tkn_cacheplan_add_prompt(c, i, p);
  if (!rc) rc = tkn_cacheplan_advice(c, &advice, NULL);
  tkn_free(advice);
  tkn_free(out);
  tkn_cacheplan_free(c);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  return rc;
}

static void out_of_memory_fails_cleanly_everywhere(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    int rc = oom_scenario();
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    assert_int_equal(live, 0);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
    assert_int_not_equal(rc, TKN_OK);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(builder_rejects_bad_options),
      cmocka_unit_test(names_of_kinds_are_static),
      cmocka_unit_test(lint_finds_iso_dates_and_timestamps),
      cmocka_unit_test(lint_finds_written_and_numeric_dates),
      cmocka_unit_test(lint_finds_times),
      cmocka_unit_test(lint_finds_ids),
      cmocka_unit_test(lint_finds_request_counters),
      cmocka_unit_test(lint_leaves_ordinary_instructions_alone),
      cmocka_unit_test(lint_mask_selects_detectors),
      cmocka_unit_test(lint_rejects_bad_input),
      cmocka_unit_test(fast_json_strings_match_the_core_writer),
      cmocka_unit_test(add_text_rejects_bad_segments),
      cmocka_unit_test(tools_in_any_form_serialise_identically),
      cmocka_unit_test(add_tool_reports_bad_definitions),
      cmocka_unit_test(assembly_puts_segments_in_prefix_order),
      cmocka_unit_test(assembly_reports_volatile_before_stable),
      cmocka_unit_test(assembly_lints_only_static_segments),
      cmocka_unit_test(strict_mode_refuses_volatile_static_content),
      cmocka_unit_test(assemble_reports_tokenizer_failure),
      cmocka_unit_test(fingerprints_chain_xxh64_over_blocks),
      cmocka_unit_test(diff_names_the_changed_segment),
      cmocka_unit_test(openai_rendering_has_the_documented_shape),
      cmocka_unit_test(anthropic_rendering_converts_the_history),
      cmocka_unit_test(anthropic_breakpoints_end_the_longest_stable_prefixes),
      cmocka_unit_test(breakpoints_skip_prefixes_after_volatile_content),
      cmocka_unit_test(min_cache_tokens_follow_the_docs),
      cmocka_unit_test(min_cache_tokens_never_match_a_part_of_the_name),
      cmocka_unit_test(min_cache_tokens_come_from_the_price_table_where_known),
      cmocka_unit_test(render_reports_bad_requests),
      cmocka_unit_test(render_retention_edits_and_deferred_tools),
      cmocka_unit_test(render_into_fills_a_caller_buffer_or_says_how_big),
      cmocka_unit_test(render_grows_past_its_estimate),
      cmocka_unit_test(assemble_into_reuses_an_earlier_prompt),
      cmocka_unit_test(anthropic_refuses_a_system_message_mid_conversation),
      cmocka_unit_test(history_messages_are_canonical_openai_json),
      cmocka_unit_test(images_in_the_history_are_rendered_for_both_providers),
      cmocka_unit_test(anthropic_refuses_tool_arguments_that_are_not_an_object),
      cmocka_unit_test(seed_case_timestamp_in_system_prompt_never_hits),
      cmocka_unit_test(seed_case_static_first_hits_at_least_90_percent),
      cmocka_unit_test(openai_hits_in_128_token_steps_and_expire_when_idle),
      cmocka_unit_test(openai_ignores_prefixes_below_the_minimum),
      cmocka_unit_test(anthropic_bills_writes_and_reads_at_their_multipliers),
      cmocka_unit_test(anthropic_ttl_is_refreshed_by_each_hit),
      cmocka_unit_test(gemini_explicit_cache_pays_for_itself_with_enough_requests),
      cmocka_unit_test(gemini_cache_is_replaced_when_the_prefix_changes),
      cmocka_unit_test(hit_rate_is_weighted_by_tokens),
      cmocka_unit_test(planner_rejects_bad_input_and_stays_unchanged),
      cmocka_unit_test(anthropic_reads_the_previous_turn_as_the_conversation_grows),
      cmocka_unit_test(advice_names_a_volatile_segment_before_stable_ones),
      cmocka_unit_test(out_of_memory_fails_cleanly_everywhere),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
