/* A fleet of 8 worker processes shares one budget on a real Redis: each makes
 * thousands of reservations of random sizes and commits (or releases) them.
 * Checks that committed spend never passes the hard limit (sampled while the
 * workers run, and at the end) and that it equals the sum of what the workers
 * were granted and committed, to the unit. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <sys/wait.h>

#include "redis_util.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

#define WORKERS 8
#define PER_WORKER 2000
#define HARD_TOKENS 400000 /* about half of what the fleet asks for */
#define HARD_MONEY 2000000

typedef struct result {
  int64_t tokens, money;
  int64_t granted, refused, released, errors;
} result;

static tkn_budget *shared_budget(tkn_redis *r, const char *key, tkn_store *st) {
  tkn_redis_store(r, st);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = HARD_TOKENS;
  o.hard_money = HARD_MONEY;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = key;
  so.key_len = strlen(key);
  tkn_budget *b = NULL;
  char err[512];
  if (keep_err(tkn_budget_new_shared(&b, &o, &so, st, NULL), err, sizeof err) != TKN_OK) {
    fprintf(stderr, "tkn_budget_new_shared: %s\n", err);
    exit(1);
  }
  return b;
}

static void worker(int id, const char *key, int fd) {
  tkn_redis *r = tr_client(2, 20);
  tkn_store st;
  tkn_budget *b = shared_budget(r, key, &st);
  result res = {0, 0, 0, 0, 0, 0};
  uint64_t seed = 0x9E3779B97F4A7C15ULL * (uint64_t)(id + 1);
  for (int i = 0; i < PER_WORKER; i++) {
    tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT;
    a.input_tokens = (int64_t)(tr_rand(&seed) % 80) + 1;
    a.output_tokens = (int64_t)(tr_rand(&seed) % 40);
    a.money = (int64_t)(tr_rand(&seed) % 500);
    tkn_budget_reservation *rv = NULL;
    int rc = tkn_budget_reserve(b, &a, &rv);
    if (rc == TKN_ERR_BUDGET) {
      res.refused++;
      continue;
    }
    if (rc != TKN_OK) {
      fprintf(stderr, "worker %d: reserve: %s\n", id, tkn_error_last()->message);
      res.errors++;
      continue;
    }
    res.granted++;
    if (tr_rand(&seed) % 10 == 0) {
      tkn_budget_release(rv);
      res.released++;
      continue;
    }
    tkn_budget_amount u = TKN_BUDGET_AMOUNT_INIT;
    u.input_tokens = (int64_t)(tr_rand(&seed) % (uint64_t)(a.input_tokens + 1));
    u.output_tokens = (int64_t)(tr_rand(&seed) % (uint64_t)(a.output_tokens + 1));
    u.money = (int64_t)(tr_rand(&seed) % (uint64_t)(a.money + 1));
    if ((rc = tkn_budget_commit(rv, &u)) != TKN_OK) {
      fprintf(stderr, "worker %d: commit: %s\n", id, tkn_error_last()->message);
      tkn_budget_release(rv);
      res.errors++;
      continue;
    }
    res.tokens += u.input_tokens + u.output_tokens;
    res.money += u.money;
  }
  if (write(fd, &res, sizeof res) != (ssize_t)sizeof res) _exit(3);
  tkn_budget_free(b);
  tkn_redis_free(r);
  _exit(0);
}

int main(void) {
  tr_port();
  char key[128];
  tr_key(key, sizeof key, "fleet");
  int fds[2];
  if (pipe(fds) != 0) return 1;
  pid_t pids[WORKERS];
  for (int i = 0; i < WORKERS; i++) {
    pids[i] = fork();
    if (pids[i] < 0) return 1;
    if (pids[i] == 0) {
      close(fds[0]);
      worker(i, key, fds[1]);
    }
  }
  close(fds[1]);
  /* sample the shared state while the workers run */
  tkn_redis *r = tr_client(2, 20);
  tkn_store st;
  tkn_budget *b = shared_budget(r, key, &st);
  int failures = 0, samples = 0, running = WORKERS;
  while (running > 0) {
    tkn_budget_state s = TKN_BUDGET_STATE_INIT;
    if (tkn_budget_status(b, &s) == TKN_OK) {
      samples++;
      if (s.tokens_committed + s.tokens_reserved > HARD_TOKENS ||
          s.money_committed + s.money_reserved > HARD_MONEY) {
        printf("FAIL: sample over the limit: tokens %" PRId64 "+%" PRId64 ", money %" PRId64
               "+%" PRId64 "\n", s.tokens_committed, s.tokens_reserved, s.money_committed,
               s.money_reserved);
        failures++;
      }
    }
    int status;
    pid_t p;
    while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
      running--;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        printf("FAIL: worker %ld exited with status %d\n", (long)p, status);
        failures++;
      }
    }
    tr_sleep_ms(5);
  }
  result sum = {0, 0, 0, 0, 0, 0};
  for (int i = 0; i < WORKERS; i++) {
    result w;
    if (read(fds[0], &w, sizeof w) != (ssize_t)sizeof w) {
      printf("FAIL: a worker sent no result\n");
      return 1;
    }
    sum.tokens += w.tokens;
    sum.money += w.money;
    sum.granted += w.granted;
    sum.refused += w.refused;
    sum.released += w.released;
    sum.errors += w.errors;
  }
  tkn_budget_state s = TKN_BUDGET_STATE_INIT;
  if (tkn_budget_status(b, &s) != TKN_OK) {
    printf("FAIL: status: %s\n", tkn_error_last()->message);
    return 1;
  }
  printf("%d workers x %d reservations on one shared budget (hard %d tokens, %d money):\n",
         WORKERS, PER_WORKER, HARD_TOKENS, HARD_MONEY);
  printf("  granted %" PRId64 ", refused %" PRId64 ", released %" PRId64 ", errors %" PRId64
         ", %d samples while running\n", sum.granted, sum.refused, sum.released, sum.errors,
         samples);
  printf("  committed in Redis: %" PRId64 " tokens, %" PRId64 " money; reserved %" PRId64
         " / %" PRId64 "\n", s.tokens_committed, s.money_committed, s.tokens_reserved,
         s.money_reserved);
  printf("  sum of the workers' commits: %" PRId64 " tokens, %" PRId64 " money\n", sum.tokens,
         sum.money);
  if (s.tokens_committed != sum.tokens || s.money_committed != sum.money) {
    printf("FAIL: committed spend differs from the sum of the workers' commits\n");
    failures++;
  }
  if (s.tokens_committed > HARD_TOKENS || s.money_committed > HARD_MONEY) {
    printf("FAIL: committed spend passes the hard limit\n");
    failures++;
  }
  if (s.tokens_reserved != 0 || s.money_reserved != 0) {
    printf("FAIL: reservations left open\n");
    failures++;
  }
  if (sum.refused == 0) {
    printf("FAIL: the limit never refused anything: the test did not contend\n");
    failures++;
  }
  if (sum.errors != 0) failures++;
  tkn_budget_free(b);
  tkn_redis_free(r);
  printf("%s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
