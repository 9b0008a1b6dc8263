/* tokenomy: common ground shared by every part.
 *
 * Version macros and their run-time twins, status codes, the process-wide
 * allocator hook and tkn_free().  Every other public header includes this one.
 *
 * ABI rules (see README "Stability"): status codes are appended, never
 * renumbered; options structs start with `uint32_t version` and only grow at
 * the end; nothing crossing the ABI is a bool, an enum or a FILE*.
 *
 * Threading: everything here is safe from any thread, except
 * tkn_set_allocator(), which must be called before any other tkn_ function.
 */
#ifndef TOKENOMY_COMMON_H
#define TOKENOMY_COMMON_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* TKN_API marks every exported declaration; everything else is hidden. */
#if defined(_WIN32)
#  if defined(TKN_BUILDING_LIBRARY)
#    define TKN_API __declspec(dllexport)
#  else
#    define TKN_API
#  endif
#elif defined(__GNUC__) && __GNUC__ >= 4
#  define TKN_API __attribute__((visibility("default")))
#else
#  define TKN_API
#endif

/* ---- Versions ---------------------------------------------------------- */

#define TKN_VERSION_MAJOR 0
#define TKN_VERSION_MINOR 2
#define TKN_VERSION_PATCH 0
/* MAJOR*10000 + MINOR*100 + PATCH: compare numerically. */
#define TKN_VERSION_NUMBER \
  (TKN_VERSION_MAJOR * 10000 + TKN_VERSION_MINOR * 100 + TKN_VERSION_PATCH)
#define TKN_VERSION_STRING "0.2.0"

/* The version of the library actually loaded, which may differ from the
 * header a program was compiled against. */
TKN_API unsigned tkn_version_number(void);
TKN_API const char *tkn_version_string(void);

/* ---- Status codes ------------------------------------------------------
 * Every fallible function returns one of these as an int.  Values are pinned:
 * new codes are appended, none is ever renumbered or removed. */
#define TKN_OK 0
#define TKN_ERR_NOMEM 1           /* an allocation failed */
#define TKN_ERR_INVALID 2         /* a bad argument: NULL, out of range, ... */
#define TKN_ERR_PARSE 3           /* malformed input text (JSON, rank file, ...) */
#define TKN_ERR_UTF8 4            /* a string is not valid UTF-8 */
#define TKN_ERR_LIMIT 5           /* an input exceeds a documented limit */
#define TKN_ERR_NOT_FOUND 6       /* a name, id or key is not known */
#define TKN_ERR_BUDGET 7          /* a budget refuses the charge */
#define TKN_ERR_CALLBACK 8        /* a host callback reported failure */
#define TKN_ERR_UNSUPPORTED 9     /* valid input that this version does not handle */
#define TKN_ERR_SCHEMA 10         /* input does not conform to its schema or format */
#define TKN_ERR_STATE 11          /* the call is not allowed in the object's state */
#define TKN_ERR_OVERFLOW 12       /* an integer result would overflow */
#define TKN_ERR_DUPLICATE 13      /* a name, id or key is already present */
#define TKN_ERR_IO 14             /* a host sink or store reported an I/O failure */
#define TKN_ERR_SPECIAL_TOKEN 15  /* special-token text where it is not allowed */
#define TKN_ERR_VERSION 16        /* an options struct of an unknown version */
#define TKN_ERR_TOO_SMALL 17      /* a caller's buffer is too small; size reported */
#define TKN_ERR_UNAVAILABLE 18    /* a shared store or resource cannot be reached */
#define TKN_ERR_CANCELLED 19      /* the host asked to stop */
#define TKN_ERR_AUTH 20           /* a store refused the credentials or the permission */
#define TKN_ERR__COUNT 21         /* one past the last code; grows with new codes */

/* One fault, one code, in every part (ARCHITECTURE.md, "Error model"; the
 * one-code test holds it):
 *   NULL / out of range / a value of another family (a provider outside
 *   TKN_PROVIDER_*, a usage shape where a provider is wanted) -> INVALID;
 *   a valid provider a part does not handle -> UNSUPPORTED;
 *   text that is not JSON -> PARSE; invalid UTF-8 -> UTF8;
 *   JSON of the wrong shape or type -> SCHEMA;
 *   a name that matches nothing (model, encoding, tier, key) -> NOT_FOUND;
 *   an unknown options version -> VERSION; past a documented limit -> LIMIT;
 *   past int64 -> OVERFLOW; refused special-token text -> SPECIAL_TOKEN.
 *
 * Each function's header comment lists the codes it returns ("TKN_ERR_INVALID
 * for ..., TKN_ERR_NOMEM"), or refers to another's list ("Errors as
 * tkn_conv_load"); tests/unit/errors holds every list to the implementation.
 *
 * A static, never-NULL English description of a status code ("unknown status
 * code" for values outside the table).  The details of a particular failure
 * are in tkn_error_last(). */
TKN_API const char *tkn_strerror(int status);

/* ---- The last error (one channel for every function) --------------------
 * Every tkn_ function that returns a status other than TKN_OK first records
 * the failure in a thread-local slot: the same status, a one-line English
 * message, and where known the byte offset in the input and a JSON path
 * ("$.messages[3].content").  This is the only place a failure's details are
 * reported (libgit2's git_error_last model): there are no per-handle error
 * getters and no error-buffer parameters, so a handle shared by threads
 * (a budget, a tool cache, a meter) never mixes up two threads' errors.
 *
 * When it is set: by a failing call only.  A successful call does NOT clear
 * it, so read it right after a call returned non-TKN_OK, on the same thread
 * (Go: lock the OS thread across the call and the read).  Functions that
 * return void, a count or a pointer and cannot fail never touch it.
 * tkn_error_clear() resets it to the "no error" state.
 *
 * Lifetime: the pointer is never NULL and stays valid for the life of the
 * calling thread; its contents (and the strings it points to) are those of
 * the latest failure on that thread and are overwritten by the next failure
 * or by tkn_error_clear().  Copy what you keep.  Recording never allocates,
 * so TKN_ERR_NOMEM is reported like any other failure.
 *
 * With no failure recorded on the thread: status TKN_OK, message "",
 * offset -1, path "". */
typedef struct tkn_error {
  int status;          /* the TKN_ERR_* the failing call returned */
  const char *message; /* one line (no newline), never NULL; "" if none */
  int64_t offset;      /* byte offset into the input the call read; -1 if not known */
  const char *path;    /* JSON path of the offending member; "" if not known */
} tkn_error;

/* This thread's last error (see above).  Never NULL. */
TKN_API const tkn_error *tkn_error_last(void);

/* Reset this thread's last error to status TKN_OK, message "", offset -1,
 * path "". */
TKN_API void tkn_error_clear(void);

/* ---- Providers -----------------------------------------------------------
 * One vocabulary, one integer type (int32_t), for every part that speaks a
 * provider's format: conversations, pruning, prompt rendering, cache
 * planning, batch files, the host's model calls and the agent.  A part that
 * does not handle a provider (Gemini conversations, say) answers
 * TKN_ERR_UNSUPPORTED; any other value is TKN_ERR_INVALID, never read as
 * something else.  (Usage shapes, which are not providers, have values of
 * their own in usage.h that no provider constant equals.) */
#define TKN_PROVIDER_AUTO 0      /* reading only: guess from the input's shape */
#define TKN_PROVIDER_OPENAI 1    /* OpenAI (Chat Completions messages) */
#define TKN_PROVIDER_ANTHROPIC 2 /* Anthropic (Messages) */
#define TKN_PROVIDER_GEMINI 3    /* Google Gemini */

/* ---- Lengths ------------------------------------------------------------
 * Every (const char *text, size_t len) pair the host hands the library takes
 * either the byte length of the text (which need not be NUL-terminated and
 * may hold NUL bytes) or TKN_NUL_TERMINATED, meaning "read up to the first
 * NUL byte" (SQLite's -1 convention): function parameters, the (field,
 * field_len) pairs of options structs (model/model_len, ...) and arrays of
 * lengths (tkn_task_set_strings, tkn_router_builder_add_tier) alike.  A NULL
 * text with TKN_NUL_TERMINATED reads as NULL with length 0.  Pairs the
 * library fills for the host (results, tkn_llm_request) always hold the
 * byte length.
 *
 * Names (models, encodings, tools, tiers, ...): the length IS the name.  The
 * library never reads past it, so ("gpt-4o-mini", 6) is the name "gpt-4o"
 * just as ("gpt-4o", 6) is, and prices and encodes as gpt-4o: pass
 * TKN_NUL_TERMINATED rather than a length counted by hand.  A name is never
 * matched by a prefix (only by the documented rules: dated snapshots and
 * "ft:" fine-tunes in prices.h, model families followed by '-' or ':' in
 * tokenizer.h).  A name that matches nothing is TKN_ERR_NOT_FOUND whose
 * message quotes the name as read with its byte length and, for encodings
 * and priced models, the known name it is the start of ("cl100k_bas" (10
 * bytes) ... the start of "cl100k_base"); tkn_model_price.name says which
 * entry priced a call. */
#define TKN_NUL_TERMINATED ((size_t)-1)

/* ---- Money ---------------------------------------------------------------
 * Every amount of money in every part (prices, costs, the meter, budgets, the
 * agent, the tool cache, the Redis adapter) is an int64_t count of
 * PICODOLLARS: 1 USD = 10^12 units, so one unit is 1e-12 USD.  The range is
 * +-9,223,372.036854775807 USD.  Sums and products are checked: a result
 * that would leave int64 is TKN_ERR_OVERFLOW and changes nothing; nothing
 * wraps and no floating point is used on the way. */
#define TKN_MONEY_UNITS_PER_USD INT64_C(1000000000000)

/* Read a decimal USD amount as picodollars, exactly: "2", "$2", "0.003",
 * "-0.25", "-$0.25", "3e-06" (JSON number grammar, with an optional '$'
 * before or after the minus sign; no spaces, no thousands separators).
 * Nothing is rounded: an amount finer than 1e-12 USD is TKN_ERR_UNSUPPORTED,
 * one beyond the int64 range TKN_ERR_OVERFLOW, other text TKN_ERR_PARSE,
 * a NULL argument TKN_ERR_INVALID; *out is unchanged on failure (the reason
 * in tkn_error_last()).
 * len may be TKN_NUL_TERMINATED. */
TKN_API int tkn_usd_parse(const char *text, size_t len, int64_t *out);

/* Write `picodollars` as exact decimal USD with all 12 fractional digits
 * ("0.003000000000", "-1.500000000000"; nothing is rounded), NUL-terminated,
 * into buf; *written (if not NULL) gets the length without the NUL.
 * TKN_USD_BUFLEN always suffices (INT64_MIN included); a smaller buffer that
 * cannot hold the text is TKN_ERR_TOO_SMALL, a NULL buf TKN_ERR_INVALID.
 * tkn_usd_parse reads the text back to the same value. */
#define TKN_USD_BUFLEN 24
TKN_API int tkn_usd_format(int64_t picodollars, char *buf, size_t buflen, size_t *written);
/* Record a failure in this thread's last error, for code that extends the
 * library and reports through the same channel (the Redis adapter, a host's
 * wrapper): status, message (NULL: tkn_strerror(status); newlines become
 * spaces; truncated to 511 bytes), offset -1, path "".  Returns status. */
TKN_API int tkn_error_set(int status, const char *message);

/* ---- Memory --------------------------------------------------------------
 * One process-wide allocator serves the library: everything it allocates and
 * everything it returns (freed with tkn_free).  Set it once, before any other
 * tkn_ call; it may not change while any object made by the library is alive.
 * Passing NULL restores malloc/realloc/free.
 * cJSON, which the library parses JSON with, is the process's (Debian's
 * libcjson, possibly shared with the host) and keeps its own allocator: the
 * library never calls cJSON_InitHooks, so a host's own cJSON hooks stay as
 * the host set them, and the library's short-lived parse trees are allocated
 * by cJSON's allocator (malloc unless the host set cJSON hooks). */
#define TKN_ALLOCATOR_VERSION 1
typedef struct tkn_allocator {
  uint32_t version; /* TKN_ALLOCATOR_VERSION */
  void *(*malloc_fn)(size_t size, void *user);
  void *(*realloc_fn)(void *ptr, size_t size, void *user);
  void (*free_fn)(void *ptr, void *user);
  void *user;
} tkn_allocator;
#define TKN_ALLOCATOR_INIT { TKN_ALLOCATOR_VERSION, NULL, NULL, NULL, NULL }

/* Fill *alloc with the defaults of `version`; TKN_ERR_VERSION if unknown.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_allocator_init(tkn_allocator *alloc, uint32_t version);

/* Install the allocator (copied).  All three functions must be set.
 * TKN_ERR_INVALID if one is missing, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_set_allocator(const tkn_allocator *alloc);

/* Free memory the library handed out (strings, id arrays, JSON text).
 * NULL is a no-op. */
TKN_API void tkn_free(void *ptr);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_COMMON_H */
