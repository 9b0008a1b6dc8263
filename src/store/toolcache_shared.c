/* The tool cache on a store: a put also sets the entry in the store, a local
 * miss asks the store.  The store's value carries the whole key (scope, scope
 * id, tool and canonical arguments), compared on a hit, so a hash collision
 * of store keys never serves another call's result.  Fails open: a store
 * that cannot be reached makes a miss, never an error for the caller.  This
 * file is a tool-cache backend (toolcache_internal.h): toolcache.c calls the
 * table, never the store. */
#include <stdio.h>
#include <string.h>

#include "../toolcache/toolcache_internal.h"
#include "store_internal.h"

/* value layout: magic, tokens (8 bytes, little-endian), scope, sid_len,
 * key_len (4 bytes each), then the scope id, the key and the value */
#define MAGIC "TKC1"
#define HEAD (4 + 8 + 4 + 4 + 4)
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

static int shared_get(void *state, int32_t scope, const char *sid, size_t sid_len,
                      const char *key, size_t key_len, char **value, size_t *value_len,
                      int64_t *tokens, int *failed, char err[TKI_ERRLEN]) {
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
                      const char *key, size_t key_len, const char *value, size_t value_len,
                      int64_t tokens, int64_t ttl_ms, char err[TKI_ERRLEN]) {
  struct tki_tcshared *s = state;
  char k[TKN_STORE_KEY_MAX + 64];
  size_t klen = store_key(s, scope, sid, sid_len, key, key_len, k);
  if (key_len > UINT32_MAX || value_len > SIZE_MAX - HEAD - sid_len - key_len)
    return tki_err(err, TKN_ERR_LIMIT, "tool cache: entry too large for the store");
  size_t len = HEAD + sid_len + key_len + value_len;
  unsigned char *buf = tki_malloc(len ? len : 1);
  if (!buf) return tki_err(err, TKN_ERR_NOMEM, "tool cache: out of memory writing to the store");
  memcpy(buf, MAGIC, 4);
  put_u64(buf + 4, (uint64_t)tokens);
  put_u32(buf + 12, (uint32_t)scope);
  put_u32(buf + 16, (uint32_t)sid_len);
  put_u32(buf + 20, (uint32_t)key_len);
  if (sid_len) memcpy(buf + HEAD, sid, sid_len);
  memcpy(buf + HEAD + sid_len, key, key_len);
  if (value_len) memcpy(buf + HEAD + sid_len + key_len, value, value_len);
  char se[256] = "";
  int rc = s->st.set(s->st.user, k, klen, (const char *)buf, len, ttl_ms, se, sizeof se);
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
  int rc = tki_store_check(store, "gs", "tool cache", err);
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

static const tki_toolcache_backend store_backend = {shared_get, shared_put, shared_free};

int tkn_toolcache_set_store(tkn_toolcache *c, const tkn_store *store, const char *prefix,
                            size_t prefix_len) {
  if (!c) return tki_fail(TKN_ERR_INVALID, "tkn_toolcache_set_store: c is NULL");
  char err[TKI_ERRLEN];
  struct tki_tcshared *s;
  int rc = shared_make(&s, store, prefix, prefix_len, err);
  if (rc != TKN_OK) return tki_toolcache_fail(c, rc, err);
  tki_toolcache_set_backend(c, s ? &store_backend : NULL, s);
  return TKN_OK;
}
