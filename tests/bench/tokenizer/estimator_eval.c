/* Estimator calibration, the C side: for each document, the exact counts of
 * cl100k_base and o200k_base (special-token text as plain text) and the
 * estimator's counts (calibrated for cl100k_base, for o200k_base); then the
 * estimator's throughput on ASCII text.
 * usage: estimator_eval CORPUS   (documents: u32 length + bytes)
 * Prints "doc I CL100K O200K EST_CL100K EST_O200K" lines, then "ascii.bytes N" and
 * "ascii.secs S" (median of 5 passes over the ASCII-only documents, in CPU
 * time: the machine may be shared). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  FILE *f = fopen(argv[1], "rb");
  if (!f) return 1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) return 1;
  fclose(f);
  tkn_tokenizer *cl = NULL, *o2 = NULL, *est = NULL, *est_cl = NULL;
  if (tkn_tokenizer_new_encoding(&cl, "cl100k_base", 11) ||
      tkn_tokenizer_new_encoding(&o2, "o200k_base", 10) ||
      tkn_tokenizer_new_estimator_for(&est_cl, "cl100k_base", 11) ||
      tkn_tokenizer_new_estimator_for(&est, "o200k_base", 10))
    return 1;
  tkn_encode_options plain = TKN_ENCODE_OPTIONS_INIT;
  plain.special = TKN_SPECIAL_PLAIN;
  char *ascii = malloc((size_t)n + 1);
  size_t alen = 0, i = 0;
  for (long o = 0; o + 4 <= n; i++) {
    uint32_t len;
    memcpy(&len, b + o, 4);
    o += 4;
    const char *t = b + o;
    int64_t c1 = 0, c2 = 0, e = 0, ecl = 0;
    if (tkn_tokenizer_count_limit(cl, t, len, INT64_MAX - 1, &plain, &c1) ||
        tkn_tokenizer_count_limit(o2, t, len, INT64_MAX - 1, &plain, &c2) ||
        tkn_tokenizer_count(est, t, len, &e) || tkn_tokenizer_count(est_cl, t, len, &ecl))
      return 1;
    printf("doc %zu %lld %lld %lld %lld\n", i, (long long)c1, (long long)c2, (long long)ecl,
           (long long)e);
    int is_ascii = 1;
    for (uint32_t k = 0; k < len && is_ascii; k++) is_ascii = (unsigned char)t[k] < 0x80;
    if (is_ascii) {
      memcpy(ascii + alen, t, len);
      alen += len;
    }
    o += len;
  }
  double secs[5];
  for (int r = 0; r < 5; r++) {
    int64_t c = 0;
    double t0 = now();
    for (int rep = 0; rep < 10; rep++)
      if (tkn_tokenizer_count(est, ascii, alen, &c)) return 1;
    secs[r] = (now() - t0) / 10;
  }
  qsort(secs, 5, sizeof *secs, cmp_double);
  printf("ascii.bytes %zu\nascii.secs %.9f\n", alen, secs[2]);
  tkn_tokenizer_free(cl);
  tkn_tokenizer_free(o2);
  tkn_tokenizer_free(est);
  tkn_tokenizer_free(est_cl);
  free(ascii);
  free(b);
  return 0;
}
