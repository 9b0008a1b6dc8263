/* tokenomy: model prices and the exact cost of a call.
 *
 * MONEY.  All money is an int64_t count of picodollars (common.h: 1 unit =
 * 1e-12 USD, TKN_MONEY_UNITS_PER_USD units make one dollar; tkn_usd_parse and
 * tkn_usd_format convert to and from USD text).  The range of one int64
 * value is +-9,223,372.036854775807 USD; a result that would leave it is
 * TKN_ERR_OVERFLOW, never a wrapped number.
 *
 * RATES.  A price is picodollars per MILLION tokens (1e-18 USD per token):
 * $3 / Mtok = 3e-06 USD/token = 3,000,000,000,000 units.  Every per-token
 * price quoted to 18 decimal places is exact in this unit, which covers the
 * real LiteLLM file (4.6875e-09, i.e. $0.0046875 / Mtok, included).  A cost
 * is sum(tokens x rate) / 1e6 computed exactly in 128-bit integers and
 * rounded ONCE, half up, to the picodollar: no floating point anywhere.
 *
 * PRICE TABLE.  tkn_prices_load reads LiteLLM's
 * `model_prices_and_context_window.json`: one object per model name.  Read
 * (USD per token, as JSON numbers such as 3e-06, converted from the decimal
 * TEXT, never through a double):
 *   input_cost_per_token, output_cost_per_token, output_cost_per_reasoning_token,
 *   cache_read_input_token_cost, cache_creation_input_token_cost,
 *   cache_creation_input_token_cost_above_1hr, input_cost_per_token_batches,
 *   output_cost_per_token_batches, cache_read_input_token_cost_batches,
 *   cache_creation_input_token_cost_batches;
 *   the tier prices "<one of the first six>_above_<N>k_tokens" (N any number:
 *   128, 200, 272, ...), e.g. input_cost_per_token_above_200k_tokens;
 *   "tiered_pricing": [{"range": [lo, hi], <the first five prices>}, ...]
 *   (Alibaba-style: the range with lo > 0 is a tier above lo tokens);
 * max_input_tokens, max_output_tokens, prompt_cache_min_tokens (integers, 4096.0
 * allowed), litellm_provider (string), and "alias_of" (the entry is the named
 * key).  A null value counts as absent; "sample_spec" is not a model.  Every
 * other field is not modelled: fields that carry money (their name holds
 * "cost", "pric" or "multiplier": audio, image, per-second, priority, flex,
 * batch tiers, ...) are listed by tkn_prices_unmodelled_at and by
 * `tokenomy prices check FILE`, so that nothing is ignored without a word.
 *
 * DOUBLES.  A price written with more than 15 significant digits (a double
 * printed in full: 2.0000000000000002e-07 for $0.20 / Mtok) is read at 15
 * digits (DBL_DIG), rounded half up, in decimal.
 *
 * FAULTS.  A read field that is not a number, a negative price, a price not
 * exact at 1e-18 USD per token even at 15 digits (2.857142857142857e-07,
 * $2/7 per Mtok), one beyond the int64 range, an
 * alias_of to a missing key, or more than TKN_PRICE_MAX_TIERS tiers is a
 * fault of that entry, named by key and field.  By default the first fault
 * fails the load; with skip_invalid = 1 the entry is skipped and listed
 * (tkn_prices_skipped_at: key and reason).  A skipped key is never priced by
 * another entry: looking it up is TKN_ERR_UNSUPPORTED.
 *
 * LOOKUP.  Model names are matched ASCII-case-insensitively.  A name resolves
 * to exactly one entry, by the first rule that applies:
 *   1. the name is a key (or an alias of tkn_prices_options.aliases);
 *   2. "ft:BASE:org:name:id" (an OpenAI fine-tune) is the key "ft:BASE"
 *      (LiteLLM's fine-tune prices), never BASE itself;
 *   3. a dated snapshot NAME-YYYY-MM-DD or NAME-YYYYMMDD (OpenAI and Anthropic
 *      styles) that is not a key is NAME (claude-sonnet-4-5-20250929 ->
 *      claude-sonnet-4-5); a snapshot with its own key (gpt-4o-2024-05-13)
 *      keeps its own price;
 *   4. "P/NAME" that is not a key is NAME when NAME's entry belongs to the
 *      same provider P (litellm_provider P or "P-..."): "openai/gpt-4o" is
 *      gpt-4o; "openrouter/openai/gpt-4o" is NOT_FOUND, never OpenAI's price;
 *   5. a bare NAME that is not a key is the key "P/NAME" of the model maker's
 *      own API P (litellm_provider P; P one of openai, anthropic, gemini,
 *      mistral, xai, deepseek, cohere, moonshot, zai, dashscope, minimax,
 *      perplexity, ai21): mistral-large-latest is mistral/mistral-large-latest,
 *      never azure/ or azure_ai/ (resellers).  Two such keys: NOT_FOUND.
 * Rules 3-5 never apply to a name or a step that hits a skipped key.
 * tkn_model_price.name says which entry priced a call.
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
 *  - tiers: when input_tokens (cache included) exceeds a tier's threshold,
 *    EVERY token of the call is billed at the prices of the highest such tier
 *    (a kind the tier does not price takes the next lower tier's, then the
 *    base price): how Anthropic (>200k), Gemini (>128k, >200k), OpenAI
 *    (>272k) and Alibaba bill long prompts.
 *  - batch (TKN_USAGE_BATCH): input and output use the *_batches prices
 *    (TKN_ERR_NOT_FOUND if the model has none); cache reads and 5m writes use
 *    the cache_*_batches prices where the file has them; otherwise the batch
 *    discount STACKS with the cache prices: each cache price is scaled by
 *    batch_input / input (50% for OpenAI, Anthropic and Gemini), as Anthropic
 *    documents and OpenAI's batch price list shows.  Tier prices in a batch
 *    are scaled the same way (input-side by batch_input/input, output by
 *    batch_output/output).
 *  - rounding: each part of tkn_cost is its exact value rounded half up to the
 *    picodollar; total is the exact sum rounded once, so it may differ from
 *    the sum of the rounded parts by up to 2 picodollars (five parts, each
 *    off by at most half a picodollar, and the total's own half).
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


typedef struct tkn_prices tkn_prices;

#define TKN_PRICES_OPTIONS_VERSION 1
typedef struct tkn_prices_options {
  uint32_t version;      /* TKN_PRICES_OPTIONS_VERSION */
  uint32_t skip_invalid; /* 0: a faulty entry fails the load; 1: it is skipped and
                            listed (tkn_prices_skipped_at) */
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
/* Fill *opts with TKN_PRICES_OPTIONS_INIT of `version`; TKN_ERR_VERSION if unknown.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prices_options_init(tkn_prices_options *opts, uint32_t version);

/* Load a table in LiteLLM's format (see above); opts may be NULL for the
 * defaults.  Limits: opts->max_bytes of input, nesting 64, model names up to
 * 256 bytes.  Errors: TKN_ERR_PARSE / TKN_ERR_UTF8 (malformed JSON, with line
 * and column), TKN_ERR_SCHEMA (not an object of objects; an entry's fault as
 * listed under FAULTS, unless skip_invalid; aliases not an object of
 * strings), TKN_ERR_UNSUPPORTED (a price not exact at 1e-18 USD per token,
 * unless skip_invalid), TKN_ERR_NOT_FOUND (an alias to an unknown model),
 * TKN_ERR_OVERFLOW (a price beyond int64, unless skip_invalid), TKN_ERR_LIMIT,
 * TKN_ERR_NOMEM.  On failure *out is NULL and the reason names the model and
 * field.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prices_load(tkn_prices **out, const char *json, size_t len,
                            const tkn_prices_options *opts);
/* The table built into the library: current OpenAI (gpt-4o, gpt-4o-mini,
 * gpt-4.1 family, gpt-5 family, o3, o4-mini), Anthropic (Claude Opus, Sonnet
 * and Haiku 4.x with 5m/1h cache writes and reads) and Gemini 2.5 (pro, flash,
 * flash-lite) prices; tkn_prices_default_json shows it and its source date.
 * TKN_ERR_INVALID for a NULL out, TKN_ERR_NOMEM. */
TKN_API int tkn_prices_new_default(tkn_prices **out);
/* The built-in table's JSON text (static, NUL-terminated); *len if not NULL. */
TKN_API const char *tkn_prices_default_json(size_t *len);
/* NULL is a no-op. */
TKN_API void tkn_prices_free(tkn_prices *prices);
/* Models that loaded (0 for NULL); skipped entries are not counted. */
TKN_API size_t tkn_prices_count(const tkn_prices *prices);
/* Entries a skip_invalid load skipped (0 otherwise or for NULL). */
TKN_API size_t tkn_prices_skipped(const tkn_prices *prices);
/* The i-th skipped entry (file order): its key as written and the one-line
 * reason (naming the field), NUL-terminated, valid while the table lives;
 * either out-pointer may be NULL.  TKN_ERR_INVALID for NULL prices or
 * i >= tkn_prices_skipped. */
TKN_API int tkn_prices_skipped_at(const tkn_prices *prices, size_t i, const char **key,
                                  const char **reason);
/* Fields that carry money but are not modelled (see PRICE TABLE), found in
 * the loaded file, in first-seen order. */
TKN_API size_t tkn_prices_unmodelled(const tkn_prices *prices);
/* The i-th unmodelled field: its name, how many entries have it (non-null),
 * and the first such key; out-pointers may be NULL.  TKN_ERR_INVALID for NULL
 * prices or i >= tkn_prices_unmodelled. */
TKN_API int tkn_prices_unmodelled_at(const tkn_prices *prices, size_t i, const char **field,
                                     size_t *entries, const char **first_key);

/* tkn_model_price.has and tkn_price_tier.has: which prices and limits are set. */
#define TKN_PRICE_INPUT (1u << 0)
#define TKN_PRICE_OUTPUT (1u << 1)
#define TKN_PRICE_REASONING (1u << 2)
#define TKN_PRICE_CACHE_READ (1u << 3)
#define TKN_PRICE_CACHE_WRITE_5M (1u << 4)
#define TKN_PRICE_CACHE_WRITE_1H (1u << 5)
#define TKN_PRICE_INPUT_BATCH (1u << 6)
#define TKN_PRICE_OUTPUT_BATCH (1u << 7)
#define TKN_PRICE_CACHE_READ_BATCH (1u << 8)
#define TKN_PRICE_CACHE_WRITE_BATCH (1u << 9)
#define TKN_PRICE_MAX_INPUT (1u << 13)
#define TKN_PRICE_MAX_OUTPUT (1u << 14)
#define TKN_PRICE_CACHE_MIN (1u << 15)

/* One tier: the prices of a call whose input_tokens (cache included) exceed
 * `threshold`.  Rates in picodollars per million tokens; `has` holds
 * TKN_PRICE_INPUT .. TKN_PRICE_CACHE_WRITE_1H bits. */
typedef struct tkn_price_tier {
  int64_t threshold;
  uint32_t has;
  uint32_t reserved; /* 0 */
  int64_t input_per_mtok;
  int64_t output_per_mtok;
  int64_t reasoning_per_mtok;
  int64_t cache_read_per_mtok;
  int64_t cache_write_5m_per_mtok;
  int64_t cache_write_1h_per_mtok;
} tkn_price_tier;
#define TKN_PRICE_MAX_TIERS 16

/* One model's prices, in picodollars per MILLION tokens (1e-18 USD/token). */
#define TKN_MODEL_PRICE_VERSION 2
typedef struct tkn_model_price {
  uint32_t version; /* TKN_MODEL_PRICE_VERSION */
  uint32_t has;     /* TKN_PRICE_* bits; an absent price reads 0 */
  int64_t input_per_mtok;
  int64_t output_per_mtok;
  int64_t reasoning_per_mtok;      /* output_cost_per_reasoning_token */
  int64_t cache_read_per_mtok;
  int64_t cache_write_5m_per_mtok; /* cache_creation_input_token_cost */
  int64_t cache_write_1h_per_mtok; /* cache_creation_input_token_cost_above_1hr */
  int64_t input_batch_per_mtok;
  int64_t output_batch_per_mtok;
  int64_t cache_read_batch_per_mtok;  /* cache_read_input_token_cost_batches */
  int64_t cache_write_batch_per_mtok; /* cache_creation_input_token_cost_batches (5m) */
  int64_t max_input_tokens;
  int64_t max_output_tokens;
  int64_t prompt_cache_min_tokens;
  /* Tiers by ascending threshold (tier_count of them). */
  uint32_t tier_count;
  uint32_t reserved; /* 0 */
  tkn_price_tier tiers[TKN_PRICE_MAX_TIERS];
  /* The key of the entry that priced the model (after alias_of) and its
   * litellm_provider ("" if absent), NUL-terminated, valid while the table
   * lives.  NULL in a price built by hand. */
  const char *name;
  size_t name_len;
  const char *provider;
  size_t provider_len;
} tkn_model_price;
#define TKN_MODEL_PRICE_INIT { TKN_MODEL_PRICE_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, \
                               0, 0, {{0, 0, 0, 0, 0, 0, 0, 0, 0}}, NULL, 0, NULL, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_model_price_init(tkn_model_price *price, uint32_t version);

/* Find `model` (UTF-8, len bytes) by the lookup rules above and copy its
 * prices into *out (out->version must be set); out->name is the entry that
 * prices it.  TKN_ERR_NOT_FOUND if no rule matches, TKN_ERR_UNSUPPORTED if
 * the name (or the step a rule took) is a key the load skipped,
 * TKN_ERR_INVALID for NULL arguments or an empty name. */
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
#define TKN_COST_TIER 0x1u  /* a tier's prices applied */
#define TKN_COST_BATCH 0x2u /* batch prices applied */

/* The cost of one call in picodollars, by kind of token. */
#define TKN_COST_VERSION 1
typedef struct tkn_cost {
  uint32_t version; /* TKN_COST_VERSION */
  uint32_t flags;   /* TKN_COST_* */
  int64_t total;    /* the exact sum of the parts below, rounded once */
  int64_t input;    /* plain (uncached) input */
  int64_t cache_read;
  int64_t cache_write; /* 5-minute and 1-hour writes */
  int64_t output;      /* output other than reasoning */
  int64_t reasoning;
} tkn_cost;
#define TKN_COST_INIT { TKN_COST_VERSION, 0, 0, 0, 0, 0, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_cost_init(tkn_cost *cost, uint32_t version);

/* The cost of `usage` at `price`, by the cost rules above (out->version must
 * be set).  TKN_ERR_INVALID for an inconsistent usage (see tkn_usage_check) or
 * a price without an input or output price, TKN_ERR_NOT_FOUND for a batch call
 * of a model without batch prices, TKN_ERR_OVERFLOW if a product or the sum
 * leaves int64; *out is unchanged on failure. */
TKN_API int tkn_prices_compute(const tkn_model_price *price, const tkn_usage *usage,
                               tkn_cost *out);
/* tkn_prices_lookup + tkn_prices_compute.
 * TKN_ERR_INVALID for a NULL argument; then the codes of tkn_prices_lookup (TKN_ERR_NOT_FOUND for
 * an unknown model, TKN_ERR_VERSION) and of tkn_prices_compute. */
TKN_API int tkn_prices_cost(const tkn_prices *prices, const char *model, size_t len,
                            const tkn_usage *usage, tkn_cost *out);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_PRICES_H */
