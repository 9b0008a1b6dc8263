/* The tokenizer interface: the host-callback maker, the built-in estimator,
 * counting messages and conversations with the provider's overhead, and the
 * per-message count cache. */
#include "test_util.h"

#include "tokenizer/tokenizer_internal.h"

/* ---- a host tokenizer that counts bytes and its own calls ---- */

typedef struct byte_tok {
  long calls;
  int fail;      /* return non-zero */
  int negative;  /* report a negative count */
  int destroyed;
} byte_tok;

static int byte_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  byte_tok *bt = user;
  bt->calls++;
  if (bt->fail) return -1;
  *out = bt->negative ? -1 : (int64_t)len;
  return 0;
}

static void byte_destroy(void *user) { ((byte_tok *)user)->destroyed++; }

static tkn_tokenizer *byte_tokenizer(byte_tok *bt) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = byte_count;
  cb.destroy = byte_destroy;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, bt), TKN_OK);
  return tok;
}

static tkn_tokenizer *estimator(void) {
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  return tok;
}

static int64_t est(const char *text) {
  tkn_tokenizer *tok = estimator();
  int64_t n = -1;
  assert_int_equal(tkn_tokenizer_count(tok, text, strlen(text), &n), TKN_OK);
  tkn_tokenizer_free(tok);
  return n;
}


/* ---- options ---- */

/* (every init against its macro: tests/unit/options) */
static void count_options_init_agrees_with_the_macro(void **state) {
  (void)state;
  tkn_count_options a;
  assert_int_equal(tkn_count_options_init(&a, TKN_COUNT_OPTIONS_VERSION), TKN_OK);
  assert_int_equal(a.per_message, 3); /* documented: OpenAI's overhead */
  assert_int_equal(a.per_name, 1);
  assert_int_equal(a.reply_priming, 3);
}

/* ---- the callback maker ---- */

static void callback_tokenizer_counts_through_the_host(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  assert_string_equal(tkn_tokenizer_name(tok), "callback");
  int64_t n = -1;
  assert_int_equal(tkn_tokenizer_count(tok, "hello", 5, &n), TKN_OK);
  assert_int_equal(n, 5);
  assert_int_equal(tkn_tokenizer_count(tok, NULL, 0, &n), TKN_OK);
  assert_int_equal(n, 0);
  assert_int_equal(bt.calls, 2);
  tkn_tokenizer_free(tok);
  assert_int_equal(bt.destroyed, 1);
}

static void callback_failures_are_reported(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  int64_t n = 7;
  bt.fail = 1;
  assert_int_equal(tkn_tokenizer_count(tok, "x", 1, &n), TKN_ERR_CALLBACK);
  bt.fail = 0;
  bt.negative = 1;
  assert_int_equal(tkn_tokenizer_count(tok, "x", 1, &n), TKN_ERR_CALLBACK);
  assert_int_equal(n, 7);
  tkn_tokenizer_free(tok);
}

static void callback_maker_checks_its_arguments(void **state) {
  (void)state;
  tkn_tokenizer *tok = (tkn_tokenizer *)1;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_ERR_INVALID);
  assert_null(tok);
  assert_int_equal(tkn_tokenizer_new_callback(&tok, NULL, NULL), TKN_ERR_INVALID);
  cb.count = byte_count;
  cb.version = 2;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_ERR_VERSION);
  assert_int_equal(tkn_tokenizer_new_callback(NULL, &cb, NULL), TKN_ERR_INVALID);
  tkn_tokenizer_free(NULL);
  assert_null(tkn_tokenizer_name(NULL));
}

static void count_checks_its_arguments(void **state) {
  (void)state;
  tkn_tokenizer *tok = estimator();
  int64_t n;
  assert_int_equal(tkn_tokenizer_count(NULL, "x", 1, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_count(tok, "x", 1, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_count(tok, NULL, 1, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_new_estimator(NULL), TKN_ERR_INVALID);
  tkn_tokenizer_free(tok);
}

/* ---- the estimator ---- */

static void estimator_is_named(void **state) {
  (void)state;
  tkn_tokenizer *tok = estimator();
  assert_string_equal(tkn_tokenizer_name(tok), "estimator");
  tkn_tokenizer_free(tok);
}

static void estimator_counts_nothing_as_zero(void **state) {
  (void)state;
  assert_int_equal(est(""), 0);
}

static void estimator_counts_short_words_as_one(void **state) {
  (void)state;
  assert_int_equal(est("a"), 1);
  assert_int_equal(est("hello"), 1);
  assert_int_equal(est("hello world"), 2);
}

static void estimator_costs_long_words_more_than_short_ones(void **state) {
  (void)state;
  /* calibrated: most words up to ten letters are one token */
  assert_int_equal(est("abcdef"), 1);
  assert_int_equal(est("abcdefghij"), 1);
  assert_int_equal(est("abcdefghijklmnop"), 2);          /* 16 */
  assert_int_equal(est("internationalization"), 4);      /* 20 */
  assert_true(est("abcdefghijklmnopqrstuvwxyzabcdefghijklmn") > est("internationalization"));
}

static void estimator_groups_digits_by_three(void **state) {
  (void)state;
  assert_int_equal(est("7"), 1);
  assert_int_equal(est("123"), 1);
  assert_int_equal(est("1234"), 2);
  assert_int_equal(est("1234567"), 3);
}

static void estimator_counts_punctuation_by_runs(void **state) {
  (void)state;
  assert_int_equal(est("!?"), 2);
  assert_int_equal(est("a, b."), 4);
  /* a run of one repeated character is about one token, however long */
  assert_int_equal(est("--------"), 1);
  assert_int_equal(est("----------------------------"), 1);
  /* a run right after another costs less: "();" is two, not three */
  assert_int_equal(est("();"), 2);
  /* the last punctuation before a letter joins it: "my_var_name" is 4, not 5 */
  assert_int_equal(est("my_var_name"), 4);
}

static void estimator_folds_a_space_into_the_next_word(void **state) {
  (void)state;
  assert_int_equal(est(" a"), 1);
  assert_int_equal(est("a b c"), 3);
  assert_int_equal(est("a\nb"), 3);      /* a newline is not folded */
  assert_int_equal(est("a  b"), 3);      /* one of two spaces is */
  assert_int_equal(est("a         b"), 3); /* 9 spaces: 8 left, one token */
  assert_int_equal(est("a "), 2);        /* trailing: nothing to fold into */
}

static void estimator_counts_cjk_close_to_one_a_character(void **state) {
  (void)state;
  assert_int_equal(est("\xE6\x9D\xB1\xE4\xBA\xAC"), 2); /* 東京 */
  int64_t n = est("\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E"
                  "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E\xE6\x97\xA5\xE6\x9C\xAC"); /* 11 ideographs */
  assert_true(n >= 7 && n <= 11);
}

static void estimator_rates_other_scripts_between(void **state) {
  (void)state;
  /* Cyrillic "привет" (6 letters) costs more than the 6-letter Latin "privet" */
  int64_t cyr = est("\xD0\xBF\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82");
  assert_true(cyr >= est("privet"));
  assert_true(cyr < 6);
  /* an accented letter continues its word */
  assert_int_equal(est("caf\xC3\xA9"), 1);
}

static void estimator_counts_emoji_as_two(void **state) {
  (void)state;
  assert_int_equal(est("\xF0\x9F\x98\x80"), 2);
}

static void estimator_rejects_invalid_utf8(void **state) {
  (void)state;
  tkn_tokenizer *tok = estimator();
  const char *bad[] = {"\xFF", "a\xC3", "\xC0\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                       "ok \xE6\x9D"};
  int64_t n = 5;
  for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
    assert_int_equal(tkn_tokenizer_count(tok, bad[k], strlen(bad[k]), &n), TKN_ERR_UTF8);
  assert_int_equal(n, 5);
  tkn_tokenizer_free(tok);
}

/* The 64-byte ASCII path counts exactly as the byte loop, on random text
 * built from the characters whose runs it has to cost. */
static void estimator_fast_path_matches_the_byte_loop(void **state) {
  (void)state;
  static const char alphabet[] = "aaaaaaaabbbcdXYZ      \n\n\t\r..--==,;()\"'0123456789\x01\x7f";
  char buf[700];
  uint32_t seed = 12345;
  for (int it = 0; it < 20000; it++) {
    seed = seed * 1103515245u + 12345u;
    size_t n = (seed >> 8) % sizeof buf;
    int mode = it % 4;
    for (size_t k = 0; k < n; k++) {
      seed = seed * 1103515245u + 12345u;
      uint32_t r = seed >> 8;
      if (mode == 0) buf[k] = alphabet[r % (sizeof alphabet - 1)];
      else if (mode == 1) buf[k] = (char)(1 + r % 127);
      else if (mode == 2) buf[k] = r % 9 ? (char)('a' + r % 3) : ' ';
      else buf[k] = r % 5 ? '-' : (r % 2 ? ' ' : '7');
    }
    if (it % 97 == 0 && n > 70) {
      buf[n / 2] = (char)0xC3; /* é in the middle: the slow path takes over there */
      buf[n / 2 + 1] = (char)0xA9;
    }
    int64_t fast = -1, slow = -2;
    assert_int_equal(tki_estimator_count(buf, n, 1, &fast), TKN_OK);
    assert_int_equal(tki_estimator_count(buf, n, 0, &slow), TKN_OK);
    if (fast != slow) fail_msg("case %d (%zu bytes): fast %lld, byte loop %lld", it, n,
                               (long long)fast, (long long)slow);
  }
}

/* ---- counting messages ---- */

static void message_count_includes_every_documented_piece(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c = tt_conv(TKN_PROVIDER_AUTO,
                        "[{\"role\":\"user\",\"name\":\"ann\",\"content\":\"hello\"},"
                        "{\"role\":\"assistant\",\"content\":\"ok\",\"tool_calls\":[{\"id\":\"c1\","
                        "\"type\":\"function\",\"function\":{\"name\":\"find\",\"arguments\":"
                        "\"{}\"}}]},"
                        "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"found\"}]");
  tkn_count_options o = TKN_COUNT_OPTIONS_INIT;
  o.per_message = 100;
  o.per_name = 1000;
  o.per_tool_call = 10000;
  int64_t n;
  /* 100 + "user" 4 + "hello" 5 + "ann" 3 + 1000 */
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, &o, &n), TKN_OK);
  assert_int_equal(n, 100 + 4 + 5 + 3 + 1000);
  /* 100 + "assistant" 9 + "ok" 2 + "find" 4 + "{}" 2 + 10000 (the call id is not counted) */
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 1, &o, &n), TKN_OK);
  assert_int_equal(n, 100 + 9 + 2 + 4 + 2 + 10000);
  /* 100 + "tool" 4 + "found" 5 + "c1" 2 */
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 2, &o, &n), TKN_OK);
  assert_int_equal(n, 100 + 4 + 5 + 2);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void message_count_defaults_to_openai_overhead(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_AUTO, "[{\"role\":\"user\",\"name\":\"ann\",\"content\":\"hello\"}]");
  int64_t n;
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &n), TKN_OK);
  assert_int_equal(n, 3 + 4 + 5 + 3 + 1);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void message_count_reads_text_parts_only(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c = tt_conv(TKN_PROVIDER_AUTO,
                        "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"ab\"},"
                        "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://x\"}},"
                        "{\"type\":\"text\",\"text\":\"cd\"}]}]");
  int64_t n;
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &n), TKN_OK);
  assert_int_equal(n, 3 + 4 + 5); /* "ab\ncd" */
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void conversation_count_adds_reply_priming(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c = tt_conv(TKN_PROVIDER_AUTO,
                        "[{\"role\":\"system\",\"content\":\"be\"},{\"role\":\"user\",\"content\":"
                        "\"hi\"}]");
  int64_t total = -1, per[2] = {-1, -1};
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &total, per), TKN_OK);
  assert_int_equal(per[0], 3 + 6 + 2);
  assert_int_equal(per[1], 3 + 4 + 2);
  assert_int_equal(total, per[0] + per[1] + 3);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &total, NULL), TKN_OK);
  assert_int_equal(total, per[0] + per[1] + 3);
  tkn_conv_clear(c);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &total, NULL), TKN_OK);
  assert_int_equal(total, 0);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void counting_checks_its_arguments(void **state) {
  (void)state;
  tkn_tokenizer *tok = estimator();
  tkn_conv *c = tt_conv(TKN_PROVIDER_AUTO, "[{\"role\":\"user\",\"content\":\"hi\"}]");
  int64_t n;
  tkn_count_options o = TKN_COUNT_OPTIONS_INIT;
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 1, NULL, &n), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "no message 1"));
  assert_int_equal(tkn_tokenizer_count_message(NULL, c, 0, NULL, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_count_message(tok, NULL, 0, NULL, &n), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, NULL, NULL), TKN_ERR_INVALID);
  o.version = 9;
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, &o, &n), TKN_ERR_VERSION);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, &o, &n, NULL), TKN_ERR_VERSION);
  o.version = TKN_COUNT_OPTIONS_VERSION;
  o.per_name = -1;
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, &o, &n, NULL), TKN_ERR_INVALID);
  assert_non_null(strstr(tkn_error_last()->message, "negative"));
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void callback_failure_names_the_message(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_AUTO,
              "[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"user\",\"content\":\"b\"}]");
  int64_t total = 42;
  bt.fail = 1;
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &total, NULL), TKN_ERR_CALLBACK);
  assert_int_equal(total, 42);
  assert_non_null(strstr(tkn_error_last()->message, "messages[0].role: the tokenizer callback failed"));
  /* nothing was cached by the failure */
  bt.fail = 0;
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &total, NULL), TKN_OK);
  assert_int_equal(total, 2 * (3 + 4 + 1) + 3);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

/* ---- the cache ---- */

static tkn_conv *big_conversation(size_t n) {
  tkn_conv *c;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  for (size_t i = 0; i < n; i++) {
    char text[64];
    int len = snprintf(text, sizeof text, "message number %zu", i);
    assert_int_equal(tkn_conv_append_text(c, i % 2 ? TKN_ROLE_ASSISTANT : TKN_ROLE_USER, text,
                                          (size_t)len),
                     TKN_OK);
  }
  return c;
}

static void recounting_an_unchanged_conversation_calls_no_tokenizer(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c = big_conversation(10000);
  int64_t first, again;
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &first, NULL), TKN_OK);
  long calls = bt.calls;
  assert_true(calls >= 10000);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &again, NULL), TKN_OK);
  assert_int_equal(again, first);
  assert_int_equal(bt.calls, calls);
  /* one changed message is the only one counted again */
  assert_int_equal(tkn_conv_set_text(c, 5000, "x", 1), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &again, NULL), TKN_OK);
  assert_int_equal(bt.calls, calls + 2); /* its role and its text */
  assert_int_equal(again, first - (int64_t)strlen("message number 5000") + 1);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void cache_is_keyed_by_tokenizer_and_options(void **state) {
  (void)state;
  byte_tok b1 = {0}, b2 = {0};
  tkn_tokenizer *t1 = byte_tokenizer(&b1), *t2 = byte_tokenizer(&b2);
  tkn_conv *c = big_conversation(3);
  int64_t n1, n2;
  assert_int_equal(tkn_tokenizer_count_conv(t1, c, NULL, &n1, NULL), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_conv(t2, c, NULL, &n2, NULL), TKN_OK);
  assert_int_equal(n1, n2);
  assert_int_equal(b2.calls, b1.calls); /* t2 did count */
  tkn_count_options o = TKN_COUNT_OPTIONS_INIT;
  o.per_message = 10;
  long before = b2.calls;
  assert_int_equal(tkn_tokenizer_count_conv(t2, c, &o, &n2, NULL), TKN_OK);
  assert_true(b2.calls > before);
  assert_int_equal(n2, n1 + 3 * 7);
  tkn_conv_free(c);
  tkn_tokenizer_free(t1);
  tkn_tokenizer_free(t2);
}

static void every_change_drops_the_cached_count(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c =
      tt_conv(TKN_PROVIDER_AUTO, "[{\"role\":\"assistant\",\"content\":\"a\"},"
                                 "{\"role\":\"tool\",\"tool_call_id\":\"x\",\"content\":\"r\"}]");
  int64_t n, m;
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &n), TKN_OK);
  assert_int_equal(tkn_conv_set_name(c, 0, "nm", 2), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &m), TKN_OK);
  assert_int_equal(m, n + 2 + 1);
  assert_int_equal(tkn_conv_add_tool_call(c, 0, "id", 2, "fn", 2, "{}", 2), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &n), TKN_OK);
  assert_int_equal(n, m + 2 + 2 + 3);
  assert_int_equal(tkn_conv_set_text(c, 0, "abc", 3), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 0, NULL, &m), TKN_OK);
  assert_int_equal(m, n + 2);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 1, NULL, &n), TKN_OK);
  assert_int_equal(tkn_conv_set_tool_call_id(c, 1, "xyz", 3), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 1, NULL, &m), TKN_OK);
  assert_int_equal(m, n + 2);
  const char *r = "{\"role\":\"user\",\"content\":\"longer text\"}";
  assert_int_equal(tkn_conv_replace_json(c, 1, TKN_PROVIDER_OPENAI, r, strlen(r)), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_message(tok, c, 1, NULL, &m), TKN_OK);
  assert_int_equal(m, 3 + 4 + 11);
  tkn_conv_free(c);
  tkn_tokenizer_free(tok);
}

static void clone_keeps_cached_counts(void **state) {
  (void)state;
  byte_tok bt = {0};
  tkn_tokenizer *tok = byte_tokenizer(&bt);
  tkn_conv *c = big_conversation(50), *d;
  int64_t a, b;
  assert_int_equal(tkn_tokenizer_count_conv(tok, c, NULL, &a, NULL), TKN_OK);
  long calls = bt.calls;
  assert_int_equal(tkn_conv_clone(&d, c), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_conv(tok, d, NULL, &b, NULL), TKN_OK);
  assert_int_equal(a, b);
  assert_int_equal(bt.calls, calls);
  tkn_conv_free(c);
  tkn_conv_free(d);
  tkn_tokenizer_free(tok);
}

/* ---- out of memory ---- */

static int oom_scenario(void) {
  tkn_tokenizer *est_tok = NULL;
  tkn_conv *c = NULL;
  int rc = tkn_tokenizer_new_estimator(&est_tok);
  static const char *json =
      "[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a b\"},"
      "{\"type\":\"text\",\"text\":\"c\"}]},{\"role\":\"assistant\","
      "\"content\":null,\"tool_calls\":[{\"id\":\"1\",\"type\":\"function\","
      "\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}]";
  if (!rc) rc = tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, json, strlen(json));
  int64_t total, per[2];
  if (!rc) rc = tkn_tokenizer_count_conv(est_tok, c, NULL, &total, per);
  byte_tok bt = {0};
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = byte_count;
  tkn_tokenizer *host = NULL;
  if (!rc) rc = tkn_tokenizer_new_callback(&host, &cb, &bt);
  if (!rc) rc = tkn_tokenizer_count_conv(host, c, NULL, &total, per);
  tkn_conv_free(c);
  tkn_tokenizer_free(est_tok);
  tkn_tokenizer_free(host);
  return rc;
}

static void out_of_memory_while_counting_fails_cleanly(void **state) {
  (void)state;
  for (long n = 1;; n++) {
    tt_alloc_install(n);
    int rc = oom_scenario();
    int failed = tt_alloc.failed;
    long live = tt_alloc.live;
    tt_alloc_restore();
    if (live != 0) fail_msg("allocation %ld failed: %ld blocks leaked", n, live);
    if (!failed) {
      assert_int_equal(rc, TKN_OK);
      break;
    }
    if (rc == TKN_OK) fail_msg("allocation %ld failed but counting succeeded", n);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(count_options_init_agrees_with_the_macro),
      cmocka_unit_test(callback_tokenizer_counts_through_the_host),
      cmocka_unit_test(callback_failures_are_reported),
      cmocka_unit_test(callback_maker_checks_its_arguments),
      cmocka_unit_test(count_checks_its_arguments),
      cmocka_unit_test(estimator_is_named),
      cmocka_unit_test(estimator_counts_nothing_as_zero),
      cmocka_unit_test(estimator_counts_short_words_as_one),
      cmocka_unit_test(estimator_costs_long_words_more_than_short_ones),
      cmocka_unit_test(estimator_groups_digits_by_three),
      cmocka_unit_test(estimator_counts_punctuation_by_runs),
      cmocka_unit_test(estimator_folds_a_space_into_the_next_word),
      cmocka_unit_test(estimator_counts_cjk_close_to_one_a_character),
      cmocka_unit_test(estimator_rates_other_scripts_between),
      cmocka_unit_test(estimator_counts_emoji_as_two),
      cmocka_unit_test(estimator_rejects_invalid_utf8),
      cmocka_unit_test(estimator_fast_path_matches_the_byte_loop),
      cmocka_unit_test(message_count_includes_every_documented_piece),
      cmocka_unit_test(message_count_defaults_to_openai_overhead),
      cmocka_unit_test(message_count_reads_text_parts_only),
      cmocka_unit_test(conversation_count_adds_reply_priming),
      cmocka_unit_test(counting_checks_its_arguments),
      cmocka_unit_test(callback_failure_names_the_message),
      cmocka_unit_test(recounting_an_unchanged_conversation_calls_no_tokenizer),
      cmocka_unit_test(cache_is_keyed_by_tokenizer_and_options),
      cmocka_unit_test(every_change_drops_the_cached_count),
      cmocka_unit_test(clone_keeps_cached_counts),
      cmocka_unit_test(out_of_memory_while_counting_fails_cleanly),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
