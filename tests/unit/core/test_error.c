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
  int rc = tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json), NULL, 0);
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
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, json, strlen(json), NULL, 0),
                   TKN_ERR_UTF8);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_UTF8);
  assert_int_equal(tkn_error_last()->offset, 31);
}

static void success_does_not_clear_and_clear_does(void **state) {
  (void)state;
  tkn_conv *conv = NULL;
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, "{", 1, NULL, 0), TKN_ERR_PARSE);
  const char *ok = "[{\"role\": \"user\", \"content\": \"hi\"}]";
  assert_int_equal(tkn_conv_from_json(&conv, TKN_PROVIDER_AUTO, ok, strlen(ok), NULL, 0), TKN_OK);
  tkn_conv_free(conv);
  assert_int_equal(tkn_error_last()->status, TKN_ERR_PARSE);
  tkn_error_clear();
  assert_int_equal(tkn_error_last()->status, TKN_OK);
  assert_string_equal(tkn_error_last()->message, "");
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
  assert_int_equal(tkn_budget_new(&b, &o, NULL, NULL, 0), TKN_OK);
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
      cmocka_unit_test(success_does_not_clear_and_clear_does),
      cmocka_unit_test(threads_sharing_a_budget_each_read_their_own_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
