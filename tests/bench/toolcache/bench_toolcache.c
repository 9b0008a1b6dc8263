/* Tool-cache lookups per second, from 1 and from 2 threads on one cache.
 *
 * Run on one shard (exact LRU, the default) and on 8 shards.
 * Input: KEYS distinct calls of one tool (arguments ~110 bytes of JSON with
 * nested objects, keys out of order), values of 400 bytes, all cached; each
 * thread looks up keys in a pseudo-random order (all hits), then the same
 * number of calls that miss.  A lookup includes everything a host pays:
 * parsing and canonicalising the arguments, hashing, the locked table walk,
 * and copying the value out.
 *
 * Rerun: meson test -C build --benchmark --suite bench -v toolcache
 *    or: build/tests/bench/toolcache/bench_toolcache [lookups-per-thread]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

#define KEYS 10000

static tkn_toolcache *cache;
static long per_thread = 400000;
static int miss_mode;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int make_args(char *buf, size_t cap, unsigned k) {
  return snprintf(buf, cap,
                  "{\"query\": \"weather in city %u\", \"limit\": 10, \"options\": "
                  "{\"units\": \"metric\", \"lang\": \"en\", \"days\": %u.0}}",
                  k, k % 7);
}

static void *worker(void *arg) {
  unsigned x = (unsigned)(size_t)arg * 2654435761u + 1;
  char args[256];
  long bad = 0;
  for (long i = 0; i < per_thread; i++) {
    x = x * 1103515245u + 12345u;
    unsigned k = (x >> 8) % KEYS + (miss_mode ? KEYS : 0);
    int n = make_args(args, sizeof args, k);
    char *v;
    size_t len;
    int rc = tkn_toolcache_get(cache, "weather", 7, args, (size_t)n, "session-1", 9, &v, &len);
    if (rc == TKN_OK) tkn_free(v);
    if ((rc == TKN_OK) == miss_mode) bad++;
  }
  return (void *)bad;
}

static double run(int threads) {
  pthread_t th[2];
  double t0 = now_s();
  for (int i = 0; i < threads; i++) pthread_create(&th[i], NULL, worker, (void *)(size_t)(i + 1));
  long bad = 0;
  for (int i = 0; i < threads; i++) {
    void *r;
    pthread_join(th[i], &r);
    bad += (long)r;
  }
  double dt = now_s() - t0;
  if (bad) {
    fprintf(stderr, "unexpected %s: %ld\n", miss_mode ? "hits" : "misses", bad);
    exit(1);
  }
  return (double)per_thread * threads / dt;
}

static int fill(uint32_t shards) {
  tkn_toolcache_options o = TKN_TOOLCACHE_OPTIONS_INIT;
  o.max_bytes = 64u << 20;
  o.shards = shards;
  if (tkn_toolcache_new(&cache, &o) != TKN_OK) return 1;
  char args[256], value[400];
  tkn_toolcache_set_policy(cache, "weather", 7, 1, 0, TKN_TOOLCACHE_SCOPE_SESSION);
  memset(value, 'v', sizeof value);
  for (unsigned k = 0; k < KEYS; k++) {
    int n = make_args(args, sizeof args, k);
    if (tkn_toolcache_put(cache, "weather", 7, args, (size_t)n, "session-1", 9, value,
                          sizeof value, 100) != TKN_OK)
      return 1;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1) per_thread = atol(argv[1]);
  char args[256];
  if (fill(1)) return 1;
  make_args(args, sizeof args, 0);
  printf("tool cache lookups (tkn_toolcache_get)\n");
  printf("input: %d cached calls, arguments like %s (%zu bytes), values 400 bytes\n", KEYS, args,
         strlen(args));
  printf("       %ld lookups per thread, random keys; rerun: meson test -C build --benchmark "
         "--suite bench -v toolcache\n\n",
         per_thread);
  printf("%-8s %-8s %16s %16s %10s\n", "shards", "kind", "1 thread /s", "2 threads /s", "2t / 1t");
  for (int sh = 0; sh < 2; sh++) {
    if (sh) {
      tkn_toolcache_free(cache);
      if (fill(8)) return 1;
    }
    for (miss_mode = 0; miss_mode < 2; miss_mode++) {
      double one = run(1), two = run(2);
      printf("%-8d %-8s %16.0f %16.0f %10.2f\n", sh ? 8 : 1, miss_mode ? "misses" : "hits", one,
             two, two / one);
    }
  }
  tkn_toolcache_stats st = TKN_TOOLCACHE_STATS_INIT;
  tkn_toolcache_stats_get(cache, &st);
  printf("\ncache (8 shards) at the end: %llu entries, %llu bytes, %llu hits, %llu misses, %llu bytes saved\n",
         (unsigned long long)st.entries, (unsigned long long)st.bytes,
         (unsigned long long)st.hits, (unsigned long long)st.misses,
         (unsigned long long)st.bytes_saved);
  tkn_toolcache_free(cache);
  return 0;
}
