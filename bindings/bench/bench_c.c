/* The C side of the bindings benchmark: the same operations the Python and
 * Go runners time, on the same input files, printed as "name ns_per_op".
 *   bench_c SHORT_TEXT_FILE CONVERSATION_JSON_FILE TOKENIZER
 * TOKENIZER: "estimator" or an encoding name (cl100k_base, o200k_base).
 * Run by run.py (see there); not useful alone. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tokenomy.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *buf = malloc((size_t)n + 1);
  if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
    free(buf);
    buf = NULL;
  }
  fclose(f);
  if (buf) buf[n] = 0;
  *len = (size_t)n;
  return buf;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: a busy machine's waits do not count */
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static tkn_tokenizer *tok;
static tkn_conv *conv;
static const char *text, *json;
static size_t text_len, json_len;
static volatile int64_t sink;

static int op_count_short(void) {
  int64_t n = 0;
  int rc = tkn_tokenizer_count(tok, text, text_len, &n);
  sink = n;
  return rc;
}

/* a whole conversation crosses in one call: load (replaces, drops the cached
 * counts) then count every message */
static int op_load_count_conv(void) {
  int64_t n = 0;
  int rc = tkn_conv_load(conv, TKN_PROVIDER_AUTO, json, json_len);
  if (!rc) rc = tkn_tokenizer_count_conv(tok, conv, NULL, &n, NULL);
  sink = n;
  return rc;
}

/* recount of an unchanged conversation: the per-message cache answers */
static int op_count_conv_cached(void) {
  int64_t n = 0;
  int rc = tkn_tokenizer_count_conv(tok, conv, NULL, &n, NULL);
  sink = n;
  return rc;
}

static double bench(int (*op)(void)) {
  long iters = 1;
  double best = 1e30;
  for (;;) { /* scale to ~0.1 s a run */
    double t0 = now_s();
    for (long i = 0; i < iters; i++)
      if (op()) { fprintf(stderr, "bench_c: operation failed\n"); exit(1); }
    double dt = now_s() - t0;
    if (dt > 0.1) break;
    iters *= 2;
  }
  for (int r = 0; r < 5; r++) {
    double t0 = now_s();
    for (long i = 0; i < iters; i++) op();
    double ns = (now_s() - t0) * 1e9 / (double)iters;
    if (ns < best) best = ns;
  }
  return best;
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: bench_c SHORT_TEXT_FILE CONVERSATION_JSON_FILE TOKENIZER\n");
    return 2;
  }
  text = read_file(argv[1], &text_len);
  json = read_file(argv[2], &json_len);
  int rc = strcmp(argv[3], "estimator") == 0
               ? tkn_tokenizer_new_estimator(&tok)
               : tkn_tokenizer_new_encoding(&tok, argv[3], strlen(argv[3]));
  if (!text || !json || rc || tkn_conv_new(&conv)) {
    fprintf(stderr, "bench_c: cannot read the inputs or set up\n");
    return 1;
  }
  printf("count_short %.1f\n", bench(op_count_short));
  printf("load_count_conv %.1f\n", bench(op_load_count_conv));
  printf("count_conv_cached %.1f\n", bench(op_count_conv_cached));
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  free((void *)text);
  free((void *)json);
  return 0;
}
