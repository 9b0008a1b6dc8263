/* tokenomy: cache-friendly prompt assembly and provider rendering.
 *
 * Providers discount a cached prompt prefix by 50 to 90%, but only when the
 * prefix is byte-identical to one sent before.  A tkn_prompt_builder collects
 * the parts of a prompt as segments, each with a kind and a stability class;
 * tkn_prompt_assemble() puts them in prefix order, lints the segments declared
 * static for volatile content (dates, UUIDs, ids, counters), serialises them
 * canonically and fingerprints every boundary.  The assembled tkn_prompt is
 * rendered as an OpenAI Chat Completions or an Anthropic Messages request,
 * the latter with cache_control breakpoints placed automatically.
 *
 * Segment kinds, in prefix order:
 *   TKN_SEG_TOOLS      tool definitions (always first: both providers put
 *                      tools before everything else in the cached prefix)
 *   TKN_SEG_STATIC     instructions (the system prompt)
 *   TKN_SEG_REFERENCE  reference documents
 *   TKN_SEG_HISTORY    the conversation so far (a tkn_conv)
 *   TKN_SEG_DYNAMIC    the tail: the user's query, retrieved documents, the date
 * Stability classes: STATIC (changes only with a new prompt version), SESSION
 * (stable within a session), VOLATILE (changes every request).
 *
 * Blocks and fingerprints.  An assembled prompt is a sequence of blocks: one
 * per text segment, one per tool definition, one per history message.  The
 * bytes of a block are its canonical serialisation: a text segment's UTF-8
 * text; a tool's canonical JSON ({"description","name","parameters"} with
 * sorted keys, see below); a history message's canonical OpenAI message JSON.
 * The fingerprint at the end of block k is
 *     fp[k] = XXH64(bytes of block k, seed = fp[k-1]),   fp[-1] = 0,
 * so fp[k] identifies the whole prefix up to and including block k and its
 * block boundaries: equal fingerprints mean (up to a 2^-64 accident)
 * byte-identical prefixes.  The prompt version is the fingerprint at the end
 * of the leading run of segments declared static (0 if there is none).  These
 * values are stable across releases and platforms.
 *
 * Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace,
 * integral numbers within 2^53 as integers, others in their shortest
 * round-trip form; so identical tool schemas give byte-identical prefixes.
 *
 * Threading: a builder is used by one thread at a time.  An assembled
 * tkn_prompt is immutable: any number of threads may read and render it
 * (until tkn_prompt_assemble_into or tkn_prompt_free changes it).
 *
 * Limits (TKN_ERR_LIMIT beyond them): TKN_PROMPT_MAX_SEGMENTS segments,
 * TKN_PROMPT_MAX_TOOLS tools, TKN_PROMPT_MAX_TEXT bytes per text or tool
 * definition, TKN_PROMPT_MAX_NAME bytes per segment name.
 */
#ifndef TOKENOMY_PROMPT_H
#define TOKENOMY_PROMPT_H

#include "common.h"
#include "conv.h"
#include "prices.h"
#include "prune.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

#define TKN_PROMPT_MAX_SEGMENTS 256
#define TKN_PROMPT_MAX_TOOLS 512
#define TKN_PROMPT_MAX_TEXT ((size_t)16 * 1024 * 1024)
#define TKN_PROMPT_MAX_NAME 128
/* "no such index" in outputs */
#define TKN_PROMPT_NONE UINT32_MAX

/* Segment kinds (pinned values; also the prefix order). */
#define TKN_SEG_TOOLS 0
#define TKN_SEG_STATIC 1
#define TKN_SEG_REFERENCE 2
#define TKN_SEG_HISTORY 3
#define TKN_SEG_DYNAMIC 4

/* Stability classes (pinned values). */
#define TKN_STABILITY_STATIC 0
#define TKN_STABILITY_SESSION 1
#define TKN_STABILITY_VOLATILE 2

/* Cache lifetimes a segment asks for (Anthropic; pinned values). */
#define TKN_CACHE_TTL_5M 0 /* the default: 5 minutes, refreshed on each hit */
#define TKN_CACHE_TTL_1H 1 /* 1 hour (writes cost 2x instead of 1.25x) */

/* What the linter and the assembler report (pinned values).  Lint kinds are
 * also bits of tkn_prompt_options.lint_mask: bit (1u << kind). */
#define TKN_LINT_DATE 0       /* 2026-11-28, 28/11/2026, Nov 28, 2026, 28 November 2026 */
#define TKN_LINT_TIME 1       /* 14:05, 14:05:09, 2:05 pm */
#define TKN_LINT_TIMESTAMP 2  /* 2026-11-28T14:05:09Z, 10- or 13-digit Unix epoch */
#define TKN_LINT_UUID 3       /* 8-4-4-4-12 hexadecimal */
#define TKN_LINT_HEX_ID 4     /* >= 16 hex digits mixing digits and letters */
#define TKN_LINT_BASE64_ID 5  /* >= 20 base64/base64url chars mixing cases and digits */
#define TKN_LINT_COUNTER 6    /* "request #42", "turn 7", "attempt: 3", ... */
#define TKN_ISSUE_ORDER 16    /* volatile content before more stable content */
#define TKN_LINT_ALL 0x7fu

/* The static name of a kind ("date", "uuid", "order", ...), NULL if unknown;
 * and the names of segment kinds and stability classes. */
TKN_API const char *tkn_prompt_issue_name(uint32_t kind);
TKN_API const char *tkn_prompt_segment_kind_name(uint32_t kind);
TKN_API const char *tkn_prompt_stability_name(uint32_t stability);

/* One linter finding or assembly issue. */
#define TKN_PROMPT_FINDING_VERSION 1
typedef struct tkn_prompt_finding {
  uint32_t version;  /* TKN_PROMPT_FINDING_VERSION (set by the caller) */
  uint32_t kind;     /* TKN_LINT_* or TKN_ISSUE_ORDER */
  uint32_t segment;  /* index of the segment in the assembled order (lint: in
                        tkn_prompt_lint, always 0) */
  uint32_t other;    /* ORDER: the more stable segment that follows; else NONE */
  uint64_t offset;   /* byte offset of the finding in the segment's text */
  uint64_t length;   /* its length in bytes (0 for ORDER) */
} tkn_prompt_finding;

/* Lint one UTF-8 text for volatile content, with the detectors of `mask`
 * (TKN_LINT_ALL for all).  *out receives *n findings in text order (NULL when
 * there are none); free it with tkn_free.  Each finding's segment is 0 and
 * other is TKN_PROMPT_NONE.  Thread-safe; no limit beyond TKN_PROMPT_MAX_TEXT.
 * TKN_ERR_INVALID for a NULL out or n (or NULL text with a length), TKN_ERR_UTF8 for invalid
 * UTF-8, TKN_ERR_LIMIT past TKN_PROMPT_MAX_TEXT, TKN_ERR_NOMEM. */
TKN_API int tkn_prompt_lint(const char *text, size_t len, uint32_t mask,
                            tkn_prompt_finding **out, size_t *n);

/* ---- The builder ---- */

#define TKN_PROMPT_OPTIONS_VERSION 1
typedef struct tkn_prompt_options {
  uint32_t version;    /* TKN_PROMPT_OPTIONS_VERSION */
  int32_t strict;      /* 1: assembly fails (TKN_ERR_SCHEMA) on any lint finding
                          or order issue; 0 (default): they are reported */
  int32_t keep_order;  /* 1: keep text segments in the order added (tools stay
                          first); 0 (default): sort into prefix order */
  uint32_t lint_mask;  /* detectors run on segments declared static
                          (default TKN_LINT_ALL; 0 turns linting off) */
} tkn_prompt_options;
#define TKN_PROMPT_OPTIONS_INIT { TKN_PROMPT_OPTIONS_VERSION, 0, 0, TKN_LINT_ALL }
/* Fill *opts with the defaults of `version`. TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an
 * unknown version. */
TKN_API int tkn_prompt_options_init(tkn_prompt_options *opts, uint32_t version);

typedef struct tkn_prompt_builder tkn_prompt_builder;
typedef struct tkn_prompt tkn_prompt;

/* A new, empty builder; opts may be NULL for the defaults.
 * TKN_ERR_INVALID for a NULL out, TKN_ERR_VERSION for unknown options, TKN_ERR_NOMEM. */
TKN_API int tkn_prompt_builder_new(tkn_prompt_builder **out, const tkn_prompt_options *opts);
/* NULL is a no-op. */
TKN_API void tkn_prompt_builder_free(tkn_prompt_builder *b);

/* Add a text segment of kind STATIC, REFERENCE or DYNAMIC with a stability
 * class and a name (used in advice and diffs; need not be unique, may be
 * empty).  The text and name are copied and must be valid UTF-8.  *index (may
 * be NULL) receives the segment's index in the order added.
 * TKN_ERR_INVALID for a NULL builder (or text with a length), an unknown kind or stability,
 * TKN_ERR_UTF8 for invalid UTF-8, TKN_ERR_LIMIT past TKN_PROMPT_MAX_TEXT or
 * TKN_PROMPT_MAX_SEGMENTS, TKN_ERR_NOMEM. */
TKN_API int tkn_prompt_builder_add_text(tkn_prompt_builder *b, uint32_t kind, uint32_t stability,
                                        const char *name, size_t name_len, const char *text,
                                        size_t text_len, uint32_t *index);
/* Add one tool definition, a JSON object in any of these forms:
 *   {"name", "description"?, "parameters"?}                  (neutral)
 *   {"type":"function","function":{"name","description"?,"parameters"?}}  (OpenAI)
 *   {"name", "description"?, "input_schema"?}                (Anthropic)
 * It is stored canonically; tools keep the order added.  The first tool makes
 * a segment named "tools" of kind TOOLS, stability STATIC, whose index goes to
 * *index (may be NULL).  TKN_ERR_DUPLICATE for a name already added;
 * TKN_ERR_SCHEMA for a definition without a name or with a non-object
 * schema; TKN_ERR_PARSE for malformed JSON, TKN_ERR_UTF8 for invalid UTF-8,
 * TKN_ERR_LIMIT past TKN_PROMPT_MAX_TOOLS tools or a size limit, TKN_ERR_NOMEM.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prompt_builder_add_tool(tkn_prompt_builder *b, const char *json, size_t len,
                                        uint32_t *index);
/* Use `conv` as the history segment (named "history"), with a stability class
 * (normally SESSION).  The conversation is borrowed: it must stay alive and
 * unchanged until the last tkn_prompt_assemble() that reads it returns; its
 * messages are copied into the assembled prompt.  Calling it again replaces
 * the conversation; NULL removes the history segment.
 * TKN_ERR_INVALID for a NULL builder or an unknown stability, TKN_ERR_LIMIT past
 * TKN_PROMPT_MAX_SEGMENTS, TKN_ERR_NOMEM. */
TKN_API int tkn_prompt_builder_set_history(tkn_prompt_builder *b, tkn_conv *conv,
                                           uint32_t stability, uint32_t *index);
/* The cache lifetime segment `index` asks for (TKN_CACHE_TTL_*).
 * TKN_ERR_INVALID for a NULL builder, an index out of range or an unknown TTL. */
TKN_API int tkn_prompt_builder_set_ttl(tkn_prompt_builder *b, uint32_t index, uint32_t ttl);
/* Remove every segment (options stay). */
TKN_API void tkn_prompt_builder_clear(tkn_prompt_builder *b);

/* Assemble: order the segments, lint the static ones, serialise, count each
 * block's tokens with `tok` (text: the text; tools: the canonical JSON;
 * history messages: tkn_tokenizer_count_message with the default options,
 * cached in the conversation), fingerprint.
 * The findings of a static text segment or tool are kept in the builder, so
 * a prefix assembled for every request is linted once.  Assembly writes the
 * conversation's count cache: the conversation's one-thread rule applies.
 * The builder is not changed and can be assembled again (for the next
 * request, after changing the dynamic tail or the conversation).  On failure
 * *out is NULL and tkn_error_last() says what and where; in strict
 * mode the first finding is named (TKN_ERR_SCHEMA).  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_prompt_assemble(tkn_prompt **out, tkn_prompt_builder *b, const tkn_tokenizer *tok);
/* The same assembly, into the memory of an earlier prompt: *p is NULL (then
 * this is tkn_prompt_assemble) or a prompt from any earlier assembly, which is
 * replaced by the new one, its arrays reused and grown only when the new
 * prompt is larger.  A host that assembles for every request keeps one
 * prompt this way and, once sizes settle, allocates nothing per request: no
 * freshly mapped memory to page-fault in, whatever the allocator returns to
 * the kernel between requests.  *p must not be in use by another thread (it
 * is changed, as by tkn_prompt_free), and pointers read from it before
 * (segment names) become invalid.  On failure *p is freed and set to NULL and
 * tkn_error_last() says why.  TKN_ERR_INVALID if p is NULL. */
TKN_API int tkn_prompt_assemble_into(tkn_prompt **p, tkn_prompt_builder *b,
                                     const tkn_tokenizer *tok);

/* ---- The assembled prompt (immutable) ---- */

/* NULL is a no-op. */
TKN_API void tkn_prompt_free(tkn_prompt *p);

TKN_API size_t tkn_prompt_segment_count(const tkn_prompt *p);
#define TKN_PROMPT_SEGMENT_INFO_VERSION 1
typedef struct tkn_prompt_segment_info {
  uint32_t version;      /* TKN_PROMPT_SEGMENT_INFO_VERSION (set by the caller) */
  uint32_t kind;         /* TKN_SEG_* */
  uint32_t stability;    /* TKN_STABILITY_* */
  uint32_t ttl;          /* TKN_CACHE_TTL_* */
  uint32_t added_index;  /* its index in the order added to the builder */
  uint32_t first_block;  /* its blocks are [first_block, first_block+block_count) */
  uint32_t block_count;
  uint32_t reserved;
  const char *name;      /* points into the prompt; NUL-terminated */
  size_t name_len;
  uint64_t bytes;        /* canonical bytes of its blocks */
  int64_t tokens;        /* tokens of its blocks */
  uint64_t content_hash; /* XXH64 of its blocks' bytes alone (seed 0, chained) */
  uint64_t fingerprint;  /* the prefix fingerprint at its end */
} tkn_prompt_segment_info;
/* Segment i in assembled (prefix) order.  TKN_ERR_INVALID if i is out of range. */
TKN_API int tkn_prompt_segment(const tkn_prompt *p, size_t i, tkn_prompt_segment_info *info);

TKN_API size_t tkn_prompt_block_count(const tkn_prompt *p);
/* Block i: its segment (assembled index), tokens, and the prefix fingerprint
 * at its end.  Any out pointer may be NULL.
 * TKN_ERR_INVALID for a NULL prompt or an index out of range. */
TKN_API int tkn_prompt_block(const tkn_prompt *p, size_t i, uint32_t *segment, int64_t *tokens,
                             uint64_t *fingerprint);
/* The fingerprint of the whole prompt (0 for NULL or an empty prompt). */
TKN_API uint64_t tkn_prompt_fingerprint(const tkn_prompt *p);
/* The prompt version: the fingerprint at the end of the leading segments
 * declared static (0 when there are none). */
TKN_API uint64_t tkn_prompt_version(const tkn_prompt *p);
TKN_API int64_t tkn_prompt_tokens(const tkn_prompt *p);

/* Lint findings and order issues found during assembly. */
TKN_API size_t tkn_prompt_finding_count(const tkn_prompt *p);
/* TKN_ERR_INVALID for NULL or an index out of range, TKN_ERR_VERSION for an unknown finding
 * version. */
TKN_API int tkn_prompt_finding_get(const tkn_prompt *p, size_t i, tkn_prompt_finding *out);

/* Which segment changed between two assembled prompts (`before`, `after`).
 * *first_changed: the index in `after` of the first segment whose prefix
 * fingerprint differs (the cache is lost from there on), or TKN_PROMPT_NONE
 * if the prompts are identical.  *changed_count (may be NULL): how many of
 * after's segments have content different from the segment of the same kind
 * and name in `before` (or have no such counterpart).  When `after` equals
 * `before` with segments removed from its end, *first_changed is after's
 * segment count.
 * TKN_ERR_INVALID for a NULL prompt or first_changed. */
TKN_API int tkn_prompt_diff(const tkn_prompt *before, const tkn_prompt *after,
                            uint32_t *first_changed, uint32_t *changed_count);

/* ---- Rendering ---- */

/* *out: the documented minimum cacheable length, in tokens, of `model` at
 * `provider` (TKN_PROVIDER_OPENAI, _ANTHROPIC or _GEMINI), from the providers'
 * documentation (late 2025):
 *   OpenAI: 1024 for every model that caches (gpt-4o, gpt-4o-mini, gpt-4.1,
 *   gpt-5, gpt-5.1 and their variants, o1, o3, o3-mini, o4-mini, ...).
 *   Anthropic: 4096 for claude-opus-4-5, claude-opus-4-6 and
 *   claude-haiku-4-5; 2048 for claude-3-5-haiku and claude-3-haiku; 1024 for
 *   the Sonnet models, claude-opus-4 and claude-opus-4-1, claude-3-opus.
 *   Gemini: 4096 for gemini-2.5-pro and gemini-3-pro-preview, 1024 for the
 *   2.5 and 2.0 Flash and Flash-Lite models.
 * The name is matched exactly (ASCII case ignored), never by a part of it: a
 * "P/" prefix naming the same provider ("anthropic/claude-sonnet-4-5") is
 * dropped, an OpenAI fine-tune "ft:BASE:org:name:id" is BASE, and a dated
 * snapshot NAME-YYYYMMDD or NAME-YYYY-MM-DD is NAME (the rules of prices.h), so
 * "claude-haiku-4-5-20251001" is 4096 and "my-claude-haiku-4-5" is not found.
 * TKN_ERR_NOT_FOUND (naming the model) for a name not in the list,
 * TKN_ERR_INVALID for a provider outside TKN_PROVIDER_OPENAI.._GEMINI, a NULL
 * or empty model or a NULL out; *out is unchanged on failure.
 * model_len may be TKN_NUL_TERMINATED. */
TKN_API int tkn_prompt_min_cache_tokens(int32_t provider, const char *model, size_t model_len,
                                        int64_t *out);
/* The minimum cacheable length of `model` from a price table: the model's
 * prompt_cache_min_tokens when `prices` has the model (found by the lookup
 * rules of prices.h: dated snapshots, aliases, provider prefixes) with that
 * field set and > 0; otherwise tkn_prompt_min_cache_tokens(provider, model).
 * prices may be NULL (the list above then).  Codes as
 * tkn_prompt_min_cache_tokens.  Pass the result as
 * tkn_render_options.min_cache_tokens (Anthropic breakpoints),
 * tkn_cacheplan_options.min_cache_tokens or to tkn_prompt_breakpoints. */
TKN_API int tkn_prompt_min_cache_tokens_from(const tkn_prices *prices, int32_t provider,
                                             const char *model, size_t model_len, int64_t *out);

/* OpenAI prompt-cache retention (render option cache_retention). */
#define TKN_CACHE_RETENTION_DEFAULT 0 /* in memory: minutes of idle time */
#define TKN_CACHE_RETENTION_24H 1     /* "prompt_cache_retention": "24h" (extended) */

/* Version 2 appended cache_retention and context_edits; version 1 structs
 * are still accepted. */
#define TKN_RENDER_OPTIONS_VERSION 2
typedef struct tkn_render_options {
  uint32_t version;          /* TKN_RENDER_OPTIONS_VERSION (or 1) */
  int32_t provider;          /* TKN_PROVIDER_OPENAI (default) or TKN_PROVIDER_ANTHROPIC */
  const char *model;         /* required, UTF-8 */
  size_t model_len;
  int64_t max_tokens;        /* Anthropic: required (> 0); OpenAI: sent as
                                max_completion_tokens when > 0 */
  const char *cache_key;     /* OpenAI: prompt_cache_key when not NULL */
  size_t cache_key_len;
  int64_t min_cache_tokens;  /* Anthropic breakpoints: 0 = the documented default
                                for the model (tkn_prompt_min_cache_tokens); the
                                price table's value: tkn_prompt_min_cache_tokens_from */
  uint32_t max_breakpoints;  /* Anthropic: at most this many (default 4, max 4) */
  uint32_t reserved;
  /* ---- version 2 ---- */
  uint32_t cache_retention;  /* OpenAI: TKN_CACHE_RETENTION_24H sends
                                "prompt_cache_retention":"24h" (Anthropic: its 1-hour
                                TTL is per segment, tkn_prompt_builder_set_ttl) */
  uint32_t reserved2;
  const tkn_prune_options *context_edits; /* Anthropic: rendered as server-side
                                "context_management" edits (mode TKN_PRUNE_CLEAR:
                                clear_tool_uses_20250919 with its trigger, keep_tool_uses,
                                clear_at_least, exclude_tools, clear_inputs;
                                clear_thinking adds clear_thinking_20251015 keeping
                                keep_thinking_turns).  Other providers have none: run
                                tkn_prune_run on the history before assembling */
} tkn_render_options;
#define TKN_RENDER_OPTIONS_INIT \
  { TKN_RENDER_OPTIONS_VERSION, TKN_PROVIDER_OPENAI, NULL, 0, 0, NULL, 0, 0, 4, 0, 0, 0, NULL }
/* Fill *opts with the defaults of `version` (1 or TKN_RENDER_OPTIONS_VERSION).  TKN_ERR_INVALID
 * for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_render_options_init(tkn_render_options *opts, uint32_t version);

/* Where Anthropic cache breakpoints go: the ends of the longest stable
 * prefixes.  Candidates are the ends of segments that are STATIC or SESSION and
 * are preceded by no VOLATILE segment, whose prefix reaches min_cache_tokens.
 * The end of the longest all-static prefix and the end of the longest stable
 * prefix are taken first, then the remaining candidates longest first, up to
 * max_breakpoints.  A breakpoint takes its segment's TTL, except that once a
 * 5-minute breakpoint is placed every later one is 5-minute too (Anthropic
 * requires 1-hour entries before 5-minute ones).  Writes up to `cap`
 * breakpoints as block indices (ascending) and TTLs; *n gets the count.
 * min_cache_tokens must be > 0.
 * TKN_ERR_INVALID for a NULL prompt, n, or blocks and ttls with a cap, or min_cache_tokens <= 0. */
TKN_API int tkn_prompt_breakpoints(const tkn_prompt *p, int64_t min_cache_tokens,
                                   uint32_t max_breakpoints, uint32_t *blocks, uint32_t *ttls,
                                   size_t cap, size_t *n);

/* Render the prompt as a request body (JSON, NUL-terminated; free with
 * tkn_free).
 * OpenAI: {"model", "messages", "tools"?, "max_completion_tokens"?,
 *   "prompt_cache_key"?}: text segments before the history (without a
 *   history: before the first DYNAMIC segment) form one system message (one
 *   text part per segment), the history follows message by message, the text
 *   segments after it form one final user message; tools are
 *   {"type":"function","function":{...}}.  Empty text segments are left out.
 * Anthropic: {"model", "max_tokens", "tools"?, "system"?, "messages"}: text
 *   segments before the history and the history's leading system messages are
 *   system text blocks, messages follow (tool calls as tool_use blocks, tool
 *   results as user tool_result blocks), later text segments form one final
 *   user message; cache_control is set on the blocks chosen by
 *   tkn_prompt_breakpoints.
 * Deferred tools (a definition holding "defer_loading": true): Anthropic
 *   keeps the flag on them and appends its BM25 tool search tool
 *   ({"type":"tool_search_tool_bm25_20251119","name":"tool_search_tool_bm25"}),
 *   so their schemas stay out of the context until a search reveals them (the
 *   request needs the beta "advanced-tool-use-2025-11-20"); OpenAI has no such
 *   tool: deferred tools are left out of "tools" (the client-side equivalent:
 *   select them per turn with a tool catalogue, toolsel.h, and add them
 *   undeferred).  Token counts include deferred tools either way.
 * context_edits (Anthropic, beta "context-management-2025-06-27"): see the
 *   option; mode must be TKN_PRUNE_CLEAR (else TKN_ERR_INVALID); for OpenAI
 *   TKN_ERR_UNSUPPORTED.  cache_retention 24h for Anthropic: TKN_ERR_UNSUPPORTED.
 * TKN_ERR_STATE if there would be no message to send; TKN_ERR_UNSUPPORTED for
 * an Anthropic rendering of a system message in the middle of the history.
 * TKN_ERR_INVALID for NULL arguments or bad options, TKN_ERR_VERSION,
 * TKN_ERR_SCHEMA for tool-call arguments that are not a JSON object,
 * TKN_ERR_NOT_FOUND for an Anthropic rendering with min_cache_tokens 0 and a
 * model tkn_prompt_min_cache_tokens does not know, TKN_ERR_NOMEM. */
TKN_API int tkn_prompt_render(const tkn_prompt *p, const tkn_render_options *opts, char **out,
                              size_t *out_len);
/* The same body written into the caller's buffer [buf, buf+cap), so that a
 * host can reuse one buffer for every request; nothing is allocated.
 * *out_len receives the body's length without its NUL, also when the buffer
 * is too small: the call then returns TKN_ERR_TOO_SMALL (buf's contents are
 * unspecified) and a buffer of *out_len + 1 bytes suffices for the same
 * prompt and options.  buf may be NULL when cap is 0 (a sizing call).  The
 * other errors are tkn_prompt_render's, reported before TKN_ERR_TOO_SMALL;
 * TKN_ERR_INVALID if out_len is NULL. */
TKN_API int tkn_prompt_render_into(const tkn_prompt *p, const tkn_render_options *opts, char *buf,
                                   size_t cap, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_PROMPT_H */
