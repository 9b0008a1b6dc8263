/* The tool cache on a store: a put also sets the entry in the store, a local
 * miss asks the store.  The store's value carries the whole key (scope, scope
 * id, tool and canonical arguments), compared on a hit, so a hash collision
 * of store keys never serves another call's result.  Fails open: a store
 * that cannot be reached makes a miss, never an error for the caller.  This
 * file is a tool-cache backend (toolcache_internal.h): toolcache.c calls the
 * table, never the store.
 *
 * Invalidation: store entries cannot be listed, so they are never deleted.
 * Three counters in the store (add/read) instead: one bumped by clear, one
 * per tool, one per scope (kind and id).  An entry carries the three values
 * read when it was put, and is served (from the store or from a process's
 * local copy) only while all three still have them; an invalidation in any
 * process bumps one, and every entry it covers is a miss from then on.  A
 * put that read the counters before an invalidation and wrote after it
 * carries the old values: a miss too.  Each hit costs three counter reads;
 * the counter keys never expire. */
#include <stdio.h>
#include <string.h>

#include "../toolcache/toolcache_internal.h"
#include "store_internal.h"

/* value layout: magic, tokens (8 bytes, little-endian), scope, sid_len,
 * key_len (4 bytes each), the generations (3 x 8 bytes), then the scope id,
 * the key and the value */
#define MAGIC "TKC2"
#define HEAD (4 + 8 + 4 + 4 + 4 + 24)
#define FIRST_READ 4096

struct tki_tcshared {
  tkn_store st;
  char *prefix;
  size_t prefix_len;
};

static void put_u64(unsigned char *p, uint64_t v) {
  for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint64_t get_u64(const unsigned char *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
  return v;
}
static void put_u32(unsigned char *p, uint32_t v) {
  for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}
static uint32_t get_u32(const unsigned char *p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
  return v;
}

/* prefix ":tc:" + two hashes of (scope, sid, key) */
static size_t store_key(const struct tki_tcshared *s, int32_t scope, const char *sid,
                        size_t sid_len, const char *key, size_t key_len, char *out) {
  uint64_t h1 = tki_hash64(key, key_len, (uint64_t)scope * 0x9E3779B97F4A7C15ULL);
  h1 = tki_hash64(sid ? sid : "", sid_len, h1);
  uint64_t h2 = tki_hash64(key, key_len, h1 ^ 0x5851F42D4C957F2DULL);
  memcpy(out, s->prefix, s->prefix_len);
  int n = snprintf(out + s->prefix_len, 48, ":tc:%016llx%016llx", (unsigned long long)h1,
                   (unsigned long long)h2);
  return s->prefix_len + (size_t)n;
}

/* The key of a generation counter: prefix ":tcg:all" (clear), prefix
 * ":tcg:t:" + a hash of the tool, prefix ":tcg:s:" + a hash of (scope, id).
 * Two tools (or scopes) sharing a hash share a counter: invalidating one
 * also drops the other's entries, never the reverse. */
static size_t gen_key(const struct tki_tcshared *s, int what, int32_t scope, const char *name,
                      size_t len, char *out) {
  memcpy(out, s->prefix, s->prefix_len);
  if (what == TKI_TC_ALL) {
    memcpy(out + s->prefix_len, ":tcg:all", 8);
    return s->prefix_len + 8;
  }
  uint64_t seed = what == TKI_TC_TOOL ? 0x746f6f6cULL : 0x73636f7065ULL + (uint64_t)scope;
  uint64_t h1 = tki_hash64(name ? name : "", len, seed);
  uint64_t h2 = tki_hash64(name ? name : "", len, h1 ^ 0x5851F42D4C957F2DULL);
  int n = snprintf(out + s->prefix_len, 48, ":tcg:%c:%016llx%016llx",
                   what == TKI_TC_TOOL ? 't' : 's', (unsigned long long)h1,
                   (unsigned long long)h2);
  return s->prefix_len + (size_t)n;
}

/* The generations that cover (scope, sid, tool) now. */
static int read_stamp(const struct tki_tcshared *s, int32_t scope, const char *sid,
                      size_t sid_len, const char *tool, size_t tool_len, tki_tc_stamp *out,
                      char err[TKI_ERRLEN]) {
  static const int what[3] = {TKI_TC_ALL, TKI_TC_TOOL, TKI_TC_SCOPE};
  out->valid = 0;
  for (int i = 0; i < 3; i++) {
    char k[TKN_STORE_KEY_MAX + 64], se[256] = "";
    const char *name = i == 1 ? tool : sid;
    size_t len = i == 1 ? tool_len : sid_len;
    size_t klen = gen_key(s, what[i], scope, name, len, k);
    int rc = s->st.read(s->st.user, k, klen, 1, &out->gen[i], se, sizeof se);
    if (rc != TKN_OK)
      return tki_err(err, rc,
                     "tool cache: reading the store's invalidation counters failed (%s): %s",
                     tkn_strerror(rc), se);
  }
  out->valid = 1;
  return TKN_OK;
}

static int shared_check(void *state, int32_t scope, const char *sid, size_t sid_len,
                        const char *tool, size_t tool_len, const tki_tc_stamp *stamp,
                        char err[TKI_ERRLEN]) {
  if (!stamp->valid) return TKN_ERR_NOT_FOUND;
  tki_tc_stamp now;
  int rc = read_stamp(state, scope, sid, sid_len, tool, tool_len, &now, err);
  if (rc != TKN_OK) return rc;
  for (int i = 0; i < 3; i++)
    if (now.gen[i] != stamp->gen[i]) return TKN_ERR_NOT_FOUND;
  return TKN_OK;
}

static int shared_invalidate(void *state, int what, int32_t scope, const char *name, size_t len,
                             char err[TKI_ERRLEN]) {
  struct tki_tcshared *s = state;
  char k[TKN_STORE_KEY_MAX + 64], se[256] = "";
  size_t klen = gen_key(s, what, scope, name, len, k);
  int64_t one = 1;
  int rc = s->st.add(s->st.user, k, klen, NULL, 1, &one, 0, NULL, NULL, se, sizeof se);
  if (rc != TKN_OK)
    return tki_err(err, rc,
                   "tool cache: dropped in this process, but the store could not be told (%s), "
                   "so other processes may still serve the entries: call again: %s",
                   tkn_strerror(rc), se);
  return TKN_OK;
}

static int shared_get(void *state, int32_t scope, const char *sid, size_t sid_len,
                      const char *tool, size_t tool_len, const char *key, size_t key_len,
                      char **value, size_t *value_len, int64_t *tokens, int *failed,
                      char err[TKI_ERRLEN]) {
  struct tki_tcshared *s = state;
  char k[TKN_STORE_KEY_MAX + 64];
  size_t klen = store_key(s, scope, sid, sid_len, key, key_len, k);
  size_t cap = FIRST_READ, len = 0;
  char se[256] = "";
  *failed = 0;
  char *buf = tki_malloc(cap);
  if (!buf) return TKN_ERR_NOT_FOUND;
  int rc = s->st.get(s->st.user, k, klen, buf, cap, &len, se, sizeof se);
  if (rc == TKN_ERR_TOO_SMALL && len > cap) {
    tki_free(buf);
    cap = len;
    if (!(buf = tki_malloc(cap))) return TKN_ERR_NOT_FOUND;
    rc = s->st.get(s->st.user, k, klen, buf, cap, &len, se, sizeof se);
  }
  if (rc != TKN_OK) {
    tki_free(buf);
    if (rc != TKN_ERR_NOT_FOUND) {
      *failed = 1;
      tki_err(err, rc, "tool cache: store get failed, counted as a miss (%s): %s",
              tkn_strerror(rc), se);
    }
    return TKN_ERR_NOT_FOUND;
  }
  const unsigned char *p = (const unsigned char *)buf;
  int match = len >= HEAD && memcmp(p, MAGIC, 4) == 0 && (int32_t)get_u32(p + 12) == scope &&
              get_u32(p + 16) == sid_len && get_u32(p + 20) == key_len &&
              len - HEAD >= sid_len + key_len &&
              (sid_len == 0 || memcmp(p + HEAD, sid, sid_len) == 0) &&
              memcmp(p + HEAD + sid_len, key, key_len) == 0;
  if (!match) {
    tki_free(buf);
    return TKN_ERR_NOT_FOUND;
  }
  tki_tc_stamp stamp = {{0, 0, 0}, 1};
  for (int i = 0; i < 3; i++) stamp.gen[i] = (int64_t)get_u64(p + 24 + 8 * i);
  rc = shared_check(s, scope, sid, sid_len, tool, tool_len, &stamp, err);
  if (rc != TKN_OK) {
    tki_free(buf);
    if (rc != TKN_ERR_NOT_FOUND) *failed = 1;
    return TKN_ERR_NOT_FOUND;
  }
  size_t off = HEAD + sid_len + key_len, vlen = len - off;
  char *v = tki_malloc(vlen + 1);
  if (!v) {
    tki_free(buf);
    return TKN_ERR_NOT_FOUND;
  }
  memcpy(v, buf + off, vlen);
  v[vlen] = '\0';
  *tokens = (int64_t)get_u64(p + 4);
  tki_free(buf);
  *value = v;
  *value_len = vlen;
  return TKN_OK;
}

static int shared_put(void *state, int32_t scope, const char *sid, size_t sid_len,
                      const char *tool, size_t tool_len, const char *key, size_t key_len,
                      const char *value, size_t value_len, int64_t tokens, int64_t ttl_ms,
                      tki_tc_stamp *stamp, char err[TKI_ERRLEN]) {
  struct tki_tcshared *s = state;
  char k[TKN_STORE_KEY_MAX + 64];
  size_t klen = store_key(s, scope, sid, sid_len, key, key_len, k);
  if (key_len > UINT32_MAX || value_len > SIZE_MAX - HEAD - sid_len - key_len)
    return tki_err(err, TKN_ERR_LIMIT, "tool cache: entry too large for the store");
  int rc = read_stamp(s, scope, sid, sid_len, tool, tool_len, stamp, err);
  if (rc != TKN_OK) return rc;
  size_t len = HEAD + sid_len + key_len + value_len;
  unsigned char *buf = tki_malloc(len ? len : 1);
  if (!buf) return tki_err(err, TKN_ERR_NOMEM, "tool cache: out of memory writing to the store");
  memcpy(buf, MAGIC, 4);
  put_u64(buf + 4, (uint64_t)tokens);
  put_u32(buf + 12, (uint32_t)scope);
  put_u32(buf + 16, (uint32_t)sid_len);
  put_u32(buf + 20, (uint32_t)key_len);
  for (int i = 0; i < 3; i++) put_u64(buf + 24 + 8 * i, (uint64_t)stamp->gen[i]);
  if (sid_len) memcpy(buf + HEAD, sid, sid_len);
  memcpy(buf + HEAD + sid_len, key, key_len);
  if (value_len) memcpy(buf + HEAD + sid_len + key_len, value, value_len);
  char se[256] = "";
  rc = s->st.set(s->st.user, k, klen, (const char *)buf, len, ttl_ms, se, sizeof se);
  tki_free(buf);
  if (rc != TKN_OK)
    return tki_err(err, rc, "tool cache: stored locally only, the store's set failed (%s): %s",
                   tkn_strerror(rc), se);
  return TKN_OK;
}

static void shared_free(void *state) {
  struct tki_tcshared *s = state;
  if (!s) return;
  tki_free(s->prefix);
  tki_free(s);
}

static int shared_make(struct tki_tcshared **out, const tkn_store *store, const char *prefix,
                       size_t prefix_len, char err[TKI_ERRLEN]) {
  *out = NULL;
  if (!store) return TKN_OK;
  int rc = tki_store_check(store, "gsad", "tool cache", err);
  if (rc != TKN_OK) return rc;
  if (!prefix || prefix_len == 0 || prefix_len > 256)
    return tki_err(err, TKN_ERR_INVALID, "tool cache: store prefix must be 1 to 256 bytes");
  struct tki_tcshared *s = tki_calloc(1, sizeof *s);
  if (!s || !(s->prefix = tki_strndup(prefix, prefix_len))) {
    tki_free(s);
    return tki_err(err, TKN_ERR_NOMEM, "tool cache: out of memory attaching a store");
  }
  s->st = *store;
  s->prefix_len = prefix_len;
  *out = s;
  return TKN_OK;
}

static const tki_toolcache_backend store_backend = {shared_get, shared_put, shared_check,
                                                     shared_invalidate, shared_free};

int tkn_toolcache_set_store(tkn_toolcache *c, const tkn_store *store, const char *prefix,
                            size_t prefix_len) {
  prefix_len = tki_len(prefix, prefix_len);
  if (!c) return tki_fail_null("tkn_toolcache_set_store", "cache");
  char err[TKI_ERRLEN];
  struct tki_tcshared *s;
  int rc = shared_make(&s, store, prefix, prefix_len, err);
  if (rc != TKN_OK) return tki_toolcache_fail(c, rc, err);
  tki_toolcache_set_backend(c, s ? &store_backend : NULL, s);
  return TKN_OK;
}
