/* libFuzzer harness: the price table, provider usage objects and USD
 * amounts.  The first byte picks the reader:
 *   0: a LiteLLM price table (then every model it holds is looked up by name
 *      and costed: the parts of a cost add up to its total);
 *   1: a usage object (AUTO and each format; what parses passes
 *      tkn_usage_check and the counts are within 2^53);
 *   2: a USD amount (what parses formats and parses back to the same units).
 * Failures always say why in one line and leave the outputs untouched. */
#include "fuzz_util.h"

#include "internal.h"
#include "tokenomy/prices.h"

static void fuzz_table(const char *in, size_t len, int skip) {
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = (uint32_t)skip;
  tkn_prices *p = (tkn_prices *)&o;
  char err[512];
  int rc = tkn_prices_load(&p, in, len, &o, err, sizeof err);
  if (rc != TKN_OK) {
    FZ_CHECK(p == NULL);
    fz_one_line(err);
    return;
  }
  if (tkn_prices_skipped(p)) fz_one_line(tkn_prices_skip_reason(p));
  /* Every key of the table finds an entry, and its cost adds up. */
  cJSON *root = cJSON_ParseWithLength(in, len);
  const cJSON *e;
  cJSON_ArrayForEach(e, root) {
    const char *name = e->string;
    if (!name || !name[0]) continue;
    tkn_model_price mp = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(p, name, strlen(name), &mp) != TKN_OK) continue; /* skipped */
    tkn_usage u = TKN_USAGE_INIT;
    u.flags = TKN_USAGE_CACHE_REPORTED;
    u.input_tokens = 250000;
    u.cache_read_tokens = 1000;
    u.cache_write_5m_tokens = 500;
    u.cache_write_1h_tokens = 7;
    u.output_tokens = 4000;
    u.reasoning_tokens = 333;
    tkn_cost c = TKN_COST_INIT;
    int crc = tkn_prices_compute(&mp, &u, &c);
    if (crc == TKN_OK) {
      FZ_CHECK(c.total == c.input + c.cache_read + c.cache_write + c.output + c.reasoning);
      FZ_CHECK(c.input >= 0 && c.cache_read >= 0 && c.cache_write >= 0 && c.output >= 0 &&
               c.reasoning >= 0);
    } else {
      FZ_CHECK(crc == TKN_ERR_INVALID || crc == TKN_ERR_OVERFLOW);
      FZ_CHECK(c.total == 0); /* unchanged */
    }
  }
  cJSON_Delete(root);
  tkn_prices_free(p);
}

static void fuzz_usage(const char *in, size_t len) {
  for (uint32_t fmt = TKN_USAGE_AUTO; fmt <= TKN_USAGE_GEMINI; fmt++) {
    tkn_usage u = TKN_USAGE_INIT;
    u.flags = TKN_USAGE_BATCH;
    u.input_tokens = -7; /* a marker: unchanged on failure */
    char err[512];
    int rc = tkn_usage_parse(&u, fmt, in, len, err, sizeof err);
    if (rc != TKN_OK) {
      fz_one_line(err);
      FZ_CHECK(u.input_tokens == -7 && u.flags == TKN_USAGE_BATCH);
      continue;
    }
    FZ_CHECK(u.flags & TKN_USAGE_BATCH);
    FZ_CHECK(tkn_usage_check(&u) == TKN_OK);
    const int64_t lim = (int64_t)1 << 54;
    FZ_CHECK(u.input_tokens <= lim && u.output_tokens <= lim);
  }
}

static void fuzz_usd(const char *in, size_t len) {
  int64_t units = 12345;
  int rc = tkn_prices_parse_usd(in, len, &units);
  if (rc != TKN_OK) {
    FZ_CHECK(rc == TKN_ERR_PARSE || rc == TKN_ERR_UNSUPPORTED || rc == TKN_ERR_OVERFLOW);
    return;
  }
  char buf[TKN_MONEY_USD_BUFLEN];
  size_t w = 0;
  FZ_CHECK(tkn_prices_format_usd(units, buf, sizeof buf, &w) == TKN_OK);
  FZ_CHECK(w == strlen(buf));
  int64_t back = 0;
  FZ_CHECK(tkn_prices_parse_usd(buf, w, &back) == TKN_OK);
  FZ_CHECK(back == units);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *in = (const char *)data + 1;
  size_t len = size - 1;
  switch (data[0] % 4) {
  case 0: fuzz_table(in, len, 0); break;
  case 1: fuzz_usage(in, len); break;
  case 2: fuzz_usd(in, len); break;
  default: fuzz_table(in, len, 1); break;
  }
  return 0;
}
