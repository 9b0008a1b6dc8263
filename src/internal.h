/* tokenomy internals shared by every part: allocation through the host's hook,
 * one-line error texts on handles, a growable byte buffer, JSON parsing with
 * positions and limits, UTF-8 checking and a 64-bit hash.  Nothing here is
 * exported (the library is built with hidden visibility); names are tki_. */
#ifndef TOKENOMY_INTERNAL_H
#define TOKENOMY_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "tokenomy/common.h"

/* ---- allocation (every allocation of the library goes through these) ---- */
void *tki_malloc(size_t size);
void *tki_calloc(size_t n, size_t size); /* overflow-checked, zeroed */
void *tki_realloc(void *ptr, size_t size);
void tki_free(void *ptr);
/* Copy of [s, s+len) with a NUL appended; NULL on failure. */
char *tki_strndup(const char *s, size_t len);
/* Grow *arr (of *cap elements of `elem` bytes) to hold at least `need`.
 * Returns TKN_OK or TKN_ERR_NOMEM / TKN_ERR_OVERFLOW, leaving *arr as it was. */
int tki_grow(void **arr, size_t *cap, size_t need, size_t elem);

/* ---- lengths ----
 * The byte length of a (text, len) pair of the public API: len itself, or
 * strlen(text) when len is TKN_NUL_TERMINATED (a NULL text then reads as
 * length 0, which the caller's NULL checks judge as before).  Every public
 * function normalises each of its pairs with this on entry, and every reader
 * of an options struct normalises each (field, field_len) pair it takes;
 * tests/unit/lengths checks both against the headers. */
static inline size_t tki_len(const char *text, size_t len) {
  return len == TKN_NUL_TERMINATED ? (text ? strlen(text) : 0) : len;
}

/* ---- the thread-local last error (tkn_error_last) ----
 * Every failing path records its failure here before returning the status:
 *   return tki_fail(TKN_ERR_PARSE, "conversation: ...");
 * tki_fail resets the offset and path (unless its text quotes the message
 * recorded before, the same fault with context added); tki_fail_at /
 * tki_fail_where add them.
 * A caller that adds context to a lower layer's failure uses tki_fail_prefix,
 * which keeps that failure's status, offset and path.  Never allocates. */
#define TKI_ERRLEN 512
#define TKI_PATHLEN 256
int tki_fail(int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
int tki_vfail(int status, const char *fmt, va_list ap);
int tki_fail_at(int status, int64_t offset, const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Add a byte offset (ignored if < 0) and/or a JSON path (ignored if NULL or
 * "") to the failure just recorded. */
void tki_fail_where(int64_t offset, const char *path);
/* Prepend printf text to the recorded message; returns the recorded status. */
int tki_fail_prefix(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
/* A required pointer argument is NULL: TKN_ERR_INVALID with "fn: name is
 * NULL", `name` as the header names the parameter (tests/unit/errors,
 * null-args, holds every public function to it). */
int tki_fail_null(const char *fn, const char *name);
int tki_error_status(void);
/* How many failures this thread has recorded: a caller compares it before
 * and after a step to know whether the step recorded one. */
unsigned long tki_error_seq(void);
const char *tki_error_message(void);
/* A JSON Pointer ("/items/0/name") as the JSON path tkn_error.path uses
 * ("$.items[0].name"), truncated to cap bytes. */
void tki_pointer_to_jsonpath(const char *ptr, char *out, size_t cap);

/* Transitional handle-buffer form: records the failure in the channel (as
 * tki_fail) and also copies the message into err when err is not NULL.
 * Returns `status` so that `return tki_fail(TKN_ERR_PARSE, ...)` works. */
int tki_err(char err[TKI_ERRLEN], int status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
int tki_verr(char err[TKI_ERRLEN], int status, const char *fmt, va_list ap);
/* Copy an error text into a caller's buffer (may be NULL / 0). */
void tki_copy_err(char *dst, size_t dstlen, const char *src);

/* ---- versioned structs ---- */
/* The whole body of a public tkn_<x>_init(type *param, uint32_t version):
 * the NULL and version checks (one line each in the error channel), then the
 * defaults of the header's INIT macro.  One definition for every such
 * function, so they cannot drift apart. */
#define TKI_DEFINE_INIT(name, type, param, VERSION, INIT)                                          \
  int name(type *param, uint32_t version) {                                                        \
    if (!param) return tki_fail(TKN_ERR_INVALID, #name ": " #param " is NULL");                    \
    if (version != (VERSION)) return tki_fail(TKN_ERR_VERSION, #name ": unknown version");         \
    type tki_init_ = INIT;                                                                         \
    *param = tki_init_;                                                                            \
    return TKN_OK;                                                                                 \
  }
/* The same for a struct that grew: version 1 gets the defaults of its own
 * fields, those before `v2_first` (the first field version 2 added). */
#define TKI_DEFINE_INIT_V1(name, type, param, VERSION, INIT, v2_first)                             \
  int name(type *param, uint32_t version) {                                                        \
    if (!param) return tki_fail(TKN_ERR_INVALID, #name ": " #param " is NULL");                    \
    if (version != (VERSION) && version != 1)                                                      \
      return tki_fail(TKN_ERR_VERSION, #name ": unknown version");                                 \
    type tki_init_ = INIT;                                                                         \
    if (version == 1) {                                                                            \
      memcpy(param, &tki_init_, offsetof(type, v2_first));                                         \
      param->version = 1;                                                                          \
      return TKN_OK;                                                                               \
    }                                                                                              \
    *param = tki_init_;                                                                            \
    return TKN_OK;                                                                                 \
  }

/* ---- providers ---- */
/* For a part that speaks OpenAI and Anthropic (and, with allow_auto, guesses):
 * TKN_OK, TKN_ERR_UNSUPPORTED for Gemini, TKN_ERR_INVALID for a value outside
 * the TKN_PROVIDER_* family. */
static inline int tki_provider_check(int32_t p, int allow_auto) {
  if (p == TKN_PROVIDER_OPENAI || p == TKN_PROVIDER_ANTHROPIC) return TKN_OK;
  if (p == TKN_PROVIDER_AUTO && allow_auto) return TKN_OK;
  return p == TKN_PROVIDER_GEMINI ? TKN_ERR_UNSUPPORTED : TKN_ERR_INVALID;
}
static inline const char *tki_provider_why(int32_t p) {
  return p == TKN_PROVIDER_GEMINI ? "Gemini is not supported here"
                                  : "not a TKN_PROVIDER_* value";
}

/* ---- exact decimals ---- */
/* Convert the decimal number text [s, s+len) (JSON number grammar: optional
 * '-', digits, optional fraction, optional exponent) to value x 10^scale as
 * an exact int64.  TKN_ERR_PARSE for text that is not such a number,
 * TKN_ERR_UNSUPPORTED if the scaled value is not an integer, TKN_ERR_OVERFLOW
 * if it leaves int64.  Never goes through a double (src/core/decimal.c). */
int tki_decimal_scaled(const char *s, size_t len, int scale, int64_t *out);

/* ---- growable byte buffer; always NUL-terminated when data != NULL ---- */
typedef struct tki_buf {
  char *data;
  size_t len;
  size_t cap;
  int failed; /* sticky: an append failed (out of memory or overflow) */
} tki_buf;
void tki_buf_init(tki_buf *b);
void tki_buf_free(tki_buf *b);
int tki_buf_reserve(tki_buf *b, size_t extra);
int tki_buf_append(tki_buf *b, const void *data, size_t len);
int tki_buf_puts(tki_buf *b, const char *s);
int tki_buf_putc(tki_buf *b, char c);
int tki_buf_printf(tki_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append `s` as a JSON string literal (quotes and escapes included). */
int tki_buf_json_string(tki_buf *b, const char *s, size_t len);
/* Hand the bytes over (caller frees with tki_free / tkn_free); b is reset.
 * Returns NULL if any append failed (b is freed then). */
char *tki_buf_steal(tki_buf *b, size_t *len);
/* The epilogue of a function that hands a text it built to the caller: the
 * bytes into *out (tkn_free) and their length into *out_len (may be NULL).
 * When any append failed: *out = NULL and TKN_ERR_NOMEM, recorded as
 * "<what>: out of memory". */
int tki_buf_give(tki_buf *b, char **out, size_t *out_len, const char *what);

/* ---- JSON ---- */
/* cJSON keeps its own allocator (the process's cJSON hooks, which belong to
 * the host: the library never sets them).  So memory never crosses between
 * the two: a cJSON tree is freed with cJSON_Delete, cJSON's strings with
 * cJSON_free, and a string put into a cJSON node is made with cJSON_malloc. */
/* Parse `len` bytes of JSON into *out after checking: size <= max_len, no NUL
 * byte, valid UTF-8, nesting <= max_depth.  On failure writes a one-line
 * message into err naming line, column and byte offset, and returns
 * TKN_ERR_PARSE, TKN_ERR_UTF8, TKN_ERR_LIMIT or TKN_ERR_NOMEM. `what` names
 * the input in messages ("conversation", "router config", ...). */
int tki_json_parse(const char *json, size_t len, size_t max_len, int max_depth,
                   const char *what, cJSON **out, char err[TKI_ERRLEN]);
/* What tki_json_parse keeps that cJSON alone would lose: a number whose value
 * a double may not hold exactly (a fraction, an exponent, or more than 15
 * digits) keeps its text in the node's valuestring; an escaped NUL in a
 * string or key reads as the bytes C0 80 (never in valid UTF-8), which
 * tki_buf_json_string writes back as \u0000. This turns C0 80 back into NUL
 * bytes in place and returns the new length (for text handed to callers). */
size_t tki_json_unmask_nuls(char *s, size_t len);
/* Canonical JSON of a parsed value: object keys sorted by their bytes
 * (duplicate keys: the last wins, as in most parsers), no whitespace, strings
 * with minimal escapes, numbers normalised exactly in decimal (1.0, 1e0 and 1
 * are one value, 1234567890123456789 and 1234567890123456800 two: an integer
 * with fewer than 22 trailing zeros is written out, "-0" as 0, a fraction
 * as digits with a point when its point is within 6 places of the digits,
 * others as d.ddde+N). A number node without kept text is read from its
 * double. Identical values always give identical bytes; O(n log n). */
int tki_json_canonical(const cJSON *value, tki_buf *out);
/* Same, from text (parsed with tki_json_parse and the given limits). */
int tki_json_canonicalize(const char *json, size_t len, size_t max_len, int max_depth,
                          const char *what, tki_buf *out, char err[TKI_ERRLEN]);
/* 1-based line and column of byte `offset` in text. */
void tki_line_col(const char *text, size_t len, size_t offset, size_t *line, size_t *col);

/* ---- UTF-8 ---- */
/* Length of the valid UTF-8 sequence at s[i] (a byte >= 0x80), or 0: no
 * overlongs, no surrogates, nothing above U+10FFFF, not truncated.  The one
 * decoder's rule: tki_utf8_valid and the batch reader's JSON scan use it. */
static inline size_t tki_utf8_seq(const unsigned char *s, size_t len, size_t i) {
  unsigned char c = s[i], lo = 0x80, hi = 0xBF;
  size_t n;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 2;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (len - i <= n || s[i + 1] < lo || s[i + 1] > hi) return 0;
  for (size_t k = 2; k <= n; k++)
    if ((s[i + k] & 0xC0) != 0x80) return 0;
  return n + 1;
}
/* 1 if [s, s+len) is valid UTF-8 (no surrogates, no overlongs), else 0 and
 * *bad_offset (if not NULL) is the byte offset of the first invalid sequence. */
int tki_utf8_valid(const char *s, size_t len, size_t *bad_offset);

/* ---- hashing ---- */
/* XXH64 (xxHash, 64-bit variant) of the bytes with the given seed: the
 * documented, stable hash behind fingerprints and cache keys. */
uint64_t tki_hash64(const void *data, size_t len, uint64_t seed);

/* ---- checked integer arithmetic ---- */
static inline int tki_add_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_add_overflow(a, b, out) ? TKN_ERR_OVERFLOW : TKN_OK;
}
static inline int tki_mul_i64(int64_t a, int64_t b, int64_t *out) {
  return __builtin_mul_overflow(a, b, out) ? TKN_ERR_OVERFLOW : TKN_OK;
}

#endif /* TOKENOMY_INTERNAL_H */
