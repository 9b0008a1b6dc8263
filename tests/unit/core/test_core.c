/* Common ground: versions, status texts, the allocator hook, and the internal
 * helpers every part relies on (UTF-8, JSON with positions, buffers, hash). */
#include "test_util.h"

#include "internal.h"

static void version_macros_match_runtime(void **state) {
  (void)state;
  assert_int_equal(tkn_version_number(), TKN_VERSION_NUMBER);
  assert_string_equal(tkn_version_string(), TKN_VERSION_STRING);
  char expect[32];
  snprintf(expect, sizeof expect, "%d.%d.%d", TKN_VERSION_MAJOR, TKN_VERSION_MINOR,
           TKN_VERSION_PATCH);
  assert_string_equal(tkn_version_string(), expect);
}

static void strerror_covers_every_code(void **state) {
  (void)state;
  assert_string_equal(tkn_strerror(TKN_OK), "ok");
  for (int i = 1; i < TKN_ERR__COUNT; i++) {
    const char *s = tkn_strerror(i);
    assert_non_null(s);
    assert_string_not_equal(s, "unknown status code");
  }
  assert_string_equal(tkn_strerror(-1), "unknown status code");
  assert_string_equal(tkn_strerror(TKN_ERR__COUNT), "unknown status code");
}

static void status_codes_are_pinned(void **state) {
  (void)state;
  /* Values are part of the ABI: a change here is a break. */
  assert_int_equal(TKN_OK, 0);
  assert_int_equal(TKN_ERR_NOMEM, 1);
  assert_int_equal(TKN_ERR_INVALID, 2);
  assert_int_equal(TKN_ERR_PARSE, 3);
  assert_int_equal(TKN_ERR_UTF8, 4);
  assert_int_equal(TKN_ERR_LIMIT, 5);
  assert_int_equal(TKN_ERR_NOT_FOUND, 6);
  assert_int_equal(TKN_ERR_BUDGET, 7);
  assert_int_equal(TKN_ERR_CALLBACK, 8);
  assert_int_equal(TKN_ERR_SPECIAL_TOKEN, 15);
  assert_int_equal(TKN_ERR_CANCELLED, 19);
  assert_int_equal(TKN_ERR_AUTH, 20);
}

/* A host's own cJSON allocator: counts live blocks, refuses the Nth. */
static long host_live, host_count, host_fail_at;
static void *host_malloc(size_t n) {
  if (host_fail_at && ++host_count == host_fail_at) return NULL;
  void *p = malloc(n);
  if (p) host_live++;
  return p;
}
static void host_free(void *p) {
  if (p) host_live--;
  free(p);
}
static void host_cjson_hooks(long fail_at) {
  host_live = host_count = 0;
  host_fail_at = fail_at;
  cJSON_Hooks h = {host_malloc, host_free};
  cJSON_InitHooks(&h);
}

/* tkn_set_allocator used to call cJSON_InitHooks, the process-global hook:
 * a host with its own cJSON then had its cJSON allocate with the library's
 * allocator and free with its own. */
static void allocator_leaves_the_hosts_cjson_alone(void **state) {
  (void)state;
  host_cjson_hooks(0);
  tt_alloc_install(0);
  void *p = tki_malloc(10);
  assert_int_equal(tt_alloc.live, 1);
  tkn_free(p);
  cJSON *j = cJSON_Parse("{\"a\":[1,2,3]}");
  assert_non_null(j);
  assert_true(host_live > 0); /* the host's cJSON still allocates with the host's hooks */
  assert_int_equal(tt_alloc.live, 0);
  cJSON_Delete(j);
  assert_int_equal(host_live, 0);
  /* the library's own parses: nothing crosses between the two allocators
   * (a big number keeps its text inside cJSON's node; conv copies strings) */
  const char *doc = "{\"n\": 12345678901234567890, \"s\": \"text\"}";
  char err[TKI_ERRLEN];
  assert_int_equal(tki_json_parse(doc, strlen(doc), 1000, 10, "t", &j, err), TKN_OK);
  cJSON_Delete(j);
  const char *msgs = "[{\"role\": \"user\", \"content\": \"hello there\"},"
                     " {\"role\": \"assistant\", \"content\": [{\"type\": \"text\", \"text\": \"hi\"}]}]";
  tkn_conv *conv = NULL;
  assert_int_equal(tkn_conv_new(&conv), TKN_OK);
  assert_int_equal(tkn_conv_load(conv, TKN_PROVIDER_OPENAI, msgs, strlen(msgs)), TKN_OK);
  tkn_conv_free(conv);
  assert_int_equal(host_live, 0);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
  cJSON_InitHooks(NULL);
}

static void allocator_rejects_incomplete_hooks(void **state) {
  (void)state;
  tkn_allocator a = TKN_ALLOCATOR_INIT;
  a.malloc_fn = tt_malloc;
  assert_int_equal(tkn_set_allocator(&a), TKN_ERR_INVALID);
  a.version = 7;
  assert_int_equal(tkn_set_allocator(&a), TKN_ERR_VERSION);
  tkn_free(NULL);
}

static void utf8_validator_finds_first_bad_byte(void **state) {
  (void)state;
  size_t off = 99;
  assert_true(tki_utf8_valid("plain ascii text, long enough", 29, &off));
  assert_true(tki_utf8_valid("h\xC3\xA9llo \xE4\xB8\xAD \xF0\x9F\x98\x80", 15, &off));
  assert_false(tki_utf8_valid("abc\xC3", 4, &off)); /* truncated */
  assert_int_equal(off, 3);
  assert_false(tki_utf8_valid("abcdefgh\xC0\xAF", 10, &off)); /* overlong */
  assert_int_equal(off, 8);
  assert_false(tki_utf8_valid("x\xED\xA0\x80", 4, &off)); /* surrogate */
  assert_int_equal(off, 1);
  assert_false(tki_utf8_valid("\xF4\x90\x80\x80", 4, &off)); /* > U+10FFFF */
  assert_int_equal(off, 0);
  assert_false(tki_utf8_valid("ab\xFF", 3, &off));
  assert_int_equal(off, 2);
}

/* The rule alone, a character at a time: what the validator's word-at-a-time
 * fast paths must agree with. */
static int utf8_valid_by_rule(const unsigned char *s, size_t len, size_t *bad) {
  for (size_t i = 0; i < len;) {
    size_t n = s[i] < 0x80 ? 1 : tki_utf8_seq(s, len, i);
    if (!n) {
      *bad = i;
      return 0;
    }
    i += n;
  }
  return 1;
}

/* Every 2-byte and 3-byte sequence (second byte any value, the third a
 * boundary value), after 2-byte, 3-byte or ASCII characters (short runs, and
 * long enough for 8 and 16 bytes at a time) and before more of them or the
 * end: valid or not, and the first bad byte, as the rule. */
static void utf8_validator_fast_paths_agree_with_the_rule(void **state) {
  (void)state;
  static const char *const around[] = {"", "\xD0\x9F", "\xD0\x9F\xD0\x9F\xD0\x9F",
                                       "\xE0\xA6\x95", "\xE4\xB8\xAD\xE4\xB8\xAD", "ab",
                                       "ASCII, 8 or 16 at a time",
                                       "\xD0\x9F\xD0\x9F\xD0\x9F\xD0\x9F\xD0"};
  static const unsigned char third[] = {0x00, 0x41, 0x7F, 0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xFF};
  unsigned char buf[64];
  for (unsigned lead = 0x80; lead <= 0xFF; lead++)
    for (unsigned b1 = 0; b1 <= 0xFF; b1++)
      for (size_t k = 0; k < sizeof third; k++)
        for (size_t a = 0; a < sizeof around / sizeof *around; a++)
          for (size_t z = 0; z < sizeof around / sizeof *around; z++) {
            size_t n = strlen(around[a]);
            memcpy(buf, around[a], n);
            buf[n++] = (unsigned char)lead;
            buf[n++] = (unsigned char)b1;
            if (lead >= 0xE0) buf[n++] = third[k];
            else if (k) continue; /* 2-byte: the third byte is the next character */
            memcpy(buf + n, around[z], strlen(around[z]));
            n += strlen(around[z]);
            size_t want_bad = 0, got_bad = 0;
            int want = utf8_valid_by_rule(buf, n, &want_bad);
            int got = tki_utf8_valid((const char *)buf, n, &got_bad);
            if (got != want || (!want && got_bad != want_bad))
              fail_msg("lead %02X %02X %02X, around %zu/%zu: %d at %zu, the rule %d at %zu", lead,
                       b1, third[k], a, z, got, got_bad, want, want_bad);
          }
}

/* Random text of ASCII, 2-, 3- and 4-byte characters and stray bytes, every
 * length up to 96 (so runs of ASCII of every length meet other bytes at
 * every distance from the end, where the 16-byte and 8-byte steps stop):
 * valid or not, and the first bad byte, as the rule. */
static void utf8_validator_agrees_with_the_rule_on_random_text(void **state) {
  (void)state;
  static const char *const atoms[] = {"a", "  ", "0123456", "\xD0\x9F", "\xC2\xAB", "\xE0\xA6\x95",
                                      "\xE4\xB8\xAD", "\xF0\x9F\x98\x80", "\xC2", "\xAB",
                                      "\xE0\x80\x80", "\xED\xA0\x80", "\xF4\x90\x80\x80",
                                      "\xFF", "\xE4\xB8", "\xC1\xBF", "abcdefghijklmnop"};
  uint32_t seed = 1;
  unsigned char buf[128];
  for (int t = 0; t < 200000; t++) {
    size_t n = 0, want_n = (size_t)t % 97;
    while (n < want_n) {
      seed = seed * 1103515245u + 12345u;
      /* mostly valid text: a stray or bad sequence one time in 16 */
      size_t k = (seed >> 8) % 16 ? (seed >> 12) % 8 : 8 + (seed >> 12) % 9;
      if (k == 1 && (seed >> 20) % 2) k = 16;
      size_t m = strlen(atoms[k]);
      if (n + m > want_n) m = want_n - n;
      memcpy(buf + n, atoms[k], m);
      n += m;
    }
    size_t want_bad = 0, got_bad = 0;
    int want = utf8_valid_by_rule(buf, n, &want_bad);
    int got = tki_utf8_valid((const char *)buf, n, &got_bad);
    if (got != want || (!want && got_bad != want_bad))
      fail_msg("case %d, %zu bytes: %d at %zu, the rule %d at %zu", t, n, got, got_bad, want,
               want_bad);
  }
}

static void json_parse_reports_line_column_and_offset(void **state) {
  (void)state;
  char err[TKI_ERRLEN] = "";
  cJSON *j = NULL;
  const char *bad = "{\n  \"a\": 1,\n  \"b\": tru\n}";
  assert_int_equal(tki_json_parse(bad, strlen(bad), 1000, 10, "thing", &j, err), TKN_ERR_PARSE);
  assert_null(j);
  assert_non_null(strstr(err, "thing: malformed JSON at line 3"));
  assert_non_null(strstr(err, "byte"));

  const char *trail = "[1] x";
  assert_int_equal(tki_json_parse(trail, 5, 1000, 10, "t", &j, err), TKN_ERR_PARSE);
  assert_non_null(strstr(err, "column 5 (byte 4)"));

  assert_int_equal(tki_json_parse("[[[[1]]]]", 9, 1000, 3, "t", &j, err), TKN_ERR_LIMIT);
  assert_non_null(strstr(err, "deeper than 3"));
  assert_int_equal(tki_json_parse("[1]", 3, 2, 3, "t", &j, err), TKN_ERR_LIMIT);
  assert_int_equal(tki_json_parse("[\"\xC3\"]", 4, 100, 3, "t", &j, err), TKN_ERR_UTF8);
  assert_non_null(strstr(err, "byte 2"));
  assert_int_equal(tki_json_parse("[1]\0", 4, 100, 3, "t", &j, err), TKN_ERR_PARSE);
  assert_int_equal(tki_json_parse("  ", 2, 100, 3, "t", &j, err), TKN_ERR_PARSE);

  assert_int_equal(tki_json_parse("{\"k\":[\"]\"]}", 11, 100, 2, "t", &j, err), TKN_OK);
  assert_non_null(j);
  cJSON_Delete(j);
}

static void json_parse_deep_nesting_fails_fast(void **state) {
  (void)state;
  size_t n = 10000;
  char *deep = malloc(2 * n);
  memset(deep, '[', n);
  memset(deep + n, ']', n);
  char err[TKI_ERRLEN];
  cJSON *j = NULL;
  assert_int_equal(tki_json_parse(deep, 2 * n, SIZE_MAX, 128, "t", &j, err), TKN_ERR_LIMIT);
  free(deep);
}

/* cJSON's allocator is the host's, and cJSON reports its failures like
 * syntax errors: the library must still tell the two apart. */
static void json_parse_out_of_memory_is_not_a_parse_error(void **state) {
  (void)state;
  const char *doc = "{\"a\": [1, 2, {\"b\": \"c\\u00e9\"}], \"d\": null, \"e\": -1.5e3}";
  for (long n = 1;; n++) {
    host_cjson_hooks(n);
    char err[TKI_ERRLEN];
    cJSON *j = NULL;
    int rc = tki_json_parse(doc, strlen(doc), 1000, 10, "t", &j, err);
    if (rc == TKN_OK) {
      cJSON_Delete(j);
      assert_int_equal(host_live, 0);
      assert_true(n > 1);
      break;
    }
    assert_int_equal(rc, TKN_ERR_NOMEM);
    assert_non_null(strstr(err, "out of memory"));
    assert_int_equal(host_live, 0);
  }
  /* and malformed text stays a parse error, whatever the allocator does */
  const char *bad[] = {"{\"a\" 1}", "[1,]", "{\"a\":tru}", "\"\\x\"", "[1 2]", "{,}",
                       "{\"a\":1,}", "[\"\\u12\"]", "\"\\ud800\"", "\"\\udc00x\"", "nul"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    for (long n = 0; n < 3; n++) {
      host_cjson_hooks(n);
      char err[TKI_ERRLEN];
      cJSON *j = NULL;
      int rc = tki_json_parse(bad[i], strlen(bad[i]), 1000, 10, "t", &j, err);
      if (rc != TKN_ERR_PARSE) fail_msg("%s (allocation %ld refused): status %d", bad[i], n, rc);
    }
  }
  cJSON_InitHooks(NULL);
}

static void buffer_escapes_json_strings(void **state) {
  (void)state;
  tki_buf b;
  tki_buf_init(&b);
  tki_buf_json_string(&b, "a\"b\\c\n\x01", 7);
  tki_buf_printf(&b, " %d", 42);
  size_t len;
  char *s = tki_buf_steal(&b, &len);
  assert_string_equal(s, "\"a\\\"b\\\\c\\n\\u0001\" 42");
  assert_int_equal(len, strlen(s));
  tkn_free(s);
}

static void buffer_failure_is_sticky(void **state) {
  (void)state;
  tt_alloc_install(1);
  tki_buf b;
  tki_buf_init(&b);
  assert_int_equal(tki_buf_puts(&b, "hello"), TKN_ERR_NOMEM);
  tki_buf_puts(&b, "world");
  assert_null(tki_buf_steal(&b, NULL));
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void hash64_is_xxh64(void **state) {
  (void)state;
  /* Reference values from `xxhsum -H1` (xxHash 0.8.1). */
  assert_true(tki_hash64("", 0, 0) == 0xef46db3751d8e999ULL);
  assert_true(tki_hash64(NULL, 0, 0) == 0xef46db3751d8e999ULL);
  /* NULL has no bytes, whatever the length says (no read past a 1-byte "") */
  assert_true(tki_hash64(NULL, 40, 0) == 0xef46db3751d8e999ULL);
  assert_true(tki_hash64("a", 1, 0) == 0xd24ec4f1a98c6e5bULL);
  assert_true(tki_hash64("abc", 3, 0) == 0x44bc2cf5ad770999ULL);
  const char *s = "The quick brown fox jumps over the lazy dog, then runs 64+ bytes further.";
  assert_true(tki_hash64(s, strlen(s), 0) == 0xce8d9ac530491136ULL);
}

static void err_text_is_one_line(void **state) {
  (void)state;
  char err[TKI_ERRLEN];
  assert_int_equal(tki_err(err, TKN_ERR_PARSE, "a\nb\r%s", "c"), TKN_ERR_PARSE);
  assert_string_equal(err, "a b c");
  char small[4];
  tki_copy_err(small, sizeof small, "abcdef");
  assert_string_equal(small, "abc");
}

static void canonical_json_sorts_keys_and_normalises_numbers(void **state) {
  (void)state;
  char err[TKI_ERRLEN];
  tki_buf b;
  tki_buf_init(&b);
  const char *in = "{ \"b\": [1.0, -0, 2.50, 1e2, 0.1, 1e300],\n \"a\": {\"z\":null,\"y\":true},"
                   " \"a\": \"last\", \"\u00e9\": \"x\\u0001\" }";
  assert_int_equal(tki_json_canonicalize(in, strlen(in), 1 << 20, 64, "args", &b, err), TKN_OK);
  char *s = tki_buf_steal(&b, NULL);
  assert_string_equal(s, "{\"a\":\"last\",\"b\":[1,0,2.5,100,0.1,1e+300],\"\xC3\xA9\":\"x\\u0001\"}");
  tkn_free(s);
  tki_buf_init(&b);
  assert_int_equal(tki_json_canonicalize("{\"a\":", 5, 100, 8, "args", &b, err), TKN_ERR_PARSE);
  assert_non_null(strstr(err, "args: malformed JSON"));
  tki_buf_free(&b);
}

static char *canon(const char *in, int expect) {
  char err[TKI_ERRLEN];
  tki_buf b;
  tki_buf_init(&b);
  int rc = tki_json_canonicalize(in, strlen(in), 1 << 20, 64, "args", &b, err);
  assert_int_equal(rc, expect);
  if (rc) {
    tki_buf_free(&b);
    return NULL;
  }
  return tki_buf_steal(&b, NULL);
}

static void assert_canon(const char *in, const char *expected) {
  char *s = canon(in, TKN_OK);
  assert_string_equal(s, expected);
  tkn_free(s);
}

/* issue 21: numbers went through doubles, so two ids 100 apart shared a
 * tool-cache key; the canonical spelling is now exact in decimal. */
static void canonical_numbers_are_exact_in_decimal(void **state) {
  (void)state;
  assert_canon("[1234567890123456789,1234567890123456700]",
               "[1234567890123456789,1234567890123456700]");
  assert_canon("[1,1.0,1e0,10e-1,0.1e1,100e-2]", "[1,1,1,1,1,1]");
  assert_canon("[-0,-0.0,0e999999999999999,0.000]", "[0,0,0,0]");
  assert_canon("[1e21,1e22,123.456e1,-1.5e-7,0.000001,1e-7]",
               "[1000000000000000000000,1e+22,1234.56,-1.5e-7,0.000001,1e-7]");
  assert_canon("[0.1000000000000000000001,0.1]", "[0.1000000000000000000001,0.1]");
  assert_canon("[123456789012345678901234567890]", "[123456789012345678901234567890]");
  assert_canon("{\"a\":1E+2}", "{\"a\":100}");
  canon("[1e9999999999999]", TKN_ERR_INVALID);
  const char *bad[] = {"[01]", "[1.]", "[-]", "[1.e5]", "[.5]", "[1e]", "[+1]", "[1e5+3]"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) canon(bad[i], TKN_ERR_PARSE);
}

/* fuzz_json: the writer checked the exponent as written (at most 12 digits),
 * not the value's, so 9999.99e999999999999 came out as 9.99999e+1000000000002,
 * which it refused to read back.  Now what is written always reads back to
 * itself, and a value past the largest exponent is refused in one line. */
static void canonical_exponents_always_read_back(void **state) {
  (void)state;
  const char *ok[][2] = {
      {"[1e999999999999]", "[1e+999999999999]"},
      {"[10e999999999998]", "[1e+999999999999]"},
      {"[0.01e1000000000001]", "[1e+999999999999]"},
      {"[-1.5e-999999999999]", "[-1.5e-999999999999]"},
      {"[100e-1000000000001]", "[1e-999999999999]"},
      {"[0e9999999999999999999]", "[0]"},
  };
  for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
    char *s = canon(ok[i][0], TKN_OK);
    assert_string_equal(s, ok[i][1]);
    char *again = canon(s, TKN_OK);
    assert_string_equal(again, s);
    tkn_free(again);
    tkn_free(s);
  }
  /* the first is the fuzz input, \032 its leading 0x1a (one literal: clang
   * warns of two adjacent ones in an initialiser) */
  const char *refused[] = {"\0329999.990e999999999999\n", "[9999.99e999999999999]",
                           "[10e999999999999]", "[0.1e-999999999999]",
                           "[1e9999999999999999999]", "[1e-9999999999999999999]"};
  for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
    char err[TKI_ERRLEN];
    tki_buf b;
    tki_buf_init(&b);
    int rc = tki_json_canonicalize(refused[i], strlen(refused[i]), 1 << 20, 64, "args", &b, err);
    if (rc != TKN_ERR_INVALID) fail_msg("%s: rc %d", refused[i], rc);
    assert_string_equal(err, "args: cannot be written canonically");
    tki_buf_free(&b);
  }
}

/* issue 21: an escaped NUL cut the string, so "abc\u0000def" equalled "abc". */
static void canonical_strings_keep_escaped_nuls(void **state) {
  (void)state;
  assert_canon("{\"id\":\"abc\\u0000def\"}", "{\"id\":\"abc\\u0000def\"}");
  assert_canon("{\"a\\u0000b\":1,\"a\\u0000c\":2,\"a\":3}",
               "{\"a\":3,\"a\\u0000b\":1,\"a\\u0000c\":2}");
  assert_canon("[\"\\\\u0000\",\"\\\\\\u0000\"]", "[\"\\\\u0000\",\"\\\\\\u0000\"]");
  char err[TKI_ERRLEN];
  cJSON *root = NULL;
  const char *bad = "[\"\\u0000\", oops]";
  assert_int_equal(tki_json_parse(bad, strlen(bad), 100, 8, "args", &root, err), TKN_ERR_PARSE);
  if (!strstr(err, "(byte 11)")) fail_msg("%s", err);
}

/* issue 21: duplicate keys made canonicalisation quadratic (1 MB: 8 s). */
static void canonical_duplicate_keys_keep_the_last(void **state) {
  (void)state;
  size_t n = 200000;
  tki_buf in;
  tki_buf_init(&in);
  tki_buf_putc(&in, '{');
  for (size_t i = 0; i < n; i++) tki_buf_printf(&in, "%s\"k\":%zu", i ? "," : "", i);
  tki_buf_putc(&in, '}');
  char err[TKI_ERRLEN];
  tki_buf b;
  tki_buf_init(&b);
  assert_int_equal(tki_json_canonicalize(in.data, in.len, 1 << 24, 64, "args", &b, err), TKN_OK);
  char *s = tki_buf_steal(&b, NULL);
  assert_string_equal(s, "{\"k\":199999}");
  tkn_free(s);
  tki_buf_free(&in);
}

/* Money: one unit (picodollars) and exact USD text both ways. */
static void usd_parse_takes_dollars_signs_and_nul_terminated_text(void **state) {
  (void)state;
  int64_t v = 0;
  assert_int_equal(tkn_usd_parse("5", TKN_NUL_TERMINATED, &v), TKN_OK);
  assert_true(v == 5 * TKN_MONEY_UNITS_PER_USD);
  assert_int_equal(tkn_usd_parse("$2", TKN_NUL_TERMINATED, &v), TKN_OK);
  assert_true(v == 2 * TKN_MONEY_UNITS_PER_USD);
  assert_int_equal(tkn_usd_parse("-$0.25", TKN_NUL_TERMINATED, &v), TKN_OK);
  assert_true(v == -250000000000);
  assert_int_equal(tkn_usd_parse("0.003", TKN_NUL_TERMINATED, &v), TKN_OK);
  assert_true(v == 3000000000);
  /* an explicit length reads only that much */
  assert_int_equal(tkn_usd_parse("1.25", 1, &v), TKN_OK);
  assert_true(v == TKN_MONEY_UNITS_PER_USD);
  v = 7;
  const char *bad[] = {"$", "$$1", "$ 1", "1$", "--$1", "$-"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    if (tkn_usd_parse(bad[i], TKN_NUL_TERMINATED, &v) != TKN_ERR_PARSE)
      fail_msg("\"%s\" was accepted", bad[i]);
  assert_int_equal(tkn_usd_parse("1e-13", TKN_NUL_TERMINATED, &v), TKN_ERR_UNSUPPORTED);
  assert_int_equal(tkn_usd_parse("9223373", TKN_NUL_TERMINATED, &v), TKN_ERR_OVERFLOW);
  assert_true(v == 7);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_OVERFLOW);
  if (!strstr(tkn_error_last()->message, "\"9223373\""))
    fail_msg("%s", tkn_error_last()->message);
}

static void usd_format_round_trips_every_boundary(void **state) {
  (void)state;
  const int64_t cases[] = {0, 1, -1, 3000000000, TKN_MONEY_UNITS_PER_USD, INT64_MAX, INT64_MIN};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char buf[TKN_USD_BUFLEN];
    size_t n = 0;
    assert_int_equal(tkn_usd_format(cases[i], buf, sizeof buf, &n), TKN_OK);
    assert_int_equal(n, strlen(buf));
    int64_t back = 0;
    assert_int_equal(tkn_usd_parse(buf, n, &back), TKN_OK);
    assert_true(back == cases[i]);
  }
  char buf[TKN_USD_BUFLEN];
  assert_int_equal(tkn_usd_format(3000000000, buf, sizeof buf, NULL), TKN_OK);
  assert_string_equal(buf, "0.003000000000");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(version_macros_match_runtime),
      cmocka_unit_test(strerror_covers_every_code),
      cmocka_unit_test(status_codes_are_pinned),
      cmocka_unit_test(allocator_leaves_the_hosts_cjson_alone),
      cmocka_unit_test(allocator_rejects_incomplete_hooks),
      cmocka_unit_test(utf8_validator_finds_first_bad_byte),
      cmocka_unit_test(utf8_validator_fast_paths_agree_with_the_rule),
      cmocka_unit_test(utf8_validator_agrees_with_the_rule_on_random_text),
      cmocka_unit_test(json_parse_reports_line_column_and_offset),
      cmocka_unit_test(json_parse_deep_nesting_fails_fast),
      cmocka_unit_test(json_parse_out_of_memory_is_not_a_parse_error),
      cmocka_unit_test(buffer_escapes_json_strings),
      cmocka_unit_test(buffer_failure_is_sticky),
      cmocka_unit_test(hash64_is_xxh64),
      cmocka_unit_test(err_text_is_one_line),
      cmocka_unit_test(usd_parse_takes_dollars_signs_and_nul_terminated_text),
      cmocka_unit_test(usd_format_round_trips_every_boundary),
      cmocka_unit_test(canonical_json_sorts_keys_and_normalises_numbers),
      cmocka_unit_test(canonical_numbers_are_exact_in_decimal),
      cmocka_unit_test(canonical_exponents_always_read_back),
      cmocka_unit_test(canonical_strings_keep_escaped_nuls),
      cmocka_unit_test(canonical_duplicate_keys_keep_the_last),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
