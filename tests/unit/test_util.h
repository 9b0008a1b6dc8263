/* Helpers shared by the unit tests: an allocator that counts live blocks and
 * can fail the Nth allocation (for leak checks and out-of-memory loops),
 * reading test data files, S(), conversations from JSON and a fake clock. */
#ifndef TKN_TEST_UTIL_H
#define TKN_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include <tokenomy.h>

typedef struct tt_alloc_state {
  long live;       /* blocks allocated and not yet freed */
  long count;      /* allocations so far */
  long fail_at;    /* fail the allocation whose number is fail_at (1-based); 0 never */
  int failed;      /* an allocation was refused */
} tt_alloc_state;

static tt_alloc_state tt_alloc;

/* A string and its byte length, as the API's (pointer, length) pairs take
 * them: S("literal") or S(variable). */
#define S(x) (x), strlen(x)

/* A conversation parsed from JSON in `format` (TKN_PROVIDER_*); the test
 * fails with the library's one-line message when it does not parse. */
static inline tkn_conv *tt_conv(uint32_t format, const char *json) {
  tkn_conv *c = NULL;
  if (tkn_conv_from_json(&c, format, json, strlen(json)) != TKN_OK)
    fail_msg("test conversation rejected: %s", tkn_error_last()->message);
  return c;
}

/* A clock the test moves by hand, for the options' clock callbacks:
 * o.clock = tt_clock_read; o.clock_user = &clk; then clk.now += ... */
typedef struct tt_clock {
  int64_t now;
} tt_clock;
static inline int64_t tt_clock_read(void *user) { return ((tt_clock *)user)->now; }

/* The one-line detail of a failure comes from tkn_error_last(); these keep
 * a copy where a test wants to look at it after further calls.
 * tt_keep_err(call, buf, len): the status of the call, and its message in
 * buf ("" when it succeeded). */
static inline int tt_keep_err(int rc, char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", rc ? tkn_error_last()->message : "");
  return rc;
}
static inline void tt_copy_err(char *buf, size_t len) {
  if (buf && len) snprintf(buf, len, "%s", tkn_error_last()->message);
}

static void *tt_malloc(size_t n, void *u) {
  (void)u;
  tt_alloc.count++;
  if (tt_alloc.fail_at && tt_alloc.count == tt_alloc.fail_at) {
    tt_alloc.failed = 1;
    return NULL;
  }
  void *p = malloc(n);
  if (p) tt_alloc.live++;
  return p;
}

static void *tt_realloc(void *p, size_t n, void *u) {
  (void)u;
  tt_alloc.count++;
  if (tt_alloc.fail_at && tt_alloc.count == tt_alloc.fail_at) {
    tt_alloc.failed = 1;
    return NULL;
  }
  void *q = realloc(p, n);
  if (q && !p) tt_alloc.live++;
  return q;
}

static void tt_free(void *p, void *u) {
  (void)u;
  if (p) tt_alloc.live--;
  free(p);
}

/* Install the counting allocator; fail allocation number fail_at (0: none). */
static inline void tt_alloc_install(long fail_at) {
  memset(&tt_alloc, 0, sizeof tt_alloc);
  tt_alloc.fail_at = fail_at;
  tkn_allocator a = TKN_ALLOCATOR_INIT;
  a.malloc_fn = tt_malloc;
  a.realloc_fn = tt_realloc;
  a.free_fn = tt_free;
  assert_int_equal(tkn_set_allocator(&a), TKN_OK);
}

static inline void tt_alloc_restore(void) { tkn_set_allocator(NULL); }

/* Read a whole file; NULL if it cannot be read.  Free with free(). */
static inline char *tt_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap + 1);
  size_t r;
  while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
    n += r;
    if (n == cap) {
      char *nb = realloc(buf, cap * 2 + 1);
      if (!nb) {
        free(buf);
        buf = NULL;
        break;
      }
      buf = nb;
      cap *= 2;
    }
  }
  fclose(f);
  if (!buf) return NULL;
  buf[n] = '\0';
  if (len) *len = n;
  return buf;
}

/* Path of a file under the source tree (TKN_SOURCE_ROOT set by meson). */
static inline const char *tt_src_path(const char *rel) {
  static char path[4096];
  const char *root = getenv("TKN_SOURCE_ROOT");
  snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
  return path;
}

#endif
