/* Regression tests for bugs the fuzzers found (tests/fuzz/): each test names
 * the harness and the seed kept in tests/fuzz/corpus/ that reproduces it. */
#include "test_util.h"


/* fuzz_conv, corpus/conv/regress-image-no-media-type.json: an Anthropic image
 * block whose base64 source has no media_type was written to OpenAI as a
 * half-opened image_url part (malformed JSON); it must pass through as it is. */
static void conv_image_without_media_type_converts_to_valid_json(void **state) {
  (void)state;
  static const char in[] =
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\",\"source\":"
      "{\"type\":\"base64\",\"data\":\"iVBORw0KGgo=\"}}]}]}";
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_ANTHROPIC, S(in)), TKN_OK);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, &len), TKN_OK);
  tkn_conv *back = NULL;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&back, TKN_PROVIDER_OPENAI, out, len), err, sizeof err),
                   TKN_OK);
  assert_int_equal(tkn_conv_part_count(back, 0), 1);
  const char *type = NULL, *text = NULL;
  size_t tl = 0;
  assert_int_equal(tkn_conv_part(back, 0, 0, &type, &text, &tl), TKN_OK);
  assert_string_equal(type, "image"); /* passed through, not a broken image_url */
  tkn_free(out);
  tkn_conv_free(back);
  tkn_conv_free(c);
}

/* The same with a url source missing its url: also passed through. */
static void conv_image_url_source_without_url_converts_to_valid_json(void **state) {
  (void)state;
  static const char in[] = "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image\","
                           "\"source\":{\"type\":\"url\"}},{\"type\":\"text\",\"text\":\"x\"}]}]}";
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_ANTHROPIC, S(in)), TKN_OK);
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, &len), TKN_OK);
  tkn_conv *back = NULL;
  assert_int_equal(tkn_conv_from_json(&back, TKN_PROVIDER_OPENAI, out, len), TKN_OK);
  assert_int_equal(tkn_conv_part_count(back, 0), 2);
  tkn_free(out);
  tkn_conv_free(back);
  tkn_conv_free(c);
}

/* fuzz_conv, corpus/conv/regress-system-image-part.json: a developer (or
 * system) message with a non-text part was written into Anthropic's
 * "system", which holds text blocks only, so the result did not load; the
 * conversion must refuse it, naming the part. */
static void conv_system_with_a_non_text_part_is_refused_for_anthropic(void **state) {
  (void)state;
  static const char in[] =
      "[{\"role\":\"developer\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
      "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://e.test/a.png\"}}]},"
      "{\"role\":\"user\",\"content\":\"hi\"}]";
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, S(in)), TKN_OK);
  char *out = (char *)"unchanged";
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_ERR_UNSUPPORTED);
  assert_null(out);
  assert_non_null(strstr(tkn_error_last()->message, "messages[0].content[1]"));
  /* the OpenAI form still writes */
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, NULL), TKN_OK);
  tkn_free(out);
  tkn_conv_free(c);
}

/* fuzz_conv, corpus/conv/regress-duplicate-type-key.json: a block with its
 * "type" twice was read by the first (cJSON) but written back by the last
 * (the canonical writer), so the written conversation did not load.  The last
 * of duplicate keys now wins in reading too. */
static void conv_duplicate_keys_read_as_the_last_one_as_written(void **state) {
  (void)state;
  static const char in[] =
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"type\":"
      "{\"x\":1},\"data\":\"a\"}]}]}";
  tkn_conv *c = NULL;
  char err[256] = "";
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&c, TKN_PROVIDER_ANTHROPIC, S(in)), err, sizeof err),
                   TKN_ERR_SCHEMA); /* the type that counts is the object */
  assert_non_null(strstr(err, "messages[0].content[0]"));
  static const char in2[] =
      "{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":{\"x\":1},\"type\":"
      "\"document\",\"source\":{\"type\":\"text\",\"type\":\"url\"}}]}]}";
  assert_int_equal(tt_keep_err(tkn_conv_from_json(&c, TKN_PROVIDER_ANTHROPIC, S(in2)), err, sizeof err),
                   TKN_OK);
  const char *type = NULL;
  assert_int_equal(tkn_conv_part(c, 0, 0, &type, NULL, NULL), TKN_OK);
  assert_string_equal(type, "document");
  char *out = NULL;
  size_t len = 0;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, &len), TKN_OK);
  assert_string_equal(out, "{\"messages\":[{\"role\":\"user\",\"content\":[{\"source\":"
                           "{\"type\":\"url\"},\"type\":\"document\"}]}]}");
  tkn_conv *back = NULL;
  assert_int_equal(tkn_conv_from_json(&back, TKN_PROVIDER_ANTHROPIC, out, len), TKN_OK);
  tkn_free(out);
  tkn_conv_free(back);
  tkn_conv_free(c);
}

/* fuzz_conv, corpus/conv/regress-openai-part-typed-tool-result.json: a part
 * of OpenAI content typed "tool_result" (or "tool_use") was passed through to
 * Anthropic, where those types are checked blocks, and the result did not
 * load; the conversion refuses it. */
static void conv_openai_part_typed_tool_result_is_refused_for_anthropic(void **state) {
  (void)state;
  static const char in[] = "[{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
                           "\"content\":\"x\"}]}]";
  tkn_conv *c = NULL;
  assert_int_equal(tkn_conv_from_json(&c, TKN_PROVIDER_OPENAI, S(in)), TKN_OK);
  char *out = NULL;
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_ANTHROPIC, &out, NULL), TKN_ERR_UNSUPPORTED);
  assert_null(out);
  assert_non_null(strstr(tkn_error_last()->message, "\"tool_result\" part"));
  assert_int_equal(tkn_conv_to_json(c, TKN_PROVIDER_OPENAI, &out, NULL), TKN_OK);
  tkn_free(out);
  tkn_conv_free(c);
}

/* fuzz_schema, corpus/schema/regress-negative-multiple.txt: the message of a
 * failed minimum on a negative number converted the double to unsigned
 * (undefined behaviour, caught by UBSan); the message must name both numbers. */
static void schema_negative_value_below_minimum_has_a_message(void **state) {
  (void)state;
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, S("{\"minimum\":0}"), NULL), TKN_OK);
  tkn_schema_result *r = NULL;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(tkn_schema_validate(s, S("-6"), r), TKN_ERR_SCHEMA);
  const char *msg = NULL;
  assert_int_equal(tkn_schema_result_error(r, 0, NULL, NULL, NULL, &msg), TKN_OK);
  assert_string_equal(msg, "-6 is less than the minimum 0");
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

/* fuzz_schema, corpus/schema/regress-newline-in-property.txt: a property
 * name holding a line break was quoted raw in the error message, which must
 * be one line. */
static void schema_message_naming_a_property_with_a_line_break_is_one_line(void **state) {
  (void)state;
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, S("{\"additionalProperties\":false}"), NULL),
                   TKN_OK);
  tkn_schema_result *r = NULL;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(tkn_schema_validate(s, S("{\"a\\nb\\r\":1}"), r), TKN_ERR_SCHEMA);
  const char *msg = NULL;
  assert_int_equal(tkn_schema_result_error(r, 0, NULL, NULL, NULL, &msg), TKN_OK);
  assert_string_equal(msg, "property \"a b \" is not allowed");
  assert_null(strchr(tkn_error_last()->message, '\n'));
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(conv_image_without_media_type_converts_to_valid_json),
      cmocka_unit_test(conv_image_url_source_without_url_converts_to_valid_json),
      cmocka_unit_test(conv_system_with_a_non_text_part_is_refused_for_anthropic),
      cmocka_unit_test(conv_duplicate_keys_read_as_the_last_one_as_written),
      cmocka_unit_test(conv_openai_part_typed_tool_result_is_refused_for_anthropic),
      cmocka_unit_test(schema_negative_value_below_minimum_has_a_message),
      cmocka_unit_test(schema_message_naming_a_property_with_a_line_break_is_one_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
