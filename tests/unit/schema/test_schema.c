/* Structured output: compiling schemas, validating documents, output caps,
 * the near-the-limit flag and the retry policy. */
#include <pthread.h>

#include "test_util.h"

/* ---- helpers ---- */

static tkn_schema *compile_ok(const char *json) {
  tkn_schema *s = NULL;
  char err[512] = "";
  int rc = tt_keep_err(tkn_schema_compile(&s, json, strlen(json), NULL), err, sizeof err);
  if (rc) fail_msg("compile failed (%s): %s", tkn_strerror(rc), err);
  return s;
}

static int compile_rc(const char *json, char *err, size_t errlen) {
  tkn_schema *s = NULL;
  int rc = tt_keep_err(tkn_schema_compile(&s, json, strlen(json), NULL), err, errlen);
  if (rc) assert_null(s);
  tkn_schema_free(s);
  return rc;
}

static int validate(const tkn_schema *s, tkn_schema_result *r, const char *doc) {
  return tkn_schema_validate(s, doc, strlen(doc), r);
}

static int is_valid(const char *schema, const char *doc) {
  tkn_schema *s = compile_ok(schema);
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  int rc = validate(s, r, doc);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
  assert_true(rc == TKN_OK || rc == TKN_ERR_SCHEMA);
  return rc == TKN_OK;
}

/* A tokenizer that counts one token per byte, so expected caps are easy to
 * work out by hand. */
static int byte_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)len;
  return 0;
}
static int failing_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)len;
  (void)out;
  (void)user;
  return -1;
}
static tkn_tokenizer *tokenizer(int (*fn)(const char *, size_t, int64_t *, void *)) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = fn;
  tkn_tokenizer *tok = NULL;
  assert_int_equal(tkn_tokenizer_new_callback(&tok, &cb, NULL), TKN_OK);
  return tok;
}

static int64_t cap_of(const char *schema, uint32_t *flags) {
  tkn_schema *s = compile_ok(schema);
  tkn_tokenizer *tok = tokenizer(byte_count);
  int64_t cap = -1;
  assert_int_equal(tkn_schema_output_cap(s, tok, NULL, &cap, flags), TKN_OK);
  tkn_tokenizer_free(tok);
  tkn_schema_free(s);
  return cap;
}

/* ---- options ---- */

/* ---- compiling ---- */

static void compile_accepts_annotations(void **state) {
  (void)state;
  tkn_schema *s = compile_ok(
      "{\"$schema\":\"https://json-schema.org/draft/2020-12/schema\",\"$id\":\"urn:x\","
      "\"title\":\"t\",\"description\":\"d\",\"$comment\":\"c\",\"default\":1,\"examples\":[1],"
      "\"deprecated\":false,\"readOnly\":true,\"writeOnly\":false,\"format\":\"email\","
      "\"contentMediaType\":\"text/plain\",\"x-vendor\":{\"any\":1}}");
  tkn_schema_free(s);
  tkn_schema_free(NULL);
}

static void compile_rejects_unsupported_keyword_naming_it_and_its_path(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"properties\":{\"a\":{\"unevaluatedProperties\":false}}}", err,
                              sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "\"unevaluatedProperties\""));
  assert_non_null(strstr(err, "#/properties/a/unevaluatedProperties"));
  assert_int_equal(compile_rc("{\"minlength\":3}", err, sizeof err), TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "minlength"));
}

static void compile_rejects_anchor_dynamic_ref_and_nested_id(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"$defs\":{\"a\":{\"$anchor\":\"x\"}}}", err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_int_equal(compile_rc("{\"$dynamicRef\":\"#x\"}", err, sizeof err), TKN_ERR_UNSUPPORTED);
  assert_int_equal(compile_rc("{\"items\":{\"$id\":\"http://x/y\"}}", err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "#/items/$id"));
  assert_int_equal(compile_rc("{\"$ref\":\"#foo\"}", err, sizeof err), TKN_ERR_UNSUPPORTED);
}

static void compile_rejects_remote_ref_and_other_drafts(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"$ref\":\"http://example.com/s.json\"}", err, sizeof err),
                   TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "$ref"));
  assert_int_equal(
      compile_rc("{\"$schema\":\"http://json-schema.org/draft-07/schema#\"}", err, sizeof err),
      TKN_ERR_UNSUPPORTED);
  assert_non_null(strstr(err, "$schema"));
}

static void compile_rejects_bad_keyword_values(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"minLength\":-1}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "minLength"));
  assert_int_equal(compile_rc("{\"maxItems\":1.5}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"multipleOf\":0}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"type\":\"strin\"}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "strin"));
  assert_int_equal(compile_rc("{\"required\":[1]}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"required\":[\"a\",\"a\"]}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"allOf\":[]}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"properties\":{\"a\":3}}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "#/properties/a"));
  assert_int_equal(compile_rc("{\"uniqueItems\":1}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"enum\":1}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"minimum\":\"1\"}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("{\"dependentRequired\":{\"a\":[2]}}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_int_equal(compile_rc("[]", err, sizeof err), TKN_ERR_SCHEMA);
}

static void compile_rejects_bad_regular_expression(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"pattern\":\"a(\"}", err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "#/pattern"));
  assert_int_equal(compile_rc("{\"patternProperties\":{\"[\":true}}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "patternProperties"));
}

static void compile_rejects_ref_to_nowhere_and_endless_cycles(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"$ref\":\"#/$defs/missing\"}", err, sizeof err),
                   TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "#/$defs/missing") ? err : strstr(err, "$ref"));
  assert_int_equal(
      compile_rc("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"allOf\":[{\"$ref\":\"#/$defs/a\"}]}},"
                 "\"$ref\":\"#/$defs/a\"}",
                 err, sizeof err),
      TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "cycle"));
  /* recursion through properties descends, so it is fine */
  tkn_schema_free(compile_ok("{\"properties\":{\"next\":{\"$ref\":\"#\"}}}"));
}

static void compile_rejects_an_overlong_applicator_chain(void **state) {
  (void)state;
  size_t cap = 200000, k = 0;
  char *schema = malloc(cap);
  k += (size_t)snprintf(schema + k, cap - k, "{\"$ref\":\"#/$defs/a0\",\"$defs\":{");
  for (int i = 0; i < 2100; i++)
    k += (size_t)snprintf(schema + k, cap - k, "%s\"a%d\":{\"$ref\":\"#/$defs/a%d\"}", i ? "," : "", i,
                          i + 1);
  k += (size_t)snprintf(schema + k, cap - k, ",\"a2100\":{\"type\":\"null\"}}}");
  char err[512];
  assert_int_equal(compile_rc(schema, err, sizeof err), TKN_ERR_LIMIT);
  assert_non_null(strstr(err, "2048"));
  free(schema);
}

static void compile_reports_malformed_text_with_position(void **state) {
  (void)state;
  char err[512];
  assert_int_equal(compile_rc("{\"type\":\n \"string\",}", err, sizeof err), TKN_ERR_PARSE);
  assert_non_null(strstr(err, "line 2"));
  assert_int_equal(compile_rc("{\"a\":\"\xff\"}", err, sizeof err), TKN_ERR_UTF8);
  assert_int_equal(compile_rc("", err, sizeof err), TKN_ERR_PARSE);
}

static void compile_enforces_limits(void **state) {
  (void)state;
  tkn_schema_options o = TKN_SCHEMA_OPTIONS_INIT;
  o.max_schema_bytes = 10;
  tkn_schema *s = NULL;
  char err[256];
  const char *big = "{\"type\":\"string\"}";
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, big, strlen(big), &o), err, sizeof err), TKN_ERR_LIMIT);
  o = (tkn_schema_options)TKN_SCHEMA_OPTIONS_INIT;
  o.max_schema_depth = 2;
  const char *deep = "{\"items\":{\"items\":{\"items\":{}}}}";
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, deep, strlen(deep), &o), err, sizeof err), TKN_ERR_LIMIT);
  assert_non_null(strstr(err, "nesting"));
  o.max_schema_depth = 1000;
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, deep, strlen(deep), &o), err, sizeof err), TKN_ERR_INVALID);
}

static void compile_rejects_bad_arguments(void **state) {
  (void)state;
  tkn_schema *s = NULL;
  char err[256];
  assert_int_equal(tt_keep_err(tkn_schema_compile(NULL, "{}", 2, NULL), err, sizeof err), TKN_ERR_INVALID);
  assert_int_equal(tt_keep_err(tkn_schema_compile(&s, NULL, 2, NULL), err, sizeof err), TKN_ERR_INVALID);
  tkn_schema_options o = TKN_SCHEMA_OPTIONS_INIT;
  o.version = 7;
  assert_int_equal(tkn_schema_compile(&s, "{}", 2, &o), TKN_ERR_VERSION);
  assert_null(s);
}

/* ---- validating ---- */

static void validate_accepts_a_conforming_document(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"integer\"}},"
                             "\"required\":[\"n\"]}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, " {\"n\": 3} "), TKN_OK);
  assert_int_equal(tkn_schema_result_status(r), TKN_OK);
  assert_int_equal(tkn_schema_result_error_count(r), 0);
  tkn_schema_result_free(r);
  tkn_schema_result_free(NULL);
  tkn_schema_free(s);
  assert_int_equal(tkn_schema_result_new(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_result_status(NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_result_error_count(NULL), 0);
}

static void validate_error_names_instance_path_and_keyword(void **state) {
  (void)state;
  tkn_schema *s = compile_ok(
      "{\"properties\":{\"items\":{\"items\":{\"properties\":{\"name\":{\"minLength\":3}}}}}}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, "{\"items\":[{\"name\":\"abc\"},{\"name\":\"x\"}]}"),
                   TKN_ERR_SCHEMA);
  assert_int_equal(tkn_schema_result_error_count(r), 1);
  const char *path, *kw, *sp, *msg;
  assert_int_equal(tkn_schema_result_error(r, 0, &path, &kw, &sp, &msg), TKN_OK);
  assert_string_equal(path, "/items/1/name");
  assert_string_equal(kw, "minLength");
  assert_string_equal(sp, "#/properties/items/items/properties/name/minLength");
  assert_non_null(strstr(msg, "3"));
  const char *line = tkn_error_last()->message;
  assert_non_null(strstr(line, "/items/1/name"));
  assert_non_null(strstr(line, "minLength"));
  assert_null(strchr(line, '\n'));
  assert_int_equal(tkn_schema_result_error(r, 1, &path, NULL, NULL, NULL), TKN_ERR_NOT_FOUND);
  assert_int_equal(tkn_schema_result_error(NULL, 0, NULL, NULL, NULL, NULL), TKN_ERR_INVALID);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_escapes_instance_path_as_json_pointer(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"additionalProperties\":{\"type\":\"string\"}}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, "{\"a/b~c\":1}"), TKN_ERR_SCHEMA);
  const char *path;
  assert_int_equal(tkn_schema_result_error(r, 0, &path, NULL, NULL, NULL), TKN_OK);
  assert_string_equal(path, "/a~1b~0c");
  assert_int_equal(validate(s, r, "3"), TKN_OK); /* not an object: nothing to check */
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_collects_up_to_max_errors(void **state) {
  (void)state;
  const char *schema = "{\"properties\":{\"a\":{\"type\":\"string\"},\"b\":{\"type\":\"string\"},"
                       "\"c\":{\"type\":\"string\"}}}";
  const char *doc = "{\"a\":1,\"b\":2,\"c\":3}";
  tkn_schema *s = compile_ok(schema);
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, doc), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_schema_result_error_count(r), 3);
  tkn_schema_free(s);
  tkn_schema_options o = TKN_SCHEMA_OPTIONS_INIT;
  o.max_errors = 1;
  assert_int_equal(tkn_schema_compile(&s, schema, strlen(schema), &o), TKN_OK);
  assert_int_equal(validate(s, r, doc), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_schema_result_error_count(r), 1);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_reports_a_document_that_is_not_json(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, "{\"a\":"), TKN_ERR_PARSE);
  assert_int_equal(tkn_schema_result_status(r), TKN_ERR_PARSE);
  assert_int_equal(tkn_schema_result_error_count(r), 0);
  assert_non_null(strstr(tkn_error_last()->message, "document"));
  assert_int_equal(validate(s, r, "\"\\ud800\""), TKN_ERR_UTF8);
  assert_int_equal(validate(s, r, "1 2"), TKN_ERR_PARSE);
  assert_int_equal(tkn_schema_validate(NULL, "1", 1, r), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_validate(s, "1", 1, NULL), TKN_ERR_INVALID);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_enforces_instance_limits(void **state) {
  (void)state;
  tkn_schema_options o = TKN_SCHEMA_OPTIONS_INIT;
  o.max_instance_depth = 3;
  o.max_instance_bytes = 64;
  tkn_schema *s = NULL;
  assert_int_equal(tkn_schema_compile(&s, "{}", 2, &o), TKN_OK);
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  assert_int_equal(validate(s, r, "[[[1]]]"), TKN_OK);
  assert_int_equal(validate(s, r, "[[[[1]]]]"), TKN_ERR_LIMIT);
  char big[100];
  memset(big, ' ', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  big[0] = '1';
  assert_int_equal(validate(s, r, big), TKN_ERR_LIMIT);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_keeps_nul_characters_in_strings(void **state) {
  (void)state;
  assert_true(is_valid("{\"const\":\"a\\u0000b\"}", "\"a\\u0000b\""));
  assert_false(is_valid("{\"const\":\"a\\u0000b\"}", "\"a\""));
}

static void validate_compares_numbers_by_value(void **state) {
  (void)state;
  assert_true(is_valid("{\"enum\":[1]}", "1.0"));
  assert_true(is_valid("{\"type\":\"integer\"}", "1.0"));
  assert_false(is_valid("{\"type\":\"integer\"}", "1.5"));
  assert_true(is_valid("{\"const\":{\"a\":[1,2]}}", "{\"a\":[1.0,2e0]}"));
  assert_true(is_valid("{\"multipleOf\":0.01}", "19.99"));
  assert_true(is_valid("{\"multipleOf\":0.0001}", "0.0075"));
  assert_false(is_valid("{\"multipleOf\":0.0001}", "0.00751"));
  assert_false(is_valid("{\"multipleOf\":0.123456789}", "1e308"));
  assert_false(is_valid("{\"multipleOf\":0.01}", "12.350000000000001"));
  assert_true(is_valid("{\"multipleOf\":1.5}", "4.5"));
  assert_false(is_valid("{\"multipleOf\":1.5}", "35"));
  assert_true(is_valid("{\"multipleOf\":3}", "-9"));
  assert_false(is_valid("{\"multipleOf\":3}", "10"));
}

static void validate_counts_lengths_in_code_points(void **state) {
  (void)state;
  assert_true(is_valid("{\"maxLength\":3}", "\"h\xc3\xa9\xc3\xa9\""));
  assert_false(is_valid("{\"minLength\":4}", "\"h\xc3\xa9\xc3\xa9\""));
  assert_true(is_valid("{\"minLength\":1}", "\"\xf0\x9f\x92\xa9\""));
  assert_false(is_valid("{\"maxLength\":1}", "\"\xf0\x9f\x92\xa9\xf0\x9f\x92\xa9\""));
}

static void validate_follows_recursive_refs(void **state) {
  (void)state;
  const char *tree = "{\"$defs\":{\"node\":{\"type\":\"object\",\"properties\":{\"v\":{\"type\":"
                     "\"integer\"},\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#/$defs/"
                     "node\"}}},\"required\":[\"v\"],\"additionalProperties\":false}},"
                     "\"$ref\":\"#/$defs/node\"}";
  assert_true(is_valid(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"v\":3}]}]}"));
  assert_false(is_valid(tree, "{\"v\":1,\"kids\":[{\"v\":2,\"kids\":[{\"w\":3}]}]}"));
}

static void validate_patterns_the_ecmascript_way(void **state) {
  (void)state;
  assert_true(is_valid("{\"pattern\":\"^\\\\d+$\"}", "\"123\""));
  assert_false(is_valid("{\"pattern\":\"^\\\\d+$\"}", "\"\xd9\xa1\"")); /* Arabic-Indic one */
  assert_true(is_valid("{\"pattern\":\"^\\\\p{Letter}+$\"}", "\"\xc3\xa9t\xc3\xa9\""));
  assert_false(is_valid("{\"pattern\":\"^a$\"}", "\"a\\n\"")); /* $ only at the end */
  assert_true(is_valid("{\"pattern\":\"^\\\\u00e9$\"}", "\"\xc3\xa9\""));
  assert_true(is_valid("{\"pattern\":\"b\"}", "\"abc\"")); /* not anchored */
  assert_false(is_valid("{\"pattern\":\"^\\\\w+$\"}", "\"\xc3\xa9\""));   /* \\w is ASCII */
  assert_true(is_valid("{\"pattern\":\"^[\\\\w-]+$\"}", "\"a_b-9\""));
  assert_true(is_valid("{\"pattern\":\"^\\\\u{e9}$\"}", "\"\xc3\xa9\""));
  assert_true(is_valid("{\"pattern\":\"^\\\\p{Script=Greek}+$\"}", "\"\xce\xb1\xce\xb2\""));
  assert_true(is_valid("{\"pattern\":\"^\\\\\\\\d$\"}", "\"\\\\d\""));  /* an escaped backslash stays one */
  assert_true(is_valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                       "\"additionalProperties\":false}",
                       "{\"x-a\":\"s\"}"));
  assert_false(is_valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                        "\"additionalProperties\":false}",
                        "{\"y\":\"s\"}"));
}

static void validate_gives_up_on_a_runaway_regular_expression(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"pattern\":\"^(a|a)*$\"}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  char doc[80];
  memset(doc, 'a', sizeof doc);
  doc[0] = '"';
  doc[sizeof doc - 3] = 'b';
  doc[sizeof doc - 2] = '"';
  doc[sizeof doc - 1] = '\0';
  assert_int_equal(validate(s, r, doc), TKN_ERR_SCHEMA);
  const char *kw, *msg;
  assert_int_equal(tkn_schema_result_error(r, 0, NULL, &kw, NULL, &msg), TKN_OK);
  assert_string_equal(kw, "pattern");
  assert_non_null(strstr(msg, "limits"));
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

static void validate_reports_disallowed_additional_property(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"properties\":{\"a\":true},\"additionalProperties\":false}");
  char err[512];
  assert_int_equal(tt_keep_err(tkn_schema_check(s, "{\"a\":1,\"zzz\":2}", 15), err, sizeof err), TKN_ERR_SCHEMA);
  assert_non_null(strstr(err, "additionalProperties"));
  assert_non_null(strstr(err, "zzz"));
  assert_int_equal(tt_keep_err(tkn_schema_check(s, "{\"a\":1}", 7), err, sizeof err), TKN_OK);
  assert_string_equal(err, "");
  tkn_schema_free(s);
}

static void validate_combinators(void **state) {
  (void)state;
  const char *one = "{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}";
  assert_true(is_valid(one, "1"));
  assert_false(is_valid(one, "3"));
  assert_true(is_valid(one, "2.5"));
  assert_false(is_valid("{\"not\":{\"type\":\"null\"}}", "null"));
  const char *cond = "{\"if\":{\"properties\":{\"k\":{\"const\":\"a\"}}},\"then\":{\"required\":"
                     "[\"x\"]},\"else\":{\"required\":[\"y\"]}}";
  assert_true(is_valid(cond, "{\"k\":\"a\",\"x\":1}"));
  assert_false(is_valid(cond, "{\"k\":\"a\",\"y\":1}"));
  assert_true(is_valid(cond, "{\"k\":\"b\",\"y\":1}"));
  assert_false(is_valid("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1"));
  assert_true(is_valid("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "2"));
  assert_false(is_valid("{\"allOf\":[{\"minimum\":1},{\"maximum\":3}]}", "4"));
  assert_false(is_valid("false", "1"));
  assert_true(is_valid("true", "1"));
}

static void validate_arrays(void **state) {
  (void)state;
  const char *tuple = "{\"prefixItems\":[{\"type\":\"string\"},{\"type\":\"integer\"}],"
                      "\"items\":false,\"minItems\":1}";
  assert_true(is_valid(tuple, "[\"a\",1]"));
  assert_false(is_valid(tuple, "[\"a\",1,2]"));
  assert_false(is_valid(tuple, "[]"));
  assert_false(is_valid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1.0}]"));
  assert_true(is_valid("{\"uniqueItems\":true}", "[1,\"1\",[1]]"));
  assert_true(is_valid("{\"contains\":{\"const\":1},\"maxContains\":2}", "[1,2,1]"));
  assert_false(is_valid("{\"contains\":{\"const\":1},\"maxContains\":2}", "[1,1,1]"));
  assert_false(is_valid("{\"contains\":{\"const\":1}}", "[2]"));
}

static void validate_objects(void **state) {
  (void)state;
  assert_false(is_valid("{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}"));
  assert_true(is_valid("{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"b\":1}"));
  assert_false(is_valid("{\"dependentRequired\":{\"a\":[\"b\"]}}", "{\"a\":1}"));
  assert_false(is_valid("{\"dependentSchemas\":{\"a\":{\"required\":[\"c\"]}}}", "{\"a\":1}"));
  assert_false(is_valid("{\"minProperties\":2}", "{\"a\":1}"));
  assert_false(is_valid("{\"maxProperties\":0}", "{\"a\":1}"));
  assert_false(is_valid("{\"required\":[\"q\"]}", "{\"a\":1}"));
}

/* Many properties take the binary-search path. */
static void validate_many_properties(void **state) {
  (void)state;
  char schema[2048] = "{\"properties\":{";
  for (int i = 0; i < 20; i++)
    snprintf(schema + strlen(schema), sizeof schema - strlen(schema), "%s\"p%d\":{\"type\":\"integer\"}",
             i ? "," : "", i);
  strcat(schema, "},\"required\":[\"p0\",\"p19\"],\"additionalProperties\":false}");
  assert_true(is_valid(schema, "{\"p19\":1,\"p0\":2,\"p7\":3}"));
  assert_false(is_valid(schema, "{\"p19\":1,\"p0\":2,\"p7\":\"x\"}"));
  assert_false(is_valid(schema, "{\"p19\":1}"));
  assert_false(is_valid(schema, "{\"p19\":1,\"p0\":2,\"p20\":3}"));
}

static void reask_lists_every_error(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"required\":[\"a\",\"b\"]}");
  tkn_schema_result *r;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  char *msg;
  size_t len;
  assert_int_equal(validate(s, r, "{}"), TKN_ERR_SCHEMA);
  assert_int_equal(tkn_schema_result_reask(r, &msg, &len), TKN_OK);
  assert_int_equal(strlen(msg), len);
  assert_non_null(strstr(msg, "\"a\""));
  assert_non_null(strstr(msg, "\"b\""));
  tkn_free(msg);
  assert_int_equal(validate(s, r, "{"), TKN_ERR_PARSE);
  assert_int_equal(tkn_schema_result_reask(r, &msg, NULL), TKN_OK);
  assert_non_null(strstr(msg, "malformed") ? msg : strstr(msg, "document"));
  tkn_free(msg);
  assert_int_equal(validate(s, r, "{\"a\":1,\"b\":2}"), TKN_OK);
  assert_int_equal(tkn_schema_result_reask(r, &msg, &len), TKN_ERR_STATE);
  assert_null(msg);
  assert_int_equal(tkn_schema_result_reask(NULL, &msg, &len), TKN_ERR_INVALID);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

typedef struct thread_arg {
  const tkn_schema *s;
  int bad;
} thread_arg;

static void *validate_many(void *p) {
  thread_arg *a = p;
  tkn_schema_result *r;
  if (tkn_schema_result_new(&r)) {
    a->bad = 1;
    return NULL;
  }
  for (int i = 0; i < 2000; i++) {
    char doc[64];
    snprintf(doc, sizeof doc, "{\"id\":\"u%d\",\"n\":%d}", i, i);
    int want = i % 3 ? TKN_OK : TKN_ERR_SCHEMA;
    if (i % 3 == 0) snprintf(doc, sizeof doc, "{\"id\":\"x%d\",\"n\":%d}", i, i);
    if (tkn_schema_validate(a->s, doc, strlen(doc), r) != want) a->bad = 1;
  }
  tkn_schema_result_free(r);
  return NULL;
}

static void validate_shares_one_schema_across_threads(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"properties\":{\"id\":{\"pattern\":\"^u[0-9]+$\"},\"n\":{"
                             "\"type\":\"integer\"}},\"required\":[\"id\",\"n\"]}");
  pthread_t t[4];
  thread_arg a[4];
  for (int i = 0; i < 4; i++) {
    a[i].s = s;
    a[i].bad = 0;
    assert_int_equal(pthread_create(&t[i], NULL, validate_many, &a[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(t[i], NULL);
    assert_false(a[i].bad);
  }
  tkn_schema_free(s);
}

/* ---- output caps ---- */

static void cap_of_enum_is_its_longest_value(void **state) {
  (void)state;
  uint32_t flags;
  assert_int_equal(cap_of("{\"enum\":[\"yes\",\"no\",null]}", &flags), 5); /* "yes" */
  assert_int_equal(flags, 0);
  assert_int_equal(cap_of("{\"const\":{\"a\":[1,true]}}", &flags), 14); /* {"a":[1,true]} */
  assert_int_equal(cap_of("{\"type\":\"boolean\"}", &flags), 5);
  assert_int_equal(cap_of("{\"type\":[\"null\",\"boolean\"]}", &flags), 5);
}

static void cap_of_closed_object_adds_every_property(void **state) {
  (void)state;
  uint32_t flags;
  /* {"ok":true,"s":"abcd"}: 2 + ("ok" 4 + : 1 + 5) + , 1 + ("s" 3 + : 1 + 2 + 4) = 23 */
  int64_t cap = cap_of("{\"type\":\"object\",\"properties\":{\"ok\":{\"type\":\"boolean\"},"
                       "\"s\":{\"type\":\"string\",\"maxLength\":4}},\"additionalProperties\":false}",
                       &flags);
  assert_int_equal(flags, 0);
  assert_int_equal(cap, 23);
}

static void cap_of_bounded_array_and_integer(void **state) {
  (void)state;
  uint32_t flags;
  /* [-5,100,...] at most 3 items of at most 3 characters: 2 + 2 commas + 9 = 13 */
  assert_int_equal(cap_of("{\"type\":\"array\",\"maxItems\":3,\"items\":{\"type\":\"integer\","
                          "\"minimum\":-5,\"maximum\":100}}",
                          &flags),
                   13);
  assert_int_equal(flags, 0);
  assert_int_equal(cap_of("{\"prefixItems\":[{\"const\":1},{\"const\":22}],\"items\":false,"
                          "\"type\":\"array\"}",
                          &flags),
                   6); /* [1,22] */
}

static void cap_reports_unbounded_schemas(void **state) {
  (void)state;
  uint32_t flags;
  const char *open[] = {"{\"type\":\"string\"}",
                        "{\"type\":\"number\",\"minimum\":0,\"maximum\":1}",
                        "{\"type\":\"object\",\"properties\":{\"a\":{\"const\":1}}}",
                        "{\"type\":\"array\",\"items\":{\"const\":1}}",
                        ("{\"properties\":{\"a\":{\"$ref\":\"#\"}},\"additionalProperties\":false,"
                         "\"type\":\"object\"}"),
                        "true",
                        "{\"anyOf\":[{\"const\":1},{\"type\":\"string\"}]}"};
  for (size_t i = 0; i < sizeof open / sizeof open[0]; i++) {
    assert_int_equal(cap_of(open[i], &flags), 0);
    assert_int_equal(flags, TKN_SCHEMA_CAP_UNBOUNDED);
  }
  /* one bounded constraint is enough */
  assert_int_equal(cap_of("{\"type\":\"string\",\"allOf\":[{\"maxLength\":2}]}", &flags), 4);
  assert_int_equal(flags, 0);
}

static void cap_honours_tokens_per_code_point(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"type\":\"string\",\"maxLength\":10}");
  tkn_tokenizer *tok = tokenizer(byte_count);
  tkn_schema_cap_options o = TKN_SCHEMA_CAP_OPTIONS_INIT;
  o.tokens_per_code_point = 6;
  int64_t cap;
  uint32_t flags;
  assert_int_equal(tkn_schema_output_cap(s, tok, &o, &cap, &flags), TKN_OK);
  assert_int_equal(cap, 62);
  o.tokens_per_code_point = 0;
  assert_int_equal(tkn_schema_output_cap(s, tok, &o, &cap, &flags), TKN_ERR_INVALID);
  o.tokens_per_code_point = 1;
  o.version = 9;
  assert_int_equal(tkn_schema_output_cap(s, tok, &o, &cap, &flags), TKN_ERR_VERSION);
  tkn_tokenizer_free(tok);
  tkn_schema_free(s);
}

static void cap_reports_tokenizer_failure_and_overflow(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"enum\":[1]}");
  tkn_tokenizer *tok = tokenizer(failing_count);
  int64_t cap;
  uint32_t flags;
  assert_int_equal(tkn_schema_output_cap(s, tok, NULL, &cap, &flags), TKN_ERR_CALLBACK);
  assert_int_equal(tkn_schema_output_cap(NULL, tok, NULL, &cap, &flags), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_output_cap(s, NULL, NULL, &cap, &flags), TKN_ERR_INVALID);
  tkn_tokenizer_free(tok);
  tkn_schema_free(s);
  s = compile_ok("{\"type\":\"array\",\"maxItems\":9223372036854775807,\"items\":{\"type\":"
                 "\"string\",\"maxLength\":9223372036854775807}}");
  tok = tokenizer(byte_count);
  assert_int_equal(tkn_schema_output_cap(s, tok, NULL, &cap, &flags), TKN_ERR_OVERFLOW);
  tkn_tokenizer_free(tok);
  tkn_schema_free(s);
}

/* ---- near the limit ---- */

static void near_limit_flags_a_reply_stopped_for_length(void **state) {
  (void)state;
  uint32_t f;
  assert_int_equal(tkn_schema_near_limit("length", 6, 10, 1000, &f), TKN_OK);
  assert_int_equal(f, TKN_SCHEMA_NEAR_STOPPED);
  assert_int_equal(tkn_schema_near_limit("max_tokens", 10, 10, 0, &f), TKN_OK);
  assert_int_equal(f, TKN_SCHEMA_NEAR_STOPPED);
  assert_int_equal(tkn_schema_near_limit("MAX_TOKENS", 10, 10, 0, &f), TKN_OK);
  assert_int_equal(f, TKN_SCHEMA_NEAR_STOPPED);
  assert_int_equal(tkn_schema_near_limit("stop", 4, 10, 1000, &f), TKN_OK);
  assert_int_equal(f, 0);
}

static void near_limit_flags_ninety_percent_of_the_cap(void **state) {
  (void)state;
  uint32_t f;
  assert_int_equal(tkn_schema_near_limit(NULL, 0, 900, 1000, &f), TKN_OK);
  assert_int_equal(f, TKN_SCHEMA_NEAR_RATIO);
  assert_int_equal(tkn_schema_near_limit(NULL, 0, 899, 1000, &f), TKN_OK);
  assert_int_equal(f, 0);
  assert_int_equal(tkn_schema_near_limit(NULL, 0, 14, 15, &f), TKN_OK); /* 93% */
  assert_int_equal(f, TKN_SCHEMA_NEAR_RATIO);
  assert_int_equal(tkn_schema_near_limit(NULL, 0, 13, 15, &f), TKN_OK); /* 86.7% */
  assert_int_equal(f, 0);
  assert_int_equal(tkn_schema_near_limit("length", 6, INT64_MAX, INT64_MAX, &f), TKN_OK);
  assert_int_equal(f, TKN_SCHEMA_NEAR_STOPPED | TKN_SCHEMA_NEAR_RATIO);
  assert_int_equal(tkn_schema_near_limit(NULL, 0, -1, 10, &f), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_near_limit(NULL, 0, 1, 10, NULL), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_near_limit(NULL, 3, 1, 10, &f), TKN_ERR_INVALID);
}

/* ---- retry ---- */

static void retry_default_plan_retries_escalates_then_gives_up(void **state) {
  (void)state;
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  tkn_schema_retry_step st;
  assert_int_equal(tkn_schema_retry_next(&o, 1, &st), TKN_OK);
  assert_int_equal(st.action, TKN_SCHEMA_RETRY_SAME_TIER);
  assert_int_equal(st.attempt, 2);
  assert_int_equal(st.tier, 0);
  assert_in_range(st.delay_ms, 0, 250);
  assert_int_equal(tkn_schema_retry_next(&o, 2, &st), TKN_OK);
  assert_int_equal(st.action, TKN_SCHEMA_RETRY_ESCALATE);
  assert_int_equal(st.tier, 1);
  assert_int_equal(st.delay_ms, 0);
  assert_int_equal(tkn_schema_retry_next(&o, 3, &st), TKN_OK);
  assert_int_equal(st.action, TKN_SCHEMA_RETRY_SAME_TIER);
  assert_int_equal(st.tier, 1);
  assert_in_range(st.delay_ms, 0, 250);
  assert_int_equal(tkn_schema_retry_next(&o, 4, &st), TKN_OK);
  assert_int_equal(st.action, TKN_SCHEMA_RETRY_GIVE_UP);
  assert_int_equal(tkn_schema_retry_next(&o, 400, &st), TKN_OK);
  assert_int_equal(st.action, TKN_SCHEMA_RETRY_GIVE_UP);
}

static void retry_backoff_grows_within_its_ceiling_and_is_deterministic(void **state) {
  (void)state;
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  o.max_attempts = 100;
  o.escalate_after = 0;
  o.base_delay_ms = 100;
  o.max_delay_ms = 1000;
  o.seed = 42;
  int64_t sum_late = 0;
  for (uint32_t f = 1; f < 100; f++) {
    tkn_schema_retry_step a, b;
    assert_int_equal(tkn_schema_retry_next(&o, f, &a), TKN_OK);
    assert_int_equal(tkn_schema_retry_next(&o, f, &b), TKN_OK);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.action, TKN_SCHEMA_RETRY_SAME_TIER);
    assert_int_equal(a.tier, 0);
    int64_t ceiling = f >= 5 ? 1000 : 100 << (f - 1);
    assert_in_range(a.delay_ms, 0, ceiling);
    if (f >= 5) sum_late += a.delay_ms;
  }
  /* full jitter over [0, 1000]: 95 draws cannot all sit under the base delay */
  assert_true(sum_late > 95 * 100);
  /* another seed gives other delays */
  tkn_schema_retry_options p = o;
  p.seed = 43;
  int differ = 0;
  for (uint32_t f = 1; f < 20; f++) {
    tkn_schema_retry_step a, b;
    tkn_schema_retry_next(&o, f, &a);
    tkn_schema_retry_next(&p, f, &b);
    differ += a.delay_ms != b.delay_ms;
  }
  assert_true(differ > 0);
}

static void retry_always_ends(void **state) {
  (void)state;
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  o.max_attempts = 7;
  o.escalate_after = 2;
  o.max_escalations = 2;
  uint32_t f = 1, escalations = 0;
  tkn_schema_retry_step st;
  for (;; f++) {
    assert_int_equal(tkn_schema_retry_next(&o, f, &st), TKN_OK);
    if (st.action == TKN_SCHEMA_RETRY_GIVE_UP) break;
    if (st.action == TKN_SCHEMA_RETRY_ESCALATE) escalations++;
    assert_true(f < 100);
  }
  assert_int_equal(f, 7);
  assert_int_equal(escalations, 2);
  assert_int_equal(st.tier, 2);
}

static void retry_rejects_bad_input(void **state) {
  (void)state;
  tkn_schema_retry_options o = TKN_SCHEMA_RETRY_OPTIONS_INIT;
  tkn_schema_retry_step st;
  assert_int_equal(tkn_schema_retry_next(&o, 0, &st), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_retry_next(NULL, 1, &st), TKN_ERR_INVALID);
  assert_int_equal(tkn_schema_retry_next(&o, 1, NULL), TKN_ERR_INVALID);
  o.max_attempts = 0;
  assert_int_equal(tkn_schema_retry_next(&o, 1, &st), TKN_ERR_INVALID);
  o.max_attempts = 101;
  assert_int_equal(tkn_schema_retry_next(&o, 1, &st), TKN_ERR_INVALID);
  o.max_attempts = 3;
  o.base_delay_ms = 10;
  o.max_delay_ms = 5;
  assert_int_equal(tkn_schema_retry_next(&o, 1, &st), TKN_ERR_INVALID);
  o = (tkn_schema_retry_options)TKN_SCHEMA_RETRY_OPTIONS_INIT;
  o.version = 2;
  assert_int_equal(tkn_schema_retry_next(&o, 1, &st), TKN_ERR_VERSION);
}

/* ---- out of memory ---- */

static int oom_scenario(void) {
  const char *schema = "{\"$defs\":{\"t\":{\"type\":\"object\",\"properties\":{\"name\":{\"type\":"
                       "\"string\",\"pattern\":\"^[a-z]+$\",\"maxLength\":8},\"tags\":{\"type\":"
                       "\"array\",\"maxItems\":2,\"items\":{\"enum\":[\"a\",\"b\"]}}},"
                       "\"required\":[\"name\"],\"additionalProperties\":false}},"
                       "\"$ref\":\"#/$defs/t\"}";
  tkn_schema *s = NULL;
  tkn_schema_result *r = NULL;
  tkn_tokenizer *tok = NULL;
  char *msg = NULL;
  int rc = tkn_schema_compile(&s, schema, strlen(schema), NULL);
  if (!rc) rc = tkn_schema_result_new(&r);
  if (!rc) {
    const char *bad = "{\"name\":\"A1\",\"tags\":[\"c\",\"a\",\"b\"],\"x\":1}";
    rc = tkn_schema_validate(s, bad, strlen(bad), r);
    if (rc == TKN_ERR_SCHEMA) rc = tkn_schema_result_reask(r, &msg, NULL);
    else if (rc == TKN_OK) rc = TKN_ERR_STATE; /* would be a bug */
  }
  if (!rc) {
    const char *good = "{\"name\":\"abc\",\"tags\":[\"a\"]}";
    rc = tkn_schema_validate(s, good, strlen(good), r);
  }
  if (!rc) {
    tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
    cb.count = byte_count;
    rc = tkn_tokenizer_new_callback(&tok, &cb, NULL);
  }
  if (!rc) {
    int64_t cap;
    uint32_t flags;
    rc = tkn_schema_output_cap(s, tok, NULL, &cap, &flags);
    if (!rc && (flags || cap <= 0)) rc = TKN_ERR_STATE;
  }
  tkn_free(msg);
  tkn_tokenizer_free(tok);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
  return rc;
}

/* Every refused allocation makes the scenario fail with TKN_ERR_NOMEM and
 * leak nothing -- except those inside PCRE2's JIT compiler: JIT is an
 * optimisation the library does without when it cannot have it, so those
 * failures are absorbed, and the scenario must then still give the right
 * answers (oom_scenario checks them). */
static void oom_every_failure_is_clean(void **state) {
  (void)state;
  long absorbed = 0;
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
    if (rc == TKN_OK)
      absorbed++;
    else
      assert_int_equal(rc, TKN_ERR_NOMEM);
    assert_true(n < 100000);
  }
  print_message("allocation failures absorbed (regex JIT): %ld\n", absorbed);
}

/* issue 21: a pattern that gave up under not let the document pass. */
static void a_pattern_that_gives_up_under_not_fails_the_document(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"not\":{\"pattern\":\"^(a|aa)*$\"}}");
  static char doc[40000];
  size_t n = sizeof doc - 1;
  doc[0] = '"';
  memset(doc + 1, 'a', n - 3);
  doc[n - 2] = '!';
  doc[n - 1] = '"';
  char err[512] = "";
  assert_int_not_equal(tt_keep_err(tkn_schema_check(s, doc, n), err, sizeof err), TKN_OK);
  /* the message names the pattern, not the rest of the schema text */
  if (!strstr(err, "/^(a|aa)*$/ exceeded")) fail_msg("%s", err);
  tkn_schema_free(s);
}

/* issue 21: validation had no overall bound; past its work budget it fails
 * closed. */
static void validation_past_its_work_budget_fails_closed(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}");
  tkn_schema_result *r = NULL;
  assert_int_equal(tkn_schema_result_new(&r), TKN_OK);
  const char *doc = "[1,2,3,4,5,6,7,8,9,10]";
  assert_int_equal(tkn_schema_validate(s, doc, strlen(doc), r), TKN_OK);
  assert_int_equal(tkn_schema_result_set_max_work(r, 5), TKN_OK);
  assert_int_equal(tkn_schema_validate(s, doc, strlen(doc), r), TKN_ERR_LIMIT);
  assert_non_null(strstr(tkn_error_last()->message, "not accepted"));
  assert_int_equal(tkn_schema_result_set_max_work(r, 0), TKN_OK);
  assert_int_equal(tkn_schema_validate(s, doc, strlen(doc), r), TKN_OK);
  assert_int_equal(tkn_schema_result_set_max_work(NULL, 1), TKN_ERR_INVALID);
  tkn_schema_result_free(r);
  tkn_schema_free(s);
}

/* uniqueItems by hashing finds the same first pair as comparing every pair. */
static void unique_items_finds_the_first_duplicate(void **state) {
  (void)state;
  tkn_schema *s = compile_ok("{\"uniqueItems\":true}");
  char err[512] = "";
  const char *ok = "[1,\"1\",[1],{\"a\":1},{\"a\":2},true,null,1.5]";
  assert_int_equal(tt_keep_err(tkn_schema_check(s, ok, strlen(ok)), err, sizeof err), TKN_OK);
  const char *dup = "[{\"a\":1,\"b\":2},3,1.0,{\"b\":2,\"a\":1},1]";
  assert_int_equal(tt_keep_err(tkn_schema_check(s, dup, strlen(dup)), err, sizeof err), TKN_ERR_SCHEMA);
  if (!strstr(err, "0") || !strstr(err, "3")) fail_msg("%s", err);
  const char *zero = "[0,-0]";
  assert_int_equal(tt_keep_err(tkn_schema_check(s, zero, strlen(zero)), err, sizeof err), TKN_ERR_SCHEMA);
  tkn_schema_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(compile_accepts_annotations),
      cmocka_unit_test(compile_rejects_unsupported_keyword_naming_it_and_its_path),
      cmocka_unit_test(compile_rejects_anchor_dynamic_ref_and_nested_id),
      cmocka_unit_test(compile_rejects_remote_ref_and_other_drafts),
      cmocka_unit_test(compile_rejects_bad_keyword_values),
      cmocka_unit_test(compile_rejects_bad_regular_expression),
      cmocka_unit_test(compile_rejects_ref_to_nowhere_and_endless_cycles),
      cmocka_unit_test(compile_rejects_an_overlong_applicator_chain),
      cmocka_unit_test(compile_reports_malformed_text_with_position),
      cmocka_unit_test(compile_enforces_limits),
      cmocka_unit_test(compile_rejects_bad_arguments),
      cmocka_unit_test(validate_accepts_a_conforming_document),
      cmocka_unit_test(validate_error_names_instance_path_and_keyword),
      cmocka_unit_test(validate_escapes_instance_path_as_json_pointer),
      cmocka_unit_test(validate_collects_up_to_max_errors),
      cmocka_unit_test(validate_reports_a_document_that_is_not_json),
      cmocka_unit_test(validate_enforces_instance_limits),
      cmocka_unit_test(validate_keeps_nul_characters_in_strings),
      cmocka_unit_test(validate_compares_numbers_by_value),
      cmocka_unit_test(validate_counts_lengths_in_code_points),
      cmocka_unit_test(validate_follows_recursive_refs),
      cmocka_unit_test(validate_patterns_the_ecmascript_way),
      cmocka_unit_test(validate_gives_up_on_a_runaway_regular_expression),
      cmocka_unit_test(validate_reports_disallowed_additional_property),
      cmocka_unit_test(validate_combinators),
      cmocka_unit_test(validate_arrays),
      cmocka_unit_test(validate_objects),
      cmocka_unit_test(validate_many_properties),
      cmocka_unit_test(reask_lists_every_error),
      cmocka_unit_test(validate_shares_one_schema_across_threads),
      cmocka_unit_test(cap_of_enum_is_its_longest_value),
      cmocka_unit_test(cap_of_closed_object_adds_every_property),
      cmocka_unit_test(cap_of_bounded_array_and_integer),
      cmocka_unit_test(cap_reports_unbounded_schemas),
      cmocka_unit_test(cap_honours_tokens_per_code_point),
      cmocka_unit_test(cap_reports_tokenizer_failure_and_overflow),
      cmocka_unit_test(near_limit_flags_a_reply_stopped_for_length),
      cmocka_unit_test(near_limit_flags_ninety_percent_of_the_cap),
      cmocka_unit_test(retry_default_plan_retries_escalates_then_gives_up),
      cmocka_unit_test(retry_backoff_grows_within_its_ceiling_and_is_deterministic),
      cmocka_unit_test(retry_always_ends),
      cmocka_unit_test(retry_rejects_bad_input),
      cmocka_unit_test(oom_every_failure_is_clean),
      cmocka_unit_test(a_pattern_that_gives_up_under_not_fails_the_document),
      cmocka_unit_test(validation_past_its_work_budget_fails_closed),
      cmocka_unit_test(unique_items_finds_the_first_duplicate),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
