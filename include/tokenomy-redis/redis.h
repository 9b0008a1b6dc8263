/* tokenomy-redis: the tkn_store interface (<tokenomy/store.h>) on Redis.
 *
 * A separate library (libtokenomy-redis, pkg-config tokenomy-redis, built
 * where hiredis is found): libtokenomy itself does no network I/O.  Link it,
 * make a tkn_redis, get its store table with tkn_redis_store and hand that to
 * tkn_budget_new_shared, tkn_toolcache_set_store or tkn_meter_set_store.
 *
 * Reserve, commit, release, usage and add are Lua scripts run atomically by
 * the server (EVALSHA, falling back to EVAL when the server forgot the script,
 * e.g. after a restart), so no interleaving of workers can pass a hard limit.
 * Leases are timed by the server's clock.  A budget key K uses the Redis keys
 * prefix+K+":b" (counters), ":res" (open reservations), ":exp" (their lease
 * ends) and ":done:"+id (ids already committed, expiring after
 * id_ttl_seconds).
 *
 * Connection: made on first use, not by tkn_redis_new (a worker may start
 * while Redis is down).  A command that fails on the connection (refused,
 * reset, timed out, or the server answers LOADING / BUSY while restarting) is
 * retried `retries` times, reconnecting each time, after retry_delay_ms
 * doubling per attempt; then the callback returns TKN_ERR_UNAVAILABLE with
 * the reason.  Every operation that changes state is idempotent by id except
 * add without an id, which is never resent after it may have reached the
 * server (the meter always gives ids).
 *
 * Exactness: Lua numbers are doubles, so amounts, limits and counters are
 * exact up to 2^53 (9e15); a larger amount or limit is refused with
 * TKN_ERR_LIMIT, except INT64_MAX, which means no limit.
 *
 * Redis Cluster: the keys of one budget must share a hash slot; put a hash
 * tag in the budget's key (e.g. "{tenant:acme}:daily").
 *
 * Memory: the adapter allocates with malloc (libtokenomy's allocator hook
 * does not reach it); nothing it returns needs freeing.
 *
 * Threading: a tkn_redis is safe for concurrent use; its one connection is
 * used by one thread at a time (a mutex).  Give each busy thread its own
 * tkn_redis for throughput.  Not usable across fork(): make one per process.
 */
#ifndef TOKENOMY_REDIS_H
#define TOKENOMY_REDIS_H

#include <tokenomy/store.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#  define TKN_REDIS_API __attribute__((visibility("default")))
#else
#  define TKN_REDIS_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tkn_redis tkn_redis;

#define TKN_REDIS_OPTIONS_VERSION 1
typedef struct tkn_redis_options {
  uint32_t version;            /* TKN_REDIS_OPTIONS_VERSION */
  uint32_t port;               /* 1..65535; default 6379 */
  const char *host;            /* host name or address; NULL: "127.0.0.1" */
  size_t host_len;             /* at most 255 */
  const char *prefix;          /* prepended to every key; NULL: "tkn:" */
  size_t prefix_len;           /* at most 256 */
  const char *password;        /* AUTH on connect when not NULL */
  size_t password_len;         /* at most 512 */
  int64_t connect_timeout_ms;  /* > 0; default 1000 */
  int64_t command_timeout_ms;  /* > 0; default 2000 */
  uint32_t retries;            /* resends after a connection failure, <= 100; default 2 */
  uint32_t retry_delay_ms;     /* before the first resend, doubled after; default 20 */
} tkn_redis_options;
#define TKN_REDIS_OPTIONS_INIT \
  { TKN_REDIS_OPTIONS_VERSION, 6379, NULL, 0, NULL, 0, NULL, 0, 1000, 2000, 2, 20 }
/* Fill *opts with the defaults of `version` (TKN_ERR_VERSION if unknown,
 * TKN_ERR_INVALID if opts is NULL). */
TKN_REDIS_API int tkn_redis_options_init(tkn_redis_options *opts, uint32_t version);

/* A client for one Redis server; opts NULL: the defaults.  Does not connect.
 * TKN_ERR_INVALID (bad option, text in errbuf), TKN_ERR_VERSION,
 * TKN_ERR_NOMEM. */
TKN_REDIS_API int tkn_redis_new(tkn_redis **out, const tkn_redis_options *opts, char *errbuf,
                                size_t errlen);
/* Close the connection and free; NULL is a no-op.  Free it after every part
 * using its store. */
TKN_REDIS_API void tkn_redis_free(tkn_redis *redis);

/* Fill *store with the callback table on this client (store->user = redis). */
TKN_REDIS_API int tkn_redis_store(tkn_redis *redis, tkn_store *store);

/* Connect if needed and PING: TKN_OK or TKN_ERR_UNAVAILABLE. */
TKN_REDIS_API int tkn_redis_ping(tkn_redis *redis);

/* Connections made after the first (reconnects after failures). */
TKN_REDIS_API uint64_t tkn_redis_reconnects(const tkn_redis *redis);

/* Copy the text of the last failure (of any thread) into buf; returns its
 * full length.  "" if nothing failed. */
TKN_REDIS_API size_t tkn_redis_errmsg(const tkn_redis *redis, char *buf, size_t buflen);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_REDIS_H */
