/* tkn_toolsel_select's cost per call, by catalogue size: CPU time per
 * selection (median and 90th percentile over the queries), beside the simple
 * thing a host would write instead, a keyword match (for each tool, the count
 * of the query's words found by strstr in its name and description, the best
 * k taken), on the same tools and queries.  Synthetic catalogues: N tools,
 * each a two-word name, a 12-word description and 3 parameter names drawn
 * from a 600-word vocabulary (a fixed LCG, so every run sees the same input);
 * 200 queries of 10 words.  Prints, never asserts (make bench). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

#define VOCAB 600
#define QUERIES 200
#define K 5

static unsigned long long rng = 88172645463325252ULL;
static unsigned next(void) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rng >> 33);
}

static char vocab[VOCAB][12];

static void make_vocab(void) {
  static const char *const syl[] = {"ka", "lo", "mi", "nu", "pe", "ra", "si", "to", "vu", "ze",
                                    "bar", "den", "fil", "gor", "hun", "jas"};
  for (int i = 0; i < VOCAB; i++)
    snprintf(vocab[i], sizeof vocab[i], "%s%s%s", syl[next() % 16], syl[next() % 16],
             syl[i % 16]);
}

static const char *word(void) { return vocab[next() % VOCAB]; }

typedef struct tool_text {
  char name[64], desc[256];
} tool_text;

static double now_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The host's keyword match: query words found in name + description. */
static size_t keyword_select(const tool_text *tt, size_t n, char q[10][12], uint32_t *out,
                             double *score) {
  for (size_t i = 0; i < n; i++) {
    score[i] = 0;
    for (int w = 0; w < 10; w++)
      score[i] += (strstr(tt[i].name, q[w]) != NULL) + (strstr(tt[i].desc, q[w]) != NULL);
  }
  size_t m = 0;
  for (int r = 0; r < K; r++) { /* k passes: the best not yet taken */
    size_t best = n;
    for (size_t i = 0; i < n; i++)
      if (score[i] > 0 && (best == n || score[i] > score[best])) best = i;
    if (best == n) break;
    out[m++] = (uint32_t)best;
    score[best] = -1;
  }
  return m;
}

static void run(size_t n) {
  tool_text *tt = calloc(n, sizeof *tt);
  tkn_toolsel *cat = NULL;
  if (!tt || tkn_toolsel_new(&cat, NULL)) exit(1);
  char js[1024];
  for (size_t i = 0; i < n; i++) {
    snprintf(tt[i].name, sizeof tt[i].name, "%s_%s_%zu", word(), word(), i);
    size_t o = 0;
    for (int w = 0; w < 12; w++) o += (size_t)snprintf(tt[i].desc + o, 256 - o, "%s ", word());
    snprintf(js, sizeof js, "{\"name\":\"%s\",\"description\":\"%s\",\"parameters\":{\"type\":"
             "\"object\",\"properties\":{\"%s\":{},\"%s\":{},\"%s\":{}}}}", tt[i].name,
             tt[i].desc, word(), word(), word());
    if (tkn_toolsel_add(cat, js, strlen(js), NULL)) {
      fprintf(stderr, "bench_toolsel: %s\n", tkn_error_last()->message);
      exit(1);
    }
  }
  static char q[QUERIES][10][12];
  static char qtext[QUERIES][160];
  for (int i = 0; i < QUERIES; i++) {
    size_t o = 0;
    for (int w = 0; w < 10; w++) {
      snprintf(q[i][w], sizeof q[i][w], "%s", word());
      o += (size_t)snprintf(qtext[i] + o, sizeof qtext[i] - o, "%s ", q[i][w]);
    }
  }
  uint32_t *out = calloc(n, sizeof *out);
  double *score = calloc(n, sizeof *score);
  static double tb[QUERIES], tk[QUERIES];
  size_t agree = 0, hits = 0;
  for (int i = 0; i < QUERIES; i++) {
    size_t m = 0;
    double t0 = now_cpu();
    int rc = tkn_toolsel_select(cat, qtext[i], strlen(qtext[i]), K, NULL, 0, out, n, &m);
    double t1 = now_cpu();
    if (rc) exit(1);
    hits += m;
    uint32_t ko[K];
    double t2 = now_cpu();
    size_t km = keyword_select(tt, n, q[i], ko, score);
    double t3 = now_cpu();
    tb[i] = (t1 - t0) * 1e6;
    tk[i] = (t3 - t2) * 1e6;
    agree += km == m;
  }
  qsort(tb, QUERIES, sizeof *tb, cmp_double);
  qsort(tk, QUERIES, sizeof *tk, cmp_double);
  printf("| %6zu | %9.1f | %9.1f | %12.1f | %12.1f | %5.2f | %13.1f |\n", n, tb[QUERIES / 2],
         tb[QUERIES * 9 / 10], tk[QUERIES / 2], tk[QUERIES * 9 / 10],
         tb[QUERIES / 2] / tk[QUERIES / 2], (double)hits / QUERIES);
  (void)agree;
  free(out);
  free(score);
  free(tt);
  tkn_toolsel_free(cat);
}

int main(void) {
  make_vocab();
  printf("tkn_toolsel_select (BM25, k=%d) vs a strstr keyword match, per call, CPU time in us;\n"
         "synthetic catalogues (a two-word name, 12-word description, 3 parameters per tool,\n"
         "%d-word vocabulary), %d queries of 10 words; median and p90 over the queries\n\n",
         K, VOCAB, QUERIES);
  printf("|  tools | BM25 med. | BM25 p90 | keyword med. | keyword p90 | ratio | tools chosen |\n");
  printf("|-------:|----------:|---------:|-------------:|------------:|------:|-------------:|\n");
  static const size_t sizes[] = {14, 100, 1000, 10000};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) run(sizes[i]);
  return 0;
}
