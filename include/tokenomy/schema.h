/* tokenomy: structured output.
 *
 * Compile a JSON Schema (draft 2020-12) once, validate many model replies
 * against it; compute the largest reply a schema allows, in tokens, so the
 * host can set max_tokens tight; flag replies that ran into their cap; and
 * plan retries (backoff with full jitter, re-ask text, escalation to the next
 * tier) that always end.
 *
 * Supported keywords (anything else is rejected at compile time with
 * TKN_ERR_UNSUPPORTED, naming the keyword and its schema path):
 *   type (a name or a list; "integer" accepts 1.0), enum, const, properties,
 *   required, additionalProperties, patternProperties, propertyNames,
 *   minProperties, maxProperties, dependentRequired, dependentSchemas, items,
 *   prefixItems, contains, minContains, maxContains, minItems, maxItems,
 *   uniqueItems, minimum, maximum, exclusiveMinimum, exclusiveMaximum,
 *   multipleOf, minLength, maxLength (in code points), pattern, anyOf, allOf,
 *   oneOf, not, if/then/else, $ref to "#" or "#/json/pointer" inside the same
 *   schema (recursion included; "$defs" holds the definitions), boolean
 *   schemas, and as annotations only: format, $schema (draft 2020-12 only) and
 *   $id at the root, title, description, default, examples, $comment,
 *   deprecated, readOnly, writeOnly, contentMediaType, contentEncoding,
 *   contentSchema, and any keyword starting with "x-".
 * Not supported (rejected): $id below the root, $anchor, $dynamicRef,
 * $dynamicAnchor, $vocabulary, unevaluatedItems, unevaluatedProperties,
 * references to other documents, and any other keyword.
 *
 * Regular expressions (pattern, patternProperties) are PCRE2 (UTF, Unicode
 * properties), compiled once with the schema, unanchored, brought close to
 * ECMA-262: $ matches only at the very end, \uXXXX and \u{...} escapes,
 * \d \w \D \W are ASCII-only, and the long property names of ECMA
 * (\p{Letter}, \p{General_Category=Letter}, \p{Script=Greek}) are accepted.
 * Left as PCRE2 does it: \D and \W inside a [class], \b, and '.', which
 * excludes only \n.  A match gives up after 10 million steps (and sooner
 * when the validation's work budget runs out, below).
 *
 * Numbers are doubles: equality by value (1.0 == 1).  multipleOf reads both
 * numbers as the shortest decimals that give their doubles, so 19.99 is a
 * multiple of 0.01 and 12.350000000000001 is not; this is exact while the
 * document's number times 10^(decimals of multipleOf) stays below 2^53, and
 * beyond that the double quotient decides (always integral that large).
 *
 * Limits (defaults, see tkn_schema_options): schema text 1 MiB and 64 levels
 * of nesting; documents 16 MiB and 128 levels; at most 2048 nested schema
 * evaluations on one path (a deeper one fails the document, keyword "$ref"),
 * about 0.5 MB of stack at worst; a chain of more than 2048 $ref/allOf/...
 * applicators on one value is rejected at compile time (TKN_ERR_LIMIT);
 * a regular-expression match that gives up fails the document (keyword
 * "pattern" or "patternProperties"), wherever it is: under not, in an anyOf
 * branch, in if or contains, it never lets a document pass.  uniqueItems
 * hashes the items (n log n; pairwise only when an item holds an object with
 * a repeated key).
 *
 * Work budget: one validation spends at most max_work steps (default
 * TKN_SCHEMA_DEFAULT_MAX_WORK, per result: tkn_schema_result_set_max_work):
 * a step is a schema evaluated on a value, an item hashed or compared for
 * uniqueItems, or a byte a regular expression reads; a match that needs more
 * than 1000 + 16 x its length of PCRE2 steps spends every step it was
 * allowed.  Past the budget the validation fails closed with TKN_ERR_LIMIT:
 * the document is not accepted.
 *
 * Threading: a compiled tkn_schema is immutable; any number of threads may
 * validate against one schema at the same time, each with its own
 * tkn_schema_result (a result is used by one thread at a time).  The other
 * functions here keep no state.
 */
#ifndef TOKENOMY_SCHEMA_H
#define TOKENOMY_SCHEMA_H

#include "common.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Compiling ------------------------------------------------------- */

typedef struct tkn_schema tkn_schema;

/* Limits.  Zero in a field means its default. */
#define TKN_SCHEMA_OPTIONS_VERSION 1
typedef struct tkn_schema_options {
  uint32_t version;            /* TKN_SCHEMA_OPTIONS_VERSION */
  uint32_t max_schema_depth;   /* JSON nesting of the schema text; default 64, at most 512 */
  uint64_t max_schema_bytes;   /* default 1 MiB */
  uint32_t max_instance_depth; /* JSON nesting of a validated document; default 128, at most 512 */
  uint32_t max_errors;         /* errors collected per validation; default 8 (1: stop at the first) */
  uint64_t max_instance_bytes; /* default 16 MiB */
} tkn_schema_options;
#define TKN_SCHEMA_OPTIONS_INIT { TKN_SCHEMA_OPTIONS_VERSION, 64, 1u << 20, 128, 8, 16u << 20 }
/* Fill *opts with the defaults of `version`; TKN_ERR_VERSION if unknown,
 * TKN_ERR_INVALID for NULL. */
TKN_API int tkn_schema_options_init(tkn_schema_options *opts, uint32_t version);

/* Compile the schema text [json, json+len).  opts may be NULL (defaults).
 * Returns TKN_OK and *out, or: TKN_ERR_PARSE / _UTF8 / _LIMIT for bad text or
 * a limit, TKN_ERR_SCHEMA for a keyword with a wrong value (a negative
 * minLength, a bad regular expression, a $ref that points nowhere, a $ref
 * cycle that never descends into the instance), TKN_ERR_UNSUPPORTED for a
 * keyword or $ref this version does not handle, TKN_ERR_NOMEM, TKN_ERR_VERSION
 * or TKN_ERR_INVALID.  On failure *out is NULL and the message names the
 * keyword and its schema path ("#/properties/a"). */
TKN_API int tkn_schema_compile(tkn_schema **out, const char *json, size_t len,
                               const tkn_schema_options *opts);
/* NULL is a no-op. */
TKN_API void tkn_schema_free(tkn_schema *schema);

/* ---- Validating ------------------------------------------------------ */

/* What one validation found; reusable (memory is kept between calls, so
 * validating many documents with one result does not allocate once warm). */
typedef struct tkn_schema_result tkn_schema_result;
/* TKN_ERR_INVALID for a NULL out, TKN_ERR_NOMEM. */
TKN_API int tkn_schema_result_new(tkn_schema_result **out);
/* NULL is a no-op. */
TKN_API void tkn_schema_result_free(tkn_schema_result *res);

/* Parse the document [json, json+len) and validate it.  Returns TKN_OK when
 * it is valid; TKN_ERR_SCHEMA when it is not (errors in res); TKN_ERR_PARSE /
 * _UTF8 / _LIMIT when it is not JSON or exceeds the schema's instance limits
 * or the work budget (the message in res); TKN_ERR_NOMEM; TKN_ERR_INVALID for
 * NULL arguments.
 * res is cleared first.  Never touches the schema. */
TKN_API int tkn_schema_validate(const tkn_schema *schema, const char *json, size_t len,
                                tkn_schema_result *res);
/* Same, without a result object; the first error is the message of
 * tkn_error_last() (its path the instance location, as a JSON path).
 * Codes as tkn_schema_validate. */
TKN_API int tkn_schema_check(const tkn_schema *schema, const char *json, size_t len);

/* Steps one validation with res may spend (see "Work budget" above); 0
 * restores the default.  Kept for every later validation with res.
 * TKN_ERR_INVALID for a NULL res. */
#define TKN_SCHEMA_DEFAULT_MAX_WORK 100000000u
TKN_API int tkn_schema_result_set_max_work(tkn_schema_result *res, uint64_t max_work);

/* Status of the last validation (TKN_OK if valid). */
TKN_API int tkn_schema_result_status(const tkn_schema_result *res);
/* Errors of the last validation (0 when valid, or when the document did not parse). */
TKN_API size_t tkn_schema_result_error_count(const tkn_schema_result *res);
/* Error i: instance path as a JSON Pointer ("" is the whole document,
 * "/items/0/name"), the failing keyword ("minLength"), its schema path
 * ("#/properties/items/items/properties/name/minLength") and a message.
 * Each out pointer may be NULL; strings live until the next validation with
 * res (they do not depend on the schema or the document text).  Messages are
 * written on the first request after a validation (so a failing document
 * costs no formatting unless asked): TKN_ERR_NOMEM if that fails,
 * TKN_ERR_NOT_FOUND if i is out of range.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_schema_result_error(const tkn_schema_result *res, size_t i,
                                    const char **instance_path, const char **keyword,
                                    const char **schema_path, const char **message);
/* A message to send back to the model asking for a corrected reply; it lists
 * every error collected.  *out is NUL-terminated, freed with tkn_free.
 * TKN_ERR_STATE when the last validation succeeded (nothing to re-ask).
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_schema_result_reask(const tkn_schema_result *res, char **out, size_t *out_len);

/* ---- Output caps ----------------------------------------------------- */

/* The worst case assumes compact JSON (no whitespace, keys as written in the
 * schema, every optional property present) and counts each piece with the
 * tokenizer: punctuation, keys, const/enum values, true/false/null.  A string
 * of n code points counts as 2 quotes + n * tokens_per_code_point: 1 holds for
 * ordinary text; with byte-level BPE a rare character can take up to 4 tokens
 * (its UTF-8 bytes) and an escaped control character 6, so use 6 for a hard
 * guarantee.  Integers with both bounds count one token per character of the
 * longer bound.  The total assumes tokens(a+b) <= tokens(a) + tokens(b). */
#define TKN_SCHEMA_CAP_OPTIONS_VERSION 1
typedef struct tkn_schema_cap_options {
  uint32_t version;              /* TKN_SCHEMA_CAP_OPTIONS_VERSION */
  uint32_t tokens_per_code_point; /* default 1 */
} tkn_schema_cap_options;
#define TKN_SCHEMA_CAP_OPTIONS_INIT { TKN_SCHEMA_CAP_OPTIONS_VERSION, 1 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_schema_cap_options_init(tkn_schema_cap_options *opts, uint32_t version);

/* Set in *flags by tkn_schema_output_cap when some valid document has no
 * size limit (a string without maxLength, an array without maxItems, an
 * object open to additional properties, a number without both bounds,
 * recursion); *max_tokens is then 0. */
#define TKN_SCHEMA_CAP_UNBOUNDED 1u

/* Largest output, in tokens of `tok`, of a document valid against the schema.
 * opts may be NULL.  TKN_ERR_CALLBACK if the tokenizer fails, TKN_ERR_OVERFLOW
 * if the bound does not fit in int64, TKN_ERR_INVALID for NULL arguments. */
TKN_API int tkn_schema_output_cap(const tkn_schema *schema, const tkn_tokenizer *tok,
                                  const tkn_schema_cap_options *opts, int64_t *max_tokens,
                                  uint32_t *flags);

/* ---- Near the limit -------------------------------------------------- */

#define TKN_SCHEMA_NEAR_STOPPED 1u /* the provider stopped for length */
#define TKN_SCHEMA_NEAR_RATIO 2u   /* the reply used 90% or more of its cap */
/* Flags a reply that ran into its output cap, a sign the prompt is
 * under-specified.  stop_reason is the provider's finish/stop reason (may be
 * NULL): "length" (OpenAI), "max_tokens" (Anthropic) and "MAX_TOKENS"
 * (Gemini) count as stopped.  used and cap are output tokens (cap <= 0: no
 * cap known, only the stop reason counts).  *flags receives the bits;
 * TKN_ERR_INVALID for a NULL flags or a negative used. */
TKN_API int tkn_schema_near_limit(const char *stop_reason, size_t stop_len, int64_t used,
                                  int64_t cap, uint32_t *flags);

/* ---- Retry policy ---------------------------------------------------- */

/* A reply failed validation: what now?  The library computes, the host acts
 * (re-asks, sleeps, switches tier).  The plan always ends: after max_attempts
 * failures in total the answer is TKN_SCHEMA_RETRY_GIVE_UP. */
#define TKN_SCHEMA_RETRY_OPTIONS_VERSION 1
typedef struct tkn_schema_retry_options {
  uint32_t version;         /* TKN_SCHEMA_RETRY_OPTIONS_VERSION */
  uint32_t max_attempts;    /* attempts in total, first one included; default 4, 1..100 */
  uint32_t escalate_after;  /* failures on one tier before moving up; default 2 (0: never) */
  uint32_t max_escalations; /* tiers above the first that may be used; default 1 */
  int64_t base_delay_ms;    /* default 250 */
  int64_t max_delay_ms;     /* default 8000 */
  uint64_t seed;            /* jitter seed: the same seed gives the same delays */
} tkn_schema_retry_options;
#define TKN_SCHEMA_RETRY_OPTIONS_INIT { TKN_SCHEMA_RETRY_OPTIONS_VERSION, 4, 2, 1, 250, 8000, 0 }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_schema_retry_options_init(tkn_schema_retry_options *opts, uint32_t version);

#define TKN_SCHEMA_RETRY_SAME_TIER 1 /* re-ask the same tier after delay_ms */
#define TKN_SCHEMA_RETRY_ESCALATE 2  /* re-ask one tier up (tier says which), no delay */
#define TKN_SCHEMA_RETRY_GIVE_UP 3   /* stop: the attempts are spent */
typedef struct tkn_schema_retry_step {
  int32_t action;    /* TKN_SCHEMA_RETRY_* */
  uint32_t attempt;  /* number of the next attempt (2 after the first failure) */
  uint32_t tier;     /* tiers above the first to use for the next attempt */
  int64_t delay_ms;  /* to sleep before it: uniform in [0, min(max, base * 2^k)] */
} tkn_schema_retry_step;

/* The step after `failures` failed attempts (1 after the first failure).
 * Deterministic: a function of the options and `failures` only.  Backoff
 * grows with k = failures on the current tier - 1 and restarts on a new tier.
 * TKN_ERR_INVALID for failures == 0 or options out of range. */
TKN_API int tkn_schema_retry_next(const tkn_schema_retry_options *opts, uint32_t failures,
                                  tkn_schema_retry_step *step);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_SCHEMA_H */
