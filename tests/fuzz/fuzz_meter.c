/* libFuzzer harness: the meter fed calls built from the bytes (usage counts
 * small or near INT64_MAX, costs, dimension keys of any bytes), checked
 * against a model: the totals count exactly the calls it accepted, its token
 * and cost sums are exact, a sum that would pass int64 is refused
 * (TKN_ERR_OVERFLOW) and changes nothing, and the export is JSON. */
#include <cjson/cJSON.h>
#include <tokenomy.h>

#include "fuzz_util.h"

/* an amount: small, near INT64_MAX, or raw bytes (never negative) */
static int64_t amount(fz_reader *r) {
  uint8_t k = fz_byte(r);
  switch (k % 3) {
  case 0: return fz_byte(r);
  case 1: return INT64_MAX - fz_byte(r);
  default: return (int64_t)(fz_u64(r) >> 1);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  fz_reader r = {data, size};
  tkn_meter *m = NULL;
  FZ_CHECK(tkn_meter_new(&m, NULL) == TKN_OK);
  uint64_t calls = 0;
  int64_t input = 0, cost = 0;
  while (r.n) {
    tkn_meter_call c = TKN_METER_CALL_INIT;
    c.usage.input_tokens = amount(&r);
    c.usage.output_tokens = fz_byte(&r);
    c.cost = amount(&r);
    c.tenant = fz_bytes(&r, fz_byte(&r) % 16, &c.tenant_len);
    c.model = "gpt-4o";
    c.model_len = 6;
    int64_t in2, cost2;
    int fits = !__builtin_add_overflow(input, c.usage.input_tokens, &in2) &&
               !__builtin_add_overflow(cost, c.cost, &cost2);
    int rc = fz_keep_err(tkn_meter_record(m, &c), NULL, 0);
    if (rc == TKN_OK) {
      FZ_CHECK(fits);
      calls++;
      input = in2;
      cost = cost2;
    } else {
      FZ_CHECK(rc == TKN_ERR_OVERFLOW || rc == TKN_ERR_UTF8 || rc == TKN_ERR_INVALID ||
               rc == TKN_ERR_NOMEM);
    }
    tkn_meter_stats s = TKN_METER_STATS_INIT;
    FZ_CHECK(tkn_meter_stats_get(m, TKN_METER_TOTAL, NULL, 0, &s) == TKN_OK);
    FZ_CHECK(s.calls == calls);
    FZ_CHECK(s.input_tokens == input);
    FZ_CHECK(s.cost == cost);
  }
  char *json = NULL;
  size_t len = 0;
  if (tkn_meter_export(m, TKN_METER_JSON, &json, &len) == TKN_OK) {
    cJSON *j = cJSON_ParseWithLength(json, len);
    FZ_CHECK(j != NULL);
    cJSON_Delete(j);
  }
  tkn_free(json);
  tkn_meter_free(m);
  return 0;
}
