/* Helper of the genai-prices conformance tests: reads lines
 *   FORMAT<TAB>MODEL<TAB>JSON
 * from stdin and prints, per line, the normalised usage, its cost, the entry
 * that priced it and that entry's base rates as one JSON object (or
 * {"rc": N} on failure).  FORMAT: chat, responses, anthropic or gemini (JSON
 * is a provider response), or raw (JSON is {"input", "cache_read",
 * "cache_write", "output"} token counts, input including the cache).  Prices
 * come from the built-in table, or from the LiteLLM file given as argv[1]
 * (loaded with skip_invalid). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

static uint32_t format_of(const char *s) {
  if (!strcmp(s, "chat")) return TKN_USAGE_OPENAI_CHAT;
  if (!strcmp(s, "responses")) return TKN_USAGE_OPENAI_RESPONSES;
  if (!strcmp(s, "anthropic")) return TKN_USAGE_ANTHROPIC;
  if (!strcmp(s, "gemini")) return TKN_USAGE_GEMINI;
  return TKN_USAGE_AUTO;
}

static int64_t num(const char *json, const char *key) {
  char pat[64];
  snprintf(pat, sizeof pat, "\"%s\":", key);
  const char *p = strstr(json, pat);
  return p ? strtoll(p + strlen(pat), NULL, 10) : 0;
}

static tkn_prices *load(const char *path) {
  tkn_prices *prices = NULL;
  if (!path) return tkn_prices_new_default(&prices) == TKN_OK ? prices : NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  static char buf[1 << 23];
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  tkn_prices_options o = TKN_PRICES_OPTIONS_INIT;
  o.skip_invalid = 1;
  return tkn_prices_load(&prices, buf, n, &o) == TKN_OK ? prices : NULL;
}

int main(int argc, char **argv) {
  tkn_prices *prices = load(argc > 1 ? argv[1] : NULL);
  if (!prices) return 1;
  static char line[1 << 16];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = '\0';
    char *fmt = line, *model = strchr(fmt, '\t'), *json = NULL;
    if (!model) return 2;
    *model++ = '\0';
    json = strchr(model, '\t');
    if (!json) return 2;
    *json++ = '\0';
    tkn_usage u = TKN_USAGE_INIT;
    int rc = TKN_OK;
    if (!strcmp(fmt, "raw")) {
      u.input_tokens = num(json, "input");
      u.cache_read_tokens = num(json, "cache_read");
      u.cache_write_5m_tokens = num(json, "cache_write");
      u.output_tokens = num(json, "output");
    } else {
      char err[256] = "";
      rc = keep_err(tkn_usage_parse(&u, format_of(fmt), json, strlen(json)), err, sizeof err);
    }
    tkn_cost c = TKN_COST_INIT;
    tkn_model_price m = TKN_MODEL_PRICE_INIT;
    if (rc == TKN_OK) rc = tkn_prices_lookup(prices, model, strlen(model), &m);
    if (rc == TKN_OK) rc = tkn_prices_compute(&m, &u, &c);
    if (rc != TKN_OK) {
      printf("{\"rc\": %d}\n", rc);
      continue;
    }
    char usd[TKN_USD_BUFLEN];
    tkn_usd_format(c.total, usd, sizeof usd, NULL);
    printf("{\"rc\": 0, \"input\": %lld, \"cache_read\": %lld, \"cache_write_5m\": %lld,"
           " \"cache_write_1h\": %lld, \"output\": %lld, \"reasoning\": %lld, \"cost\": %lld,"
           " \"cost_usd\": \"%s\", \"tier\": %d, \"priced_as\": \"%s\", \"has\": %u,"
           " \"input_per_mtok\": %lld, \"output_per_mtok\": %lld, \"cache_read_per_mtok\": %lld,"
           " \"cache_write_per_mtok\": %lld, \"tiers\": %u}\n",
           (long long)u.input_tokens, (long long)u.cache_read_tokens,
           (long long)u.cache_write_5m_tokens, (long long)u.cache_write_1h_tokens,
           (long long)u.output_tokens, (long long)u.reasoning_tokens, (long long)c.total, usd,
           (c.flags & TKN_COST_TIER) != 0, m.name, m.has, (long long)m.input_per_mtok,
           (long long)m.output_per_mtok, (long long)m.cache_read_per_mtok,
           (long long)m.cache_write_5m_per_mtok, m.tier_count);
  }
  tkn_prices_free(prices);
  return 0;
}
