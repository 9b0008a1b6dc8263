/* Benchmark of the prompt part: assembling and rendering a 100 KB prompt of 50
 * messages (target: under 100 us), and fingerprinting throughput (target: at
 * least 2 GB/s).  Each figure is printed beside a reference measured in the
 * same run: the per-request path that reuses memory (tkn_prompt_assemble_into
 * + tkn_prompt_render_into) beside the one that allocates afresh
 * (tkn_prompt_assemble + tkn_prompt_render), both with the default
 * allocator; rendering beside a cJSON build-and-print of the same request
 * (what a host without tokenomy would do); hashing beside memcpy.
 * Rerun: meson test -C build --benchmark --suite bench -v prompt
 *    or: build/tests/bench/prompt/bench_prompt */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <tokenomy.h>

#include "internal.h"

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* The host's tokenizer is not what is measured: a constant-time stand-in. */
static int quarter_count(const char *text, size_t len, int64_t *out, void *user) {
  (void)text;
  (void)user;
  *out = (int64_t)((len + 3) / 4);
  return 0;
}

static void fill_text(char *s, size_t n, unsigned seed) {
  static const char *const words[] = {"the ", "order ", "shipped ", "customer ", "refund ",
                                      "policy ", "section ", "details, ", "please ", "check.\n"};
  size_t len = 0;
  while (len < n) {
    seed = seed * 1103515245u + 12345u;
    const char *w = words[(seed >> 16) % 10];
    size_t k = strlen(w);
    if (len + k > n) k = n - len;
    memcpy(s + len, w, k);
    len += k;
  }
  s[n] = '\0';
}

#define MESSAGES 50
#define MSG_BYTES 1800
#define SYSTEM_BYTES 8000
#define RUNS 2000
#define ROUNDS 20

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return v[n / 2];
}

/* One stream of requests: the timings of each, and what is kept across
 * requests (the new path's prompt and buffer, the old path's last body). */
typedef struct stream {
  double t_asm[RUNS], t_ren[RUNS], t_tot[RUNS];
  int n;
  tkn_prompt *p;   /* new path */
  char *buf;       /* new path */
  size_t cap, len;
  char *body;      /* old path: the last body, to compare */
} stream;

static int run_stream(stream *s, tkn_prompt_builder *b, const tkn_tokenizer *tok,
                      const tkn_render_options *o, int new_path, int requests) {
  for (int r = 0; r < requests; r++) {
    double t0 = now_us(), t1, t2;
    if (!new_path) {
      tkn_prompt *p = NULL;
      char *out = NULL;
      if (tkn_prompt_assemble(&p, b, tok)) return 1;
      t1 = now_us();
      if (tkn_prompt_render(p, o, &out, &s->len)) return 1;
      t2 = now_us();
      if (s->n + 1 == RUNS) s->body = out; /* kept to compare with the new path */
      else tkn_free(out);
      tkn_prompt_free(p);
    } else {
      if (tkn_prompt_assemble_into(&s->p, b, tok)) return 1;
      t1 = now_us();
      int rc = tkn_prompt_render_into(s->p, o, s->buf, s->cap, &s->len);
      if (rc == TKN_ERR_TOO_SMALL) {
        free(s->buf);
        s->cap = s->len + s->len / 8 + 1; /* room for a longer next request */
        s->buf = malloc(s->cap);
        if (!s->buf) return 1;
        rc = tkn_prompt_render_into(s->p, o, s->buf, s->cap, &s->len);
      }
      if (rc) return 1;
      t2 = now_us();
    }
    s->t_asm[s->n] = t1 - t0;
    s->t_ren[s->n] = t2 - t1;
    s->t_tot[s->n] = t2 - t0;
    s->n++;
  }
  return 0;
}

int main(void) {
  tkn_tokenizer_callbacks cb = TKN_TOKENIZER_CALLBACKS_INIT;
  cb.count = quarter_count;
  tkn_tokenizer *tok = NULL;
  tkn_conv *conv = NULL;
  tkn_prompt_builder *b = NULL;
  if (tkn_tokenizer_new_callback(&tok, &cb, NULL) || tkn_conv_new(&conv) ||
      tkn_prompt_builder_new(&b, NULL))
    return 1;
  char *text = malloc(SYSTEM_BYTES + 1);
  for (int i = 0; i < MESSAGES; i++) {
    fill_text(text, MSG_BYTES, (unsigned)i);
    if (tkn_conv_append_text(conv, i % 2 ? TKN_ROLE_ASSISTANT : TKN_ROLE_USER, text, MSG_BYTES))
      return 1;
  }
  const char *tools[3] = {
      ("{\"name\":\"get_order\",\"description\":\"Look up an order\",\"parameters\":{\"type\":"
       "\"object\",\"properties\":{\"id\":{\"type\":\"string\"}},\"required\":[\"id\"]}}"),
      ("{\"name\":\"refund\",\"description\":\"Refund an order\",\"parameters\":{\"type\":"
       "\"object\",\"properties\":{\"id\":{\"type\":\"string\"},\"amount\":{\"type\":"
       "\"number\"}}}}"),
      ("{\"name\":\"escalate\",\"description\":\"Hand over to a human\"}")
  };
  for (int i = 0; i < 3; i++)
    if (tkn_prompt_builder_add_tool(b, tools[i], strlen(tools[i]), NULL)) return 1;
  fill_text(text, SYSTEM_BYTES, 99);
  if (tkn_prompt_builder_add_text(b, TKN_SEG_STATIC, TKN_STABILITY_STATIC, "system", 6, text,
                                  SYSTEM_BYTES, NULL) ||
      tkn_prompt_builder_set_history(b, conv, TKN_STABILITY_SESSION, NULL) ||
      tkn_prompt_builder_add_text(b, TKN_SEG_DYNAMIC, TKN_STABILITY_VOLATILE, "query", 5,
                                  "Where is my order?", 18, NULL))
    return 1;

  tkn_render_options oa = TKN_RENDER_OPTIONS_INIT, an = TKN_RENDER_OPTIONS_INIT;
  oa.model = an.model = "model";
  oa.model_len = an.model_len = 5;
  an.provider = TKN_PROVIDER_ANTHROPIC;
  an.max_tokens = 1024;
  const tkn_render_options *formats[2] = {&oa, &an};
  /* Four streams of RUNS requests each (OpenAI, Anthropic x old, new path),
   * as a host makes them, with the default allocator (nothing tuned: glibc
   * returns the heap top to the kernel when enough of it is free, as it
   * would in a host):
   *   old path: tkn_prompt_assemble + tkn_prompt_render, then the body and
   *             the prompt are freed (fresh memory every request);
   *   new path: tkn_prompt_assemble_into one prompt kept across requests +
   *             tkn_prompt_render_into one buffer kept across requests
   *             (grown on TKN_ERR_TOO_SMALL, i.e. on the first request).
   * The streams take turns in ROUNDS rounds, so that a burst of load on the
   * machine hits all four alike.  Per request: assembly, render and their
   * sum (the median of each; the new path's first request is shown apart). */
  static stream st[2][2];
  for (int round = 0; round < ROUNDS; round++)
    for (int f = 0; f < 2; f++)
      for (int path = 0; path < 2; path++)
        if (run_stream(&st[f][path], b, tok, formats[f], path, RUNS / ROUNDS)) return 1;
  static double t_cj[RUNS];
  double m_asm[2][2], m_ren[2][2], m_tot[2][2];
  for (int f = 0; f < 2; f++) {
    stream *o = &st[f][0], *n = &st[f][1];
    /* the same request bytes on both paths */
    if (o->len != n->len || memcmp(o->body, n->buf, o->len) != 0) {
      fprintf(stderr, "bench_prompt: the two paths rendered different bodies\n");
      return 1;
    }
    for (int path = 0; path < 2; path++) {
      stream *x = &st[f][path];
      m_asm[f][path] = median(x->t_asm, RUNS);
      m_ren[f][path] = median(x->t_ren, RUNS);
      m_tot[f][path] = median(x->t_tot, RUNS);
    }
  }
  /* the reference: the same OpenAI request built as a cJSON tree and printed */
  for (int r = 0; r < RUNS; r++) {
    double t0 = now_us();
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "model", "model");
    cJSON *msgs = cJSON_AddArrayToObject(req, "messages");
    cJSON *sys = cJSON_CreateObject();
    cJSON_AddStringToObject(sys, "role", "system");
    cJSON_AddStringToObject(sys, "content", text);
    cJSON_AddItemToArray(msgs, sys);
    for (size_t i = 0; i < tkn_conv_count(conv); i++) {
      const char *t;
      size_t len;
      tkn_conv_text(conv, i, &t, &len);
      cJSON *m = cJSON_CreateObject();
      cJSON_AddStringToObject(m, "role", tkn_role_name(tkn_conv_role(conv, i)));
      cJSON_AddStringToObject(m, "content", t);
      cJSON_AddItemToArray(msgs, m);
    }
    char *s = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    double t1 = now_us();
    cJSON_free(s);
    t_cj[r] = t1 - t0;
  }
  double m_cj = median(t_cj, RUNS);

  /* fingerprinting: XXH64 chained over the prompt's blocks, as assembly does,
   * beside memcpy of the same bytes */
  size_t total = 64u << 20;
  char *big = malloc(total), *dst = malloc(total);
  fill_text(big, total - 1, 7);
  uint64_t h = 0;
  double best_hash = 1e30, best_copy = 1e30;
  for (int r = 0; r < 5; r++) {
    double t0 = now_us();
    h = tki_hash64(big, total, h);
    double t1 = now_us();
    memcpy(dst, big, total);
    double t2 = now_us();
    if (t1 - t0 < best_hash) best_hash = t1 - t0;
    if (t2 - t1 < best_copy) best_copy = t2 - t1;
  }
  double gbs_hash = (double)total / best_hash / 1e3, gbs_copy = (double)total / best_copy / 1e3;
  /* the input, from one more assembly */
  tkn_prompt *p = NULL;
  if (tkn_prompt_assemble(&p, b, tok)) return 1;
  size_t nblocks = tkn_prompt_block_count(p);
  tkn_prompt_segment_info info;
  memset(&info, 0, sizeof info);
  info.version = TKN_PROMPT_SEGMENT_INFO_VERSION;
  uint64_t prompt_bytes = 0;
  for (size_t i = 0; i < tkn_prompt_segment_count(p); i++) {
    tkn_prompt_segment(p, i, &info);
    prompt_bytes += info.bytes;
  }

  printf("prompt benchmark (median of %d requests per row; rerun: meson test -C build --benchmark "
         "--suite bench -v prompt)\n",
         RUNS);
  printf("input: %d messages of %d bytes + %d-byte system prompt + 3 tools + query = %llu "
         "canonical bytes in %zu blocks, %lld tokens (tokenizer: constant-time stand-in)\n",
         MESSAGES, MSG_BYTES, SYSTEM_BYTES, (unsigned long long)prompt_bytes, nblocks,
         (long long)tkn_prompt_tokens(p));
  printf("default allocator, nothing tuned; old path: tkn_prompt_assemble + tkn_prompt_render, "
         "body and prompt freed per request; new path: tkn_prompt_assemble_into one kept prompt "
         "+ tkn_prompt_render_into one kept buffer\n");
  static const char *const fname[2] = {"OpenAI", "Anthropic"};
  printf("%-44s %9s %9s %9s %10s %8s\n", "per request", "assemble", "render", "total",
         "vs 100 us", "vs old");
  for (int f = 0; f < 2; f++) {
    for (int path = 0; path < 2; path++) {
      char row[64];
      snprintf(row, sizeof row, "%s %s", fname[f],
               path ? "new: assemble_into + render_into" : "old: assemble + render");
      printf("%-44s %9.1f %9.1f %9.1f %10.2f %8.2f\n", row, m_asm[f][path], m_ren[f][path],
             m_tot[f][path], m_tot[f][path] / 100.0, m_tot[f][path] / m_tot[f][0]);
    }
  }
  printf("new path, first request (one sample; sizes the kept prompt and buffer): OpenAI %.1f "
         "us, Anthropic %.1f us\n",
         st[0][1].t_tot[0], st[1][1].t_tot[0]);
  printf("%-44s %9s %9s %9s\n", "render OpenAI vs cJSON build+print", "render", "cJSON", "ratio");
  for (int path = 0; path < 2; path++)
    printf("%-44s %9.1f %9.1f %9.2f\n", path ? "  new path (render_into)" : "  old path (render)",
           m_ren[0][path], m_cj, m_ren[0][path] / m_cj);
  printf("request bytes: OpenAI %zu, Anthropic %zu (identical on both paths)\n", st[0][0].len,
         st[1][0].len);
  printf("%-48s %10s %12s %8s\n", "fingerprinting (64 MiB, best of 5)", "GB/s", "reference",
         "ratio");
  printf("%-48s %10.2f %12.2f %8.2f\n", "XXH64 (vs memcpy)", gbs_hash, gbs_copy,
         gbs_hash / gbs_copy);
  printf("%-48s %10.2f %12.2f %8.2f\n", "XXH64 (vs 2 GB/s target)", gbs_hash, 2.0,
         gbs_hash / 2.0);
  printf("(hash %016llx)\n", (unsigned long long)h);
  tkn_prompt_free(p);
  for (int f = 0; f < 2; f++)
    for (int path = 0; path < 2; path++) {
      tkn_prompt_free(st[f][path].p);
      free(st[f][path].buf);
      tkn_free(st[f][path].body);
    }
  free(big);
  free(dst);
  free(text);
  tkn_prompt_builder_free(b);
  tkn_conv_free(conv);
  tkn_tokenizer_free(tok);
  return 0;
}
