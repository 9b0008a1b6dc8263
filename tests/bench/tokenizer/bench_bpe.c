/* Benchmark of the BPE encodings, the C side: run by bench_bpe.mjs, which
 * runs the JavaScript peers on the same bytes and prints the comparison.
 *
 * usage: bench_bpe CORPUS pass ENCODING encode|count FIRST END [off|cold|warm]
 *          time documents [FIRST, END) (median of 3 passes) with the piece
 *          cache off, cold (default: empty when each pass starts) or warm
 *          (filled by a pass over the same documents first);
 *        bench_bpe CORPUS extras
 *          load cost, adversarial input, two threads;
 *        bench_bpe CORPUS native ENCODING SPEC [on|off]
 *          the native-peer benchmark's protocol (bench_native.py): SPEC is
 *          "KIND:FIRST:END:REPS ..."; for each kind, encode then count, one
 *          then two threads: after a warm-up pass, each thread goes REPS
 *          times over documents [FIRST, END) (encode: encode_alloc, an array
 *          per document, as the peers return one); prints one line
 *          "KIND MODE THREADS CPU WALL TOKENS" per run, CPU being the whole
 *          process's (CLOCK_PROCESS_CPUTIME_ID); the piece cache on (the
 *          default: warm after the warm-up pass) or off.
 *   Times are wall-clock ("secs", "wall") and CPU time of the timed thread
 *   ("cpu": CLOCK_THREAD_CPUTIME_ID).
 *   CORPUS: documents, each a little-endian u32 byte length then the bytes.
 * Prints one result per line: "key value" (times in seconds). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

typedef struct doc {
  const char *text;
  uint32_t len;
} doc;

static doc *g_docs;
static size_t g_ndocs;

static double clock_secs(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
/* Wall-clock time, and the CPU time of the calling thread (which the load of
 * a busy machine does not inflate the way it inflates wall-clock time). */
static double now(void) { return clock_secs(CLOCK_MONOTONIC); }
static double cpu_thread(void) { return clock_secs(CLOCK_THREAD_CPUTIME_ID); }

typedef struct timing {
  double wall, cpu;
} timing;

static void die(const char *what) {
  fprintf(stderr, "bench_bpe: %s\n", what);
  exit(1);
}

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) die("cannot open the corpus");
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) die("cannot read the corpus");
  fclose(f);
  *len = (size_t)n;
  return b;
}

static void load_docs(char *b, size_t n) {
  size_t cap = 1024;
  g_docs = malloc(cap * sizeof *g_docs);
  for (size_t o = 0; o + 4 <= n;) {
    uint32_t len;
    memcpy(&len, b + o, 4);
    o += 4;
    if (g_ndocs == cap) g_docs = realloc(g_docs, (cap *= 2) * sizeof *g_docs);
    g_docs[g_ndocs++] = (doc){b + o, len};
    o += len;
  }
}

/* One pass over documents [a, z): encode into a buffer, or count. */
static timing pass(const tkn_tokenizer *tok, size_t a, size_t z, int encode, int64_t *tokens) {
  size_t cap = 1;
  for (size_t i = a; i < z; i++)
    if (g_docs[i].len + 1 > cap) cap = g_docs[i].len + 1;
  uint32_t *ids = encode ? malloc(cap * sizeof *ids) : NULL; /* one buffer per thread */
  if (encode && !ids) die("out of memory");
  double t0 = now(), c0 = cpu_thread();
  int64_t total = 0;
  for (size_t i = a; i < z; i++) {
    if (encode) {
      size_t n = 0;
      if (tkn_tokenizer_encode(tok, g_docs[i].text, g_docs[i].len, NULL, ids, cap, &n))
        die("encode failed");
      total += (int64_t)n;
    } else {
      int64_t c = 0;
      if (tkn_tokenizer_count(tok, g_docs[i].text, g_docs[i].len, &c)) die("count failed");
      total += c;
    }
  }
  timing t = {now() - t0, cpu_thread() - c0};
  free(ids);
  *tokens = total;
  return t;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A tokenizer of an encoding from the embedded data with a piece cache of
 * cache_kb (0: none). */
static tkn_tokenizer *make_tok(const char *enc, uint32_t cache_kb) {
  tkn_ranks_options o = TKN_RANKS_OPTIONS_INIT;
  o.flavor = strcmp(enc, "cl100k_base") == 0 ? TKN_BPE_CL100K : TKN_BPE_O200K;
  o.piece_cache_kb = cache_kb;
  tkn_tokenizer *tok = NULL;
  if (tkn_tokenizer_load_ranks(&tok, &o)) die("load failed");
  return tok;
}

/* The piece cache in a timed pass: "off" (none), "cold" (each pass on a new
 * tokenizer, the cache empty when it starts: text seen once) or "warm" (one
 * tokenizer, after a pass that filled its cache: text seen again). */
enum { CACHE_OFF, CACHE_COLD, CACHE_WARM };

/* Median of 3 passes (wall-clock and CPU time, each its own median). */
static timing timed(const char *enc, int cache, size_t a, size_t z, int encode,
                    int64_t *tokens) {
  double w[3], c[3];
  tkn_tokenizer *tok = make_tok(enc, cache == CACHE_OFF ? 0 : TKN_PIECE_CACHE_DEFAULT_KB);
  if (cache == CACHE_WARM) pass(tok, a, z, encode, tokens);
  for (int i = 0; i < 3; i++) {
    if (cache == CACHE_COLD && i) {
      tkn_tokenizer_free(tok);
      tok = make_tok(enc, TKN_PIECE_CACHE_DEFAULT_KB);
    }
    timing t = pass(tok, a, z, encode, tokens);
    w[i] = t.wall;
    c[i] = t.cpu;
  }
  tkn_tokenizer_free(tok);
  qsort(w, 3, sizeof *w, cmp_double);
  qsort(c, 3, sizeof *c, cmp_double);
  return (timing){w[1], c[1]};
}

typedef struct job {
  const tkn_tokenizer *tok;
  timing t;
} job;

static void *thread_pass(void *arg) {
  job *j = arg;
  int64_t tokens;
  j->t = pass(j->tok, 0, g_ndocs, 0, &tokens);
  return NULL;
}

/* Two threads counting the whole corpus at once against one thread: 3
 * passes of one thread, then 3 runs of two threads; each figure is the
 * shortest of its 3 (wall-clock time, and each thread's CPU time on its
 * own).  The load average is printed beside it: on a busy machine the two
 * threads may not get two cores, which shows as wall time well above the CPU
 * times, while CPU times equal to one thread's show that sharing the
 * tokenizer costs a thread nothing. */
#define THREAD_RUNS 7
static void two_threads(const tkn_tokenizer *tok, const char *name) {
  int64_t tokens;
  timing one = {1e9, 1e9};
  double best_wall = 1e9, cpu[2] = {1e9, 1e9};
  /* one thread, then two, in turns, so that both meet the same load */
  for (int rep = 0; rep < THREAD_RUNS; rep++) {
    timing t = pass(tok, 0, g_ndocs, 0, &tokens);
    if (t.wall < one.wall) one.wall = t.wall;
    if (t.cpu < one.cpu) one.cpu = t.cpu;
    job j[2] = {{tok, {0, 0}}, {tok, {0, 0}}};
    pthread_t th[2];
    double t0 = now();
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, thread_pass, &j[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    double wall = now() - t0;
    if (wall < best_wall) best_wall = wall;
    for (int i = 0; i < 2; i++)
      if (j[i].t.cpu < cpu[i]) cpu[i] = j[i].t.cpu;
  }
  char load[128] = "unknown";
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (!fgets(load, sizeof load, f)) strcpy(load, "unknown");
    fclose(f);
    load[strcspn(load, "\n")] = 0;
    for (char *q = load; *q; q++)
      if (*q == ' ') *q = '_';
  }
  printf("threads1.%s.wall %.6f\nthreads1.%s.cpu %.6f\n", name, one.wall, name, one.cpu);
  printf("threads2.%s.wall %.6f\nthreads2.%s.cpu0 %.6f\nthreads2.%s.cpu1 %.6f\n", name,
         best_wall, name, cpu[0], name, cpu[1]);
  printf("threads2.%s.loadavg %s\n", name, load);
}

/* Memory the library allocates, through the allocator hook. */
static size_t g_live, g_peak;
typedef struct hdr {
  size_t n;
  size_t pad;
} hdr;
static void *count_malloc(size_t n, void *u) {
  (void)u;
  hdr *h = malloc(sizeof *h + n);
  if (!h) return NULL;
  h->n = n;
  g_live += n;
  if (g_live > g_peak) g_peak = g_live;
  return h + 1;
}
static void count_free(void *p, void *u) {
  (void)u;
  if (!p) return;
  hdr *h = (hdr *)p - 1;
  g_live -= h->n;
  free(h);
}
static void *count_realloc(void *p, size_t n, void *u) {
  void *q = count_malloc(n, u);
  if (q && p) {
    hdr *h = (hdr *)p - 1;
    memcpy(q, p, h->n < n ? h->n : n);
    count_free(p, u);
  }
  return q;
}

static double cpu_now(void) { return clock_secs(CLOCK_PROCESS_CPUTIME_ID); }

static void load_cost(const char *name) {
  double t[7], c[7];
  for (int i = 0; i < 7; i++) {
    tkn_tokenizer *tok = NULL;
    g_live = g_peak = 0;
    tkn_allocator a = TKN_ALLOCATOR_INIT;
    a.malloc_fn = count_malloc;
    a.realloc_fn = count_realloc;
    a.free_fn = count_free;
    tkn_set_allocator(&a);
    double t0 = now(), c0 = cpu_now();
    if (tkn_tokenizer_new_encoding(&tok, name, strlen(name))) die("load failed");
    t[i] = now() - t0;
    c[i] = cpu_now() - c0;
    tkn_tokenizer_free(tok);
    tkn_set_allocator(NULL);
  }
  qsort(t, 7, sizeof *t, cmp_double);
  qsort(c, 7, sizeof *c, cmp_double);
  printf("load.%s.secs %.6f\nload.%s.cpu %.6f\nload.%s.bytes %zu\n", name, t[3], name, c[3], name,
         g_peak);
}

/* Adversarial input: one piece without a split point: random letters, one
 * letter repeated, '=' repeated (its tokens are up to 80 bytes long) and
 * spaces (one piece under both patterns). */
static void adversarial(const tkn_tokenizer *tok, const char *name) {
  static const size_t sizes[] = {64 << 10, 256 << 10, 1 << 20};
  static const char *kinds[] = {"random", "repeated", "equals", "spaces"};
  char *text = malloc(1 << 20);
  if (!text) die("out of memory");
  for (int kind = 0; kind < 4; kind++) {
    uint32_t x = 12345;
    for (size_t i = 0; i < (1 << 20); i++) {
      x = x * 1103515245u + 12345u;
      text[i] = kind == 0 ? (char)('a' + (x >> 16) % 26) : "xa= "[kind];
    }
    for (int s = 0; s < 3; s++) {
      double best = 1e9, best_cpu = 1e9;
      int64_t n = 0;
      for (int rep = 0; rep < 3; rep++) {
        double t0 = now(), c0 = cpu_thread();
        if (tkn_tokenizer_count(tok, text, sizes[s], &n)) die("adversarial count failed");
        double el = now() - t0, cel = cpu_thread() - c0;
        if (el < best) best = el;
        if (cel < best_cpu) best_cpu = cel;
      }
      printf("adversarial.%s.%s.%zu.secs %.6f\n", name, kinds[kind], sizes[s], best);
      printf("adversarial.%s.%s.%zu.cpu %.6f\n", name, kinds[kind], sizes[s], best_cpu);
    }
  }
  free(text);
}

/* ---- the native-peer benchmark's protocol ---- */

typedef struct run_job {
  const tkn_tokenizer *tok;
  size_t a, z;
  int encode, reps;
  int64_t tokens;
} run_job;

static void *run_thread(void *arg) {
  run_job *j = arg;
  for (int r = 0; r < j->reps; r++)
    for (size_t i = j->a; i < j->z; i++) {
      if (j->encode) {
        uint32_t *ids = NULL;
        size_t n = 0;
        if (tkn_tokenizer_encode_alloc(j->tok, g_docs[i].text, g_docs[i].len, NULL, &ids, &n))
          die("encode failed");
        tkn_free(ids);
        j->tokens += (int64_t)n;
      } else {
        int64_t c = 0;
        if (tkn_tokenizer_count(j->tok, g_docs[i].text, g_docs[i].len, &c)) die("count failed");
        j->tokens += c;
      }
    }
  return NULL;
}

static void run_one(const tkn_tokenizer *tok, const char *kind, int encode, size_t a, size_t z,
                    int threads, int reps) {
  run_job jobs[2];
  pthread_t th[2];
  double t0 = now(), c0 = clock_secs(CLOCK_PROCESS_CPUTIME_ID);
  for (int i = 0; i < threads; i++) {
    jobs[i] = (run_job){tok, a, z, encode, reps, 0};
    if (pthread_create(&th[i], NULL, run_thread, &jobs[i])) die("cannot start a thread");
  }
  int64_t tokens = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(th[i], NULL);
    tokens += jobs[i].tokens;
  }
  double wall = now() - t0, cpu = clock_secs(CLOCK_PROCESS_CPUTIME_ID) - c0;
  printf("%s %s %d %.6f %.6f %lld\n", kind, encode ? "encode" : "count", threads, cpu, wall,
         (long long)tokens);
  fflush(stdout);
}

static void run_protocol(const char *enc, char *spec, uint32_t cache_kb) {
  tkn_tokenizer *tok = make_tok(enc, cache_kb);
  for (char *item = strtok(spec, " "); item; item = strtok(NULL, " ")) {
    char kind[64];
    unsigned long a, z;
    int reps;
    if (sscanf(item, "%63[^:]:%lu:%lu:%d", kind, &a, &z, &reps) != 4 || a > z || z > g_ndocs)
      die("bad SPEC item");
    run_job warm = {tok, a, z, 1, 1, 0};
    run_thread(&warm);
    for (int encode = 1; encode >= 0; encode--)
      for (int threads = 1; threads <= 2; threads++) run_one(tok, kind, encode, a, z, threads, reps);
  }
  tkn_tokenizer_free(tok);
}

int main(int argc, char **argv) {
  if (argc < 3) die("usage: bench_bpe CORPUS pass ENCODING encode|count FIRST END | extras");
  size_t n;
  char *b = read_all(argv[1], &n);
  load_docs(b, n);
  if (strcmp(argv[2], "pass") == 0 && (argc == 7 || argc == 8)) {
    size_t a = (size_t)strtoull(argv[5], NULL, 10), z = (size_t)strtoull(argv[6], NULL, 10);
    if (a > z || z > g_ndocs) die("bad document range");
    const char *c = argc == 8 ? argv[7] : "cold";
    int cache = strcmp(c, "off") == 0    ? CACHE_OFF
                : strcmp(c, "warm") == 0 ? CACHE_WARM
                                         : CACHE_COLD;
    if (cache == CACHE_COLD && strcmp(c, "cold") != 0) die("cache: off, cold or warm");
    int64_t tokens = 0;
    timing t = timed(argv[3], cache, a, z, strcmp(argv[4], "encode") == 0, &tokens);
    printf("secs %.6f\ncpu %.6f\ntokens %lld\n", t.wall, t.cpu, (long long)tokens);
  } else if (strcmp(argv[2], "native") == 0 && (argc == 5 || argc == 6)) {
    if (argc == 6 && strcmp(argv[5], "off") != 0 && strcmp(argv[5], "on") != 0)
      die("cache: on or off");
    run_protocol(argv[3], argv[4], argc == 6 && strcmp(argv[5], "off") == 0
                                       ? 0
                                       : TKN_PIECE_CACHE_DEFAULT_KB);
  } else if (strcmp(argv[2], "extras") == 0) {
    const char *names[] = {"cl100k_base", "o200k_base"};
    for (int e = 0; e < 2; e++) {
      load_cost(names[e]);
      tkn_tokenizer *tok = NULL;
      if (tkn_tokenizer_new_encoding(&tok, names[e], strlen(names[e])))
        die("load failed");
      adversarial(tok, names[e]);
      two_threads(tok, names[e]);
      tkn_tokenizer_free(tok);
    }
  } else {
    die("usage: bench_bpe CORPUS pass ENCODING encode|count FIRST END | extras");
  }
  free(g_docs);
  free(b);
  return 0;
}
