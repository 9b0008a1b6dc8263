/* What sharing a budget through Redis costs.
 *
 *  1. latency: one process, reserve then commit, N times, on an in-process
 *     budget and on a shared budget over loopback; a bare PING gives the
 *     network floor.  Reported per operation, and the added latency.
 *  2. throughput: 8 processes, each reserving and committing as fast as it
 *     can on one shared budget for a fixed count; reservations per second
 *     for the fleet.
 *
 * Run: meson test -C build --benchmark --suite bench redis -v
 *  or: tests/redis/redis_fixture.py build/tests/bench/redis/bench_redis [N] [PER_PROCESS]
 */
#include <inttypes.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>

#include "redis_util.h"

/* The status of a call, its tkn_error_last() message copied into buf. */
static inline int keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}

#define PROCS 8

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static tkn_budget *shared_budget(tkn_redis *r, const char *key, tkn_store *st) {
  tkn_redis_store(r, st);
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = INT64_C(1) << 50;
  o.hard_money = INT64_C(1) << 50;
  tkn_budget_shared_options so = TKN_BUDGET_SHARED_OPTIONS_INIT;
  so.key = key;
  so.key_len = strlen(key);
  tkn_budget *b = NULL;
  char err[512];
  if (keep_err(tkn_budget_new_shared(&b, &o, &so, st, NULL), err, sizeof err) != TKN_OK) {
    fprintf(stderr, "%s\n", err);
    exit(1);
  }
  return b;
}

/* Seconds spent in reserve and in commit over n rounds. */
static void rounds(tkn_budget *b, long n, double *t_reserve, double *t_commit) {
  tkn_budget_amount a = TKN_BUDGET_AMOUNT_INIT, u = TKN_BUDGET_AMOUNT_INIT;
  a.input_tokens = 100;
  a.output_tokens = 50;
  a.money = 2000;
  u.input_tokens = 100;
  u.output_tokens = 20;
  u.money = 1500;
  *t_reserve = *t_commit = 0;
  for (long i = 0; i < n; i++) {
    tkn_budget_reservation *r;
    double t0 = now_s();
    if (tkn_budget_reserve(b, &a, &r) != TKN_OK) {
      fprintf(stderr, "reserve: %s\n", tkn_error_last()->message);
      exit(1);
    }
    double t1 = now_s();
    if (tkn_budget_commit(r, &u) != TKN_OK) {
      fprintf(stderr, "commit: %s\n", tkn_error_last()->message);
      exit(1);
    }
    *t_reserve += t1 - t0;
    *t_commit += now_s() - t1;
  }
}

int main(int argc, char **argv) {
  int port = tr_port();
  long n = argc > 1 ? atol(argv[1]) : 5000;
  long per = argc > 2 ? atol(argv[2]) : 3000;
  char key[128];
  tr_key(key, sizeof key, "bench");
  printf("bench_redis: the fixture's redis-server on 127.0.0.1:%d (loopback), %ld rounds in one "
         "process (x100 in-process), %d processes x %ld reservations; amounts: reserve 150 tokens "
         "+ 2000 money, commit 120 + 1500\n",
         port, n, PROCS, per);
  printf("rerun: meson test -C build --benchmark --suite bench redis -v\n"
         "   or: tests/redis/redis_fixture.py build/tests/bench/redis/bench_redis %ld %ld\n\n", n,
         per);

  /* network floor */
  redisContext *c = redisConnect("127.0.0.1", port);
  if (!c || c->err) return 1;
  double t0 = now_s();
  for (long i = 0; i < n; i++) freeReplyObject(redisCommand(c, "PING"));
  double ping = (now_s() - t0) / (double)n;
  redisFree(c);

  /* in-process */
  tkn_budget *local;
  tkn_budget_options o = TKN_BUDGET_OPTIONS_INIT;
  o.hard_tokens = INT64_C(1) << 50;
  if (tkn_budget_new(&local, &o, NULL) != TKN_OK) return 1;
  long ln = n * 100;
  double lr, lc;
  rounds(local, ln, &lr, &lc);
  tkn_budget_free(local);

  /* shared, one process */
  tkn_redis *r = tr_client(2, 20);
  tkn_store st;
  tkn_budget *b = shared_budget(r, key, &st);
  rounds(b, 200, &t0, &t0); /* warm up: connect, load scripts */
  double sr, sc;
  rounds(b, n, &sr, &sc);
  tkn_budget_free(b);
  tkn_redis_free(r);

  double lr_us = lr / (double)ln * 1e6, lc_us = lc / (double)ln * 1e6;
  double sr_us = sr / (double)n * 1e6, sc_us = sc / (double)n * 1e6;
  printf("latency per operation, one process          in-process    on Redis    added     ratio\n");
  printf("  reserve                                    %8.3f us  %8.1f us  %+8.1f us  %7.0fx\n",
         lr_us, sr_us, sr_us - lr_us, sr_us / lr_us);
  printf("  commit                                     %8.3f us  %8.1f us  %+8.1f us  %7.0fx\n",
         lc_us, sc_us, sc_us - lc_us, sc_us / lc_us);
  printf("  (a bare PING round trip is %.1f us; a reserve costs %.1f us more: its Lua script and "
         "the client; timer overhead included in every figure)\n\n",
         ping * 1e6, sr_us - ping * 1e6);

  /* shared, 8 processes */
  char fleet_key[160];
  snprintf(fleet_key, sizeof fleet_key, "%s:fleet", key);
  double f0 = now_s();
  for (int p = 0; p < PROCS; p++) {
    pid_t pid = fork();
    if (pid < 0) return 1;
    if (pid == 0) {
      tkn_redis *wr = tr_client(2, 20);
      tkn_store wst;
      tkn_budget *wb = shared_budget(wr, fleet_key, &wst);
      double a, bb;
      rounds(wb, per, &a, &bb);
      tkn_budget_free(wb);
      tkn_redis_free(wr);
      _exit(0);
    }
  }
  int ok = 1;
  for (int p = 0; p < PROCS; p++) {
    int status;
    if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) ok = 0;
  }
  double fleet = now_s() - f0;
  double total = (double)PROCS * (double)per;
  printf("throughput, %d processes on one shared budget (reserve + commit each)\n", PROCS);
  printf("  %.0f reservations in %.2f s: %.0f reservations/s (%.0f Redis scripts/s); "
         "in-process, one thread: %.0f reservations/s (%.0fx)\n",
         total, fleet, total / fleet, 2 * total / fleet, 1e6 / (lr_us + lc_us),
         (1e6 / (lr_us + lc_us)) / (total / fleet));
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  printf("  machine: %ld cores, shared by the 8 workers, redis-server and this benchmark\n", cores);
  return ok ? 0 : 1;
}
