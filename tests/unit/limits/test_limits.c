/* Every parser facing outside input, given 100 MB of input or 10,000 levels
 * of nesting, fails cleanly with its limit (or parse) error and a one-line
 * message, and leaks nothing.  No timing is asserted: the suite's timeout is
 * the bound (each case stops at its size or depth check). */
#include "test_util.h"

#define BIG ((size_t)100 * 1000 * 1000)
#define DEEP 10000

static char *big;  /* BIG bytes: a JSON string "aaaa...", valid UTF-8 */
static char *deep; /* DEEP '[' then DEEP ']' */
static size_t deep_len;

static int setup(void **state) {
  (void)state;
  big = malloc(BIG);
  deep_len = 2 * DEEP;
  deep = malloc(deep_len);
  if (!big || !deep) return -1;
  memset(big, 'a', BIG);
  big[0] = '"';
  big[BIG - 1] = '"';
  memset(deep, '[', DEEP);
  memset(deep + DEEP, ']', DEEP);
  return 0;
}
static int teardown(void **state) {
  (void)state;
  free(big);
  free(deep);
  return 0;
}

static void one_line(const char *msg) {
  assert_non_null(msg);
  assert_true(msg[0] != '\0');
  assert_null(strchr(msg, '\n'));
}

/* A deep array wrapped where the reader expects an object member. */
static char *deep_in(const char *before, const char *after, size_t *len) {
  size_t a = strlen(before), b = strlen(after);
  char *s = malloc(a + deep_len + b);
  memcpy(s, before, a);
  memcpy(s + a, deep, deep_len);
  memcpy(s + a + deep_len, after, b);
  *len = a + deep_len + b;
  return s;
}

static void conversation_refuses_100mb_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  char err[512];
  tkn_conv *c = NULL;
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&c, TKN_PROVIDER_AUTO, big, BIG), err, sizeof err),
                   TKN_ERR_LIMIT);
  one_line(err);
  size_t len;
  char *d = deep_in("[{\"role\":\"user\",\"content\":\"x\",\"extra\":", "}]", &len);
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, d, len), err, sizeof err),
                   TKN_ERR_LIMIT);
  one_line(err);
  assert_null(c);
  free(d);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void schema_refuses_100mb_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  char err[512];
  tkn_schema *s = NULL;
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, big, BIG, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, deep, deep_len, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, S("{\"type\":\"array\"}"), NULL), err, sizeof err),
                   TKN_OK);
  tkn_schema_result *r = NULL;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(tkn_schema_validate(s, big, BIG, r), TKN_ERR_LIMIT);
  one_line(tkn_error_last()->message);
  assert_int_equal(tkn_schema_validate(s, deep, deep_len, r), TKN_ERR_LIMIT);
  one_line(tkn_error_last()->message);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void router_config_and_task_refuse_100mb_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  char err[512];
  tkn_router *r = NULL;
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, big, BIG, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  size_t len;
  char *d = deep_in("{\"tiers\":", "}", &len);
  assert_int_equal(tt_keep_err(tkn_router_new_json(&r, d, len, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  free(d);
  tkn_task *t = NULL;
  assert_int_equal(tt_keep_err(tkn_task_from_json(&t, big, BIG), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  d = deep_in("{\"a\":", "}", &len);
  assert_int_equal(tt_keep_err(tkn_task_from_json(&t, d, len), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  free(d);
  assert_null(r);
  assert_null(t);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void prices_and_usage_refuse_100mb_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  char err[512];
  tkn_prices *p = NULL;
  /* the default max_bytes is 64 MiB */
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, big, BIG, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  size_t len;
  char *d = deep_in("{\"m\":", "}", &len);
  assert_int_equal(tt_keep_err(tkn_prices_load(&p, d, len, NULL), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  assert_null(p);
  tkn_usage u = TKN_USAGE_INIT;
  assert_int_equal(tt_keep_err(tkn_usage_parse(&u, TKN_USAGE_AUTO, big, BIG), err, sizeof err),
                   TKN_ERR_LIMIT);
  one_line(err);
  free(d);
  d = deep_in("{\"usage\":", "}", &len);
  assert_int_equal(tt_keep_err(tkn_usage_parse(&u, TKN_USAGE_AUTO, d, len), err, sizeof err), TKN_ERR_LIMIT);
  one_line(err);
  free(d);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void prompt_tools_refuse_100mb_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_prompt_builder *b = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_tool(b, big, BIG, NULL), TKN_ERR_LIMIT);
  one_line(tkn_error_last()->message);
  size_t len;
  char *d = deep_in("{\"name\":\"t\",\"parameters\":{\"x\":", "}}", &len);
  int rc = tkn_prompt_builder_add_tool(b, d, len, NULL);
  assert_true(rc == TKN_ERR_LIMIT || rc == TKN_ERR_PARSE);
  one_line(tkn_error_last()->message);
  free(d);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, S("s"),
                                               big, BIG, NULL),
                   TKN_ERR_LIMIT);
  tkn_prompt_builder_free(b);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static int w_begin(uint32_t i, void *u) {
  (void)i;
  (void)u;
  return 0;
}
static int w_write(const char *d, size_t n, void *u) {
  (void)d;
  (void)n;
  (void)u;
  return 0;
}

static void batch_reader_and_writer_refuse_100mb_lines_and_deep_nesting(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_batch_reader *r = NULL;
  assert_int_equal(tkn_batch_reader_new(&r, NULL), TKN_OK);
  int rc = tkn_batch_reader_feed(r, big, BIG); /* one line of 100 MB, no newline yet */
  if (rc == TKN_OK) rc = tkn_batch_reader_finish(r);
  assert_int_equal(rc, TKN_ERR_LIMIT);
  one_line(tkn_error_last()->message);
  tkn_batch_reader_free(r);

  size_t len;
  char *d = deep_in("{\"custom_id\":\"a\",\"response\":", "}\n", &len);
  assert_int_equal(tkn_batch_reader_new(&r, NULL), TKN_OK);
  rc = tkn_batch_reader_feed(r, d, len);
  if (rc == TKN_OK) rc = tkn_batch_reader_finish(r);
  if (rc == TKN_OK) /* a bad line may be kept as a dead letter instead of failing the read */
    assert_true(tkn_batch_reader_dead_letter_count(r) == 1);
  else
    one_line(tkn_error_last()->message);
  tkn_batch_reader_free(r);
  free(d);

  tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
  o.begin_file = w_begin;
  o.write = w_write;
  tkn_batch_writer *w = NULL;
  assert_int_equal(tkn_batch_writer_new(&w, &o), TKN_OK);
  d = deep_in("{\"model\":\"m\",\"messages\":", "}", &len);
  assert_int_not_equal(tkn_batch_writer_add(w, S("id1"), d, len), TKN_OK);
  one_line(tkn_error_last()->message);
  free(d);
  tkn_batch_writer_free(w);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void tool_cache_refuses_deep_and_oversized_arguments(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_toolcache *c = NULL;
  assert_int_equal(tkn_toolcache_new(&c, NULL), TKN_OK);
  assert_int_equal(tkn_toolcache_set_policy(c, S("t"), 1, 0, TKN_TOOLCACHE_SCOPE_GLOBAL), TKN_OK);
  assert_int_equal(tkn_toolcache_put(c, S("t"), big, BIG, NULL, 0, S("v"), 1), TKN_ERR_LIMIT);
  size_t len;
  char *d = deep_in("{\"a\":", "}", &len);
  assert_int_equal(tkn_toolcache_put(c, S("t"), d, len, NULL, 0, S("v"), 1), TKN_ERR_LIMIT);
  char msg[512];
  tt_copy_err(msg, sizeof msg);
  one_line(msg);
  free(d);
  tkn_toolcache_free(c);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

static void rank_loader_refuses_100mb_of_garbage(void **state) {
  (void)state;
  tt_alloc_install(0);
  tkn_ranks_options ro = TKN_RANKS_OPTIONS_INIT;
  ro.flavor = TKN_BPE_CL100K;
  ro.data = big;
  ro.len = BIG;
  tkn_tokenizer *t = NULL;
  char err[512];
  int rc = tt_keep_err(tkn_tokenizer_load_ranks(&t, &ro), err, sizeof err);
  assert_true(rc == TKN_ERR_PARSE || rc == TKN_ERR_LIMIT);
  one_line(err);
  assert_null(t);
  assert_int_equal(tt_alloc.live, 0);
  tt_alloc_restore();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(conversation_refuses_100mb_and_deep_nesting),
      cmocka_unit_test(schema_refuses_100mb_and_deep_nesting),
      cmocka_unit_test(router_config_and_task_refuse_100mb_and_deep_nesting),
      cmocka_unit_test(prices_and_usage_refuse_100mb_and_deep_nesting),
      cmocka_unit_test(prompt_tools_refuse_100mb_and_deep_nesting),
      cmocka_unit_test(batch_reader_and_writer_refuse_100mb_lines_and_deep_nesting),
      cmocka_unit_test(tool_cache_refuses_deep_and_oversized_arguments),
      cmocka_unit_test(rank_loader_refuses_100mb_of_garbage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
