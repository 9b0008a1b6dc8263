/* Batch file throughput: writing request lines and reading result lines, in
 * MB/s (1 MB = 1e6 bytes), against a naive way of doing the same with cJSON
 * (parse every body or line into a tree, print the body back); target >= 200
 * MB/s.  The heap is measured through the allocator hook: its peak while
 * reading must stay near the longest line (plus the id set), whatever the
 * file size.
 *
 * Input: REQUESTS chat requests (a system prompt and a user message of mixed
 * text, ~1.3 KB per body, a few 40 KB ones), written as OpenAI lines through
 * a sink that only counts bytes; then the matching OpenAI output file
 * (responses with usage, shuffled order, ~1.5 KB per line) read from memory
 * in 64 KiB chunks, joined and costed with the built-in price table.
 *
 * Rerun: meson test -C build --benchmark --suite bench -v batch
 *    or: build/tests/bench/batch/bench_batch [requests]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>
#include <tokenomy.h>

/* ---- a heap meter through the allocator hook ---- */
static size_t heap_live, heap_peak;
static void *h_malloc(size_t n, void *u) {
  (void)u;
  size_t *p = malloc(n + 16);
  if (!p) return NULL;
  p[0] = n;
  heap_live += n;
  if (heap_live > heap_peak) heap_peak = heap_live;
  return (char *)p + 16;
}
static void h_free(void *q, void *u) {
  (void)u;
  if (!q) return;
  size_t *p = (size_t *)((char *)q - 16);
  heap_live -= p[0];
  free(p);
}
static void *h_realloc(void *q, size_t n, void *u) {
  if (!q) return h_malloc(n, u);
  size_t *p = (size_t *)((char *)q - 16);
  size_t old = p[0];
  size_t *np = realloc(p, n + 16);
  if (!np) return NULL;
  np[0] = n;
  heap_live = heap_live - old + n;
  if (heap_live > heap_peak) heap_peak = heap_live;
  return (char *)np + 16;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct buf {
  char *p;
  size_t len, cap;
} buf;
static void put(buf *b, const char *s, size_t n) {
  if (b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if (!b->p) exit(1);
  }
  memcpy(b->p + b->len, s, n);
  b->len += n;
  b->p[b->len] = '\0';
}
static void puts_(buf *b, const char *s) { put(b, s, strlen(s)); }

static const char *WORDS[] = {"the", "contract", "renewal", "é", "invoice", "\\\"quoted\\\"",
                              "2024-05-13", "résumé", "API", "latency", "refund", "\\n",
                              "中文", "customer", "support", "ticket", "escalation"};

static void text(buf *b, unsigned *x, size_t bytes) {
  size_t start = b->len;
  while (b->len - start < bytes) {
    *x = *x * 1103515245u + 12345u;
    puts_(b, WORDS[(*x >> 16) % (sizeof WORDS / sizeof *WORDS)]);
    puts_(b, " ");
  }
}

static void make_body(buf *b, unsigned i, unsigned *x) {
  b->len = 0;
  puts_(b, "{\"model\":\"gpt-4o-mini\",\"max_tokens\":512,\"temperature\":0.2,\"messages\":["
           "{\"role\":\"system\",\"content\":\"");
  text(b, x, 400);
  puts_(b, "\"},{\"role\":\"user\",\"content\":\"");
  text(b, x, i % 500 == 0 ? 40000 : 800);
  puts_(b, "\"}]}");
}

static size_t sink_bytes;
static int s_begin(uint32_t index, void *user) {
  (void)index;
  (void)user;
  return 0;
}
static int s_write(const char *data, size_t len, void *user) {
  (void)data;
  (void)user;
  sink_bytes += len;
  return 0;
}

static int on_result(const tkn_batch_result *r, void *user) {
  (void)r;
  (*(size_t *)user)++;
  return 0;
}

int main(int argc, char **argv) {
  unsigned n = argc > 1 ? (unsigned)atoi(argv[1]) : 40000;
  tkn_allocator a = TKN_ALLOCATOR_INIT;
  a.malloc_fn = h_malloc;
  a.realloc_fn = h_realloc;
  a.free_fn = h_free;
  tkn_set_allocator(&a);

  /* the request bodies, made once */
  buf *bodies = calloc(n, sizeof *bodies);
  unsigned x = 7;
  size_t body_bytes = 0, longest_body = 0;
  for (unsigned i = 0; i < n; i++) {
    make_body(&bodies[i], i, &x);
    body_bytes += bodies[i].len;
    if (bodies[i].len > longest_body) longest_body = bodies[i].len;
  }
  printf("batch files: write and read throughput (MB = 1e6 bytes)\n");
  printf("input: %u OpenAI chat requests, %.1f MB of bodies (longest %zu bytes, ~1.3 KB typical)\n",
         n, (double)body_bytes / 1e6, longest_body);
  printf("rerun: meson test -C build --benchmark --suite bench -v batch   (or bench_batch [requests])\n\n");

  /* ---- write ---- */
  double best_w = 1e9;
  for (int rep = 0; rep < 3; rep++) {
    tkn_batch_writer_options o = TKN_BATCH_WRITER_OPTIONS_INIT;
    o.begin_file = s_begin;
    o.write = s_write;
    tkn_batch_writer *w;
    tkn_batch_writer_new(&w, &o);
    sink_bytes = 0;
    heap_peak = heap_live;
    size_t base = heap_live;
    double t0 = now_s();
    for (unsigned i = 0; i < n; i++) {
      char id[32];
      int k = snprintf(id, sizeof id, "request-%u", i);
      if (tkn_batch_writer_add(w, id, (size_t)k, bodies[i].p, bodies[i].len) != TKN_OK) {
        fprintf(stderr, "%s\n", tkn_error_last()->message);
        return 1;
      }
    }
    tkn_batch_writer_finish(w);
    double dt = now_s() - t0;
    if (dt < best_w) best_w = dt;
    if (rep == 0)
      printf("writer heap peak: %zu bytes (id set for %u ids + one line of at most %zu bytes)\n",
             heap_peak - base, n, longest_body + 100);
    tkn_batch_writer_free(w);
  }
  size_t file_bytes = sink_bytes;
  /* naive: parse each body into a tree and print it back */
  double t0 = now_s();
  size_t naive_bytes = 0;
  for (unsigned i = 0; i < n; i++) {
    cJSON *j = cJSON_ParseWithLength(bodies[i].p, bodies[i].len);
    char *s = cJSON_PrintUnformatted(j);
    naive_bytes += strlen(s) + 80;
    cJSON_free(s); /* cJSON allocates through the library's hook */
    cJSON_Delete(j);
  }
  double naive_w = now_s() - t0;
  (void)naive_bytes;

  /* ---- the results file ---- */
  buf res = {0};
  unsigned *order = malloc(n * sizeof *order);
  for (unsigned i = 0; i < n; i++) order[i] = i;
  for (unsigned i = n - 1; i > 0; i--) { /* shuffled: providers do not keep order */
    x = x * 1103515245u + 12345u;
    unsigned j = (x >> 8) % (i + 1), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  size_t longest_line = 0;
  buf content = {0};
  for (unsigned i = 0; i < n; i++) {
    size_t start = res.len;
    char head[512];
    snprintf(head, sizeof head,
             "{\"id\":\"batch_req_%u\",\"custom_id\":\"request-%u\",\"response\":{\"status_code\":200,"
             "\"request_id\":\"req_%u\",\"body\":{\"id\":\"chatcmpl-%u\",\"object\":\"chat.completion\","
             "\"created\":1711652795,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,"
             "\"message\":{\"role\":\"assistant\",\"content\":\"",
             order[i], order[i], order[i], order[i]);
    puts_(&res, head);
    content.len = 0;
    text(&content, &x, order[i] % 500 == 0 ? 40000 : 1100);
    put(&res, content.p, content.len);
    snprintf(head, sizeof head,
             "\"},\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":%u,"
             "\"prompt_tokens_details\":{\"cached_tokens\":%u},\"completion_tokens\":%u,"
             "\"total_tokens\":%u}}},\"error\":null}\n",
             300 + order[i] % 100, order[i] % 3 ? 0 : 128, 250, 550 + order[i] % 100);
    puts_(&res, head);
    if (res.len - start > longest_line) longest_line = res.len - start;
  }
  printf("results: %.1f MB, %u lines (longest %zu bytes), fed in 64 KiB chunks\n\n",
         (double)res.len / 1e6, n, longest_line);

  /* ---- read ---- */
  tkn_prices *prices;
  tkn_prices_new_default(&prices);
  double best_r = 1e9;
  size_t read_peak = 0, idset_bytes = 0;
  tkn_batch_summary sum = TKN_BATCH_SUMMARY_INIT;
  for (int rep = 0; rep < 3; rep++) {
    size_t delivered = 0;
    tkn_batch_reader_options o = TKN_BATCH_READER_OPTIONS_INIT;
    o.on_result = on_result;
    o.user = &delivered;
    o.prices = prices;
    tkn_batch_reader *r;
    tkn_batch_reader_new(&r, &o);
    size_t base = heap_live;
    for (unsigned i = 0; i < n; i++) {
      char id[32];
      int k = snprintf(id, sizeof id, "request-%u", i);
      tkn_batch_reader_expect(r, id, (size_t)k);
    }
    idset_bytes = heap_live - base;
    heap_peak = heap_live;
    double t1 = now_s();
    for (size_t off = 0; off < res.len; off += 65536) {
      size_t len = res.len - off < 65536 ? res.len - off : 65536;
      if (tkn_batch_reader_feed(r, res.p + off, len) != TKN_OK) {
        fprintf(stderr, "%s\n", tkn_error_last()->message);
        return 1;
      }
    }
    tkn_batch_reader_finish(r);
    double dt = now_s() - t1;
    if (dt < best_r) best_r = dt;
    read_peak = heap_peak - base - idset_bytes;
    tkn_batch_reader_summary(r, &sum);
    if (delivered != n || sum.priced != n) {
      fprintf(stderr, "delivered %zu, priced %llu of %u\n", delivered,
              (unsigned long long)sum.priced, n);
      return 1;
    }
    tkn_batch_reader_free(r);
  }
  t0 = now_s();
  size_t got = 0;
  for (size_t off = 0; off < res.len;) {
    char *nl = memchr(res.p + off, '\n', res.len - off);
    size_t len = (size_t)(nl - (res.p + off));
    cJSON *j = cJSON_ParseWithLength(res.p + off, len);
    got += cJSON_GetObjectItem(j, "custom_id") != NULL;
    cJSON_Delete(j);
    off += len + 1;
  }
  double naive_r = now_s() - t0;
  char usd[TKN_USD_BUFLEN];
  tkn_usd_format(sum.cost, usd, sizeof usd, NULL);

  double wmb = (double)file_bytes / 1e6, rmb = (double)res.len / 1e6;
  printf("%-8s %10s %14s %14s %10s %8s\n", "", "MB", "tokenomy MB/s", "cJSON MB/s", "ratio", ">=200?");
  printf("%-8s %10.1f %14.0f %14.0f %10.2f %8s\n", "write", wmb, wmb / best_w,
         (double)body_bytes / 1e6 / naive_w, (wmb / best_w) / ((double)body_bytes / 1e6 / naive_w),
         wmb / best_w >= 200 ? "yes" : "NO");
  printf("%-8s %10.1f %14.0f %14.0f %10.2f %8s\n", "read", rmb, rmb / best_r, rmb / naive_r,
         (rmb / best_r) / (rmb / naive_r), rmb / best_r >= 200 ? "yes" : "NO");
  printf("\n(cJSON column: parse each body and print it back / parse each result line; ratio = "
         "tokenomy / cJSON; best of 3)\n");
  printf("reader heap peak beyond the id set: %zu bytes (longest line %zu bytes; id set %zu bytes "
         "for %u ids)\n",
         read_peak, longest_line, idset_bytes, n);
  printf("joined %llu results, %lld input + %lld output tokens, cost at the batch price $%s\n",
         (unsigned long long)sum.succeeded, (long long)sum.input_tokens,
         (long long)sum.output_tokens, usd);
  tkn_prices_free(prices);
  for (unsigned i = 0; i < n; i++) free(bodies[i].p);
  free(bodies);
  free(res.p);
  free(content.p);
  free(order);
  (void)got;
  return 0;
}
