/* tokenomy: a shared store, so budgets, the tool cache and the meter can be
 * shared by a fleet of worker processes.
 *
 * The library does no network I/O.  The host supplies a tkn_store: a table of
 * callbacks over some shared key-value service (the repository ships one for
 * Redis: libtokenomy-redis, <tokenomy-redis/redis.h>).  Budgets, the tool
 * cache and the meter accept a store; without one they stay in-process.
 *
 * The operations, all on a key (bytes, at most TKN_STORE_KEY_MAX):
 *  - reserve / commit / release: a vector of n counters (n <= TKN_STORE_MAX_N)
 *    with, per counter, `committed` and `reserved`.  reserve adds amounts to
 *    reserved unless committed + reserved + amount would pass the limit of any
 *    counter (then nothing changes: all or nothing), atomically with respect
 *    to every other worker.  A reservation has an id (chosen by the caller,
 *    unique) and a lease: a reservation neither committed nor released when
 *    its lease ends stops holding its amount (a crashed worker frees its
 *    share).  commit adds the actual amounts to committed and ends the
 *    reservation if still open; a commit of an id that was never reserved, or
 *    whose lease ended, still adds (the money was spent).
 *  - get / set: a value (bytes) with a time to live.
 *  - add: n counters incremented at once.
 *
 * Idempotence (what makes a reconnect safe): reserve, commit and release with
 * an id, and add with an id, must have effect at most once per id: the store
 * remembers committed ids (and add ids) for id_ttl_seconds and answers a
 * repeated commit with TKN_OK and *duplicate = 1, changing nothing.  So a
 * caller that lost the reply may send the same operation again.
 *
 * Failure semantics: every callback returns a status.
 *   TKN_OK                 done;
 *   TKN_ERR_BUDGET         reserve refused (nothing changed; used[] filled);
 *   TKN_ERR_NOT_FOUND      get of an absent or expired key;
 *   TKN_ERR_TOO_SMALL      get: the value is longer than the buffer
 *                          (*value_len receives its length; call again);
 *   TKN_ERR_UNAVAILABLE    the store cannot be reached (connection refused or
 *                          lost, timeout): the operation may or may not have
 *                          happened; an operation with an id may be sent
 *                          again;
 *   TKN_ERR_AUTH           the store refused the credentials or the
 *                          permission: a configuration error, not an
 *                          outage (a shared budget's fallback does not
 *                          take it);
 *   TKN_ERR_STATE          the store lost its state (e.g. restarted without
 *                          persistence) and refuses to go on;
 *   anything else          a store error (the text says what).
 * On failure the callback writes a one-line text into err (errlen bytes,
 * NUL-terminated), which the parts copy into their own error messages.
 *
 * Threading: the parts call the callbacks from the threads that call them,
 * concurrently: the store must be safe for concurrent use.
 */
#ifndef TOKENOMY_STORE_H
#define TOKENOMY_STORE_H

#include "common.h"
#include "budget.h"
#include "meter.h"
#include "toolcache.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Longest key, in bytes. */
#define TKN_STORE_KEY_MAX 1024
/* Most counters in one reserve, commit or add. */
#define TKN_STORE_MAX_N 16
/* Ids are at most this many bytes, NUL excluded (printable ASCII). */
#define TKN_STORE_ID_MAX 63

#define TKN_STORE_VERSION 1
typedef struct tkn_store {
  uint32_t version; /* TKN_STORE_VERSION */
  uint32_t reserved0;
  /* Reserve amounts[0..n) on `key`, refusing if for any i
   * committed[i] + reserved[i] + amounts[i] > limits[i].  A reservation
   * whose id is already open or committed is not made again (TKN_OK).
   * used[0..n) receives committed + reserved after the call (or, refused,
   * the values compared).  lease_ms > 0; ttl_seconds > 0 makes the key
   * expire that long after its last change (0: never). */
  int (*reserve)(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                 const int64_t *amounts, const int64_t *limits, int64_t lease_ms,
                 int64_t ttl_seconds, int64_t *used, char *err, size_t errlen);
  /* Add actual[0..n) to committed and end reservation `id` if open.  At most
   * once per id within id_ttl_seconds (*duplicate = 1 for a repeat, nothing
   * changes).  used as for reserve. */
  int (*commit)(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                const int64_t *actual, int64_t id_ttl_seconds, int64_t ttl_seconds,
                int64_t *used, int32_t *duplicate, char *err, size_t errlen);
  /* End reservation `id` without spending; TKN_OK also if it is not open. */
  int (*release)(void *user, const char *key, size_t key_len, const char *id, char *err,
                 size_t errlen);
  /* committed[0..n) and reserved[0..n) now (0 for an absent key), after
   * dropping reservations whose lease ended. */
  int (*usage)(void *user, const char *key, size_t key_len, uint32_t n, int64_t *committed,
               int64_t *reserved, char *err, size_t errlen);
  /* Copy the value of `key` into buf (cap bytes); *value_len its length. */
  int (*get)(void *user, const char *key, size_t key_len, char *buf, size_t cap,
             size_t *value_len, char *err, size_t errlen);
  /* Set `key` to value, expiring after ttl_ms (0: never). */
  int (*set)(void *user, const char *key, size_t key_len, const char *value, size_t value_len,
             int64_t ttl_ms, char *err, size_t errlen);
  /* Add deltas[0..n) to the counters of `key`; totals (may be NULL)
   * receives them after the call.  With an id (may be NULL), at most once per
   * id within id_ttl_seconds (*duplicate = 1 for a repeat). */
  int (*add)(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
             const int64_t *deltas, int64_t id_ttl_seconds, int64_t *totals, int32_t *duplicate,
             char *err, size_t errlen);
  /* The counters of `key` (0 for absent ones). */
  int (*read)(void *user, const char *key, size_t key_len, uint32_t n, int64_t *values,
              char *err, size_t errlen);
  void *user;
} tkn_store;
#define TKN_STORE_INIT \
  { TKN_STORE_VERSION, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL }
/* Fill *store with `version`'s empty table (every callback NULL).
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_store_init(tkn_store *store, uint32_t version);

/* ---- budgets on a store ---- */

#define TKN_BUDGET_SHARED_OPTIONS_VERSION 1
typedef struct tkn_budget_shared_options {
  uint32_t version;  /* TKN_BUDGET_SHARED_OPTIONS_VERSION */
  /* 0 (default): fail closed: while the store is unavailable nothing is
   * reserved (TKN_ERR_UNAVAILABLE).  1: reserve against a local fallback
   * budget of fallback_tokens / fallback_money instead: this process's
   * allowance of spend the store has not seen (reserved or committed on the
   * fallback and not yet replayed).  What it commits is replayed to the
   * store, once, at the next store call that gets through (or
   * tkn_budget_shared_flush), and then stops counting against the allowance.
   * The fleet may thus pass the hard limit by at most the sum of the
   * allowances of the processes cut off from the store. */
  uint32_t fallback;
  const char *key;   /* the budget's name in the store, shared by the fleet; */
  size_t key_len;    /* 1..TKN_STORE_KEY_MAX - 32 bytes */
  int64_t fallback_tokens; /* >= 0; default 0 */
  int64_t fallback_money;  /* picodollars, >= 0; default 0 */
  int64_t lease_ms;        /* an open reservation holds its amount this long; default 600000 */
  int64_t id_ttl_seconds;  /* commit ids are remembered this long; default 172800 */
} tkn_budget_shared_options;
#define TKN_BUDGET_SHARED_OPTIONS_INIT \
  { TKN_BUDGET_SHARED_OPTIONS_VERSION, 0, NULL, 0, 0, 0, 600000, 172800 }
/* Fill *opts with the defaults of `version`.
 * TKN_ERR_INVALID for NULL, TKN_ERR_VERSION for an unknown version. */
TKN_API int tkn_budget_shared_options_init(tkn_budget_shared_options *opts, uint32_t version);

/* A budget whose hard limits hold across every process using the same store
 * and key.  opts as for tkn_budget_new, except: period NONE or DAY (the
 * store key is key + ":all" without a period, key + ":d" + day number with
 * one, expiring two days later, so no budget's name meets another's day;
 * ROLLING is TKN_ERR_UNSUPPORTED); on_limit fires on the process whose call crossed the
 * limit as this process sees it.  The store table is copied; store->user must
 * outlive the budget.  The budget is used with the usual tkn_budget_reserve,
 * commit, release, charge and status, which then:
 *  - reserve: TKN_ERR_UNAVAILABLE (fail closed, nothing reserved) when the
 *    store cannot be reached, unless the fallback option is on;
 *  - commit: TKN_ERR_UNAVAILABLE leaves the reservation open: commit it again
 *    (it is counted once, whatever reached the store before) or release it;
 *  - release: ends the reservation in the store; if the store cannot be
 *    reached, the amount stays held there until the lease ends (lease_ms),
 *    as does a reservation whose reply was lost (the Redis adapter releases
 *    those itself at its next call that gets through);
 *  - status: reads the store (TKN_ERR_UNAVAILABLE if it cannot): committed
 *    and reserved are the whole fleet's;
 *  - DAY periods: a reservation is committed to the day it was made on;
 *  - a shared budget may be the parent or child of in-process budgets (a
 *    chain commits its in-process levels first, then its shared ones).
 * Errors: those of tkn_budget_new, TKN_ERR_INVALID for a store without the
 * reserve, commit, release or usage callback or a bad key. */
TKN_API int tkn_budget_new_shared(tkn_budget **out, const tkn_budget_options *opts,
                                  const tkn_budget_shared_options *shared,
                                  const tkn_store *store, tkn_budget *parent);
/* Commits made on the fallback budget not yet replayed to the store (0 for a
 * budget that is not shared). */
TKN_API uint64_t tkn_budget_shared_pending(tkn_budget *budget);
/* Replay them now: TKN_OK when none is left.  A replay the store cannot take
 * now (TKN_ERR_UNAVAILABLE, TKN_ERR_AUTH, TKN_ERR_STATE, TKN_ERR_NOMEM) stops
 * the replay and stays queued, in order; its status is returned.  A replay
 * the store refuses outright (any other status, e.g. TKN_ERR_OVERFLOW when
 * its counter would pass int64) would be refused again: it is dropped from
 * the queue (so it never holds back the ones behind it), counted by
 * tkn_budget_shared_dropped, stays counted against the local fallback
 * allowance (spend the fleet never saw), and its status is returned once.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_budget_shared_flush(tkn_budget *budget);
/* Fallback commits dropped from the replay queue because the store refused
 * them outright (see tkn_budget_shared_flush); 0 for a budget that is not
 * shared. */
TKN_API uint64_t tkn_budget_shared_dropped(tkn_budget *budget);

/* ---- the tool cache on a store ---- */

/* Share the cache's entries through the store under keys starting with
 * `prefix` (1..256 bytes).  A put also sets the entry in the store (with the
 * tool's TTL); a get that misses locally asks the store.
 * Invalidation is fleet-wide: tkn_toolcache_invalidate_tool,
 * tkn_toolcache_invalidate_scope, tkn_toolcache_clear, and a policy turned
 * from cacheable to not, bump a counter in the store (add), and no process
 * serves an entry put before that, neither from the store nor from its own
 * local copy: every hit reads the three counters that cover it (clear, tool,
 * scope; three store reads per hit).  When the store does not take the
 * bump, the call returns its status (TKN_ERR_UNAVAILABLE: the local entries
 * are gone, other processes may still serve theirs; call again).
 * The store needs the get, set, add and read callbacks (TKN_ERR_INVALID
 * otherwise); store->user must outlive the cache, and the store must not
 * evict keys that have no TTL (Redis: a volatile-* or noeviction
 * maxmemory-policy), or an invalidation may be forgotten.  Fails open: while
 * the store is unavailable a get is a miss (local copies included, since
 * they cannot be checked) and a put keeps nothing; no error is returned for
 * it (its text is in tkn_error_last()); a cache costs nothing to lose.
 * Policies and statistics stay local to this process.
 * Call before the cache is shared between threads.  NULL store detaches. */
TKN_API int tkn_toolcache_set_store(tkn_toolcache *cache, const tkn_store *store,
                                    const char *prefix, size_t prefix_len);

/* ---- the meter on a store ---- */

/* Also add every recorded call to fleet-wide totals in the store, under keys
 * starting with `prefix` (1..256 bytes): the totals and, per dimension, the
 * call's key, with the counters of tkn_meter_stats.  Each call is added at
 * most once (an id per record); adds the store could not take are kept
 * (up to 65536) and sent again, in order, on the next record or
 * tkn_meter_flush.  An add the store refuses outright (a status other than
 * TKN_ERR_UNAVAILABLE, TKN_ERR_AUTH, TKN_ERR_STATE or TKN_ERR_NOMEM, e.g.
 * TKN_ERR_OVERFLOW when a fleet counter would pass int64) is dropped and
 * counted by tkn_meter_shared_dropped, never left to hold back the rest.  The
 * store needs the add and read callbacks; store->user must outlive the meter.
 * Each record then makes 7 store calls (totals + 6 dimensions) under one
 * lock, so records of one meter from several threads queue on the store.
 * tkn_meter_reset and tkn_meter_merge change the local meter only.
 * Call before the meter is shared between threads.  NULL store detaches.
 * TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_meter_set_store(tkn_meter *meter, const tkn_store *store, const char *prefix,
                                size_t prefix_len);
/* Send the records not yet taken by the store: TKN_OK when none is left and
 * none was dropped; else the status of the add that stopped it (it stays
 * queued) or of the last one dropped.
 * TKN_ERR_INVALID for a NULL meter; with a store attached, the store's failure (TKN_ERR_IO,
 * TKN_ERR_UNAVAILABLE, TKN_ERR_AUTH, ...), TKN_ERR_NOMEM. */
TKN_API int tkn_meter_flush(tkn_meter *meter);
/* Store adds dropped (each record makes 7): refused outright by the store,
 * beyond the 65536 kept, or out of memory.  0 without a store. */
TKN_API uint64_t tkn_meter_shared_dropped(tkn_meter *meter);
/* Fleet-wide statistics of a dimension's key (or TKN_METER_TOTAL) from the
 * store: the counters of tkn_meter_stats and the rates derived from them
 * (out->version must be set).  TKN_ERR_STATE without a store,
 * TKN_ERR_UNAVAILABLE when it cannot be read.  TKN_ERR_INVALID for a NULL argument. */
TKN_API int tkn_meter_shared_stats(tkn_meter *meter, int dimension, const char *key, size_t len,
                                   tkn_meter_stats *out);

#ifdef __cplusplus
}
#endif

#endif /* TOKENOMY_STORE_H */
