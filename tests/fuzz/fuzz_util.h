/* Helpers shared by the libFuzzer harnesses: a failed check aborts (libFuzzer
 * then saves the input), error texts must be one non-empty line, inputs that
 * carry two documents are split at a separator line, and operation sequences
 * are read a byte (or eight) at a time. */
#ifndef TKN_FUZZ_UTIL_H
#define TKN_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CHECK(cond)                                                         \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      abort();                                                                 \
    }                                                                          \
  } while (0)

/* A failure always says why, in one line. */
static inline void fz_one_line(const char *msg) {
  FZ_CHECK(msg != NULL);
  FZ_CHECK(msg[0] != '\0');
  FZ_CHECK(strchr(msg, '\n') == NULL);
}

/* The status of a library call; when it failed, its tkn_error_last() must be
 * the same status with a one-line message, copied into buf. */
#include <tokenomy/common.h>
static inline int fz_keep_err(int rc, char *buf, size_t len) {
  if (buf && len) buf[0] = '\0';
  if (rc) {
    FZ_CHECK(tkn_error_last()->status == rc);
    fz_one_line(tkn_error_last()->message);
    if (buf && len) snprintf(buf, len, "%s", tkn_error_last()->message);
  }
  return rc;
}

/* Split [data, data+size) at the first "\n--\n": *a (before), *b (after).
 * Without the separator all of it is *a and *b is empty. */
#define FZ_SEP "\n--\n"
static inline void fz_split(const uint8_t *data, size_t size, const char **a, size_t *alen,
                            const char **b, size_t *blen) {
  const char *s = (const char *)data;
  *a = s;
  *alen = size;
  *b = s + size;
  *blen = 0;
  for (size_t i = 0; i + 4 <= size; i++) {
    if (memcmp(s + i, FZ_SEP, 4) == 0) {
      *alen = i;
      *b = s + i + 4;
      *blen = size - i - 4;
      return;
    }
  }
}

/* A reader over the input for harnesses driven by operation sequences: past
 * the end every byte reads as 0, so any input is a whole sequence. */
typedef struct fz_reader {
  const uint8_t *p;
  size_t n;
} fz_reader;

static inline uint8_t fz_byte(fz_reader *r) {
  if (!r->n) return 0;
  r->n--;
  return *r->p++;
}

/* The next eight bytes, big-endian. */
static inline uint64_t fz_u64(fz_reader *r) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | fz_byte(r);
  return v;
}

/* Up to `max` bytes as a key of any bytes: *len gets how many were taken. */
static inline const char *fz_bytes(fz_reader *r, size_t max, size_t *len) {
  size_t k = max < r->n ? max : r->n;
  const char *s = (const char *)r->p;
  r->p += k;
  r->n -= k;
  *len = k;
  return s;
}

#endif
