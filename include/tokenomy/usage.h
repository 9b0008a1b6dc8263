/* tokenomy: token usage of one model call, normalised across providers.
 *
 * Providers count the same things differently:
 *  - OpenAI Chat Completions: `prompt_tokens` INCLUDES
 *    `prompt_tokens_details.cached_tokens`; `completion_tokens` includes
 *    `completion_tokens_details.reasoning_tokens`.
 *  - OpenAI Responses: `input_tokens` includes `input_tokens_details.cached_tokens`;
 *    `output_tokens` includes `output_tokens_details.reasoning_tokens`.
 *    In both OpenAI shapes, a `cache_write_tokens` beside `cached_tokens` (sent
 *    by gateways that relay Anthropic-style caching) is read as 5-minute writes.
 *  - Anthropic Messages: `input_tokens` EXCLUDES `cache_read_input_tokens` and
 *    `cache_creation_input_tokens`; the writes split by TTL in
 *    `cache_creation.ephemeral_5m_input_tokens` / `ephemeral_1h_input_tokens`.
 *  - Gemini: `usageMetadata.promptTokenCount` includes `cachedContentTokenCount`
 *    and `toolUsePromptTokenCount` is added to it; `candidatesTokenCount`
 *    EXCLUDES `thoughtsTokenCount` (both are billed as output).
 *
 * tkn_usage holds one shape for all of them: `input_tokens` counts every
 * prompt token, cache reads and cache writes included; `output_tokens` counts
 * every generated token, reasoning included.  Plain (uncached) input is
 * input - cache_read - cache_write_5m - cache_write_1h.
 *
 * "Not reported" is kept apart from 0: TKN_USAGE_CACHE_REPORTED says the
 * provider reported how much of the input came from its cache (a 0 then means
 * a real miss).  Without it, cache_read_tokens is 0 because nothing is known.
 *
 * Threading: plain values and pure functions; safe from any thread.
 */
#ifndef TOKENOMY_USAGE_H
#define TOKENOMY_USAGE_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* tkn_usage.flags */
#define TKN_USAGE_CACHE_REPORTED 0x1u     /* cache_read_tokens is a reported value */
#define TKN_USAGE_CACHE_WRITE_REPORTED 0x2u /* cache writes were reported (Anthropic) */
#define TKN_USAGE_REASONING_REPORTED 0x4u /* reasoning_tokens is a reported value */
#define TKN_USAGE_BATCH 0x8u              /* the call ran through a batch API (batch prices) */

#define TKN_USAGE_VERSION 1
typedef struct tkn_usage {
  uint32_t version;              /* TKN_USAGE_VERSION */
  uint32_t flags;                /* TKN_USAGE_* */
  int64_t input_tokens;          /* all prompt tokens, cache reads and writes included */
  int64_t cache_read_tokens;     /* served from the provider's cache */
  int64_t cache_write_5m_tokens; /* written to a cache with a 5-minute TTL (Anthropic's default) */
  int64_t cache_write_1h_tokens; /* written to a cache with a 1-hour TTL */
  int64_t output_tokens;         /* all generated tokens, reasoning included */
  int64_t reasoning_tokens;      /* of which reasoning / thinking */
} tkn_usage;
#define TKN_USAGE_INIT { TKN_USAGE_VERSION, 0, 0, 0, 0, 0, 0, 0 }
/* Fill *usage with TKN_USAGE_INIT of `version`.  TKN_ERR_VERSION if unknown.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_usage_init(tkn_usage *usage, uint32_t version);

/* Usage shapes tkn_usage_parse understands.  A shape is not a provider
 * (OpenAI has two), so the values are apart from the TKN_PROVIDER_* ones:
 * passing a provider constant (1, 2, 3) is TKN_ERR_INVALID, never read as
 * the shape that happens to share its number. */
#define TKN_USAGE_AUTO 0                  /* detect from the keys present (see below) */
#define TKN_USAGE_OPENAI_CHAT 0x5501      /* Chat Completions `usage` */
#define TKN_USAGE_OPENAI_RESPONSES 0x5502 /* Responses API `usage` */
#define TKN_USAGE_ANTHROPIC 0x5503        /* Messages API `usage` */
#define TKN_USAGE_GEMINI 0x5504           /* generateContent `usageMetadata` */

/* Normalise a provider's usage JSON into *out (out->version must be set, e.g.
 * by TKN_USAGE_INIT; the BATCH flag already in out->flags is kept, the others
 * are set from the input).  `json` may be the usage object itself or a whole
 * response that holds it (`usage` or `usageMetadata`).
 *
 * AUTO picks: Gemini if `usageMetadata` or `promptTokenCount` is present;
 * Chat if `prompt_tokens`; Anthropic if `cache_read_input_tokens`,
 * `cache_creation_input_tokens` or `cache_creation`, or the response has
 * "type":"message"; Responses if `input_tokens_details` /
 * `output_tokens_details`, or the response has "object":"response".  A bare
 * {input_tokens, output_tokens} with none of those reads the same in both
 * Anthropic and Responses and is taken as such, cache not reported.
 *
 * Any other `format` (a TKN_PROVIDER_* value included) is TKN_ERR_INVALID.
 * Token counts must be integers in [0, 2^53].  Missing required counts, a
 * cached or reasoning count larger than its total, or an Anthropic 5m/1h split
 * larger than cache_creation_input_tokens are TKN_ERR_SCHEMA; malformed JSON
 * TKN_ERR_PARSE (with line and column); invalid UTF-8 TKN_ERR_UTF8; input over
 * 1 MiB TKN_ERR_LIMIT.  On
 * failure *out is unchanged (the reason in tkn_error_last()). */
TKN_API int tkn_usage_parse(tkn_usage *out, uint32_t format, const char *json, size_t len);

/* Check a usage record: version known, counts in [0, 2^53] (the bound
 * tkn_usage_parse applies), cache reads + writes <= input, reasoning <=
 * output.  TKN_OK or TKN_ERR_INVALID / TKN_ERR_VERSION. */
TKN_API int tkn_usage_check(const tkn_usage *usage);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_USAGE_H */
