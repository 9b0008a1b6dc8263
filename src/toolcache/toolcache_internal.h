/* Internals of the tool cache that another part fills in: the table of a
 * backend, where entries also live when one process is not enough (a
 * tkn_store: src/store/toolcache_shared.c).  toolcache.c never names a
 * backend: it calls this table (SQLite's VFS, libgit2's odb backends). */
#ifndef TKI_TOOLCACHE_INTERNAL_H
#define TKI_TOOLCACHE_INTERNAL_H

#include "../internal.h"
#include "tokenomy/toolcache.h"

/* The backend's invalidation counters an entry was stored under (the
 * clear, tool and scope generations); valid = 0: unknown (the backend could
 * not be read), such an entry is never served. */
typedef struct tki_tc_stamp {
  int64_t gen[3];
  int32_t valid;
} tki_tc_stamp;

/* What an invalidation covers. */
enum { TKI_TC_ALL, TKI_TC_TOOL, TKI_TC_SCOPE };

typedef struct tki_toolcache_backend {
  /* A local miss: ask the backend.  TKN_OK with *value (tki_malloc'd, NUL
   * terminated) and *tokens on a hit that no invalidation has covered since
   * it was put; TKN_ERR_NOT_FOUND otherwise (a backend failure too: its text
   * in err, *failed = 1). */
  int (*get)(void *state, int32_t scope, const char *sid, size_t sid_len, const char *tool,
             size_t tool_len, const char *key, size_t key_len, char **value, size_t *value_len,
             int64_t *tokens, int *failed, char err[TKI_ERRLEN]);
  /* After a local put: put it in the backend too (ttl_ms 0: none), and
   * fill *stamp with the generations it was stored under (valid = 0 when
   * they could not be read).  Failures return their status and text. */
  int (*put)(void *state, int32_t scope, const char *sid, size_t sid_len, const char *tool,
             size_t tool_len, const char *key, size_t key_len, const char *value,
             size_t value_len, int64_t tokens, int64_t ttl_ms, tki_tc_stamp *stamp,
             char err[TKI_ERRLEN]);
  /* A local hit: TKN_OK when no invalidation (in any process) has covered
   * (scope, sid, tool) since the stamp was taken, TKN_ERR_NOT_FOUND when one
   * has (or the stamp is not valid); another status (and err) when the
   * backend cannot be read. */
  int (*check)(void *state, int32_t scope, const char *sid, size_t sid_len, const char *tool,
               size_t tool_len, const tki_tc_stamp *stamp, char err[TKI_ERRLEN]);
  /* Invalidate, for every process on the backend, the entries of one tool
   * (what TKI_TC_TOOL, name = the tool), one scope (TKI_TC_SCOPE, scope and
   * name = its id; empty for global) or all (TKI_TC_ALL). */
  int (*invalidate)(void *state, int what, int32_t scope, const char *name, size_t len,
                    char err[TKI_ERRLEN]);
  void (*free)(void *state);
} tki_toolcache_backend;

/* Attach a backend (NULL: none), freeing the one before.  Not to be called
 * while other threads use the cache. */
void tki_toolcache_set_backend(tkn_toolcache *c, const tki_toolcache_backend *backend,
                               void *state);
/* Record text as the cache's last error; returns status. */
int tki_toolcache_fail(tkn_toolcache *c, int status, const char *text);

#endif
