/* tokenomy: the prompt-cache planner.
 *
 * Feed it a stream of requests (a timestamp and an assembled tkn_prompt, or a
 * prompt's block fingerprints with token counts) and it simulates one
 * provider's prompt cache over them, then reports the token-weighted hit rate
 * (cached input tokens over all input tokens), the input cost with and
 * without caching, and advice in plain words ("the static prefix changed in
 * 37% of requests: segment `system` holds a timestamp").
 *
 * The simulated caches (as the providers document them, late 2025):
 *  - OpenAI: automatic for prefixes of at least min_cache_tokens (1024);
 *    hits are counted in 128-token steps; an entry is dropped after
 *    openai_idle_ms without use (the docs say 5 to 10 minutes, up to an hour
 *    off-peak).  Cached tokens cost price_cache_read.
 *  - Anthropic: entries are written at the breakpoints (cache_control) of each
 *    request whose prefix reaches min_cache_tokens; a request reads the
 *    longest live entry found at one of its breakpoints or up to 20 blocks
 *    before one; a hit refreshes the entry's TTL (5 minutes, or 1 hour for
 *    breakpoints flagged TTL_1H).  Writes cost price_cache_write_5m (1.25x) or
 *    price_cache_write_1h (2x), reads price_cache_read (0.1x).
 *  - Gemini explicit context caching: the host creates a cache of the static
 *    prefix (blocks up to the one flagged STATIC_END) with a TTL it chooses
 *    (gemini_ttl_ms, not refreshed by use); creating it bills the prefix at
 *    the input price, each request reads it at price_cache_read, and storage
 *    is billed per token-hour (price_storage_hour) from creation until it
 *    expires or is replaced by a cache of a changed prefix.
 * The simulation sees prefixes at block boundaries only (the ends of text
 * segments, tools and messages), so a prefix that changes inside a block
 * counts as changed from that block's start: a lower bound for OpenAI.
 *
 * Money: prices are int64 micro-USD per million tokens, which is the same as
 * pico-USD (1e-12 USD) per token ($3.00 per million tokens = 3000000); costs
 * are int64 pico-USD, exact (tokens x price), with overflow reported as
 * TKN_ERR_OVERFLOW.  The only rounded figure is Gemini storage (token x
 * price x milliseconds / 3600000, rounded half up per cache lifetime).
 *
 * Threading: one thread at a time per planner.
 * Limits: TKN_CACHEPLAN_MAX_BLOCKS blocks per request; timestamps must not
 * decrease (TKN_ERR_INVALID).
 */
#ifndef TOKENOMY_CACHEPLAN_H
#define TOKENOMY_CACHEPLAN_H

#include "common.h"
#include "prompt.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_CACHEPLAN_MAX_BLOCKS 1000000


#define TKN_CACHEPLAN_OPTIONS_VERSION 1
typedef struct tkn_cacheplan_options {
  uint32_t version;              /* TKN_CACHEPLAN_OPTIONS_VERSION */
  int32_t provider;              /* TKN_PROVIDER_* of common.h (default OpenAI) */
  const char *model;             /* for the default min_cache_tokens; may be NULL;
                                    not kept after tkn_cacheplan_new */
  size_t model_len;
  int64_t min_cache_tokens;      /* 0 with a model: tkn_prompt_min_cache_tokens(provider,
                                    model), an unknown model failing tkn_cacheplan_new
                                    with TKN_ERR_NOT_FOUND; 0 without a model: 1024
                                    (the smallest documented minimum of each provider);
                                    the price table's value:
                                    tkn_prompt_min_cache_tokens_from */
  int64_t openai_idle_ms;        /* OpenAI idle expiry (default 600000: 10 min) */
  int64_t gemini_ttl_ms;         /* Gemini explicit cache TTL (default 3600000: 1 h) */
  int64_t price_input;           /* required, > 0: micro-USD per million tokens */
  int64_t price_cache_read;      /* 0: derived: OpenAI 50%, Anthropic 10%, Gemini 25% */
  int64_t price_cache_write_5m;  /* 0: derived: 125% (Anthropic) */
  int64_t price_cache_write_1h;  /* 0: derived: 200% (Anthropic) */
  int64_t price_storage_hour;    /* Gemini storage, micro-USD per million tokens
                                    per hour; 0: 1000000 ($1.00) */
} tkn_cacheplan_options;
#define TKN_CACHEPLAN_OPTIONS_INIT \
  { TKN_CACHEPLAN_OPTIONS_VERSION, TKN_PROVIDER_OPENAI, NULL, 0, 0, 600000, 3600000, 0, 0, 0, 0, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_cacheplan_options_init(tkn_cacheplan_options *opts, uint32_t version);

/* Flags of a block of a request. */
#define TKN_CACHEPLAN_BREAKPOINT 1u /* Anthropic: cache_control ends here */
#define TKN_CACHEPLAN_TTL_1H 2u     /* Anthropic: that breakpoint is 1-hour */
#define TKN_CACHEPLAN_STATIC_END 4u /* the static prefix (prompt version) ends here */

typedef struct tkn_cacheplan_block {
  uint64_t fingerprint; /* prefix fingerprint at the end of the block */
  int64_t tokens;       /* tokens of this block (>= 0) */
  uint32_t flags;       /* TKN_CACHEPLAN_* */
  uint32_t segment;     /* segment index (used in advice), or TKN_PROMPT_NONE */
} tkn_cacheplan_block;

typedef struct tkn_cacheplan tkn_cacheplan;

/* A planner; opts is required (price_input must be set).
 * TKN_ERR_INVALID for a NULL argument, a provider outside TKN_PROVIDER_*, price_input <= 0, a
 * negative price, minimum or time, TKN_ERR_VERSION for unknown options, TKN_ERR_NOT_FOUND for
 * a model tkn_prompt_min_cache_tokens does not know (min_cache_tokens 0), TKN_ERR_OVERFLOW if
 * a derived price overflows, TKN_ERR_NOMEM. */
TKN_API int tkn_cacheplan_new(tkn_cacheplan **out, const tkn_cacheplan_options *opts);
/* NULL is a no-op. */
TKN_API void tkn_cacheplan_free(tkn_cacheplan *plan);

/* One request at time_ms (milliseconds, any epoch, not decreasing) given by
 * its blocks.  Anthropic: if no block is flagged BREAKPOINT, the last block is
 * the breakpoint.  Gemini: if no block is flagged STATIC_END, nothing is
 * cached explicitly.  A failed call leaves the planner as it was.
 * TKN_ERR_INVALID for a NULL plan or blocks, a time before the previous request's, a negative
 * token count or more than 4 Anthropic breakpoints, TKN_ERR_LIMIT past the block limit,
 * TKN_ERR_OVERFLOW if a token sum overflows, TKN_ERR_NOMEM. */
TKN_API int tkn_cacheplan_add_blocks(tkn_cacheplan *plan, int64_t time_ms,
                                     const tkn_cacheplan_block *blocks, size_t n);
/* One request given as an assembled prompt: its blocks, the breakpoints
 * tkn_prompt_breakpoints() places (Anthropic, 4 at most), the end of its
 * prompt version as STATIC_END; the segment names and lint findings feed the
 * advice.
 * Errors as tkn_cacheplan_add_blocks. */
TKN_API int tkn_cacheplan_add_prompt(tkn_cacheplan *plan, int64_t time_ms, const tkn_prompt *p);

#define TKN_CACHEPLAN_RESULT_VERSION 1
typedef struct tkn_cacheplan_result {
  uint32_t version;          /* TKN_CACHEPLAN_RESULT_VERSION (set by the caller) */
  int32_t provider;
  int64_t requests;
  int64_t input_tokens;      /* all input tokens of all requests */
  int64_t cached_tokens;     /* of which read from a cache that already held them
                                (Gemini: the request that creates a cache reads
                                it at the cached price but is not counted here) */
  int64_t written_tokens;    /* of which written to the cache (Anthropic
                                writes; Gemini: tokens put into new caches) */
  int64_t hit_rate_ppm;      /* cached_tokens * 1000000 / input_tokens, rounded down */
  int64_t cost_without;      /* pico-USD: every input token at price_input */
  int64_t cost_with;         /* pico-USD: reads + writes + storage + the rest */
  int64_t storage_cost;      /* pico-USD, Gemini storage (included in cost_with) */
  int64_t prefix_changes;    /* requests whose static prefix (the blocks up to the
                                one flagged STATIC_END; with no such flag, never
                                counted) differs from the previous request's */
  int64_t expired;           /* requests with an unchanged static prefix that found it expired */
  int64_t breakeven_requests;/* Gemini: requests per cache lifetime from which the
                                explicit cache pays for itself (0 if it never can) */
} tkn_cacheplan_result;
/* The figures so far (the Gemini cache still alive is billed to its expiry).
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown result version, TKN_ERR_OVERFLOW if a
 * cost overflows. */
TKN_API int tkn_cacheplan_result_get(tkn_cacheplan *plan, tkn_cacheplan_result *out);

/* Advice in plain words, one finding per line, most costly first, ending with
 * the hit rate and costs.  NUL-terminated; free with tkn_free.
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_OVERFLOW as tkn_cacheplan_result_get,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_cacheplan_advice(tkn_cacheplan *plan, char **out, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_CACHEPLAN_H */
