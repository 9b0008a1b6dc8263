/* Internals of the store part: checking a host's store table and unique ids.
 * The store fills in the backend tables the budget, the meter and the tool
 * cache define (their *_internal.h); none of them includes this file. */
#ifndef TKI_STORE_INTERNAL_H
#define TKI_STORE_INTERNAL_H

#include "../internal.h"
#include "tokenomy/store.h"

/* Check the table's version and that the callbacks named in `need` (a
 * string of letters: r reserve, c commit, l release, u usage, g get, s set,
 * a add, d read) are present.  Errors name `what`. */
int tki_store_check(const tkn_store *st, const char *need, const char *what,
                    char err[TKI_ERRLEN]);
/* 1 if an operation the store failed with `status` may get through when sent
 * again unchanged (the store unreachable, refusing the credentials, having
 * lost its state, or out of memory); 0 if the store refused this operation
 * itself (e.g. TKN_ERR_OVERFLOW, TKN_ERR_INVALID): a replay queue drops such
 * an entry, counting it, rather than let it hold back every one behind it. */
int tki_store_retryable(int status);
/* A new id, unique across processes and time (32 hex digits + NUL):
 * a per-process random instance and a counter. */
void tki_store_id(char id[TKN_STORE_ID_MAX + 1]);

#endif
