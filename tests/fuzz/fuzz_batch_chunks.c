/* libFuzzer harness: the batch result reader fed the same bytes whole and in
 * chunks of random sizes (the first 8 bytes of the input pick up to 8 chunk
 * lengths, 0 included, cycled), with a price table so results are costed,
 * and joined results collected through on_result.  Invariants: the same
 * status, the same summary, the same results in the same order and the same
 * dead letters (as JSON) whatever the split; a failure says why in one line;
 * the dead-letter JSON is JSON; succeeded + errored + canceled + expired +
 * missing never exceeds the ids declared. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/batch.h"

static tkn_prices *prices;

typedef struct run {
  int rc;
  tkn_batch_summary sum;
  tki_buf results; /* custom ids, statuses and body lengths of joined results */
  char *dead;
  size_t dead_len;
} run;

static int on_result(const tkn_batch_result *res, void *user) {
  tki_buf *b = user;
  FZ_CHECK(res->custom_id[res->custom_id_len] == '\0');
  tki_buf_append(b, res->custom_id, res->custom_id_len);
  tki_buf_printf(b, "|%d|%zu|%zu|%d\n", (int)res->status, res->body_len, res->usage_len,
                 (int)res->meter_status);
  if (res->meter_status == TKN_OK) FZ_CHECK(res->tokens && res->cost);
  return 0;
}

static void feed(const char *in, size_t len, uint32_t provider, const uint8_t *sizes,
                 run *out) {
  tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
  o.provider = provider;
  o.max_line_bytes = 1 << 16;
  o.on_result = on_result;
  o.user = &out->results;
  o.prices = prices;
  tki_buf_init(&out->results);
  tkn_batch_reader *r = NULL;
  FZ_CHECK(tkn_batch_reader_new(&r, &o) == TKN_OK);
  FZ_CHECK(tkn_batch_reader_expect(r, "a", 1) == TKN_OK);
  FZ_CHECK(tkn_batch_reader_expect(r, "r1", 2) == TKN_OK);
  FZ_CHECK(tkn_batch_reader_expect(r, "req-2", 5) == TKN_OK);
  int rc = TKN_OK;
  size_t at = 0;
  for (unsigned k = 0; at < len && !rc; k++) {
    size_t n = sizes ? sizes[k % 8] : len; /* 0-byte feeds are allowed */
    if (n > len - at) n = len - at;
    rc = tkn_batch_reader_feed(r, in + at, n);
    at += n;
    if (sizes && k > 8 * len + 8) break; /* all sizes 0: give up splitting */
  }
  if (!rc && at < len) rc = tkn_batch_reader_feed(r, in + at, len - at);
  if (!rc) rc = tkn_batch_reader_finish(r);
  if (rc) fz_one_line(tkn_error_last()->message);
  out->rc = rc;
  memset(&out->sum, 0, sizeof out->sum);
  out->sum.version = TKN_BATCH_SUMMARY_VERSION;
  FZ_CHECK(tkn_batch_reader_summary(r, &out->sum) == TKN_OK);
  FZ_CHECK(out->sum.succeeded + out->sum.errored + out->sum.canceled + out->sum.expired +
               out->sum.missing <=
           out->sum.expected);
  out->dead = NULL;
  FZ_CHECK(tkn_batch_reader_dead_letters_json(r, &out->dead, &out->dead_len) == TKN_OK);
  cJSON *j = NULL;
  char err[TKI_ERRLEN];
  FZ_CHECK(tki_json_parse(out->dead, out->dead_len, (size_t)1 << 30, 100, "dead letters", &j,
                          err) == TKN_OK);
  FZ_CHECK(cJSON_GetArraySize(j) == (int)tkn_batch_reader_dead_letter_count(r));
  cJSON_Delete(j);
  tkn_batch_reader_free(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!prices && tkn_prices_new_default(&prices) != TKN_OK) abort();
  if (size < 9) return 0;
  uint32_t provider = (data[0] & 1) ? TKN_PROVIDER_ANTHROPIC : TKN_PROVIDER_OPENAI;
  const uint8_t *sizes = data + 1;
  const char *in = (const char *)data + 9;
  size_t len = size - 9;
  run a, b;
  feed(in, len, provider, NULL, &a);
  feed(in, len, provider, sizes, &b);
  if (a.rc != b.rc) {
    fprintf(stderr, "whole: %d, chunked: %d\n", a.rc, b.rc);
    abort();
  }
  if (a.rc == TKN_OK) { /* after a failed feed the reader stops mid-chunk (documented) */
    FZ_CHECK(memcmp(&a.sum, &b.sum, sizeof a.sum) == 0);
    FZ_CHECK(a.results.len == b.results.len &&
             (a.results.len == 0 || memcmp(a.results.data, b.results.data, a.results.len) == 0));
    FZ_CHECK(a.dead_len == b.dead_len && memcmp(a.dead, b.dead, a.dead_len) == 0);
  }
  tki_buf_free(&a.results);
  tki_buf_free(&b.results);
  tkn_free(a.dead);
  tkn_free(b.dead);
  return 0;
}
