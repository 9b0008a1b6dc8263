/* tokenomy: token counting.
 *
 * One opaque tkn_tokenizer, several makers:
 *  - tkn_tokenizer_new_estimator(): a built-in estimator that walks UTF-8 text
 *    with utf8proc's character categories and needs no data file;
 *  - tkn_tokenizer_new_callback(): the host's own exact tokenizer;
 *  - the exact BPE encodings (cl100k_base, o200k_base) come behind this same
 *    interface (see the BPE section below when present).
 *
 * Counting a conversation adds the per-message overhead the provider adds
 * (tkn_count_options); each message's count is cached inside the conversation,
 * keyed by the tokenizer, so recounting an unchanged conversation is cheap.
 *
 * Threading: a tokenizer is immutable once made; any number of threads may
 * share one without locks.  The conversation-counting calls write the cache
 * inside the conversation, so they follow the conversation's rule (one thread
 * at a time per conversation).
 */
#ifndef TOKENOMY_TOKENIZER_H
#define TOKENOMY_TOKENIZER_H

#include "common.h"
#include "conv.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tkn_tokenizer tkn_tokenizer;

/* The built-in estimator: one pass over the UTF-8 text, no data file,
 * calibrated against the exact o200k_base counts (for cl100k_base, see
 * tkn_tokenizer_new_estimator_for).  ASCII words cost by their length (most
 * words up to ten letters are one token), other scripts by a per-letter rate
 * (CJK close to one a character), digits go in groups of 3, a run of one
 * punctuation character is about one token, a space before a word is part
 * of it.  Mean error per document on the calibration corpus: 4-9% by kind of
 * text (prose, code, markup, CJK), 9-11% on other scripts.  Pure ASCII is
 * counted 64 bytes at a time.  Invalid UTF-8 is TKN_ERR_UTF8.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_new_estimator(tkn_tokenizer **out);

/* The host's tokenizer: `count` must be safe to call from any thread that
 * uses the tokenizer.  It returns 0 and sets *out, or non-zero on failure
 * (reported as TKN_ERR_CALLBACK).  `destroy`, if set, is called with `user`
 * when the tokenizer is freed. */
#define TKN_TOKENIZER_CALLBACKS_VERSION 1
typedef struct tkn_tokenizer_callbacks {
  uint32_t version; /* TKN_TOKENIZER_CALLBACKS_VERSION */
  int (*count)(const char *text, size_t len, int64_t *out, void *user);
  void (*destroy)(void *user);
} tkn_tokenizer_callbacks;
#define TKN_TOKENIZER_CALLBACKS_INIT { TKN_TOKENIZER_CALLBACKS_VERSION, NULL, NULL }
/* Fill *cb with TKN_TOKENIZER_CALLBACKS_INIT; TKN_ERR_VERSION for an unknown version.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_callbacks_init(tkn_tokenizer_callbacks *cb, uint32_t version);
/* TKN_ERR_INVALID for a NULL out, cb or cb->count, TKN_ERR_VERSION for an unknown callbacks
 * version, TKN_ERR_NOMEM. */
TKN_API int tkn_tokenizer_new_callback(tkn_tokenizer **out, const tkn_tokenizer_callbacks *cb,
                                       void *user);

/* NULL is a no-op. */
TKN_API void tkn_tokenizer_free(tkn_tokenizer *tok);
/* A static name: "estimator", "callback", "cl100k_base", ... */
TKN_API const char *tkn_tokenizer_name(const tkn_tokenizer *tok);

/* Count the tokens of a UTF-8 string.  TKN_ERR_UTF8 for invalid UTF-8 (every
 * tokenizer; the byte offset in tkn_error_last()), TKN_ERR_SPECIAL_TOKEN for
 * special-token text when the tokenizer was loaded to refuse it (its byte
 * offset), TKN_ERR_CALLBACK when a callback tokenizer fails, TKN_ERR_LIMIT for
 * a text of 4 GiB or more.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_count(const tkn_tokenizer *tok, const char *text, size_t len,
                                int64_t *out);

/* ---- Counting messages and conversations ---- */

/* Per-message overhead the provider adds.  Defaults are OpenAI's: 3 tokens per
 * message, 1 more when the message has a name, 3 to prime the reply. */
#define TKN_COUNT_OPTIONS_VERSION 1
typedef struct tkn_count_options {
  uint32_t version;        /* TKN_COUNT_OPTIONS_VERSION */
  int32_t per_message;     /* added for every message */
  int32_t per_name;        /* added when a message has a name */
  int32_t reply_priming;   /* added once per conversation */
  int32_t per_tool_call;   /* added for every assistant tool call */
} tkn_count_options;
#define TKN_COUNT_OPTIONS_INIT { TKN_COUNT_OPTIONS_VERSION, 3, 1, 3, 3 }
/* Fill *opts with TKN_COUNT_OPTIONS_INIT; TKN_ERR_VERSION for an unknown version.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_count_options_init(tkn_count_options *opts, uint32_t version);

/* Tokens of message i as the provider counts it, exactly:
 *   per_message
 *   + count(role name, e.g. "assistant")
 *   + count(text): the string content, or the text parts joined with "\n"
 *     (non-text parts such as images count 0)
 *   + if it has a name: count(name) + per_name
 *   + for each tool call: count(function name) + count(arguments JSON text)
 *     + per_tool_call (the call's id is not counted)
 *   + if it is a tool result: count(tool-call id)
 * where count() is tkn_tokenizer_count with this tokenizer.  opts may be NULL
 * for the defaults; negative overheads are TKN_ERR_INVALID, an unknown
 * version TKN_ERR_VERSION.  The result is cached in message i under (this
 * tokenizer, these options): an unchanged message is not counted again, and
 * any change to it (text, name, tool calls, tool-call id, replacement) drops
 * the cache.  Failures (TKN_ERR_UTF8, TKN_ERR_CALLBACK, ...) leave a one-line
 * text naming the message and field in tkn_error_last(); the conversation is
 * not changed by a failure. */
TKN_API int tkn_tokenizer_count_message(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                                        const tkn_count_options *opts, int64_t *out);
/* Tokens of the whole conversation: the sum of tkn_tokenizer_count_message
 * over its messages, plus reply_priming once (an empty conversation is 0).
 * If per_message is not NULL it receives tkn_conv_count(conv) entries (left
 * unspecified on failure, when *total is not written).
 * TKN_ERR_INVALID for a NULL argument or negative overheads, TKN_ERR_VERSION for unknown options,
 * TKN_ERR_UTF8 / TKN_ERR_SPECIAL_TOKEN / TKN_ERR_LIMIT from counting a field (offset in that
 * field's text, path $.messages[i].field), TKN_ERR_CALLBACK when a callback tokenizer fails,
 * TKN_ERR_OVERFLOW, TKN_ERR_NOMEM. */
TKN_API int tkn_tokenizer_count_conv(const tkn_tokenizer *tok, tkn_conv *conv,
                                     const tkn_count_options *opts, int64_t *total,
                                     int64_t *per_message);


/* ---- Exact OpenAI encodings: BPE (cl100k_base, o200k_base) ----
 *
 * A byte-pair encoder that reproduces tiktoken exactly: the same
 * pre-tokenisation (a hand-made scanner equivalent to tiktoken's patterns for
 * each encoding), the same merges, the same special tokens.  The rank data
 * of both encodings is embedded in the library by default (build option
 * `embed_ranks`); a tiktoken rank file can always be loaded from a path or a
 * memory buffer instead.  Encoding takes time linear in the input, also on
 * one long piece without a split point (no quadratic case); such a piece of
 * n >= 1 KB needs about 13n bytes of scratch memory for the call.
 *
 * Threading: a BPE tokenizer's tables are immutable once made (the first
 * piece of 1 KB or more builds a 2 MB lookup filter that is published once,
 * atomically); every call below may run from any number of threads on one
 * tokenizer at once, without locks.  The one state kept between calls is the
 * piece cache (see TKN_PIECE_CACHE_DEFAULT_KB): lock-free, and it changes
 * only how fast an id is found, never which; otherwise the calls write only
 * to what the caller passes.
 *
 * Limits: one input text is at most 4 GiB - 1 bytes (TKN_ERR_LIMIT beyond);
 * texts must be valid UTF-8 (TKN_ERR_UTF8 otherwise, as tiktoken takes
 * strings); a rank file has at most 2^31 tokens of at most 65535 bytes each.
 *
 * Errors: every failure leaves a one-line message in tkn_error_last(), naming
 * what and where (with the byte offset in `offset` where there is one). */

/* What to do with text that spells a special token such as <|endoftext|>. */
#define TKN_SPECIAL_REFUSE 0u /* TKN_ERR_SPECIAL_TOKEN, its byte offset in tkn_error_last()
                                 (tiktoken's encode() default; tkn_encode's default) */
#define TKN_SPECIAL_ALLOW 1u  /* encode it as the special token's id */
#define TKN_SPECIAL_PLAIN 2u  /* encode it as ordinary text (tiktoken's encode_ordinary):
                                 what providers do with user text, so the default of
                                 tkn_tokenizer_count() and conversation counting */

#define TKN_ENCODE_OPTIONS_VERSION 1
typedef struct tkn_encode_options {
  uint32_t version; /* TKN_ENCODE_OPTIONS_VERSION */
  uint32_t special; /* TKN_SPECIAL_*; other values: TKN_ERR_INVALID */
} tkn_encode_options;
#define TKN_ENCODE_OPTIONS_INIT { TKN_ENCODE_OPTIONS_VERSION, TKN_SPECIAL_REFUSE }
/* Fill *opts with the defaults of `version`; TKN_ERR_VERSION if unknown.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_encode_options_init(tkn_encode_options *opts, uint32_t version);

/* The encoding a model uses, as a static string ("o200k_base" for the gpt-4o,
 * gpt-4.1, gpt-4.5, gpt-5, o1, o3 and o4 families; "cl100k_base" for gpt-4,
 * gpt-3.5-turbo and the text-embedding-3 / ada-002 models; dated and "ft:"
 * names included), or NULL when the model is not known.  Thread-safe. */
TKN_API const char *tkn_tokenizer_encoding_for_model(const char *model, size_t len);

/* Make the tokenizer of a named encoding ("cl100k_base" or "o200k_base") from
 * the embedded data.  TKN_ERR_NOT_FOUND for another name, TKN_ERR_UNAVAILABLE
 * when the library was built without embedded ranks (load a file instead).
 * tkn_tokenizer_count() on it counts text that spells a special token
 * ("<|endoftext|>" in a chat message) as ordinary text, as the providers do
 * with user text; tkn_tokenizer_load_ranks() chooses another mode.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_new_encoding(tkn_tokenizer **out, const char *name, size_t name_len);
/* Same, by model name (see tkn_tokenizer_encoding_for_model); TKN_ERR_NOT_FOUND
 * for an unknown model.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_new_for_model(tkn_tokenizer **out, const char *model, size_t len);

/* Which pattern and special tokens go with loaded ranks. */
#define TKN_BPE_CL100K 1u /* cl100k_base's pattern and special tokens */
#define TKN_BPE_O200K 2u  /* o200k_base's pattern and special tokens */

/* The piece cache: pieces that needed merging (words that are not tokens)
 * and their ids, kept for the next time they come (natural text repeats its
 * words).  Only pieces of at most 24 bytes that merge to at most 8 ids are
 * kept, in a direct-mapped table of 64-byte slots; a hit is checked against
 * the piece's bytes, so the ids are always those of merging.  The table is
 * allocated on the first piece that needs merging (a tokenizer that never
 * merges never has one), is shared by the threads using the tokenizer without
 * locks (each slot is a sequence lock), and is freed with the tokenizer.
 * Its size is fixed when the tokenizer is made: TKN_PIECE_CACHE_DEFAULT_KB
 * (2 MB) for tkn_tokenizer_new_encoding() and tkn_tokenizer_new_for_model();
 * tkn_ranks_options.piece_cache_kb for tkn_tokenizer_load_ranks() (which
 * also makes the embedded encodings: set flavor and neither path nor data). */
#define TKN_PIECE_CACHE_DEFAULT_KB 2048u

#define TKN_RANKS_OPTIONS_VERSION 2
typedef struct tkn_ranks_options {
  uint32_t version;       /* TKN_RANKS_OPTIONS_VERSION (1: without piece_cache_kb) */
  uint32_t flavor;        /* TKN_BPE_CL100K or TKN_BPE_O200K (required) */
  const char *path;       /* a tiktoken rank file (NUL-terminated path); or */
  const char *data;       /* its contents in memory (copied as needed), */
  size_t len;             /*   of len bytes.  Neither: the embedded ranks. */
  uint32_t special;       /* TKN_SPECIAL_* used by tkn_tokenizer_count() (default PLAIN) */
  /* version 2: */
  uint32_t piece_cache_kb; /* the piece cache's size in KB, rounded down to a power of
                              two, at most 1048576 (1 GB); 0: no cache (default
                              TKN_PIECE_CACHE_DEFAULT_KB) */
} tkn_ranks_options;
#define TKN_RANKS_OPTIONS_INIT                                                   \
  { TKN_RANKS_OPTIONS_VERSION, 0, NULL, NULL, 0, TKN_SPECIAL_PLAIN, TKN_PIECE_CACHE_DEFAULT_KB }
/* Fill *opts with the defaults of `version` (1 or 2). TKN_ERR_INVALID for NULL, TKN_ERR_VERSION
 * for an unknown version. */
TKN_API int tkn_ranks_options_init(tkn_ranks_options *opts, uint32_t version);

/* Make a BPE tokenizer from tiktoken ranks: each line is a token's bytes in
 * base64, one space, its rank (ranks 0..n-1, each once; empty lines are
 * skipped).  Errors: TKN_ERR_IO (file cannot be read), TKN_ERR_PARSE (bad
 * line: the message names line and column), TKN_ERR_DUPLICATE (a token or a
 * rank twice), TKN_ERR_SCHEMA (a single byte has no rank, or ranks have a
 * gap), TKN_ERR_LIMIT, TKN_ERR_NOMEM, TKN_ERR_UNAVAILABLE (embedded ranks
 * asked for but not built in).  TKN_ERR_INVALID for a NULL argument, a
 * piece_cache_kb over 1048576.  TKN_ERR_VERSION for a version other than 1 or 2. */
TKN_API int tkn_tokenizer_load_ranks(tkn_tokenizer **out, const tkn_ranks_options *opts);

/* The most ids a text of len bytes encodes to: every id covers at least one
 * byte of the text (a special token, at least 13), so an array of
 * TKN_ENCODE_IDS_BOUND(len) ids always holds the result (allocate once; the
 * bound is reached, e.g. by a string of CJK characters made of rare bytes). */
#define TKN_ENCODE_IDS_BOUND(len) ((size_t)(len))

/* Encode text into token ids.  opts may be NULL (defaults: refuse special
 * tokens).  *n receives the number of ids.  When they do not fit in cap the
 * call returns TKN_ERR_TOO_SMALL (ids' contents are then unspecified): with
 * cap > 0 it stops at the first id that does not fit and *n is a size that is
 * enough (> cap; the ids so far plus the bytes not yet encoded, at most
 * TKN_ENCODE_IDS_BOUND(len)); with cap 0 (ids may then be NULL: a sizing call)
 * it encodes the whole text and *n is the exact number of ids.
 * TKN_ERR_UNSUPPORTED on a tokenizer that is not a BPE encoding.
 * TKN_ERR_INVALID for a NULL argument, TKN_ERR_VERSION for unknown options,
 * TKN_ERR_UTF8 for invalid UTF-8 (its byte offset), TKN_ERR_SPECIAL_TOKEN for
 * special-token text the options refuse (its byte offset), TKN_ERR_LIMIT for a
 * text of 4 GiB or more. */
TKN_API int tkn_tokenizer_encode(const tkn_tokenizer *tok, const char *text, size_t len,
                                 const tkn_encode_options *opts, uint32_t *ids, size_t cap,
                                 size_t *n);
/* Same, into an array the library allocates (*ids, free with tkn_free; NULL
 * when *n is 0), in one pass over the text (the array grows as needed).
 * Errors as tkn_tokenizer_encode, TKN_ERR_UNSUPPORTED for a tokenizer that cannot encode (a
 * callback or the estimator), TKN_ERR_NOMEM.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_encode_alloc(const tkn_tokenizer *tok, const char *text, size_t len,
                                       const tkn_encode_options *opts, uint32_t **ids,
                                       size_t *n);
/* Count tokens but stop as soon as the count passes `limit` (>= 0): *out is
 * the exact count when it is <= limit, else exactly limit + 1.  The work done
 * is proportional to the text covered before stopping.  Works on every kind
 * of tokenizer (others count the whole text, then clamp).
 * TKN_ERR_INVALID for a NULL argument or a negative (or INT64_MAX) limit,
 * TKN_ERR_VERSION for unknown options, TKN_ERR_UTF8 / TKN_ERR_SPECIAL_TOKEN /
 * TKN_ERR_LIMIT as tkn_tokenizer_encode, and a callback tokenizer's failure
 * (TKN_ERR_CALLBACK). */
TKN_API int tkn_tokenizer_count_limit(const tkn_tokenizer *tok, const char *text, size_t len,
                                      int64_t limit, const tkn_encode_options *opts,
                                      int64_t *out);
/* Decode ids to bytes (special ids to their text): *out (free with tkn_free,
 * NUL-terminated for convenience) of *len bytes.  The bytes may split a UTF-8
 * sequence when the ids do.  TKN_ERR_NOT_FOUND for an unknown id.
 * TKN_ERR_UNSUPPORTED on a tokenizer that is not a BPE encoding.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_decode(const tkn_tokenizer *tok, const uint32_t *ids, size_t n,
                                 char **out, size_t *len);
/* The built-in estimator calibrated for one encoding ("cl100k_base" or
 * "o200k_base"; tkn_tokenizer_new_estimator() is the o200k_base one): the
 * same walk, with the per-script rates measured against that encoding, for a
 * host that knows its model but wants no rank data.  TKN_ERR_NOT_FOUND for
 * another name.  Thread-safe, like every estimator.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_tokenizer_new_estimator_for(tkn_tokenizer **out, const char *encoding,
                                            size_t len);

/* Number of ids (ranks + special tokens span: the largest id + 1), or 0 for a
 * tokenizer that is not a BPE encoding. */
TKN_API uint32_t tkn_tokenizer_vocab_size(const tkn_tokenizer *tok);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_TOKENIZER_H */
