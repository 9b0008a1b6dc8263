/* The tkn_store interface on Redis, through hiredis's synchronous API.
 *
 * Every operation that must be atomic is one Lua script: the server runs a
 * script alone, so a reservation's check and add cannot interleave with
 * another worker's.  Scripts are loaded on connect (SCRIPT LOAD) and called
 * by SHA; a server that answers NOSCRIPT (restarted, flushed, failed over)
 * gets the script's text with EVAL instead.
 *
 * One connection per handle, under a mutex.  A failure on the connection
 * drops it; the command is resent on a new connection up to `retries` times
 * when that is safe (every command here is idempotent except an add without
 * an id), then the caller gets TKN_ERR_UNAVAILABLE. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "tokenomy-redis/redis.h"

#define ERRLEN 512
#define EXACT_MAX ((int64_t)1 << 53)
#define KEYBUF (TKN_STORE_KEY_MAX + 256 + TKN_STORE_ID_MAX + 16)

enum { S_RESERVE, S_COMMIT, S_RELEASE, S_USAGE, S_ADD, NSCRIPTS };

/* KEYS[1] counters (c<i> committed, r<i> reserved), KEYS[2] open
 * reservations (id -> "a0,a1,..."), KEYS[3] their lease ends (zset, ms).
 * Drops reservations whose lease ended; defines `now` (server ms). */
#define LUA_PURGE                                                                   \
  "local t = redis.call('TIME')\n"                                                  \
  "local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"         \
  "local function unreserve(rid)\n"                                                 \
  "  local v = redis.call('HGET', KEYS[2], rid)\n"                                  \
  "  if v then\n"                                                                   \
  "    local i = 0\n"                                                               \
  "    for a in string.gmatch(v, '[^,]+') do\n"                                     \
  "      if a ~= '0' then redis.call('HINCRBY', KEYS[1], 'r' .. i, '-' .. a) end\n" \
  "      i = i + 1\n"                                                               \
  "    end\n"                                                                       \
  "    redis.call('HDEL', KEYS[2], rid)\n"                                          \
  "  end\n"                                                                         \
  "  redis.call('ZREM', KEYS[3], rid)\n"                                            \
  "end\n"                                                                           \
  "for _, rid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do\n"    \
  "  unreserve(rid)\n"                                                              \
  "end\n"                                                                           \
  "local function used(n)\n"                                                        \
  "  local u = {}\n"                                                                \
  "  for i = 0, n - 1 do\n"                                                         \
  "    local v = redis.call('HMGET', KEYS[1], 'c' .. i, 'r' .. i)\n"                \
  "    u[i + 1] = tonumber(v[1] or '0') + tonumber(v[2] or '0')\n"                  \
  "  end\n"                                                                         \
  "  return u\n"                                                                    \
  "end\n"                                                                           \
  "local function touch(ttl)\n"                                                     \
  "  if ttl > 0 then for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ttl) end end\n"  \
  "end\n"

/* KEYS b res exp done; ARGV id n lease_ms ttl a[0..n) limit[0..n) (-1: none).
 * Returns {status, used...}: status 1 granted, 2 already open or committed,
 * 0 refused. */
static const char LUA_RESERVE[] =
    LUA_PURGE
    "local id, n, lease, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local u = used(n)\n"
    "if redis.call('HEXISTS', KEYS[2], id) == 1 or redis.call('EXISTS', KEYS[4]) == 1 then\n"
    "  table.insert(u, 1, 2) return u\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local lim = tonumber(ARGV[5 + n + i])\n"
    "  if lim >= 0 and u[i + 1] + tonumber(ARGV[5 + i]) > lim then\n"
    "    table.insert(u, 1, 0) return u\n"
    "  end\n"
    "end\n"
    "local parts = {}\n"
    "for i = 0, n - 1 do\n"
    "  local a = ARGV[5 + i]\n"
    "  if a ~= '0' then redis.call('HINCRBY', KEYS[1], 'r' .. i, a) end\n"
    "  u[i + 1] = u[i + 1] + tonumber(a)\n"
    "  parts[i + 1] = a\n"
    "end\n"
    "redis.call('HSET', KEYS[2], id, table.concat(parts, ','))\n"
    "redis.call('ZADD', KEYS[3], now + lease, id)\n"
    "touch(ttl)\n"
    "table.insert(u, 1, 1) return u\n";

/* KEYS b res exp done; ARGV id n id_ttl ttl actual[0..n).
 * Returns {duplicate, used...}. */
static const char LUA_COMMIT[] =
    LUA_PURGE
    "local id, n, idttl, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local dup = 0\n"
    "if redis.call('EXISTS', KEYS[4]) == 1 then\n"
    "  dup = 1\n"
    "else\n"
    "  unreserve(id)\n"
    "  for i = 0, n - 1 do\n"
    "    if ARGV[5 + i] ~= '0' then redis.call('HINCRBY', KEYS[1], 'c' .. i, ARGV[5 + i]) end\n"
    "  end\n"
    "  redis.call('SET', KEYS[4], '1', 'EX', idttl)\n"
    "  touch(ttl)\n"
    "end\n"
    "local u = used(n)\n"
    "table.insert(u, 1, dup) return u\n";

/* KEYS b res exp; ARGV id. */
static const char LUA_RELEASE[] = LUA_PURGE "unreserve(ARGV[1]) return 1\n";

/* KEYS b res exp; ARGV n.  Returns {c0.., r0..}. */
static const char LUA_USAGE[] =
    LUA_PURGE
    "local n, out = tonumber(ARGV[1]), {}\n"
    "for i = 0, n - 1 do\n"
    "  local v = redis.call('HMGET', KEYS[1], 'c' .. i, 'r' .. i)\n"
    "  out[i + 1] = tonumber(v[1] or '0')\n"
    "  out[n + i + 1] = tonumber(v[2] or '0')\n"
    "end\n"
    "return out\n";

/* KEYS counters done; ARGV has_id n id_ttl delta[0..n).  {duplicate, totals...} */
static const char LUA_ADD[] =
    "local n, dup = tonumber(ARGV[2]), 0\n"
    "if ARGV[1] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  dup = 1\n"
    "else\n"
    "  for i = 0, n - 1 do\n"
    "    if ARGV[4 + i] ~= '0' then redis.call('HINCRBY', KEYS[1], tostring(i), ARGV[4 + i]) end\n"
    "  end\n"
    "  if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end\n"
    "end\n"
    "local u = {dup}\n"
    "for i = 0, n - 1 do u[i + 2] = tonumber(redis.call('HGET', KEYS[1], tostring(i)) or '0') end\n"
    "return u\n";

static const char *const g_scripts[NSCRIPTS] = {LUA_RESERVE, LUA_COMMIT, LUA_RELEASE, LUA_USAGE,
                                                 LUA_ADD};

struct tkn_redis {
  pthread_mutex_t mu; /* the connection and the SHAs */
  redisContext *c;
  char sha[NSCRIPTS][41];
  char *host;
  int port;
  char *prefix;
  size_t prefix_len;
  char *password;
  size_t password_len;
  int64_t connect_ms, command_ms;
  uint32_t retries, retry_delay_ms;
  uint64_t connects;
  pthread_mutex_t errmu;
  char err[ERRLEN];
};

/* ---- helpers ---- */

static void set_err(tkn_redis *r, const char *text, char *err, size_t errlen) {
  pthread_mutex_lock(&r->errmu);
  snprintf(r->err, sizeof r->err, "%s", text);
  pthread_mutex_unlock(&r->errmu);
  if (err && errlen) snprintf(err, errlen, "%s", text);
}

static int fail(tkn_redis *r, int rc, char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
static int fail(tkn_redis *r, int rc, char *err, size_t errlen, const char *fmt, ...) {
  char text[ERRLEN];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(text, sizeof text, fmt, ap);
  va_end(ap);
  set_err(r, text, err, errlen);
  return rc;
}

static struct timeval tv_of(int64_t ms) {
  struct timeval tv;
  tv.tv_sec = (time_t)(ms / 1000);
  tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
  return tv;
}

static void sleep_ms(int64_t ms) {
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static void drop(tkn_redis *r) {
  if (r->c) redisFree(r->c);
  r->c = NULL;
}

/* Errors a restarting or busy server answers with: worth a retry. */
static int transient(const char *s) {
  return strncmp(s, "LOADING", 7) == 0 || strncmp(s, "BUSY", 4) == 0 ||
         strncmp(s, "MASTERDOWN", 10) == 0 || strncmp(s, "TRYAGAIN", 8) == 0;
}

/* Connect, authenticate and load the scripts.  Caller holds mu. */
static int connect_locked(tkn_redis *r, char *why, size_t whylen) {
  redisContext *c = redisConnectWithTimeout(r->host, r->port, tv_of(r->connect_ms));
  if (!c) {
    snprintf(why, whylen, "cannot allocate a connection");
    return TKN_ERR_UNAVAILABLE;
  }
  if (c->err) {
    snprintf(why, whylen, "%s", c->errstr);
    redisFree(c);
    return TKN_ERR_UNAVAILABLE;
  }
  redisSetTimeout(c, tv_of(r->command_ms));
  r->c = c;
  if (r->password) {
    const char *argv[2] = {"AUTH", r->password};
    size_t lens[2] = {4, r->password_len};
    redisReply *rep = redisCommandArgv(c, 2, argv, lens);
    int ok = rep && rep->type == REDIS_REPLY_STATUS;
    snprintf(why, whylen, "AUTH: %s", rep && rep->str ? rep->str : c->errstr);
    if (rep) freeReplyObject(rep);
    if (!ok) {
      drop(r);
      return TKN_ERR_UNAVAILABLE;
    }
  }
  for (int i = 0; i < NSCRIPTS; i++) {
    const char *argv[3] = {"SCRIPT", "LOAD", g_scripts[i]};
    size_t lens[3] = {6, 4, strlen(g_scripts[i])};
    redisReply *rep = redisCommandArgv(c, 3, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_STRING || rep->len != 40) {
      snprintf(why, whylen, "SCRIPT LOAD: %s", rep && rep->str ? rep->str : c->errstr);
      if (rep) freeReplyObject(rep);
      drop(r);
      return TKN_ERR_UNAVAILABLE;
    }
    memcpy(r->sha[i], rep->str, 40);
    r->sha[i][40] = '\0';
    freeReplyObject(rep);
  }
  r->connects++;
  return TKN_OK;
}

/* Send a command and return its reply, reconnecting and resending on a
 * connection failure (only before anything was sent unless `resend`).  A
 * script command (argv[0] "EVALSHA", argv[1] the SHA slot) falls back to
 * EVAL on NOSCRIPT.  Caller holds mu.  NULL: *rc and err are set. */
static redisReply *command(tkn_redis *r, int script, int argc, const char **argv,
                           size_t *lens, int resend, int *rc, char *err, size_t errlen) {
  char why[ERRLEN] = "";
  int64_t delay = r->retry_delay_ms;
  for (uint32_t attempt = 0;; attempt++) {
    int sent = 0;
    if (!r->c && connect_locked(r, why, sizeof why) != TKN_OK) goto retry;
    if (script >= 0) {
      argv[0] = "EVALSHA";
      argv[1] = r->sha[script];
      lens[0] = 7;
      lens[1] = 40;
    }
    sent = 1;
    redisReply *rep = redisCommandArgv(r->c, argc, argv, lens);
    if (rep && script >= 0 && rep->type == REDIS_REPLY_ERROR &&
        strncmp(rep->str, "NOSCRIPT", 8) == 0) {
      freeReplyObject(rep);
      argv[0] = "EVAL";
      argv[1] = g_scripts[script];
      lens[0] = 4;
      lens[1] = strlen(g_scripts[script]);
      rep = redisCommandArgv(r->c, argc, argv, lens);
    }
    if (!rep) {
      snprintf(why, sizeof why, "%s", r->c->errstr[0] ? r->c->errstr : "connection lost");
      drop(r);
      goto retry;
    }
    if (rep->type == REDIS_REPLY_ERROR && transient(rep->str)) {
      snprintf(why, sizeof why, "server busy: %s", rep->str);
      freeReplyObject(rep);
      sent = 0; /* refused before running: safe to resend */
      goto retry;
    }
    return rep;
  retry:
    if (attempt >= r->retries || (sent && !resend)) {
      *rc = fail(r, TKN_ERR_UNAVAILABLE, err, errlen, "redis %s:%d unavailable%s: %s", r->host,
                 r->port, sent && !resend ? " (not resent: not idempotent)" : "", why);
      return NULL;
    }
    sleep_ms(delay);
    delay *= 2;
  }
}

/* A reply that is an error (not transient): its status. */
static int reply_error(tkn_redis *r, redisReply *rep, const char *what, char *err, size_t errlen) {
  int rc = strstr(rep->str, "overflow") ? TKN_ERR_OVERFLOW : TKN_ERR_IO;
  return fail(r, rc, err, errlen, "redis %s: %s", what, rep->str);
}

/* Read an array reply of `n` integers into out. */
static int int_array(tkn_redis *r, redisReply *rep, size_t n, int64_t *out, const char *what,
                     char *err, size_t errlen) {
  if (rep->type == REDIS_REPLY_ERROR) return reply_error(r, rep, what, err, errlen);
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
    return fail(r, TKN_ERR_IO, err, errlen, "redis %s: unexpected reply (type %d)", what,
                rep->type);
  for (size_t i = 0; i < n; i++) {
    if (rep->element[i]->type != REDIS_REPLY_INTEGER)
      return fail(r, TKN_ERR_IO, err, errlen, "redis %s: element %zu is not an integer", what, i);
    out[i] = rep->element[i]->integer;
  }
  return TKN_OK;
}

/* prefix + key + suffix into buf (KEYBUF bytes). */
static size_t key_of(const tkn_redis *r, const char *key, size_t len, const char *suffix,
                     const char *id, char *buf) {
  size_t n = 0;
  memcpy(buf, r->prefix, r->prefix_len);
  n += r->prefix_len;
  memcpy(buf + n, key, len);
  n += len;
  size_t sl = strlen(suffix);
  memcpy(buf + n, suffix, sl);
  n += sl;
  if (id) {
    size_t il = strlen(id);
    memcpy(buf + n, id, il);
    n += il;
  }
  return n;
}

static int check_key(tkn_redis *r, const char *key, size_t len, const char *id, uint32_t n,
                     char *err, size_t errlen) {
  if (!key || len == 0 || len > TKN_STORE_KEY_MAX)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis store: key must be 1 to %d bytes",
                TKN_STORE_KEY_MAX);
  if (id && (strlen(id) == 0 || strlen(id) > TKN_STORE_ID_MAX))
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis store: id must be 1 to %d bytes",
                TKN_STORE_ID_MAX);
  if (n == 0 || n > TKN_STORE_MAX_N)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis store: %u counters (1 to %d)", n,
                TKN_STORE_MAX_N);
  return TKN_OK;
}

/* Decimal text of an amount that Lua's doubles hold exactly. */
static int amount_text(tkn_redis *r, int64_t v, int allow_negative, char *out, char *err,
                       size_t errlen) {
  if ((!allow_negative && v < 0) || v >= EXACT_MAX || v <= -EXACT_MAX)
    return fail(r, v < 0 ? TKN_ERR_INVALID : TKN_ERR_LIMIT, err, errlen,
                "redis store: amount %lld is %s", (long long)v,
                v < 0 ? "negative" : "above 2^53 (not exact in Lua)");
  snprintf(out, 24, "%lld", (long long)v);
  return TKN_OK;
}

/* ---- the store callbacks ---- */

/* The arguments reserve and commit share: EVALSHA (the sha is filled in by
 * command()), the budget's four keys (the last one per reservation id), the
 * id, then n and two numbers.  Returns how many arguments it wrote. */
static int id_script_head(tkn_redis *r, const char *key, size_t key_len, const char *id,
                          uint32_t n, int64_t x, int64_t y, char kb[4][KEYBUF], char num[][24],
                          const char **argv, size_t *lens) {
  static const char *const suffix[4] = {":b", ":res", ":exp", ":done:"};
  int a = 0;
  argv[a] = "EVALSHA", lens[a++] = 7;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "4", lens[a++] = 1;
  for (int k = 0; k < 4; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], k == 3 ? id : NULL, kb[k]);
    argv[a++] = kb[k];
  }
  argv[a] = id, lens[a++] = strlen(id);
  snprintf(num[0], 24, "%u", n);
  snprintf(num[1], 24, "%lld", (long long)x);
  snprintf(num[2], 24, "%lld", (long long)y);
  for (int k = 0; k < 3; k++) argv[a] = num[k], lens[a++] = strlen(num[k]);
  return a;
}

static int st_reserve(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                      const int64_t *amounts, const int64_t *limits, int64_t lease_ms,
                      int64_t ttl_seconds, int64_t *used, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, id, n, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!id || !amounts || !limits || !used || lease_ms <= 0 || ttl_seconds < 0)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis reserve: bad argument");
  char kb[4][KEYBUF], num[2 * TKN_STORE_MAX_N + 4][24];
  const char *argv[6 + 4 + 2 * TKN_STORE_MAX_N];
  size_t lens[6 + 4 + 2 * TKN_STORE_MAX_N];
  int a = id_script_head(r, key, key_len, id, n, lease_ms, ttl_seconds, kb, num, argv, lens);
  for (uint32_t i = 0; i < n; i++) {
    if ((rc = amount_text(r, amounts[i], 0, num[3 + i], err, errlen)) != TKN_OK) return rc;
    argv[a] = num[3 + i], lens[a++] = strlen(num[3 + i]);
  }
  for (uint32_t i = 0; i < n; i++) {
    char *t = num[3 + n + i];
    if (limits[i] == INT64_MAX) snprintf(t, 24, "-1");
    else if ((rc = amount_text(r, limits[i], 0, t, err, errlen)) != TKN_OK) return rc;
    argv[a] = t, lens[a++] = strlen(t);
  }
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, S_RESERVE, a, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  int64_t out[1 + TKN_STORE_MAX_N];
  rc = int_array(r, rep, n + 1, out, "reserve", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  memcpy(used, out + 1, n * sizeof *used);
  if (out[0] == 0) return fail(r, TKN_ERR_BUDGET, err, errlen, "reservation refused by the limit");
  return TKN_OK;
}

static int st_commit(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                     const int64_t *actual, int64_t id_ttl_seconds, int64_t ttl_seconds,
                     int64_t *used, int32_t *duplicate, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, id, n, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!id || !actual || id_ttl_seconds <= 0 || ttl_seconds < 0)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis commit: bad argument");
  char kb[4][KEYBUF], num[TKN_STORE_MAX_N + 3][24];
  const char *argv[7 + 3 + TKN_STORE_MAX_N];
  size_t lens[7 + 3 + TKN_STORE_MAX_N];
  int a = id_script_head(r, key, key_len, id, n, id_ttl_seconds, ttl_seconds, kb, num, argv, lens);
  for (uint32_t i = 0; i < n; i++) {
    if ((rc = amount_text(r, actual[i], 0, num[3 + i], err, errlen)) != TKN_OK) return rc;
    argv[a] = num[3 + i], lens[a++] = strlen(num[3 + i]);
  }
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, S_COMMIT, a, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  int64_t out[1 + TKN_STORE_MAX_N];
  rc = int_array(r, rep, n + 1, out, "commit", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  if (used) memcpy(used, out + 1, n * sizeof *used);
  if (duplicate) *duplicate = (int32_t)out[0];
  return TKN_OK;
}

static int st_release(void *user, const char *key, size_t key_len, const char *id, char *err,
                      size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, id, 1, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!id) return fail(r, TKN_ERR_INVALID, err, errlen, "redis release: id is NULL");
  char kb[3][KEYBUF];
  const char *argv[7];
  size_t lens[7];
  int a = 0;
  argv[a] = "EVALSHA", lens[a++] = 7;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "3", lens[a++] = 1;
  static const char *const suffix[3] = {":b", ":res", ":exp"};
  for (int k = 0; k < 3; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], NULL, kb[k]);
    argv[a++] = kb[k];
  }
  argv[a] = id, lens[a++] = strlen(id);
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, S_RELEASE, a, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  rc = rep->type == REDIS_REPLY_ERROR ? reply_error(r, rep, "release", err, errlen) : TKN_OK;
  freeReplyObject(rep);
  return rc;
}

static int st_usage(void *user, const char *key, size_t key_len, uint32_t n, int64_t *committed,
                    int64_t *reserved, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, NULL, n, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!committed || !reserved)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis usage: bad argument");
  char kb[3][KEYBUF], num[24];
  const char *argv[7];
  size_t lens[7];
  int a = 0;
  argv[a] = "EVALSHA", lens[a++] = 7;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "3", lens[a++] = 1;
  static const char *const suffix[3] = {":b", ":res", ":exp"};
  for (int k = 0; k < 3; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], NULL, kb[k]);
    argv[a++] = kb[k];
  }
  snprintf(num, sizeof num, "%u", n);
  argv[a] = num, lens[a++] = strlen(num);
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, S_USAGE, a, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  int64_t out[2 * TKN_STORE_MAX_N];
  rc = int_array(r, rep, 2 * (size_t)n, out, "usage", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  memcpy(committed, out, n * sizeof *committed);
  memcpy(reserved, out + n, n * sizeof *reserved);
  return TKN_OK;
}

static int st_get(void *user, const char *key, size_t key_len, char *buf, size_t cap,
                  size_t *value_len, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, NULL, 1, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!value_len || (!buf && cap))
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis get: bad argument");
  char kb[KEYBUF];
  const char *argv[2] = {"GET", kb};
  size_t lens[2] = {3, key_of(r, key, key_len, "", NULL, kb)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, -1, 2, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  if (rep->type == REDIS_REPLY_NIL) {
    rc = TKN_ERR_NOT_FOUND;
  } else if (rep->type == REDIS_REPLY_STRING) {
    *value_len = rep->len;
    if (rep->len > cap) rc = TKN_ERR_TOO_SMALL;
    else if (rep->len) memcpy(buf, rep->str, rep->len);
  } else if (rep->type == REDIS_REPLY_ERROR) {
    rc = reply_error(r, rep, "get", err, errlen);
  } else {
    rc = fail(r, TKN_ERR_IO, err, errlen, "redis get: unexpected reply (type %d)", rep->type);
  }
  freeReplyObject(rep);
  return rc;
}

static int st_set(void *user, const char *key, size_t key_len, const char *value,
                  size_t value_len, int64_t ttl_ms, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, NULL, 1, err, errlen);
  if (rc != TKN_OK) return rc;
  if ((!value && value_len) || ttl_ms < 0)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis set: bad argument");
  char kb[KEYBUF], num[24];
  snprintf(num, sizeof num, "%lld", (long long)ttl_ms);
  const char *argv[5] = {"SET", kb, value ? value : "", "PX", num};
  size_t lens[5] = {3, key_of(r, key, key_len, "", NULL, kb), value_len, 2, strlen(num)};
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, -1, ttl_ms > 0 ? 5 : 3, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  rc = rep->type == REDIS_REPLY_ERROR ? reply_error(r, rep, "set", err, errlen) : TKN_OK;
  freeReplyObject(rep);
  return rc;
}

static int st_add(void *user, const char *key, size_t key_len, const char *id, uint32_t n,
                  const int64_t *deltas, int64_t id_ttl_seconds, int64_t *totals,
                  int32_t *duplicate, char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, id, n, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!deltas || (id && id_ttl_seconds <= 0))
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis add: bad argument");
  char kb[2][KEYBUF], num[TKN_STORE_MAX_N + 2][24];
  const char *argv[5 + 3 + TKN_STORE_MAX_N];
  size_t lens[5 + 3 + TKN_STORE_MAX_N];
  int a = 0;
  argv[a] = "EVALSHA", lens[a++] = 7;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "2", lens[a++] = 1;
  lens[a] = key_of(r, key, key_len, ":n", NULL, kb[0]);
  argv[a++] = kb[0];
  lens[a] = key_of(r, key, key_len, ":added:", id ? id : "-", kb[1]);
  argv[a++] = kb[1];
  argv[a] = id ? "1" : "0", lens[a++] = 1;
  snprintf(num[0], 24, "%u", n);
  snprintf(num[1], 24, "%lld", (long long)(id ? id_ttl_seconds : 1));
  argv[a] = num[0], lens[a++] = strlen(num[0]);
  argv[a] = num[1], lens[a++] = strlen(num[1]);
  for (uint32_t i = 0; i < n; i++) {
    if ((rc = amount_text(r, deltas[i], 1, num[2 + i], err, errlen)) != TKN_OK) return rc;
    argv[a] = num[2 + i], lens[a++] = strlen(num[2 + i]);
  }
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, S_ADD, a, argv, lens, id != NULL, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  int64_t out[1 + TKN_STORE_MAX_N];
  rc = int_array(r, rep, n + 1, out, "add", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  if (totals) memcpy(totals, out + 1, n * sizeof *totals);
  if (duplicate) *duplicate = (int32_t)out[0];
  return TKN_OK;
}

static int st_read(void *user, const char *key, size_t key_len, uint32_t n, int64_t *values,
                   char *err, size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, NULL, n, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!values) return fail(r, TKN_ERR_INVALID, err, errlen, "redis read: values is NULL");
  char kb[KEYBUF], num[TKN_STORE_MAX_N][8];
  const char *argv[2 + TKN_STORE_MAX_N];
  size_t lens[2 + TKN_STORE_MAX_N];
  argv[0] = "HMGET", lens[0] = 5;
  lens[1] = key_of(r, key, key_len, ":n", NULL, kb);
  argv[1] = kb;
  for (uint32_t i = 0; i < n; i++) {
    snprintf(num[i], sizeof num[i], "%u", i);
    argv[2 + i] = num[i], lens[2 + i] = strlen(num[i]);
  }
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, -1, 2 + (int)n, argv, lens, 1, &rc, err, errlen);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  if (rep->type == REDIS_REPLY_ERROR) {
    rc = reply_error(r, rep, "read", err, errlen);
  } else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n) {
    rc = fail(r, TKN_ERR_IO, err, errlen, "redis read: unexpected reply");
  } else {
    for (uint32_t i = 0; i < n; i++) {
      redisReply *e = rep->element[i];
      values[i] = e->type == REDIS_REPLY_STRING ? strtoll(e->str, NULL, 10) : 0;
    }
  }
  freeReplyObject(rep);
  return rc;
}

/* ---- public ---- */

int tkn_redis_options_init(tkn_redis_options *opts, uint32_t version) {
  if (!opts) return TKN_ERR_INVALID;
  if (version != TKN_REDIS_OPTIONS_VERSION) return TKN_ERR_VERSION;
  tkn_redis_options init = TKN_REDIS_OPTIONS_INIT;
  *opts = init;
  return TKN_OK;
}

static char *dup_text(const char *s, size_t len) {
  char *d = malloc(len + 1);
  if (!d) return NULL;
  if (len) memcpy(d, s, len);
  d[len] = '\0';
  return d;
}

static int bad_option(char *errbuf, size_t errlen, int rc, const char *text) {
  if (errbuf && errlen) snprintf(errbuf, errlen, "%s", text);
  return rc;
}

void tkn_redis_free(tkn_redis *r) {
  if (!r) return;
  drop(r);
  pthread_mutex_destroy(&r->mu);
  pthread_mutex_destroy(&r->errmu);
  free(r->host);
  free(r->prefix);
  free(r->password);
  free(r);
}

int tkn_redis_new(tkn_redis **out, const tkn_redis_options *opts, char *errbuf, size_t errlen) {
  if (out) *out = NULL;
  tkn_redis_options def = TKN_REDIS_OPTIONS_INIT;
  if (!opts) opts = &def;
  if (!out) return bad_option(errbuf, errlen, TKN_ERR_INVALID, "tkn_redis_new: out is NULL");
  if (opts->version != TKN_REDIS_OPTIONS_VERSION)
    return bad_option(errbuf, errlen, TKN_ERR_VERSION, "redis options: unknown version");
  if (opts->port == 0 || opts->port > 65535)
    return bad_option(errbuf, errlen, TKN_ERR_INVALID, "redis options: port must be 1..65535");
  if ((opts->host && (opts->host_len == 0 || opts->host_len > 255 ||
                      memchr(opts->host, '\0', opts->host_len))) ||
      (opts->prefix && opts->prefix_len > 256) ||
      (opts->password && opts->password_len > 512))
    return bad_option(errbuf, errlen, TKN_ERR_INVALID,
                      "redis options: host 1..255 bytes without NUL, prefix <= 256, password <= 512");
  if (opts->connect_timeout_ms <= 0 || opts->command_timeout_ms <= 0 || opts->retries > 100 ||
      opts->retry_delay_ms > 60000)
    return bad_option(errbuf, errlen, TKN_ERR_INVALID,
                      "redis options: timeouts must be > 0, retries <= 100, retry_delay_ms <= 60000");
  tkn_redis *r = calloc(1, sizeof *r);
  if (!r) return bad_option(errbuf, errlen, TKN_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&r->mu, NULL);
  pthread_mutex_init(&r->errmu, NULL);
  r->host = opts->host ? dup_text(opts->host, opts->host_len) : dup_text("127.0.0.1", 9);
  r->prefix = opts->prefix ? dup_text(opts->prefix, opts->prefix_len) : dup_text("tkn:", 4);
  r->prefix_len = opts->prefix ? opts->prefix_len : 4;
  if (opts->password) {
    r->password = dup_text(opts->password, opts->password_len);
    r->password_len = opts->password_len;
  }
  if (!r->host || !r->prefix || (opts->password && !r->password)) {
    tkn_redis_free(r);
    return bad_option(errbuf, errlen, TKN_ERR_NOMEM, "out of memory");
  }
  r->port = (int)opts->port;
  r->connect_ms = opts->connect_timeout_ms;
  r->command_ms = opts->command_timeout_ms;
  r->retries = opts->retries;
  r->retry_delay_ms = opts->retry_delay_ms;
  *out = r;
  return TKN_OK;
}

int tkn_redis_store(tkn_redis *r, tkn_store *store) {
  if (!r || !store) return TKN_ERR_INVALID;
  tkn_store s = TKN_STORE_INIT;
  s.reserve = st_reserve;
  s.commit = st_commit;
  s.release = st_release;
  s.usage = st_usage;
  s.get = st_get;
  s.set = st_set;
  s.add = st_add;
  s.read = st_read;
  s.user = r;
  *store = s;
  return TKN_OK;
}

int tkn_redis_ping(tkn_redis *r) {
  if (!r) return TKN_ERR_INVALID;
  const char *argv[1] = {"PING"};
  size_t lens[1] = {4};
  int rc = TKN_OK;
  pthread_mutex_lock(&r->mu);
  redisReply *rep = command(r, -1, 1, argv, lens, 1, &rc, NULL, 0);
  pthread_mutex_unlock(&r->mu);
  if (!rep) return rc;
  if (rep->type != REDIS_REPLY_STATUS)
    rc = fail(r, TKN_ERR_IO, NULL, 0, "redis PING: %s", rep->str ? rep->str : "unexpected reply");
  freeReplyObject(rep);
  return rc;
}

uint64_t tkn_redis_reconnects(const tkn_redis *r) {
  if (!r) return 0;
  tkn_redis *m = (tkn_redis *)r;
  pthread_mutex_lock(&m->mu);
  uint64_t n = m->connects > 1 ? m->connects - 1 : 0;
  pthread_mutex_unlock(&m->mu);
  return n;
}

size_t tkn_redis_errmsg(const tkn_redis *r, char *buf, size_t buflen) {
  if (!r) {
    if (buf && buflen) snprintf(buf, buflen, "redis is NULL");
    return 13;
  }
  tkn_redis *m = (tkn_redis *)r;
  pthread_mutex_lock(&m->errmu);
  size_t n = strlen(m->err);
  if (buf && buflen) snprintf(buf, buflen, "%s", m->err);
  pthread_mutex_unlock(&m->errmu);
  return n;
}
