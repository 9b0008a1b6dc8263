/* The adapter over TLS, against the fixture's redis-server started with
 * --tls (a CA, a server certificate for 127.0.0.1 and a client certificate,
 * made by the openssl tool in $TKN_REDIS_DIR). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "redis_util.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static char g_ca[1024], g_cert[1024], g_key[1024];

static tkn_redis_options tls_options(void) {
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.port = (uint32_t)tr_port();
  o.retries = 0;
  o.tls = 1;
  o.tls_ca_file = g_ca;
  o.tls_cert_file = g_cert;
  o.tls_key_file = g_key;
  return o;
}

static tkn_redis *client(const tkn_redis_options *o) {
  tkn_redis *r = NULL;
  char err[512];
  int rc = keep_err(tkn_redis_new(&r, o), err, sizeof err);
  if (rc == TKN_ERR_UNSUPPORTED) {
    printf("SKIP: %s\n", err);
    exit(77);
  }
  if (rc != TKN_OK) fail_msg("tkn_redis_new: %s", err);
  return r;
}

static void a_budget_works_over_tls(void **state) {
  (void)state;
  tkn_redis_options o = tls_options();
  tkn_redis *r = client(&o);
  assert_int_equal(tkn_redis_ping(r), TKN_OK);
  tkn_store st;
  tkn_redis_store(r, &st);
  char k[128], err[256];
  tr_key(k, sizeof k, "tls");
  int64_t amt[1] = {7}, lim[1] = {10}, used[1];
  assert_int_equal(st.reserve(r, k, strlen(k), "a", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_OK);
  assert_int_equal(st.reserve(r, k, strlen(k), "b", 1, amt, lim, 60000, 0, used, err, sizeof err),
                   TKN_ERR_BUDGET);
  assert_int_equal(used[0], 7);
  tkn_redis_free(r);
}

static void a_server_the_ca_did_not_sign_is_refused(void **state) {
  (void)state;
  tkn_redis_options o = tls_options();
  o.tls_ca_file = NULL; /* the system's CAs do not know the test CA */
  tkn_redis *r = client(&o);
  assert_int_equal(tkn_redis_ping(r), TKN_ERR_UNAVAILABLE);
  char msg[512];
  snprintf(msg, sizeof msg, "%s", tkn_error_last()->message);
  assert_non_null(strstr(msg, "certificate"));
  tkn_redis_free(r);
}

static void a_certificate_for_another_name_is_refused(void **state) {
  (void)state;
  tkn_redis_options o = tls_options();
  o.tls_server_name = "redis.example.org";
  tkn_redis *r = client(&o);
  assert_int_equal(tkn_redis_ping(r), TKN_ERR_UNAVAILABLE);
  tkn_redis_free(r);
}

static void plain_text_to_a_tls_port_fails_by_the_deadline(void **state) {
  (void)state;
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.port = (uint32_t)tr_port();
  o.retries = 0;
  o.call_timeout_ms = 300;
  o.command_timeout_ms = 300;
  tkn_redis *r = client(&o);
  assert_int_equal(tkn_redis_ping(r), TKN_ERR_UNAVAILABLE);
  tkn_redis_free(r);
}

static void a_missing_certificate_file_is_refused_at_creation(void **state) {
  (void)state;
  tkn_redis_options o = tls_options();
  o.tls_cert_file = "/nonexistent/client.crt";
  tkn_redis *r = NULL;
  char err[512];
  assert_int_equal(keep_err(tkn_redis_new(&r, &o), err, sizeof err), TKN_ERR_INVALID);
  assert_null(r);
  assert_non_null(strstr(err, "certificate file"));
}

int main(void) {
  const char *dir = getenv("TKN_REDIS_DIR");
  if (!dir) {
    printf("SKIP: TKN_REDIS_DIR is not set (run through tests/redis/redis_fixture.py --tls)\n");
    return 77;
  }
  snprintf(g_ca, sizeof g_ca, "%s/ca.crt", dir);
  snprintf(g_cert, sizeof g_cert, "%s/client.crt", dir);
  snprintf(g_key, sizeof g_key, "%s/client.key", dir);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_budget_works_over_tls),
      cmocka_unit_test(a_server_the_ca_did_not_sign_is_refused),
      cmocka_unit_test(a_certificate_for_another_name_is_refused),
      cmocka_unit_test(plain_text_to_a_tls_port_fails_by_the_deadline),
      cmocka_unit_test(a_missing_certificate_file_is_refused_at_creation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
