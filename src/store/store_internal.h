/* Internals of the store part: checking a host's store table, unique ids,
 * and the hooks the tool cache and the meter call when they have a store. */
#ifndef TKI_STORE_INTERNAL_H
#define TKI_STORE_INTERNAL_H

#include "../internal.h"
#include "tokenomy/store.h"

/* Check the table's version and that the callbacks named in `need` (a
 * string of letters: r reserve, c commit, l release, u usage, g get, s set,
 * a add, d read) are present.  Errors name `what`. */
int tki_store_check(const tkn_store *st, const char *need, const char *what,
                    char err[TKI_ERRLEN]);
/* A new id, unique across processes and time (32 hex digits + NUL):
 * a per-process random instance and a counter. */
void tki_store_id(char id[TKN_STORE_ID_MAX + 1]);

/* ---- tool cache (toolcache_shared.c, called by toolcache.c) ---- */
struct tki_tcshared;
/* A local miss: ask the store.  TKN_OK with *value (tki_malloc'd, NUL
 * terminated) and *tokens on a hit; TKN_ERR_NOT_FOUND otherwise (a store
 * failure too: its text in err, *failed = 1). */
int tki_tcshared_get(struct tki_tcshared *s, int32_t scope, const char *sid, size_t sid_len,
                     const char *key, size_t key_len, char **value, size_t *value_len,
                     int64_t *tokens, int *failed, char err[TKI_ERRLEN]);
/* After a local put: set it in the store too (ttl_ms 0: none).  Failures
 * return their status and text. */
int tki_tcshared_put(struct tki_tcshared *s, int32_t scope, const char *sid, size_t sid_len,
                     const char *key, size_t key_len, const char *value, size_t value_len,
                     int64_t tokens, int64_t ttl_ms, char err[TKI_ERRLEN]);
void tki_tcshared_free(struct tki_tcshared *s);
/* NULL store: *out = NULL. */
int tki_tcshared_make(struct tki_tcshared **out, const tkn_store *store, const char *prefix,
                      size_t prefix_len, char err[TKI_ERRLEN]);

/* ---- meter (meter_shared.c, called by meter.c) ---- */
struct tki_mshared;
struct tki_agg;
struct tkn_meter_call;
/* After a local record: add the call to the store's totals (queued if the
 * store cannot take it). */
void tki_mshared_record(struct tki_mshared *s, const struct tkn_meter_call *call,
                        const struct tki_agg *one);
void tki_mshared_free(struct tki_mshared *s);

#endif
