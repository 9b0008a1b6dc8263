/* The BPE encodings (cl100k_base, o200k_base): ids identical to tiktoken on
 * the committed golden strings (golden/bpe_golden.json, produced by
 * golden/make_bpe_golden.mjs with the npm tiktoken package), and the public
 * API's contracts: options, special tokens, buffers, limits, decoding, rank
 * files, errors, out-of-memory behaviour and sharing between threads. */
#include <pthread.h>

#include <cjson/cJSON.h>

#include "test_util.h"

static const char *k_encodings[] = {"cl100k_base", "o200k_base"};

static tkn_tokenizer *make(const char *name) {
  tkn_tokenizer *tok = NULL;
  char err[256] = "";
  int rc = tt_keep_err(tkn_tokenizer_new_encoding(&tok, name, strlen(name)), err, sizeof err);
  if (rc == TKN_ERR_UNAVAILABLE) skip(); /* built with -Dembed_ranks=false */
  if (rc) fail_msg("%s: %s", name, err);
  return tok;
}

static cJSON *load_golden(void) {
  size_t len = 0;
  char *text = tt_read_file(tt_src_path("tests/unit/tokenizer/golden/bpe_golden.json"), &len);
  assert_non_null(text);
  cJSON *root = cJSON_ParseWithLength(text, len);
  free(text);
  assert_non_null(root);
  return root;
}

static uint32_t mode_of(const char *s) {
  if (strcmp(s, "allow") == 0) return TKN_SPECIAL_ALLOW;
  if (strcmp(s, "plain") == 0) return TKN_SPECIAL_PLAIN;
  return TKN_SPECIAL_REFUSE;
}

/* ---- exactness ---- */

static void golden_ids_match_tiktoken(void **state) {
  (void)state;
  cJSON *root = load_golden();
  cJSON *cases = cJSON_GetObjectItem(root, "cases");
  assert_true(cJSON_GetArraySize(cases) >= 50);
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = make(k_encodings[e]);
    cJSON *c;
    cJSON_ArrayForEach(c, cases) {
      const char *name = cJSON_GetObjectItem(c, "name")->valuestring;
      const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
      cJSON *want = cJSON_GetObjectItem(c, k_encodings[e]);
      tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
      o.special = mode_of(cJSON_GetObjectItem(c, "special")->valuestring);
      uint32_t *ids = NULL;
      size_t n = 0;
      int rc = tkn_tokenizer_encode_alloc(tok, text, strlen(text), &o, &ids, &n);
      if (cJSON_IsString(want)) { /* tiktoken raised: special token refused */
        assert_string_equal(want->valuestring, "error");
        assert_int_equal(rc, TKN_ERR_SPECIAL_TOKEN);
        continue;
      }
      if (rc != TKN_OK) fail_msg("%s / %s: %s", k_encodings[e], name, tkn_strerror(rc));
      if ((int)n != cJSON_GetArraySize(want))
        fail_msg("%s / %s: %zu ids, tiktoken %d", k_encodings[e], name, n,
                 cJSON_GetArraySize(want));
      for (size_t i = 0; i < n; i++) {
        uint32_t w = (uint32_t)cJSON_GetArrayItem(want, (int)i)->valuedouble;
        if (ids[i] != w) fail_msg("%s / %s: id %zu is %u, tiktoken %u", k_encodings[e], name, i,
                                  ids[i], w);
      }
      tkn_free(ids);
    }
    tkn_tokenizer_free(tok);
  }
  cJSON_Delete(root);
}

static void count_equals_number_of_ids_on_golden(void **state) {
  (void)state;
  cJSON *root = load_golden();
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = make(k_encodings[e]);
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
      cJSON *want = cJSON_GetObjectItem(c, k_encodings[e]);
      const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
      if (strcmp(cJSON_GetObjectItem(c, "special")->valuestring, "refuse") != 0) continue;
      int64_t n = -1;
      if (cJSON_IsString(want)) { /* counted as plain text, as providers read user text */
        tkn_encode_options po = TKN_ENCODE_OPTIONS_INIT;
        po.special = TKN_SPECIAL_PLAIN;
        size_t ids_n = 0;
        uint32_t *ids = NULL;
        assert_int_equal(tkn_tokenizer_encode_alloc(tok, text, strlen(text), &po, &ids, &ids_n),
                         TKN_OK);
        tkn_free(ids);
        assert_int_equal(tkn_tokenizer_count(tok, text, strlen(text), &n), TKN_OK);
        assert_int_equal(n, (int64_t)ids_n);
        continue;
      }
      assert_int_equal(tkn_tokenizer_count(tok, text, strlen(text), &n), TKN_OK);
      assert_int_equal(n, cJSON_GetArraySize(want));
    }
    tkn_tokenizer_free(tok);
  }
  cJSON_Delete(root);
}

/* Counting takes shortcuts that encoding does not (no ids are kept, merged
 * pieces are remembered once a text has many): on a long text whose rare
 * words repeat, with runs of letters longer than 64 bytes, the count is
 * still the number of ids, and the ids decode back to the text. */
static void count_agrees_with_encode_on_repeated_rare_words(void **state) {
  (void)state;
  static const char *words[] = {" zqxvbn", " plokijuhygt", " wxqzjkvbnm", " mnbvqzxj",
                                " qwxzkjhgfdsapoiu", " ytrewqzxv", " kkjjhhggffdd", " zzyyxxwwvvuu"};
  char *t = NULL;
  size_t len = 0, cap = 0;
  for (int i = 0; i < 600; i++) {
    const char *w = words[(i * 7 + i / 3) % 8];
    size_t wl = strlen(w);
    if (len + wl + 200 > cap) {
      cap = cap ? cap * 2 : 4096;
      t = realloc(t, cap);
      assert_non_null(t);
    }
    memcpy(t + len, w, wl);
    len += wl;
    if (i % 97 == 0) { /* a run of 130 letters: one piece, merged by the heap */
      t[len++] = ' ';
      for (int k = 0; k < 130; k++) t[len++] = (char)('a' + (k * 11 + i) % 26);
    }
  }
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = make(k_encodings[e]);
    int64_t counted = -1;
    assert_int_equal(tkn_tokenizer_count(tok, t, len, &counted), TKN_OK);
    uint32_t *ids = NULL;
    size_t n = 0;
    assert_int_equal(tkn_tokenizer_encode_alloc(tok, t, len, NULL, &ids, &n), TKN_OK);
    assert_int_equal(counted, (int64_t)n);
    char *back = NULL;
    size_t bl = 0;
    assert_int_equal(tkn_tokenizer_decode(tok, ids, n, &back, &bl), TKN_OK);
    assert_int_equal(bl, len);
    assert_memory_equal(back, t, len);
    tkn_free(back);
    tkn_free(ids);
    tkn_tokenizer_free(tok);
  }
  free(t);
}

/* A text of 4 GiB or more is refused by its length, before it is read. */
static void text_over_4_gib_is_refused_by_its_length(void **state) {
  (void)state;
  if (sizeof(size_t) < 8) skip();
  tkn_tokenizer *tok = make("cl100k_base");
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  size_t n = 0;
  const char *one = "x";
  size_t huge = (size_t)UINT32_MAX + 1;
  assert_int_equal(tkn_tokenizer_encode(tok, one, huge, &o, NULL, 0, &n), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "4 GiB"));
  int64_t c = 0;
  assert_int_equal(tkn_tokenizer_count(tok, one, huge, &c), TKN_ERR_LIMIT);
  tkn_tokenizer_free(tok);
}

static void decode_gives_back_the_text(void **state) {
  (void)state;
  cJSON *root = load_golden();
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *tok = make(k_encodings[e]);
    cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
      const char *text = cJSON_GetObjectItem(c, "text")->valuestring;
      tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
      o.special = mode_of(cJSON_GetObjectItem(c, "special")->valuestring);
      uint32_t *ids = NULL;
      size_t n = 0, len = 0;
      if (tkn_tokenizer_encode_alloc(tok, text, strlen(text), &o, &ids, &n)) continue;
      char *back = NULL;
      assert_int_equal(tkn_tokenizer_decode(tok, ids, n, &back, &len), TKN_OK);
      assert_int_equal(len, strlen(text));
      assert_memory_equal(back, text, len);
      assert_int_equal(back[len], '\0');
      tkn_free(back);
      tkn_free(ids);
    }
    tkn_tokenizer_free(tok);
  }
  cJSON_Delete(root);
}

/* ---- names and models ---- */

static void models_map_to_their_encodings(void **state) {
  (void)state;
  static const char *o200k[] = {"gpt-4o", "gpt-4o-mini", "gpt-4o-2024-08-06", "chatgpt-4o-latest",
                                "gpt-4.1", "gpt-4.1-nano", "gpt-5", "gpt-5-mini", "o1",
                                "o1-preview", "o3", "o3-mini", "o4-mini", "ft:gpt-4o-mini:org::x"};
  static const char *cl100k[] = {"gpt-4", "gpt-4-turbo", "gpt-4-0613", "gpt-3.5-turbo",
                                 "gpt-3.5-turbo-16k", "text-embedding-3-small",
                                 "text-embedding-3-large", "text-embedding-ada-002",
                                 "ft:gpt-3.5-turbo:org::x"};
  for (size_t i = 0; i < sizeof o200k / sizeof *o200k; i++)
    assert_string_equal(tkn_tokenizer_encoding_for_model(o200k[i], strlen(o200k[i])),
                        "o200k_base");
  for (size_t i = 0; i < sizeof cl100k / sizeof *cl100k; i++)
    assert_string_equal(tkn_tokenizer_encoding_for_model(cl100k[i], strlen(cl100k[i])),
                        "cl100k_base");
  assert_null(tkn_tokenizer_encoding_for_model("gpt-4omega", 10));
  assert_null(tkn_tokenizer_encoding_for_model("o10", 3));
  assert_null(tkn_tokenizer_encoding_for_model("claude-3", 8));
  assert_null(tkn_tokenizer_encoding_for_model(NULL, 0));
}

static void new_for_model_makes_the_models_encoding(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("o200k_base"); /* skips without embedded ranks */
  tkn_tokenizer_free(tok);
  assert_int_equal(tkn_tokenizer_new_for_model(&tok, "gpt-4o-mini", 11), TKN_OK);
  assert_string_equal(tkn_tokenizer_name(tok), "o200k_base");
  assert_int_equal(tkn_tokenizer_vocab_size(tok), 200019);
  tkn_tokenizer_free(tok);
  assert_int_equal(tkn_tokenizer_new_for_model(&tok, "gpt-4", 5), TKN_OK);
  assert_string_equal(tkn_tokenizer_name(tok), "cl100k_base");
  assert_int_equal(tkn_tokenizer_vocab_size(tok), 100277);
  tkn_tokenizer_free(tok);
}

static void unknown_model_or_encoding_is_not_found(void **state) {
  (void)state;
  tkn_tokenizer *tok = (tkn_tokenizer *)1;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_tokenizer_new_for_model(&tok, "llama-3", 7), err, sizeof err),
                   TKN_ERR_NOT_FOUND);
  assert_null(tok);
  assert_non_null(strstr(err, "llama-3"));
  assert_int_equal(tt_keep_err(tkn_tokenizer_new_encoding(&tok, "p50k_base", 9), err, sizeof err),
                   TKN_ERR_NOT_FOUND);
  assert_non_null(strstr(err, "p50k_base"));
  assert_int_equal(tkn_tokenizer_new_encoding(NULL, "o200k_base", 10), TKN_ERR_INVALID);
}

/* ---- special tokens ---- */

/* issue 15: counting refused any text that mentions <|endoftext|> (a chat
 * message asking about it); counting now reads it as plain text, encoding
 * still refuses by default, and a refusal carries the byte offset. */
static void special_token_text_is_refused_by_encode_and_counted_as_text(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  const char *t = "hello <|endoftext|>";
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  size_t n = 0;
  uint32_t ids[16];
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), &o, ids, 16, &n),
                   TKN_ERR_SPECIAL_TOKEN);
  assert_non_null(strstr(tkn_error_last()->message, "<|endoftext|>"));
  assert_non_null(strstr(tkn_error_last()->message, "byte 6"));
  assert_int_equal(tkn_error_last()->offset, 6);
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), NULL, ids, 16, &n),
                   TKN_ERR_SPECIAL_TOKEN);
  int64_t c = 0;
  assert_int_equal(tkn_tokenizer_count(tok, t, strlen(t), &c), TKN_OK);
  o.special = TKN_SPECIAL_PLAIN;
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), &o, ids, 16, &n), TKN_OK);
  assert_int_equal(c, (int64_t)n);
  assert_true(c > 2); /* "<|endoftext|>" is several ordinary tokens */
  tkn_tokenizer_free(tok);
  /* refusing stays available for counting */
  tkn_ranks_options ro = TKN_RANKS_OPTIONS_INIT;
  ro.flavor = TKN_BPE_CL100K;
  ro.special = TKN_SPECIAL_REFUSE;
  assert_int_equal(tkn_tokenizer_load_ranks(&tok, &ro), TKN_OK);
  assert_int_equal(tkn_tokenizer_count(tok, t, strlen(t), &c), TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->offset, 6);
  /* in a conversation: the offset in the message's text and its JSON path */
  tkn_conv *conv = NULL;
  const char *js = "[{\"role\":\"user\",\"content\":\"hi\"},"
                   "{\"role\":\"user\",\"content\":\"hello <|endoftext|>\"}]";
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, js, strlen(js)), TKN_OK);
  assert_int_equal(tkn_tokenizer_count_conv(tok, conv, NULL, &c, NULL), TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->offset, 6);
  assert_string_equal(tkn_error_last()->path, "$.messages[1].content");
  assert_non_null(strstr(tkn_error_last()->message, "messages[1].content"));
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
}

static void special_token_allowed_gives_its_id(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("o200k_base");
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  o.special = TKN_SPECIAL_ALLOW;
  uint32_t ids[4];
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, "<|endofprompt|>", 15, &o, ids, 4, &n), TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], 200018);
  tkn_tokenizer_free(tok);
}

static void special_token_as_plain_text_is_ordinary_bytes(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  o.special = TKN_SPECIAL_PLAIN;
  uint32_t ids[16];
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, "<|endoftext|>", 13, &o, ids, 16, &n), TKN_OK);
  assert_true(n > 1);
  for (size_t i = 0; i < n; i++) assert_true(ids[i] < 100256);
  tkn_tokenizer_free(tok);
}

static void unknown_special_mode_is_invalid(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  o.special = 7;
  size_t n;
  assert_int_equal(tkn_tokenizer_encode(tok, "x", 1, &o, NULL, 0, &n), TKN_ERR_INVALID);
  tkn_tokenizer_free(tok);
}

/* ---- buffers, limits, errors ---- */

static void small_buffer_reports_the_size_needed(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  const char *t = "Hello, world! This is a test.";
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), NULL, NULL, 0, &n),
                   TKN_ERR_TOO_SMALL);
  assert_int_equal(n, 9);
  uint32_t ids[9];
  /* a buffer too small stops the encode: the size it gives is enough */
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), NULL, ids, 3, &n), TKN_ERR_TOO_SMALL);
  assert_true(n >= 9 && n <= TKN_ENCODE_IDS_BOUND(strlen(t)));
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), NULL, ids, 8, &n), TKN_ERR_TOO_SMALL);
  assert_true(n >= 9 && n <= TKN_ENCODE_IDS_BOUND(strlen(t)));
  assert_int_equal(tkn_tokenizer_encode(tok, t, strlen(t), NULL, ids, 9, &n), TKN_OK);
  assert_int_equal(n, 9);
  assert_int_equal(ids[0], 9906); /* "Hello" */
  tkn_tokenizer_free(tok);
}

/* Into a buffer far too small, the encode stops where the buffer is full
 * instead of running to the end: the size it reports then is the ids so far
 * plus the bytes left (more than the exact count, which only a sizing call
 * or the whole encode gives), and a buffer of that size succeeds. */
static void small_buffer_stops_the_encode_early(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("o200k_base");
  size_t len = 60000;
  char *t = malloc(len);
  for (size_t i = 0; i < len; i++) t[i] = "hello world "[i % 12];
  size_t exact = 0, n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, t, len, NULL, NULL, 0, &exact), TKN_ERR_TOO_SMALL);
  assert_int_equal(exact, 10001); /* "hello", " world", " hello", ..., " " */
  uint32_t small[10];
  assert_int_equal(tkn_tokenizer_encode(tok, t, len, NULL, small, 10, &n), TKN_ERR_TOO_SMALL);
  assert_true(n > exact && n <= TKN_ENCODE_IDS_BOUND(len));
  uint32_t *ids = malloc(n * sizeof *ids);
  size_t got = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, t, len, NULL, ids, n, &got), TKN_OK);
  assert_int_equal(got, exact);
  /* encode_alloc gives the same ids in one pass */
  uint32_t *a = NULL;
  size_t an = 0;
  assert_int_equal(tkn_tokenizer_encode_alloc(tok, t, len, NULL, &a, &an), TKN_OK);
  assert_int_equal(an, exact);
  assert_memory_equal(a, ids, an * sizeof *a);
  tkn_free(a);
  free(ids);
  free(t);
  tkn_tokenizer_free(tok);
}

/* encode_alloc encodes once into an array that grows: on text with more ids
 * than its first guess (CJK of rare characters, about one id a byte) it gives
 * the ids encode gives, and with any one allocation refused it returns
 * TKN_ERR_NOMEM (or the right ids, when only giving back unused room was
 * refused), allocates nothing for the caller and leaks nothing. */
static void encode_alloc_grows_in_one_pass(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  size_t len = 0;
  char *t = malloc(3 * 5000);
  for (uint32_t k = 0; k < 5000; k++) { /* CJK Extension A, U+3400 + k */
    uint32_t cp = 0x3400 + k;
    t[len++] = (char)(0xE0 | cp >> 12);
    t[len++] = (char)(0x80 | ((cp >> 6) & 0x3F));
    t[len++] = (char)(0x80 | (cp & 0x3F));
  }
  size_t want_n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, t, len, NULL, NULL, 0, &want_n), TKN_ERR_TOO_SMALL);
  assert_true(want_n > len / 3 + 16 && want_n <= TKN_ENCODE_IDS_BOUND(len));
  uint32_t *want = malloc(want_n * sizeof *want);
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, t, len, NULL, want, want_n, &n), TKN_OK);
  uint32_t *ids = NULL;
  assert_int_equal(tkn_tokenizer_encode_alloc(tok, t, len, NULL, &ids, &n), TKN_OK);
  assert_int_equal(n, want_n);
  assert_memory_equal(ids, want, n * sizeof *ids);
  tkn_free(ids);
  int refused = 0;
  for (long k = 1; k < 64; k++) {
    tt_alloc_install(0);
    tt_alloc.fail_at = tt_alloc.count + k;
    ids = (uint32_t *)1;
    n = 1;
    int rc = tkn_tokenizer_encode_alloc(tok, t, len, NULL, &ids, &n);
    int failed = tt_alloc.failed;
    tt_alloc.fail_at = 0;
    if (failed && rc == TKN_OK) { /* only giving back unused room failed: harmless */
      assert_int_equal(n, want_n);
      assert_memory_equal(ids, want, n * sizeof *ids);
      tkn_free(ids);
    } else if (failed) {
      refused++;
      assert_int_equal(rc, TKN_ERR_NOMEM);
      assert_null(ids);
      assert_int_equal(n, 0);
    } else {
      assert_int_equal(rc, TKN_OK);
      assert_int_equal(n, want_n);
      tkn_free(ids);
    }
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
    if (!failed) break;
  }
  assert_true(refused >= 2); /* the first array and at least one enlargement */
  free(want);
  free(t);
  tkn_tokenizer_free(tok);
}

static void empty_text_has_no_tokens(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("o200k_base");
  size_t n = 1;
  uint32_t *ids = (uint32_t *)1;
  assert_int_equal(tkn_tokenizer_encode_alloc(tok, NULL, 0, NULL, &ids, &n), TKN_OK);
  assert_int_equal(n, 0);
  assert_null(ids);
  int64_t c = -1;
  assert_int_equal(tkn_tokenizer_count(tok, "", 0, &c), TKN_OK);
  assert_int_equal(c, 0);
  tkn_tokenizer_free(tok);
}

static void count_limit_stops_past_the_limit(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  const char *t = "one two three four five six seven eight nine ten";
  int64_t c = 0;
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), 100, NULL, &c), TKN_OK);
  assert_int_equal(c, 10);
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), 10, NULL, &c), TKN_OK);
  assert_int_equal(c, 10);
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), 9, NULL, &c), TKN_OK);
  assert_int_equal(c, 10);
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), 3, NULL, &c), TKN_OK);
  assert_int_equal(c, 4);
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), 0, NULL, &c), TKN_OK);
  assert_int_equal(c, 1);
  assert_int_equal(tkn_tokenizer_count_limit(tok, t, strlen(t), -1, NULL, &c), TKN_ERR_INVALID);
  tkn_tokenizer_free(tok);
}

static void invalid_utf8_is_refused_with_its_offset(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("o200k_base");
  const char t[] = "abc\xff def";
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  size_t n;
  assert_int_equal(tkn_tokenizer_encode(tok, t, sizeof t - 1, &o, NULL, 0, &n), TKN_ERR_UTF8);
  assert_non_null(strstr(tkn_error_last()->message, "byte 3"));
  assert_int_equal(tkn_error_last()->offset, 3);
  int64_t c;
  assert_int_equal(tkn_tokenizer_count(tok, t, sizeof t - 1, &c), TKN_ERR_UTF8);
  tkn_tokenizer_free(tok);
}

static void decode_rejects_unknown_ids_and_spells_specials(void **state) {
  (void)state;
  tkn_tokenizer *tok = make("cl100k_base");
  uint32_t ids[] = {9906, 100257};
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(tkn_tokenizer_decode(tok, ids, 2, &out, &len), TKN_OK);
  assert_string_equal(out, "Hello<|endoftext|>");
  tkn_free(out);
  uint32_t bad[] = {9906, 100256};
  assert_int_equal(tkn_tokenizer_decode(tok, bad, 2, &out, &len), TKN_ERR_NOT_FOUND);
  assert_null(out);
  assert_int_equal(tkn_tokenizer_decode(tok, NULL, 0, &out, &len), TKN_OK);
  assert_int_equal(len, 0);
  assert_string_equal(out, "");
  tkn_free(out);
  tkn_tokenizer_free(tok);
}

static int cb_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)len;
  return 0;
}

static void other_tokenizers_do_not_encode_but_count_to_a_limit(void **state) {
  (void)state;
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = cb_count;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_OK);
  size_t n;
  assert_int_equal(tkn_tokenizer_encode(tok, "abc", 3, NULL, NULL, 0, &n), TKN_ERR_UNSUPPORTED);
  uint32_t id = 1;
  char *out;
  size_t len;
  assert_int_equal(tkn_tokenizer_decode(tok, &id, 1, &out, &len), TKN_ERR_UNSUPPORTED);
  int64_t c;
  assert_int_equal(tkn_tokenizer_count_limit(tok, "abcdef", 6, 4, NULL, &c), TKN_OK);
  assert_int_equal(c, 5);
  assert_int_equal(tkn_tokenizer_vocab_size(tok), 0);
  tkn_tokenizer_free(tok);
}

/* (every init against its macro: tests/unit/options) */
static void options_init_agrees_with_the_macros(void **state) {
  (void)state;
  /* an encode call with an unknown options version is refused */
  tkn_encode_options a = TKN_ENCODE_OPTIONS_INIT;
  tkn_tokenizer *tok = make("cl100k_base");
  a.version = 42;
  size_t n;
  assert_int_equal(tkn_tokenizer_encode(tok, "x", 1, &a, NULL, 0, &n), TKN_ERR_VERSION);
  tkn_tokenizer_free(tok);
  tkn_tokenizer_free(NULL);
}

/* ---- rank files ---- */

/* A tiny rank file: the 256 bytes, then "ab", "cd", "abcd" ("a" is 97...). */
static char *tiny_ranks(size_t *len) {
  static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t cap = 8192, n = 0;
  char *s = malloc(cap);
  for (int b = 0; b < 256; b++)
    n += (size_t)snprintf(s + n, cap - n, "%c%c== %d\n", b64[b >> 2], b64[(b & 3) << 4], b);
  n += (size_t)snprintf(s + n, cap - n, "YWI= 256\nY2Q= 257\n\nYWJjZA== 258\n");
  *len = n;
  return s;
}

static tkn_tokenizer *load_mem(const char *data, size_t len, int *rc, char *err) {
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  o.flavor = TKN_BPE_O200K;
  o.data = data;
  o.len = len;
  tkn_tokenizer *tok = NULL;
  *rc = tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, 256);
  return tok;
}

static void ranks_load_from_memory_and_merge_by_rank(void **state) {
  (void)state;
  size_t len;
  char *data = tiny_ranks(&len);
  int rc;
  char err[256] = "";
  tkn_tokenizer *tok = load_mem(data, len, &rc, err);
  if (rc) fail_msg("%s", err);
  uint32_t ids[8];
  size_t n;
  assert_int_equal(tkn_tokenizer_encode(tok, "abcd", 4, NULL, ids, 8, &n), TKN_OK);
  assert_int_equal(n, 1);
  assert_int_equal(ids[0], 258);
  assert_int_equal(tkn_tokenizer_encode(tok, "abcde", 5, NULL, ids, 8, &n), TKN_OK);
  assert_int_equal(n, 2); /* ab, cd -> abcd, then e */
  assert_int_equal(ids[0], 258);
  assert_int_equal(ids[1], 'e');
  assert_int_equal(tkn_tokenizer_vocab_size(tok), 200019); /* o200k's specials */
  tkn_tokenizer_free(tok);
  free(data);
}

static void ranks_file_errors_name_line_and_column(void **state) {
  (void)state;
  size_t len;
  char *good = tiny_ranks(&len);
  char err[256];
  int rc;
  struct {
    const char *tail;
    int status;
    const char *says;
  } bad[] = {
      {"Y*I= 259\n", TKN_ERR_PARSE, "column 2"},
      {"YWJjYQ==259\n", TKN_ERR_PARSE, "expected a space"},
      {"YWJjYQ== 25x\n", TKN_ERR_PARSE, "bad rank"},
      {"YWJjYQ== 257\n", TKN_ERR_DUPLICATE, "twice"},
      {"YWI= 259\n", TKN_ERR_DUPLICATE, "same bytes"},
      {"YWJjYQ== 261\n", TKN_ERR_SCHEMA, NULL},
  };
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    size_t tl = strlen(bad[i].tail);
    char *d = malloc(len + tl);
    memcpy(d, good, len);
    memcpy(d + len, bad[i].tail, tl);
    err[0] = 0;
    tkn_tokenizer *tok = load_mem(d, len + tl, &rc, err);
    assert_null(tok);
    if (rc != bad[i].status) fail_msg("case %zu: %s (%s)", i, tkn_strerror(rc), err);
    assert_non_null(strstr(err, "rank"));
    if (bad[i].says && !strstr(err, bad[i].says)) fail_msg("case %zu: %s", i, err);
    if (bad[i].status == TKN_ERR_PARSE) assert_non_null(strstr(err, "line 261"));
    free(d);
  }
  /* a byte without a rank */
  assert_null(load_mem("YWI= 0\n", 7, &rc, err));
  assert_int_equal(rc, TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "byte 0x"));
  free(good);
}

static void ranks_options_are_checked(void **state) {
  (void)state;
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  tkn_tokenizer *tok = NULL;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_non_null(strstr(err, "flavor"));
  o.flavor = TKN_BPE_CL100K;
  o.path = "/nonexistent/ranks.tiktoken";
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err), TKN_ERR_IO);
  assert_non_null(strstr(err, "/nonexistent/ranks.tiktoken"));
  o.data = "x";
  o.len = 1;
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err), TKN_ERR_INVALID);
  o.path = NULL;
  o.data = NULL;
  o.special = 9;
  o.len = 0;
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, NULL), err, sizeof err), TKN_ERR_INVALID);
  o.special = TKN_SPECIAL_REFUSE;
  o.version = 5;
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err), TKN_ERR_VERSION);
  assert_null(tok);
}

static void ranks_default_special_mode_applies_to_count(void **state) {
  (void)state;
  tkn_tokenizer_free(make("cl100k_base")); /* skips without embedded ranks */
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  o.flavor = TKN_BPE_CL100K;
  o.special = TKN_SPECIAL_ALLOW;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_load_ranks(&tok, &o), TKN_OK);
  int64_t c = 0;
  assert_int_equal(tkn_tokenizer_count(tok, "a<|endoftext|>", 14, &c), TKN_OK);
  assert_int_equal(c, 2);
  tkn_tokenizer_free(tok);
}

/* The rank files fetched for the build load from a path and agree with the
 * embedded data (skipped when the files are not there). */
static void rank_file_from_path_agrees_with_embedded(void **state) {
  (void)state;
  const char *files[] = {".cache/ranks/cl100k_base.tiktoken", ".cache/ranks/o200k_base.tiktoken"};
  const char *text = "Hello \u4e16\u754c! It's 2024: \U0001F600 code(x) {\n\treturn y;\n}";
  for (int e = 0; e < 2; e++) {
    const char *p = tt_src_path(files[e]);
    FILE *f = fopen(p, "rb");
    if (!f) skip();
    fclose(f);
    tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
    o.flavor = e ? TKN_BPE_O200K : TKN_BPE_CL100K;
    o.path = p;
    tkn_tokenizer *a = NULL, *b = make(k_encodings[e]);
    char err[256] = "";
    if (tt_keep_err(tkn_tokenizer_load_ranks(&a, &o), err, sizeof err)) fail_msg("%s", err);
    uint32_t x[64], y[64];
    size_t nx, ny;
    assert_int_equal(tkn_tokenizer_encode(a, text, strlen(text), NULL, x, 64, &nx), TKN_OK);
    assert_int_equal(tkn_tokenizer_encode(b, text, strlen(text), NULL, y, 64, &ny), TKN_OK);
    assert_int_equal(nx, ny);
    assert_memory_equal(x, y, nx * sizeof *x);
    tkn_tokenizer_free(a);
    tkn_tokenizer_free(b);
  }
}

/* ---- out of memory ---- */

static void out_of_memory_fails_cleanly(void **state) {
  (void)state;
  size_t len;
  char *data = tiny_ranks(&len);
  tkn_tokenizer_free(make("cl100k_base")); /* skips without embedded ranks */
  /* a piece of 65 to 1023 bytes goes through the heap, one of 1 KB or more
   * through the long-piece encoder, whose first use builds the prefix filter */
  char text[64 + 104 + 3000 + 1];
  strcpy(text, "Long pieces go through the heap: ");
  size_t at = strlen(text);
  for (int i = 0; i < 104; i++) text[at++] = "qwertyuiopasdfghjklzxcvbnm"[i % 26];
  text[at++] = ' ';
  uint32_t x = 7;
  for (int i = 0; i < 3000; i++) {
    x = x * 1103515245u + 12345u;
    text[at++] = (char)('a' + (x >> 16) % 26);
  }
  text[at] = '\0';
  tkn_tokenizer *ref = make("cl100k_base");
  uint32_t *want = NULL;
  size_t nwant = 0;
  assert_int_equal(tkn_tokenizer_encode_alloc(ref, text, strlen(text), NULL, &want, &nwant), TKN_OK);
  tkn_tokenizer_free(ref);
  int done = 0;
  for (long k = 1; !done && k < 1000; k++) {
    tt_alloc_install(k);
    tkn_tokenizer *tok = NULL, *tiny = NULL;
    int rc = tkn_tokenizer_new_encoding(&tok, "cl100k_base", 11);
    int rc2 = rc;
    uint32_t *ids = NULL;
    size_t n = 0;
    char *back = NULL;
    if (!rc) rc2 = tkn_tokenizer_encode_alloc(tok, text, strlen(text), NULL, &ids, &n);
    if (!rc2) rc2 = tkn_tokenizer_decode(tok, ids, n, &back, &len);
    int rc3 = -1;
    if (!rc2) {
      tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
      o.flavor = TKN_BPE_CL100K;
      o.data = data;
      o.len = strlen(data);
      rc3 = tkn_tokenizer_load_ranks(&tiny, &o);
    }
    if (rc) assert_int_equal(rc, TKN_ERR_NOMEM);
    else if (rc2) assert_int_equal(rc2, TKN_ERR_NOMEM);
    else if (rc3) assert_int_equal(rc3, TKN_ERR_NOMEM);
    else done = 1;
    if (!rc2) { /* whatever failed before, the ids are right */
      assert_int_equal(n, nwant);
      assert_memory_equal(ids, want, n * sizeof *ids);
    }
    tkn_free(back);
    tkn_free(ids);
    tkn_tokenizer_free(tok);
    tkn_tokenizer_free(tiny);
    assert_int_equal(tt_alloc.live, 0);
    tt_alloc_restore();
  }
  assert_true(done);
  free(want);
  free(data);
}

/* ---- the piece cache ---- */

/* A tokenizer of the embedded encoding with a piece cache of kb KB (0:
 * none). */
static tkn_tokenizer *make_cached(const char *name, uint32_t kb) {
  tkn_tokenizer_free(make(name)); /* skips without embedded ranks */
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  o.flavor = strcmp(name, "cl100k_base") == 0 ? TKN_BPE_CL100K : TKN_BPE_O200K;
  o.piece_cache_kb = kb;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_load_ranks(&tok, &o), TKN_OK);
  return tok;
}

/* Random words of letters from several scripts (2-byte Cyrillic, Greek,
 * Arabic, Hebrew; 3-byte CJK and Hangul; ASCII), 1 to 16 letters, so that
 * pieces fall on both sides of the cache's 24 bytes and 8 ids, from a small
 * vocabulary of words so that they repeat, with spaces and punctuation. */
static size_t cache_text(uint32_t *seed, char *out, size_t cap) {
  static const uint32_t bases[] = {0x430, 0x3B1, 0x627, 0x5D0, 0x4E00, 0xAC00, 'a'};
  size_t n = 0;
  while (n + 80 < cap) {
    *seed = *seed * 1103515245u + 12345u;
    uint32_t w = (*seed >> 8) % 400, ws = w * 2654435761u; /* the word's own letters */
    uint32_t base = bases[w % 7], len = 1 + ws % 16;
    if (n && (ws >> 20) % 3) out[n++] = ' ';
    for (uint32_t i = 0; i < len; i++) {
      ws = ws * 1103515245u + 12345u;
      uint32_t cp = base + (ws >> 16) % (base < 0x80 ? 26 : 24);
      if (cp < 0x80) {
        out[n++] = (char)cp;
      } else if (cp < 0x800) {
        out[n++] = (char)(0xC0 | cp >> 6);
        out[n++] = (char)(0x80 | (cp & 0x3F));
      } else {
        out[n++] = (char)(0xE0 | cp >> 12);
        out[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
      }
    }
    if ((ws >> 24) % 5 == 0) out[n++] = ",.;:!?"[(ws >> 8) % 6];
  }
  return n;
}

/* ids of text by tok, compared with those of ref */
static void same_ids(const tkn_tokenizer *tok, const tkn_tokenizer *ref, const char *text,
                     size_t len) {
  uint32_t *a = NULL, *b = NULL;
  size_t na = 0, nb = 0;
  assert_int_equal(tkn_tokenizer_encode_alloc(tok, text, len, NULL, &a, &na), TKN_OK);
  assert_int_equal(tkn_tokenizer_encode_alloc(ref, text, len, NULL, &b, &nb), TKN_OK);
  assert_int_equal(na, nb);
  if (na) assert_memory_equal(a, b, na * sizeof *a);
  int64_t c = 0;
  assert_int_equal(tkn_tokenizer_count(tok, text, len, &c), TKN_OK);
  assert_int_equal(c, (int64_t)nb);
  /* into an array of exactly that size (hits copy their ids at once), and
   * of half of it (they are then written one by one up to its end) */
  uint32_t *d = malloc((nb + 1) * sizeof *d);
  assert_non_null(d);
  size_t nd = 0;
  assert_int_equal(tkn_tokenizer_encode(tok, text, len, NULL, d, nb, &nd), TKN_OK);
  assert_int_equal(nd, nb);
  if (nb) assert_memory_equal(d, b, nb * sizeof *d);
  if (nb >= 2) {
    assert_int_equal(tkn_tokenizer_encode(tok, text, len, NULL, d, nb / 2, &nd),
                     TKN_ERR_TOO_SMALL);
    assert_memory_equal(d, b, nb / 2 * sizeof *d);
  }
  free(d);
  tkn_free(a);
  tkn_free(b);
}

static void piece_cache_gives_the_ids_of_merging(void **state) {
  (void)state;
  char *text = malloc(1 << 16);
  assert_non_null(text);
  for (int e = 0; e < 2; e++) {
    tkn_tokenizer *ref = make_cached(k_encodings[e], 0);
    /* the default size, and 1 KB (16 slots): pieces evict each other and a
     * slot is read for pieces it does not hold, which must miss */
    uint32_t sizes[] = {TKN_PIECE_CACHE_DEFAULT_KB, 1};
    for (int s = 0; s < 2; s++) {
      tkn_tokenizer *tok = make_cached(k_encodings[e], sizes[s]);
      /* texts of a few hundred bytes (each call starts without the call's
       * own memo, so the cache serves the repeats), twice: cold then warm */
      for (int round = 0; round < 2; round++) {
        uint32_t seed = 17;
        for (int i = 0; i < 300; i++) {
          size_t len = cache_text(&seed, text, 120 + (size_t)(i % 7) * 100);
          same_ids(tok, ref, text, len);
        }
      }
      /* and long texts (the call's memo is made too) */
      uint32_t seed = 99;
      for (int i = 0; i < 3; i++) same_ids(tok, ref, text, cache_text(&seed, text, 1 << 16));
      /* the golden strings, after all that */
      cJSON *root = load_golden(), *c;
      cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases")) {
        const char *t = cJSON_GetObjectItem(c, "text")->valuestring;
        if (!strstr(t, "<|")) same_ids(tok, ref, t, strlen(t));
      }
      cJSON_Delete(root);
      tkn_tokenizer_free(tok);
    }
    tkn_tokenizer_free(ref);
  }
  free(text);
}

static void piece_cache_options_are_checked(void **state) {
  (void)state;
  tkn_tokenizer_free(make("o200k_base")); /* skips without embedded ranks */
  tkn_ranks_options o;
  assert_int_equal(tkn_ranks_options_init(&o, TKN_RANKS_OPTIONS_VERSION), TKN_OK);
  assert_int_equal(o.piece_cache_kb, TKN_PIECE_CACHE_DEFAULT_KB);
  o.flavor = TKN_BPE_O200K;
  o.piece_cache_kb = (1u << 20) + 1;
  tkn_tokenizer *tok = NULL;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_tokenizer_load_ranks(&tok, &o), err, sizeof err),
                   TKN_ERR_INVALID);
  assert_non_null(strstr(err, "piece_cache_kb"));
  assert_null(tok);
  /* a version 1 struct ends before piece_cache_kb: what follows it is not
   * read, and the tokenizer has the default cache */
  struct {
    tkn_ranks_options o;
  } v1;
  memset(&v1, 0xFF, sizeof v1);
  assert_int_equal(tkn_ranks_options_init(&v1.o, 1), TKN_OK);
  assert_int_equal(v1.o.version, 1);
  assert_int_equal(v1.o.piece_cache_kb, UINT32_MAX); /* not written */
  v1.o.flavor = TKN_BPE_O200K;
  assert_int_equal(tkn_tokenizer_load_ranks(&tok, &v1.o), TKN_OK);
  tkn_tokenizer *ref = make("o200k_base");
  const char *t = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82\xD0\xB8\xD0\xBA\xD0\xB8";
  same_ids(tok, ref, t, strlen(t));
  same_ids(tok, ref, t, strlen(t));
  tkn_tokenizer_free(ref);
  tkn_tokenizer_free(tok);
}

/* ---- the estimator, calibrated per encoding ---- */

static void estimator_for_an_encoding_uses_its_rates(void **state) {
  (void)state;
  const char *cyr = "\xD0\x9F\xD1\x80\xD0\xB8\xD0\xB2\xD0\xB5\xD1\x82 \xD0\xBC\xD0\xB8\xD1\x80, "
                    "\xD0\xBA\xD0\xB0\xD0\xBA \xD0\xB4\xD0\xB5\xD0\xBB\xD0\xB0?"; /* Привет мир, как дела? */
  tkn_tokenizer *cl = NULL, *o2 = NULL, *def = NULL;
  assert_int_equal(tkn_tokenizer_new_estimator_for(&cl, "cl100k_base", 11), TKN_OK);
  assert_int_equal(tkn_tokenizer_new_estimator_for(&o2, "o200k_base", 10), TKN_OK);
  assert_int_equal(tkn_tokenizer_new_estimator(&def), TKN_OK);
  assert_string_equal(tkn_tokenizer_name(cl), "estimator");
  int64_t a = 0, b = 0, c = 0;
  assert_int_equal(tkn_tokenizer_count(cl, cyr, strlen(cyr), &a), TKN_OK);
  assert_int_equal(tkn_tokenizer_count(o2, cyr, strlen(cyr), &b), TKN_OK);
  assert_int_equal(tkn_tokenizer_count(def, cyr, strlen(cyr), &c), TKN_OK);
  assert_true(a > b); /* cl100k_base spends more tokens on Cyrillic, as the exact counts do */
  assert_int_equal(b, c); /* the default is the o200k_base calibration */
  /* and both stay near the exact counts of that text */
  tkn_tokenizer *ex = make("o200k_base");
  int64_t exact = 0;
  assert_int_equal(tkn_tokenizer_count(ex, cyr, strlen(cyr), &exact), TKN_OK);
  assert_true(b >= exact - 3 && b <= exact + 3);
  tkn_tokenizer_free(ex);
  tkn_tokenizer_free(cl);
  tkn_tokenizer_free(o2);
  tkn_tokenizer_free(def);
}

static void estimator_for_an_unknown_encoding_is_not_found(void **state) {
  (void)state;
  tkn_tokenizer *t = (tkn_tokenizer *)1;
  assert_int_equal(tkn_tokenizer_new_estimator_for(&t, "p50k_base", 9), TKN_ERR_NOT_FOUND);
  assert_null(t);
  assert_int_equal(tkn_tokenizer_new_estimator_for(&t, NULL, 0), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_tokenizer_new_estimator_for(NULL, "o200k_base", 10), TKN_ERR_INVALID);
}

/* ---- threads ---- */

typedef struct job {
  const tkn_tokenizer *tok;
  const char *text;
  size_t len;
  int64_t count;
  int rc;
} job;

static void *count_job(void *arg) {
  job *j = arg;
  for (int i = 0; i < 20 && !j->rc; i++) j->rc = tkn_tokenizer_count(j->tok, j->text, j->len, &j->count);
  return NULL;
}

static void threads_share_one_tokenizer(void **state) {
  (void)state;
  /* the shared tokenizer is fresh: the threads race to build its prefix
   * filter on the long piece at the end (checked by the TSan build) */
  tkn_tokenizer *tok = make("o200k_base"), *ref = make("o200k_base");
  char text[20000];
  for (size_t i = 0; i < sizeof text; i++)
    text[i] = i < 16000 ? "lorem ipsum dolor sit amet, 42\n"[i % 31] : "xyzzy"[i % 5];
  int64_t want = 0;
  assert_int_equal(tkn_tokenizer_count(ref, text, sizeof text, &want), TKN_OK);
  tkn_tokenizer_free(ref);
  job jobs[4];
  pthread_t th[4];
  for (int i = 0; i < 4; i++) {
    jobs[i] = (job){tok, text, sizeof text, 0, 0};
    assert_int_equal(pthread_create(&th[i], NULL, count_job, &jobs[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(jobs[i].rc, TKN_OK);
    assert_int_equal(jobs[i].count, want);
  }
  tkn_tokenizer_free(tok);
}

/* Threads that share one tokenizer and its piece cache (a small one, so
 * that they write the same slots at once) each encode the same texts in
 * another order: every id as without the cache (the TSan build checks the
 * slots' sequence locks). */
typedef struct cache_job {
  const tkn_tokenizer *tok;
  char **texts;
  size_t *lens;
  uint32_t **want;
  size_t *nwant;
  int ntexts, first, bad;
} cache_job;

static void *cache_job_run(void *arg) {
  cache_job *j = arg;
  for (int round = 0; round < 3; round++)
    for (int k = 0; k < j->ntexts; k++) {
      int i = (j->first + k * (j->first % 2 ? 1 : j->ntexts - 1)) % j->ntexts;
      uint32_t *ids = NULL;
      size_t n = 0;
      if (tkn_tokenizer_encode_alloc(j->tok, j->texts[i], j->lens[i], NULL, &ids, &n) ||
          n != j->nwant[i] || (n && memcmp(ids, j->want[i], n * sizeof *ids)))
        j->bad++;
      tkn_free(ids);
    }
  return NULL;
}

static void threads_share_the_piece_cache(void **state) {
  (void)state;
  enum { TEXTS = 40, THREADS = 4 };
  uint32_t sizes[] = {1, 64};
  for (int s = 0; s < 2; s++) {
    tkn_tokenizer *ref = make_cached("cl100k_base", 0);
    tkn_tokenizer *tok = make_cached("cl100k_base", sizes[s]);
    char *texts[TEXTS];
    size_t lens[TEXTS], nwant[TEXTS];
    uint32_t *want[TEXTS];
    uint32_t seed = 5;
    for (int i = 0; i < TEXTS; i++) {
      texts[i] = malloc(600);
      assert_non_null(texts[i]);
      lens[i] = cache_text(&seed, texts[i], 600);
      assert_int_equal(
          tkn_tokenizer_encode_alloc(ref, texts[i], lens[i], NULL, &want[i], &nwant[i]), TKN_OK);
    }
    cache_job jobs[THREADS];
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++) {
      jobs[i] = (cache_job){tok, texts, lens, want, nwant, TEXTS, i * 7, 0};
      assert_int_equal(pthread_create(&th[i], NULL, cache_job_run, &jobs[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
      pthread_join(th[i], NULL);
      assert_int_equal(jobs[i].bad, 0);
    }
    for (int i = 0; i < TEXTS; i++) {
      free(texts[i]);
      tkn_free(want[i]);
    }
    tkn_tokenizer_free(tok);
    tkn_tokenizer_free(ref);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(golden_ids_match_tiktoken),
      cmocka_unit_test(count_equals_number_of_ids_on_golden),
      cmocka_unit_test(count_agrees_with_encode_on_repeated_rare_words),
      cmocka_unit_test(text_over_4_gib_is_refused_by_its_length),
      cmocka_unit_test(decode_gives_back_the_text),
      cmocka_unit_test(models_map_to_their_encodings),
      cmocka_unit_test(new_for_model_makes_the_models_encoding),
      cmocka_unit_test(unknown_model_or_encoding_is_not_found),
      cmocka_unit_test(special_token_text_is_refused_by_encode_and_counted_as_text),
      cmocka_unit_test(special_token_allowed_gives_its_id),
      cmocka_unit_test(special_token_as_plain_text_is_ordinary_bytes),
      cmocka_unit_test(unknown_special_mode_is_invalid),
      cmocka_unit_test(small_buffer_reports_the_size_needed),
      cmocka_unit_test(small_buffer_stops_the_encode_early),
      cmocka_unit_test(encode_alloc_grows_in_one_pass),
      cmocka_unit_test(empty_text_has_no_tokens),
      cmocka_unit_test(count_limit_stops_past_the_limit),
      cmocka_unit_test(invalid_utf8_is_refused_with_its_offset),
      cmocka_unit_test(decode_rejects_unknown_ids_and_spells_specials),
      cmocka_unit_test(other_tokenizers_do_not_encode_but_count_to_a_limit),
      cmocka_unit_test(options_init_agrees_with_the_macros),
      cmocka_unit_test(ranks_load_from_memory_and_merge_by_rank),
      cmocka_unit_test(ranks_file_errors_name_line_and_column),
      cmocka_unit_test(ranks_options_are_checked),
      cmocka_unit_test(ranks_default_special_mode_applies_to_count),
      cmocka_unit_test(rank_file_from_path_agrees_with_embedded),
      cmocka_unit_test(out_of_memory_fails_cleanly),
      cmocka_unit_test(estimator_for_an_encoding_uses_its_rates),
      cmocka_unit_test(estimator_for_an_unknown_encoding_is_not_found),
      cmocka_unit_test(threads_share_one_tokenizer),
      cmocka_unit_test(piece_cache_gives_the_ids_of_merging),
      cmocka_unit_test(piece_cache_options_are_checked),
      cmocka_unit_test(threads_share_the_piece_cache),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
