/* tokenomy: the tool-result cache.
 *
 * Agents re-run tools "just in case": the same search, the same file read, the
 * same lookup with the same arguments.  This cache remembers a tool's result
 * under a key made of the tool's name and its arguments as canonical JSON
 * (object keys sorted, numbers and whitespace normalised: {"b":1, "a":2.0}
 * and {"a":2,"b":1} are the same key), plus the scope the result belongs to.
 * The key is hashed with XXH64 and compared in full on a hit, so a hash
 * collision can never return another call's result.
 *
 * Nothing is cached unless the host says so: each tool must be registered
 * cacheable with tkn_toolcache_set_policy(); unknown tools and tools
 * registered as not cacheable (anything with side effects: sending mail,
 * writing files, charging cards) are never stored and never served.
 *
 * A policy gives the time to live and the scope of a tool's results:
 *  - TKN_TOOLCACHE_SCOPE_RUN:       shared within one agent run (scope id = run id);
 *  - TKN_TOOLCACHE_SCOPE_SESSION:   shared within one session (scope id = session id);
 *  - TKN_TOOLCACHE_SCOPE_NAMESPACE: shared within a namespace (scope id = tenant, project, ...);
 *  - TKN_TOOLCACHE_SCOPE_GLOBAL:    shared by everyone (the scope id is ignored).
 * The scope kind and id are part of the key: the same call in two sessions
 * gives two entries.
 *
 * The cache is bounded by bytes (keys + values + a fixed per-entry overhead)
 * and evicts the least recently used entries first.  Time comes from a host
 * clock callback (milliseconds), so tests and simulations control it.
 *
 * Threading: a tkn_toolcache is internally synchronised (a mutex per shard,
 * see options.shards, and a read-write lock over the policies; arguments are
 * parsed, canonicalised and hashed, and tokens counted, outside them): any
 * number of threads may call any function on one cache at once, except
 * tkn_toolcache_free(), which must run alone.  The clock callback and the
 * tokenizer are called from the calling threads, outside the lock.
 *
 * Errors: the detail of a failed call is in tkn_error_last() of the thread
 * that made it (thread-local, so threads sharing a cache never see each
 * other's failures).
 *
 * Limits: tool names and scope ids at most 1024 bytes of UTF-8 (ids may be
 * empty only for global scope); arguments at most opts.max_args_bytes of JSON
 * (default 1 MiB) nested at most 64 deep; one entry at most opts.max_bytes.
 */
#ifndef TOKENOMY_TOOLCACHE_H
#define TOKENOMY_TOOLCACHE_H

#include "common.h"
#include "tokenizer.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tkn_toolcache tkn_toolcache;

/* Scope kinds (values pinned). */
#define TKN_TOOLCACHE_SCOPE_RUN 0
#define TKN_TOOLCACHE_SCOPE_SESSION 1
#define TKN_TOOLCACHE_SCOPE_NAMESPACE 2
#define TKN_TOOLCACHE_SCOPE_GLOBAL 3

/* Bytes charged per entry on top of its key and value (bookkeeping). */
#define TKN_TOOLCACHE_ENTRY_OVERHEAD 96
#define TKN_TOOLCACHE_MAX_NAME 1024
#define TKN_TOOLCACHE_MAX_SHARDS 256

#define TKN_TOOLCACHE_OPTIONS_VERSION 1
typedef struct tkn_toolcache_options {
  uint32_t version;          /* TKN_TOOLCACHE_OPTIONS_VERSION */
  /* Independently locked shards (0 or 1: one, the default).  Each holds
   * max_bytes / shards and evicts its own least recently used entries, so
   * the LRU order is exact only with one shard; more shards let more threads
   * hit the cache at once.  At most TKN_TOOLCACHE_MAX_SHARDS. */
  uint32_t shards;
  uint64_t max_bytes;        /* capacity in bytes; default 64 MiB; must be >= shards */
  uint64_t max_args_bytes;   /* longest arguments JSON accepted; default 1 MiB */
  /* Current time in milliseconds (any epoch, never going backwards).  NULL:
   * the system's monotonic clock.  Must be safe to call from any thread. */
  int64_t (*clock)(void *user);
  void *clock_user;
  /* Optional: counts the tokens of a value put with tokens = -1 (see put).
   * Borrowed: it must outlive the cache. */
  const tkn_tokenizer *tokenizer;
} tkn_toolcache_options;
#define TKN_TOOLCACHE_OPTIONS_INIT \
  { TKN_TOOLCACHE_OPTIONS_VERSION, 0, (uint64_t)64 << 20, (uint64_t)1 << 20, NULL, NULL, NULL }

/* Fill *opts with the defaults of `version` (TKN_ERR_VERSION if unknown,
 * TKN_ERR_INVALID if opts is NULL). */
TKN_API int tkn_toolcache_options_init(tkn_toolcache_options *opts, uint32_t version);

/* Make an empty cache with no policies.  opts may be NULL for the defaults.
 * TKN_ERR_INVALID (out NULL, max_bytes or max_args_bytes 0, more than
 * TKN_TOOLCACHE_MAX_SHARDS shards, max_bytes < shards), TKN_ERR_VERSION,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_toolcache_new(tkn_toolcache **out, const tkn_toolcache_options *opts);

/* Free the cache and every entry.  NULL is a no-op.  Not concurrent with any
 * other call on the same cache. */
TKN_API void tkn_toolcache_free(tkn_toolcache *cache);

/* Register (or change) the policy of one tool.
 *   cacheable: 1 to cache its results; 0 for a tool that must never be cached
 *              (side effects).  Setting 0 drops its cached entries.
 *   ttl_ms:    how long a result stays fresh, in milliseconds; 0 = no expiry
 *              (until evicted or invalidated); negative is TKN_ERR_INVALID.
 *   scope:     TKN_TOOLCACHE_SCOPE_*.
 * Entries already cached keep the expiry and scope they were put with.
 * TKN_ERR_INVALID (bad scope, NULL name, name empty or too long),
 * TKN_ERR_UTF8, TKN_ERR_NOMEM. */
TKN_API int tkn_toolcache_set_policy(tkn_toolcache *cache, const char *tool, size_t tool_len,
                                     int32_t cacheable, int64_t ttl_ms, int32_t scope);

/* 1 if the tool is registered cacheable, 0 otherwise (unknown, not
 * cacheable, or bad arguments). */
TKN_API int tkn_toolcache_is_cacheable(const tkn_toolcache *cache, const char *tool,
                                       size_t tool_len);

/* Look up the result of tool(args) in the scope `scope_id` (ignored for
 * global tools).  On a hit: TKN_OK, *value receives a NUL-terminated copy of
 * the value (free it with tkn_free) and *value_len its length (without the
 * NUL); the entry becomes the most recently used.  TKN_ERR_NOT_FOUND on a
 * miss, on an expired entry (dropped and counted as an expiration), and for a
 * tool that is not cacheable (counted as bypassed, not as a miss).
 * TKN_ERR_PARSE / TKN_ERR_UTF8 / TKN_ERR_LIMIT for bad arguments JSON,
 * TKN_ERR_INVALID for NULL pointers or an empty scope id on a non-global tool,
 * TKN_ERR_NOMEM. */
TKN_API int tkn_toolcache_get(tkn_toolcache *cache, const char *tool, size_t tool_len,
                              const char *args, size_t args_len, const char *scope_id,
                              size_t scope_id_len, char **value, size_t *value_len);

/* Store the result of tool(args) in the scope `scope_id`, replacing any entry
 * with the same key, and evict least recently used entries until the cache
 * fits.  `value` is any bytes (usually the tool's text output).  `tokens` is
 * what one hit saves in tokens: >= 0 as given by the host, or -1 to count the
 * value with the options' tokenizer (TKN_ERR_INVALID if there is none).
 * TKN_ERR_STATE if the tool is not registered cacheable (nothing is stored);
 * TKN_ERR_LIMIT if the entry alone is larger than max_bytes (max_bytes /
 * shards with several shards); the argument
 * errors of tkn_toolcache_get(); TKN_ERR_CALLBACK / TKN_ERR_UTF8 from the
 * tokenizer; TKN_ERR_NOMEM.  A failed put leaves the cache as it was. */
TKN_API int tkn_toolcache_put(tkn_toolcache *cache, const char *tool, size_t tool_len,
                              const char *args, size_t args_len, const char *scope_id,
                              size_t scope_id_len, const char *value, size_t value_len,
                              int64_t tokens);

/* Drop every entry of one tool; *removed (may be NULL) gets how many.
 * TKN_ERR_INVALID for a NULL cache or an empty or over-long tool name, TKN_ERR_UTF8 for invalid
 * UTF-8; with a store attached, the store's failure (TKN_ERR_IO, TKN_ERR_UNAVAILABLE,
 * TKN_ERR_AUTH, ...). */
TKN_API int tkn_toolcache_invalidate_tool(tkn_toolcache *cache, const char *tool,
                                          size_t tool_len, uint64_t *removed);

/* Drop every entry of one scope (e.g. when a run or a session ends).  For
 * TKN_TOOLCACHE_SCOPE_GLOBAL the id is ignored and every global entry goes.
 * TKN_ERR_INVALID for a NULL cache, an unknown scope kind or a bad scope id, TKN_ERR_UTF8 for
 * invalid UTF-8; with a store attached, the store's failure (TKN_ERR_IO, TKN_ERR_UNAVAILABLE,
 * TKN_ERR_AUTH, ...). */
TKN_API int tkn_toolcache_invalidate_scope(tkn_toolcache *cache, int32_t scope,
                                           const char *scope_id, size_t scope_id_len,
                                           uint64_t *removed);

/* Drop every expired entry now (they are otherwise dropped when looked up or
 * evicted); *removed (may be NULL) gets how many.
 * TKN_ERR_INVALID for a NULL cache. */
TKN_API int tkn_toolcache_purge_expired(tkn_toolcache *cache, uint64_t *removed);

/* Drop every entry (policies and statistics stay).
 * TKN_ERR_INVALID for a NULL cache; with a store attached, the store's failure (TKN_ERR_IO,
 * TKN_ERR_UNAVAILABLE, TKN_ERR_AUTH, ...). */
TKN_API int tkn_toolcache_clear(tkn_toolcache *cache);

/* Counters since the cache was made, and its current size.  The caller sets
 * stats->version (TKN_TOOLCACHE_STATS_INIT does); fields of that version are
 * filled.  TKN_ERR_VERSION for an unknown version. */
#define TKN_TOOLCACHE_STATS_VERSION 1
typedef struct tkn_toolcache_stats {
  uint32_t version;      /* TKN_TOOLCACHE_STATS_VERSION */
  uint32_t reserved;
  uint64_t hits;         /* gets answered from the cache */
  uint64_t misses;       /* gets of a cacheable tool not answered (expired ones included) */
  uint64_t bypassed;     /* gets of a tool that is not cacheable */
  uint64_t puts;         /* entries stored (replacements included) */
  uint64_t evictions;    /* entries dropped to make room */
  uint64_t expirations;  /* entries dropped because their TTL passed */
  uint64_t invalidations;/* entries dropped by invalidate / clear / policy change */
  uint64_t entries;      /* entries now */
  uint64_t bytes;        /* bytes now (as charged against max_bytes) */
  uint64_t bytes_saved;  /* sum of the value bytes of every hit */
  uint64_t tokens_saved; /* sum of the tokens of every hit */
} tkn_toolcache_stats;
#define TKN_TOOLCACHE_STATS_INIT { TKN_TOOLCACHE_STATS_VERSION, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 }
/* TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_toolcache_stats_get(const tkn_toolcache *cache, tkn_toolcache_stats *stats);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_TOOLCACHE_H */
