/* Meter throughput: calls recorded per second into one shared meter from 1
 * and 2 threads, and from 2 threads each with its own meter merged at the
 * end (the sharded alternative), side by side.
 *
 * Rerun: meson test -C build --benchmark --suite bench -v meter
 *    or: build/tests/bench/meter/bench_meter [records-per-thread] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

static long g_records = 400000;

static const char *const k_flows[] = {"refund-triage", "order-status", "summarise-ticket",
                                      "draft-reply", "classify-intent", "escalate"};
static const char *const k_models[] = {"gpt-4o-mini", "gpt-4.1", "claude-haiku-4-5",
                                       "claude-sonnet-4-5"};
static const char *const k_tenants[] = {"acme", "globex", "initech", "umbrella", "hooli",
                                        "stark", "wayne", "wonka"};

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct job {
  tkn_meter *m;
  int seed;
  long failures;
} job;

static void *work(void *arg) {
  job *j = arg;
  uint32_t x = 2463534242u + (uint32_t)j->seed * 7919u;
  for (long i = 0; i < g_records; i++) {
    x ^= x << 13, x ^= x >> 17, x ^= x << 5;
    tkn_meter_call c = TKN_METER_CALL_INIT;
    const char *f = k_flows[x % 6], *mo = k_models[(x >> 3) % 4], *t = k_tenants[(x >> 5) % 8];
    c.workflow = f, c.workflow_len = strlen(f);
    c.model = mo, c.model_len = strlen(mo);
    c.tenant = t, c.tenant_len = strlen(t);
    c.task_type = "chat", c.task_type_len = 4;
    c.tier = (x >> 8) & 1 ? "small" : "large", c.tier_len = 5;
    c.routing_reason = "rule-1", c.routing_reason_len = 6;
    c.provider = "openai", c.provider_len = 6;
    c.usage.input_tokens = 200 + (x >> 9) % 20000;
    c.usage.cache_read_tokens = c.usage.input_tokens / 2;
    c.usage.output_tokens = 10 + (x >> 12) % 800;
    c.usage.flags = TKN_USAGE_CACHE_REPORTED;
    c.cost = c.usage.input_tokens * 2500000 + c.usage.output_tokens * 10000000;
    c.success = (x >> 20) % 10 != 0;
    c.latency_us = 1000 + (x >> 4) % 5000;
    if (tkn_meter_record(j->m, &c) != TKN_OK) j->failures++;
  }
  return NULL;
}

/* Run `threads` workers; shared: one meter, else one per thread merged after. */
static double run(int threads, int shared) {
  tkn_meter *m[2] = {NULL, NULL};
  for (int i = 0; i < (shared ? 1 : threads); i++)
    if (tkn_meter_new(&m[i], NULL) != TKN_OK) exit(1);
  pthread_t t[2];
  job j[2];
  double t0 = now();
  for (int i = 0; i < threads; i++) {
    j[i] = (job){shared ? m[0] : m[i], i, 0};
    pthread_create(&t[i], NULL, work, &j[i]);
  }
  for (int i = 0; i < threads; i++) pthread_join(t[i], NULL);
  if (!shared && threads == 2 && tkn_meter_merge(m[0], m[1]) != TKN_OK) exit(1);
  double dt = now() - t0;
  tkn_meter_stats s = TKN_METER_STATS_INIT;
  tkn_meter_stats_get(m[0], TKN_METER_TOTAL, NULL, 0, &s);
  if ((long)s.calls != threads * g_records || j[0].failures) {
    fprintf(stderr, "bench: recorded %llu of %ld\n", (unsigned long long)s.calls,
            threads * g_records);
    exit(1);
  }
  tkn_meter_free(m[0]);
  tkn_meter_free(m[1]);
  return (double)threads * (double)g_records / dt;
}

int main(int argc, char **argv) {
  if (argc > 1) g_records = atol(argv[1]);
  if (g_records <= 0) g_records = 400000;
  printf("meter throughput: %ld records per thread; keys: %d workflows, %d models, %d tenants, "
         "2 tiers; 6 dimensions + the label series + total per record, 2 sketches per workflow\n",
         g_records, 6, 4, 8);
  printf("rerun: meson test -C build --benchmark --suite bench -v meter "
         "(or build/tests/bench/meter/bench_meter N)\n\n");
  double one = run(1, 1);
  double two = run(2, 1);
  double sharded = run(2, 0);
  printf("%-40s %14s %10s\n", "setup", "records/s", "vs 1 thread");
  printf("%-40s %14.0f %10.2f\n", "1 thread, one meter", one, 1.0);
  printf("%-40s %14.0f %10.2f\n", "2 threads, one shared meter (mutex)", two, two / one);
  printf("%-40s %14.0f %10.2f\n", "2 threads, a meter each + merge", sharded, sharded / one);
  return 0;
}
