/* tokenomy: model prices and the exact cost of a call.
 *
 * MONEY.  All money is an int64_t count of picodollars: 1 unit = 1e-12 USD
 * (TKN_MONEY_UNITS_PER_USD units make one dollar).  A price is picodollars per
 * token, which is the same number as micro-dollars per million tokens:
 * $3 / Mtok = 3e-06 USD/token = 3,000,000 units per token.  Every published
 * price (quoted to at most 1/100 cent per Mtok) is exact in this unit, and a
 * cost is tokens x price summed in integers: no floating point anywhere.
 * The range of one int64 value is +-9,223,372.036854775807 USD; a result that
 * would leave it is TKN_ERR_OVERFLOW, never a wrapped number.
 *
 * PRICE TABLE.  tkn_prices_load reads LiteLLM's
 * `model_prices_and_context_window.json`: one object per model name, of which
 * these fields are used (USD per token, as JSON numbers such as 3e-06):
 *   input_cost_per_token, output_cost_per_token, output_cost_per_reasoning_token,
 *   cache_read_input_token_cost, cache_creation_input_token_cost,
 *   cache_creation_input_token_cost_above_1hr, input_cost_per_token_batches,
 *   output_cost_per_token_batches, the tier prices input_cost_per_token_above_200k_tokens,
 *   output_cost_per_token_above_200k_tokens, cache_read_input_token_cost_above_200k_tokens,
 *   cache_creation_input_token_cost_above_200k_tokens,
 *   cache_creation_input_token_cost_above_1hr_above_200k_tokens,
 * and max_input_tokens, max_output_tokens, prompt_cache_min_tokens (integers),
 * litellm_provider (string).  Every other field, and the "sample_spec" entry,
 * is ignored; a null value counts as absent.  Prices are converted from the
 * decimal TEXT of the number (never through a double): 3e-06, 0.000003 and
 * 30e-7 all give exactly 3,000,000.  A negative price, one finer than 1e-12 USD
 * per token, or one above the int64 range is an error naming the model and
 * field.
 *
 * LOOKUP.  Model names are matched ASCII-case-insensitively, trying in order:
 *   1. the name itself, e.g. "gemini/gemini-2.5-pro" or "gpt-4o-2024-05-13",
 *      as a table key, then as an alias (tkn_prices_options.aliases);
 *   2. without a trailing "-latest";
 *   3. without a date snapshot suffix "-YYYYMMDD" (Anthropic style,
 *      claude-sonnet-4-5-20250929 -> claude-sonnet-4-5) or "-YYYY-MM-DD"
 *      (OpenAI style, gpt-4.1-2025-04-14 -> gpt-4.1), or a "-NNN" version
 *      suffix (gemini-2.0-flash-001 -> gemini-2.0-flash);
 *   4. dots between digits as dashes (claude-sonnet-4.5 -> claude-sonnet-4-5);
 *   5. steps 1-4 again with the leading "provider/" segment removed, one
 *      segment at a time (openrouter/anthropic/claude-opus-4-1 ->
 *      anthropic/claude-opus-4-1 -> claude-opus-4-1);
 *   6. a table key "provider/NAME" for a bare NAME (gemini-2.5-pro finds
 *      "gemini/gemini-2.5-pro" when the table has no plain "gemini-2.5-pro";
 *      if several do, the first in the file wins).
 * An exact key always wins over a rewritten one, so a dated snapshot with its
 * own price (gpt-4o-2024-05-13) keeps it.
 *
 * COST RULES (tkn_prices_compute):
 *  - plain input = input - cache_read - cache_write_5m - cache_write_1h, at the
 *    input price; cache reads at cache_read_input_token_cost; 5-minute writes at
 *    cache_creation_input_token_cost; 1-hour writes at
 *    cache_creation_input_token_cost_above_1hr; output other than reasoning at
 *    the output price; reasoning at output_cost_per_reasoning_token.
 *  - a missing cache-read or 5m cache-write price falls back to the input
 *    price (the provider then bills them as plain input), a missing 1h price to
 *    the 5m price, a missing reasoning price to the output price.
 *  - tier: when the model has tier prices and input_tokens (cache included)
 *    exceeds 200,000, EVERY token of the call is billed at the *_above_200k_tokens
 *    price of its kind (kinds without a tier price keep their base price): this
 *    is how Anthropic (1M context) and Gemini 2.5 Pro bill long prompts.
 *  - batch (TKN_USAGE_BATCH): input and output use the *_batches prices
 *    (TKN_ERR_NOT_FOUND if the model has none), and the batch discount STACKS
 *    with the cache prices: each cache price is scaled by batch_input / input
 *    (50% for OpenAI, Anthropic and Gemini), as Anthropic documents and
 *    OpenAI's batch price list shows.  Tier prices in a batch are scaled the
 *    same way (input-side by batch_input/input, output by batch_output/output).
 *    A scaled term is computed as tokens x price x num / den in 128 bits and
 *    rounded half up to the picodollar (exact for a 50% discount).
 *
 * Threading: a tkn_prices table is immutable once loaded; any number of threads
 * may share one without locks.  The other functions are pure.
 */
#ifndef TOKENOMY_PRICES_H
#define TOKENOMY_PRICES_H

#include "common.h"
#include "usage.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 money unit = 1e-12 USD (a picodollar). */
#define TKN_MONEY_UNITS_PER_USD INT64_C(1000000000000)
/* The tier threshold of the *_above_200k_tokens prices. */
#define TKN_PRICES_TIER_THRESHOLD INT64_C(200000)

typedef struct tkn_prices tkn_prices;

#define TKN_PRICES_OPTIONS_VERSION 1
typedef struct tkn_prices_options {
  uint32_t version;      /* TKN_PRICES_OPTIONS_VERSION */
  uint32_t skip_invalid; /* 0: an invalid entry fails the load; 1: it is skipped and
                            counted (tkn_prices_skipped), the first reason kept */
  uint64_t max_bytes;    /* largest input accepted; default 64 MiB */
  /* Optional aliases, e.g. deployment names: a JSON object
   * {"alias": "model name", ...} of aliases_len bytes (NULL for none).  Each
   * target is resolved by the lookup rules when the table loads (an unknown
   * target fails the load with TKN_ERR_NOT_FOUND; a target may not be another
   * alias); a table key of the same name wins over an alias. */
  const char *aliases;
  size_t aliases_len;
} tkn_prices_options;
#define TKN_PRICES_OPTIONS_INIT { TKN_PRICES_OPTIONS_VERSION, 0, UINT64_C(67108864), NULL, 0 }
/* Fill *opts with TKN_PRICES_OPTIONS_INIT of `version`; TKN_ERR_VERSION if unknown. */
TKN_API int tkn_prices_options_init(tkn_prices_options *opts, uint32_t version);

/* Load a table in LiteLLM's format (see above); opts may be NULL for the
 * defaults.  Limits: opts->max_bytes of input, nesting 64, model names up to
 * 256 bytes.  Errors: TKN_ERR_PARSE / TKN_ERR_UTF8 (malformed JSON, with line
 * and column), TKN_ERR_SCHEMA (not an object of objects, a field of the wrong
 * type, a negative price or token limit; aliases not an object of strings),
 * TKN_ERR_UNSUPPORTED (a price finer than 1e-12 USD per token),
 * TKN_ERR_NOT_FOUND (an alias to an unknown model), TKN_ERR_OVERFLOW,
 * TKN_ERR_LIMIT, TKN_ERR_NOMEM.  The real LiteLLM file holds entries for
 * thousands of models of every kind; loading it with skip_invalid = 1 keeps
 * the load from failing on one odd entry (the skips are counted).  On
 * failure *out is NULL and the one-line reason (naming the model and field)
 * is copied to errbuf if not NULL. */
TKN_API int tkn_prices_load(tkn_prices **out, const char *json, size_t len,
                            const tkn_prices_options *opts, char *errbuf, size_t errlen);
/* The table built into the library: current OpenAI (gpt-4o, gpt-4o-mini,
 * gpt-4.1 family, gpt-5 family, o3, o4-mini), Anthropic (Claude Opus, Sonnet
 * and Haiku 4.x with 5m/1h cache writes and reads) and Gemini 2.5 (pro, flash,
 * flash-lite) prices; tkn_prices_default_json shows it and its source date. */
TKN_API int tkn_prices_new_default(tkn_prices **out);
/* The built-in table's JSON text (static, NUL-terminated); *len if not NULL. */
TKN_API const char *tkn_prices_default_json(size_t *len);
/* NULL is a no-op. */
TKN_API void tkn_prices_free(tkn_prices *prices);
/* Models in the table (0 for NULL). */
TKN_API size_t tkn_prices_count(const tkn_prices *prices);
/* Entries skipped by a skip_invalid load (0 otherwise or for NULL). */
TKN_API size_t tkn_prices_skipped(const tkn_prices *prices);
/* The reason the first skipped entry was skipped ("" if none); valid while the
 * table lives. */
TKN_API const char *tkn_prices_skip_reason(const tkn_prices *prices);

/* tkn_model_price.has: which prices and limits the model has. */
#define TKN_PRICE_INPUT (1u << 0)
#define TKN_PRICE_OUTPUT (1u << 1)
#define TKN_PRICE_REASONING (1u << 2)
#define TKN_PRICE_CACHE_READ (1u << 3)
#define TKN_PRICE_CACHE_WRITE_5M (1u << 4)
#define TKN_PRICE_CACHE_WRITE_1H (1u << 5)
#define TKN_PRICE_INPUT_BATCH (1u << 6)
#define TKN_PRICE_OUTPUT_BATCH (1u << 7)
#define TKN_PRICE_TIER_INPUT (1u << 8)
#define TKN_PRICE_TIER_OUTPUT (1u << 9)
#define TKN_PRICE_TIER_CACHE_READ (1u << 10)
#define TKN_PRICE_TIER_CACHE_WRITE_5M (1u << 11)
#define TKN_PRICE_TIER_CACHE_WRITE_1H (1u << 12)
#define TKN_PRICE_MAX_INPUT (1u << 13)
#define TKN_PRICE_MAX_OUTPUT (1u << 14)
#define TKN_PRICE_CACHE_MIN (1u << 15)

/* One model's prices, in picodollars per token (1e-12 USD). */
#define TKN_MODEL_PRICE_VERSION 1
typedef struct tkn_model_price {
  uint32_t version; /* TKN_MODEL_PRICE_VERSION */
  uint32_t has;     /* TKN_PRICE_* bits; an absent price reads 0 */
  int64_t input;
  int64_t output;
  int64_t reasoning;      /* output_cost_per_reasoning_token */
  int64_t cache_read;
  int64_t cache_write_5m; /* cache_creation_input_token_cost */
  int64_t cache_write_1h; /* cache_creation_input_token_cost_above_1hr */
  int64_t input_batch;
  int64_t output_batch;
  int64_t tier_input;     /* *_above_200k_tokens */
  int64_t tier_output;
  int64_t tier_cache_read;
  int64_t tier_cache_write_5m;
  int64_t tier_cache_write_1h;
  int64_t max_input_tokens;
  int64_t max_output_tokens;
  int64_t prompt_cache_min_tokens;
  /* The table's key and litellm_provider ("" if absent), NUL-terminated, valid
   * while the table lives.  NULL in a price built by hand. */
  const char *name;
  size_t name_len;
  const char *provider;
  size_t provider_len;
} tkn_model_price;
#define TKN_MODEL_PRICE_INIT { TKN_MODEL_PRICE_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
                               0, 0, 0, 0, 0, NULL, 0, NULL, 0 }
TKN_API int tkn_model_price_init(tkn_model_price *price, uint32_t version);

/* Find `model` (UTF-8, len bytes) by the lookup rules above and copy its
 * prices into *out (out->version must be set).  TKN_ERR_NOT_FOUND if no rule
 * matches, TKN_ERR_INVALID for NULL arguments or an empty name. */
TKN_API int tkn_prices_lookup(const tkn_prices *prices, const char *model, size_t len,
                              tkn_model_price *out);

/* The OpenTelemetry gen_ai.provider.name of a LiteLLM provider name (as in
 * tkn_model_price.provider): "openai", "anthropic", "gemini" -> "gcp.gemini",
 * "vertex_ai*" -> "gcp.vertex_ai", "bedrock*" -> "aws.bedrock", "azure" ->
 * "azure.ai.openai", "azure_ai" -> "azure.ai.inference", "mistral" ->
 * "mistral_ai", "xai" -> "x_ai", "groq", "deepseek", "cohere*" -> "cohere",
 * "perplexity", "watsonx" -> "ibm.watsonx.ai".  A static string, or NULL
 * for a provider the conventions do not name. */
TKN_API const char *tkn_prices_otel_provider(const char *litellm_provider, size_t len);

/* tkn_cost.flags */
#define TKN_COST_TIER 0x1u  /* the above-200k tier prices applied */
#define TKN_COST_BATCH 0x2u /* batch prices applied */

/* The cost of one call in picodollars, by kind of token. */
#define TKN_COST_VERSION 1
typedef struct tkn_cost {
  uint32_t version; /* TKN_COST_VERSION */
  uint32_t flags;   /* TKN_COST_* */
  int64_t total;    /* the sum of the parts below */
  int64_t input;    /* plain (uncached) input */
  int64_t cache_read;
  int64_t cache_write; /* 5-minute and 1-hour writes */
  int64_t output;      /* output other than reasoning */
  int64_t reasoning;
} tkn_cost;
#define TKN_COST_INIT { TKN_COST_VERSION, 0, 0, 0, 0, 0, 0, 0 }
TKN_API int tkn_cost_init(tkn_cost *cost, uint32_t version);

/* The cost of `usage` at `price`, by the cost rules above (out->version must
 * be set).  TKN_ERR_INVALID for an inconsistent usage (see tkn_usage_check) or
 * a price without an input or output price, TKN_ERR_NOT_FOUND for a batch call
 * of a model without batch prices, TKN_ERR_OVERFLOW if a product or the sum
 * leaves int64; *out is unchanged on failure. */
TKN_API int tkn_prices_compute(const tkn_model_price *price, const tkn_usage *usage,
                               tkn_cost *out);
/* tkn_prices_lookup + tkn_prices_compute. */
TKN_API int tkn_prices_cost(const tkn_prices *prices, const char *model, size_t len,
                            const tkn_usage *usage, tkn_cost *out);

/* Write `units` picodollars as an exact decimal USD amount with all 12
 * fractional digits ("0.000123450000", "-1.500000000000"), NUL-terminated,
 * into buf; *written (if not NULL) gets the length without the NUL.
 * TKN_ERR_TOO_SMALL if buflen is too small (TKN_MONEY_USD_BUFLEN always
 * suffices), TKN_ERR_INVALID for a NULL buf. */
#define TKN_MONEY_USD_BUFLEN 24
TKN_API int tkn_prices_format_usd(int64_t units, char *buf, size_t buflen, size_t *written);
/* Parse a decimal USD amount ("12.5", "3e-06", "-0.25") into picodollars,
 * exactly.  TKN_ERR_PARSE for text that is not a JSON-style number,
 * TKN_ERR_UNSUPPORTED if finer than 1e-12, TKN_ERR_OVERFLOW beyond int64. */
TKN_API int tkn_prices_parse_usd(const char *text, size_t len, int64_t *out);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_PRICES_H */
