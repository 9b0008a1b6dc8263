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
 * Leases are timed by the server's clock.
 *
 * Amounts: every int64 amount and limit is exact (counters are Redis 64-bit
 * integers; the scripts compare sums in two parts, never as one Lua double).
 * A limit of INT64_MAX means no limit.  A commit that would take a committed
 * counter past INT64_MAX fails with TKN_ERR_OVERFLOW, changing nothing;
 * `used` values saturate at INT64_MAX.
 *
 * Key layout (version 1).  Store key K (bytes) becomes the Redis keys
 *   P "|1|" len(K) ":" K S
 * with P the prefix (which may not contain '|'), len(K) in decimal and S one
 * of ":b" (counters), ":res" (open reservations), ":exp" (their lease ends),
 * ":done:"+id (ids committed, expiring after id_ttl_seconds), ":gone:"+id
 * (reservations given up after a lost reply), ":n" and ":added:"+id (add and
 * read), "" (get and set); and P "|1|epoch" (see below).  No two (prefix,
 * key, suffix) triples share a Redis key, and keys of the unversioned layout
 * of 0.1 (P K S) are never read.  For an ACL user, allow the pattern
 * "~P|*" (P the prefix).  Redis Cluster: the keys of one budget must share a
 * hash slot; put a hash tag in the budget's key ("{tenant:acme}:daily") and
 * none in the prefix.
 *
 * Connections: a pool of up to pool_size, made on first use, not by
 * tkn_redis_new (a worker may start while Redis is down).  A thread takes an
 * idle connection or opens a new one, so a stalled call holds one connection
 * and not the others; when all are busy a call waits for one, within its
 * deadline.  Every call has a deadline of call_timeout_ms from its start:
 * waiting for a connection, connecting (each try at most
 * connect_timeout_ms), TLS handshake, sending, resends and reading the reply
 * (each try at most command_timeout_ms) all fit in it; a frozen server makes
 * a call fail with TKN_ERR_UNAVAILABLE after about call_timeout_ms, however
 * many threads wait.  (Host names are resolved with getaddrinfo, which no
 * deadline bounds: give an address where that matters.)  A connection
 * failure (refused, reset, timed out, or the server answers LOADING / BUSY
 * while restarting) is retried up to `retries` times after retry_delay_ms,
 * doubling per attempt, while the deadline allows; then the callback returns
 * TKN_ERR_UNAVAILABLE with the reason.  Every operation that changes state is
 * idempotent by id except add without an id, which is never resent after it
 * may have reached the server (the meter always gives ids).
 *
 * A lost reply: a reserve whose reply was lost (timeout, reset) may hold its
 * amount in the server.  The client remembers it (up to 256) and releases it
 * on the next call that gets a connection, marking the id given up so that a
 * reserve arriving late is not made; so it holds capacity until the store is
 * reachable again, not for the whole lease.  (A process that exits before
 * then leaves it to the lease: lease_ms of tkn_budget_shared_options.)
 *
 * Authentication: password (and user, for an ACL user: AUTH user password)
 * on every connection; the database `db` is SELECTed.  A refused password or
 * user, and a command the ACL denies (NOPERM, NOAUTH), fail with
 * TKN_ERR_AUTH and are not retried: a shared budget's fallback (which only
 * takes TKN_ERR_UNAVAILABLE) never runs on a configuration error.
 *
 * TLS: tls = 1 speaks TLS (1.2 or later, OpenSSL) and verifies the server's
 * certificate against tls_ca_file (default: the system's CAs) and the host
 * name or address (tls_server_name if set); tls_cert_file / tls_key_file give
 * a client certificate (Redis asks for one unless tls-auth-clients is no).
 * Debian 12's hiredis 0.14 has no TLS (no hiredis_ssl), so this library does
 * its own socket I/O and uses hiredis only to format commands and parse
 * replies.  Built without OpenSSL, tls = 1 is TKN_ERR_UNSUPPORTED.
 *
 * Epoch: on every new connection the client reads the key P "|1|epoch" (a
 * random value, set when absent).  A server this client saw before whose
 * epoch is now different or absent lost its state (restarted without
 * persistence, flushed, failed over to a replica without the data): all the
 * spend it counted is gone.  By default (on_state_loss
 * TKN_REDIS_STATE_LOSS_FAIL) every call then fails with TKN_ERR_STATE, saying
 * so, until tkn_redis_accept_state_loss; TKN_REDIS_STATE_LOSS_CONTINUE takes
 * the new epoch and carries on (tkn_redis_state_losses counts both).  Not
 * detected: a loss before this client first connected, or one that keeps
 * the epoch key (e.g. deleting keys one by one); with maxmemory, use the
 * noeviction policy (or a volatile-* one: the epoch key has no TTL).
 *
 * Memory: the adapter allocates with malloc (libtokenomy's allocator hook
 * does not reach it); nothing it returns needs freeing.
 *
 * Threading: a tkn_redis is safe for concurrent use.  Not usable across
 * fork(): make one per process.
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

#define TKN_REDIS_OPTIONS_VERSION 2
typedef struct tkn_redis_options {
  uint32_t version;            /* TKN_REDIS_OPTIONS_VERSION (1 still accepted) */
  uint32_t port;               /* 1..65535; default 6379 */
  const char *host;            /* host name or address; NULL: "127.0.0.1" */
  size_t host_len;             /* at most 255 */
  const char *prefix;          /* starts every key; no '|'; NULL: "tkn:" */
  size_t prefix_len;           /* at most 256 */
  const char *password;        /* AUTH on connect when not NULL */
  size_t password_len;         /* at most 512 */
  int64_t connect_timeout_ms;  /* > 0: one connection attempt; default 1000 */
  int64_t command_timeout_ms;  /* > 0: one command's send and reply; default 2000 */
  uint32_t retries;            /* resends after a connection failure, <= 100; default 2 */
  uint32_t retry_delay_ms;     /* before the first resend, doubled after; default 20 */
  /* version 2 */
  const char *user;            /* ACL user (needs password); NULL: the default user */
  size_t user_len;             /* 1..256 */
  uint32_t db;                 /* database SELECTed on connect; default 0 */
  uint32_t pool_size;          /* connections at most, 1..64; default 4 */
  int64_t call_timeout_ms;     /* > 0: a whole call, resends included; default 3000 */
  uint32_t on_state_loss;      /* TKN_REDIS_STATE_LOSS_*; default FAIL */
  uint32_t tls;                /* 1: TLS; default 0 */
  const char *tls_ca_file;     /* PEM CAs to verify the server; NULL: the system's */
  const char *tls_cert_file;   /* PEM client certificate (chain); NULL: none */
  const char *tls_key_file;    /* PEM key of tls_cert_file */
  const char *tls_server_name; /* name (or address) the certificate must show; NULL: host */
  uint32_t tls_no_verify;      /* 1: do not verify the server (tests only); default 0 */
  uint32_t reserved0;
} tkn_redis_options;
/* on_state_loss: fail every call (TKN_ERR_STATE) until
 * tkn_redis_accept_state_loss, or go on with the new state. */
#define TKN_REDIS_STATE_LOSS_FAIL 0
#define TKN_REDIS_STATE_LOSS_CONTINUE 1
#define TKN_REDIS_OPTIONS_INIT                                                            \
  { TKN_REDIS_OPTIONS_VERSION, 6379, NULL, 0, NULL, 0, NULL, 0, 1000, 2000, 2, 20, NULL, 0, 0, \
    4, 3000, TKN_REDIS_STATE_LOSS_FAIL, 0, NULL, NULL, NULL, NULL, 0, 0 }
/* Fill *opts with the defaults of `version` (TKN_ERR_VERSION if unknown,
 * TKN_ERR_INVALID if opts is NULL). */
TKN_REDIS_API int tkn_redis_options_init(tkn_redis_options *opts, uint32_t version);

/* A client for one Redis server; opts NULL: the defaults.  Does not connect
 * (but reads the TLS files).  TKN_ERR_INVALID (bad option or TLS file),
 * TKN_ERR_UNSUPPORTED (tls without OpenSSL), TKN_ERR_VERSION, TKN_ERR_NOMEM.
 * Like every tokenomy call, failures (here and in the store callbacks) leave
 * their one-line detail in tkn_error_last(). */
TKN_REDIS_API int tkn_redis_new(tkn_redis **out, const tkn_redis_options *opts);
/* Close the connection and free; NULL is a no-op.  Free it after every part
 * using its store. */
TKN_REDIS_API void tkn_redis_free(tkn_redis *redis);

/* Fill *store with the callback table on this client (store->user = redis).
 * TKN_ERR_INVALID for a NULL argument. */
TKN_REDIS_API int tkn_redis_store(tkn_redis *redis, tkn_store *store);

/* Connect if needed and PING: TKN_OK, TKN_ERR_UNAVAILABLE, TKN_ERR_AUTH,
 * TKN_ERR_STATE (the server lost its state, see Epoch above).
 * TKN_ERR_INVALID for a NULL argument. */
TKN_REDIS_API int tkn_redis_ping(tkn_redis *redis);

/* Connections made to replace one that failed. */
TKN_REDIS_API uint64_t tkn_redis_reconnects(const tkn_redis *redis);

/* After the server lost its state (TKN_ERR_STATE from every call): take its
 * new epoch and serve calls again.  An operator's decision: the spend the
 * server counted before is gone.  TKN_OK (also when nothing was lost),
 * TKN_ERR_INVALID for NULL. */
TKN_REDIS_API int tkn_redis_accept_state_loss(tkn_redis *redis);

/* Times this client found the server's state lost (see Epoch above). */
TKN_REDIS_API uint64_t tkn_redis_state_losses(const tkn_redis *redis);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_REDIS_H */
