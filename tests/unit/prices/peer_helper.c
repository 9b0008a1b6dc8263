/* Helper of the genai-prices conformance test: reads lines
 *   FORMAT<TAB>MODEL<TAB>RESPONSE-JSON
 * (FORMAT: chat, responses, anthropic or gemini) from stdin and prints, per
 * line, the normalised usage and its cost from the built-in price table as
 * one JSON object (or {"rc": N} on failure). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tokenomy.h>

static uint32_t format_of(const char *s) {
  if (!strcmp(s, "chat")) return TKN_USAGE_OPENAI_CHAT;
  if (!strcmp(s, "responses")) return TKN_USAGE_OPENAI_RESPONSES;
  if (!strcmp(s, "anthropic")) return TKN_USAGE_ANTHROPIC;
  if (!strcmp(s, "gemini")) return TKN_USAGE_GEMINI;
  return TKN_USAGE_AUTO;
}

int main(void) {
  tkn_prices *prices = NULL;
  if (tkn_prices_new_default(&prices) != TKN_OK) return 1;
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
    char err[256] = "";
    int rc = tkn_usage_parse(&u, format_of(fmt), json, strlen(json), err, sizeof err);
    tkn_cost c = TKN_COST_INIT;
    if (rc == TKN_OK) rc = tkn_prices_cost(prices, model, strlen(model), &u, &c);
    if (rc != TKN_OK) {
      printf("{\"rc\": %d}\n", rc);
      continue;
    }
    char usd[TKN_MONEY_USD_BUFLEN];
    tkn_prices_format_usd(c.total, usd, sizeof usd, NULL);
    printf("{\"rc\": 0, \"input\": %lld, \"cache_read\": %lld, \"cache_write_5m\": %lld,"
           " \"cache_write_1h\": %lld, \"output\": %lld, \"reasoning\": %lld, \"cost\": %lld,"
           " \"cost_usd\": \"%s\", \"tier\": %d}\n",
           (long long)u.input_tokens, (long long)u.cache_read_tokens,
           (long long)u.cache_write_5m_tokens, (long long)u.cache_write_1h_tokens,
           (long long)u.output_tokens, (long long)u.reasoning_tokens, (long long)c.total, usd,
           (c.flags & TKN_COST_TIER) != 0);
  }
  tkn_prices_free(prices);
  return 0;
}
