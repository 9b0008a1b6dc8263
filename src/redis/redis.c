/* The tkn_store interface on Redis.
 *
 * hiredis formats commands and parses replies; the I/O is ours: a socket with
 * a deadline on every step (connect, TLS handshake, write, read), optionally
 * wrapped in OpenSSL.  Debian 12's hiredis (0.14) has neither TLS nor
 * per-call deadlines, which is why.
 *
 * Every operation that must be atomic is one Lua script: the server runs a
 * script alone, so a reservation's check and add cannot interleave with
 * another worker's.  Scripts are called by SHA; a server that answers
 * NOSCRIPT (restarted, flushed, failed over) gets the script's text with EVAL.
 * Lua numbers are doubles, so the scripts never do arithmetic on an amount
 * as one number: counters live in Redis's 64-bit integers (HINCRBY, exact),
 * and sums and comparisons split each decimal into two parts below 10^9 and
 * 10^10, which doubles hold exactly.
 *
 * A small pool of connections (pool_size): a thread takes an idle one or
 * opens a new one, so one stalled call does not queue the others.  Each call
 * has a deadline (call_timeout_ms) that bounds waiting for a connection,
 * connecting, resends and reading the reply.
 *
 * Key layout 1: prefix "|1|" len ":" key suffix, len the decimal length of
 * the key, the prefix free of '|'; so no two (prefix, key, suffix) triples
 * share a Redis key, and keys of another layout are never read. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>

#if TKN_REDIS_TLS
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#endif

#include "tokenomy-redis/redis.h"

#define ERRLEN 512
#define KEYBUF (TKN_STORE_KEY_MAX + 256 + TKN_STORE_ID_MAX + 48)
#define LAYOUT "|1|"
#define POOL_MAX 64
#define ORPHANS_MAX 256

enum { S_RESERVE, S_COMMIT, S_RELEASE, S_USAGE, S_ADD, S_EPOCH, NSCRIPTS };

/* Exact arithmetic on non-negative decimals below 2^63: {hi, lo}, value
 * hi * 10^9 + lo. */
#define LUA_BIG                                                                     \
  "local B = 1000000000\n"                                                          \
  "local function big(s)\n"                                                         \
  "  s = s or '0'\n"                                                                \
  "  if string.sub(s, 1, 1) == '-' then return redis.error_reply('negative counter') end\n" \
  "  local n = #s\n"                                                                \
  "  if n <= 9 then return {0, tonumber(s)} end\n"                                  \
  "  return {tonumber(string.sub(s, 1, n - 9)), tonumber(string.sub(s, n - 8))}\n"  \
  "end\n"                                                                           \
  "local function plus(a, b)\n"                                                     \
  "  local hi, lo = a[1] + b[1], a[2] + b[2]\n"                                     \
  "  if lo >= B then hi, lo = hi + 1, lo - B end\n"                                 \
  "  return {hi, lo}\n"                                                             \
  "end\n"                                                                           \
  "local function above(a, b) return a[1] > b[1] or (a[1] == b[1] and a[2] > b[2]) end\n" \
  "local function text(a)\n"                                                        \
  "  if a[1] > 0 then return string.format('%d%09d', a[1], a[2]) end\n"            \
  "  return string.format('%d', a[2])\n"                                            \
  "end\n"                                                                           \
  "local MAX = big('9223372036854775807')\n"

/* KEYS[1] counters (c<i> committed, r<i> reserved), KEYS[2] open
 * reservations (id -> "a0,a1,..."), KEYS[3] their lease ends (zset, ms).
 * Drops reservations whose lease ended; defines `now` (server ms). */
#define LUA_PURGE                                                                   \
  LUA_BIG                                                                           \
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
  "    u[i + 1] = plus(big(v[1]), big(v[2]))\n"                                     \
  "  end\n"                                                                         \
  "  return u\n"                                                                    \
  "end\n"                                                                           \
  "local function reply(head, u)\n"                                                 \
  "  local out = {head}\n"                                                          \
  "  for i = 1, #u do out[i + 1] = text(u[i]) end\n"                                \
  "  return out\n"                                                                  \
  "end\n"                                                                           \
  "local function touch(ttl)\n"                                                     \
  "  if ttl > 0 then for k = 1, 3 do redis.call('EXPIRE', KEYS[k], ttl) end end\n"  \
  "end\n"

/* KEYS b res exp done gone; ARGV id n lease_ms ttl a[0..n) limit[0..n)
 * (-1: none).  Returns {status, used...}: status 1 granted, 2 already open,
 * committed or given up (gone), 0 refused. */
static const char LUA_RESERVE[] =
    LUA_PURGE
    "local id, n, lease, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local u = used(n)\n"
    "if redis.call('HEXISTS', KEYS[2], id) == 1 or redis.call('EXISTS', KEYS[4]) == 1 or\n"
    "   redis.call('EXISTS', KEYS[5]) == 1 then\n"
    "  return reply(2, u)\n"
    "end\n"
    "for i = 0, n - 1 do\n"
    "  local lim = ARGV[5 + n + i]\n"
    "  if lim ~= '-1' and above(plus(u[i + 1], big(ARGV[5 + i])), big(lim)) then\n"
    "    return reply(0, u)\n"
    "  end\n"
    "end\n"
    "local parts = {}\n"
    "for i = 0, n - 1 do\n"
    "  local a = ARGV[5 + i]\n"
    "  if a ~= '0' then redis.call('HINCRBY', KEYS[1], 'r' .. i, a) end\n"
    "  u[i + 1] = plus(u[i + 1], big(a))\n"
    "  parts[i + 1] = a\n"
    "end\n"
    "redis.call('HSET', KEYS[2], id, table.concat(parts, ','))\n"
    "redis.call('ZADD', KEYS[3], now + lease, id)\n"
    "touch(ttl)\n"
    "return reply(1, u)\n";

/* KEYS b res exp done gone; ARGV id n id_ttl ttl actual[0..n).
 * Returns {duplicate, used...}; an error, changing nothing, when a committed
 * counter would pass 2^63 - 1. */
static const char LUA_COMMIT[] =
    LUA_PURGE
    "local id, n, idttl, ttl = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])\n"
    "local dup = 0\n"
    "if redis.call('EXISTS', KEYS[4]) == 1 then\n"
    "  dup = 1\n"
    "else\n"
    "  for i = 0, n - 1 do\n"
    "    local c = redis.call('HGET', KEYS[1], 'c' .. i)\n"
    "    if above(plus(big(c), big(ARGV[5 + i])), MAX) then\n"
    "      return redis.error_reply('commit would overflow counter ' .. i)\n"
    "    end\n"
    "  end\n"
    "  unreserve(id)\n"
    "  for i = 0, n - 1 do\n"
    "    if ARGV[5 + i] ~= '0' then redis.call('HINCRBY', KEYS[1], 'c' .. i, ARGV[5 + i]) end\n"
    "  end\n"
    "  redis.call('SET', KEYS[4], '1', 'EX', idttl)\n"
    "  touch(ttl)\n"
    "end\n"
    "return reply(dup, used(n))\n";

/* KEYS b res exp gone; ARGV id gone_ttl.  With gone_ttl > 0 the id is also
 * marked given up, so a reserve that reaches the server late (its reply was
 * lost, then it was released) is not made. */
static const char LUA_RELEASE[] =
    LUA_PURGE
    "unreserve(ARGV[1])\n"
    "local g = tonumber(ARGV[2])\n"
    "if g > 0 then redis.call('SET', KEYS[4], '1', 'EX', g) end\n"
    "return 1\n";

/* KEYS b res exp; ARGV n.  Returns {c0.., r0..} as decimal text. */
static const char LUA_USAGE[] =
    LUA_PURGE
    "local n, out = tonumber(ARGV[1]), {}\n"
    "for i = 0, n - 1 do\n"
    "  local v = redis.call('HMGET', KEYS[1], 'c' .. i, 'r' .. i)\n"
    "  out[i + 1] = v[1] or '0'\n"
    "  out[n + i + 1] = v[2] or '0'\n"
    "end\n"
    "return out\n";

/* KEYS counters done; ARGV has_id n id_ttl delta[0..n).  {duplicate,
 * totals...}, totals as decimal text (HINCRBY is exact to 2^63).  Every
 * counter is checked first: a delta that would take one past int64 is an
 * error that changes nothing (HINCRBY alone would fail there after adding
 * the counters before it, and a resend would add those twice). */
static const char LUA_ADD[] =
    LUA_BIG
    "local MIN = big('9223372036854775808')\n"
    "local function mag(s) if string.sub(s, 1, 1) == '-' then return string.sub(s, 2) end\n"
    "  return s end\n"
    "local n, dup = tonumber(ARGV[2]), 0\n"
    "if ARGV[1] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then\n"
    "  dup = 1\n"
    "else\n"
    "  for i = 0, n - 1 do\n"
    "    local d = ARGV[4 + i]\n"
    "    local c = redis.call('HGET', KEYS[1], tostring(i)) or '0'\n"
    "    local dn, cn = string.sub(d, 1, 1) == '-', string.sub(c, 1, 1) == '-'\n"
    "    if dn == cn and d ~= '0' then\n"
    "      local sum = plus(big(mag(c)), big(mag(d)))\n"
    "      if (not dn and above(sum, MAX)) or (dn and above(sum, MIN)) then\n"
    "        return redis.error_reply('add would overflow counter ' .. i)\n"
    "      end\n"
    "    end\n"
    "  end\n"
    "  for i = 0, n - 1 do\n"
    "    if ARGV[4 + i] ~= '0' then redis.call('HINCRBY', KEYS[1], tostring(i), ARGV[4 + i]) end\n"
    "  end\n"
    "  if ARGV[1] == '1' then redis.call('SET', KEYS[2], '1', 'EX', ARGV[3]) end\n"
    "end\n"
    "local u = {dup}\n"
    "for i = 0, n - 1 do u[i + 2] = redis.call('HGET', KEYS[1], tostring(i)) or '0' end\n"
    "return u\n";

/* KEYS epoch; ARGV a fresh epoch.  The server's epoch, made now if absent. */
static const char LUA_EPOCH[] =
    "local v = redis.call('GET', KEYS[1])\n"
    "if not v then redis.call('SET', KEYS[1], ARGV[1]) v = ARGV[1] end\n"
    "return v\n";

static const char *const g_scripts[NSCRIPTS] = {LUA_RESERVE, LUA_COMMIT, LUA_RELEASE,
                                                 LUA_USAGE,   LUA_ADD,    LUA_EPOCH};

typedef struct conn {
  int fd;
#if TKN_REDIS_TLS
  SSL *ssl;
#endif
  redisReader *rd;
} conn;

/* A reserve whose reply was lost: released (and marked given up) by the next
 * call that gets a connection. */
typedef struct orphan {
  char id[TKN_STORE_ID_MAX + 1];
  int64_t gone_s;
  size_t key_len;
  char key[TKN_STORE_KEY_MAX];
} orphan;

struct tkn_redis {
  pthread_mutex_t mu; /* the pool and the counters below */
  pthread_cond_t cv;  /* a connection came back */
  conn *idle[POOL_MAX];
  uint32_t nidle, nopen, pool_size;
  char sha[NSCRIPTS][41];
  int have_sha;
  char epoch[33];       /* the server's epoch as first seen ("": not yet) */
  char new_epoch[33];   /* the one found instead, when the state was lost */
  int lost;             /* the server lost its state; calls fail (fail-closed mode) */
  uint64_t state_losses;
  uint64_t connects, dropped, reconnects;
  orphan *orphans;
  uint32_t norphans;
  /* settings, fixed after tkn_redis_new */
  char *host;
  int port;
  char *prefix;
  size_t prefix_len;
  char *user, *password;
  size_t user_len, password_len;
  uint32_t db, on_state_loss;
  int64_t connect_ms, command_ms, call_ms;
  uint32_t retries, retry_delay_ms;
#if TKN_REDIS_TLS
  SSL_CTX *tls;
  char *tls_name;
#endif
  /* tests only (the fuzz harness): supplies the socket instead of connect */
  int (*open_fd)(void *user);
  void *open_fd_user;
};

/* ---- errors ---- */

/* One line: a server's error text may hold control bytes (a lone '\n').  A
 * failure goes to the calling thread's tkn_error_last() and, inside a store
 * callback, to the library's err buffer (which records it too). */
static void set_err(int rc, char *text, char *err, size_t errlen) {
  for (char *p = text; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = ' ';
  tkn_error_set(rc, text);
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
  (void)r;
  set_err(rc, text, err, errlen);
  return rc;
}

/* The status of an error reply: refused credentials or permissions are
 * TKN_ERR_AUTH (never a reason to fall back), overflow TKN_ERR_OVERFLOW. */
static int error_status(const char *s) {
  if (strncmp(s, "NOAUTH", 6) == 0 || strncmp(s, "WRONGPASS", 9) == 0 || strstr(s, "NOPERM") ||
      strstr(s, "invalid password") || strstr(s, "invalid username-password") ||
      strstr(s, "no permissions") || strstr(s, "can't access"))
    return TKN_ERR_AUTH;
  if (strstr(s, "overflow")) return TKN_ERR_OVERFLOW;
  return TKN_ERR_IO;
}

/* Errors a restarting or busy server answers with: worth a retry. */
static int transient(const char *s) {
  return strncmp(s, "LOADING", 7) == 0 || strncmp(s, "BUSY", 4) == 0 ||
         strncmp(s, "MASTERDOWN", 10) == 0 || strncmp(s, "TRYAGAIN", 8) == 0;
}

/* ---- time ---- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int64_t ms) {
  if (ms <= 0) return;
  struct timespec ts = {(time_t)(ms / 1000), (long)((ms % 1000) * 1000000)};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* Wait until fd is ready for `events` or the deadline passes: 1 ready, 0
 * timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline) {
  for (;;) {
    int64_t left = deadline - now_ms();
    if (left <= 0) return 0;
    struct pollfd p = {fd, events, 0};
    int n = poll(&p, 1, (int)min64(left, 1 << 30));
    if (n > 0) return 1;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

/* ---- one connection: socket, TLS, RESP ---- */

static void conn_close(conn *c) {
  if (!c) return;
#if TKN_REDIS_TLS
  if (c->ssl) SSL_free(c->ssl);
#endif
  if (c->fd >= 0) close(c->fd);
  if (c->rd) redisReaderFree(c->rd);
  free(c);
}

static int tcp_connect(const tkn_redis *r, int64_t deadline, char *why, size_t whylen) {
  char port[8];
  snprintf(port, sizeof port, "%d", r->port);
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  int g = getaddrinfo(r->host, port, &hints, &res);
  if (g != 0) {
    snprintf(why, whylen, "cannot resolve: %s", gai_strerror(g));
    return -1;
  }
  int fd = -1;
  snprintf(why, whylen, "no address");
  for (struct addrinfo *a = res; a; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      snprintf(why, whylen, "socket: %s", strerror(errno));
      continue;
    }
    int rc = connect(fd, a->ai_addr, a->ai_addrlen), e = rc == 0 ? 0 : errno;
    if (e == EINPROGRESS) {
      int w = wait_fd(fd, POLLOUT, deadline);
      socklen_t el = sizeof e;
      if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &el) != 0) e = errno;
      else if (w == 0) e = ETIMEDOUT;
      else if (w < 0) e = errno;
    }
    if (e == 0) break;
    snprintf(why, whylen, "connect: %s", e == ETIMEDOUT ? "timed out" : strerror(e));
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

#if TKN_REDIS_TLS
static void tls_why(const char *what, char *why, size_t whylen) {
  unsigned long e = ERR_get_error();
  char buf[256] = "unknown error";
  if (e) ERR_error_string_n(e, buf, sizeof buf);
  ERR_clear_error();
  snprintf(why, whylen, "TLS %s: %s", what, buf);
}

/* OpenSSL writes with write(2), which raises SIGPIPE on a closed peer and
 * would kill a host that does not ignore it: each SSL call runs with SIGPIPE
 * blocked on this thread, and a SIGPIPE it raised is taken back. */
typedef struct nopipe {
  sigset_t set, old;
  int pending;
} nopipe;

static void nopipe_begin(nopipe *np) {
  sigemptyset(&np->set);
  sigaddset(&np->set, SIGPIPE);
  sigset_t now;
  sigpending(&now);
  np->pending = sigismember(&now, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &np->set, &np->old);
}

static void nopipe_end(nopipe *np) {
  sigset_t now;
  sigpending(&now);
  if (!np->pending && sigismember(&now, SIGPIPE)) {
    struct timespec zero = {0, 0};
    while (sigtimedwait(&np->set, NULL, &zero) < 0 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &np->old, NULL);
}

/* Wait as SSL asks after a WANT_READ / WANT_WRITE: 1 go on, 0 otherwise. */
static int tls_wait(conn *c, int ret, int64_t deadline) {
  int e = SSL_get_error(c->ssl, ret);
  if (e == SSL_ERROR_WANT_READ) return wait_fd(c->fd, POLLIN, deadline) == 1;
  if (e == SSL_ERROR_WANT_WRITE) return wait_fd(c->fd, POLLOUT, deadline) == 1;
  return 0;
}

static int tls_handshake(tkn_redis *r, conn *c, int64_t deadline, char *why, size_t whylen) {
  c->ssl = SSL_new(r->tls);
  if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
    tls_why("setup", why, whylen);
    return -1;
  }
  const char *name = r->tls_name ? r->tls_name : r->host;
  unsigned char ip[16];
  if (inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), name);
  } else {
    SSL_set_tlsext_host_name(c->ssl, name);
    SSL_set1_host(c->ssl, name);
  }
  for (;;) {
    ERR_clear_error();
    nopipe np;
    nopipe_begin(&np);
    int ret = SSL_connect(c->ssl);
    nopipe_end(&np);
    if (ret == 1) return 0;
    if (!tls_wait(c, ret, deadline)) {
      long v = SSL_get_verify_result(c->ssl);
      if (v != X509_V_OK)
        snprintf(why, whylen, "TLS handshake: certificate: %s", X509_verify_cert_error_string(v));
      else if (now_ms() >= deadline)
        snprintf(why, whylen, "TLS handshake: timed out");
      else
        tls_why("handshake", why, whylen);
      return -1;
    }
  }
}
#endif

static int conn_write(conn *c, const char *p, size_t len, int64_t deadline, char *why,
                      size_t whylen) {
  while (len) {
    ssize_t n;
#if TKN_REDIS_TLS
    if (c->ssl) {
      ERR_clear_error();
      nopipe np;
      nopipe_begin(&np);
      int ret = SSL_write(c->ssl, p, (int)(len > (1u << 30) ? (1u << 30) : len));
      nopipe_end(&np);
      if (ret > 0) {
        p += ret, len -= (size_t)ret;
        continue;
      }
      if (tls_wait(c, ret, deadline)) continue;
      if (now_ms() >= deadline) snprintf(why, whylen, "write timed out");
      else tls_why("write", why, whylen);
      return -1;
    }
#endif
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    if (n > 0) {
      p += n, len -= (size_t)n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int w = wait_fd(c->fd, POLLOUT, deadline);
      if (w == 1) continue;
      snprintf(why, whylen, "write %s", w == 0 ? "timed out" : strerror(errno));
      return -1;
    }
    snprintf(why, whylen, "write: %s", strerror(errno));
    return -1;
  }
  return 0;
}

/* Read until the reader holds one reply. */
static int conn_read(conn *c, redisReply **out, int64_t deadline, char *why, size_t whylen) {
  char buf[16384];
  for (;;) {
    void *rep = NULL;
    if (redisReaderGetReply(c->rd, &rep) != REDIS_OK) {
      snprintf(why, whylen, "protocol error: %s", c->rd->errstr);
      return -1;
    }
    if (rep) {
      *out = rep;
      return 0;
    }
    ssize_t n;
#if TKN_REDIS_TLS
    if (c->ssl) {
      ERR_clear_error();
      nopipe np;
      nopipe_begin(&np);
      int ret = SSL_read(c->ssl, buf, sizeof buf);
      nopipe_end(&np);
      if (ret <= 0) {
        if (tls_wait(c, ret, deadline)) continue;
        if (SSL_get_error(c->ssl, ret) == SSL_ERROR_ZERO_RETURN)
          snprintf(why, whylen, "connection closed by the server");
        else if (now_ms() >= deadline)
          snprintf(why, whylen, "read timed out");
        else
          tls_why("read", why, whylen);
        return -1;
      }
      n = ret;
    } else
#endif
    {
      n = recv(c->fd, buf, sizeof buf, 0);
      if (n == 0) {
        snprintf(why, whylen, "connection closed by the server");
        return -1;
      }
      if (n < 0) {
        if (errno == EINTR) continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
          int w = wait_fd(c->fd, POLLIN, deadline);
          if (w == 1) continue;
          snprintf(why, whylen, "read %s", w == 0 ? "timed out" : strerror(errno));
          return -1;
        }
        snprintf(why, whylen, "read: %s", strerror(errno));
        return -1;
      }
    }
    if (redisReaderFeed(c->rd, buf, (size_t)n) != REDIS_OK) {
      snprintf(why, whylen, "protocol error: %s", c->rd->errstr);
      return -1;
    }
  }
}

/* Send one command and read its reply: 0, or -1 (the connection is broken;
 * why says how). */
static int conn_cmd(conn *c, int argc, const char **argv, const size_t *lens, int64_t deadline,
                    redisReply **out, char *why, size_t whylen) {
  char *cmd = NULL;
  int len = redisFormatCommandArgv(&cmd, argc, argv, lens);
  if (len < 0 || !cmd) {
    snprintf(why, whylen, "out of memory formatting a command");
    return -1;
  }
  int rc = conn_write(c, cmd, (size_t)len, deadline, why, whylen);
  redisFreeCommand(cmd);
  if (rc != 0) return -1;
  return conn_read(c, out, deadline, why, whylen);
}

/* ---- keys ---- */

/* prefix "|1|" len ":" key suffix [id] into buf (KEYBUF bytes). */
static size_t key_of(const tkn_redis *r, const char *key, size_t len, const char *suffix,
                     const char *id, char *buf) {
  size_t n = 0;
  memcpy(buf, r->prefix, r->prefix_len);
  n += r->prefix_len;
  n += (size_t)snprintf(buf + n, 32, LAYOUT "%zu:", len);
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

/* ---- the pool ---- */

/* A script by SHA, by text on NOSCRIPT.  argv[0..1] are filled here. */
static int script_cmd(tkn_redis *r, conn *c, int script, int argc, const char **argv,
                      size_t *lens, int64_t deadline, redisReply **out, char *why,
                      size_t whylen) {
  char sha[41];
  pthread_mutex_lock(&r->mu);
  memcpy(sha, r->sha[script], sizeof sha);
  pthread_mutex_unlock(&r->mu);
  if (sha[0]) {
    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = sha, lens[1] = 40;
    if (conn_cmd(c, argc, argv, lens, deadline, out, why, whylen) != 0) return -1;
    if ((*out)->type != REDIS_REPLY_ERROR || strncmp((*out)->str, "NOSCRIPT", 8) != 0) return 0;
    freeReplyObject(*out);
    *out = NULL;
  }
  argv[0] = "EVAL", lens[0] = 4;
  argv[1] = g_scripts[script], lens[1] = strlen(g_scripts[script]);
  return conn_cmd(c, argc, argv, lens, deadline, out, why, whylen);
}

/* How a new connection was refused: -1 connection trouble (retry), or a
 * status that no retry changes. */
#define SETUP_IO (-1)

static int setup_reply(redisReply *rep, const char *what, int refused_rc, char *why,
                       size_t whylen) {
  if (rep->type != REDIS_REPLY_ERROR) return TKN_OK;
  snprintf(why, whylen, "%s: %s", what, rep->str);
  return transient(rep->str) ? SETUP_IO : refused_rc;
}

static void random_hex(char out[33]) {
  unsigned char b[16];
  if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = (uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 20) ^ (uint64_t)getpid() << 40;
    for (int i = 0; i < 16; i++) b[i] = (unsigned char)(x >> (8 * (i % 8))) ^ (unsigned char)i;
  }
  for (int i = 0; i < 16; i++) snprintf(out + 2 * i, 3, "%02x", b[i]);
}

/* Check the server's epoch: a server seen before that has another one now
 * (or none: it was made again here) lost its state. */
static int check_epoch(tkn_redis *r, conn *c, int64_t deadline, char *why, size_t whylen) {
  char kb[KEYBUF], fresh[33];
  random_hex(fresh);
  size_t kl = r->prefix_len;
  memcpy(kb, r->prefix, kl);
  memcpy(kb + kl, LAYOUT "epoch", sizeof LAYOUT + 4);
  kl += sizeof LAYOUT + 4;
  const char *argv[5] = {"", "", "1", kb, fresh};
  size_t lens[5] = {0, 0, 1, kl, 32};
  redisReply *rep = NULL;
  if (script_cmd(r, c, S_EPOCH, 5, argv, lens, deadline, &rep, why, whylen) != 0) return SETUP_IO;
  int rc = setup_reply(rep, "epoch", rep->type == REDIS_REPLY_ERROR ? error_status(rep->str) : 0,
                       why, whylen);
  if (rc == TKN_OK && (rep->type != REDIS_REPLY_STRING || rep->len != 32)) {
    snprintf(why, whylen, "epoch: unexpected reply (type %d)", rep->type);
    rc = TKN_ERR_IO;
  }
  if (rc == TKN_OK) {
    pthread_mutex_lock(&r->mu);
    if (!r->epoch[0]) {
      memcpy(r->epoch, rep->str, 32);
    } else if (memcmp(r->epoch, rep->str, 32) != 0) {
      memcpy(r->new_epoch, rep->str, 32);
      r->state_losses++;
      if (r->on_state_loss == TKN_REDIS_STATE_LOSS_CONTINUE) memcpy(r->epoch, rep->str, 32);
      else r->lost = 1;
    }
    pthread_mutex_unlock(&r->mu);
  }
  freeReplyObject(rep);
  return rc;
}

/* Authenticate, select the database, learn the scripts' SHAs, check the
 * epoch. */
static int setup(tkn_redis *r, conn *c, int64_t deadline, char *why, size_t whylen) {
  redisReply *rep = NULL;
  int rc;
  if (r->password) {
    const char *argv[3] = {"AUTH", r->user ? r->user : r->password, r->password};
    size_t lens[3] = {4, r->user ? r->user_len : r->password_len, r->password_len};
    int argc = r->user ? 3 : 2;
    if (conn_cmd(c, argc, argv, lens, deadline, &rep, why, whylen) != 0) return SETUP_IO;
    rc = setup_reply(rep, "AUTH", TKN_ERR_AUTH, why, whylen);
    freeReplyObject(rep);
    if (rc != TKN_OK) return rc;
  }
  if (r->db) {
    char num[16];
    snprintf(num, sizeof num, "%u", r->db);
    const char *argv[2] = {"SELECT", num};
    size_t lens[2] = {6, strlen(num)};
    if (conn_cmd(c, 2, argv, lens, deadline, &rep, why, whylen) != 0) return SETUP_IO;
    rc = setup_reply(rep, "SELECT", error_status(rep->str ? rep->str : "") == TKN_ERR_AUTH
                                         ? TKN_ERR_AUTH
                                         : TKN_ERR_INVALID,
                     why, whylen);
    freeReplyObject(rep);
    if (rc != TKN_OK) return rc;
  }
  pthread_mutex_lock(&r->mu);
  int have = r->have_sha;
  pthread_mutex_unlock(&r->mu);
  for (int i = 0; !have && i < NSCRIPTS; i++) {
    const char *argv[3] = {"SCRIPT", "LOAD", g_scripts[i]};
    size_t lens[3] = {6, 4, strlen(g_scripts[i])};
    if (conn_cmd(c, 3, argv, lens, deadline, &rep, why, whylen) != 0) return SETUP_IO;
    rc = setup_reply(rep, "SCRIPT LOAD", error_status(rep->str ? rep->str : ""), why, whylen);
    if (rc == TKN_OK && (rep->type != REDIS_REPLY_STRING || rep->len != 40)) {
      snprintf(why, whylen, "SCRIPT LOAD: unexpected reply (type %d)", rep->type);
      rc = TKN_ERR_IO;
    }
    if (rc == TKN_OK) {
      pthread_mutex_lock(&r->mu);
      memcpy(r->sha[i], rep->str, 40);
      r->sha[i][40] = '\0';
      if (i == NSCRIPTS - 1) r->have_sha = 1;
      pthread_mutex_unlock(&r->mu);
    }
    freeReplyObject(rep);
    if (rc != TKN_OK) return rc;
  }
  return check_epoch(r, c, deadline, why, whylen);
}

/* The most elements a reply array may declare.  The adapter's replies hold
 * at most a few dozen (TKN_STORE_MAX_N values, the scripts' results), but
 * hiredis allocates an array before its elements arrive: a broken or hostile
 * server's "*300000000" would take 2.4 GB at once (found by fuzz_redis).  A
 * larger array is a protocol error ("out of memory" from hiredis). */
#define MAX_REPLY_ELEMENTS 1024
#if HIREDIS_MAJOR >= 1
static void bound_reader(redisReader *rd) { rd->maxelements = MAX_REPLY_ELEMENTS; }
#else
/* hiredis 0.x has no maxelements: its createArray is wrapped instead. */
static redisReplyObjectFunctions g_bounded_fn;
static void *(*g_create_array)(const redisReadTask *, int);
static pthread_once_t g_bounded_once = PTHREAD_ONCE_INIT;
static void *bounded_array(const redisReadTask *task, int elements) {
  return elements > MAX_REPLY_ELEMENTS ? NULL : g_create_array(task, elements);
}
static void bounded_init(void) { /* every reader shares hiredis's default table */
  redisReader *t = redisReaderCreate();
  if (!t) return;
  g_bounded_fn = *t->fn;
  g_create_array = g_bounded_fn.createArray;
  g_bounded_fn.createArray = bounded_array;
  redisReaderFree(t);
}
static void bound_reader(redisReader *rd) {
  pthread_once(&g_bounded_once, bounded_init);
  if (g_create_array) rd->fn = &g_bounded_fn; /* else (out of memory once): unbounded */
}
#endif

static int conn_open(tkn_redis *r, conn **out, int64_t deadline, char *why, size_t whylen) {
  conn *c = calloc(1, sizeof *c);
  if (!c || !(c->rd = redisReaderCreate())) {
    free(c);
    snprintf(why, whylen, "out of memory");
    return TKN_ERR_NOMEM;
  }
  bound_reader(c->rd);
  int64_t cdl = min64(deadline, now_ms() + r->connect_ms);
  c->fd = r->open_fd ? r->open_fd(r->open_fd_user) : tcp_connect(r, cdl, why, whylen);
  if (c->fd < 0) {
    if (r->open_fd) snprintf(why, whylen, "no connection");
    conn_close(c);
    return SETUP_IO;
  }
#if TKN_REDIS_TLS
  if (r->tls && tls_handshake(r, c, cdl, why, whylen) != 0) {
    conn_close(c);
    return SETUP_IO;
  }
#endif
  int rc = setup(r, c, min64(deadline, now_ms() + r->command_ms), why, whylen);
  if (rc != TKN_OK) {
    conn_close(c);
    return rc;
  }
  *out = c;
  return TKN_OK;
}

/* Take a connection: an idle one, a new one while the pool has room, or
 * wait for one to come back until the deadline. */
static int take(tkn_redis *r, conn **out, int64_t deadline, char *why, size_t whylen) {
  pthread_mutex_lock(&r->mu);
  for (;;) {
    if (r->nidle) {
      *out = r->idle[--r->nidle];
      pthread_mutex_unlock(&r->mu);
      return TKN_OK;
    }
    if (r->nopen < r->pool_size) break;
    struct timespec ts;
    int64_t left = deadline - now_ms();
    if (left <= 0) {
      pthread_mutex_unlock(&r->mu);
      snprintf(why, whylen, "all %u connections busy until the deadline", r->pool_size);
      return SETUP_IO;
    }
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(left / 1000);
    ts.tv_nsec += (long)(left % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) ts.tv_sec++, ts.tv_nsec -= 1000000000L;
    pthread_cond_timedwait(&r->cv, &r->mu, &ts);
  }
  r->nopen++;
  pthread_mutex_unlock(&r->mu);
  conn *c = NULL;
  int rc = conn_open(r, &c, deadline, why, whylen);
  pthread_mutex_lock(&r->mu);
  if (rc == TKN_OK) {
    r->connects++;
    if (r->dropped) r->dropped--, r->reconnects++;
  } else {
    r->nopen--;
    pthread_cond_signal(&r->cv);
  }
  pthread_mutex_unlock(&r->mu);
  *out = c;
  return rc;
}

/* Give a connection back, or close it when it broke. */
static void give(tkn_redis *r, conn *c, int broken) {
  pthread_mutex_lock(&r->mu);
  if (broken) {
    r->nopen--;
    r->dropped++;
  } else {
    r->idle[r->nidle++] = c;
  }
  pthread_cond_signal(&r->cv);
  pthread_mutex_unlock(&r->mu);
  if (broken) conn_close(c);
}

static void orphan_add(tkn_redis *r, const char *key, size_t key_len, const char *id,
                       int64_t lease_ms) {
  pthread_mutex_lock(&r->mu);
  if (r->norphans < ORPHANS_MAX) {
    orphan *o = &r->orphans[r->norphans++];
    snprintf(o->id, sizeof o->id, "%s", id);
    memcpy(o->key, key, key_len);
    o->key_len = key_len;
    o->gone_s = lease_ms / 1000 + 60;
  }
  pthread_mutex_unlock(&r->mu);
}

static int release_on(tkn_redis *r, conn *c, const char *key, size_t key_len, const char *id,
                      int64_t gone_s, int64_t deadline, redisReply **rep, char *why,
                      size_t whylen) {
  static const char *const suffix[4] = {":b", ":res", ":exp", ":gone:"};
  char kb[4][KEYBUF], num[24];
  const char *argv[9];
  size_t lens[9];
  int a = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "4", lens[a++] = 1;
  for (int k = 0; k < 4; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], k == 3 ? id : NULL, kb[k]);
    argv[a++] = kb[k];
  }
  argv[a] = id, lens[a++] = strlen(id);
  snprintf(num, sizeof num, "%lld", (long long)gone_s);
  argv[a] = num, lens[a++] = strlen(num);
  return script_cmd(r, c, S_RELEASE, a, argv, lens, deadline, rep, why, whylen);
}

/* Release the reservations whose reply was lost, on a connection that works. */
static int orphans_drain(tkn_redis *r, conn *c, int64_t deadline, char *why, size_t whylen) {
  for (;;) {
    orphan o;
    pthread_mutex_lock(&r->mu);
    if (!r->norphans) {
      pthread_mutex_unlock(&r->mu);
      return 0;
    }
    o = r->orphans[--r->norphans];
    pthread_mutex_unlock(&r->mu);
    redisReply *rep = NULL;
    if (release_on(r, c, o.key, o.key_len, o.id, o.gone_s, deadline, &rep, why, whylen) != 0) {
      orphan_add(r, o.key, o.key_len, o.id, (o.gone_s - 60) * 1000);
      return -1;
    }
    freeReplyObject(rep);
  }
}

/* Run a command (a script when script >= 0) within the call's deadline,
 * resending on a connection failure when `resend` or nothing was sent.
 * NULL: *rc and err are set, *maybe_sent says whether it may have run. */
static redisReply *call(tkn_redis *r, int script, int argc, const char **argv, size_t *lens,
                        int resend, int *maybe_sent, int *rc, char *err, size_t errlen) {
  char why[ERRLEN] = "";
  int64_t start = now_ms(), deadline = start + r->call_ms, delay = r->retry_delay_ms;
  int sent = 0;
  if (maybe_sent) *maybe_sent = 0;
  for (uint32_t attempt = 0;; attempt++) {
    int this_sent = 0;
    pthread_mutex_lock(&r->mu);
    int lost = r->lost;
    pthread_mutex_unlock(&r->mu);
    if (lost) break;
    conn *c = NULL;
    int trc = take(r, &c, deadline, why, sizeof why);
    if (trc > 0) {
      *rc = fail(r, trc, err, errlen, "redis %s:%d: %s", r->host, r->port, why);
      return NULL;
    }
    if (trc == TKN_OK) {
      pthread_mutex_lock(&r->mu);
      lost = r->lost;
      pthread_mutex_unlock(&r->mu);
      if (lost) {
        give(r, c, 0);
        break;
      }
      int64_t dl = min64(deadline, now_ms() + r->command_ms);
      redisReply *rep = NULL;
      if (orphans_drain(r, c, dl, why, sizeof why) == 0) {
        this_sent = sent = 1;
        int io = script >= 0 ? script_cmd(r, c, script, argc, argv, lens, dl, &rep, why, sizeof why)
                             : conn_cmd(c, argc, argv, lens, dl, &rep, why, sizeof why);
        if (io == 0 && rep->type == REDIS_REPLY_ERROR && transient(rep->str)) {
          snprintf(why, sizeof why, "server busy: %s", rep->str);
          freeReplyObject(rep);
          give(r, c, 0);
          this_sent = 0; /* refused before running: safe to resend */
          goto retry;
        }
        if (io == 0) {
          give(r, c, 0);
          return rep;
        }
      }
      give(r, c, 1);
    }
  retry:
    (void)this_sent;
    if (attempt >= r->retries || (sent && !resend) || now_ms() + delay >= deadline) {
      if (maybe_sent) *maybe_sent = sent;
      *rc = fail(r, TKN_ERR_UNAVAILABLE, err, errlen,
                 "redis %s:%d unavailable after %lld ms%s: %s", r->host, r->port,
                 (long long)(now_ms() - start), sent && !resend ? " (not resent: not idempotent)" : "",
                 why);
      return NULL;
    }
    sleep_ms(delay);
    delay *= 2;
  }
  pthread_mutex_lock(&r->mu);
  char was[33], now_e[33];
  memcpy(was, r->epoch, sizeof was);
  memcpy(now_e, r->new_epoch, sizeof now_e);
  pthread_mutex_unlock(&r->mu);
  *rc = fail(r, TKN_ERR_STATE, err, errlen,
             "redis %s:%d lost its state (epoch %.8s... is now %.8s...: restarted without "
             "persistence, flushed or failed over): refusing until tkn_redis_accept_state_loss",
             r->host, r->port, was, now_e);
  return NULL;
}

/* A reply that is an error: its status. */
static int reply_error(tkn_redis *r, redisReply *rep, const char *what, char *err, size_t errlen) {
  return fail(r, error_status(rep->str), err, errlen, "redis %s: %s", what, rep->str);
}

/* An integer, or decimal text (saturating at INT64_MAX: a sum of counters
 * may pass it when commits overshoot). */
static int elem_i64(const redisReply *e, int64_t *out) {
  if (e->type == REDIS_REPLY_INTEGER) {
    *out = e->integer;
    return 0;
  }
  if (e->type != REDIS_REPLY_STRING || e->len == 0 || e->len > 40) return -1;
  const uint64_t cap = (uint64_t)1 << 63; /* -INT64_MIN */
  uint64_t v = 0;
  int neg = e->str[0] == '-';
  size_t i = neg ? 1 : 0;
  if (i == e->len) return -1;
  for (; i < e->len; i++) {
    if (e->str[i] < '0' || e->str[i] > '9') return -1;
    unsigned d = (unsigned)(e->str[i] - '0');
    v = v > (cap - d) / 10 ? cap : v * 10 + d;
  }
  if (neg) *out = v == cap ? INT64_MIN : -(int64_t)v;
  else *out = v >= cap ? INT64_MAX : (int64_t)v;
  return 0;
}

/* Read an array reply of `n` numbers into out. */
static int int_array(tkn_redis *r, redisReply *rep, size_t n, int64_t *out, const char *what,
                     char *err, size_t errlen) {
  if (rep->type == REDIS_REPLY_ERROR) return reply_error(r, rep, what, err, errlen);
  if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n)
    return fail(r, TKN_ERR_IO, err, errlen, "redis %s: unexpected reply (type %d)", what,
                rep->type);
  for (size_t i = 0; i < n; i++)
    if (elem_i64(rep->element[i], &out[i]) != 0)
      return fail(r, TKN_ERR_IO, err, errlen, "redis %s: element %zu is not a number", what, i);
  return TKN_OK;
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

/* Decimal text of an amount (any int64; negative ones only where allowed). */
static int amount_text(tkn_redis *r, int64_t v, int allow_negative, char *out, char *err,
                       size_t errlen) {
  if (!allow_negative && v < 0)
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis store: amount %lld is negative",
                (long long)v);
  snprintf(out, 24, "%lld", (long long)v);
  return TKN_OK;
}

/* ---- the store callbacks ---- */

/* The arguments reserve and commit share: two slots script_cmd fills, the
 * budget's five keys (the last two per reservation id), the id, then n and
 * two numbers.  Returns how many arguments it wrote. */
static int id_script_head(tkn_redis *r, const char *key, size_t key_len, const char *id,
                          uint32_t n, int64_t x, int64_t y, char kb[5][KEYBUF], char num[][24],
                          const char **argv, size_t *lens) {
  static const char *const suffix[5] = {":b", ":res", ":exp", ":done:", ":gone:"};
  int a = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "5", lens[a++] = 1;
  for (int k = 0; k < 5; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], k >= 3 ? id : NULL, kb[k]);
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis reserve: %s",
                !id         ? "id is NULL"
                : !amounts  ? "amounts is NULL"
                : !limits   ? "limits is NULL"
                : !used     ? "used is NULL"
                : lease_ms <= 0 ? "lease_ms is not positive"
                                : "ttl_seconds is negative");
  char kb[5][KEYBUF], num[2 * TKN_STORE_MAX_N + 4][24];
  const char *argv[9 + 4 + 2 * TKN_STORE_MAX_N];
  size_t lens[9 + 4 + 2 * TKN_STORE_MAX_N];
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
  int maybe_sent = 0;
  redisReply *rep = call(r, S_RESERVE, a, argv, lens, 1, &maybe_sent, &rc, err, errlen);
  if (!rep) {
    /* it may hold its amount in the server: release it once we get through */
    if (rc == TKN_ERR_UNAVAILABLE && maybe_sent) orphan_add(r, key, key_len, id, lease_ms);
    return rc;
  }
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis commit: %s",
                !id       ? "id is NULL"
                : !actual ? "actual is NULL"
                : id_ttl_seconds <= 0 ? "id_ttl_seconds is not positive"
                                      : "ttl_seconds is negative");
  char kb[5][KEYBUF], num[TKN_STORE_MAX_N + 3][24];
  const char *argv[9 + 4 + TKN_STORE_MAX_N];
  size_t lens[9 + 4 + TKN_STORE_MAX_N];
  int a = id_script_head(r, key, key_len, id, n, id_ttl_seconds, ttl_seconds, kb, num, argv, lens);
  for (uint32_t i = 0; i < n; i++) {
    if ((rc = amount_text(r, actual[i], 0, num[3 + i], err, errlen)) != TKN_OK) return rc;
    argv[a] = num[3 + i], lens[a++] = strlen(num[3 + i]);
  }
  redisReply *rep = call(r, S_COMMIT, a, argv, lens, 1, NULL, &rc, err, errlen);
  if (!rep) return rc;
  int64_t out[1 + TKN_STORE_MAX_N];
  rc = int_array(r, rep, n + 1, out, "commit", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  if (used) memcpy(used, out + 1, n * sizeof *used);
  if (duplicate) *duplicate = out[0] != 0;
  return TKN_OK;
}

static int st_release(void *user, const char *key, size_t key_len, const char *id, char *err,
                      size_t errlen) {
  tkn_redis *r = user;
  int rc = check_key(r, key, key_len, id, 1, err, errlen);
  if (rc != TKN_OK) return rc;
  if (!id) return fail(r, TKN_ERR_INVALID, err, errlen, "redis release: id is NULL");
  char kb[4][KEYBUF];
  const char *argv[9];
  size_t lens[9];
  int a = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "4", lens[a++] = 1;
  static const char *const suffix[4] = {":b", ":res", ":exp", ":gone:"};
  for (int k = 0; k < 4; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], k == 3 ? id : NULL, kb[k]);
    argv[a++] = kb[k];
  }
  argv[a] = id, lens[a++] = strlen(id);
  argv[a] = "0", lens[a++] = 1;
  redisReply *rep = call(r, S_RELEASE, a, argv, lens, 1, NULL, &rc, err, errlen);
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis usage: %s is NULL",
                !committed ? "committed" : "reserved");
  char kb[3][KEYBUF], num[24];
  const char *argv[7];
  size_t lens[7];
  int a = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "", lens[a++] = 0;
  argv[a] = "3", lens[a++] = 1;
  static const char *const suffix[3] = {":b", ":res", ":exp"};
  for (int k = 0; k < 3; k++) {
    lens[a] = key_of(r, key, key_len, suffix[k], NULL, kb[k]);
    argv[a++] = kb[k];
  }
  snprintf(num, sizeof num, "%u", n);
  argv[a] = num, lens[a++] = strlen(num);
  redisReply *rep = call(r, S_USAGE, a, argv, lens, 1, NULL, &rc, err, errlen);
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis get: %s",
                !value_len ? "value_len is NULL" : "buf is NULL with a cap");
  char kb[KEYBUF];
  const char *argv[2] = {"GET", kb};
  size_t lens[2] = {3, key_of(r, key, key_len, "", NULL, kb)};
  redisReply *rep = call(r, -1, 2, argv, lens, 1, NULL, &rc, err, errlen);
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis set: %s",
                !value && value_len ? "value is NULL with a length" : "ttl_ms is negative");
  char kb[KEYBUF], num[24];
  snprintf(num, sizeof num, "%lld", (long long)ttl_ms);
  const char *argv[5] = {"SET", kb, value ? value : "", "PX", num};
  size_t lens[5] = {3, key_of(r, key, key_len, "", NULL, kb), value_len, 2, strlen(num)};
  redisReply *rep = call(r, -1, ttl_ms > 0 ? 5 : 3, argv, lens, 1, NULL, &rc, err, errlen);
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
    return fail(r, TKN_ERR_INVALID, err, errlen, "redis add: %s",
                !deltas ? "deltas is NULL" : "id_ttl_seconds is not positive (with an id)");
  char kb[2][KEYBUF], num[TKN_STORE_MAX_N + 2][24];
  const char *argv[5 + 3 + TKN_STORE_MAX_N];
  size_t lens[5 + 3 + TKN_STORE_MAX_N];
  int a = 0;
  argv[a] = "", lens[a++] = 0;
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
  redisReply *rep = call(r, S_ADD, a, argv, lens, id != NULL, NULL, &rc, err, errlen);
  if (!rep) return rc;
  int64_t out[1 + TKN_STORE_MAX_N];
  rc = int_array(r, rep, n + 1, out, "add", err, errlen);
  freeReplyObject(rep);
  if (rc != TKN_OK) return rc;
  if (totals) memcpy(totals, out + 1, n * sizeof *totals);
  if (duplicate) *duplicate = out[0] != 0;
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
  redisReply *rep = call(r, -1, 2 + (int)n, argv, lens, 1, NULL, &rc, err, errlen);
  if (!rep) return rc;
  if (rep->type == REDIS_REPLY_ERROR) {
    rc = reply_error(r, rep, "read", err, errlen);
  } else if (rep->type != REDIS_REPLY_ARRAY || rep->elements != n) {
    rc = fail(r, TKN_ERR_IO, err, errlen, "redis read: unexpected reply");
  } else {
    for (uint32_t i = 0; i < n && rc == TKN_OK; i++) {
      redisReply *e = rep->element[i];
      values[i] = 0;
      if (e->type != REDIS_REPLY_NIL && elem_i64(e, &values[i]) != 0)
        rc = fail(r, TKN_ERR_IO, err, errlen, "redis read: counter %u is not a number", i);
    }
  }
  freeReplyObject(rep);
  return rc;
}

/* ---- public ---- */

int tkn_redis_options_init(tkn_redis_options *opts, uint32_t version) {
  if (!opts) return tkn_error_set(TKN_ERR_INVALID, "tkn_redis_options_init: opts is NULL");
  tkn_redis_options init = TKN_REDIS_OPTIONS_INIT;
  if (version == 1) {
    memcpy(opts, &init, offsetof(tkn_redis_options, user));
    opts->version = 1;
    return TKN_OK;
  }
  if (version != TKN_REDIS_OPTIONS_VERSION)
    return tkn_error_set(TKN_ERR_VERSION, "tkn_redis_options_init: unknown version");
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

static int bad_option(int rc, const char *text) { return tkn_error_set(rc, text); }

void tkn_redis_free(tkn_redis *r) {
  if (!r) return;
  for (uint32_t i = 0; i < r->nidle; i++) conn_close(r->idle[i]);
  pthread_mutex_destroy(&r->mu);
  pthread_cond_destroy(&r->cv);
#if TKN_REDIS_TLS
  if (r->tls) SSL_CTX_free(r->tls);
  free(r->tls_name);
#endif
  free(r->orphans);
  free(r->host);
  free(r->prefix);
  free(r->user);
  free(r->password);
  free(r);
}

#if TKN_REDIS_TLS
static int tls_setup(tkn_redis *r, const tkn_redis_options *o) {
  char why[300];
  r->tls = SSL_CTX_new(TLS_client_method());
  if (!r->tls) {
    tls_why("context", why, sizeof why);
    return bad_option(TKN_ERR_NOMEM, why);
  }
  SSL_CTX_set_min_proto_version(r->tls, TLS1_2_VERSION);
  SSL_CTX_set_mode(r->tls, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_verify(r->tls, o->tls_no_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, NULL);
  int ok = o->tls_ca_file ? SSL_CTX_load_verify_locations(r->tls, o->tls_ca_file, NULL)
                          : SSL_CTX_set_default_verify_paths(r->tls);
  if (ok != 1) {
    tls_why("CA file", why, sizeof why);
    return bad_option(TKN_ERR_INVALID, why);
  }
  if (o->tls_cert_file &&
      SSL_CTX_use_certificate_chain_file(r->tls, o->tls_cert_file) != 1) {
    tls_why("certificate file", why, sizeof why);
    return bad_option(TKN_ERR_INVALID, why);
  }
  if (o->tls_key_file &&
      (SSL_CTX_use_PrivateKey_file(r->tls, o->tls_key_file, SSL_FILETYPE_PEM) != 1 ||
       SSL_CTX_check_private_key(r->tls) != 1)) {
    tls_why("key file", why, sizeof why);
    return bad_option(TKN_ERR_INVALID, why);
  }
  if (o->tls_server_name && !(r->tls_name = strdup(o->tls_server_name)))
    return bad_option(TKN_ERR_NOMEM, "out of memory");
  return TKN_OK;
}
#endif

int tkn_redis_new(tkn_redis **out, const tkn_redis_options *opts) {
  if (out) *out = NULL;
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  if (!out) return bad_option(TKN_ERR_INVALID, "tkn_redis_new: out is NULL");
  if (opts && opts->version == 1) memcpy(&o, opts, offsetof(tkn_redis_options, user));
  else if (opts && opts->version == TKN_REDIS_OPTIONS_VERSION) o = *opts;
  else if (opts)
    return bad_option(TKN_ERR_VERSION, "redis options: unknown version");
  /* the lengths may be TKN_NUL_TERMINATED */
  if (o.host_len == TKN_NUL_TERMINATED) o.host_len = o.host ? strlen(o.host) : 0;
  if (o.prefix_len == TKN_NUL_TERMINATED) o.prefix_len = o.prefix ? strlen(o.prefix) : 0;
  if (o.password_len == TKN_NUL_TERMINATED) o.password_len = o.password ? strlen(o.password) : 0;
  if (o.user_len == TKN_NUL_TERMINATED) o.user_len = o.user ? strlen(o.user) : 0;
  if (o.port == 0 || o.port > 65535)
    return bad_option(TKN_ERR_INVALID, "redis options: port must be 1..65535");
  if ((o.host && (o.host_len == 0 || o.host_len > 255 || memchr(o.host, '\0', o.host_len))) ||
      (o.prefix && (o.prefix_len > 256 || memchr(o.prefix, '|', o.prefix_len))) ||
      (o.password && o.password_len > 512) || (o.user && (!o.password || o.user_len == 0 ||
                                                          o.user_len > 256)))
    return bad_option(TKN_ERR_INVALID,
                      "redis options: host 1..255 bytes without NUL, prefix <= 256 bytes "
                      "without '|', password <= 512, user 1..256 bytes and only with a password");
  if (o.connect_timeout_ms <= 0 || o.command_timeout_ms <= 0 || o.call_timeout_ms <= 0 ||
      o.retries > 100 || o.retry_delay_ms > 60000 || o.pool_size == 0 || o.pool_size > POOL_MAX ||
      o.db > 1000000 || o.on_state_loss > TKN_REDIS_STATE_LOSS_CONTINUE || o.tls > 1)
    return bad_option(TKN_ERR_INVALID,
                      "redis options: timeouts must be > 0, retries <= 100, retry_delay_ms <= "
                      "60000, pool_size 1..64, db <= 1000000, on_state_loss 0 or 1, tls 0 or 1");
#if !TKN_REDIS_TLS
  if (o.tls)
    return bad_option(TKN_ERR_UNSUPPORTED,
                      "redis options: this libtokenomy-redis was built without OpenSSL: no TLS");
#endif
  tkn_redis *r = calloc(1, sizeof *r);
  if (!r) return bad_option(TKN_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&r->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&r->cv, &ca);
  pthread_condattr_destroy(&ca);
  r->host = o.host ? dup_text(o.host, o.host_len) : dup_text("127.0.0.1", 9);
  r->prefix = o.prefix ? dup_text(o.prefix, o.prefix_len) : dup_text("tkn:", 4);
  r->prefix_len = o.prefix ? o.prefix_len : 4;
  if (o.password) {
    r->password = dup_text(o.password, o.password_len);
    r->password_len = o.password_len;
  }
  if (o.user) {
    r->user = dup_text(o.user, o.user_len);
    r->user_len = o.user_len;
  }
  r->orphans = malloc(ORPHANS_MAX * sizeof *r->orphans);
  if (!r->host || !r->prefix || (o.password && !r->password) || (o.user && !r->user) ||
      !r->orphans) {
    tkn_redis_free(r);
    return bad_option(TKN_ERR_NOMEM, "out of memory");
  }
#if TKN_REDIS_TLS
  if (o.tls) {
    int rc = tls_setup(r, &o);
    if (rc != TKN_OK) {
      tkn_redis_free(r);
      return rc;
    }
  }
#endif
  r->port = (int)o.port;
  r->connect_ms = o.connect_timeout_ms;
  r->command_ms = o.command_timeout_ms;
  r->call_ms = o.call_timeout_ms;
  r->retries = o.retries;
  r->retry_delay_ms = o.retry_delay_ms;
  r->pool_size = o.pool_size;
  r->db = o.db;
  r->on_state_loss = o.on_state_loss;
  *out = r;
  return TKN_OK;
}

int tkn_redis_store(tkn_redis *r, tkn_store *store) {
  if (!r || !store)
    return tkn_error_set(TKN_ERR_INVALID,
                         !r ? "tkn_redis_store: redis is NULL" : "tkn_redis_store: store is NULL");
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
  if (!r) return tkn_error_set(TKN_ERR_INVALID, "tkn_redis_ping: redis is NULL");
  const char *argv[1] = {"PING"};
  size_t lens[1] = {4};
  int rc = TKN_OK;
  redisReply *rep = call(r, -1, 1, argv, lens, 1, NULL, &rc, NULL, 0);
  if (!rep) return rc;
  if (rep->type != REDIS_REPLY_STATUS)
    rc = fail(r, rep->type == REDIS_REPLY_ERROR ? error_status(rep->str) : TKN_ERR_IO, NULL, 0,
              "redis PING: %s", rep->str ? rep->str : "unexpected reply");
  freeReplyObject(rep);
  return rc;
}

int tkn_redis_accept_state_loss(tkn_redis *r) {
  if (!r) return tkn_error_set(TKN_ERR_INVALID, "tkn_redis_accept_state_loss: redis is NULL");
  pthread_mutex_lock(&r->mu);
  if (r->lost) {
    memcpy(r->epoch, r->new_epoch, sizeof r->epoch);
    r->lost = 0;
  }
  pthread_mutex_unlock(&r->mu);
  return TKN_OK;
}

uint64_t tkn_redis_state_losses(const tkn_redis *r) {
  if (!r) return 0;
  tkn_redis *m = (tkn_redis *)r;
  pthread_mutex_lock(&m->mu);
  uint64_t n = m->state_losses;
  pthread_mutex_unlock(&m->mu);
  return n;
}

uint64_t tkn_redis_reconnects(const tkn_redis *r) {
  if (!r) return 0;
  tkn_redis *m = (tkn_redis *)r;
  pthread_mutex_lock(&m->mu);
  uint64_t n = m->reconnects;
  pthread_mutex_unlock(&m->mu);
  return n;
}
