/* libFuzzer harness: the prices part's readers of untrusted text.  The first
 * byte picks the reader; invariants checked:
 *  - exact decimals: what parses formats back to the same value;
 *  - price tables (LiteLLM format, walked twice: cJSON and the number
 *    scanner): every key is found again by lookup, as its last entry (keys
 *    are case-folded; a later duplicate wins): a skipped entry (skip_invalid
 *    keeps it as a tombstone) is TKN_ERR_UNSUPPORTED, as prices.h says, a
 *    loaded one is found with its own prices; a cost's total is within 2
 *    picodollars of the sum of its parts (prices.h: rounded once);
 *  - usage objects: a parsed usage passes tkn_usage_check and can be costed. */
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "prices/prices_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static tkn_prices *g_default;
static const tkn_prices *g_table; /* the table by_key sorts the entries of */

/* Entry numbers by key bytes, then by file order. */
static int by_key(const void *a, const void *b) {
  const tki_price_entry *x = &g_table->entries[*(const uint32_t *)a];
  const tki_price_entry *y = &g_table->entries[*(const uint32_t *)b];
  size_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
  int c = memcmp(x->key, y->key, n);
  if (c) return c;
  if (x->key_len != y->key_len) return x->key_len < y->key_len ? -1 : 1;
  return x < y ? -1 : x > y;
}

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
  /* The entries in key order, file order within a key: the last of each run
   * is the entry a lookup of that key finds. */
  uint32_t *order = malloc((p->count ? p->count : 1) * sizeof *order);
  if (!order) abort();
  for (size_t i = 0; i < p->count; i++) order[i] = (uint32_t)i;
  g_table = p;
  qsort(order, p->count, sizeof *order, by_key);
  tkn_usage u = TKN_USAGE_INIT;
  u.input_tokens = 300000;
  u.cache_read_tokens = 1000;
  u.cache_write_1h_tokens = 7;
  u.output_tokens = 99;
  u.reasoning_tokens = 9;
  for (size_t k = 0; k < p->count; k++) {
    size_t i = order[k];
    const tki_price_entry *e = &p->entries[i];
    if (k + 1 < p->count) {
      const tki_price_entry *next = &p->entries[order[k + 1]];
      if (next->key_len == e->key_len && memcmp(next->key, e->key, e->key_len) == 0)
        continue; /* shadowed by a later entry of the same key */
    }
    if (e->key_len == 0) { /* a skipped entry whose name could not be a key */
      FZ_CHECK(e->skip_reason != NULL);
      continue;
    }
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    rc = fz_keep_err(tkn_prices_lookup(p, e->key, e->key_len, &m), NULL, 0);
    if (e->skip_reason) {
      FZ_CHECK(rc == TKN_ERR_UNSUPPORTED);
      continue;
    }
    FZ_CHECK(rc == TKN_OK);
    FZ_CHECK(m.name == e->price.name && m.input_per_mtok == e->price.input_per_mtok);
    tkn_cost c = TKN_COST_INIT;
    u.flags = (uint32_t)(i & 1) * TKN_USAGE_BATCH;
    rc = tkn_prices_compute(&m, &u, &c);
    if (rc == TKN_OK) { /* total is rounded once, each of the five parts on its own */
      int64_t parts = c.input + c.cache_read + c.cache_write + c.output + c.reasoning;
      FZ_CHECK(c.total - parts <= 2 && parts - c.total <= 2);
    }
  }
  free(order);
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
