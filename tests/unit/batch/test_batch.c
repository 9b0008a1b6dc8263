/* Batch files: the request writer (lines, checks, splitting, sink) and the
 * result reader (chunked lines, join, dead letters, bad input, OOM). */
#include <cjson/cJSON.h>

#include "test_util.h"


/* ---- a sink that keeps every file in memory ---- */

typedef struct sink {
  char *files[16];
  size_t lens[16];
  uint64_t end_requests[16], end_bytes[16];
  int begun, ended;
  int fail_write_at; /* fail the Nth write (1-based); 0 never */
  int writes;
  int fail_begin;
} sink;

static int s_begin(uint32_t index, void *user) {
  sink *s = user;
  if (s->fail_begin) return -1;
  assert_int_equal(index, s->begun);
  assert_int_equal(s->begun, s->ended); /* the previous file was ended */
  s->files[s->begun] = calloc(1, 1);
  s->lens[s->begun] = 0;
  s->begun++;
  return 0;
}

static int s_write(const char *data, size_t len, void *user) {
  sink *s = user;
  if (++s->writes == s->fail_write_at) return -1;
  int f = s->begun - 1;
  s->files[f] = realloc(s->files[f], s->lens[f] + len + 1);
  memcpy(s->files[f] + s->lens[f], data, len);
  s->lens[f] += len;
  s->files[f][s->lens[f]] = '\0';
  return 0;
}

static int s_end(uint32_t index, uint64_t requests, uint64_t bytes, void *user) {
  sink *s = user;
  assert_int_equal(index, s->ended);
  s->end_requests[index] = requests;
  s->end_bytes[index] = bytes;
  s->ended++;
  return 0;
}

static void sink_free(sink *s) {
  for (int i = 0; i < s->begun; i++) free(s->files[i]);
  memset(s, 0, sizeof *s);
}

static tkn_batch_writer *make_writer(sink *s, uint32_t provider) {
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.provider = provider;
  o.begin_file = s_begin;
  o.write = s_write;
  o.end_file = s_end;
  o.user = s;
  tkn_batch_writer *w = NULL;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  return w;
}

static size_t count_lines(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += *s == '\n';
  return n;
}

static const char *BODY = "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
static const char *PARAMS = "{\"model\":\"claude-3-5-haiku\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

/* ---- writer ---- */

static void test_writer_new_rejects_bad_options(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = (tkn_batch_writer *)1;
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_ERR_INVALID); /* no callbacks */
  assert_null(w);
  o.begin_file = s_begin;
  o.write = s_write;
  o.user = &s;
  o.provider = TKN_PROVIDER_GEMINI; /* a provider, but no batch files for it */
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_ERR_UNSUPPORTED);
  o.provider = 0x5501; /* TKN_USAGE_OPENAI_CHAT: not a provider */
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_ERR_INVALID);
  o.provider = TKN_PROVIDER_OPENAI;
  o.url = "";
  o.url_len = 0;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_ERR_INVALID);
  o.url = NULL;
  o.version = 9;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_ERR_VERSION);
  assert_int_equal(tkn_batch_writer_new(&w, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_new(NULL, &o), TKN_ERR_INVALID);
  tkn_batch_writer_free(NULL);
}

static void test_writer_openai_line_format(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("req-1"), S(BODY)), TKN_OK);
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  assert_int_equal(s.begun, 1);
  assert_int_equal(s.ended, 1);
  char want[512];
  snprintf(want, sizeof want,
           "{\"custom_id\":\"req-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\",\"body\":%s}\n",
           BODY);
  assert_string_equal(s.files[0], want);
  assert_int_equal(s.end_requests[0], 1);
  assert_int_equal(s.end_bytes[0], strlen(want));
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_anthropic_line_format(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_ANTHROPIC);
  assert_int_equal(tkn_batch_writer_add(w, S("req_1"), S(PARAMS)), TKN_OK);
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  char want[512];
  snprintf(want, sizeof want, "{\"custom_id\":\"req_1\",\"params\":%s}\n", PARAMS);
  assert_string_equal(s.files[0], want);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_custom_url_and_escaped_id(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = s_begin;
  o.write = s_write;
  o.user = &s;
  o.url = "/v1/responses";
  o.url_len = strlen(o.url);
  tkn_batch_writer *w;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  assert_int_equal(tkn_batch_writer_add(w, S("a \"quoted\" id"), S(BODY)), TKN_OK);
  cJSON *j = cJSON_Parse(s.files[0]);
  assert_non_null(j);
  assert_string_equal(cJSON_GetObjectItem(j, "url")->valuestring, "/v1/responses");
  assert_string_equal(cJSON_GetObjectItem(j, "custom_id")->valuestring, "a \"quoted\" id");
  cJSON_Delete(j);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_pretty_body_becomes_one_line(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  const char *pretty = "{\r\n  \"model\": \"m\",\n  \"messages\": [\n    {\"role\": \"user\", \"content\": \"a\\nb\"}\n  ]\n}\n";
  assert_int_equal(tkn_batch_writer_add(w, S("x"), S(pretty)), TKN_OK);
  assert_int_equal(count_lines(s.files[0]), 1);
  cJSON *line = cJSON_Parse(s.files[0]);
  cJSON *orig = cJSON_Parse(pretty);
  assert_true(cJSON_Compare(cJSON_GetObjectItem(line, "body"), orig, 1));
  cJSON_Delete(line);
  cJSON_Delete(orig);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_rejects_duplicate_ids(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(BODY)), TKN_OK);
  size_t before = s.lens[0];
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(BODY)), TKN_ERR_DUPLICATE);
  assert_non_null(strstr(tkn_error_last()->message, "r1"));
  assert_int_equal(s.lens[0], before); /* nothing written */
  assert_int_equal(tkn_batch_writer_add(w, S("r2"), S(BODY)), TKN_OK);
  uint64_t req;
  assert_int_equal(tkn_batch_writer_counts(w, NULL, &req, NULL), TKN_OK);
  assert_int_equal(req, 2);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_openai_holds_one_model(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(BODY)), TKN_OK);
  assert_int_equal(tkn_batch_writer_add(w, S("r2"), S("{\"model\":\"gpt-4o\",\"messages\":[]}")),
                   TKN_ERR_SCHEMA);
  assert_non_null(strstr(tkn_error_last()->message, "one model"));
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_anthropic_allows_several_models(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_ANTHROPIC);
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(PARAMS)), TKN_OK);
  assert_int_equal(tkn_batch_writer_add(w, S("r2"), S("{\"model\":\"claude-sonnet-4\",\"max_tokens\":5}")), TKN_OK);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_rejects_bad_bodies(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  static const char *const bad_json[] = {
      "", "{", "{\"model\":\"m\",}", "{\"model\":'m'}", "{\"model\":\"m\"} x", "[1,]",
      "{\"model\":\"m\",\"t\":01}", "{\"model\":\"m\",\"t\":1.}", "{\"model\":\"m\",\"t\":tru}",
      "{\"model\":\"m\",\"s\":\"a\tb\"}", "{\"model\":\"m\",\"s\":\"\\x\"}", "{\"model\":\"m\",\"s\":\"\\u12g4\"}",
      "{\"model\" \"m\"}", "{model:\"m\"}", "{\"model\":\"m\"]", "{\"a\":[1}",
  };
  for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
    int rc = tkn_batch_writer_add(w, S("r"), S(bad_json[i]));
    if (rc != TKN_ERR_PARSE) print_message("body %zu: %s -> %d\n", i, bad_json[i], rc);
    assert_int_equal(rc, TKN_ERR_PARSE);
    assert_non_null(strstr(tkn_error_last()->message, "at byte"));
  }
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("[1,2]")), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"messages\":[]}")), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":7}")), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":\"\xc3\x28\"}")), TKN_ERR_UTF8);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), NULL, 3), TKN_ERR_INVALID);
  /* valid JSON of every kind is accepted */
  assert_int_equal(tkn_batch_writer_add(w, S("ok"),
                                        S(" {\"model\":\"m\",\"a\":[true,false,null,-0.5e+3,0,\"\\u00e9\\n\"],\"o\":{}} ")),
                   TKN_OK);
  assert_int_equal(s.begun, 1);
  assert_int_equal(count_lines(s.files[0]), 1);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_checks_utf8_inside_strings(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  static const char *const bad[] = {
      "\xc0\x80",         /* overlong NUL */
      "\xe0\x80\xaf",     /* overlong slash */
      "\xed\xa0\x80",     /* a surrogate */
      "\xf4\x90\x80\x80", /* above U+10FFFF */
      "\xe4\xb8",         /* truncated before the closing quote */
      "\x80",             /* a lone continuation byte */
      "\xff",
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char body[64];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"t\":\"a%sb\"}", bad[i]);
    assert_int_equal(tkn_batch_writer_add(w, S("r"), S(body)), TKN_ERR_UTF8);
    char want[32];
    snprintf(want, sizeof want, "at byte %d", 19);
    assert_non_null(strstr(tkn_error_last()->message, want));
  }
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":\"m\",\"t\":\"é中😀\xf4\x8f\xbf\xbf\"}")), TKN_OK);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

/* A \u escape of a surrogate must be a high-low pair: JSON readers (ours,
 * cJSON, the providers') reject one alone, so a line holding it would not
 * parse.  The fuzz harness fuzz_batch found the writer passing "\uDDDD" on. */
static void test_writer_rejects_unpaired_surrogate_escapes(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  static const char *const bad[] = {
      "\\uDDDD",        /* a low half alone */
      "\\udc00x",       /* lower-case hex */
      "\\uD83D",        /* a high half at the end of the string */
      "\\uD83Dx",       /* a high half before a character */
      "\\uD83D\\n",     /* a high half before another escape */
      "\\uD83D\\uD83D", /* two high halves */
      "\\uD83D\\u0041", /* a high half before a non-surrogate */
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char body[64];
    snprintf(body, sizeof body, "{\"model\":\"m\",\"t\":\"a%sb\"}", bad[i]);
    int rc = tkn_batch_writer_add(w, S("r"), S(body));
    if (rc != TKN_ERR_UTF8) print_message("body %zu: %s -> %d\n", i, body, rc);
    assert_int_equal(rc, TKN_ERR_UTF8);
    const char *msg = tkn_error_last()->message;
    assert_non_null(strstr(msg, "surrogate"));
    assert_non_null(strstr(msg, "at byte 19"));
    assert_null(strchr(msg, '\n'));
  }
  assert_int_equal(s.begun, 0); /* nothing was written */
  /* the key is checked like a value; an escaped backslash before "u" is no escape */
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":\"m\",\"\\uDC00\":1}")), TKN_ERR_UTF8);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":\"m\",\"t\":\"\\\\uDDDD \\uD83D\\ude00 \\u0000\"}")),
                   TKN_OK);
  assert_int_equal(s.begun, 1);
  cJSON *j = cJSON_Parse(s.files[0]);
  assert_non_null(j);
  cJSON_Delete(j);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_rejects_deep_nesting(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  char body[1200];
  int n = snprintf(body, sizeof body, "{\"model\":\"m\",\"x\":");
  for (int i = 0; i < 500; i++) body[n++] = '[';
  for (int i = 0; i < 500; i++) body[n++] = ']';
  body[n++] = '}';
  assert_int_equal(tkn_batch_writer_add(w, S("r"), body, (size_t)n), TKN_ERR_PARSE);
  assert_non_null(strstr(tkn_error_last()->message, "nesting"));
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_checks_custom_ids(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_ANTHROPIC);
  assert_int_equal(tkn_batch_writer_add(w, "", 0, S(PARAMS)), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_add(w, S("has space"), S(PARAMS)), TKN_ERR_INVALID);
  char id[70];
  memset(id, 'a', sizeof id);
  assert_int_equal(tkn_batch_writer_add(w, id, 65, S(PARAMS)), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_add(w, id, 64, S(PARAMS)), TKN_OK);
  tkn_batch_writer_free(w);
  sink_free(&s);
  w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("\xff"), S(BODY)), TKN_ERR_UTF8);
  char big[TKN_BATCH_MAX_ID + 1];
  memset(big, 'b', sizeof big);
  assert_int_equal(tkn_batch_writer_add(w, big, sizeof big, S(BODY)), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_add(w, S("has space é"), S(BODY)), TKN_OK);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_splits_at_request_limit(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = s_begin;
  o.write = s_write;
  o.end_file = s_end;
  o.user = &s;
  o.max_requests_per_file = 3;
  tkn_batch_writer *w;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  for (int i = 0; i < 7; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    assert_int_equal(tkn_batch_writer_add(w, S(id), S(BODY)), TKN_OK);
  }
  assert_int_equal(s.ended, 2); /* the third file is still open */
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK); /* twice is fine */
  assert_int_equal(s.begun, 3);
  assert_int_equal(s.ended, 3);
  assert_int_equal(count_lines(s.files[0]), 3);
  assert_int_equal(count_lines(s.files[1]), 3);
  assert_int_equal(count_lines(s.files[2]), 1);
  assert_int_equal(s.end_requests[0], 3);
  assert_int_equal(s.end_requests[2], 1);
  assert_int_equal(s.end_bytes[1], s.lens[1]);
  uint32_t files;
  uint64_t req, bytes;
  assert_int_equal(tkn_batch_writer_counts(w, &files, &req, &bytes), TKN_OK);
  assert_int_equal(files, 3);
  assert_int_equal(req, 7);
  assert_int_equal(bytes, s.lens[0] + s.lens[1] + s.lens[2]);
  assert_int_equal(tkn_batch_writer_add(w, S("late"), S(BODY)), TKN_ERR_STATE);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_splits_at_byte_limit(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.begin_file = s_begin;
  o.write = s_write;
  o.end_file = s_end;
  o.user = &s;
  size_t line = strlen("{\"custom_id\":\"r0\",\"params\":}\n") + strlen(PARAMS);
  o.max_bytes_per_file = 2 * line + line / 2; /* two lines fit, three do not */
  tkn_batch_writer *w;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    assert_int_equal(tkn_batch_writer_add(w, S(id), S(PARAMS)), TKN_OK);
  }
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  assert_int_equal(s.begun, 3);
  for (int f = 0; f < 3; f++) assert_true(s.lens[f] <= o.max_bytes_per_file);
  assert_int_equal(s.lens[0], 2 * line);
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_line_over_file_limit_fails(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = s_begin;
  o.write = s_write;
  o.user = &s;
  o.max_bytes_per_file = 100;
  tkn_batch_writer *w;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S(BODY)), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "limit"));
  assert_int_equal(tkn_batch_writer_add(w, S("r"), S("{\"model\":\"m\"}")), TKN_OK); /* id unused */
  tkn_batch_writer_free(w);
  sink_free(&s);
}

static void test_writer_sink_failure_stops_it(void **state) {
  (void)state;
  sink s = {0};
  s.fail_write_at = 2;
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(BODY)), TKN_OK);
  assert_int_equal(tkn_batch_writer_add(w, S("r2"), S(BODY)), TKN_ERR_IO);
  assert_non_null(strstr(tkn_error_last()->message, "write"));
  assert_int_equal(tkn_batch_writer_add(w, S("r3"), S(BODY)), TKN_ERR_STATE);
  assert_int_equal(tkn_batch_writer_finish(w), TKN_ERR_STATE);
  tkn_batch_writer_free(w);
  sink_free(&s);
  s.fail_begin = 1;
  w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_add(w, S("r1"), S(BODY)), TKN_ERR_IO);
  tkn_batch_writer_free(w);
}

static void test_writer_without_requests_writes_no_file(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_OPENAI);
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  assert_int_equal(s.begun, 0);
  assert_int_equal(tkn_batch_writer_add(NULL, S("r"), S(BODY)), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_finish(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_writer_counts(NULL, NULL, NULL, NULL), TKN_ERR_INVALID);
  tkn_batch_writer_free(w);
}

/* ---- reader ---- */

typedef struct got {
  int n;
  char ids[16][32];
  int32_t status[16];
  char model[16][32];
  char usage[16][128];
  char body_start[16][16];
  int32_t http[16];
  uint64_t line[16];
  uint32_t file[16];
  int fail_at;
} got;

static int on_result(const tkn_batch_result *r, void *user) {
  got *g = user;
  if (g->fail_at && g->n + 1 == g->fail_at) return 1;
  assert_int_equal(r->version, TKN_BATCH_RESULT_VERSION);
  assert_int_equal(strlen(r->custom_id), r->custom_id_len);
  assert_int_equal(strlen(r->model), r->model_len);
  int i = g->n++;
  snprintf(g->ids[i], 32, "%s", r->custom_id);
  g->status[i] = r->status;
  snprintf(g->model[i], 32, "%s", r->model);
  snprintf(g->usage[i], 128, "%.*s", (int)r->usage_len, r->usage);
  snprintf(g->body_start[i], 16, "%.*s", (int)(r->body_len < 8 ? r->body_len : 8), r->body);
  g->http[i] = r->http_status;
  g->line[i] = r->line;
  g->file[i] = r->file;
  return 0;
}

static tkn_batch_reader *make_reader(uint32_t provider, got *g, const char *const *ids, int n) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = provider;
  o.on_result = g ? on_result : NULL;
  o.user = g;
  tkn_batch_reader *r = NULL;
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  for (int i = 0; i < n; i++) assert_int_equal(tkn_batch_reader_expect(r, S(ids[i])), TKN_OK);
  return r;
}

static tkn_batch_summary summary_of(tkn_batch_reader *r) {
  tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
  assert_int_equal(tkn_batch_reader_summary(r, &s), TKN_OK);
  return s;
}

static tkn_batch_dead_letter dead_letter(tkn_batch_reader *r, size_t i) {
  tkn_batch_dead_letter d = TKN_BATCH_DEAD_LETTER_INIT;
  assert_int_equal(tkn_batch_reader_dead_letter(r, i, &d), TKN_OK);
  return d;
}

#define OA_OK(id, model)                                                                         \
  "{\"id\":\"batch_req_" id "\",\"custom_id\":\"" id "\",\"response\":{\"status_code\":200,"     \
  "\"request_id\":\"x\",\"body\":{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\","        \
  "\"model\":\"" model "\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","      \
  "\"content\":\"Hello {\\\"usage\\\": 1}\"}}],\"usage\":{\"prompt_tokens\":12,"               \
  "\"completion_tokens\":3,\"total_tokens\":15}}},\"error\":null}\n"

static const char *OA_OUTPUT = OA_OK("r3", "gpt-4o-mini-2024-07-18") OA_OK("r1", "gpt-4o-mini-2024-07-18");
static const char *OA_ERRORS =
    "{\"id\":\"batch_req_r2\",\"custom_id\":\"r2\",\"response\":null,\"error\":{\"code\":\"batch_expired\","
    "\"message\":\"This request could not be executed before the completion window expired.\"}}\n"
    "{\"id\":\"batch_req_r4\",\"custom_id\":\"r4\",\"response\":{\"status_code\":400,\"request_id\":\"y\","
    "\"body\":{\"error\":{\"message\":\"bad max_tokens\",\"type\":\"invalid_request_error\"}}},\"error\":null}\n";

/* (every init against its macro: tests/unit/options) */
static void test_reader_options_init_matches_macro(void **state) {
  (void)state;
  tkn_batch_reader_options a = TKN_BATCH_READER_OPTIONS_INIT;
  tkn_batch_reader *r = (tkn_batch_reader *)1;
  a.provider = 0;
  assert_int_equal(tkn_batch_reader_new(&r, &a), TKN_ERR_INVALID);
  assert_null(r);
  a.provider = TKN_PROVIDER_ANTHROPIC;
  a.max_line_bytes = 0;
  assert_int_equal(tkn_batch_reader_new(&r, &a), TKN_ERR_INVALID);
  a.version = 2;
  assert_int_equal(tkn_batch_reader_new(&r, &a), TKN_ERR_VERSION);
  assert_int_equal(tkn_batch_reader_new(NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_new(&r, NULL), TKN_OK);
  tkn_batch_reader_free(r);
  tkn_batch_reader_free(NULL);
}

static void test_reader_joins_openai_output_in_any_order(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"r1", "r2", "r3", "r4"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_OPENAI, &g, ids, 4);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_OUTPUT)), TKN_OK);
  assert_int_equal(g.n, 2);
  assert_string_equal(g.ids[0], "r3");
  assert_string_equal(g.ids[1], "r1");
  assert_int_equal(g.status[0], TKN_BATCH_SUCCEEDED);
  assert_int_equal(g.http[0], 200);
  assert_string_equal(g.model[1], "gpt-4o-mini-2024-07-18");
  assert_string_equal(g.usage[0], "{\"prompt_tokens\":12,\"completion_tokens\":3,\"total_tokens\":15}");
  assert_string_equal(g.body_start[0], "{\"id\":\"c");
  assert_int_equal(g.line[1], 2);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.succeeded, 2);
  assert_int_equal(s.expected, 4);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  s = summary_of(r);
  assert_int_equal(s.missing, 2);
  assert_int_equal(tkn_batch_reader_dead_letter_count(r), 2);
  tkn_batch_dead_letter d = dead_letter(r, 0);
  assert_int_equal(d.reason, TKN_BATCH_DL_MISSING);
  assert_string_equal(d.custom_id, "r2");
  assert_string_equal(dead_letter(r, 1).custom_id, "r4");
  tkn_batch_reader_free(r);
}

static void test_reader_openai_error_file(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"r1", "r2", "r3", "r4"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_OPENAI, &g, ids, 4);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_OUTPUT)), TKN_OK);
  assert_int_equal(tkn_batch_reader_end_file(r), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_ERRORS)), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 4);
  assert_int_equal(g.status[2], TKN_BATCH_EXPIRED);
  assert_int_equal(g.file[2], 1);
  assert_int_equal(g.line[2], 1);
  assert_int_equal(g.status[3], TKN_BATCH_ERRORED);
  assert_int_equal(g.http[3], 400);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.files, 2);
  assert_int_equal(s.lines, 4);
  assert_int_equal(s.succeeded, 2);
  assert_int_equal(s.expired, 1);
  assert_int_equal(s.errored, 1);
  assert_int_equal(s.missing, 0);
  assert_int_equal(tkn_batch_reader_dead_letter_count(r), 2);
  tkn_batch_dead_letter d = dead_letter(r, 0);
  assert_int_equal(d.reason, TKN_BATCH_DL_EXPIRED);
  assert_non_null(strstr(d.detail, "batch_expired"));
  d = dead_letter(r, 1);
  assert_int_equal(d.reason, TKN_BATCH_DL_ERRORED);
  assert_string_equal(d.custom_id, "r4");
  assert_non_null(strstr(d.detail, "bad max_tokens"));
  assert_int_equal(d.file, 1);
  assert_int_equal(d.line, 2);
  tkn_batch_reader_free(r);
}

static const char *AN_RESULTS =
    "{\"custom_id\":\"b\",\"result\":{\"type\":\"errored\",\"error\":{\"type\":\"error\",\"error\":"
    "{\"type\":\"invalid_request_error\",\"message\":\"max_tokens: field required\"}}}}\n"
    "{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"model\":\"claude-3-5-haiku-20241022\",\"content\":[{\"type\":"
    "\"text\",\"text\":\"Hi\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":10,"
    "\"cache_read_input_tokens\":0,\"output_tokens\":2}}}}\n"
    "{\"custom_id\":\"c\",\"result\":{\"type\":\"canceled\"}}\n"
    "{\"custom_id\":\"d\",\"result\":{\"type\":\"expired\"}}\n";

static void test_reader_anthropic_result_types(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"a", "b", "c", "d"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, ids, 4);
  assert_int_equal(tkn_batch_reader_feed(r, S(AN_RESULTS)), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 4);
  assert_int_equal(g.status[0], TKN_BATCH_ERRORED);
  assert_int_equal(g.status[1], TKN_BATCH_SUCCEEDED);
  assert_string_equal(g.model[1], "claude-3-5-haiku-20241022");
  assert_string_equal(g.usage[1], "{\"input_tokens\":10,\"cache_read_input_tokens\":0,\"output_tokens\":2}");
  assert_int_equal(g.status[2], TKN_BATCH_CANCELED);
  assert_int_equal(g.status[3], TKN_BATCH_EXPIRED);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.succeeded + s.errored + s.canceled + s.expired, 4);
  assert_int_equal(tkn_batch_reader_dead_letter_count(r), 3);
  assert_int_equal(dead_letter(r, 0).reason, TKN_BATCH_DL_ERRORED);
  assert_non_null(strstr(dead_letter(r, 0).detail, "field required"));
  assert_int_equal(dead_letter(r, 1).reason, TKN_BATCH_DL_CANCELED);
  assert_int_equal(dead_letter(r, 2).reason, TKN_BATCH_DL_EXPIRED);
  tkn_batch_reader_free(r);
}

static void test_reader_duplicates_and_unknown_ids(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"a"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, ids, 1);
  const char *in =
      "{\"custom_id\":\"a\",\"result\":{\"type\":\"canceled\"}}\n"
      "{\"custom_id\":\"a\",\"result\":{\"type\":\"expired\"}}\n"
      "{\"custom_id\":\"zz\",\"result\":{\"type\":\"canceled\"}}\n";
  assert_int_equal(tkn_batch_reader_feed(r, S(in)), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 1); /* only the first result of a known id is delivered */
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.canceled, 1);
  assert_int_equal(s.expired, 0);
  assert_int_equal(s.duplicates, 1);
  assert_int_equal(s.unknown, 1);
  assert_int_equal(tkn_batch_reader_dead_letter_count(r), 3);
  assert_int_equal(dead_letter(r, 1).reason, TKN_BATCH_DL_DUPLICATE);
  assert_int_equal(dead_letter(r, 1).line, 2);
  assert_int_equal(dead_letter(r, 2).reason, TKN_BATCH_DL_UNKNOWN);
  assert_string_equal(dead_letter(r, 2).custom_id, "zz");
  char *json;
  size_t len;
  assert_int_equal(tkn_batch_reader_dead_letters_json(r, &json, &len), TKN_OK);
  cJSON *j = cJSON_Parse(json);
  assert_non_null(j);
  assert_int_equal(cJSON_GetArraySize(j), 3);
  cJSON *e = cJSON_GetArrayItem(j, 1);
  assert_string_equal(cJSON_GetObjectItem(e, "reason")->valuestring, "duplicate");
  assert_string_equal(cJSON_GetObjectItem(e, "custom_id")->valuestring, "a");
  assert_int_equal(cJSON_GetObjectItem(e, "line")->valueint, 2);
  assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "reason")->valuestring, "canceled");
  assert_int_equal(strlen(json), len);
  cJSON_Delete(j);
  tkn_free(json);
  tkn_batch_reader_free(r);
}

static void test_reader_decodes_escaped_ids(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"a\"b/é"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, ids, 1);
  assert_int_equal(tkn_batch_reader_feed(r, S("{\"custom_id\":\"a\\\"b\\/\\u00e9\",\"result\":{\"type\":\"expired\"}}")),
                   TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 1);
  assert_string_equal(g.ids[0], "a\"b/é");
  assert_int_equal(summary_of(r).missing, 0);
  tkn_batch_reader_free(r);
}

/* Issue 21 item 8: a custom_id with an escape that is no character is a
 * parse error naming the line (it was reported as out of memory). */
static void test_reader_malformed_custom_id_is_a_parse_error(void **state) {
  (void)state;
  static const char *const ids[] = {"a"};
  static const char *const lines[] = {
      "{\"custom_id\":\"\\udc00\",\"result\":{\"type\":\"expired\"}}\n",
      "{\"custom_id\":\"a\\ud800\",\"result\":{\"type\":\"expired\"}}\n",
      ("{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\",\"message\":"
       "{\"model\":\"\\udfff\",\"usage\":{\"input_tokens\":1,\"output_tokens\":1}}}}\n"),
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
    got g = {0};
    tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, ids, 1);
    assert_int_equal(tkn_batch_reader_feed(r, S(lines[i])), TKN_ERR_PARSE);
    const char *msg = tkn_error_last()->message;
    assert_non_null(strstr(msg, "line 1"));
    assert_non_null(strstr(msg, i < 2 ? "\"custom_id\"" : "\"model\""));
    assert_null(strstr(msg, "memory"));
    assert_int_equal(g.n, 0);
    tkn_batch_reader_free(r);
  }
}

/* Issue 21 item 8: an escaped NUL in a custom_id is part of the id: the
 * result joins the request with that id, never the one cut at the NUL. */
typedef struct nul_got {
  int n;
  size_t len;
  char id[8];
} nul_got;

static int on_nul_result(const tkn_batch_result *r, void *user) {
  nul_got *g = user;
  g->n++;
  g->len = r->custom_id_len;
  assert_true(r->custom_id_len < sizeof g->id);
  memcpy(g->id, r->custom_id, r->custom_id_len + 1);
  return 0;
}

static void test_reader_joins_an_id_with_a_nul_exactly(void **state) {
  (void)state;
  nul_got g = {0};
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.on_result = on_nul_result;
  o.user = &g;
  tkn_batch_reader *r = NULL;
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect(r, "abc", 3), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect(r, "abc\0def", 7), TKN_OK);
  const char *in = "{\"custom_id\":\"abc\\u0000def\",\"response\":{\"status_code\":200,"
                   "\"body\":{\"model\":\"gpt-4o\",\"usage\":{\"prompt_tokens\":1,"
                   "\"completion_tokens\":1}}},\"error\":null}\n";
  assert_int_equal(tkn_batch_reader_feed(r, S(in)), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.len, 7);
  assert_memory_equal(g.id, "abc\0def", 8);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.missing, 1); /* "abc" got no result */
  assert_int_equal(tkn_batch_reader_dead_letter_count(r), 1);
  tkn_batch_dead_letter d = dead_letter(r, 0);
  assert_int_equal(d.reason, TKN_BATCH_DL_MISSING);
  assert_int_equal(d.custom_id_len, 3);
  tkn_batch_reader_free(r);
}

static void test_reader_blank_lines_crlf_and_no_final_newline(void **state) {
  (void)state;
  got g = {0};
  static const char *const ids[] = {"a", "b"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, ids, 2);
  const char *in = "\n{\"custom_id\":\"a\",\"result\":{\"type\":\"canceled\"}}\r\n  \r\n"
                   "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}";
  assert_int_equal(tkn_batch_reader_feed(r, S(in)), TKN_OK);
  assert_int_equal(g.n, 1);
  assert_int_equal(g.line[0], 2);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(g.n, 2);
  assert_int_equal(g.line[1], 4);
  assert_int_equal(summary_of(r).lines, 2);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK); /* twice is fine */
  assert_int_equal(tkn_batch_reader_feed(r, S("\n")), TKN_ERR_STATE);
  tkn_batch_reader_free(r);
}

/* Feed `in` split at the given points; return a digest of what came out. */
static void run_split(const char *in, size_t len, const size_t *cuts, int ncuts, got *g,
                      tkn_batch_summary *s, size_t *ndl) {
  static const char *const ids[] = {"r1", "r2", "r3", "r4", "r5"};
  memset(g, 0, sizeof *g);
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_OPENAI, g, ids, 5);
  size_t at = 0;
  for (int i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    assert_int_equal(tkn_batch_reader_feed(r, in + at, end - at), TKN_OK);
    at = end;
  }
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  *s = summary_of(r);
  *ndl = tkn_batch_reader_dead_letter_count(r);
  tkn_batch_reader_free(r);
}

/* Feed `in` in chunks of `chunk` bytes (0: whole) to a reader with a 48-byte
 * line limit, then finish; the status, the message and the summary. */
static int feed_limited(const char *in, size_t chunk, char msg[256], tkn_batch_summary *s) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.max_line_bytes = 48;
  tkn_batch_reader *r;
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  size_t len = strlen(in);
  if (!chunk) chunk = len;
  int rc = TKN_OK;
  for (size_t at = 0; at < len && !rc; at += chunk)
    rc = tkn_batch_reader_feed(r, in + at, len - at < chunk ? len - at : chunk);
  if (!rc) rc = tkn_batch_reader_finish(r);
  snprintf(msg, 256, "%s", rc ? tkn_error_last()->message : "");
  *s = summary_of(r);
  tkn_batch_reader_free(r);
  return rc;
}

/* The line limit counts a line's bytes before its \n, a \r and a blank line's
 * white space included, and a line over it is not counted as read: the same
 * whether the line came whole or in pieces (the chunked reader cannot know
 * that a line will end in \r or turn out blank before it has held more than
 * the limit).  The fuzz harness fuzz_batch found whole and chunked feeding
 * disagreeing on the summary of an over-long line. */
static void test_reader_line_limit_is_the_same_in_any_chunks(void **state) {
  (void)state;
  const char *ok = "{\"custom_id\":\"a\",\"result\":{\"type\":\"expired\"}}\n"; /* 45 bytes and a newline */
  static const char *const over[] = {
      "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}          \n", /* 55 bytes */
      "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}   \r\n",      /* 48 and a \r */
      "                                                   \n",            /* 51 blanks */
      "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}          ",   /* no newline */
  };
  for (size_t i = 0; i < sizeof over / sizeof *over; i++) {
    char in[256], want_msg[256], msg[256];
    snprintf(in, sizeof in, "%s%s%s", ok, over[i], ok);
    tkn_batch_summary want, s;
    assert_int_equal(feed_limited(in, 0, want_msg, &want), TKN_ERR_LIMIT);
    assert_non_null(strstr(want_msg, "line 2 (byte 46)"));
    assert_int_equal(want.lines, 1);
    for (size_t chunk = 1; chunk <= strlen(in); chunk++) {
      int rc = feed_limited(in, chunk, msg, &s);
      if (rc != TKN_ERR_LIMIT || strcmp(msg, want_msg) != 0 || memcmp(&s, &want, sizeof s) != 0)
        print_message("case %zu, chunks of %zu: %d %s\n", i, chunk, rc, msg);
      assert_int_equal(rc, TKN_ERR_LIMIT);
      assert_string_equal(msg, want_msg);
      assert_int_equal(memcmp(&s, &want, sizeof s), 0);
    }
  }
  /* exactly the limit passes, a \r after it included */
  char in[256], msg[256];
  tkn_batch_summary s;
  snprintf(in, sizeof in, "%s%s", ok, "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}  \r\n");
  for (size_t chunk = 0; chunk <= strlen(in); chunk++) {
    assert_int_equal(feed_limited(in, chunk, msg, &s), TKN_OK);
    assert_int_equal(s.lines, 2);
  }
}

static void test_reader_every_chunk_split_gives_the_same_result(void **state) {
  (void)state;
  char in[4096];
  snprintf(in, sizeof in, "%s%s\r\n%s", OA_OUTPUT, OA_ERRORS,
           "{\"custom_id\":\"r1\",\"response\":null,\"error\":{\"code\":\"x\",\"message\":\"中文 é 😀\"}}");
  size_t len = strlen(in);
  got ref, g;
  tkn_batch_summary rs, s;
  size_t rdl, dl;
  run_split(in, len, NULL, 0, &ref, &rs, &rdl);
  assert_int_equal(ref.n, 4);
  assert_int_equal(rs.duplicates, 1);
  for (size_t cut = 0; cut <= len; cut++) {
    run_split(in, len, &cut, 1, &g, &s, &dl);
    assert_int_equal(g.n, ref.n);
    assert_int_equal(memcmp(&s, &rs, sizeof s), 0);
    assert_int_equal(dl, rdl);
    for (int i = 0; i < g.n; i++) {
      assert_string_equal(g.ids[i], ref.ids[i]);
      assert_string_equal(g.usage[i], ref.usage[i]);
      assert_int_equal(g.line[i], ref.line[i]);
    }
  }
  /* two cuts at every pair of points around line ends */
  for (size_t a = 0; a < len; a += 7) {
    for (size_t b = a; b <= len; b += 13) {
      size_t cuts[2] = {a, b};
      run_split(in, len, cuts, 2, &g, &s, &dl);
      assert_int_equal(memcmp(&s, &rs, sizeof s), 0);
      assert_int_equal(g.n, ref.n);
    }
  }
  /* one byte at a time */
  size_t cuts[4096];
  for (size_t i = 0; i < len; i++) cuts[i] = i;
  run_split(in, len, cuts, (int)len, &g, &s, &dl);
  assert_int_equal(memcmp(&s, &rs, sizeof s), 0);
}

static void test_reader_malformed_line_names_line_and_offset(void **state) {
  (void)state;
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, NULL, NULL, 0);
  const char *good = "{\"custom_id\":\"a\",\"result\":{\"type\":\"canceled\"}}\n";
  assert_int_equal(tkn_batch_reader_feed(r, S(good)), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, S("{\"custom_id\":\"b\",\"result\":{\"type\" \"x\"}}\n")),
                   TKN_ERR_PARSE);
  const char *msg = tkn_error_last()->message;
  assert_non_null(strstr(msg, "line 2"));
  char want[64];
  snprintf(want, sizeof want, "(byte %zu)", strlen(good));
  assert_non_null(strstr(msg, want));
  snprintf(want, sizeof want, "at byte %zu", strlen(good) + 34);
  assert_non_null(strstr(msg, want));
  assert_int_equal(tkn_batch_reader_feed(r, S(good)), TKN_ERR_STATE);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_ERR_STATE);
  tkn_batch_reader_free(r);
}

static void test_reader_rejects_lines_of_the_wrong_shape(void **state) {
  (void)state;
  static const struct { uint32_t provider; const char *line; int rc; } cases[] = {
      {TKN_PROVIDER_ANTHROPIC, "[1]", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":\"a\"}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":\"a\",\"result\":{\"type\":\"maybe\"}}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\"}}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":5,\"result\":{\"type\":\"expired\"}}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":\"\",\"result\":{\"type\":\"expired\"}}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_ANTHROPIC, "{\"custom_id\":\"a\xff\"}", TKN_ERR_UTF8},
      {TKN_PROVIDER_OPENAI, "{\"custom_id\":\"a\",\"response\":null,\"error\":null}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_OPENAI, "{\"custom_id\":\"a\",\"response\":[]}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_OPENAI, "{\"custom_id\":\"a\",\"response\":{\"status_code\":\"200\",\"body\":{}}}", TKN_ERR_SCHEMA},
      {TKN_PROVIDER_OPENAI, "{\"custom_id\":\"a\",\"response\":{\"status_code\":200,\"body\":{}}", TKN_ERR_PARSE},
  };
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
    tkn_batch_reader *r = make_reader(cases[i].provider, NULL, NULL, 0);
    int rc = tkn_batch_reader_feed(r, S(cases[i].line));
    if (rc == TKN_OK) rc = tkn_batch_reader_end_file(r);
    if (rc != cases[i].rc) print_message("case %zu: %s -> %d\n", i, cases[i].line, rc);
    assert_int_equal(rc, cases[i].rc);
    assert_non_null(strstr(tkn_error_last()->message, "line 1"));
    tkn_batch_reader_free(r);
  }
}

static void test_reader_line_over_the_limit_fails(void **state) {
  (void)state;
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.max_line_bytes = 48;
  const char *ok = "{\"custom_id\":\"a\",\"result\":{\"type\":\"expired\"}}\n"; /* 45 bytes and a newline */
  const char *big = "{\"custom_id\":\"b\",\"result\":{\"type\":\"expired\"}}          \n";
  tkn_batch_reader *r;
  /* a whole line inside one chunk */
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, S(ok)), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, S(big)), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "line 2"));
  tkn_batch_reader_free(r);
  /* a line growing across chunks fails as soon as it passes the limit */
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, big, 30), TKN_OK);
  assert_int_equal(tkn_batch_reader_feed(r, big + 30, 20), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "limit of 48 bytes"));
  tkn_batch_reader_free(r);
}

static void test_reader_expect_rules(void **state) {
  (void)state;
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_OPENAI, NULL, NULL, 0);
  assert_int_equal(tkn_batch_reader_expect(r, S("a")), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect(r, S("a")), TKN_ERR_DUPLICATE);
  assert_int_equal(tkn_batch_reader_expect(r, "", 0), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_expect(r, S("\xfe")), TKN_ERR_UTF8);
  char big[TKN_BATCH_MAX_ID + 1];
  memset(big, 'x', sizeof big);
  assert_int_equal(tkn_batch_reader_expect(r, big, sizeof big), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_expect(NULL, S("a")), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_feed(r, S("\n")), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect(r, S("b")), TKN_ERR_STATE);
  assert_int_equal(summary_of(r).expected, 1);
  assert_int_equal(tkn_batch_reader_feed(NULL, S("\n")), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_feed(r, NULL, 3), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_end_file(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_finish(NULL), TKN_ERR_INVALID);
  tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
  assert_int_equal(tkn_batch_reader_summary(NULL, &s), TKN_ERR_INVALID);
  s.version = 3;
  assert_int_equal(tkn_batch_reader_summary(r, &s), TKN_ERR_VERSION);
  tkn_batch_dead_letter d = TKN_BATCH_DEAD_LETTER_INIT;
  assert_int_equal(tkn_batch_reader_dead_letter(r, 0, &d), TKN_ERR_NOT_FOUND);
  d.version = 0;
  assert_int_equal(tkn_batch_reader_dead_letter(r, 0, &d), TKN_ERR_VERSION);
  assert_int_equal(tkn_batch_reader_dead_letter(r, 0, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_dead_letter_count(NULL), 0);
  char *json;
  assert_int_equal(tkn_batch_reader_dead_letters_json(NULL, &json, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_batch_reader_dead_letters_json(r, &json, NULL), TKN_OK);
  assert_string_equal(json, "[]");
  tkn_free(json);
  tkn_batch_reader_free(r);
}

static void test_reader_callback_failure_stops_it(void **state) {
  (void)state;
  got g = {0};
  g.fail_at = 2;
  static const char *const ids[] = {"r1", "r3"};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_OPENAI, &g, ids, 2);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_OUTPUT)), TKN_ERR_CALLBACK);
  assert_int_equal(g.n, 1);
  assert_non_null(strstr(tkn_error_last()->message, "line 2"));
  assert_int_equal(tkn_batch_reader_feed(r, S("\n")), TKN_ERR_STATE);
  tkn_batch_reader_free(r);
}

static void test_writer_and_reader_round_trip(void **state) {
  (void)state;
  sink s = {0};
  tkn_batch_writer *w = make_writer(&s, TKN_PROVIDER_ANTHROPIC);
  for (int i = 0; i < 5; i++) {
    char id[16];
    snprintf(id, sizeof id, "req-%d", i);
    assert_int_equal(tkn_batch_writer_add(w, S(id), S(PARAMS)), TKN_OK);
  }
  assert_int_equal(tkn_batch_writer_finish(w), TKN_OK);
  got g = {0};
  tkn_batch_reader *r = make_reader(TKN_PROVIDER_ANTHROPIC, &g, NULL, 0);
  assert_int_equal(tkn_batch_reader_expect_writer(r, w), TKN_OK);
  assert_int_equal(tkn_batch_reader_expect_writer(r, w), TKN_ERR_DUPLICATE);
  assert_int_equal(summary_of(r).expected, 5); /* the failed call added nothing */
  assert_int_equal(tkn_batch_reader_expect_writer(NULL, w), TKN_ERR_INVALID);
  /* answer each written line, newest first */
  cJSON *lines = cJSON_CreateArray();
  for (char *p = s.files[0], *nl; (nl = strchr(p, '\n')); p = nl + 1) {
    *nl = '\0';
    cJSON_AddItemToArray(lines, cJSON_Parse(p));
  }
  for (int i = cJSON_GetArraySize(lines) - 1; i >= 0; i--) {
    const char *id = cJSON_GetObjectItem(cJSON_GetArrayItem(lines, i), "custom_id")->valuestring;
    char res[256];
    snprintf(res, sizeof res, "{\"custom_id\":\"%s\",\"result\":{\"type\":\"%s\"}}\n", id,
             i == 2 ? "expired" : "canceled");
    if (i != 4) assert_int_equal(tkn_batch_reader_feed(r, S(res)), TKN_OK);
  }
  cJSON_Delete(lines);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  tkn_batch_summary sum = summary_of(r);
  assert_int_equal(sum.canceled, 3);
  assert_int_equal(sum.expired, 1);
  assert_int_equal(sum.missing, 1);
  size_t n = tkn_batch_reader_dead_letter_count(r);
  assert_string_equal(dead_letter(r, n - 1).custom_id, "req-4");
  tkn_batch_reader_free(r);
  tkn_batch_writer_free(w);
  sink_free(&s);
}


/* ---- metering at the batch price ---- */

/* A table with round prices (USD per token) so the expected costs are plain
 * arithmetic: batch input $1/Mtok, batch output $4/Mtok, cache read at half
 * of the $0.50/Mtok list price in a batch. */
static const char *PRICES =
    "{\"test-model\":{\"litellm_provider\":\"openai\",\"input_cost_per_token\":2e-06,"
    "\"output_cost_per_token\":8e-06,\"input_cost_per_token_batches\":1e-06,"
    "\"output_cost_per_token_batches\":4e-06,\"cache_read_input_token_cost\":5e-07},"
    "\"no-batch-model\":{\"input_cost_per_token\":2e-06,\"output_cost_per_token\":8e-06}}";

typedef struct metered {
  int n;
  int32_t status[8];
  int64_t cost[8];
  int64_t input[8], cached[8];
  int has_tokens[8];
  char err[8][256];
} metered;

static int on_metered(const tkn_batch_result *r, void *user) {
  metered *m = user;
  int i = m->n++;
  m->status[i] = r->meter_status;
  m->cost[i] = r->cost ? r->cost->total : -1;
  m->has_tokens[i] = r->tokens != NULL;
  m->input[i] = r->tokens ? r->tokens->input_tokens : -1;
  m->cached[i] = r->tokens ? r->tokens->cache_read_tokens : -1;
  assert_non_null(r->meter_error);
  assert_true((r->meter_status == TKN_OK) == (r->meter_error[0] == '\0'));
  snprintf(m->err[i], 256, "%s", r->meter_error);
  return 0;
}

static tkn_batch_reader *metering_reader(uint32_t provider, const tkn_prices *prices, metered *m,
                                         const char *const *ids, int n) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = provider;
  o.on_result = on_metered;
  o.user = m;
  o.prices = prices;
  tkn_batch_reader *r;
  assert_int_equal(tkn_batch_reader_new(&r, &o), TKN_OK);
  for (int i = 0; i < n; i++) assert_int_equal(tkn_batch_reader_expect(r, S(ids[i])), TKN_OK);
  return r;
}

static tkn_prices *test_prices(void) {
  tkn_prices *p = NULL;
  char err[256];
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, S(PRICES), NULL), err, sizeof err), TKN_OK);
  return p;
}

#define OA_USAGE_LINE(id, model)                                                                 \
  "{\"custom_id\":\"" id "\",\"response\":{\"status_code\":200,\"body\":{\"object\":"          \
  "\"chat.completion\",\"model\":\"" model "\",\"choices\":[],\"usage\":{\"prompt_tokens\":12," \
  "\"prompt_tokens_details\":{\"cached_tokens\":4},\"completion_tokens\":3,"                     \
  "\"total_tokens\":15}}},\"error\":null}\n"

static void test_reader_costs_openai_results_at_the_batch_price(void **state) {
  (void)state;
  tkn_prices *p = test_prices();
  metered m = {0};
  static const char *const ids[] = {"a", "b"};
  tkn_batch_reader *r = metering_reader(TKN_PROVIDER_OPENAI, p, &m, ids, 2);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_USAGE_LINE("a", "test-model") OA_USAGE_LINE("b", "test-model"))), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(m.n, 2);
  /* 8 plain input x 1,000,000 + 4 cached x 500,000 / 2 + 3 output x 4,000,000 picodollars */
  int64_t want = 8 * 1000000 + 4 * 250000 + 3 * 4000000;
  assert_int_equal(m.status[0], TKN_OK);
  assert_int_equal(m.cost[0], want);
  assert_int_equal(m.input[0], 12); /* cached tokens stay inside input */
  assert_int_equal(m.cached[0], 4);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.metered, 2);
  assert_int_equal(s.priced, 2);
  assert_int_equal(s.unpriced, 0);
  assert_int_equal(s.cost, 2 * want);
  assert_int_equal(s.input_tokens, 24);
  assert_int_equal(s.cache_read_tokens, 8);
  assert_int_equal(s.output_tokens, 6);
  tkn_batch_reader_free(r);
  tkn_prices_free(p);
}

static void test_reader_costs_anthropic_results_with_cache(void **state) {
  (void)state;
  tkn_prices *p = test_prices();
  metered m = {0};
  static const char *const ids[] = {"a"};
  tkn_batch_reader *r = metering_reader(TKN_PROVIDER_ANTHROPIC, p, &m, ids, 1);
  const char *line =
      "{\"custom_id\":\"a\",\"result\":{\"type\":\"succeeded\",\"message\":{\"type\":\"message\","
      "\"model\":\"test-model\",\"content\":[],\"usage\":{\"input_tokens\":6,"
      "\"cache_read_input_tokens\":10,\"cache_creation_input_tokens\":0,\"output_tokens\":2}}}}";
  assert_int_equal(tkn_batch_reader_feed(r, S(line)), TKN_OK);
  assert_int_equal(tkn_batch_reader_finish(r), TKN_OK);
  assert_int_equal(m.n, 1);
  assert_int_equal(m.status[0], TKN_OK);
  assert_int_equal(m.input[0], 16); /* Anthropic's input excludes cache reads: normalised */
  assert_int_equal(m.cost[0], 6 * 1000000 + 10 * 250000 + 2 * 4000000);
  tkn_batch_reader_free(r);
  tkn_prices_free(p);
}

static void test_reader_reports_what_it_cannot_price(void **state) {
  (void)state;
  tkn_prices *p = test_prices();
  metered m = {0};
  static const char *const ids[] = {"a", "b", "c", "d"};
  tkn_batch_reader *r = metering_reader(TKN_PROVIDER_OPENAI, p, &m, ids, 4);
  const char *in =
      OA_USAGE_LINE("a", "unknown-model") OA_USAGE_LINE("b", "no-batch-model")
      "{\"custom_id\":\"c\",\"response\":{\"status_code\":200,\"body\":{\"model\":\"test-model\"}}}\n"
      "{\"custom_id\":\"d\",\"response\":{\"status_code\":200,\"body\":{\"model\":\"test-model\","
      "\"usage\":{\"prompt_tokens\":\"many\"}}}}\n";
  assert_int_equal(tkn_batch_reader_feed(r, S(in)), TKN_OK);
  assert_int_equal(m.n, 4);
  assert_int_equal(m.status[0], TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(m.err[0], "unknown-model"));
  assert_int_equal(m.has_tokens[0], 1);
  assert_int_equal(m.status[1], TKN_ERR_NOT_FOUND); /* no batch prices */
  assert_int_equal(m.status[2], TKN_ERR_NOT_FOUND); /* no usage */
  assert_int_equal(m.has_tokens[2], 0);
  assert_true(m.status[3] == TKN_ERR_SCHEMA || m.status[3] == TKN_ERR_PARSE);
  assert_int_equal(m.has_tokens[3], 0);
  tkn_batch_summary s = summary_of(r);
  assert_int_equal(s.succeeded, 4);
  assert_int_equal(s.unpriced, 4);
  assert_int_equal(s.priced, 0);
  assert_int_equal(s.metered, 2);
  assert_int_equal(s.input_tokens, 24);
  assert_int_equal(s.cost, 0);
  tkn_batch_reader_free(r);
  tkn_prices_free(p);
}

static void test_reader_without_prices_normalises_usage_only(void **state) {
  (void)state;
  metered m = {0};
  static const char *const ids[] = {"a"};
  tkn_batch_reader *r = metering_reader(TKN_PROVIDER_OPENAI, NULL, &m, ids, 1);
  assert_int_equal(tkn_batch_reader_feed(r, S(OA_USAGE_LINE("a", "test-model"))), TKN_OK);
  assert_int_equal(m.status[0], TKN_ERR_UNAVAILABLE);
  assert_int_equal(m.has_tokens[0], 1);
  assert_int_equal(m.cost[0], -1);
  assert_int_equal(summary_of(r).output_tokens, 3);
  tkn_batch_reader_free(r);
}

/* ---- out of memory ---- */

static int oom_writer(void) {
  sink s = {0};
  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = s_begin;
  o.write = s_write;
  o.end_file = s_end;
  o.user = &s;
  o.max_requests_per_file = 40;
  tkn_batch_writer *w;
  int rc = tkn_batch_writer_new(&w, &o);
  if (rc) return rc;
  uint64_t written = 0;
  for (int i = 0; i < 100 && !rc; i++) {
    char id[16];
    snprintf(id, sizeof id, "r%d", i);
    rc = tkn_batch_writer_add(w, S(id), S(BODY));
    if (rc == TKN_ERR_NOMEM) { /* the call left the writer as it was: retry works */
      uint64_t req;
      tkn_batch_writer_counts(w, NULL, &req, NULL);
      if (req != written) rc = -1;
      break;
    }
    if (!rc) written++;
  }
  if (!rc) rc = tkn_batch_writer_finish(w);
  tkn_batch_writer_free(w);
  sink_free(&s);
  return rc;
}

static int oom_reader(void) {
  tkn_batch_reader *r;
  tkn_prices *prices = NULL;
  int rc = tkn_prices_new_default(&prices);
  if (rc) return rc;
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.prices = prices;
  rc = tkn_batch_reader_new(&r, &o);
  if (rc) {
    tkn_prices_free(prices);
    return rc;
  }
  static const char *const ids[] = {"r1", "r2", "r3", "r4", "r5", "r6"};
  for (int i = 0; i < 6 && !rc; i++) rc = tkn_batch_reader_expect(r, S(ids[i]));
  /* split so that a partial line must be held */
  size_t n = strlen(OA_OUTPUT);
  if (!rc) rc = tkn_batch_reader_feed(r, OA_OUTPUT, n / 3);
  if (!rc) rc = tkn_batch_reader_feed(r, OA_OUTPUT + n / 3, n - n / 3);
  if (!rc) rc = tkn_batch_reader_feed(r, S(OA_ERRORS));
  if (!rc) rc = tkn_batch_reader_feed(r, S("{\"custom_id\":\"r\\u0031\",\"response\":null,\"error\":{}}\n"));
  if (!rc) rc = tkn_batch_reader_finish(r);
  char *json = NULL;
  if (!rc) rc = tkn_batch_reader_dead_letters_json(r, &json, NULL);
  if (!rc) {
    tkn_batch_summary s = TKN_BATCH_SUMMARY_INIT;
    tkn_batch_reader_summary(r, &s);
    if (s.missing != 2 || s.duplicates != 1 || s.priced != 2) rc = -1;
  }
  tkn_free(json);
  tkn_batch_reader_free(r);
  tkn_prices_free(prices);
  return rc;
}

static void oom_loop(int (*scenario)(void)) {
  int rc = -1;
  for (long n = 1; n < 100000; n++) {
    tt_alloc_install(n);
    rc = scenario();
    long live = tt_alloc.live;
    int failed = tt_alloc.failed;
    tt_alloc_restore();
    assert_int_equal(live, 0);
    if (!failed) break;
    if (rc != TKN_OK && rc != TKN_ERR_NOMEM) print_message("fail_at %ld: rc %d\n", n, rc);
    assert_true(rc == TKN_OK || rc == TKN_ERR_NOMEM);
  }
  assert_int_equal(rc, TKN_OK);
}

static void test_writer_out_of_memory_loop(void **state) {
  (void)state;
  oom_loop(oom_writer);
}

static void test_reader_out_of_memory_loop(void **state) {
  (void)state;
  oom_loop(oom_reader);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_writer_new_rejects_bad_options),
      cmocka_unit_test(test_writer_openai_line_format),
      cmocka_unit_test(test_writer_anthropic_line_format),
      cmocka_unit_test(test_writer_custom_url_and_escaped_id),
      cmocka_unit_test(test_writer_pretty_body_becomes_one_line),
      cmocka_unit_test(test_writer_rejects_duplicate_ids),
      cmocka_unit_test(test_writer_openai_holds_one_model),
      cmocka_unit_test(test_writer_anthropic_allows_several_models),
      cmocka_unit_test(test_writer_rejects_bad_bodies),
      cmocka_unit_test(test_writer_checks_utf8_inside_strings),
      cmocka_unit_test(test_writer_rejects_unpaired_surrogate_escapes),
      cmocka_unit_test(test_writer_rejects_deep_nesting),
      cmocka_unit_test(test_writer_checks_custom_ids),
      cmocka_unit_test(test_writer_splits_at_request_limit),
      cmocka_unit_test(test_writer_splits_at_byte_limit),
      cmocka_unit_test(test_writer_line_over_file_limit_fails),
      cmocka_unit_test(test_writer_sink_failure_stops_it),
      cmocka_unit_test(test_writer_without_requests_writes_no_file),
      cmocka_unit_test(test_reader_options_init_matches_macro),
      cmocka_unit_test(test_reader_malformed_custom_id_is_a_parse_error),
      cmocka_unit_test(test_reader_joins_an_id_with_a_nul_exactly),
      cmocka_unit_test(test_reader_joins_openai_output_in_any_order),
      cmocka_unit_test(test_reader_openai_error_file),
      cmocka_unit_test(test_reader_anthropic_result_types),
      cmocka_unit_test(test_reader_duplicates_and_unknown_ids),
      cmocka_unit_test(test_reader_decodes_escaped_ids),
      cmocka_unit_test(test_reader_blank_lines_crlf_and_no_final_newline),
      cmocka_unit_test(test_reader_every_chunk_split_gives_the_same_result),
      cmocka_unit_test(test_reader_malformed_line_names_line_and_offset),
      cmocka_unit_test(test_reader_rejects_lines_of_the_wrong_shape),
      cmocka_unit_test(test_reader_line_over_the_limit_fails),
      cmocka_unit_test(test_reader_line_limit_is_the_same_in_any_chunks),
      cmocka_unit_test(test_reader_expect_rules),
      cmocka_unit_test(test_reader_callback_failure_stops_it),
      cmocka_unit_test(test_writer_and_reader_round_trip),
      cmocka_unit_test(test_reader_costs_openai_results_at_the_batch_price),
      cmocka_unit_test(test_reader_costs_anthropic_results_with_cache),
      cmocka_unit_test(test_reader_reports_what_it_cannot_price),
      cmocka_unit_test(test_reader_without_prices_normalises_usage_only),
      cmocka_unit_test(test_writer_out_of_memory_loop),
      cmocka_unit_test(test_reader_out_of_memory_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
