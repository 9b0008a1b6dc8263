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

/* The built-in estimator: one pass over the UTF-8 text, no data file.  Words
 * cost their letters at their script's rate (Latin ~4 letters a token,
 * rounded, at least 1; CJK ideographs, kana and hangul about one a
 * character), digits go in groups of 3, each punctuation or symbol character
 * is about one token, a space before a word is part of it.  Pure ASCII is
 * counted 64 bytes at a time.  Invalid UTF-8 is TKN_ERR_UTF8. */
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
/* Fill *cb with TKN_TOKENIZER_CALLBACKS_INIT; TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_tokenizer_callbacks_init(tkn_tokenizer_callbacks *cb, uint32_t version);
TKN_API int tkn_tokenizer_new_callback(tkn_tokenizer **out, const tkn_tokenizer_callbacks *cb,
                                       void *user);

/* NULL is a no-op. */
TKN_API void tkn_tokenizer_free(tkn_tokenizer *tok);
/* A static name: "estimator", "callback", "cl100k_base", ... */
TKN_API const char *tkn_tokenizer_name(const tkn_tokenizer *tok);

/* Count the tokens of a UTF-8 string.  TKN_ERR_UTF8 for invalid UTF-8 (the
 * estimator; exact encodings count bytes as the provider does). */
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
/* Fill *opts with TKN_COUNT_OPTIONS_INIT; TKN_ERR_VERSION for an unknown version. */
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
 * the cache.  Failures (TKN_ERR_UTF8, TKN_ERR_CALLBACK, ...) put a one-line
 * text naming the message and field in tkn_conv_errmsg(conv). */
TKN_API int tkn_tokenizer_count_message(const tkn_tokenizer *tok, tkn_conv *conv, size_t i,
                                        const tkn_count_options *opts, int64_t *out);
/* Tokens of the whole conversation: the sum of tkn_tokenizer_count_message
 * over its messages, plus reply_priming once (an empty conversation is 0).
 * If per_message is not NULL it receives tkn_conv_count(conv) entries (left
 * unspecified on failure, when *total is not written). */
TKN_API int tkn_tokenizer_count_conv(const tkn_tokenizer *tok, tkn_conv *conv,
                                     const tkn_count_options *opts, int64_t *total,
                                     int64_t *per_message);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_TOKENIZER_H */
