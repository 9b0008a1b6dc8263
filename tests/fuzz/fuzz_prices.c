/* libFuzzer harness: the prices part's readers of untrusted text.  The first
 * byte picks the reader; invariants checked:
 *  - exact decimals: what parses formats back to the same value;
 *  - price tables (LiteLLM format, walked twice: cJSON and the number
 *    scanner): every loaded key is found again by lookup, and costing any
 *    usage never crashes;
 *  - usage objects: a parsed usage passes tkn_usage_check and can be costed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "prices/prices_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tkn_prices *g_default;

static void fuzz_decimal(const char *s, size_t n) {
  int64_t v;
  if (tkn_usd_parse(s, n, &v) != TKN_OK) return;
  char buf[TKN_USD_BUFLEN];
  size_t len;
  if (tkn_usd_format(v, buf, sizeof buf, &len) != TKN_OK) abort();
  int64_t back;
  if (tkn_usd_parse(buf, len, &back) != TKN_OK || back != v) abort();
}

static void fuzz_table(const char *s, size_t n, int skip) {
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = (uint32_t)skip;
  tkn_prices *p = NULL;
  char err[TKI_ERRLEN] = "";
  int rc = fz_keep_err(tkn_prices_load(&p, s, n, &o), err, sizeof err);
  if (rc != TKN_OK) {
    if (p || !err[0] || strchr(err, '\n')) abort(); /* a failure says why, in one line */
    return;
  }
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 300000;
  u.cache_read_tokens = 1000;
  u.cache_write_1h_tokens = 7;
  u.output_tokens = 99;
  u.reasoning_tokens = 9;
  for (size_t i = 0; i < p->count; i++) {
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    if (tkn_prices_lookup(p, p->entries[i].key, p->entries[i].key_len, &m) != TKN_OK) abort();
    tkn_cost c = TKN_COST_INIT;
    u.flags = (uint32_t)(i & 1) * TKN_USAGE_BATCH;
    rc = tkn_prices_compute(&m, &u, &c);
    if (rc == TKN_OK && c.total != c.input + c.cache_read + c.cache_write + c.output + c.reasoning)
      abort();
  }
  tkn_prices_free(p);
}

static void fuzz_usage(const char *s, size_t n, uint32_t format) {
  tkn_usage u = TKN_USAGE_INIT;
  char err[256] = "";
  if (fz_keep_err(tkn_usage_parse(&u, format, s, n), err, sizeof err) != TKN_OK) {
    if (!err[0]) abort();
    return;
  }
  if (tkn_usage_check(&u) != TKN_OK) abort();
  tkn_cost c = TKN_COST_INIT;
  int rc = tkn_prices_cost(g_default, "claude-sonnet-4-5", 17, &u, &c);
  if (rc != TKN_OK && rc != TKN_ERR_OVERFLOW) abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (!g_default && tkn_prices_new_default(&g_default) != TKN_OK) abort();
  if (size < 1) return 0;
  const char *s = (const char *)data + 1;
  size_t n = size - 1;
  switch (data[0] % 8) {
  case 0: fuzz_decimal(s, n); break;
  case 1: fuzz_table(s, n, 0); break;
  case 2: fuzz_table(s, n, 1); break;
  default: fuzz_usage(s, n, (uint32_t)(data[0] % 8) - 3); break; /* AUTO .. GEMINI */
  }
  return 0;
}
