/* The thread-local last error (tkn_error_last): what a failure records, that
 * a success leaves it alone, that clear resets it, and that two threads
 * failing on one shared handle each read their own failure. */
#include <pthread.h>

#include "../test_util.h"

static void no_error_is_ok_and_empty(void **state) {
  (void)state;
  tkn_error_clear();
  const tkn_error *e = tkn_error_last();
  assert_non_null(e);
  assert_int_equal(e->status, TKN_OK);
  assert_string_equal(e->message, "");
  assert_int_equal(e->offset, -1);
  assert_string_equal(e->path, "");
}

static void malformed_json_records_status_message_and_offset(void **state) {
  (void)state;
  tkn_error_clear();
  tkn_conv *conv = NULL;
  const char *json = "[{\"role\": \"user\", \"content\": \"hi\"} x]";
  int rc = tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json));
  assert_int_equal(rc, TKN_ERR_PARSE);
  assert_null(conv);
  const tkn_error *e = tkn_error_last();
  assert_int_equal(e->status, TKN_ERR_PARSE);
  assert_non_null(strstr(e->message, "malformed JSON"));
  assert_null(strchr(e->message, '\n'));
  assert_int_equal(e->offset, 35); /* the x */
}

static void bad_utf8_records_its_offset(void **state) {
  (void)state;
  tkn_conv *conv = NULL;
  const char *json = "[{\"role\": \"user\", \"content\": \"a\xff\"}]";
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json)),
                   TKN_ERR_UTF8);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_UTF8);
  assert_int_equal(tkn_error_last()->offset, 31);
}

static void a_conversation_field_at_fault_is_named_by_its_json_path(void **state) {
  (void)state;
  tkn_conv *conv = NULL;
  const char *json = "[{\"role\": \"user\", \"content\": \"a\"}, {\"role\": \"wizard\"}]";
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json)), TKN_ERR_SCHEMA);
  assert_string_equal(tkn_error_last()->path, "$.messages[1].role");
  assert_non_null(strstr(tkn_error_last()->message, "wizard"));
}

static void a_schema_violation_is_named_by_its_json_path(void **state) {
  (void)state;
  tkn_schema *s = NULL;
  const char *schema = "{\"properties\": {\"items\": {\"items\": {\"minLength\": 3}}}}";
  assert_int_equal(tkn_schema_compile(&s, schema, strlen(schema), NULL), TKN_OK);
  const char *doc = "{\"items\": [\"abc\", \"x\"]}";
  assert_int_equal(tkn_schema_check(s, doc, strlen(doc)), TKN_ERR_SCHEMA);
  assert_string_equal(tkn_error_last()->path, "$.items[1]");
  assert_non_null(strstr(tkn_error_last()->message, "minLength"));
  tkn_schema_free(s);
}

static void a_special_token_is_refused_at_its_byte_offset(void **state) {
  (void)state;
  tkn_tokenizer *tok = NULL;
  if (tkn_tokenizer_new_encoding(&tok, "cl100k_base", 11) == TKN_ERR_UNAVAILABLE) skip();
  const char *text = "say <|endoftext|> now";
  uint32_t ids[16];
  size_t n = 0;
  tkn_encode_options o = TKN_ENCODE_OPTIONS_INIT;
  o.special = TKN_SPECIAL_REFUSE;
  assert_int_equal(tkn_tokenizer_encode(tok, text, strlen(text), &o, ids, 16, &n),
                   TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_SPECIAL_TOKEN);
  assert_int_equal(tkn_error_last()->offset, 4);
  tkn_tokenizer_free(tok);
}

/* One fault, one code: tool-call arguments that are JSON but not an object
 * cannot become an Anthropic tool_use input, whether the conversation is
 * written (conv) or rendered (prompt).  0.1 said SCHEMA in one, PARSE in the other. */
static void arguments_that_are_not_an_object_are_a_schema_fault_everywhere(void **state) {
  (void)state;
  const char *json =
      "[{\"role\":\"user\",\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":null,"
      "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"f\","
      "\"arguments\":\"[1]\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"ok\"}]";
  tkn_conv *conv = NULL;
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_OPENAI, json, strlen(json)), TKN_OK);
  char *out = NULL;
  assert_int_equal(tkn_conv_to_json(conv, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_ERR_SCHEMA);
  tkn_prompt_builder *b = NULL;
  tkn_tokenizer *tok = NULL;
  tkn_prompt *p = NULL;
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL), TKN_OK);
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_OK);
  tkn_render_options o = TKN_RENDER_OPTIONS_INIT;
  o.provider = TKN_PROVIDER_ANTHROPIC;
  o.model = "claude-sonnet-4";
  o.model_len = strlen(o.model);
  o.max_tokens = 100;
  assert_int_equal(tkn_prompt_render(p, &o, &out, NULL), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_SCHEMA);
  tkn_prompt_free(p);
  tkn_tokenizer_free(tok);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
}

static void success_does_not_clear_and_clear_does(void **state) {
  (void)state;
  tkn_conv *conv = NULL;
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, "{", 1), TKN_ERR_PARSE);
  const char *ok = "[{\"role\": \"user\", \"content\": \"hi\"}]";
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, ok, strlen(ok)), TKN_OK);
  tkn_conv_free(conv);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_PARSE);
  tkn_error_clear();
  assert_int_equal(tkn_error_last()->status, TKN_OK);
  assert_int_equal(tkn_error_last()->offset, -1);
}

/* ---- two threads, one budget ---- */

typedef struct {
  tkn_budget *budget;
  int negative; /* 1: charge a negative amount (INVALID); 0: too much (BUDGET) */
  int rounds;
  int wrong;    /* rounds where the thread read something not its own */
} worker;

static void *fail_repeatedly(void *arg) {
  worker *w = arg;
  for (int i = 0; i < w->rounds; i++) {
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = w->negative ? -5 : 1000;
    int rc = tkn_budget_charge(w->budget, &a);
    const tkn_error *e = tkn_error_last();
    int want = w->negative ? TKN_ERR_INVALID : TKN_ERR_BUDGET;
    const char *text = w->negative ? "negative amount" : "hard token limit";
    if (rc != want || e->status != want || !strstr(e->message, text)) w->wrong++;
  }
  return NULL;
}

static void threads_sharing_a_budget_each_read_their_own_failure(void **state) {
  (void)state;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 10;
  tkn_budget *b = NULL;
  assert_int_equal(tkn_budget_new(&b, &o, NULL), TKN_OK);
  worker w[2] = {{b, 1, 20000, 0}, {b, 0, 20000, 0}};
  pthread_t t[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&t[i], NULL, fail_repeatedly, &w[i]), 0);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  assert_int_equal(w[0].wrong, 0);
  assert_int_equal(w[1].wrong, 0);
  tkn_budget_free(b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(no_error_is_ok_and_empty),
      cmocka_unit_test(malformed_json_records_status_message_and_offset),
      cmocka_unit_test(bad_utf8_records_its_offset),
      cmocka_unit_test(a_conversation_field_at_fault_is_named_by_its_json_path),
      cmocka_unit_test(a_schema_violation_is_named_by_its_json_path),
      cmocka_unit_test(a_special_token_is_refused_at_its_byte_offset),
      cmocka_unit_test(arguments_that_are_not_an_object_are_a_schema_fault_everywhere),
      cmocka_unit_test(success_does_not_clear_and_clear_does),
      cmocka_unit_test(threads_sharing_a_budget_each_read_their_own_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
