/* The Redis adapter against a fake server whose replies are the input.
 *
 * Input: 4 bytes choosing four store operations (and their amounts), then
 * the byte stream the "server" sends back, RESP or not.  The adapter is
 * compiled in (redis.c included) so its connection can be one end of a
 * socketpair whose other end already holds the reply bytes; what the
 * adapter sends is left unread.  Checked: no crash, leak or sanitizer
 * report; every status is a known code; failures say why in one line; a
 * value that fits is returned whole.  Only one connection per input: a
 * reconnect finds no server. */
#include <fcntl.h>
#include <sys/socket.h>

#define TKN_REDIS_TLS 0
#include "../../src/redis/redis.c"

#include "fuzz_util.h"

static const uint8_t *g_stream;
static size_t g_stream_len;
static int g_peer = -1, g_opened;

static int open_fake(void *user) {
  (void)user;
  if (g_opened) return -1;
  g_opened = 1;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) return -1;
  int big = 1 << 20;
  (void)setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
  fcntl(sv[1], F_SETFL, fcntl(sv[1], F_GETFL) | O_NONBLOCK);
  size_t off = 0;
  while (off < g_stream_len) {
    ssize_t n = send(sv[1], g_stream + off, g_stream_len - off, MSG_NOSIGNAL);
    if (n <= 0) break; /* what does not fit is never sent: a short reply */
    off += (size_t)n;
  }
  shutdown(sv[1], SHUT_WR); /* then the server "closes": EOF after the bytes */
  g_peer = sv[1];
  return sv[0];
}

static void check_status(int rc, const char *err) {
  FZ_CHECK(rc >= 0 && rc < TKN_ERR__COUNT);
  if (rc != TKN_OK && rc != TKN_ERR_NOT_FOUND && rc != TKN_ERR_TOO_SMALL) fz_one_line(err);
}

static const int64_t g_amounts[8] = {0, 1, 7, 1000, ((int64_t)1 << 53) + 1, INT64_MAX - 1,
                                     INT64_MAX, 10000000000000000};

static void run_op(tkn_redis *r, const tkn_store *st, uint8_t op) {
  char err[256] = "", buf[64];
  int64_t a[2] = {g_amounts[op >> 5], g_amounts[(op >> 2) & 7]};
  int64_t lim[2] = {g_amounts[(op >> 3) & 7], INT64_MAX}, used[2], c[2], rs[2];
  int32_t dup = -1;
  size_t len = 0;
  int rc;
  switch (op % 10) {
  case 0:
    rc = st->reserve(r, "k", 1, "id1", 2, a, lim, 60000, 0, used, err, sizeof err);
    break;
  case 1:
    rc = st->commit(r, "k", 1, "id1", 2, a, 3600, 0, used, &dup, err, sizeof err);
    if (rc == TKN_OK) FZ_CHECK(dup == 0 || dup == 1);
    break;
  case 2:
    rc = st->release(r, "k", 1, "id1", err, sizeof err);
    break;
  case 3:
    rc = st->usage(r, "k", 1, 2, c, rs, err, sizeof err);
    break;
  case 4:
    rc = st->get(r, "k", 1, buf, sizeof buf, &len, err, sizeof err);
    if (rc == TKN_OK) FZ_CHECK(len <= sizeof buf);
    if (rc == TKN_ERR_TOO_SMALL) FZ_CHECK(len > sizeof buf);
    break;
  case 5:
    rc = st->set(r, "k", 1, "value", 5, op & 1 ? 1000 : 0, err, sizeof err);
    break;
  case 6:
    rc = st->add(r, "k", 1, "a1", 2, a, 3600, used, &dup, err, sizeof err);
    if (rc == TKN_OK) FZ_CHECK(dup == 0 || dup == 1);
    break;
  case 7:
    rc = st->add(r, "k", 1, NULL, 2, a, 0, NULL, NULL, err, sizeof err);
    break;
  case 8:
    rc = st->read(r, "k", 1, 2, c, err, sizeof err);
    break;
  default:
    rc = tkn_redis_ping(r);
    if (rc) {
      FZ_CHECK(tkn_error_last()->status == rc);
      snprintf(err, sizeof err, "%s", tkn_error_last()->message);
    }
    break;
  }
  check_status(rc, err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4 || size > (1 << 20)) return 0;
  g_stream = data + 4;
  g_stream_len = size - 4;
  g_opened = 0;
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.retries = 1;
  o.retry_delay_ms = 0;
  o.pool_size = 1;
  o.call_timeout_ms = 2000;
  o.command_timeout_ms = 2000;
  o.on_state_loss = data[0] & 0x80 ? TKN_REDIS_STATE_LOSS_CONTINUE : TKN_REDIS_STATE_LOSS_FAIL;
  tkn_redis *r = NULL;
  FZ_CHECK(tkn_redis_new(&r, &o) == TKN_OK);
  r->open_fd = open_fake;
  tkn_store st;
  FZ_CHECK(tkn_redis_store(r, &st) == TKN_OK);
  for (int i = 0; i < 4; i++) run_op(r, &st, data[i]);
  tkn_redis_free(r);
  if (g_peer >= 0) close(g_peer);
  g_peer = -1;
  return 0;
}
