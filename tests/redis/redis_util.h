/* Shared by the Redis tests: a client on the fixture's server (see
 * redis_fixture.py), keys unique to this run, and the fixture's server
 * control (stop / kill / start). */
#ifndef TKN_TEST_REDIS_UTIL_H
#define TKN_TEST_REDIS_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <tokenomy-redis/redis.h>

/* The fixture's port, or exit 77 (skip) when run without it. */
static inline int tr_port(void) {
  const char *p = getenv("TKN_REDIS_PORT");
  if (!p || !*p) {
    printf("SKIP: TKN_REDIS_PORT is not set (run through tests/redis/redis_fixture.py)\n");
    exit(77);
  }
  return atoi(p);
}

/* A client on the fixture's server with the given retries. */
static inline tkn_redis *tr_client(uint32_t retries, uint32_t delay_ms) {
  tkn_redis_options o = TKN_REDIS_OPTIONS_INIT;
  o.port = (uint32_t)tr_port();
  o.retries = retries;
  o.retry_delay_ms = delay_ms;
  o.connect_timeout_ms = 500;
  o.command_timeout_ms = 2000;
  tkn_redis *r = NULL;
  if (tkn_redis_new(&r, &o) != TKN_OK) {
    fprintf(stderr, "tkn_redis_new: %s\n", tkn_error_last()->message);
    exit(1);
  }
  return r;
}

/* Run the fixture's control command: "stop", "kill" or "start". */
static inline int tr_ctl(const char *word) {
  const char *ctl = getenv("TKN_REDIS_CTL"), *dir = getenv("TKN_REDIS_DIR");
  if (!ctl || !dir) return -1;
  char cmd[2048];
  snprintf(cmd, sizeof cmd, "%s %s '%s'", ctl, word, dir);
  return system(cmd);
}

/* A key unique to this process and moment. */
static inline void tr_key(char *buf, size_t len, const char *what) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  snprintf(buf, len, "test:%s:%ld:%lld%09ld", what, (long)getpid(), (long long)ts.tv_sec,
           ts.tv_nsec);
}

static inline void tr_sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* xorshift64*: a worker's random sizes. */
static inline uint64_t tr_rand(uint64_t *s) {
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * 0x2545F4914F6CDD1DULL;
}

#endif
