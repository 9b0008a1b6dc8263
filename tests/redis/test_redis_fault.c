/* The server dies mid-run and comes back: workers sharing a budget keep
 * reserving and committing while the fixture kills Redis (SIGKILL), restarts
 * it, then stops it cleanly and restarts it again.  Persistence is on
 * (append-only file, fsync on every write), as a production store would run.
 *
 * Checks:
 *  - fail-closed workers get TKN_ERR_UNAVAILABLE with a clear text while the
 *    server is down, and no reservation;
 *  - fallback workers keep reserving on their local allowance, and their
 *    commits reach the store once it is back (nothing left pending);
 *  - a commit that could not reach the store stays open and, committed again
 *    (while the worker goes on with new reservations), counts once;
 *  - at the end the store's committed spend equals the sum of every worker's
 *    commits, to the unit (nothing lost, nothing counted twice), and
 *    reservations orphaned by lost replies are freed by their lease. */
#include <inttypes.h>
#include <poll.h>
#include <sys/wait.h>

#include "redis_util.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

#define CLOSED_WORKERS 4
#define FALLBACK_WORKERS 2
#define WORKERS (CLOSED_WORKERS + FALLBACK_WORKERS)
#define LEASE_MS 1500

typedef struct result {
  int64_t tokens, money;
  int64_t granted, refused, unavailable, commit_retries, bad_text, pending_seen, pending_left;
  uint64_t reconnects;
  uint64_t state_losses; /* persistence on: a restart must not read as a loss */
} result;

static tkn_budget *make_budget(tkn_redis *r, const char *key, int fallback, tkn_store *st) {
  tkn_redis_store(r, st);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = 1000000000;
  o.hard_money = 1000000000;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = key;
  so.key_len = strlen(key);
  so.lease_ms = LEASE_MS;
  so.fallback = (uint32_t)fallback;
  so.fallback_tokens = 1000000;
  so.fallback_money = 1000000;
  tkn_budget *b = NULL;
  char err[512];
  if (keep_err(tkn_budget_new_shared(&b, &o, &so, st, NULL), err, sizeof err) != TKN_OK) {
    fprintf(stderr, "tkn_budget_new_shared: %s\n", err);
    exit(1);
  }
  return b;
}

static int stopped(int fd) {
  struct pollfd p = {fd, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

/* Commits that could not reach the store wait here and are sent again (the
 * same reservation, so the same id) while the worker goes on. */
#define MAX_OPEN 64
typedef struct open_commit {
  tkn_budget_reservation *r;
  tkn_budget_amount actual;
} open_commit;

static int retry_open(tkn_budget *b, open_commit *open, int *nopen, result *res, int id) {
  (void)b;
  int left = 0;
  for (int i = 0; i < *nopen; i++) {
    int rc = tkn_budget_commit(open[i].r, &open[i].actual);
    if (rc == TKN_OK) {
      res->tokens += open[i].actual.input_tokens + open[i].actual.output_tokens;
      res->money += open[i].actual.money;
      continue;
    }
    if (rc != TKN_ERR_UNAVAILABLE || !strstr(tkn_error_last()->message, "stays open")) {
      fprintf(stderr, "worker %d: commit: %s\n", id, tkn_error_last()->message);
      res->bad_text++;
    }
    res->commit_retries++;
    open[left++] = open[i];
  }
  *nopen = left;
  return left;
}

static void worker(int id, int fallback, const char *key, int stop_fd, int out_fd) {
  tkn_redis *r = tr_client(1, 10);
  tkn_store st;
  tkn_budget *b = make_budget(r, key, fallback, &st);
  result res;
  memset(&res, 0, sizeof res);
  open_commit open[MAX_OPEN];
  int nopen = 0;
  uint64_t seed = 0xD1B54A32D192ED03ULL * (uint64_t)(id + 1);
  while (!stopped(stop_fd)) {
    if (nopen && retry_open(b, open, &nopen, &res, id) == MAX_OPEN) {
      tr_sleep_ms(10);
      continue;
    }
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = (int64_t)(tr_rand(&seed) % 50) + 1;
    a.output_tokens = (int64_t)(tr_rand(&seed) % 20);
    a.money = (int64_t)(tr_rand(&seed) % 300);
    tkn_budget_reservation *rv = (tkn_budget_reservation *)&res; /* must become NULL on failure */
    int rc = tkn_budget_reserve(b, &a, &rv);
    if (rc == TKN_ERR_UNAVAILABLE) {
      res.unavailable++;
      const char *m = tkn_error_last()->message;
      if (rv != NULL || !strstr(m, "unavailable") || !strstr(m, "fail-closed") ||
          !strstr(m, key)) {
        fprintf(stderr, "worker %d: unclear fail-closed error: %s\n", id, m);
        res.bad_text++;
      }
      tr_sleep_ms(5);
      continue;
    }
    if (rc != TKN_OK) {
      res.refused++;
      fprintf(stderr, "worker %d: reserve: %s\n", id, tkn_error_last()->message);
      tr_sleep_ms(5);
      continue;
    }
    res.granted++;
    uint64_t pending = tkn_budget_shared_pending(b);
    open[nopen].r = rv;
    open[nopen].actual = (tkn_budget_amount)TKN_BUDGET_AMOUNT_INIT;
    open[nopen].actual.input_tokens = (int64_t)(tr_rand(&seed) % (uint64_t)(a.input_tokens + 1));
    open[nopen].actual.output_tokens =
        (int64_t)(tr_rand(&seed) % (uint64_t)(a.output_tokens + 1));
    open[nopen].actual.money = (int64_t)(tr_rand(&seed) % (uint64_t)(a.money + 1));
    nopen++;
    retry_open(b, open, &nopen, &res, id);
    if (tkn_budget_shared_pending(b) > pending || pending) res.pending_seen++;
  }
  /* the server is up again: every open commit and whatever the fallback
   * committed must get there */
  for (int i = 0; i < 500 && retry_open(b, open, &nopen, &res, id) > 0; i++) tr_sleep_ms(10);
  for (int i = 0; i < 500 && tkn_budget_shared_flush(b) != TKN_OK; i++) tr_sleep_ms(10);
  res.pending_left = (int64_t)tkn_budget_shared_pending(b) + nopen;
  res.reconnects = tkn_redis_reconnects(r);
  res.state_losses = tkn_redis_state_losses(r);
  if (write(out_fd, &res, sizeof res) != (ssize_t)sizeof res) _exit(3);
  tkn_budget_free(b);
  tkn_redis_free(r);
  _exit(0);
}

static int ctl(const char *word) {
  int rc = tr_ctl(word);
  printf("  server %s (%s)\n", word, rc == 0 ? "done" : "FAILED");
  return rc == 0 ? 0 : 1;
}

int main(void) {
  tr_port();
  if (!getenv("TKN_REDIS_CTL")) {
    printf("SKIP: no server control (run through redis_fixture.py)\n");
    return 77;
  }
  char key[128];
  tr_key(key, sizeof key, "fault");
  int stop[2], out[2];
  if (pipe(stop) != 0 || pipe(out) != 0) return 1;
  for (int i = 0; i < WORKERS; i++) {
    pid_t p = fork();
    if (p < 0) return 1;
    if (p == 0) {
      close(stop[1]);
      close(out[0]);
      worker(i, i >= CLOSED_WORKERS, key, stop[0], out[1]);
    }
  }
  close(stop[0]);
  close(out[1]);
  int failures = 0;
  printf("%d fail-closed and %d fallback workers on one shared budget:\n", CLOSED_WORKERS,
         FALLBACK_WORKERS);
  tr_sleep_ms(400);
  failures += ctl("kill"); /* a crash: SIGKILL */
  tr_sleep_ms(500);
  failures += ctl("start");
  tr_sleep_ms(400);
  failures += ctl("stop"); /* a clean restart */
  tr_sleep_ms(300);
  failures += ctl("start");
  tr_sleep_ms(400);
  close(stop[1]); /* the workers stop */
  result sum;
  memset(&sum, 0, sizeof sum);
  int64_t closed_unavailable = 0, fallback_pending_seen = 0;
  for (int i = 0; i < WORKERS; i++) {
    int status;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      printf("FAIL: a worker exited with status %d\n", status);
      failures++;
    }
  }
  for (int i = 0; i < WORKERS; i++) {
    result w;
    if (read(out[0], &w, sizeof w) != (ssize_t)sizeof w) {
      printf("FAIL: a worker sent no result\n");
      return 1;
    }
    sum.tokens += w.tokens;
    sum.money += w.money;
    sum.granted += w.granted;
    sum.refused += w.refused;
    sum.unavailable += w.unavailable;
    sum.commit_retries += w.commit_retries;
    sum.bad_text += w.bad_text;
    sum.pending_seen += w.pending_seen;
    sum.pending_left += w.pending_left;
    sum.reconnects += w.reconnects;
    sum.state_losses += w.state_losses;
    if (w.unavailable) closed_unavailable += w.unavailable;
    if (w.pending_seen) fallback_pending_seen += w.pending_seen;
  }
  tkn_redis *r = tr_client(3, 50);
  tkn_store st;
  tkn_budget *b = make_budget(r, key, 0, &st);
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  /* reservations whose reply was lost in a crash are freed by their lease */
  for (int i = 0; i < 100; i++) {
    if (tkn_budget_status(b, &s) == TKN_OK && s.tokens_reserved == 0 && s.money_reserved == 0)
      break;
    tr_sleep_ms(50);
  }
  printf("  granted %" PRId64 ", fail-closed refusals %" PRId64 ", commits resent %" PRId64
         ", fallback commits queued %" PRId64 ", reconnects %" PRIu64 "\n",
         sum.granted, sum.unavailable, sum.commit_retries, sum.pending_seen, sum.reconnects);
  printf("  committed in Redis: %" PRId64 " tokens, %" PRId64 " money (reserved %" PRId64
         "); workers' commits: %" PRId64 " tokens, %" PRId64 " money\n",
         s.tokens_committed, s.money_committed, s.tokens_reserved, sum.tokens, sum.money);
  if (s.tokens_committed != sum.tokens || s.money_committed != sum.money) {
    printf("FAIL: committed spend differs from the workers' commits (lost or double counted)\n");
    failures++;
  }
  if (s.tokens_reserved != 0 || s.money_reserved != 0) {
    printf("FAIL: reservations still held after their lease\n");
    failures++;
  }
  if (closed_unavailable == 0) {
    printf("FAIL: no worker saw the outage (fail-closed untested)\n");
    failures++;
  }
  if (fallback_pending_seen == 0) {
    printf("FAIL: the fallback workers never committed on their fallback budget\n");
    failures++;
  }
  if (sum.pending_left != 0) {
    printf("FAIL: %" PRId64 " fallback commits never reached the store\n", sum.pending_left);
    failures++;
  }
  if (sum.bad_text != 0 || sum.refused != 0) {
    printf("FAIL: %" PRId64 " unclear errors, %" PRId64 " unexpected refusals\n", sum.bad_text,
           sum.refused);
    failures++;
  }
  if (sum.reconnects == 0) {
    printf("FAIL: no worker reconnected\n");
    failures++;
  }
  if (sum.state_losses != 0) {
    printf("FAIL: a restart with persistence read as a lost state %" PRIu64 " times\n",
           sum.state_losses);
    failures++;
  }
  tkn_budget_free(b);
  tkn_redis_free(r);
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
