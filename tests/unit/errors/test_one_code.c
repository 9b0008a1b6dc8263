/* One fault, one code (issue 15): the same fault reached through different
 * functions is the same status.  Tool-call arguments that are not a JSON
 * object, when an Anthropic request needs them as tool_use "input": the
 * conversation's writer and the prompt renderer both answer TKN_ERR_SCHEMA
 * (they were TKN_ERR_SCHEMA and TKN_ERR_PARSE), whether the arguments are JSON
 * of another type or not JSON at all, and the message names the fault. */
#include "../test_util.h"

static tkn_conv *with_args(const char *args) {
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_new(&c), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_USER, S("look it up")), TKN_OK);
  assert_int_equal(tkn_conv_append_text(c, TKN_ROLE_ASSISTANT, S("")), TKN_OK);
  assert_int_equal(tkn_conv_add_tool_call(c, 1, S("toolu_1"), S("search"), args,
                                          TKN_NUL_TERMINATED), TKN_OK);
  return c;
}

static int render_anthropic(tkn_conv *c) {
  tkn_tokenizer *tok = NULL;
  tkn_prompt_builder *b = NULL;
  tkn_prompt *p = NULL;
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(tkn_tokenizer_new_estimator(&tok), TKN_OK);
  assert_int_equal(tkn_prompt_builder_new(&b, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC,
                                               S("sys"), S("You help."), NULL), TKN_OK);
  assert_int_equal(tkn_prompt_builder_set_history(b, c, TKN_STABILITY_SESSION, NULL), TKN_OK);
  assert_int_equal(tkn_prompt_assemble(&p, b, tok), TKN_OK);
  tkn_render_options ro = TKN_RENDER_OPTIONS_INIT;
  ro.provider = TKN_PROVIDER_ANTHROPIC;
  ro.model = "claude-sonnet-4-5";
  ro.model_len = TKN_NUL_TERMINATED;
  ro.max_tokens = 100;
  int rc = tkn_prompt_render(p, &ro, &out, &n);
  tkn_free(out);
  tkn_prompt_free(p);
  tkn_prompt_builder_free(b);
  tkn_tokenizer_free(tok);
  return rc;
}

static void tool_call_arguments_not_an_object_are_one_code(void **state) {
  (void)state;
  const char *bad[] = {"[1, 2]", "\"text\"", "42", "{not json", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    tkn_conv *c = with_args(bad[i]);
    char *out = NULL;
    size_t n = 0;
    int a = tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, &n);
    int a_status = tkn_error_last()->status;
    tkn_free(out);
    int b = render_anthropic(c);
    int b_status = tkn_error_last()->status;
    const char *msg = tkn_error_last()->message;
    if (a != TKN_ERR_SCHEMA || b != TKN_ERR_SCHEMA || a_status != a || b_status != b ||
        !strstr(msg, "arguments"))
      fail_msg("arguments %s: tkn_conv_to_json %d (recorded %d), tkn_prompt_render %d "
               "(recorded %d: %s)", bad[i], a, a_status, b, b_status, msg);
    tkn_conv_free(c);
  }
  /* an object goes through both */
  tkn_conv *c = with_args("{\"q\": 1}");
  char *out = NULL;
  size_t n = 0;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, &n), TKN_OK);
  tkn_free(out);
  assert_int_equal(render_anthropic(c), TKN_OK);
  tkn_conv_free(c);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tool_call_arguments_not_an_object_are_one_code),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
