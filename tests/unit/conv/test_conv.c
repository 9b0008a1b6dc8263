/* The conversation model: reading, writing and converting OpenAI and
 * Anthropic JSON, accessors, changes, errors and out-of-memory behaviour. */
#include "test_util.h"

#include "internal.h"

/* ---- helpers ---- */

/* Canonical form of JSON text (sorted keys, no spaces): equal values give
 * equal strings.  Free with tkn_free. */
static char *canon(const char *json, size_t len) {
  tki_buf b;
  tki_buf_init(&b);
  char err[TKI_ERRLEN];
  int rc = tki_json_canonicalize(json, len, SIZE_MAX, 900, "test", &b, err);
  if (rc) fail_msg("not JSON (%s): %s", err, json);
  return tki_buf_steal(&b, NULL);
}

static void assert_same_json(const char *a, size_t alen, const char *b, size_t blen) {
  char *ca = canon(a, alen), *cb = canon(b, blen);
  if (strcmp(ca, cb) != 0) fail_msg("JSON differs:\n  %s\n  %s", ca, cb);
  tkn_free(ca);
  tkn_free(cb);
}


static char *write_json(tkn_conv *c, int format) {
  char *out = NULL;
  size_t len = 0;
  int rc = tkn_conv_to_json(c, format, &out, &len);
  if (rc) fail_msg("to_json failed (%d): %s", rc, tkn_error_last()->message);
  assert_int_equal(strlen(out), len);
  return out;
}

/* Loading `json` and writing the same format gives the same JSON value. */
static void assert_round_trip(int format, const char *json) {
  tkn_conv *c = tt_conv(format, json);
  char *out = write_json(c, format);
  assert_same_json(json, strlen(json), out, strlen(out));
  tkn_free(out);
  tkn_conv_free(c);
}

/* Converting `json` gives `expected` (as JSON values). */
static void assert_converts(int from, const char *json, int to, const char *expected) {
  tkn_conv *c = tt_conv(from, json);
  char *out = write_json(c, to);
  assert_same_json(expected, strlen(expected), out, strlen(out));
  tkn_free(out);
  tkn_conv_free(c);
}

/* Loading fails with `status` and an error text containing `needle`. */
static void assert_load_fails(int format, const char *json, size_t len, int status,
                              const char *needle) {
  tkn_conv *c = NULL;
  char err[512];
  int rc = tt_keep_err(tkn_conv_from_json(&c, format, json, len), err, sizeof err);
  assert_int_equal(rc, status);
  assert_null(c);
  if (!strstr(err, needle)) fail_msg("error \"%s\" does not mention \"%s\"", err, needle);
  assert_null(strchr(err, '\n'));
}

static void assert_text(tkn_conv *c, size_t i, const char *expected) {
  const char *t;
  size_t n;
  assert_int_equal(tkn_conv_text(c, i, &t, &n), TKN_OK);
  assert_int_equal(n, strlen(expected));
  assert_memory_equal(t, expected, n);
}

static const char *OPENAI_FULL =
    "{\"model\":\"gpt-4o\",\"temperature\":0.2,\"tools\":[{\"type\":\"function\",\"function\":"
    "{\"name\":\"lookup\",\"parameters\":{\"type\":\"object\"}}}],"
    "\"messages\":["
    "{\"role\":\"system\",\"content\":\"You are a support agent.\"},"
    "{\"role\":\"developer\",\"content\":\"Be brief.\"},"
    "{\"role\":\"user\",\"name\":\"ann\",\"content\":[{\"type\":\"text\",\"text\":\"Where is "
    "my order?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x.test/a.png\","
    "\"detail\":\"low\"}}]},"
    "{\"role\":\"assistant\",\"content\":null,\"refusal\":null,\"tool_calls\":[{\"id\":\"call_1\","
    "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"arguments\":\"{\\\"order\\\": "
    "42}\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"eta\","
    "\"arguments\":\"{}\"}}]},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"shipped\"},"
    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":[{\"type\":\"text\","
    "\"text\":\"2 days\"}]},"
    "{\"role\":\"assistant\",\"content\":\"It ships in 2 days.\",\"audio\":null,"
    "\"x_custom\":{\"a\":[1,2.5,true]}},"
    "{\"role\":\"user\",\"content\":\"thanks\",\"tool_calls\":[]}"
    "]}";

static const char *ANTHROPIC_FULL =
    "{\"model\":\"claude-sonnet\",\"max_tokens\":1024,\"metadata\":{\"user_id\":\"u1\"},"
    "\"system\":[{\"type\":\"text\",\"text\":\"You are a support agent.\","
    "\"cache_control\":{\"type\":\"ephemeral\"}}],"
    "\"messages\":["
    "{\"role\":\"user\",\"content\":\"Where is my order?\"},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\","
    "\"signature\":\"sig\"},{\"type\":\"text\",\"text\":\"Let me look.\"},{\"type\":"
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"lookup\",\"input\":{\"order\":42,\"deep\":"
    "{\"b\":[1,2],\"a\":null}}},{\"type\":\"text\",\"text\":\"And the ETA.\"},{\"type\":"
    "\"tool_use\",\"id\":\"toolu_2\",\"name\":\"eta\",\"input\":{},\"cache_control\":"
    "{\"type\":\"ephemeral\"}}]},"
    "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_1\","
    "\"content\":\"shipped\"},{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_2\","
    "\"content\":[{\"type\":\"text\",\"text\":\"unknown\"}],\"is_error\":true},"
    "{\"type\":\"text\",\"text\":\"Any news?\",\"cache_control\":{\"type\":\"ephemeral\"}}]},"
    "{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"Soon.\"}]}"
    "]}";

/* ---- roles ---- */

static void role_names_map_both_ways(void **state) {
  (void)state;
  const char *names[] = {"system", "developer", "user", "assistant", "tool"};
  for (int r = 0; r < 5; r++) {
    assert_string_equal(tkn_role_name(r), names[r]);
    assert_int_equal(tkn_role_from_name(names[r], strlen(names[r])), r);
  }
  assert_null(tkn_role_name(5));
  assert_null(tkn_role_name(-1));
  assert_int_equal(tkn_role_from_name("users", 5), -1);
  assert_int_equal(tkn_role_from_name("user", 3), -1);
  assert_int_equal(tkn_role_from_name(NULL, 0), -1);
}

/* ---- lifetime ---- */

static void new_conversation_is_empty(void **state) {
  (void)state;
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 0);
  assert_string_equal(tkn_error_last()->message, "");
  assert_int_equal(tkn_conv_source_format(c), TKN_PROVIDER_AUTO);
  char *out;
  size_t len;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, &len), TKN_OK);
  assert_string_equal(out, "[]");
  tkn_free(out);
  tkn_conv_free(c);
  tkn_conv_free(NULL);
  assert_int_equal(tkn_conv_new(NULL), TKN_ERR_INVALID);
}

/* ---- reading OpenAI ---- */

static void openai_bare_array_loads(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"system\",\"content\":\"S\"},{\"role\":\"user\",\"content\":\"hi\"}]";
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, j);
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_SYSTEM);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_USER);
  assert_int_equal(tkn_conv_role(c, 2), -1);
  assert_text(c, 1, "hi");
  assert_int_equal(tkn_conv_source_format(c), TKN_PROVIDER_OPENAI);
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, j);
  tkn_free(out);
  tkn_conv_free(c);
}

static void openai_round_trip_keeps_everything(void **state) {
  (void)state;
  assert_round_trip(TKN_PROVIDER_OPENAI, OPENAI_FULL);
}

static void openai_fields_are_modelled(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  assert_int_equal(tkn_conv_count(c), 8);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_DEVELOPER);
  /* parts */
  assert_true(tkn_conv_has_parts(c, 2));
  assert_false(tkn_conv_has_parts(c, 0));
  assert_int_equal(tkn_conv_part_count(c, 2), 2);
  const char *type, *text, *s;
  size_t n;
  assert_int_equal(tkn_conv_part(c, 2, 0, &type, &text, &n), TKN_OK);
  assert_string_equal(type, "text");
  assert_int_equal(n, strlen("Where is my order?"));
  assert_int_equal(tkn_conv_part(c, 2, 1, &type, &text, &n), TKN_OK);
  assert_string_equal(type, "image_url");
  assert_null(text);
  assert_int_equal(n, 0);
  assert_int_equal(tkn_conv_part(c, 2, 2, &type, &text, &n), TKN_ERR_INVALID);
  /* name */
  assert_int_equal(tkn_conv_name(c, 2, &s, &n), TKN_OK);
  assert_int_equal(n, 3);
  assert_memory_equal(s, "ann", 3);
  assert_int_equal(tkn_conv_name(c, 0, &s, &n), TKN_OK);
  assert_null(s);
  assert_int_equal(n, 0);
  /* tool calls */
  assert_int_equal(tkn_conv_tool_call_count(c, 3), 2);
  const char *id, *fn, *args;
  size_t idn, fnn, argn;
  assert_int_equal(tkn_conv_tool_call(c, 3, 0, &id, &idn, &fn, &fnn, &args, &argn), TKN_OK);
  assert_string_equal(id, "call_1");
  assert_string_equal(fn, "lookup");
  assert_string_equal(args, "{\"order\": 42}");
  assert_int_equal(argn, strlen(args));
  assert_int_equal(tkn_conv_tool_call(c, 3, 2, &id, &idn, &fn, &fnn, &args, &argn),
                   TKN_ERR_INVALID);
  /* null content is empty text */
  assert_text(c, 3, "");
  /* tool results */
  assert_int_equal(tkn_conv_tool_call_id(c, 4, &s, &n), TKN_OK);
  assert_string_equal(s, "call_1");
  assert_int_equal(tkn_conv_tool_call_id(c, 3, &s, &n), TKN_OK);
  assert_null(s);
  assert_text(c, 5, "2 days");
  tkn_conv_free(c);
}

static void tool_call_id_outside_a_tool_message_is_kept_verbatim(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"user\",\"content\":\"x\",\"tool_call_id\":\"odd\"}]";
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, j);
  const char *id;
  size_t n, at;
  assert_int_equal(tkn_conv_tool_call_id(c, 0, &id, &n), TKN_OK);
  assert_null(id);
  assert_int_equal(tkn_conv_find_tool_result(c, "odd", 3, &at), TKN_ERR_NOT_FOUND);
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, j);
  tkn_free(out);
  tkn_conv_free(c);
}

static void text_of_parts_is_joined_with_newlines(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI,
                        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}},{\"type\":\"text\","
                        "\"text\":\"b\"}]}]");
  assert_text(c, 0, "a\nb");
  tkn_conv_free(c);
}

static void accessors_reject_bad_indices(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"x\"}]");
  const char *s;
  size_t n;
  assert_int_equal(tkn_conv_text(c, 1, &s, &n), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "no message 1"));
  assert_int_equal(tkn_conv_text(c, 0, NULL, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_name(c, 1, &s, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_tool_call_id(c, 1, &s, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_part_count(c, 1), 0);
  assert_int_equal(tkn_conv_tool_call_count(c, 1), 0);
  assert_int_equal(tkn_conv_has_parts(c, 1), 0);
  assert_int_equal(tkn_conv_pinned(c, 1), 0);
  assert_int_equal(tkn_conv_count(NULL), 0);
  assert_int_equal(tkn_conv_role(NULL, 0), -1);
  assert_int_equal(tkn_conv_source_format(NULL), TKN_PROVIDER_AUTO);
  tkn_conv_free(c);
}

/* ---- reading Anthropic ---- */

static void anthropic_round_trip_keeps_everything(void **state) {
  (void)state;
  assert_round_trip(TKN_PROVIDER_ANTHROPIC, ANTHROPIC_FULL);
}

static void anthropic_bare_array_round_trips(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
                  "[{\"type\":\"text\",\"text\":\"yo\"}]}]";
  tkn_conv *c = tt_conv(TKN_PROVIDER_ANTHROPIC, j);
  char *out = write_json(c, TKN_PROVIDER_ANTHROPIC);
  assert_string_equal(out, j);
  tkn_free(out);
  tkn_conv_free(c);
}

static void anthropic_system_string_is_a_system_message(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_ANTHROPIC,
                        "{\"system\":\"Be kind.\",\"messages\":[{\"role\":\"user\",\"content\":"
                        "\"hi\"}]}");
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_SYSTEM);
  assert_text(c, 0, "Be kind.");
  tkn_conv_free(c);
}

static void anthropic_tool_results_become_tool_messages(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_ANTHROPIC, ANTHROPIC_FULL);
  /* system, user, assistant, tool, tool, user, assistant */
  assert_int_equal(tkn_conv_count(c), 7);
  int roles[] = {TKN_ROLE_SYSTEM, TKN_ROLE_USER, TKN_ROLE_ASSISTANT, TKN_ROLE_TOOL,
                 TKN_ROLE_TOOL,   TKN_ROLE_USER, TKN_ROLE_ASSISTANT};
  for (size_t i = 0; i < 7; i++) assert_int_equal(tkn_conv_role(c, i), roles[i]);
  const char *s;
  size_t n;
  assert_int_equal(tkn_conv_tool_call_id(c, 4, &s, &n), TKN_OK);
  assert_string_equal(s, "toolu_2");
  assert_text(c, 4, "unknown");
  assert_text(c, 5, "Any news?");
  assert_text(c, 2, "Let me look.\nAnd the ETA.");
  const char *id, *fn, *args;
  size_t idn, fnn, argn;
  assert_int_equal(tkn_conv_tool_call(c, 2, 0, &id, &idn, &fn, &fnn, &args, &argn), TKN_OK);
  assert_string_equal(fn, "lookup");
  /* input becomes compact JSON text with sorted keys */
  assert_string_equal(args, "{\"deep\":{\"a\":null,\"b\":[1,2]},\"order\":42}");
  tkn_conv_free(c);
}

/* ---- converting ---- */

static void openai_converts_to_anthropic(void **state) {
  (void)state;
  assert_converts(
      TKN_PROVIDER_OPENAI, OPENAI_FULL, TKN_PROVIDER_ANTHROPIC,
      "{\"system\":[{\"type\":\"text\",\"text\":\"You are a support agent.\"},{\"type\":\"text\","
      "\"text\":\"Be brief.\"}],\"messages\":["
      "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Where is my order?\"},"
      "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://x.test/a.png\"}}]},"
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"call_1\",\"name\":"
      "\"lookup\",\"input\":{\"order\":42}},{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":"
      "\"eta\",\"input\":{}}]},"
      "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"call_1\","
      "\"content\":\"shipped\"},{\"type\":\"tool_result\",\"tool_use_id\":\"call_2\","
      "\"content\":[{\"type\":\"text\",\"text\":\"2 days\"}]}]},"
      "{\"role\":\"assistant\",\"content\":\"It ships in 2 days.\"},"
      "{\"role\":\"user\",\"content\":\"thanks\"}]}");
}

static void anthropic_converts_to_openai(void **state) {
  (void)state;
  assert_converts(
      TKN_PROVIDER_ANTHROPIC, ANTHROPIC_FULL, TKN_PROVIDER_OPENAI,
      "{\"messages\":["
      "{\"role\":\"system\",\"content\":\"You are a support agent.\"},"
      "{\"role\":\"user\",\"content\":\"Where is my order?\"},"
      "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hm\","
      "\"signature\":\"sig\"},{\"type\":\"text\",\"text\":\"Let me look.\"},{\"type\":\"text\","
      "\"text\":\"And the ETA.\"}],\"tool_calls\":[{\"id\":\"toolu_1\",\"type\":\"function\","
      "\"function\":{\"name\":\"lookup\",\"arguments\":"
      "\"{\\\"deep\\\":{\\\"a\\\":null,\\\"b\\\":[1,2]},\\\"order\\\":42}\"}},{\"id\":"
      "\"toolu_2\",\"type\":\"function\",\"function\":{\"name\":\"eta\",\"arguments\":\"{}\"}}]},"
      "{\"role\":\"tool\",\"content\":\"shipped\",\"tool_call_id\":\"toolu_1\"},"
      "{\"role\":\"tool\",\"content\":\"unknown\",\"tool_call_id\":\"toolu_2\"},"
      "{\"role\":\"user\",\"content\":\"Any news?\"},"
      "{\"role\":\"assistant\",\"content\":\"Soon.\"}]}");
}

static void images_convert_both_ways(void **state) {
  (void)state;
  const char *oa = "[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":"
                   "{\"url\":\"data:image/png;base64,iVBO\"}}]}]";
  const char *an = "[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":{\"type\":"
                   "\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBO\"}}]}]";
  assert_converts(TKN_PROVIDER_OPENAI, oa, TKN_PROVIDER_ANTHROPIC, an);
  assert_converts(TKN_PROVIDER_ANTHROPIC, an, TKN_PROVIDER_OPENAI, oa);
}

static void openai_to_anthropic_and_back_keeps_messages(void **state) {
  (void)state;
  tkn_conv *a = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  char *an = write_json(a, TKN_PROVIDER_ANTHROPIC);
  tkn_conv *b = tt_conv(TKN_PROVIDER_ANTHROPIC, an);
  /* system + developer merge into one system message */
  assert_int_equal(tkn_conv_count(b), tkn_conv_count(a) - 1);
  for (size_t i = 2; i < tkn_conv_count(a); i++) {
    assert_int_equal(tkn_conv_role(a, i), tkn_conv_role(b, i - 1));
    const char *ta, *tb;
    size_t na, nb;
    tkn_conv_text(a, i, &ta, &na);
    tkn_conv_text(b, i - 1, &tb, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(ta, tb, na);
    assert_int_equal(tkn_conv_tool_call_count(a, i), tkn_conv_tool_call_count(b, i - 1));
  }
  tkn_free(an);
  tkn_conv_free(a);
  tkn_conv_free(b);
}

static void empty_arguments_become_an_empty_input(void **state) {
  (void)state;
  assert_converts(TKN_PROVIDER_OPENAI,
                  "[{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{\"id\":\"c\","
                  "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\" \"}}]}]",
                  TKN_PROVIDER_ANTHROPIC,
                  "[{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":\"ok\"},"
                  "{\"type\":\"tool_use\",\"id\":\"c\",\"name\":\"f\",\"input\":{}}]}]");
}

static void invalid_arguments_fail_conversion_to_anthropic(void **state) {
  (void)state;
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_OPENAI,
              "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"assistant\",\"content\":"
              "null,\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":"
              "{\"name\":\"f\",\"arguments\":\"{oops\"}}]}]");
  char *out = (char *)1;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_ERR_SCHEMA);
  assert_null(out);
  assert_non_null(strstr(tkn_error_last()->message, "messages[1].tool_calls[0].arguments: not valid JSON"));
  assert_int_equal(tkn_conv_count(c), 2);
  /* still writes as OpenAI */
  out = write_json(c, TKN_PROVIDER_OPENAI);
  tkn_free(out);
  tkn_conv_free(c);
}

static void non_object_arguments_fail_conversion_to_anthropic(void **state) {
  (void)state;
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_OPENAI,
              "[{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c\","
              "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"[1]\"}}]}]");
  char *out;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_ERR_SCHEMA);
  assert_non_null(strstr(tkn_error_last()->message, "not a JSON object"));
  tkn_conv_free(c);
}

static void consecutive_tool_messages_join_one_user_message(void **state) {
  (void)state;
  assert_converts(TKN_PROVIDER_OPENAI,
                  "[{\"role\":\"tool\",\"tool_call_id\":\"a\",\"content\":\"1\"},"
                  "{\"role\":\"tool\",\"tool_call_id\":\"b\",\"content\":\"2\"},"
                  "{\"role\":\"user\",\"content\":\"next\"}]",
                  TKN_PROVIDER_ANTHROPIC,
                  "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                  "\"a\",\"content\":\"1\"},{\"type\":\"tool_result\",\"tool_use_id\":\"b\","
                  "\"content\":\"2\"}]},{\"role\":\"user\",\"content\":\"next\"}]");
}

/* ---- format detection ---- */

static void auto_detects_the_format(void **state) {
  (void)state;
  struct {
    const char *json;
    int format;
  } cases[] = {
      {"{\"system\":\"s\",\"messages\":[]}", TKN_PROVIDER_ANTHROPIC},
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"x\"}]}]",
       TKN_PROVIDER_ANTHROPIC},
      {"[{\"role\":\"system\",\"content\":\"s\"}]", TKN_PROVIDER_OPENAI},
      {"[{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"s\"}]", TKN_PROVIDER_OPENAI},
      {"[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"u\"}}]}]",
       TKN_PROVIDER_OPENAI},
      {"[{\"role\":\"user\",\"content\":\"plain\"}]", TKN_PROVIDER_OPENAI},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    tkn_conv *c = tt_conv(TKN_PROVIDER_AUTO, cases[k].json);
    assert_int_equal(tkn_conv_source_format(c), cases[k].format);
    tkn_conv_free(c);
  }
}

/* ---- errors ---- */

static void malformed_json_names_line_column_and_byte(void **state) {
  (void)state;
  const char *j = "[\n  {\"role\": \"user\",\n   \"content\": \"x\" oops}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_PARSE, "line 3, column");
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_PARSE, "byte");
}

static void invalid_utf8_names_the_offset(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"user\",\"content\":\"a\xC3\x28\"}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_UTF8, "byte 28");
}

static void unknown_role_is_named(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"user\",\"content\":\"x\"},{\"role\":\"wizard\",\"content\":\"y\"}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_SCHEMA,
                    "messages[1].role: unknown role \"wizard\"");
  const char *k = "[{\"content\":\"y\"}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, k, strlen(k), TKN_ERR_SCHEMA, "messages[0]: missing \"role\"");
  const char *l = "[{\"role\":7}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, l, strlen(l), TKN_ERR_SCHEMA, "messages[0].role: expected a string");
}

static void content_of_the_wrong_type_is_named(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"},"
                  "{\"role\":\"user\",\"content\":\"c\"},{\"role\":\"user\",\"content\":5}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_SCHEMA,
                    "messages[3].content: expected a string or an array of parts");
  const char *k = "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":3}]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, k, strlen(k), TKN_ERR_SCHEMA,
                    "messages[0].content[0].text: expected a string");
  const char *l = "[{\"role\":\"user\",\"content\":[\"bare\"]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, l, strlen(l), TKN_ERR_SCHEMA,
                    "messages[0].content[0]: expected an object with a string \"type\"");
  const char *m = "{\"messages\":[{\"role\":\"user\",\"content\":{}}]}";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, m, strlen(m), TKN_ERR_SCHEMA,
                    "messages[0].content: expected a string or an array of content blocks");
  const char *n = "[{\"role\":\"user\",\"content\":\"x\",\"name\":1}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, n, strlen(n), TKN_ERR_SCHEMA, "messages[0].name: expected a string");
}

static void tool_result_without_id_fails(void **state) {
  (void)state;
  const char *j = "[{\"role\":\"tool\",\"content\":\"x\"}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, j, strlen(j), TKN_ERR_SCHEMA,
                    "messages[0]: a tool message needs a \"tool_call_id\"");
  const char *k = "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"content\":\"x\"}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, k, strlen(k), TKN_ERR_SCHEMA,
                    "messages[0].content[0]: a tool_result needs a \"tool_use_id\"");
}

static void tool_call_shapes_are_checked(void **state) {
  (void)state;
  const char *a = "[{\"role\":\"assistant\",\"tool_calls\":{}}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, a, strlen(a), TKN_ERR_SCHEMA,
                    "messages[0].tool_calls: expected an array");
  const char *u = "[{\"role\":\"user\",\"content\":\"x\",\"tool_calls\":[{\"id\":\"x\"}]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, u, strlen(u), TKN_ERR_SCHEMA,
                    "messages[0].tool_calls: only assistant messages make tool calls");
  const char *b = "[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"function\":3}]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, b, strlen(b), TKN_ERR_SCHEMA,
                    "messages[0].tool_calls[0].function: expected an object");
  const char *c = "[{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"x\",\"type\":\"custom\","
                  "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, c, strlen(c), TKN_ERR_UNSUPPORTED,
                    "messages[0].tool_calls[0].type");
  const char *d = "[{\"role\":\"assistant\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
                  "\"arguments\":\"{}\"}}]}]";
  assert_load_fails(TKN_PROVIDER_OPENAI, d, strlen(d), TKN_ERR_SCHEMA,
                    "messages[0].tool_calls[0]: missing \"id\"");
  const char *e = "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\","
                  "\"name\":\"f\",\"input\":{}}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, e, strlen(e), TKN_ERR_SCHEMA,
                    "a tool_use block belongs in an assistant message");
  const char *f = "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\","
                  "\"name\":\"f\",\"input\":[]}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, f, strlen(f), TKN_ERR_SCHEMA,
                    "messages[0].content[0].input: expected an object");
  const char *g = "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_result\","
                  "\"tool_use_id\":\"x\"}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, g, strlen(g), TKN_ERR_SCHEMA,
                    "a tool_result block belongs in a user message");
  const char *h = "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                  "\"tool_use_id\":\"x\",\"is_error\":1}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, h, strlen(h), TKN_ERR_SCHEMA,
                    "messages[0].content[0].is_error: expected true or false");
}

static void anthropic_roles_are_checked(void **state) {
  (void)state;
  const char *a = "{\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, a, strlen(a), TKN_ERR_SCHEMA,
                    "messages[0].role: \"system\" is not a message role in Anthropic Messages");
  const char *b = "{\"messages\":[{\"role\":\"robot\",\"content\":\"x\"}]}";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, b, strlen(b), TKN_ERR_SCHEMA,
                    "messages[0].role: unknown role \"robot\"");
  const char *c = "{\"system\":[{\"type\":\"image\"}],\"messages\":[]}";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, c, strlen(c), TKN_ERR_SCHEMA,
                    "system[0]: expected a text block");
  const char *d = "{\"system\":5,\"messages\":[]}";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, d, strlen(d), TKN_ERR_SCHEMA,
                    "system: expected a string or an array of text blocks");
}

static void top_level_shape_is_checked(void **state) {
  (void)state;
  assert_load_fails(TKN_PROVIDER_OPENAI, "{\"model\":\"x\"}", 13, TKN_ERR_SCHEMA,
                    "an object without \"messages\"");
  assert_load_fails(TKN_PROVIDER_OPENAI, "{\"messages\":{}}", 15, TKN_ERR_SCHEMA,
                    "messages: expected an array of messages");
  assert_load_fails(TKN_PROVIDER_OPENAI, "\"x\"", 3, TKN_ERR_SCHEMA,
                    "conversation: expected an array of messages");
  assert_load_fails(TKN_PROVIDER_OPENAI, "[3]", 3, TKN_ERR_SCHEMA,
                    "messages[0]: expected a message object");
  assert_load_fails(TKN_PROVIDER_OPENAI, "", 0, TKN_ERR_PARSE, "empty input");
  assert_load_fails(7, "[]", 2, TKN_ERR_INVALID, "provider 7: not a TKN_PROVIDER_* value");
  assert_load_fails(TKN_PROVIDER_GEMINI, "[]", 2, TKN_ERR_UNSUPPORTED, "Gemini is not supported");
  assert_load_fails(TKN_USAGE_ANTHROPIC, "[]", 2, TKN_ERR_INVALID, "not a TKN_PROVIDER_* value");
}

static void limits_fail_cleanly(void **state) {
  (void)state;
  /* size */
  size_t big = TKN_CONV_MAX_INPUT + 1;
  char *buf = malloc(big);
  assert_non_null(buf);
  memset(buf, ' ', big);
  buf[0] = '[';
  buf[big - 1] = ']';
  assert_load_fails(TKN_PROVIDER_OPENAI, buf, big, TKN_ERR_LIMIT, "exceeds the limit");
  free(buf);
  /* depth */
  char deep[2 * (TKN_CONV_MAX_DEPTH + 10) + 64];
  size_t at = (size_t)sprintf(deep, "[{\"role\":\"user\",\"content\":\"x\",\"x\":");
  for (int k = 0; k < TKN_CONV_MAX_DEPTH; k++) deep[at++] = '[';
  for (int k = 0; k < TKN_CONV_MAX_DEPTH; k++) deep[at++] = ']';
  deep[at++] = '}';
  deep[at++] = ']';
  assert_load_fails(TKN_PROVIDER_OPENAI, deep, at, TKN_ERR_LIMIT, "nesting deeper than");
  /* message count: checked before any message is read */
  size_t n = (size_t)TKN_CONV_MAX_MESSAGES + 1;
  char *many = malloc(2 * n + 2);
  assert_non_null(many);
  many[0] = '[';
  for (size_t k = 0; k < n; k++) {
    many[1 + 2 * k] = '0';
    many[2 + 2 * k] = ',';
  }
  many[2 * n] = ']';
  assert_load_fails(TKN_PROVIDER_OPENAI, many, 2 * n + 1, TKN_ERR_LIMIT, "exceeds the limit of");
  free(many);
}

static void numbers_beyond_a_double_round_trip_and_huge_exponents_fail_cleanly(void **state) {
  (void)state;
  const char *big = "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\","
                    "\"name\":\"f\",\"input\":{\"n\":1e999}}]}]";
  tkn_conv *k = tt_conv(TKN_PROVIDER_ANTHROPIC, big);
  char *kept = write_json(k, TKN_PROVIDER_ANTHROPIC);
  assert_non_null(strstr(kept, "{\"n\":1e+999}"));
  tkn_free(kept);
  tkn_conv_free(k);
  const char *a = "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":\"x\","
                  "\"name\":\"f\",\"input\":{\"n\":1e9999999999999}}]}]";
  assert_load_fails(TKN_PROVIDER_ANTHROPIC, a, strlen(a), TKN_ERR_UNSUPPORTED,
                    "messages[0].content[0].input: a number whose exponent has more than 12 digits");
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "{\"seed\":-1e99999999999999,\"messages\":[]}");
  char *out = (char *)1;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, NULL), TKN_ERR_UNSUPPORTED);
  assert_null(out);
  assert_non_null(strstr(tkn_error_last()->message, "more than 12 digits"));
  tkn_conv_free(c);
}

/* issue 21: big integers and escaped NULs came back as doubles and cut
 * strings; a round trip now gives the same JSON value. */
static void round_trip_keeps_big_integers_and_nul_escapes(void **state) {
  (void)state;
  const char *in =
      "{\"seed\":1234567890123456789,\"messages\":[{\"role\":\"user\",\"content\":\"abc\\u0000def\"},"
      "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"id\\\":1234567890123456789,"
      "\\\"k\\\\u0000x\\\":0.1000000000000000000001}\"}}]}]}";
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, in);
  const char *t;
  size_t n;
  assert_int_equal(tkn_conv_text(c, 0, &t, &n), TKN_OK);
  assert_int_equal(n, 7);
  assert_memory_equal(t, "abc\0def", 7);
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_non_null(strstr(out, "\"seed\":1234567890123456789"));
  assert_non_null(strstr(out, "\"abc\\u0000def\""));
  assert_non_null(strstr(out, "1234567890123456789"));
  assert_non_null(strstr(out, "k\\\\u0000x"));
  assert_non_null(strstr(out, "0.1000000000000000000001"));
  assert_null(strstr(out, "e+18"));
  tkn_free(out);
  tkn_conv_free(c);
}

static void failed_load_leaves_the_conversation_unchanged(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  char *before = write_json(c, TKN_PROVIDER_OPENAI);
  const char *bad[] = {"[{\"role\":\"user\",\"content\":\"ok\"},{\"role\":\"user\",\"content\":1}]",
                       "[oops", "{\"system\":[{\"type\":\"x\"}],\"messages\":[]}"};
  for (size_t k = 0; k < 3; k++) {
    assert_int_not_equal(tkn_conv_load(c, TKN_PROVIDER_AUTO, bad[k], strlen(bad[k])), TKN_OK);
    assert_string_not_equal(tkn_error_last()->message, "");
    char *after = write_json(c, TKN_PROVIDER_OPENAI);
    assert_string_equal(before, after);
    tkn_free(after);
  }
  assert_int_equal(tkn_conv_source_format(c), TKN_PROVIDER_OPENAI);
  tkn_free(before);
  tkn_conv_free(c);
}

static void from_json_failures_are_in_the_last_error(void **state) {
  (void)state;
  tkn_conv *c = (tkn_conv *)1;
  char err[16];
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, "[1", 2), err, sizeof err),
                   TKN_ERR_PARSE);
  assert_null(c);
  assert_int_equal(strlen(err), sizeof err - 1); /* truncated */
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, "[1", 2), TKN_ERR_PARSE);
  assert_int_equal(tt_keep_err(tkn_conv_from_json(NULL, TKN_PROVIDER_OPENAI, "[]", 2), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_load(NULL, TKN_PROVIDER_OPENAI, "[]", 2), TKN_ERR_INVALID);
  tkn_conv *d;
  assert_int_equal(tkn_conv_new(&d), TKN_OK);
  assert_int_equal(tkn_conv_load(d, TKN_PROVIDER_OPENAI, NULL, 2), TKN_ERR_INVALID);
  tkn_conv_free(d);
}

static void to_json_checks_its_arguments(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[]");
  char *out;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_AUTO, &out, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_to_json(NULL, TKN_PROVIDER_OPENAI, &out, NULL), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

/* ---- single messages ---- */

static void message_to_json_writes_one_message(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  char *out;
  size_t len;
  assert_int_equal(tkn_conv_message_to_json(c, 4, TKN_PROVIDER_OPENAI, &out, &len), TKN_OK);
  assert_string_equal(out, "{\"role\":\"tool\",\"content\":\"shipped\",\"tool_call_id\":\"call_1\"}");
  assert_int_equal(len, strlen(out));
  tkn_free(out);
  assert_int_equal(tkn_conv_message_to_json(c, 4, TKN_PROVIDER_ANTHROPIC, &out, &len), TKN_OK);
  assert_string_equal(out, "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                           "\"tool_use_id\":\"call_1\",\"content\":\"shipped\"}]}");
  tkn_free(out);
  assert_int_equal(tkn_conv_message_to_json(c, 0, TKN_PROVIDER_ANTHROPIC, &out, &len),
                   TKN_ERR_UNSUPPORTED);
  assert_null(out);
  assert_non_null(strstr(tkn_error_last()->message, "top-level \"system\""));
  assert_int_equal(tkn_conv_message_to_json(c, 99, TKN_PROVIDER_OPENAI, &out, &len), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_message_to_json(c, 0, TKN_PROVIDER_AUTO, &out, &len), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_message_to_json(c, 0, TKN_PROVIDER_OPENAI, NULL, &len), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

static void tool_calls_and_results_are_found_by_id(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  size_t at = 99;
  assert_int_equal(tkn_conv_find_tool_call(c, "call_2", 6, &at), TKN_OK);
  assert_int_equal(at, 3);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_2", 6, &at), TKN_OK);
  assert_int_equal(at, 5);
  assert_int_equal(tkn_conv_find_tool_call(c, "call_3", 6, &at), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_", 5, &at), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_conv_find_tool_call(c, NULL, 3, &at), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_find_tool_result(c, "x", 1, NULL), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

static void lookups_follow_every_change(void **state) {
  (void)state;
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  char id[32];
  for (int k = 0; k < 2000; k++) {
    int n = snprintf(id, sizeof id, "call_%d", k);
    assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "", 0), TKN_OK);
    assert_int_equal(tkn_conv_add_tool_call(c, tkn_conv_count(c) - 1, id, (size_t)n, "f", 1,
                                            "{}", 2),
                     TKN_OK);
    assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_TOOL, "r", 1), TKN_OK);
    assert_int_equal(tkn_conv_set_tool_call_id(c, tkn_conv_count(c) - 1, id, (size_t)n), TKN_OK);
  }
  size_t at;
  assert_int_equal(tkn_conv_find_tool_call(c, "call_1500", 9, &at), TKN_OK);
  assert_int_equal(at, 3000);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_1500", 9, &at), TKN_OK);
  assert_int_equal(at, 3001);
  /* removing shifts what follows */
  assert_int_equal(tkn_conv_remove(c, 0), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_call(c, "call_1500", 9, &at), TKN_OK);
  assert_int_equal(at, 2999);
  assert_int_equal(tkn_conv_find_tool_call(c, "call_0", 6, &at), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_0", 6, &at), TKN_OK);
  assert_int_equal(at, 0);
  /* inserting in front, the first holder of an id wins */
  const char *dup = "{\"role\":\"tool\",\"tool_call_id\":\"call_1500\",\"content\":\"x\"}";
  assert_int_equal(tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, dup, strlen(dup)), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_1500", 9, &at), TKN_OK);
  assert_int_equal(at, 0);
  /* changing an id */
  assert_int_equal(tkn_conv_set_tool_call_id(c, 0, "other", 5), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_1500", 9, &at), TKN_OK);
  assert_int_equal(at, 3001); /* removed one, inserted one in front */
  assert_int_equal(tkn_conv_find_tool_result(c, "other", 5, &at), TKN_OK);
  assert_int_equal(at, 0);
  /* adding a call, filtering, replacing */
  assert_int_equal(tkn_conv_add_tool_call(c, 2, "extra", 5, "g", 1, "{}", 2), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_call(c, "extra", 5, &at), TKN_OK);
  assert_int_equal(at, 2);
  size_t n = tkn_conv_count(c);
  uint8_t *keep = calloc(n, 1);
  assert_non_null(keep);
  keep[2] = keep[n - 1] = 1;
  assert_int_equal(tkn_conv_filter(c, keep, n), TKN_OK);
  free(keep);
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_find_tool_call(c, "extra", 5, &at), TKN_OK);
  assert_int_equal(at, 0);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_1999", 9, &at), TKN_OK);
  assert_int_equal(at, 1);
  const char *plain = "{\"role\":\"user\",\"content\":\"p\"}";
  assert_int_equal(tkn_conv_replace_json(c, 0, TKN_PROVIDER_OPENAI, plain, strlen(plain)), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_call(c, "extra", 5, &at), TKN_ERR_NOT_FOUND);
  /* loading and clearing */
  assert_int_equal(tkn_conv_load(c, TKN_PROVIDER_OPENAI, OPENAI_FULL, strlen(OPENAI_FULL)), TKN_OK);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_1999", 9, &at), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_2", 6, &at), TKN_OK);
  assert_int_equal(at, 5);
  tkn_conv_clear(c);
  assert_int_equal(tkn_conv_find_tool_result(c, "call_2", 6, &at), TKN_ERR_NOT_FOUND);
  tkn_conv_free(c);
}

/* ---- changing messages ---- */

static void append_and_insert_text_place_messages(void **state) {
  (void)state;
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, "b", 1), TKN_OK);
  assert_int_equal(tkn_conv_insert_text(c, 0, TKN_ROLE_SYSTEM, "a", 1), TKN_OK);
  assert_int_equal(tkn_conv_insert_text(c, 2, TKN_ROLE_ASSISTANT, "c", 1), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 3);
  assert_text(c, 0, "a");
  assert_text(c, 1, "b");
  assert_text(c, 2, "c");
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, "[{\"role\":\"system\",\"content\":\"a\"},{\"role\":\"user\","
                           "\"content\":\"b\"},{\"role\":\"assistant\",\"content\":\"c\"}]");
  tkn_free(out);
  out = write_json(c, TKN_PROVIDER_ANTHROPIC);
  assert_string_equal(out, "{\"system\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"},"
                           "{\"role\":\"assistant\",\"content\":\"c\"}]}");
  tkn_free(out);
  tkn_conv_free(c);
}

static void adding_text_checks_its_input(void **state) {
  (void)state;
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, 9, "x", 1), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "unknown role 9"));
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, "a\xFF", 2), TKN_ERR_UTF8);
  assert_non_null(strstr(tkn_error_last()->message, "byte 1"));
  assert_int_equal(tkn_conv_insert_text(c, 1, TKN_ROLE_USER, "x", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, NULL, 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_append_text(NULL, TKN_ROLE_USER, "x", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, NULL, 0), TKN_OK);
  assert_text(c, 0, "");
  assert_int_equal(tkn_conv_count(c), 1);
  tkn_conv_free(c);
}

static void insert_json_splits_anthropic_tool_results(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"}]");
  const char *m = "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                  "\"t1\",\"content\":\"r1\"},{\"type\":\"tool_result\",\"tool_use_id\":\"t2\","
                  "\"content\":\"r2\"}]}";
  assert_int_equal(tkn_conv_insert_json(c, 0, TKN_PROVIDER_ANTHROPIC, m, strlen(m)), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 3);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_TOOL);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_TOOL);
  assert_text(c, 1, "r2");
  assert_text(c, 2, "a");
  const char *o = "{\"role\":\"assistant\",\"content\":\"z\",\"x_extra\":1}";
  assert_int_equal(tkn_conv_insert_json(c, 3, TKN_PROVIDER_AUTO, o, strlen(o)), TKN_OK);
  char *out;
  assert_int_equal(tkn_conv_message_to_json(c, 3, TKN_PROVIDER_OPENAI, &out, NULL), TKN_OK);
  assert_same_json(o, strlen(o), out, strlen(out));
  tkn_free(out);
  tkn_conv_free(c);
}

static void insert_json_failure_changes_nothing(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"}]");
  const char *bad = "{\"role\":\"tool\",\"content\":\"r\"}";
  assert_int_equal(tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, bad, strlen(bad)), TKN_ERR_SCHEMA);
  assert_non_null(strstr(tkn_error_last()->message, "message: a tool message needs"));
  assert_int_equal(tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, "[]", 2), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_conv_insert_json(c, 0, TKN_PROVIDER_OPENAI, "{", 1), TKN_ERR_PARSE);
  assert_int_equal(tkn_conv_insert_json(c, 5, TKN_PROVIDER_OPENAI, "{}", 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_insert_json(c, 0, 9, "{}", 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_count(c), 1);
  assert_text(c, 0, "a");
  tkn_conv_free(c);
}

static void replace_json_swaps_one_message(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"},"
                                             "{\"role\":\"user\",\"content\":\"b\"}]");
  const char *m = "{\"role\":\"assistant\",\"content\":\"B\"}";
  assert_int_equal(tkn_conv_replace_json(c, 1, TKN_PROVIDER_OPENAI, m, strlen(m)), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 2);
  assert_int_equal(tkn_conv_role(c, 1), TKN_ROLE_ASSISTANT);
  assert_text(c, 1, "B");
  const char *two = "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                    "\"t1\"},{\"type\":\"text\",\"text\":\"and\"}]}";
  assert_int_equal(tkn_conv_replace_json(c, 0, TKN_PROVIDER_ANTHROPIC, two, strlen(two)), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 3);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_TOOL);
  assert_text(c, 1, "and");
  assert_text(c, 2, "B");
  assert_int_equal(tkn_conv_replace_json(c, 3, TKN_PROVIDER_OPENAI, m, strlen(m)), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_replace_json(c, 0, TKN_PROVIDER_OPENAI, "{}", 2), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_conv_count(c), 3);
  tkn_conv_free(c);
}

static void set_text_replaces_parts(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  assert_int_equal(tkn_conv_set_text(c, 2, "plain", 5), TKN_OK);
  assert_false(tkn_conv_has_parts(c, 2));
  assert_int_equal(tkn_conv_part_count(c, 2), 0);
  assert_text(c, 2, "plain");
  assert_int_equal(tkn_conv_set_text(c, 2, "\xC0\x80", 2), TKN_ERR_UTF8);
  assert_int_equal(tkn_conv_set_text(c, 99, "x", 1), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_set_text(c, 2, NULL, 1), TKN_ERR_INVALID);
  assert_text(c, 2, "plain");
  tkn_conv_free(c);
}

static void set_name_sets_and_removes(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"}]");
  const char *s;
  size_t n;
  assert_int_equal(tkn_conv_set_name(c, 0, "bob", 3), TKN_OK);
  tkn_conv_name(c, 0, &s, &n);
  assert_string_equal(s, "bob");
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, "[{\"role\":\"user\",\"content\":\"a\",\"name\":\"bob\"}]");
  tkn_free(out);
  assert_int_equal(tkn_conv_set_name(c, 0, NULL, 0), TKN_OK);
  tkn_conv_name(c, 0, &s, &n);
  assert_null(s);
  assert_int_equal(tkn_conv_set_name(c, 0, NULL, 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_set_name(c, 0, "\xFF", 1), TKN_ERR_UTF8);
  assert_int_equal(tkn_conv_set_name(c, 1, "x", 1), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

static void pinned_is_kept_but_never_written(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"}]");
  assert_int_equal(tkn_conv_pinned(c, 0), 0);
  assert_int_equal(tkn_conv_set_pinned(c, 0, 7), TKN_OK);
  assert_int_equal(tkn_conv_pinned(c, 0), 1);
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_null(strstr(out, "pinned"));
  tkn_free(out);
  out = write_json(c, TKN_PROVIDER_ANTHROPIC);
  assert_null(strstr(out, "pinned"));
  tkn_free(out);
  assert_int_equal(tkn_conv_set_pinned(c, 0, 0), TKN_OK);
  assert_int_equal(tkn_conv_pinned(c, 0), 0);
  assert_int_equal(tkn_conv_set_pinned(c, 1, 1), TKN_ERR_INVALID);
  tkn_conv_free(c);
}

static void tool_calls_are_built_by_hand(void **state) {
  (void)state;
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "", 0), TKN_OK);
  assert_int_equal(tkn_conv_add_tool_call(c, 0, "c1", 2, "get", 3, "{\"q\":1}", 7), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_TOOL, "res", 3), TKN_OK);
  /* a tool message without an id cannot be written */
  char *out;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, NULL), TKN_ERR_STATE);
  assert_non_null(strstr(tkn_error_last()->message, "messages[1]: a tool message has no tool-call id"));
  assert_int_equal(tkn_conv_set_tool_call_id(c, 1, "c1", 2), TKN_OK);
  out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, "[{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":"
                           "\"c1\",\"function\":{\"name\":\"get\",\"arguments\":"
                           "\"{\\\"q\\\":1}\"},\"type\":\"function\"}]},{\"role\":\"tool\","
                           "\"content\":\"res\",\"tool_call_id\":\"c1\"}]");
  tkn_free(out);
  out = write_json(c, TKN_PROVIDER_ANTHROPIC);
  assert_string_equal(out, "[{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\",\"id\":"
                           "\"c1\",\"name\":\"get\",\"input\":{\"q\":1}}]},{\"role\":\"user\","
                           "\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"c1\","
                           "\"content\":\"res\"}]}]");
  tkn_free(out);
  size_t at;
  assert_int_equal(tkn_conv_find_tool_result(c, "c1", 2, &at), TKN_OK);
  assert_int_equal(at, 1);
  tkn_conv_free(c);
}

static void tool_call_changes_check_the_role(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, "[{\"role\":\"user\",\"content\":\"a\"},"
                                             "{\"role\":\"assistant\",\"content\":\"b\"}]");
  assert_int_equal(tkn_conv_add_tool_call(c, 0, "c", 1, "f", 1, "{}", 2), TKN_ERR_STATE);
  assert_non_null(strstr(tkn_error_last()->message, "not an assistant message"));
  assert_int_equal(tkn_conv_set_tool_call_id(c, 1, "c", 1), TKN_ERR_STATE);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, "", 0, "f", 1, "{}", 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, "c", 1, NULL, 0, "{}", 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, "c", 1, "f", 1, NULL, 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, "c", 1, "f", 1, "\xFF", 1), TKN_ERR_UTF8);
  assert_int_equal(tkn_conv_add_tool_call(c, 2, "c", 1, "f", 1, "{}", 2), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_tool_call_count(c, 1), 0);
  tkn_conv_free(c);
}

static void remove_filter_and_clear(void **state) {
  (void)state;
  tkn_conv *c = tt_conv(TKN_PROVIDER_OPENAI, OPENAI_FULL);
  assert_int_equal(tkn_conv_remove(c, 0), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 7);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_DEVELOPER);
  assert_int_equal(tkn_conv_remove(c, 7), TKN_ERR_INVALID);
  uint8_t keep[7] = {0, 1, 0, 0, 0, 1, 1};
  assert_int_equal(tkn_conv_filter(c, keep, 6), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_count(c), 7);
  assert_int_equal(tkn_conv_filter(c, keep, 7), TKN_OK);
  assert_int_equal(tkn_conv_count(c), 3);
  assert_int_equal(tkn_conv_role(c, 0), TKN_ROLE_USER);
  assert_text(c, 1, "It ships in 2 days.");
  assert_text(c, 2, "thanks");
  tkn_conv_clear(c);
  assert_int_equal(tkn_conv_count(c), 0);
  char *out = write_json(c, TKN_PROVIDER_OPENAI);
  assert_string_equal(out, "[]");
  tkn_free(out);
  tkn_conv_clear(NULL);
  assert_int_equal(tkn_conv_filter(c, NULL, 0), TKN_OK);
  tkn_conv_free(c);
}

static void clone_is_deep(void **state) {
  (void)state;
  tkn_conv *a = tt_conv(TKN_PROVIDER_ANTHROPIC, ANTHROPIC_FULL), *b = NULL;
  tkn_conv_set_pinned(a, 1, 1);
  assert_int_equal(tkn_conv_clone(&b, a), TKN_OK);
  char *ja = write_json(a, TKN_PROVIDER_ANTHROPIC), *jb = write_json(b, TKN_PROVIDER_ANTHROPIC);
  assert_string_equal(ja, jb);
  assert_int_equal(tkn_conv_pinned(b, 1), 1);
  assert_int_equal(tkn_conv_source_format(b), TKN_PROVIDER_ANTHROPIC);
  tkn_conv_set_text(b, 1, "changed", 7);
  tkn_conv_free(b);
  assert_text(a, 1, "Where is my order?");
  char *again = write_json(a, TKN_PROVIDER_ANTHROPIC);
  assert_string_equal(ja, again);
  tkn_free(ja);
  tkn_free(jb);
  tkn_free(again);
  assert_int_equal(tkn_conv_clone(NULL, a), TKN_ERR_INVALID);
  assert_int_equal(tkn_conv_clone(&b, NULL), TKN_ERR_INVALID);
  tkn_conv_free(a);
}

/* ---- robustness ---- */

/* Writing what was read is a fixed point: read it again, write it again, the
 * bytes do not change; whatever fails does so with an error, not a crash. */
static int check_fixed_point(const char *json, size_t len) {
  tkn_conv *c = NULL;
  if (tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, json, len)) return 0;
  int fmt = tkn_conv_source_format(c);
  for (int to = TKN_PROVIDER_OPENAI; to <= TKN_PROVIDER_ANTHROPIC; to++) {
    char *once = NULL, *twice = NULL;
    size_t n1, n2;
    if (tkn_conv_to_json(c, to, &once, &n1)) {
      assert_string_not_equal(tkn_error_last()->message, "");
      continue;
    }
    tkn_conv *d = NULL;
    char err[256];
    if (tt_keep_err(tkn_conv_from_json(&d, to, once, n1), err, sizeof err))
      fail_msg("cannot read back what was written (%s): %s", err, once);
    assert_int_equal(tkn_conv_to_json(d, to, &twice, &n2), TKN_OK);
    if (n1 != n2 || memcmp(once, twice, n1) != 0)
      fail_msg("not a fixed point (format %d from %d):\n%s\n%s", to, fmt, once, twice);
    tkn_free(once);
    tkn_free(twice);
    tkn_conv_free(d);
  }
  tkn_conv_free(c);
  return 1;
}

static void mutated_inputs_fail_cleanly_or_round_trip(void **state) {
  (void)state;
  const char *seeds[] = {OPENAI_FULL, ANTHROPIC_FULL};
  static const char bytes[] = "{}[]\":,0 tnfa\\\"xé";
  uint32_t rng = 77;
  int loaded = 0;
  for (int it = 0; it < 4000; it++) {
    const char *seed = seeds[it % 2];
    size_t len = strlen(seed);
    char buf[4096];
    memcpy(buf, seed, len);
    int edits = 1 + it % 3;
    for (int e = 0; e < edits; e++) {
      rng = rng * 1103515245u + 12345u;
      size_t at = (rng >> 8) % len;
      rng = rng * 1103515245u + 12345u;
      buf[at] = bytes[(rng >> 8) % (sizeof bytes - 1)];
    }
    loaded += check_fixed_point(buf, len);
  }
  /* the edits leave a good share loadable, so the fixed point is exercised */
  if (loaded < 400) fail_msg("only %d of 4000 mutated inputs loaded", loaded);
  assert_true(check_fixed_point(OPENAI_FULL, strlen(OPENAI_FULL)));
  assert_true(check_fixed_point(ANTHROPIC_FULL, strlen(ANTHROPIC_FULL)));
}

/* ---- out of memory ---- */

/* Load, convert both ways, write, clone: for each N, failing allocation N
 * must give an error, leak nothing and crash nothing. */
static int oom_scenario(const char *json, int format) {
  tkn_conv *c = NULL, *d = NULL;
  char *o1 = NULL, *o2 = NULL;
  char err[256];
  int rc = tt_keep_err(tkn_conv_from_json(&c, format, json, strlen(json)), err, sizeof err);
  if (!rc) rc = tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &o1, NULL);
  if (!rc) rc = tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &o2, NULL);
  if (!rc) rc = tkn_conv_clone(&d, c);
  if (!rc) {
    const char *t;
    size_t n;
    rc = tkn_conv_text(d, 2, &t, &n);
  }
  if (!rc) {
    const char *m = "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":"
                    "\"z\"},{\"type\":\"text\",\"text\":\"t\"}]}";
    rc = tkn_conv_insert_json(c, 1, TKN_PROVIDER_ANTHROPIC, m, strlen(m));
  }
  if (!rc) rc = tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, "x", 1);
  if (!rc) rc = tkn_conv_add_tool_call(c, tkn_conv_count(c) - 1, "id", 2, "fn", 2, "{}", 2);
  if (!rc) rc = tkn_conv_set_text(c, 0, "y", 1);
  tkn_free(o1);
  tkn_free(o2);
  tkn_conv_free(c);
  tkn_conv_free(d);
  return rc;
}

static void oom_loop(const char *json, int format) {
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    int rc = oom_scenario(json, format);
    int failed = tt_alloc.failed;
    long live = tt_alloc.live;
    tt_alloc_restore();
    if (live != 0) fail_msg("allocation %ld failed: %ld blocks leaked", n, live);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
    if (rc == TKN_OK) fail_msg("allocation %ld failed but the scenario succeeded", n);
  }
}

static void out_of_memory_openai_fails_cleanly(void **state) {
  (void)state;
  oom_loop(OPENAI_FULL, TKN_PROVIDER_OPENAI);
}

static void out_of_memory_anthropic_fails_cleanly(void **state) {
  (void)state;
  oom_loop(ANTHROPIC_FULL, TKN_PROVIDER_ANTHROPIC);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(role_names_map_both_ways),
      cmocka_unit_test(new_conversation_is_empty),
      cmocka_unit_test(openai_bare_array_loads),
      cmocka_unit_test(openai_round_trip_keeps_everything),
      cmocka_unit_test(openai_fields_are_modelled),
      cmocka_unit_test(tool_call_id_outside_a_tool_message_is_kept_verbatim),
      cmocka_unit_test(text_of_parts_is_joined_with_newlines),
      cmocka_unit_test(accessors_reject_bad_indices),
      cmocka_unit_test(anthropic_round_trip_keeps_everything),
      cmocka_unit_test(anthropic_bare_array_round_trips),
      cmocka_unit_test(anthropic_system_string_is_a_system_message),
      cmocka_unit_test(anthropic_tool_results_become_tool_messages),
      cmocka_unit_test(openai_converts_to_anthropic),
      cmocka_unit_test(anthropic_converts_to_openai),
      cmocka_unit_test(images_convert_both_ways),
      cmocka_unit_test(openai_to_anthropic_and_back_keeps_messages),
      cmocka_unit_test(empty_arguments_become_an_empty_input),
      cmocka_unit_test(invalid_arguments_fail_conversion_to_anthropic),
      cmocka_unit_test(non_object_arguments_fail_conversion_to_anthropic),
      cmocka_unit_test(consecutive_tool_messages_join_one_user_message),
      cmocka_unit_test(auto_detects_the_format),
      cmocka_unit_test(malformed_json_names_line_column_and_byte),
      cmocka_unit_test(invalid_utf8_names_the_offset),
      cmocka_unit_test(unknown_role_is_named),
      cmocka_unit_test(content_of_the_wrong_type_is_named),
      cmocka_unit_test(tool_result_without_id_fails),
      cmocka_unit_test(tool_call_shapes_are_checked),
      cmocka_unit_test(anthropic_roles_are_checked),
      cmocka_unit_test(top_level_shape_is_checked),
      cmocka_unit_test(limits_fail_cleanly),
      cmocka_unit_test(numbers_beyond_a_double_round_trip_and_huge_exponents_fail_cleanly),
      cmocka_unit_test(round_trip_keeps_big_integers_and_nul_escapes),
      cmocka_unit_test(failed_load_leaves_the_conversation_unchanged),
      cmocka_unit_test(from_json_failures_are_in_the_last_error),
      cmocka_unit_test(to_json_checks_its_arguments),
      cmocka_unit_test(message_to_json_writes_one_message),
      cmocka_unit_test(tool_calls_and_results_are_found_by_id),
      cmocka_unit_test(lookups_follow_every_change),
      cmocka_unit_test(append_and_insert_text_place_messages),
      cmocka_unit_test(adding_text_checks_its_input),
      cmocka_unit_test(insert_json_splits_anthropic_tool_results),
      cmocka_unit_test(insert_json_failure_changes_nothing),
      cmocka_unit_test(replace_json_swaps_one_message),
      cmocka_unit_test(set_text_replaces_parts),
      cmocka_unit_test(set_name_sets_and_removes),
      cmocka_unit_test(pinned_is_kept_but_never_written),
      cmocka_unit_test(tool_calls_are_built_by_hand),
      cmocka_unit_test(tool_call_changes_check_the_role),
      cmocka_unit_test(remove_filter_and_clear),
      cmocka_unit_test(clone_is_deep),
      cmocka_unit_test(mutated_inputs_fail_cleanly_or_round_trip),
      cmocka_unit_test(out_of_memory_openai_fails_cleanly),
      cmocka_unit_test(out_of_memory_anthropic_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
