/* The tool-result cache: shards, each a chained hash table of entries
 * threaded on its own LRU list under its own mutex (one shard by default, so
 * the LRU order is exact), and a policy table under a read-write lock.  The
 * expensive part of a call (parsing and canonicalising the arguments,
 * hashing, counting tokens, reading the clock) runs before any lock is taken;
 * a shard's lock covers only its table walk. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "toolcache_internal.h"

typedef struct tc_entry {
  struct tc_entry *hnext;            /* hash chain */
  struct tc_entry *prev, *next;      /* LRU list: head = most recent */
  uint64_t hash;
  int64_t expires;                   /* 0: never */
  int64_t tokens;
  uint64_t charge;                   /* bytes counted against max_bytes */
  tki_tc_stamp stamp;                /* the backend's generations at the put */
  int32_t scope;
  size_t scope_id_len, tool_len, key_len, value_len;
  /* scope id, then key (tool + NUL + canonical args), then value + NUL, follow */
  char data[];
} tc_entry;

typedef struct tc_policy {
  struct tc_policy *next;
  uint64_t hash;
  int32_t cacheable, scope;
  int64_t ttl_ms;
  size_t name_len;
  char name[];
} tc_policy;

typedef struct tc_shard {
  pthread_mutex_t mu;
  tc_entry **buckets;
  size_t nbuckets; /* power of two */
  tc_entry *head, *tail;
  uint64_t max_bytes;
  tkn_toolcache_stats st; /* this shard's counters */
  char pad[64];           /* keep neighbouring shards off one cache line */
} tc_shard;

struct tkn_toolcache {
  tkn_toolcache_options opts;
  pthread_rwlock_t plock; /* the policies */
  tc_policy **pbuckets;
  size_t npbuckets, npolicies;
  uint32_t nshards;
  tc_shard *shards;
  /* where entries also live (a tkn_store: tkn_toolcache_set_store), and that
   * backend's state; NULL: this process only */
  const tki_toolcache_backend *backend;
  void *backend_state;
};

#define TC_MAX_DEPTH 64
#define TC_SEED 0x746f6f6c63616368ULL /* "toolcach" */

/* ---- small helpers ---- */

static int64_t default_clock(void *user) {
  (void)user;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t now_ms(const tkn_toolcache *c) {
  return c->opts.clock ? c->opts.clock(c->opts.clock_user) : default_clock(NULL);
}

static char *scope_id_of(tc_entry *e) { return e->data; }
static char *key_of(tc_entry *e) { return e->data + e->scope_id_len; }
static char *value_of(tc_entry *e) { return e->data + e->scope_id_len + e->key_len; }

/* Record a failure (text already formatted) and return status. */
static int fail(tkn_toolcache *c, int status, const char *text) {
  (void)c;
  return tki_fail(status, "%s", text);
}

static tc_shard *shard_of(const tkn_toolcache *c, uint64_t h) {
  return &c->shards[c->nshards == 1 ? 0 : (h >> 40) % c->nshards];
}

static int failf(tkn_toolcache *c, int status, const char *fmt, const char *a) {
  char tmp[TKI_ERRLEN];
  tki_err(tmp, status, fmt, a);
  return fail(c, status, tmp);
}

static int check_name(const char *s, size_t len, int may_be_empty, const char *what,
                      const char *param, char err[TKI_ERRLEN]) {
  if (!s && len)
    return tki_err(err, TKN_ERR_INVALID, "tool cache: %s (%s) is NULL with a length", what, param);
  if (!may_be_empty && len == 0) return tki_err(err, TKN_ERR_INVALID, "tool cache: empty %s", what);
  if (len > TKN_TOOLCACHE_MAX_NAME)
    return tki_err(err, TKN_ERR_INVALID, "tool cache: %s of %zu bytes exceeds %d bytes", what, len,
                   TKN_TOOLCACHE_MAX_NAME);
  size_t bad;
  if (len && !tki_utf8_valid(s, len, &bad))
    return tki_err(err, TKN_ERR_UTF8, "tool cache: %s is not valid UTF-8 at byte %zu", what, bad);
  return TKN_OK;
}

static int valid_scope(int32_t scope) {
  return scope >= TKN_TOOLCACHE_SCOPE_RUN && scope <= TKN_TOOLCACHE_SCOPE_GLOBAL;
}

static int backend_invalidate(tkn_toolcache *c, int what, int32_t scope, const char *name,
                              size_t len);

/* ---- policies ---- */

static tc_policy *policy_find(const tkn_toolcache *c, const char *name, size_t len, uint64_t h) {
  for (tc_policy *p = c->pbuckets[h & (c->npbuckets - 1)]; p; p = p->next)
    if (p->hash == h && p->name_len == len && memcmp(p->name, name, len) == 0) return p;
  return NULL;
}

static void policy_rehash(tkn_toolcache *c) {
  if (c->npolicies < c->npbuckets) return;
  size_t n = c->npbuckets * 2;
  tc_policy **nb = tki_calloc(n, sizeof *nb);
  if (!nb) return; /* longer chains, still correct */
  for (size_t i = 0; i < c->npbuckets; i++) {
    for (tc_policy *p = c->pbuckets[i], *next; p; p = next) {
      next = p->next;
      p->next = nb[p->hash & (n - 1)];
      nb[p->hash & (n - 1)] = p;
    }
  }
  tki_free(c->pbuckets);
  c->pbuckets = nb;
  c->npbuckets = n;
}

/* ---- entries ---- */

static void lru_unlink(tc_shard *c, tc_entry *e) {
  if (e->prev) e->prev->next = e->next;
  else c->head = e->next;
  if (e->next) e->next->prev = e->prev;
  else c->tail = e->prev;
  e->prev = e->next = NULL;
}

static void lru_push_front(tc_shard *c, tc_entry *e) {
  e->prev = NULL;
  e->next = c->head;
  if (c->head) c->head->prev = e;
  c->head = e;
  if (!c->tail) c->tail = e;
}

/* Unlink e from its chain and the LRU list, free it, update the size. */
static void entry_remove(tc_shard *c, tc_entry *e) {
  tc_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
  while (*pp != e) pp = &(*pp)->hnext;
  *pp = e->hnext;
  lru_unlink(c, e);
  c->st.entries--;
  c->st.bytes -= e->charge;
  tki_free(e);
}

static int expired(const tc_entry *e, int64_t now) { return e->expires && now >= e->expires; }

static int entry_matches(tc_entry *e, uint64_t h, int32_t scope, const char *sid, size_t sid_len,
                         const char *key, size_t key_len) {
  return e->hash == h && e->scope == scope && e->key_len == key_len &&
         e->scope_id_len == sid_len && memcmp(key_of(e), key, key_len) == 0 &&
         (sid_len == 0 || memcmp(scope_id_of(e), sid, sid_len) == 0);
}

static tc_entry *entry_find(tc_shard *c, uint64_t h, int32_t scope, const char *sid,
                            size_t sid_len, const char *key, size_t key_len) {
  for (tc_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
    if (entry_matches(e, h, scope, sid, sid_len, key, key_len)) return e;
  return NULL;
}

static void entries_rehash(tc_shard *c) {
  if (c->st.entries < c->nbuckets) return;
  size_t n = c->nbuckets * 2;
  tc_entry **nb = tki_calloc(n, sizeof *nb);
  if (!nb) return; /* longer chains, still correct */
  for (size_t i = 0; i < c->nbuckets; i++) {
    for (tc_entry *e = c->buckets[i], *next; e; e = next) {
      next = e->hnext;
      e->hnext = nb[e->hash & (n - 1)];
      nb[e->hash & (n - 1)] = e;
    }
  }
  tki_free(c->buckets);
  c->buckets = nb;
  c->nbuckets = n;
}

/* ---- the key of one call, built outside the lock ---- */

typedef struct tc_call {
  tki_buf key;          /* tool + NUL + canonical arguments */
  uint64_t key_hash;    /* of key */
  uint64_t scope_hash;  /* of the scope id */
  const char *tool;
  size_t tool_len;
  const char *sid;
  size_t sid_len;
} tc_call;

static int call_prepare(tkn_toolcache *c, tc_call *k, const char *tool, size_t tool_len,
                        const char *args, size_t args_len, const char *sid, size_t sid_len) {
  char err[TKI_ERRLEN];
  tki_buf_init(&k->key);
  int rc = check_name(tool, tool_len, 0, "tool name", "tool", err);
  if (!rc) rc = check_name(sid, sid_len, 1, "scope id", "scope_id", err);
  if (!rc && !args && args_len)
    rc = tki_err(err, TKN_ERR_INVALID, "tool cache: args is NULL with a length");
  if (rc) return fail(c, rc, err);
  tki_buf_append(&k->key, tool, tool_len);
  tki_buf_putc(&k->key, '\0');
  if (args_len == 0) {
    rc = tki_buf_append(&k->key, "{}", 2);
  } else {
    rc = tki_json_canonicalize(args, args_len, (size_t)c->opts.max_args_bytes, TC_MAX_DEPTH,
                               "tool arguments", &k->key, err);
    if (rc) {
      tki_buf_free(&k->key);
      return fail(c, rc, err);
    }
  }
  if (rc || k->key.failed) {
    tki_buf_free(&k->key);
    return fail(c, TKN_ERR_NOMEM, "tool cache: out of memory building a key");
  }
  k->key_hash = tki_hash64(k->key.data, k->key.len, TC_SEED);
  k->scope_hash = tki_hash64(sid ? sid : "", sid_len, TC_SEED ^ 1);
  k->tool = tool;
  k->tool_len = tool_len;
  k->sid = sid;
  k->sid_len = sid_len;
  return TKN_OK;
}

/* The full hash and the scope id that count for a tool of this scope. */
static uint64_t call_hash(const tc_call *k, int32_t scope, size_t *sid_len) {
  *sid_len = scope == TKN_TOOLCACHE_SCOPE_GLOBAL ? 0 : k->sid_len;
  uint64_t s = scope == TKN_TOOLCACHE_SCOPE_GLOBAL ? 0 : k->scope_hash;
  uint64_t h = k->key_hash ^ ((s + (uint64_t)scope + 1) * 0x9E3779B97F4A7C15ULL);
  return h ^ (h >> 29);
}

/* ---- public API ---- */

TKI_DEFINE_INIT(tkn_toolcache_options_init, tkn_toolcache_options, opts, TKN_TOOLCACHE_OPTIONS_VERSION,
                TKN_TOOLCACHE_OPTIONS_INIT)

static void free_shards(tc_shard *shards, uint32_t n, uint32_t inited) {
  for (uint32_t i = 0; i < n; i++) {
    for (tc_entry *e = shards[i].head, *next; e; e = next) {
      next = e->next;
      tki_free(e);
    }
    tki_free(shards[i].buckets);
    if (i < inited) pthread_mutex_destroy(&shards[i].mu);
  }
  tki_free(shards);
}

int tkn_toolcache_new(tkn_toolcache **out, const tkn_toolcache_options *opts) {
  if (!out) return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_new: out is NULL");
  *out = NULL;
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  if (opts) {
    if (opts->version != TKN_TOOLCACHE_OPTIONS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_toolcache_new: unknown version");
    o = *opts;
  }
  if (o.shards == 0) o.shards = 1;
  if (o.max_bytes == 0 || o.max_args_bytes == 0 || o.shards > TKN_TOOLCACHE_MAX_SHARDS ||
      o.max_bytes < o.shards)
    return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_new: %s",
                    o.max_bytes == 0        ? "opts->max_bytes is 0"
                    : o.max_args_bytes == 0 ? "opts->max_args_bytes is 0"
                    : o.shards > TKN_TOOLCACHE_MAX_SHARDS
                        ? "opts->shards is more than TKN_TOOLCACHE_MAX_SHARDS"
                        : "opts->max_bytes is less than opts->shards");
  tkn_toolcache *c = tki_calloc(1, sizeof *c);
  if (!c) return tki_fail(TKN_ERR_NOMEM, "tkn_toolcache_new: out of memory");
  c->opts = o;
  c->nshards = o.shards;
  c->npbuckets = 16;
  c->pbuckets = tki_calloc(c->npbuckets, sizeof *c->pbuckets);
  c->shards = tki_calloc(c->nshards, sizeof *c->shards);
  uint32_t inited = 0;
  int ok = c->pbuckets && c->shards;
  tkn_toolcache_stats st0 = TKN_TOOLCACHE_STATS_INIT;
  for (uint32_t i = 0; ok && i < c->nshards; i++) {
    tc_shard *sh = &c->shards[i];
    sh->nbuckets = 64;
    sh->buckets = tki_calloc(sh->nbuckets, sizeof *sh->buckets);
    /* the capacity split evenly; the first shards take the remainder */
    sh->max_bytes = o.max_bytes / c->nshards + (i < o.max_bytes % c->nshards ? 1 : 0);
    sh->st = st0;
    ok = sh->buckets && pthread_mutex_init(&sh->mu, NULL) == 0;
    if (ok) inited++;
  }
  int plock_ok = ok && pthread_rwlock_init(&c->plock, NULL) == 0;
  if (!plock_ok) {
    if (c->shards) free_shards(c->shards, c->nshards, inited);
    tki_free(c->pbuckets);
    tki_free(c);
    return tki_fail(TKN_ERR_NOMEM, "tool cache: out of memory");
  }
  *out = c;
  return TKN_OK;
}

void tkn_toolcache_free(tkn_toolcache *c) {
  if (!c) return;
  free_shards(c->shards, c->nshards, c->nshards);
  for (size_t i = 0; i < c->npbuckets; i++) {
    for (tc_policy *p = c->pbuckets[i], *next; p; p = next) {
      next = p->next;
      tki_free(p);
    }
  }
  tki_free(c->pbuckets);
  pthread_rwlock_destroy(&c->plock);
  if (c->backend) c->backend->free(c->backend_state);
  tki_free(c);
}

/* Drop the entries for which keep() says 0; returns how many. */
typedef int (*tc_pred)(const tc_entry *e, const void *arg);

static uint64_t drop_where(tkn_toolcache *c, tc_pred pred, const void *arg, int count_as_expired) {
  uint64_t n = 0;
  for (uint32_t i = 0; i < c->nshards; i++) {
    tc_shard *sh = &c->shards[i];
    uint64_t k = 0;
    pthread_mutex_lock(&sh->mu);
    for (tc_entry *e = sh->head, *next; e; e = next) {
      next = e->next;
      if (pred(e, arg)) {
        entry_remove(sh, e);
        k++;
      }
    }
    if (count_as_expired) sh->st.expirations += k;
    else sh->st.invalidations += k;
    pthread_mutex_unlock(&sh->mu);
    n += k;
  }
  return n;
}

typedef struct { const char *s; size_t len; int32_t scope; int64_t now; } tc_match;

static int is_tool(const tc_entry *e, const void *arg) {
  const tc_match *m = arg;
  return e->tool_len == m->len && memcmp(((tc_entry *)e)->data + e->scope_id_len, m->s, m->len) == 0;
}

static int is_scope(const tc_entry *e, const void *arg) {
  const tc_match *m = arg;
  if (e->scope != m->scope) return 0;
  if (m->scope == TKN_TOOLCACHE_SCOPE_GLOBAL) return 1;
  return e->scope_id_len == m->len && memcmp(e->data, m->s, m->len) == 0;
}

static int is_expired(const tc_entry *e, const void *arg) {
  return expired(e, ((const tc_match *)arg)->now);
}

static int is_any(const tc_entry *e, const void *arg) {
  (void)e;
  (void)arg;
  return 1;
}

int tkn_toolcache_set_policy(tkn_toolcache *c, const char *tool, size_t tool_len,
                             int32_t cacheable, int64_t ttl_ms, int32_t scope) {
  tool_len = tki_len(tool, tool_len);
  if (!c) return tki_fail_null("tkn_toolcache_set_policy", "cache");
  char err[TKI_ERRLEN];
  int rc = check_name(tool, tool_len, 0, "tool name", "tool", err);
  if (rc) return fail(c, rc, err);
  if (cacheable != 0 && cacheable != 1)
    return fail(c, TKN_ERR_INVALID, "tool cache: cacheable must be 0 or 1");
  if (ttl_ms < 0) return fail(c, TKN_ERR_INVALID, "tool cache: negative TTL");
  if (!valid_scope(scope)) return fail(c, TKN_ERR_INVALID, "tool cache: unknown scope kind");
  uint64_t h = tki_hash64(tool, tool_len, TC_SEED);
  tc_policy *fresh = tki_malloc(sizeof *fresh + tool_len);
  if (!fresh) return fail(c, TKN_ERR_NOMEM, "tool cache: out of memory adding a policy");
  pthread_rwlock_wrlock(&c->plock);
  tc_policy *p = policy_find(c, tool, tool_len, h);
  int was_cacheable = p && p->cacheable;
  if (p) {
    tki_free(fresh);
  } else {
    p = fresh;
    memset(p, 0, sizeof *p);
    p->hash = h;
    p->name_len = tool_len;
    memcpy(p->name, tool, tool_len);
    c->npolicies++;
    policy_rehash(c);
    p->next = c->pbuckets[h & (c->npbuckets - 1)];
    c->pbuckets[h & (c->npbuckets - 1)] = p;
  }
  p->cacheable = cacheable;
  p->ttl_ms = ttl_ms;
  p->scope = scope;
  pthread_rwlock_unlock(&c->plock);
  if (!cacheable) {
    /* a put that read the old policy may still land afterwards; get checks
     * the policy first, so such an entry is never served, only evicted */
    tc_match m = {tool, tool_len, 0, 0};
    drop_where(c, is_tool, &m, 0);
    /* entries other processes stored while it was cacheable go too */
    if (was_cacheable) return backend_invalidate(c, TKI_TC_TOOL, 0, tool, tool_len);
  }
  return TKN_OK;
}

/* Copy the policy of a tool; 0 if it has none. */
static int policy_get(tkn_toolcache *c, const char *tool, size_t tool_len, tc_policy *out) {
  uint64_t h = tki_hash64(tool, tool_len, TC_SEED);
  pthread_rwlock_rdlock(&c->plock);
  tc_policy *p = policy_find(c, tool, tool_len, h);
  if (p) {
    out->cacheable = p->cacheable;
    out->scope = p->scope;
    out->ttl_ms = p->ttl_ms;
  }
  pthread_rwlock_unlock(&c->plock);
  return p != NULL;
}

int tkn_toolcache_is_cacheable(const tkn_toolcache *cache, const char *tool, size_t tool_len) {
  tool_len = tki_len(tool, tool_len);
  if (!cache || (!tool && tool_len) || tool_len == 0) return 0;
  tc_policy p;
  return policy_get((tkn_toolcache *)cache, tool, tool_len, &p) && p.cacheable;
}

static void count_hit(tc_shard *sh, size_t value_len, int64_t tokens) {
  sh->st.hits++;
  sh->st.bytes_saved += value_len;
  sh->st.tokens_saved += (uint64_t)tokens;
}

/* A local miss asks the backend (fails open: a backend failure is a miss). */
static int shared_get(tkn_toolcache *c, tc_shard *sh, int32_t scope, const tc_call *k,
                      const char *sid, size_t sid_len, char **value, size_t *value_len) {
  int64_t tokens = 0;
  int failed = 0;
  char err[TKI_ERRLEN];
  int rc = c->backend->get(c->backend_state, scope, sid, sid_len, k->tool, k->tool_len,
                           k->key.data, k->key.len, value, value_len, &tokens, &failed, err);
  pthread_mutex_lock(&sh->mu);
  if (rc == TKN_OK) {
    count_hit(sh, *value_len, tokens);
  } else {
    sh->st.misses++;
  }
  pthread_mutex_unlock(&sh->mu);
  if (failed) (void)fail(c, TKN_ERR_UNAVAILABLE, err);
  return rc;
}

/* A local hit on a cache with a backend: served only if no invalidation in
 * any process has covered it since its put.  A stale entry is dropped and
 * the backend asked (another process may have put a fresh one); a backend
 * that cannot be read makes a miss (fails open, never stale). */
static int local_hit_check(tkn_toolcache *c, tc_shard *sh, uint64_t h, int32_t scope,
                           const tc_call *k, const char *sid, size_t sid_len,
                           const tki_tc_stamp *stamp, int64_t tokens, char **value,
                           size_t *value_len) {
  char err[TKI_ERRLEN];
  int rc = c->backend->check(c->backend_state, scope, sid, sid_len, k->tool, k->tool_len, stamp,
                             err);
  if (rc == TKN_OK) {
    pthread_mutex_lock(&sh->mu);
    count_hit(sh, *value_len, tokens);
    pthread_mutex_unlock(&sh->mu);
    return TKN_OK;
  }
  tki_free(*value);
  *value = NULL;
  *value_len = 0;
  if (rc != TKN_ERR_NOT_FOUND) {
    pthread_mutex_lock(&sh->mu);
    sh->st.misses++;
    pthread_mutex_unlock(&sh->mu);
    (void)fail(c, TKN_ERR_UNAVAILABLE, err);
    return TKN_ERR_NOT_FOUND;
  }
  pthread_mutex_lock(&sh->mu);
  tc_entry *e = entry_find(sh, h, scope, sid, sid_len, k->key.data, k->key.len);
  if (e && e->stamp.valid == stamp->valid && e->stamp.gen[0] == stamp->gen[0] &&
      e->stamp.gen[1] == stamp->gen[1] && e->stamp.gen[2] == stamp->gen[2]) {
    entry_remove(sh, e);
    sh->st.invalidations++;
  }
  pthread_mutex_unlock(&sh->mu);
  return shared_get(c, sh, scope, k, sid, sid_len, value, value_len);
}

/* After a local invalidation: tell the backend, so that no process serves
 * the entries it covers. */
static int backend_invalidate(tkn_toolcache *c, int what, int32_t scope, const char *name,
                              size_t len) {
  if (!c->backend) return TKN_OK;
  char err[TKI_ERRLEN];
  int rc = c->backend->invalidate(c->backend_state, what, scope, name, len, err);
  return rc == TKN_OK ? TKN_OK : fail(c, rc, err);
}

void tki_toolcache_set_backend(tkn_toolcache *c, const tki_toolcache_backend *backend,
                               void *state) {
  if (c->backend) c->backend->free(c->backend_state);
  c->backend = backend;
  c->backend_state = state;
}

int tki_toolcache_fail(tkn_toolcache *c, int status, const char *text) {
  return fail(c, status, text);
}

int tkn_toolcache_get(tkn_toolcache *c, const char *tool, size_t tool_len, const char *args,
                      size_t args_len, const char *scope_id, size_t scope_id_len, char **value,
                      size_t *value_len) {
  tool_len = tki_len(tool, tool_len);
  args_len = tki_len(args, args_len);
  scope_id_len = tki_len(scope_id, scope_id_len);
  if (!c) return tki_fail_null("tkn_toolcache_get", "cache");
  if (!value || !value_len)
    return tki_fail_null("tkn_toolcache_get", !value ? "value" : "value_len");
  *value = NULL;
  *value_len = 0;
  tc_call k;
  int rc = call_prepare(c, &k, tool, tool_len, args, args_len, scope_id, scope_id_len);
  if (rc) return rc;
  tc_policy p;
  if (!policy_get(c, tool, tool_len, &p) || !p.cacheable) {
    tc_shard *sh = shard_of(c, k.key_hash);
    pthread_mutex_lock(&sh->mu);
    sh->st.bypassed++;
    pthread_mutex_unlock(&sh->mu);
    tki_buf_free(&k.key);
    return tki_fail(TKN_ERR_NOT_FOUND, "tkn_toolcache_get: not found");
  }
  if (p.scope != TKN_TOOLCACHE_SCOPE_GLOBAL && scope_id_len == 0) {
    tki_buf_free(&k.key);
    return fail(c, TKN_ERR_INVALID, "tool cache: empty scope id for a tool that is not global");
  }
  int64_t now = now_ms(c);
  size_t sid_len;
  uint64_t h = call_hash(&k, p.scope, &sid_len);
  tc_shard *sh = shard_of(c, h);
  char *copy = NULL;
  tki_tc_stamp stamp = {{0, 0, 0}, 0};
  int64_t tokens = 0;
  pthread_mutex_lock(&sh->mu);
  tc_entry *e = entry_find(sh, h, p.scope, scope_id, sid_len, k.key.data, k.key.len);
  if (e && expired(e, now)) {
    entry_remove(sh, e);
    sh->st.expirations++;
    e = NULL;
  }
  if (!e) {
    if (!c->backend) sh->st.misses++; /* else counted once the backend answered */
    rc = TKN_ERR_NOT_FOUND;
  } else if (!(copy = tki_malloc(e->value_len + 1))) {
    rc = TKN_ERR_NOMEM;
  } else {
    memcpy(copy, value_of(e), e->value_len + 1);
    *value = copy;
    *value_len = e->value_len;
    if (sh->head != e) {
      lru_unlink(sh, e);
      lru_push_front(sh, e);
    }
    stamp = e->stamp;
    tokens = e->tokens;
    if (!c->backend) count_hit(sh, e->value_len, tokens); /* else once checked */
  }
  pthread_mutex_unlock(&sh->mu);
  unsigned long seq = tki_error_seq();
  if (rc == TKN_OK && c->backend)
    rc = local_hit_check(c, sh, h, p.scope, &k, scope_id, sid_len, &stamp, tokens, value,
                         value_len);
  else if (rc == TKN_ERR_NOT_FOUND && c->backend)
    rc = shared_get(c, sh, p.scope, &k, scope_id, sid_len, value, value_len);
  tki_buf_free(&k.key);
  if (rc == TKN_ERR_NOMEM) return fail(c, rc, "tool cache: out of memory copying a value");
  if (rc == TKN_ERR_NOT_FOUND && tki_error_seq() != seq) /* the store failed open: why */
    return tki_fail(rc, "tool cache: a miss, the store failing open: %s", tki_error_message());
  if (rc == TKN_ERR_NOT_FOUND) /* a miss: recorded like any status but TKN_OK */
    return tki_fail(rc, "tool cache: no entry for this call of \"%.*s\"",
                    (int)(tool_len > 64 ? 64 : tool_len), tool);
  return rc;
}

/* Evict from the LRU tail until the cache fits, never evicting `keep`. */
static void make_room(tc_shard *c, const tc_entry *keep, int64_t now) {
  while (c->st.bytes > c->max_bytes && c->tail && c->tail != keep) {
    tc_entry *victim = c->tail;
    if (expired(victim, now)) c->st.expirations++;
    else c->st.evictions++;
    entry_remove(c, victim);
  }
}

int tkn_toolcache_put(tkn_toolcache *c, const char *tool, size_t tool_len, const char *args,
                      size_t args_len, const char *scope_id, size_t scope_id_len,
                      const char *value, size_t value_len, int64_t tokens) {
  tool_len = tki_len(tool, tool_len);
  args_len = tki_len(args, args_len);
  scope_id_len = tki_len(scope_id, scope_id_len);
  value_len = tki_len(value, value_len);
  if (!c) return tki_fail_null("tkn_toolcache_put", "cache");
  if (!value && value_len) return fail(c, TKN_ERR_INVALID, "tool cache: value is NULL");
  if (tokens < -1) return fail(c, TKN_ERR_INVALID, "tool cache: tokens must be >= 0, or -1 to count");
  if (tokens == -1 && !c->opts.tokenizer)
    return fail(c, TKN_ERR_INVALID, "tool cache: tokens = -1 but the cache has no tokenizer");
  tc_call k;
  int rc = call_prepare(c, &k, tool, tool_len, args, args_len, scope_id, scope_id_len);
  if (rc) return rc;
  char tmp[TKI_ERRLEN];
  tc_policy p;
  if (!policy_get(c, tool, tool_len, &p) || !p.cacheable) {
    tki_buf_free(&k.key);
    tki_err(tmp, TKN_ERR_STATE, "tool cache: tool \"%.*s\" is not registered cacheable",
            (int)(tool_len > 200 ? 200 : tool_len), tool);
    return fail(c, TKN_ERR_STATE, tmp);
  }
  if (p.scope != TKN_TOOLCACHE_SCOPE_GLOBAL && scope_id_len == 0) {
    tki_buf_free(&k.key);
    return fail(c, TKN_ERR_INVALID, "tool cache: empty scope id for a tool that is not global");
  }
  if (tokens == -1) {
    rc = tkn_tokenizer_count(c->opts.tokenizer, value ? value : "", value_len, &tokens);
    if (rc) {
      tki_buf_free(&k.key);
      return failf(c, rc, "tool cache: counting the tokens of the value failed: %s",
                   tkn_strerror(rc));
    }
  }
  size_t sid_len;
  uint64_t h = call_hash(&k, p.scope, &sid_len);
  tc_shard *sh = shard_of(c, h);
  uint64_t charge = (uint64_t)TKN_TOOLCACHE_ENTRY_OVERHEAD + sid_len + k.key.len + value_len + 1;
  if (charge > sh->max_bytes || value_len > SIZE_MAX - sizeof(tc_entry) - k.key.len - sid_len - 1) {
    tki_buf_free(&k.key);
    tki_err(tmp, TKN_ERR_LIMIT,
            "tool cache: an entry of %llu bytes exceeds the capacity of %llu bytes%s",
            (unsigned long long)charge, (unsigned long long)sh->max_bytes,
            c->nshards > 1 ? " (of one shard)" : "");
    return fail(c, TKN_ERR_LIMIT, tmp);
  }
  tc_entry *e = tki_malloc(sizeof *e + sid_len + k.key.len + value_len + 1);
  if (!e) {
    tki_buf_free(&k.key);
    return fail(c, TKN_ERR_NOMEM, "tool cache: out of memory storing a value");
  }
  memset(e, 0, sizeof *e);
  e->hash = h;
  e->scope = p.scope;
  e->tokens = tokens;
  e->charge = charge;
  e->tool_len = tool_len;
  e->scope_id_len = sid_len;
  e->key_len = k.key.len;
  e->value_len = value_len;
  if (sid_len) memcpy(e->data, scope_id, sid_len);
  memcpy(e->data + sid_len, k.key.data, k.key.len);
  if (value_len) memcpy(e->data + sid_len + k.key.len, value, value_len);
  e->data[sid_len + k.key.len + value_len] = '\0';
  int64_t now = now_ms(c);
  e->expires = p.ttl_ms ? now + p.ttl_ms : 0;
  if (p.ttl_ms && e->expires < now) e->expires = INT64_MAX; /* overflow: effectively never */
  if (c->backend && c->backend->put(c->backend_state, p.scope, scope_id, sid_len, tool,
                                    tool_len, k.key.data, k.key.len, value, value_len, tokens,
                                    p.ttl_ms, &e->stamp, tmp) != TKN_OK)
    (void)fail(c, TKN_ERR_UNAVAILABLE, tmp); /* a put does not fail for it */
  tki_buf_free(&k.key);
  if (c->backend && !e->stamp.valid) {
    /* it could never be checked against another process's invalidation */
    tki_free(e);
    return TKN_OK;
  }

  pthread_mutex_lock(&sh->mu);
  tc_entry *old = entry_find(sh, e->hash, e->scope, e->data, sid_len, key_of(e), e->key_len);
  if (old) entry_remove(sh, old);
  entries_rehash(sh);
  size_t b = e->hash & (sh->nbuckets - 1);
  e->hnext = sh->buckets[b];
  sh->buckets[b] = e;
  lru_push_front(sh, e);
  sh->st.entries++;
  sh->st.bytes += e->charge;
  sh->st.puts++;
  make_room(sh, e, now);
  pthread_mutex_unlock(&sh->mu);
  return TKN_OK;
}

int tkn_toolcache_invalidate_tool(tkn_toolcache *c, const char *tool, size_t tool_len,
                                  uint64_t *removed) {
  tool_len = tki_len(tool, tool_len);
  if (removed) *removed = 0;
  if (!c) return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_invalidate_tool: cache is NULL");
  char err[TKI_ERRLEN];
  int rc = check_name(tool, tool_len, 0, "tool name", "tool", err);
  if (rc) return fail(c, rc, err);
  tc_match m = {tool, tool_len, 0, 0};
  uint64_t n = drop_where(c, is_tool, &m, 0);
  if (removed) *removed = n;
  return backend_invalidate(c, TKI_TC_TOOL, 0, tool, tool_len);
}

int tkn_toolcache_invalidate_scope(tkn_toolcache *c, int32_t scope, const char *scope_id,
                                   size_t scope_id_len, uint64_t *removed) {
  scope_id_len = tki_len(scope_id, scope_id_len);
  if (removed) *removed = 0;
  if (!c) return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_invalidate_scope: cache is NULL");
  if (!valid_scope(scope)) return fail(c, TKN_ERR_INVALID, "tool cache: unknown scope kind");
  char err[TKI_ERRLEN];
  int rc = check_name(scope_id, scope_id_len, scope == TKN_TOOLCACHE_SCOPE_GLOBAL, "scope id",
                      "scope_id", err);
  if (rc) return fail(c, rc, err);
  tc_match m = {scope_id, scope_id_len, scope, 0};
  uint64_t n = drop_where(c, is_scope, &m, 0);
  if (removed) *removed = n;
  if (scope == TKN_TOOLCACHE_SCOPE_GLOBAL) scope_id_len = 0;
  return backend_invalidate(c, TKI_TC_SCOPE, scope, scope_id, scope_id_len);
}

int tkn_toolcache_purge_expired(tkn_toolcache *c, uint64_t *removed) {
  if (removed) *removed = 0;
  if (!c) return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_purge_expired: cache is NULL");
  tc_match m = {NULL, 0, 0, now_ms(c)};
  uint64_t n = drop_where(c, is_expired, &m, 1);
  if (removed) *removed = n;
  return TKN_OK;
}

int tkn_toolcache_clear(tkn_toolcache *c) {
  if (!c) return tki_fail_null("tkn_toolcache_clear", "cache");
  drop_where(c, is_any, NULL, 0);
  return backend_invalidate(c, TKI_TC_ALL, 0, NULL, 0);
}

int tkn_toolcache_stats_get(const tkn_toolcache *cache, tkn_toolcache_stats *stats) {
  if (!cache || !stats) return tki_fail_null("tkn_toolcache_stats_get", !cache ? "cache" : "stats");
  if (stats->version != TKN_TOOLCACHE_STATS_VERSION) return tki_fail(TKN_ERR_VERSION, "tkn_toolcache_stats_get: unknown version");
  tkn_toolcache_stats t = TKN_TOOLCACHE_STATS_INIT;
  for (uint32_t i = 0; i < cache->nshards; i++) {
    tc_shard *sh = &cache->shards[i];
    pthread_mutex_lock(&sh->mu);
    t.hits += sh->st.hits;
    t.misses += sh->st.misses;
    t.bypassed += sh->st.bypassed;
    t.puts += sh->st.puts;
    t.evictions += sh->st.evictions;
    t.expirations += sh->st.expirations;
    t.invalidations += sh->st.invalidations;
    t.entries += sh->st.entries;
    t.bytes += sh->st.bytes;
    t.bytes_saved += sh->st.bytes_saved;
    t.tokens_saved += sh->st.tokens_saved;
    pthread_mutex_unlock(&sh->mu);
  }
  *stats = t;
  return TKN_OK;
}


